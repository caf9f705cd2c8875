import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSG, OPT } from '../../src/dhcp/options.js';
import { waitFor } from '../helpers/netns.js';
import { DhcpLab } from './helpers/lab.js';
import { clientBytes } from './helpers/packets.js';

// Real clients (ISC dhclient, busybox udhcpc) against rackboot in authoritative mode, in namespaces.
const RESERVED = '198.18.0.150';
const OTHER_MAC = '02:00:00:00:00:51';
const PROBE_MAC = '02:00:00:00:00:61';

let lab: DhcpLab;
let eth0Mac: string;

async function macOf(ns: 'cli', dev: string): Promise<string> {
  const { stdout } = await lab.sh(ns, 'ip', ['-j', 'link', 'show', dev]);
  return (JSON.parse(stdout) as Array<{ address: string }>)[0]!.address;
}

/** A client hook script that configures the address and logs each event line to `log`. */
function hookScript(name: string, log: string, body: string): string {
  const path = join(lab.dataDir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\nexit 0\n`);
  chmodSync(path, 0o755);
  writeFileSync(log, '');
  return path;
}

const logLines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean) : []);

beforeAll(async () => {
  lab = await DhcpLab.create('dhcpcl');
  const { cli, srv } = lab.net;
  // A second link srv:vx <-> cli:eth1, NOT on br0: the server must not answer there.
  await lab.sh('srv', 'ip', ['link', 'add', 'vx', 'type', 'veth', 'peer', 'name', 'eth1']);
  await lab.sh('srv', 'ip', ['link', 'set', 'eth1', 'netns', cli]);
  await lab.sh('srv', 'ip', ['addr', 'add', '198.19.0.1/24', 'dev', 'vx']);
  await lab.sh('srv', 'ip', ['link', 'set', 'vx', 'up']);
  await lab.sh('cli', 'ip', ['link', 'set', 'eth1', 'up']);
  // A second client MAC on the same wire (macvlan) for the reservation test.
  await lab.sh('cli', 'ip', ['link', 'add', 'mv1', 'link', 'eth0', 'address', OTHER_MAC, 'type', 'macvlan', 'mode', 'bridge']);
  await lab.sh('cli', 'ip', ['link', 'set', 'mv1', 'up']);
  void srv;
  eth0Mac = await macOf('cli', 'eth0');
  lab.seed((s) => {
    s.machines.create({ name: 'node-a', macs: [eth0Mac], ipv4: RESERVED });
    s.machines.create({ name: 'node-b', macs: [OTHER_MAC] });
    s.machines.create({ name: 'probe', macs: [PROBE_MAC] });
  });
  await lab.start({
    subnets: [
      { cidr: '198.18.0.0/24', poolStart: '198.18.0.100', poolEnd: '198.18.0.200', router: '198.18.0.1', leaseSeconds: 20 },
      { cidr: '198.19.0.0/24', poolStart: '198.19.0.100', poolEnd: '198.19.0.200', leaseSeconds: 20 },
    ],
  });
}, 120_000);

afterAll(async () => {
  await lab?.destroy();
});

describe('authoritative DHCP with real clients', () => {
  it('udhcpc gets its reserved address, renews it (SIGUSR1) and releases it (SIGUSR2)', async () => {
    const log = join(lab.dataDir, 'udhcpc.log');
    const script = hookScript('udhcpc.sh', log, [
      `echo "$1 $ip $serverid" >> ${log}`,
      'case "$1" in bound|renew) ip addr flush dev $interface; ip addr add $ip/$mask dev $interface;; deconfig) ip addr flush dev $interface;; esac',
    ].join('\n'));
    const p = lab.net.spawn(lab.net.cli, 'udhcpc', ['-f', '-i', 'eth0', '-s', script, '-t', '5', '-T', '2', '-A', '2']);
    await waitFor('udhcpc bound', () => logLines(log).some((l) => l.startsWith('bound ')), 30_000);
    expect(logLines(log).find((l) => l.startsWith('bound '))).toBe(`bound ${RESERVED} 198.18.0.1`);
    // `ip netns exec` is the spawned parent; udhcpc is its child after exec (same PID).
    process.kill(p.pid!, 'SIGUSR1');
    await waitFor('udhcpc renew', () => logLines(log).some((l) => l.startsWith('renew ')), 30_000);
    process.kill(p.pid!, 'SIGUSR2');
    await waitFor('release recorded', () => lab.read((s) => s.leases.get(RESERVED)?.state === 'released'), 30_000);
    p.kill('SIGKILL');
    // Trace rows are written up to ~100 ms after the reply (EventRepo.addSoon); leases before it.
    await waitFor('release traced', () => lab.read((s) => s.events.list({ mac: eth0Mac, kind: 'dhcp.release' }).length === 1), 5_000);
    const kinds = lab.read((s) => s.events.list({ mac: eth0Mac }).map((e) => e.kind));
    expect(kinds).toEqual(['dhcp.offer', 'dhcp.ack', 'dhcp.ack', 'dhcp.release']);
    const ev = lab.read((s) => s.events.list({ mac: eth0Mac, kind: 'dhcp.ack' })[0]!);
    expect(ev.detail).toMatchObject({ yiaddr: RESERVED, mode: 'full', iface: 'br0', bootFile: null });
    expect(ev.machineId).not.toBeNull();
  });

  it('dhclient gets a lease, renews it at T1 and releases it', async () => {
    const log = join(lab.dataDir, 'dhclient.log');
    const script = hookScript('dhclient.sh', log, [
      `echo "$reason $new_ip_address" >> ${log}`,
      'case "$reason" in BOUND|RENEW|REBIND|REBOOT) ip addr flush dev $interface; ip addr add $new_ip_address/$new_subnet_mask dev $interface;; RELEASE|EXPIRE|STOP) ip addr flush dev $interface;; esac',
    ].join('\n'));
    const files = ['-lf', join(lab.dataDir, 'dhclient.leases'), '-pf', join(lab.dataDir, 'dhclient.pid'), '-sf', script];
    lab.net.spawn(lab.net.cli, 'dhclient', ['-d', '-v', ...files, 'eth0']);
    await waitFor('dhclient bound', () => logLines(log).some((l) => l.startsWith('BOUND ')), 30_000);
    const addr = logLines(log).find((l) => l.startsWith('BOUND '))!.split(' ')[1];
    // dhclient sends no client id: same MAC, so the reservation applies to it as well.
    expect(addr).toBe(RESERVED);
    // Lease 20 s → T1 10 s: a unicast RENEW (ciaddr set) answered by an ACK.
    await waitFor('dhclient renew', () => logLines(log).some((l) => l.startsWith('RENEW ')), 45_000);
    await lab.sh('cli', 'dhclient', ['-r', '-v', ...files, 'eth0']);
    await waitFor('release recorded', () => lab.read((s) => s.leases.get(RESERVED)?.state === 'released'), 30_000);
  });

  it('a reserved address goes to its machine only (another MAC asking for it gets a different one)', async () => {
    const log = join(lab.dataDir, 'udhcpc-b.log');
    const script = hookScript('udhcpc-b.sh', log, `echo "$1 $ip" >> ${log}`);
    await lab.sh('cli', 'udhcpc', ['-f', '-q', '-n', '-i', 'mv1', '-r', RESERVED, '-s', script, '-t', '5', '-T', '2'], 60_000);
    const bound = logLines(log).find((l) => l.startsWith('bound '));
    expect(bound).toMatch(/^bound 198\.18\.0\.\d+$/);
    expect(bound).not.toBe(`bound ${RESERVED}`);
    const nak = await lab.probe({ send: [clientBytes({ type: MSG.REQUEST, mac: OTHER_MAC, xid: 77, options: [[OPT.REQUESTED_IP, [198, 18, 0, 150]]] })] });
    expect(nak.map((p) => p.options.get(OPT.MESSAGE_TYPE)?.[0])).toEqual([MSG.NAK]);
  });

  it('ignores a REQUEST that selects another server', async () => {
    const [offer] = await lab.probe({ send: [clientBytes({ type: MSG.DISCOVER, mac: PROBE_MAC, xid: 1 })] });
    expect(offer?.yiaddr).toMatch(/^198\.18\.0\./);
    const yi = offer!.yiaddr.split('.').map(Number);
    const replies = await lab.probe({
      send: [clientBytes({ type: MSG.REQUEST, mac: PROBE_MAC, xid: 2, options: [[OPT.SERVER_ID, [198, 18, 0, 99]], [OPT.REQUESTED_IP, yi]] })],
    });
    expect(replies).toEqual([]);
    expect(lab.read((s) => s.leases.forMac(PROBE_MAC))).toEqual([]);
    await waitFor('offer traced', () => lab.read((s) => s.events.list({ mac: PROBE_MAC }).length > 0), 5_000);
    expect(lab.read((s) => s.events.list({ mac: PROBE_MAC }).map((e) => e.kind))).toEqual(['dhcp.offer']);
  });

  it('answers only on its interface: a client on another link gets nothing', async () => {
    const discover = clientBytes({ type: MSG.DISCOVER, mac: PROBE_MAC, xid: 3 });
    expect(await lab.probe({ iface: 'eth1', send: [discover] })).toEqual([]);
    expect((await lab.probe({ iface: 'eth0', send: [discover] })).length).toBe(1);
  });

  it('survives thousands of mutated packets on its socket and still answers', async () => {
    const discover = clientBytes({ type: MSG.DISCOVER, mac: PROBE_MAC, xid: 4 });
    const replies = await lab.probe({ send: [discover], fuzz: { count: 3000, seed: 42 }, listenMs: 3000 });
    expect(replies.some((p) => p.xid === 4 && p.options.get(OPT.MESSAGE_TYPE)?.[0] === MSG.OFFER)).toBe(true);
    expect(lab.server!.proc.exitCode).toBeNull();
    expect(lab.server!.output()).toContain('dhcp malformed packet dropped');
  });

  it('serves both links when both interfaces are configured, each from its own subnet', async () => {
    await lab.start({
      interfaces: ['br0', 'vx'],
      serverAddress: undefined,
      subnets: [
        { cidr: '198.18.0.0/24', poolStart: '198.18.0.100', poolEnd: '198.18.0.200', leaseSeconds: 20 },
        { cidr: '198.19.0.0/24', poolStart: '198.19.0.100', poolEnd: '198.19.0.200', leaseSeconds: 20 },
      ],
    });
    const [a] = await lab.probe({ iface: 'eth1', send: [clientBytes({ type: MSG.DISCOVER, mac: PROBE_MAC, xid: 5 })] });
    expect(a?.yiaddr).toMatch(/^198\.19\.0\./);
  });
});
