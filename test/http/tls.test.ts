import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { apiSettingsSchema } from '../../src/http/api-settings.js';
import { ensureTls } from '../../src/http/tls.js';

const api = (o: Record<string, unknown> = {}) => apiSettingsSchema.parse(o);

describe('the API listener TLS material', () => {
  it('generates a local CA and a server certificate it signs, keys 0600, and keeps the CA when a name is added', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-tls-'));
    const first = ensureTls(dir, api());
    const ca = new X509Certificate(readFileSync(join(dir, 'tls/ca.crt')));
    const leaf = new X509Certificate(readFileSync(join(dir, 'tls/server.crt')));
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(statSync(join(dir, 'tls/ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'tls/server.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'tls')).mode & 0o777).toBe(0o700);
    expect(first.caFile).toBe(join(dir, 'tls/ca.crt'));
    // Same names: nothing reissued. A new name: a new leaf from the same CA.
    ensureTls(dir, api());
    expect(new X509Certificate(readFileSync(join(dir, 'tls/server.crt'))).serialNumber).toBe(leaf.serialNumber);
    ensureTls(dir, api({ tls: { names: ['198.19.0.7', 'rack1.example'] } }));
    const next = new X509Certificate(readFileSync(join(dir, 'tls/server.crt')));
    expect(next.serialNumber).not.toBe(leaf.serialNumber);
    expect(next.checkIP('198.19.0.7')).toBe('198.19.0.7');
    expect(next.checkHost('rack1.example')).toBe('rack1.example');
    expect(next.verify(new X509Certificate(readFileSync(join(dir, 'tls/ca.crt'))).publicKey)).toBe(true);
  });

  it('operator files go together: one without the other is a SETTINGS error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-tls-'));
    let err: unknown;
    try {
      ensureTls(dir, api({ tls: { certFile: '/nonexistent.crt' } }));
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, 'SETTINGS')).toBe(true);
  });

  it('rejects unknown TLS settings', () => {
    expect(apiSettingsSchema.safeParse({ tls: { insecure: true } }).success).toBe(false);
    expect(apiSettingsSchema.safeParse({ port: 70000 }).success).toBe(false);
  });
});
