import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findDrift, nextMachineState } from '../../src/http/routes/report.js';
import { fakeAssetsDir } from '../assets/fixture.js';
import { testApp } from '../helpers/app.js';

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

const MAC = '52:54:00:00:01:01';

/** Registers a machine, fetches its boot script and returns the tokens/digests the script carries. */
async function boot(spec: Record<string, unknown> = { os: 'testos' }) {
  const h = t.auth;
  expect((await t.app.inject({ method: 'POST', url: '/api/v1/profiles', headers: h, payload: { name: 'p', spec } })).statusCode).toBe(201);
  expect((await t.app.inject({ method: 'POST', url: '/api/v1/machines', headers: h, payload: { name: 'node', macs: [MAC], profile: 'p' } })).statusCode).toBe(201);
  t.store.sightings.note(MAC, '127.0.0.1', Date.now()); // inject() comes from 127.0.0.1: bind the machine there
  const script = (await t.app.inject({ method: 'GET', url: `/boot.ipxe?mac=${MAC}` })).body;
  const arg = (k: string) => /^kernel .*$/m.exec(script)?.[0].split(' ').find((w) => w.startsWith(`${k}=`))?.slice(k.length + 1) as string;
  return { token: arg('rackboot.token'), configSha: arg('rackboot.config_sha256') };
}

const report = (token: string | undefined, payload: unknown) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/report',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    payload: payload as object,
  });

describe('nextMachineState (pure)', () => {
  it.each([
    ['booting', 'booting', false, 'booting'],
    ['booting', 'configured', false, 'configured'],
    ['configured', 'installing', false, 'installing'],
    ['installing', 'installed', false, 'installed'],
    ['booting', 'installed', false, 'installed'],
    ['installed', 'ready', false, 'ready'],
    ['ready', 'ready', false, 'ready'],
    ['ready', 'ready', true, 'drifted'],
    ['drifted', 'ready', false, 'ready'],
    ['installing', 'failed', false, 'failed'],
    ['ready', 'failed', true, 'failed'],
    ['failed', 'failed', false, 'failed'],
  ] as const)('%s + %s (drift %s) → %s', (from, phase, drift, want) => {
    expect(nextMachineState(from, phase, drift)).toBe(want);
  });
  it('refuses a backward move (stale or replayed report)', () => {
    expect(() => nextMachineState('ready', 'configured', false)).toThrow(/not allowed for a machine in state ready/);
  });
  it('findDrift compares only what was reported and is known, in the reported algorithm', () => {
    const d = (c: string, algorithm: 'sha256' | 'sha512' = 'sha256') => ({ algorithm, hex: c.repeat(algorithm === 'sha256' ? 64 : 128) });
    const config = [d('a'), d('a', 'sha512')];
    expect(findDrift({}, { config, image: [d('b')] })).toEqual([]);
    expect(findDrift({ configDigest: d('a'), imageDigest: d('c') }, { config, image: [d('b')] })).toEqual([{ field: 'imageDigest', want: 'b'.repeat(64), got: 'c'.repeat(64) }]);
    expect(findDrift({ configDigest: d('a', 'sha512') }, { config, image: [] })).toEqual([]);
    expect(findDrift({ configDigest: d('e', 'sha512') }, { config, image: [] })).toEqual([{ field: 'configDigest', want: `sha512:${'a'.repeat(128)}`, got: `sha512:${'e'.repeat(128)}` }]);
    // A SHA-512 against a desired side known only by SHA-256 cannot be shown to match.
    expect(findDrift({ configDigest: d('a', 'sha512') }, { config: [d('a')], image: [] })).toHaveLength(1);
  });
});

