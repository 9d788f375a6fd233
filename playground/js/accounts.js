// The admin's Accounts view (#/accounts): list accounts, create one, disable or enable it,
// list its tokens (never their secrets), issue a token (its secret shown once) and revoke one.
import { $, h, show, when } from './dom.js';
import { plain } from './gql.js';

const ACCOUNT_FIELDS = 'id name role externalId disabled createdAt';
const TOKEN_FIELDS = 'id name createdAt lastUsedAt expiresAt revokedAt readOnly';

export class Accounts {
  constructor(client, notify) {
    this.client = client;
    this.notify = notify;
    this.open = null; // id of the account whose tokens are shown
    $('account-form').addEventListener('submit', (ev) => this.create(ev));
  }

  // The list without tokens (a page of accounts each with a page of tokens would cost too
  // much per request); the open account's tokens in a second query.
  async load() {
    const data = await this.client().query(`{ accounts(first: 100) { nodes { ${ACCOUNT_FIELDS} } } }`);
    const list = data.accounts.nodes;
    const open = list.find((a) => a.id === this.open);
    if (open) {
      const more = await this.client().query(`query($id: ID!) { account(id: $id) { tokens { ${TOKEN_FIELDS} } } }`, { id: open.id });
      open.tokens = more.account ? more.account.tokens : [];
    }
    this.render(list);
  }

  render(accounts) {
    $('account-list').replaceChildren(...accounts.map((a) => this.row(a)));
    show($('accounts-empty'), accounts.length === 0);
  }

  row(a) {
    const state = a.disabled ? 'disabled' : 'enabled';
    const tokens = this.open === a.id ? this.tokens(a) : null;
    return h('li', { class: `account${a.disabled ? ' off' : ''}`, dataset: { id: a.id } },
      h('div', { class: 'account-head' },
        h('strong', {}, a.name),
        h('span', { class: 'badge' }, a.role),
        h('span', { class: `badge ${a.disabled ? 'error' : 'running'}` }, state),
        a.externalId ? h('span', { class: 'muted small' }, `external id ${a.externalId}`) : null,
        h('button', { class: 'link toggle-tokens', onclick: () => this.toggle(a.id) }, this.open === a.id ? 'Hide tokens' : 'Tokens'),
        h('button', { class: 'link toggle-disabled', onclick: () => this.setDisabled(a, !a.disabled) }, a.disabled ? 'Enable' : 'Disable')),
      tokens);
  }

  tokens(a) {
    const items = a.tokens.map((t) =>
      h('li', { class: `token${t.revokedAt ? ' off' : ''}`, dataset: { id: t.id } },
        h('span', {}, t.name),
        t.readOnly ? h('span', { class: 'badge' }, 'read-only') : null,
        h('span', { class: 'muted small' }, `created ${when(t.createdAt)}, last used ${when(t.lastUsedAt)}`),
        t.expiresAt ? h('span', { class: 'muted small' }, `expires ${when(t.expiresAt)}`) : null,
        t.revokedAt
          ? h('span', { class: 'error small' }, `revoked ${when(t.revokedAt)}`)
          : h('button', { class: 'link revoke', onclick: () => this.revoke(t) }, 'Revoke')));
    const form = h('form', { class: 'token-form', onsubmit: (ev) => this.issue(ev, a) },
      h('input', { name: 'name', placeholder: 'Token name', 'aria-label': 'Token name', maxlength: '100' }),
      h('label', { class: 'small' }, h('input', { type: 'checkbox', name: 'readOnly' }), ' read-only'),
      h('button', { type: 'submit' }, 'Issue token'));
    return h('div', { class: 'tokens' }, h('ul', {}, items), form, h('p', { class: 'secret', hidden: true }));
  }

  async act(fn) {
    try {
      await fn();
      this.notify('');
      await this.load();
    } catch (e) {
      this.notify(plain(e));
    }
  }

  toggle(id) {
    this.open = this.open === id ? null : id;
    return this.act(async () => {});
  }

  async create(ev) {
    ev.preventDefault();
    const input = {
      name: $('account-name').value.trim(),
      externalId: $('account-external').value.trim() || null,
      role: $('account-admin').checked ? 'ADMIN' : 'USER',
    };
    await this.act(async () => {
      const data = await this.client().query(
        `mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }`, { input });
      this.open = data.createAccount.id;
      $('account-form').reset();
    });
  }

  setDisabled(a, disabled) {
    if (disabled && !confirm(`Disable "${a.name}"? Its tokens and sign-ins are refused at once.`)) return null;
    return this.act(() => this.client().query(
      'mutation($id: ID!, $d: Boolean) { updateAccount(id: $id, input: {disabled: $d}) { id } }', { id: a.id, d: disabled }));
  }

  revoke(t) {
    if (!confirm(`Revoke token "${t.name}"? Requests carrying it are refused from now on.`)) return null;
    return this.act(() => this.client().query('mutation($id: ID!) { revokeToken(id: $id) { id } }', { id: t.id }));
  }

  async issue(ev, a) {
    ev.preventDefault();
    const form = ev.target;
    const vars = { a: a.id, n: form.elements.name.value.trim() || null, r: form.elements.readOnly.checked };
    try {
      const data = await this.client().query(
        'mutation($a: ID!, $n: String, $r: Boolean) { createToken(accountId: $a, name: $n, readOnly: $r) { token } }', vars);
      await this.load();
      // The secret exists only in that answer: show it once, in the re-rendered list.
      const box = document.querySelector(`li.account[data-id="${a.id}"] .secret`);
      box.replaceChildren('New token (copy it now, it is not shown again): ', h('code', { class: 'new-token' }, data.createToken.token));
      show(box, true);
      this.notify('');
    } catch (e) {
      this.notify(plain(e));
    }
  }
}
