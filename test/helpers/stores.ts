import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { type TestPostgres, startPostgres } from './postgres.js';

/** The two stores the repository suite runs on (issue #20). */
export type StoreDialect = 'sqlite' | 'postgres';

/**
 * The dialects a repository test runs on: both, or those listed in RB_TEST_DIALECTS (e.g.
 * `sqlite` for a quick local run; CI runs both).
 */
export const DIALECTS: StoreDialect[] = (process.env.RB_TEST_DIALECTS ?? 'sqlite,postgres')
  .split(',')
  .map((d) => d.trim())
  .filter((d): d is StoreDialect => d === 'sqlite' || d === 'postgres');

/** Where a test store lives. */
interface Place {
  dialect: StoreDialect;
  /** The data dir: secret.key, and for SQLite inventory.db. */
  dir: string;
  /** The database URL (PostgreSQL). */
  url?: string;
}

/** Fresh stores for a test file; see useStores. */
export interface TestStores {
  /** A new empty store: SQLite in a fresh data dir, or a fresh PostgreSQL database (with its own data dir for secret.key). */
  fresh(dialect: StoreDialect): Promise<Store>;
  /** A second Store on the same database (another connection; the first stays open). */
  another(store: Store): Promise<Store>;
  /** Closes `store` (writing what it queued) and opens its database again, as a restart would. */
  reopen(store: Store): Promise<Store>;
  /** The dialect of a store made here. */
  dialect(store: Store): StoreDialect;
  /** The data dir of a store made here. */
  dataDir(store: Store): string;
}

/**
 * Registers the hooks of a repository test file and returns its store factory: one PostgreSQL
 * cluster for the file (started before its tests when a PostgreSQL dialect runs, removed after
 * them), a fresh database or SQLite data dir per store, and every store closed after its test.
 * A fresh PostgreSQL database is a copy of one migrated once per file (CREATE DATABASE …
 * TEMPLATE): the same schema as migrating it, in a fraction of the time.
 */
export function useStores(): TestStores {
  let cluster: TestPostgres | undefined;
  let admin: pg.Client | undefined;
  /** The migrated database fresh ones copy, and its data dir (its secret.key goes with the copies). */
  let template: { name: string; dir: string } | undefined;
  const places = new WeakMap<Store, Place>();
  const open: Store[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    if (!DIALECTS.includes('postgres')) return;
    cluster = await startPostgres();
    admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    const url = await cluster.createDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'rb-store-template-'));
    dirs.push(dir);
    Store.openPostgres(url, dir).close();
    template = { name: new URL(url).pathname.slice(1), dir };
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  afterAll(async () => {
    await admin?.end();
    await cluster?.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const openAt = async (p: Place): Promise<Store> => {
    const store = p.dialect === 'sqlite' ? Store.open(p.dir) : await Store.openPostgres(p.url!, p.dir);
    places.set(store, p);
    open.push(store);
    return store;
  };
  const placeOf = (store: Store): Place => {
    const p = places.get(store);
    if (!p) throw new Error('not a store made by useStores()');
    return p;
  };

  return {
    async fresh(dialect) {
      const dir = mkdtempSync(join(tmpdir(), `rb-store-${dialect}-`));
      dirs.push(dir);
      if (dialect === 'sqlite') return openAt({ dialect, dir });
      if (!cluster || !admin || !template) throw new Error('no PostgreSQL cluster: postgres is not in RB_TEST_DIALECTS');
      const name = `t_${randomBytes(6).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template.name}`);
      copyFileSync(join(template.dir, 'secret.key'), join(dir, 'secret.key'));
      const url = new URL(cluster.url);
      url.pathname = `/${name}`;
      return openAt({ dialect, dir, url: url.toString() });
    },
    another: (store) => openAt(placeOf(store)),
    async reopen(store) {
      const p = placeOf(store);
      store.close();
      return openAt(p);
    },
    dialect: (store) => placeOf(store).dialect,
    dataDir: (store) => placeOf(store).dir,
  };
}
