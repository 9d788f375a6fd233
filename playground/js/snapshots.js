// The snapshot history of a sandbox: each snapshot can be browsed in the file pane, or
// restored into a new sandbox (createSandbox from the snapshot), which then opens.
import { $, h, when, bytes } from './dom.js';
import { plain } from './gql.js';

const LIST = 'query($id: ID!) { sandbox(id: $id) { snapshots(first: 20) { id createdAt fileCount totalBytes } } }';
const RESTORE = `mutation($s: ID!, $n: String) { createSandbox(input: {fromSnapshot: $s, name: $n}) { id name status } }`;

export class Snapshots {
  constructor(client, notify, onBrowse, onRestored) {
    this.client = client;
    this.notify = notify;
    this.onBrowse = onBrowse;
    this.onRestored = onRestored;
  }

  async load(sb) {
    this.sandbox = sb;
    try {
      const data = await this.client().query(LIST, { id: sb.id });
      const snaps = data.sandbox.snapshots;
      $('snapshots').replaceChildren(
        ...(snaps.length ? snaps.map((s) => this.item(s)) : [h('li', { class: 'muted' }, 'No snapshots yet.')]),
      );
    } catch (e) {
      this.notify(plain(e));
    }
  }

  item(s) {
    return h('li', { class: 'snapshot', dataset: { id: s.id } },
      h('span', {}, `${when(s.createdAt)} · ${s.fileCount} files · ${bytes(s.totalBytes)}`),
      h('button', { type: 'button', class: 'link browse', onclick: () => this.onBrowse(s) }, 'Browse'),
      h('button', { type: 'button', class: 'link restore', onclick: () => this.restore(s) }, 'Restore into a new sandbox'));
  }

  async restore(s) {
    const name = `${this.sandbox.name} (restored)`.slice(0, 100);
    this.notify(`Restoring the snapshot of ${when(s.createdAt)} into a new sandbox…`);
    try {
      const data = await this.client().query(RESTORE, { s: s.id, n: name });
      this.notify('');
      await this.onRestored(data.createSandbox);
    } catch (e) {
      this.notify(plain(e));
    }
  }
}
