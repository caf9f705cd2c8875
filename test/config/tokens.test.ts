import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ConfigDeps, prepareBootConfig, verifyReportToken } from '../../src/config/index.js';
import { formatToken, hashSecret, hashToken, newTokenSecret, tokenKey } from '../../src/config/tokens.js';
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
    for (const t of [tokenOf(boot.configUrl), boot.reportToken]) expect(dump).not.toContain(t.split('_').slice(1).join('_'));
  });
});

describe('token ids (migration 016: <id>_<secret>, the row keyed by id, the secret hashed)', () => {
  const secret = newTokenSecret();

  it.each([
    ['an id and a secret', `12_${secret}`, { id: 12, secretHash: hashSecret(secret) }],
    ['the largest id (15 digits)', `999999999999999_${secret}`, { id: 999_999_999_999_999, secretHash: hashSecret(secret) }],
    ['a token from before 016 (43 characters)', secret, { legacyHash: hashToken(secret) }],
    ['a secret that starts with digits and _', `7_12_${secret.slice(3)}`, { id: 7, secretHash: hashSecret(`12_${secret.slice(3)}`) }],
    ['id 0', `0_${secret}`, undefined],
    ['a leading zero', `07_${secret}`, undefined],
    ['a negative id', `-7_${secret}`, undefined],
    ['16 digits (beyond a safe integer)', `${'9'.repeat(16)}_${secret}`, undefined],
    ['a short secret', `7_${secret.slice(1)}`, undefined],
    ['a long secret', `7_${secret}A`, undefined],
    ['no secret', '7_', undefined],
    ['another separator', `7.${secret}`, undefined],
    ['percent-encoding', `7_${secret.slice(3)}%41`, undefined],
    ['overlong', `7_${'A'.repeat(4096)}`, undefined],
    ['empty', '', undefined],
  ])('tokenKey: %s', (_name, token, key) => {
    expect(tokenKey(token)).toEqual(key);
  });

  it('every boot gets two fresh one-use tokens with growing ids; each config token serves once', async () => {
    const { deps, m, app } = await setup();
    const boots = Array.from({ length: 3 }, () => prepareBootConfig(deps, m));
    const config = boots.map((b) => tokenOf(b.configUrl));
    const all = [...config, ...boots.map((b) => b.reportToken)];
    expect(new Set(all).size).toBe(6);
    const ids = boots.flatMap((b) => [tokenOf(b.configUrl), b.reportToken].map((t) => Number(t.split('_')[0])));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (const t of config) {
      expect((await app.inject({ method: 'GET', url: `/config/${t}` })).statusCode).toBe(200);
      const again = await app.inject({ method: 'GET', url: `/config/${t}` });
      expect(again.statusCode).toBe(403);
      expect(again.json().error.details.reason).toBe('used');
    }
  });

  it('refuses a token whose id is another machine\'s with a wrong secret, and leaves that token unspent', async () => {
    const { deps, m, app } = await setup();
    const other = deps.store.machines.findByMac('52:54:00:00:00:02')!;
    const mine = tokenOf(prepareBootConfig(deps, m).configUrl);
    const theirs = prepareBootConfig(deps, other);
    const theirId = tokenOf(theirs.configUrl).split('_')[0]!;
    const mySecret = mine.slice(mine.indexOf('_') + 1);
    const forged = [
      `${theirId}_${mySecret}`, // my secret under their id
      `${theirId}_${newTokenSecret()}`, // a fresh guess
      `${theirId}_${'A'.repeat(43)}`,
      `${theirs.reportToken.split('_')[0]}_${mySecret}`, // their report token's id
    ];
    for (const t of forged) {
      const r = await app.inject({ method: 'GET', url: `/config/${t}` });
      expect(r.statusCode).toBe(403);
      expect(r.json().error.details.reason).toBe('unknown-token');
      expect(() => verifyReportToken(deps, t)).toThrow(/report token/);
    }
    // Nothing was spent or learned: both real tokens still work once.
    expect((await app.inject({ method: 'GET', url: `/config/${tokenOf(theirs.configUrl)}` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/config/${mine}` })).statusCode).toBe(200);
    expect(verifyReportToken(deps, theirs.reportToken).machineId).toBe(other.id);
  });

  it('refuses malformed and overlong tokens before any lookup', async () => {
    const { deps, m, app } = await setup();
    const real = tokenOf(prepareBootConfig(deps, m).configUrl);
    const [id, sec] = [real.slice(0, real.indexOf('_')), real.slice(real.indexOf('_') + 1)];
    const find = vi.spyOn(deps.store.configs, 'findToken');
    for (const t of [`0${id}_${sec}`, `${id}_${sec.slice(1)}`, `${id}_${sec}A`, `${id}-${sec}`, `${id}__${sec}`, `${'9'.repeat(16)}_${sec}`, `${id}_${sec}${'A'.repeat(80)}`]) {
      const r = await app.inject({ method: 'GET', url: `/config/${t}` });
      expect(r.statusCode).toBe(403);
      expect(() => verifyReportToken(deps, t)).toThrow(/report token/);
    }
    expect(find).not.toHaveBeenCalled();
    // An overlong token does not reach the handler at all (the route's 128-character bound).
    expect((await app.inject({ method: 'GET', url: `/config/${id}_${'A'.repeat(200)}` })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: `/config/${real}` })).statusCode).toBe(200);
  });

  it('a report token is refused once a later boot revoked it, and after its TTL', async () => {
    const { deps, m } = await setup({ reportTokenTtlSeconds: 3600 });
    const first = prepareBootConfig(deps, m).reportToken;
    const second = prepareBootConfig(deps, m).reportToken;
    expect(() => verifyReportToken(deps, first)).toThrow(/report token/);
    expect(verifyReportToken(deps, second).machineId).toBe(m.id);
    deps.clock.now += 3600_000;
    expect(() => verifyReportToken(deps, second)).toThrow(/report token/);
  });

  it('a config token is refused after its TTL even when unspent', async () => {
    const { deps, m, app } = await setup({ configTokenTtlSeconds: 60 });
    const t = tokenOf(prepareBootConfig(deps, m).configUrl);
    deps.clock.now += 60_000;
    const r = await app.inject({ method: 'GET', url: `/config/${t}` });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.details.reason).toBe('expired');
  });

  it('one store hands out each id once, in order, and a token is `<id>_<secret>` (counting on from stored ids: migration-016.test.ts)', () => {
    const deps = configDeps();
    const a = deps.store.configs.nextTokenId();
    const b = deps.store.configs.nextTokenId();
    expect(b).toBe(a + 1);
    expect(formatToken(b, secret)).toBe(`${b}_${secret}`);
  });
});
