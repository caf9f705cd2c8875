import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { backupCommand } from '../../src/cli/backup.js';
import { isAppError } from '../../src/errors.js';
import { MIGRATIONS } from '../../src/inventory/migrations/index.js';
import { migratePg } from '../../src/inventory/pg/migrate.js';
import { PgDb } from '../../src/inventory/pg/pg-db.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { startAppliance } from '../../src/main.js';
import { defaultSettings, envOverrides, parseSettings } from '../../src/settings.js';
import { testApp } from '../helpers/app.js';
import { waitFor } from '../helpers/netns.js';
import { type TestPostgres, startPostgres } from '../helpers/postgres.js';

let pg: TestPostgres;
const dirs: string[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'rb-pgstore-'));
  dirs.push(d);
  return d;
};
const LATEST = MIGRATIONS.at(-1)!.version;

/** The thrown error of f (or undefined). */
function thrown(f: () => unknown): Error | undefined {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

describe('Store.openPostgres', () => {
  it('migrates a fresh database to the latest schema, and the repositories work on it', async () => {
    const url = await pg.createDatabase();
    const dir = dataDir();
    const store = Store.openPostgres(url, dir);
    try {
      expect(store.dialect).toBe('postgres');
      expect(store.file).not.toContain(pg.password);
      const versions = Store.rawDb(store).prepare('SELECT version FROM rackboot_schema ORDER BY version').pluck().all();
      expect(versions).toEqual(MIGRATIONS.map((m) => m.version));
      const m = store.machines.create({ name: 'n1', macs: ['AA-BB-CC-00-00-01'], labels: { rack: 'r1' } });
      expect(store.machines.findByMac('aa:bb:cc:00:00:01')?.id).toBe(m.id);
      store.profiles.create('p1', { boot: 'network', chain: 'ipxe', os: 'testos', initrd: [], cmdline: '', requireSecureBoot: false });
      store.machines.update(m.id, { profile: 'p1' });
      store.bmcs.set(m.id, { type: 'redfish', address: '198.18.0.50', username: 'admin', password: 'hunter2' });
      expect(store.bmcs.credentials(m.id)?.password).toBe('hunter2');
      store.events.add({ machineId: m.id, mac: 'aa:bb:cc:00:00:01', source: 'test', kind: 'test.event', detail: { a: 1 } });
      store.events.flush();
      expect(store.events.list({ machineId: m.id }).map((e) => e.kind)).toContain('test.event');
      const token = store.apiTokens.create({ name: 'ops', role: 'operate' });
      expect(thrown(() => store.apiTokens.create({ name: 'ops', role: 'read' }))).toMatchObject({ code: 'CONFLICT' });
      expect(token.token.name).toBe('ops');
      expect(store.health()).toEqual({ ok: true });
      expect(store.notifications).toBeDefined();
    } finally {
      store.close();
    }
    // Opened again (a restart): nothing left to migrate, the data and the key check are there.
    const again = Store.openPostgres(url, dir);
    try {
      expect(again.machines.get('n1').profile).toBe('p1');
      expect(Store.rawDb(again).prepare('SELECT max(version) FROM rackboot_schema').pluck().get()).toBe(LATEST);
    } finally {
      again.close();
    }
  });

  it('two appliances starting together on a fresh database migrate it once, one step at a time', async () => {
    const url = await pg.createDatabase();
    const first = dataDir();
    Store.openPostgres(await pg.createDatabase(), first).close(); // makes first/secret.key
    const second = dataDir();
    copyFileSync(join(first, 'secret.key'), join(second, 'secret.key'));
    const run = promisify(execFile);
    const child = (dir: string) =>
      run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'pg-open-child.ts'), url, dir], { cwd: join(import.meta.dirname, '../..'), timeout: 60_000 });
    const outs = await Promise.all([child(first), child(second)]);
    expect(outs.map((o) => o.stdout.trim())).toEqual([`version ${LATEST}`, `version ${LATEST}`]);
    const db = new PgDb(url);
    try {
      expect(db.prepare('SELECT version FROM rackboot_schema ORDER BY version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      db.close();
    }
  });

  it('refuses a data dir whose secret.key does not open the database (appliances share one key)', async () => {
    const url = await pg.createDatabase();
    Store.openPostgres(url, dataDir()).close();
    const err = thrown(() => Store.openPostgres(url, dataDir()));
    expect(isAppError(err, 'SETTINGS')).toBe(true);
    expect(err?.message).toMatch(/secret\.key does not open the secrets/);
    expect(err?.message).not.toContain(pg.password);
  });

  it('refuses a database newer than this binary', async () => {
    const url = await pg.createDatabase();
    Store.openPostgres(url, dataDir()).close();
    const db = new PgDb(url);
    db.prepare('INSERT INTO rackboot_schema (version, applied_at) VALUES (?, ?)').run(LATEST + 1, 'later');
    db.close();
    const err = thrown(() => Store.openPostgres(url, dataDir()));
    expect(isAppError(err, 'DATABASE')).toBe(true);
    expect(err?.message).toMatch(new RegExp(`schema ${LATEST + 1} is newer than this rackboot \\(max ${LATEST}\\)`));
  });

  it('refuses a step without PostgreSQL text, after applying the ones before it', async () => {
    const db = new PgDb(await pg.createDatabase());
    try {
      const steps = [
        { version: 1, sql: 'CREATE TABLE a (x INTEGER)', pg: 'CREATE TABLE a (x BIGINT)' },
        { version: 2, sql: 'CREATE TABLE b (x INTEGER)' },
      ];
      const err = thrown(() => migratePg(db, steps));
      expect(isAppError(err, 'DATABASE')).toBe(true);
      expect(err?.message).toMatch(/migration 2 has no PostgreSQL text/);
      expect(db.prepare('SELECT version FROM rackboot_schema').pluck().all()).toEqual([1]);
      expect(migratePg(db, steps.slice(0, 1))).toBe(1);
    } finally {
      db.close();
    }
  });
});

