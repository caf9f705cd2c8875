import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabApi } from '../../qemu/api.js';
import { adminToken, labCaFile } from '../../qemu/rackboot.js';
import { killVbmcVm, prepareIpmiVbmc, vbmcOps } from '../../qemu/vbmc/ipmisim.js';
import { qemuArgs } from '../../qemu/vm.js';
import type { RolloutView } from '../../src/rollout/control.js';
import { profileSpecSchema } from '../../src/model/profile-spec.js';
import { Store } from '../../src/inventory/store.js';
import { digestOf } from '../../src/model/digest.js';
import { driftReport } from '../../src/rollout/drift.js';
import { judgeReports } from '../../src/rollout/plan.js';
import { inventoryVersions } from '../../src/rollout/versions.js';
import { TestNet, waitFor } from '../helpers/netns.js';
import { type RackbootProcess, startRackboot } from '../helpers/rackboot.js';

/**
 * Three SeaBIOS + iPXE VMs (TCG, at the same time) PXE-boot real OS images with no rackboot agent
 * in them. Two run `cloudos` (Debian kernel + systemd + Debian's real cloud-init, built by
 * boot-assets/parts/40-cloudos.sh; no rackboot agent inside). cloud1's profile installs it: the
 * test OS agent fetches the NoCloud seed (meta-data, user-data, vendor-data with the boot's token,
 * user-data checked against the digest on its command line), writes `cloudos-disk.raw`
 * (parts/42-cloudos-disk.sh: the A/B GPT layout of the rackboot OS image) to the VM's disk with the
 * seed and the report URL and token in the state block after it, and reboots; rackboot's script
 * hands the installed machine to its disk; GRUB boots cloudos, whose first stage makes the state
 * block cloud-init's NoCloud local seed; cloud-init applies the rendered user-data (hostname, the
 * profile's runcmd); the report unit rendered into it posts `ready` with the SHA-256 of the
 * user-data cloud-init received, which equals the stored version, so the machine is ready and
 * drift finds it in sync. A power cycle then boots it from its disk again (script: local disk).
 * cloud2 boots cloudos live from its initramfs (NoCloud-net seed URL on the kernel command line)
 * with schema-valid user-data whose runcmd fails: cloud-init's own result carries the error, and
 * the same unit reports `failed` with it, which is what the trace shows. ign1 boots `ignitionos` (the same Debian root with
 * Debian's Ignition in a first-boot stage before systemd, boot-assets/parts/41-ignitionos.sh):
 * Ignition fetches rackboot's Butane-rendered config, writes the file, creates the user and
 * enables the units; systemd runs the profile's unit and the rendered report unit, which reports
 * ready with the SHA-512 Ignition logged; the rollout health gate's judgement and drift accept it.
 * ign1 is powered by a virtual BMC (ipmi_sim starting its QEMU), so after that the same VM takes
 * two real rollouts through rackboot's API and runner (PXE next boot + power cycle over IPMI): to
 * `ign-v2` (new Butane), which passes the health gate on the SHA-512 the node reports and leaves
 * drift empty; then to `ign-broken` (schema-valid, one unit exits 3), where the canary's rendered
 * report says `failed` naming the unit, and the rollout pauses with the second machine untouched.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const ASSETS = join(ROOT, 'boot-assets/build');
const PORT = 8080;
const API_PORT = 8443;
const VMS = {
  cloud1: { name: 'cloud1', mac: '52:54:00:c1:00:01', tap: 'tapc1', ip: '198.18.0.101', profile: 'cloud-install' },
  cloud2: { name: 'cloud2', mac: '52:54:00:c1:00:02', tap: 'tapc2', ip: '198.18.0.102', profile: 'cloud-broken' },
  ign1: { name: 'ign1', mac: '52:54:00:c1:00:03', tap: 'tapc3', ip: '198.18.0.103', profile: 'ign' },
} as const;

/** Butane for ignitionos: a file, a user and a unit that shows both on the serial console. */
const BUTANE = `variant: fcos
version: 1.4.0
passwd:
  users:
    - name: rackops
      uid: 1500
storage:
  files:
    - path: /etc/rackboot/hello.txt
      mode: 0644
      contents:
        inline: hello from rackboot via ignition
systemd:
  units:
    - name: rackboot-hello.service
      enabled: true
      contents: |
        [Unit]
        Description=show what Ignition applied
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c 'echo "rackboot-hello: $(cat /etc/rackboot/hello.txt); $(id rackops)" > /dev/ttyS0'
        [Install]
        WantedBy=multi-user.target
`;
const VM = VMS.cloud1;
const serial = (name: string) => join(work, `${name}.serial.log`);
const log = (name: string, file = serial(name)) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
/** Starts a cloudos VM, network first (SeaBIOS → iPXE → rackboot's script); cloud1 with its disk. */
const startCloudVm = (v: (typeof VMS)['cloud1' | 'cloud2'], serialLog: string) =>
  net.spawn(net.srv, 'qemu-system-x86_64', qemuArgs({ ...v, ...(v === VMS.cloud1 ? { disk: join(work, 'cloud1.raw') } : {}), firmware: 'bios', serialLog, memoryMb: 1024 }));
