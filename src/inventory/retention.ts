import { z } from 'zod';
import { tryParseDigest } from '../model/digest.js';
import type { Db } from './db.js';

/**
 * Retention settings (issue #15: nothing was ever pruned). Events go by age and by count; config
 * versions beyond the newest `configVersionsKeep` of a machine go unless something refers to them.
 */
export const retentionSettingsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Events older than this are deleted (0: no age limit). */
    eventsMaxAgeDays: z.number().int().min(0).max(36_500).default(30),
    /** At most this many events are kept, the newest (0: no count limit). */
    eventsMaxRows: z.number().int().min(0).max(1_000_000_000).default(1_000_000),
    /** Config versions kept per machine (newest first) besides the ones still referred to. */
    configVersionsKeep: z.number().int().min(1).max(100_000).default(10),
    /** Pause between two prune runs. */
    intervalSeconds: z.number().int().min(1).max(86_400).default(60),
    /** Rows deleted per step: each step is one short transaction, so DHCP commits are never held up long. */
    batchRows: z.number().int().min(1).max(100_000).default(500),
  })
  .default({});

/** The `retention` settings section. */
export type RetentionSettings = z.infer<typeof retentionSettingsSchema>;

/** Rows one prune step deleted, by reason. */
export interface PruneCounts {
  eventsByAge: number;
  eventsByCount: number;
  configVersions: number;
  expiredTokens: number;
}

/** Machines looked at per config-version step (each costs a few indexed queries). */
const MACHINES_PER_STEP = 50;

/** A LIMIT that keeps every row: OFFSET needs one in SQLite, and PostgreSQL refuses SQLite's -1. */
const ALL_ROWS = Number.MAX_SAFE_INTEGER;

/**
 * A version id read from an event's JSON detail: SQLite's json_extract gives a JSON number as a
 * number, PostgreSQL's `->>` (what json_extract becomes there) as its text.
 */
function versionIdOf(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^[0-9]{1,15}$/.test(v)) return Number(v);
  return undefined;
}

/** The SQL of retention: each method deletes at most `limit` rows in one transaction. */
export class RetentionRepo {
  /** Writes queued boots first (BootWriteQueue.flush): a version a queued token names is kept. */
  pendingWrites: (() => void) | undefined;

  constructor(private readonly db: Db) {}

  /** Deletes the oldest events stamped before `cutoffIso` (ids follow time, so they are a prefix). */
  pruneEventsOlderThan(cutoffIso: string, limit: number): number {
    const oldest = this.db.prepare('SELECT id, at FROM events ORDER BY id LIMIT ?').all(limit) as Array<{ id: number; at: string }>;
    let last: number | undefined;
    for (const r of oldest) {
      if (r.at >= cutoffIso) break;
      last = r.id;
    }
    if (last === undefined) return 0;
    return this.db.prepare('DELETE FROM events WHERE id <= ?').run(last).changes;
  }

  /**
   * Deletes the oldest events beyond the newest `maxRows`. Ids only grow and only the oldest are
   * ever deleted, so every row newer than max(id) - maxRows is one of the newest maxRows: no COUNT.
   */
  pruneEventsBeyond(maxRows: number, limit: number): number {
    const r = this.db.prepare('SELECT min(id) AS lo, max(id) AS hi FROM events').get() as { lo: number | null; hi: number | null };
    if (r.lo === null || r.hi === null) return 0;
    const threshold = Math.min(r.hi - maxRows, r.lo + limit - 1);
    if (threshold < r.lo) return 0;
    return this.db.prepare('DELETE FROM events WHERE id <= ?').run(threshold).changes;
  }

  /** Deletes config tokens that expired before `nowMs` (they only keep their versions alive). */
  pruneExpiredTokens(nowMs: number, limit: number): number {
    return this.db
      .prepare('DELETE FROM config_tokens WHERE id IN (SELECT id FROM config_tokens WHERE expires_at <= ? LIMIT ?)')
      .run(nowMs, limit).changes;
  }