describe('POST /api/v1/report', () => {
  it('moves the machine booting → configured → ready, stores facts, uuid and serial, and traces events', async () => {
    const { token, configSha } = await boot();
    const facts = { macs: [MAC], cpus: 2, memoryBytes: 536870912, disks: [{ name: 'vda', sizeBytes: 1 << 30 }], uuid: '5c1f0a1e-0000-4000-8000-000000000001', serial: 'RB-0001', firmware: 'bios', secureBoot: null };
    expect((await report(token, { phase: 'booting', facts, message: 'up' })).json()).toMatchObject({ state: 'booting', drift: [] });
    expect((await report(token, { phase: 'configured', configDigest: `sha256:${configSha}` })).json().state).toBe('configured');
    expect((await report(token, { phase: 'ready', configDigest: configSha })).json().state).toBe('ready');
    const m = t.store.machines.get('node');
    expect(m).toMatchObject({ state: 'ready', uuid: facts.uuid, serial: 'RB-0001' });
    expect(m.facts).toMatchObject({ cpus: 2, memoryBytes: 536870912, macs: [MAC] });
    const kinds = t.store.events.list({ machineId: m.id }).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['boot.script', 'report.booting', 'report.configured', 'report.ready']));
    expect(kinds.indexOf('boot.script')).toBeLessThan(kinds.indexOf('report.booting'));
  });

  it('a config digest that differs from the desired version marks the machine drifted', async () => {
    const { token } = await boot();
    const r = await report(token, { phase: 'ready', configDigest: 'e'.repeat(64) });
    expect(r.json().state).toBe('drifted');
    expect(r.json().drift[0]).toMatchObject({ field: 'configDigest', got: 'e'.repeat(64) });
    expect(t.store.machines.get('node').state).toBe('drifted');
    expect(t.store.events.list({ kind: 'machine.drifted' })).toHaveLength(1);
  });

  it('an Ignition node reports the SHA-512 Ignition logged for the config bytes; a mismatch is drift', async () => {
    const { token } = await boot();
    const body = t.store.configs.findVersion(t.store.configs.desired(t.store.machines.get('node').id)?.id as number)?.body as Buffer;
    const good = `sha512:${createHash('sha512').update(body).digest('hex')}`;
    expect((await report(token, { phase: 'configured', configDigest: good })).json()).toMatchObject({ state: 'configured', drift: [] });
    expect((await report(token, { phase: 'ready', configDigest: `sha512:${'0'.repeat(128)}` })).json().state).toBe('drifted');
  });

  it('an image digest that differs from the profile install image marks the machine drifted', async () => {
    const { token } = await boot({ os: 'testos', install: { image: 'big.raw' } });
    const good = fx.assets['big.raw']?.sha256;
    expect((await report(token, { phase: 'installed', imageDigest: `sha256:${good}` })).json().state).toBe('installed');
    expect((await report(token, { phase: 'ready', imageDigest: `sha256:${'1'.repeat(64)}` })).json().state).toBe('drifted');
  });

  it('token and body checks: none 401, wrong 403, bad body 400, backward move 409', async () => {
    const { token } = await boot();
    expect((await report(undefined, { phase: 'booting' })).statusCode).toBe(401);
    expect((await report('x'.repeat(43), { phase: 'booting' })).statusCode).toBe(403);
    expect((await report(t.auth.authorization.slice(7), { phase: 'booting' })).statusCode).toBe(403);
    for (const bad of [{}, { phase: 'dancing' }, { phase: 'ready', configDigest: 'md5:abc' }, { phase: 'ready', extra: 1 }, { phase: 'ready', facts: [] }]) {
      const r = await report(token, bad);
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
      expect(r.json().error.code).toBe('BAD_INPUT');
    }
    const notJson = await t.app.inject({ method: 'POST', url: '/api/v1/report', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: '{nope' });
    expect(notJson.statusCode).toBe(400);
    expect((await report(token, { phase: 'ready' })).statusCode).toBe(200);
    expect((await report(token, { phase: 'configured' })).statusCode).toBe(409);
    expect(t.store.machines.get('node').state).toBe('ready');
  });
});
