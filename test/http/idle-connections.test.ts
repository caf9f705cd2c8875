import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestNet, waitFor } from '../helpers/netns.js';

const HELPERS = resolve(import.meta.dirname, 'helpers');
const FLOODER = '198.18.0.10';
const OTHER = '198.18.0.11';

/** Collects a child's stdout lines. */
function lines(p: ChildProcess): string[] {
  const out: string[] = [];
  let buf = '';
  p.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    out.push(...parts);
  });
  return out;
}

/**
 * Issue #15: 10,000 idle HTTP connections from one host against the real app (buildApp) with
 * http.limits applied; the API still answers a client at another address. The flooder is a
 * separate process (its 10,000 sockets count against its own fd limit, 20,000 here).
 */
describe('10,000 idle HTTP connections', () => {
  let net: TestNet;
  let server: ChildProcess;
  let serverOut: string[];
  const limits = { maxConnections: 1024, maxConnectionsPerClient: 64 };

  beforeAll(async () => {
    net = await TestNet.create('httpidle');
    await net.exec(net.cli, 'ip', ['addr', 'add', `${FLOODER}/24`, 'dev', 'eth0']);
    await net.exec(net.cli, 'ip', ['addr', 'add', `${OTHER}/24`, 'dev', 'eth0']);
    server = net.spawn(net.srv, process.execPath, ['--import', 'tsx', join(HELPERS, 'limited-app.ts'), net.serverIp, '8080', JSON.stringify(limits)]);
    serverOut = lines(server);
    await waitFor('app listening', () => serverOut.includes('listening'), 30_000);
  }, 60_000);

  afterAll(async () => {
    await net?.destroy();
  });

  it('closes all but the per-client cap at accept; the API answers another address at once', async () => {
    const flood = net.spawn(net.cli, process.execPath, ['--import', 'tsx', join(HELPERS, 'idle-flood.ts'), net.serverIp, '8080', FLOODER, OTHER, '10000', '30000', '20000']);
    const out = lines(flood);
    const r = JSON.parse(await waitFor('flood summary', () => out[0], 60_000)) as {
      attempted: number;
      connected: number;
      open: number;
      closed: number;
      api: { status: number; ms: number };
    };
    expect(r.attempted).toBe(10_000);
    expect(r.open).toBeLessThanOrEqual(limits.maxConnectionsPerClient);
    expect(r.closed).toBeGreaterThanOrEqual(10_000 - limits.maxConnectionsPerClient);
    expect(r.api.status).toBe(200);
    expect(r.api.ms).toBeLessThan(2000);
    // Every connection that completed its handshake was either kept (at most the cap) or closed
    // at accept. On a loaded machine some handshakes never complete (the listen backlog is
    // full): those the server never saw, so the count is against the handshakes made. The
    // server prints its stats every second; wait (from the flood's summary on) for a line in
    // which the closes have caught up and at most the cap (+ the API request) is still open.
    const seen = serverOut.length;
    type Stats = { overClient: number; open: number };
    const settled = (l: string) => {
      if (!l.startsWith('{')) return false;
      const st = JSON.parse(l) as Stats;
      return st.overClient >= r.connected - limits.maxConnectionsPerClient && st.open <= limits.maxConnectionsPerClient + 1;
    };
    const stats = JSON.parse(await waitFor('server stats: closes caught up, at most the cap open', () => serverOut.slice(seen).find(settled), 15_000)) as Stats;
    expect(r.connected).toBeGreaterThan(limits.maxConnectionsPerClient);
    expect(stats.overClient).toBeGreaterThanOrEqual(r.connected - limits.maxConnectionsPerClient);
    expect(stats.open).toBeLessThanOrEqual(limits.maxConnectionsPerClient + 1);
    flood.kill('SIGKILL');
  }, 120_000);
});
