import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab } from '../../qemu/lab-core.js';
import { LAB_PROFILE } from '../../qemu/inventory.js';
import { ROOT } from '../../qemu/rackboot.js';
import { expectProvisioned, imageDigest, kinds, waitEvent, waitReady } from './flow.js';
import { strangerIsRefused } from './stranger.js';

const run = promisify(execFile);

/**
 * The whole appliance end to end, in full-DHCP mode: a SeaBIOS+iPXE VM and an OVMF VM are
 * powered on through their virtual BMCs and go PXE → iPXE → test OS → verified config →
 * image install → reboot → local disk → installed OS phones home `ready`. Then `rackboot
 * provision` re-installs the BIOS VM with a new profile version while rackboot is SIGKILLed
 * mid-install and restarted. Between the two, a second host on the bridge asks for the BIOS
 * VM's script, config and GRUB config and forges its reports: all refused. One lab, so every VM boot proves several things (TCG is slow).
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

describe('QEMU lab, full DHCP: power on → PXE → install → disk → ready; re-provision across a crash', () => {
  it('provisions a BIOS and a UEFI VM, then re-provisions one across a rackboot SIGKILL', async () => {
    const work = mkdtempSync(join(tmpdir(), 'rb-e2e-'));
    lab = await Lab.create({ vms: 2, firmwares: ['bios', 'uefi'], dhcp: 'full', bmc: 'ipmi', power: POWER, work });
    const image = imageDigest(lab.assetsDir);
    const [bios, uefi] = lab.machines as [NonNullable<Lab['machines'][0]>, NonNullable<Lab['machines'][0]>];
    for (const vm of lab.machines) await lab.powerOn(vm);

    const traces = await waitReady(lab, lab.machines, 25 * MIN);
    const first = new Map<string, { configSha: string; versionId: number }>();
    for (const vm of lab.machines) {
      const events = traces.get(vm.name)!;
      const { configSha, versionId } = expectProvisioned(vm.name, events, image, { mode: 'full', firmware: vm.firmware });
      first.set(vm.name, { configSha, versionId });
      const m = await lab.machine(vm);
      expect(m.state).toBe('ready');
      expect(m.facts.firmware).toBe(vm.firmware === 'bios' ? 'bios' : 'uefi');
      // The version rackboot served is the machine's desired version.
      const configs = await lab.api.request<{ desired: { id: number; sha256: string } }>('GET', `/api/v1/machines/${vm.name}/configs`);
      expect(configs.desired).toMatchObject({ id: versionId, sha256: configSha });
      // The installed OS ran from the disk: its own console says so.
      expect(lab.serial(vm)).toContain('rackboot-os: booted slot a from disk');
    }

    // A second host on the boot network gets nothing of the BIOS VM's (issue #15); the
    // re-provision below then shows the VM itself still boots and installs unchanged.
    await strangerIsRefused(lab, bios, { createHost: true });

    // A new profile version: same image, different config (a file the agent writes).
    const old = first.get(bios.name)!;
    const profile = await lab.api.request<{ spec: Record<string, unknown> }>('GET', `/api/v1/profiles/${LAB_PROFILE}`);
    const v2 = { name: `${LAB_PROFILE}-v2`, spec: { ...profile.spec, testos: { files: [{ path: '/etc/motd', contents: 'v2\n' }] } } };
    await lab.api.request('POST', '/api/v1/profiles', v2);
    const mark = Math.max(...(await lab.events(bios)).map((e) => e.id));

    // `rackboot provision` through the real CLI, inside the lab namespace.
    const env = { ...process.env, RACKBOOT_URL: lab.api.baseUrl, RACKBOOT_DATADIR: join(work, 'data') };
    const cli = await run('ip', ['netns', 'exec', lab.net.lab, process.execPath, '--import', 'tsx', join(ROOT, 'src/cli.ts'), 'provision', bios.name, '--profile', v2.name], { env, cwd: ROOT, timeout: 2 * MIN });
    expect(cli.stdout).toContain(`${bios.name}: provisioning with profile ${v2.name}`);

    // Crash rackboot while the VM writes the image, then start it again on the same data.
    await waitEvent(lab, bios, 'report.installing', mark, 15 * MIN);
    await lab.killRackboot();
    await new Promise((r) => setTimeout(r, 3000));
    await lab.startRackboot();

    const again = (await waitReady(lab, [bios], 20 * MIN, mark)).get(bios.name)!;
    const provisioned = again.filter((e) => e.id > mark && e.kind !== 'provision.requested');
    const second = expectProvisioned(bios.name, provisioned.filter((e) => !e.kind.startsWith('bmc.')), image, { mode: 'full', firmware: 'bios' });
    expect(second.versionId).not.toBe(old.versionId);
    expect(second.configSha).not.toBe(old.configSha);
    expect(again.some((e) => e.kind === 'provision.requested'), kinds(again)).toBe(true);

    // Nothing lost or duplicated across the crash.
    const machines = await lab.api.request<{ items: { name: string; state: string }[] }>('GET', '/api/v1/machines');
    expect(machines.items.map((m) => [m.name, m.state])).toEqual([
      [bios.name, 'ready'],
      [uefi.name, 'ready'],
    ]);
    const versions = await lab.api.request<{ items: { id: number; sha256: string; profile: string }[] }>('GET', `/api/v1/machines/${bios.name}/configs`);
    expect(versions.items.map((v) => v.id)).toEqual([second.versionId, old.versionId]);
    // The old version is still served byte for byte (rollback material).
    const oldBody = await lab.api.request<unknown>('GET', `/api/v1/configs/${old.versionId}`);
    expect(JSON.stringify(oldBody)).not.toContain('/etc/motd');
    expect(versions.items.find((v) => v.id === old.versionId)?.sha256).toBe(old.configSha);
    const ids = (await lab.events(bios)).map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    passed = true;
  }, 60 * MIN);
});
