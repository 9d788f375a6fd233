// Browser test of the playground's timeline of turns: two checkpoints listed with what
// each changed; Browse shows the older one's files; Rewind brings the workspace back to
// it; Fork opens a new sandbox made from the newer one (the test checks the server).
// Started by tests/api/checkpoints/browser.rs with PLAYGROUND_URL, PLAYGROUND_TOKEN,
// SANDBOX_ID, PLAYWRIGHT_DIR.
import assert from 'node:assert/strict';
import { guard, guardRequests, cspViolations, pageErrors, launch, openSandbox } from './guard.mjs';

const BASE = process.env.PLAYGROUND_URL;
const SB = process.env.SANDBOX_ID;

const browser = await launch();
const errors = [];
const offsite = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  guardRequests(context, offsite);
  const page = await context.newPage();
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  page.on('dialog', (d) => d.accept());
  pageErrors(page, errors);
  await guard(page, offsite);
  await openSandbox(page, BASE, process.env.PLAYGROUND_TOKEN, SB);
  await page.waitForFunction(() => document.querySelectorAll('#checkpoints li.checkpoint').length === 2);
  const [newer, older] = await page.locator('#checkpoints li.checkpoint').all();
  assert.match(await newer.textContent(), /added b\.txt/);
  assert.match(await older.textContent(), /added a\.txt/);

  // Browse: the older checkpoint's files.
  // (The workspace tree, shown before, has both files: wait for the checkpoint's.)
  await older.locator('button.browse').click();
  await page.waitForFunction(() => /Checkpoint of/.test(document.querySelector('#source-note').textContent));
  await page.waitForFunction(() => document.querySelector('#tree li.file[data-path="a.txt"]')
    && !document.querySelector('#tree li.file[data-path="b.txt"]'));

  // Rewind to it: the notice says what was done.
  await older.locator('button.rewind').click();
  await page.waitForFunction(() => /Rewound: 0 written, 1 removed/.test(document.querySelector('#notice').textContent));

  // Fork the newer one: a new sandbox opens.
  await page.locator('#checkpoints li.checkpoint').first().locator('button.fork').click();
  await page.waitForFunction((sb) => location.hash.startsWith('#/sandbox/') && !location.hash.endsWith(sb), SB);
  const fork = (await page.evaluate(() => location.hash)).replace('#/sandbox/', '');
  console.log(`fork=${fork}`);
  const csp = await cspViolations(page);
  assert.deepEqual(csp.filter((v) => !v.startsWith('style-src')), [], 'no script, connect or frame violation');
} finally {
  await browser.close();
}
assert.deepEqual(offsite, [], 'no request leaves localhost');
assert.deepEqual(errors.filter((e) => !/Content Security Policy.*style/i.test(e)), [], 'console errors');
console.log('timeline browser test passed');
