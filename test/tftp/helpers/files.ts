import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The edge-case sizes every client must fetch byte-identically. */
export const EDGE_FILES: Record<string, number> = {
  'empty.bin': 0,
  'b511.bin': 511,
  'b512.bin': 512,
  'b513.bin': 513,
  'b1432.bin': 1432,
  // 81,920 blocks at blksize 512: the block number rolls over 65535 → 0.
  'big40m.bin': 40 * 1024 * 1024,
};

/** Writes random files of the given sizes into a fresh directory; returns it and the sha256s. */
export function writeRandomFiles(files: Record<string, number>, prefix = 'rb-tftp-files-'): { dir: string; sha: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const sha: Record<string, string> = {};
  for (const [name, size] of Object.entries(files)) {
    const content = randomBytes(size);
    writeFileSync(join(dir, name), content);
    sha[name] = sha256(content);
  }
  return { dir, sha };
}

/** Hex sha256 of a buffer. */
export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Hex sha256 of a file (undefined when missing). */
export function sha256File(path: string): string | undefined {
  try {
    return sha256(readFileSync(path));
  } catch {
    return undefined;
  }
}
