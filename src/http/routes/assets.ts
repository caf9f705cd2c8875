import { open } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Asset, assetName } from '../../assets/manifest.js';
import { etagMatches, parseRange } from '../../assets/range.js';
import type { AssetRegistry } from '../../assets/registry.js';
import { MappedFiles } from '../../assets/mapped.js';
import { pageMapper } from '../../assets/mmap.js';
import { type StreamStats, streamFile } from '../../assets/stream.js';
import { AppError } from '../../errors.js';
import { normalizeMac } from '../../model/mac.js';
import { clientMacOf } from '../../net/client-mac.js';
import type { Logger } from '../../log.js';
import type { AppDeps } from '../app.js';
import { documented } from './openapi.js';
import { EVENT } from '../../lifecycle/event-kinds.js';

const digestParams = z.object({ hex: z.string() });
const nameParams = z.object({ name: z.string() });
const macQuery = z.object({ mac: z.string().max(64).optional() }).passthrough();

/**
 * GET/HEAD /assets/sha256/<hex> (immutable, cached for a year) and /assets/<name> (the build's
 * current artifact of that name, e.g. /assets/ipxe.efi for UEFI HTTP boot; revalidated by ETag).
 * Files stream from disk; only names and digests the registry knows are served, so a path
 * never reaches the filesystem (no traversal).
 */
export function registerAssetRoutes(app: FastifyInstance, deps: AppDeps, assets: AssetRegistry): void {
  const log = deps.log.child({ subsys: 'assets' });
  const files = deps.settings.http.mapAssets && pageMapper ? new MappedFiles(pageMapper) : undefined;
  if (deps.settings.http.mapAssets && !pageMapper) log.warn('native/mmap addon not built: assets are read through buffers');

  const served = (req: FastifyRequest, asset: Asset, status: number, bytes: number) => {
    if (req.method !== 'GET' || (asset.kind !== 'kernel' && asset.kind !== 'initrd')) return;
    const mac = macOf(req, deps);
    deps.store.events.add({
      mac,
      source: 'http',
      kind: EVENT.assetServed,
      detail: { name: asset.name, sha256: asset.sha256, kind: asset.kind, status, bytes, client: req.ip },
    });
    log.debug({ mac, name: asset.name, status, bytes }, 'asset served');
  };

  app.route({
    method: ['GET', 'HEAD'],
    url: '/assets/sha256/:hex',
    exposeHeadRoute: false,
    config: { access: 'public-boot' },
    ...documented({ summary: 'Artifact by digest (Range, ETag, immutable; ?mac= names the machine in its trace)', params: digestParams, querystring: macQuery, produces: 'application/octet-stream' }),
    handler: async (req, reply) => {
      const { hex } = digestParams.parse(req.params);
      const asset = /^[0-9a-f]{64}$/.test(hex) ? assets.byDigest(hex) : undefined;
      if (!asset) throw new AppError('NOT_FOUND', `no artifact sha256:${hex.slice(0, 64)}`);
      void reply.header('cache-control', 'public, max-age=31536000, immutable');
      return sendAsset(req, reply, asset, served, log, files);
    },
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/assets/:name',
    exposeHeadRoute: false,
    config: { access: 'public-boot' },
    ...documented({ summary: 'Artifact by name (e.g. ipxe.efi for UEFI HTTP boot; revalidated by ETag)', params: nameParams, querystring: macQuery, produces: 'application/octet-stream' }),
    handler: async (req, reply) => {
      const { name } = nameParams.parse(req.params);
      const asset = assetName.safeParse(name).success ? assets.byName(name) : undefined;
      if (!asset) throw new AppError('NOT_FOUND', `no artifact named ${JSON.stringify(name.slice(0, 128))}`);
      void reply.header('cache-control', 'public, max-age=60, must-revalidate');
      return sendAsset(req, reply, asset, served, log, files);
    },
  });
}

type ServedHook = (req: FastifyRequest, asset: Asset, status: number, bytes: number) => void;

/** Conditional request, Range and HEAD handling shared by both asset routes. */
async function sendAsset(
  req: FastifyRequest,
  reply: FastifyReply,
  asset: Asset,
  served: ServedHook,
  log: Logger,
  files: MappedFiles | undefined,
): Promise<FastifyReply> {
  const etag = `"sha256:${asset.sha256}"`;
  void reply.header('etag', etag).header('accept-ranges', 'bytes');
  void reply.type(contentTypeOf(asset));
  if (etagMatches(req.headers['if-none-match'], etag)) return reply.status(304).send();
  const ifRange = req.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, asset.size) : null;
  if (range === 'unsatisfiable') {
    return reply.status(416).header('content-range', `bytes */${asset.size}`).send();
  }
  const start = range ? range.start : 0;
  const end = range ? range.end : asset.size - 1;
  const length = asset.size === 0 ? 0 : end - start + 1;
  if (range) void reply.status(206).header('content-range', `bytes ${start}-${end}/${asset.size}`);
  void reply.header('content-length', length);
  if (start === 0) served(req, asset, range ? 206 : 200, length);
  if (req.method === 'HEAD' || length === 0) return reply.send();
  // Opened before the head goes out, so a vanished file is still an ordinary error reply.
  const fh = await open(asset.path, 'r').catch((cause: NodeJS.ErrnoException) => {
    log.error({ name: asset.name, path: asset.path, err: cause.message }, 'registered asset file cannot be opened');
    throw new AppError('INTERNAL', `artifact ${asset.name} (sha256:${asset.sha256}) is registered but its file cannot be read: ${cause.code ?? cause.message}`, { cause });
  });
  // The body bypasses fastify's stream piping: streamFile sends cached pages from a mapping or
  // reuses its read buffers, and prepares the next chunk while the socket sends (bench/http.sh).
  reply.hijack();
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) reply.raw.setHeader(name, typeof value === 'number' ? String(value) : value);
  }
  reply.raw.writeHead(reply.statusCode);
  const stats: StreamStats = { mappedBytes: 0, readBytes: 0 };
  const mapping = files ? await files.get(fh) : undefined;
  const mapped = files && mapping ? { mapping, mapper: files.mapper } : undefined;
  const err = await streamFile(fh, start, end, reply.raw, mapped, stats);
  if (err) log.warn({ name: asset.name, err: err.message, ...stats }, 'asset stream cut short');
  return reply;
}

function contentTypeOf(a: Asset): string {
  if (a.name.endsWith('.ipxe')) return 'text/plain; charset=utf-8';
  if (a.name.endsWith('.efi')) return 'application/efi';
  return 'application/octet-stream';
}

/** The MAC a download belongs to: ?mac= from the boot script, else the client IP's (lease, neighbour table, reservation). */
function macOf(req: FastifyRequest, deps: AppDeps): string | null {
  const q = macQuery.safeParse(req.query);
  if (q.success && q.data.mac) {
    try {
      return normalizeMac(q.data.mac);
    } catch {
      return null;
    }
  }
  return clientMacOf(deps, req.ip) ?? deps.store.machines.findByIpv4(req.ip)?.macs[0] ?? null;
}
