// What the open sandbox uses against what its template allows: memory, disk, CPU time
// and processes, read from `Sandbox.resources` when it opens, after each run, and every
// few seconds while it stays open.
import { $, bytes } from './dom.js';

const QUERY = `query($id: ID!) { sandbox(id: $id) { template resources {
  limits { cpu cpuMax memoryBytes diskBytes processes tmpBytes }
  usage { memoryBytes memoryPeakBytes cpuSeconds diskBytes processes } } } }`;
const EVERY_MS = 5000;

export class Usage {
  constructor(client) {
    this.client = client;
    this.id = null;
    this.timer = null;
  }

  open(sb) {
    this.id = sb.id;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), EVERY_MS);
    return this.refresh();
  }

  async refresh() {
    const id = this.id;
    const client = this.client();
    if (!id || !client) return;
    let data;
    try {
      data = await client.query(QUERY, { id });
    } catch {
      return; // the status line and the chat say what is wrong; this is only figures
    }
    if (id !== this.id || !data.sandbox) return;
    render(data.sandbox);
  }
}

function of(used, limit, fmt) {
  return used === null || used === undefined ? `— / ${fmt(limit)}` : `${fmt(used)} / ${fmt(limit)}`;
}

function render(sb) {
  const { limits: l, usage: u } = sb.resources;
  const now = u || {};
  const cpu = `${l.cpu} CPU${l.cpuMax ? ` (max ${l.cpuMax})` : ''}`;
  const parts = [
    `Memory ${of(now.memoryBytes, l.memoryBytes, bytes)}`,
    `Disk ${of(now.diskBytes, l.diskBytes, bytes)}`,
    `Processes ${of(now.processes, l.processes, String)}`,
    `${cpu}${now.cpuSeconds != null ? `, ${now.cpuSeconds.toFixed(1)} s used` : ''}`,
  ];
  const el = $('sb-usage');
  el.textContent = parts.join(' · ');
  el.title = `Template ${sb.template}. Peak memory ${now.memoryPeakBytes != null ? bytes(now.memoryPeakBytes) : 'unknown'}; `
    + `/tmp ${bytes(l.tmpBytes)} (counted in memory). Past a bound a process sees what Linux gives: `
    + 'the OOM killer (the run then fails OUT_OF_MEMORY), no space left, no more processes.';
}
