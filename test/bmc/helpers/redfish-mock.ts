import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** The files of the DMTF public-rackmount1 mockup these tests serve (origin in test/fixtures/SOURCES.md). */
const MOCKUP = join(import.meta.dirname, '../../fixtures/redfish/public-rackmount1');
const SYSTEM = '/redfish/v1/Systems/437XR1138R2';

/** How the mock service misbehaves (vendor payloads and quirks). */
export interface MockBehaviour {
  manufacturer?: string;
  model?: string;
  /** Supermicro: PATCH Boot without BootSourceOverrideMode → 400. */
  requireMode?: boolean;
  /** Dell/Lenovo-style: PATCH with an unchanged BootSourceOverrideEnabled → 400. */
  rejectUnchangedEnabled?: boolean;
  /** HPE-style: PATCH without If-Match → 428. */
  requireIfMatch?: boolean;
  /** Replace the allowed ResetTypes. */
  resetTypes?: string[];
  /** Answer Reset and PATCH with 202 + a TaskMonitor that runs `taskPolls` times. */
  async?: boolean;
  taskPolls?: number;
  /** No SessionService: POST Sessions → 405, Basic only. */
  noSessions?: boolean;
  /** Send no ETag (header nor @odata.etag) on GET. */
  hideEtag?: boolean;
  /** Change the ETag behind the client's back once (→ 412 on its next PATCH). */
  staleEtagOnce?: boolean;
}

/** What the mock saw, for assertions. */
export interface MockLog {
  resets: string[];
  patches: { body: Record<string, unknown>; ifMatch: string | undefined; status: number }[];
  logins: number;
  logouts: number;
  basicRequests: number;
  taskPolls: number;
}

/** Serves the DMTF public-rackmount1 mockup with a mutable ComputerSystem on 127.0.0.1:0. */
export async function startRedfishMock(b: MockBehaviour = {}, tls?: { key: string; cert: string }) {
  // biome-ignore lint/suspicious/noExplicitAny: a JSON fixture the tests mutate freely
  const system = JSON.parse(readFileSync(join(MOCKUP, 'Systems/437XR1138R2/index.json'), 'utf8')) as Record<string, any>;
  if (b.manufacturer) system.Manufacturer = b.manufacturer;
  if (b.model) system.Model = b.model;
  if (b.resetTypes) system.Actions['#ComputerSystem.Reset']['ResetType@Redfish.AllowableValues'] = b.resetTypes;
  system.Boot['BootSourceOverrideTarget@Redfish.AllowableValues'].push('UefiHttp');
  let version = 1;
  let staleOnce = b.staleEtagOnce ?? false;
  const tokens = new Set<string>();
  const tasks = new Map<string, { left: number; apply: () => void }>();
  const log: MockLog = { resets: [], patches: [], logins: 0, logouts: 0, basicRequests: 0, taskPolls: 0 };
  const etag = () => `W/"v${version}"`;

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      const err = (status: number, msg: string) => send(status, { error: { code: 'Base.1.0.GeneralError', message: msg, '@Message.ExtendedInfo': [{ Message: msg }] } });
      const path = (req.url ?? '/').split('?')[0]!.replace(/\/$/, '');
      // biome-ignore lint/suspicious/noExplicitAny: request JSON read field by field below
      const body = raw ? (JSON.parse(raw) as Record<string, any>) : {};
      if (path === '/redfish/v1' && req.method === 'GET') return send(200, JSON.parse(readFileSync(join(MOCKUP, 'index.json'), 'utf8')));
      if (path === '/redfish/v1/SessionService/Sessions' && req.method === 'POST') {
        if (b.noSessions) return err(405, 'sessions disabled');
        if (body.UserName !== 'admin' || body.Password !== 'pw') return err(401, 'bad credentials');
        const t = `tok${tokens.size + 1}${Math.random().toString(36).slice(2)}`;
        tokens.add(t);
        log.logins++;
        return send(201, { Id: t }, { 'x-auth-token': t, location: `/redfish/v1/SessionService/Sessions/${t}` });
      }
      const tok = req.headers['x-auth-token'];
      const basicOk = req.headers.authorization === `Basic ${Buffer.from('admin:pw').toString('base64')}`;
      if (!(typeof tok === 'string' && tokens.has(tok)) && !basicOk) return err(401, 'unauthorized');
      if (basicOk) log.basicRequests++;
      if (path.startsWith('/redfish/v1/SessionService/Sessions/') && req.method === 'DELETE') {
        tokens.delete(path.split('/').pop()!);
        log.logouts++;
        return send(204);
      }
      if (path.startsWith('/redfish/v1/TaskMonitors/')) {
        log.taskPolls++;
        const t = tasks.get(path);
        if (!t) return err(404, 'no task');
        if (t.left-- > 0) return send(202, { TaskState: 'Running' }, { location: path, 'retry-after': '0' });
        t.apply();
        tasks.delete(path);
        return send(200, { TaskState: 'Completed' });
      }
      const later = (apply: () => void) => {
        const p = `/redfish/v1/TaskMonitors/${tasks.size + 1}x${version}`;
        tasks.set(p, { left: b.taskPolls ?? 2, apply });
        send(202, {}, { location: p });
      };
      if (path === SYSTEM && req.method === 'GET') return b.hideEtag ? send(200, system) : send(200, { ...system, '@odata.etag': etag() }, { etag: etag() });
      if (path === `${SYSTEM}/Actions/ComputerSystem.Reset` && req.method === 'POST') {
        const type = String(body.ResetType);
        if (!system.Actions['#ComputerSystem.Reset']['ResetType@Redfish.AllowableValues'].includes(type)) return err(400, `ResetType ${type} not allowed`);
        const apply = () => {
          log.resets.push(type);
          if (['ForceOff', 'GracefulShutdown'].includes(type)) system.PowerState = 'Off';
          else if (type === 'PushPowerButton') system.PowerState = system.PowerState === 'On' ? 'Off' : 'On';
          else system.PowerState = 'On';
        };
        if (b.async) return later(apply);
        apply();
        return send(204);
      }
      if (path === SYSTEM && req.method === 'PATCH') {
        const ifMatch = req.headers['if-match'] as string | undefined;
        const entry = { body, ifMatch, status: 0 };
        log.patches.push(entry);
        const reply = (s: number, m?: string) => {
          entry.status = s;
          return m ? err(s, m) : undefined;
        };
        if (staleOnce) {
          staleOnce = false;
          version++;
        }
        if (b.requireIfMatch && !ifMatch) return reply(428, 'If-Match required');
        if (ifMatch && ifMatch !== '*' && ifMatch !== etag()) return reply(412, 'ETag mismatch');
        const boot = body.Boot ?? {};
        if (b.requireMode && !('BootSourceOverrideMode' in boot)) return reply(400, 'BootSourceOverrideMode required');
        if (b.rejectUnchangedEnabled && boot.BootSourceOverrideEnabled === system.Boot.BootSourceOverrideEnabled) return reply(400, 'value unchanged');
        const apply = () => {
          Object.assign(system.Boot, boot);
          version++;
        };
        reply(b.async ? 202 : 200);
        if (b.async) return later(apply);
        apply();
        return send(200, { ...system, '@odata.etag': etag() });
      }
      const file = join(MOCKUP, path.replace(/^\/redfish\/v1\/?/, ''), 'index.json');
      if (req.method === 'GET' && existsSync(file)) return send(200, JSON.parse(readFileSync(file, 'utf8')));
      return err(404, `no ${req.method} ${path}`);
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    system,
    log,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
