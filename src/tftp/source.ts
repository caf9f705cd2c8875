import type { FileHandle } from 'node:fs/promises';

/** Where a transfer takes its blocks from; blocks are numbered from 1 without wrapping. */
export interface BlockSource {
  /** Block `index` if loaded: `blksize` bytes, fewer for the last one; undefined until loaded. */
  block(index: number): Buffer | undefined;
  /** Resolves once block(index) is available; rejects when the content cannot be produced. */
  wait(index: number): Promise<void>;
  /** Blocks below `index` are acknowledged and will not be asked for again. */
  release(index: number): void;
  /** Stops producing and frees resources (idempotent). */
  close(): void;
}

/**
 * A BlockSource over a stream of chunks of any size. It keeps the bytes from the oldest block
 * still in flight up to `aheadBytes` past the newest block asked for, reading ahead so the
 * sender rarely waits. Blocks inside one chunk are views, not copies.
 */
export class ChunkedSource implements BlockSource {
  private readonly chunks: Buffer[] = [];
  /** Byte offset of chunks[0]. */
  private start = 0;
  /** Byte offset just past the last loaded chunk. */
  private end = 0;
  private eof = false;
  private failed: Error | undefined;
  private pulling = false;
  private wantEnd = 0;
  private waiters: Array<{ end: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(
    chunks: AsyncIterable<Buffer>,
    private readonly blksize: number,
    private readonly aheadBytes: number,
  ) {
    this.iterator = chunks[Symbol.asyncIterator]();
    this.want(aheadBytes);
  }

  block(index: number): Buffer | undefined {
    const from = (index - 1) * this.blksize;
    const to = from + this.blksize;
    if (to + this.aheadBytes / 2 > this.wantEnd) this.want(to + this.aheadBytes);
    if (to > this.end && !this.eof) return undefined;
    if (from < this.start) throw new Error(`block ${index} was released`);
    return this.slice(from, Math.min(to, this.end));
  }

  wait(index: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const to = index * this.blksize;
    if (to <= this.end || this.eof) return Promise.resolve();
    this.want(to + this.aheadBytes);
    return new Promise((resolve, reject) => this.waiters.push({ end: to, resolve, reject }));
  }

  release(index: number): void {
    const keepFrom = (index - 1) * this.blksize;
    while (this.chunks.length > 0 && this.start + this.chunks[0]!.length <= keepFrom) {
      this.start += this.chunks.shift()!.length;
    }
  }

  close(): void {
    this.eof = true;
    this.chunks.length = 0;
    void this.iterator.return?.()?.catch(() => {});
  }

  private slice(from: number, to: number): Buffer {
    let offset = this.start;
    for (let i = 0; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      if (from < offset + c.length) {
        if (to <= offset + c.length) return c.subarray(from - offset, to - offset);
        // The block spans chunks: copy its pieces together.
        const out = Buffer.allocUnsafe(to - from);
        let written = 0;
        for (let j = i; written < out.length; j++) {
          const piece = this.chunks[j]!;
          const pieceStart = j === i ? from - offset : 0;
          written += piece.copy(out, written, pieceStart, Math.min(piece.length, pieceStart + out.length - written));
        }
        return out;
      }
      offset += c.length;
    }
    return Buffer.alloc(0);
  }

  private want(end: number): void {
    if (end > this.wantEnd) this.wantEnd = end;
    if (!this.pulling && !this.eof && this.end < this.wantEnd) void this.pull();
  }

  private async pull(): Promise<void> {
    this.pulling = true;
    try {
      while (!this.eof && this.end < this.wantEnd) {
        const r = await this.iterator.next();
        if (r.done) {
          this.eof = true;
        } else if (r.value.length > 0) {
          this.chunks.push(r.value);
          this.end += r.value.length;
        }
        this.settle();
      }
    } catch (e) {
      this.failed = e instanceof Error ? e : new Error(String(e));
      for (const w of this.waiters) w.reject(this.failed);
      this.waiters = [];
    } finally {
      this.pulling = false;
    }
  }

  private settle(): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.end <= this.end || this.eof);
    this.waiters = this.waiters.filter((w) => !(w.end <= this.end || this.eof));
    for (const w of ready) w.resolve();
  }
}

/** Reads a file in chunks of `chunkSize` bytes (a multiple of blksize keeps blocks zero-copy). */
export async function* fileChunks(handle: FileHandle, chunkSize: number): AsyncGenerator<Buffer> {
  let position = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(chunkSize);
    const { bytesRead } = await handle.read(buf, 0, chunkSize, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield bytesRead === chunkSize ? buf : buf.subarray(0, bytesRead);
  }
}

/** Turns a Buffer or any iterable of Buffers into an async iterable of chunks. */
export async function* asChunks(content: Buffer | AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(content)) {
    yield content;
    return;
  }
  for await (const c of content) yield Buffer.isBuffer(c) ? c : Buffer.from(c);
}

/**
 * Netascii encoding (RFC 764, used by RFC 1350 mode "netascii"): LF becomes CR LF and a bare CR
 * becomes CR NUL. The mapping is per byte, so chunk boundaries need no state.
 */
export async function* netasciiChunks(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    const out = Buffer.allocUnsafe(chunk.length * 2);
    let n = 0;
    for (const b of chunk) {
      if (b === 0x0a) {
        out[n++] = 0x0d;
        out[n++] = 0x0a;
      } else if (b === 0x0d) {
        out[n++] = 0x0d;
        out[n++] = 0x00;
      } else {
        out[n++] = b;
      }
    }
    yield out.subarray(0, n);
  }
}
