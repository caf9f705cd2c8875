import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { BODY_LIMITS, applyRouteBodyLimits, httpServerLimits, limitConnections, nodeServerOptions, overloadResponse } from '../../src/http/limits.js';
import { httpSettingsSchema } from '../../src/http/settings.js';

const http = (limits: Record<string, unknown> = {}) => httpSettingsSchema.parse({ limits });

describe('httpServerLimits', () => {
  it.each([
    [{}, { connectionTimeout: 60_000, keepAliveTimeout: 5_000, requestTimeout: 60_000, bodyLimit: 1024 * 1024, headersTimeout: 10_000 }],
    [
      { idleTimeoutMs: 2000, keepAliveTimeoutMs: 300, requestTimeoutMs: 4000, headersTimeoutMs: 3000, bodyLimitBytes: 4096 },
      { connectionTimeout: 2000, keepAliveTimeout: 300, requestTimeout: 4000, bodyLimit: 4096, headersTimeout: 3000 },
    ],
    // Node refuses a headers timeout longer than the request timeout: clamped.
    [{ requestTimeoutMs: 2000, headersTimeoutMs: 9000 }, { requestTimeout: 2000, headersTimeout: 2000 }],
  ])('%j → %j', (limits, want) => {
    const o = httpServerLimits(http(limits));
    const { headersTimeout, ...rest } = want as Record<string, number>;
    expect(o).toMatchObject(rest);
    expect(o.http.headersTimeout).toBe(headersTimeout);
    expect(o.http).toEqual(nodeServerOptions(http(limits).limits));
  });

  it('rejects limits outside their bounds', () => {
    expect(() => http({ maxConnections: 0 })).toThrow();
    expect(() => http({ headersTimeoutMs: 10 })).toThrow();
  });
});

describe('per-route body limits (checked before the body is parsed)', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => app?.close());

  async function build(): Promise<{ app: FastifyInstance; parsed: string[] }> {
    const parsed: string[] = [];
    const a = Fastify(httpServerLimits(http()));
    applyRouteBodyLimits(a);
    a.addHook('preValidation', async (req) => {
      parsed.push(req.url);
    });
    a.post('/api/v1/report', async () => ({ ok: true }));
    a.post('/api/v1/inventory/import', async () => ({ ok: true }));
    a.post('/api/v1/machines', async () => ({ ok: true }));
    a.post('/api/v1/own', { bodyLimit: 100 }, async () => ({ ok: true }));
    app = a;
    return { app: a, parsed };
  }
  const json = (bytes: number) => `{"x":"${'a'.repeat(bytes - 8)}"}`;

  it.each([
    ['/api/v1/report', BODY_LIMITS.report - 16, 200],
    ['/api/v1/report', BODY_LIMITS.report + 1, 413],
    ['/api/v1/inventory/import', 2 * 1024 * 1024, 200],
    ['/api/v1/inventory/import', BODY_LIMITS.import + 1, 413],
    ['/api/v1/machines', BODY_LIMITS.default - 16, 200],
    ['/api/v1/machines', 2 * 1024 * 1024, 413],
    // A route's own bodyLimit wins over the table.
    ['/api/v1/own', 200, 413],
  ])('POST %s with %i bytes → %i', async (url, bytes, status) => {
    const { app: a, parsed } = await build();
    const r = await a.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: json(bytes) });
    expect(r.statusCode).toBe(status);
    expect(parsed.includes(url)).toBe(status === 200);
  });

  it('answers an oversized Content-Length with 413 before the body is sent (real socket)', async () => {
    const { app: a } = await build();
    await a.listen({ host: '127.0.0.1', port: 0 });
    const port = (a.server.address() as AddressInfo).port;
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write(`POST /api/v1/report HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000000\r\n\r\n{"x":`);
      });
      let got = '';
      s.on('data', (d) => {
        got += d.toString();
        if (got.includes('\r\n\r\n')) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
      setTimeout(() => reject(new Error('no answer in 5 s')), 5000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1.1 413/);
  });
});

