import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { PageMapper } from './mmap.js';

/** Bytes per read into a buffer. */
const CHUNK = 1024 * 1024;
/** Bytes per page-cache mapping; windows start on 64 KiB boundaries (any page size divides that). */
const MAP_CHUNK = 4 * 1024 * 1024;
const MAP_ALIGN = 64 * 1024;
/** Chunks of one response that are being read or written at once. */
const DEPTH = 4;
/**
 * Idle read buffers kept for the next response. A fresh 1 MiB buffer is new memory that the
 * kernel page-faults in on first touch; reusing buffers makes a read just the page-cache copy.
 */
const POOL_MAX = 32;
const pool: Buffer[] = [];

function takeBuffer(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
}

function giveBuffer(b: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(b);
}

/** How the bytes of one response were obtained (for tests and the log). */
export interface StreamStats {
  mappedBytes: number;
  readBytes: number;
}

/**
 * Writes bytes `start`..`end` (inclusive) of an open file to a response whose head is already
 * set, then ends the response and closes the file. Up to DEPTH chunks are in flight: the next
 * one is prepared while the socket sends the previous one. With a `mapped` file, a chunk whose
 * pages are all in the page cache is written from the mapping (one kernel copy); any other chunk
 * is read into a pooled buffer, reused only after the socket has taken its bytes (the write
 * callback).
 * Memory per response is bounded by DEPTH chunks, whatever the file size. A client that goes
 * away stops the work; a read error after the head was sent can only cut the response short,
 * so the response is destroyed (the client sees a short body) and the error is returned.
 */
export async function streamFile(
  fh: FileHandle,
  start: number,
  end: number,
  res: ServerResponse,
  mapped?: { mapping: Buffer; mapper: PageMapper },
  stats: StreamStats = { mappedBytes: 0, readBytes: 0 },
): Promise<Error | undefined> {
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let gone = false;
  const wakeUp = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onClose = () => {
    gone = true;
    wakeUp();
  };
  res.on('close', onClose);
  try {
    let pos = start;
    const stop = end + 1;
    while (pos < stop && !gone && !res.destroyed) {
      if (inFlight >= DEPTH) {
        await new Promise<void>((r) => {
          wake = r;
        });
        continue;
      }
      const len = Math.min(MAP_CHUNK, stop - pos);
      if (mapped && stop <= mapped.mapping.length && mapped.mapper.resident(mapped.mapping, pos, len)) {
        const chunk = mapped.mapping.subarray(pos, pos + len);
        stats.mappedBytes += chunk.length;
        pos += chunk.length;
        inFlight++;
        res.write(chunk, () => {
          inFlight--;
          wakeUp();
        });
        continue;
      }
      const buf = takeBuffer();
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, stop - pos), pos);
      if (bytesRead === 0) throw new Error(`the file ended at byte ${pos}, expected ${stop}`);
      stats.readBytes += bytesRead;
      pos += bytesRead;
      inFlight++;
      res.write(buf.subarray(0, bytesRead), (err) => {
        inFlight--;
        if (!err) giveBuffer(buf);
        wakeUp();
      });
    }
    if (!gone && !res.destroyed) res.end();
    return undefined;
  } catch (e) {
    res.destroy();
    return e instanceof Error ? e : new Error(String(e));
  } finally {
    res.off('close', onClose);
    await fh.close();
  }
}
