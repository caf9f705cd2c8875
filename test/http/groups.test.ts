import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError, httpStatusOf, isAppError } from '../../src/errors.js';
import { installGuard } from '../../src/http/guard.js';
import { registerGroupRoutes } from '../../src/http/routes/groups.js';
import { createTokenVerifier } from '../../src/http/tokens.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';

const ADMIN = { authorization: 'Bearer rb_groups-admin' };
const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

/** The group routes behind buildApp's guard and error mapping, on an in-memory store. */
async function groupsApp() {
  const store = Store.memory();
  store.profiles.create('testos', { os: 'testos', boot: 'network' } as never);
  const app = Fastify();
  installGuard(app, { tokens: createTokenVerifier(store, 'rb_groups-admin'), audit: { refused: () => {} }, log: silentLogger(), split: false, now: Date.now });
  app.setErrorHandler((err, _req, reply) => {
    const e = isAppError(err) ? err : new AppError('BAD_INPUT', (err as Error).message);
    void reply.status(httpStatusOf(e.code)).send({ error: { code: e.code, message: e.message, details: e.details ?? null } });
  });
  registerGroupRoutes(app, { store });
  await app.ready();
  apps.push(app);
  const reader = { authorization: `Bearer ${store.apiTokens.create({ name: 'r', role: 'read' }).secret}` };
  const operator = { authorization: `Bearer ${store.apiTokens.create({ name: 'o', role: 'operate' }).secret}` };
  return { app, store, reader, operator };
}

const big = { name: 'big', selectors: ['facts.memory.gib>=64'], profile: 'testos', labels: { size: 'big' }, hostnameTemplate: 'big-{{serial}}', bmc: { username: 'admin', password: 'hunter2' }, enroll: 'auto' };
const small = { name: 'small', selectors: ['facts.memory.gib<64'], profile: 'testos', enroll: 'auto' };

describe('/api/v1/groups', () => {
  it('CRUD: create, read (BMC password <sealed>, never echoed), replace, delete', async () => {
    const { app, store, reader } = await groupsApp();
    const created = await app.inject({ method: 'POST', url: '/api/v1/groups', headers: ADMIN, payload: big });
    expect(created.statusCode).toBe(201);
    expect(created.body).not.toContain('hunter2');
    expect(created.json()).toMatchObject({ name: 'big', selectors: ['facts.memory.gib>=64'], bmc: { username: 'admin', password: '<sealed>' }, enroll: 'auto' });
    const list = await app.inject({ method: 'GET', url: '/api/v1/groups', headers: reader });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((g: { name: string }) => g.name)).toEqual(['big']);
    expect(list.body).not.toContain('hunter2');
    // PUT with the <sealed> placeholder keeps the password.
    const put = await app.inject({ method: 'PUT', url: '/api/v1/groups/big', headers: ADMIN, payload: { ...big, name: undefined, selectors: ['facts.memory.gib>=128'], bmc: { username: 'admin', password: '<sealed>' } } });
    expect(put.statusCode).toBe(200);
    expect(store.groups.bmcCredentials('big')?.password).toBe('hunter2');
    expect((await app.inject({ method: 'PUT', url: '/api/v1/groups/small', headers: ADMIN, payload: small })).statusCode).toBe(201);
    expect((await app.inject({ method: 'GET', url: '/api/v1/groups/small', headers: reader })).json()).toMatchObject({ name: 'small' });
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/groups/small', headers: ADMIN })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/v1/groups/small', headers: reader })).statusCode).toBe(404);
    store.events.flush();
    expect(store.events.list({ kind: 'group.created' })).toHaveLength(2);
  });

  it.each([
    ['a bad selector', { name: 'x', selectors: ['rack=r1'] }, 400, /key must be/],
    ['an unknown field', { name: 'x', color: 'red' }, 400, /color/],
    ['a missing profile', { name: 'x', profile: 'nope' }, 400, /profile nope does not exist/],
    ['a bad hostname template', { name: 'x', hostnameTemplate: '{{rack}}' }, 400, /placeholders/],
  ])('refuses %s with %i and stores nothing', async (_, body, status, message) => {
    const { app, store } = await groupsApp();
    const r = await app.inject({ method: 'POST', url: '/api/v1/groups', headers: ADMIN, payload: body });
    expect(r.statusCode).toBe(status);
    expect(r.body).toMatch(message);
    expect(store.groups.list()).toEqual([]);
  });

  it('an ambiguous group is refused with 409 naming both groups', async () => {
    const { app, store } = await groupsApp();
    await app.inject({ method: 'POST', url: '/api/v1/groups', headers: ADMIN, payload: big });
    const r = await app.inject({ method: 'POST', url: '/api/v1/groups', headers: ADMIN, payload: { name: 'huge', selectors: ['facts.memory.gib>=256'] } });
    expect(r.statusCode).toBe(409);
    expect(r.json().error).toMatchObject({ code: 'CONFLICT', details: { groups: ['big', 'huge'] } });
    expect(r.json().error.message).toMatch(/groups big and huge are ambiguous/);
    expect(store.groups.list().map((g) => g.name)).toEqual(['big']);
  });

  it('apply writes a set all or nothing', async () => {
    const { app, store } = await groupsApp();
    const ok = await app.inject({ method: 'POST', url: '/api/v1/groups/apply', headers: ADMIN, payload: { groups: [big, small] } });
    expect(ok.json()).toEqual({ created: 2, updated: 0 });
    const bad = await app.inject({ method: 'POST', url: '/api/v1/groups/apply', headers: ADMIN, payload: { groups: [{ ...small, labels: { x: 'y' } }, { name: 'tiny', selectors: ['facts.memory.gib<=8'] }] } });
    expect(bad.statusCode).toBe(409);
    expect(bad.body).toMatch(/groups small and tiny are ambiguous/);
    expect(store.groups.get('small').labels).toEqual({}); // the first entry rolled back too
    expect(store.groups.find('tiny')).toBeUndefined();
    const twice = await app.inject({ method: 'POST', url: '/api/v1/groups/apply', headers: ADMIN, payload: { groups: [small, small] } });
    expect(twice.statusCode).toBe(400);
  });

  it('read tokens read, only admin writes', async () => {
    const { app, reader, operator } = await groupsApp();
    expect((await app.inject({ method: 'GET', url: '/api/v1/groups' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/v1/groups', headers: reader, payload: small })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/v1/groups', headers: operator, payload: small })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/groups/small', headers: operator })).statusCode).toBe(403);
  });
});
