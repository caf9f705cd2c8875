import { readFileSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BootEvent } from '../../src/inventory/events.js';
import { observabilityApp } from '../helpers/observability-app.js';

const MAC = '52:54:00:12:34:56';
const UNKNOWN = '02:00:00:aa:bb:cc';

const setup = (opts: Parameters<typeof observabilityApp>[0] = {}) => observabilityApp({ feedIntervalMs: 20, ...opts });

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('GET /api/v1/why/:ref', () => {
  it('diagnoses a machine by name and a MAC, for a read token', async () => {
    const { app, store, roles } = await setup();
    closers.push(() => app.close());
    const m = store.machines.create({ name: 'node-1', macs: [MAC] });
    store.events.add({ mac: MAC, source: 'dhcp', kind: 'dhcp.offer', detail: { arch: 7, bootFile: 'ipxe.efi' } });
    store.events.add({ mac: MAC, source: 'dhcp', kind: 'dhcp.ack', detail: { arch: 7, bootFile: 'ipxe.efi' } });
    store.events.add({ mac: MAC, source: 'tftp', kind: 'tftp.sent', detail: { file: 'undionly.kpxe', result: 'sent' } });
    const res = await app.inject({ method: 'GET', url: '/api/v1/why/node-1', headers: roles.read });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.machine).toMatchObject({ id: m.id, name: 'node-1' });
    expect(body.phase).toBe('loader');
    expect(body.verdict).toMatchObject({ code: 'wrong-arch', status: 'failed' });
    expect(body.phases.map((p: { phase: string }) => p.phase)).toEqual(['dhcp', 'loader']);
    const byMac = await app.inject({ method: 'GET', url: `/api/v1/why/${MAC.replaceAll(':', '-')}`, headers: roles.read });
    expect(byMac.json().machine.name).toBe('node-1');
  });

  it('an unknown MAC gets the unknown-mac verdict with its sighting; a non-MAC ref is 404; no token is 401', async () => {
    const { app, store, roles } = await setup();
    closers.push(() => app.close());
    store.unknownMacs.noteSoon({ mac: UNKNOWN, arch: 0, vendorClass: 'PXEClient:Arch:00000', messageType: 'discover', giaddr: null, circuitId: null, remoteId: null, at: Date.now() });
    const res = await app.inject({ method: 'GET', url: `/api/v1/why/${UNKNOWN}`, headers: roles.read });
    expect(res.json()).toMatchObject({ machine: null, mac: UNKNOWN, unknown: { mac: UNKNOWN, count: 1 }, verdict: { code: 'unknown-mac' } });
    expect((await app.inject({ method: 'GET', url: '/api/v1/why/nope', headers: roles.read })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/v1/why/nope' })).statusCode).toBe(401);
  });
});

describe('unknown MACs API', () => {
  it('lists sightings (read) and enrolls one as a machine (admin only)', async () => {
    const { app, store, roles } = await setup();
    closers.push(() => app.close());
    store.unknownMacs.noteSoon({ mac: UNKNOWN, arch: 7, vendorClass: 'PXEClient:Arch:00007', messageType: 'discover', giaddr: '198.18.9.1', circuitId: '01', remoteId: null, at: Date.now() });
    const list = await app.inject({ method: 'GET', url: '/api/v1/unknown-macs', headers: roles.read });
    expect(list.json().items).toEqual([expect.objectContaining({ mac: UNKNOWN, arch: 7, giaddr: '198.18.9.1', count: 1 })]);

    const enroll = (headers: Record<string, string>, body: unknown = { name: 'rack1-n7', labels: { rack: 'r1' } }) =>
      app.inject({ method: 'POST', url: `/api/v1/unknown-macs/${UNKNOWN.toUpperCase()}/enroll`, headers, payload: body as object });
    expect((await enroll(roles.read)).statusCode).toBe(403);
    expect((await enroll(roles.operate)).statusCode).toBe(403);
    expect((await enroll(roles.admin, { name: 'Bad Name' })).statusCode).toBe(400);
    expect((await enroll(roles.admin, { name: 'x', profile: 'missing' })).statusCode).toBe(400);
    const ok = await enroll(roles.admin);
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ name: 'rack1-n7', macs: [UNKNOWN], labels: { rack: 'r1' }, facts: { arch: 7, vendorClass: 'PXEClient:Arch:00007', relayAgent: { giaddr: '198.18.9.1', circuitId: '01' } } });
    expect(store.unknownMacs.list()).toEqual([]);
    expect(store.events.list({ kind: 'machine.created' }).at(-1)?.detail).toMatchObject({ enrolledFrom: 'unknown-macs' });
    expect((await enroll(roles.admin)).statusCode).toBe(409);
    expect((await app.inject({ method: 'POST', url: '/api/v1/unknown-macs/02:00:00:00:00:99/enroll', headers: roles.admin, payload: { name: 'y' } })).statusCode).toBe(404);
  });
});

