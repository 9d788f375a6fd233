// The files pane: a lazily expanded tree, a viewer (text with line numbers, images,
// other binaries as size + download), WORKSPACE / SNAPSHOT source, refresh, sync with
// its figures, and the snapshot history. The workspace tree follows `workspaceChanges`:
// files Claude writes appear without a refresh.
import { $, h, show, when, bytes } from './dom.js';
import { plain } from './gql.js';

const LIST = `query($id: ID!, $p: String!, $s: FileSource!) { sandbox(id: $id) {
  files(path: $p, source: $s, first: 1000) { truncated entries { path name size isDirectory isSymlink symlinkTarget } } } }`;
const CONTENT = `query($id: ID!, $p: String!, $s: FileSource!, $m: Int!) { sandbox(id: $id) {
  fileContent(path: $p, source: $s, maxBytes: $m) { path size mimeType encoding content truncated } } }`;
const VIEW_BYTES = 1024 * 1024;
const CHANGES = 'subscription($id: ID!) { workspaceChanges(sandboxId: $id) { kind path } }';

export class Files {
  constructor(client, notify, onSynced) {
    this.client = client;
    this.notify = notify;
    this.onSynced = onSynced;
    $('refresh').addEventListener('click', () => this.load());
    $('source').addEventListener('change', () => this.load());
    $('sync').addEventListener('click', () => this.sync());
  }

  async open(sb) {
    this.sandbox = sb;
    this.watch(sb);
    $('source').value = 'WORKSPACE';
    $('sync-stats').textContent = sb.lastSyncAt ? `Last sync ${when(sb.lastSyncAt)}` : 'Never synced';
    await Promise.all([this.load(), this.loadSnapshots()]);
  }

  source() {
    return $('source').value;
  }

  // Stops following the workspace (another sandbox, or signed out).
  stop() {
    if (this.unwatch) this.unwatch();
    this.unwatch = null;
    this.sandbox = null;
  }

  // Re-lists the tree (at most every 300 ms) when the workspace changes; a dropped
  // subscription is re-opened after a pause.
  watch(sb) {
    if (this.unwatch) this.unwatch();
    let timer = null;
    const stop = this.client().subscribe(CHANGES, { id: sb.id }, {
      onEvent: () => {
        if (this.sandbox !== sb || this.source() !== 'WORKSPACE' || timer) return;
        timer = setTimeout(() => {
          timer = null;
          this.load(true);
        }, 300);
      },
      onDone: () => {},
      onError: () => {
        if (this.sandbox === sb && this.unwatch === unwatch) setTimeout(() => this.sandbox === sb && this.watch(sb), 3000);
      },
    });
    const unwatch = () => {
      clearTimeout(timer);
      stop();
    };
    this.unwatch = unwatch;
    $('tree').dataset.live = 'on';
  }

  // Lists the tree's top level; a live refresh (keepViewer) keeps the viewer open and
  // re-opens the directories that were open.
  async load(keepViewer = false) {
    if (!keepViewer) show($('viewer'), false);
    const asked = this.sandbox;
    const items = await this.list('');
    // Another sandbox was opened meanwhile: this answer is stale.
    if (this.sandbox !== asked) return;
    const open = keepViewer
      ? [...$('tree').querySelectorAll('li.dir[aria-expanded="true"]')].map((li) => li.dataset.path)
      : [];
    $('tree').replaceChildren(...(items || []));
    show($('tree-empty'), items !== null && items.length === 0);
    for (const p of open) {
      const li = [...$('tree').querySelectorAll('li.dir')].find((x) => x.dataset.path === p);
      if (li && li.getAttribute('aria-expanded') !== 'true') await li.toggle();
    }
  }

  async list(path) {
    try {
      const data = await this.client().query(LIST, { id: this.sandbox.id, p: path, s: this.source() });
      const list = data.sandbox.files;
      const nodes = list.entries.map((e) => this.node(e));
      if (list.truncated) {
        nodes.push(h('li', { class: 'muted truncated' }, `… only the first ${list.entries.length} entries are shown`));
      }
      return nodes;
    } catch (e) {
      if (e.code === 'NOT_FOUND' && this.source() === 'SNAPSHOT') {
        this.notify('This sandbox has no snapshot yet. Press Sync to take one.');
        return [];
      }
      this.notify(plain(e));
      return null;
    }
  }

