import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { compareDrift, driftReport } from '../../src/rollout/drift.js';
import { inventoryVersions } from '../../src/rollout/versions.js';
import { FakeClock, SimFleet, profileVersions, seedFleet, sha, versionOf } from './fleet.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const at = (ms: number) => new Date(ms).toISOString();
const ev = (kind: string, detail: Record<string, unknown>, ms = 0) => ({ id: 1, at: at(ms), mac: null, machineId: 1, source: 'agent', kind, detail });

describe('compareDrift', () => {
  const desired = { imageDigest: `sha256:${A}`, configDigest: B };
  it.each([
    ['in sync', { digests: ev('report.ready', { imageDigest: A, configDigest: B }) }, [], []],
    ['config differs', { digests: ev('report.ready', { imageDigest: A, configDigest: A }) }, ['digest-mismatch'], [{ field: 'configDigest', desired: B, reported: A }]],
    ['image missing', { digests: ev('report.installed', { configDigest: B }) }, ['digest-mismatch'], [{ field: 'imageDigest', desired: A, reported: null }]],
    ['never reported', {}, ['never-configured'], []],
  ])('%s', (_n, last, reasons, differences) => {
    const l = { ...last, any: 'digests' in last ? last.digests : undefined };
    expect(compareDrift(desired, l, 1000, 60_000)).toEqual({ reasons, differences });
  });

  it('stale: silent longer than the limit', () => {
    const r = ev('report.ready', { imageDigest: A, configDigest: B }, 0);
    expect(compareDrift(desired, { digests: r, any: r }, 61_000, 60_000).reasons).toEqual(['stale']);
  });

  it.each([
    ['Ignition sha512 of the desired bytes: in sync', `sha512:${'c'.repeat(128)}`, []],
    ['other sha512: differs, shown in sha512', `sha512:${'d'.repeat(128)}`, [{ field: 'configDigest', desired: `sha512:${'c'.repeat(128)}`, reported: `sha512:${'d'.repeat(128)}` }]],
  ])('%s', (_n, configDigest, differences) => {
    const d = { ...desired, configAliases: [`sha512:${'c'.repeat(128)}`] };
    const r = ev('report.ready', { imageDigest: A, configDigest });
    expect(compareDrift(d, { digests: r, any: r }, 0, 60_000)).toEqual({ reasons: differences.length ? ['digest-mismatch'] : [], differences });
  });

  it('never given a version at all', () => {
    expect(compareDrift({ imageDigest: null, configDigest: null }, {}, 0, 1).reasons).toEqual(['never-configured']);
  });
});

describe('driftReport over the store', () => {
  it('lists machines whose reports differ, never configured, or stale; each with what differs', () => {
    const store = Store.memory();
    const clock = new FakeClock(Date.now());
    const fleet = new SimFleet(store, clock.now);
    seedFleet(store, fleet, 4, 'os-a');
    for (const n of ['m1', 'm2', 'm3']) fleet.report(store.machines.get(n), 'ready', 'os-a');
    // m2's config changed behind rackboot's back; m4 never phoned home
    const m2 = store.machines.get('m2');
    store.events.add({ machineId: m2.id, source: 'agent', kind: 'report.ready', detail: { imageDigest: sha('image:os-a').slice(7), configDigest: A } });
    const versions = profileVersions(() => store);
    const items = driftReport(store, versions, { now: clock.now(), staleAfterMs: 3600_000 });
    expect(items.map((i) => [i.machine, i.reasons])).toEqual([
      ['m2', ['digest-mismatch']],
      ['m4', ['never-configured']],
    ]);
    expect(items[0]!.differences).toEqual([{ field: 'configDigest', desired: versionOf(store, m2, 'os-a').configDigest!.slice(7), reported: A }]);
    // an hour later everyone who reported is stale too
    const later = driftReport(store, versions, { now: clock.now() + 3601_000, staleAfterMs: 3600_000 });
    expect(later.map((i) => i.machine)).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(later[0]!.reasons).toEqual(['stale']);
  });

  it('with inventory versions: desired image from the profile, desired config from the config service', () => {
    const store = Store.memory();
    const fleet = new SimFleet(store, Date.now);
    seedFleet(store, fleet, 1, 'os-a');
    const versions = inventoryVersions(store, (ref) => (ref.startsWith('sha256:') ? ref.slice(7) : undefined));
    const m1 = store.machines.get('m1');
    expect(versions.current(m1)).toMatchObject({ profile: 'os-a', imageDigest: sha('image:os-a').slice(7), configDigest: null });
    store.events.add({ machineId: m1.id, source: 'agent', kind: 'report.ready', detail: { imageDigest: B, configDigest: A } });
    const [item] = driftReport(store, versions, { staleAfterMs: 3600_000 });
    expect(item).toMatchObject({ machine: 'm1', reasons: ['digest-mismatch'], differences: [{ field: 'imageDigest', reported: B }] });
    // resolve/assign: a pinned revision must be current; assigning asks for a network install
    expect(() => versions.resolve(m1, { profile: 'os-b', revision: 9 })).toThrow(/revision 1, not 9/);
    versions.assign(m1, versions.resolve(m1, { profile: 'os-b' }));
    expect(store.machines.get('m1')).toMatchObject({ profile: 'os-b', state: 'registered' });
  });

  it('an Ignition node reporting the sha512 of its stored config version is in sync (issue #16)', () => {
    const store = Store.memory();
    const fleet = new SimFleet(store, Date.now);
    seedFleet(store, fleet, 1, 'os-a');
    const m1 = store.machines.get('m1');
    const body = Buffer.from('{"ignition":{"version":"3.4.0"}}\n');
    const sha256 = createHash('sha256').update(body).digest('hex');
    const { version } = store.configs.saveVersion({ machineId: m1.id, machineName: 'm1', profile: 'os-a', profileRevision: 1, format: 'ignition', contentType: 'application/json', body, sha256, meta: {} });
    store.configs.setDesired(m1.id, version.id);
    const versions = inventoryVersions(store, (ref) => (ref.startsWith('sha256:') ? ref.slice(7) : undefined));
    const image = sha('image:os-a').slice(7);
    const sha512 = `sha512:${createHash('sha512').update(body).digest('hex')}`;
    store.events.add({ machineId: m1.id, source: 'agent', kind: 'report.ready', detail: { imageDigest: image, configDigest: sha512 } });
    expect(driftReport(store, versions, { staleAfterMs: 3600_000 })).toEqual([]);
    expect(versions.expected(m1, versions.current(m1))).toEqual({ imageDigest: image, configDigest: sha256, configAliases: [sha512] });
    store.events.add({ machineId: m1.id, source: 'agent', kind: 'report.ready', detail: { imageDigest: image, configDigest: `sha512:${'0'.repeat(128)}` } });
    const [item] = driftReport(store, versions, { staleAfterMs: 3600_000 });
    expect(item?.differences).toEqual([{ field: 'configDigest', desired: sha512, reported: `sha512:${'0'.repeat(128)}` }]);
  });
});
