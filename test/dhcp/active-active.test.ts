import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChangeSource, followChanges } from '../../src/dhcp/change-feed.js';
import { MSG } from '../../src/dhcp/options.js';
import { CHANGE_CHANNEL } from '../../src/inventory/pg-notify.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { FakeDhcpInventory } from '../fakes/dhcp-inventory.js';
import { memoryLogger } from '../fakes/log.js';
import { waitFor } from '../helpers/netns.js';
import { TestAppliance, settle } from './helpers/appliances.js';
import { raceForOneAddress, twoApplianceAvalanche } from './helpers/active-active.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Two connections to one SQLite file: two appliances sharing one inventory (in one process). */
const sqliteFile = (): readonly [Store, Store] => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-aa-'));
  const stores = [Store.open(dir), Store.open(dir)] as const;
  cleanups.push(() => {
    for (const s of stores) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return stores;
};

describe('two DHCP appliances on one SQLite inventory (issue #20)', () => {
  it('both offer the same address; exactly one REQUEST is ACKed, the other NAKed, and the loser learns the address is taken', async () => {
    await raceForOneAddress(sqliteFile);
  });

  it('an avalanche of clients over both appliances: no address ACKed to two clients, every client bound in the end', async () => {
    // Both searches start at the pool's first address: their offers meet, the database sorts them out.
    const met = await twoApplianceAvalanche(sqliteFile, { clients: 14, startOffsets: [0, 0] });
    expect(met.lostClaims).toBeGreaterThan(0);
    // Searches starting apart (as on PostgreSQL: by server address), in a pool nearly full.
    await twoApplianceAvalanche(sqliteFile, { clients: 14, startOffsets: [0, 8] });
  });
});

describe('change notifications keep an appliance current (issue #20)', () => {
  it("another appliance's lease is not offered again, and a machine another appliance registered is answered", async () => {
    const [s1, s2] = sqliteFile();
    const A = '02:00:00:00:bb:01';
    const B = '02:00:00:00:bb:02';
    s1.machines.create({ name: 'feed-a', macs: [A] });
    const app = new TestAppliance('198.18.0.1', s1, silentLogger());
    const listeners: Array<(p: string) => void> = [];
    const source: ChangeSource = {
      listen: (channel, on) => {
        expect(channel).toBe(CHANGE_CHANNEL);
        listeners.push(on);
        return () => {};
      },
      notify: (_channel, payload) => {
        for (const l of listeners) l(payload);
      },
    };
    followChanges(source, app.server, silentLogger());
    const notify = (payload: unknown) => {
      for (const l of listeners) l(JSON.stringify(payload));
    };
    // The other appliance ACKed the pool's first address to some client: announced, not offered here.
    notify({ t: 'lease', ip: '198.18.0.100', mac: '02:00:00:00:bb:99', clientId: 'other', hostname: null, state: 'active', expiresAt: Date.now() + 600_000, updatedAt: Date.now() });
    app.discover(A);
    expect(app.lastTo(A)?.yiaddr).toBe('198.18.0.101');
    // A machine registered through the other appliance (its own connection): answered once announced.
    const b = s2.machines.create({ name: 'feed-b', macs: [B] });
    app.discover(B);
    expect(app.lastTo(B)).toBeUndefined();
    notify({ t: 'machine', id: b.id });
    notify('garbage');
    app.discover(B);
    expect(app.lastTo(B)?.type).toBe(MSG.OFFER);
    await app.server.close();
  });
});

describe('a reload after missed notifications (issue #20)', () => {
  it('a reload whose lease read fails still has the hosts read again: a machine registered meanwhile is answered', async () => {
    const [s1, s2] = sqliteFile();
    const B = '02:00:00:00:bc:02';
    const app = new TestAppliance('198.18.0.1', s1, silentLogger());
    app.discover('02:00:00:00:bc:01'); // the first lookup reads every host
    // Registered through the other appliance while this one's notifications were lost.
    s2.machines.create({ name: 'missed', macs: [B] });
    app.discover(B);
    expect(app.lastTo(B)).toBeUndefined();
    const all = s1.leases.all.bind(s1.leases);
    s1.leases.all = () => {
      throw Object.assign(new Error('PostgreSQL unreachable'), { code: 'STORE_UNAVAILABLE' });
    };
    expect(() => app.server.resync()).toThrow(/unreachable/);
    s1.leases.all = all;
    app.discover(B);
    expect(app.lastTo(B)?.type).toBe(MSG.OFFER);
    await app.server.close();
  });
});

/** A fake inventory whose store can be switched off, as a lost PostgreSQL server looks to DHCP. */
class SwitchableInventory extends FakeDhcpInventory {
  down = false;
  override transaction<T>(fn: () => T): T {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 198.18.0.9:5432'), { code: 'STORE_UNAVAILABLE' });
    return super.transaction(fn);
  }
}

describe('DHCP while the store is unreachable (issue #20 outage policy)', () => {
  const A = '02:00:00:00:0a:01';
  const NEW = '02:00:00:00:0a:02';
  const T0 = Date.parse('2026-03-01T00:00:00Z');

  it('renews a stored lease from memory for the time it has left, does not grant new addresses, logs the outage and the recovery once', async () => {
    const store = new SwitchableInventory();
    store.addHost({ machineId: 1, mac: A, ipv4: null, profile: null, state: 'registered' });
    store.addHost({ machineId: 2, mac: NEW, ipv4: null, profile: null, state: 'registered' });
    // A's lease is stored until T0 + 300 s.
    store.leaseRows.push({ ip: '198.18.0.100', mac: A, clientId: A, hostname: null, state: 'active', expiresAt: T0 + 300_000, updatedAt: T0 - 300_000 });
    let now = T0;
    const { log, lines } = memoryLogger();
    const app = new TestAppliance('198.18.0.1', store, log, { clock: () => now });

    // The outage shows at the first commit that fails: NEW's ACK is withheld, not sent.
    store.down = true;
    app.discover(NEW);
    const offered = app.lastTo(NEW)!.yiaddr;
    app.request(NEW, offered);
    await settle();
    expect(app.lastTo(NEW)!.type).toBe(MSG.OFFER);
    expect(app.server.outage.down).toBe(true);

    // While down: A's renewal is ACKed for what its stored lease has left (120 s later: 180 s).
    now = T0 + 120_000;
    app.renew(A, '198.18.0.100');
    await settle();
    expect(app.lastTo(A)).toEqual({ type: MSG.ACK, yiaddr: '198.18.0.100', leaseSeconds: 180 });
    // Nothing new: NEW's DISCOVER and REQUEST are not answered (it retransmits), nothing is written.
    const before = app.sent.length;
    app.discover(NEW);
    app.request(NEW, offered);
    await settle();
    expect(app.sent.length).toBe(before);
    expect(store.leaseRows).toHaveLength(1);
    expect(app.server.storeStats.storeDown).toBe(2);
    // One error line for the whole outage, none per packet.
    expect(lines.filter((l) => l.level === 50)).toHaveLength(1);
    expect(lines.find((l) => l.level === 50)?.msg).toMatch(/store unreachable/);

    // The store returns: one recovery line, and NEW is granted an address again.
    store.down = false;
    await waitFor('the recovery line', () => lines.some((l) => /store reachable again/.test(String(l.msg))), 10_000, 50);
    expect(lines.filter((l) => /store reachable again/.test(String(l.msg)))).toHaveLength(1);
    app.discover(NEW);
    app.request(NEW, app.lastTo(NEW)!.yiaddr);
    await settle();
    expect(app.lastTo(NEW)?.type).toBe(MSG.ACK);
    expect(store.leaseRows.at(-1)).toMatchObject({ mac: NEW, state: 'active' });
    await app.server.close();
  });

  it('an ACK whose commit failed when the store went away leaves memory as the database has it', async () => {
    const store = new SwitchableInventory();
    store.addHost({ machineId: 1, mac: A, ipv4: null, profile: null, state: 'registered' });
    store.leaseRows.push({ ip: '198.18.0.100', mac: A, clientId: A, hostname: null, state: 'active', expiresAt: T0 + 300_000, updatedAt: T0 });
    let now = T0 + 1000;
    const app = new TestAppliance('198.18.0.1', store, silentLogger(), { clock: () => now });
    store.down = true;
    // The renewal goes to the batch (the outage is not known yet) and its commit fails: no ACK.
    app.renew(A, '198.18.0.100');
    await settle();
    expect(app.sent).toHaveLength(0);
    // Memory kept the stored end (T0 + 300 s), not the 600 s the failed write asked for.
    now = T0 + 200_000;
    app.renew(A, '198.18.0.100');
    await settle();
    expect(app.lastTo(A)).toEqual({ type: MSG.ACK, yiaddr: '198.18.0.100', leaseSeconds: 100 });
    await app.server.close();
  });
});
