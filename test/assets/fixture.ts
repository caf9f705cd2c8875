import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One artifact written by fakeAssetsDir. */
export interface FakeAsset {
  name: string;
  kind: string;
  bytes: Buffer;
  sha256: string;
}

/** SHA-256 hex of bytes. */
export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/**
 * A temp boot-assets build dir with a manifest: small stand-ins for the test OS kernel/initrds
 * and a loader, plus a 3 MiB blob for Range tests (route tests need no real build).
 */
export function fakeAssetsDir(): { dir: string; dataDir: string; assets: Record<string, FakeAsset> } {
  const root = mkdtempSync(join(tmpdir(), 'rb-assets-'));
  const dir = join(root, 'build');
  const dataDir = join(root, 'data');
  mkdirSync(dir);
  mkdirSync(dataDir);
  const specs: Array<[string, string, Buffer]> = [
    ['testos-vmlinuz', 'kernel', randomBytes(4096)],
    ['testos-initrd.img', 'initrd', randomBytes(2048)],
    ['testos-ignition.img', 'initrd', randomBytes(1024)],
    ['ipxe.efi', 'loader', randomBytes(512)],
    ['big.raw', 'disk', randomBytes(3 * 1024 * 1024)],
  ];
  const assets: Record<string, FakeAsset> = {};
  for (const [name, kind, bytes] of specs) {
    writeFileSync(join(dir, name), bytes);
    assets[name] = { name, kind, bytes, sha256: sha256(bytes) };
  }
  const manifest = {
    version: 1,
    artifacts: Object.values(assets).map((a) => ({ name: a.name, sha256: a.sha256, size: a.bytes.length, kind: a.kind })),
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return { dir, dataDir, assets };
}
