import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuArgs } from '../../qemu/vm.js';
import type { Machine } from '../../src/inventory/machines.js';
import { profileSpecSchema } from '../../src/model/profile-spec.js';
import { Store } from '../../src/inventory/store.js';
import { groupSchema } from '../../src/model/group.js';
import { TestNet, waitFor } from '../helpers/netns.js';
import { type RackbootProcess, startRackboot } from '../helpers/rackboot.js';

/**
 * Zero-touch enrollment with real firmware (issue #19): three SeaBIOS + iPXE VMs (TCG) that
 * rackboot has never heard of PXE-boot from it in full-DHCP mode with `unknownMacs: discover`.
 * - small (512 MiB) and big (1 GiB, one disk) have distinct SMBIOS UUIDs and serials: each
 *   boots the inspection image, which posts its hardware; the facts (memory) match a different
 *   group (enroll: auto), which names the machine from its serial and gives it its profile;
 *   the image reboots, and the next network boot runs the busybox test OS with that profile's
 *   config until it reports `ready`. No step in between is manual.
 * - big also has a BMC (OpenIPMI ipmi_sim behind QEMU's ipmi-bmc-extern + KCS): the inspection
 *   image reads the BMC's LAN address in-band (ipmitool lan print), and rackboot verifies the big
 *   group's BMC credentials at that address over RMCP+ before it saves the machine's BMC.
 * - relayed sits on another segment behind a real ISC dhcrelay (`-a`: option 82, circuit-id
 *   = its downstream interface) and is matched by circuit-id (a relay selector beats facts).
 * - A real LLDP sender (Debian's lldpd, in its own namespace on a veth joined to br0, which
 *   forwards LLDP's group address) stands in for the switch: small's and big's inspection
 *   reports carry its system name and port as their NIC's neighbour.
 * - Then small's QEMU is restarted with another NIC MAC and the same SMBIOS UUID: rackboot
 *   recognises the machine (with `nicSwap: auto` the MAC is attached to it, no new machine
 *   appears) and boots it with its profile again.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const ASSETS = join(ROOT, 'boot-assets/build');
const PORT = 8080;
const MIN = 60_000;
const run = promisify(execFile);

const VMS = {
  small: { mac: '52:54:00:19:0b:01', tap: 'tsm', memoryMb: 512, uuid: '19b00001-0000-4000-8000-0000000000a1', serial: 'RB19-SMALL' },
  big: { mac: '52:54:00:19:0b:02', tap: 'tbg', memoryMb: 1024, uuid: '19b00002-0000-4000-8000-0000000000a2', serial: 'RB19-BIG' },
  relayed: { mac: '52:54:00:19:0b:03', tap: 'trl', memoryMb: 512, uuid: '19b00003-0000-4000-8000-0000000000a3', serial: 'RB19-RELAY' },
} as const;
type VmName = keyof typeof VMS;
/** big's BMC: its LAN address (on rackboot's segment) and the group's credentials. */
const BMC = { address: '198.18.0.201', mac: '52:54:00:19:0e:02', port: 623, username: 'admin', password: 'rb19-bmc-pw', vmPort: 9002 };
/** The LLDP neighbour on br0: lldpd's system name, its port (interface) and management address. */
const LLDP = { systemName: 'rb19-leaf', port: 'swp19', address: '198.18.0.250' };
/** small's replacement NIC. */
const SWAPPED_MAC = '52:54:00:19:0b:11';

let net: TestNet;
let rb: RackbootProcess;
let work: string;
let relayNs: string;
let lldpNs: string;
let lldpDir: string;
let lldpd: ChildProcess | undefined;
let passed = false;
const qemus = new Map<string, ChildProcess>();

