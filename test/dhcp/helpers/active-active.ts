import { expect } from 'vitest';
import { MSG } from '../../../src/dhcp/options.js';
import type { Store } from '../../../src/inventory/store.js';
import { silentLogger } from '../../../src/log.js';
import { TestAppliance, settle } from './appliances.js';

/** Two store connections to one database (SQLite file or PostgreSQL): two appliances' views. */
export type StoreFactory = () => readonly [Store, Store] | Promise<readonly [Store, Store]>;

const macOf = (i: number) => `02:00:00:00:aa:${i.toString(16).padStart(2, '0')}`;

/**
 * Issue #20: two appliances offer the same address to two clients (neither knows the other's
 * offer); both clients REQUEST it. Exactly one is ACKed and the other NAKed, the stored lease is
 * the winner's, and the losing appliance offers its client another address next time.
 */
export async function raceForOneAddress(open: StoreFactory): Promise<void> {
  const [s1, s2] = await open();
  const [A, B] = [macOf(1), macOf(2)];
  s1.machines.create({ name: 'race-a', macs: [A] });
  s1.machines.create({ name: 'race-b', macs: [B] });
  const apps = [new TestAppliance('198.18.0.1', s1, silentLogger()), new TestAppliance('198.18.0.2', s2, silentLogger())] as const;
  apps[0].discover(A);
  apps[1].discover(B);
  const x = apps[0].lastTo(A)!.yiaddr;
  expect(apps[1].lastTo(B)!.yiaddr).toBe(x);
  apps[0].request(A, x);
  apps[1].request(B, x);
  await settle();
  const types = [apps[0].lastTo(A)!.type, apps[1].lastTo(B)!.type];
  expect([...types].sort()).toEqual([MSG.ACK, MSG.NAK].sort());
  const [winner, loser, loserApp] = types[0] === MSG.ACK ? [A, B, apps[1]] : [B, A, apps[0]];
  expect(s1.leases.get(x)).toMatchObject({ mac: winner, state: 'active' });
  expect(s2.leases.get(x)).toMatchObject({ mac: winner, state: 'active' });
  // The loser's appliance learned the row that won: its next offer is another address, and it holds.
  loserApp.discover(loser);
  const y = loserApp.lastTo(loser)!.yiaddr;
  expect(y).not.toBe(x);
  loserApp.request(loser, y);
  await settle();
  expect(loserApp.lastTo(loser)).toMatchObject({ type: MSG.ACK, yiaddr: y });
  expect(s1.leases.get(y)).toMatchObject({ mac: loser, state: 'active' });
  for (const a of apps) await a.server.close();
}

/**
 * Issue #20: `clients` clients DISCOVER on a segment both appliances serve (each hears every
 * broadcast, in a different order), take one appliance's offer, REQUEST it (the other appliance
 * hears that and forgets its offer) and start over after a NAK. Ends with every client bound,
 * no address ACKed to two clients by either appliance, and the database agreeing.
 */
export async function twoApplianceAvalanche(open: StoreFactory, o: { clients: number; startOffsets: [number, number] }): Promise<{ lostClaims: number }> {
  const [s1, s2] = await open();
  const macs = Array.from({ length: o.clients }, (_, i) => macOf(0x10 + i));
  for (const mac of macs) s1.machines.create({ name: `aa-${mac.replaceAll(':', '')}`, macs: [mac] });
  const apps = [
    new TestAppliance('198.18.0.1', s1, silentLogger(), { startOffset: o.startOffsets[0] }),
    new TestAppliance('198.18.0.2', s2, silentLogger(), { startOffset: o.startOffsets[1] }),
  ] as const;
  const bound = new Map<string, string>();
  for (let round = 0; round < 4 * o.clients && bound.size < macs.length; round++) {
    const pending = macs.filter((m) => !bound.has(m));
    for (const m of pending) apps[0].discover(m);
    for (const m of [...pending].reverse()) apps[1].discover(m);
    const chosen = new Map<string, TestAppliance>();
    pending.forEach((m, i) => {
      // The client takes one appliance's offer (alternating), the other's if it made none.
      const order = i % 2 === 0 ? [apps[0], apps[1]] : [apps[1], apps[0]];
      const app = order.find((a) => a.lastTo(m)?.type === MSG.OFFER);
      if (!app) return;
      chosen.set(m, app);
      const ip = app.lastTo(m)!.yiaddr;
      // The REQUEST is broadcast: both appliances hear it, each in its own order.
      for (const a of apps) a.request(m, ip, app.serverId);
    });
    await settle();
    for (const [m, app] of chosen) {
      const r = app.lastTo(m)!;
      if (r.type === MSG.ACK) bound.set(m, r.yiaddr);
    }
  }
  expect(bound.size).toBe(macs.length);
  expect(new Set(bound.values()).size).toBe(macs.length);
  // Over every ACK either appliance sent, an address went to one MAC only.
  const holder = new Map<string, string>();
  for (const a of apps) {
    for (const p of a.sent) {
      if (p.options.get(53)?.[0] !== MSG.ACK) continue;
      const mac = [...p.chaddr.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
      expect(holder.get(p.yiaddr) ?? mac, `${p.yiaddr} ACKed to two clients`).toBe(mac);
      holder.set(p.yiaddr, mac);
    }
  }
  for (const [mac, ip] of bound) expect(s2.leases.get(ip)).toMatchObject({ mac, state: 'active' });
  const lostClaims = apps[0].server.storeStats.lostClaims + apps[1].server.storeStats.lostClaims;
  for (const a of apps) await a.server.close();
  return { lostClaims };
}
