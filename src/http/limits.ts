import type { Server as HttpServer, ServerOptions as HttpServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { FastifyInstance, FastifyServerOptions, RouteOptions } from 'fastify';
import type { Logger } from '../log.js';
import { keepAliveUntilDelivered } from './keep-alive.js';
import { type SendQueueLookup, procSendQueues } from './send-queue.js';
import type { HttpLimits, HttpSettings } from './settings.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Body size classes a route can declare (`bodyLimit: BODY_LIMITS.report` in its options). */
export const BODY_LIMITS = {
  /** Anything that declares nothing: JSON API bodies (http.limits.bodyLimitBytes overrides). */
  default: 1 * MiB,
  /** A machine's phone-home report: its facts are capped at 64 KiB (report.ts), the rest is small. */
  report: 80 * KiB,
  /** A whole inventory file, or a profile whose spec embeds files (Ignition/Butane, cloud-init). */
  import: 8 * MiB,
} as const;

/**
 * Body limits of routes that do not set one in their own options, by "METHOD /path". Fastify
 * checks a route's bodyLimit against Content-Length before reading, and counts the bytes of a
 * chunked body as they arrive, so an oversized body is refused (413) before any parsing.
 */
export const ROUTE_BODY_LIMITS: Readonly<Record<string, number>> = {
  'POST /api/v1/report': BODY_LIMITS.report,
  'POST /api/v1/inventory/import': BODY_LIMITS.import,
  'POST /api/v1/profiles': BODY_LIMITS.import,
  'PUT /api/v1/profiles/:name': BODY_LIMITS.import,
};

/**
 * Gives each route its entry of `table` as bodyLimit unless the route declares its own. Call it
 * before the routes are registered (it is an onRoute hook).
 */
export function applyRouteBodyLimits(app: FastifyInstance, table: Readonly<Record<string, number>> = ROUTE_BODY_LIMITS): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.bodyLimit !== undefined) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      const limit = table[`${method} ${route.url}`];
      if (limit !== undefined) route.bodyLimit = limit;
    }
  });
}

/** Options for node:http createServer (a serverFactory): the timeouts Node enforces itself. */
export function nodeServerOptions(limits: HttpLimits): HttpServerOptions {
  return {
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
}

/** What to pass to Fastify({...}) (with the app's other options) for one listening server. */
export function httpServerLimits(http: HttpSettings): Partial<FastifyServerOptions> & { http: HttpServerOptions } {
  const l = http.limits;
  return {
    connectionTimeout: l.idleTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    bodyLimit: l.bodyLimitBytes,
    http: nodeServerOptions(l),
  };
}

/** Connections closed at accept by limitConnections. */
export interface ConnectionLimitStats {
  /** Over maxConnections. */
  overTotal: number;
  /** Over maxConnectionsPerClient. */
  overClient: number;
}

/** Seconds an overloaded plain-HTTP listener asks a client to wait (iPXE honours Retry-After on a 503). */
export const OVERLOAD_RETRY_AFTER_SECONDS = 2;

/**
 * What a plain-HTTP listener writes on a connection it will not serve: a complete 503 with
 * Retry-After and no body, so iPXE (and curl --retry) waits and asks again instead of seeing a
 * reset, and no client can mistake it for content.
 */
export function overloadResponse(retryAfterSeconds = OVERLOAD_RETRY_AFTER_SECONDS): string {
  const body = 'server busy, retry later\n';
  return [
    'HTTP/1.1 503 Service Unavailable',
    `Retry-After: ${retryAfterSeconds}`,
    'Content-Type: text/plain',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/**
 * Caps a listening server's connections: maxConnections in total and maxConnectionsPerClient
 * per remote address, so one host's idle sockets cannot take every slot. A plain-HTTP server
 * answers a connection over a cap with a 503 and Retry-After (overloadResponse) and closes it;
 * a TLS server closes it at accept (Node's own maxConnections: no plain text on a TLS port).
 * Also sets the timeouts on the server (a serverFactory's server gets none from Fastify; only
 * Node's check interval needs nodeServerOptions at creation), and makes a kept-alive
 * connection's keep-alive wait begin when its response has reached the client
 * (keepAliveUntilDelivered; `sendQueue` reads the kernel's send queues). One warning per 1,000
 * closed connections.
 */
export function limitConnections(server: HttpServer, limits: HttpLimits, log?: Logger, sendQueue: SendQueueLookup = procSendQueues()): ConnectionLimitStats {
  const stats: ConnectionLimitStats = { overTotal: 0, overClient: 0 };
  const note = (client: string | undefined) => {
    if ((stats.overTotal + stats.overClient) % 1000 === 1) log?.warn({ client, ...stats, limits }, 'http connection limit: connections closed');
  };
  const tls = (server as unknown) instanceof TlsServer;
  server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.setTimeout(limits.idleTimeoutMs);
  keepAliveUntilDelivered(
    server,
    { keepAliveMs: limits.keepAliveTimeoutMs, maxTailMs: limits.idleTimeoutMs, pollMs: Math.min(1000, limits.keepAliveTimeoutMs) },
    sendQueue,
  );
  if (tls) {
    server.maxConnections = limits.maxConnections;
    server.on('drop', (data?: { remoteAddress?: string }) => {
      stats.overTotal++;
      note(data?.remoteAddress);
    });
  }
  const perClient = limits.maxConnectionsPerClient;
  if (tls && perClient === 0) return stats;
  const refuse = (socket: Socket) => {
    if (tls) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {});
    socket.end(overloadResponse());
    // A client that never reads must not hold the socket: gone after a second either way.
    setTimeout(() => socket.destroy(), 1000).unref();
  };
  let total = 0;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? '';
    if (!tls && total >= limits.maxConnections) {
      stats.overTotal++;
      note(client);
      refuse(socket);
      return;
    }
    const n = (open.get(client) ?? 0) + 1;
    if (perClient > 0 && n > perClient) {
      stats.overClient++;
      note(client);
      refuse(socket);
      return;
    }
    total++;
    open.set(client, n);
    socket.once('close', () => {
      total--;
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    });
  });
  return stats;
}
