import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RetentionRepo, retentionSettingsSchema } from '../../src/inventory/retention.js';
import { RetentionService, type RetentionTimers, startRetention } from '../../src/inventory/retention-service.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { DIALECTS, useStores } from '../helpers/stores.js';

const hex = (n: number) => n.toString(16).padStart(64, '0');
const settings = (o: Record<string, unknown> = {}) => retentionSettingsSchema.parse(o);
const stores = useStores();

function version(store: Store, machineId: number, n: number, body = Buffer.from(`config ${n}`)) {
  return store.configs.saveVersion({ machineId, machineName: `m${machineId}`, profile: 'p', profileRevision: 1, format: 'testos', contentType: 'text/plain', body, sha256: hex(n), meta: {} }).version;
}

function eventAt(store: Store, at: string, kind = 'x') {
  Store.rawDb(store).prepare("INSERT INTO events (at, source, kind, detail) VALUES (?, 'test', ?, '{}')").run(at, kind);
}

describe.each(DIALECTS)('RetentionRepo on %s', (dialect) => {
  it('deletes events older than the cutoff, oldest first, at most `limit` per call', async () => {
    const store = await stores.fresh(dialect);
    const repo = new RetentionRepo(Store.rawDb(store));
    for (let d = 1; d <= 9; d++) eventAt(store, `2026-01-0${d}T00:00:00.000Z`);
    expect(repo.pruneEventsOlderThan('2026-01-06T00:00:00.000Z', 3)).toBe(3);
    expect(repo.pruneEventsOlderThan('2026-01-06T00:00:00.000Z', 3)).toBe(2);
    expect(repo.pruneEventsOlderThan('2026-01-06T00:00:00.000Z', 3)).toBe(0);
    expect(Store.rawDb(store).prepare('SELECT min(at) FROM events').pluck().get()).toBe('2026-01-06T00:00:00.000Z');
  });

  it.each([
    [10, 4, 100, 4],
    [10, 4, 3, 4],
    [10, 20, 100, 10],
    [10, 0, 100, 0],
  ])('%i events, keep %i, %i per call → %i left', async (n, keep, limit, left) => {
    const store = await stores.fresh(dialect);
    const repo = new RetentionRepo(Store.rawDb(store));
    for (let i = 0; i < n; i++) eventAt(store, '2026-01-01T00:00:00.000Z', `k${i}`);
    while (repo.pruneEventsBeyond(keep, limit) > 0);
    expect(Store.rawDb(store).prepare('SELECT count(*) FROM events').pluck().get()).toBe(left);
    // The newest are the ones kept.
    if (left) expect(Store.rawDb(store).prepare('SELECT kind FROM events ORDER BY id DESC LIMIT 1').pluck().get()).toBe(`k${n - 1}`);
  });

  it('keeps the newest versions per machine and every referenced one: desired, token, latest report, rollout digest', async () => {
    const store = await stores.fresh(dialect);
    const repo = new RetentionRepo(Store.rawDb(store));
    const a = store.machines.create({ name: 'a', macs: ['02:00:00:00:00:01'] });
    const b = store.machines.create({ name: 'b', macs: ['02:00:00:00:00:02'] });
    const va = Array.from({ length: 10 }, (_, i) => version(store, a.id, i));
    const vb = Array.from({ length: 10 }, (_, i) => version(store, b.id, 100 + i));
    store.configs.setDesired(a.id, va[1]!.id);
    store.configs.addToken({ id: store.configs.nextTokenId(), secretHash: Buffer.alloc(32, 1), kind: 'report', machineId: a.id, versionId: va[2]!.id, usesLeft: null, expiresAt: Date.now() + 1e9, createdAt: 0 });
    store.events.add({ machineId: a.id, source: 'agent', kind: 'report.ready', detail: { versionId: va[3]!.id } });
    Store.rawDb(store).prepare("INSERT INTO rollouts (id, spec, state, created_at, updated_at) VALUES (1, '{}', 'running', 1, 1)").run();
    Store.rawDb(store)
      .prepare("INSERT INTO rollout_machines (rollout_id, machine_id, name, batch, position, from_version, to_version) VALUES (1, ?, 'a', 0, 0, ?, ?)")
      .run(a.id, JSON.stringify({ configDigest: hex(4) }), JSON.stringify({ configDigest: `sha256:${hex(5)}` }));
    // Machine b: pinned to a SHA-512 digest in a rollout: nothing of b can be matched, all kept.
    Store.rawDb(store)
      .prepare("INSERT INTO rollout_machines (rollout_id, machine_id, name, batch, position, to_version) VALUES (1, ?, 'b', 0, 1, ?)")
      .run(b.id, JSON.stringify({ configDigest: `sha512:${'a'.repeat(128)}` }));
    let n = 0;
    for (let r = repo.pruneConfigVersions(2, 2); r.deleted > 0 || r.next !== null; r = repo.pruneConfigVersions(2, 2, r.next ?? 0)) n += r.deleted;
    const left = store.configs.listVersions(a.id).map((v) => v.id);
    expect(left.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 8, 9].map((i) => va[i]!.id));
    expect(n).toBe(3);
    expect(store.configs.listVersions(b.id)).toHaveLength(vb.length);
  });

  it('prunes expired tokens, which then no longer keep a version', async () => {
    const store = await stores.fresh(dialect);
    const repo = new RetentionRepo(Store.rawDb(store));
    const a = store.machines.create({ name: 'a', macs: ['02:00:00:00:00:01'] });
    const v = [0, 1, 2].map((i) => version(store, a.id, i));
    store.configs.addToken({ id: store.configs.nextTokenId(), secretHash: Buffer.alloc(32, 2), kind: 'config', machineId: a.id, versionId: v[0]!.id, usesLeft: 1, expiresAt: 1000, createdAt: 0 });
    expect(repo.pruneConfigVersions(1, 10)).toEqual({ deleted: 1, next: null });
    expect(repo.pruneExpiredTokens(2000, 10)).toBe(1);
    expect(repo.pruneConfigVersions(1, 10)).toEqual({ deleted: 1, next: null });
    expect(store.configs.listVersions(a.id).map((x) => x.id)).toEqual([v[2]!.id]);
  });
});

