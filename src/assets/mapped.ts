import type { FileHandle } from 'node:fs/promises';
import type { PageMapper } from './mmap.js';

/** Files kept mapped at once; the least recently used mapping is dropped past this. */
const MAX_FILES = 64;

/**
 * Whole-file mappings of assets, one per file version, reused by every download: a mapping's
 * page tables fill once, so later downloads copy page cache -> socket without page faults.
 * A file is identified by device, inode, size and mtime, so a rebuilt or replaced file gets a
 * new mapping. Mappings cost address space, not memory (the pages are the page cache's); a
 * dropped mapping is unmapped once no download uses it (garbage collection).
 */
export class MappedFiles {
  private readonly maps = new Map<string, Buffer>();

  constructor(readonly mapper: PageMapper) {}

  /** The mapping of an open file (created on first use), or undefined if it cannot be mapped. */
  async get(fh: FileHandle): Promise<Buffer | undefined> {
    const st = await fh.stat();
    if (!st.isFile() || st.size === 0) return undefined;
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    const hit = this.maps.get(key);
    if (hit) {
      this.maps.delete(key);
      this.maps.set(key, hit);
      return hit;
    }
    let mapping: Buffer;
    try {
      mapping = this.mapper.mapFile(fh.fd, st.size);
    } catch {
      return undefined;
    }
    this.maps.set(key, mapping);
    if (this.maps.size > MAX_FILES) this.maps.delete(this.maps.keys().next().value as string);
    return mapping;
  }

  /** Mappings held now. */
  get size(): number {
    return this.maps.size;
  }
}
