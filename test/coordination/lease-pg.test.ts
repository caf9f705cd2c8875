import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, isBmcBusy } from '../../src/coordination/coordinator.js';
import { TAKE_LEASE_SQL } from '../../src/inventory/coordination.js';
import { Store } from '../../src/inventory/store.js';
import { FakeTimers } from '../fakes/lease-table.js';
import { type TestPostgres, startPostgres } from '../helpers/postgres.js';
import { CASES, T0, checkCaseInStore, claim, coordinatorOn } from './lease-cases.js';

let server: TestPostgres;
let url: string;
const stores: Store[] = [];
const dir = mkdtempSync(join(tmpdir(), 'rb-coord-pg-'));
beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase();
}, 120_000);
afterAll(async () => {
  for (const s of stores.splice(0)) s.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});
/** A connection of one appliance (each its own PostgreSQL session). */
function open(): Store {
  const s = Store.openPostgres(url, dir);
  stores.push(s);
  return s;
}

let shared: Store | undefined;
describe('lease rule in SQL on PostgreSQL gives the same answers', () => {
  it.each(CASES)('%s', (...row) => {
    shared ??= open();
    checkCaseInStore(shared, ...row);
  });

  it('release only by the holder', () => {
    const repo = open().coordination;
    repo.release('r', repo.get('r')?.holder ?? '');
    repo.tryTake('r', claim('a#1', T0));
    expect(repo.release('r', 'b#2')).toBe(false);
    expect(repo.release('r', 'a#1')).toBe(true);
    expect(repo.get('r')).toBeNull();
  });
});

describe('claims racing from several PostgreSQL sessions at once', () => {
  it('an expired lease claimed by 8 sessions at the same moment goes to exactly one of them, 20 times over', async () => {
    const text = TAKE_LEASE_SQL.split('?').reduce((acc, part, i) => (i === 0 ? part : `${acc}$${i}${part}`), '');
    const clients = Array.from({ length: 8 }, () => new pg.Client({ connectionString: url }));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      for (let round = 0; round < 20; round++) {
        const name = `race-${round}`;
        await clients[0]!.query('INSERT INTO coordination_leases (name, holder, appliance, expires_at, acquired_at, epoch) VALUES ($1, $2, $3, $4, $5, 1)', [name, 'dead#0', 'dead', T0, T0 - 9000]);
        const now = T0 + 1;
        const results = await Promise.all(clients.map((c, i) => c.query(text, [name, `r${i}#1`, `r${i}`, now + 9000, now, now])));
        const winners = results.filter((r) => r.rowCount === 1);
        expect(winners).toHaveLength(1);
        const row = await clients[0]!.query('SELECT holder, epoch FROM coordination_leases WHERE name = $1', [name]);
        expect(row.rows[0]).toEqual({ holder: winners[0]!.rows[0].holder, epoch: '2' });
      }
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});

describe('two coordinators on one PostgreSQL database', () => {
  it('one rollout runner at a time; takeover after the holder stops renewing; BMC locks refuse the other appliance', async () => {
    const timers = new FakeTimers(T0 + 1_000_000);
    const mk = (name: string) => coordinatorOn(open().coordination, name, timers);
    const a = mk('pg-r1');
    const b = mk('pg-r2');
    const la = a.leader(ROLES.rolloutRunner);
    const lb = b.leader(ROLES.rolloutRunner);
    la.start();
    lb.start();
    timers.advance(30_000);
    expect([la.held(), lb.held()]).toEqual([true, false]);
    (la as unknown as { running: boolean }).running = false; // a stalls
    timers.advance(12_000);
    expect([la.held(), lb.held()]).toEqual([false, true]);
    expect(la.claim()).toBe(false);
    let finish!: () => void;
    const slow = b.withBmc(9, 'bmc.power', () => new Promise<void>((r) => (finish = r)));
    expect(isBmcBusy(await a.withBmc(9, 'bmc.power', async () => 1).catch((e: unknown) => e))).toBe(true);
    finish();
    await slow;
    expect(await a.withBmc(9, 'bmc.power', async () => 1)).toBe(1);
    a.stop();
    b.stop();
  });
});
