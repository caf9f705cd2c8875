/**
 * TFTP side of the Secure Boot chain: GRUB-net reads its configs, failure beacons, kernels and
 * initrds over TFTP (Debian's signed GRUB has no HTTP client). Registered with the TFTP server's
 * handler registry; shim and GRUB themselves are plain files of the boot-assets build (TFTP root).
 */
import { createReadStream } from 'node:fs';
import { isAppError } from '../errors.js';
import { parseGrubPath } from '../render/grub.js';
import type { TftpHandler, TftpHandlerRegistry } from '../tftp/handlers.js';
import { type GrubDeps, grubFile } from './service.js';

const DIGEST_PATH = /^assets\/sha256\/([0-9a-f]{64})$/;

/** A handler for `grub/...` and `assets/sha256/<hex>` (the digest paths GRUB configs use). */
export function grubTftpHandler(deps: GrubDeps, baseUrl: () => string): TftpHandler {
  return {
    match: (path) => parseGrubPath(path) !== null || DIGEST_PATH.test(path),
    open: async (path, client) => {
      const digest = DIGEST_PATH.exec(path);
      if (digest) {
        const asset = deps.assets.byDigest(digest[1] as string);
        return asset ? { size: asset.size, stream: createReadStream(asset.path) } : null;
      }
      const req = parseGrubPath(path);
      if (!req) return null;
      const via = { address: client.address, via: 'tftp' as const, baseUrl: baseUrl() };
      let text: string | null;
      try {
        text = grubFile(deps, req, client.mac ? { ...via, mac: client.mac } : via);
      } catch (e) {
        // Refused (not bound, forged beacon): traced by grubFile; TFTP answers "file not found".
        if (isAppError(e, 'FORBIDDEN')) return null;
        throw e;
      }
      return text === null ? null : { stream: Buffer.from(text) };
    },
  };
}

/** Registers the handler with a TFTP server's registry (main.ts's); returns the unregister function. */
export function registerGrubTftp(deps: GrubDeps, baseUrl: () => string, registry: TftpHandlerRegistry): () => void {
  return registry.register(grubTftpHandler(deps, baseUrl));
}
