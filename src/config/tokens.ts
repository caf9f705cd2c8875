import { hash, randomBytes } from 'node:crypto';
import type { TokenKey } from '../inventory/configs.js';

const SECRET_BYTES = 32;

/** A fresh bearer secret for a boot: 32 random bytes, URL-safe (it travels in a URL path). */
export function newTokenSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/**
 * newTokenSecret's bytes fetched from crypto.randomBytes in blocks of `secrets` secrets, each
 * byte handed out once and then zeroed (a boot storm mints two secrets per script: one CSPRNG
 * call per block instead of one per token). BootService owns one.
 */
export class TokenSecretPool {
  private pool = Buffer.alloc(0);
  private used = 0;

  constructor(private readonly secrets = 128) {}

  /** A fresh secret, as newTokenSecret makes one. */
  next(): string {
    if (this.used + SECRET_BYTES > this.pool.length) {
      this.pool = randomBytes(SECRET_BYTES * this.secrets);
      this.used = 0;
    }
    const secret = this.pool.toString('base64url', this.used, this.used + SECRET_BYTES);
    this.pool.fill(0, this.used, this.used + SECRET_BYTES);
    this.used += SECRET_BYTES;
    return secret;
  }
}

/** SHA-256 (hex) of a whole token: how tokens from before migration 016 were stored, and inspection tokens are. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/** Secrets are 43 base64url characters (32 bytes). */
export function looksLikeToken(s: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(s);
}

/**
 * A config token: `<id>_<secret>`. The id (decimal, no leading zero) keys its row; only the hash
 * of the secret is stored. `_` keeps the token inside the base64url alphabet, which every path
 * that carries one accepts (URL paths, kernel arguments, GRUB's failure beacons); the id has no
 * `_`, so the first one splits it.
 */
export function formatToken(id: number, secret: string): string {
  return `${id}_${secret}`;
}

/** What the row keeps of a token's secret: its SHA-256 (32 bytes; the one-shot hash, a boot makes two). */
export function hashSecret(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

const ID_TOKEN = /^([1-9][0-9]{0,14})_([A-Za-z0-9_-]{43})$/;

/**
 * How to look `token` up (pure but for the hash): `<id>_<secret>` by id and the secret's hash; a
 * bare 43-character token from before migration 016 by its whole hash; undefined for anything
 * else (never looked up: malformed, overlong, an id beyond 15 digits).
 */
export function tokenKey(token: string): TokenKey | undefined {
  if (token.length > 60) return undefined;
  const m = ID_TOKEN.exec(token);
  if (m) return { id: Number(m[1]), secretHash: hashSecret(m[2]!) };
  return looksLikeToken(token) ? { legacyHash: hashToken(token) } : undefined;
}

/** SHA-256 of bytes as lower-case hex. */
export function sha256Hex(data: string | Buffer): string {
  return hash('sha256', data, 'hex');
}
