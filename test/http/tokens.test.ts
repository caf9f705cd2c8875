import { afterEach, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../src/http/tokens.js';
import { Store } from '../../src/inventory/store.js';
import { testApp } from '../helpers/app.js';
import { ADMIN_TOKEN, tokenTestApp } from '../helpers/token-app.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('createTokenVerifier', () => {
  it('the admin token file is the bootstrap admin; a near miss is not', () => {
    const v = createTokenVerifier(Store.memory(), ADMIN_TOKEN);
    expect(v.verify(ADMIN_TOKEN, T0)).toEqual({ role: 'admin', tokenId: null, name: 'bootstrap' });
    expect(v.verify(`${ADMIN_TOKEN}x`, T0)).toBeUndefined();
    expect(v.verify(ADMIN_TOKEN.slice(0, -1), T0)).toBeUndefined();
    expect(v.verify('', T0)).toBeUndefined();
  });

  it('without an admin token file nothing matches it (not even an empty bearer)', () => {
    const v = createTokenVerifier(Store.memory(), undefined);
    expect(v.verify('', T0)).toBeUndefined();
    expect(v.verify(ADMIN_TOKEN, T0)).toBeUndefined();
  });

  it.each(['read', 'operate', 'admin'] as const)('an inventory token of role %s resolves to that role, id and name', (role) => {
    const store = Store.memory();
    const { token, secret } = store.apiTokens.create({ name: `t-${role}`, role }, T0);
    expect(createTokenVerifier(store, ADMIN_TOKEN).verify(secret, T0)).toEqual({ role, tokenId: token.id, name: `t-${role}` });
  });

  it('unknown, revoked and expired tokens resolve to nothing; expiry counts from its exact millisecond', () => {
    const store = Store.memory();
    const v = createTokenVerifier(store, ADMIN_TOKEN);
    const short = store.apiTokens.create({ name: 'short', role: 'operate', ttlSeconds: 60 }, T0);
    const gone = store.apiTokens.create({ name: 'gone', role: 'admin' }, T0);
    expect(v.verify('rb_unknown', T0)).toBeUndefined();
    expect(v.verify(short.secret, T0 + 59_999)?.role).toBe('operate');
    expect(v.verify(short.secret, T0 + 60_000)).toBeUndefined();
    expect(v.verify(gone.secret, T0)?.role).toBe('admin');
    store.apiTokens.revoke('gone', T0 + 1);
    expect(v.verify(gone.secret, T0 + 2)).toBeUndefined();
  });

  it('writes last use at most once per resolution interval', () => {
    const store = Store.memory();
    const v = createTokenVerifier(store, ADMIN_TOKEN, { lastUsedResolutionMs: 60_000 });
    const { secret } = store.apiTokens.create({ name: 'a', role: 'read' }, T0);
    const writes = () => Store.rawDb(store).prepare('SELECT total_changes()').pluck().get() as number;
    v.verify(secret, T0 + 1000);
    expect(store.apiTokens.get('a').lastUsedAt).toBe('2026-12-01T00:00:01.000Z');
    const before = writes();
    for (let i = 0; i < 50; i++) v.verify(secret, T0 + 2000 + i * 1000);
    expect(writes()).toBe(before);
    expect(store.apiTokens.get('a').lastUsedAt).toBe('2026-12-01T00:00:01.000Z');
    v.verify(secret, T0 + 61_000);
    expect(store.apiTokens.get('a').lastUsedAt).toBe('2026-12-01T00:01:01.000Z');
  });

  it('a failed last-use write is logged and the token still works', () => {
    const store = Store.memory();
    const { secret } = store.apiTokens.create({ name: 'a', role: 'read' }, T0);
    const warned: unknown[] = [];
    store.apiTokens.touch = () => {
      throw new Error('SQLITE_READONLY');
    };
    const v = createTokenVerifier(store, ADMIN_TOKEN, { log: { warn: (o: unknown) => void warned.push(o) } as never });
    expect(v.verify(secret, T0)?.role).toBe('read');
    expect(warned).toHaveLength(1);
  });
});

