import { isBmcBusy } from '../coordination/coordinator.js';
import { AppError, isAppError } from '../errors.js';
import type { Machine } from '../inventory/machines.js';
import type { MachineRowPatch, RolloutMachineRecord } from '../inventory/rollouts.js';
import type { RolloutEffects, VersionControl } from './effects.js';
import { judgeReports } from './plan.js';
import type { MachineVersion, RolloutSpec } from './spec.js';
import type { RolloutRows, RolloutStore } from './store.js';

/** Sources whose events do not prove the machine itself booted (they are about it, not from it). */
const NOT_FROM_MACHINE = new Set(['rollout', 'api', 'bmc', 'power', 'cli']);

/** What one step decided: move to another phase (with row changes), wait for a later tick, or fail. */
export type StepOutcome =
  | { kind: 'next'; phase: string; patch?: MachineRowPatch; detail?: Record<string, unknown> }
  | { kind: 'wait'; message: string | null }
  | { kind: 'fail'; reason: string };

/** Everything a step needs; built by the runner for one machine and one tick. */
export interface StepInput {
  store: RolloutStore;
  repo: RolloutRows;
  effects: RolloutEffects;
  versions: VersionControl;
  spec: RolloutSpec;
  member: RolloutMachineRecord;
  machine: Machine;
  /** How long to wait for evidence of a power cycle sent before a crash, before sending it again. */
  cycleGraceMs: number;
}

const next = (phase: string, patch?: MachineRowPatch, detail?: Record<string, unknown>): StepOutcome => ({
  kind: 'next',
  phase,
  ...(patch ? { patch } : {}),
  ...(detail ? { detail } : {}),
});

/** The reason text for an error thrown by an effect (BMC errors keep their code). */
export function errorReason(e: unknown): string {
  if (isAppError(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs the step for the member's current phase once. Every step may be repeated after a crash:
 * pre/post hooks, assignment and the boot-device override are idempotent; the power cycle is
 * recorded as sent *before* it is sent, so a restart looks for boot evidence instead of cycling twice.
 */
export async function runStep(x: StepInput): Promise<StepOutcome> {
  const { member, machine, effects, spec } = x;
  const rollback = member.phase.startsWith('rb-');
  const base = rollback ? member.phase.slice(3) : member.phase;
  const p = (name: string) => (rollback ? `rb-${name}` : name);
  const version = (rollback ? member.fromVersion : member.toVersion) as MachineVersion;
  const now = effects.now();
  const since = member.phaseStartedAt ?? now;
  switch (base) {
    case 'pre': {
      const r = await effects.preStep(machine, { rolloutId: member.rolloutId, spec, phase: 'pre', rollback });
      if (r.done) return next(p('pxe'), undefined, r.message ? { message: r.message } : undefined);
      if (now - since >= spec.steps.preTimeoutSec * 1000) return { kind: 'fail', reason: `pre-step timeout: ${r.message ?? 'not done'}` };
      return { kind: 'wait', message: r.message ?? 'pre-step in progress' };
    }
    case 'pxe':
      return pxeStep(x, p);
    case 'assign':
      x.versions.assign(machine, version);
      return next(p('cycle'), { cycleMark: x.repo.lastEventId(), cycleSentAt: null, ...(rollback ? {} : { moved: true }) }, { version });
    case 'cycle':
      return cycleStep(x, p);
    case 'health': {
      const deadline = since + spec.healthTimeoutSec * 1000;
      const reports = x.store.events
        .list({ machineId: machine.id, afterId: member.cycleMark ?? 0, limit: 10_000 })
        .filter((e) => e.kind.startsWith('report.'));
      const verdict = judgeReports(reports, x.versions.expected(machine, version), now, deadline);
      if (verdict.kind === 'failed') return { kind: 'fail', reason: verdict.reason };
      if (verdict.kind === 'waiting') return { kind: 'wait', message: `waiting for ready (reported: ${verdict.phase ?? 'nothing yet'})` };
      const extra = await effects.extraHealth(machine, spec);
      if (extra === null) return next(p('post'), undefined, { reports: reports.length });
      if (now >= deadline) return { kind: 'fail', reason: `health timeout: ${extra}` };
      return { kind: 'wait', message: extra };
    }
    case 'post': {
      const r = await effects.postStep(machine, { rolloutId: member.rolloutId, spec, phase: 'post', rollback });
      if (r.done) return next(rollback ? 'rolled-back' : 'done', { finishedAt: now });
      if (now - since >= spec.steps.preTimeoutSec * 1000) return { kind: 'fail', reason: `post-step timeout: ${r.message ?? 'not done'}` };
      return { kind: 'wait', message: r.message ?? 'post-step in progress' };
    }
    default:
      throw new AppError('INTERNAL', `no step for phase ${member.phase}`);
  }
}

async function cycleStep(x: StepInput, p: (name: string) => string): Promise<StepOutcome> {
  const { member, machine, effects } = x;
  const now = effects.now();
  if (member.cycleSentAt !== null) {
    // A cycle was (maybe) sent before a restart: did the machine start booting since?
    const booted = x.store.events
      .list({ machineId: machine.id, afterId: member.cycleMark ?? 0, limit: 10_000 })
      .some((e) => !NOT_FROM_MACHINE.has(e.source));
    if (booted) return next(p('health'), { phaseStartedAt: member.cycleSentAt }, { resumed: true });
    if (now - member.cycleSentAt < x.cycleGraceMs) return { kind: 'wait', message: 'power cycle sent, waiting for the machine to boot' };
  }
  // Recorded first: if we die between this write and the BMC answer, the restart waits for evidence.
  if (!x.repo.updateMember(member.rolloutId, member.machineId, member.phase, { cycleSentAt: now })) {
    return { kind: 'wait', message: null };
  }
  const busy = await underBmcLock(x, 'cycleSentAt', () => effects.powerCycle(machine));
  if (busy) return busy;
  return next(p('health'), { phaseStartedAt: effects.now() });
}

/**
 * The network-boot override, recorded as sent before it is sent. A runner that finds it
 * recorded (its own previous life, or the appliance that held the runner before) reads the
 * override back and sends it again only when it is not set.
 */
async function pxeStep(x: StepInput, p: (name: string) => string): Promise<StepOutcome> {
  const { member, machine, effects } = x;
  if (member.pxeSentAt !== null && effects.bootsPxeNext) {
    const set = await effects.bootsPxeNext(machine).catch(() => false);
    if (set) return next(p('assign'), { pxeSentAt: null }, { verified: true });
  }
  if (!x.repo.updateMember(member.rolloutId, member.machineId, member.phase, { pxeSentAt: effects.now() })) {
    return { kind: 'wait', message: null };
  }
  const busy = await underBmcLock(x, 'pxeSentAt', () => effects.setNextBootPxe(machine));
  if (busy) return busy;
  return next(p('assign'), { pxeSentAt: null });
}

/**
 * Runs a BMC effect; when another appliance holds the BMC's lock nothing was sent, so the
 * "sent" mark is taken back and the step waits for a later tick (null: the effect ran).
 */
async function underBmcLock(x: StepInput, mark: 'pxeSentAt' | 'cycleSentAt', fn: () => Promise<void>): Promise<StepOutcome | null> {
  try {
    await fn();
    return null;
  } catch (e) {
    if (!isBmcBusy(e)) throw e;
    x.repo.updateMember(x.member.rolloutId, x.member.machineId, x.member.phase, { [mark]: null });
    return { kind: 'wait', message: e.message };
  }
}
