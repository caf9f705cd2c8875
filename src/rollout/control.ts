import { AppError } from '../errors.js';
import type { BootEvent } from '../inventory/events.js';
import { FINISHED_STATES, type RolloutMachineRecord, type RolloutRecord, type RolloutRepo, type RolloutState } from '../inventory/rollouts.js';
import type { Store } from '../inventory/store.js';
import type { VersionControl } from './effects.js';
import { ACTIVE_PHASES, FORWARD_PHASES, planRollout } from './plan.js';
import { storedSpec } from './runner.js';
import type { RolloutSpec } from './spec.js';
import { ROLES } from '../coordination/coordinator.js';

/** One machine of a rollout as the API shows it. */
export interface RolloutMachineView {
  machine: string;
  machineId: number;
  batch: number;
  canary: boolean;
  phase: string;
  attempt: number;
  message: string | null;
  failure: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** Time spent on the machine so far (or in total once finished), by the server clock. */
  elapsedMs: number | null;
  /** The newest event from the machine's own boot (DHCP, TFTP, HTTP, phone-home) since its work began. */
  bootPhase: string | null;
  trace?: BootEvent[] | null;
}

/** A rollout as the API shows it. */
export interface RolloutView {
  id: number;
  name: string | null;
  state: RolloutState;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  /** Nothing is in flight: finished, or paused with every started machine settled. */
  settled: boolean;
  spec: RolloutSpec;
  machines: RolloutMachineView[];
  /** The appliance whose runner steps active rollouts now (its lease is live), null when none does. */
  runner: { appliance: string; since: number } | null;
}

const FORWARD = new Set<string>(FORWARD_PHASES);

/** Operator actions on rollouts (API and tests); the runner carries them out on its next tick. */
export class RolloutControl {
  private readonly repo: RolloutRepo;
  constructor(
    private readonly store: Store,
    private readonly versions: VersionControl,
    private readonly now: () => number = Date.now,
  ) {
    this.repo = store.rollouts;
  }

  /** Plans and creates a rollout; targets are resolved now so a bad target is refused up front. */
  start(spec: RolloutSpec): RolloutView {
    const members = planRollout(spec, this.store.machines.list());
    for (const m of members) m.toVersion = this.versions.resolve(this.store.machines.get(m.machineId), spec.target);
    const r = this.repo.create({ name: spec.name ?? null, spec, members, now: this.now() });
    this.event(r.id, 'started', { machines: members.map((m) => m.name), target: spec.target });
    return this.view(r.id);
  }

  /** Stops starting new machines; machines in a step finish it. */
  pause(id: number): RolloutView {
    this.move(id, 'paused', ['running'], 'paused by operator');
    return this.view(id);
  }

  /** Continues a paused rollout; machines that failed (and were rolled back) are tried again. */
  resume(id: number): RolloutView {
    this.store.transaction(() => {
      const members = this.repo.members(id);
      const busy = members.find((m) => m.phase.startsWith('rb-'));
      if (busy) throw new AppError('CONFLICT', `machine ${busy.name} is still rolling back (${busy.phase})`);
      this.move(id, 'running', ['paused'], null);
      for (const m of members) {
        if (['failed', 'rolled-back', 'rollback-failed'].includes(m.phase)) {
          this.repo.updateMember(id, m.machineId, m.phase, { phase: 'pending', message: `retry after: ${m.failure ?? m.phase}`, failure: null, moved: m.phase === 'rolled-back' ? false : m.moved });
        }
      }
    });
    return this.view(id);
  }

  /** Stops the rollout for good and releases its machines; machines in a step stay where they are. */
  abort(id: number): RolloutView {
    this.store.transaction(() => {
      this.move(id, 'aborted', ['running', 'paused', 'rolling-back'], 'aborted by operator');
      for (const m of this.repo.members(id)) {
        if (m.phase === 'pending' || m.phase === 'rb-queued') this.repo.updateMember(id, m.machineId, m.phase, { phase: 'skipped' });
        else if (ACTIVE_PHASES.has(m.phase)) this.repo.updateMember(id, m.machineId, m.phase, { phase: 'aborted', message: `aborted in ${m.phase}` });
      }
    });
    return this.view(id);
  }

