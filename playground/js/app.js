// The playground: sign-in, the sandbox list, and the selected sandbox's chat and files.
import { $, h, show, when, bytes } from './dom.js';
import { Client, plain } from './gql.js';
import { Chat } from './chat.js';
import { Files } from './files.js';
import { Accounts } from './accounts.js';
import { Usage } from './usage.js';
import { TerminalPane } from './terminal.js';
import { PreviewPane } from './previews.js';
import { GitPane } from './git.js';
import { ProcessPane } from './processes.js';

const TOKEN_KEY = 'sandboxql.token';
const SANDBOX_FIELDS = 'id name status statusReason createdAt lastSyncAt syncStats { filesProcessed bytesTransferred durationMs }';

const state = { client: null, sandboxes: [], selected: null, admin: false };
// After a run: the spend moved, and a SLEEPING sandbox the message woke is RUNNING again.
const usage = new Usage(() => state.client);
const chat = new Chat(() => state.client, notify, () => {
  loadSpend();
  files.timeline.load();
  usage.refresh();
  loadSandboxes().then(() => {
    const sb = state.selected && state.sandboxes.find((s) => s.id === state.selected.id);
    if (sb) {
      $('sb-status').textContent = sb.status;
      $('sb-status').className = `badge ${sb.status.toLowerCase()}`;
    }
  }).catch(() => {});
});
const files = new Files(() => state.client, notify, () => loadSandboxes(), async (sb) => {
  await loadSandboxes();
  location.hash = `#/sandbox/${sb.id}`;
});
const accounts = new Accounts(() => state.client, notify);
const terminal = new TerminalPane(() => state.client, notify);
const previews = new PreviewPane(() => state.client, notify);
const git = new GitPane(() => state.client, notify, () => files.load());
const processes = new ProcessPane(() => state.client, notify);

export function notify(message) {
  const box = $('notice');
  box.textContent = message || '';
  show(box, Boolean(message));
}

async function signIn(token) {
  const client = new Client(token);
  const data = await client.query('{ viewer { name role } templates { name provider description } }');
  state.client = client;
  localStorage.setItem(TOKEN_KEY, token);
  state.admin = data.viewer.role === 'ADMIN';
  $('who').textContent = `${data.viewer.name} (${data.viewer.role.toLowerCase()})`;
  show($('nav-accounts'), state.admin);
  const sel = $('create-template');
  sel.replaceChildren(...data.templates.map((t) => h('option', { value: t.name, title: t.description }, t.name)));
  show($('signin'), false);
  show($('app'), true);
  show($('signout'), true);
  await loadSandboxes();
  await loadSpend();
  await route();
}

function signOut() {
  localStorage.removeItem(TOKEN_KEY);
  chat.stop();
  files.stop();
  state.client = null;
  state.selected = null;
  state.admin = false;
  $('who').textContent = '';
  $('spend').textContent = '';
  show($('nav-accounts'), false);
  show($('nav-sandboxes'), false);
  show($('accounts'), false);
  $('token').value = '';
  location.hash = '';
  show($('app'), false);
  show($('signout'), false);
  show($('signin'), true);
  notify('');
}

// Dollars as people read them; sums under a cent keep their digits instead of $0.00.
export function usd(n) {
  if (n === 0) return '$0';
  return n < 0.01 ? `$${n.toPrecision(2)}` : `$${n.toFixed(2)}`;
}

// The account's metered spend today and this month (UTC), against its budget.
async function loadSpend() {
  if (!state.client) return;
  const now = new Date();
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())).toISOString();
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
  const q = `query($d: DateTime!, $m: DateTime!) { viewer {
    today: usage(since: $d) { costUsd } month: usage(since: $m) { costUsd } budget { dailyUsd monthlyUsd } } }`;
  const data = await state.client.query(q, { d: day, m: month }).catch(() => null);
  if (!data) return;
  const v = data.viewer;
  const of = (cap) => (cap === null || cap === undefined ? '' : ` of ${usd(cap)}`);
  $('spend').textContent =
    `Spent today ${usd(v.today.costUsd)}${of(v.budget.dailyUsd)} · this month ${usd(v.month.costUsd)}${of(v.budget.monthlyUsd)}`;
}

async function loadSandboxes() {
  const data = await state.client.query(`{ sandboxes(first: 100) { nodes { ${SANDBOX_FIELDS} } } }`);
  state.sandboxes = data.sandboxes.nodes;
  renderList();
}

