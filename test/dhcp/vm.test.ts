import { IPXE_IDENTITY_QUERY } from '../../src/boot/urls.js';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPT } from '../../src/dhcp/options.js';
import { decodeDhcpPacket } from '../../src/dhcp/packet.js';
import { macFromBytes } from '../../src/model/mac.js';
import { qemuArgs } from '../../qemu/vm.js';
import { waitFor } from '../helpers/netns.js';
import { DhcpLab } from './helpers/lab.js';
import { readPcapUdp } from './helpers/pcap.js';

// Real firmware: SeaBIOS + the iPXE ROM of ipxe-qemu (already iPXE: user class "iPXE"), and
// OVMF with an empty romfile (edk2's own PXE, arch 7). One boot per VM and mode; both VMs boot
// at once. We assert what they were offered (events + the packets on br0); they need not
// finish booting (TFTP and HTTP are other subsystems, off here).
const BIOS_MAC = '52:54:00:d4:00:01';
const UEFI_MAC = '52:54:00:d4:00:02';
const URL = 'http://198.18.0.1:8080';
const VM_WAIT = 300_000;
const run = promisify(execFile);

let lab: DhcpLab;

beforeAll(async () => {
  lab = await DhcpLab.create('dhcpvm');
  lab.seed((s) => {
    s.profiles.create('netboot', { boot: 'network', chain: 'ipxe', os: 'testos', initrd: [], cmdline: '', requireSecureBoot: false });
    s.machines.create({ name: 'vm-bios', macs: [BIOS_MAC], profile: 'netboot' });
    s.machines.create({ name: 'vm-uefi', macs: [UEFI_MAC], profile: 'netboot' });
  });
  await lab.net.addTap('tapb');
  await lab.net.addTap('tapu');
}, 60_000);

afterAll(async () => {
  await lab?.destroy();
});

/** Boots both VMs with a capture on br0; returns once `done` holds, killing VMs and capture. */
async function bootBoth(tag: string, done: () => boolean): Promise<string> {
  const pcap = join(lab.dataDir, `${tag}.pcap`);
  const cap = lab.net.spawn(lab.net.srv, 'dumpcap', ['-q', '-i', 'br0', '-f', 'udp port 67 or udp port 68 or udp port 4011 or udp port 69', '-P', '-w', pcap]);
  await new Promise((r) => setTimeout(r, 1500));
  const vms = [
    lab.net.spawn(lab.net.srv, 'qemu-system-x86_64', qemuArgs({ name: `${tag}-bios`, mac: BIOS_MAC, tap: 'tapb', firmware: 'bios', serialLog: join(lab.dataDir, `${tag}-bios.log`) })),
    lab.net.spawn(lab.net.srv, 'qemu-system-x86_64', qemuArgs({ name: `${tag}-uefi`, mac: UEFI_MAC, tap: 'tapu', firmware: 'uefi', serialLog: join(lab.dataDir, `${tag}-uefi.log`) })),
  ];
  try {
    await waitFor(`${tag}: both VMs offered their boot file`, done, VM_WAIT, 1000);
    // A little longer so the follow-up packets (REQUEST/ACK, TFTP read request) are on the wire.
    await new Promise((r) => setTimeout(r, 8000));
  } finally {
    for (const vm of vms) vm.kill('SIGKILL');
    const capDone = cap.exitCode !== null || cap.signalCode !== null ? Promise.resolve() : new Promise((r) => cap.once('exit', r));
    cap.kill('SIGINT');
    await capDone;
  }
  return pcap;
}

const eventsOf = (mac: string, kind: string) => lab.read((s) => s.events.list({ mac, kind }));
const bootFiles = (mac: string, kind: string) => eventsOf(mac, kind).map((e) => e.detail.bootFile);

/** Replies rackboot put on the wire for a MAC: [file, yiaddr, option 60]. */
function offersTo(pcap: string, mac: string) {
  return readPcapUdp(pcap)
    .filter((u) => u.srcPort === 67 && u.src === '198.18.0.1')
    .map((u) => decodeDhcpPacket(u.payload))
    .filter((p) => macFromBytes(p.chaddr) === mac)
    .map((p) => ({ type: p.options.get(OPT.MESSAGE_TYPE)?.[0], file: p.file, yiaddr: p.yiaddr, siaddr: p.siaddr, vendor: p.options.get(OPT.VENDOR_CLASS)?.toString() }));
}

function tftpRequests(pcap: string): string[] {
  return readPcapUdp(pcap)
    .filter((u) => u.dstPort === 69 && u.payload.readUInt16BE(0) === 1)
    .map((u) => u.payload.toString('latin1', 2, u.payload.indexOf(0, 2)));
}

