// One run in the transcript: its prompt, its events as they arrive (text typed live then
// rendered as markdown, thinking collapsed, tool calls with their results and approval
// cards, follow-ups), a progress line while it works, and how it ended. Each event is
// rendered once, by its seq (the section's data-seqs lists them, in order).
import { h } from './dom.js';
import { budgetWords } from './events.js';
import { Permissions } from './permissions.js';
import { markdown } from './render.js';

const money = (usd) => `$${usd.toFixed(4)}`;

export class RunView {
  constructor(run, client, notify) {
    this.run = run;
    this.client = client;
    this.lastSeq = 0;
    this.seqs = [];
    this.live = null;
    this.tools = new Map();
    this.permissions = new Permissions(client, notify, this.tools);
    this.progress = h('div', { class: 'progress', role: 'status' });
    this.el = h('section', { class: 'run', dataset: { run: run.id, seqs: '' } },
      h('div', { class: 'msg user' }, run.prompt));
  }

  // Shows what the run is doing now (null: nothing, it ended).
  working(text) {
    if (text === null) {
      this.progress.remove();
      return;
    }
    this.progress.textContent = text;
    if (!this.progress.isConnected) this.el.append(this.progress);
  }

  render(ev) {
    if (!ev || ev.seq <= this.lastSeq) return false;
    this.lastSeq = ev.seq;
    this.seqs.push(ev.seq);
    this.el.dataset.seqs = this.seqs.join(',');
    const el = this.element(ev);
    if (el) {
      el.dataset.seq = ev.seq;
      this.el.append(el);
    }
    if (this.progress.isConnected) this.el.append(this.progress);
    return true;
  }

  element(ev) {
    switch (ev.__typename) {
      case 'RunStarted':
        this.working('Starting Claude…');
        return null;
      case 'SessionStarted':
        this.working('Claude is thinking…');
        return h('div', { class: 'meta' }, `Session ${ev.sessionId.slice(0, 8)}${ev.model ? ` · ${ev.model}` : ''}`);
      case 'StatusChanged':
        this.working(ev.status ? `Claude: ${ev.status}…` : 'Claude is working…');
        return null;
      case 'ApiRetry': {
        const of = ev.maxRetries ? ` of ${ev.maxRetries}` : '';
        const wait = ev.retryDelayMs ? ` in ${Math.round(ev.retryDelayMs / 1000)} s` : '';
        this.working(`The API did not answer; retrying (attempt ${ev.attempt ?? '?'}${of})${wait}…`);
        return h('div', { class: 'meta retry' }, `API retry ${ev.attempt ?? ''}${of}${ev.error ? `: ${ev.error}` : ''}`);
      }
      case 'TextDelta':
        this.working('Claude is writing…');
        if (!this.live) {
          this.live = h('div', { class: 'msg assistant streaming' });
          this.el.append(this.live);
        }
        this.live.textContent += ev.text;
        return null;
      case 'AssistantText': {
        const done = this.live || h('div', { class: 'msg assistant' });
        this.live = null;
        done.replaceChildren(markdown(ev.text));
        done.classList.remove('streaming');
        done.classList.add('markdown');
        return done;
      }
      case 'AssistantThinking':
        return h('details', { class: 'thinking' }, h('summary', {}, 'Thinking'), h('pre', {}, ev.thinking));
      case 'ToolUse': {
        this.working(`Running ${ev.name}…`);
        const result = h('pre', { class: 'tool-result pending' }, 'running…');
        const block = h('details', { class: 'tool', open: true, dataset: { tool: ev.toolUseId } },
          h('summary', {}, `Tool: ${ev.name}`),
          h('pre', { class: 'tool-input' }, JSON.stringify(ev.input, null, 2)),
          result);
        this.tools.set(ev.toolUseId, { block, result });
        return block;
      }
      case 'ToolResult': {
        this.working('Claude is thinking…');
        const tool = this.tools.get(ev.toolUseId);
        if (tool) {
          tool.result.textContent = ev.content || '(no output)';
          tool.result.className = `tool-result${ev.isError ? ' error' : ''}`;
          return null;
        }
        return h('pre', { class: `tool-result${ev.isError ? ' error' : ''}` }, ev.content);
      }
      case 'RunFinished':
        this.working(null);
        return this.finished(ev);
      case 'RawEvent':
        if (ev.source === 'stderr') return h('pre', { class: 'raw error' }, ev.text);
        return null;
      case 'UserMessage':
        return h('div', { class: 'msg user' }, ev.text);
      case 'PermissionRequested':
        this.working(`Waiting for you: allow ${ev.toolName}?`);
        return this.permissions.card(ev);
      case 'PermissionAnswered':
        this.working('Claude is working…');
        return this.permissions.decided(ev);
      case 'TurnFinished':
        this.live = null;
        this.working(null);
        return ev.interrupted ? h('div', { class: 'meta' }, 'Turn interrupted.') : null;
      default:
        return null;
    }
  }

  // How the run ended: status, Claude's own cost estimate, turns, duration, then what
  // the gateway metered (the figure the budget counts), each labelled.
  finished(ev) {
    const status = ev.status.toLowerCase();
    if (ev.reason === 'CLAUDE_NOT_FOUND') {
      return h('div', { class: 'finished failed', dataset: { reason: ev.reason } }, `${status}: ${ev.error}`);
    }
    const parts = [status];
    if (ev.totalCostUsd !== null && ev.totalCostUsd !== undefined) parts.push(money(ev.totalCostUsd));
    if (ev.numTurns !== null && ev.numTurns !== undefined) parts.push(`${ev.numTurns} turn${ev.numTurns === 1 ? '' : 's'}`);
    if (ev.durationMs !== null && ev.durationMs !== undefined) parts.push(`${(ev.durationMs / 1000).toFixed(1)} s`);
    const usage = h('span', { class: 'usage' });
    this.fillUsage(ev.runId, usage);
    const line = h('div', { class: `finished ${status}`, dataset: { reason: ev.reason || '' } },
      h('span', { title: "Claude's own estimate of the run's cost" }, parts.join(' · ')), usage,
      ev.error && ev.status !== 'SUCCEEDED' ? h('div', { class: 'error' }, budgetWords(ev.error)) : null);
    return line;
  }

  // The run's metered usage (what the gateway charged), once the ledger has it.
  async fillUsage(runId, slot) {
    const q = `query($id: ID!) { run(id: $id) { usage {
      requests inputTokens outputTokens cacheCreationInputTokens cacheReadInputTokens costUsd } } }`;
    const data = await this.client().query(q, { id: runId }).catch(() => null);
    const u = data && data.run && data.run.usage;
    if (!u || !u.requests) return;
    const tokens = u.inputTokens + u.outputTokens + u.cacheCreationInputTokens + u.cacheReadInputTokens;
    slot.title = "What the gateway metered from the API's own usage figures: this is what budgets count";
    slot.textContent = ` · metered ${money(u.costUsd)} · ${tokens.toLocaleString('en')} tokens in ${u.requests} API call${u.requests === 1 ? '' : 's'}`;
  }
}