  /**
   * Deletes unreferenced config versions beyond each machine's newest `keep`, at most `limit`,
   * looking at up to 50 machines after `afterMachineId`; `next` is where to go on (null: done).
   * Never deleted: a machine's desired version, one a token names, the one its latest report came
   * from (its current config), and one whose digest a rollout moves the machine from or to.
   */
  pruneConfigVersions(keep: number, limit: number, afterMachineId = 0): { deleted: number; next: number | null } {
    this.pendingWrites?.();
    const machines = this.db
      .prepare(
        `SELECT machine_id FROM config_versions WHERE machine_id > ?
         GROUP BY machine_id HAVING count(*) > ? ORDER BY machine_id LIMIT ?`,
      )
      .pluck()
      .all(afterMachineId, keep, MACHINES_PER_STEP) as number[];
    let deleted = 0;
    let next: number | null = machines.length < MACHINES_PER_STEP ? null : (machines.at(-1) ?? null);
    const del = this.db.prepare('DELETE FROM config_versions WHERE id = ?');
    this.db.transaction(() => {
      for (const machineId of machines) {
        if (deleted >= limit) {
          // Stopped inside the list: the next step goes on from the machine before this one.
          next = machineId - 1;
          break;
        }
        const kept = this.referencedVersions(machineId);
        if (kept.all) continue;
        const old = this.db
          .prepare('SELECT id, sha256 FROM config_versions WHERE machine_id = ? ORDER BY id DESC LIMIT ? OFFSET ?')
          .all(machineId, ALL_ROWS, keep) as Array<{ id: number; sha256: string }>;
        for (const v of old) {
          if (kept.ids.has(v.id) || kept.digests.has(v.sha256.toLowerCase())) continue;
          try {
            // In a savepoint: a failed statement aborts a PostgreSQL transaction, not only itself.
            deleted += this.db.transaction(() => del.run(v.id).changes)();
          } catch {
            // A reference this repo does not know about (a newer table's foreign key): kept.
          }
        }
      }
    })();
    return { deleted, next };
  }

  /** Version ids and SHA-256 hex digests of a machine that must stay (all: a digest we cannot match by column). */
  private referencedVersions(machineId: number): { ids: Set<number>; digests: Set<string>; all: boolean } {
    const ids = new Set<number>(
      this.db
        .prepare(
          `SELECT version_id FROM machine_configs WHERE machine_id = ?
           UNION SELECT version_id FROM config_tokens WHERE machine_id = ?`,
        )
        .pluck()
        .all(machineId, machineId) as number[],
    );
    const report = this.db
      .prepare(
        `SELECT json_extract(detail, '$.versionId') FROM events
         WHERE machine_id = ? AND source <> 'dhcp' AND kind LIKE 'report.%' ORDER BY id DESC LIMIT 1`,
      )
      .pluck()
      .get(machineId);
    const reportId = versionIdOf(report);
    if (reportId !== undefined) ids.add(reportId);
    const digests = new Set<string>();
    let all = false;
    const rollouts = this.db
      .prepare(
        `SELECT json_extract(from_version, '$.configDigest') AS from_digest, json_extract(to_version, '$.configDigest') AS to_digest
         FROM rollout_machines WHERE machine_id = ?`,
      )
      .all(machineId) as Array<{ from_digest: unknown; to_digest: unknown }>;
    for (const d of rollouts.flatMap((r) => [r.from_digest, r.to_digest])) {
      if (d === null || d === undefined) continue;
      const parsed = typeof d === 'string' ? tryParseDigest(d) : null;
      // A SHA-512 pin (Ignition) is not a column: every version of that machine stays.
      if (parsed?.algorithm === 'sha256') digests.add(parsed.hex);
      else all = true;
    }
    return { ids, digests, all };
  }
}
