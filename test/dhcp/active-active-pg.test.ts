import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { followChanges } from '../../src/dhcp/change-feed.js';
import { MSG } from '../../src/dhcp/options.js';
import { openChangeFeed } from '../../src/inventory/pg-notify.js';
import { PgDb } from '../../src/inventory/pg/pg-db.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { memoryLogger } from '../fakes/log.js';
import { waitFor } from '../helpers/netns.js';
import { type TestPostgres, startPostgres } from '../helpers/postgres.js';
import { raceForOneAddress, twoApplianceAvalanche } from './helpers/active-active.js';
import { TestAppliance, settle } from './helpers/appliances.js';

// Issue #20 on a real PostgreSQL 15 (initdb + pg_ctl in a temp dir, 127.0.0.1): two appliances
// are two Store connections to one database, each with its own DHCP server.
let cluster: TestPostgres;
const open: Store[] = [];
const dirs: string[] = [];
beforeAll(async () => {
  cluster = await startPostgres();
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(async () => {
  await cluster?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Two connections to a fresh database (one data dir: appliances sharing a database share secret.key). */
const twoOnOneDatabase = async (): Promise<readonly [Store, Store]> => {
  const url = await cluster.createDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'rb-aa-pg-'));
  dirs.push(dir);
  const s1 = Store.openPostgres(url, dir);
  open.push(s1);
  const s2 = Store.openPostgres(url, dir);
  open.push(s2);
  return [s1, s2];
};

describe('two DHCP appliances on one PostgreSQL inventory (issue #20)', () => {
  it('both offer the same address; exactly one REQUEST is ACKed, the other NAKed, and the loser learns the address is taken', async () => {
    await raceForOneAddress(twoOnOneDatabase);
  });

  it('an avalanche of clients over both appliances: no address ACKed to two clients, every client bound in the end', async () => {
    const met = await twoApplianceAvalanche(twoOnOneDatabase, { clients: 14, startOffsets: [0, 0] });
    expect(met.lostClaims).toBeGreaterThan(0);
    await twoApplianceAvalanche(twoOnOneDatabase, { clients: 14, startOffsets: [0, 8] });
  });

  it("a turn's ACKs are claimed in one statement: granted, lost and renewed claims each get their own reply", async () => {
    const [s1, s2] = await twoOnOneDatabase();
    const macs = Array.from({ length: 12 }, (_, i) => `02:00:00:00:ee:${(0x10 + i).toString(16)}`);
    const Z = '02:00:00:00:ee:01';
    for (const mac of [...macs, Z]) s1.machines.create({ name: `turn-${mac.replaceAll(':', '')}`, macs: [mac] });
    const app1 = new TestAppliance('198.18.0.1', s1, silentLogger());
    const app2 = new TestAppliance('198.18.0.2', s2, silentLogger());
    for (const mac of macs) app1.discover(mac);
    const offered = macs.map((m) => app1.lastTo(m)!.yiaddr);
    // Appliance 2 grants the first of those addresses to Z first (appliance 1 has not heard).
    app2.discover(Z);
    expect(app2.lastTo(Z)!.yiaddr).toBe(offered[0]);
    app2.request(Z, offered[0]!);
    await settle();
    expect(app2.lastTo(Z)?.type).toBe(MSG.ACK);
    // One turn: twelve REQUESTs (and a renewal of the first granted address, in the same turn).
    // The statements appliance 1's turn sends to PostgreSQL (read before the spy is restored, which clears them).
    const query = vi.spyOn(PgDb.prototype, 'query');
    let texts: string[] = [];
    try {
      macs.forEach((mac, i) => app1.request(mac, offered[i]!));
      app1.renew(macs[1]!, offered[1]!);
      await settle();
      texts = query.mock.calls.map(([text]) => text);
    } finally {
      query.mockRestore();
    }
    expect(app1.lastTo(macs[0]!)?.type).toBe(MSG.NAK);
    for (const [i, mac] of macs.entries()) if (i > 0) expect(app1.lastTo(mac)).toMatchObject({ type: MSG.ACK, yiaddr: offered[i] });
    expect(app1.server.storeStats.lostClaims).toBe(1);
    // Thirteen lease writes, three statements: the claims, the holder of the one lost, and the
    // renewal in a second claim statement (its address is already in the first).
    const kind = (t: string) => (t.startsWith('WITH claims') ? 'claims' : t.startsWith('SELECT * FROM leases WHERE ip IN') ? 'holders' : t);
    expect(texts.filter((t) => /\bleases\b/.test(t)).map(kind)).toEqual(['claims', 'holders', 'claims']);
    expect(s1.leases.get(offered[0]!)).toMatchObject({ mac: Z, state: 'active' });
    for (const [i, mac] of macs.entries()) if (i > 0) expect(s2.leases.get(offered[i]!)).toMatchObject({ mac, state: 'active' });
    await app1.server.close();
    await app2.server.close();
  });

  it("each appliance learns the other's leases and machines through LISTEN/NOTIFY", async () => {
    const [s1, s2] = await twoOnOneDatabase();
    const A = '02:00:00:00:cc:01';
    const B = '02:00:00:00:cc:02';
    s1.machines.create({ name: 'notify-a', macs: [A] });
    const app1 = new TestAppliance('198.18.0.1', s1, silentLogger());
    const app2 = new TestAppliance('198.18.0.2', s2, silentLogger());
    const feed = openChangeFeed(s2);
    expect(feed).toBeDefined();
    // The triggers are idempotent: a second appliance installing them changes nothing.
    expect(openChangeFeed(s1)).toBeDefined();
    const { log, lines } = memoryLogger();
    const stop = followChanges(feed!, app2.server, log);
    try {
      // LISTEN takes effect asynchronously: the appliance's own hello says when (then it reloads).
      await waitFor('LISTEN in effect', () => lines.some((l) => /notifications in effect/.test(String(l.msg))), 10_000, 50);
      // A machine appliance 1 registers is answered by appliance 2 once announced.
      const b = s1.machines.create({ name: 'notify-b', macs: [B] });
      await waitFor('the machine to be announced', () => {
        app2.discover(B);
        return app2.lastTo(B)?.type === MSG.OFFER;
      }, 10_000, 50);
      expect(b.id).toBeGreaterThan(0);
      // A's lease granted by appliance 1 is announced: appliance 2 no longer offers that address.
      app1.discover(A);
      const x = app1.lastTo(A)!.yiaddr;
      app1.request(A, x);
      await settle();
      expect(app1.lastTo(A)).toMatchObject({ type: MSG.ACK, yiaddr: x });
      await waitFor('the lease to be announced', () => {
        app2.discover(B);
        return app2.lastTo(B)?.yiaddr !== x;
      }, 10_000, 50);
      // B's REQUEST for A's address would be NAKed from memory alone, before any claim.
      app2.request(B, x);
      expect(app2.lastTo(B)?.type).toBe(MSG.NAK);
      expect(app2.server.storeStats.lostClaims).toBe(0);
    } finally {
      stop();
      await app1.server.close();
      await app2.server.close();
    }
  });

  it('PostgreSQL stopped under DHCP: stored leases renewed from memory, nothing new granted, clean recovery, no ACKed lease lost', async () => {
    const pg = await startPostgres();
    const dir = mkdtempSync(join(tmpdir(), 'rb-aa-pg-'));
    let store: Store | undefined;
    try {
      store = Store.openPostgres(await pg.createDatabase(), dir, { deadlineMs: 2000 });
      // The test cluster commits asynchronously (synchronous_commit off) and is stopped like a
      // crash: this database commits durably, so what a killed server loses is rackboot's doing.
      Store.rawDb(store).exec(`SET synchronous_commit = on; DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database()); END $$`);
      const [A, B] = ['02:00:00:00:dd:01', '02:00:00:00:dd:02'];
      store.machines.create({ name: 'outage-a', macs: [A] });
      store.machines.create({ name: 'outage-b', macs: [B] });
      const { log, lines } = memoryLogger();
      const app = new TestAppliance('198.18.0.1', store, log);
      app.discover(A);
      const x = app.lastTo(A)!.yiaddr;
      app.request(A, x);
      await settle();
      expect(app.lastTo(A)).toMatchObject({ type: MSG.ACK, yiaddr: x });
      const stored = store.leases.get(x)!;

      await pg.kill();
      // B's exchange meets the outage: its ACK is withheld (not sent without its lease).
      app.discover(B);
      const y = app.lastTo(B)!.yiaddr;
      app.request(B, y);
      await settle();
      expect(app.lastTo(B)?.type).toBe(MSG.OFFER);
      await waitFor('the outage to be noticed', () => app.server.outage.down, 10_000, 50);
      // A renews: answered from memory for what its stored lease has left.
      app.renew(A, x);
      await settle();
      const renewed = app.lastTo(A)!;
      expect(renewed.type).toBe(MSG.ACK);
      expect(renewed.leaseSeconds).toBeLessThanOrEqual(Math.ceil((stored.expiresAt - Date.now()) / 1000));
      // B is not answered while the store is away.
      const sent = app.sent.length;
      app.discover(B);
      app.request(B, y);
      await settle();
      expect(app.sent.length).toBe(sent);
      expect(lines.filter((l) => /store unreachable/.test(String(l.msg)))).toHaveLength(1);

      await pg.start();
      await waitFor('the recovery line', () => lines.some((l) => /store reachable again/.test(String(l.msg))), 30_000, 100);
      app.discover(B);
      app.request(B, app.lastTo(B)!.yiaddr);
      await settle();
      expect(app.lastTo(B)?.type).toBe(MSG.ACK);
      // Every ACK the appliance sent is in the database as it promised (at least as long).
      for (const p of app.sent.filter((r) => r.options.get(53)?.[0] === MSG.ACK)) {
        const row = store.leases.get(p.yiaddr)!;
        const mac = [...p.chaddr.subarray(0, 6)].map((v) => v.toString(16).padStart(2, '0')).join(':');
        expect(row).toMatchObject({ mac, state: 'active' });
      }
      expect(lines.filter((l) => /store reachable again/.test(String(l.msg)))).toHaveLength(1);
      await app.server.close();
    } finally {
      store?.close();
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
