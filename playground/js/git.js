// The sandbox's repository: branch, head and how far from its upstream; the changed
// files (each opens its diff); Commit (of every change, with a message) and Push. Git
// runs in the sandbox; the credential for the remote is added by sandboxql's broker and
// never reaches the sandbox or this page.
import { $, h, show } from './dom.js';
import { plain } from './gql.js';

const STATUS = `query($s: ID!) { sandbox(id: $s) { git { branch head upstream ahead behind
  status { path state staged } log(first: 5) { hash subject authorName } } } }`;
const DIFF = 'query($s: ID!, $p: String) { sandbox(id: $s) { git { diff(path: $p) { text truncated } } } }';
const COMMIT = 'mutation($s: ID!, $m: String!) { gitCommit(sandboxId: $s, message: $m) }';
const PUSH = 'mutation($s: ID!) { gitPush(sandboxId: $s) { id } }';
const LETTER = { MODIFIED: 'M', ADDED: 'A', DELETED: 'D', RENAMED: 'R', UNTRACKED: 'U', CONFLICTED: 'C' };

export class GitPane {
  constructor(client, notify, onChanged) {
    this.client = client;
    this.notify = notify;
    this.onChanged = onChanged;
    this.sb = null;
    const fail = (e) => this.notify(plain(e));
    $('git-refresh').addEventListener('click', () => this.refresh().catch(fail));
    $('git-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.commit().catch(fail);
    });
    $('git-push').addEventListener('click', () => this.push().catch(fail));
  }

  async open(sb) {
    this.sb = sb.id;
    show($('git-diff'), false);
    await this.refresh();
  }

  async refresh() {
    const data = await this.client().query(STATUS, { s: this.sb });
    const git = data.sandbox && data.sandbox.git;
    show($('git-none'), !git);
    show($('git-repo'), !!git);
    if (!git) return;
    const where = git.branch || `detached at ${(git.head || '').slice(0, 8)}`;
    const far = git.upstream ? ` · ${git.ahead} ahead, ${git.behind} behind ${git.upstream}` : ' · no upstream';
    $('git-branch').textContent = where + far;
    const list = $('git-changes');
    list.textContent = '';
    show($('git-clean'), git.status.length === 0);
    for (const f of git.status) {
      list.append(h('li', { dataset: { path: f.path } },
        h('span', { class: `git-mark git-${f.state.toLowerCase()}`, title: f.state }, LETTER[f.state] || '?'), ' ',
        h('button', { type: 'button', class: 'entry', onclick: () => this.diff(f.path).catch((e) => this.notify(plain(e))) }, f.path)));
    }
    $('git-log').replaceChildren(...git.log.map((c) =>
      h('li', {}, h('code', {}, c.hash.slice(0, 8)), ' ', c.subject, h('span', { class: 'muted small' }, ` — ${c.authorName}`))));
  }

  async diff(path) {
    const data = await this.client().query(DIFF, { s: this.sb, p: path });
    const d = data.sandbox.git.diff;
    const pre = $('git-diff');
    pre.replaceChildren(...d.text.split('\n').map((line) =>
      h('span', { class: line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : '' }, `${line}\n`)));
    if (d.text === '') pre.textContent = 'No diff against the last commit (a new file: commit it to track it).';
    if (d.truncated) pre.append(h('span', { class: 'muted' }, '… the rest of the diff is left out'));
    show(pre, true);
  }

  async commit() {
    const message = $('git-message').value.trim();
    if (!message) return;
    const data = await this.client().query(COMMIT, { s: this.sb, m: message });
    $('git-message').value = '';
    this.notify(`Committed ${data.gitCommit.slice(0, 8)}`);
    show($('git-diff'), false);
    await this.refresh();
    this.onChanged();
  }

  async push() {
    await this.client().query(PUSH, { s: this.sb });
    this.notify('Pushed');
    await this.refresh();
  }
}