describe('GET /metrics', () => {
  it('exposes protocol, HTTP, phase and state metrics to a read token', async () => {
    const { app, store, roles, metrics } = await setup();
    closers.push(() => app.close());
    await app.ready();
    store.machines.create({ name: 'n1', macs: [MAC] });
    const at = (s: number) => new Date(Date.parse('2026-12-04T10:00:00Z') + s * 1000).toISOString();
    const ev = (id: number, s: number, source: string, kind: string, detail: Record<string, unknown>): BootEvent => ({ id, at: at(s), mac: MAC, machineId: 1, source, kind, detail });
    metrics.observeEvents([
      ev(1, 0, 'dhcp', 'dhcp.offer', { bootFile: 'ipxe.efi' }),
      ev(2, 1, 'dhcp', 'dhcp.ack', { bootFile: 'ipxe.efi' }),
      ev(3, 3, 'tftp', 'tftp.sent', { file: 'ipxe.efi', bytes: 1000, result: 'sent' }),
      ev(4, 4, 'tftp', 'tftp.failed', { file: 'x.efi', result: 'timeout' }),
      ev(5, 5, 'bmc', 'bmc.power', { action: 'cycle', ms: 250 }),
      ev(6, 6, 'bmc', 'bmc.error', { op: 'bmc.power', code: 'BMC_TIMEOUT' }),
    ]);
    store.unknownMacs.noteSoon({ mac: UNKNOWN, arch: null, vendorClass: null, messageType: 'discover', giaddr: null, circuitId: null, remoteId: null, at: Date.now() });
    await app.inject({ method: 'GET', url: '/api/v1/machines', headers: roles.read });
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: roles.read });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(/rackboot_dhcp_replies_total\{type="offer"\} 1/);
    expect(text).toMatch(/rackboot_dhcp_drops_total\{type="discover",reason="unknown-mac"\} 1/);
    expect(text).toMatch(/rackboot_tftp_transfers_total\{result="timeout"\} 1/);
    expect(text).toMatch(/rackboot_tftp_bytes_total 1000/);
    expect(text).toMatch(/rackboot_bmc_call_duration_seconds_count\{kind="bmc.power",action="cycle"\} 1/);
    expect(text).toMatch(/rackboot_bmc_failures_total\{op="bmc.power",code="BMC_TIMEOUT"\} 1/);
    expect(text).toMatch(/rackboot_boot_phase_duration_seconds_sum\{phase="dhcp"\} 3/);
    expect(text).toMatch(/rackboot_machines\{state="registered"\} 1/);
    expect(text).toMatch(/rackboot_unknown_macs 1/);
    expect(text).toMatch(/rackboot_http_requests_total\{route="\/api\/v1\/machines",method="GET",status="2xx"\} 1/);
    expect(text).toMatch(/rackboot_http_requests_total\{route="\/metrics",method="GET",status="4xx"\} 1/);
    expect(text).toMatch(/rackboot_nodejs_eventloop_lag_seconds/);
  });

  it("reads a watched DHCP server's requests, drop reasons and commit latency at scrape time", async () => {
    const { app, store, roles, metrics } = await setup();
    closers.push(() => app.close());
    const stats = { received: 10, malformed: 1, ignored: 3, replied: 5, errors: 0, stale: 2, discoverLimited: 1 };
    const commitStats = { commits: 4, commitMs: 20, maxCommitMs: 9 };
    metrics.watchDhcp({ stats, commitStats });
    for (let i = 0; i < 2; i++) store.unknownMacs.noteSoon({ mac: `02:00:00:00:00:0${i}`, arch: null, vendorClass: null, messageType: 'discover', giaddr: null, circuitId: null, remoteId: null, at: Date.now() });
    const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics', headers: roles.read })).body;
    let text = await scrape();
    expect(text).toMatch(/rackboot_dhcp_requests_total 10/);
    expect(text).toMatch(/rackboot_dhcp_drops_total\{type="discover",reason="unknown-mac"\} 2/);
    expect(text).toMatch(/rackboot_dhcp_drops_total\{type="any",reason="not-answered"\} 1/);
    expect(text).toMatch(/rackboot_dhcp_drops_total\{type="any",reason="stale"\} 2/);
    expect(text).toMatch(/rackboot_dhcp_drops_total\{type="any",reason="discover-limited"\} 1/);
    expect(text).toMatch(/rackboot_db_commits_total 4/);
    expect(text).toMatch(/rackboot_db_commit_seconds_total 0.02/);
    expect(text).toMatch(/rackboot_db_commit_max_seconds 0.009/);
    stats.received = 15;
    commitStats.commits = 6;
    text = await scrape();
    expect(text).toMatch(/rackboot_dhcp_requests_total 15/);
    expect(text).toMatch(/rackboot_db_commits_total 6/);
  });

  it('every metric the Grafana dashboard queries is exposed', async () => {
    const { app, roles } = await setup();
    closers.push(() => app.close());
    const text = (await app.inject({ method: 'GET', url: '/metrics', headers: roles.read })).body;
    const exposed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const dashboard = readFileSync(resolve(import.meta.dirname, '../../docs/grafana-dashboard.json'), 'utf8');
    const queried = new Set([...dashboard.matchAll(/\b(rackboot_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, '')));
    expect(queried.size).toBeGreaterThan(10);
    for (const name of queried) expect(exposed.has(name), name).toBe(true);
  });

  it('counts new trace events through the shared feed', async () => {
    const { app, store, roles } = await setup();
    closers.push(() => app.close());
    await app.ready();
    store.events.add({ mac: MAC, source: 'dhcp', kind: 'dhcp.proxy-offer', detail: {} });
    await new Promise((r) => setTimeout(r, 150));
    const text = (await app.inject({ method: 'GET', url: '/metrics', headers: roles.read })).body;
    expect(text).toMatch(/rackboot_dhcp_replies_total\{type="proxy-offer"\} 1/);
    expect(text).toMatch(/rackboot_boot_events_total\{kind="dhcp.proxy-offer"\} 1/);
  });
});

