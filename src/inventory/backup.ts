import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../errors.js';
import { PRIVATE_FILE_MODE, chmodIfExists, dbFiles } from './file-modes.js';

/** What backupDatabase wrote. */
export interface BackupResult {
  path: string;
  bytes: number;
  /** Schema version (user_version) of the copy. */
  schema: number;
}

/**
 * Writes an online copy of the inventory database to `dest` (mode 0600), also while `serve`
 * runs: a read-only connection (WAL lets it read beside the writer) and SQLite's backup API
 * with all pages in one step, i.e. one read transaction, so the copy is one consistent
 * snapshot. The copy is a single file in rollback-journal mode, checked with quick_check,
 * fsynced, and renamed into place, so `dest` is either the old file or a complete copy.
 */
export async function backupDatabase(dbPath: string, dest: string): Promise<BackupResult> {
  const source = resolve(dbPath);
  const target = resolve(dest);
  if (!existsSync(source)) throw new AppError('NOT_FOUND', `no inventory database at ${source} (is the data dir right? --config or RACKBOOT_DATADIR)`);
  if (dbFiles(source).includes(target)) throw new AppError('BAD_INPUT', `the backup cannot overwrite the database itself (${target})`);
  const tmp = `${target}.tmp-${process.pid}`;
  closeSync(openSync(tmp, 'w', PRIVATE_FILE_MODE));
  chmodIfExists(tmp, PRIVATE_FILE_MODE);
  try {
    const src = new Database(source, { readonly: true, fileMustExist: true });
    try {
      src.pragma('busy_timeout = 5000');
      // The first step only starts the backup; the second copies every page at once.
      await src.backup(tmp, { progress: () => 0x7fffffff });
    } finally {
      src.close();
    }
    const schema = finishCopy(tmp);
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
    return { path: target, bytes: statSync(target).size, schema };
  } catch (e) {
    for (const f of [...dbFiles(tmp), `${tmp}-journal`]) rmSync(f, { force: true });
    throw e instanceof AppError ? e : new AppError('INTERNAL', `backup of ${source} to ${target} failed: ${(e as Error).message}`, { cause: e });
  }
}

/** Turns the copy into one self-contained file (the source's WAL flag came along) and checks it. */
function finishCopy(path: string): number {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    const problems = (db.pragma('quick_check') as Array<{ quick_check: string }>).map((r) => r.quick_check).filter((r) => r !== 'ok');
    if (problems.length > 0) throw new AppError('DATABASE', `the backup copy failed quick_check: ${problems.slice(0, 3).join('; ')}`);
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}
