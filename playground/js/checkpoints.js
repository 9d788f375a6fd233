// The timeline of a sandbox's turns: a checkpoint after every turn of its runs (and those
// taken by hand), each with what it changed; Browse shows its files, Rewind brings the
// workspace and the conversation back to it, Fork makes a new sandbox from it.
import { $, h, when, bytes } from './dom.js';
import { plain } from './gql.js';

const LIST = `query($id: ID!) { sandbox(id: $id) { checkpoints(first: 50) {
  id runId turn createdAt changesTotal changes { path kind } bytes hasSession } } }`;
const TAKE = 'mutation($id: ID!) { checkpointSandbox(id: $id) { id } }';
const REWIND = `mutation($s: ID!, $c: ID!) { rewindSandbox(sandboxId: $s, checkpointId: $c) {
  filesWritten pathsDeleted durationMs } }`;
const FORK = 'mutation($s: ID!, $c: ID!, $n: String) { forkSandbox(sandboxId: $s, checkpointId: $c, name: $n) { id name status } }';
const SHOWN_CHANGES = 5;

export class Timeline {
  constructor(client, notify, onBrowse, onRewound, onForked) {
    this.client = client;
    this.notify = notify;
    this.onBrowse = onBrowse;
    this.onRewound = onRewound;
    this.onForked = onForked;
    $('checkpoint-now').addEventListener('click', () => this.take());
  }

  async load(sb) {
    if (sb) this.sandbox = sb;
    if (!this.sandbox) return;
    try {
      const data = await this.client().query(LIST, { id: this.sandbox.id });
      const cps = data.sandbox.checkpoints;
      $('checkpoints').replaceChildren(
        ...(cps.length ? cps.map((c) => this.item(c)) : [h('li', { class: 'muted' }, 'No turns yet: each turn of a run leaves a checkpoint here.')]),
      );
    } catch (e) {
      this.notify(plain(e));
    }
  }

  label(c) {
    const what = c.turn ? `Turn ${c.turn}` : 'Checkpoint';
    const changed = c.changesTotal === 1 ? '1 change' : `${c.changesTotal} changes`;
    return `${what} · ${when(c.createdAt)} · ${changed} · ${bytes(c.bytes)} stored${c.hasSession ? '' : ' · files only'}`;
  }

  item(c) {
    const changes = c.changes.slice(0, SHOWN_CHANGES).map((x) => h('li', { class: `change ${x.kind.toLowerCase()}` }, `${x.kind.toLowerCase()} ${x.path}`));
    if (c.changesTotal > SHOWN_CHANGES) changes.push(h('li', { class: 'muted' }, `and ${c.changesTotal - SHOWN_CHANGES} more`));
    return h('li', { class: 'checkpoint', dataset: { id: c.id } },
      h('span', {}, this.label(c)),
      h('button', { type: 'button', class: 'link browse', onclick: () => this.onBrowse(c) }, 'Browse'),
      h('button', { type: 'button', class: 'link rewind', onclick: () => this.rewind(c) }, 'Rewind'),
      h('button', { type: 'button', class: 'link fork', onclick: () => this.fork(c) }, 'Fork'),
      h('ul', { class: 'changes small' }, ...changes));
  }

  async take() {
    try {
      await this.client().query(TAKE, { id: this.sandbox.id });
      await this.load();
    } catch (e) {
      this.notify(plain(e));
    }
  }

  async rewind(c) {
    const what = c.turn ? `turn ${c.turn}` : 'this checkpoint';
    if (!confirm(`Rewind the files and the conversation to ${what}? Later changes are kept in their own checkpoints.`)) return;
    try {
      const r = (await this.client().query(REWIND, { s: this.sandbox.id, c: c.id })).rewindSandbox;
      this.notify(`Rewound: ${r.filesWritten} written, ${r.pathsDeleted} removed in ${r.durationMs} ms. The next message goes on from ${what}.`);
      await Promise.all([this.load(), this.onRewound()]);
    } catch (e) {
      this.notify(plain(e));
    }
  }

  async fork(c) {
    const name = `${this.sandbox.name} (fork)`.slice(0, 100);
    try {
      const sb = (await this.client().query(FORK, { s: this.sandbox.id, c: c.id, n: name })).forkSandbox;
      await this.onForked(sb);
    } catch (e) {
      this.notify(plain(e));
    }
  }
}
