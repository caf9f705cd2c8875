/**
 * Secure Boot chain over HTTP: GRUB configs under every name GRUB-net asks for (for GRUB builds
 * with an HTTP client; Debian's signed one reads them over TFTP, see src/secureboot/tftp.ts) and
 * the UEFI HTTP Boot RAM disk (shim + GRUB + stub) with this server's address patched in.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BootService } from '../../boot/service.js';
import { BOOT_PATHS } from '../../boot/urls.js';
import { AppError } from '../../errors.js';
import { clientMacOf } from '../../net/client-mac.js';
import { parseGrubPath } from '../../render/grub.js';
import { HTTPBOOT_IMAGE_ASSET, HTTPBOOT_IMAGE_TYPE, patchHttpBootImage } from '../../render/grub-httpboot.js';
import { type GrubDeps, grubFile } from '../../secureboot/service.js';
import type { Settings } from '../../settings.js';
import type { RouteDeps } from '../app.js';
import { fixedPublicUrl, socketBaseUrl } from '../public-url.js';
import { documented } from './openapi.js';
import { EVENT } from '../../lifecycle/event-kinds.js';

/** URL path of the UEFI HTTP Boot image for Secure Boot machines (DHCP hands it to HTTPClient). */
export const HTTPBOOT_IMAGE_PATH = BOOT_PATHS.httpBootImage;


/** GRUB configs and the HTTP Boot image (the TFTP side is registered by main.ts with the TFTP server's registry). */
export function registerGrubRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const log = deps.log.child({ subsys: 'grub' });
  const grub: GrubDeps = { ...deps, log, boot: deps.boot ?? new BootService({ ...deps, log }) };

  app.get('/grub/*', { config: { access: 'public-boot' }, ...documented({ summary: 'GRUB config: grub.cfg (stub), grub.cfg-01-<mac>, grub.cfg-<hex ip>', produces: 'text/plain' }) }, async (req, reply) => {
    const path = req.url.split('?', 1)[0] ?? '';
    const parsed = parseGrubPath(decodeURIComponent(path));
    const client = { address: clientIp(req), via: 'http' as const, baseUrl: fixedPublicUrl(deps) ?? socketBaseUrl(req.socket, deps.settings.http.port) };
    const mac = clientMacOf(grub, client.address);
    const text = parsed ? grubFile(grub, parsed, mac ? { ...client, mac } : client) : null;
    if (text === null) throw new AppError('NOT_FOUND', `no GRUB file ${path}`);
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(text);
  });

  const patched = new Map<string, Buffer>();
  app.get(HTTPBOOT_IMAGE_PATH, { config: { access: 'public-boot' }, ...documented({ summary: 'UEFI HTTP Boot RAM disk: shim → GRUB, continues over TFTP', produces: 'application/octet-stream' }) }, async (req, reply) => httpBootImage(grub, patched, req, reply));
}

/** Serves the RAM disk with the address this client reached us on (TFTP listens there too). */
function httpBootImage(grub: GrubDeps, cache: Map<string, Buffer>, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const asset = grub.assets.byName(HTTPBOOT_IMAGE_ASSET);
  if (!asset) throw new AppError('NOT_FOUND', `${HTTPBOOT_IMAGE_ASSET} is not built (boot-assets/build.sh)`);
  const server = tftpServerAddress(grub.settings, req);
  const key = `${asset.sha256}@${server}`;
  let body = cache.get(key);
  if (!body) {
    body = patchHttpBootImage(readFileSync(asset.path), server);
    cache.clear(); // one server address per listener in practice; keep at most one copy
    cache.set(key, body);
  }
  const address = clientIp(req);
  const mac = clientMacOf(grub, address) ?? null;
  if (req.method === 'GET') {
    grub.store.events.add({
      mac,
      source: 'grub',
      kind: EVENT.bootChain,
      detail: { chain: 'secureboot', firmwarePath: 'uefi-http', stage: 'ramdisk', image: asset.sha256, client: address },
    });
    grub.log.info({ mac, client: address, server }, 'HTTP Boot RAM disk served');
  }
  return reply.type(HTTPBOOT_IMAGE_TYPE).header('cache-control', 'no-store').send(body);
}

/**
 * The address the stub's GRUB fetches from over TFTP: the one the firmware reached us on (TFTP
 * listens there too), else the DHCP server address, else the publicUrl host.
 */
function tftpServerAddress(settings: Settings, req: FastifyRequest): string {
  const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/;
  const local = (req.socket.localAddress ?? '').replace(/^::ffff:/, '');
  if (ipv4.test(local)) return local;
  if (settings.dhcp.serverAddress) return settings.dhcp.serverAddress;
  const host = settings.http.publicUrl ? new URL(settings.http.publicUrl).hostname : '';
  if (ipv4.test(host)) return host;
  throw new AppError('SETTINGS', 'cannot tell the TFTP address for the HTTP Boot image: set dhcp.serverAddress');
}

function clientIp(req: FastifyRequest): string {
  return req.ip.replace(/^::ffff:/, '');
}
