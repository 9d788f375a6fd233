// What the playground's browser tests share: a headless Chromium, signing in and opening a
// sandbox, and what they check of every page: no request leaves localhost
// (each offsite URL is pushed to `offsite`), Content-Security-Policy violations are
// collected in the page for `cspViolations` to return, and uncaught page errors are
// collected by `pageErrors` (a test ends by asserting there were none).

import { createRequire } from 'node:module';
import path from 'node:path';

// Headless Chromium through the playwright-core of PLAYWRIGHT_DIR (CHROMIUM: its binary).
export async function launch() {
  const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR, 'node_modules', '/'));
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}

// Signs in at `base` with `token` and opens sandbox `sb` (its panes shown).
export async function openSandbox(page, base, token, sb) {
  await page.goto(`${base}/`);
  await page.fill('#token', token);
  await page.click('#signin-form button');
  await page.waitForSelector(`#sandbox-list li[data-id="${sb}"]`);
  await page.click(`#sandbox-list li[data-id="${sb}"] .open`);
  await page.waitForSelector('#panes:not([hidden])');
}

export async function guard(page, offsite) {
  guardRequests(page, offsite);
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
}

// Pushes every request of `target` (a page, or a whole browser context) that leaves
// localhost to `offsite`.
export function guardRequests(target, offsite) {
  target.on('request', (req) => {
    const u = new URL(req.url());
    // `*.localhost` (previews) is loopback too: Chromium resolves it there itself.
    const local = ['127.0.0.1', 'localhost'].includes(u.hostname) || u.hostname.endsWith('.localhost');
    if (!local && !['data:', 'blob:', 'about:'].includes(u.protocol)) offsite.push(req.url());
  });
}

// The CSP violations the page has seen so far.
export async function cspViolations(page) {
  return page.evaluate(() => window.__csp || []);
}

// Collects the page's uncaught errors (a thrown TypeError in a click handler, say) into
// `errors`.
export function pageErrors(page, errors) {
  page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
}
