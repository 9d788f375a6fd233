// Browser test of a SLEEPING sandbox in the playground (Modal backend against the fake):
// the list and the header say it is asleep, its files still show, and sending a message
// wakes it (the badge turns RUNNING). Started by tests/api/playground.rs with
// PLAYGROUND_URL, PLAYGROUND_TOKEN, SANDBOX_ID, SCREENSHOT_DIR, PLAYWRIGHT_DIR.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pageErrors } from './guard.mjs';

const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR, 'node_modules', '/'));
const { chromium } = require('playwright-core');
const BASE = process.env.PLAYGROUND_URL;
const SB = process.env.SANDBOX_ID;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
const errors = [];
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  pageErrors(page, errors);
  await page.goto(`${BASE}/`);
  await page.fill('#token', process.env.PLAYGROUND_TOKEN);
  await page.click('#signin-form button');
  await page.waitForSelector(`#sandbox-list li[data-id="${SB}"]`);
  const item = await page.textContent(`#sandbox-list li[data-id="${SB}"]`);
  assert.match(item, /SLEEPING/);
  assert.match(item, /asleep: files readable, the next message wakes it/);
  await page.click(`#sandbox-list li[data-id="${SB}"] .open`);
  await page.waitForSelector('#panes:not([hidden])');
  assert.equal(await page.textContent('#sb-status'), 'SLEEPING');
  await page.waitForSelector('#tree li[data-path="notes"]');
  await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, 'sleeping.png') });
  await page.fill('#prompt', 'Good morning');
  await page.press('#prompt', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('#transcript .finished').length === 1, null, { timeout: 30000 });
  await page.waitForFunction(() => document.getElementById('sb-status').textContent === 'RUNNING', null, { timeout: 10000 });
  assert.match(await page.textContent('#transcript .finished'), /succeeded/);
  await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, 'woken.png') });
} finally {
  await browser.close();
}
assert.deepEqual(errors, [], 'console errors');
console.log('sleeping browser test passed');
