import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Role } from '../model/roles.js';
import type { Db } from './db.js';
import { isRowId } from './row-ids.js';
import { isUniqueViolation } from './sql-errors.js';

/** An API token as shown outside the process: never its secret, never its digest. */
export interface ApiTokenInfo {
  id: number;
  name: string;
  role: Role;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** What the verifier needs of a token found by its digest (times in epoch ms). */
export interface ApiTokenRecord {
  id: number;
  name: string;
  role: Role;
  expiresAtMs: number | null;
  revokedAtMs: number | null;
  lastUsedAtMs: number | null;
}

/** What an admin asks for. */
export interface NewApiToken {
  name: string;
  role: Role;
  /** Lifetime from now; absent means until revoked. */
  ttlSeconds?: number | undefined;
}

/** Whether a token can be used at `nowMs`. */
export type ApiTokenState = 'active' | 'expired' | 'revoked';

interface Row {
  id: number;
  name: string;
  role: Role;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const toInfo = (r: Row): ApiTokenInfo => ({
  id: r.id,
  name: r.name,
  role: r.role,
  createdAt: new Date(r.created_at).toISOString(),
  expiresAt: iso(r.expires_at),
  revokedAt: iso(r.revoked_at),
  lastUsedAt: iso(r.last_used_at),
});

const COLUMNS = 'id, name, role, created_at, expires_at, revoked_at, last_used_at';

/** A new token secret: `rb_` + 24 random bytes in base64url, the same shape as data/admin.token. */
export function generateTokenSecret(): string {
  return `rb_${randomBytes(24).toString('base64url')}`;
}

/** The SHA-256 digest under which a secret is stored and looked up (the secret itself never is). */
export function hashTokenSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Whether a token (as stored or as shown) is usable, expired or revoked at `nowMs`; revoked wins. */
export function apiTokenState(t: { revokedAtMs: number | null; expiresAtMs: number | null }, nowMs: number): ApiTokenState {
  if (t.revokedAtMs !== null) return 'revoked';
  if (t.expiresAtMs !== null && nowMs >= t.expiresAtMs) return 'expired';
  return 'active';
}

/**
 * Scoped API tokens. The secret is returned once by `create` and only its SHA-256 digest is kept;
 * a presented bearer is found by the digest through the unique index. That lookup needs no
 * constant-time comparison: its timing can only tell about the digest, and a digest cannot be
 * steered towards a 192-bit random secret's.
 */
export class ApiTokenRepo {
  private readonly byHash;
  private readonly touchStmt;

  constructor(private readonly db: Db) {
    this.byHash = db.prepare(`SELECT ${COLUMNS} FROM api_tokens WHERE hash = ?`);
    this.touchStmt = db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)');
  }

  /** Creates a token; the secret in the answer is the only copy that will ever exist. */
  create(t: NewApiToken, nowMs: number = Date.now()): { token: ApiTokenInfo; secret: string } {
    const secret = generateTokenSecret();
    const expires = t.ttlSeconds === undefined ? null : nowMs + t.ttlSeconds * 1000;
    try {
      const id = this.db
        .prepare('INSERT INTO api_tokens (name, role, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id')
        .pluck()
        .get(t.name, t.role, hashTokenSecret(secret), nowMs, expires) as number;
      return { token: this.get(id), secret };
    } catch (e) {
      if (isUniqueViolation(e, { columns: 'api_tokens.name', constraint: 'api_tokens_name_key' })) {
        throw new AppError('CONFLICT', `token name ${JSON.stringify(t.name)} is taken (names of revoked tokens stay taken)`, {
          cause: e,
        });
      }
      throw e;
    }
  }

  /** Every token, oldest first, revoked and expired ones included. */
  list(): ApiTokenInfo[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM api_tokens ORDER BY id`).all() as Row[]).map(toInfo);
  }

  /** A token by id (a decimal number) or by name, or undefined. */
  find(ref: string | number): ApiTokenInfo | undefined {
    const byId = typeof ref === 'number' || /^[0-9]+$/.test(ref);
    if (byId && !isRowId(Number(ref))) return undefined;
    const r = (
      byId
        ? this.db.prepare(`SELECT ${COLUMNS} FROM api_tokens WHERE id = ?`).get(Number(ref))
        : this.db.prepare(`SELECT ${COLUMNS} FROM api_tokens WHERE name = ?`).get(ref)
    ) as Row | undefined;
    return r ? toInfo(r) : undefined;
  }

  /** A token by id or name; NOT_FOUND otherwise. */
  get(ref: string | number): ApiTokenInfo {
    const t = this.find(ref);
    if (!t) throw new AppError('NOT_FOUND', `no API token ${JSON.stringify(String(ref))}`);
    return t;
  }

  /** Revokes a token by id or name; `revoked` is false when it already was (its first revocation time stays). */
  revoke(ref: string | number, nowMs: number = Date.now()): { token: ApiTokenInfo; revoked: boolean } {
    const t = this.get(ref);
    const r = this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(nowMs, t.id);
    return { token: this.get(t.id), revoked: r.changes > 0 };
  }

  /** The token stored under this digest, whatever its state (the caller decides on use). */
  findByHash(hash: Buffer): ApiTokenRecord | undefined {
    const r = this.byHash.get(hash) as Row | undefined;
    if (!r) return undefined;
    return { id: r.id, name: r.name, role: r.role, expiresAtMs: r.expires_at, revokedAtMs: r.revoked_at, lastUsedAtMs: r.last_used_at };
  }

  /** Records a use at `nowMs` unless one at or after `notBeforeMs` is already stored. */
  touch(id: number, nowMs: number, notBeforeMs: number = nowMs): void {
    this.touchStmt.run(nowMs, id, notBeforeMs);
  }
}
