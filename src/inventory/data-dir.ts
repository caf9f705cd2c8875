import { resolve } from 'node:path';
import type { OpenDbOptions } from './db.js';
import type { PgDbOptions } from './pg/pg-db.js';
import type { StoreSettings } from './store-settings.js';
import { prepareDataDir } from './file-modes.js';
import { acquireDataDirLock } from './lock.js';
import { Store } from './store.js';

/** A data dir opened by this process: the store, and release() for the lock (after store.close()). */
export interface OpenDataDir {
  store: Store;
  release: () => void;
}

/**
 * Opens a data dir for `serve`: the dir is made 0700, then the data-dir lock (rackboot.pid)
 * is taken, and only then is the database opened, checked and migrated. A second rackboot on
 * the same dir fails with LOCKED before it reads or writes a byte of the database (it must not
 * migrate a schema the running one uses). If opening fails, the lock is released again. With
 * `store: { postgres }` the inventory is that database; the dir keeps secret.key and the lock.
 */
export function openDataDir(dataDir: string, opts: OpenDbOptions & { store?: StoreSettings; pg?: PgDbOptions } = {}): OpenDataDir {
  const dir = resolve(dataDir);
  prepareDataDir(dir);
  const release = acquireDataDirLock(dir);
  try {
    const pg = typeof opts.store === 'object' ? opts.store : undefined;
    const store = pg
      ? Store.openPostgres(pg.postgres, dir, { deadlineMs: pg.deadlineMs, connectTimeoutMs: pg.connectTimeoutMs, ...opts.pg })
      : Store.open(dir, opts);
    return { store, release };
  } catch (e) {
    release();
    throw e;
  }
}