function renderList() {
  const list = $('sandbox-list');
  list.replaceChildren(
    ...state.sandboxes.map((sb) =>
      h(
        'li',
        { class: `sandbox${state.selected && state.selected.id === sb.id ? ' selected' : ''}`, dataset: { id: sb.id } },
        h('button', { class: 'open', onclick: () => (location.hash = `#/sandbox/${sb.id}`) },
          h('strong', {}, sb.name),
          h('span', { class: `badge ${sb.status.toLowerCase()}` }, sb.status),
          h('span', { class: 'muted small' }, `created ${when(sb.createdAt)}`),
          h('span', { class: 'muted small' }, `last sync ${when(sb.lastSyncAt)}`),
          sb.syncStats
            ? h('span', { class: 'muted small' }, `${sb.syncStats.filesProcessed} files, ${bytes(sb.syncStats.bytesTransferred)} sent`)
            : null,
          sb.status === 'SLEEPING'
            ? h('span', { class: 'muted small' }, 'asleep: files readable, the next message wakes it')
            : sb.statusReason ? h('span', { class: 'error small' }, sb.statusReason) : null),
        h('button', { class: 'delete link', title: `Delete ${sb.name}`, onclick: () => remove(sb) }, 'Delete')),
    ),
  );
  show($('sandbox-empty'), state.sandboxes.length === 0);
}

async function create(ev) {
  ev.preventDefault();
  const btn = $('create-btn');
  btn.disabled = true;
  btn.textContent = 'Creating…';
  try {
    const name = $('create-name').value.trim() || null;
    const template = $('create-template').value || null;
    const data = await state.client.query(
      `mutation($input: CreateSandboxInput!) { createSandbox(input: $input) { ${SANDBOX_FIELDS} } }`,
      { input: { name, template } },
    );
    $('create-name').value = '';
    notify('');
    await loadSandboxes();
    location.hash = `#/sandbox/${data.createSandbox.id}`;
  } catch (e) {
    notify(plain(e));
    await loadSandboxes().catch(() => {});
  } finally {
    btn.disabled = false;
    btn.textContent = 'Create';
  }
}

async function remove(sb) {
  const running = state.selected && state.selected.id === sb.id && chat.hasActiveRun();
  const also = running ? ' Claude is working in it: that run will be cancelled.' : '';
  if (!confirm(`Delete sandbox "${sb.name}"? Its workspace is snapshotted first.${also}`)) return;
  try {
    await state.client.query('mutation($id: ID!) { deleteSandbox(id: $id) { id } }', { id: sb.id });
    if (state.selected && state.selected.id === sb.id) location.hash = '';
    await loadSandboxes();
  } catch (e) {
    notify(plain(e));
  }
}

async function route() {
  const m = location.hash.match(/^#\/sandbox\/([^/]+)$/);
  chat.stop();
  files.stop();
  state.selected = null;
  show($('missing'), false);
  const admin = state.admin && location.hash === '#/accounts';
  show($('accounts'), admin);
  show($('app'), !admin);
  show($('nav-sandboxes'), admin);
  if (admin) {
    await accounts.load().catch((e) => notify(plain(e)));
    return;
  }
  if (!m) {
    show($('panes'), false);
    show($('pick'), true);
    renderList();
    return;
  }
  show($('pick'), false);
  let sb = null;
  try {
    const data = await state.client.query(`query($id: ID!) { sandbox(id: $id) { ${SANDBOX_FIELDS} } }`, { id: m[1] });
    sb = data.sandbox;
  } catch (e) {
    if (e.code !== 'BAD_USER_INPUT' && e.code !== 'NOT_FOUND') notify(plain(e));
  }
  if (!sb) {
    show($('panes'), false);
    show($('missing'), true);
    renderList();
    return;
  }
  state.selected = sb;
  renderList();
  $('sb-title').textContent = sb.name;
  const badge = $('sb-status');
  badge.textContent = sb.status;
  badge.className = `badge ${sb.status.toLowerCase()}`;
  badge.title = sb.status === 'SLEEPING' ? 'Asleep: its files are readable; the next message or write wakes it.' : '';
  show($('panes'), true);
  await Promise.all([chat.open(sb), files.open(sb), usage.open(sb), terminal.open(sb).catch((e) => notify(plain(e))), previews.open(sb).catch((e) => notify(plain(e))), git.open(sb).catch((e) => notify(plain(e))), processes.open(sb).catch((e) => notify(plain(e)))]);
}

// At narrow widths the chat and the files are tabs; each tab shows its pane.
function tab(name) {
  for (const b of document.querySelectorAll('#tabs [data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  $('panes').dataset.tab = name;
}

function init() {
  for (const b of document.querySelectorAll('#tabs [data-tab]')) b.addEventListener('click', () => tab(b.dataset.tab));
  tab('chat');
  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    show($('signin-error'), false);
    try {
      await signIn($('token').value.trim());
    } catch (e) {
      $('signin-error').textContent = plain(e);
      show($('signin-error'), true);
    }
  });
  $('signout').addEventListener('click', signOut);
  $('create-form').addEventListener('submit', create);
  window.addEventListener('hashchange', () => state.client && route());
  const saved = localStorage.getItem(TOKEN_KEY);
  if (saved) {
    signIn(saved).catch((e) => {
      signOut();
      $('signin-error').textContent = plain(e);
      show($('signin-error'), true);
    });
  } else {
    show($('signin'), true);
  }
}

init();
