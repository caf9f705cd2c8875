import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Db } from './db.js';
import { TableMemo } from './table-watch.js';
import { MultiRowInsert, Statements, dialectOf, nowIso } from './db.js';
import { isRowId } from './row-ids.js';
import type { SecretBox } from './secrets.js';
import { openJson, sealJson } from './sealing.js';

import type { ConfigFormat } from '../model/config-format.js';

export { CONFIG_FORMATS, type ConfigFormat } from '../model/config-format.js';

/** A stored, immutable rendered config (without its body). */
export interface ConfigVersion {
  id: number;
  machineId: number;
  machineName: string;
  profile: string;
  profileRevision: number;
  format: ConfigFormat;
  contentType: string;
  sha256: string;
  size: number;
  /** Extra documents served with the body (cloud-init meta-data). */
  meta: Record<string, string>;
  createdAt: string;
}

/** A version with the exact bytes that are served. */
export interface ConfigVersionWithBody extends ConfigVersion {
  body: Buffer;
}

/**
 * What the config service stores for a new rendering; `secrets` are the secret strings the
 * profile gave the renderer (kept sealed, to redact them from the body for non-admin readers).
 */
export type NewConfigVersion = Omit<ConfigVersionWithBody, 'id' | 'createdAt' | 'size'> & { secrets?: string[] };

/**
 * A per-boot token as stored (migration 016): its id, which the token names in the clear, and
 * only the SHA-256 of its secret. Ids grow with every token, so the table's key is appended at
 * its right edge instead of at a random place (issue #21).
 */
export interface ConfigToken {
  id: number;
  /** SHA-256 of the token's secret part (32 bytes); empty for a token issued before migration 016. */
  secretHash: Buffer;
  kind: 'config' | 'report';
  machineId: number;
  versionId: number;
  /** null: unlimited until expiry. */
  usesLeft: number | null;
  expiresAt: number;
  createdAt: number;
}

/** Token rows per INSERT of addTokens (8 parameters a row). */
const TOKEN_ROWS_MAX = 64;

interface VersionRow {
  id: number;
  machine_id: number;
  machine_name: string;
  profile: string;
  profile_revision: number;
  format: ConfigFormat;
  content_type: string;
  sha256: string;
  size: number;
  meta: string;
  created_at: string;
  body?: Buffer;
  /** 1: body is sealed with the inventory key (every version since migration 009). */
  sealed?: number;
}

/**
 * How a presented token is looked up: by the id it names, its secret's hash checked in constant
 * time against the row's; or, for a token issued before migration 016, by the SHA-256 hex of the
 * whole token (as those were stored).
 */
export type TokenKey = { id: number; secretHash: Buffer } | { legacyHash: string };

interface TokenRow {
  id: number;
  secret_hash: Buffer | null;
  kind: 'config' | 'report';
  machine_id: number;
  version_id: number;
  uses_left: number | null;
  expires_at: number;
  created_at: number;
}

/** A sealed body is iv(12) | tag(16) | ciphertext: the served size is 28 bytes less. */
const COLUMNS =
  'id, machine_id, machine_name, profile, profile_revision, format, content_type, sha256, ' +
  'CASE sealed WHEN 1 THEN length(body) - 28 ELSE length(body) END AS size, meta, created_at';

const toVersion = (r: VersionRow): ConfigVersion => ({
  id: r.id,
  machineId: r.machine_id,
  machineName: r.machine_name,
  profile: r.profile,
  profileRevision: r.profile_revision,
  format: r.format,
  contentType: r.content_type,
  sha256: r.sha256,
  size: r.size,
  meta: JSON.parse(r.meta) as Record<string, string>,
  createdAt: r.created_at,
});

const NO_HASH = Buffer.alloc(0);

/** Token ids one nextval of config_token_ids reserves: the sequence's increment (migration 017). */
const TOKEN_ID_BLOCK = 64;

/** The token columns every token read returns (legacy_hash stays in the database). */
const TOKEN_COLUMNS = 'id, secret_hash, kind, machine_id, version_id, uses_left, expires_at, created_at';

const toToken = (r: TokenRow): ConfigToken => ({
  id: r.id,
  secretHash: r.secret_hash ?? NO_HASH,
  kind: r.kind,
  machineId: r.machine_id,
  versionId: r.version_id,
  usesLeft: r.uses_left,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
});

/**
 * Config versions (append-only), desired version per machine, and boot tokens. Bodies are
 * sealed at rest (they carry cluster secrets); reads here return the clear bytes, so only
 * callers that serve a machine or an admin may pass them on unredacted.
 */