/** Timers run by hand: `fire()` runs the one pending callback. */
function fakeTimers(start = Date.parse('2026-06-01T00:00:00Z')) {
  let pending: { fn: () => void; ms: number } | undefined;
  let now = start;
  const timers: RetentionTimers = {
    setTimeout: (fn, ms) => {
      pending = { fn, ms };
      return pending;
    },
    clearTimeout: (h) => {
      if (h === pending) pending = undefined;
    },
    now: () => now,
  };
  return {
    timers,
    pending: () => pending?.ms,
    fire: () => {
      const p = pending;
      pending = undefined;
      if (p) {
        now += p.ms;
        p.fn();
      }
    },
  };
}

// The service's stepping and timers; its SQL is RetentionRepo's, run on both dialects above.
describe('RetentionService', () => {
  it('steps with short pauses while there is work, then waits intervalSeconds; close stops it', () => {
    const store = Store.memory();
    for (let i = 0; i < 25; i++) eventAt(store, '2020-01-01T00:00:00.000Z');
    const t = fakeTimers();
    const svc = new RetentionService({ store, settings: settings({ batchRows: 10, eventsMaxAgeDays: 30, intervalSeconds: 60 }), log: silentLogger(), timers: t.timers });
    svc.start();
    const pauses: number[] = [];
    for (let i = 0; i < 4; i++) {
      pauses.push(t.pending()!);
      t.fire();
    }
    // Start, then 10 + 10 + 5 rows, then a step that finds nothing: the interval.
    expect(pauses).toEqual([20, 20, 20, 20]);
    expect(t.pending()).toBe(60_000);
    expect(svc.totals.eventsByAge).toBe(25);
    svc.close();
    expect(t.pending()).toBeUndefined();
  });

  it('does nothing when disabled', () => {
    const t = fakeTimers();
    new RetentionService({ store: Store.memory(), settings: settings({ enabled: false }), log: silentLogger(), timers: t.timers }).start();
    expect(t.pending()).toBeUndefined();
  });
});

/**
 * Issue #15 acceptance: a 100,000-boot run. 1,000 machines boot 100 times each; every boot leaves
 * 4 trace rows (DHCP ack, TFTP, script, report: 400,000 in all), a config token and a report token
 * (the previous report token rotated away, as per-boot report tokens will be), and every 5th boot
 * a new 4 KiB config version (20,000 in all). The pruner runs to the end after every 5,000 boots.
 * Stated bound: at most eventsMaxRows (100,000) events, at most configVersionsKeep + 3 versions
 * per machine, and a database file under 64 MiB that stops growing once the limits are reached.
 * (About 30 s on an idle 2-core machine; most of it is the inserts.) SQLite-only: it measures the
 * database file and checkpoints its WAL.
 */
