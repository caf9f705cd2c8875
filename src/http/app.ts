import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory, LogController } from 'fastify';
import { AssetRegistry } from '../assets/registry.js';
import type { BootService } from '../boot/service.js';
import { AppError, httpStatusOf, isAppError } from '../errors.js';
import type { Store } from '../inventory/store.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { BmcDiscoverer } from '../model/bmc-discovery.js';
import type { MachinePower } from '../model/power.js';
import type { NeighbourLookup } from '../net/client-mac.js';
import { type RolloutServices, rolloutVersions } from '../rollout/services.js';
import type { Settings } from '../settings.js';
import type { TokenVerifier } from './access.js';
import { leanScriptPath } from './boot-script.js';
import { type AuditSink, eventAudit, installGuard, listenerOfRaw } from './guard.js';
import { applyRouteBodyLimits, httpServerLimits } from './limits.js';
import { registerApiRoutes } from './routes/api.js';
import { registerBootRoutes } from './routes/boot.js';
import { registerConfigRoutes } from './routes/config.js';
import { registerConsoleRoutes } from './routes/console.js';
import { registerGroupRoutes } from './routes/groups.js';
import { registerGrubRoutes } from './routes/grub.js';
import { registerInspectRoutes } from './routes/inspect.js';
import { registerInventoryRoutes } from './routes/inventory.js';
import { registerObservabilityRoutes } from './routes/observability.js';
import { registerOpenApi } from './routes/openapi.js';
import { registerPowerRoutes } from './routes/power.js';
import { registerProvisionRoutes } from './routes/provision.js';
import { registerRolloutRoutes } from './routes/rollout.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { createTokenVerifier } from './tokens.js';

/** Everything the HTTP layer needs; built once by main.ts (or by a test). */
export interface AppDeps {
  settings: Settings;
  store: Store;
  log: Logger;
  adminToken: string;
  /** Resolves API tokens to roles; default: the admin token file plus the inventory's tokens. */
  tokens?: TokenVerifier;
  /** Where refused requests are recorded; default: `auth.refused` events. */
  audit?: AuditSink;
  /** Base URL machines use, fixed once at start (never taken from a request's Host header). */
  publicUrl?: string;
  /**
   * Served on two listeners (boot network, management API): main.ts passes the server factory
   * that tags each request with its listener, and each route answers only on its own.
   */
  serverFactory?: FastifyServerFactory;
  /** Prometheus metrics (main.ts builds one per appliance; the observability routes build one when absent). */
  metrics?: Metrics;
  /** Where the console's built bundle is (default ui/dist; tests point elsewhere). */
  uiDir?: string;
  /** Verifies and saves a BMC found by inspection (main.ts: src/bmc/discovery.ts); absent: BMCs are not discovered. */
  bmcDiscovery?: BmcDiscoverer;
  /** Boot assets by name and digest (main.ts builds one per appliance; default: one over settings' dirs). */
  assets?: AssetRegistry;
  /** BMC power control by machine id (main.ts passes its PowerService; default: none, 501 UNSUPPORTED). */
  power?: MachinePower;
  /** Rollout version control and runner (main.ts passes its own; default: inventory versions, no runner). */
  rollouts?: RolloutServices;
  /** The appliance's neighbour table for identity binding (main.ts passes its own; default: /proc/net/arp read per request). */
  neighbourMac?: NeighbourLookup;
  /** Issues network boots (main.ts builds one and shares it with the GRUB TFTP handler; default: one per boot route set). */
  boot?: BootService;
}

/** AppDeps with every service present: what route modules that use services receive. */
export interface RouteDeps extends AppDeps {
  assets: AssetRegistry;
  power: MachinePower;
  rollouts: RolloutServices;
}

/** A MachinePower for an app built without one: every call answers UNSUPPORTED (501). */
const noPowerControl: MachinePower = {
  getStatus: () => noPower(),
  powerAction: () => noPower(),
  setBootDevice: () => noPower(),
  getBootDevice: () => noPower(),
};
function noPower(): Promise<never> {
  return Promise.reject(new AppError('UNSUPPORTED', 'no BMC power control in this app (the composition root passes one)'));
}

/**
 * Fills in the services a caller (a test) left out, each built from settings and the store, on
 * the same object: main.ts fixes `publicUrl` on it after listening, and routes read it per request.
 */
export function withDefaultServices(deps: AppDeps): RouteDeps {
  const assets = deps.assets ?? new AssetRegistry(deps.settings.assetsDir, deps.settings.dataDir);
  return Object.assign(deps, { assets, power: deps.power ?? noPowerControl, rollouts: deps.rollouts ?? { versions: rolloutVersions(deps.store, assets) } });
}