export class ConfigRepo {
  /** Writes queued boots first (BootWriteQueue.flush): token reads and writes keep their order. */
  pendingWrites: (() => void) | undefined;

  private readonly stmts: Statements;
  /** addTokens' INSERTs, each row count prepared once (PgDb.prepare translates the text). */
  private readonly tokenInsert: MultiRowInsert;
  private readonly desiredMemo: TableMemo<number, { id: number | null }>;
  /** The last token id handed out; recountTokenIds: look at the largest stored one first. */
  private lastTokenId = 0;
  private recountTokenIds = true;
  /** PostgreSQL: the last id of the block taken from config_token_ids (nextSharedTokenId). */
  private tokenBlockEnd = 0;

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {
    this.stmts = new Statements(db);
    this.tokenInsert = new MultiRowInsert(db, 'INSERT INTO config_tokens (id, secret_hash, kind, machine_id, version_id, uses_left, expires_at, created_at)', '(?, ?, ?, ?, ?, ?, ?, ?)', TOKEN_ROWS_MAX);
    this.desiredMemo = new TableMemo(db, ['machine_configs', 'config_versions']);
  }

  /** Stores a rendering; identical output for the same machine and format reuses the old version. */
  saveVersion(v: NewConfigVersion): { version: ConfigVersion; created: boolean } {
    return this.db.transaction(() => {
      const same = this.stmts.get(`SELECT ${COLUMNS} FROM config_versions WHERE machine_id = ? AND format = ? AND sha256 = ?`).get(v.machineId, v.format, v.sha256) as VersionRow | undefined;
      if (same) return { version: toVersion(same), created: false };
      const id = this.stmts.get(
        `INSERT INTO config_versions (machine_id, machine_name, profile, profile_revision, format, content_type,
         body, sealed, secrets, sha256, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?) RETURNING id`,
        { value: true },
      ).get(v.machineId, v.machineName, v.profile, v.profileRevision, v.format, v.contentType,
          this.box.sealBytes(v.body), v.secrets?.length ? sealJson(this.box, v.secrets) : null, v.sha256,
          JSON.stringify(v.meta), nowIso());
      const row = this.stmts.get(`SELECT ${COLUMNS} FROM config_versions WHERE id = ?`).get(id) as VersionRow;
      return { version: toVersion(row), created: true };
    })();
  }

  /** A version with its body, if it exists. */
  findVersion(id: number): ConfigVersionWithBody | undefined {
    if (!isRowId(id)) return undefined;
    const r = this.stmts.get(`SELECT ${COLUMNS}, body, sealed FROM config_versions WHERE id = ?`).get(id) as VersionRow | undefined;
    if (!r) return undefined;
    const body = r.sealed === 1 ? this.box.openBytes(r.body as Buffer) : (r.body as Buffer);
    return { ...toVersion(r), body };
  }

  /** The secret strings the version was rendered with (empty when none were recorded). */
  secretValues(id: number): string[] {
    const sealed = this.stmts.get('SELECT secrets FROM config_versions WHERE id = ?', { value: true }).get(id) as Buffer | null | undefined;
    return openJson<string[]>(this.box, sealed) ?? [];
  }

  /** Like findVersion; a missing version is NOT_FOUND. */
  getVersion(id: number): ConfigVersionWithBody {
    const v = this.findVersion(id);
    if (!v) throw new AppError('NOT_FOUND', `no config version ${id}`);
    return v;
  }

  /** Every version rendered for a machine, newest first (bodies left out). */
  listVersions(machineId: number): ConfigVersion[] {
    const rows = this.stmts.get(`SELECT ${COLUMNS} FROM config_versions WHERE machine_id = ? ORDER BY id DESC`).all(machineId) as VersionRow[];
    return rows.map(toVersion);
  }

  /** Records the version a machine was given at its latest boot (its desired config). */
  setDesired(machineId: number, versionId: number): void {
    this.stmts.get(
      `INSERT INTO machine_configs (machine_id, version_id, assigned_at) VALUES (?, ?, ?)
       ON CONFLICT(machine_id) DO UPDATE SET version_id = excluded.version_id, assigned_at = excluded.assigned_at`,
    ).run(machineId, versionId, nowIso());
  }

  /** The desired version of a machine, if it was ever given one. */
  desired(machineId: number): ConfigVersion | undefined {
    const r = this.stmts.get(
      `SELECT ${COLUMNS} FROM config_versions WHERE id = (SELECT version_id FROM machine_configs WHERE machine_id = ?)`,
    ).get(machineId) as VersionRow | undefined;
    return r ? toVersion(r) : undefined;
  }

