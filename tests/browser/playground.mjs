// Browser test of the playground in Debian's chromium, driven by playwright-core.
// Started by tests/api/playground.rs, which runs the real server (stand-in claude) and
// passes: PLAYGROUND_URL, PLAYGROUND_TOKEN, ADMIN_TOKEN, OTHER_SANDBOX (another account's sandbox),
// SCREENSHOT_DIR, PLAYWRIGHT_DIR (where playwright-core is installed).
// Fails on any request that leaves localhost and on any CSP violation.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import path from 'node:path';
import { cspViolations, guard, pageErrors } from './guard.mjs';

const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR, 'node_modules', '/'));
const { chromium } = require('playwright-core');

const BASE = process.env.PLAYGROUND_URL;
const TOKEN = process.env.PLAYGROUND_TOKEN;
const SHOTS = process.env.SCREENSHOT_DIR;
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFWEXHbQSACj/P8Fu7N9hAAAAAElFTkSuQmCC';

const offsite = [];
const violations = [];
const consoleErrors = [];
const errors = [];

async function api(query, variables = {}) {
  const res = await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  assert.ok(!body.errors, JSON.stringify(body.errors));
  return body.data;
}

async function watch(page) {
  await guard(page, offsite);
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('dialog', (d) => d.accept());
  pageErrors(page, errors);
}

async function cspCheck(page) {
  const seen = await cspViolations(page);
  violations.push(...seen);
}

let step = 0;
async function shot(page, name) {
  step += 1;
  await page.screenshot({ path: path.join(SHOTS, `${String(step).padStart(2, '0')}-${name}.png`) });
}

