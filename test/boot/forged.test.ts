import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssetRegistry } from '../../src/assets/index.js';
import { MAX_FACTS_BYTES } from '../../src/http/routes/report.js';
import { silentLogger } from '../../src/log.js';
import { grubTftpHandler } from '../../src/secureboot/tftp.js';
import { fakeAssetsDir } from '../assets/fixture.js';
import { testApp } from '../helpers/app.js';

/**
 * Forged requests from another host on the boot network (issue #15): the victim's lease says
 * 198.18.0.11; the attacker at 198.18.0.66 knows the victim's MAC (and harvests its tokens).
 */
type T = Awaited<ReturnType<typeof testApp>>;
let t: T;
let fx: ReturnType<typeof fakeAssetsDir>;
beforeEach(async () => {
  fx = fakeAssetsDir();
  t = await testApp({ assetsDir: fx.dir, dataDir: fx.dataDir });
});
afterEach(async () => {
  await t.app.close();
});

const MAC = '52:54:00:00:0f:01';
const VICTIM = '198.18.0.11';
const ATTACKER = '198.18.0.66';

async function victim(spec: Record<string, unknown> = { os: 'testos' }) {
  const h = t.auth;
  expect((await t.app.inject({ method: 'POST', url: '/api/v1/profiles', headers: h, payload: { name: 'p', spec } })).statusCode).toBe(201);
  expect((await t.app.inject({ method: 'POST', url: '/api/v1/machines', headers: h, payload: { name: 'victim', macs: [MAC], profile: 'p' } })).statusCode).toBe(201);
  // rackboot leased VICTIM to the MAC (full mode), and another address to the attacker.
  const lease = (ip: string, mac: string) => ({ ip, mac, clientId: mac, hostname: null, state: 'active' as const, expiresAt: Date.now() + 3_600_000, updatedAt: Date.now() });
  t.store.leases.put(lease(VICTIM, MAC));
  t.store.leases.put(lease(ATTACKER, '52:54:00:00:0a:01')); // the attacker's own lease
  return t.store.machines.get('victim');
}

const get = (url: string, remoteAddress: string) => t.app.inject({ method: 'GET', url, remoteAddress });
const report = (token: string, payload: object, remoteAddress: string) =>
  t.app.inject({ method: 'POST', url: '/api/v1/report', headers: { authorization: `Bearer ${token}` }, payload, remoteAddress });
const argOf = (script: string, key: string) => /^kernel .*$/m.exec(script)?.[0].split(' ').find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1) as string;
const refusals = (id: number) => t.store.events.list({ machineId: id, kind: 'security.refused' }).map((e) => e.detail);