/** Builds the fastify app without listening: routes, auth and the one error mapping. */
export async function buildApp(given: AppDeps): Promise<FastifyInstance> {
  const deps = withDefaultServices(given);
  // The boot listener's raw handler answers iPXE script requests before fastify (boot-script.ts);
  // set once the routes are registered, cleared when the app starts closing.
  let lean: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  const serverFactory = deps.serverFactory;
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log.child({ subsys: 'http' }) as FastifyBaseLogger,
    // Per-request lines are off: subsystems log what matters with their own fields.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 512 },
    // Timeouts and body limits: main.ts's own servers get the same timeouts from serverOptions().
    ...httpServerLimits(deps.settings.http),
    ...(serverFactory ? { serverFactory: withLeanPath(serverFactory, (req, res) => lean?.(req, res) ?? false) } : {}),
  });
  applyRouteBodyLimits(app);

  installGuard(app, {
    tokens: deps.tokens ?? createTokenVerifier(deps.store, deps.adminToken, { log: deps.log.child({ subsys: 'auth' }) }),
    audit: deps.audit ?? eventAudit(deps.store.events, deps.log.child({ subsys: 'auth' })),
    log: deps.log,
    split: deps.serverFactory !== undefined,
  });

  app.setErrorHandler((err, req, reply) => {
    const e = toAppError(err);
    const status = httpStatusOf(e.code);
    // A store outage is logged once when it starts and once when it ends (main.ts); each request
    // it fails is only a debug line, so the log says what happened instead of repeating it.
    if (e.code === 'STORE_UNAVAILABLE') req.log.debug({ code: e.code, msg: e.message }, 'request failed: store unavailable');
    else if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.debug({ code: e.code, msg: e.message }, 'request rejected');
    void reply.status(status).send(errorBody(e));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}`, details: null } });
  });

  await registerOpenApi(app); // first: the document is generated from the routes added after it
  // Degraded (503, so a balancer in front of two appliances picks the other) while the PostgreSQL
  // store is unreachable; the error itself stays in the log (this route answers the boot network too).
  app.get('/healthz', { config: { access: 'public-boot', everywhere: true } }, async (_req, reply) => {
    const store = deps.store.health();
    if (store.ok) return { ok: true };
    return reply.status(503).send({ ok: false, status: 'degraded', store: { ok: false, since: store.since === undefined ? null : new Date(store.since).toISOString() } });
  });
  registerApiRoutes(app, deps);
  registerInventoryRoutes(app, deps);
  registerPowerRoutes(app, deps);
  const script = await registerBootRoutes(app, deps);
  registerInspectRoutes(app, deps);
  registerConfigRoutes(app, deps);
  registerProvisionRoutes(app, deps);
  registerRolloutRoutes(app, deps);
  registerGrubRoutes(app, deps);
  registerTokenRoutes(app, deps);
  registerGroupRoutes(app, deps);
  registerConsoleRoutes(app, deps);
  const metrics = registerObservabilityRoutes(app, deps);
  if (serverFactory) {
    lean = leanScriptPath({
      script,
      onBootListener: (req) => listenerOfRaw(req) === 'boot',
      errorAnswer: (err) => {
        const e = toAppError(err);
        return { status: httpStatusOf(e.code), body: JSON.stringify(errorBody(e)) };
      },
      log: deps.log.child({ subsys: 'http' }),
      observe: (route, method, status, seconds) => metrics.observeHttp(route, method, status, seconds),
    });
    app.addHook('preClose', async () => {
      lean = undefined; // a closing app answers through fastify (503 while it closes)
    });
  }
  return app;
}

/** A server factory whose handler lets `first` answer a request before fastify's handler does. */
function withLeanPath(factory: FastifyServerFactory, first: (req: IncomingMessage, res: ServerResponse) => boolean): FastifyServerFactory {
  return (handler, opts) => factory((req, res) => first(req, res) || handler(req, res), opts);
}

/** The JSON body of every error answer. */
function errorBody(e: AppError): { error: { code: string; message: string; details: unknown } } {
  return { error: { code: e.code, message: e.message, details: e.details ?? null } };
}

/** Maps fastify's own errors (bad JSON, too large, wrong content type) and unknown throws. */
function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const fe = err as { statusCode?: number; message?: string; code?: string };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code = fe.statusCode === 404 ? 'NOT_FOUND' : fe.statusCode === 401 ? 'UNAUTHORIZED' : fe.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_INPUT';
    return new AppError(code, fe.message ?? 'bad request', { details: fe.code ? { fastifyCode: fe.code } : undefined });
  }
  return new AppError('INTERNAL', 'internal error', { cause: err });
}
