import { createHash, randomBytes } from 'node:crypto';

const SECRET_BYTES = 32;
/** Random bytes fetched at once for this many secrets (one CSPRNG call instead of one per token). */
const POOL_SECRETS = 128;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * A fresh bearer secret for a boot: 32 random bytes, URL-safe (it travels in a URL path). The
 * bytes come from crypto.randomBytes in blocks of POOL_SECRETS secrets, each byte used once
 * (a boot storm mints two secrets per script).
 */
export function newTokenSecret(): string {
  if (used + SECRET_BYTES > pool.length) {
    pool = randomBytes(SECRET_BYTES * POOL_SECRETS);
    used = 0;
  }
  const secret = pool.toString('base64url', used, used + SECRET_BYTES);
  pool.fill(0, used, used + SECRET_BYTES); // no copy of a handed-out secret stays in the pool
  used += SECRET_BYTES;
  return secret;
}

/** What the database keeps instead of the token: its SHA-256 (hex). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Tokens are 43 base64url characters; anything else is rejected before a lookup. */
export function looksLikeToken(s: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(s);
}

/** SHA-256 of bytes as lower-case hex. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
