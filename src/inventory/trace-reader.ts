import type { Db } from './db.js';
import { type BootEvent, flushQueuedEvents } from './events.js';

interface Row {
  id: number;
  at: string;
  mac: string | null;
  machine_id: number | null;
  source: string;
  kind: string;
  detail: string;
}

const toEvent = (r: Row): BootEvent => ({
  id: r.id,
  at: r.at,
  mac: r.mac,
  machineId: r.machine_id,
  source: r.source,
  kind: r.kind,
  detail: JSON.parse(r.detail) as Record<string, unknown>,
});

/** The id of the newest event (0 for none), queued rows written first. */
export function lastEventId(db: Db): number {
  flushQueuedEvents(db);
  return (db.prepare('SELECT COALESCE(MAX(id), 0) FROM events').pluck().get() as number) ?? 0;
}

/**
 * The newest `limit` events of a machine (its own rows and its MACs' rows, as EventRepo.list
 * reads them) or of one MAC, oldest first: diagnosis reads the end of a long trace.
 */
export function latestEvents(db: Db, q: { machineId?: number; mac?: string }, limit = 2000): BootEvent[] {
  flushQueuedEvents(db);
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.machineId !== undefined) {
    where.push("((machine_id = ? AND source <> 'dhcp') OR mac IN (SELECT mac FROM interfaces WHERE machine_id = ?))");
    args.push(q.machineId, q.machineId);
  }
  if (q.mac !== undefined) {
    where.push('mac = ?');
    args.push(q.mac);
  }
  const filter = where.length ? `WHERE ${where.join(' OR ')}` : '';
  const rows = db.prepare(`SELECT * FROM (SELECT * FROM events ${filter} ORDER BY id DESC LIMIT ?) ORDER BY id`).all(...args, Math.min(limit, 10_000)) as Row[];
  return rows.map(toEvent);
}
