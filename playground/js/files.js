// The files pane: a lazily expanded tree of the workspace, the newest snapshot or any
// snapshot of the history; a viewer (text highlighted with line numbers, images, other
// files as size + download) with Edit and Save for workspace text files; Upload; Sync
// with its figures. The workspace tree follows `workspaceChanges`: files Claude writes
// appear without a refresh.
import { $, h, show, when, bytes } from './dom.js';
import { plain } from './gql.js';
import { code, languageOf } from './render.js';
import { Snapshots } from './snapshots.js';
import { Timeline } from './checkpoints.js';

const LIST = `query($id: ID!, $p: String!, $s: FileSource!, $snap: ID, $cp: ID) { sandbox(id: $id) {
  files(path: $p, source: $s, snapshotId: $snap, checkpointId: $cp, first: 1000) { truncated entries { path name size isDirectory isSymlink symlinkTarget gitState } } } }`;
const CONTENT = `query($id: ID!, $p: String!, $s: FileSource!, $snap: ID, $cp: ID, $m: Int!) { sandbox(id: $id) {
  fileContent(path: $p, source: $s, snapshotId: $snap, checkpointId: $cp, maxBytes: $m) { path size mimeType encoding content truncated } } }`;
const WRITE = `mutation($id: ID!, $p: String!, $c: String!, $e: FileEncoding!) {
  writeFile(sandboxId: $id, path: $p, content: $c, encoding: $e) { path size } }`;
const VIEW_BYTES = 1024 * 1024;
const CHANGES = 'subscription($id: ID!) { workspaceChanges(sandboxId: $id) { kind path } }';

// A file's bytes as base64 (for upload), without building one huge string at once.
async function base64Of(file) {
  const buf = new Uint8Array(await file.arrayBuffer());
  let out = '';
  for (let i = 0; i < buf.length; i += 0x8000) out += String.fromCharCode(...buf.subarray(i, i + 0x8000));
  return btoa(out);
}

export class Files {
  constructor(client, notify, onSynced, onRestored) {
    this.client = client;
    this.notify = notify;
    this.onSynced = onSynced;
    this.snapshots = new Snapshots(client, notify, (snap) => this.browse(snap), onRestored);
    this.timeline = new Timeline(client, notify, (cp) => this.browseCheckpoint(cp), () => this.load(), onRestored);
    $('refresh').addEventListener('click', () => this.load());
    $('source').addEventListener('change', () => {
      this.snapshotId = null;
      this.load();
    });
    $('sync').addEventListener('click', () => this.sync());
    $('upload').addEventListener('change', (ev) => this.upload(ev.target));
  }

  async open(sb) {
    this.sandbox = sb;
    this.snapshotId = null;
    this.watch(sb);
    $('source').value = 'WORKSPACE';
    $('sync-stats').textContent = sb.lastSyncAt ? `Last sync ${when(sb.lastSyncAt)}` : 'Never synced';
    await Promise.all([this.load(), this.snapshots.load(sb), this.timeline.load(sb)]);
  }

  source() {
    return $('source').value;
  }

  where() {
    const s = this.source();
    return { id: this.sandbox.id, s, snap: s === 'SNAPSHOT' ? this.snapshotId : null, cp: s === 'CHECKPOINT' ? this.checkpointId : null };
  }

  // Shows the files of one checkpoint of the timeline.
  async browseCheckpoint(cp) {
    $('source').value = 'CHECKPOINT';
    this.checkpointId = cp.id;
    $('source-note').textContent = `${cp.turn ? `Turn ${cp.turn}` : 'Checkpoint'} of ${when(cp.createdAt)}`;
    await this.load();
  }

  // Shows the files of one snapshot of the history.
  async browse(snap) {
    $('source').value = 'SNAPSHOT';
    this.snapshotId = snap.id;
    $('source-note').textContent = `Snapshot of ${when(snap.createdAt)}`;
    await this.load();
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
    if ((this.source() !== 'SNAPSHOT' || !this.snapshotId) && this.source() !== 'CHECKPOINT') $('source-note').textContent = '';
    $('upload-label').hidden = this.source() !== 'WORKSPACE';
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
      const data = await this.client().query(LIST, { ...this.where(), p: path });
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
    // Changed and untracked files (and the folders holding them) carry git's mark.
    const mark = entry.gitState
      ? h('span', { class: `git-mark git-${entry.gitState.toLowerCase()}`, title: entry.gitState }, entry.gitState[0])
      : '';
    if (!entry.isDirectory) {
      const label = entry.isSymlink ? `${entry.name} → ${entry.symlinkTarget}` : entry.name;
      return h('li', { role: 'treeitem', class: 'file', dataset: { path: entry.path, git: entry.gitState || '' } },
        h('button', { class: 'entry', onclick: () => this.view(entry) }, label, mark, h('span', { class: 'muted small' }, bytes(entry.size))));
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
      this.folder = open ? '' : entry.path;
    };
    li.toggle = toggle;
    li.append(h('button', { class: 'entry', onclick: toggle }, `${entry.name}/`, mark), children);
    return li;
  }

