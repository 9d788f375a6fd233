// Browser test of the playground's Processes list: start a background command, see its
// output live, reload and see it again (it is kept on the server), Stop it and see it
// EXITED. Started by tests/api/playground.rs with PLAYGROUND_URL, PLAYGROUND_TOKEN,
// SANDBOX_ID, PLAYWRIGHT_DIR.
import assert from 'node:assert/strict';
import { guard, cspViolations, pageErrors, launch, openSandbox } from './guard.mjs';

const BASE = process.env.PLAYGROUND_URL;
const SB = process.env.SANDBOX_ID;

const browser = await launch();
const errors = [];
const offsite = [];
const output = (page) => page.evaluate(() => document.querySelector('#process-output').textContent);
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  pageErrors(page, errors);
  await guard(page, offsite);
  await openSandbox(page, BASE, process.env.PLAYGROUND_TOKEN, SB);
  await page.fill('#process-command', 'echo first-$((20+1)); sleep 1; echo second-$((40+2)); sleep 1000');
  await page.click('#process-form button[type=submit]');
  await page.waitForFunction(() => /second-42/.test(document.querySelector('#process-output').textContent), null, { timeout: 15000 });
  assert.match(await output(page), /first-21\s+second-42/, 'live output, in order');
  await page.waitForSelector('#processes li[data-status="RUNNING"] .stop');

  await page.reload();
  await page.waitForSelector('#processes li[data-status="RUNNING"]');
  await page.click('#processes li[data-status="RUNNING"] .show-output');
  await page.waitForFunction(() => /first-21/.test(document.querySelector('#process-output').textContent), null, { timeout: 15000 });
  await page.click('#processes li[data-status="RUNNING"] .stop');
  await page.waitForSelector('#processes li[data-status="EXITED"]', { timeout: 15000 });
  await page.waitForFunction(() => /\[exited 143\]/.test(document.querySelector('#process-output').textContent), null, { timeout: 15000 });
  const csp = await cspViolations(page);
  assert.deepEqual(csp.filter((v) => !v.startsWith('style-src')), [], 'no script or connect violation');
} finally {
  await browser.close();
}
assert.deepEqual(offsite, [], 'no request leaves localhost');
assert.deepEqual(errors.filter((e) => !/Content Security Policy.*style/i.test(e)), [], 'console errors');
console.log('processes browser test passed');
