// Browser test of the playground's git pane and file marks: a sandbox cloned through the
// broker shows its branch; a file changed through the API is marked in the file tree and
// listed in the pane, its diff opens, Commit and Push land it (the test checks the
// server). Started by tests/api/git/browser.rs with PLAYGROUND_URL, PLAYGROUND_TOKEN,
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
  pageErrors(page, errors);
  await guard(page, offsite);
  await openSandbox(page, BASE, process.env.PLAYGROUND_TOKEN, SB);
  await page.waitForSelector('#git-repo:not([hidden])');
  assert.match(await page.textContent('#git-branch'), /^main · 0 ahead, 0 behind origin\/main/);

  // The changed file: marked in the tree (and its folder), listed in the pane.
  await page.waitForSelector('#tree li.dir[data-path="src"] .git-modified');
  await page.click('#tree li.dir[data-path="src"] > button');
  await page.waitForSelector('#tree li.file[data-path="src/app.txt"][data-git="MODIFIED"]');
  await page.click('#git-changes li[data-path="src/app.txt"] button');
  await page.waitForSelector('#git-diff:not([hidden]) .add');
  assert.match(await page.textContent('#git-diff'), /\+changed in the browser test/);

  await page.fill('#git-message', 'Committed from the playground');
  await page.click('#git-form button[type=submit]');
  await page.waitForSelector('#git-clean:not([hidden])');
  await page.waitForFunction(() => /1 ahead/.test(document.querySelector('#git-branch').textContent));
  await page.click('#git-push');
  await page.waitForFunction(() => /0 ahead/.test(document.querySelector('#git-branch').textContent));
  assert.match(await page.textContent('#git-log'), /Committed from the playground/);
  const csp = await cspViolations(page);
  assert.deepEqual(csp.filter((v) => !v.startsWith('style-src')), [], 'no script, connect or frame violation');
} finally {
  await browser.close();
}
assert.deepEqual(offsite, [], 'no request leaves localhost');
assert.deepEqual(errors.filter((e) => !/Content Security Policy.*style/i.test(e)), [], 'console errors');
console.log('git browser test passed');