/** ign1's virtual BMC (ipmi_sim in the server namespace). */
const BMC = { address: '198.18.0.1', port: 6231, username: 'admin', password: 'lifecycle-vbmc' };
/** A machine with no VM: the broken rollout's second member, which must never be touched. */
const SPARE = { name: 'ign9', mac: '52:54:00:c1:00:09' };
const butaneWith = (hello: string, extraUnits = '') => BUTANE.replace('hello from rackboot via ignition', hello) + extraUnits;
/** A schema-valid unit that fails: the rendered report must say `failed` and name it. */
const BROKEN_UNIT = `    - name: rackboot-broken.service
      enabled: true
      contents: |
        [Unit]
        Description=a unit of the broken version
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c 'echo "rackboot-broken: about to fail" > /dev/ttyS0; exit 3'
        [Install]
        WantedBy=multi-user.target
`;

let net: TestNet;
let rb: RackbootProcess;
let work: string;
let api: LabApi;
let vbmcDir: string;
/** SHA-256 of cloudos-disk.raw, the image cloud1's profile installs (from the assets manifest). */
let diskImage: string;

beforeAll(async () => {
  execFileSync('bash', [join(ROOT, 'boot-assets/build.sh'), '--if-missing'], { stdio: 'inherit' });
  for (const f of ['cloudos-vmlinuz', 'cloudos-initrd.img', 'cloudos-disk.raw', 'ignitionos-vmlinuz', 'ignitionos-initrd.img']) {
    if (!existsSync(join(ASSETS, f))) throw new Error(`boot-assets/build/${f} missing: install mmdebstrap (scripts/deps/test-lifecycle.txt) and run boot-assets/build.sh`);
  }
  const manifest = JSON.parse(readFileSync(join(ASSETS, 'manifest.json'), 'utf8')) as { artifacts: Array<{ name: string; sha256: string }> };
  diskImage = manifest.artifacts.find((a) => a.name === 'cloudos-disk.raw')!.sha256;
  work = mkdtempSync(join(tmpdir(), 'rb-cloudos-'));
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  // The inventory is written before rackboot starts (it reads the same SQLite file).
  const store = Store.open(dataDir);
  try {
    const profile = (runcmd: unknown[]) =>
      profileSpecSchema.parse({ os: 'cloudinit', kernel: 'cloudos-vmlinuz', initrd: ['cloudos-initrd.img'], cloudInit: { userData: { runcmd } } });
    // No kernel: the test OS agent boots and installs; the machine then boots cloudos from its disk.
    store.profiles.create(
      'cloud-install',
      profileSpecSchema.parse({ os: 'cloudinit', install: { image: 'cloudos-disk.raw', disk: '/dev/vda' }, cloudInit: { userData: { runcmd: [['sh', '-c', 'echo rackboot-runcmd-ran on $(hostname) > /dev/ttyS0']] } } }),
    );
    // Schema-valid user-data whose command fails: cloud-init records the failure in its result.
    store.profiles.create('cloud-broken', profile(['echo about to fail > /dev/ttyS0', 'exit 3']));
    const ign = (butane: string) => profileSpecSchema.parse({ os: 'fcos', kernel: 'ignitionos-vmlinuz', initrd: ['ignitionos-initrd.img'], butane });
    store.profiles.create('ign', ign(BUTANE));
    store.profiles.create('ign-v2', ign(butaneWith('hello from version 2')));
    store.profiles.create('ign-broken', ign(butaneWith('hello from the broken version', BROKEN_UNIT)));
    for (const v of Object.values(VMS)) store.machines.create({ name: v.name, macs: [v.mac], labels: {}, profile: v.profile, state: 'registered' });
    store.bmcs.set(store.machines.get('ign1').id, { type: 'ipmi', ...BMC });
    store.machines.create({ name: SPARE.name, macs: [SPARE.mac], labels: {}, profile: 'ign', state: 'ready' });
  } finally {
    store.close();
  }
  net = await TestNet.create('cloud');
  rb = await startRackboot(
    net,
    {
      assetsDir: ASSETS,
      http: { host: '198.18.0.1', port: PORT, consoleArgs: 'console=ttyS0,115200' },
      api: { host: '198.18.0.1', port: API_PORT, tls: { names: ['198.18.0.1'] } },
      rollout: { tickMs: 1000 },
      dhcp: { enabled: false },
      tftp: { enabled: false },
    },
    dataDir,
  );
  net.spawn(net.srv, 'dnsmasq', [
    '--no-daemon', '--conf-file=/dev/null', '--port=0', '--interface=br0', '--bind-interfaces', '--user=root',
    '--dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,1h', `--dhcp-leasefile=${join(work, 'leases')}`,
    `--pid-file=${join(work, 'dnsmasq.pid')}`,
    ...Object.values(VMS).flatMap((v) => [`--dhcp-host=${v.mac},${v.ip},set:${v.name}`, `--dhcp-boot=tag:${v.name},http://198.18.0.1:${PORT}/boot.ipxe?mac=${v.mac}`]),
  ]);
  api = new LabApi(net.srv, `https://198.18.0.1:${API_PORT}`, adminToken(dataDir), labCaFile(dataDir));
  // ign1's power: ipmi_sim starts its QEMU on power-on (network first after `bootdev pxe`).
  vbmcDir = join(work, 'ign1.vbmc');
  await net.addTap(VMS.ign1.tap);
  const plan = prepareIpmiVbmc({ vm: { ...VMS.ign1, firmware: 'bios', serialLog: join(work, 'ign1.serial.log'), memoryMb: 1024 }, dir: vbmcDir, ...BMC });
  net.spawn(net.srv, plan.command, plan.args);
  await waitFor('ipmi_sim listening', async () => (await net.exec(net.srv, 'ss', ['-uln'])).stdout.includes(`${BMC.address}:${BMC.port}`), 20_000);
}, 600_000);

