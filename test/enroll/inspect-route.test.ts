import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssetRegistry } from '../../src/assets/index.js';
import { type BmcCandidate, type BmcProbe, discoverBmc } from '../../src/bmc/discovery.js';
import { AppError } from '../../src/errors.js';
import { type AppDeps, buildApp } from '../../src/http/app.js';
import { inspectionScript } from '../../src/http/routes/inspect.js';
import { MAX_INSPECTION_BYTES } from '../../src/http/routes/inspect-report.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { defaultSettings } from '../../src/settings.js';
import { fakeAssetsDir } from '../assets/fixture.js';

const MAC = '52:54:00:19:00:01';
const HOME = '198.18.0.21';
const STRANGER = '198.18.0.66';
const GiB = 1024 ** 3;

let app: FastifyInstance;
let store: Store;
let deps: AppDeps;
let probed: BmcCandidate[];
let probeFails: boolean;
const admin = { authorization: 'Bearer test-token' };

beforeEach(async () => {
  const fx = fakeAssetsDir();
  store = Store.memory();
  probed = [];
  probeFails = false;
  const bmcProbe: BmcProbe = async (c) => {
    probed.push(c);
    if (probeFails) throw new AppError('BMC_AUTH_FAILED', 'RAKP 2: wrong password');
    return undefined;
  };
  const settings = defaultSettings({ http: { publicUrl: 'http://198.18.0.1:8080' }, assetsDir: fx.dir, dataDir: fx.dataDir });
  deps = { settings, store, log: silentLogger(), adminToken: 'test-token', bmcDiscovery: (id, c) => discoverBmc({ store, probe: bmcProbe }, id, c) };
  app = await buildApp(deps);
  for (const name of ['small', 'big']) {
    expect((await app.inject({ method: 'POST', url: '/api/v1/profiles', headers: admin, payload: { name, spec: { os: 'testos' } } })).statusCode).toBe(201);
  }
});
afterEach(async () => {
  await app.close();
});

/** A discovered machine (as DHCP discovery leaves it), its lease, and a fresh inspection boot's token. */
function discovered(facts: Record<string, unknown> = { arch: 0, relayAgent: null }) {
  const m = store.machines.create({ name: `discovered-${MAC.replaceAll(':', '')}`, macs: [MAC], state: 'discovered', facts });
  store.leases.put({ ip: HOME, mac: MAC, clientId: MAC, hostname: null, state: 'active', expiresAt: Date.now() + 3_600_000, updatedAt: Date.now() });
  const script = inspectionScript(deps, new AssetRegistry(deps.settings.assetsDir, deps.settings.dataDir), m, MAC, 'http://198.18.0.1:8080');
  const token = /rackboot\.token=([A-Za-z0-9_-]{43})/.exec(script)?.[1] as string;
  expect(script).toContain('rackboot.inspect=http://198.18.0.1:8080/api/v1/inspection');
  return { m, token, script };
}

function report(memGiB = 1, over: Record<string, unknown> = {}) {
  return {
    version: 1,
    system: { uuid: '1c0f6a52-0000-4000-8000-000000000001', serial: 'SN-SMALL-1', vendor: 'QEMU', product: 'Standard PC (i440FX + PIIX, 1996)' },
    cpu: { count: 1, model: 'QEMU Virtual CPU' },
    memory: { bytes: memGiB * GiB },
    disks: [{ name: 'vda', sizeBytes: 64 * 1024 * 1024, model: '', serial: 'disk0', rotational: true }],
    nics: [{ name: 'eth0', mac: MAC, driver: 'virtio_net', link: true, speedMbps: null }],
    firmware: { mode: 'bios', secureBoot: null },
    bmc: null,
    kernel: '6.1.0-50-amd64',
    ...over,
  };
}

const post = (token: string, payload: unknown, remoteAddress = HOME) =>
  app.inject({ method: 'POST', url: '/api/v1/inspection', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), remoteAddress });

async function groups(list: unknown[]) {
  for (const g of list) store.groups.put(g as Parameters<Store['groups']['put']>[0]);
}

const BY_MEMORY = [
  { name: 'small', selectors: ['facts.memory.gib<2'], profile: 'small', labels: { size: 'small' }, hostnameTemplate: 'small-{{serial}}', bmc: null, enroll: 'auto' },
  { name: 'big', selectors: ['facts.memory.gib>=2'], profile: 'big', labels: { size: 'big' }, hostnameTemplate: null, bmc: null, enroll: 'auto' },
];

