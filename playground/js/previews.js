// The sandbox's previews: its exposed ports, each shown in a frame or opened in a new tab
// through a fresh signed link (a PRIVATE preview needs the cookie the link sets). The
// preview is its own origin: nothing it runs can reach this page or the API's token.
import { $, h, show } from './dom.js';
import { plain } from './gql.js';

const LIST = 'query($s: ID!) { sandbox(id: $s) { previews { port url visibility link { url } } } }';
const EXPOSE = 'mutation($s: ID!, $p: Int!, $v: PreviewVisibility!) { exposePort(sandboxId: $s, port: $p, visibility: $v) { port } }';
const UNEXPOSE = 'mutation($s: ID!, $p: Int!) { unexposePort(sandboxId: $s, port: $p) }';

export class PreviewPane {
  constructor(client, notify) {
    this.client = client;
    this.notify = notify;
    this.sb = null;
    $('preview-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.expose().catch((err) => this.notify(plain(err)));
    });
  }

  async open(sb) {
    this.sb = sb.id;
    $('preview-frame').src = 'about:blank';
    show($('preview-frame'), false);
    await this.refresh();
  }

  async refresh() {
    const data = await this.client().query(LIST, { s: this.sb });
    const list = $('previews');
    list.textContent = '';
    const previews = (data.sandbox && data.sandbox.previews) || [];
    show($('previews-empty'), previews.length === 0);
    for (const p of previews) {
      list.append(h('li', { dataset: { port: String(p.port) } },
        h('span', { class: 'port' }, `:${p.port}`), ' ',
        h('span', { class: `badge ${p.visibility.toLowerCase()}` }, p.visibility), ' ',
        h('button', { type: 'button', class: 'show', onclick: () => this.show(p.port).catch((e) => this.notify(plain(e))) }, 'Show'), ' ',
        h('button', { type: 'button', class: 'new-tab', onclick: () => this.newTab(p.port).catch((e) => this.notify(plain(e))) }, 'Open in new tab'), ' ',
        h('button', { type: 'button', class: 'unexpose', onclick: () => this.unexpose(p.port).catch((e) => this.notify(plain(e))) }, 'Stop')));
    }
  }

  // A fresh link each time: links expire after a few minutes, the cookie they set lasts.
  async linkOf(port) {
    const data = await this.client().query(LIST, { s: this.sb });
    const p = data.sandbox.previews.find((x) => x.port === port);
    if (!p) throw new Error(`port ${port} is no longer exposed`);
    return p.visibility === 'PUBLIC' ? p.url : p.link.url;
  }

  async show(port) {
    const frame = $('preview-frame');
    frame.src = await this.linkOf(port);
    show(frame, true);
  }

  async newTab(port) {
    // Opened before the await would be blocked as a popup: open, then point it there.
    const tab = window.open('about:blank', '_blank', 'noopener=no');
    const url = await this.linkOf(port);
    if (tab) {
      tab.opener = null;
      tab.location.href = url;
    }
  }

  async expose() {
    const port = Number($('preview-port').value);
    const visibility = $('preview-public').checked ? 'PUBLIC' : 'PRIVATE';
    await this.client().query(EXPOSE, { s: this.sb, p: port, v: visibility });
    await this.refresh();
  }

  async unexpose(port) {
    await this.client().query(UNEXPOSE, { s: this.sb, p: port });
    show($('preview-frame'), false);
    await this.refresh();
  }
}
