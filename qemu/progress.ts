/**
 * Live progress of lab VMs, read from rackboot's boot trace (pure: events in, phases out).
 * A provisioning runs DHCP → loader → script → kernel → test OS → config → installing →
 * installed → local disk → ready; a re-provision starts the sequence over.
 */

/** The part of a boot-trace event progress needs (GET /api/v1/events items). */
export interface TraceEvent {
  id: number;
  at: string;
  kind: string;
  detail: Record<string, unknown>;
}

/** Milestones of one provisioning, in the order they must happen. */
export const PHASES = ['dhcp', 'loader', 'script', 'kernel', 'testos', 'config', 'installing', 'installed', 'disk', 'ready'] as const;
/** One of PHASES, or the states around them. */
export type Phase = (typeof PHASES)[number] | 'off' | 'failed';

/** Human labels for the table. */
export const PHASE_LABEL: Record<Phase, string> = {
  off: 'powered off',
  dhcp: 'DHCP',
  loader: 'loader (TFTP)',
  script: 'iPXE script',
  kernel: 'kernel+initrd',
  testos: 'test OS up',
  config: 'config verified',
  installing: 'installing',
  installed: 'installed, rebooting',
  disk: 'booting local disk',
  ready: 'ready',
  failed: 'FAILED',
};

/** The milestone an event marks, or null for events progress does not show. */
export function milestoneOf(e: Pick<TraceEvent, 'kind' | 'detail'>): Phase | null {
  switch (e.kind) {
    case 'dhcp.offer':
    case 'dhcp.ack':
    case 'dhcp.proxy-offer':
      // Boot firmware (it sends its architecture, option 93) told to use no boot file: the
      // machine is provisioned and goes on to its local disk. An OS's DHCP client sends no arch.
      if (e.detail.arch !== null && e.detail.arch !== undefined && !e.detail.bootFile) return 'disk';
      return e.detail.arch === null || e.detail.arch === undefined ? null : 'dhcp';
    case 'tftp.sent':
      return 'loader';
    case 'boot.script':
      return e.detail.mode === 'disk' ? 'disk' : 'script';
    case 'asset.served':
      return e.detail.kind === 'kernel' || e.detail.kind === 'initrd' ? 'kernel' : null;
    case 'report.booting':
      return 'testos';
    case 'report.configured':
      return 'config';
    case 'report.installing':
      return 'installing';
    case 'report.installed':
      return 'installed';
    case 'report.ready':
      return 'ready';
    case 'report.failed':
      return 'failed';
    default:
      return null;
  }
}

/** One provisioning run of a machine: its milestones (first occurrence each) in trace order. */
export interface Run {
  milestones: { phase: Phase; at: string; eventId: number }[];
}

/**
 * Splits a machine's trace into runs: a network boot script after the machine was installed
 * or ready (a re-provision) starts a new run. DHCP/TFTP before that script belong to the new
 * run too, so they are carried over from the tail of the previous one.
 */
export function runsOf(events: TraceEvent[]): Run[] {
  const runs: Run[] = [{ milestones: [] }];
  let pending: Run['milestones'] = [];
  for (const e of events) {
    const phase = milestoneOf(e);
    if (!phase) continue;
    let cur = runs[runs.length - 1]!;
    const reached = new Set(cur.milestones.map((m) => m.phase));
    if (phase === 'script' && (reached.has('installed') || reached.has('ready'))) {
      cur = { milestones: [] };
      runs.push(cur);
      for (const p of pending) cur.milestones.push(p);
      reached.clear();
      for (const p of pending) reached.add(p.phase);
    }
    if (phase === 'dhcp' || phase === 'loader') {
      // Kept aside: whether they start a new run is only known at the next script.
      if (!pending.some((p) => p.phase === phase)) pending.push({ phase, at: e.at, eventId: e.id });
    } else {
      pending = [];
    }
    if (!reached.has(phase)) cur.milestones.push({ phase, at: e.at, eventId: e.id });
  }
  return runs;
}

/** Where a machine is now: the furthest milestone of its latest run. */
export function currentPhase(events: TraceEvent[]): Phase {
  const runs = runsOf(events);
  const last = runs[runs.length - 1]!;
  if (last.milestones.some((m) => m.phase === 'failed')) return 'failed';
  let best: Phase = 'off';
  for (const m of last.milestones) if (rank(m.phase) > rank(best)) best = m.phase;
  return best;
}

function rank(p: Phase): number {
  return p === 'off' ? -1 : p === 'failed' ? 100 : PHASES.indexOf(p);
}

/** One row of the progress table. */
export interface ProgressRow {
  name: string;
  firmware: string;
  mac: string;
  phase: Phase;
  since: number;
  state: string;
  ip?: string | null;
}

/** Renders the progress table (fixed-width, plain text). */
export function renderTable(rows: ProgressRow[], now: number): string {
  const head = ['VM', 'FIRMWARE', 'MAC', 'PHASE', 'STATE', 'IP', 'ELAPSED'];
  const body = rows.map((r) => [
    r.name,
    r.firmware,
    r.mac,
    PHASE_LABEL[r.phase],
    r.state,
    r.ip ?? '-',
    `${Math.max(0, Math.round((now - r.since) / 1000))}s`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}
