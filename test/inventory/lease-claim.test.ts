import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LeaseClaim, type StoredLeaseView, mayWriteLease } from '../../src/inventory/lease-claim.js';
import { Store } from '../../src/inventory/store.js';

const NOW = 1_000_000;
const A = { owner: 'client-a', mac: '02:00:00:00:00:0a', reserved: false } satisfies LeaseClaim;
const row = (clientId: string | null, mac: string, state: string, expiresAt: number): StoredLeaseView => ({ clientId, mac, state, expiresAt });

// One row per situation a lease write can meet (issue #20: the database decides who gets an address).
const cases: Array<[string, StoredLeaseView | undefined, LeaseClaim, boolean]> = [
  ['no row yet', undefined, A, true],
  ["the client's own active lease (renewal)", row('client-a', A.mac, 'active', NOW + 60_000), A, true],
  ["the client's own lease by MAC when no client id was stored", row(null, 'client-a', 'active', NOW + 60_000), { ...A, mac: 'client-a' }, true],
  ["another client's active lease", row('client-b', '02:00:00:00:00:0b', 'active', NOW + 60_000), A, false],
  ["another client's lease that ends right now", row('client-b', '02:00:00:00:00:0b', 'active', NOW), A, true],
  ["another client's expired lease", row('client-b', '02:00:00:00:00:0b', 'expired', NOW + 60_000), A, true],
  ["another client's released lease", row('client-b', '02:00:00:00:00:0b', 'released', NOW + 60_000), A, true],
  ['a declined address in quarantine', row('declined:client-b', '02:00:00:00:00:0b', 'declined', NOW + 60_000), A, false],
  ['a declined address after its quarantine', row('declined:client-b', '02:00:00:00:00:0b', 'declined', NOW - 1), A, true],
  ['the declining client quarantines its own address', row('client-a', A.mac, 'active', NOW + 60_000), A, true],
  ["a reservation: another boot stage (client id) of the machine's MAC", row('edk2-id', A.mac, 'active', NOW + 60_000), { ...A, reserved: true }, true],
  ['not a reservation: the same MAC under another client id', row('edk2-id', A.mac, 'active', NOW + 60_000), A, false],
  ["a reservation does not take another MAC's lease", row('client-b', '02:00:00:00:00:0b', 'active', NOW + 60_000), { ...A, reserved: true }, false],
  ['a reservation does not end a quarantine', row('declined:edk2-id', A.mac, 'declined', NOW + 60_000), { ...A, reserved: true }, false],
];

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('lease claims (who may write the lease of an address)', () => {
  it.each(cases)('%s', (_name, stored, claim, allowed) => {
    expect(mayWriteLease(stored, claim, NOW)).toBe(allowed);
  });

  it('LeaseRepo.claim (the conditional upsert) decides every row as mayWriteLease does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-claim-'));
    dirs.push(dir);
    const store = Store.open(dir);
    try {
      cases.forEach(([, stored, claim], i) => {
        const ip = `198.18.7.${i + 1}`;
        if (stored) store.leases.put({ ip, mac: stored.mac, clientId: stored.clientId ?? stored.mac, hostname: null, state: stored.state as 'active', expiresAt: stored.expiresAt, updatedAt: 1 });
        // A NULL client_id is what rows written before option 61 was stored hold.
        if (stored?.clientId === null) Store.rawDb(store).prepare('UPDATE leases SET client_id = NULL WHERE ip = ?').run(ip);
        const wrote = store.leases.claim({ ip, mac: claim.mac, clientId: claim.owner, hostname: null, state: 'active', expiresAt: NOW + 600_000, updatedAt: 2 }, claim, NOW);
        expect([i, wrote]).toEqual([i, mayWriteLease(stored, claim, NOW)]);
        const now = store.leases.get(ip)!;
        // A refused claim leaves the row exactly as it was.
        expect([i, now.updatedAt]).toEqual([i, wrote ? 2 : 1]);
      });
    } finally {
      store.close();
    }
  });
});
