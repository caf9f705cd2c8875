import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { waitFor } from '../helpers/netns.js';
import { type TestPostgres, startPostgres } from '../helpers/postgres.js';
import { applianceApi, fetchDigest, startBridgeVm } from './helpers/netns-vm.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

// Issue #20 acceptance: two rackboot processes in two network namespaces on one bridge, one
// PostgreSQL (in a third namespace on the same bridge), and a 1,000-client perfdhcp avalanche
// broadcast on the segment, so both appliances hear every client and answer at once. Ends with
// 0 failures (every REQUEST ACKed) and 0 duplicate addresses (leases table and ACKs). Then one
// SeaBIOS + iPXE VM (TCG) on a tap of the same bridge boots the test OS from whichever appliance
// answers: both serve HTTP and TFTP on their own address from the same boot-assets build.
//   hub: br0 198.18.0.4/16, PostgreSQL on 198.18.0.4:5432
//   a:   eth0 198.18.0.2/16, rackboot "a"       b: eth0 198.18.0.3/16, rackboot "b"
//   cli: eth0 198.18.0.10/16, perfdhcp (-B: broadcast on the link, giaddr 198.18.0.10)
//   vm:  tap on br0, its address leased by either appliance
const CLIENTS = 1000;
const id = randomBytes(3).toString('hex');
const NS = { hub: `rbaa-${id}-h`, a: `rbaa-${id}-a`, b: `rbaa-${id}-b`, cli: `rbaa-${id}-c` } as const;
const ADDR = { hub: '198.18.0.4', a: '198.18.0.2', b: '198.18.0.3', cli: '198.18.0.10' } as const;

const ASSETS = join(ROOT, 'boot-assets/build');
const VM = { name: 'aa-vm', mac: '52:54:00:aa:20:01', uuid: '2a2a0020-0000-4000-8000-0000000000a1', serial: 'RBAA-20-01', tap: 'tapvm' } as const;
const ip = (...args: string[]) => run('ip', args);
const procs: ChildProcess[] = [];
const dirs: string[] = [];
let pgServer: TestPostgres | undefined;
let url = '';
const outputs: Record<string, string> = {};

