import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { type NeighbourLookup, macForClientIp } from '../net/client-mac.js';
import type { Service, ServiceContext } from '../service.js';
import { TransferEventBatcher } from './events.js';
import type { TftpHandlerRegistry } from './handlers.js';
import { TftpServer } from './server.js';

/** How often the interface addresses are re-read when listening on 0.0.0.0. */
const RESCAN_MS = 30_000;

/** Every local IPv4 address: one request socket each, so replies leave from the address asked. */
export function localIpv4Addresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4') out.push(a.address);
  }
  return out;
}

/** Starts the TFTP server from settings, serving settings.assetsDir and the given handlers and neighbour table (main.ts's). */
export async function startTftp(ctx: ServiceContext, handlers?: TftpHandlerRegistry, neighbourMac?: NeighbourLookup): Promise<Service | undefined> {
  const settings = ctx.settings.tftp;
  const log = ctx.log.child({ subsys: 'tftp' });
  const events = new TransferEventBatcher(ctx.store, log);
  const server = new TftpServer({
    settings,
    root: resolve(ctx.settings.assetsDir),
    log,
    lookupMac: (ip) => macForClientIp(ctx.store, ip, neighbourMac),
    ...(handlers ? { handlers } : {}),
    onTransfer: (r) => events.push(r),
  });
  const wildcard = settings.host === '0.0.0.0';
  const bindAll = async () => {
    const want = wildcard ? localIpv4Addresses() : [settings.host];
    for (const address of want) {
      await server.listen(address, settings.port).catch((err) => {
        // An address can vanish between listing and binding; a fixed host must bind.
        if (!wildcard) throw err;
        log.warn({ err, address }, 'tftp cannot listen');
      });
    }
    for (const { address } of server.addresses()) if (!want.includes(address)) server.unlisten(address);
  };
  await bindAll();
  const rescan = wildcard ? setInterval(() => void bindAll().catch(() => {}), RESCAN_MS) : undefined;
  rescan?.unref();
  log.info({ addresses: server.addresses(), root: resolve(ctx.settings.assetsDir) }, 'tftp listening');
  return {
    name: 'tftp',
    close: async () => {
      if (rescan) clearInterval(rescan);
      await server.close();
      events.flush();
      // What was dropped or refused (clientLimited: the per-client cap) over the whole run.
      log.info({ ...server.stats }, 'tftp stopped');
    },
  };
}
