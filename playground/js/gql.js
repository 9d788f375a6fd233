// GraphQL over HTTP (POST /graphql) and over graphql-transport-ws, with errors turned
// into plain words keyed on the stable `extensions.code`.

const PLAIN = {
  UNAUTHENTICATED: 'Your token was not accepted. Check it and sign in again.',
  FORBIDDEN: 'You are not allowed to do that.',
  NOT_FOUND: 'Not found: it does not exist or is not yours.',
  PROVIDER_UNAVAILABLE: 'The sandbox provider is not reachable right now. Try again in a moment.',
  INTERNAL_SERVER_ERROR: 'Something went wrong on the server.',
};

export class ApiError extends Error {
  constructor(code, message, requestId) {
    super(message);
    this.code = code;
    this.requestId = requestId;
  }
}

export function plain(err) {
  if (!(err instanceof ApiError)) return 'Cannot reach the server. Check your connection.';
  const base = PLAIN[err.code] || err.message;
  if (err.code === 'CONFLICT' || err.code === 'BAD_USER_INPUT') return err.message;
  if (err.code === 'BUDGET_EXCEEDED') return `Not started: ${err.message}.`;
  return err.requestId && err.code === 'INTERNAL_SERVER_ERROR' ? `${base} (request ${err.requestId})` : base;
}

function toError(errors) {
  const e = errors[0] || {};
  const ext = e.extensions || {};
  return new ApiError(ext.code || 'INTERNAL_SERVER_ERROR', e.message || 'error', ext.requestId);
}

export class Client {
  constructor(token) {
    this.token = token;
  }

  async query(query, variables = {}) {
    let res;
    try {
      res = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: JSON.stringify({ query, variables }),
      });
    } catch {
      throw new Error('network');
    }
    const body = await res.json().catch(() => ({ errors: [{ message: `HTTP ${res.status}` }] }));
    if (body.errors && body.errors.length) throw toError(body.errors);
    return body.data;
  }

  // Subscribes; calls onEvent(payloadData) per `next`, onDone() at `complete`, onError(err)
  // on an error or a dropped connection. Returns a function that stops it.
  subscribe(query, variables, { onEvent, onDone, onError }) {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/graphql`, 'graphql-transport-ws');
    let finished = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${this.token}` } }));
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === 'connection_ack') {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
      } else if (msg.type === 'ping') {
        ws.send(JSON.stringify({ type: 'pong' }));
      } else if (msg.type === 'next') {
        if (msg.payload.errors) {
          finished = true;
          onError(toError(msg.payload.errors));
          ws.close();
        } else {
          onEvent(msg.payload.data);
        }
      } else if (msg.type === 'error') {
        finished = true;
        onError(toError(msg.payload));
        ws.close();
      } else if (msg.type === 'complete') {
        finished = true;
        onDone();
        ws.close();
      }
    };
    ws.onclose = (ev) => {
      if (finished) return;
      finished = true;
      onError(ev.code === 4403 ? new ApiError('UNAUTHENTICATED', 'forbidden') : new Error('network'));
    };
    return () => {
      finished = true;
      ws.close();
    };
  }
}
