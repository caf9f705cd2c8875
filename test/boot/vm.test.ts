import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { qemuArgs } from '../../qemu/vm.js';
import type { Store } from '../../src/inventory/store.js';
import { sha256 } from '../assets/fixture.js';
import { type RackbootProcess, startRackboot } from '../helpers/rackboot.js';
import { TestNet, waitFor } from '../helpers/netns.js';

/**
 * Two SeaBIOS + iPXE VMs (TCG) PXE-boot the test OS from rackboot in a TestNet; dnsmasq in
 * net.srv only hands out addresses and the boot script URL (rackboot's own DHCP is tested
 * elsewhere). VM "tos": testos profile that installs a raw image (config digest verified, facts
 * reported, image written + read back, reboot). VM "fc": flatcar profile whose Ignition config
 * (Butane fixture) the real Ignition binary applies to the installed ext4 image.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const ASSETS = join(ROOT, 'boot-assets/build');
const PORT = 8080;
const API_PORT = 8443;
const VMS = {
  tos: { mac: '52:54:00:b0:07:01', tap: 'tapb1' },
  fc: { mac: '52:54:00:b0:07:02', tap: 'tapb2' },
} as const;

let net: TestNet;
let rb: RackbootProcess;
let work: string;
const image = randomBytes(3 * 1024 * 1024 + 123);
let fcImage: Buffer;

const curl = (...args: string[]) => net.exec(net.srv, 'curl', ['-sS', ...args]).then((r) => r.stdout);

/** An ext4 filesystem image standing in for a Flatcar root: /etc with passwd/group/shadow. */
function makeRootImage(dir: string): Buffer {
  const root = join(dir, 'fcroot');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'home'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nwheel:x:10:\n');
  writeFileSync(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o600 });
  writeFileSync(join(root, 'etc/gshadow'), 'root:*::\nwheel:*::\n', { mode: 0o600 });
  // Ignition's files stage relabels unless the target says SELinux is disabled (Flatcar ships this file).
  mkdirSync(join(root, 'etc/selinux'));
  writeFileSync(join(root, 'etc/selinux/config'), 'SELINUX=disabled\nSELINUXTYPE=targeted\n');
  const img = join(dir, 'fcroot.raw');
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'ROOT', '-d', root, img, '16M']);
  return readFileSync(img);
}

async function startVm(name: keyof typeof VMS): Promise<{ done: Promise<number | null>; serial: string; disk: string }> {
  const { mac, tap } = VMS[name];
  await net.addTap(tap);
  const disk = join(work, `${name}.raw`);
  execFileSync('truncate', ['-s', '32M', disk]);
  const serial = join(work, `${name}.serial.log`);
  const args = [...qemuArgs({ name, mac, tap, firmware: 'bios', disk, serialLog: serial, memoryMb: 512 }), '-no-reboot'];
  const p = net.spawn(net.srv, 'qemu-system-x86_64', args);
  const done = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  return { done, serial, disk };
}

beforeAll(async () => {
  // Cheap when up to date; rebuilds the initramfs when the agent or init changed.
  execFileSync('bash', [join(ROOT, 'boot-assets/build.sh'), '--if-missing'], { stdio: 'inherit' });
  work = mkdtempSync(join(tmpdir(), 'rb-vm-'));
  fcImage = makeRootImage(work);
  writeFileSync(join(work, 'tos-image.raw'), image);
  writeFileSync(join(work, 'fcroot.raw'), fcImage);
  net = await TestNet.create('boot');
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  rb = await startRackboot(
    net,
    {
      assetsDir: ASSETS,
      http: { host: '198.18.0.1', port: PORT, consoleArgs: 'console=tty0 console=ttyS0,115200' },
      api: { host: '198.18.0.1', port: API_PORT },
      dhcp: { enabled: false },
      // TFTP only for the second host's GRUB-config requests below (the VMs boot over HTTP).
      tftp: { host: '198.18.0.1' },
      // The disk images below are registered from the work dir (its data/ stays refused).
      assets: { importDirs: [work] },
    },
    dataDir,
  );
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const api = (method: string, path: string, body: unknown) =>
    curl('-X', method, '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json', '-d', JSON.stringify(body), '--cacert', join(dataDir, 'tls', 'ca.crt'), `https://198.18.0.1:${API_PORT}${path}`);
  // External artifacts go through the verified registration path.
  for (const [name, file, bytes] of [['tos-image.raw', 'tos-image.raw', image], ['fcroot.raw', 'fcroot.raw', fcImage]] as const) {
    const r = JSON.parse(await api('POST', '/api/v1/assets', { name, kind: 'disk', sha256: sha256(bytes), path: join(work, file) }));
    expect(r.sha256).toBe(sha256(bytes));
  }
  const fixture = parse(readFileSync(join(ROOT, 'test/fixtures/render/ignition-profile.yaml'), 'utf8'));
  const profiles = [
    { name: 'tos', spec: { os: 'testos', install: { image: 'tos-image.raw', disk: '/dev/vda' } } },
    { name: 'fc', spec: { ...fixture.spec, install: { image: 'fcroot.raw', disk: '/dev/vda' } } },
  ];
  for (const p of profiles) expect(JSON.parse(await api('POST', '/api/v1/profiles', p)).name).toBe(p.name);
  for (const [name, vm] of Object.entries(VMS)) {
    expect(JSON.parse(await api('POST', '/api/v1/machines', { name, macs: [vm.mac], profile: name })).name).toBe(name);
  }
  const hosts = Object.entries(VMS).flatMap(([name, vm]) => [`--dhcp-host=${vm.mac},set:${name}`, `--dhcp-boot=tag:${name},http://198.18.0.1:${PORT}/boot.ipxe?mac=${vm.mac}`]);
  net.spawn(net.srv, 'dnsmasq', [
    '--no-daemon', '--conf-file=/dev/null', '--port=0', '--interface=br0', '--bind-interfaces', '--user=root',
    '--dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,1h', `--dhcp-leasefile=${join(work, 'leases')}`,
    `--pid-file=${join(work, 'dnsmasq.pid')}`, '--log-dhcp', ...hosts,
  ]);
}, 180_000);

