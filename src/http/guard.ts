import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import { ACCESS_LEVELS, type Access, type TokenVerifier, listenerOf, roleAllows } from './access.js';
import { bearerOf } from './auth.js';
import { targetProblem } from './path-policy.js';
import { EVENT } from '../lifecycle/event-kinds.js';

/** Which listener a raw request arrived on (set by the servers main.ts builds). */
const LISTENER = Symbol('rackboot.listener');

/** The listener names: the boot network's and the management API's. */
export type ListenerName = 'boot' | 'api';

/** Marks a raw request with the listener it arrived on. */
export function tagListener(req: IncomingMessage, name: ListenerName): void {
  (req as IncomingMessage & { [LISTENER]?: ListenerName })[LISTENER] = name;
}

/** The listener a raw request was tagged with (undefined: untagged, a single-listener app). */
export function listenerOfRaw(req: IncomingMessage): ListenerName | undefined {
  return (req as IncomingMessage & { [LISTENER]?: ListenerName })[LISTENER];
}

function listenerTag(req: FastifyRequest): ListenerName | undefined {
  return listenerOfRaw(req.raw);
}

/** One registered route and who may call it. */
export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered on the app with its declared access. */
    routeAccess: RouteAccess[];
  }
}

/** Every route registered on an app with its declared access (the route-walk test reads it). */
export function routeTable(app: FastifyInstance): readonly RouteAccess[] {
  return app.routeAccess;
}

/** Records a refused request in the audit trail (bounded: a flood is counted, not stored row by row). */
export interface AuditSink {
  refused(detail: { method: string; route: string; client: string; status: number; reason: string; token?: string }): void;
}

/** What the guard needs. */
export interface GuardDeps {
  tokens: TokenVerifier;
  audit: AuditSink;
  log: Logger;
  /** True when the app is served on two listeners (boot, api): each route answers on its own only. */
  split: boolean;
  now?: () => number;
}

/**
 * Deny by default, decided on the matched route: every route must declare `config.access`
 * (start-up fails otherwise); a request is checked against the route it was routed to, never
 * against its raw URL. Non-normalized targets are refused before any of that.
 */
export function installGuard(app: FastifyInstance, deps: GuardDeps): void {
  const now = deps.now ?? Date.now;
  const table: RouteAccess[] = [];
  app.decorate('routeAccess', table);
  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: unknown } | undefined)?.access;
    if (!ACCESS_LEVELS.includes(access as Access)) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no access level (config.access one of ${ACCESS_LEVELS.join(', ')})`);
    }
    for (const method of [route.method].flat()) table.push({ method: String(method), url: route.url, access: access as Access });
  });

  app.addHook('onRequest', async (req) => {
    const raw = req.raw.url ?? '';
    const problem = targetProblem(raw);
    const route = req.routeOptions.url ?? '(none)';
    const client = req.ip;
    if (problem) {
      deps.audit.refused({ method: req.method, route, client, status: 400, reason: problem });
      throw new AppError('BAD_INPUT', `request target refused: ${problem}`);
    }
    const access = req.routeOptions.config.access;
    const here = listenerTag(req);
    if (deps.split && !here) throw new AppError('NOT_FOUND', 'no listener'); // never: main.ts tags every request
    if (access === undefined) {
      // No route matched: the management listener still answers only authenticated callers.
      if (here === 'api' && !deps.tokens.verify(bearerOf(req.headers.authorization) ?? '', now())) {
        throw new AppError('UNAUTHORIZED', 'missing or wrong bearer token');
      }
      return;
    }
    if (here && listenerOf(access) !== here && !req.routeOptions.config.everywhere) {
      throw new AppError('NOT_FOUND', `no route ${req.method} ${raw.split('?', 1)[0]}`);
    }
    if (access === 'public-boot' || access === 'public-api' || access === 'machine') return;
    const presented = bearerOf(req.headers.authorization);
    const caller = presented ? deps.tokens.verify(presented, now()) : undefined;
    if (!caller) {
      deps.audit.refused({ method: req.method, route, client, status: 401, reason: presented ? 'unknown, revoked or expired token' : 'no token' });
      throw new AppError('UNAUTHORIZED', 'missing, unknown, revoked or expired bearer token (Authorization: Bearer <API token>)');
    }
    if (!roleAllows(caller.role, access)) {
      deps.audit.refused({ method: req.method, route, client, status: 403, reason: `role ${caller.role} below ${access}`, token: caller.name });
      throw new AppError('FORBIDDEN', `this route needs the ${access} role; token ${caller.name} has ${caller.role}`);
    }
    req.caller = caller;
  });
}

/**
 * An audit sink writing `auth.refused` events, at most `perMinute` rows a minute; the rest are
 * counted and summed up in the next row, so a flood of bad requests cannot fill the disk.
 */
export function eventAudit(
  events: { add(e: { source: string; kind: string; detail: Record<string, unknown> }): unknown },
  log: Logger,
  opts: { perMinute?: number; now?: () => number } = {},
): AuditSink {
  const perMinute = opts.perMinute ?? 120;
  const now = opts.now ?? Date.now;
  let windowStart = 0;
  let written = 0;
  let suppressed = 0;
  return {
    refused(detail) {
      const t = now();
      if (t - windowStart >= 60_000) {
        windowStart = t;
        written = 0;
      }
      if (written >= perMinute) {
        suppressed++;
        log.debug(detail, 'request refused');
        return;
      }
      written++;
      log.info(detail, 'request refused');
      events.add({ source: 'auth', kind: EVENT.authRefused, detail: suppressed > 0 ? { ...detail, suppressedBefore: suppressed } : detail });
      suppressed = 0;
    },
  };
}
