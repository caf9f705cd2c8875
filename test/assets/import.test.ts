import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AssetRegistry } from '../../src/assets/registry.js';
import { assetImportSettingsSchema } from '../../src/assets/settings.js';
import { AssetImporter, type AssetImporterDeps } from '../../src/assets/store.js';
import { fakeAssetsDir, sha256 } from './fixture.js';

const fx = fakeAssetsDir();
const root = mkdtempSync(join(tmpdir(), 'rb-import-'));
const importDir = join(root, 'import');
const outside = join(root, 'outside');
mkdirSync(importDir);
mkdirSync(outside);
const blob = Buffer.from('a Flatcar kernel from the rack mirror\n'.repeat(500));
writeFileSync(join(importDir, 'kernel'), blob);
writeFileSync(join(outside, 'secret.key'), 'root secret');
writeFileSync(join(fx.dataDir, 'secret.key'), 'rackboot own key');
symlinkSync(join(outside, 'secret.key'), join(importDir, 'link-out'));
symlinkSync(outside, join(importDir, 'dir-out'));
symlinkSync('/etc/passwd', join(importDir, 'passwd'));
symlinkSync(join(importDir, 'kernel'), join(importDir, 'link-in'));
mkdirSync(join(importDir, 'subdir'));
execFileSync('mkfifo', [join(importDir, 'fifo')]);

const settings = (o: Record<string, unknown> = {}) => assetImportSettingsSchema.parse({ importDirs: [importDir], ...o });
const importer = (o: Record<string, unknown> = {}, deps: AssetImporterDeps = {}) => new AssetImporter(settings(o), [fx.dataDir], deps);
const registry = () => new AssetRegistry(fx.dir, fx.dataDir);
const blobFiles = () => {
  try {
    return readdirSync(join(fx.dataDir, 'assets', 'sha256'));
  } catch {
    return [];
  }
};
let seq = 0;
const reg = (source: { path: string } | { url: string }, digest = sha256(blob), name = `a${++seq}`) => ({ name, kind: 'kernel' as const, sha256: digest, source });

describe('local import', () => {
  const refusedMessage = (p: string) => `${JSON.stringify(p)} is not a readable regular file inside assets.importDirs`;

  it('is off until assets.importDirs lists directories', async () => {
    const off = new AssetImporter(assetImportSettingsSchema.parse({}), [fx.dataDir]);
    await expect(registry().register(reg({ path: join(importDir, 'kernel') }), off)).rejects.toMatchObject({ code: 'FORBIDDEN', message: /local import is off/ });
  });

  it('accepts a regular file inside an import dir, also through a symlink that stays inside', async () => {
    const a = await registry().register(reg({ path: join(importDir, 'kernel') }), importer());
    expect(a).toMatchObject({ size: blob.length, sha256: sha256(blob) });
    const b = await registry().register(reg({ path: join(importDir, 'link-in') }), importer());
    expect(b.sha256).toBe(sha256(blob));
  });

  it.each([
    ['/etc/passwd', '/etc/passwd'],
    ['a file that does not exist outside', '/etc/no-such-file-here'],
    ['a symlink out of the import dir', join(importDir, 'link-out')],
    ['a symlink to /etc/passwd', join(importDir, 'passwd')],
    ['a path through a symlinked directory', join(importDir, 'dir-out', 'secret.key')],
    ['.. out of the import dir', `${importDir}/../outside/secret.key`],
    ['.. that stays inside', `${importDir}/subdir/../kernel`],
    ['a directory', join(importDir, 'subdir')],
    ['the import dir itself', importDir],
    ['a FIFO (must not hang)', join(importDir, 'fifo')],
    ['a missing file inside', join(importDir, 'missing')],
    ["rackboot's own key", join(fx.dataDir, 'secret.key')],
  ])('refuses %s with one FORBIDDEN message', async (_what, path) => {
    const e = await registry()
      .register(reg({ path }), importer())
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'FORBIDDEN', message: refusedMessage(path) });
    expect(blobFiles().filter((f) => f.startsWith('.incoming'))).toEqual([]);
  });

  it("refuses rackboot's data dir even when an import dir contains it", async () => {
    const wide = new AssetImporter(assetImportSettingsSchema.parse({ importDirs: [join(fx.dataDir, '..')] }), [fx.dataDir]);
    const path = join(fx.dataDir, 'secret.key');
    await expect(registry().register(reg({ path }), wide)).rejects.toMatchObject({ code: 'FORBIDDEN', message: refusedMessage(path) });
  });

  it('a digest mismatch says "sha256 mismatch", never the real digest, and stores nothing', async () => {
    const before = blobFiles();
    const e = (await registry()
      .register(reg({ path: join(importDir, 'kernel') }, 'e'.repeat(64)), importer())
      .catch((x: unknown) => x)) as Error & { code: string; details: unknown };
    expect(e).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('sha256 mismatch') });
    expect(JSON.stringify({ m: e.message, d: e.details })).not.toContain(sha256(blob));
    expect(blobFiles()).toEqual(before);
  });

  it('enforces assets.maxImportBytes', async () => {
    const e = await registry()
      .register(reg({ path: join(importDir, 'kernel') }), importer({ maxImportBytes: blob.length - 1 }))
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'BAD_INPUT', message: /maxImportBytes/ });
  });
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end(blob);
const hits: string[] = [];
const server: Server = createServer((req, res) => {
  hits.push(req.url ?? '');
  handler(req, res);
});
let port = 0;
let base = '';
const connects: unknown[] = [];
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => {
  handler = (_req, res) => res.end(blob);
  hits.length = 0;
  connects.length = 0;
  vi.restoreAllMocks();
});
/** Records every outgoing TCP connect so a test can prove a refused address was never dialled. */
const spyConnects = () => {
  const real = net.Socket.prototype.connect;
  vi.spyOn(net.Socket.prototype, 'connect').mockImplementation(function (this: net.Socket, ...args: unknown[]) {
    connects.push(args[0]);
    return (real as (...a: unknown[]) => net.Socket).apply(this, args);
  });
};
const dialled = () => JSON.stringify(connects);

