import { createServer } from 'node:http';
import { existsSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetRegistry } from '../../src/assets/registry.js';
import { assetImportSettingsSchema } from '../../src/assets/settings.js';
import { AssetImporter } from '../../src/assets/store.js';
import { fakeAssetsDir, sha256 } from './fixture.js';

const fx = fakeAssetsDir();
const blob = Buffer.from('an external kernel, say from a Flatcar mirror\n'.repeat(1000));
const blobPath = join(fx.dataDir, '..', 'external.bin');
writeFileSync(blobPath, blob);
// The fixture root holds the build and data dirs and the external file; imports may read it (not data/).
const importer = new AssetImporter(assetImportSettingsSchema.parse({ importDirs: [join(fx.dataDir, '..')], allowHosts: ['127.0.0.1'] }), [fx.dataDir]);
const server = createServer((req, res) => {
  if (req.url === '/mirror/kernel') res.end(blob);
  else res.writeHead(404).end();
});
let mirror = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('AssetRegistry', () => {
  it('loads the manifest and finds artifacts by name and digest', () => {
    const reg = new AssetRegistry(fx.dir, fx.dataDir);
    const k = fx.assets['testos-vmlinuz']!;
    expect(reg.byName('testos-vmlinuz')?.sha256).toBe(k.sha256);
    expect(reg.byDigest(k.sha256)?.name).toBe('testos-vmlinuz');
    expect(reg.resolve(`sha256:${k.sha256}`).path).toBe(join(fx.dir, 'testos-vmlinuz'));
    expect(() => reg.resolve('nope', 'spec.kernel')).toThrow(/spec.kernel: no verified artifact/);
    expect(reg.digestKnown(`sha256:${'0'.repeat(64)}`)).toBe(false);
  });

  it('registers a local file only when its digest matches, and keeps it across restarts', async () => {
    const reg = new AssetRegistry(fx.dir, fx.dataDir);
    await expect(reg.register({ name: 'bad', kind: 'kernel', sha256: '1'.repeat(64), source: { path: blobPath } }, importer)).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
    expect(readdirSync(join(fx.dataDir, 'assets', 'sha256'))).toEqual([]);
    const a = await reg.register({ name: 'flatcar-vmlinuz', kind: 'kernel', sha256: sha256(blob), source: { path: blobPath } }, importer);
    expect(a).toMatchObject({ size: blob.length, origin: 'registered' });
    expect(existsSync(a.path)).toBe(true);
    const again = new AssetRegistry(fx.dir, fx.dataDir);
    expect(again.resolve('flatcar-vmlinuz').sha256).toBe(sha256(blob));
    await expect(again.register({ name: 'flatcar-vmlinuz', kind: 'kernel', sha256: fx.assets['ipxe.efi']!.sha256, source: { path: blobPath } }, importer)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('registers from a mirror URL; a 404 is BAD_INPUT, a file outside the import dirs FORBIDDEN', async () => {
    const reg = new AssetRegistry(fx.dir, fx.dataDir);
    const a = await reg.register({ name: 'mirror-kernel', kind: 'kernel', sha256: sha256(blob), source: { url: `${mirror}/mirror/kernel` } }, importer);
    expect(a.size).toBe(blob.length);
    await expect(reg.register({ name: 'x', kind: 'kernel', sha256: sha256(blob), source: { url: `${mirror}/missing` } }, importer)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(reg.register({ name: 'y', kind: 'kernel', sha256: sha256(blob), source: { path: '/nonexistent/file' } }, importer)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('with manifestCheckMs, a rewritten manifest is seen at the first lookup after the interval, not before', () => {
    const own = fakeAssetsDir();
    let now = 1_000;
    const reg = new AssetRegistry(own.dir, own.dataDir, { manifestCheckMs: 1000, now: () => now });
    const rev0 = reg.revision();
    expect(reg.byName('testos-vmlinuz')).toBeDefined();
    const file = join(own.dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { artifacts: Array<{ name: string }> };
    writeFileSync(file, JSON.stringify({ ...manifest, artifacts: manifest.artifacts.filter((a) => a.name !== 'testos-vmlinuz') }));
    utimesSync(file, new Date(), new Date(Date.now() + 5000)); // an mtime surely unlike the first one
    // [clock, still there, revision moved]
    const steps: Array<[number, boolean, boolean]> = [
      [1_500, true, false], // within the interval: the remembered list
      [1_999, true, false],
      [2_000, false, true], // interval over: the new manifest
      [2_100, false, true],
    ];
    for (const [at, there, moved] of steps) {
      now = at;
      expect([at, reg.byName('testos-vmlinuz') !== undefined, reg.revision() !== rev0]).toEqual([at, there, moved]);
    }
  });

  it('a clock that went back checks the manifest again; without manifestCheckMs every lookup checks it', () => {
    const own = fakeAssetsDir();
    let now = 10_000;
    const reg = new AssetRegistry(own.dir, own.dataDir, { manifestCheckMs: 1000, now: () => now });
    const every = new AssetRegistry(own.dir, own.dataDir);
    const file = join(own.dir, 'manifest.json');
    writeFileSync(file, JSON.stringify({ version: 1, artifacts: [] }));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(every.byName('testos-vmlinuz')).toBeUndefined();
    expect(reg.byName('testos-vmlinuz')).toBeDefined();
    now = 9_000;
    expect(reg.byName('testos-vmlinuz')).toBeUndefined();
  });
});
