import { describe, expect, it } from 'vitest';
import { type BatchTimers, type GroupedWrite, TurnBatcher } from '../../src/dhcp/batch.js';
import type { LeaseClaimOutcome, LeaseClaimWrite } from '../../src/inventory/leases.js';
import type { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { DIALECTS, useStores } from '../helpers/stores.js';

// Issue #20: a turn's lease claims go to the database in one statement (LeaseRepo.claimMany)
// through the batcher's grouped writes. Here the batcher runs on a real store and its replies
// are compared with the per-row path (each claim its own statement, as before): the same
// outcome for every write, the same rows, and a write with bad data withheld alone.
const stores = useStores();
const NOW = 500_000;
const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';

/** Timers that run the batch when told to (one turn). */
const manualTimers = () => {
  const due: Array<() => void> = [];
  const timers: BatchTimers = { now: () => 0, immediate: (fn) => due.push(fn), later: (fn) => due.push(fn) };
  return { timers, turn: () => due.splice(0).forEach((fn) => fn()) };
};

const write = (ip: string, mac: string | null, o: { state?: 'active' | 'released'; now?: number } = {}): LeaseClaimWrite => ({
  lease: { ip, mac: mac as string, clientId: mac as string, hostname: null, state: o.state ?? 'active', expiresAt: NOW + 600_000, updatedAt: o.now ?? NOW },
  claim: { owner: mac as string, mac: mac as string, reserved: false },
  now: o.now ?? NOW,
});

/** Granted, lost (B's running lease), one address three times (C, then A loses to C, then C releases), and a row with no MAC (NOT NULL). */
const batch: LeaseClaimWrite[] = [
  write('198.18.3.1', A),
  write('198.18.3.2', A),
  write('198.18.3.6', C),
  write('198.18.3.9', null),
  write('198.18.3.6', A, { now: NOW + 1 }),
  write('198.18.3.3', B),
  write('198.18.3.6', C, { state: 'released', now: NOW + 2 }),
];

/** Runs `batch` through a TurnBatcher on `store`; each write's reply as text ('withheld' when its write failed). */
const runBatch = (store: Store, grouped: boolean): string[] => {
  const { timers, turn } = manualTimers();
  const b = new TurnBatcher((fn) => store.transaction(fn), silentLogger(), 0, timers);
  b.failures = { failed: () => {}, succeeded: () => {} };
  const claims: GroupedWrite<LeaseClaimWrite, LeaseClaimOutcome> = { many: (w) => store.leases.claimMany(w), one: (w) => store.leases.claimOne(w) };
  const replies: string[] = batch.map(() => 'none');
  const show = (o: LeaseClaimOutcome | undefined) => (!o ? 'no claim' : o.won ? 'ACK' : `NAK (held by ${o.holder?.clientId} ${o.holder?.state})`);
  batch.forEach((w, i) => {
    const failed = () => {
      replies[i] = 'withheld';
    };
    if (grouped) b.addGrouped(claims, () => w, (o) => (replies[i] = show(o)), failed);
    else b.add(() => store.leases.claimOne(w), (o) => (replies[i] = show(o)), failed);
  });
  turn();
  return replies;
};

describe.each(DIALECTS)('lease claims batched in one statement on %s (issue #20)', (dialect) => {
  it('granted, lost, repeated and failing writes get the replies of the per-row path, and the same rows', async () => {
    const grouped = await stores.fresh(dialect);
    const perRow = await stores.fresh(dialect);
    for (const s of [grouped, perRow]) s.leases.put({ ...write('198.18.3.2', B).lease, expiresAt: NOW + 60_000 });
    const got = runBatch(grouped, true);
    expect(got).toEqual(runBatch(perRow, false));
    expect(got).toEqual([
      'ACK',
      `NAK (held by ${B} active)`,
      'ACK',
      'withheld',
      `NAK (held by ${C} active)`,
      'ACK',
      'ACK',
    ]);
    expect(grouped.leases.all()).toEqual(perRow.leases.all());
    expect(grouped.leases.get('198.18.3.6')).toMatchObject({ clientId: C, state: 'released' });
  });

  it('claimBatch (what the DHCP server uses on this store) gives the same outcomes as claimMany', async () => {
    const a = await stores.fresh(dialect);
    const b = await stores.fresh(dialect);
    const good = batch.filter((w) => w.lease.mac !== null);
    expect(a.transaction(() => a.leases.claimBatch(good))).toEqual(b.transaction(() => b.leases.claimMany(good)));
  });
});
