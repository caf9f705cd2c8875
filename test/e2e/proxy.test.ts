import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab } from '../../qemu/lab-core.js';
import { LAB_ADDR } from '../../qemu/netns.js';
import { expectProvisioned, imageDigest, waitReady } from './flow.js';
import { strangerIsRefused } from './stranger.js';

/**
 * ProxyDHCP beside a site DHCP server: dnsmasq (addresses only, no PXE options, in its own
 * namespace on the same bridge) leases the address; rackboot only adds the boot information.
 * One SeaBIOS+iPXE VM goes from powered off to `ready` through the whole flow; then a second
 * host (dnsmasq's namespace) asks for its script, config and GRUB config: all refused.
 */
const POWER = (process.env.RACKBOOT_LAB_POWER ?? 'bmc') as 'bmc' | 'direct';
const MIN = 60_000;
let lab: Lab | undefined;
let passed = false;

afterAll(async () => {
  await lab?.down();
  // Disks, serial consoles and logs stay for a failed run only.
  if (passed && lab) rmSync(lab.opts.work, { recursive: true, force: true });
}, 2 * MIN);

describe('QEMU lab, ProxyDHCP beside dnsmasq', () => {
  it('provisions a VM whose address comes from the site DHCP server', async () => {
    const work = mkdtempSync(join(tmpdir(), 'rb-e2e-proxy-'));
    lab = await Lab.create({ vms: 1, firmwares: ['bios'], dhcp: 'proxy', bmc: 'ipmi', power: POWER, work });
    const image = imageDigest(lab.assetsDir);
    const vm = lab.machines[0]!;
    await lab.powerOn(vm);
    const events = (await waitReady(lab, [vm], 25 * MIN)).get(vm.name)!;
    expectProvisioned(vm.name, events, image, { mode: 'proxy', firmware: vm.firmware });
    // rackboot answered as a proxy only: no address of its own in any reply it sent.
    const dhcp = events.filter((e) => e.kind.startsWith('dhcp.'));
    expect(dhcp.length).toBeGreaterThan(0);
    for (const e of dhcp) {
      expect(e.kind).toBe('dhcp.proxy-offer');
      expect(e.detail.yiaddr ?? null).toBeNull();
    }
    // The site server leased the address the machine reported from.
    const leases = readFileSync(join(work, 'dnsmasq.leases'), 'utf8');
    expect(leases).toContain(vm.mac);
    const ip = /\d+ \S+ (\S+)/.exec(leases.split('\n').find((l) => l.includes(vm.mac)) ?? '')?.[1] ?? '';
    expect(ip.startsWith('198.18.0.')).toBe(true);
    expect(ip).not.toBe(LAB_ADDR.server);
    expect(lab.serial(vm)).toContain('rackboot-os: booted slot a from disk');
    expect((await lab.machine(vm)).state).toBe('ready');
    // The site DHCP server's host (not the VM) gets nothing of the VM's (issue #15).
    await strangerIsRefused(lab, vm, { createHost: false, vmIp: ip });
    passed = true;
  }, 30 * MIN);
});
