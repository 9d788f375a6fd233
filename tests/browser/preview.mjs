// Browser test of the playground's previews: expose the port of a server the sandbox
// runs (PRIVATE), show it in the pane and open it in a new tab; both render the page the
// sandbox serves, through the signed link and its cookie; after a reload the preview is
// still listed. No request leaves localhost (previews are `*.localhost`). Started by
// tests/api/playground.rs with PLAYGROUND_URL, PLAYGROUND_TOKEN, SANDBOX_ID, PLAYWRIGHT_DIR.
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
  await page.fill('#preview-port', '5173');
  await page.click('#preview-form button[type=submit]');
  await page.waitForSelector('#previews li[data-port="5173"]');
  assert.match(await page.textContent('#previews li[data-port="5173"]'), /PRIVATE/);

  // In the pane: the frame follows the signed link and renders the sandbox's page.
  await page.click('#previews li[data-port="5173"] .show');
  const frame = page.frameLocator('#preview-frame');
  await frame.locator('#greeting').waitFor({ timeout: 20000 }).catch(async (e) => {
    const f = page.frames().find((x) => x !== page.mainFrame());
    console.log('FRAME', f && f.url(), f && (await f.content().catch(() => '')).slice(0, 300));
    throw e;
  });
  assert.equal(await frame.locator('#greeting').textContent(), 'hello from the sandbox');

  // In a new tab of its own.
  const [tab] = await Promise.all([context.waitForEvent('page'), page.click('#previews li[data-port="5173"] .new-tab')]);
  pageErrors(tab, errors);
  await tab.waitForSelector('#greeting', { timeout: 20000 });
  assert.equal(await tab.textContent('#greeting'), 'hello from the sandbox');
  const host = new URL(tab.url()).hostname;
  assert.equal(host, `5173-${SB}.localhost`, 'the preview is its own origin');
  assert.equal(new URL(tab.url()).pathname, '/', 'the link redirected to the clean URL');

  await page.reload();
  await page.waitForSelector('#previews li[data-port="5173"]');
  const csp = await cspViolations(page);
  assert.deepEqual(csp.filter((v) => !v.startsWith('style-src')), [], 'no script, connect or frame violation');
} finally {
  await browser.close();
}
assert.deepEqual(offsite, [], 'no request leaves localhost');
assert.deepEqual(errors.filter((e) => !/Content Security Policy.*style/i.test(e)), [], 'console errors');
console.log('preview browser test passed');
