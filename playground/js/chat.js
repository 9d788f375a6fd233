// The chat pane: the sandbox's whole conversation, run after run (the newest runs, with
// earlier ones a click away), the run in progress followed live from its stored events
// on (a reload picks it up again, nothing twice), Cancel, and for conversations
// follow-ups, Interrupt and End. The prompt box chooses the model and the turn limit;
// with "Ask before tools" tool calls Claude's own rules would not allow wait for you.
import { $, h, show } from './dom.js';
import { plain } from './gql.js';
import { EVENT, HISTORY_KINDS } from './events.js';
import { RunView } from './runview.js';

// Events per history request, and runs shown before "Earlier runs".
const HISTORY_PAGE = 400;
const RUNS_SHOWN = 10;
const RUN_FIELDS = 'id prompt status createdAt interactive permissionMode';

export class Chat {
  constructor(client, notify, onRunEnd = () => {}) {
    this.client = client;
    this.notify = notify;
    this.onRunEnd = onRunEnd;
    this.stopFeed = null;
    this.sandbox = null;
    this.view = null;
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
    $('earlier').addEventListener('click', () => this.loadEarlier());
  }

  stop() {
    if (this.stopFeed) this.stopFeed();
    this.stopFeed = null;
  }

  // Whether a run is going on in the open sandbox (delete asks about it).
  hasActiveRun() {
    return Boolean(this.running);
  }

  async open(sb) {
    this.stop();
    this.sandbox = sb;
    this.view = null;
    this.runId = null;
    this.after = null;
    $('transcript').replaceChildren();
    show($('earlier'), false);
    this.busy(false);
    try {
      const q = `query($id: ID!, $n: Int!) { sandbox(id: $id) { activeRun { id }
        runs(first: $n) { totalCount pageInfo { hasNextPage endCursor } nodes { ${RUN_FIELDS} } } } }`;
      const data = await this.client().query(q, { id: sb.id, n: RUNS_SHOWN });
      // Another sandbox was opened meanwhile: this answer is stale.
      if (this.sandbox !== sb) return;
      const runs = data.sandbox.runs;
      if (!runs.nodes.length) {
        $('transcript').append(h('p', { class: 'empty' }, 'No conversation yet. Ask Claude something below.'));
        return;
      }
      this.after = runs.pageInfo.hasNextPage ? runs.pageInfo.endCursor : null;
      show($('earlier'), Boolean(this.after));
      const active = data.sandbox.activeRun && data.sandbox.activeRun.id;
      // Oldest first, as a conversation reads.
      for (const run of [...runs.nodes].reverse()) {
        if (this.sandbox !== sb) return;
        if (run.id === active) await this.follow(run);
        else await this.history(run, $('transcript'));
      }
      $('transcript-box').scrollTop = $('transcript-box').scrollHeight;
    } catch (e) {
      this.notify(plain(e));
    }
  }

  // The runs before those shown, inserted above them.
  async loadEarlier() {
    if (!this.after || !this.sandbox) return;
    const sb = this.sandbox;
    const q = `query($id: ID!, $n: Int!, $a: String) { sandbox(id: $id) {
      runs(first: $n, after: $a) { pageInfo { hasNextPage endCursor } nodes { ${RUN_FIELDS} } } } }`;
    try {
      const data = await this.client().query(q, { id: sb.id, n: RUNS_SHOWN, a: this.after });
      if (this.sandbox !== sb) return;
      const runs = data.sandbox.runs;
      const holder = h('div', { class: 'earlier-runs' });
      for (const run of [...runs.nodes].reverse()) await this.history(run, holder);
      $('transcript').prepend(holder);
      this.after = runs.pageInfo.hasNextPage ? runs.pageInfo.endCursor : null;
      show($('earlier'), Boolean(this.after));
    } catch (e) {
      this.notify(plain(e));
    }
  }

  // A finished run's stored events (without token deltas), page by page.
  async history(run, into) {
    const view = new RunView(run, this.client, this.notify);
    into.append(view.el);
    const q = `query($id: ID!, $a: Int!, $k: [String!]) { run(id: $id) {
      events(afterSeq: $a, first: ${HISTORY_PAGE}, kinds: $k) { ${EVENT} } } }`;
    for (;;) {
      const data = await this.client().query(q, { id: run.id, a: view.lastSeq, k: HISTORY_KINDS });
      data.run.events.forEach((e) => view.render(e));
      if (data.run.events.length < HISTORY_PAGE) break;
    }
    view.working(null);
    return view;
  }

  // While a run goes on the prompt box stays usable in conversations: what is sent
  // joins the run.
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

  // The model and turn limit chosen under the prompt (empty: the server's defaults).
  options() {
    const model = $('model').value.trim() || null;
    const turns = parseInt($('max-turns').value, 10);
    return { model, maxTurns: Number.isFinite(turns) && turns > 0 ? turns : null };
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
      const { model, maxTurns } = this.options();
      const data = await this.client().query(
        `mutation($s: ID!, $p: String!, $m: PermissionMode!, $i: Boolean!, $model: String, $t: Int) {
          startRun(input: {sandboxId: $s, prompt: $p, permissionMode: $m, interactive: $i, model: $model, maxTurns: $t}) {
            ${RUN_FIELDS} } }`,
        { s: this.sandbox.id, p: text, m: mode, i: $('keep-open').checked, model, t: maxTurns },
      );
      $('prompt').value = '';
      this.notify('');
      const empty = $('transcript').querySelector(':scope > p.empty');
      if (empty) empty.remove();
      await this.follow(data.startRun);
    } catch (e) {
      this.notify(plain(e));
    } finally {
      this.sending = false;
    }
  }

  async cancel() {
    if (!this.runId) return;
    try {
      await this.client().query('mutation($r: ID!) { cancelRun(runId: $r) { id status } }', { r: this.runId });
    } catch (e) {
      this.notify(plain(e));
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

  // Replays the stored events of a run in progress, then follows it live until it ends.
  async follow(run) {
    this.stop();
    this.talks = run.interactive || run.permissionMode === 'ASK';
    this.view = new RunView(run, this.client, this.notify);
    this.view.working('Starting Claude…');
    $('transcript').append(this.view.el);
    $('transcript-box').scrollTop = $('transcript-box').scrollHeight;
    this.runId = run.id;
    this.busy(true);
    this.subscribeFrom(run.id, 0);
  }

  // Follows the run from the last event rendered. A dropped connection is retried with
  // backoff (1 s, 2 s, 4 s… up to 15 s) from that seq, so nothing is shown twice or lost;
  // an error the server sent (not found, forbidden) is shown and ends the follow.
  subscribeFrom(runId, attempt) {
    const view = this.view;
    const feed = this.client().subscribe(
      `subscription($r: ID!, $a: Int!) { runEvents(runId: $r, afterSeq: $a) { ${EVENT} } }`,
      { r: runId, a: view.lastSeq },
      {
        onEvent: (data) => {
          attempt = 0;
          if (view.render(data.runEvents)) $('transcript-box').scrollTop = $('transcript-box').scrollHeight;
        },
        onDone: () => this.finished(),
        onError: (e) => {
          if (this.runId !== runId || this.stopFeed !== stop) return;
          if (e.code) {
            this.notify(`The live stream stopped: ${plain(e)}`);
            view.working(null);
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

  finished() {
    this.stopFeed = null;
    if (this.view) this.view.working(null);
    this.busy(false);
    this.onRunEnd();
  }
}
