import { AppError } from '../errors.js';
import type { BootEvent } from '../inventory/events.js';
import type { Machine } from '../inventory/machines.js';
import { matchesSelector, parseSelector } from '../inventory/match.js';
import type { PlannedMember, RolloutMachineRecord, RolloutState } from '../inventory/rollouts.js';
import { type Digest, type DigestSet, expectedFor, matchesDigest, recordedDigest, tryParseDigest } from '../model/digest.js';
import type { RolloutSpec } from './spec.js';

/** Forward steps of one machine, in order. */
export const FORWARD_PHASES = ['pre', 'pxe', 'assign', 'cycle', 'health', 'post'] as const;
/** Rollback steps of one machine, in order (the same way, back to its previous version). */
export const ROLLBACK_PHASES = ['rb-pre', 'rb-pxe', 'rb-assign', 'rb-cycle', 'rb-health', 'rb-post'] as const;
/** Phases in which the machine is out of service and the runner is working on it. */
export const ACTIVE_PHASES: ReadonlySet<string> = new Set([...FORWARD_PHASES, ...ROLLBACK_PHASES]);
/** Phases after which nothing more happens to the machine in this rollout. */
export const SETTLED_PHASES: ReadonlySet<string> = new Set([
  'done',
  'failed',
  'rolled-back',
  'rollback-failed',
  'skipped',
  'aborted',
]);

/** Machines of a rollout in plan order, with batch numbers (batch 0 is the canary batch when there are canaries). */
export function planRollout(spec: RolloutSpec, machines: Machine[]): PlannedMember[] {
  const byName = new Map(machines.map((m) => [m.name, m]));
  const picked: Machine[] = [];
  const seen = new Set<number>();
  const add = (m: Machine) => {
    if (!seen.has(m.id)) {
      seen.add(m.id);
      picked.push(m);
    }
  };
  for (const name of spec.machines ?? []) {
    const m = byName.get(name);
    if (!m) throw new AppError('BAD_INPUT', `no machine ${JSON.stringify(name)}`, { details: [{ path: 'machines', message: `unknown machine ${name}` }] });
    add(m);
  }
  if (spec.selector !== undefined) {
    const sel = parseSelector(spec.selector);
    for (const m of [...machines].sort((a, b) => a.name.localeCompare(b.name))) if (matchesSelector(m.labels, sel)) add(m);
  }
  if (!picked.length) throw new AppError('BAD_INPUT', 'the rollout selects no machine', { details: [{ path: 'selector', message: 'no match' }] });

  let canaries: Machine[];
  if (spec.canary.selector !== undefined) {
    const sel = parseSelector(spec.canary.selector);
    canaries = picked.filter((m) => matchesSelector(m.labels, sel));
    if (!canaries.length) {
      throw new AppError('BAD_INPUT', 'the canary selector matches no selected machine', { details: [{ path: 'canary.selector', message: 'no match' }] });
    }
  } else {
    canaries = picked.slice(0, spec.canary.count);
  }
  const canaryIds = new Set(canaries.map((m) => m.id));
  const rest = picked.filter((m) => !canaryIds.has(m.id));
  const out: PlannedMember[] = [];
  let position = 0;
  for (const m of canaries) out.push({ machineId: m.id, name: m.name, batch: 0, position: position++, canary: true });
  const first = canaries.length ? 1 : 0;
  rest.forEach((m, i) => {
    out.push({ machineId: m.id, name: m.name, batch: first + Math.floor(i / spec.batchSize), position: position++, canary: false });
  });
  return out;
}

/** What the runner should do next with a rollout. */
export interface Decision {
  /** Machines to begin now (forward from `pending`, or rollback from `rb-queued`). */
  start: number[];
  /** Machines the runner drives this tick (already in a step). */
  drive: number[];
  /** When set, the rollout moves to this state. */
  finish?: { state: RolloutState; reason: string | null };
}

type Member = Pick<RolloutMachineRecord, 'machineId' | 'batch' | 'phase'>;

/**
 * The pure scheduling rule: batches in order; the next batch only once every machine of the
 * previous one is done; never more than `maxUnavailable` machines in a step at once; a paused
 * rollout starts nothing but lets machines already in a step (or rolling back) finish.
 */
