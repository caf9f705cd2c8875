import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSG, OPT } from '../../src/dhcp/options.js';
import { decodeDhcpPacket } from '../../src/dhcp/packet.js';
import { macFromBytes } from '../../src/model/mac.js';
import { waitFor } from '../helpers/netns.js';
import { DhcpLab } from './helpers/lab.js';
import { readPcapUdp } from './helpers/pcap.js';

// kill -9 of rackboot while perfdhcp drives it: every ACK seen on the wire must have its lease
// in the database after restart (ACKs leave only after their batch commits).
let lab: DhcpLab;

beforeAll(async () => {
  lab = await DhcpLab.create('dhcpkill');
  await lab.sh('cli', 'ip', ['addr', 'add', '198.18.0.2/24', 'dev', 'eth0']);
}, 60_000);

afterAll(async () => {
  await lab?.destroy();
});

describe('lease durability', () => {
  it('keeps every ACKed lease across kill -9 during a perfdhcp run', async () => {
    const settings = {
      // perfdhcp's random MACs are unknown: admit them as discovered machines (also under load).
      unknownMacs: 'discover',
      // ...all of them: perfdhcp's 3,000 clients arrive far above the default discovery rate.
      discoverPerSecond: 10_000,
      discoverBurst: 100_000,
      subnets: [{ cidr: '198.18.0.0/16', poolStart: '198.18.1.0', poolEnd: '198.18.255.250', leaseSeconds: 3600 }],
    };
    const server = await lab.start(settings);
    const pcap = join(lab.dataDir, 'acks.pcap');
    const cap = lab.net.spawn(lab.net.cli, 'dumpcap', ['-q', '-i', 'eth0', '-f', 'udp port 67', '-P', '-w', pcap]);
    let capErr = '';
    cap.stderr?.on('data', (d: Buffer) => {
      capErr += d.toString();
    });
    await waitFor('dumpcap to start', () => capErr.includes('Capturing') || capErr.includes('File:'), 20_000).catch(() => undefined);
    // Bounded: 400 exchanges/s for at most 30 s, 3000 clients; rackboot is killed a few seconds in.
    const perf = lab.net.spawn(lab.net.cli, 'perfdhcp', ['-4', '-l', 'eth0', '-r', '400', '-p', '30', '-R', '3000', '198.18.0.1']);
    await waitFor('leases being written', () => lab.read((s) => s.events.list({ kind: 'dhcp.ack', limit: 300 }).length >= 200), 60_000, 250);
    await server.stop('SIGKILL');
    // Let in-flight packets settle, then stop the load and the capture (SIGINT flushes the file).
    await new Promise((r) => setTimeout(r, 1000));
    perf.kill('SIGKILL');
    const capDone = cap.exitCode !== null || cap.signalCode !== null ? Promise.resolve() : new Promise((r) => cap.once('exit', r));
    cap.kill('SIGINT');
    await capDone;

    const acked = new Map<string, string>();
    for (const u of readPcapUdp(pcap)) {
      if (u.srcPort !== 67 || u.src !== '198.18.0.1') continue;
      const p = decodeDhcpPacket(u.payload);
      if (p.options.get(OPT.MESSAGE_TYPE)?.[0] === MSG.ACK) acked.set(p.yiaddr, macFromBytes(p.chaddr));
    }
    expect(acked.size).toBeGreaterThan(100);

    // Restart on the same data dir: it loads the leases and serves again.
    await lab.start(settings);
    const missing = lab.read((s) =>
      [...acked].filter(([ip, mac]) => {
        const l = s.leases.get(ip);
        return !l || l.mac !== mac || l.state !== 'active';
      }),
    );
    expect(missing).toEqual([]);
  }, 180_000);
});
