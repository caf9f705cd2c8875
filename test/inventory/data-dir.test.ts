// SQLite-only: the SQLite file's modes, lock, quick_check, user_version and synchronous pragma.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureAdminToken } from '../../src/http/auth.js';
import { loadSettings } from '../../src/settings.js';
import { isAppError } from '../../src/errors.js';
import { openDataDir } from '../../src/inventory/data-dir.js';
import { openDb } from '../../src/inventory/db.js';
import { MIGRATIONS } from '../../src/inventory/migrations/index.js';
import { Store } from '../../src/inventory/store.js';

const LATEST = MIGRATIONS.at(-1)!.version;
const tempDir = () => mkdtempSync(join(tmpdir(), 'rb-datadir-'));
const modeOf = (p: string) => statSync(p).mode & 0o777;

/** Runs fn under a umask, restoring the previous one (process.umask is per process; vitest forks one per file). */
function withUmask<T>(mask: number, fn: () => T): T {
  const old = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}

/** The AppError fn throws (fails the test if it throws none or another error). */
function appErrorOf(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (isAppError(e)) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

/** A database at schema `version`, built with the real migrations (as an older rackboot left it). */
function dbAtVersion(path: string, version: number): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
    db.exec(m.sql);
    db.pragma(`user_version = ${m.version}`);
  }
  db.close();
}

describe('data dir and database file modes', () => {
  it('a new data dir is 0700 and inventory.db, -wal, -shm, secret.key, admin.token are 0600 even under umask 000', () => {
    const dir = join(tempDir(), 'data');
    const { store, release } = withUmask(0o000, () => openDataDir(dir));
    store.machines.create({ name: 'n1', macs: ['aa:bb:cc:00:00:01'] });
    withUmask(0o000, () => ensureAdminToken(dir));
    expect(modeOf(dir)).toBe(0o700);
    for (const f of ['inventory.db', 'inventory.db-wal', 'inventory.db-shm', 'secret.key', 'admin.token']) {
      expect([f, modeOf(join(dir, f))]).toEqual([f, 0o600]);
    }
    store.close();
    release();
  });

  it('an operator-made 0755 dir with 0644 files is tightened at open', () => {
    const dir = join(tempDir(), 'data');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    Store.open(dir).close();
    writeFileSync(join(dir, 'admin.token'), 'rb_x\n');
    writeFileSync(join(dir, 'inventory.db-wal'), '');
    writeFileSync(join(dir, 'inventory.db-shm'), '');
    for (const f of ['inventory.db', 'inventory.db-wal', 'inventory.db-shm', 'secret.key', 'admin.token']) chmodSync(join(dir, f), 0o644);
    chmodSync(dir, 0o755);

    const { store, release } = openDataDir(dir);
    expect(modeOf(dir)).toBe(0o700);
    for (const f of ['inventory.db', 'inventory.db-wal', 'inventory.db-shm', 'secret.key', 'admin.token']) {
      expect([f, modeOf(join(dir, f))]).toEqual([f, 0o600]);
    }
    store.close();
    release();
  });
});

describe('data-dir lock before the database', () => {
  let holder: ChildProcess | undefined;
  afterEach(() => {
    holder?.kill('SIGKILL');
    holder = undefined;
  });

  it('a second rackboot on a locked dir fails LOCKED without opening or migrating the database', async () => {
    const dir = tempDir();
    const db = join(dir, 'inventory.db');
    dbAtVersion(db, 3);
    const before = readFileSync(db);
    holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'rackboot.pid'), `${holder.pid}\n`);

    const e = appErrorOf(() => openDataDir(dir));
    expect(e.code).toBe('LOCKED');
    expect(e.message).toContain(`pid ${holder.pid}`);
    expect(readFileSync(db).equals(before)).toBe(true);
    expect(existsSync(`${db}-wal`)).toBe(false);
    expect(existsSync(join(dir, 'secret.key'))).toBe(false);
    const check = new Database(db, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(3);
    check.close();

    // Once the holder is gone (and reaped: a zombie still answers kill 0) its pid file is stale.
    const exited = new Promise((r) => holder!.once('exit', r));
    holder.kill('SIGKILL');
    await exited;
    holder = undefined;
    const { store, release } = openDataDir(dir);
    expect(Store.rawDb(store).prepare('PRAGMA user_version').pluck().get()).toBe(LATEST);
    expect(readFileSync(join(dir, 'rackboot.pid'), 'utf8').trim()).toBe(String(process.pid));
    store.close();
    release();
    expect(existsSync(join(dir, 'rackboot.pid'))).toBe(false);
  });

  it('a database that fails to open releases the lock again', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'inventory.db'), Buffer.alloc(8192, 0x5a));
    expect(appErrorOf(() => openDataDir(dir)).code).toBe('DATABASE');
    expect(existsSync(join(dir, 'rackboot.pid'))).toBe(false);
  });
});

