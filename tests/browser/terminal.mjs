// Browser test of the playground's terminal: open it, type a command, see its output;
// reload the page and the same terminal comes back with its scrollback, and still takes
// input. Started by tests/api/playground.rs with PLAYGROUND_URL, PLAYGROUND_TOKEN,
// SANDBOX_ID, PLAYWRIGHT_DIR.
import assert from 'node:assert/strict';
import { guard, cspViolations, pageErrors, launch, openSandbox } from './guard.mjs';

const BASE = process.env.PLAYGROUND_URL;
const SB = process.env.SANDBOX_ID;

const browser = await launch();
const errors = [];
const offsite = [];
const screen = (page) => page.evaluate(() => document.querySelector('#term .xterm-rows')?.textContent || '');
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  pageErrors(page, errors);
  await guard(page, offsite);
  await openSandbox(page, BASE, process.env.PLAYGROUND_TOKEN, SB);
  await page.click('#term-open');
  await page.waitForSelector('#term .xterm-rows', { timeout: 8000 }).catch(async (e) => {
    console.log('TERM DEBUG', await page.evaluate(() => document.querySelector('#terminal-box').outerHTML.slice(0, 800)), errors);
    throw e;
  });
  await page.click('#term');
  await page.keyboard.type('echo out-$((6*7))');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /out-42/.test(document.querySelector('#term .xterm-rows').textContent), null, { timeout: 15000 }).catch(async (e) => {
    console.log('SCREEN', JSON.stringify(await screen(page)), JSON.stringify(errors));
    throw e;
  });

  await page.reload();
  await page.waitForSelector('#panes:not([hidden])');
  await page.waitForFunction(() => /out-42/.test(document.querySelector('#term .xterm-rows')?.textContent || ''), null, { timeout: 15000 });
  assert.equal(await page.isVisible('#term-close'), true, 'the same terminal, reattached');
  await page.click('#term');
  await page.keyboard.type('echo again-$((1+1))');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /again-2/.test(document.querySelector('#term .xterm-rows').textContent), null, { timeout: 15000 });
  assert.match(await screen(page), /out-42/, 'the scrollback came back');
  const csp = await cspViolations(page);
  assert.deepEqual(csp.filter((v) => !v.startsWith('style-src')), [], 'no script or connect violation');
} finally {
  await browser.close();
}
assert.deepEqual(offsite, [], 'no request leaves localhost');
assert.deepEqual(errors.filter((e) => !/Content Security Policy.*style/i.test(e)), [], 'console errors');
console.log('terminal browser test passed');
