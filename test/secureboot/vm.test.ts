import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuArgs } from '../../qemu/vm.js';
import type { Store } from '../../src/inventory/store.js';
import { type RackbootProcess, startRackboot } from '../helpers/rackboot.js';
import { TestNet, waitFor } from '../helpers/netns.js';

/**
 * Secure Boot end to end (QEMU TCG, OVMF with Microsoft keys and Secure Boot enforced), with
 * rackboot's own DHCP (full mode), TFTP and HTTP in a TestNet. Three VMs boot at once:
 * - sbpxe:  PXE → TFTP shimx64.efi → grubx64.efi → per-MAC grub.cfg → Debian-signed kernel;
 * - sbhttp: UEFI HTTP Boot only (PXE off in OVMF) → RAM disk with shim + GRUB → same config
 *           over TFTP → signed kernel;
 * - sbbad:  PXE, but its profile names the kernel with the signature stripped: shim's verifier
 *           refuses it and GRUB's failure beacon lands in the boot trace.
 * Both good VMs report `secureBoot: true` and power off. A fourth machine (no VM) reports
 * Secure Boot off against a profile that requires it and is marked non-compliant.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const ASSETS = join(ROOT, 'boot-assets/build');
const PORT = 8080;
const BASE = `http://198.18.0.1:${PORT}`;
const VMS = {
  sbpxe: { mac: '52:54:00:5b:01:01', tap: 'tapsb1', profile: 'sb', httpOnly: false },
  sbhttp: { mac: '52:54:00:5b:01:02', tap: 'tapsb2', profile: 'sb', httpOnly: true },
  sbbad: { mac: '52:54:00:5b:01:03', tap: 'tapsb3', profile: 'sb-unsigned', httpOnly: false },
} as const;
const NC_MAC = '52:54:00:5b:01:04';
const UNKNOWN_MAC = '52-54-00-5b-01-ff';

let net: TestNet;
let rb: RackbootProcess;
let work: string;
let token: string;

const curl = (...args: string[]) => net.exec(net.srv, 'curl', ['-sS', ...args]).then((r) => r.stdout);
const api = (method: string, path: string, body?: unknown) =>
  curl('-X', method, '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json', ...(body === undefined ? [] : ['-d', JSON.stringify(body)]), '--cacert', join(work, 'data', 'tls', 'ca.crt'), `https://198.18.0.1:8443${path}`).then(
    (s) => JSON.parse(s),
  );
/** A file from rackboot's TFTP server, fetched by tftp-hpa from the client namespace. */
const tftpGet = async (file: string) => {
  const out = join(work, `tftp-${file.replaceAll('/', '_')}`);
  await net.exec(net.cli, 'tftp', ['198.18.0.1', '-c', 'get', file, out]);
  return readFileSync(out, 'utf8');
};

async function startVm(name: keyof typeof VMS) {
  const { mac, tap, httpOnly } = VMS[name];
  await net.addTap(tap);
  const serial = join(work, `${name}.serial.log`);
  // A small blank disk: the agent's facts list block devices.
  const disk = join(work, `${name}.raw`);
  execFileSync('truncate', ['-s', '8M', disk]);
  const args = [...qemuArgs({ name, mac, tap, firmware: 'uefi-secureboot', serialLog: serial, memoryMb: 512, disk }), '-no-reboot'];
  // OVMF without PXE: its boot manager only has the HTTPv4 entry (UEFI HTTP Boot). QEMU refuses
  // a fw_cfg name given twice, so only what qemuArgs did not set already.
  const fwCfg = ['opt/org.tianocore/IPv4PXESupport', 'opt/org.tianocore/IPv6PXESupport'];
  if (httpOnly) for (const n of fwCfg) if (!args.some((a) => a.startsWith(`name=${n},`))) args.push('-fw_cfg', `name=${n},string=no`);
  const p = net.spawn(net.srv, 'qemu-system-x86_64', args);
  let stderr = '';
  p.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<number | null>((r) =>
    p.once('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`qemu ${name} exited ${code}: ${stderr}\n`);
      r(code);
    }),
  );
  return { done, serial, proc: p };
}

