import { afterEach, describe, expect, it } from 'vitest';
import { type BmcCandidate, bmcProbe, discoverBmc } from '../../src/bmc/discovery.js';
import { bmcSettingsSchema } from '../../src/bmc/settings.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { startRedfishMock } from '../bmc/helpers/redfish-mock.js';

/** BMC discovery against the DMTF Redfish mockup server (test/bmc/helpers/redfish-mock.ts). */
const settings = bmcSettingsSchema.parse({ timeoutMs: 1000, retries: 0 });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function mock(b: Parameters<typeof startRedfishMock>[0] = {}) {
  const m = await startRedfishMock(b);
  cleanups.push(m.close);
  return { ...m, port: Number(new URL(m.url).port) };
}

function setup() {
  const store = Store.memory();
  const m = store.machines.create({ name: 'n1', macs: ['52:54:00:19:0d:01'], profile: null, state: 'discovered' });
  return { store, m, deps: { store, probe: bmcProbe(settings, silentLogger()), log: silentLogger() } };
}

const candidate = (port: number, password = 'pw'): BmcCandidate => ({ type: 'redfish', address: '127.0.0.1', port, username: 'admin', password, options: { scheme: 'http' } });

describe('discoverBmc with the real Redfish probe', () => {
  it.each([
    ['a SessionService login', {}],
    ['Basic auth (no SessionService)', { noSessions: true }],
  ])('verifies the credentials (%s), then saves the BMC with its password sealed', async (_what, b) => {
    const rf = await mock(b);
    const { store, m, deps } = setup();
    const out = await discoverBmc(deps, m.id, candidate(rf.port));
    expect(out).toEqual({ result: 'saved', address: '127.0.0.1', type: 'redfish' });
    expect(store.bmcs.get(m.id)).toMatchObject({ type: 'redfish', address: '127.0.0.1', port: rf.port, username: 'admin', options: { scheme: 'http' } });
    expect(store.bmcs.credentials(m.id).password).toBe('pw');
    const ev = store.events.list({ machineId: m.id, kind: 'bmc.discovery' });
    expect(ev.map((e) => e.detail)).toEqual([{ result: 'saved', address: '127.0.0.1', type: 'redfish', username: 'admin' }]);
    expect(JSON.stringify(ev)).not.toContain('"pw"');
  });

  it.each([
    ['a wrong password (session login)', {}, 'BMC_AUTH_FAILED'],
    ['a wrong password (Basic only)', { noSessions: true }, 'BMC_AUTH_FAILED'],
  ])('refuses %s and saves nothing', async (_what, b, code) => {
    const rf = await mock(b);
    const { store, m, deps } = setup();
    const out = await discoverBmc(deps, m.id, candidate(rf.port, 'wrong'));
    expect(out).toMatchObject({ result: 'refused', address: '127.0.0.1', code });
    expect(store.bmcs.find(m.id)).toBeUndefined();
    expect(JSON.stringify(store.events.list({ machineId: m.id }))).not.toContain('wrong');
  });

  it('refuses an address where no BMC answers', async () => {
    const rf = await mock();
    await rf.close();
    cleanups.length = 0;
    const { store, m, deps } = setup();
    const out = await discoverBmc(deps, m.id, candidate(rf.port));
    expect(out).toMatchObject({ result: 'refused', code: expect.stringMatching(/^BMC_/) });
    expect(store.bmcs.find(m.id)).toBeUndefined();
  });

  it('keeps a BMC an operator already set (never probes over it)', async () => {
    const { store, m } = setup();
    store.bmcs.set(m.id, { type: 'ipmi', address: '198.18.0.9', port: 623, username: 'ops', password: 'ops-pw' });
    let probed = 0;
    const out = await discoverBmc({ store, probe: async () => void probed++ }, m.id, candidate(1));
    expect(out).toEqual({ result: 'kept', address: '198.18.0.9' });
    expect(probed).toBe(0);
    expect(store.bmcs.credentials(m.id)).toMatchObject({ address: '198.18.0.9', password: 'ops-pw' });
  });
});
