import { type Db, Statements } from './db.js';

/** One row of coordination_leases (migration 014): who holds a role or a BMC, and until when. */
export interface LeaseRecord {
  name: string;
  /** The process holding it: `<appliance>#<instance>` (src/coordination/coordinator.ts). */
  holder: string;
  /** The holder's appliance name, as the trace and the logs show it. */
  appliance: string;
  /** Epoch ms after which any other holder may take it. */
  expiresAt: number;
  /** When the current holder first took it (kept across renewals). */
  acquiredAt: number;
  /** Changes of holder so far (1 for the first). */
  epoch: number;
}

/** A claim on a lease: the claimant, its clock reading and how long the lease is to last. */
export interface LeaseClaim {
  holder: string;
  appliance: string;
  now: number;
  ttlMs: number;
  /** Take it whoever holds it (an SQLite data dir is locked to one process: a dead holder's row is stale). */
  force?: boolean;
}

const COLUMNS = 'name, holder, appliance, expires_at AS "expiresAt", acquired_at AS "acquiredAt", epoch';

/*
 * Free, expired or already ours: one statement, so two appliances racing for the same row get
 * one winner (SQLite: one writer at a time; PostgreSQL: ON CONFLICT locks the row and checks
 * the WHERE on its newest version). Columns on the right of SET are the old row's.
 */
/** The claim statement, in `?` placeholders (tests also race it from several PostgreSQL sessions). */
export const TAKE_LEASE_SQL = `INSERT INTO coordination_leases (name, holder, appliance, expires_at, acquired_at, epoch)
VALUES (?, ?, ?, ?, ?, 1)
ON CONFLICT (name) DO UPDATE SET
  holder = excluded.holder,
  appliance = excluded.appliance,
  expires_at = excluded.expires_at,
  acquired_at = CASE WHEN coordination_leases.holder = excluded.holder THEN coordination_leases.acquired_at ELSE excluded.acquired_at END,
  epoch = CASE WHEN coordination_leases.holder = excluded.holder THEN coordination_leases.epoch ELSE coordination_leases.epoch + 1 END
WHERE coordination_leases.holder = excluded.holder OR coordination_leases.expires_at <= ?
RETURNING ${COLUMNS}`;

/** Far beyond any clock reading: a forced claim finds every row expired. */
const ALWAYS_EXPIRED = Number.MAX_SAFE_INTEGER;

/** The coordination_leases table: leader leases and BMC locks shared by every appliance. */
export class CoordinationRepo {
  private readonly stmts: Statements;

  constructor(db: Db) {
    this.stmts = new Statements(db);
  }

  /** Takes or renews `name` for the claimant; the row when it holds it now, null when another does. */
  tryTake(name: string, c: LeaseClaim): LeaseRecord | null {
    const row = this.stmts.get(TAKE_LEASE_SQL).get(name, c.holder, c.appliance, c.now + c.ttlMs, c.now, c.force ? ALWAYS_EXPIRED : c.now) as LeaseRecord | undefined;
    return row ? toRecord(row) : null;
  }

  /** Gives `name` up if `holder` still holds it; true when a row was deleted. */
  release(name: string, holder: string): boolean {
    return this.stmts.get('DELETE FROM coordination_leases WHERE name = ? AND holder = ?').run(name, holder).changes > 0;
  }

  /** The row of `name`, expired or not (null: nobody ever took it or it was released). */
  get(name: string): LeaseRecord | null {
    const row = this.stmts.get(`SELECT ${COLUMNS} FROM coordination_leases WHERE name = ?`).get(name) as LeaseRecord | undefined;
    return row ? toRecord(row) : null;
  }

  /** Every row, by name (the API's view of who runs what). */
  list(): LeaseRecord[] {
    return (this.stmts.get(`SELECT ${COLUMNS} FROM coordination_leases ORDER BY name`).all() as LeaseRecord[]).map(toRecord);
  }
}

/** PostgreSQL BIGINTs may arrive as strings: numbers either way. */
function toRecord(r: LeaseRecord): LeaseRecord {
  return { name: r.name, holder: r.holder, appliance: r.appliance, expiresAt: Number(r.expiresAt), acquiredAt: Number(r.acquiredAt), epoch: Number(r.epoch) };
}