// Waits until the transcript shows `count` runs and the last one has ended.
async function finishedRun(page, count) {
  await page.waitForFunction((n) => document.querySelectorAll('#transcript .run').length === n
    && document.querySelector('#transcript .run:last-of-type .finished'), count, { timeout: 30000 });
}
const LAST = '#transcript .run:last-of-type';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await watch(page);

  // Wrong token → a sign-in error in plain words.
  await page.goto(`${BASE}/`);
  await page.fill('#token', 'sbq_not_a_real_token');
  await page.click('#signin-form button');
  await page.waitForSelector('#signin-error:not([hidden])');
  assert.match(await page.textContent('#signin-error'), /not accepted/);
  await shot(page, 'signin-error');

  // Sign in; empty state.
  await page.fill('#token', TOKEN);
  await page.click('#signin-form button');
  await page.waitForSelector('#app:not([hidden])');
  assert.equal(await page.evaluate(() => localStorage.getItem('sandboxql.token')), TOKEN);
  await page.waitForSelector('#sandbox-empty:not([hidden])');

  // Create → chat and files side by side.
  await page.fill('#create-name', 'demo');
  await page.click('#create-btn');
  await page.waitForURL(/#\/sandbox\//);
  await page.waitForSelector('#panes:not([hidden])');
  const sandboxId = page.url().split('/').pop();
  assert.equal(await page.textContent('#sb-title'), 'demo');
  assert.match(await page.textContent('#sandbox-list'), /RUNNING/);
  // What it uses against its template's bounds (512 MiB memory, 64 MiB disk, 256 processes).
  await page.waitForFunction(() => /Disk [\d.]+ (B|KB|MB) \/ 64 MB/.test(document.querySelector('#sb-usage').textContent));
  assert.match(await page.textContent('#sb-usage'), /Memory [\d.]+ (B|KB|MB) \/ 512 MB · Disk .* · Processes \d+ \/ 256 · 1 CPU/);
  await api('mutation($id: ID!) { a: writeFile(sandboxId: $id, path: "notes/hello.txt", content: "hello from the playground\\nsecond line\\n") { size } b: writeFile(sandboxId: $id, path: "img/dot.png", content: $png, encoding: BASE64) { size } }'
    .replace('$png', JSON.stringify(PNG)), { id: sandboxId });

  // Shift+Enter makes a new line and sends nothing.
  await page.click('#prompt');
  await page.keyboard.type('first');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('second');
  assert.equal(await page.inputValue('#prompt'), 'first\nsecond');
  assert.equal(await page.locator('#transcript .msg.user').count(), 0);

  // Chat: streamed text appears before the run ends, then a tool call and the cost.
  await page.fill('#prompt', '[delay 120] What is in the workspace?');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#transcript .msg.assistant.streaming', { timeout: 15000 });
  assert.equal(await page.locator('#transcript .finished').count(), 0, 'text shown while the run is still going');
  await finishedRun(page, 1);
  assert.match(await page.textContent('#transcript .tool summary'), /Tool: Bash/);
  assert.match(await page.textContent('#transcript .tool .tool-result'), /notes/);
  assert.match(await page.textContent('#transcript .finished'), /succeeded · \$0\.0123 · 2 turns · 0\.3 s/);
  assert.match(await page.textContent('#transcript'), /All done\./);
  assert.equal(await page.locator('#transcript details.thinking[open]').count(), 0, 'thinking collapsed');
  await shot(page, 'chat');

  // Files: expand a directory lazily, view text with line numbers, then an image.
  await page.click('#refresh');
  await page.click('#tree li.dir[data-path="notes"] > button');
  await page.click('#tree li.file[data-path="notes/hello.txt"] > button');
  await page.waitForSelector('#viewer .code-view .text');
  assert.equal(await page.textContent('#viewer .code-view .text'), 'hello from the playground\nsecond line\n', 'exactly the file');
  assert.equal(await page.textContent('#viewer .code-view .gutter'), '1\n2');
  assert.doesNotMatch(await page.textContent('#viewer'), /null/, 'no stray null');
  await shot(page, 'file-text');
  await page.click('#tree li.dir[data-path="img"] > button');
  await page.click('#tree li.file[data-path="img/dot.png"] > button');
  await page.waitForSelector('#viewer img.preview');
  assert.ok(await page.evaluate(() => document.querySelector('#viewer img.preview').naturalWidth === 8));

  // Sync → stats, snapshot history, and the snapshot as a file source.
  await page.click('#sync');
  await page.waitForFunction(() => document.querySelector('#sync-stats').textContent.startsWith('Synced:'), null, { timeout: 30000 });
  // The run's checkpoint already stored the content, so the sync reuses it.
  assert.match(await page.textContent('#sync-stats'), /Synced: 2 files, [0-2] uploaded/);
  assert.ok(await page.locator('#checkpoints li.checkpoint').count() >= 1, 'the run left a turn on the timeline');
  assert.equal(await page.locator('#snapshots li').count(), 1);
  await page.waitForFunction(() => /2 files/.test(document.querySelector('#sandbox-list').textContent));
  assert.doesNotMatch(await page.textContent('#sandbox-list'), /last sync never/);
  await page.selectOption('#source', 'SNAPSHOT');
  await page.waitForSelector('#tree li.dir[data-path="notes"]');
  await shot(page, 'synced');

  // Select an existing sandbox from the list and continue the conversation.
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#app:not([hidden])');
  await page.click(`#sandbox-list li[data-id="${sandboxId}"] .open`);
  await page.waitForSelector('#transcript .msg.user');
  assert.match(await page.textContent('#transcript .msg.user'), /What is in the workspace/);
  await page.fill('#prompt', 'And now?');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#transcript .msg.user >> text=And now?');
  await finishedRun(page, 2);
  const runs = await api('query($id: ID!) { sandbox(id: $id) { runs { nodes { claudeSessionId status } } } }', { id: sandboxId });
  const nodes = runs.sandbox.runs.nodes;
  assert.equal(nodes.length, 2);
  assert.equal(nodes[0].claudeSessionId, nodes[1].claudeSessionId, 'the second run resumed the session');
  // The whole conversation shows, run after run, the first run's answer above the second.
  assert.match(await page.textContent('#transcript .run:first-of-type'), /All done\./);
  await shot(page, 'continued');

  // Reload mid-run: the stream resumes from the stored events, nothing twice.
  await page.fill('#prompt', '[delay 250] Take your time.');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#transcript .msg.assistant', { timeout: 15000 });
  await page.reload();
  await page.waitForSelector('#panes:not([hidden])');
  await page.waitForSelector('#cancel:not([hidden])', { timeout: 5000 });
  await finishedRun(page, 3);
  const seqs = (await page.getAttribute(LAST, 'data-seqs')).split(',').map(Number);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `each event once, in order: ${seqs}`);
  assert.equal(await page.locator(`${LAST} .tool`).count(), 1);
  assert.equal(await page.locator(`${LAST} .msg.user`).count(), 1);
  await shot(page, 'resumed-after-reload');

  // The socket drops mid-run: the page reconnects (backoff) and resumes after the last
  // event it rendered: every event once, in order.
  let dropped = false;
  await page.routeWebSocket(/\/graphql$/, (ws) => {
    const server = ws.connectToServer();
    let nexts = 0;
    server.onMessage((m) => {
      ws.send(m);
      if (!dropped && typeof m === 'string' && m.includes('"type":"next"') && ++nexts === 4) {
        dropped = true;
        ws.close();
      }
    });
  });
  await page.fill('#prompt', '[delay 150] Keep going.');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#transcript .msg.user >> text=Keep going.');
  await finishedRun(page, 4);
  assert.ok(dropped, 'the socket was dropped mid-run');
  const seqsAfterDrop = (await page.getAttribute(LAST, 'data-seqs')).split(',').map(Number);
  assert.deepEqual(seqsAfterDrop, seqsAfterDrop.map((_, i) => i + 1), `resumed without gap or repeat: ${seqsAfterDrop}`);
  assert.equal(await page.locator(`${LAST} .tool`).count(), 1);

  // Another account's sandbox in the URL → "not found".
  await page.goto(`${BASE}/#/sandbox/${process.env.OTHER_SANDBOX}`);
  await page.waitForSelector('#missing:not([hidden])');
  assert.match(await page.textContent('#missing'), /not found/i);
  assert.equal(await page.isVisible('#panes'), false);
  await shot(page, 'not-found');

  // Delete with confirmation.
  await page.goto(`${BASE}/`);
  await page.waitForSelector(`#sandbox-list li[data-id="${sandboxId}"]`);
  await page.click(`#sandbox-list li[data-id="${sandboxId}"] .delete`);
  await page.waitForSelector('#sandbox-empty:not([hidden])');
  assert.equal(await page.isVisible('#nav-accounts'), false, 'a user has no Accounts view');
  await cspCheck(page);

  // The admin's Accounts view: create an account, issue a read-only token (secret shown
  // once, and it works), revoke it, disable the account.
  const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const admin = await adminCtx.newPage();
  await watch(admin);
  await admin.goto(`${BASE}/`);
  await admin.fill('#token', process.env.ADMIN_TOKEN);
  await admin.click('#signin-form button');
  await admin.waitForSelector('#nav-accounts:not([hidden])');
  await admin.click('#nav-accounts');
  await admin.waitForSelector('#accounts:not([hidden]) #account-list li');
  await admin.fill('#account-name', 'Customer 7');
  await admin.fill('#account-external', 'cust-7');
  await admin.click('#account-create');
  const acct = admin.locator('#account-list li.account', { hasText: 'Customer 7' });
  await acct.locator('.token-form').waitFor();
  assert.match(await acct.textContent(), /external id cust-7/);
  await acct.locator('.token-form input[name=name]').fill('dashboard');
  await acct.locator('.token-form input[name=readOnly]').check();
  await acct.locator('.token-form button').click();
  await acct.locator('.new-token').waitFor();
  const secret = (await acct.locator('.new-token').textContent()).trim();
  assert.match(secret, /^sbq_/);
  await shot(admin, 'accounts');
  const asIssued = async () => (await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query: '{ viewer { externalId } }' }),
  })).json();
  assert.equal((await asIssued()).data.viewer.externalId, 'cust-7');
  await acct.locator('li.token', { hasText: 'dashboard' }).locator('.revoke').click();
  await acct.locator('li.token.off', { hasText: 'dashboard' }).waitFor();
  assert.equal((await asIssued()).errors[0].extensions.code, 'UNAUTHENTICATED');
  assert.equal(await admin.locator('.new-token').count(), 0, 'the secret is not shown again');
  await acct.locator('.toggle-disabled').click();
  await admin.locator('#account-list li.account.off', { hasText: 'Customer 7' }).waitFor();
  await admin.click('#nav-sandboxes');
  await admin.waitForSelector('#app:not([hidden])');
  await cspCheck(admin);

  // Metered spend and budgets: a run whose first API call crosses a $0.30 daily budget is
  // stopped at its second, with its cost and tokens shown; the next run is refused.
  const adminApi = async (query, variables) => (await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env.ADMIN_TOKEN}` },
    body: JSON.stringify({ query, variables }),
  })).json();
  const me = (await api('{ viewer { id } }')).viewer.id;
  const budget = 'mutation($a: ID!, $d: Float) { setAccountBudget(accountId: $a, dailyUsd: $d) { dailyUsd } }';
  assert.equal((await adminApi(budget, { a: me, d: 0.3 })).data.setAccountBudget.dailyUsd, 0.3);
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForFunction(() => /Spent today \$0 of \$0\.30/.test(document.getElementById('spend').textContent));
  await page.fill('#create-name', 'metered');
  await page.click('#create-btn');
  await page.waitForSelector('#panes:not([hidden])');
  await page.fill('#prompt', '[api 3] [pause 50] Spend some tokens.');
  await page.press('#prompt', 'Enter');
  await finishedRun(page, 1);
  await page.waitForFunction(() => /metered/.test(document.querySelector('#transcript .run:last-of-type .finished').textContent));
  const finished = await page.textContent(`${LAST} .finished`);
  assert.match(finished, /^failed/);
  assert.match(finished, /metered \$0\.3700 · 370 tokens in 1 API call/);
  assert.match(finished, /Stopped because this account's budget is spent: the account's daily budget of \$0\.30 is spent/);
  await page.waitForFunction(() => /Spent today \$0\.37 of \$0\.30 · this month \$0\.37/.test(document.getElementById('spend').textContent));
  await page.fill('#prompt', 'One more?');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#notice:not([hidden])');
  assert.match(await page.textContent('#notice'), /Not started: the account's daily budget of \$0\.30 is spent \(\$0\.37 today, UTC\)\./);
  await shot(page, 'budget');
  await adminApi(budget, { a: me, d: null });

  // Narrow screen: everything stacks, nothing overflows sideways.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const small = await phone.newPage();
  await watch(small);
  await small.goto(`${BASE}/`);
  await small.fill('#token', TOKEN);
  await small.click('#signin-form button');
  await small.waitForSelector('#app:not([hidden])');
  await small.fill('#create-name', 'phone');
  await small.click('#create-btn');
  await small.waitForSelector('#panes:not([hidden])');
  await small.fill('#prompt', 'hello from a phone');
  await small.press('#prompt', 'Enter');
  await finishedRun(small, 1);
  assert.ok(await small.evaluate(() => document.documentElement.scrollWidth <= 390), 'no horizontal overflow at 390 px');
  const header = await small.evaluate(() => document.querySelector('header.top').getBoundingClientRect().height);
  assert.ok(header < 56, `the header stays one line at 390 px: ${header}px`);
  assert.equal(await small.isVisible('#tree'), false, 'the chat tab is shown first');
  await small.click('#tabs [data-tab="files"]');
  await small.waitForSelector('section.files', { state: 'visible' });
  assert.equal(await small.isVisible('#transcript'), false, 'one pane per tab');
  await shot(small, 'narrow-files');
  await small.click('#tabs [data-tab="chat"]');
  await small.waitForSelector('#transcript', { state: 'visible' });
  await shot(small, 'narrow');
  await cspCheck(small);

  // Sign out clears the token.
  await small.click('#signout');
  await small.waitForSelector('#signin:not([hidden])');
  assert.equal(await small.evaluate(() => localStorage.getItem('sandboxql.token')), null);
} finally {
  await browser.close();
}

assert.deepEqual(offsite, [], 'requests left localhost');
assert.deepEqual(violations, [], 'CSP violations');
const cspConsole = consoleErrors.filter((t) => /Content Security Policy/i.test(t));
assert.deepEqual(cspConsole, [], 'CSP errors in the console');
assert.deepEqual(errors, [], 'page errors');
console.log(`playground browser test passed (${step} screenshots in ${SHOTS})`);
