import Fastify, { type FastifyInstance } from 'fastify';
import { AppError, httpStatusOf, isAppError } from '../../src/errors.js';
import type { Role } from '../../src/http/access.js';
import { installGuard } from '../../src/http/guard.js';
import { httpServerLimits } from '../../src/http/limits.js';
import { registerApiRoutes } from '../../src/http/routes/api.js';
import { type ObservabilityDeps, registerObservabilityRoutes } from '../../src/http/routes/observability.js';
import { createTokenVerifier } from '../../src/http/tokens.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { type Settings, defaultSettings } from '../../src/settings.js';

/**
 * An app with the guard, the machines API and the observability routes only, with test knobs
 * (feed interval, stream limits) — independent of whether buildApp registers them too.
 */
export async function observabilityApp(
  opts: { settings?: Record<string, unknown> } & Partial<Pick<ObservabilityDeps, 'feedIntervalMs' | 'eventStream' | 'now'>> = {},
): Promise<{ app: FastifyInstance; store: Store; settings: Settings; metrics: Metrics; roles: Record<Role, { authorization: string }> }> {
  const store = Store.memory();
  const settings = defaultSettings({ http: { publicUrl: 'http://198.18.0.1:8080' }, ...opts.settings });
  const log = silentLogger();
  const app = Fastify({ ...httpServerLimits(settings.http) });
  installGuard(app, { tokens: createTokenVerifier(store, 'test-token'), audit: { refused() {} }, log, split: false });
  // The same mapping as buildApp's: an AppError's code is its status.
  app.setErrorHandler((err, _req, reply) => {
    const e = isAppError(err) ? err : new AppError('INTERNAL', (err as Error).message);
    const status = (err as { statusCode?: number }).statusCode && !isAppError(err) ? (err as { statusCode: number }).statusCode : httpStatusOf(e.code);
    void reply.status(status).send({ error: { code: e.code, message: e.message, details: e.details ?? null } });
  });
  const deps = { settings, store, log, adminToken: 'test-token' };
  registerApiRoutes(app, deps);
  const { settings: _s, ...knobs } = opts;
  const metrics = registerObservabilityRoutes(app, { ...deps, ...knobs });
  const bearer = (role: Role) => ({ authorization: `Bearer ${store.apiTokens.create({ name: `test-${role}`, role }).secret}` });
  return { app, store, settings, metrics, roles: { read: bearer('read'), operate: bearer('operate'), admin: bearer('admin') } };
}
