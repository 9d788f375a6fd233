// Tool approvals in the chat: each PermissionRequested of an ASK run becomes a card with
// the tool, its input and Allow / Deny buttons (answerPermission), placed in the tool
// call it is about (whose result then says it waits for you); the PermissionAnswered
// that follows — from this page, another tab, or the server's timeout — settles the card.
import { h } from './dom.js';
import { plain } from './gql.js';

const ANSWER = `mutation($r: ID!, $q: String!, $a: Boolean!, $m: String) {
  answerPermission(runId: $r, requestId: $q, allow: $a, message: $m) { id } }`;

export class Permissions {
  constructor(client, notify, tools = new Map()) {
    this.client = client;
    this.notify = notify;
    this.tools = tools;
    this.cards = new Map();
  }

  // The card of a request, waiting for an answer.
  card(ev) {
    const status = h('span', { class: 'decision' }, 'waiting for you');
    const buttons = (on) => card.querySelectorAll('button').forEach((b) => { b.disabled = !on; });
    const answer = async (allow) => {
      buttons(false);
      try {
        await this.client().query(ANSWER, {
          r: ev.runId, q: ev.requestId, a: allow, m: allow ? null : 'Denied from the playground.',
        });
      } catch (e) {
        this.notify(plain(e));
        buttons(true);
      }
    };
    const input = ev.input && typeof ev.input.command === 'string' ? ev.input.command : JSON.stringify(ev.input, null, 2);
    const card = h('div', { class: 'permission', 'data-request': ev.requestId, 'data-tool': ev.toolUseId },
      h('div', { class: 'permission-title' }, `Claude wants to use ${ev.toolName}`),
      h('pre', { class: 'tool-input' }, input),
      h('div', { class: 'permission-actions' },
        h('button', { type: 'button', class: 'allow', onclick: () => answer(true) }, 'Allow'),
        h('button', { type: 'button', class: 'deny', onclick: () => answer(false) }, 'Deny'),
        status));
    this.cards.set(ev.requestId, card);
    const tool = this.tools.get(ev.toolUseId);
    if (tool) {
      // In the tool call it is about: nothing runs until it is answered.
      tool.result.textContent = 'waiting for your approval';
      tool.block.insertBefore(card, tool.result);
      return null;
    }
    return card;
  }

  // Settles the card of an answered request; nothing new is added to the transcript.
  decided(ev) {
    const card = this.cards.get(ev.requestId);
    if (!card) return null;
    card.querySelectorAll('button').forEach((b) => b.remove());
    const who = { USER: '', TIMEOUT: ' (no answer in time)', WITHDRAWN: ' (withdrawn)' }[ev.decidedBy] || '';
    card.querySelector('.decision').textContent = `${ev.allow ? 'Allowed' : 'Denied'}${who}`;
    card.classList.add(ev.allow ? 'allowed' : 'denied');
    const tool = this.tools.get(card.dataset.tool);
    if (tool && tool.result.classList.contains('pending')) tool.result.textContent = ev.allow ? 'running…' : 'denied';
    return null;
  }
}