describe('store setting', () => {
  it('defaults to sqlite and takes a postgres URL, also from the environment', () => {
    expect(defaultSettings().store).toBe('sqlite');
    const url = 'postgres://rb:s3cret@db.example:5432/inventory';
    expect(defaultSettings({ store: { postgres: url } }).store).toEqual({ postgres: url, deadlineMs: 5000, connectTimeoutMs: 10_000 });
    expect(envOverrides({ RACKBOOT_STORE__POSTGRES: url })).toEqual({ store: { postgres: url } });
  });

  it('refuses a URL that is not postgres:// without repeating it', () => {
    const err = thrown(() => parseSettings({ store: { postgres: 'mysql://rb:s3cret@db/inv' } }, 'test'));
    expect(isAppError(err, 'SETTINGS')).toBe(true);
    expect(err?.message).toMatch(/store/);
    expect(err?.message).not.toContain('s3cret');
  });
});

describe('rackboot backup', () => {
  it('refuses a PostgreSQL store and names pg_dump', async () => {
    const env = { RACKBOOT_DATADIR: dataDir(), RACKBOOT_STORE__POSTGRES: 'postgres://rb:s3cret@db.example/inv' };
    await expect(backupCommand([join(dataDir(), 'copy.db')], {}, env)).rejects.toThrow(/pg_dump/);
  });
});

describe('/healthz', () => {
  it('is 503 degraded while the store is unreachable, 200 again after', async () => {
    const { app, store } = await testApp();
    try {
      expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
      const health = vi.spyOn(store, 'health').mockReturnValue({ ok: false, error: 'connection refused', since: Date.parse('2026-12-06T00:00:00Z') });
      const r = await app.inject({ method: 'GET', url: '/healthz' });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toEqual({ ok: false, status: 'degraded', store: { ok: false, since: '2026-12-06T00:00:00.000Z' } });
      health.mockRestore();
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('an appliance served on PostgreSQL', () => {
  it('serves, refuses NUL characters with 400, answers 503 STORE_UNAVAILABLE and /healthz degraded while PostgreSQL is down, and recovers', async () => {
    const settings = defaultSettings({
      dataDir: dataDir(),
      store: { postgres: await pg.createDatabase(), deadlineMs: 2000 },
      http: { host: '127.0.0.1', port: 0 },
      api: { host: '127.0.0.1', port: 0, tls: { enabled: false } },
      tftp: { enabled: false },
      dhcp: { enabled: false },
    });
    const app = await startAppliance(settings, silentLogger());
    const auth = { authorization: `Bearer ${app.adminToken}` };
    const machines = () => fetch(`${app.apiUrl}/api/v1/machines`, { headers: auth });
    try {
      const created = await fetch(`${app.apiUrl}/api/v1/machines`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'n1', macs: ['02:00:00:00:00:01'] }),
      });
      expect(created.status).toBe(201);
      // Hostile: PostgreSQL text cannot hold U+0000; a %00 in a name is a 400, never a 500.
      const nul = await fetch(`${app.apiUrl}/api/v1/machines/n%001`, { headers: auth });
      expect(nul.status).toBe(400);
      const nulBody = await fetch(`${app.apiUrl}/api/v1/machines`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'n\u00002', macs: ['02:00:00:00:00:02'] }),
      });
      expect(nulBody.status).toBe(400);
      expect((await fetch(`${app.httpUrl}/healthz`)).status).toBe(200);
      await pg.kill();
      try {
        const down = await machines();
        expect(down.status).toBe(503);
        const body = (await down.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('STORE_UNAVAILABLE');
        expect(body.error.message).not.toContain(pg.password);
        const health = await fetch(`${app.httpUrl}/healthz`);
        expect(health.status).toBe(503);
        expect(await health.json()).toMatchObject({ ok: false, status: 'degraded' });
      } finally {
        await pg.start();
      }
      await waitFor('the API to answer again', async () => (await machines()).status === 200, 20_000);
      expect(await (await machines()).text()).toContain('"name":"n1"');
      expect((await fetch(`${app.httpUrl}/healthz`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