beforeAll(async () => {
  execFileSync('bash', [join(ROOT, 'boot-assets/build.sh'), '--if-missing'], { stdio: 'inherit' });
  work = mkdtempSync(join(tmpdir(), 'rb-sb-'));
  net = await TestNet.create('sboot');
  // The client namespace stands in for the machine without a VM ('nc'): its NIC has nc's MAC, so
  // identity binding (neighbour table) lets it fetch nc's GRUB config and report for it.
  await net.exec(net.cli, 'ip', ['link', 'set', 'eth0', 'address', NC_MAC]);
  await net.exec(net.cli, 'ip', ['addr', 'add', '198.18.0.2/24', 'dev', 'eth0']);
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  rb = await startRackboot(
    net,
    {
      assetsDir: ASSETS,
      http: { host: '198.18.0.1', port: PORT, publicUrl: BASE, consoleArgs: 'console=ttyS0,115200' },
      api: { host: '198.18.0.1', port: 8443 },
      dhcp: {
        mode: 'full',
        serverAddress: '198.18.0.1',
        interfaces: ['br0'],
        subnets: [{ cidr: '198.18.0.0/24', poolStart: '198.18.0.100', poolEnd: '198.18.0.200', router: '198.18.0.1', leaseSeconds: 600 }],
      },
    },
    dataDir,
  );
  token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const profiles = [
    { name: 'sb', spec: { chain: 'secureboot', os: 'testos', requireSecureBoot: true, cmdline: 'rackboot.after=poweroff' } },
    { name: 'sb-unsigned', spec: { chain: 'secureboot', os: 'testos', kernel: 'testos-vmlinuz-unsigned', initrd: ['testos-initrd.img'] } },
    { name: 'needs-sb', spec: { os: 'testos', requireSecureBoot: true } },
  ];
  for (const p of profiles) expect((await api('POST', '/api/v1/profiles', p)).name).toBe(p.name);
  for (const [name, vm] of Object.entries(VMS)) expect((await api('POST', '/api/v1/machines', { name, macs: [vm.mac], profile: vm.profile })).name).toBe(name);
  expect((await api('POST', '/api/v1/machines', { name: 'nc', macs: [NC_MAC], profile: 'needs-sb' })).name).toBe('nc');
}, 300_000);

afterAll(async () => {
  await rb?.stop().catch(() => {});
  await net?.destroy();
});

/** Size of a PE image's Authenticode certificate table (data directory 4; 0 = unsigned). */
function peCertSize(b: Buffer): number {
  const opt = b.readUInt32LE(0x3c) + 24;
  const dirs = opt + (b.readUInt16LE(opt) === 0x20b ? 112 : 96);
  return b.readUInt32LE(dirs + 4 * 8 + 4);
}

