/** Per-phase timings and counters of a storm run (pure). */

/** The phases one simulated machine goes through, in order. */
export const PHASES = ['dhcp', 'tftp', 'dhcp-ipxe', 'script', 'kernel', 'initrd', 'config', 'report'] as const;
export type Phase = (typeof PHASES)[number];

/** What one machine's run came to. */
export interface MachineResult {
  mac: string;
  ms: Partial<Record<Phase, number>>;
  /** The phase that failed and why, if one did. */
  failed?: { phase: Phase; error: string };
  retransmits: number;
  /** Retransmissions (DHCP, TFTP timeouts, HTTP 503 retries) by the phase they happened in. */
  retx?: Partial<Record<Phase, number>>;
  bytes: number;
  totalMs: number;
  /** Kept-alive HTTP connections that closed before a response byte and were reopened (as iPXE does). */
  reopens?: { phase: Phase; idleMs: number }[];
}

/** The value at quantile q (0..1) of sorted numbers, nearest rank; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** p50/p99/max and counts per phase, plus the whole boot. */
export interface PhaseSummary {
  phase: Phase | 'total';
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  /** Retransmissions in this phase, over every machine. */
  retx: number;
}

export function summarize(results: readonly MachineResult[]): PhaseSummary[] {
  const rows: PhaseSummary[] = PHASES.map((phase) => {
    const times = results.map((r) => r.ms[phase]).filter((x): x is number => x !== undefined);
    const failed = results.filter((r) => r.failed?.phase === phase).length;
    return row(phase, times, failed, results.reduce((n, r) => n + (r.retx?.[phase] ?? 0), 0));
  });
  const done = results.filter((r) => !r.failed).map((r) => r.totalMs);
  rows.push(row('total', done, results.length - done.length, results.reduce((n, r) => n + r.retransmits, 0)));
  return rows;
}

function row(phase: Phase | 'total', times: number[], failed: number, retx: number): PhaseSummary {
  const s = [...times].sort((a, b) => a - b);
  return { phase, ok: s.length, failed, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.length ? s[s.length - 1]! : Number.NaN, retx };
}

/** Seconds the payload needs at `bitsPerSecond` (the link-rate limit); 0 without a rate. */
export function linkLimitSeconds(bytes: number, bitsPerSecond: number): number {
  return bitsPerSecond > 0 ? (bytes * 8) / bitsPerSecond : 0;
}

/** "1gbit", "10gbit", "500mbit" → bits per second (tc's units); 0 for "none". */
export function parseRate(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)(k|m|g)?bit$/i.exec(rate.trim());
  if (!m) return 0;
  const unit = { k: 1e3, m: 1e6, g: 1e9 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  return Number(m[1]) * unit;
}

/** The report as text lines (ms rounded). */
export function formatSummary(rows: readonly PhaseSummary[]): string[] {
  const f = (x: number) => (Number.isNaN(x) ? '-' : String(Math.round(x)));
  const out = [`${'phase'.padEnd(10)} ${'ok'.padStart(6)} ${'failed'.padStart(6)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'retx'.padStart(6)}`];
  for (const r of rows) {
    out.push(`${r.phase.padEnd(10)} ${String(r.ok).padStart(6)} ${String(r.failed).padStart(6)} ${f(r.p50).padStart(8)} ${f(r.p99).padStart(8)} ${f(r.max).padStart(8)} ${String(r.retx).padStart(6)}`);
  }
  return out;
}

/**
 * One line on the HTTP reopens (a kept-alive connection the server closed before answering the
 * next request): how many, in which phases, and how long the client had held the connection idle.
 */
export function formatReopens(results: readonly MachineResult[]): string {
  const all = results.flatMap((r) => r.reopens ?? []);
  if (all.length === 0) return 'HTTP reopens (kept-alive connection closed before a response byte): 0';
  const by = new Map<string, number>();
  for (const x of all) by.set(x.phase, (by.get(x.phase) ?? 0) + 1);
  const idle = all.map((x) => x.idleMs).sort((a, b) => a - b);
  const f = (x: number) => String(Math.round(x));
  return (
    `HTTP reopens (kept-alive connection closed before a response byte, reopened as iPXE does): ${all.length} ` +
    `(${[...by].map(([p, n]) => `${p} ${n}`).join(', ')}); client-side idle before the request p50 ${f(quantile(idle, 0.5))} ms, max ${f(idle[idle.length - 1]!)} ms`
  );
}
