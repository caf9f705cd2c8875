import Fastify, { type FastifyInstance } from 'fastify';
import { AppError, httpStatusOf, isAppError } from '../../src/errors.js';
import { roleAllows } from '../../src/http/access.js';
import { bearerOf } from '../../src/http/auth.js';
import { registerTokenRoutes } from '../../src/http/routes/tokens.js';
import { createTokenVerifier } from '../../src/http/tokens.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';

/** The admin token file's content in these tests. */
export const ADMIN_TOKEN = 'rb_test-admin-token-file';

/**
 * A small fastify app standing in for buildApp's auth (which the lead wires): the token routes plus
 * a read and an operate probe, an onRequest hook that resolves the bearer with createTokenVerifier
 * and checks the route's `config.access`, and the AppError → status mapping. The clock is settable.
 */
export async function tokenTestApp(startMs = Date.parse('2026-12-01T00:00:00Z')): Promise<{
  app: FastifyInstance;
  store: Store;
  clock: { now: () => number; advance: (ms: number) => void };
  bearer: (secret: string) => { authorization: string };
  /** `METHOD url → access` of every route registered by registerTokenRoutes. */
  declared: string[];
}> {
  const store = Store.memory();
  let nowMs = startMs;
  const clock = { now: () => nowMs, advance: (ms: number) => void (nowMs += ms) };
  const verifier = createTokenVerifier(store, ADMIN_TOKEN);
  const app = Fastify();
  app.decorateRequest('caller', undefined);
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config.access;
    if (access === undefined || access === 'public-boot' || access === 'machine') return;
    const caller = verifier.verify(bearerOf(req.headers.authorization) ?? '', clock.now());
    if (!caller) throw new AppError('UNAUTHORIZED', 'missing, unknown, revoked or expired bearer token');
    if (!roleAllows(caller.role, access)) throw new AppError('FORBIDDEN', `role ${caller.role} may not call a ${access} route`);
    req.caller = caller;
  });
  app.setErrorHandler((err, _req, reply) => {
    const e = isAppError(err) ? err : new AppError('BAD_INPUT', (err as Error).message);
    void reply.status(httpStatusOf(e.code)).send({ error: { code: e.code, message: e.message, details: e.details ?? null } });
  });
  const declared: string[] = [];
  app.addHook('onRoute', (r) => {
    if (r.url.startsWith('/api/v1/tokens')) declared.push(`${String(r.method)} ${r.url} → ${r.config?.access}`);
  });
  registerTokenRoutes(app, { store, log: silentLogger(), now: clock.now });
  app.get('/api/v1/probe/read', { config: { access: 'read' } }, async (req) => req.caller);
  app.post('/api/v1/probe/operate', { config: { access: 'operate' } }, async (req) => req.caller);
  await app.ready();
  return { app, store, clock, bearer: (secret) => ({ authorization: `Bearer ${secret}` }), declared };
}
