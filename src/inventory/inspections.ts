import type { Db } from './db.js';

/** One stored inspection report: the facts as the inspection image posted them. */
export interface Inspection {
  id: number;
  machineId: number;
  facts: Record<string, unknown>;
  /** The reporting address (the request's source). */
  client: string | null;
  receivedAt: string;
}

/** How many reports are kept per machine (older ones are deleted as new ones arrive). */
export const INSPECTIONS_KEPT = 10;

interface Row {
  id: number;
  machine_id: number;
  facts: string;
  client: string | null;
  received_at: string;
}

const toInspection = (r: Row): Inspection => ({
  id: r.id,
  machineId: r.machine_id,
  facts: JSON.parse(r.facts) as Record<string, unknown>,
  client: r.client,
  receivedAt: r.received_at,
});

/**
 * Inspection reports with a bounded history per machine, and the per-boot inspection tokens
 * (stored as SHA-256 digests, never the secret).
 */
export class InspectionRepo {
  constructor(
    private readonly db: Db,
    private readonly kept = INSPECTIONS_KEPT,
  ) {}

  /** Stores one report and drops the machine's reports beyond the newest `kept`. */
  add(r: { machineId: number; facts: Record<string, unknown>; client: string | null; at: Date }): Inspection {
    const receivedAt = r.at.toISOString();
    const id = this.db
      .prepare('INSERT INTO inspections (machine_id, facts, client, received_at) VALUES (?, ?, ?, ?) RETURNING id')
      .pluck()
      .get(r.machineId, JSON.stringify(r.facts), r.client, receivedAt) as number;
    this.db
      .prepare('DELETE FROM inspections WHERE machine_id = ? AND id NOT IN (SELECT id FROM inspections WHERE machine_id = ? ORDER BY id DESC LIMIT ?)')
      .run(r.machineId, r.machineId, this.kept);
    return { id, machineId: r.machineId, facts: r.facts, client: r.client, receivedAt };
  }

  /** A machine's reports, newest first. */
  list(machineId: number): Inspection[] {
    const rows = this.db.prepare('SELECT * FROM inspections WHERE machine_id = ? ORDER BY id DESC').all(machineId) as Row[];
    return rows.map(toInspection);
  }

  /** A machine's newest report, if any. */
  latest(machineId: number): Inspection | undefined {
    const r = this.db.prepare('SELECT * FROM inspections WHERE machine_id = ? ORDER BY id DESC LIMIT 1').get(machineId) as Row | undefined;
    return r ? toInspection(r) : undefined;
  }

  /** Issues the token of a new inspection boot; the machine's earlier inspection tokens die. */
  addToken(t: { hash: string; machineId: number; expiresAt: number; createdAt: number }): void {
    this.db.prepare('DELETE FROM inspection_tokens WHERE machine_id = ? OR expires_at <= ?').run(t.machineId, t.createdAt);
    this.db.prepare('INSERT INTO inspection_tokens (hash, machine_id, expires_at, created_at) VALUES (?, ?, ?, ?)').run(t.hash, t.machineId, t.expiresAt, t.createdAt);
  }

  /** The machine an unexpired inspection token stands for. */
  machineOfToken(hash: string, nowMs: number): number | undefined {
    const r = this.db.prepare('SELECT machine_id FROM inspection_tokens WHERE hash = ? AND expires_at > ?').get(hash, nowMs) as { machine_id: number } | undefined;
    return r?.machine_id;
  }

  /** Spends a token (a report is posted once per inspection boot). */
  revokeToken(hash: string): void {
    this.db.prepare('DELETE FROM inspection_tokens WHERE hash = ?').run(hash);
  }
}