async function topology(): Promise<void> {
  for (const ns of Object.values(NS)) {
    await ip('netns', 'add', ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  await ip('-n', NS.hub, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
  await ip('-n', NS.hub, 'addr', 'add', `${ADDR.hub}/16`, 'dev', 'br0');
  await ip('-n', NS.hub, 'link', 'set', 'br0', 'up');
  for (const k of ['a', 'b', 'cli'] as const) {
    await ip('-n', NS.hub, 'link', 'add', `v-${k}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS[k]);
    await ip('-n', NS.hub, 'link', 'set', `v-${k}`, 'master', 'br0');
    await ip('-n', NS.hub, 'link', 'set', `v-${k}`, 'up');
    await ip('-n', NS[k], 'addr', 'add', `${ADDR[k]}/16`, 'dev', 'eth0');
    await ip('-n', NS[k], 'link', 'set', 'eth0', 'up');
  }
}

/** Starts one appliance in its namespace (its own data dir; the shared secret.key copied in). */
async function appliance(name: 'a' | 'b', keyFrom?: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `rb-aa-${name}-`));
  dirs.push(dir);
  if (keyFrom) copyFileSync(join(keyFrom, 'secret.key'), join(dir, 'secret.key'));
  const settings = {
    dataDir: dir,
    // debug: every reply is a log line with its MAC, kind and address (the outage test reads them).
    logLevel: 'debug',
    store: { postgres: url },
    appliance: { name },
    // The same build for both, so whichever answers a machine can boot it.
    assetsDir: ASSETS,
    // ttyS0 last: the test OS's own lines go to the VM's serial log too.
    http: { host: ADDR[name], port: 8080, consoleArgs: 'console=tty0 console=ttyS0,115200' },
    api: { host: ADDR[name], port: 8443 },
    tftp: { host: ADDR[name] },
    dhcp: {
      enabled: true,
      mode: 'full',
      interfaces: ['eth0'],
      serverAddress: ADDR[name],
      unknownMacs: 'lease',
      subnets: [{ cidr: '198.18.0.0/16', poolStart: '198.18.1.0', poolEnd: '198.18.255.250', leaseSeconds: 3600 }],
    },
  };
  const cfg = join(dir, 'rackboot.test.yaml');
  writeFileSync(cfg, stringify(settings));
  const p = spawn('ip', ['netns', 'exec', NS[name], process.execPath, '--import', 'tsx', join(ROOT, 'src/cli.ts'), 'serve', '--config', cfg], {
    cwd: ROOT,
    env: { ...process.env, RACKBOOT_LOG_JSON: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(p);
  outputs[name] = '';
  const add = (d: Buffer) => {
    outputs[name] += d.toString();
  };
  p.stdout?.on('data', add);
  p.stderr?.on('data', add);
  await waitFor(`rackboot ${name} to start`, () => {
    if (p.exitCode !== null) throw new Error(`rackboot ${name} exited ${p.exitCode}:\n${outputs[name]}`);
    return outputs[name]!.includes('rackboot serving') && outputs[name]!.includes('notifications in effect');
  }, 90_000, 250);
  return dir;
}

beforeAll(async () => {
  // Cheap when up to date: the VM below boots the test OS from this build.
  await run('bash', [join(ROOT, 'boot-assets/build.sh'), '--if-missing'], { maxBuffer: 64 << 20 });
  await topology();
  pgServer = await startPostgres({ netns: NS.hub, host: ADDR.hub, port: 5432 });
  url = await pgServer.createDatabase('rackboot');
  // The test cluster commits asynchronously and is killed like a crash: this database commits
  // durably, so a lease lost across the kill would be rackboot's doing, not the cluster's.
  const admin = new pg.Client({ host: pgServer.dir, port: pgServer.port, user: 'rackboot', database: 'postgres' });
  await admin.connect();
  await admin.query('ALTER DATABASE rackboot SET synchronous_commit = on').finally(() => admin.end());
  const dirA = await appliance('a');
  await appliance('b', dirA);
}, 240_000);

afterAll(async () => {
  for (const p of procs) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
  await pgServer?.stop();
  for (const ns of Object.values(NS)) await ip('netns', 'del', ns).catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

describe('two appliances, one segment, one PostgreSQL (issue #20 acceptance)', () => {
  it('a 1,000-client perfdhcp avalanche against both at once: 0 failures, 0 duplicate addresses', async () => {
    // Bounded: perfdhcp's avalanche ends when every client is bound; `timeout` stops it at 120 s.
    const out = await run('timeout', ['120', 'ip', 'netns', 'exec', NS.cli, 'perfdhcp', '-4', '-l', 'eth0', '-B', '--scenario', 'avalanche', '-R', String(CLIENTS)], {
      maxBuffer: 16 << 20,
    })
      .then((r) => r.stdout + r.stderr)
      .catch((e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`);
    writeFileSync(join(dirs[0]!, 'perfdhcp.txt'), out);
    const took = /It took [0-9:.]+ to provision (\d+) clients/.exec(out);
    expect(took?.[1], `perfdhcp did not finish:\n${out.slice(-2000)}`).toBe(String(CLIENTS));
    const stat = (name: string, exchange: string) => {
      const block = out.slice(out.indexOf(`Statistics for: ${exchange}`));
      return Number(new RegExp(`${name}:\\s+(\\d+)`).exec(block)?.[1] ?? Number.NaN);
    };
    // perfdhcp's avalanche retransmits until each client is bound; count what never was.
    const requests = stat('sent packets', 'REQUEST-ACK');
    const acks = stat('received packets', 'REQUEST-ACK');
    expect(acks).toBeGreaterThanOrEqual(CLIENTS);

    // The database is in the hub namespace: the test reads it over the cluster's Unix socket.
    const client = new pg.Client({ host: pgServer!.dir, port: pgServer!.port, user: 'rackboot', database: 'rackboot' });
    await client.connect();
    try {
      const rows = (await client.query("SELECT ip, mac, client_id FROM leases WHERE state = 'active'")).rows as Array<{ ip: string; mac: string; client_id: string }>;
      const byMac = new Map<string, string[]>();
      for (const r of rows) byMac.set(r.mac, [...(byMac.get(r.mac) ?? []), r.ip]);
      // Every perfdhcp client holds exactly one address, and (ip is the key) no address two clients.
      expect(rows.length).toBe(CLIENTS);
      expect([...byMac.values()].filter((ips) => ips.length > 1)).toEqual([]);
      // Both appliances ACKed clients of the one segment (the trace names the writing appliance).
      const by = (await client.query('SELECT appliance, count(*)::int AS n FROM events WHERE kind = $1 GROUP BY appliance ORDER BY appliance', ['dhcp.ack'])).rows as Array<{ appliance: string; n: number }>;
      const naks = (await client.query('SELECT count(*)::int AS n FROM events WHERE kind = $1', ['dhcp.nak'])).rows[0] as { n: number };
      console.log(`avalanche: ${took?.[0]}; ${requests} REQUESTs, ${acks} ACKs; ACKs by appliance ${JSON.stringify(by)}; NAKs ${naks.n}`);
      expect(by.map((r) => r.appliance)).toEqual(['a', 'b']);
      expect(by.every((r) => r.n > 0)).toBe(true);
    } finally {
      await client.end();
    }
    // Both appliances answered; a lost claim (NAK) is how the database settles a race.
    for (const name of ['a', 'b'] as const) expect(outputs[name]).toContain('dhcp listening');
  }, 180_000);

  it('a VM boots from whichever appliance answers: the trace names it for every step, and the other could have served it', async () => {
    const started = Date.now();
    // Registered through a's API: machine (MAC + SMBIOS identity) and profile land in the shared inventory.
    const apiA = applianceApi(NS.cli, `https://${ADDR.a}:8443`, dirs[0]!);
    const apiB = applianceApi(NS.cli, `https://${ADDR.b}:8443`, dirs[1]!);
    await apiA('POST', '/api/v1/profiles', { name: VM.name, spec: { os: 'testos' } });
    const machine = await apiA<{ id: number }>('POST', '/api/v1/machines', { name: VM.name, macs: [VM.mac], profile: VM.name, uuid: VM.uuid, serial: VM.serial });
    const vm = await startBridgeVm({ ns: NS.hub, bridge: 'br0', tap: VM.tap, name: VM.name, mac: VM.mac, uuid: VM.uuid, serial: VM.serial, dir: dirs[0]! });
    const client = new pg.Client({ host: pgServer!.dir, port: pgServer!.port, user: 'rackboot', database: 'rackboot' });
    await client.connect();
    try {
      type Row = { id: number; kind: string; appliance: string | null; detail: Record<string, unknown> };
      const trace = async (): Promise<Row[]> =>
        ((await client.query('SELECT id, kind, appliance, detail FROM events WHERE machine_id = $1 OR mac = $2 ORDER BY id', [machine.id, VM.mac])).rows as Array<Row & { detail: string | Record<string, unknown> }>).map((r) => ({
          ...r,
          detail: typeof r.detail === 'string' ? (JSON.parse(r.detail) as Record<string, unknown>) : r.detail,
        }));
      // Bounded: the test OS reports `ready` (config fetched and applied) or the wait ends.
      await waitFor(`${VM.name} to report ready (serial tail: ${vm.serial().slice(-1500)})`, async () => {
        const t = await trace();
        if (t.some((e) => e.kind === 'report.failed')) throw new Error(`${VM.name} failed:\n${vm.serial().slice(-3000)}`);
        return t.some((e) => e.kind === 'report.ready');
      }, 420_000, 2000);
      const events = await trace();
      const scriptFile = (e: Row) => typeof e.detail.bootFile === 'string' && /\/boot\.ipxe\?/.test(e.detail.bootFile);
      // iPXE's DISCOVER reached both: each offered its own script URL (both knew the machine).
      const offers = events.filter((e) => e.kind === 'dhcp.offer' && scriptFile(e));
      expect([...new Set(offers.map((e) => e.appliance))].sort()).toEqual(['a', 'b']);
      for (const o of offers) expect(String(o.detail.bootFile)).toMatch(new RegExp(`^http://${ADDR[o.appliance as 'a' | 'b'].replaceAll('.', '\\.')}:8080/boot\\.ipxe\\?mac=${VM.mac}`));
      // iPXE REQUESTed one of them: that appliance ACKed, and served every later step.
      const acks = events.filter((e) => e.kind === 'dhcp.ack' && scriptFile(e));
      expect(acks.length).toBeGreaterThan(0);
      const served = acks[0]!.appliance as 'a' | 'b';
      const other = served === 'a' ? 'b' : 'a';
      expect(acks.every((e) => e.appliance === served)).toBe(true);
      const steps = events.filter((e) => ['boot.script', 'asset.served', 'config.served'].includes(e.kind) || e.kind.startsWith('report.'));
      const got = steps.map((e) => `${e.kind}${e.detail.kind ? `(${String(e.detail.kind)})` : ''}@${e.appliance}`);
      for (const want of ['boot.script', 'asset.served(kernel)', 'asset.served(initrd)', 'config.served', 'report.booting', 'report.configured', 'report.ready']) {
        expect(got, `${want} in ${got.join(' ')}`).toContain(`${want}@${served}`);
      }
      expect(steps.filter((e) => e.appliance !== served), got.join(' ')).toEqual([]);
      // The lease it booted with is in the shared leases table.
      const lease = (await client.query('SELECT ip, state FROM leases WHERE mac = $1', [VM.mac])).rows as Array<{ ip: string; state: string }>;
      expect(lease.filter((l) => l.state === 'active')).toHaveLength(1);
      expect(lease[0]!.ip).toMatch(/^198\.18\./);

      // The trace API (`rackboot why`), asked of the other appliance: per phase, who served it.
      const why = await apiB<{ phase: string; phases: Array<{ phase: string; appliances: string[] }> }>('GET', `/api/v1/why/${VM.name}`);
      expect(why.phase).toBe('ready');
      const byPhase = Object.fromEntries(why.phases.map((p) => [p.phase, p.appliances]));
      expect([...(byPhase.ipxe ?? [])].sort()).toEqual(['a', 'b']);
      // (The test OS reports `booting` before it fetches its config, so the trace shows no config
      // phase after `installed`: config.served is checked on the events above.)
      for (const p of ['script', 'kernel', 'initrd', 'installed', 'ready']) expect(byPhase[p], p).toEqual([served]);
      for (const p of why.phases.filter((x) => x.phase !== 'ipxe')) expect(p.appliances, p.phase).toEqual([served]);

      // The other appliance serves the same kernel and initrd under the same digests.
      const assets = steps.filter((e) => e.kind === 'asset.served').map((e) => String(e.detail.sha256));
      for (const sha of new Set(assets)) expect(await fetchDigest(NS.cli, `http://${ADDR[other]}:8080/assets/sha256/${sha}`)).toBe(sha);
      expect(vm.serial()).toContain('rackboot-agent: reported ready');
      console.log(
        `vm: ${VM.name} ready in ${Math.round((Date.now() - started) / 1000)} s; offers from ${[...new Set(offers.map((e) => e.appliance))].join('+')}, ` +
          `served by ${served} (lease ${lease[0]!.ip}); phases ${why.phases.map((p) => `${p.phase}:${p.appliances.join('+')}`).join(' ')}; steps ${got.join(' ')}`,
      );
    } finally {
      await client.end();
      await vm.stop();
    }
  }, 480_000);

  it('PostgreSQL stopped for 30 s under DHCP load: no ACKed lease lost, one outage and one recovery line per appliance, served again after', async () => {
    const mark = { a: outputs.a!.length, b: outputs.b!.length };
    // Bounded: 150 new exchanges/s for 45 s from 3,000 MACs, broadcast to both appliances.
    const perf = run('timeout', ['70', 'ip', 'netns', 'exec', NS.cli, 'perfdhcp', '-4', '-l', 'eth0', '-B', '-r', '150', '-p', '45', '-R', '3000'], { maxBuffer: 16 << 20 })
      .then((r) => r.stdout)
      .catch((e: { stdout?: string }) => e.stdout ?? '');
    await new Promise((r) => setTimeout(r, 5000));
    await pgServer!.kill();
    await new Promise((r) => setTimeout(r, 30_000));
    await pgServer!.start();
    const out = await perf;
    for (const name of ['a', 'b'] as const) {
      await waitFor(`appliance ${name} to recover`, () => outputs[name]!.slice(mark[name]).includes('store reachable again'), 30_000, 250);
    }
    const lines = (name: 'a' | 'b') =>
      outputs[name]!.slice(mark[name])
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; kind?: string; mac?: string; yiaddr?: string; time: number });
    const client = new pg.Client({ host: pgServer!.dir, port: pgServer!.port, user: 'rackboot', database: 'rackboot' });
    await client.connect();
    try {
      const rows = new Map(((await client.query('SELECT ip, mac, state FROM leases')).rows as Array<{ ip: string; mac: string; state: string }>).map((r) => [r.ip, r]));
      let acked = 0;
      const lost: string[] = [];
      for (const name of ['a', 'b'] as const) {
        const l = lines(name);
        expect(l.filter((x) => x.msg.startsWith('store unreachable'))).toHaveLength(1);
        const back = l.filter((x) => x.msg.startsWith('store reachable again'));
        expect(back).toHaveLength(1);
        // Served again after the recovery (perfdhcp kept sending for a while after the restart).
        expect(l.some((x) => x.msg === 'dhcp reply sent' && x.kind === 'dhcp.ack' && x.time > back[0]!.time)).toBe(true);
        for (const x of l) {
          if (x.msg !== 'dhcp reply sent' || x.kind !== 'dhcp.ack') continue;
          acked++;
          // The address is still that client's in the database: nothing ACKed was lost.
          const row = rows.get(x.yiaddr!);
          if (!row || row.mac !== x.mac || row.state !== 'active') lost.push(`${name} ${x.mac} ${x.yiaddr} → ${JSON.stringify(row)}`);
        }
      }
      console.log(`outage: ${acked} ACKs sent around a 30 s PostgreSQL stop; perfdhcp: ${/Rate:.*$/m.exec(out)?.[0] ?? '?'}`);
      expect(lost).toEqual([]);
      expect(acked).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  }, 180_000);
});
