import { FINISHED_STATES, type RolloutMachineRecord, type RolloutRecord } from '../inventory/rollouts.js';
import type { Logger } from '../log.js';
import type { RolloutEffects, VersionControl } from './effects.js';
import { ACTIVE_PHASES, decide } from './plan.js';
import { type RolloutSpec, rolloutSpecSchema } from './spec.js';
import { type StepOutcome, errorReason, runStep } from './steps.js';
import type { RolloutRows, RolloutStore } from './store.js';
import { PollLoop } from '../poll-loop.js';
import { rolloutMachineKind, rolloutStateKind } from '../lifecycle/event-kinds.js';
import type { Leadership } from '../coordination/leader.js';

/** What the runner works with. */
export interface RunnerDeps {
  /** The inventory as the runner sees it (the SQLite Store, or a fake in unit tests). */
  store: RolloutStore;
  effects: RolloutEffects;
  versions: VersionControl;
  log: Logger;
  /** After a restart, how long a power cycle that may have been sent gets to show boot evidence (default 120 s). */
  cycleGraceMs?: number;
  /**
   * The `rollout-runner` lease when appliances share the inventory: nothing is stepped unless it
   * is held, checked again before every step (absent: this runner is the only one).
   */
  leader?: Leadership;
}

/** Most steps one machine may take in one tick (a step that waits ends the tick for it). */
const MAX_STEPS_PER_TICK = 8;

/** Parses a stored spec (it was validated on the way in; defaults are applied again for older rows). */
export function storedSpec(r: RolloutRecord): RolloutSpec {
  return rolloutSpecSchema.parse(r.spec);
}

/**
 * The persisted rollout state machine. Every decision is re-read from the database at each tick,
 * so a new runner on the same database (after SIGKILL, or another appliance taking the lease
 * over) continues exactly where the old one stopped.
 */
export class RolloutRunner {
  private readonly repo: RolloutRows;
  private readonly log: Logger;
  private readonly loop: PollLoop<void>;

  constructor(private readonly deps: RunnerDeps) {
    this.repo = deps.store.rollouts;
    this.log = deps.log.child({ subsys: 'rollout' });
    this.loop = new PollLoop(() => this.round(), (err) => this.log.error({ err }, 'rollout tick failed'));
  }

  /** One round of progress on every active rollout; concurrent calls share the round in flight. */
  tick(): Promise<void> {
    return this.loop.run();
  }

  /** Ticks every `intervalMs` until stop(). */
  start(intervalMs: number): void {
    this.loop.start(intervalMs);
  }

  /** Stops ticking and waits for the round in flight. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** True while this runner may step (it holds the lease, or there is none to hold). */
  private leading(): boolean {
    return this.deps.leader?.held() ?? true;
  }

  private async round(): Promise<void> {
    if (!this.leading()) return;
    for (const r of this.repo.list({ active: true }).reverse()) {
      try {
        await this.advanceRollout(r.id);
      } catch (err) {
        this.log.error({ err, rollout: r.id }, 'rollout round failed');
      }
    }
  }

  private async advanceRollout(id: number): Promise<void> {
    const r = this.repo.get(id);
    if (FINISHED_STATES.has(r.state) || !this.leading()) return;
    const spec = storedSpec(r);
    const members = this.repo.members(id);
    const d = decide(r.state, members, spec.maxUnavailable);
    const now = this.deps.effects.now();
    if (d.finish) {
      if (this.repo.setState(id, d.finish.state, { reason: d.finish.reason, now, from: [r.state] })) {
        this.deps.store.events.add({ source: 'rollout', kind: rolloutStateKind(d.finish.state), detail: { rollout: id, reason: d.finish.reason } });
        this.log.info({ rollout: id, state: d.finish.state }, 'rollout finished');
      }
      return;
    }
    for (const mid of d.start) this.begin(members.find((m) => m.machineId === mid)!, now);
    await Promise.all([...d.drive, ...d.start].map((mid) => this.drive(id, mid, spec)));
  }

