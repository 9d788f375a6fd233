// Browser test of an interactive run in the playground: the real Claude Code CLI (jailed,
// against the fake Anthropic API) asks to run Bash; the page shows an Allow / Deny card,
// Allow runs it, the result shows in the transcript, the file it wrote appears in the
// tree while the conversation is still open (workspaceChanges, no refresh), a follow-up
// is answered in the same run, and "End conversation" finishes it.
// Started by tests/api/interactive.rs with PLAYGROUND_URL, PLAYGROUND_TOKEN, SANDBOX_ID,
// SCREENSHOT_DIR and PLAYWRIGHT_DIR. Fails on any request that leaves localhost or any
// CSP violation.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import path from 'node:path';
import { cspViolations, guard, pageErrors } from './guard.mjs';

const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR, 'node_modules', '/'));
const { chromium } = require('playwright-core');

const BASE = process.env.PLAYGROUND_URL;
const SHOTS = process.env.SCREENSHOT_DIR;
const offsite = [];
const violations = [];
const errors = [];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await guard(page, offsite);
  pageErrors(page, errors);

  await page.goto(`${BASE}/`);
  await page.fill('#token', process.env.PLAYGROUND_TOKEN);
  await page.click('#signin-form button');
  await page.waitForSelector('#app:not([hidden])');
  await page.goto(`${BASE}/#/sandbox/${process.env.SANDBOX_ID}`);
  await page.waitForSelector('#panes:not([hidden])');
  await page.waitForSelector('#tree[data-live="on"]', { state: 'attached' });

  // A conversation that asks before tools.
  await page.check('#keep-open');
  await page.check('#ask-tools');
  await page.fill('#prompt', 'Please [bash: echo approved | tee approved.txt :bash]');
  await page.press('#prompt', 'Enter');
  const card = page.locator('#transcript .permission');
  await card.locator('button.allow').waitFor({ timeout: 30000 });
  assert.match(await card.locator('.permission-title').textContent(), /Claude wants to use Bash/);
  assert.match(await card.locator('.tool-input').textContent(), /echo approved \| tee approved\.txt/);
  assert.equal(await page.locator('#tree li[data-path="approved.txt"]').count(), 0, 'nothing ran before the answer');
  await page.screenshot({ path: path.join(SHOTS, 'interactive-1-ask.png') });

  await card.locator('button.allow').click();
  await page.waitForSelector('#transcript .permission.allowed');
  await page.waitForFunction(() => /approved/.test(document.querySelector('#transcript .tool .tool-result:not(.pending)')?.textContent || ''), null, { timeout: 30000 });
  // The tree shows the new file while the conversation is still open: it came live.
  await page.waitForSelector('#tree li[data-path="approved.txt"]', { timeout: 10000 });
  assert.equal(await page.locator('#transcript .finished').count(), 0, 'the run is still open');
  assert.ok(await page.isVisible('#end-run'));
  await page.screenshot({ path: path.join(SHOTS, 'interactive-2-allowed.png') });

  // A follow-up in the same run; the prompt box stayed usable.
  await page.fill('#prompt', 'What did I ask?');
  await page.press('#prompt', 'Enter');
  await page.waitForFunction(() => /You said: What did I ask\?/.test(document.querySelector('#transcript').textContent), null, { timeout: 30000 });
  assert.equal(await page.locator('#transcript .msg.user').count(), 2);

  await page.click('#end-run');
  await page.waitForSelector('#transcript .finished', { timeout: 30000 });
  assert.match(await page.textContent('#transcript .finished'), /succeeded/);
  await page.screenshot({ path: path.join(SHOTS, 'interactive-3-ended.png') });
  violations.push(...await cspViolations(page));
} finally {
  await browser.close();
}

assert.deepEqual(offsite, [], 'requests left localhost');
assert.deepEqual(violations, [], 'CSP violations');
assert.deepEqual(errors, [], 'page errors');
console.log('interactive browser test passed');
