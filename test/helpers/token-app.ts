import Fastify, { type FastifyInstance } from 'fastify';
import { AppError, httpStatusOf, isAppError } from '../../src/errors.js';
import { type AuditSink, installGuard } from '../../src/http/guard.js';
import { registerTokenRoutes } from '../../src/http/routes/tokens.js';
import { createTokenVerifier } from '../../src/http/tokens.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';

/** The admin token file's content in these tests. */
export const ADMIN_TOKEN = 'rb_test-admin-token-file';

/**
 * A small fastify app with buildApp's guard (deny by default, roles per route) over
 * createTokenVerifier: the token routes plus a read and an operate probe, and the AppError →
 * status mapping. The clock is settable; refusals are collected in `refused`.
 */
export async function tokenTestApp(startMs = Date.parse('2026-12-01T00:00:00Z')): Promise<{
  app: FastifyInstance;
  store: Store;
  clock: { now: () => number; advance: (ms: number) => void };
  bearer: (secret: string) => { authorization: string };
  /** `METHOD url → access` of every route registered by registerTokenRoutes. */
  declared: string[];
  refused: Array<Parameters<AuditSink['refused']>[0]>;
}> {
  const store = Store.memory();
  let nowMs = startMs;
  const clock = { now: () => nowMs, advance: (ms: number) => void (nowMs += ms) };
  const verifier = createTokenVerifier(store, ADMIN_TOKEN);
  const app = Fastify();
  const refused: Array<Parameters<AuditSink['refused']>[0]> = [];
  installGuard(app, { tokens: verifier, audit: { refused: (d) => void refused.push(d) }, log: silentLogger(), split: false, now: clock.now });
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
  return { app, store, clock, bearer: (secret) => ({ authorization: `Bearer ${secret}` }), declared, refused };
}
