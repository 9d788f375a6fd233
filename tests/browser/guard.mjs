// What the playground's browser tests check of every page: no request leaves localhost
// (each offsite URL is pushed to `offsite`), Content-Security-Policy violations are
// collected in the page for `cspViolations` to return, and uncaught page errors are
// collected by `pageErrors` (a test ends by asserting there were none).

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
