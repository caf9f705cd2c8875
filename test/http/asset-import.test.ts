import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fakeAssetsDir, sha256 } from '../assets/fixture.js';
import { testApp } from '../helpers/app.js';

// POST /api/v1/assets end to end (inject): what settings.assets lets an import read, and what
// a refusal or a digest mismatch tells the caller.
const fx = fakeAssetsDir();
const importDir = join(fx.dataDir, '..', 'import');
mkdirSync(importDir);
const bytes = Buffer.from('external initramfs\n'.repeat(100));
writeFileSync(join(importDir, 'ext.img'), bytes);
writeFileSync(join(fx.dataDir, 'secret.key'), 'k'.repeat(32));
symlinkSync(join(fx.dataDir, 'secret.key'), join(importDir, 'key-link'));

let redirectTo = '';
const server: Server = createServer((req, res) => {
  if (req.url === '/redirect') res.writeHead(302, { location: redirectTo }).end();
  else res.end(bytes);
});
let base = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

type T = Awaited<ReturnType<typeof testApp>>;
let t: T | undefined;
afterEach(async () => {
  await t?.app.close();
  t = undefined;
});
async function post(assets: Record<string, unknown>, body: Record<string, unknown>) {
  t = await testApp({ assetsDir: fx.dir, dataDir: fx.dataDir, assets });
  return t.app.inject({ method: 'POST', url: '/api/v1/assets', headers: t.auth, payload: { kind: 'initrd', sha256: sha256(bytes), ...body } });
}
const local = { importDirs: [importDir] };
const blobs = () => readdirSync(join(fx.dataDir, 'assets', 'sha256'));

describe('POST /api/v1/assets import policy', () => {
  it('local import is off by default (403)', async () => {
    const r = await post({}, { name: 'a', path: join(importDir, 'ext.img') });
    expect(r.statusCode).toBe(403);
    expect(r.body).toContain('assets.importDirs');
  });

  it('imports a file inside an import dir (201)', async () => {
    const r = await post(local, { name: 'ext.img', path: join(importDir, 'ext.img') });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ name: 'ext.img', size: bytes.length, sha256: sha256(bytes) });
  });

  it.each([
    ['/etc/passwd'],
    ['/etc/shadow'],
    ['/no/such/file'],
    [`${importDir}/../data/secret.key`],
    [join(importDir, 'key-link')],
    [join(fx.dataDir, 'secret.key')],
  ])('refuses %s with 403 and the same message whether or not it exists', async (path) => {
    const r = await post(local, { name: 'x', path });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.message).toBe(`${JSON.stringify(path)} is not a readable regular file inside assets.importDirs`);
  });

  it('a digest mismatch is 422 "sha256 mismatch" and the body never holds the real digest', async () => {
    const secret = join(importDir, 'copy-of-secret');
    writeFileSync(secret, 'a secret someone hoped to learn the digest of');
    const before = blobs();
    const r = await post(local, { name: 'y', path: secret, sha256: '0'.repeat(64) });
    expect(r.statusCode).toBe(422);
    expect(r.body).toContain('sha256 mismatch');
    expect(r.body).not.toContain(sha256('a secret someone hoped to learn the digest of'));
    expect(blobs()).toEqual(before);
  });

  it('refuses http://127.0.0.1:PORT/ (403) unless assets.allowHosts lists it', async () => {
    const r = await post({}, { name: 'u1', url: `${base}/k` });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.message).toMatch(/loopback/);
    const ok = await post({ allowHosts: ['127.0.0.1'] }, { name: 'u1', url: `${base}/k` });
    expect(ok.statusCode).toBe(201);
  });

  it('refuses a redirect from an allowed mirror to 169.254.169.254 (403)', async () => {
    redirectTo = 'http://169.254.169.254/latest/meta-data/';
    const r = await post({ allowHosts: ['127.0.0.1'] }, { name: 'u2', url: `${base}/redirect` });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.message).toMatch(/cloud metadata address/);
  });

  it('enforces assets.maxImportBytes (400)', async () => {
    const r = await post({ allowHosts: ['127.0.0.1'], maxImportBytes: 100 }, { name: 'u3', url: `${base}/k` });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toMatch(/maxImportBytes/);
  });
});