  node(entry) {
    if (!entry.isDirectory) {
      const label = entry.isSymlink ? `${entry.name} → ${entry.symlinkTarget}` : entry.name;
      return h('li', { role: 'treeitem', class: 'file', dataset: { path: entry.path } },
        h('button', { class: 'entry', onclick: () => this.view(entry) }, label, h('span', { class: 'muted small' }, bytes(entry.size))));
    }
    const children = h('ul', { role: 'group', hidden: true });
    const li = h('li', { role: 'treeitem', class: 'dir', 'aria-expanded': 'false', dataset: { path: entry.path } });
    const toggle = async () => {
      const open = li.getAttribute('aria-expanded') === 'true';
      if (!open && !li.dataset.loaded) {
        const items = await this.list(entry.path);
        children.replaceChildren(...(items || []));
        if (items && items.length === 0) children.append(h('li', { class: 'muted small' }, 'empty'));
        li.dataset.loaded = '1';
      }
      li.setAttribute('aria-expanded', String(!open));
      children.hidden = open;
    };
    li.toggle = toggle;
    li.append(h('button', { class: 'entry', onclick: toggle }, `${entry.name}/`), children);
    return li;
  }

  async view(entry) {
    const viewer = $('viewer');
    viewer.replaceChildren(h('p', { class: 'muted' }, `Loading ${entry.path}…`));
    show(viewer, true);
    try {
      const data = await this.client().query(CONTENT, { id: this.sandbox.id, p: entry.path, s: this.source(), m: VIEW_BYTES });
      const f = data.sandbox.fileContent;
      const head = h('div', { class: 'viewer-head' }, h('strong', {}, f.path), h('span', { class: 'muted small' }, `${bytes(f.size)} · ${f.mimeType}`));
      let body;
      if (f.encoding === 'UTF8') {
        const lines = f.content.split('\n');
        if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
        body = h('ol', { class: 'code' }, lines.map((l) => h('li', {}, l)));
      } else if (f.mimeType.startsWith('image/') && !f.truncated) {
        body = h('img', { src: `data:${f.mimeType};base64,${f.content}`, alt: f.path, class: 'preview' });
      } else {
        body = h('p', {}, `Binary file, ${bytes(f.size)}. `, h('button', { class: 'link', onclick: () => this.download(f.path) }, 'Download'));
      }
      viewer.replaceChildren(head, body, f.truncated && f.encoding === 'UTF8' ? h('p', { class: 'muted small' }, `Showing the first ${bytes(VIEW_BYTES)}.`) : null);
    } catch (e) {
      viewer.replaceChildren(h('p', { class: 'error' }, plain(e)));
    }
  }

  async download(path) {
    try {
      const data = await this.client().query(CONTENT, { id: this.sandbox.id, p: path, s: this.source(), m: 10 * 1024 * 1024 });
      const raw = atob(data.sandbox.fileContent.content);
      const buf = Uint8Array.from(raw, (c) => c.charCodeAt(0));
      const url = URL.createObjectURL(new Blob([buf]));
      const a = h('a', { href: url, download: path.split('/').pop() });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      this.notify(plain(e));
    }
  }

  async sync() {
    const btn = $('sync');
    btn.disabled = true;
    btn.textContent = 'Syncing…';
    $('sync-stats').textContent = 'Sync in progress…';
    try {
      const q = 'mutation($id: ID!) { syncSandbox(id: $id) { filesProcessed filesUploaded bytesTransferred durationMs snapshot { id fileCount totalBytes } } }';
      const r = (await this.client().query(q, { id: this.sandbox.id })).syncSandbox;
      $('sync-stats').textContent =
        `Synced: ${r.filesProcessed} files, ${r.filesUploaded} uploaded, ${bytes(r.bytesTransferred)} sent in ${r.durationMs} ms`;
      await Promise.all([this.loadSnapshots(), this.onSynced()]);
    } catch (e) {
      $('sync-stats').textContent = '';
      this.notify(plain(e));
    } finally {
      btn.disabled = false;
      btn.textContent = 'Sync';
    }
  }

  async loadSnapshots() {
    try {
      const data = await this.client().query('query($id: ID!) { sandbox(id: $id) { snapshots(first: 20) { id createdAt fileCount totalBytes } } }', { id: this.sandbox.id });
      const snaps = data.sandbox.snapshots;
      $('snapshots').replaceChildren(
        ...(snaps.length
          ? snaps.map((s) => h('li', {}, `${when(s.createdAt)} · ${s.fileCount} files · ${bytes(s.totalBytes)}`))
          : [h('li', { class: 'muted' }, 'No snapshots yet.')]),
      );
    } catch (e) {
      this.notify(plain(e));
    }
  }
}
