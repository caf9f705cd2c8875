import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

/** Owner-only mode of every file holding inventory rows, keys or tokens. */
export const PRIVATE_FILE_MODE = 0o600;

/** Mode of the data dir: only rackboot's user may list or enter it. */
export const DATA_DIR_MODE = 0o700;

/** Files in the data dir besides the database that hold secrets. */
const SECRET_FILES = ['secret.key', 'admin.token'];

/**
 * Creates the data dir if needed and makes it 0700, and its key and token files 0600,
 * whoever created them and whatever the umask (an operator's `mkdir data` is 0755).
 */
export function prepareDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
  chmodSync(dir, DATA_DIR_MODE);
  for (const f of SECRET_FILES) chmodIfExists(join(dir, f), PRIVATE_FILE_MODE);
}

/** The database file and the WAL-mode files beside it. */
export function dbFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/**
 * Creates the database file 0600 if missing and sets 0600 on the file, -wal and -shm that
 * exist. SQLite creates -wal and -shm with the mode of the database file (unix VFS
 * robust_open), so a 0600 database keeps them 0600 whatever the umask. chmod, not the
 * open mode, makes the mode exact: the umask only ever clears bits of the open mode.
 */
export function restrictDbFiles(path: string): void {
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  for (const f of dbFiles(path)) chmodIfExists(f, PRIVATE_FILE_MODE);
}

/** chmod that ignores a missing file. */
export function chmodIfExists(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

