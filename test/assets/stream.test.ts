import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MappedFiles } from '../../src/assets/mapped.js';
import { pageMapper } from '../../src/assets/mmap.js';
import { type StreamStats, streamFile } from '../../src/assets/stream.js';

// 9.5 MiB: more chunks than the in-flight depth, and a short last chunk.
const bytes = randomBytes(9.5 * 1024 * 1024);
let dir: string;
let server: Server;
let port: number;
/** What each finished stream returned and how it got its bytes, by the request's ?id=. */
const results = new Map<string, { error: Error | undefined; stats: StreamStats }>();
let nextId = 0;
const files = pageMapper ? new MappedFiles(pageMapper) : undefined;

/** Waits until the server side has finished stream `id` (the client may see the end first). */
async function finished(id: string): Promise<{ error: Error | undefined; stats: StreamStats } | undefined> {
  for (let i = 0; i < 250 && !results.has(id); i++) await new Promise((w) => setTimeout(w, 20));
  return results.get(id);
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

function fetchBody(path: string, opts: { abortAfter?: number } = {}): Promise<{ status: number; body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path }, (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        parts.push(c);
        n += c.length;
        if (opts.abortAfter !== undefined && n >= opts.abortAfter) req.destroy();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), complete: false }));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), complete: res.complete }));
    });
    req.on('error', (e) => (opts.abortAfter !== undefined ? resolve({ status: 0, body: Buffer.alloc(0), complete: false }) : reject(e)));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rb-stream-'));
  writeFileSync(join(dir, 'big.bin'), bytes);
  writeFileSync(join(dir, 'shrinks.bin'), bytes);
  // /<file>?start=&end=&truncateAt= : streams a range; truncateAt cuts the file after the head.
  server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const file = join(dir, u.pathname.slice(1));
    const start = Number(u.searchParams.get('start') ?? 0);
    const end = Number(u.searchParams.get('end') ?? bytes.length - 1);
    const fh = await open(file, 'r');
    res.writeHead(200, { 'content-length': String(end - start + 1) });
    const cut = u.searchParams.get('truncateAt');
    if (cut !== null) truncateSync(file, Number(cut));
    const st: StreamStats = { mappedBytes: 0, readBytes: 0 };
    const mapping = u.searchParams.has('map') && files ? await files.get(fh) : undefined;
    const mapped = mapping && pageMapper ? { mapping, mapper: pageMapper } : undefined;
    const error = await streamFile(fh, start, end, res, mapped, st);
    results.set(u.searchParams.get('id') ?? '', { error, stats: st });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

it('the page-cache mapper addon is built (npm ci runs node-gyp for native/mmap)', () => {
  expect(pageMapper?.mapFile).toBeTypeOf('function');
});

describe.each([
  ['read through buffers', ''],
  ['cached pages from a mapping', 'map'],
])('streamFile over a real socket: %s', (_name, flag) => {
  let lastId = '';
  const q = (extra = '') => {
    lastId = String(nextId++);
    return `?${[flag, extra, `id=${lastId}`].filter(Boolean).join('&')}`;
  };

  it('sends a file of many chunks byte-identical, and a range of it', async () => {
    const whole = await fetchBody(`/big.bin${q()}`);
    const wholeId = lastId;
    expect(whole.status).toBe(200);
    expect(whole.body.equals(bytes)).toBe(true);
    const part = await fetchBody(`/big.bin${q(`start=${1024 * 1024 - 3}&end=${5 * 1024 * 1024 + 7}`)}`);
    const partId = lastId;
    expect(part.body.equals(bytes.subarray(1024 * 1024 - 3, 5 * 1024 * 1024 + 8))).toBe(true);
    const a = await finished(wholeId);
    const b = await finished(partId);
    expect([a?.error, b?.error]).toEqual([undefined, undefined]);
    // The file was just written, so its pages are cached: with the mapper nothing is read.
    if (flag) expect([a?.stats.readBytes, b?.stats.readBytes, a?.stats.mappedBytes]).toEqual([0, 0, bytes.length]);
    else expect([a?.stats.mappedBytes, a?.stats.readBytes]).toEqual([0, bytes.length]);
  });

  it('a client that disconnects mid-body stops the reads and leaks no file descriptor', async () => {
    await fetchBody(`/big.bin${q()}`); // warm the buffer pool so the fd count is stable
    const before = openFds();
    const aborted: string[] = [];
    for (let i = 0; i < 5; i++) {
      await fetchBody(`/big.bin${q()}`, { abortAfter: 64 * 1024 });
      aborted.push(lastId);
    }
    for (const id of aborted) expect(await finished(id)).toBeDefined(); // each stream stopped and closed its file
    expect(openFds()).toBeLessThanOrEqual(before);
    // The server still serves whole files afterwards.
    expect((await fetchBody(`/big.bin${q()}`)).body.equals(bytes)).toBe(true);
  });

  it('a file that shrinks under the stream ends the response short instead of hanging', async () => {
    writeFileSync(join(dir, 'shrinks.bin'), bytes);
    const r = await fetchBody(`/shrinks.bin${q('truncateAt=1000')}`);
    const done = await finished(lastId);
    expect(r.complete).toBe(false);
    expect(r.body.length).toBeLessThan(bytes.length);
    // Read path: the short read is the error. Mapped path: the chunk past the new end is not
    // cached (or the kernel refuses the write from it): either way the body is cut, no crash.
    if (!flag) expect(done?.error?.message).toMatch(/ended at byte/);
  });
});

describe.runIf(pageMapper)('MappedFiles', () => {
  it('maps a file once and maps it again once it was replaced (new inode or size)', async () => {
    const cache = new MappedFiles(pageMapper!);
    const path = join(dir, 'mapped.bin');
    writeFileSync(path, bytes.subarray(0, 100_000));
    const a = await open(path, 'r');
    const b = await open(path, 'r');
    const m1 = await cache.get(a);
    expect(m1).toBe(await cache.get(b));
    expect(pageMapper!.resident(m1!, 0, 100_000)).toBe(true);
    await a.close();
    await b.close();
    rmSync(path);
    writeFileSync(path, bytes.subarray(0, 200_000));
    const c = await open(path, 'r');
    const m2 = await cache.get(c);
    expect(m2).not.toBe(m1);
    expect(m2?.length).toBe(200_000);
    expect(cache.size).toBe(2);
    await c.close();
    // A directory or an empty file is not mapped (the stream reads it instead).
    writeFileSync(join(dir, 'empty.bin'), '');
    const e = await open(join(dir, 'empty.bin'), 'r');
    expect(await cache.get(e)).toBeUndefined();
    await e.close();
  });
});