afterAll(async () => {
  await rb?.stop().catch(() => {});
  await net?.destroy();
});

describe('PXE boot of the test OS (SeaBIOS + iPXE, TCG)', () => {
  it('boots, verifies its config, phones home, installs; Ignition applies the Flatcar config', async () => {
    const [tos, fc] = [await startVm('tos'), await startVm('fc')];
    const log = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
    const exited = async (vm: typeof tos, name: string) => {
      const to = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${name} did not finish:\n${log(vm.serial).slice(-4000)}`)), 420_000));
      return Promise.race([vm.done, to]);
    };
    await Promise.all([exited(tos, 'tos'), exited(fc, 'fc')]);
    const tosLog = log(tos.serial);
    const fcLog = log(fc.serial);
    expect(tosLog, tosLog.slice(-3000)).toContain('rackboot-agent: reported installed');
    expect(fcLog, fcLog.slice(-3000)).toContain('rackboot-agent: reported installed');

    const store: Store = rb.openStore();
    try {
      // testos VM: state, facts, event trace.
      const m = store.machines.get('tos');
      expect(m.state).toBe('installed');
      expect(m.facts).toMatchObject({ cpus: 1, firmware: 'bios', macs: expect.arrayContaining([VMS.tos.mac]) });
      expect(m.facts.memoryBytes as number).toBeGreaterThan(400 * 1024 * 1024);
      expect(m.facts.disks).toEqual(expect.arrayContaining([{ name: 'vda', sizeBytes: 32 * 1024 * 1024 }]));
      const trace = store.events.list({ machineId: m.id }).map((e) => e.kind);
      const want = ['boot.script', 'asset.served', 'report.booting', 'report.configured', 'report.installing', 'report.installed'];
      let at = -1;
      for (const k of want) {
        const i = trace.indexOf(k, at + 1);
        expect(i, `${k} after index ${at} in ${trace.join(',')}`).toBeGreaterThan(at);
        at = i;
      }
      const script = store.events.list({ machineId: m.id, kind: 'boot.script' })[0];
      const configured = store.events.list({ machineId: m.id, kind: 'report.configured' })[0];
      expect(configured?.detail.configDigest).toBe(script?.detail.sha256);
      const installed = store.events.list({ machineId: m.id, kind: 'report.installed' })[0];
      expect(installed?.detail.imageDigest).toBe(sha256(image));
      const served = store.events.list({ machineId: m.id, kind: 'asset.served' }).map((e) => e.detail.name);
      // The kernel by digest: cloudos-vmlinuz is the same Debian kernel (same bytes), so either name.
      expect(served).toEqual(expect.arrayContaining([expect.stringMatching(/^(testos|cloudos)-vmlinuz$/), 'testos-initrd.img']));
      // The image is on the VM's disk, byte for byte.
      const disk = readFileSync(tos.disk);
      expect(sha256(disk.subarray(0, image.length))).toBe(sha256(image));

      // flatcar VM: installed, and Ignition's files stage wrote the file and the user.
      const f = store.machines.get('fc');
      expect(f.state).toBe('installed');
      // Ignition's SHA-512 of the bytes it parsed matched the served version (else: drifted).
      const fcInstalled = store.events.list({ machineId: f.id, kind: 'report.installed' })[0];
      expect(fcInstalled?.detail.configDigest).toMatch(/^sha512:[0-9a-f]{128}$/);
      expect(fcLog).toContain('ignition stage files');
      const debugfs = (cmd: string) => execFileSync('debugfs', ['-R', cmd, fc.disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(debugfs('cat /etc/rackboot/hello.txt')).toContain('hello from rackboot');
      expect(debugfs('cat /etc/passwd')).toMatch(/^rackops:x:1500:\d+:rackboot operator:\/home\/rackops:/m);
      expect(debugfs('ls -l /home')).toContain('rackops');
      expect(debugfs('cat /etc/systemd/system/rackboot-hello.service')).toContain('ExecStart=/usr/bin/cat /etc/rackboot/hello.txt');
    } finally {
      store.close();
    }

    // The config URL on the kernel command line was good for one fetch: a replay is refused.
    const cmdline = /Command line: (.*)/.exec(tosLog)?.[1] ?? '';
    const configUrl = /rackboot\.config=(\S+)/.exec(cmdline)?.[1] as string;
    const reportToken = /rackboot\.token=(\S+)/.exec(cmdline)?.[1] as string;
    expect(configUrl).toMatch(/^http:\/\/198\.18\.0\.1:8080\/config\//);
    await secondHostIsRefused(configUrl, reportToken);

    // The machine itself (its MAC and address, taken over by the client namespace now the VM is
    // off): a replay of its config URL is refused as used; installed, it is told to boot its disk.
    const vmIp = /^\d+ (\S+) (\S+)/m.exec(readFileSync(join(work, 'leases'), 'utf8').split('\n').find((l) => l.includes(VMS.tos.mac)) ?? '')?.[2] as string;
    expect(vmIp).toMatch(/^198\.18\.0\.\d+$/);
    for (const args of [['link', 'set', 'eth0', 'down'], ['link', 'set', 'eth0', 'address', VMS.tos.mac], ['addr', 'add', `${vmIp}/24`, 'dev', 'eth0'], ['link', 'set', 'eth0', 'up']]) {
      await net.exec(net.cli, 'ip', args);
    }
    const asVm = (...args: string[]) => net.exec(net.cli, 'curl', ['-sS', '--interface', vmIp, ...args]).then((r) => r.stdout);
    expect(JSON.parse(await asVm(configUrl)).error.details.reason).toBe('used');
    const next = await asVm(`http://198.18.0.1:${PORT}/boot.ipxe?mac=${VMS.tos.mac}`);
    expect(next).toContain('sanboot --no-describe --drive 0x80');
  }, 600_000);
});

/**
 * Issue #15: a second host on the boot network (the client namespace, its own MAC and address)
 * asks for the VM's boot script, GRUB config (HTTP and TFTP, by MAC and by IP) and config, and
 * forges reports and a failure beacon with the harvested token: all refused, each traced as
 * `security.refused` on the VM's trace with the requester's address; the VM's state is unchanged.
 */
async function secondHostIsRefused(configUrl: string, reportToken: string): Promise<void> {
  const ATTACKER = '198.18.0.66';
  await net.exec(net.cli, 'ip', ['addr', 'add', `${ATTACKER}/24`, 'dev', 'eth0']);
  const fromCli = (...args: string[]) => net.exec(net.cli, 'curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...args]).then((r) => r.stdout);
  const base = `http://198.18.0.1:${PORT}`;
  const dashed = VMS.tos.mac.replaceAll(':', '-');
  const vmIp = /^\d+ (\S+) (\S+)/m.exec(readFileSync(join(work, 'leases'), 'utf8').split('\n').find((l) => l.includes(VMS.tos.mac)) ?? '')?.[2] as string;
  const hexIp = vmIp.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join('').toUpperCase();
  expect(await fromCli(`${base}/boot.ipxe?mac=${VMS.tos.mac}`)).toBe('403');
  expect(await fromCli(configUrl)).toBe('403');
  expect(await fromCli(`${base}/grub/grub.cfg-01-${dashed}`)).toBe('403');
  expect(await fromCli(`${base}/grub/rackboot-failed/linux-pxe-01-${dashed}`)).toBe('403');
  const forged = (phase: string) =>
    fromCli('-X', 'POST', '-H', `Authorization: Bearer ${reportToken}`, '-H', 'Content-Type: application/json', '-d', JSON.stringify({ phase }), `${base}/api/v1/report`);
  expect(await forged('ready')).toBe('403');
  expect(await forged('failed')).toBe('403');
  // tftp-hpa: "File not found" for another machine's GRUB config, by MAC and by IP.
  for (const name of [`grub/grub.cfg-01-${dashed}`, `grub/grub.cfg-${hexIp}`]) {
    const out = join(work, `stolen-${name.replaceAll('/', '_')}`);
    const r = await net.exec(net.cli, 'tftp', ['-m', 'binary', '198.18.0.1', '-c', 'get', name, out]).catch((e: { stdout?: string; stderr?: string }) => e);
    expect(`${r.stdout ?? ''}${r.stderr ?? ''}`, name).toMatch(/not found/i);
  }
  const store: Store = rb.openStore();
  try {
    const m = store.machines.get('tos');
    expect(m.state).toBe('installed');
    const refused = store.events.list({ machineId: m.id, kind: 'security.refused' }).map((e) => e.detail);
    expect(refused.map((d) => d.what).sort()).toEqual(['boot-script', 'config', 'grub-beacon', 'grub-config', 'grub-config', 'grub-config', 'report', 'report']);
    for (const d of refused) expect(d.client, JSON.stringify(d)).toBe(ATTACKER);
    expect(refused.filter((d) => d.what !== 'grub-beacon').map((d) => d.reason)).toEqual(Array(7).fill('neighbour-mismatch'));
  } finally {
    store.close();
  }
}