describe('inspection report', () => {
  it('stores the report with history, replaces the facts, enrolls by the matching group and spends the token', async () => {
    await groups(BY_MEMORY);
    const { m, token } = discovered({ arch: 0, vendorClass: 'PXEClient', relayAgent: { circuitId: '657468302e3130', remoteId: null } });
    const r = await post(token, report(1));
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ machine: 'small-sn-small-1', state: 'registered', enrollment: { result: 'enrolled', group: 'small', profile: 'small' }, bmc: null, next: 'reboot' });
    const after = store.machines.get(m.id);
    expect(after).toMatchObject({ name: 'small-sn-small-1', profile: 'small', labels: { size: 'small' }, state: 'registered', uuid: '1c0f6a52-0000-4000-8000-000000000001', serial: 'SN-SMALL-1' });
    // Replaced, not merged: DHCP's vendorClass is gone; the relay evidence stays.
    expect(after.facts).not.toHaveProperty('vendorClass');
    expect(after.facts).toMatchObject({ source: 'inspection', memory: { bytes: GiB, gib: 1 }, disks: { count: 1 }, relayAgent: { circuitId: '657468302e3130' } });
    expect(store.inspections.list(m.id)).toHaveLength(1);
    expect(store.events.list({ machineId: m.id, kind: 'machine.enrolled' }).map((e) => e.detail)).toEqual([{ group: 'small', profile: 'small', name: 'small-sn-small-1', by: 'inspection' }]);
    // One report per inspection boot.
    expect((await post(token, report(1))).statusCode).toBe(403);
    expect(store.inspections.list(m.id)).toHaveLength(1);
  });

  it('matches the other group by memory', async () => {
    await groups(BY_MEMORY);
    const { m, token } = discovered();
    expect((await post(token, report(4))).json()).toMatchObject({ enrollment: { result: 'enrolled', group: 'big' }, next: 'reboot' });
    expect(store.machines.get(m.id)).toMatchObject({ profile: 'big', name: m.name });
  });

  it.each([
    ['manual group', [{ ...BY_MEMORY[0], enroll: 'manual' }], { result: 'matched', group: 'small' }],
    ['no group matches', [BY_MEMORY[1]], { result: 'unmatched' }],
  ])('%s: facts stored, no profile, the image powers off', async (_what, set, outcome) => {
    await groups(set);
    const { m, token } = discovered();
    const r = await post(token, report(1));
    expect(r.json()).toMatchObject({ enrollment: outcome, next: 'poweroff', state: 'discovered' });
    expect(store.machines.get(m.id)).toMatchObject({ profile: null, state: 'discovered', facts: { memory: { gib: 1 } } });
    expect(store.inspections.list(m.id)).toHaveLength(1);
  });

  it.each([
    ['not JSON', '{"version":1,'],
    ['wrong version', report(1, { version: 2 })],
    ['memory missing', (() => { const { memory: _m, ...r } = report(1); return r; })()],
    ['negative disk size', report(1, { disks: [{ name: 'vda', sizeBytes: -1 }] })],
    ['bad NIC MAC', report(1, { nics: [{ name: 'eth0', mac: 'not-a-mac' }] })],
    ['unknown field', report(1, { extra: true })],
    ['BMC address not IPv4', report(1, { bmc: { address: 'bmc.example' } })],
    ['an array', [1, 2, 3]],
  ])('malformed (%s): 400 with our error body, nothing stored', async (_what, body) => {
    await groups(BY_MEMORY);
    const { m, token } = discovered();
    const before = store.machines.get(m.id);
    const r = await post(token, body);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('BAD_INPUT');
    expect(store.inspections.list(m.id)).toEqual([]);
    expect(store.machines.get(m.id)).toEqual(before);
    expect(store.events.list({ machineId: m.id, kind: 'inspect.report' })).toEqual([]);
  });

  it('a report over 64 KiB is refused with 413, nothing stored', async () => {
    const { m, token } = discovered();
    const nics = Array.from({ length: 60 }, (_, i) => ({ name: `eth${i}`, mac: MAC, driver: 'x'.repeat(64), link: true, speedMbps: 1000 }));
    const disks = Array.from({ length: 256 }, (_, i) => ({ name: `sd${i}`, sizeBytes: 1, model: 'm'.repeat(128), serial: 's'.repeat(128), rotational: false }));
    const body = JSON.stringify(report(1, { nics, disks }));
    expect(body.length).toBeGreaterThan(MAX_INSPECTION_BYTES);
    const r = await post(token, body);
    expect(r.statusCode).toBe(413);
    expect(r.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(store.inspections.list(m.id)).toEqual([]);
  });

  it('refuses a missing or unknown token and a report from another address', async () => {
    const { m, token } = discovered();
    expect((await app.inject({ method: 'POST', url: '/api/v1/inspection', payload: report(1), remoteAddress: HOME })).statusCode).toBe(401);
    expect((await post('x'.repeat(43), report(1))).statusCode).toBe(403);
    const stolen = await post(token, report(1), STRANGER);
    expect(stolen.statusCode).toBe(403);
    expect(store.events.list({ machineId: m.id, kind: 'security.refused' }).map((e) => e.detail)).toEqual([{ what: 'report', reason: 'unbound-source', client: STRANGER }]);
    expect(store.inspections.list(m.id)).toEqual([]);
    expect((await post(token, report(1))).statusCode).toBe(200);
  });

  it('an inspect-flagged machine with a profile keeps it: facts refreshed, flag cleared', async () => {
    await groups(BY_MEMORY);
    const m0 = store.machines.create({ name: 'n1', macs: [MAC], profile: 'big', labels: { inspect: 'true', rack: 'r1' }, state: 'installed' });
    store.leases.put({ ip: HOME, mac: MAC, clientId: MAC, hostname: null, state: 'active', expiresAt: Date.now() + 3_600_000, updatedAt: Date.now() });
    const token = /rackboot\.token=(\S+)/.exec(inspectionScript(deps, new AssetRegistry(deps.settings.assetsDir, deps.settings.dataDir), m0, MAC, 'http://198.18.0.1:8080'))?.[1] as string;
    expect((await post(token, report(1))).json()).toMatchObject({ enrollment: { result: 'kept' }, next: 'poweroff' });
    expect(store.machines.get(m0.id)).toMatchObject({ profile: 'big', labels: { rack: 'r1' }, state: 'installed', facts: { memory: { gib: 1 } } });
  });

  it('keeps the last 10 reports of a machine', async () => {
    const { m } = discovered();
    for (let i = 0; i < 12; i++) {
      const token = /rackboot\.token=(\S+)/.exec(inspectionScript(deps, new AssetRegistry(deps.settings.assetsDir, deps.settings.dataDir), store.machines.get(m.id), MAC, 'http://198.18.0.1:8080'))?.[1] as string;
      expect((await post(token, report(1, { cpu: { count: i + 1 } }))).statusCode).toBe(200);
    }
    const r = await app.inject({ method: 'GET', url: `/api/v1/machines/${m.name}/inspections`, headers: admin });
    expect(r.statusCode).toBe(200);
    const items = r.json().items as Array<{ facts: { cpu: { count: number } } }>;
    expect(items.map((i) => i.facts.cpu.count)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
  });
});

