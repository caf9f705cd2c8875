import type { Db } from './db.js';
import { type BootEvent, type EventRow, eventFromRow, machineTraceClause } from './events.js';

/** The id of the newest event (0 for none); EventRepo.lastId writes its queued rows first. */
export function lastEventId(db: Db): number {
  return (db.prepare('SELECT COALESCE(MAX(id), 0) FROM events').pluck().get() as number) ?? 0;
}

/**
 * The newest `limit` events of a machine (its own rows and its MACs' rows, as EventRepo.list
 * reads them) or of one MAC, oldest first: diagnosis reads the end of a long trace. Called by
 * EventRepo.latest, which writes its queued rows first.
 */
export function latestEvents(db: Db, q: { machineId?: number; mac?: string }, limit = 2000): BootEvent[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.machineId !== undefined) {
    const m = machineTraceClause(q.machineId);
    where.push(m.sql);
    args.push(...m.args);
  }
  if (q.mac !== undefined) {
    where.push('mac = ?');
    args.push(q.mac);
  }
  const filter = where.length ? `WHERE ${where.join(' OR ')}` : '';
  const rows = db.prepare(`SELECT * FROM (SELECT * FROM events ${filter} ORDER BY id DESC LIMIT ?) AS newest ORDER BY id`).all(...args, Math.min(limit, 10_000)) as EventRow[];
  return rows.map(eventFromRow);
}