describe('/api/v1/tokens routes', () => {
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => close?.());
  const setup = async () => {
    const t = await tokenTestApp(T0);
    close = () => t.app.close();
    return t;
  };

  it('creates a token (201, secret once), which then works at its role and shows up in the trail', async () => {
    const { app, store, bearer } = await setup();
    const r = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: ADMIN, payload: { name: 'ci', role: 'operate', ttlSeconds: 3600 } });
    expect(r.statusCode).toBe(201);
    const body = r.json();
    expect(body).toMatchObject({ id: 1, name: 'ci', role: 'operate', state: 'active', expiresAt: '2026-12-01T01:00:00.000Z' });
    expect(body.secret).toMatch(/^rb_/);
    expect(body.hash).toBeUndefined();
    const probe = await app.inject({ method: 'POST', url: '/api/v1/probe/operate', headers: bearer(body.secret) });
    expect(probe.json()).toEqual({ role: 'operate', tokenId: 1, name: 'ci' });
    const ev = store.events.list({}).filter((e) => e.source === 'auth');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ kind: 'token.created', detail: { tokenId: 1, name: 'ci', role: 'operate', by: 'bootstrap', byTokenId: null } });
    expect(JSON.stringify(ev)).not.toContain(body.secret);
  });

  it('makes up a name from the role when none is given', async () => {
    const { app } = await setup();
    const r = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: ADMIN, payload: { role: 'read' } });
    expect(r.statusCode).toBe(201);
    expect(r.json().name).toMatch(/^read-[0-9a-f]{6}$/);
  });

  it.each([
    [{ role: 'root' }, 'role'],
    [{ role: 'read', name: '42' }, 'name'],
    [{ role: 'read', name: 'has space' }, 'name'],
    [{ role: 'read', ttlSeconds: 0 }, 'ttlSeconds'],
    [{ role: 'read', ttlSeconds: 1.5 }, 'ttlSeconds'],
    [{ role: 'read', secret: 'rb_mine' }, '(root)'],
  ])('rejects %j with 400 naming %s', async (payload, field) => {
    const { app } = await setup();
    const r = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: ADMIN, payload });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('BAD_INPUT');
    expect(r.json().error.message).toContain(field);
  });

  it('a duplicate name is 409', async () => {
    const { app } = await setup();
    await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: ADMIN, payload: { name: 'ci', role: 'read' } });
    const r = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: ADMIN, payload: { name: 'ci', role: 'admin' } });
    expect(r.statusCode).toBe(409);
  });

  it('lists without secrets or digests, with each token state', async () => {
    const { app, store, clock } = await setup();
    store.apiTokens.create({ name: 'a', role: 'read', ttlSeconds: 10 }, T0);
    store.apiTokens.create({ name: 'b', role: 'admin' }, T0);
    store.apiTokens.create({ name: 'c', role: 'operate' }, T0);
    store.apiTokens.revoke('c', T0);
    clock.advance(10_000);
    const r = await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: ADMIN });
    expect(r.statusCode).toBe(200);
    expect(r.json().items.map((t: { name: string; state: string }) => `${t.name}:${t.state}`)).toEqual(['a:expired', 'b:active', 'c:revoked']);
    expect(r.body).not.toMatch(/rb_|secret|hash/);
  });

  it('revokes by name or id: the token stops working at once, the trail says who; again is 200 without a new event', async () => {
    const { app, store, bearer } = await setup();
    const admin2 = store.apiTokens.create({ name: 'ops-admin', role: 'admin' }, T0);
    const victim = store.apiTokens.create({ name: 'victim', role: 'read' }, T0);
    expect((await app.inject({ method: 'GET', url: '/api/v1/probe/read', headers: bearer(victim.secret) })).statusCode).toBe(200);
    const r = await app.inject({ method: 'DELETE', url: '/api/v1/tokens/victim', headers: bearer(admin2.secret) });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ name: 'victim', state: 'revoked' });
    expect((await app.inject({ method: 'GET', url: '/api/v1/probe/read', headers: bearer(victim.secret) })).statusCode).toBe(401);
    const again = await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${victim.token.id}`, headers: ADMIN });
    expect(again.statusCode).toBe(200);
    const ev = store.events.list({}).filter((e) => e.kind === 'token.revoked');
    expect(ev).toHaveLength(1);
    expect(ev[0]?.detail).toEqual({ tokenId: victim.token.id, name: 'victim', role: 'read', by: 'ops-admin', byTokenId: admin2.token.id });
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/tokens/ghost', headers: ADMIN })).statusCode).toBe(404);
  });

  it.each([
    ['read', 403],
    ['operate', 403],
    ['admin', 200],
  ] as const)('a %s token gets %i from the token routes', async (role, status) => {
    const { app, store, bearer, refused } = await setup();
    const { secret } = store.apiTokens.create({ name: 'caller', role }, T0);
    expect((await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: bearer(secret) })).statusCode).toBe(status);
    const c = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(secret), payload: { role: 'admin' } });
    expect(c.statusCode).toBe(status === 200 ? 201 : status);
    expect(refused.map((r) => `${r.status} ${r.token}`)).toEqual(status === 403 ? ['403 caller', '403 caller'] : []);
  });

  it('no, unknown or expired bearer is 401', async () => {
    const { app, store, clock, bearer, refused } = await setup();
    const { secret } = store.apiTokens.create({ name: 'brief', role: 'admin', ttlSeconds: 5 }, T0);
    expect((await app.inject({ method: 'GET', url: '/api/v1/tokens' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: bearer('rb_nope') })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: bearer(secret) })).statusCode).toBe(200);
    clock.advance(5000);
    expect((await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: bearer(secret) })).statusCode).toBe(401);
    expect(refused.map((r) => r.reason)).toEqual(['no token', 'unknown, revoked or expired token', 'unknown, revoked or expired token']);
  });

  it('every token route declares access admin and is in the OpenAPI document with its body schema', async () => {
    const { declared } = await setup();
    expect(declared.sort()).toEqual([
      'DELETE /api/v1/tokens/:ref → admin',
      'GET /api/v1/tokens → admin',
      'HEAD /api/v1/tokens → admin',
      'POST /api/v1/tokens → admin',
    ]);
    const { app, auth } = await testApp();
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: auth })).json();
    await app.close();
    const paths = doc.paths as Record<string, Record<string, { requestBody?: unknown; security: unknown[] }>>;
    expect(Object.keys(paths['/api/v1/tokens'] ?? {}).sort()).toEqual(['get', 'head', 'post']);
    expect(paths['/api/v1/tokens']?.post?.requestBody).toBeDefined();
    expect(paths['/api/v1/tokens/{ref}']?.delete?.security).toEqual([{ bearer: [] }]);
  });
});

describe('token routes and verifier wired into buildApp', () => {
  it('an admin-made operate token reaches operate routes, not token management, and stops at revocation', async () => {
    const { app, auth } = await testApp();
    try {
      const made = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: auth, payload: { name: 'ops', role: 'operate' } });
      expect(made.statusCode).toBe(201);
      const ops = { authorization: `Bearer ${made.json().secret}` };
      expect((await app.inject({ method: 'GET', url: '/api/v1/machines', headers: ops })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: ops })).statusCode).toBe(403);
      expect((await app.inject({ method: 'DELETE', url: '/api/v1/tokens/ops', headers: auth })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/api/v1/machines', headers: ops })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});
