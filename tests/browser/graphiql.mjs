// GraphiQL served by sandboxql, offline: every request must stay on this host (others are
// aborted and recorded), no CSP violation, the playground's token prefilled as the
// Authorization header, a query and a subscription run. Started by
// tests/api/playground.rs with PLAYGROUND_URL, PLAYGROUND_TOKEN, RUN_ID, PLAYWRIGHT_DIR,
// SCREENSHOT_DIR.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pageErrors } from './guard.mjs';

const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR, 'node_modules', '/'));
const { chromium } = require('playwright-core');
const BASE = process.env.PLAYGROUND_URL;
const TOKEN = process.env.PLAYGROUND_TOKEN;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
const offsite = [];
const errors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (['127.0.0.1', 'localhost'].includes(u.hostname) || u.protocol === 'data:') return route.continue();
    offsite.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  pageErrors(page, errors);
  await page.addInitScript((t) => {
    localStorage.setItem('sandboxql.token', t);
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  }, TOKEN);
  await page.goto(`${BASE}/graphiql`);
  await page.waitForSelector('.graphiql-container', { timeout: 20000 });

  const setEditor = (sel, v) => page.evaluate(([s, val]) => document.querySelector(`${s} .CodeMirror`).CodeMirror.setValue(val), [sel, v]);
  const result = () => page.evaluate(() => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue());

  // The token is prefilled as a header.
  await page.click('text=Headers');
  const tools = await page.evaluate(() => [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')].map((c) => c.CodeMirror.getValue()).join('\n'));
  assert.match(tools, /"Authorization": "Bearer sbq_/);

  // The schema loaded: the Docs explorer lists Query's fields, autocomplete offers them.
  await page.click('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]');
  await page.waitForSelector('.graphiql-doc-explorer');
  await page.click('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name:text-is("Query")');
  await page.waitForSelector('.graphiql-doc-explorer .graphiql-doc-explorer-field-name:text-is("sandboxes")', { timeout: 10000 });
  await setEditor('.graphiql-query-editor', '{ sandb');
  await page.evaluate(() => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
    cm.focus();
    cm.setCursor({ line: 0, ch: 7 });
    cm.execCommand('autocomplete');
  });
  await page.waitForSelector('.CodeMirror-hint:text-is("sandboxes")', { timeout: 10000 });
  await page.keyboard.press('Escape');

  // A query over HTTP.
  await setEditor('.graphiql-query-editor', '{ viewer { name } }');
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(() => /"viewer"/.test(document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()));
  assert.match(await result(), /"name": "gia"/);

  // A subscription over the websocket: a finished run's events replay to RunFinished.
  await setEditor('.graphiql-query-editor', `subscription Events { runEvents(runId: "${process.env.RUN_ID}") { __typename ... on RunFinished { status } } }`);
  // GraphiQL parses the edited document (which decides HTTP or websocket) after a pause.
  await page.waitForTimeout(1000);
  await page.click('.graphiql-execute-button');
  try {
    await page.waitForFunction(() => /SUCCEEDED/.test(document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()), null, { timeout: 20000 });
  } catch (e) {
    console.log('result:', await result(), 'csp:', await page.evaluate(() => window.__csp));
    throw e;
  }
  await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, 'graphiql.png') });
  const csp = await page.evaluate(() => window.__csp);
  assert.deepEqual(csp, [], 'CSP violations');
} finally {
  await browser.close();
}
assert.deepEqual(offsite, [], 'requests left localhost');
assert.deepEqual(errors, [], 'page errors');
console.log('graphiql browser test passed');
