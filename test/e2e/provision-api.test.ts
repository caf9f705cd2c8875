import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';

/**
 * POST /api/v1/machines/:ref/provision without a VM: input errors, and a BMC that does not
 * answer (the inventory change stays, the error says to power-cycle by hand). The full flow
 * through a real vBMC is in lab.test.ts.
 */
type T = Awaited<ReturnType<typeof testApp>>;
let t: T;
beforeEach(async () => {
  t = await testApp({ bmc: { timeoutMs: 200, retries: 0 } });
  t.store.profiles.create('p1', { boot: 'network', chain: 'ipxe', os: 'testos', initrd: [], cmdline: '', requireSecureBoot: false, install: { image: 'sha256:' + 'a'.repeat(64), disk: '/dev/vda' } });
  t.store.profiles.create('p2', { boot: 'network', chain: 'ipxe', os: 'testos', initrd: [], cmdline: 'v2', requireSecureBoot: false });
  const m = t.store.machines.create({ name: 'vm1', macs: ['52:54:00:00:00:01'], profile: 'p1', state: 'ready' });
  // Nothing listens on port 9 of 127.0.0.1: every IPMI datagram goes unanswered.
  t.store.bmcs.set(m.id, { type: 'ipmi', address: '127.0.0.1', port: 9, username: 'admin', password: 'x' });
  t.store.machines.create({ name: 'nobmc', macs: ['52:54:00:00:00:02'], profile: 'p1', state: 'ready' });
  t.store.machines.create({ name: 'noprofile', macs: ['52:54:00:00:00:03'] });
});
afterEach(async () => {
  await t.app.close();
});

const post = (ref: string, payload: unknown) =>
  t.app.inject({ method: 'POST', url: `/api/v1/machines/${ref}/provision`, headers: t.auth, payload: payload as object });

describe('POST /api/v1/machines/:ref/provision', () => {
  it('rejects bad input with the usual error codes', async () => {
    expect((await post('nosuch', {})).statusCode).toBe(404);
    const bad = await post('vm1', { profile: 1 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('BAD_INPUT');
    expect((await post('vm1', { extra: true })).statusCode).toBe(400);
    expect((await post('vm1', { profile: 'nosuch' })).statusCode).toBe(404);
    const nobmc = await post('nobmc', {});
    expect(nobmc.statusCode).toBe(409);
    expect(nobmc.json().error.message).toContain('no BMC');
    expect(t.store.machines.get('nobmc').state).toBe('ready');
    expect((await post('noprofile', {})).statusCode).toBe(409);
    const unauth = await t.app.inject({ method: 'POST', url: '/api/v1/machines/vm1/provision', payload: {} });
    expect(unauth.statusCode).toBe(401);
  });

  it('records the request and the new profile even when the BMC does not answer', async () => {
    const r = await post('vm1', { profile: 'p2' });
    expect(r.statusCode).toBeGreaterThanOrEqual(500);
    expect(r.json().error.code).toMatch(/^BMC_/);
    expect(r.json().error.message).toContain('power-cycle it by hand');
    const m = t.store.machines.get('vm1');
    expect(m).toMatchObject({ profile: 'p2', state: 'registered' });
    const kinds = t.store.events.list({ machineId: m.id }).map((e) => e.kind);
    expect(kinds).toContain('provision.requested');
    expect(kinds).toContain('bmc.error');
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: t.auth })).json();
    expect(Object.keys(doc.paths)).toContain('/api/v1/machines/{ref}/provision');
  });
});
