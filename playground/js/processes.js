// The sandbox's background processes (`startProcess`): a list with each one's status,
// its output live (`processOutput`: what is kept, then new output as it comes), and
// Stop (TERM to its whole tree). The output lives on the server: a reload shows it again.
import { $, h, show } from './dom.js';
import { plain } from './gql.js';

const LIST = 'query($s: ID!) { sandbox(id: $s) { processes { id name status exitCode } } }';
const START = 'mutation($s: ID!, $argv: [String!]!, $n: String) { startProcess(input: {sandboxId: $s, argv: $argv, name: $n}) { id } }';
const STOP = 'mutation($id: ID!) { signalProcess(id: $id, signal: TERM) { id } }';
const OUTPUT = 'subscription($p: ID!, $a: Int!) { processOutput(processId: $p, afterOffset: $a) { kind text cutBytes status exitCode } }';

export class ProcessPane {
  constructor(client, notify) {
    this.client = client;
    this.notify = notify;
    this.sb = null;
    this.watching = null;
    this.unsubscribe = null;
    $('process-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.start().catch((err) => this.notify(plain(err)));
    });
  }

  async open(sb) {
    this.sb = sb.id;
    this.follow(null);
    await this.refresh();
  }

  async refresh() {
    const data = await this.client().query(LIST, { s: this.sb });
    const list = $('processes');
    list.textContent = '';
    const procs = (data.sandbox && data.sandbox.processes) || [];
    show($('processes-empty'), procs.length === 0);
    for (const p of procs) {
      const state = p.status === 'EXITED' ? `EXITED ${p.exitCode ?? ''}` : p.status;
      list.append(h('li', { dataset: { id: p.id, status: p.status } },
        h('button', { type: 'button', class: 'link show-output', onclick: () => this.follow(p.id) }, p.name), ' ',
        h('span', { class: `badge ${p.status.toLowerCase()}` }, state), ' ',
        p.status === 'RUNNING'
          ? h('button', { type: 'button', class: 'stop', onclick: () => this.stop(p.id).catch((e) => this.notify(plain(e))) }, 'Stop')
          : null));
    }
  }

  // A shell command line, so pipes and `&&` work as typed.
  async start() {
    const line = $('process-command').value.trim();
    if (!line) return;
    const data = await this.client().query(START, { s: this.sb, argv: ['sh', '-c', line], n: line.slice(0, 60) });
    $('process-command').value = '';
    await this.refresh();
    this.follow(data.startProcess.id);
  }

  async stop(id) {
    await this.client().query(STOP, { id });
    setTimeout(() => this.refresh().catch(() => {}), 500);
  }

  // Shows one process's output from its start (or the oldest kept byte), then live.
  follow(id) {
    if (this.unsubscribe) this.unsubscribe();
    this.unsubscribe = null;
    this.watching = id;
    const out = $('process-output');
    out.textContent = '';
    show(out, Boolean(id));
    if (!id) return;
    this.unsubscribe = this.client().subscribe(OUTPUT, { p: id, a: 0 }, {
      onEvent: (d) => {
        const piece = d.processOutput;
        if (piece.kind === 'CUT') out.append(`[… ${piece.cutBytes} earlier bytes not kept]\n`);
        else if (piece.kind === 'DATA') out.append(piece.text);
        else if (piece.kind === 'ENDED') {
          out.append(`\n[${(piece.status || 'ended').toLowerCase()} ${piece.exitCode ?? ''}]\n`);
          this.refresh().catch(() => {});
        }
        out.scrollTop = out.scrollHeight;
      },
      onDone: () => this.refresh().catch(() => {}),
      onError: (e) => this.notify(plain(e)),
    });
  }
}