  /** The id of desired(machineId) (null: none), from memory while no desired or version row changed (the boot path). */
  desiredIdCached(machineId: number): number | null {
    return this.desiredMemo.get(machineId, () => ({ id: this.desired(machineId)?.id ?? null }))?.id ?? null;
  }

  /**
   * The id for the next token, before its row is written (the id is part of the token a boot
   * script carries, and a queued boot's script is filled before its group commit). SQLite: counted in
   * memory from the largest stored id (this connection is the inventory's only writer), never
   * backwards within the process. An id whose row is deleted may be given again after a restart;
   * the old token still fails then, its secret being another's. Reads nothing queued: every
   * queued token's id came from this counter.
   */
  nextTokenId(): number {
    if (dialectOf(this.db) === 'postgres') return this.nextSharedTokenId();
    if (this.recountTokenIds) {
      const stored = Number(this.stmts.get('SELECT coalesce(max(id), 0) FROM config_tokens', { value: true }).get());
      this.lastTokenId = Math.max(this.lastTokenId, stored);
      this.recountTokenIds = false;
    }
    this.lastTokenId += 1;
    return this.lastTokenId;
  }

  /**
   * PostgreSQL: other appliances write tokens too, so ids come from the config_token_ids sequence
   * (migration 017), a block of TOKEN_ID_BLOCK per nextval, used up here in order.
   */
  private nextSharedTokenId(): number {
    if (this.lastTokenId >= this.tokenBlockEnd) {
      const start = Number(this.stmts.get("SELECT nextval('config_token_ids')", { value: true }).get());
      this.lastTokenId = start - 1;
      this.tokenBlockEnd = start + TOKEN_ID_BLOCK - 1;
    }
    this.lastTokenId += 1;
    return this.lastTokenId;
  }

  /** Stores a token: its id and the hash of its secret. */
  addToken(t: ConfigToken): void {
    this.addTokens([t]);
  }

  /**
   * Stores several tokens with one INSERT per TOKEN_ROWS_MAX rows (the boot write queue's batch:
   * a statement per token was most of a group commit's token cost, issue #21). Either all rows
   * of a statement are stored or none; on a failure the ids are recounted.
   */
  addTokens(tokens: readonly ConfigToken[]): void {
    this.pendingWrites?.();
    const params: unknown[] = [];
    for (const t of tokens) params.push(t.id, t.secretHash, t.kind, t.machineId, t.versionId, t.usesLeft, t.expiresAt, t.createdAt);
    try {
      this.tokenInsert.run(params);
    } catch (err) {
      // Another writer may have taken an id: count on from the stored ids (these tokens fail, the next do not).
      this.recountTokenIds = true;
      throw err;
    }
  }

  /**
   * The token `key` names, whatever its state: by id when the secret's hash matches the row's
   * (compared in constant time), or by a pre-016 token's hash; undefined otherwise.
   */
  findToken(key: TokenKey): ConfigToken | undefined {
    this.pendingWrites?.();
    if ('legacyHash' in key) {
      const r = this.stmts.get(`SELECT ${TOKEN_COLUMNS} FROM config_tokens WHERE legacy_hash = ?`).get(key.legacyHash) as TokenRow | undefined;
      return r ? toToken(r) : undefined;
    }
    const r = this.stmts.get(`SELECT ${TOKEN_COLUMNS} FROM config_tokens WHERE id = ?`).get(key.id) as TokenRow | undefined;
    if (!r?.secret_hash || r.secret_hash.length !== key.secretHash.length || !timingSafeEqual(r.secret_hash, key.secretHash)) return undefined;
    return toToken(r);
  }

  /** Spends one use of a token found by findToken, atomically; false when it is spent or expired at `nowMs`. */
  consumeToken(id: number, nowMs: number): boolean {
    this.pendingWrites?.();
    const r = this.stmts.get(
      `UPDATE config_tokens SET uses_left = uses_left - 1
       WHERE id = ? AND expires_at > ? AND (uses_left IS NULL OR uses_left > 0)`,
    ).run(id, nowMs);
    return r.changes === 1;
  }

  /** Deletes a machine's tokens of one kind (a new boot's report token replaces the older ones); returns how many. */
  revokeTokens(machineId: number, kind: ConfigToken['kind']): number {
    this.pendingWrites?.();
    return this.stmts.get('DELETE FROM config_tokens WHERE machine_id = ? AND kind = ?').run(machineId, kind).changes;
  }

  /** Deletes tokens that expired before `nowMs`; returns how many. */
  pruneTokens(nowMs: number): number {
    this.pendingWrites?.();
    return this.stmts.get('DELETE FROM config_tokens WHERE expires_at <= ?').run(nowMs).changes;
  }
}