describe('Secure Boot network provisioning (OVMF secboot + MS keys, TCG)', () => {
  it('boot assets: shim, GRUB, HTTP Boot image in the manifest; the test kernel signed, its copy not', () => {
    const manifest = JSON.parse(readFileSync(join(ASSETS, 'manifest.json'), 'utf8')) as { artifacts: Array<{ name: string }> };
    const names = manifest.artifacts.map((a) => a.name);
    expect(names).toEqual(expect.arrayContaining(['shimx64.efi', 'grubx64.efi', 'mmx64.efi', 'fbx64.efi', 'secureboot-httpboot.img', 'testos-vmlinuz-unsigned']));
    const signed = readFileSync(join(ASSETS, 'testos-vmlinuz'));
    const unsigned = readFileSync(join(ASSETS, 'testos-vmlinuz-unsigned'));
    expect(peCertSize(signed)).toBeGreaterThan(0);
    expect(peCertSize(unsigned)).toBe(0);
    expect(unsigned.length).toBe(signed.length - peCertSize(signed));
    expect(peCertSize(readFileSync(join(ASSETS, 'shimx64.efi')))).toBeGreaterThan(0);
    expect(peCertSize(readFileSync(join(ASSETS, 'grubx64.efi')))).toBeGreaterThan(0);
  });

  it('unknown MAC gets no kernel; per-MAC configs differ; Secure Boot required but reported off → non-compliant', async () => {
    const unknown = await tftpGet(`grub/grub.cfg-01-${UNKNOWN_MAC}`);
    expect(unknown).toContain('unknown machine 52:54:00:5b:01:ff');
    expect(unknown).not.toMatch(/^\s*(if ! )?linux /m);
    expect(await tftpGet('grub/grub.cfg')).toContain('source "$prefix/grub.cfg-01-$net_default_mac"');

    // The machine without a VM: its config carries the same report token as the iPXE path would.
    const nc = await tftpGet(`grub/grub.cfg-01-${NC_MAC.replaceAll(':', '-')}`);
    const ncToken = /rackboot\.token=(\S+)/.exec(nc)?.[1];
    expect(ncToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    // The report comes from nc's own address (the client namespace), as binding requires.
    const reportArgs = ['-sS', '-X', 'POST', '-H', `Authorization: Bearer ${ncToken}`, '-H', 'Content-Type: application/json', '-d',
      JSON.stringify({ phase: 'booting', facts: { firmware: 'uefi', secureBoot: false } }), `${BASE}/api/v1/report`];
    const r = (await net.exec(net.cli, 'curl', reportArgs)).stdout;
    expect(JSON.parse(r).state).toBe('booting');
    const m = await api('GET', '/api/v1/machines/nc');
    expect(m.facts.compliance.secureBoot).toEqual({ required: true, reported: false, compliant: false });
    const ev = await api('GET', '/api/v1/machines/nc/events');
    expect(JSON.stringify(ev)).toContain('machine.noncompliant');
  }, 120_000);

  it('shim → GRUB → signed kernel over PXE/TFTP and over UEFI HTTP Boot; an unsigned kernel is refused and traced', async () => {
    const vms = { sbpxe: await startVm('sbpxe'), sbhttp: await startVm('sbhttp'), sbbad: await startVm('sbbad') };
    const log = (f: string) => (existsSync(f) ? readFileSync(f, 'latin1') : '');
    const finished = async (name: 'sbpxe' | 'sbhttp') => {
      const vm = vms[name];
      const to = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${name} did not power off:\n${log(vm.serial).slice(-4000)}`)), 540_000));
      return Promise.race([vm.done, to]);
    };
    const refused = async () => {
      const store: Store = rb.openStore();
      try {
        return await waitFor('secureboot.refused for sbbad', () => store.events.list({ mac: VMS.sbbad.mac, kind: 'secureboot.refused' })[0], 540_000, 2000);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${log(vms.sbbad.serial).slice(-4000)}`);
      }
      finally {
        store.close();
      }
    };
    const [, , bad] = await Promise.all([finished('sbpxe'), finished('sbhttp'), refused()]);
    vms.sbbad.proc.kill('SIGKILL');

    for (const name of ['sbpxe', 'sbhttp'] as const) {
      const serial = log(vms[name].serial);
      expect(serial, serial.slice(-3000)).toContain('secureboot: Secure boot enabled');
      expect(serial).toContain('rackboot-agent: reported ready');
      const m = await api('GET', `/api/v1/machines/${name}`);
      expect(m.state).toBe('ready');
      expect(m.facts).toMatchObject({ firmware: 'uefi', secureBoot: true });
      expect(m.facts.compliance.secureBoot).toEqual({ required: true, reported: true, compliant: true });
    }
    expect(log(vms.sbhttp.serial)).toContain('rackboot: UEFI HTTP Boot stub, config server 198.18.0.1');
    const badSerial = log(vms.sbbad.serial);
    expect(badSerial).toContain('bad shim signature');
    expect(badSerial).not.toContain('rackboot-agent');
    expect(bad.detail).toMatchObject({ chain: 'secureboot', firmwarePath: 'pxe', stage: 'linux', via: 'tftp' });

    const store: Store = rb.openStore();
    try {
      // The boot trace: which chain and firmware path each machine took.
      const scriptOf = (name: keyof typeof VMS) => store.events.list({ machineId: store.machines.get(name).id, kind: 'boot.script' }).at(-1)?.detail;
      expect(scriptOf('sbpxe')).toMatchObject({ chain: 'secureboot', firmwarePath: 'pxe', via: 'tftp', mode: 'network' });
      expect(scriptOf('sbhttp')).toMatchObject({ chain: 'secureboot', firmwarePath: 'uefi-http', via: 'tftp', mode: 'network' });
      expect(scriptOf('sbbad')).toMatchObject({ chain: 'secureboot', firmwarePath: 'pxe' });
      const ramdisk = store.events.list({ kind: 'boot.chain' }).map((e) => e.detail);
      expect(ramdisk).toEqual(expect.arrayContaining([expect.objectContaining({ firmwarePath: 'uefi-http', stage: 'ramdisk' })]));
      // Per-MAC configs: the two PXE machines got different kernels (signed vs stripped).
      expect(scriptOf('sbpxe')?.kernel).not.toBe(scriptOf('sbbad')?.kernel);
      expect(store.machines.get('sbbad').state).toBe('failed');
      const sbhttp = store.machines.get('sbhttp');
      const trace = store.events.list({ machineId: sbhttp.id }).map((e) => e.kind);
      expect(trace.indexOf('boot.script')).toBeLessThan(trace.lastIndexOf('report.ready'));
    } finally {
      store.close();
    }
  }, 600_000);
});
