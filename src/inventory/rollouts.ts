import { AppError } from '../errors.js';
import type { BootEvent, EventRepo } from './events.js';
import type { Db } from './db.js';
import { isRowId } from './row-ids.js';
import { type UniqueTarget, isUniqueViolation } from './sql-errors.js';

/** Where a rollout as a whole stands. */
export const ROLLOUT_STATES = ['running', 'paused', 'rolling-back', 'succeeded', 'aborted', 'rolled-back', 'failed'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** States after which a rollout holds no machine and does nothing more on its own. */
export const FINISHED_STATES: ReadonlySet<RolloutState> = new Set(['succeeded', 'aborted', 'rolled-back', 'failed']);

/** A rollout row; `spec` is the validated rollout spec as JSON (parsed by src/rollout). */
export interface RolloutRecord {
  id: number;
  name: string | null;
  spec: unknown;
  state: RolloutState;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** One machine's progress inside a rollout. Times are epoch milliseconds from the runner's clock. */
export interface RolloutMachineRecord {
  rolloutId: number;
  machineId: number;
  name: string;
  batch: number;
  position: number;
  canary: boolean;
  held: boolean;
  phase: string;
  /** The machine was assigned the target (so a rollback has something to undo). */
  moved: boolean;
  attempt: number;
  fromVersion: unknown;
  toVersion: unknown;
  /** Last event id before the machine's work began / before its power cycle. */
  startMark: number | null;
  cycleMark: number | null;
  cycleSentAt: number | null;
  /** When the network-boot override was (maybe) sent in this phase (migration 014): a new runner verifies it. */
  pxeSentAt: number | null;
  phaseStartedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  message: string | null;
  failure: string | null;
  trace: BootEvent[] | null;
}

/** A planned member of a new rollout. */
export interface PlannedMember {
  machineId: number;
  name: string;
  batch: number;
  position: number;
  canary: boolean;
  /** The version the machine is to reach, resolved when the rollout is created. */
  toVersion?: unknown;
}

/** Columns the runner may change on a machine row (compare-and-set on the phase). */
export interface MachineRowPatch {
  phase?: string;
  moved?: boolean;
  attempt?: number;
  fromVersion?: unknown;
  toVersion?: unknown;
  startMark?: number | null;
  cycleMark?: number | null;
  cycleSentAt?: number | null;
  pxeSentAt?: number | null;
  phaseStartedAt?: number | null;
  startedAt?: number | null;
  finishedAt?: number | null;
  message?: string | null;
  failure?: string | null;
  trace?: BootEvent[] | null;
  held?: boolean;
}

const COLUMN: Record<keyof MachineRowPatch, string> = {
  phase: 'phase',
  moved: 'moved',
  attempt: 'attempt',
  fromVersion: 'from_version',
  toVersion: 'to_version',
  startMark: 'start_mark',
  cycleMark: 'cycle_mark',
  cycleSentAt: 'cycle_sent_at',
  pxeSentAt: 'pxe_sent_at',
  phaseStartedAt: 'phase_started_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  message: 'message',
  failure: 'failure',
  trace: 'trace',
  held: 'held',
};
const JSON_FIELDS = new Set(['fromVersion', 'toVersion', 'trace']);

/** The one-holder-per-machine index (migration 005). */
const ONE_HOLDER: UniqueTarget = { columns: 'rollout_machines.machine_id', constraint: 'rollout_machines_one_holder' };

type Row = Record<string, unknown>;
const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : null);

const toRollout = (r: Row): RolloutRecord => ({
  id: r.id as number,
  name: r.name as string | null,
  spec: JSON.parse(r.spec as string),
  state: r.state as RolloutState,
  reason: r.reason as string | null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
  finishedAt: r.finished_at as number | null,
});

const toMember = (r: Row): RolloutMachineRecord => ({
  rolloutId: r.rollout_id as number,
  machineId: r.machine_id as number,
  name: r.name as string,
  batch: r.batch as number,
  position: r.position as number,
  canary: r.canary === 1,
  held: r.held === 1,
  phase: r.phase as string,
  moved: r.moved === 1,
  attempt: r.attempt as number,
  fromVersion: json(r.from_version),
  toVersion: json(r.to_version),
  startMark: r.start_mark as number | null,
  cycleMark: r.cycle_mark as number | null,
  cycleSentAt: r.cycle_sent_at as number | null,
  pxeSentAt: (r.pxe_sent_at ?? null) as number | null,
  phaseStartedAt: r.phase_started_at as number | null,
  startedAt: r.started_at as number | null,
  finishedAt: r.finished_at as number | null,
  message: r.message as string | null,
  failure: r.failure as string | null,
  trace: json(r.trace) as BootEvent[] | null,
});

/** Rollouts, their machines, and the one-holder-per-machine rule. */
export class RolloutRepo {
  /** `events`: the store's trace, whose queued rows are written before the events table is read here. */
  constructor(
    private readonly db: Db,
    private readonly events: Pick<EventRepo, 'flush' | 'lastId'>,
  ) {}

  /**
   * Creates a rollout holding its machines, all or nothing. A machine already held by another
   * rollout makes the unique index fail: that is reported as CONFLICT naming the holder.
   */
  create(input: { name: string | null; spec: unknown; members: PlannedMember[]; now: number }): RolloutRecord {
    return this.db.transaction(() => {
      const id = this.db
        .prepare('INSERT INTO rollouts (name, spec, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id')
        .pluck()
        .get(input.name, JSON.stringify(input.spec), 'running', input.now, input.now) as number;
      const ins = this.db.prepare(
        `INSERT INTO rollout_machines (rollout_id, machine_id, name, batch, position, canary, to_version)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const m of input.members) {
        try {
          // In a savepoint, so the holder can still be read after a refusal (PostgreSQL aborts the transaction otherwise).
          this.db.transaction(() =>
            ins.run(id, m.machineId, m.name, m.batch, m.position, m.canary ? 1 : 0, m.toVersion === undefined ? null : JSON.stringify(m.toVersion)),
          )();
        } catch (e) {
          throw this.holdConflict(e, m.machineId, m.name);
        }
      }
      return this.get(id);
    })();
  }

  /** Holds the given machines again for an existing rollout (a rollback after it finished). */
  hold(rolloutId: number, machineIds: number[]): void {
    this.db.transaction(() => {
      const upd = this.db.prepare('UPDATE rollout_machines SET held = 1 WHERE rollout_id = ? AND machine_id = ?');
      for (const mid of machineIds) {
        try {
          this.db.transaction(() => upd.run(rolloutId, mid))();
        } catch (e) {
          throw this.holdConflict(e, mid, String(mid));
        }
      }
    })();
  }

  private holdConflict(e: unknown, machineId: number, name: string): unknown {
    if (!isUniqueViolation(e, ONE_HOLDER)) return e;
    const holder = this.holderOf(machineId);
    return new AppError('CONFLICT', `machine ${name} is already held by rollout ${holder ?? '?'}`, {
      details: { machine: name, rollout: holder },
    });
  }

  /** The rollout currently holding a machine, if any. */
  holderOf(machineId: number): number | undefined {
    return this.db.prepare('SELECT rollout_id FROM rollout_machines WHERE machine_id = ? AND held = 1').pluck().get(machineId) as
      | number
      | undefined;
  }

  find(id: number): RolloutRecord | undefined {
    if (!isRowId(id)) return undefined;
    const r = this.db.prepare('SELECT * FROM rollouts WHERE id = ?').get(id) as Row | undefined;
    return r ? toRollout(r) : undefined;
  }

  get(id: number): RolloutRecord {
    const r = this.find(id);
    if (!r) throw new AppError('NOT_FOUND', `no rollout ${id}`);
    return r;
  }

  /** Rollouts newest first; `active` keeps the ones not finished. */
  list(q: { active?: boolean; limit?: number } = {}): RolloutRecord[] {
    const where = q.active ? "WHERE state IN ('running', 'paused', 'rolling-back')" : '';
    const rows = this.db.prepare(`SELECT * FROM rollouts ${where} ORDER BY id DESC LIMIT ?`).all(q.limit ?? 1000) as Row[];
    return rows.map(toRollout);
  }

  /** A rollout's machines in plan order. */
  members(rolloutId: number): RolloutMachineRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM rollout_machines WHERE rollout_id = ? ORDER BY batch, position')
      .all(rolloutId) as Row[];
    return rows.map(toMember);
  }

  /** Sets the rollout state; when `from` is given only if it is still one of those (compare-and-set). */
  setState(id: number, state: RolloutState, opts: { reason?: string | null; now: number; from?: RolloutState[] }): boolean {
    return this.db.transaction(() => {
      const cur = this.get(id);
      if (opts.from && !opts.from.includes(cur.state)) return false;
      const finished = FINISHED_STATES.has(state);
      this.db
        .prepare('UPDATE rollouts SET state = ?, reason = ?, updated_at = ?, finished_at = ? WHERE id = ?')
        .run(state, opts.reason === undefined ? cur.reason : opts.reason, opts.now, finished ? opts.now : null, id);
      // A finished rollout lets go of its machines so another rollout may take them.
      if (finished) this.db.prepare('UPDATE rollout_machines SET held = 0 WHERE rollout_id = ?').run(id);
      return true;
    })();
  }

  /**
   * Changes one machine row only if its phase is still `expectPhase`, so a step that finished
   * after the operator changed the row (rollback, abort) cannot overwrite that decision.
   */
  updateMember(rolloutId: number, machineId: number, expectPhase: string, patch: MachineRowPatch): boolean {
    const sets: string[] = [];
    const args: unknown[] = [];
    for (const [k, v] of Object.entries(patch) as Array<[keyof MachineRowPatch, unknown]>) {
      if (v === undefined) continue;
      sets.push(`${COLUMN[k]} = ?`);
      args.push(JSON_FIELDS.has(k) ? (v === null ? null : JSON.stringify(v)) : typeof v === 'boolean' ? (v ? 1 : 0) : v);
    }
    if (!sets.length) return true;
    const r = this.db
      .prepare(`UPDATE rollout_machines SET ${sets.join(', ')} WHERE rollout_id = ? AND machine_id = ? AND phase = ?`)
      .run(...args, rolloutId, machineId, expectPhase);
    return r.changes === 1;
  }

  /** The newest event id (a watermark: reports after it belong to the step that took it). */
  lastEventId(): number {
    return this.events.lastId();
  }

  /** Per machine: the newest report event that carries digests, and the newest report of any kind. */
  lastReports(): Map<number, { digests: BootEvent | undefined; any: BootEvent }> {
    this.events.flush();
    // Reports never come from DHCP; saying so lets SQLite use the partial events_machine index.
    const pick = (sql: string): Row[] => this.db.prepare(sql).all() as Row[];
    const toEvent = (r: Row): BootEvent => ({
      id: r.id as number,
      at: r.at as string,
      mac: r.mac as string | null,
      machineId: r.machine_id as number | null,
      source: r.source as string,
      kind: r.kind as string,
      detail: JSON.parse(r.detail as string) as Record<string, unknown>,
    });
    const any = pick(`SELECT * FROM events WHERE id IN (SELECT MAX(id) FROM events
      WHERE kind LIKE 'report.%' AND machine_id IS NOT NULL AND source <> 'dhcp' GROUP BY machine_id)`);
    const withDigests = pick(`SELECT * FROM events WHERE id IN (SELECT MAX(id) FROM events
      WHERE kind LIKE 'report.%' AND machine_id IS NOT NULL AND source <> 'dhcp' AND (json_extract(detail, '$.imageDigest') IS NOT NULL
      OR json_extract(detail, '$.configDigest') IS NOT NULL) GROUP BY machine_id)`);
    const out = new Map<number, { digests: BootEvent | undefined; any: BootEvent }>();
    for (const r of any) out.set(r.machine_id as number, { any: toEvent(r), digests: undefined });
    for (const r of withDigests) {
      const e = out.get(r.machine_id as number);
      if (e) e.digests = toEvent(r);
    }
    return out;
  }
}