describe('URL import', () => {
  const allowed = { allowHosts: ['127.0.0.1'] };

  it('refuses http://127.0.0.1:PORT/ unless allowHosts lists it', async () => {
    spyConnects();
    await expect(registry().register(reg({ url: `${base}/k` }), importer())).rejects.toMatchObject({ code: 'FORBIDDEN', message: /loopback/ });
    expect(hits).toEqual([]);
    expect(connects).toEqual([]);
    const a = await registry().register(reg({ url: `${base}/k` }), importer(allowed));
    expect(a.size).toBe(blob.length);
  });

  it.each(['http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/', 'http://100.100.100.200/', 'http://0.0.0.0:1/', 'http://[::ffff:169.254.169.254]/'])(
    'refuses %s before connecting',
    async (url) => {
      spyConnects();
      await expect(registry().register(reg({ url }), importer(allowed))).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(connects).toEqual([]);
    },
  );

  it('refuses a redirect from an allowed server to 169.254.169.254 without connecting there', async () => {
    handler = (_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/' }).end();
    spyConnects();
    const e = await registry()
      .register(reg({ url: `${base}/k` }), importer(allowed))
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'FORBIDDEN', message: /169\.254\.169\.254 is a cloud metadata address/ });
    expect(hits).toEqual(['/k']);
    expect(dialled()).not.toContain('169.254');
  });

  it('refuses redirects to loopback names, other schemes and chains longer than maxRedirects', async () => {
    // mirror.lab is allowed by name; the name it redirects to resolves to loopback too but is not.
    const resolve = vi.fn(async (_h: string) => [{ address: '127.0.0.1', family: 4 }]);
    handler = (_req, res) => res.writeHead(301, { location: `http://localhost.test:${port}/x` }).end();
    await expect(registry().register(reg({ url: `http://mirror.lab:${port}/k` }), importer({ allowHosts: ['mirror.lab'] }, { resolve }))).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: /localhost\.test.*127\.0\.0\.1 is a loopback address/,
    });
    expect(hits).toEqual(['/k']);
    hits.length = 0;
    expect(resolve).toHaveBeenCalledWith('localhost.test');
    handler = (_req, res) => res.writeHead(307, { location: 'file:///etc/passwd' }).end();
    await expect(registry().register(reg({ url: `${base}/k` }), importer(allowed))).rejects.toMatchObject({ code: 'FORBIDDEN', message: /scheme file:/ });
    hits.length = 0;
    handler = (req, res) => res.writeHead(302, { location: `${req.url}x` }).end();
    await expect(registry().register(reg({ url: `${base}/k` }), importer({ ...allowed, maxRedirects: 2 }))).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: /more than 2 redirects/,
    });
    expect(hits).toEqual(['/k', '/kx', '/kxx']);
  });

  it('follows a redirect to an allowed target', async () => {
    handler = (req, res) => (req.url === '/k' ? res.writeHead(302, { location: '/mirror/k' }).end() : res.end(blob));
    const a = await registry().register(reg({ url: `${base}/k` }), importer(allowed));
    expect(a.size).toBe(blob.length);
    expect(hits).toEqual(['/k', '/mirror/k']);
  });

  it('resolves a name once and connects to the checked address (no DNS rebinding)', async () => {
    let calls = 0;
    const resolve = async () => (++calls === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '169.254.169.254', family: 4 }]);
    spyConnects();
    let host = '';
    handler = (req, res) => {
      host = req.headers.host ?? '';
      res.end(blob);
    };
    const a = await registry().register(reg({ url: `http://mirror.lab:${port}/k` }), importer({ allowHosts: ['mirror.lab'] }, { resolve }));
    expect(a.size).toBe(blob.length);
    expect(calls).toBe(1);
    expect(host).toBe(`mirror.lab:${port}`);
    expect(dialled()).not.toContain('169.254');
  });

  it('refuses a name when any of its addresses is refused', async () => {
    const resolve = async () => [
      { address: '10.0.0.5', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];
    await expect(registry().register(reg({ url: 'http://mirror.lab/k' }), importer({}, { resolve }))).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('enforces the size cap from Content-Length and while streaming; nothing is left behind', async () => {
    await expect(registry().register(reg({ url: `${base}/k` }), importer({ ...allowed, maxImportBytes: 1000 }))).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: /maxImportBytes/,
    });
    handler = (_req, res) => {
      res.writeHead(200); // chunked: no length up front
      for (let i = 0; i < 10; i++) res.write(blob);
      res.end();
    };
    const before = blobFiles();
    await expect(registry().register(reg({ url: `${base}/k` }), importer({ ...allowed, maxImportBytes: blob.length * 3 }))).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: /maxImportBytes/,
    });
    expect(blobFiles()).toEqual(before);
  });

  it('times out a mirror that does not answer, and one that stalls mid-body', async () => {
    const armed: Array<{ ms: number; fire: () => void; live: boolean }> = [];
    const setTimer = (ms: number, fire: () => void) => {
      const t = { ms, fire, live: true };
      armed.push(t);
      return () => {
        t.live = false;
      };
    };
    let got!: () => void;
    let request = new Promise<void>((r) => (got = r));
    handler = () => got(); // never answers
    const p = registry().register(reg({ url: `${base}/k` }), importer({ ...allowed, fetchTimeoutMs: 5000 }, { setTimer }));
    await request;
    armed.filter((t) => t.live).forEach((t) => t.fire());
    await expect(p).rejects.toMatchObject({ code: 'BAD_INPUT', message: /timed out after 5000 ms/ });

    request = new Promise<void>((r) => (got = r));
    const armedBefore = armed.length;
    handler = (_req, res) => {
      res.writeHead(200);
      res.write(blob, () => got());
    };
    const before = blobFiles();
    const q = registry().register(reg({ url: `${base}/k` }), importer({ ...allowed, fetchTimeoutMs: 5000 }, { setTimer }));
    await request;
    // Timers of this download: the request's (cancelled by the response head), the body's first, and the one the first chunk re-armed.
    await vi.waitFor(() => expect(armed.length - armedBefore).toBe(3));
    armed.filter((t) => t.live).forEach((t) => t.fire());
    await expect(q).rejects.toMatchObject({ code: 'BAD_INPUT', message: /stalled for 5000 ms/ });
    expect(blobFiles()).toEqual(before);
    expect(armed.every((t) => !t.live || t.ms === 5000)).toBe(true);
  });

  it('a digest mismatch from a mirror does not echo the real digest', async () => {
    const e = (await registry()
      .register(reg({ url: `${base}/k` }, 'd'.repeat(64)), importer(allowed))
      .catch((x: unknown) => x)) as Error & { details: unknown };
    expect(e.message).toContain('sha256 mismatch');
    expect(JSON.stringify({ m: e.message, d: e.details })).not.toContain(sha256(blob));
  });
});
