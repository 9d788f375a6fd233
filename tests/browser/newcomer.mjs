// What a new user does first, in Chromium: Cancel stops a run at once; replies render as
// markdown with highlighted code and no HTML of Claude's ever runs; progress shows while
// Claude starts and retries; the whole conversation is there after a reload; a file is
// edited and another uploaded; a snapshot is browsed and restored into a new sandbox; a
// server without the Claude CLI says so in one line. Started by tests/api/playground.rs
// with PLAYGROUND_URL, PLAYGROUND_TOKEN, NOCLI_URL, NOCLI_TOKEN, PLAYWRIGHT_DIR,
// SCREENSHOT_DIR. Fails on any page error, CSP violation or request leaving localhost.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import path from 'node:path';
import { cspViolations, guard, pageErrors } from './guard.mjs';

const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR, 'node_modules', '/'));
const { chromium } = require('playwright-core');
const BASE = process.env.PLAYGROUND_URL;
const TOKEN = process.env.PLAYGROUND_TOKEN;
const SHOTS = process.env.SCREENSHOT_DIR;
const LAST = '#transcript .run:last-of-type';

const offsite = [];
const errors = [];
const violations = [];

async function api(query, variables = {}, base = BASE, token = TOKEN) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  assert.ok(!body.errors, JSON.stringify(body.errors));
  return body.data;
}

async function open(context, base, token) {
  const page = await context.newPage();
  await guard(page, offsite);
  pageErrors(page, errors);
  page.on('dialog', (d) => d.accept());
  await page.goto(`${base}/`);
  await page.fill('#token', token);
  await page.click('#signin-form button');
  await page.waitForSelector('#app:not([hidden])');
  return page;
}

async function create(page, name) {
  await page.fill('#create-name', name);
  await page.click('#create-btn');
  await page.waitForFunction((n) => document.querySelector('#sb-title')?.textContent === n, name);
  await page.waitForSelector('#panes:not([hidden])');
  return page.url().split('/').pop();
}

async function ask(page, prompt, runs) {
  await page.fill('#prompt', prompt);
  await page.press('#prompt', 'Enter');
  await page.waitForFunction((n) => document.querySelectorAll('#transcript .run').length === n, runs);
}

