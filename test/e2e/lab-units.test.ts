import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { labInventory, planVms } from '../../qemu/inventory.js';
import { parseLabArgs } from '../../qemu/lab.js';
import { type TraceEvent, currentPhase, milestoneOf, renderTable, runsOf } from '../../qemu/progress.js';
import { qemuArgs } from '../../qemu/vm.js';
import { inventoryFileSchema } from '../../src/http/schemas.js';
import { bootsFromDisk } from '../../src/provision/policy.js';

let id = 0;
const ev = (kind: string, detail: Record<string, unknown> = {}): TraceEvent => ({ id: ++id, at: new Date(id * 1000).toISOString(), kind, detail });
const fw = { arch: 0 };

/** One complete provisioning as the services record it (full DHCP, BIOS). */
function provisioning(): TraceEvent[] {
  return [
    ev('dhcp.offer', { ...fw, bootFile: 'undionly.kpxe' }),
    ev('dhcp.ack', { ...fw, bootFile: 'undionly.kpxe' }),
    ev('tftp.sent', { file: 'undionly.kpxe' }),
    ev('dhcp.ack', { ...fw, bootFile: 'http://198.18.0.1:8080/boot.ipxe?mac=x' }),
    ev('config.version', { versionId: 1 }),
    ev('boot.script', { mode: 'network', versionId: 1 }),
    ev('asset.served', { kind: 'kernel' }),
    ev('asset.served', { kind: 'initrd' }),
    ev('dhcp.ack', { arch: null, bootFile: null }),
    ev('report.booting'),
    ev('report.configured'),
    ev('report.installing'),
    ev('asset.served', { kind: 'disk' }),
    ev('report.installed'),
    ev('dhcp.ack', { ...fw, bootFile: null }),
    ev('dhcp.ack', { arch: null, bootFile: null }),
    ev('report.ready'),
  ];
}

describe('lab progress from the boot trace', () => {
  it('maps events to milestones; an OS DHCP client is not firmware', () => {
    expect(milestoneOf({ kind: 'dhcp.ack', detail: { arch: 7, bootFile: 'ipxe.efi' } })).toBe('dhcp');
    expect(milestoneOf({ kind: 'dhcp.ack', detail: { arch: 7, bootFile: null } })).toBe('disk');
    expect(milestoneOf({ kind: 'dhcp.ack', detail: { arch: null, bootFile: null } })).toBeNull();
    expect(milestoneOf({ kind: 'boot.script', detail: { mode: 'disk' } })).toBe('disk');
    expect(milestoneOf({ kind: 'asset.served', detail: { kind: 'disk' } })).toBeNull();
    expect(milestoneOf({ kind: 'report.failed', detail: {} })).toBe('failed');
  });

  it('orders one provisioning and starts a new run at a re-provision', () => {
    const first = provisioning();
    const runs1 = runsOf(first);
    expect(runs1).toHaveLength(1);
    expect(runs1[0]!.milestones.map((m) => m.phase)).toEqual(['dhcp', 'loader', 'script', 'kernel', 'testos', 'config', 'installing', 'installed', 'disk', 'ready']);
    expect(currentPhase(first)).toBe('ready');
    const again = [...first, ev('provision.requested'), ...provisioning().slice(0, 8)];
    const runs2 = runsOf(again);
    expect(runs2).toHaveLength(2);
    expect(runs2[1]!.milestones.map((m) => m.phase)).toEqual(['dhcp', 'loader', 'script', 'kernel']);
    expect(currentPhase(again)).toBe('kernel');
    expect(currentPhase([...again, ev('report.failed')])).toBe('failed');
    expect(currentPhase([])).toBe('off');
  });

  it('renders an aligned table', () => {
    const t = renderTable([{ name: 'vm1', firmware: 'bios', mac: '52:54:00:7a:00:01', phase: 'installing', state: 'installing', ip: '198.18.0.11', since: 0 }], 42_000);
    expect(t.split('\n')[0]).toMatch(/^VM\s+FIRMWARE\s+MAC\s+PHASE\s+STATE\s+IP\s+ELAPSED$/);
    expect(t).toContain('installing');
    expect(t).toContain('42s');
  });
});

describe('lab plan', () => {
  it('generates an inventory file rackboot accepts', () => {
    const vms = planVms({ count: 3, firmwares: ['bios', 'uefi'], mode: 'full', bmc: 'ipmi', bmcAddress: '198.18.0.1', labByte: 0xab, password: 'pw' });
    expect(vms.map((v) => [v.name, v.firmware, v.mac, v.ipv4, v.bmc.port])).toEqual([
      ['vm1', 'bios', '52:54:00:7a:ab:01', '198.18.0.11', 6231],
      ['vm2', 'uefi', '52:54:00:7a:ab:02', '198.18.0.12', 6232],
      ['vm3', 'bios', '52:54:00:7a:ab:03', '198.18.0.13', 6233],
    ]);
    const file = inventoryFileSchema.parse(parse(labInventory(vms)));
    expect(file.machines).toHaveLength(3);
    expect(file.profiles[0]?.spec.install?.image).toBe('rackboot-os.raw');
    const proxy = planVms({ count: 1, firmwares: ['uefi'], mode: 'proxy', bmc: 'ipmi', bmcAddress: '198.18.0.1', labByte: 1, password: 'pw' });
    expect(proxy[0]!.ipv4).toBeNull();
  });

  it('parses the lab command line', () => {
    const { opts, timeoutS, down } = parseLabArgs(['--vms', '3', '--firmware', 'uefi', '--dhcp', 'proxy', '--work', '/tmp/x']);
    expect(opts).toMatchObject({ vms: 3, firmwares: ['uefi'], dhcp: 'proxy', bmc: 'ipmi', power: 'bmc', work: '/tmp/x' });
    expect(timeoutS).toBe(900);
    expect(down).toBe(false);
    expect(() => parseLabArgs(['--dhcp', 'both'])).toThrow(/--dhcp/);
    expect(() => parseLabArgs(['--vms', '0'])).toThrow(/--vms/);
    expect(parseLabArgs(['--down']).down).toBe(true);
  });

  it('boots network first by bootindex, and OVMF without its IPv6 stack', () => {
    const uefi = qemuArgs({ name: 'v', mac: '52:54:00:00:00:01', tap: 't', firmware: 'uefi', disk: '/tmp/d.raw', serialLog: '/tmp/s' });
    expect(uefi.join(' ')).toContain('bootindex=1');
    expect(uefi.join(' ')).toContain('opt/org.tianocore/IPv6Support,string=no');
    const disk = qemuArgs({ name: 'v', mac: '52:54:00:00:00:01', tap: 't', firmware: 'bios', disk: '/tmp/d.raw', serialLog: '/tmp/s', boot: 'disk' });
    expect(disk.find((a) => a.startsWith('virtio-blk-pci'))).toContain('bootindex=1');
    expect(disk.find((a) => a.startsWith('virtio-net-pci'))).toContain('bootindex=2');
  });
});

describe('provisioned machines boot their disk', () => {
  it.each([
    ['registered', true, false],
    ['booting', true, false],
    ['installing', true, false],
    ['installed', true, true],
    ['ready', true, true],
    ['drifted', true, true],
    ['ready', false, false],
  ] as const)('state %s, install image %s → disk %s', (state, install, disk) => {
    expect(bootsFromDisk(state, { boot: 'network', ...(install ? { install: { disk: '/dev/vda', image: 'x' } } : {}) })).toBe(disk);
  });
  it('a boot: disk profile always boots its disk', () => {
    expect(bootsFromDisk('registered', { boot: 'disk' })).toBe(true);
  });
});
