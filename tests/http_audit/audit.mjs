// Runs graphql-http's auditServer (the GraphQL-over-HTTP spec's reference audit) against
// a running sandboxql. Started by tests/api/http_audit.rs with AUDIT_URL (the /graphql
// endpoint), AUDIT_TOKEN and AUDIT_DIR (where graphql-http is installed). Prints one line
// per audit and a summary line `audit: N ok, W warnings, E errors`.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.AUDIT_DIR, 'node_modules', '/'));
const { auditServer } = require('graphql-http');

const token = process.env.AUDIT_TOKEN;
const results = await auditServer({
  url: process.env.AUDIT_URL,
  fetchFn: (input, init = {}) => {
    const headers = new Headers(init.headers || {});
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  },
});
const count = { ok: 0, warn: 0, error: 0 };
for (const r of results) {
  count[r.status] += 1;
  if (r.status !== 'ok') {
    let body = '';
    try {
      body = r.response ? JSON.stringify(await r.response.text()) : '';
    } catch {}
    console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason} ${body}`);
  }
}
console.log(`audit: ${count.ok} ok, ${count.warn} warnings, ${count.error} errors`);