beforeAll(async () => {
  execFileSync('bash', [join(ROOT, 'boot-assets/build.sh'), '--if-missing'], { stdio: 'inherit' });
  for (const f of ['testos-vmlinuz', 'testos-initrd.img']) if (!existsSync(join(ASSETS, f))) throw new Error(`boot-assets/build/${f} missing: run boot-assets/build.sh`);
  work = mkdtempSync(join(tmpdir(), 'rb-enroll-'));
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  // Profiles and groups only: no machine is known before the VMs boot.
  const store = Store.open(dataDir);
  try {
    for (const name of ['small', 'big', 'rack7']) store.profiles.create(name, profileSpecSchema.parse({ os: 'testos', description: `enrolled ${name}` }));
    store.groups.putAll([
      groupSchema.parse({ name: 'small', selectors: ['facts.memory.gib<0.75'], profile: 'small', labels: { size: 'small' }, hostnameTemplate: 'small-{{serial}}', enroll: 'auto' }),
      groupSchema.parse({
        name: 'big',
        selectors: ['facts.memory.gib>=0.75'],
        profile: 'big',
        labels: { size: 'big' },
        hostnameTemplate: 'big-{{serial}}',
        bmc: { type: 'ipmi', port: BMC.port, username: BMC.username, password: BMC.password },
        enroll: 'auto',
      }),
      groupSchema.parse({ name: 'rack7', selectors: ['circuitId=br1'], profile: 'rack7', labels: { rack: 'r7' }, hostnameTemplate: 'r7-{{serial}}', enroll: 'auto' }),
    ]);
  } finally {
    store.close();
  }

  net = await TestNet.create('enroll');
  for (const v of [VMS.small, VMS.big]) await net.addTap(v.tap);
  relayNs = await relaySegment(net);
  await startBmc(net);
  lldpNs = await startLldpNeighbour(net);
  rb = await startRackboot(
    net,
    {
      assetsDir: ASSETS,
      http: { host: '0.0.0.0', port: PORT, publicUrl: `http://198.18.0.1:${PORT}`, consoleArgs: 'console=ttyS0,115200' },
      api: { host: '198.18.0.1', port: 8443 },
      tftp: { enabled: false },
      dhcp: {
        mode: 'full',
        interfaces: ['br0'],
        serverAddress: '198.18.0.1',
        unknownMacs: 'discover',
        // The NIC-swap case below: a new MAC with a known SMBIOS UUID is attached without an operator
        // (opt-in; the default `confirm` waits for `machines attach-mac`, tested in test/dhcp and test/http).
        nicSwap: 'auto',
        subnets: [
          { cidr: '198.18.0.0/24', poolStart: '198.18.0.100', poolEnd: '198.18.0.150', router: '198.18.0.1', leaseSeconds: 3600 },
          { cidr: '198.18.1.0/24', poolStart: '198.18.1.100', poolEnd: '198.18.1.150', router: '198.18.1.1', leaseSeconds: 3600 },
        ],
      },
    },
    dataDir,
  );
  // ISC dhcrelay: DHCP from br1 (the VM's segment) to rackboot, option 82 added (-a).
  net.spawn(relayNs, 'dhcrelay', ['-d', '-4', '-a', '-id', 'br1', '-iu', 'up0', '198.18.0.1']);
}, 5 * MIN);

afterAll(async () => {
  for (const q of qemus.values()) q.kill('SIGKILL');
  if (lldpd && lldpd.exitCode === null && lldpd.signalCode === null) {
    const gone = new Promise((r) => lldpd?.once('exit', r));
    lldpd.kill('SIGTERM'); // its monitor stops its privilege-separated child too
    await gone;
  }
  if (lldpNs) await run('ip', ['netns', 'del', lldpNs]).catch(() => undefined);
  if (lldpDir) rmSync(lldpDir, { recursive: true, force: true });
  await rb?.stop().catch(() => {});
  await net?.destroy();
  if (relayNs) await run('ip', ['netns', 'del', relayNs]).catch(() => undefined);
  // Serial consoles and rackboot's data stay for a failed run only.
  if (passed && work) rmSync(work, { recursive: true, force: true });
}, MIN);

/**
 * Another segment behind a relay: namespace <srv>-r with up0 (198.18.0.2, on br0) and bridge
 * br1 (198.18.1.1) where the relayed VM's tap lives; it forwards between them, and rackboot's
 * namespace routes 198.18.1.0/24 through it.
 */