  async view(entry) {
    const viewer = $('viewer');
    viewer.replaceChildren(h('p', { class: 'muted' }, `Loading ${entry.path}…`));
    show(viewer, true);
    try {
      const data = await this.client().query(CONTENT, { ...this.where(), p: entry.path, m: VIEW_BYTES });
      const f = data.sandbox.fileContent;
      const editable = f.encoding === 'UTF8' && !f.truncated && this.source() === 'WORKSPACE';
      const head = h('div', { class: 'viewer-head' }, h('strong', {}, f.path),
        h('span', { class: 'muted small' }, `${bytes(f.size)} · ${f.mimeType}`),
        editable ? h('button', { type: 'button', class: 'link', id: 'edit', onclick: () => this.edit(f) }, 'Edit') : null);
      const parts = [head, this.body(f)];
      if (f.truncated && f.encoding === 'UTF8') parts.push(h('p', { class: 'muted small' }, `Showing the first ${bytes(VIEW_BYTES)}.`));
      viewer.replaceChildren(...parts);
    } catch (e) {
      viewer.replaceChildren(h('p', { class: 'error' }, plain(e)));
    }
  }

  // A file's content as the viewer shows it: text with line numbers beside it.
  body(f) {
    if (f.encoding === 'UTF8') {
      const lines = f.content.split('\n');
      const count = lines.length > 1 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
      const gutter = h('pre', { class: 'gutter', 'aria-hidden': 'true' },
        Array.from({ length: Math.max(count, 1) }, (_, i) => i + 1).join('\n'));
      return h('div', { class: 'code-view' }, gutter, h('pre', { class: 'text' }, code(f.content, languageOf(f.path))));
    }
    if (f.mimeType.startsWith('image/') && !f.truncated) {
      return h('img', { src: `data:${f.mimeType};base64,${f.content}`, alt: f.path, class: 'preview' });
    }
    return h('p', {}, `Binary file, ${bytes(f.size)}. `, h('button', { class: 'link', onclick: () => this.download(f.path) }, 'Download'));
  }

  // Edits a workspace text file in place; Save writes it (writeFile), Cancel drops it.
  edit(f) {
    const area = h('textarea', { class: 'editor', id: 'editor', spellcheck: 'false', 'aria-label': `Edit ${f.path}` });
    area.value = f.content;
    const save = async () => {
      try {
        await this.client().query(WRITE, { id: this.sandbox.id, p: f.path, c: area.value, e: 'UTF8' });
        this.notify('');
        await this.view({ path: f.path });
      } catch (e) {
        this.notify(plain(e));
      }
    };
    $('viewer').replaceChildren(
      h('div', { class: 'viewer-head' }, h('strong', {}, f.path),
        h('button', { type: 'button', id: 'save', onclick: save }, 'Save'),
        h('button', { type: 'button', class: 'link', onclick: () => this.view({ path: f.path }) }, 'Cancel')),
      area);
    area.focus();
  }

  // Uploads the chosen files into the open folder (or the top of the workspace).
  async upload(input) {
    const dir = this.folder ? `${this.folder}/` : '';
    for (const file of [...input.files]) {
      try {
        const path = `${dir}${file.name}`;
        await this.client().query(WRITE, { id: this.sandbox.id, p: path, c: await base64Of(file), e: 'BASE64' });
        this.notify(`Uploaded ${path} (${bytes(file.size)}).`);
      } catch (e) {
        this.notify(plain(e));
      }
    }
    input.value = '';
    await this.load(true);
  }

  async download(path) {
    try {
      const data = await this.client().query(CONTENT, { ...this.where(), p: path, m: 10 * 1024 * 1024 });
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
      await Promise.all([this.snapshots.load(this.sandbox), this.onSynced()]);
    } catch (e) {
      $('sync-stats').textContent = '';
      this.notify(plain(e));
    } finally {
      btn.disabled = false;
      btn.textContent = 'Sync';
    }
  }
}
