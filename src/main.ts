import { type IncomingMessage, type Server, type ServerResponse, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { FastifyServerFactory } from 'fastify';
import { appServices, buildServices, closeServices } from './appliance-services.js';
import { startDhcp } from './dhcp/service.js';
import { bmcDiscoverer } from './bmc/discovery.js';
import { buildApp } from './http/app.js';
import { ensureAdminToken } from './http/auth.js';
import { type ListenerName, tagListener } from './http/guard.js';
import { limitConnections, nodeServerOptions } from './http/limits.js';
import { derivePublicUrl } from './http/public-url.js';
import { ensureTls } from './http/tls.js';
import { openDataDir } from './inventory/data-dir.js';
import { startRetention } from './inventory/retention-service.js';
import type { Store } from './inventory/store.js';
import { WriteFailureLog } from './inventory/write-failures.js';
import { type Logger, createLogger } from './log.js';
import type { Service } from './service.js';
import { AppError } from './errors.js';
import { type Settings, loadSettings } from './settings.js';
import { startTftp } from './tftp/service.js';
import { Coordinator, ROLES } from './coordination/coordinator.js';
import { applianceName } from './coordination/settings.js';

/** A running appliance. */
export interface Appliance {
  settings: Settings;
  store: Store;
  log: Logger;
  /** The boot listener (scripts, assets, configs, reports), as reached from this host. */
  httpUrl: string;
  /** The management API listener (https unless api.tls.enabled is false), as reached from this host. */
  apiUrl: string;
  /** The local CA file that signs the API's certificate (null: operator files or no TLS). */
  apiCaFile: string | null;
  adminToken: string;
  close(): Promise<void>;
}

/**
 * Composition root: settings → store → services (assets, power, TFTP handlers, rollouts,
 * metrics; built once, appliance-services.ts) → HTTP and API listeners → retention → TFTP →
 * DHCP (+ WAL checkpointer) → rollout runner and readiness monitor. Closing stops all of it in
 * the reverse order: the background loops first, BMC sessions and the store last.
 */
export async function startAppliance(settings: Settings, log: Logger = createLogger(settings.logLevel)): Promise<Appliance> {
  const dataDir = resolve(settings.dataDir);
  // The lock is taken before the database is opened or migrated (a second serve touches nothing).
  // SQLite (default) or PostgreSQL (settings.store); its name in logs never holds the password.
  const { store, release } = openDataDir(dataDir, {
    durability: settings.dhcp.durability,
    store: settings.store,
    pg: {
      onStatus: (ok, error) => {
        if (ok) log.info({ store: store.file }, 'PostgreSQL store reachable again');
        else log.error({ store: store.file, error }, 'PostgreSQL store unreachable: calls fail with STORE_UNAVAILABLE (503) until it is back; reconnecting with backoff');
      },
    },
  });
  // Queued rows that cannot be written (a full disk) are dropped: one error line per interval, counted.
  const dbFile = store.file;
  const traceFailures = new WriteFailureLog({ log, what: 'boot trace rows', consequence: 'they are dropped', dbFile });
  store.events.onFlushError = (err, rows) => traceFailures.failed(err, rows);
  const sightingFailures = new WriteFailureLog({ log, what: 'unknown-MAC sightings', consequence: 'they are dropped', dbFile });
  store.unknownMacs.onFlushError = (err, rows) => sightingFailures.failed(err, rows);
  const services: Service[] = [];
  // Fixed once the boot listener's port is known, before the first request is handled.
  let publicUrl = settings.http.publicUrl ?? '';
  // Every trace row and lease of this process carries the appliance's name (#20).
  const appliance = applianceName(settings.appliance);
  store.events.appliance = appliance;
  const coordinator = new Coordinator({
    table: store.coordination,
    appliance,
    leaseMs: settings.appliance.leaseMs,
    bmcLockMs: settings.appliance.bmcLockMs,
    log,
    // SQLite is opened behind the data-dir lock: no other process can hold a role, so a row left
    // by this appliance's previous (killed) process is taken at once. A shared database is not.
    exclusive: isExclusiveStore(settings),
    onLeaderChange: (role, held, epoch) => store.events.add({ source: 'coordination', kind: held ? 'leader.taken' : 'leader.lost', detail: { role, epoch } }),
  });
  try {
    // Closed after everything else: leases are released once the loops using them have stopped.
    services.push({ name: 'coordination', close: async () => coordinator.stop() });
    // A rewritten boot-assets manifest is seen within a second (a stat per boot was 5 % of a storm's CPU).
    const built = buildServices({ settings, store, log, publicUrl: () => publicUrl, coordinator, manifestCheckMs: 1000 });
    services.push({ name: 'services', close: () => closeServices(built) });
    const { token, created } = ensureAdminToken(dataDir);
    if (created) {
      // Printed once, on the first start; afterwards it is only in data/admin.token (0600).
      process.stderr.write(`rackboot: admin API token (also in ${dataDir}/admin.token): ${token}\n`);
    }
    // One fastify app, two servers: each request is tagged with the listener it came in on and
    // each route answers only on its own (boot network: public-boot/machine; API: the rest).
    let route: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
    const tagged = (name: ListenerName) => (req: IncomingMessage, res: ServerResponse) => {
      tagListener(req, name);
      route?.(req, res);
    };
    const serverFactory: FastifyServerFactory = (handler) => {
      route = handler;
      return createHttpServer(nodeServerOptions(settings.http.limits), tagged('boot'));
    };
    const { metrics } = built;
    const deps = { settings, store, log, adminToken: token, serverFactory, publicUrl: settings.http.publicUrl, ...appServices(built), bmcDiscovery: bmcDiscoverer(store, settings.bmc, log) };
    const app = await buildApp(deps);
    limitConnections(app.server, settings.http.limits, log.child({ subsys: 'http' }));
    const address = await app.listen({ host: settings.http.host, port: settings.http.port });
    const port = Number(new URL(address).port);
    services.push({ name: 'http', close: () => app.close() });
    publicUrl = derivePublicUrl(settings, port);
    deps.publicUrl = publicUrl; // fixed once, before the first request is handled
    const tls = settings.api.tls.enabled ? ensureTls(dataDir, settings.api) : undefined;
    const serverOptions = nodeServerOptions(settings.http.limits);
    const apiServer = tls ? createHttpsServer({ key: tls.key, cert: tls.cert, ...serverOptions }, tagged('api')) : createHttpServer(serverOptions, tagged('api'));
    limitConnections(apiServer as Server, settings.http.limits, log.child({ subsys: 'api' }));
    const apiPort = await listen(apiServer, settings.api.host, settings.api.port);
    services.push({ name: 'api', close: () => closeServer(apiServer) });
    const apiUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${apiPort}`;
    const ctx = { settings, store, log, publicUrl };
    const retentionLease = coordinator.leader(ROLES.retention);
    retentionLease.start();
    services.push(startRetention({ ...ctx, leader: retentionLease }));
    const tftp = settings.tftp.enabled ? await startTftp(ctx, built.tftpHandlers, built.neighbours.lookup) : undefined;
    if (tftp) services.push(tftp);
    // Lease, boot-token and event commits then only append to the WAL; its fsyncs happen off
    // the event loop (a boot storm's group commits too, with or without DHCP: #21).
    const checkpointer = store.startWalCheckpointer({
      onError: (err) => log.warn({ err }, 'wal checkpointer stopped'),
      onCheckpointError: (err) => log.warn({ code: err.code, why: err.message }, 'wal checkpoints failing (retried): the WAL grows until they succeed'),
    });
    if (checkpointer) services.push({ name: 'wal-checkpointer', close: () => checkpointer.stop() });
    const dhcp = settings.dhcp.enabled ? await startDhcp(ctx) : undefined;
    if (dhcp) {
      services.push(dhcp);
      metrics.watchDhcp(dhcp.server);
    }
    // Rollouts and readiness run once everything they act through is up; they stop first.
    built.rollouts.start();
    services.push({ name: 'rollouts', close: () => built.rollouts.stop() });
    const api = `${tls ? 'https' : 'http'}://${settings.api.host}:${apiPort}`;
    log.info({ appliance, http: address, api, apiCa: tls?.caFile ?? null, publicUrl, dataDir, store: store.file, dhcp: settings.dhcp.enabled ? settings.dhcp.mode : 'off' }, 'rackboot serving');
    process.stderr.write(`rackboot: boot network on ${address}, management API on ${api}${tls?.caFile ? ` (CA ${tls.caFile})` : ''}\n`);
    let closed = false;
    return {
      settings,
      store,
      log,
      httpUrl: `http://127.0.0.1:${port}`,
      apiUrl,
      apiCaFile: tls?.caFile ?? null,
      adminToken: token,
      close: async () => {
        if (closed) return;
        closed = true;
        for (const s of services.reverse()) await s.close().catch((err) => log.warn({ err, service: s.name }, 'close failed'));
        store.close();
        release();
      },
    };
  } catch (e) {
    for (const s of services.reverse()) await s.close().catch(() => {});
    store.close();
    release();
    throw e;
  }
}

/** True when the store is SQLite (the default), which only this process can open (the data-dir lock). */
function isExclusiveStore(settings: Settings): boolean {
  return settings.store === 'sqlite';
}

/** Listens and answers the bound port; a busy port is a clear start-up error. */
function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(e.code === 'EADDRINUSE' ? new AppError('SETTINGS', `api: ${host}:${port} is already in use (set api.port)`, { cause: e }) : e),
    );
    server.listen(port, host, () => ok((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((ok) => {
    server.close(() => ok());
    server.closeAllConnections();
  });
}

/** `rackboot serve`: start, then close everything cleanly on SIGTERM/SIGINT. */
export async function serve(opts: { configPath?: string } = {}): Promise<void> {
  const settings = loadSettings(opts.configPath ? { configPath: opts.configPath } : {});
  const log = createLogger(settings.logLevel);
  const appliance = await startAppliance(settings, log);
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    appliance.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