describe('BMC discovery after an inspection', () => {
  const withBmc = [{ ...BY_MEMORY[0], bmc: { type: 'ipmi', port: 623, username: 'admin', password: 'sekrit' } }];

  it('verifies the group credentials at the inspected address, then saves the BMC (password sealed)', async () => {
    await groups(withBmc);
    const { m, token } = discovered();
    const r = await post(token, report(1, { bmc: { address: '198.18.0.200', mac: '52:54:00:19:00:ff', channel: 1 } }));
    expect(r.json()).toMatchObject({ bmc: { result: 'saved', address: '198.18.0.200', type: 'ipmi' } });
    expect(probed).toEqual([{ type: 'ipmi', port: 623, username: 'admin', password: 'sekrit', address: '198.18.0.200' }]);
    expect(store.bmcs.get(m.id)).toMatchObject({ type: 'ipmi', address: '198.18.0.200', port: 623, username: 'admin' });
    expect(store.bmcs.credentials(m.id).password).toBe('sekrit');
    const ev = store.events.list({ machineId: m.id, kind: 'bmc.discovery' });
    expect(JSON.stringify(ev)).not.toContain('sekrit');
  });

  it('saves nothing when the BMC refuses the credentials', async () => {
    await groups(withBmc);
    probeFails = true;
    const { m, token } = discovered();
    const r = await post(token, report(1, { bmc: { address: '198.18.0.200' } }));
    expect(r.json()).toMatchObject({ bmc: { result: 'refused', code: 'BMC_AUTH_FAILED' }, enrollment: { result: 'enrolled' } });
    expect(store.bmcs.find(m.id)).toBeUndefined();
  });

  it('an app built without BMC discovery saves no BMC', async () => {
    await groups(withBmc);
    await app.close();
    const { bmcDiscovery: _d, ...rest } = deps;
    deps = rest;
    app = await buildApp(deps);
    const { m, token } = discovered();
    expect((await post(token, report(1, { bmc: { address: '198.18.0.200' } }))).json()).toMatchObject({ bmc: null, enrollment: { result: 'enrolled' } });
    expect(store.bmcs.find(m.id)).toBeUndefined();
    expect(probed).toEqual([]);
  });

  it('no BMC address in the report: nothing probed', async () => {
    await groups(withBmc);
    const { token } = discovered();
    expect((await post(token, report(1))).json()).toMatchObject({ bmc: null });
    expect(probed).toEqual([]);
  });
});
