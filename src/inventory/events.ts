import type { Db } from './db.js';
import { nowIso } from './db.js';

/** One entry of a machine's boot trace. */
export interface BootEvent {
  id: number;
  at: string;
  mac: string | null;
  machineId: number | null;
  source: string;
  kind: string;
  detail: Record<string, unknown>;
}

/** What a subsystem records. */
export interface NewEvent {
  mac?: string | null;
  machineId?: number | null;
  source: string;
  kind: string;
  detail?: Record<string, unknown>;
}

interface Row {
  id: number;
  at: string;
  mac: string | null;
  machine_id: number | null;
  source: string;
  kind: string;
  detail: string;
}

/** The boot-event trace per MAC and per machine. */
export class EventRepo {
  private readonly insert;
  private readonly machineOfMac;
  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      'INSERT INTO events (at, mac, machine_id, source, kind, detail) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.machineOfMac = db.prepare('SELECT machine_id FROM interfaces WHERE mac = ?').pluck();
  }

  /** Appends an event; the machine is found from the MAC when not given. */
  add(e: NewEvent): number {
    const machineId = e.machineId ?? (e.mac ? ((this.machineOfMac.get(e.mac) as number | undefined) ?? null) : null);
    const r = this.insert.run(nowIso(), e.mac ?? null, machineId, e.source, e.kind, JSON.stringify(e.detail ?? {}));
    return Number(r.lastInsertRowid);
  }

  /** Events oldest first, filtered by machine and/or MAC, after an id, at most `limit`. */
  list(q: { machineId?: number; mac?: string; afterId?: number; limit?: number; kind?: string } = {}): BootEvent[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.machineId !== undefined) {
      where.push('(machine_id = ? OR mac IN (SELECT mac FROM interfaces WHERE machine_id = ?))');
      args.push(q.machineId, q.machineId);
    }
    if (q.mac !== undefined) {
      where.push('mac = ?');
      args.push(q.mac);
    }
    if (q.afterId !== undefined) {
      where.push('id > ?');
      args.push(q.afterId);
    }
    if (q.kind !== undefined) {
      where.push('kind = ?');
      args.push(q.kind);
    }
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, Math.min(q.limit ?? 1000, 10_000)) as Row[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      mac: r.mac,
      machineId: r.machine_id,
      source: r.source,
      kind: r.kind,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }
}
