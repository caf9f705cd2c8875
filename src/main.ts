import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { startDhcp } from './dhcp/service.js';
import { buildApp } from './http/app.js';
import { ensureAdminToken } from './http/auth.js';
import { acquireDataDirLock } from './inventory/lock.js';
import { Store } from './inventory/store.js';
import { type Logger, createLogger } from './log.js';
import type { Service } from './service.js';
import { type Settings, loadSettings } from './settings.js';
import { startTftp } from './tftp/service.js';

/** A running appliance. */
export interface Appliance {
  settings: Settings;
  store: Store;
  log: Logger;
  httpUrl: string;
  adminToken: string;
  close(): Promise<void>;
}

/** Composition root: settings → store → HTTP → TFTP → DHCP. Closing stops all of it. */
export async function startAppliance(settings: Settings, log: Logger = createLogger(settings.logLevel)): Promise<Appliance> {
  const dataDir = resolve(settings.dataDir);
  const store = Store.open(dataDir);
  store.events.onFlushError = (err, rows) => log.error({ err, rows }, 'boot trace rows lost: queued events could not be written');
  let release: (() => void) | undefined;
  const services: Service[] = [];
  try {
    release = acquireDataDirLock(dataDir);
    const { token, created } = ensureAdminToken(dataDir);
    if (created) {
      // Printed once, on the first start; afterwards it is only in data/admin.token (0600).
      process.stderr.write(`rackboot: admin API token (also in ${dataDir}/admin.token): ${token}\n`);
    }
    const app = await buildApp({ settings, store, log, adminToken: token });
    const address = await app.listen({ host: settings.http.host, port: settings.http.port });
    const port = Number(new URL(address).port);
    services.push({ name: 'http', close: () => app.close() });
    const publicUrl = settings.http.publicUrl ?? `http://${guessAddress(settings)}:${port}`;
    const ctx = { settings, store, log, publicUrl };
    const tftp = settings.tftp.enabled ? await startTftp(ctx) : undefined;
    if (tftp) services.push(tftp);
    const dhcp = settings.dhcp.enabled ? await startDhcp(ctx) : undefined;
    if (dhcp) services.push(dhcp);
    log.info({ http: address, publicUrl, dataDir, dhcp: settings.dhcp.enabled ? settings.dhcp.mode : 'off' }, 'rackboot serving');
    let closed = false;
    return {
      settings,
      store,
      log,
      httpUrl: `http://127.0.0.1:${port}`,
      adminToken: token,
      close: async () => {
        if (closed) return;
        closed = true;
        for (const s of services.reverse()) await s.close().catch((err) => log.warn({ err, service: s.name }, 'close failed'));
        store.close();
        release?.();
      },
    };
  } catch (e) {
    for (const s of services.reverse()) await s.close().catch(() => {});
    store.close();
    release?.();
    throw e;
  }
}

/** The address clients should use: the DHCP server address, the HTTP host, or the first non-loopback IPv4. */
function guessAddress(settings: Settings): string {
  if (settings.dhcp.serverAddress) return settings.dhcp.serverAddress;
  if (settings.http.host !== '0.0.0.0' && settings.http.host !== '::') return settings.http.host;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
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