describe('quick_check at open', () => {
  /** A closed database of many pages (WAL checkpointed into the main file). */
  function populated(dir: string): string {
    const path = join(dir, 'inventory.db');
    const s = Store.open(dir);
    s.transaction(() => {
      for (let n = 0; n < 400; n++) s.machines.create({ name: `m${n}`, macs: [(0x020000000000 + n).toString(16).padStart(12, '0')], labels: { rack: `r${n % 7}` } });
    });
    s.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    return path;
  }

  it('a copy with any one page overwritten is refused with DATABASE naming the file and what to do', () => {
    const good = populated(tempDir());
    const pageSize = new Database(good, { readonly: true }).pragma('page_size', { simple: true }) as number;
    const pages = statSync(good).size / pageSize;
    expect(pages).toBeGreaterThan(8);
    const dir = tempDir();
    const bad = join(dir, 'inventory.db');
    const messages: string[] = [];
    // Page 1 holds the header and schema; every other page in turn gets a fixed pattern.
    for (let p = 2; p <= pages; p++) {
      copyFileSync(good, bad);
      const fd = openSync(bad, 'r+');
      writeSync(fd, Buffer.alloc(pageSize, 0x41), 0, pageSize, (p - 1) * pageSize);
      closeSync(fd);
      const e = appErrorOf(() => openDb(bad));
      expect([p, e.code]).toEqual([p, 'DATABASE']);
      expect(e.message).toContain(`${bad} is damaged (quick_check: `);
      expect(e.message).toContain('restore your latest backup');
      expect(e.message).toContain('"Backup"');
      messages.push(e.message);
    }
    // Both ways SQLite reports damage: rows from quick_check, and an error thrown by it.
    expect(messages.some((m) => /quick_check: Tree \d+ page \d+/.test(m))).toBe(true);
    expect(messages.some((m) => m.includes('quick_check: database disk image is malformed'))).toBe(true);
    // The healthy original still opens.
    openDb(good).close();
  });

  it('a file that is not a database at all is refused the same way', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'inventory.db'), 'this is not SQLite, just text that fills the header and more'.repeat(200));
    const e = appErrorOf(() => Store.open(dir));
    expect(e.code).toBe('DATABASE');
    expect(e.message).toContain(join(dir, 'inventory.db'));
  });
});

describe('schema newer than this rackboot', () => {
  it('is refused with the version numbers and left untouched', () => {
    const dir = tempDir();
    const path = join(dir, 'inventory.db');
    openDb(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${LATEST + 3}`);
    raw.close();
    const before = readFileSync(path);

    const e = appErrorOf(() => openDb(path));
    expect(e.code).toBe('DATABASE');
    expect(e.message).toBe(`${path}: database schema ${LATEST + 3} is newer than this rackboot (max ${LATEST}); upgrade rackboot or restore a backup`);
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});

describe('dhcp.durability', () => {
  it('fsync opens the database with synchronous = FULL, normal (the default) with NORMAL', () => {
    const SYNC = { NORMAL: 1, FULL: 2 };
    const fsync = Store.open(tempDir(), { durability: 'fsync' });
    expect(Store.rawDb(fsync).prepare('PRAGMA synchronous').pluck().get()).toBe(SYNC.FULL);
    fsync.close();
    const normal = Store.open(tempDir());
    expect(Store.rawDb(normal).prepare('PRAGMA synchronous').pluck().get()).toBe(SYNC.NORMAL);
    normal.close();
    const locked = openDataDir(tempDir(), { durability: 'fsync' });
    expect(Store.rawDb(locked.store).prepare('PRAGMA synchronous').pluck().get()).toBe(SYNC.FULL);
    locked.store.close();
    locked.release();
  });

  it('is a dhcp setting, normal by default, fsync from the file or the environment', () => {
    const dir = tempDir();
    const file = join(dir, 'rackboot.yaml');
    writeFileSync(file, 'dhcp:\n  durability: fsync\n');
    expect(loadSettings({ configPath: file, env: {} }).dhcp.durability).toBe('fsync');
    writeFileSync(file, 'dhcp: {}\n');
    expect(loadSettings({ configPath: file, env: {} }).dhcp.durability).toBe('normal');
    expect(loadSettings({ configPath: file, env: { RACKBOOT_DHCP__DURABILITY: 'fsync' } }).dhcp.durability).toBe('fsync');
    writeFileSync(file, 'dhcp:\n  durability: sometimes\n');
    expect(() => loadSettings({ configPath: file, env: {} })).toThrowError(/durability/);
  });
});
