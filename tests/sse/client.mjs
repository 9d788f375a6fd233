// The stock npm graphql-sse client (distinct connections mode) against sandboxql:
// `claudeStream` and `runEvents` to completion, then a raw reconnect with Last-Event-ID.
// Started by tests/api/sse.rs with SSE_URL, SSE_TOKEN, SANDBOX_ID and SSE_DIR (where
// graphql-sse is installed); prints one JSON line with what it saw.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.SSE_DIR, 'node_modules', '/'));
const { createClient } = require('graphql-sse');

const url = process.env.SSE_URL;
const headers = { authorization: `Bearer ${process.env.SSE_TOKEN}` };
const single = process.env.SSE_SINGLE === '1';
const client = createClient({ url, headers, retryAttempts: 0, singleConnection: single });

async function collect(query, variables) {
  const out = [];
  for await (const result of client.iterate({ query, variables })) {
    out.push(result);
  }
  return out;
}

const FIELDS = '__typename ... on RunStarted { runId seq } ... on AssistantText { seq text } ... on TextDelta { seq } ... on SessionStarted { seq } ... on ToolUse { seq } ... on ToolResult { seq } ... on AssistantThinking { seq } ... on RunFinished { seq status } ... on RawEvent { seq }';
const live = await collect(`subscription($s: ID!) { claudeStream(sandboxId: $s, prompt: "[delay 10] hello over sse") { ${FIELDS} } }`, { s: process.env.SANDBOX_ID });
const runId = live[0].data.claudeStream.runId;
const replay = await collect(`subscription($r: ID!) { runEvents(runId: $r) { ${FIELDS} } }`, { r: runId });

// A dropped stream resumes with Last-Event-ID (the last seq seen): raw fetch, as a
// browser EventSource would reconnect.
const res = await fetch(url, {
  method: 'POST',
  headers: {
    authorization: `Bearer ${process.env.SSE_TOKEN}`,
    'content-type': 'application/json',
    accept: 'text/event-stream',
    'last-event-id': '3',
  },
  body: JSON.stringify({ query: `subscription($r: ID!) { runEvents(runId: $r) { ${FIELDS} } }`, variables: { r: runId } }),
});
const text = await res.text();
const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);

// Errors come inside the stream: an unknown run is NOT_FOUND, then complete.
const missing = await collect(`subscription($r: ID!) { runEvents(runId: $r) { __typename } }`, { r: '0190f1d2-0000-7000-8000-000000000000' });

console.log(JSON.stringify({
  single,
  live: live.map((r) => r.data.claudeStream),
  replay: replay.map((r) => r.data.runEvents),
  resumed: { status: res.status, type: res.headers.get('content-type'), ids, last: events[events.length - 1] },
  missing,
}));
client.dispose();