async function relaySegment(n: TestNet): Promise<string> {
  const ns = `${n.srv.slice(0, -2)}-r`;
  const ip = (...a: string[]) => run('ip', a);
  await ip('netns', 'add', ns);
  await ip('-n', n.srv, 'link', 'add', 'vrly', 'type', 'veth', 'peer', 'name', 'up0');
  await ip('-n', n.srv, 'link', 'set', 'up0', 'netns', ns);
  await ip('-n', n.srv, 'link', 'set', 'vrly', 'master', 'br0');
  await ip('-n', n.srv, 'link', 'set', 'vrly', 'up');
  await ip('-n', ns, 'link', 'set', 'lo', 'up');
  await ip('-n', ns, 'addr', 'add', '198.18.0.2/24', 'dev', 'up0');
  await ip('-n', ns, 'link', 'set', 'up0', 'up');
  await ip('-n', ns, 'link', 'add', 'br1', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
  await ip('-n', ns, 'addr', 'add', '198.18.1.1/24', 'dev', 'br1');
  await ip('-n', ns, 'link', 'set', 'br1', 'up');
  await ip('-n', ns, 'tuntap', 'add', 'dev', VMS.relayed.tap, 'mode', 'tap');
  await ip('-n', ns, 'link', 'set', VMS.relayed.tap, 'master', 'br1');
  await ip('-n', ns, 'link', 'set', VMS.relayed.tap, 'up');
  await run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  await ip('-n', n.srv, 'route', 'add', '198.18.1.0/24', 'via', '198.18.0.2');
  return ns;
}

/**
 * big's BMC: ipmi_sim with a LAN channel at BMC.address (RMCP+) and the QEMU VM interface on
 * 127.0.0.1 (the VM's KCS device talks to it). Its LAN parameters (address, MAC) come from a
 * lan_config_program, as on a real BMC whose network settings live outside the IPMI tables.
 */
async function startBmc(n: TestNet): Promise<void> {
  const dir = join(work, 'bmc');
  mkdirSync(join(dir, 'state'), { recursive: true });
  const script = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}`);
    chmodSync(join(dir, name), 0o755);
    return join(dir, name);
  };
  const lanConfig = script(
    'lan-config.sh',
    `[ "$2" = get ] || exit 0\nshift 2\nfor p in "$@"; do case $p in\n  ip_addr) echo "ip_addr:${BMC.address}" ;;\n  ip_addr_src) echo "ip_addr_src:static" ;;\n  mac_addr) echo "mac_addr:${BMC.mac}" ;;\n  subnet_mask) echo "subnet_mask:255.255.255.0" ;;\n  default_gw_ip_addr) echo "default_gw_ip_addr:198.18.0.1" ;;\n  backup_gw_ip_addr) echo "backup_gw_ip_addr:0.0.0.0" ;;\n  *_mac_addr) echo "$p:00:00:00:00:00:00" ;;\nesac; done\n`,
  );
  const chassis = script('chassis.sh', '[ "$2" = get ] || exit 0\nshift 2\nfor p in "$@"; do case $p in power) echo "power:1" ;; boot) echo "boot:none" ;; esac; done\n');
  writeFileSync(
    join(dir, 'lan.conf'),
    [
      'name "rb19-bmc"',
      'set_working_mc 0x20',
      '  startlan 1',
      `    addr ${BMC.address} ${BMC.port}`,
      '    priv_limit admin',
      '    allowed_auths_callback none md5',
      '    allowed_auths_user none md5',
      '    allowed_auths_operator none md5',
      '    allowed_auths_admin none md5',
      '    guid a123456789abcdefa123456789abcd19',
      `    lan_config_program "${lanConfig} eth0"`,
      '  endlan',
      `  serial 15 127.0.0.1 ${BMC.vmPort} codec VM`,
      `  chassis_control "${chassis} x"`,
      `  user 2 true "${BMC.username}" "${BMC.password}" admin 10 none md5`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'sim.emu'), 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n');
  await run('ip', ['-n', n.srv, 'addr', 'add', `${BMC.address}/24`, 'dev', 'br0']);
  n.spawn(n.srv, 'ipmi_sim', ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'sim.emu'), '-s', join(dir, 'state'), '-n']);
  await waitFor('ipmi_sim listening', async () => (await n.exec(n.srv, 'ss', ['-ulnt'])).stdout.includes(`127.0.0.1:${BMC.vmPort}`), 20_000);
}

/**
 * The switch's LLDP: lldpd (foreground, its own socket and configuration, sending every second)
 * in namespace <srv>-l on port LLDP.port, a veth whose peer joins br0. A Linux bridge does not
 * forward 01:80:c2:00:00:0e unless group_fwd_mask has bit 14, which is what lets the taps hear it.
 */
async function startLldpNeighbour(n: TestNet): Promise<string> {
  const ns = `${n.srv.slice(0, -2)}-l`;
  const ip = (...a: string[]) => run('ip', a);
  await ip('netns', 'add', ns);
  await ip('-n', n.srv, 'link', 'add', 'vlldp', 'type', 'veth', 'peer', 'name', LLDP.port, 'netns', ns);
  await ip('-n', n.srv, 'link', 'set', 'vlldp', 'master', 'br0');
  await ip('-n', n.srv, 'link', 'set', 'vlldp', 'up');
  await ip('-n', n.srv, 'link', 'set', 'br0', 'type', 'bridge', 'group_fwd_mask', '0x4000');
  await ip('-n', ns, 'addr', 'add', `${LLDP.address}/24`, 'dev', LLDP.port);
  await ip('-n', ns, 'link', 'set', LLDP.port, 'up');
  // lldpd runs lldpcli with this configuration as its unprivileged user: a directory it can reach.
  lldpDir = mkdtempSync(join(tmpdir(), 'rb-enroll-lldp-'));
  chmodSync(lldpDir, 0o755);
  writeFileSync(join(lldpDir, 'lldpd.conf'), `configure system hostname ${LLDP.systemName}\nconfigure lldp tx-interval 1\nconfigure lldp portidsubtype ifname\n`);
  const sock = join(lldpDir, 'lldpd.sock');
  lldpd = spawn('ip', ['netns', 'exec', ns, 'lldpd', '-d', '-u', sock, '-O', join(lldpDir, 'lldpd.conf'), '-I', LLDP.port, '-m', LLDP.address], { stdio: 'ignore' });
  await waitFor('lldpd control socket', () => existsSync(sock), 20_000);
  return ns;
}

function startVm(name: VmName, mac: string = VMS[name].mac, tag: string = name): void {
  const v = VMS[name];
  const disk = name === 'big' ? join(work, 'big.raw') : undefined;
  if (disk && !existsSync(disk)) execFileSync('truncate', ['-s', '64M', disk]);
  const args = [
    ...qemuArgs({ name: tag, mac, tap: v.tap, firmware: 'bios', memoryMb: v.memoryMb, serialLog: join(work, `${tag}.log`), ...(disk ? { disk } : {}) }),
    '-smbios', `type=1,manufacturer=rackboot-lab,product=enroll-vm,uuid=${v.uuid},serial=${v.serial}`,
    // big's BMC: a KCS interface backed by ipmi_sim (QEMU's external BMC protocol).
    ...(name === 'big' ? ['-chardev', `socket,id=ipmi0,host=127.0.0.1,port=${BMC.vmPort},reconnect=5`, '-device', 'ipmi-bmc-extern,id=bmc0,chardev=ipmi0', '-device', 'isa-ipmi-kcs,bmc=bmc0'] : []),
  ];
  qemus.set(tag, net.spawn(name === 'relayed' ? relayNs : net.srv, 'qemu-system-x86_64', args));
}

async function stopVm(tag: string): Promise<void> {
  const q = qemus.get(tag);
  qemus.delete(tag);
  if (!q || q.exitCode !== null || q.signalCode !== null) return;
  const gone = new Promise((r) => q.once('exit', r));
  q.kill('SIGKILL');
  await gone;
}

/** Reads the inventory the running rackboot writes (WAL: readers do not block it). */
function read<T>(fn: (s: Store) => T): T {
  const s = rb.openStore();
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

const byUuid = (name: VmName): Machine | undefined => read((s) => s.machines.findByIdentity({ uuid: VMS[name].uuid })?.machine);
const kindsOf = (id: number, afterId = 0) => read((s) => s.events.list({ machineId: id, afterId, limit: 10_000 }).map((e) => e.kind));
const serialOf = (tag: string) => (existsSync(join(work, `${tag}.log`)) ? readFileSync(join(work, `${tag}.log`), 'utf8') : '');

/** Waits until the VM's machine (by SMBIOS UUID) reports ready after event `afterId`. */
async function waitReady(name: VmName, tag: string, afterId = 0, timeoutMs = 12 * MIN): Promise<Machine> {
  return waitFor(
    `${tag} ready (serial tail: ${serialOf(tag).slice(-600)})`,
    () => {
      const m = byUuid(name);
      return m && m.state === 'ready' && kindsOf(m.id, afterId).includes('report.ready') ? m : undefined;
    },
    timeoutMs,
    3000,
  );
}

describe('zero-touch enrollment: inspection boot, groups by facts and by relay circuit-id, identity by SMBIOS UUID', () => {
  it('enrolls three unknown VMs without a manual step, then recognises one after a NIC swap', async () => {
    for (const name of Object.keys(VMS) as VmName[]) startVm(name);
    const [small, big, relayed] = await Promise.all([waitReady('small', 'small'), waitReady('big', 'big'), waitReady('relayed', 'relayed')]);

    // small and big: inspected, matched by memory, named from their serials, booted with their profile.
    for (const [m, group, vm] of [[small, 'small', VMS.small], [big, 'big', VMS.big]] as const) {
      expect(m).toMatchObject({ name: `${group}-${vm.serial.toLowerCase()}`, profile: group, labels: { size: group }, uuid: vm.uuid, serial: vm.serial, macs: [vm.mac] });
      const kinds = kindsOf(m.id);
      expect(kinds.indexOf('inspect.report')).toBeGreaterThan(-1);
      expect(kinds.indexOf('machine.enrolled')).toBeGreaterThan(kinds.indexOf('inspect.report'));
      expect(kinds.lastIndexOf('report.ready')).toBeGreaterThan(kinds.indexOf('machine.enrolled'));
      const inspections = read((s) => s.inspections.list(m.id));
      expect(inspections).toHaveLength(1);
      const facts = inspections[0]!.facts as { memory: { gib: number }; disks: { count: number }; uuid: string; serial: string; firmware: { mode: string }; nics: { items: Array<{ mac: string; driver: string; lldp?: unknown }> } };
      expect(facts).toMatchObject({ uuid: vm.uuid, serial: vm.serial, firmware: { mode: 'bios' } });
      expect(facts.nics.items).toContainEqual(expect.objectContaining({ mac: vm.mac, driver: 'virtio_net' }));
      // The neighbour lldpd announces on br0, heard by the inspection image (rackboot-lldp).
      expect(facts.nics.items).toContainEqual(
        expect.objectContaining({ mac: vm.mac, lldp: expect.objectContaining({ systemName: LLDP.systemName, portId: LLDP.port, managementAddress: LLDP.address }) }),
      );
      expect(facts.memory.gib).toBeCloseTo(vm.memoryMb / 1024, 1);
      expect(facts.disks.count).toBe(group === 'big' ? 1 : 0);
      expect(serialOf(group)).toContain('rackboot-agent: inspection reported');
    }
    // big's BMC: read in-band by the image, verified over RMCP+ with the group's credentials, saved.
    expect(read((s) => s.inspections.latest(big.id)?.facts.bmc)).toEqual({ address: BMC.address, mac: BMC.mac, channel: 1 });
    expect(read((s) => s.bmcs.get(big.id))).toMatchObject({ type: 'ipmi', address: BMC.address, port: BMC.port, username: BMC.username });
    // Verified with Get Device ID over the RMCP+ session: ipmi_sim's identity is in the trace.
    expect(read((s) => s.events.list({ machineId: big.id, kind: 'bmc.discovery' }).map((e) => e.detail))).toEqual([
      { result: 'saved', address: BMC.address, type: 'ipmi', username: BMC.username, device: expect.objectContaining({ ipmiVersion: '2.0', firmware: expect.any(String), manufacturerId: expect.any(Number) }) },
    ]);
    expect(read((s) => s.bmcs.find(small.id))).toBeUndefined();
    // The relayed VM: the relay's circuit-id (its downstream interface, br1) picked the group.
    expect(relayed).toMatchObject({ profile: 'rack7', labels: { rack: 'r7' }, macs: [VMS.relayed.mac] });
    expect(read((s) => s.events.list({ mac: VMS.relayed.mac, kind: 'dhcp.ack', limit: 100 })).map((e) => e.detail.yiaddr)).toContainEqual(expect.stringMatching(/^198\.18\.1\./));
    // Only the three VMs became machines.
    expect(read((s) => s.machines.list().map((m) => m.name)).sort()).toEqual([big.name, relayed.name, small.name].sort());

    // NIC swap: the same SMBIOS UUID with another MAC is the same machine, booted with its profile.
    await stopVm('small');
    const mark = read((s) => Math.max(0, ...s.events.list({ limit: 100_000 }).map((e) => e.id)));
    startVm('small', SWAPPED_MAC, 'small-swapped');
    const again = await waitReady('small', 'small-swapped', mark, 8 * MIN);
    expect(again.id).toBe(small.id);
    expect(again.macs).toEqual(expect.arrayContaining([VMS.small.mac, SWAPPED_MAC]));
    expect(again).toMatchObject({ name: small.name, profile: 'small' });
    expect(kindsOf(again.id, mark)).not.toContain('inspect.report');
    expect(read((s) => s.machines.list()).length).toBe(3);
    passed = true;
  }, 25 * MIN);
});
