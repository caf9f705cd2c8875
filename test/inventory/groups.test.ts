import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { claimedMachine, usableSerial, usableUuid } from '../../src/inventory/identity.js';
import { SEALED } from '../../src/inventory/sealing.js';
import type { Store } from '../../src/inventory/store.js';
import { DIALECTS, type StoreDialect, useStores } from '../helpers/stores.js';
import { type GroupInput, groupSchema } from '../../src/model/group.js';

const group = (g: GroupInput) => groupSchema.parse(g);
const UUID = '4c4c4544-0042-3510-8052-b4c04f313233';

const stores = useStores();

async function storeWithProfile(dialect: StoreDialect): Promise<Store> {
  const store = await stores.fresh(dialect);
  store.profiles.create('p1', { os: 'testos', boot: 'network' } as never);
  return store;
}

describe.each(DIALECTS)('GroupRepo on %s', (dialect) => {
  it('creates, lists, replaces and removes groups; the BMC password is sealed and never shown', async () => {
    const store = await storeWithProfile(dialect);
    const r = store.groups.put(group({ name: 'big', selectors: ['facts.memory.gib>=64'], profile: 'p1', bmc: { username: 'admin', password: 's3cret' }, enroll: 'auto' }));
    expect(r.created).toBe(true);
    expect(r.group.bmc).toEqual({ type: 'ipmi', port: null, username: 'admin', password: SEALED });
    expect(JSON.stringify(store.groups.list())).not.toContain('s3cret');
    expect(store.groups.bmcCredentials('big')).toEqual({ type: 'ipmi', port: null, username: 'admin', password: 's3cret' });
    // SEALED (an export sent back) keeps the stored password.
    const again = store.groups.put(group({ name: 'big', selectors: ['facts.memory.gib>=128'], profile: 'p1', bmc: { username: 'root', password: SEALED } }));
    expect(again.created).toBe(false);
    expect(store.groups.bmcCredentials('big')?.password).toBe('s3cret');
    expect(store.groups.get('big').selectors).toEqual(['facts.memory.gib>=128']);
    expect(store.groups.parsed()[0]?.selectors).toEqual([{ key: 'facts.memory.gib', op: '>=', value: '128' }]);
    store.groups.remove('big');
    expect(store.groups.list()).toEqual([]);
  });

  it.each([
    ['an ambiguous pair, naming both', [group({ name: 'a', selectors: ['facts.x>=1'] }), group({ name: 'b', selectors: ['facts.x>=2'] })], 'CONFLICT', /groups a and b are ambiguous/],
    ['a missing profile', [group({ name: 'a', profile: 'nope' })], 'BAD_INPUT', /profile nope does not exist/],
    ['a sealed password with nothing stored', [group({ name: 'a', bmc: { username: 'u', password: SEALED } })], 'BAD_INPUT', /bmc.password is required/],
  ])('refuses %s and stores nothing', async (_, groups, code, message) => {
    const store = await storeWithProfile(dialect);
    store.groups.put(group({ name: 'keep', selectors: ['mac=52:54:00:00:00:01'] }));
    const before = store.groups.generation;
    let err: unknown;
    try {
      store.groups.putAll(groups);
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, code as 'CONFLICT')).toBe(true);
    expect((err as Error).message).toMatch(message);
    expect(store.groups.list().map((g) => g.name)).toEqual(['keep']);
    expect(store.groups.generation).toBeGreaterThan(before); // caches reload, nothing wrong kept
  });

  it('a new group ambiguous with a stored one is refused', async () => {
    const store = await storeWithProfile(dialect);
    store.groups.put(group({ name: 'rack1', selectors: ['labels.rack=r1'] }));
    expect(() => store.groups.put(group({ name: 'workers', selectors: ['labels.role=worker'] }))).toThrow(/groups rack1 and workers are ambiguous/);
    expect(() => store.groups.put(group({ name: 'rack2', selectors: ['labels.rack=r2'] }))).not.toThrow();
  });
});

