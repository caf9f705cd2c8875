import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.js';

/** Holds data/rackboot.pid so a second `serve` on the same data dir refuses to start. */
export function acquireDataDirLock(dataDir: string): () => void {
  const path = join(dataDir, 'rackboot.pid');
  if (heldHere.has(path)) throw new AppError('LOCKED', `this process is already serving data dir ${dataDir}`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      heldHere.add(path);
      return () => {
        heldHere.delete(path);
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new AppError('LOCKED', `another rackboot (pid ${pid}) is already serving data dir ${dataDir}`);
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new AppError('LOCKED', `cannot take the lock ${path}`);
}

/** Lock files this process holds (a pid match alone cannot tell a stale file from our own). */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
