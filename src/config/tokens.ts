import { createHash, randomBytes } from 'node:crypto';

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
