import { AppError } from '../../src/errors.js';
import type { BootEvent, NewEvent } from '../../src/inventory/events.js';
import type { Machine } from '../../src/inventory/machines.js';
import type { MachineRowPatch, RolloutMachineRecord, RolloutRecord, RolloutState } from '../../src/inventory/rollouts.js';
import type { RolloutStore } from '../../src/rollout/store.js';

/** A machine row for fakes: only name and id are given, the rest is a plain registered machine. */
export function fakeMachine(id: number, name: string, extra: Partial<Machine> = {}): Machine {
  const at = new Date(0).toISOString();
  return { id, name, labels: {}, profile: 'os-a', state: 'ready', uuid: null, serial: null, ipv4: null, facts: {}, macs: [], createdAt: at, updatedAt: at, ...extra };
}

/** A pending member of a rollout, as RolloutRepo.create leaves it. */
export function fakeMember(rolloutId: number, m: Machine, position: number, extra: Partial<RolloutMachineRecord> = {}): RolloutMachineRecord {
  return {
    rolloutId, machineId: m.id, name: m.name, batch: position, position, canary: position === 0, held: true, phase: 'pending', moved: false, attempt: 0,
    fromVersion: null, toVersion: null, startMark: null, cycleMark: null, cycleSentAt: null, pxeSentAt: null, phaseStartedAt: null, startedAt: null, finishedAt: null,
    message: null, failure: null, trace: null, ...extra,
  };
}

/**
 * An in-memory RolloutStore: rollout rows, their members, machines and a boot trace in arrays,
 * with the same compare-and-set rules as the SQLite repository. `failWrites` makes every write
 * throw (a full disk, a lost database) while reads go on working.
 */
export class FakeRolloutStore implements RolloutStore {
  readonly rolloutRows: RolloutRecord[] = [];
  readonly memberRows: RolloutMachineRecord[] = [];
  readonly machineRows = new Map<number, Machine>();
  readonly eventRows: BootEvent[] = [];
  failWrites = false;

  private write(): void {
    if (this.failWrites) throw new AppError('INTERNAL', 'fake store: writes fail (disk full)');
  }

  /** Seeds a running rollout over the given machines (one batch each, the first a canary). */
  seed(spec: unknown, machines: Machine[], now = 0): number {
    const id = this.rolloutRows.length + 1;
    this.rolloutRows.push({ id, name: null, spec, state: 'running', reason: null, createdAt: now, updatedAt: now, finishedAt: null });
    machines.forEach((m, i) => {
      this.machineRows.set(m.id, m);
      this.memberRows.push(fakeMember(id, m, i));
    });
    return id;
  }

  readonly rollouts: RolloutStore['rollouts'] = {
    list: (q = {}) => this.rolloutRows.filter((r) => !q.active || ['running', 'paused', 'rolling-back'].includes(r.state)).slice().reverse().map((r) => ({ ...r })),
    get: (id) => {
      const r = this.rolloutRows.find((x) => x.id === id);
      if (!r) throw new AppError('NOT_FOUND', `no rollout ${id}`);
      return { ...r };
    },
    members: (id) => this.memberRows.filter((m) => m.rolloutId === id).sort((a, b) => a.batch - b.batch || a.position - b.position).map((m) => ({ ...m })),
    setState: (id: number, state: RolloutState, opts: { reason?: string | null; now: number; from?: RolloutState[] }) => {
      this.write();
      const r = this.rolloutRows.find((x) => x.id === id);
      if (!r || (opts.from && !opts.from.includes(r.state))) return false;
      Object.assign(r, { state, reason: opts.reason ?? null, updatedAt: opts.now });
      return true;
    },
    updateMember: (rolloutId: number, machineId: number, expectPhase: string, patch: MachineRowPatch) => {
      this.write();
      const m = this.memberRows.find((x) => x.rolloutId === rolloutId && x.machineId === machineId && x.phase === expectPhase);
      if (!m) return false;
      for (const [k, v] of Object.entries(patch)) if (v !== undefined) (m as unknown as Record<string, unknown>)[k] = v;
      return true;
    },
    lastEventId: () => this.eventRows.at(-1)?.id ?? 0,
  };

  readonly machines: RolloutStore['machines'] = {
    get: (ref) => {
      const m = typeof ref === 'number' ? this.machineRows.get(ref) : [...this.machineRows.values()].find((x) => x.name === ref);
      if (!m) throw new AppError('NOT_FOUND', `no machine ${String(ref)}`);
      return m;
    },
  };

  readonly events: RolloutStore['events'] = {
    add: (e: NewEvent) => {
      this.write();
      const id = this.eventRows.length + 1;
      this.eventRows.push({ id, at: new Date().toISOString(), mac: e.mac ?? null, machineId: e.machineId ?? null, source: e.source, kind: e.kind, detail: e.detail ?? {} });
      return id;
    },
    list: (q = {}) =>
      this.eventRows.filter((e) => (q.machineId === undefined || e.machineId === q.machineId) && (q.afterId === undefined || e.id > q.afterId) && (q.kind === undefined || e.kind === q.kind)).slice(0, q.limit ?? 1000),
  };
}
