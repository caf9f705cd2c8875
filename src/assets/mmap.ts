import { createRequire } from 'node:module';

/** The native/mmap addon (rackboot-mmap): whole-file read-only mappings and a page-cache check. */
export interface PageMapper {
  /** A Buffer over the whole file; unmapped when garbage-collected. Never read it from JS. */
  mapFile(fd: number, length: number): Buffer;
  /** True when every page of `offset`..`offset + length` of a mapping is in the page cache. */
  resident(mapping: Buffer, offset: number, length: number): boolean;
}

function load(): PageMapper | undefined {
  try {
    const require = createRequire(import.meta.url);
    const addon = require('rackboot-mmap/build/Release/rackboot_mmap.node') as Partial<PageMapper>;
    return typeof addon.mapFile === 'function' && typeof addon.resident === 'function' ? (addon as PageMapper) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The page mapper built by npm ci (node-gyp), or undefined where the addon is missing: asset
 * streaming then reads through buffers, which works the same, with one more copy.
 */
export const pageMapper: PageMapper | undefined = load();
