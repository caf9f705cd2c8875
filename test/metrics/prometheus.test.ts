import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { type Appliance, startAppliance } from '../../src/main.js';
import { defaultSettings } from '../../src/settings.js';
import { Store } from '../../src/inventory/store.js';

// A real Prometheus (Debian package `prometheus`, scripts/deps/test-observability.txt) scrapes a
// real rackboot's /metrics over TLS with a read token, and its query API returns the counters.

const dir = mkdtempSync(join(tmpdir(), 'rb-prom-'));
const MAC = '52:54:00:ab:cd:01';
let app: Appliance;
let prom: ChildProcess | undefined;
let promUrl: string;

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  expect(body.status).toBe('success');
  return body.data.result;
}

async function eventually<T>(fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting for Prometheus');
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  app = await startAppliance(
    defaultSettings({ dataDir: join(dir, 'data'), http: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 }, dhcp: { enabled: false }, tftp: { enabled: false } }),
    silentLogger(),
  );
  const token = app.store.apiTokens.create({ name: 'prometheus', role: 'read' }).secret;
  writeFileSync(join(dir, 'rackboot.token'), `${token}\n`, { mode: 0o600 });
  const api = new URL(app.apiUrl);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: rackboot',
      `    scheme: ${api.protocol.replace(':', '')}`,
      `    tls_config: { ca_file: ${JSON.stringify(app.apiCaFile)}, server_name: localhost }`,
      `    authorization: { credentials_file: ${JSON.stringify(join(dir, 'rackboot.token'))} }`,
      `    static_configs: [{ targets: ['127.0.0.1:${api.port}'] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
}, 60_000);

afterAll(async () => {
  if (prom?.pid && prom.exitCode === null) {
    const exited = new Promise((r) => prom!.once('exit', r));
    process.kill(prom.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (prom.exitCode === null) process.kill(prom.pid, 'SIGKILL');
  }
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Prometheus scraping /metrics', () => {
  it('sees the target up and returns the boot counters and the phase histogram', async () => {
    // A boot as the protocol servers trace it, and a real request on the boot listener.
    const m = app.store.machines.create({ name: 'prom-1', macs: [MAC] });
    const at = Date.now() - 10_000;
    const row = (s: number, source: string, kind: string, detail: Record<string, unknown>) =>
      Store.rawDb(app.store).prepare('INSERT INTO events (at, mac, machine_id, source, kind, detail) VALUES (?, ?, ?, ?, ?, ?)').run(new Date(at + s * 1000).toISOString(), MAC, m.id, source, kind, JSON.stringify(detail));
    row(0, 'dhcp', 'dhcp.offer', { arch: 7, bootFile: 'ipxe.efi' });
    row(1, 'dhcp', 'dhcp.ack', { arch: 7, bootFile: 'ipxe.efi' });
    row(3, 'tftp', 'tftp.sent', { file: 'ipxe.efi', bytes: 1_048_576, result: 'sent' });
    row(5, 'dhcp', 'dhcp.ack', { arch: 7, bootFile: `${app.httpUrl}/boot.ipxe?mac=${MAC}` });
    expect((await fetch(`${app.httpUrl}/boot.ipxe?mac=${MAC}`)).status).toBeLessThan(500);

    const up = await eventually(async () => (await query('up{job="rackboot"}')).find((r) => r.value[1] === '1'));
    expect(up.metric.instance).toMatch(/^127\.0\.0\.1:/);
    const offers = await eventually(async () => (await query('rackboot_dhcp_replies_total{type="offer"}')).find((r) => Number(r.value[1]) >= 1));
    expect(Number(offers.value[1])).toBe(1);
    const tftp = await eventually(async () => (await query('rackboot_tftp_transfers_total{result="sent"}'))[0]);
    expect(Number(tftp.value[1])).toBe(1);
    const phases = await eventually(async () => {
      const r = await query('rackboot_boot_phase_duration_seconds_count');
      return r.length >= 2 ? r : undefined;
    });
    expect(Object.fromEntries(phases.map((r) => [r.metric.phase, Number(r.value[1])]))).toMatchObject({ dhcp: 1, loader: 1 });
    const le = await query('rackboot_boot_phase_duration_seconds_bucket{phase="dhcp",le="5"}');
    expect(Number(le[0]?.value[1])).toBe(1); // 3 s from the offer to the loader
    const http = await eventually(async () => (await query('sum(rackboot_http_requests_total{route="/boot.ipxe"})'))[0]);
    expect(Number(http.value[1])).toBeGreaterThanOrEqual(1);
    const machines = await query('rackboot_machines{state="registered"}');
    expect(Number(machines[0]?.value[1])).toBe(1);
    expect((await query('rackboot_nodejs_eventloop_lag_seconds')).length).toBe(1);
  }, 60_000);
});
