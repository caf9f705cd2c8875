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

/**
 * Firmware fetches its loader from rackboot's TFTP: a SeaBIOS VM with QEMU's iPXE option ROM
 * (undionly.kpxe) and an OVMF VM with edk2's own PXE (NIC without option ROM: ipxe.efi).
 * dnsmasq is the DHCP server here (DHCP only, its TFTP off) so this test depends on TFTP alone;
 * it asserts the transfer events and bytes, not that an OS boots.
 */
describe('firmware PXE clients fetch their loader over TFTP', () => {
  let net: TestNet | undefined;
  let rb: RackbootProcess | undefined;
  afterAll(async () => {
    await rb?.stop();
    await net?.destroy();
  });

  it('SeaBIOS+iPXE gets undionly.kpxe and OVMF gets ipxe.efi, byte counts in the boot trace', async () => {
    net = await TestNet.create('tftpvm');
    const work = mkdtempSync(join(tmpdir(), 'rb-tftp-vm-'));
    rb = await startRackboot(net, {
      assetsDir: ASSETS,
      logLevel: 'info',
      http: { host: SERVER, port: 0 },
      dhcp: { enabled: false },
      tftp: { host: SERVER, port: 69 },
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
    for (const [name, firmware, mac] of [
      ['bios', 'bios', '52:54:00:4b:00:01'],
      ['uefi', 'uefi', '52:54:00:4b:00:02'],
    ] as const) {
      const tap = await net.addTap(`tap-${name}`);
      net.spawn(net.srv, 'qemu-system-x86_64', qemuArgs({ name, mac, tap, firmware, serialLog: join(work, `${name}.log`) }));
    }

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
  }, 600_000);
});
