/** Serving the web console's bundle (src/http/routes/console.ts) and GET /api/v1/whoami, through inject(). */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_DIST, type ConsoleDeps, registerConsoleRoutes } from '../../src/http/routes/console.js';
import { testApp } from '../helpers/app.js';

let dir: string;
let app: FastifyInstance;
let roles: Awaited<ReturnType<typeof testApp>>['roles'];
let auth: { authorization: string };
let warnings: unknown[];
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rb-console-'));
  const ui = join(dir, 'dist');
  mkdirSync(join(ui, 'assets'), { recursive: true });
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>rackboot console</title>');
  writeFileSync(join(ui, 'assets/index-AbC123.js'), 'console.log(1)');
  writeFileSync(join(ui, 'assets/index-AbC123.css'), 'body{}');
  writeFileSync(join(ui, 'assets/font.woff2'), Buffer.from([0x77, 0x4f, 0x46, 0x32]));
  writeFileSync(join(ui, '.hidden'), 'secret-ish');
  writeFileSync(join(dir, 'outside.txt'), 'outside the bundle');
  symlinkSync(join(dir, 'outside.txt'), join(ui, 'link-out.txt'));
  ({ app, roles, auth } = await testApp({}, { uiDir: ui }));
  warnings = [];
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

/** Sends the request target byte for byte (no client-side normalization) and reads the answer. */
function rawGet(target: string): Promise<{ status: number; text: string }> {
  return new Promise((ok, fail) => {
    const sock = connect(port, '127.0.0.1', () => sock.end(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let text = '';
    sock.on('data', (d) => {
      text += d.toString('latin1');
    });
    sock.on('error', fail);
    sock.on('close', () => ok({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
  });
}

describe('console bundle', () => {
  it.each(['/', '/ui'])('%s redirects to /ui/ without a token', async (url) => {
    const r = await get(url);
    expect(r.statusCode).toBe(302);
    expect(r.headers.location).toBe('/ui/');
  });

  it('serves index.html for /ui/ with no token, revalidated each load, under a strict CSP', async () => {
    for (const url of ['/ui/', '/ui/index.html']) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.headers['content-security-policy']).toContain("default-src 'none'; script-src 'self'");
      expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.body).toContain('rackboot console');
    }
  });

  it.each([
    ['assets/index-AbC123.js', 'text/javascript; charset=utf-8'],
    ['assets/index-AbC123.css', 'text/css; charset=utf-8'],
    ['assets/font.woff2', 'font/woff2'],
  ])('/ui/%s is %s and cached for a year (content-hashed name)', async (file, type) => {
    const r = await get(`/ui/${file}`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe(type);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(Number(r.headers['content-length'])).toBe(r.rawPayload.length);
  });

  it('answers If-None-Match with 304 and HEAD without a body', async () => {
    const first = await get('/ui/assets/index-AbC123.js');
    const again = await get('/ui/assets/index-AbC123.js', { 'if-none-match': String(first.headers.etag) });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const head = await app.inject({ method: 'HEAD', url: '/ui/' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
  });

  it.each([
    ['/ui/nope.js', 404],
    ['/ui/assets', 404], // a directory
    ['/ui/assets/', 404], // no index.html there
    ['/ui/.hidden', 404],
    ['/ui/link-out.txt', 404], // symlink out of the bundle
    // Refused by the guard before any route (on a real socket: inject() would normalize them).
    ['/ui/../outside.txt', 400],
    ['/ui/%2e%2e/outside.txt', 400],
    ['/ui/assets/..%2F..%2Foutside.txt', 400],
    ['/ui//etc/passwd', 400],
    ['/ui/..\\outside.txt', 400],
  ])('%s → %i, never a file outside the bundle', async (url, status) => {
    const r = await rawGet(url);
    expect(r.status).toBe(status);
    expect(r.text).not.toContain('outside the bundle');
    expect(r.text).not.toContain('secret-ish');
    if (status === 404) expect(r.text).toMatch(/content-type: text\/plain; charset=utf-8/i);
  });

  it('a missing build answers a plain 404 that says how to build it, and logs it once at start', async () => {
    const bare = Fastify();
    const log = { warn: (o: unknown, msg: string) => warnings.push([o, msg]) } as unknown as NonNullable<ConsoleDeps['log']>;
    registerConsoleRoutes(bare, { uiDir: join(dir, 'not-built'), log });
    const r = await bare.inject({ method: 'GET', url: '/ui/' });
    expect(r.statusCode).toBe(404);
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.body).toContain('npm run build:ui');
    expect(warnings).toHaveLength(1);
    await bare.close();
  });

  it('defaults to ui/dist at the repository root', () => {
    expect(CONSOLE_DIST.endsWith('/ui/dist')).toBe(true);
  });
});

describe('GET /api/v1/whoami', () => {
  it.each(['read', 'operate', 'admin'] as const)('tells a %s token its role', async (role) => {
    const r = await get('/api/v1/whoami', roles[role]);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ role, name: `test-${role}` });
  });

  it('names the admin token file as admin, and refuses without a token', async () => {
    expect((await get('/api/v1/whoami', auth)).json()).toMatchObject({ role: 'admin', tokenId: null });
    expect((await get('/api/v1/whoami')).statusCode).toBe(401);
  });
});
