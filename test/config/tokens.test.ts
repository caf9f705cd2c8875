import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConfigDeps, prepareBootConfig, verifyReportToken } from '../../src/config/index.js';
import { type AppDeps, buildApp } from '../../src/http/app.js';
import type { Machine } from '../../src/inventory/machines.js';
import { configDeps, tokenOf } from './helpers.js';
import { Store } from '../../src/inventory/store.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function setup(http: Record<string, unknown> = {}, spec: Record<string, unknown> = { os: 'testos' }) {
  const deps = configDeps(http);
  deps.store.profiles.create('lab', { boot: 'network', chain: 'ipxe', initrd: [], cmdline: '', requireSecureBoot: false, os: 'testos', ...spec });
  const m: Machine = deps.store.machines.create({ name: 'node-1', macs: ['52:54:00:00:00:01'], profile: 'lab' });
  deps.store.machines.create({ name: 'node-2', macs: ['52:54:00:00:00:02'], profile: 'lab' });
  // inject() requests come from 127.0.0.1: bind both machines there, as a ProxyDHCP exchange would.
  for (const mac of ['52:54:00:00:00:01', '52:54:00:00:00:02']) deps.store.sightings.note(mac, '127.0.0.1', clockStart);
  // The clock travels with the deps, so the routes see the injected time too.
  app = await buildApp({ ...deps, adminToken: 'admin' } as AppDeps & ConfigDeps);
  return { deps, m, app };
}

const clockStart = Date.parse('2025-01-01T00:00:00Z');
const kinds = (deps: ConfigDeps, kind: string) => deps.store.events.list({ kind });

describe('per-boot config tokens', () => {
  it('serves the exact stored bytes once, then answers a replay with 403 and records both', async () => {
    const { deps, m, app } = await setup();
    const boot = prepareBootConfig(deps, m);
    const url = `/config/${tokenOf(boot.configUrl)}?mac=52-54-00-00-00-01`;
    expect((await app.inject({ method: 'HEAD', url })).statusCode).toBe(404); // a HEAD must not spend the token
    const first = await app.inject({ method: 'GET', url });
    expect(first.statusCode).toBe(200);
    expect(first.headers.etag).toBe(`"sha256:${boot.sha256}"`);
    expect(first.headers['x-config-sha256']).toBe(boot.sha256);
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.rawPayload.equals(deps.store.configs.getVersion(boot.versionId).body)).toBe(true);
    const replay = await app.inject({ method: 'GET', url });
    expect(replay.statusCode).toBe(403);
    expect(replay.json()).toMatchObject({ error: { code: 'FORBIDDEN', details: { reason: 'used' } } });
    expect(kinds(deps, 'config.served')).toMatchObject([{ machineId: m.id, detail: { versionId: boot.versionId, sha256: boot.sha256 } }]);
    expect(kinds(deps, 'config.denied')).toMatchObject([{ machineId: m.id, detail: { reason: 'used' } }]);
  });

  it('answers a MAC that is not the token machine with 403 without spending the token', async () => {
    const { deps, m, app } = await setup();
    const token = tokenOf(prepareBootConfig(deps, m).configUrl);
    for (const mac of ['52:54:00:00:00:02', '52:54:00:00:00:99', 'garbage']) {
      const r = await app.inject({ method: 'GET', url: `/config/${token}?mac=${mac}` });
      expect(r.statusCode).toBe(403);
      expect(r.json().error.details.reason).toBe('wrong-mac');
    }
    expect((await app.inject({ method: 'GET', url: `/config/${token}?mac=52:54:00:00:00:01` })).statusCode).toBe(200);
    expect(kinds(deps, 'config.denied')).toHaveLength(3);
  });

  it('expires tokens after the TTL (injected clock)', async () => {
    const { deps, m, app } = await setup({ configTokenTtlSeconds: 60 });
    const a = tokenOf(prepareBootConfig(deps, m).configUrl);
    const b = tokenOf(prepareBootConfig(deps, m).configUrl);
    deps.clock.now += 59_000;
    expect((await app.inject({ method: 'GET', url: `/config/${a}` })).statusCode).toBe(200);
    deps.clock.now += 1_000;
    const late = await app.inject({ method: 'GET', url: `/config/${b}` });
    expect(late.statusCode).toBe(403);
    expect(late.json().error.details.reason).toBe('expired');
  });

  it('allows configTokenUses fetches when configured', async () => {
    const { deps, m, app } = await setup({ configTokenUses: 2 });
    const t = tokenOf(prepareBootConfig(deps, m).configUrl);
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await app.inject({ method: 'GET', url: `/config/${t}` })).statusCode);
    expect(codes).toEqual([200, 200, 403]);
  });

  it('answers unknown and malformed tokens with 403', async () => {
    const { deps, app } = await setup();
    for (const t of ['x'.repeat(43), 'short', 'a%20b']) {
      expect((await app.inject({ method: 'GET', url: `/config/${t}` })).statusCode).toBe(403);
    }
    expect(kinds(deps, 'config.denied').every((e) => e.detail.reason === 'unknown-token')).toBe(true);
  });

  it('serves the NoCloud seed (meta-data, user-data, vendor-data) as one boot', async () => {
    const { deps, m, app } = await setup({}, { os: 'cloudinit', cloudInit: { userData: { packages: ['jq'] } } });
    const boot = prepareBootConfig(deps, m);
    const t = tokenOf(boot.configUrl);
    const meta = await app.inject({ method: 'GET', url: `/config/${t}/meta-data` });
    expect(meta.statusCode).toBe(200);
    expect(meta.body).toContain('local-hostname: node-1');
    const user = await app.inject({ method: 'GET', url: `/config/${t}/user-data` });
    expect(user.headers.etag).toBe(`"sha256:${boot.sha256}"`);
    expect(user.body.startsWith('#cloud-config\n')).toBe(true);
    expect((await app.inject({ method: 'GET', url: `/config/${t}/vendor-data` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/config/${t}/user-data` })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: `/config/${t}/network-config` })).statusCode).toBe(400);
  });

  it('verifies report tokens (multi-use, not interchangeable with config tokens, expiring)', async () => {
    const { deps, m } = await setup();
    const boot = prepareBootConfig(deps, m);
    expect(verifyReportToken(deps, boot.reportToken)).toEqual({ machineId: m.id, versionId: boot.versionId });
    expect(verifyReportToken(deps, boot.reportToken)).toEqual({ machineId: m.id, versionId: boot.versionId });
    expect(() => verifyReportToken(deps, tokenOf(boot.configUrl))).toThrow(/report token/);
    expect(() => verifyReportToken(deps, 'nope')).toThrow(/report token/);
    // The installed OS reports with it on every boot: still valid after a month, gone after the TTL.
    deps.clock.now += 30 * 86_400_000;
    expect(verifyReportToken(deps, boot.reportToken).machineId).toBe(m.id);
    deps.clock.now += deps.settings.http.reportTokenTtlSeconds * 1000;
    expect(() => verifyReportToken(deps, boot.reportToken)).toThrow(/report token/);
  });

  it('stores only token hashes', async () => {
    const { deps, m } = await setup();
    const boot = prepareBootConfig(deps, m);
    const dump = JSON.stringify(Store.rawDb(deps.store).prepare('SELECT * FROM config_tokens').all());
    expect(dump).not.toContain(tokenOf(boot.configUrl));
    expect(dump).not.toContain(boot.reportToken);
  });
});
