import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Access, type Role, roleAllows } from '../../src/http/access.js';
import { routeTable } from '../../src/http/guard.js';
import { buildApp } from '../../src/http/app.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { type Appliance, startAppliance } from '../../src/main.js';
import { defaultSettings } from '../../src/settings.js';

/**
 * Hostile requests against the real server (both listeners on 127.0.0.1, port 0, the API over
 * TLS verified against the generated CA): non-normalized targets, missing, wrong, revoked and
 * expired tokens, a role below the route's; every refusal also in the audit trail.
 */
let app: Appliance;
let ca: Buffer;
let tokens: Record<Role, string>;
let revoked: string;
let expired: string;

interface Answer {
  status: number;
  body: { error?: { code?: string; message?: string } } | undefined;
}

/** One request to a listener; `token` adds a bearer header. */
function call(listener: 'api' | 'boot', method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
  const base = new URL(listener === 'api' ? app.apiUrl : app.httpUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) };
  const opts = { host: base.hostname, port: Number(base.port), method, path, headers };
  return new Promise((ok, fail) => {
    const req = listener === 'api' ? httpsRequest({ ...opts, ca }) : httpRequest(opts);
    req.on('error', fail);
    req.on('response', (res) => {
      // A live event stream never ends: its status and headers are the answer.
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        res.destroy();
        return ok({ status: res.statusCode ?? 0, body: undefined });
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: Answer['body'];
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        ok({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.end(payload);
  });
}

/** A raw request line (absolute-form targets cannot be sent with http.request); answers the status. */
function rawStatus(listener: 'api' | 'boot', requestLine: string): Promise<number> {
  const base = new URL(listener === 'api' ? app.apiUrl : app.httpUrl);
  return new Promise((ok, fail) => {
    const port = Number(base.port);
    const s = listener === 'api' ? tlsConnect({ host: base.hostname, port, ca, servername: 'localhost' }) : netConnect({ host: base.hostname, port });
    let text = '';
    s.on('error', fail);
    s.on('data', (d: Buffer) => {
      text += d.toString();
    });
    s.on('end', () => ok(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    s.write(`${requestLine}\r\nHost: x\r\nAuthorization: Bearer ${tokens.admin}\r\nConnection: close\r\n\r\n`);
  });
}

const auditCount = () => app.store.events.list({ kind: 'auth.refused', limit: 10_000 }).length;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rb-hostile-'));
  const settings = defaultSettings({ dataDir, http: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 }, dhcp: { enabled: false }, tftp: { enabled: false }, rollout: { enabled: false } });
  app = await startAppliance(settings, silentLogger());
  ca = readFileSync(app.apiCaFile ?? '');
  const make = (role: Role) => app.store.apiTokens.create({ name: `hostile-${role}`, role }).secret;
  tokens = { read: make('read'), operate: make('operate'), admin: make('admin') };
  revoked = app.store.apiTokens.create({ name: 'hostile-revoked', role: 'admin' }).secret;
  app.store.apiTokens.revoke('hostile-revoked');
  expired = app.store.apiTokens.create({ name: 'hostile-expired', role: 'admin', ttlSeconds: 60 }, Date.now() - 120_000).secret;
}, 60_000);
afterAll(async () => {
  await app?.close();
});

describe('hostile requests on the real listeners', () => {
  it.each([
    ['percent-encoded unreserved character', '/%61pi/v1/machines'],
    ['percent-encoded export', '/%61pi/v1/inventory/export'],
    ['encoded dot segment', '/api/v1/machines/%2e%2e'],
    ['dot segment', '/api/v1/profiles/../machines'],
    ['double slash', '//api/v1/machines'],
    ['inner double slash', '/api/v1//machines'],
    ['encoded slash', '/api/v1%2fmachines'],
    ['backslash', '/api/v1\\machines'],
  ])('%s (%s) is refused with 400 on both listeners, even with an admin token, and audited', async (_what, path) => {
    const before = auditCount();
    expect((await call('api', 'GET', path)).status).toBe(400);
    expect((await call('api', 'GET', path, tokens.admin)).status).toBe(400);
    expect((await call('boot', 'GET', path)).status).toBe(400);
    expect(auditCount()).toBe(before + 3);
  });

  it('absolute-form and authority-form targets are refused with 400', async () => {
    expect(await rawStatus('api', 'GET http://x/api/v1/machines HTTP/1.1')).toBe(400);
    expect(await rawStatus('api', 'GET https://localhost/api/v1/inventory/export HTTP/1.1')).toBe(400);
    expect(await rawStatus('boot', 'GET http://x/api/v1/machines HTTP/1.1')).toBe(400);
    // The same normalized path is served to the admin: the refusal is the target's form, not the route.
    expect(await rawStatus('api', 'GET /api/v1/machines HTTP/1.1')).toBe(200);
  });

  it('no token, an unknown, a revoked and an expired token are 401 and audited', async () => {
    for (const token of [undefined, 'rb_nope', revoked, expired]) {
      const before = auditCount();
      const r = await call('api', 'GET', '/api/v1/inventory/export', token);
      expect(r.status, String(token)).toBe(401);
      expect(r.body?.error?.code).toBe('UNAUTHORIZED');
      expect(auditCount()).toBe(before + 1);
    }
    expect((await call('api', 'GET', '/api/v1/inventory/export', tokens.read)).status).toBe(200);
  });

  it('a token revoked through the API stops working at once', async () => {
    const created = await call('api', 'POST', '/api/v1/tokens', tokens.admin, { name: 'short-lived', role: 'operate' });
    expect(created.status).toBe(201);
    const secret = (created.body as unknown as { secret: string }).secret;
    expect((await call('api', 'GET', '/api/v1/machines', secret)).status).toBe(200);
    expect((await call('api', 'DELETE', '/api/v1/tokens/short-lived', tokens.admin)).status).toBe(200);
    expect((await call('api', 'GET', '/api/v1/machines', secret)).status).toBe(401);
  });

  it('the management API is not served on the boot listener, nor boot files on the API listener', async () => {
    expect((await call('boot', 'GET', '/api/v1/machines', tokens.admin)).status).toBe(404);
    expect((await call('boot', 'GET', '/api/v1/inventory/export', tokens.admin)).status).toBe(404);
    expect((await call('api', 'GET', '/boot.ipxe?mac=52:54:00:00:00:01', tokens.admin)).status).toBe(404);
    expect((await call('api', 'GET', '/healthz')).status).toBe(200);
    expect((await call('boot', 'GET', '/healthz')).status).toBe(200);
    // An unknown path on the API listener says nothing to a caller without a token.
    expect((await call('api', 'GET', '/nothing-here')).status).toBe(401);
    expect((await call('api', 'GET', '/nothing-here', tokens.read)).status).toBe(404);
  });
});

/** A concrete path for a route pattern (parameters and wildcards filled with harmless values). */
const concrete = (url: string) => url.replace(/:[A-Za-z]+/g, 'zz-none').replace(/\*$/, 'zz-none');

/** True when the guard itself refused (not the handler deciding about a missing object or a bad body). */
const guardRefused = (a: Answer) => a.status === 401 || (a.status === 403 && /needs the \w+ role/.test(a.body?.error?.message ?? ''));

describe('every registered route, against its declared access', () => {
  it('each route declares one of the access levels; a route without one stops start-up', async () => {
    const built = await buildApp({ settings: defaultSettings(), store: Store.memory(), log: silentLogger(), adminToken: 't' });
    const table = routeTable(built);
    expect(table.length).toBeGreaterThan(30);
    const bad = await buildApp({ settings: defaultSettings(), store: Store.memory(), log: silentLogger(), adminToken: 't' });
    expect(() => bad.get('/forgotten', async () => 'x')).toThrow(/declares no access level/);
    await built.close();
  });

  it('walks every route on both listeners with no token and with each role', async () => {
    const table = routeTable(await buildApp({ settings: defaultSettings(), store: Store.memory(), log: silentLogger(), adminToken: 't' })).filter((r) => r.method !== 'HEAD');
    const mgmt: Access[] = ['read', 'operate', 'admin'];
    for (const r of table) {
      const path = concrete(r.url);
      const what = `${r.method} ${r.url} (${r.access})`;
      if (r.access === 'public-api') {
        expect((await call('boot', r.method, path)).status, what).toBe(404);
        expect(guardRefused(await call('api', r.method, path)), what).toBe(false);
        continue;
      }
      if (!mgmt.includes(r.access)) {
        // Boot-network routes: never on the API listener; on the boot listener the guard lets them through.
        if (r.url !== '/healthz') expect((await call('api', r.method, path, tokens.admin)).status, what).toBe(404);
        const a = await call('boot', r.method, path, undefined, r.method === 'GET' ? undefined : {});
        expect(guardRefused(a) && r.access === 'public-boot', what).toBe(false);
        if (r.access === 'machine') expect(a.status, `${what} must not succeed without a machine token`).toBeGreaterThanOrEqual(400);
        continue;
      }
      expect((await call('boot', r.method, path, tokens.admin)).status, `${what} on the boot listener`).toBe(404);
      expect((await call('api', r.method, path)).status, `${what} without a token`).toBe(401);
      for (const role of ['read', 'operate', 'admin'] as const) {
        const a = await call('api', r.method, path, tokens[role], r.method === 'GET' || r.method === 'DELETE' ? undefined : {});
        expect(guardRefused(a), `${what} as ${role}: ${a.status}`).toBe(!roleAllows(role, r.access));
      }
    }
  }, 120_000);
});