/** An open SSE response and the frames read so far. */
interface Stream {
  res: IncomingMessage;
  text: () => string;
  ids: () => number[];
}

function openStream(port: number, path: string, headers: Record<string, string>): Promise<Stream> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } });
    req.on('error', fail);
    req.on('response', (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
      });
      res.on('error', () => {});
      ok({ res, text: () => buf, ids: () => [...buf.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])) });
    });
    req.end();
  });
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('GET /api/v1/events/stream (real listener)', () => {
  it('cuts a client that stops reading once its buffer passes the bound', async () => {
    const t = await setup({ eventStream: { maxBufferedBytes: 64 * 1024, behindGraceMs: 500, heartbeatMs: 60_000 } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => t.app.close());
    const s = await openStream((t.app.server.address() as AddressInfo).port, '/api/v1/events/stream', t.roles.read);
    s.res.pause();
    const closed = new Promise((r) => s.res.on('close', r));
    const padding = 'x'.repeat(1000);
    const flood = () =>
      t.store.transaction(() => {
        for (let i = 0; i < 5_000; i++) t.store.events.add({ source: 'api', kind: 'test.flood', detail: { padding } });
      });
    flood(); // one burst is written whole, whatever its size
    await new Promise((r) => setTimeout(r, 800));
    flood(); // the next finds the backlog unread past the bound for longer than the grace
    await new Promise((r) => setTimeout(r, 200));
    s.res.resume();
    await closed;
    expect(s.text()).toMatch(/: too far behind; reconnect with Last-Event-ID/);
    expect(s.ids()).toHaveLength(5_000);
  });

  it('outlives the request and idle timeouts: heartbeats keep a quiet stream open', async () => {
    const t = await setup({ settings: { http: { publicUrl: 'http://198.18.0.1:8080', limits: { requestTimeoutMs: 1000, headersTimeoutMs: 1000, idleTimeoutMs: 1000 } } }, eventStream: { heartbeatMs: 300 } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => t.app.close());
    const s = await openStream((t.app.server.address() as AddressInfo).port, '/api/v1/events/stream', t.roles.read);
    let ended = false;
    s.res.on('close', () => {
      ended = true;
    });
    await new Promise((r) => setTimeout(r, 2500));
    expect(ended).toBe(false);
    const id = t.store.events.add({ source: 'api', kind: 'machine.created' });
    await until(() => s.ids().includes(id));
    expect(s.text().match(/: ping/g)?.length).toBeGreaterThanOrEqual(5);
  });

  it('streams new events, filters by machine, resumes after an id, sends heartbeats and refuses streams past the cap', async () => {
    const { app, store, roles } = await setup({ eventStream: { maxStreams: 3, heartbeatMs: 100 } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => app.close());
    const port = (app.server.address() as AddressInfo).port;
    store.machines.create({ name: 'node-1', macs: [MAC] });
    const before = store.events.add({ mac: MAC, source: 'dhcp', kind: 'dhcp.offer', detail: {} });
    await new Promise((r) => setTimeout(r, 100)); // the feed (20 ms ticks) has delivered it: it is history now

    const all = await openStream(port, '/api/v1/events/stream', roles.read);
    expect(all.res.statusCode).toBe(200);
    expect(all.res.headers['content-type']).toMatch(/^text\/event-stream/);
    const mine = await openStream(port, '/api/v1/events/stream?machine=node-1', roles.read);
    const resumed = await openStream(port, '/api/v1/events/stream', { ...roles.read, 'last-event-id': String(before - 1) });
    const refused = await openStream(port, '/api/v1/events/stream', roles.read);
    expect(refused.res.statusCode).toBe(503);
    expect(refused.res.headers['retry-after']).toBe('5');

    const a = store.events.add({ mac: MAC, source: 'dhcp', kind: 'dhcp.ack', detail: { bootFile: 'ipxe.efi' } });
    const b = store.events.add({ mac: '02:00:00:00:00:01', source: 'http', kind: 'boot.unknown', detail: {} });
    await until(() => all.ids().includes(b) && mine.ids().includes(a) && resumed.ids().includes(b));
    expect(all.ids()).toEqual([a, b]); // history is not replayed without after / Last-Event-ID
    expect(mine.ids()).toEqual([a]);
    expect(resumed.ids()).toEqual([before, a, b]);
    const frame = all.text().split('\n\n').find((f) => f.startsWith(`id: ${a}`))!;
    expect(JSON.parse(frame.split('\ndata: ')[1]!)).toMatchObject({ id: a, kind: 'dhcp.ack', mac: MAC, detail: { bootFile: 'ipxe.efi' } });
    await until(() => all.text().includes(': ping'));

    // A closed stream frees its slot.
    all.res.destroy();
    await until(() => true, 50);
    await new Promise((r) => setTimeout(r, 100));
    const again = await openStream(port, `/api/v1/events/stream?after=${a}`, roles.read);
    expect(again.res.statusCode).toBe(200);
    await until(() => again.ids().includes(b));
    const noToken = await openStream(port, '/api/v1/events/stream', {});
    expect(noToken.res.statusCode).toBe(401);

    // Closing the app ends the open streams (they do not hold the server open).
    const ended = new Promise((r) => mine.res.on('end', r));
    await app.close();
    await ended;
  });
});