afterAll(async () => {
  if (vbmcDir) killVbmcVm(vbmcDir);
  await rb?.stop().catch(() => {});
  await net?.destroy();
});

describe('cloudos: Debian + systemd + real cloud-init, no rackboot agent', () => {
  it('the image is systemd as /init with Debian cloud-init (NoCloud only) and nothing of rackboot', () => {
    const list = execFileSync('sh', ['-c', `zstd -dc ${join(ASSETS, 'cloudos-initrd.img')} | cpio -t --quiet`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n');
    expect(list).toEqual(expect.arrayContaining(['init', 'usr/bin/cloud-init', 'etc/cloud/cloud.cfg.d/90-rackboot.cfg']));
    const ign = execFileSync('sh', ['-c', `zstd -dc ${join(ASSETS, 'ignitionos-initrd.img')} | cpio -t --quiet`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n');
    expect(ign).toEqual(expect.arrayContaining(['init', 'usr/bin/ignition', 'etc/cloud/cloud-init.disabled']));
    expect(ign.filter((f) => /rackboot-agent|rackboot\/report/.test(f))).toEqual([]);
    expect(list.filter((f) => /rackboot-agent|rackboot\/report/.test(f))).toEqual([]);
  });

  it('PXE → installer writes cloudos to the disk with the NoCloud seed → boots it from disk → cloud-init → rendered report: ready and in sync; live, a failing runcmd → failed with cloud-init\'s own error', async () => {
    const vms = [];
    execFileSync('truncate', ['-s', '256M', join(work, 'cloud1.raw')]);
    for (const v of [VMS.cloud1, VMS.cloud2]) {
      await net.addTap(v.tap);
      vms.push(startCloudVm(v, serial(v.name)));
    }
    await api.request('POST', '/api/v1/machines/ign1/power', { action: 'on' });
    try {
      const states = () => {
        const s = rb.openStore();
        try {
          return Object.values(VMS).map((v) => s.machines.get(v.name).state);
        } finally {
          s.close();
        }
      };
      await waitFor('every VM ready or failed', () => states().every((st) => st === 'ready' || st === 'failed') || undefined, 840_000, 3000).catch((e) => {
        throw new Error(`${(e as Error).message}: ${states().join(', ')}\n--- cloud1 ---\n${log('cloud1').slice(-4000)}\n--- cloud2 ---\n${log('cloud2').slice(-3000)}`);
      });
      const store = rb.openStore();
      try {
        const m = store.machines.get(VM.name);
        expect(m.state, log(VM.name).slice(-4000)).toBe('ready');
        const events = store.events.list({ machineId: m.id, limit: 10_000 });
        // The installer fetched the NoCloud seed from rackboot with the boot's token.
        const served = events.filter((e) => e.kind === 'config.served').map((e) => e.detail.file);
        expect(served).toEqual(expect.arrayContaining(['meta-data', 'user-data', 'vendor-data']));
        // Network script → installed → the next script hands the machine to its disk → ready from there.
        const path = events.filter((e) => e.kind === 'report.installed' || e.kind === 'report.ready' || e.kind === 'boot.script').map((e) => (e.kind === 'boot.script' ? `script:${e.detail.mode}` : e.kind));
        expect(path).toEqual(['script:network', 'report.installed', 'script:disk', 'report.ready']);
        const ready = events.filter((e) => e.kind === 'report.ready');
        // The digest the node measured is the stored version's: the bytes cloud-init received from its disk.
        const version = store.configs.desired(m.id)!;
        const body = store.configs.getVersion(version.id).body;
        expect(ready[0]!.detail.configDigest).toBe(digestOf('sha256', body).hex);
        expect(ready[0]!.detail.message).toBe('cloud-init finished');
        expect(ready[0]!.detail.imageDigest).toBe(diskImage);
        expect(m.facts).toMatchObject({
          bootedImage: { os: expect.stringContaining('Debian'), kernel: expect.stringMatching(/amd64$/), served: { install: `sha256:${diskImage}` } },
          cloudInit: { datasource: expect.stringContaining('seed=/var/lib/cloud/seed/nocloud'), errors: [] },
        });
        // Drift: nothing to report for it.
        const drift = driftReport(store, inventoryVersions(store, () => undefined), { staleAfterMs: 3600_000 });
        expect(drift.filter((d) => d.machine === VM.name)).toEqual([]);

        // The broken profile: cloud-init's own error (runcmd exit 3) is the failure in the trace.
        const b = store.machines.get('cloud2');
        expect(b.state, log('cloud2').slice(-4000)).toBe('failed');
        const failed = store.events.list({ machineId: b.id, kind: 'report.failed' });
        expect(failed).toHaveLength(1);
        expect(failed[0]!.detail.message).toMatch(/^cloud-init: .*scripts-user.*Runparts: 1 failures \(runcmd\)/);
        expect(b.facts).toMatchObject({ cloudInit: { errors: [expect.stringContaining('scripts-user')] } });

        // ignitionos: Debian's Ignition applied rackboot's Butane before systemd; the rendered unit
        // reported ready with the SHA-512 Ignition logged, which is the stored version's.
        const g = store.machines.get('ign1');
        expect(g.state, log('ign1').slice(-4000)).toBe('ready');
        const gReady = store.events.list({ machineId: g.id, kind: 'report.ready' });
        const gBody = store.configs.getVersion(store.configs.desired(g.id)!.id).body;
        expect(gReady[0]?.detail.configDigest).toBe(`sha512:${digestOf('sha512', gBody).hex}`);
        // The rollout health gate and drift take that SHA-512 as the served config.
        const versions = inventoryVersions(store, () => undefined);
        expect(judgeReports(gReady, versions.expected(g, versions.current(g)), 0, 1)).toEqual({ kind: 'healthy' });
        expect(driftReport(store, versions, { staleAfterMs: 3600_000 }).filter((d) => d.machine === 'ign1')).toEqual([]);
      } finally {
        store.close();
      }
      // cloud-init itself ran the profile's runcmd and set the hostname from rackboot's user-data,
      // in cloudos booted by GRUB from the disk the installer wrote.
      expect(log(VM.name)).toMatch(/rackboot-agent: image sha256:[0-9a-f]{64} written to \/dev\/vda/);
      expect(log(VM.name)).toContain('cloudos: booted slot a from disk');
      expect(log(VM.name)).toMatch(/cloudos: NoCloud seed from the state block on \/dev\/vda/);
      expect(log(VM.name)).toContain(`rackboot-runcmd-ran on ${VM.name}`);
      expect(log('cloud2')).toContain('about to fail');
      // Ignition writes its presets in no fixed order.
      const enabled = /ignitionos: ignition applied; enabled: ([^\r\n]*)/.exec(log('ign1'))?.[1] ?? '';
      expect(enabled.trim().split(/\s+/).sort(), log('ign1').slice(-4000)).toEqual(['rackboot-hello.service', 'rackboot-report.service']);
      expect(log('ign1')).toMatch(/rackboot-hello: hello from rackboot via ignition; uid=1500\(rackops\)/);
    } finally {
      for (const vm of vms) vm.kill('SIGKILL');
    }
  }, 600_000);
  it('cloud1 power cycle: rackboot\'s script says local disk and cloudos boots from its disk again, cloud-init and the rendered report with it', async () => {
    const s0 = rb.openStore();
    const mark = s0.events.lastId();
    s0.close();
    // The VM was powered off at the end of the test before; power it on again with the same disk.
    const second = join(work, 'cloud1.boot2.serial.log');
    const vm = startCloudVm(VMS.cloud1, second);
    try {
      const since = (kind: string) => {
        const st = rb.openStore();
        try {
          return st.events.list({ machineId: st.machines.get(VM.name).id, afterId: mark, kind });
        } finally {
          st.close();
        }
      };
      await waitFor('cloud1 ready again', () => since('report.ready').length > 0 || undefined, 480_000, 3000).catch((e) => {
        throw new Error(`${(e as Error).message}\n${log(VM.name, second).slice(-4000)}`);
      });
      const store = rb.openStore();
      try {
        const m = store.machines.get(VM.name);
        expect(m.state).toBe('ready');
        const events = store.events.list({ machineId: m.id, afterId: mark, limit: 10_000 });
        // One script, and it hands the machine to its disk: no config fetched, no installer.
        expect(events.filter((e) => e.kind === 'boot.script').map((e) => e.detail.mode)).toEqual(['disk']);
        expect(events.filter((e) => e.kind === 'config.served' || /^report\.(booting|installing|installed)$/.test(e.kind))).toEqual([]);
        const ready = events.filter((e) => e.kind === 'report.ready');
        const body = store.configs.getVersion(store.configs.desired(m.id)!.id).body;
        expect(ready[0]!.detail).toMatchObject({ configDigest: digestOf('sha256', body).hex, imageDigest: diskImage, message: 'cloud-init finished' });
        expect(driftReport(store, inventoryVersions(store, () => undefined), { staleAfterMs: 3600_000 }).filter((d) => d.machine === VM.name)).toEqual([]);
      } finally {
        store.close();
      }
      const console2 = log(VM.name, second);
      expect(console2).toContain('cloudos: booted slot a from disk');
      expect(console2).not.toContain('rackboot-agent');
      expect(console2).toContain(`rackboot-runcmd-ran on ${VM.name}`);
    } finally {
      vm.kill('SIGKILL');
    }
  }, 600_000);
  it('ignitionos rollouts through rackboot (IPMI power cycle): a new Butane version passes the health gate and drift is empty; a broken one pauses at the canary', async () => {
    const serial = () => (existsSync(join(work, 'ign1.serial.log')) ? readFileSync(join(work, 'ign1.serial.log'), 'utf8') : '');
    const settle = async (id: number): Promise<RolloutView> => {
      let v: RolloutView | undefined;
      await waitFor(`rollout ${id} to settle`, async () => {
        v = await api.request<RolloutView>('GET', `/api/v1/rollouts/${id}`);
        return v.settled || undefined;
      }, 480_000, 3000).catch((e) => {
        throw new Error(`${(e as Error).message}: ${JSON.stringify(v?.machines)}\n${vbmcOps(vbmcDir)}\n${serial().slice(-3000)}`);
      });
      return v!;
    };
    const mark = () => {
      const s = rb.openStore();
      try {
        return s.events.lastId();
      } finally {
        s.close();
      }
    };

    // 1. To ign-v2: PXE next boot and a power cycle over IPMI, the new config, ready with its SHA-512.
    const m2 = mark();
    const toV2 = await api.request<RolloutView>('POST', '/api/v1/rollouts', { name: 'ign-v2', machines: ['ign1'], target: { profile: 'ign-v2' }, healthTimeoutSec: 420 });
    const v2 = await settle(toV2.id);
    expect(v2.state, JSON.stringify(v2.machines)).toBe('succeeded');
    expect(vbmcOps(vbmcDir)).toMatch(/boot=pxe|pxe/);
    const store = rb.openStore();
    try {
      const g = store.machines.get('ign1');
      expect(g).toMatchObject({ state: 'ready', profile: 'ign-v2' });
      const body = store.configs.getVersion(store.configs.desired(g.id)!.id).body;
      const ready = store.events.list({ machineId: g.id, afterId: m2, kind: 'report.ready' });
      expect(ready).toHaveLength(1);
      expect(ready[0]!.detail.configDigest).toBe(`sha512:${digestOf('sha512', body).hex}`);
      // The rendered report names the kernel and initrd the boot script served.
      const script = store.events.list({ machineId: g.id, afterId: m2, kind: 'boot.script' }).at(-1)!;
      expect(g.facts).toMatchObject({ bootedImage: { served: { kernel: `sha256:${script.detail.kernel}`, initrds: (script.detail.initrds as string[]).map((h) => `sha256:${h}`) } } });
      expect(driftReport(store, inventoryVersions(store, () => undefined), { staleAfterMs: 3600_000 }).filter((d) => d.machine === 'ign1')).toEqual([]);
      expect(store.events.list({ machineId: g.id, afterId: m2, kind: 'bmc.power' }).length).toBeGreaterThan(0);
    } finally {
      store.close();
    }
    expect(serial()).toMatch(/rackboot-hello: hello from version 2; uid=1500\(rackops\)/);

    // 2. To ign-broken with ign1 as the canary: its report says failed naming the unit; the rollout pauses, ign9 untouched.
    const m3 = mark();
    const toBroken = await api.request<RolloutView>('POST', '/api/v1/rollouts', {
      name: 'ign-broken', machines: ['ign1', SPARE.name], target: { profile: 'ign-broken' }, canary: { count: 1 }, healthTimeoutSec: 420, rollbackOnFailure: false,
    });
    const broken = await settle(toBroken.id);
    expect(broken.state, JSON.stringify(broken.machines)).toBe('paused');
    const [canary, spare] = broken.machines;
    expect(canary).toMatchObject({ machine: 'ign1', canary: true });
    expect(canary!.failure).toMatch(/reported failure: units of the config failed: rackboot-broken\.service \(result exit-code, exit status 3; log: .*status=3/);
    expect(spare).toMatchObject({ machine: SPARE.name, phase: 'pending' });
    const after = rb.openStore();
    try {
      const spareId = after.machines.get(SPARE.name).id;
      // Nothing but the rollout's own bookkeeping about it: no power, no boot, no report.
      expect(after.events.list({ machineId: spareId, afterId: m3 }).filter((e) => e.source !== 'rollout')).toEqual([]);
      expect(after.machines.get('ign1').state).toBe('failed');
    } finally {
      after.close();
    }
    expect(serial()).toContain('rackboot-broken: about to fail');
  }, 1_000_000);
});
