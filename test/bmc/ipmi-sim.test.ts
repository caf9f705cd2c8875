import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killVbmcVm, prepareIpmiVbmc, vbmcOps, vbmcVmPid } from '../../qemu/vbmc/ipmisim.js';
import { Store } from '../../src/inventory/store.js';
import { TestNet, waitFor } from '../helpers/netns.js';
import { type Agent, spawnAgent } from './helpers/agent-client.js';

// Acceptance against OpenIPMI's ipmi_sim (real RMCP+ server, suite 3 only) driving a real QEMU VM.
describe('IPMI lanplus against ipmi_sim + QEMU', () => {
  let net: TestNet;
  let dir: string;
  let agent: Agent;
  let ids: { vm: number; wrong: number; dead: number };
  let dataDir: string;
  const settings = { timeoutMs: 4000, retries: 1 };

  beforeAll(async () => {
    net = await TestNet.create('bmc');
    await net.addTap('tapvm0');
    dir = mkdtempSync(join(tmpdir(), 'rb-vbmc-'));
    const plan = prepareIpmiVbmc({
      vm: { name: 'vm1', mac: '52:54:00:aa:00:01', tap: 'tapvm0', firmware: 'bios', serialLog: join(dir, 'serial.log'), memoryMb: 128 },
      dir,
      address: '198.18.0.1',
      port: 623,
      username: 'admin',
      password: 'sekrit',
    });
    net.spawn(net.srv, plan.command, plan.args);
    await waitFor('ipmi_sim listening', async () => (await net.exec(net.srv, 'ss', ['-uln'])).stdout.includes('198.18.0.1:623'), 20_000);
    dataDir = mkdtempSync(join(tmpdir(), 'rb-bmcdata-'));
    const store = Store.open(dataDir);
    const add = (name: string, mac: string, bmc: { address: string; password: string }) => {
      const m = store.machines.create({ name, macs: [mac] });
      store.bmcs.set(m.id, { type: 'ipmi', address: bmc.address, port: 623, username: 'admin', password: bmc.password });
      return m.id;
    };
    ids = {
      vm: add('vm1', '52:54:00:aa:00:01', { address: '198.18.0.1', password: 'sekrit' }),
      wrong: add('wrong', '52:54:00:aa:00:02', { address: '198.18.0.1', password: 'not-the-password' }),
      // Nobody answers there: ARP fails inside the namespace, nothing leaves it.
      dead: add('dead', '52:54:00:aa:00:03', { address: '198.18.0.77', password: 'x' }),
    };
    store.close();
    agent = spawnAgent(net.srv, dataDir, settings);
  });

  afterAll(async () => {
    await agent?.stop();
    if (dir) killVbmcVm(dir);
    await net?.destroy();
  });

  it('reads status, powers on (QEMU starts), cycles (new QEMU), soft-offs, powers off (QEMU gone)', async () => {
    const st = await agent.call('getStatus', ids.vm);
    expect(st.error).toBeUndefined();
    expect(st.result).toMatchObject({ state: 'off' });
    expect(vbmcVmPid(dir)).toBeUndefined();

    expect((await agent.call('powerAction', ids.vm, 'on')).ok).toBe(true);
    const pid1 = await waitFor('QEMU started', () => vbmcVmPid(dir), 20_000);
    expect((await agent.call('getStatus', ids.vm)).result).toMatchObject({ state: 'on' });

    expect(await agent.call('powerAction', ids.vm, 'cycle')).toMatchObject({ ok: true });
    // ipmi_sim powers off, then on again after its 1 s power-on timer: a new QEMU process.
    const pid2 = await waitFor('QEMU restarted', () => {
      const p = vbmcVmPid(dir);
      return p && p !== pid1 ? p : undefined;
    }, 30_000);
    expect(pid2).not.toBe(pid1);

    expect(await agent.call('powerAction', ids.vm, 'reset')).toMatchObject({ ok: true });
    expect(await agent.call('powerAction', ids.vm, 'soft-off')).toMatchObject({ ok: true });
    await waitFor('ACPI shutdown delivered', () => vbmcOps(dir).includes('shutdown (ACPI)'), 10_000);
    expect(vbmcOps(dir)).toContain('reset');

    expect(await agent.call('powerAction', ids.vm, 'off')).toMatchObject({ ok: true });
    await waitFor('QEMU gone', () => vbmcVmPid(dir) === undefined, 15_000);
    expect((await agent.call('getStatus', ids.vm)).result).toMatchObject({ state: 'off' });
    // One session was opened and reused for all of the above.
    expect((await agent.call('opened', ids.vm)).result).toBe(1);
  });

  it('sets boot devices and reads them back; the VM honours PXE vs disk', async () => {
    const set = await agent.call('setBootDevice', ids.vm, { device: 'pxe', persistent: false, uefi: false });
    expect(set.error).toBeUndefined();
    expect((await agent.call('getBootDevice', ids.vm)).result).toMatchObject({ device: 'pxe' });
    expect((await agent.call('setBootDevice', ids.vm, { device: 'pxe', persistent: true, uefi: true })).ok).toBe(true);
    // ipmi_sim hands only the device selector to chassis_control and answers flag byte 1 as 0,
    // so persistent/EFI cannot be read back from it (they are verified against the suite-17
    // responder in ipmi-suite17.test.ts); the device is.
    expect((await agent.call('getBootDevice', ids.vm)).result).toMatchObject({ device: 'pxe' });
    expect((await agent.call('setBootDevice', ids.vm, { device: 'disk', persistent: true, uefi: false })).ok).toBe(true);
    expect((await agent.call('getBootDevice', ids.vm)).result).toMatchObject({ device: 'disk' });
    expect((await agent.call('powerAction', ids.vm, 'on')).ok).toBe(true);
    await waitFor('QEMU started', () => vbmcVmPid(dir), 20_000);
    const cmdline = spawnSync('cat', [`/proc/${vbmcVmPid(dir)}/cmdline`]).stdout.toString().split('\0');
    // Disk first: qemu/vm.ts orders boot devices with bootindex (the NIC goes second).
    expect(cmdline.find((a) => a.startsWith('virtio-net-pci')), vbmcOps(dir)).toContain('bootindex=2');
    expect(vbmcOps(dir)).toContain('on boot=default');
    expect((await agent.call('powerAction', ids.vm, 'off')).ok).toBe(true);
  });

  it('fails fast with BMC_AUTH_FAILED on a wrong password, without a retry storm', async () => {
    const r = await agent.call('getStatus', ids.wrong);
    expect(r.error?.code).toBe('BMC_AUTH_FAILED');
    // auth caps, open session 17 (refused), open session 3, RAKP 1, RAKP 3 (reject): no retransmits.
    expect(r.sent).toBeLessThanOrEqual(6);
    expect(r.ms).toBeLessThan(settings.timeoutMs);
  });

  it('times out on an unreachable BMC within the configured time', async () => {
    const r = await agent.call('getStatus', ids.dead);
    expect(['BMC_TIMEOUT', 'BMC_UNREACHABLE']).toContain(r.error?.code);
    // (retries + 1) attempts of timeoutMs each, plus scheduling slack.
    expect(r.ms).toBeLessThan(settings.timeoutMs * (settings.retries + 1) + 1500);
    expect(r.sent).toBeLessThanOrEqual(settings.retries + 1);
  });

  it('records every operation as an event without the password', async () => {
    await agent.call('close');
    const events = Store.open(dataDir).events.list({ machineId: ids.vm });
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(['bmc.power', 'bmc.bootdev']));
    expect(JSON.stringify(events)).not.toContain('sekrit');
    const errs = Store.open(dataDir).events.list({ machineId: ids.wrong });
    expect(errs[0]).toMatchObject({ source: 'bmc', kind: 'bmc.error', detail: { code: 'BMC_AUTH_FAILED' } });
  });
});
