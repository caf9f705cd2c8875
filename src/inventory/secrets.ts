import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { AppError } from '../errors.js';

/** AES-256-GCM sealing of secrets (BMC credentials, cluster secrets, config bodies) with a key file kept in the data dir (mode 0600). */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** Loads the key file, creating it (0600) on first use. */
  static fromKeyFile(path: string): SecretBox {
    if (!existsSync(path)) {
      writeFileSync(path, randomBytes(32), { mode: 0o600, flag: 'wx' });
    }
    chmodSync(path, 0o600);
    const key = readFileSync(path);
    if (key.length !== 32) throw new AppError('SETTINGS', `secret key file ${path} must hold 32 bytes, has ${key.length}`);
    return new SecretBox(key);
  }

  /** A box with a random in-memory key (tests). */
  static ephemeral(): SecretBox {
    return new SecretBox(randomBytes(32));
  }

  /** Seals a UTF-8 string: iv(12) | tag(16) | ciphertext. */
  seal(plain: string): Buffer {
    return this.sealBytes(Buffer.from(plain, 'utf8'));
  }

  /** Opens a string sealed by seal(). */
  open(sealed: Buffer): string {
    return this.openBytes(sealed).toString('utf8');
  }

  /** Seals bytes: iv(12) | tag(16) | ciphertext, exactly 28 bytes longer than the input. */
  sealBytes(plain: Buffer): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]);
  }

  /** Opens bytes sealed by sealBytes(); a wrong key or altered bytes is INTERNAL. */
  openBytes(sealed: Buffer): Buffer {
    if (sealed.length < 28) throw new AppError('INTERNAL', 'sealed secret too short');
    const d = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, 12));
    d.setAuthTag(sealed.subarray(12, 28));
    try {
      return Buffer.concat([d.update(sealed.subarray(28)), d.final()]);
    } catch (e) {
      throw new AppError('INTERNAL', 'cannot decrypt a sealed secret: wrong key file?', { cause: e });
    }
  }
}