describe('firmware against rackboot', () => {
  it('full mode: iPXE gets its script URL, OVMF (edk2 PXE, arch 7) gets ipxe.efi, both with an address', async () => {
    await lab.start({ mode: 'full' });
    // edk2 collects offers for several seconds before it REQUESTs: wait for both ACKs.
    const pcap = await bootBoth('full', () => bootFiles(BIOS_MAC, 'dhcp.ack').length > 0 && bootFiles(UEFI_MAC, 'dhcp.ack').length > 0);
    expect(bootFiles(BIOS_MAC, 'dhcp.offer')[0]).toBe(`${URL}/boot.ipxe?mac=${BIOS_MAC}${IPXE_IDENTITY_QUERY}`);
    expect(bootFiles(BIOS_MAC, 'dhcp.ack')[0]).toBe(`${URL}/boot.ipxe?mac=${BIOS_MAC}${IPXE_IDENTITY_QUERY}`);
    const uefi = eventsOf(UEFI_MAC, 'dhcp.offer')[0]!;
    expect(uefi.detail).toMatchObject({ arch: 7, bootFile: 'ipxe.efi', mode: 'full', iface: 'br0' });
    // On the wire: file, next-server and PXEClient in the offer; never the loader to iPXE.
    const wireUefi = offersTo(pcap, UEFI_MAC);
    expect(wireUefi[0]).toMatchObject({ type: 2, file: 'ipxe.efi', siaddr: '198.18.0.1', vendor: 'PXEClient' });
    expect(wireUefi[0]?.yiaddr).toMatch(/^198\.18\.0\./);
    expect(offersTo(pcap, BIOS_MAC).every((o) => o.file.startsWith(`${URL}/boot.ipxe`))).toBe(true);
    expect(bootFiles(UEFI_MAC, 'dhcp.ack')[0]).toBe('ipxe.efi');
    // edk2 accepted the offer: it asked for ipxe.efi over TFTP once it had its ACK.
    expect(tftpRequests(pcap)).toContain('ipxe.efi');
  }, VM_WAIT + 120_000);

  it('proxy mode beside dnsmasq: dnsmasq gives the addresses, rackboot the boot files', async () => {
    // The site's DHCP server on its own host (namespace) on the same bridge: no PXE options.
    const site = `${lab.net.srv.slice(0, -2)}-d`;
    await run('ip', ['netns', 'add', site]);
    try {
      const s = (...a: string[]) => run('ip', ['-n', lab.net.srv, ...a]);
      const d = (...a: string[]) => run('ip', ['-n', site, ...a]);
      await s('link', 'add', 'vsite', 'type', 'veth', 'peer', 'name', 'site0');
      await s('link', 'set', 'site0', 'netns', site);
      await s('link', 'set', 'vsite', 'master', 'br0');
      await s('link', 'set', 'vsite', 'up');
      await d('addr', 'add', '198.18.0.2/24', 'dev', 'site0');
      await d('link', 'set', 'site0', 'up');
      await d('link', 'set', 'lo', 'up');
      const leases = join(lab.dataDir, 'dnsmasq.leases');
      lab.net.spawn(site, 'dnsmasq', [
        '--no-daemon', '--port=0', '--interface=site0', '--bind-interfaces', '--user=root',
        '--dhcp-range=198.18.0.50,198.18.0.90,255.255.255.0,10m', `--dhcp-leasefile=${leases}`,
        `--pid-file=${join(lab.dataDir, 'dnsmasq.pid')}`, '--log-dhcp',
      ]);
      // The full-mode boot above left its own events and leases: compare against them.
      const before = lab.read((st) => ({ lastEvent: st.events.list({ limit: 10_000 }).at(-1)?.id ?? 0, leases: st.leases.all() }));
      await lab.start({ mode: 'proxy' });
      const pcap = await bootBoth('proxy', () => bootFiles(BIOS_MAC, 'dhcp.proxy-offer').length > 0 && bootFiles(UEFI_MAC, 'dhcp.proxy-offer').length > 0 && existsSync(leases) && readFileSync(leases, 'utf8').includes(UEFI_MAC));
      expect(bootFiles(BIOS_MAC, 'dhcp.proxy-offer')[0]).toBe(`${URL}/boot.ipxe?mac=${BIOS_MAC}${IPXE_IDENTITY_QUERY}`);
      expect(eventsOf(UEFI_MAC, 'dhcp.proxy-offer')[0]?.detail).toMatchObject({ arch: 7, bootFile: 'ipxe.efi', mode: 'proxy' });
      // rackboot never handed out an address in proxy mode; dnsmasq did.
      for (const mac of [BIOS_MAC, UEFI_MAC]) {
        const ours = offersTo(pcap, mac);
        expect(ours.length).toBeGreaterThan(0);
        // (OVMF also tries UEFI HTTP boot after PXE: that offer says HTTPClient.)
        expect(ours.every((o) => o.yiaddr === '0.0.0.0' && (o.vendor === 'PXEClient' || o.vendor === 'HTTPClient'))).toBe(true);
        expect(eventsOf(mac, 'dhcp.ack').filter((e) => e.id > before.lastEvent)).toEqual([]);
      }
      expect(readFileSync(leases, 'utf8')).toContain(BIOS_MAC);
      // edk2 took the address from dnsmasq and the boot file from our proxy offer.
      expect(tftpRequests(pcap)).toContain('ipxe.efi');
      expect(lab.read((st) => st.leases.all())).toEqual(before.leases);
    } finally {
      // dnsmasq is one of lab.net's processes (killed by PID); the extra namespace is ours.
      for (const p of lab.net.procs) if (p.spawnargs.includes(site)) p.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      await run('ip', ['netns', 'del', site]).catch(() => undefined);
    }
  }, VM_WAIT + 120_000);
});