  /** Takes a machine from the queue into its first step, recording where it comes from. */
  private begin(m: RolloutMachineRecord, now: number): void {
    const machine = this.deps.store.machines.get(m.machineId);
    if (m.phase === 'pending') {
      // A retried machine keeps the version it had before this rollout first touched it.
      const from = m.fromVersion ?? this.deps.versions.current(machine);
      this.transition(m, 'pre', { fromVersion: from, startMark: this.repo.lastEventId(), startedAt: now, attempt: m.attempt + 1 }, { from });
    } else if (m.phase === 'rb-queued') {
      this.transition(m, m.moved ? 'rb-pre' : 'rb-post', {}, { reason: 'rollback' });
    }
  }

  /** Runs the machine's steps until one has to wait, the row changed under us, or it settles. */
  private async drive(rolloutId: number, machineId: number, spec: RolloutSpec): Promise<void> {
    for (let i = 0; i < MAX_STEPS_PER_TICK; i++) {
      // A holder that lost the lease stops here: the step it finished is recorded, no new one starts.
      if (!this.leading()) return;
      const r = this.repo.get(rolloutId);
      if (FINISHED_STATES.has(r.state)) return;
      const member = this.repo.members(rolloutId).find((m) => m.machineId === machineId);
      if (!member || !ACTIVE_PHASES.has(member.phase)) return;
      const machine = this.deps.store.machines.get(machineId);
      let outcome: StepOutcome;
      try {
        outcome = await runStep({ ...this.deps, repo: this.repo, spec, member, machine, cycleGraceMs: this.deps.cycleGraceMs ?? 120_000 });
      } catch (e) {
        outcome = { kind: 'fail', reason: errorReason(e) };
      }
      const fresh = this.repo.members(rolloutId).find((m) => m.machineId === machineId);
      if (!fresh || fresh.phase !== member.phase) return; // the operator moved it meanwhile
      if (outcome.kind === 'wait') {
        if (outcome.message !== null && outcome.message !== fresh.message) {
          this.repo.updateMember(rolloutId, machineId, fresh.phase, { message: outcome.message });
        }
        return;
      }
      if (outcome.kind === 'fail') {
        this.fail(fresh, spec, outcome.reason);
        return;
      }
      this.transition(fresh, outcome.phase, { message: null, ...outcome.patch }, outcome.detail);
    }
  }

  /** Moves a machine to its next phase (compare-and-set) and records the step as an event. */
  private transition(m: RolloutMachineRecord, phase: string, patch: Record<string, unknown>, detail?: Record<string, unknown>): boolean {
    const now = this.deps.effects.now();
    const ok = this.repo.updateMember(m.rolloutId, m.machineId, m.phase, { phaseStartedAt: now, ...patch, phase });
    if (ok) {
      this.deps.store.events.add({
        machineId: m.machineId,
        source: 'rollout',
        kind: rolloutMachineKind(phase),
        detail: { rollout: m.rolloutId, after: m.phase, ...detail },
      });
      this.log.info({ rollout: m.rolloutId, machine: m.name, phase, after: m.phase }, 'rollout step');
    }
    return ok;
  }

  /**
   * A failed step: the machine keeps the reason and its boot trace; the rollout pauses; the
   * machine goes back to its previous version unless the spec disabled it. A failure while
   * rolling back ends that machine in `rollback-failed`.
   */
  private fail(m: RolloutMachineRecord, spec: RolloutSpec, reason: string): void {
    const now = this.deps.effects.now();
    const trace = this.deps.store.events.list({ machineId: m.machineId, afterId: m.startMark ?? 0, limit: 500 });
    const inRollback = m.phase.startsWith('rb-');
    const failure = inRollback ? `${m.failure ? `${m.failure}; ` : ''}rollback: ${reason}` : reason;
    const phase = inRollback ? 'rollback-failed' : !spec.rollbackOnFailure ? 'failed' : m.moved ? 'rb-pxe' : 'rb-post';
    const done = phase === 'failed' || phase === 'rollback-failed';
    this.log.warn({ rollout: m.rolloutId, machine: m.name, step: m.phase, reason }, 'rollout step failed');
    if (!this.transition(m, phase, { failure, trace, message: null, ...(done ? { finishedAt: now } : {}) }, { failedIn: m.phase, reason })) return;
    const paused = this.repo.setState(m.rolloutId, 'paused', { reason: `${m.name}: ${reason}`, now, from: ['running'] });
    if (paused) {
      this.deps.store.events.add({ source: 'rollout', kind: rolloutStateKind('paused'), detail: { rollout: m.rolloutId, machine: m.name, reason } });
    }
  }
}