describe('retention over a simulated 100,000-boot run', () => {
  it('keeps rows and file size under the stated bound', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-retention-'));
    const store = Store.open(dir);
    const t = fakeTimers();
    const limits = { eventsMaxRows: 100_000, eventsMaxAgeDays: 30, configVersionsKeep: 3, batchRows: 500 };
    const svc = new RetentionService({ store, settings: settings(limits), log: silentLogger(), timers: t.timers });
    const machines = Array.from({ length: 1000 }, (_, i) =>
      store.machines.create({ name: `n${i}`, macs: [`02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`] }),
    );
    const body = Buffer.alloc(4096, 0x61);
    const latest = new Map<number, number>();
    // Tokens as ConfigRepo.addToken writes them, with the statements prepared once (speed).
    const addToken = Store.rawDb(store).prepare('INSERT INTO config_tokens (id, secret_hash, kind, machine_id, version_id, uses_left, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const secretHash = Buffer.alloc(32, 3);
    const rotateReport = Store.rawDb(store).prepare("DELETE FROM config_tokens WHERE machine_id = ? AND kind = 'report'");
    const sizes: number[] = [];
    let boots = 0;
    const started = Date.now();
    for (let round = 0; round < Number(process.env.RB_ROUNDS ?? 100); round++) {
      store.transaction(() => {
        for (const m of machines) {
          boots++;
          let v = latest.get(m.id);
          if (v === undefined || round % 5 === 0) {
            v = version(store, m.id, boots, Buffer.concat([body, Buffer.from(String(boots))])).id;
            latest.set(m.id, v);
            store.configs.setDesired(m.id, v);
          }
          const now = t.timers.now();
          addToken.run(2 * boots, secretHash, 'config', m.id, v, 1, now + 3_600_000, now);
          rotateReport.run(m.id);
          addToken.run(2 * boots + 1, secretHash, 'report', m.id, v, null, now + 365 * 86_400_000, now);
          store.events.addSoon({ mac: m.macs[0]!, source: 'dhcp', kind: 'dhcp.ack', detail: { xid: boots } });
          for (const kind of ['tftp.sent', 'boot.script']) store.events.addSoon({ machineId: m.id, source: 'http', kind, detail: { n: boots } });
          store.events.addSoon({ machineId: m.id, source: 'agent', kind: 'report.ready', detail: { versionId: v } });
        }
        store.events.flush();
      });
      // An hour passes per round: every config token of the round before has expired.
      for (let i = 0; i < 2; i++) t.fire();
      t.timers.now = (() => {
        const base = t.timers.now();
        return () => base + 3_600_001;
      })();
      if ((round + 1) % 5 === 0) {
        const t0 = Date.now();
        svc.runToEnd();
        Store.rawDb(store).prepare('PRAGMA wal_checkpoint(TRUNCATE)').get();
        sizes.push(statSync(join(dir, 'inventory.db')).size);
        if (process.env.RB_DEBUG_RETENTION) console.log(`round ${round}: prune ${Date.now() - t0} ms, file ${sizes.at(-1)} bytes, ${Date.now() - started} ms in`);
      }
    }
    expect(boots).toBe(100_000);
    const count = (sql: string) => Store.rawDb(store).prepare(sql).pluck().get() as number;
    expect(count('SELECT count(*) FROM events')).toBeLessThanOrEqual(limits.eventsMaxRows);
    expect(count('SELECT max(n) FROM (SELECT count(*) AS n FROM config_versions GROUP BY machine_id)')).toBeLessThanOrEqual(limits.configVersionsKeep + 3);
    // Every machine still has its desired version and the one its report token names.
    expect(count('SELECT count(*) FROM machine_configs WHERE version_id NOT IN (SELECT id FROM config_versions)')).toBe(0);
    expect(count('SELECT count(*) FROM config_tokens')).toBeLessThanOrEqual(2 * machines.length);
    const mib = sizes.at(-1)! / 1024 / 1024;
    expect(mib).toBeLessThan(64);
    // Flat once full: the last file is not much larger than at half time (freed pages reused).
    expect(sizes.at(-1)!).toBeLessThan(sizes[Math.floor(sizes.length / 2)]! * 1.25);
    store.close();
  }, 120_000);
});

describe('startRetention', () => {
  it('starts on the injected timers and stops on close', async () => {
    const t = fakeTimers();
    const store = Store.memory();
    const svc = startRetention({ store, settings: { retention: settings() }, log: silentLogger() }, t.timers);
    expect(svc.name).toBe('retention');
    expect(t.pending()).toBe(20);
    await svc.close();
    expect(t.pending()).toBeUndefined();
  });
});