describe('forged requests from another host', () => {
  it('the boot script goes only to the leased address (also as ::ffff:); a forged one mints nothing and is traced', async () => {
    const m = await victim();
    const forged = await get(`/boot.ipxe?mac=${MAC}`, ATTACKER);
    expect(forged.statusCode).toBe(403);
    expect(forged.body).not.toMatch(/rackboot\.(token|config)=/);
    expect(forged.body).toMatch(/^#!ipxe/);
    expect(t.store.machines.get(m.id).state).toBe('registered');
    expect(t.store.events.list({ machineId: m.id, kind: 'boot.script' })).toEqual([]);
    expect(t.store.configs.listVersions(m.id)).toEqual([]);
    expect(refusals(m.id)).toEqual([{ what: 'boot-script', reason: 'lease-mismatch', client: ATTACKER }]);
    expect(t.store.sightings.refusals(m.id)).toBe(1);
    expect((await get(`/boot/${MAC.replaceAll(':', '-')}.ipxe`, '198.18.0.67')).statusCode).toBe(403);
    expect(refusals(m.id)[1]).toEqual({ what: 'boot-script', reason: 'unbound-source', client: '198.18.0.67' });

    const real = await get(`/boot.ipxe?mac=${MAC}`, `::ffff:${VICTIM}`);
    expect(real.statusCode).toBe(200);
    expect(argOf(real.body, 'rackboot.token')).toMatch(/^[0-9]+_[A-Za-z0-9_-]{43}$/);
  });

  it('a harvested config token from another address is refused without spending it', async () => {
    const m = await victim();
    const script = (await get(`/boot.ipxe?mac=${MAC}`, VICTIM)).body;
    const path = new URL(argOf(script, 'rackboot.config')).pathname;
    const stolen = await get(path, ATTACKER);
    expect(stolen.statusCode).toBe(403);
    expect(stolen.json().error).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'lease-mismatch' } });
    expect(stolen.body).not.toContain('rackboot');
    expect(refusals(m.id)).toEqual([{ what: 'config', reason: 'lease-mismatch', client: ATTACKER }]);
    expect((await get(path, VICTIM)).statusCode).toBe(200); // still good for the machine itself
  });

  it('a forged ready/failed report with a harvested token changes nothing; the machine still reports', async () => {
    const m = await victim();
    const token = argOf((await get(`/boot.ipxe?mac=${MAC}`, VICTIM)).body, 'rackboot.token');
    for (const phase of ['ready', 'failed']) {
      const r = await report(token, { phase }, ATTACKER);
      expect(r.statusCode, phase).toBe(403);
    }
    expect(t.store.machines.get(m.id).state).toBe('booting');
    expect(t.store.events.list({ machineId: m.id }).filter((e) => e.kind.startsWith('report.'))).toEqual([]);
    expect(refusals(m.id).map((d) => d.what)).toEqual(['report', 'report']);
    expect((await report(token, { phase: 'booting' }, VICTIM)).json().state).toBe('booting');
  });

  it('every network boot rotates the report token: the previous one stops working', async () => {
    await victim();
    const first = argOf((await get(`/boot.ipxe?mac=${MAC}`, VICTIM)).body, 'rackboot.token');
    expect((await report(first, { phase: 'booting' }, VICTIM)).statusCode).toBe(200);
    const second = argOf((await get(`/boot.ipxe?mac=${MAC}`, VICTIM)).body, 'rackboot.token');
    expect(second).not.toBe(first);
    expect((await report(first, { phase: 'booting' }, VICTIM)).statusCode).toBe(403);
    expect((await report(second, { phase: 'booting' }, VICTIM)).statusCode).toBe(200);
  });

  it('facts are capped at 64 KiB (413) and replaced, not merged', async () => {
    const m = await victim();
    const token = argOf((await get(`/boot.ipxe?mac=${MAC}`, VICTIM)).body, 'rackboot.token');
    const big = await report(token, { phase: 'booting', facts: { junk: 'x'.repeat(MAX_FACTS_BYTES) } }, VICTIM);
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(t.store.machines.get(m.id).facts).not.toHaveProperty('junk');
    expect((await report(token, { phase: 'booting', facts: { old: 1, cpus: 2 } }, VICTIM)).statusCode).toBe(200);
    expect((await report(token, { phase: 'booting', facts: { cpus: 4 } }, VICTIM)).statusCode).toBe(200);
    const facts = t.store.machines.get(m.id).facts;
    expect(facts).toMatchObject({ cpus: 4 });
    expect(facts).not.toHaveProperty('old');
  });

  it('GRUB configs by MAC or by IP (HTTP and TFTP) go only to the bound address', async () => {
    const m = await victim({ chain: 'secureboot', os: 'testos' });
    const hexIp = VICTIM.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join('').toUpperCase();
    expect((await get(`/grub/grub.cfg-01-${MAC.replaceAll(':', '-')}`, ATTACKER)).statusCode).toBe(403);
    expect((await get(`/grub/grub.cfg-${hexIp}`, ATTACKER)).statusCode).toBe(403);
    const h = grubTftpHandler({ store: t.store, settings: t.settings, log: silentLogger(), assets: new AssetRegistry(fx.dir, fx.dataDir) }, () => 'http://198.18.0.1:8080');
    expect(await h.open(`grub/grub.cfg-${hexIp}`, { address: ATTACKER, port: 2000 })).toBeNull();
    expect(await h.open(`grub/grub.cfg-01-${MAC.replaceAll(':', '-')}`, { address: ATTACKER, port: 2000, mac: MAC })).toBeNull();
    expect(refusals(m.id).map((d) => [d.what, d.client])).toEqual(Array(4).fill(['grub-config', ATTACKER]));
    expect(t.store.events.list({ machineId: m.id, kind: 'boot.script' })).toEqual([]);
    const own = await h.open(`grub/grub.cfg-${hexIp}`, { address: VICTIM, port: 2000 });
    expect(String(own?.stream)).toMatch(/^if ! linux /m);
  });

  it('bootBinding: off (NAT lab) serves any source', async () => {
    await victim({ os: 'testos', bootBinding: 'off' });
    const r = await get(`/boot.ipxe?mac=${MAC}`, '10.0.2.2');
    expect(r.statusCode).toBe(200);
    expect((await get(new URL(argOf(r.body, 'rackboot.config')).pathname, '10.0.2.2')).statusCode).toBe(200);
  });

  it('an unlabelled machine on a Talos profile is refused its cluster secrets, with an event', async () => {
    const talos = {
      machineType: 'controlplane',
      cluster: { name: 'alpha', endpoint: 'https://198.18.0.5:6443' },
      secrets: { machineToken: 'mt', machineCa: { crt: 'Y3J0', key: 'S0VZLVNFQ1JFVA==' }, clusterToken: 'abcdef.0123456789abcdef' },
    };
    const m = await victim({ os: 'talos', talos });
    const r = await get(`/boot.ipxe?mac=${MAC}`, VICTIM);
    expect(r.body).not.toContain('rackboot.config=');
    expect(r.body).toContain('no cluster label');
    expect(t.store.events.list({ machineId: m.id, kind: 'boot.error' })[0]?.detail).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/labels\.cluster/) });
    expect(t.store.configs.listVersions(m.id)).toEqual([]);
  });
});
