import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BootEvent } from '../../src/inventory/events.js';
import { qemuArgs } from '../../qemu/vm.js';
import { TestNet, waitFor } from '../helpers/netns.js';
import { type RackbootProcess, startRackboot } from '../helpers/rackboot.js';

const ASSETS = resolve(import.meta.dirname, '../../boot-assets/build');
const SERVER = '198.18.0.1';
const FLOODER = '198.18.0.10';
const FLOOD = resolve(import.meta.dirname, 'helpers/rrq-flood.ts');

/**
 * Firmware fetches its loader from rackboot's TFTP: a SeaBIOS VM with QEMU's iPXE option ROM
 * (undionly.kpxe) and an OVMF VM with edk2's own PXE (NIC without option ROM: ipxe.efi).
 * dnsmasq is the DHCP server here (DHCP only, its TFTP off) so this test depends on TFTP alone;
 * it asserts the transfer events and bytes, not that an OS boots.
 *
 * Issue #15: meanwhile a host in the client namespace sends 1,000 RRQs for a big file from
 * 1,000 ports and never ACKs. maxTransfers is 200, so without the per-client cap the flood alone
 * would fill the server and the firmware's RRQs would be refused as busy; retries are raised
 * so the flood's transfers would still hold their slots when the firmware asks (minutes under
 * TCG). The cap (tftp.maxTransfersPerClient, default 4) must leave both boots unaffected.
 */
describe('firmware PXE clients fetch their loader over TFTP', () => {
  let net: TestNet | undefined;
  let rb: RackbootProcess | undefined;
  afterAll(async () => {
    await rb?.stop();
    await net?.destroy();
  });

  it('SeaBIOS+iPXE gets undionly.kpxe and OVMF gets ipxe.efi, byte counts in the boot trace, under a never-ACKed RRQ flood', async () => {
    net = await TestNet.create('tftpvm');
    const work = mkdtempSync(join(tmpdir(), 'rb-tftp-vm-'));
    rb = await startRackboot(net, {
      assetsDir: ASSETS,
      logLevel: 'info',
      http: { host: SERVER, port: 0 },
      dhcp: { enabled: false },
      tftp: { host: SERVER, port: 69, maxTransfers: 200, retries: 50 },
    });
    const dnsmasq = net.spawn(net.srv, 'dnsmasq', [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--port=0',
      '--user=root',
      '--interface=br0',
      '--bind-interfaces',
      '--dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,1h',
      // Option 93 (RFC 4578): 7 and 9 are x64 UEFI; everything else gets the BIOS loader.
      '--dhcp-match=set:efi64,option:client-arch,7',
      '--dhcp-match=set:efi64,option:client-arch,9',
      `--dhcp-boot=tag:efi64,ipxe.efi,,${SERVER}`,
      `--dhcp-boot=tag:!efi64,undionly.kpxe,,${SERVER}`,
      `--dhcp-leasefile=${join(work, 'leases')}`,
      `--pid-file=${join(work, 'dnsmasq.pid')}`,
      '--log-dhcp',
      '--log-facility=-',
    ]);
    let dnsmasqLog = '';
    dnsmasq.stderr?.on('data', (d: Buffer) => {
      dnsmasqLog += d.toString();
    });
    // The flood goes out first; the firmware asks seconds later, while its transfers are held.
    await net.exec(net.cli, 'ip', ['addr', 'add', `${FLOODER}/24`, 'dev', 'eth0']);
    const flood = net.spawn(net.cli, process.execPath, ['--import', 'tsx', FLOOD, SERVER, '69', FLOODER, '1000', 'testos-vmlinuz', '3000', '600000']);
    let floodOut = '';
    flood.stdout?.on('data', (d: Buffer) => {
      floodOut += d.toString();
    });
    for (const [name, firmware, mac] of [
      ['bios', 'bios', '52:54:00:4b:00:01'],
      ['uefi', 'uefi', '52:54:00:4b:00:02'],
    ] as const) {
      const tap = await net.addTap(`tap-${name}`);
      net.spawn(net.srv, 'qemu-system-x86_64', qemuArgs({ name, mac, tap, firmware, serialLog: join(work, `${name}.log`) }));
    }

    const summary = JSON.parse(await waitFor('flood summary', () => floodOut.split('\n')[0], 60_000)) as { sent: number; transfers: number };
    expect(summary.sent).toBe(1000);
    expect(summary.transfers).toBeGreaterThanOrEqual(1);
    expect(summary.transfers).toBeLessThanOrEqual(4);

    const store = rb.openStore();
    try {
      const sentOf = (file: string): BootEvent | undefined =>
        store.events.list({ kind: 'tftp.sent', limit: 1000 }).find((e) => e.detail.file === file);
      const context = () => `dnsmasq:\n${dnsmasqLog.slice(-3000)}\nrackboot:\n${rb!.output().slice(-3000)}`;
      for (const file of ['undionly.kpxe', 'ipxe.efi']) {
        const e = await waitFor(`a tftp.sent event for ${file}`, () => sentOf(file), 400_000, 1000).catch((err: Error) => {
          throw new Error(`${err.message}\n${context()}`);
        });
        expect(e.source).toBe('tftp');
        expect(e.detail.bytes).toBe(statSync(join(ASSETS, file)).size);
        expect(e.detail.result).toBe('sent');
        expect(String(e.detail.client)).toMatch(/^198\.18\.0\.(1[0-4][0-9]|150)$/);
      }
    } finally {
      store.close();
    }
    // The flooder never got more than its 4 slots; the firmware was never refused as busy.
    await rb.stop();
    const stopped = rb.output().split('\n').find((l) => l.includes('"tftp stopped"'));
    expect(stopped, 'tftp stats line').toBeDefined();
    const stats = JSON.parse(stopped!) as Record<string, number>;
    // Some of the burst overflows the request socket's buffer in the kernel; the rest is dropped by the cap.
    expect(stats.clientLimited).toBeGreaterThanOrEqual(500);
    expect(stats.busy).toBe(0);
  }, 600_000);
});