describe('identity beyond MAC', () => {
  it.each([
    [UUID.toUpperCase(), UUID],
    [`{${UUID}}`, UUID],
    ['00000000-0000-0000-0000-000000000000', undefined],
    ['FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', undefined],
    ['not-a-uuid', undefined],
    [undefined, undefined],
  ])('usableUuid(%s) → %s', (raw, expected) => {
    expect(usableUuid(raw)).toBe(expected);
  });

  it.each([
    ['SN-1', 'SN-1'],
    ['  SN-1 ', 'SN-1'],
    ['To Be Filled By O.E.M.', undefined],
    ['Default string', undefined],
    ['0000', undefined],
    ['', undefined],
  ])('usableSerial(%j) → %s', (raw, expected) => {
    expect(usableSerial(raw)).toBe(expected);
  });
});

describe.each(DIALECTS)('identity beyond MAC on %s', (dialect) => {
  it('finds a machine by MAC, then UUID, then a serial only one machine has', async () => {
    const store = await stores.fresh(dialect);
    const m = store.machines.create({ name: 'n1', macs: ['52:54:00:00:00:01'], uuid: UUID.toUpperCase(), serial: 'SN-1' });
    store.machines.create({ name: 'n2', macs: ['52:54:00:00:00:02'], serial: 'DUP' });
    store.machines.create({ name: 'n3', macs: ['52:54:00:00:00:03'], serial: 'DUP' });
    expect(store.machines.findByIdentity({ mac: '52:54:00:00:00:01' })).toMatchObject({ by: 'mac', machine: { id: m.id } });
    expect(store.machines.findByIdentity({ mac: '52:54:00:00:00:99', uuid: UUID })).toMatchObject({ by: 'uuid', machine: { id: m.id } });
    expect(store.machines.findByIdentity({ serial: 'SN-1' })).toMatchObject({ by: 'serial', machine: { id: m.id } });
    expect(store.machines.findByIdentity({ serial: 'DUP' })).toBeUndefined();
    expect(store.machines.findByIdentity({ uuid: '00000000-0000-0000-0000-000000000000' })).toBeUndefined();
    expect(store.machines.identities()).toEqual([
      { id: m.id, uuid: UUID, serial: 'SN-1' },
      { id: m.id + 1, uuid: null, serial: 'DUP' },
      { id: m.id + 2, uuid: null, serial: 'DUP' },
    ]);
  });

  it('a claimed UUID or serial names the machine but attaches nothing (an operator confirms a NIC swap)', async () => {
    const store = await stores.fresh(dialect);
    const m = store.machines.create({ name: 'n1', macs: ['52:54:00:00:00:01'], uuid: UUID, serial: 'SN-1' });
    expect(claimedMachine(store, { uuid: UUID.toUpperCase() })).toMatchObject({ by: 'uuid', machine: { id: m.id } });
    expect(claimedMachine(store, { serial: 'SN-1' })).toMatchObject({ by: 'serial', machine: { id: m.id } });
    expect(claimedMachine(store, {})).toBeUndefined();
    expect(claimedMachine(store, { uuid: 'ffffffff-ffff-ffff-ffff-ffffffffffff' })).toBeUndefined();
    expect(store.machines.findByMac('52:54:00:00:00:aa')).toBeUndefined();
    expect(store.machines.get(m.id).macs).toEqual(['52:54:00:00:00:01']);
    // The operator's attach: once; a second time changes nothing.
    expect(store.machines.attachMac(m.id, '52:54:00:00:00:aa')).toBe(true);
    expect(store.machines.attachMac(m.id, '52:54:00:00:00:aa')).toBe(false);
    // A MAC another machine has is never taken over.
    store.machines.create({ name: 'n2', macs: ['52:54:00:00:00:02'] });
    expect(() => store.machines.attachMac(m.id, '52:54:00:00:00:02')).toThrow(/already belongs/);
  });
});
