import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors.js';
import { type ImportStream, openLocalImport } from './import-local.js';
import { type ResolveHost, type SetTimer, openUrlImport } from './import-url.js';
import type { AssetImportSettings } from './settings.js';

/** Where an external artifact comes from: a local file or an http(s) mirror URL. */
export type FetchSource = { path: string } | { url: string };

/** Opens import sources under the operator's import policy; the registry reads through it. */
export interface ImportSource {
  /** Largest artifact an import may write. */
  readonly maxBytes: number;
  /** The source's bytes, or a FORBIDDEN/BAD_INPUT AppError saying why not. */
  open(src: FetchSource): Promise<ImportStream>;
}

/** Injected resolver and timers (tests: a fake resolver, timers fired by hand). */
export interface AssetImporterDeps {
  resolve?: ResolveHost;
  setTimer?: SetTimer;
}

/**
 * The import policy of the `assets` settings section applied to real files and URLs:
 * local files only inside importDirs (never inside `denyDirs`, rackboot's data directory),
 * URLs only to addresses checkImportAddress allows.
 */
export class AssetImporter implements ImportSource {
  constructor(
    private readonly settings: AssetImportSettings,
    private readonly denyDirs: readonly string[],
    private readonly deps: AssetImporterDeps = {},
  ) {}

  /** Largest artifact an import may write. */
  get maxBytes(): number {
    return this.settings.maxImportBytes;
  }

  /** Opens a local file or a URL, or refuses with an AppError. */
  open(src: FetchSource): Promise<ImportStream> {
    if ('path' in src) return openLocalImport(src.path, this.settings.importDirs, this.denyDirs);
    return openUrlImport(src.url, {
      allowHosts: this.settings.allowHosts,
      maxBytes: this.settings.maxImportBytes,
      timeoutMs: this.settings.fetchTimeoutMs,
      maxRedirects: this.settings.maxRedirects,
      ...this.deps,
    });
  }
}

const tooLarge = (max: number) => new AppError('BAD_INPUT', `artifact larger than assets.maxImportBytes (${max} bytes)`);

/**
 * Streams the source into `<dir>/<sha256>` while hashing it; the file appears under its digest
 * name only when the digest matches. A mismatch is INVALID_CONFIG "sha256 mismatch" and never
 * names the digest the content has (that would make registration a digest oracle for any file
 * the source can read); the partial file is removed on every failure.
 */
export async function storeVerified(src: FetchSource, expectedHex: string, dir: string, importer: ImportSource): Promise<{ size: number }> {
  const max = importer.maxBytes;
  const input = await importer.open(src);
  if (input.size !== undefined && input.size > max) {
    input.stream.destroy();
    throw tooLarge(max);
  }
  const tmp = join(dir, `.incoming-${randomBytes(6).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > max) return cb(tooLarge(max));
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await pipeline(input.stream, meter, createWriteStream(tmp, { mode: 0o644 }));
    if (hash.digest('hex') !== expectedHex) {
      throw new AppError('INVALID_CONFIG', `sha256 mismatch: the content does not have sha256:${expectedHex}`, {
        details: [{ path: 'sha256', message: 'sha256 mismatch' }],
      });
    }
    await rename(tmp, join(dir, expectedHex));
    return { size };
  } finally {
    input.stream.destroy();
    await rm(tmp, { force: true });
  }
}
