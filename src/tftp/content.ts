import { TFTP_ERROR } from './packet.js';
import type { TftpClient, TftpHandlerRegistry } from './handlers.js';
import { openInRoot } from './paths.js';
import { asChunks, fileChunks } from './source.js';

/** Content ready to send: its chunks, its size when known, and how to release it. */
export interface OpenedContent {
  ok: true;
  /** 'handler' or 'file': where the content came from (for logs). */
  origin: 'handler' | 'file';
  size: number | undefined;
  chunks: AsyncIterable<Buffer>;
  /** For a file from the root: its open descriptor and size (the native path reads it directly). */
  file?: { fd: number; size: number };
  close(): void;
}

/** A request that cannot be served, with the TFTP error code to answer. */
export interface ContentRefusal {
  ok: false;
  code: number;
  message: string;
}

/** Where content comes from. */
export interface ContentOrigins {
  realRoot: string;
  handlers: TftpHandlerRegistry;
  /** File chunk size: a multiple of blksize keeps blocks zero-copy. */
  chunkSize: (blksizeHint: number) => number;
  maxBufferedBytes: number;
}

/**
 * Opens a normalized path for a client: a registered handler owns it, or else the root
 * directory. With `wantSize` (the client asked tsize), a handler stream of unknown length is
 * buffered up to `maxBufferedBytes` so the size can be announced (edk2 needs it for its NBP).
 */
export async function openContent(
  path: string,
  client: TftpClient,
  origins: ContentOrigins,
  opts: { wantSize: boolean; blksizeHint: number },
): Promise<OpenedContent | ContentRefusal> {
  const handler = origins.handlers.find(path);
  if (handler) {
    const content = await handler.open(path, client);
    if (!content) return { ok: false, code: TFTP_ERROR.FILE_NOT_FOUND, message: 'file not found' };
    let size = Buffer.isBuffer(content.stream) ? content.stream.length : content.size;
    let chunks: AsyncIterable<Buffer> = asChunks(content.stream);
    if (size === undefined && opts.wantSize) {
      const buffered = await bufferUpTo(chunks, origins.maxBufferedBytes);
      size = buffered.size;
      chunks = buffered.chunks;
    }
    return { ok: true, origin: 'handler', size, chunks, close: () => {} };
  }
  const file = await openInRoot(origins.realRoot, path);
  if (!file.ok) return file;
  return {
    ok: true,
    origin: 'file',
    size: file.size,
    // Lazy: nothing is read until the chunks are iterated, so the native path reads the fd alone.
    chunks: fileChunks(file.handle, origins.chunkSize(opts.blksizeHint)),
    file: { fd: file.handle.fd, size: file.size },
    close: () => void file.handle.close().catch(() => {}),
  };
}

/** Reads a stream until it ends (size known) or passes `limit` (size unknown, rest still streamed). */
async function bufferUpTo(chunks: AsyncIterable<Buffer>, limit: number): Promise<{ size: number | undefined; chunks: AsyncIterable<Buffer> }> {
  const it = chunks[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let total = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) return { size: total, chunks: asChunks(head) };
    head.push(r.value);
    total += r.value.length;
    if (total > limit) break;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { size: undefined, chunks: rest() };
}