describe('timeouts and connection caps on a real listening server (127.0.0.1)', () => {
  let app: FastifyInstance | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await app?.close();
  });

  async function listen(limits: Record<string, unknown>) {
    const settings = http(limits);
    const a = Fastify(httpServerLimits(settings));
    a.get('/healthz', async () => ({ ok: true }));
    const stats = limitConnections(a.server, settings.limits);
    await a.listen({ host: '127.0.0.1', port: 0 });
    app = a;
    return { port: (a.server.address() as AddressInfo).port, stats };
  }

  /** Opens a socket and resolves when it is closed by the server (or after `maxMs`: false). */
  function open(port: number, first?: string): { closed: Promise<number | false>; socket: Socket } {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1', () => {
      if (first) socket.write(first);
    });
    sockets.push(socket);
    socket.on('error', () => {});
    // Flowing, so the server's FIN is read and 'close' fires.
    socket.resume();
    const closed = new Promise<number | false>((resolve) => {
      socket.once('close', () => resolve(Date.now() - started));
      setTimeout(() => resolve(false), 8000).unref();
    });
    return { closed, socket };
  }

  it('closes a client that never finishes its headers after headersTimeoutMs', async () => {
    const { port } = await listen({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
    const slow = open(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\n');
    const ms = await slow.closed;
    expect(ms).not.toBe(false);
    expect(ms).toBeLessThan(3500);
  });

  it('closes an idle kept-alive connection after keepAliveTimeoutMs and one that sends nothing after idleTimeoutMs', async () => {
    // Wide margins: on a loaded machine timers fire late.
    const { port } = await listen({ keepAliveTimeoutMs: 300, idleTimeoutMs: 4000, headersTimeoutMs: 9000, requestTimeoutMs: 9000 });
    const kept = open(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    const silent = open(port);
    const [a, b] = await Promise.all([kept.closed, silent.closed]);
    expect(a).not.toBe(false);
    expect(a).toBeLessThan(3000);
    expect(b).not.toBe(false);
    expect(b).toBeGreaterThanOrEqual(3500);
  });

  it('closes connections past maxConnectionsPerClient at accept and still answers on the others', async () => {
    const { port, stats } = await listen({ maxConnectionsPerClient: 3 });
    const conns = Array.from({ length: 5 }, () => open(port));
    await Promise.all(conns.map((c) => new Promise((r) => c.socket.once('connect', r))));
    const results = await Promise.race([Promise.all(conns.slice(3).map((c) => c.closed)), new Promise((r) => setTimeout(r, 3000))]);
    expect(results).toEqual([expect.any(Number), expect.any(Number)]);
    expect(stats.overClient).toBe(2);
    const reply = await new Promise<string>((resolve) => {
      conns[0]!.socket.once('data', (d) => resolve(d.toString()));
      conns[0]!.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    });
    expect(reply).toMatch(/^HTTP\/1.1 200/);
  });

  it('closes connections past maxConnections at accept', async () => {
    const { port, stats } = await listen({ maxConnections: 2, maxConnectionsPerClient: 0 });
    const conns = Array.from({ length: 4 }, () => open(port));
    await Promise.all(conns.map((c) => new Promise((r) => c.socket.once('connect', r))));
    await Promise.race([Promise.all(conns.slice(2).map((c) => c.closed)), new Promise((r) => setTimeout(r, 3000))]);
    expect(stats.overTotal).toBe(2);
  });

  it('answers a connection over a cap with a complete 503 and Retry-After, then closes it', async () => {
    const { port, stats } = await listen({ maxConnections: 1, maxConnectionsPerClient: 0 });
    const first = open(port);
    await new Promise((r) => first.socket.once('connect', r));
    const got: Buffer[] = [];
    const over = open(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    over.socket.on('data', (d: Buffer) => got.push(d));
    expect(await over.closed).not.toBe(false);
    const text = Buffer.concat(got).toString();
    expect(text).toMatch(/^HTTP\/1.1 503 /);
    expect(text).toMatch(/\r\nRetry-After: \d+\r\n/);
    const [head, body] = text.split('\r\n\r\n') as [string, string];
    expect(Number(/Content-Length: (\d+)/.exec(head)?.[1])).toBe(Buffer.byteLength(body));
    expect(stats.overTotal).toBe(1);
  });
});

describe('overloadResponse', () => {
  it.each([1, 2, 30])('Retry-After %i', (s) => {
    const r = overloadResponse(s);
    expect(r.startsWith('HTTP/1.1 503 Service Unavailable\r\n')).toBe(true);
    expect(r).toContain(`\r\nRetry-After: ${s}\r\n`);
    expect(r).toContain('\r\nConnection: close\r\n');
  });
});