async function ended(page, runs) {
  await page.waitForFunction((n) => document.querySelectorAll('#transcript .run').length === n
    && document.querySelector('#transcript .run:last-of-type .finished'), runs, { timeout: 30000 });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await open(context, BASE, TOKEN);
  const sandboxId = await create(page, 'newcomer');

  // Markdown: a heading, a list and highlighted code; the HTML in the reply does nothing.
  await ask(page, '[markdown] Make a plan.', 1);
  await ended(page, 1);
  const reply = `${LAST} .msg.assistant.markdown`;
  assert.equal(await page.textContent(`${reply} h1`), 'Plan');
  assert.equal(await page.locator(`${reply} li`).count(), 2);
  await page.waitForSelector(`${reply} pre code.hljs.language-python .hljs-built_in`);
  assert.equal(await page.textContent(`${reply} pre code`), 'print("hi")\n');
  assert.equal(await page.locator(`${reply} img, ${reply} script`).count(), 0, 'no HTML of Claude in the page');
  assert.match(await page.textContent(reply), /<img src=x onerror=/, 'shown as the text it is');
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'nothing ran');
  await page.screenshot({ path: path.join(SHOTS, 'newcomer-markdown.png') });

  // Progress: starting, then the API's retries, said while they happen.
  await ask(page, '[retry] [delay 400] Anyone there?', 2);
  await page.waitForFunction(() => /retrying \(attempt 1 of 10\)/.test(document.querySelector('#transcript .run:last-of-type .progress')?.textContent || ''), null, { timeout: 15000 });
  await page.screenshot({ path: path.join(SHOTS, 'newcomer-progress.png') });
  await ended(page, 2);
  assert.equal(await page.locator(`${LAST} .progress`).count(), 0, 'no progress line once it ended');
  assert.match(await page.textContent(LAST), /API retry 2 of 10: overloaded_error/);

  // Cancel during a long command: CANCELLED within 2 s, and the page says so.
  await ask(page, '[hang] sleep 30', 3);
  await page.waitForSelector('#cancel:not([hidden])');
  await page.waitForFunction(() => /Claude/.test(document.querySelector('#transcript .run:last-of-type .progress')?.textContent || ''));
  const clicked = Date.now();
  await page.click('#cancel');
  await page.waitForSelector(`${LAST} .finished.cancelled`, { timeout: 2000 });
  assert.ok(Date.now() - clicked <= 2000, `cancelled after ${Date.now() - clicked} ms`);
  assert.match(await page.textContent(`${LAST} .finished`), /^cancelled/);
  const runs = await api('query($id: ID!) { sandbox(id: $id) { runs(first: 1) { nodes { status } } } }', { id: sandboxId });
  assert.equal(runs.sandbox.runs.nodes[0].status, 'CANCELLED');

  // After a reload the whole conversation is there, oldest first.
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#transcript .run').length === 3, null, { timeout: 15000 });
  const prompts = await page.$$eval('#transcript .run > .msg.user:first-child', (els) => els.map((e) => e.textContent));
  assert.deepEqual(prompts, ['[markdown] Make a plan.', '[retry] [delay 400] Anyone there?', '[hang] sleep 30']);
  assert.equal(await page.textContent('#transcript .run:first-of-type h1'), 'Plan', 'earlier replies render too');

  // Edit a file in the viewer and save it; upload another.
  await api('mutation($id: ID!) { writeFile(sandboxId: $id, path: "notes.md", content: "first draft\\n") { size } }', { id: sandboxId });
  await page.click('#refresh');
  await page.click('#tree li.file[data-path="notes.md"] > button');
  await page.click('#viewer #edit');
  await page.fill('#editor', 'second draft\n');
  await page.click('#viewer #save');
  await page.waitForFunction(() => document.querySelector('#viewer .code-view .text')?.textContent === 'second draft\n');
  const saved = await api('query($id: ID!) { sandbox(id: $id) { fileContent(path: "notes.md") { content } } }', { id: sandboxId });
  assert.equal(saved.sandbox.fileContent.content, 'second draft\n');
  await page.setInputFiles('#upload', { name: 'up.bin', mimeType: 'application/octet-stream', buffer: Buffer.from([0, 1, 2, 250, 255]) });
  await page.waitForSelector('#tree li.file[data-path="up.bin"]');
  const up = await api('query($id: ID!) { sandbox(id: $id) { fileContent(path: "up.bin") { content encoding } } }', { id: sandboxId });
  assert.equal(Buffer.from(up.sandbox.fileContent.content, 'base64').toString('hex'), '000102faff');

  // Sync, browse the snapshot, restore it into a new sandbox that then opens.
  await page.click('#sync');
  await page.waitForSelector('#snapshots li.snapshot');
  await page.click('#snapshots li.snapshot .browse');
  await page.waitForSelector('#tree li.file[data-path="notes.md"]');
  assert.equal(await page.inputValue('#source'), 'SNAPSHOT');
  assert.match(await page.textContent('#source-note'), /Snapshot of/);
  await page.click('#snapshots li.snapshot .restore');
  await page.waitForFunction((old) => !location.hash.endsWith(old) && /#\/sandbox\//.test(location.hash), sandboxId, { timeout: 30000 });
  await page.waitForFunction(() => /\(restored\)/.test(document.querySelector('#sb-title').textContent));
  await page.waitForSelector('#tree li.file[data-path="up.bin"]');
  await page.screenshot({ path: path.join(SHOTS, 'newcomer-restored.png') });
  violations.push(...await cspViolations(page));

  // A server without the Claude CLI: one clear line in the chat.
  const other = await open(context, process.env.NOCLI_URL, process.env.NOCLI_TOKEN);
  await create(other, 'no-cli');
  await ask(other, 'hello', 1);
  await ended(other, 1);
  const finished = other.locator(`${LAST} .finished`);
  assert.equal(await finished.getAttribute('data-reason'), 'CLAUDE_NOT_FOUND');
  assert.match(await finished.textContent(), /^failed: the Claude Code CLI .*npm install -g @anthropic-ai\/claude-code/);
  assert.equal(await other.locator(`${LAST} .raw, ${LAST} .finished .error`).count(), 0, 'one line, no fragments');
  await other.screenshot({ path: path.join(SHOTS, 'newcomer-no-cli.png') });
  violations.push(...await cspViolations(other));
} finally {
  await browser.close();
}
assert.deepEqual(offsite, [], 'requests left localhost');
assert.deepEqual(violations, [], 'CSP violations');
assert.deepEqual(errors, [], 'page errors');
console.log('newcomer browser test passed');
