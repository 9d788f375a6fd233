// The chat pane: a run's events rendered as they arrive (text live, thinking collapsed,
// tool calls with their results, the final cost/turns/duration), past runs, cancel, and
// resuming a run after a reload from the events already stored (no duplicates: each
// event is rendered once, by its seq). Runs are conversations: the prompt box stays
// usable while Claude works (follow-ups go to the same run), a turn can be interrupted,
// and with "Ask before tools" each tool call waits on an Allow / Deny card.
import { $, h, show, when } from './dom.js';
import { plain } from './gql.js';
import { EVENT, budgetWords } from './events.js';
import { Permissions } from './permissions.js';

// Events per history request.
const HISTORY_PAGE = 400;

export class Chat {
  constructor(client, notify, onRunEnd = () => {}) {
    this.client = client;
    this.notify = notify;
    this.onRunEnd = onRunEnd;
    this.stopFeed = null;
    this.sandbox = null;
    $('prompt-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.send();
    });
    $('prompt').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.send();
      }
    });
    $('cancel').addEventListener('click', () => this.cancel());
    $('interrupt').addEventListener('click', () => this.control('interruptRun'));
    $('end-run').addEventListener('click', () => this.control('endRun'));
    $('history').addEventListener('change', (ev) => ev.target.value && this.showRun(ev.target.value));
  }

  stop() {
    if (this.stopFeed) this.stopFeed();
    this.stopFeed = null;
  }

  async open(sb) {
    this.sandbox = sb;
    this.reset();
    const q = `query($id: ID!) { sandbox(id: $id) { activeRun { id } runs(first: 20) { nodes { id prompt status createdAt } } } }`;
    try {
      const data = await this.client().query(q, { id: sb.id });
      // Another sandbox was opened meanwhile: this answer is stale.
      if (this.sandbox !== sb) return;
      this.fillHistory(data.sandbox.runs.nodes);
      const active = data.sandbox.activeRun;
      const latest = data.sandbox.runs.nodes[0];
      if (active) await this.follow(active.id);
      else if (latest) await this.showRun(latest.id);
      else $('transcript').replaceChildren(h('p', { class: 'empty' }, 'No conversation yet. Ask Claude something below.'));
    } catch (e) {
      this.notify(plain(e));
    }
  }

  fillHistory(runs) {
    const options = runs.map((r) =>
      h('option', { value: r.id }, `${when(r.createdAt)} · ${r.status.toLowerCase()} · ${r.prompt.slice(0, 40)}`));
    $('history').replaceChildren(h('option', { value: '' }, `Past runs (${runs.length})`), ...options);
  }

  reset(prompt) {
    this.stop();
    this.lastSeq = 0;
    this.seqs = [];
    this.live = null;
    this.tools = new Map();
    this.permissions = new Permissions(this.client, this.notify);
    const t = $('transcript');
    t.replaceChildren();
    t.dataset.seqs = '';
    if (prompt !== undefined) t.append(h('div', { class: 'msg user' }, prompt));
    this.busy(false);
  }

  // While a run goes on the prompt box stays usable: what is sent joins the conversation.
  busy(running) {
    this.running = running;
    show($('cancel'), running);
    $('ask-tools').disabled = running;
    $('keep-open').disabled = running;
    show($('interrupt'), running && this.talks);
    show($('end-run'), running && this.talks);
    $('send').disabled = running && !this.talks;
    $('send').textContent = running && this.talks ? 'Send follow-up' : 'Send';
  }

  async send() {
    const text = $('prompt').value;
    if (!text.trim() || this.sending) return;
    this.sending = true;
    try {
      if (this.running && this.runId && this.talks) {
        await this.client().query('mutation($r: ID!, $t: String!) { sendMessage(runId: $r, text: $t) { id } }',
          { r: this.runId, t: text });
        $('prompt').value = '';
        this.notify('');
        return;
      }
      const mode = $('ask-tools').checked ? 'ASK' : 'BYPASS';
      const data = await this.client().query(
        `mutation($s: ID!, $p: String!, $m: PermissionMode!, $i: Boolean!) {
          startRun(input: {sandboxId: $s, prompt: $p, permissionMode: $m, interactive: $i}) { id interactive } }`,
        { s: this.sandbox.id, p: text, m: mode, i: $('keep-open').checked },
      );
      $('prompt').value = '';
      this.notify('');
      this.talks = data.startRun.interactive || mode === 'ASK';
      await this.follow(data.startRun.id, text);
    } catch (e) {
      this.notify(plain(e));
    } finally {
      this.sending = false;
    }
  }

  async control(mutation) {
    if (!this.runId) return;
    try {
      await this.client().query(`mutation($r: ID!) { ${mutation}(runId: $r) { id } }`, { r: this.runId });
    } catch (e) {
      this.notify(plain(e));
    }
  }

  // Replays the stored events of a run, then follows it live until RunFinished.
  async follow(runId, prompt) {
    if (prompt === undefined) {
      const q = 'query($id: ID!) { run(id: $id) { prompt interactive permissionMode } }';
      const data = await this.client().query(q, { id: runId });
      prompt = data.run.prompt;
      this.talks = data.run.interactive || data.run.permissionMode === 'ASK';
    }
    this.reset(prompt);
    this.runId = runId;
    this.busy(true);
    this.subscribeFrom(runId, 0);
  }

  // Follows the run from the last event rendered. A dropped connection is retried with
  // backoff (1 s, 2 s, 4 s… up to 15 s) from that seq, so nothing is shown twice or lost;
  // an error the server sent (not found, forbidden) is shown and ends the follow.
  subscribeFrom(runId, attempt) {
    const feed = this.client().subscribe(
      `subscription($r: ID!, $a: Int!) { runEvents(runId: $r, afterSeq: $a) { ${EVENT} } }`,
      { r: runId, a: this.lastSeq },
      {
        onEvent: (data) => {
          attempt = 0;
          this.render(data.runEvents);
        },
        onDone: () => this.finished(),
        onError: (e) => {
          if (this.runId !== runId || this.stopFeed !== stop) return;
          if (e.code) {
            this.notify(`The live stream stopped: ${plain(e)}`);
            this.busy(false);
            return;
          }
          const wait = Math.min(15000, 1000 * 2 ** attempt);
          this.notify(`Connection lost; reconnecting in ${Math.round(wait / 1000)} s…`);
          this.retry = setTimeout(() => {
            if (this.runId !== runId || this.stopFeed !== stop) return;
            this.notify('');
            this.subscribeFrom(runId, attempt + 1);
          }, wait);
        },
      },
    );
    const stop = () => {
      clearTimeout(this.retry);
      feed();
    };
    this.stopFeed = stop;
  }

  async finished() {
    this.stopFeed = null;
    this.busy(false);
    this.onRunEnd();
    const q = 'query($id: ID!) { sandbox(id: $id) { runs(first: 20) { nodes { id prompt status createdAt } } } }';
    const data = await this.client().query(q, { id: this.sandbox.id }).catch(() => null);
    if (data) this.fillHistory(data.sandbox.runs.nodes);
  }

  // The run's metered usage (what the gateway charged), once the ledger has it.
  async fillUsage(runId, slot) {
    const q = `query($id: ID!) { run(id: $id) { usage {
      requests inputTokens outputTokens cacheCreationInputTokens cacheReadInputTokens costUsd } } }`;
    const data = await this.client().query(q, { id: runId }).catch(() => null);
    const u = data && data.run && data.run.usage;
    if (!u || !u.requests) return;
    const tokens = u.inputTokens + u.outputTokens + u.cacheCreationInputTokens + u.cacheReadInputTokens;
    slot.textContent = ` · metered $${u.costUsd.toFixed(4)} · ${tokens.toLocaleString('en')} tokens in ${u.requests} API call${u.requests === 1 ? '' : 's'}`;
  }

  // A finished run's stored events, page by page (each page within the cost limit).
  async showRun(runId) {
    const q = `query($id: ID!, $a: Int!) { run(id: $id) { id prompt status events(afterSeq: $a, first: ${HISTORY_PAGE}) { ${EVENT} } } }`;
    try {
      let data = await this.client().query(q, { id: runId, a: 0 });
      if (data.run.status === 'RUNNING') return this.follow(runId);
      this.reset(data.run.prompt);
      this.runId = runId;
      for (;;) {
        data.run.events.forEach((e) => this.render(e));
        if (data.run.events.length < HISTORY_PAGE || this.runId !== runId) break;
        data = await this.client().query(q, { id: runId, a: this.lastSeq });
      }
    } catch (e) {
      this.notify(plain(e));
    }
  }

  render(ev) {
    if (!ev || ev.seq <= this.lastSeq) return;
    this.lastSeq = ev.seq;
    this.seqs.push(ev.seq);
    const t = $('transcript');
    t.dataset.seqs = this.seqs.join(',');
    const el = this.element(ev);
    if (el) {
      el.dataset.seq = ev.seq;
      t.append(el);
    }
    t.scrollTop = t.scrollHeight;
  }

  element(ev) {
    switch (ev.__typename) {
      case 'SessionStarted':
        return h('div', { class: 'meta' }, `Session ${ev.sessionId.slice(0, 8)}${ev.model ? ` · ${ev.model}` : ''}`);
      case 'TextDelta':
        if (!this.live) {
          this.live = h('div', { class: 'msg assistant streaming' });
          $('transcript').append(this.live);
        }
        this.live.textContent += ev.text;
        return null;
      case 'AssistantText': {
        const done = this.live || h('div', { class: 'msg assistant' });
        this.live = null;
        done.textContent = ev.text;
        done.classList.remove('streaming');
        return done;
      }
      case 'AssistantThinking':
        return h('details', { class: 'thinking' }, h('summary', {}, 'Thinking'), h('pre', {}, ev.thinking));
      case 'ToolUse': {
        const result = h('pre', { class: 'tool-result pending' }, 'running…');
        this.tools.set(ev.toolUseId, result);
        return h('details', { class: 'tool', open: true },
          h('summary', {}, `Tool: ${ev.name}`),
          h('pre', { class: 'tool-input' }, JSON.stringify(ev.input, null, 2)),
          result);
      }
      case 'ToolResult': {
        const slot = this.tools.get(ev.toolUseId);
        if (slot) {
          slot.textContent = ev.content || '(no output)';
          slot.className = `tool-result${ev.isError ? ' error' : ''}`;
          return null;
        }
        return h('pre', { class: `tool-result${ev.isError ? ' error' : ''}` }, ev.content);
      }
      case 'RunFinished': {
        const parts = [ev.status.toLowerCase()];
        if (ev.totalCostUsd !== null && ev.totalCostUsd !== undefined) parts.push(`$${ev.totalCostUsd.toFixed(4)}`);
        if (ev.numTurns !== null && ev.numTurns !== undefined) parts.push(`${ev.numTurns} turn${ev.numTurns === 1 ? '' : 's'}`);
        if (ev.durationMs !== null && ev.durationMs !== undefined) parts.push(`${(ev.durationMs / 1000).toFixed(1)} s`);
        const usage = h('span', { class: 'usage' });
        this.fillUsage(ev.runId, usage);
        return h('div', { class: `finished ${ev.status.toLowerCase()}` },
          parts.join(' · '), usage,
          ev.error ? h('div', { class: 'error' }, budgetWords(ev.error)) : null);
      }
      case 'RawEvent':
        if (ev.source === 'stderr') return h('pre', { class: 'raw error' }, ev.text);
        return null;
      case 'UserMessage':
        return h('div', { class: 'msg user' }, ev.text);
      case 'PermissionRequested':
        return this.permissions.card(ev);
      case 'PermissionAnswered':
        return this.permissions.decided(ev);
      case 'TurnFinished':
        this.live = null;
        return ev.interrupted ? h('div', { class: 'meta' }, 'Turn interrupted.') : null;
      default:
        return null;
    }
  }
}