  /** Returns every machine this rollout moved to its previous version, the same way it came. */
  rollback(id: number): RolloutView {
    this.store.transaction(() => {
      const r = this.repo.get(id);
      if (r.state === 'rolling-back' || r.state === 'rolled-back') throw new AppError('CONFLICT', `rollout ${id} is already ${r.state}`);
      const members = this.repo.members(id);
      // A finished rollout released its machines: take back the ones it moved (CONFLICT if another rollout holds one).
      if (FINISHED_STATES.has(r.state)) this.repo.hold(id, members.filter((m) => m.moved).map((m) => m.machineId));
      for (const m of members) this.queueRollback(id, m);
      this.move(id, 'rolling-back', [r.state], 'rollback requested');
    });
    return this.view(id);
  }

  private queueRollback(id: number, m: RolloutMachineRecord): void {
    let phase: string | undefined;
    if (m.phase === 'pending') phase = 'skipped';
    else if (FORWARD.has(m.phase)) phase = m.moved ? 'rb-pxe' : 'rb-post';
    else if (m.moved && ['done', 'failed', 'aborted', 'rollback-failed'].includes(m.phase)) phase = 'rb-queued';
    if (phase) this.repo.updateMember(id, m.machineId, m.phase, { phase, phaseStartedAt: this.now(), finishedAt: null });
  }

  private move(id: number, state: RolloutState, from: RolloutState[], reason: string | null): void {
    const cur = this.repo.get(id);
    if (!this.repo.setState(id, state, { reason, now: this.now(), from })) {
      throw new AppError('CONFLICT', `rollout ${id} is ${cur.state}; cannot go to ${state}`, { details: { state: cur.state } });
    }
    this.event(id, state, { reason });
  }

  private runner(now: number): RolloutView['runner'] {
    const lease = this.store.coordination.get(ROLES.rolloutRunner);
    return lease && lease.expiresAt > now ? { appliance: lease.appliance, since: lease.acquiredAt } : null;
  }

  private event(id: number, kind: string, detail: Record<string, unknown>): void {
    this.store.events.add({ source: 'rollout', kind: `rollout.${kind}`, detail: { rollout: id, ...detail } });
  }

  /** Rollouts newest first. */
  list(active = false): RolloutView[] {
    return this.repo.list({ active, limit: 200 }).map((r) => this.view(r.id, false));
  }

  /** One rollout with per-machine progress (boot traces of failed machines when `traces`). */
  view(id: number, traces = true): RolloutView {
    const r: RolloutRecord = this.repo.get(id);
    const now = this.now();
    const members = this.repo.members(id);
    const machines = members.map((m): RolloutMachineView => {
      const own = m.startMark === null ? [] : this.store.events.list({ machineId: m.machineId, afterId: m.startMark, limit: 10_000 });
      const boot = own.filter((e) => e.source !== 'rollout').at(-1);
      return {
        machine: m.name,
        machineId: m.machineId,
        batch: m.batch,
        canary: m.canary,
        phase: m.phase,
        attempt: m.attempt,
        message: m.message,
        failure: m.failure,
        startedAt: m.startedAt,
        finishedAt: m.finishedAt,
        elapsedMs: m.startedAt === null ? null : (m.finishedAt ?? now) - m.startedAt,
        bootPhase: boot ? boot.kind : null,
        ...(traces && m.trace ? { trace: m.trace } : {}),
      };
    });
    const busy = members.some((m) => ACTIVE_PHASES.has(m.phase) || m.phase === 'rb-queued');
    return {
      id: r.id,
      name: r.name,
      state: r.state,
      reason: r.reason,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      finishedAt: r.finishedAt,
      settled: FINISHED_STATES.has(r.state) || (r.state === 'paused' && !busy),
      spec: storedSpec(r),
      machines,
      runner: this.runner(now),
    };
  }
}
