// The sandbox's terminal: xterm.js (vendored) on the /terminal/{id} websocket. The
// terminal lives on in the sandbox; its id is kept per sandbox in sessionStorage, so a
// reload reattaches to it and shows its scrollback before the live output.
import { Terminal as Xterm } from '../vendor/xterm.mjs';
import { FitAddon } from '../vendor/addon-fit.mjs';
import { $, show } from './dom.js';
import { plain } from './gql.js';

const key = (sb) => `sandboxql.terminal.${sb}`;

export class TerminalPane {
  constructor(client, notify) {
    this.client = client;
    this.notify = notify;
    this.sb = null;
    this.ws = null;
    this.term = null;
    $('term-open').addEventListener('click', () => this.start().catch((e) => this.notify(plain(e))));
    $('term-close').addEventListener('click', () => this.close().catch((e) => this.notify(plain(e))));
  }

  // Shows the sandbox's terminal if one is open (after a reload), else the Open button.
  async open(sb) {
    this.stop();
    this.sb = sb.id;
    const id = sessionStorage.getItem(key(sb.id));
    show($('term-close'), false);
    show($('term-open'), true);
    if (!id) return;
    const data = await this.client().query('query($s: ID!) { sandbox(id: $s) { terminals { id status } } }', { s: sb.id });
    const t = data.sandbox && data.sandbox.terminals.find((x) => x.id === id && x.status === 'RUNNING');
    if (t) this.attach(id);
    else sessionStorage.removeItem(key(sb.id));
  }

  async start() {
    const q = 'mutation($s: ID!, $c: Int!, $r: Int!) { openTerminal(sandboxId: $s, cols: $c, rows: $r) { id } }';
    const data = await this.client().query(q, { s: this.sb, c: 100, r: 30 });
    sessionStorage.setItem(key(this.sb), data.openTerminal.id);
    this.attach(data.openTerminal.id);
  }

  attach(id) {
    this.stop();
    const box = $('term');
    box.textContent = '';
    const term = new Xterm({ cursorBlink: true, fontSize: 13, scrollback: 5000 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box);
    this.term = term;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/terminal/${id}`, 'sandboxql.terminal');
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    const resize = () => {
      try { fit.fit(); } catch { /* not visible yet */ }
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows }));
    };
    ws.onopen = () => ws.send(JSON.stringify({ authorization: `Bearer ${this.client().token}`, from: 0 }));
    ws.onmessage = (m) => {
      if (typeof m.data !== 'string') return term.write(new Uint8Array(m.data));
      const msg = JSON.parse(m.data);
      if (msg.type === 'ready') resize();
      else if (msg.type === 'cut') term.write(`\r\n[… ${msg.bytes} earlier bytes not kept]\r\n`);
      else if (msg.type === 'exit') {
        term.write(`\r\n[exited ${msg.code ?? ''}]\r\n`);
        sessionStorage.removeItem(key(this.sb));
        show($('term-close'), false);
        show($('term-open'), true);
      } else if (msg.type === 'error') this.notify(msg.message);
    };
    ws.onclose = (e) => {
      if (e.code === 4404) sessionStorage.removeItem(key(this.sb));
    };
    const enc = new TextEncoder();
    term.onData((d) => ws.readyState === WebSocket.OPEN && ws.send(enc.encode(d)));
    this.onResize = resize;
    window.addEventListener('resize', resize);
    show($('term-open'), false);
    show($('term-close'), true);
    term.focus();
  }

  async close() {
    const id = sessionStorage.getItem(key(this.sb));
    if (id) await this.client().query('mutation($id: ID!) { closeTerminal(id: $id) { id } }', { id });
    sessionStorage.removeItem(key(this.sb));
    this.stop();
    show($('term-close'), false);
    show($('term-open'), true);
  }

  // Leaves the terminal running in the sandbox; only this page lets go of it.
  stop() {
    if (this.ws) this.ws.close();
    if (this.term) this.term.dispose();
    if (this.onResize) window.removeEventListener('resize', this.onResize);
    this.ws = null;
    this.term = null;
    this.onResize = null;
  }
}
