import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors.js';

/** Where an external artifact comes from: a local file or an http(s) mirror URL. */
export type FetchSource = { path: string } | { url: string };

/** Upper bound on a registered artifact (disk images included). */
const MAX_BYTES = 16 * 1024 ** 3;

async function openSource(src: FetchSource): Promise<Readable> {
  if ('path' in src) {
    try {
      const st = await stat(src.path);
      if (!st.isFile()) throw new AppError('BAD_INPUT', `${src.path} is not a regular file`);
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('BAD_INPUT', `cannot read ${src.path}: ${(e as Error).message}`, { cause: e });
    }
    return createReadStream(src.path);
  }
  let res: Response;
  try {
    res = await fetch(src.url, { redirect: 'follow' });
  } catch (e) {
    throw new AppError('BAD_INPUT', `cannot fetch ${src.url}: ${(e as Error).message}`, { cause: e });
  }
  if (!res.ok || !res.body) throw new AppError('BAD_INPUT', `fetching ${src.url} answered HTTP ${res.status}`);
  return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
}

/**
 * Streams `src` into `<dir>/<sha256>` while hashing it; the file appears under its digest name
 * only when the digest matches (a mismatch leaves nothing behind and is INVALID_CONFIG).
 */
export async function storeVerified(src: FetchSource, expectedHex: string, dir: string): Promise<{ size: number }> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = join(dir, `.incoming-${randomBytes(6).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > MAX_BYTES) return cb(new AppError('BAD_INPUT', `artifact larger than ${MAX_BYTES} bytes`));
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(await openSource(src), meter, createWriteStream(tmp, { mode: 0o644 }));
    const got = hash.digest('hex');
    if (got !== expectedHex) {
      throw new AppError('INVALID_CONFIG', `digest mismatch: expected sha256:${expectedHex}, got sha256:${got}`, {
        details: [{ path: 'sha256', message: `content has sha256:${got}` }],
      });
    }
    await rename(tmp, join(dir, expectedHex));
    return { size };
  } finally {
    await rm(tmp, { force: true });
  }
}