export function decide(state: RolloutState, members: Member[], maxUnavailable: number): Decision {
  const drive = members.filter((m) => ACTIVE_PHASES.has(m.phase)).map((m) => m.machineId);
  const start: number[] = [];
  let room = Math.max(0, maxUnavailable - drive.length);
  if (state === 'running') {
    const open = members.find((m) => m.phase !== 'done');
    if (!open) return { start, drive, finish: { state: 'succeeded', reason: null } };
    const batch = members.filter((m) => m.batch === open.batch);
    // A machine of this batch that failed stops the rollout here (the runner pauses it first).
    if (batch.some((m) => SETTLED_PHASES.has(m.phase) && m.phase !== 'done')) return { start, drive };
    for (const m of batch) {
      if (room <= 0) break;
      if (m.phase === 'pending') {
        start.push(m.machineId);
        room--;
      }
    }
  } else if (state === 'rolling-back') {
    for (const m of members) {
      if (room <= 0) break;
      if (m.phase === 'rb-queued') {
        start.push(m.machineId);
        room--;
      }
    }
    if (!drive.length && !start.length && !members.some((m) => m.phase === 'rb-queued')) {
      const bad = members.filter((m) => m.phase === 'rollback-failed').length;
      return {
        start,
        drive,
        finish: bad ? { state: 'failed', reason: `${bad} machine(s) could not be rolled back` } : { state: 'rolled-back', reason: null },
      };
    }
  }
  return { start, drive };
}

/**
 * Digests a machine must report to count as healthy; null = not checked (unknown until it boots).
 * Any spelling parseDigest reads; bare hex is SHA-256.
 */
export interface ExpectedDigests {
  imageDigest: string | null;
  configDigest: string | null;
  /** The expected config's bytes under other algorithms (its sha512:<hex>, which Ignition reports). */
  configAliases?: readonly string[];
}

/** Outcome of one health evaluation. */
export type HealthVerdict =
  | { kind: 'healthy' }
  | { kind: 'waiting'; phase: string | null }
  | { kind: 'failed'; reason: string };

/**
 * Judges the phone-home reports that arrived after the power cycle: `report.failed` or a
 * `ready` with other digests fails at once; `ready` with the expected digests is healthy;
 * anything else waits until the deadline.
 */
export function judgeReports(reports: BootEvent[], expected: ExpectedDigests, now: number, deadline: number): HealthVerdict {
  let phase: string | null = null;
  for (const e of reports) {
    if (!e.kind.startsWith('report.')) continue;
    phase = e.kind.slice('report.'.length);
    if (phase === 'failed') {
      // The route records the node's text as `message`; older events carry `reason`.
      const text = e.detail.reason ?? e.detail.message;
      const why = typeof text === 'string' && text ? `: ${text}` : '';
      return { kind: 'failed', reason: `the machine reported failure${why}` };
    }
    if (phase !== 'ready') continue;
    const diffs = digestDiffs(expected, e.detail);
    if (diffs.length) return { kind: 'failed', reason: `wrong digest reported: ${diffs.join('; ')}` };
    return { kind: 'healthy' };
  }
  if (now >= deadline) return { kind: 'failed', reason: `health timeout (last reported phase: ${phase ?? 'none'})` };
  return { kind: 'waiting', phase };
}

/** The expected digests of one field as a set (primary first); unparseable placeholders give an empty set. */
export function expectedSet(expected: ExpectedDigests, field: 'imageDigest' | 'configDigest'): DigestSet {
  const names = [expected[field], ...(field === 'configDigest' ? (expected.configAliases ?? []) : [])];
  return names.flatMap((n) => {
    const d = n === null ? null : tryParseDigest(n);
    return d ? [d] : [];
  });
}

/** A reported digest field read from an event's detail (null when absent or not a digest). */
export function reportedDigest(v: unknown): Digest | null {
  return typeof v === 'string' ? tryParseDigest(v) : null;
}

/** One field's comparison: null when in sync (or not checked), else what was wanted and what came. */
export function compareField(expected: ExpectedDigests, field: 'imageDigest' | 'configDigest', raw: unknown): { want: string; got: string | null } | null {
  const want = expected[field];
  if (want === null) return null;
  const set = expectedSet(expected, field);
  const got = reportedDigest(raw);
  if (matchesDigest(got, set)) return null;
  const shown = expectedFor(got, set);
  return { want: shown ? recordedDigest(shown) : want, got: got ? recordedDigest(got) : typeof raw === 'string' && raw ? raw : null };
}

/** Human-readable differences between expected digests and a report's detail. */
export function digestDiffs(expected: ExpectedDigests, detail: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const field of ['imageDigest', 'configDigest'] as const) {
    const d = compareField(expected, field, detail[field]);
    if (d) out.push(`${field} ${d.got ?? 'missing'} (want ${d.want})`);
  }
  return out;
}
