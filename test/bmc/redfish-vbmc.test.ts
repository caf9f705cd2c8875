import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { TestNet, waitFor } from '../helpers/netns.js';
import { type Agent, spawnAgent } from './helpers/agent-client.js';

// The QEMU Redfish vBMC (qemu/vbmc/redfish.ts) checked with an independent client (Debian's
// redfishtool) and driven by rackboot's Redfish driver, both inside a test namespace.
describe('Redfish vBMC for a QEMU VM', () => {
  let net: TestNet;
  let agent: Agent;
  let vbmcPid = 0;
  let id = 0;
  let out = '';
  const rt = async (...args: string[]) =>
    JSON.parse((await net.exec(net.srv, 'redfishtool', ['-r', '198.18.0.1:8000', '-u', 'admin', '-p', 'pw', '-S', 'Never', '-A', 'Session', ...args])).stdout || '{}');
  const qemuChildren = () => {
    try {
      return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(vbmcPid)]).toString().split('\n').filter((l) => l.includes('qemu'));
    } catch {
      return [];
    }
  };

  beforeAll(async () => {
    net = await TestNet.create('rfvbmc');
    await net.addTap('taprf0');
    const dir = mkdtempSync(join(tmpdir(), 'rb-rfvbmc-'));
    const spec = {
      vm: { name: 'rfvm', mac: '52:54:00:dd:00:01', tap: 'taprf0', firmware: 'bios', serialLog: join(dir, 'serial.log'), memoryMb: 128 },
      dir,
      address: '198.18.0.1',
      port: 8000,
      username: 'admin',
      password: 'pw',
    };
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    const p = net.spawn(net.srv, process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, '../../qemu/vbmc/main.ts'), 'redfish', join(dir, 'spec.json')], { cwd: resolve(import.meta.dirname, '../..') });
    vbmcPid = p.pid!;
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('vbmc listening', () => out.includes('listening'), 30_000);
    const dataDir = mkdtempSync(join(tmpdir(), 'rb-rfdata-'));
    const store = Store.open(dataDir);
    id = store.machines.create({ name: 'rfvm', macs: ['52:54:00:dd:00:01'] }).id;
    store.bmcs.set(id, { type: 'redfish', address: 'http://198.18.0.1:8000', username: 'admin', password: 'pw' });
    store.close();
    agent = spawnAgent(net.srv, dataDir, { timeoutMs: 5000, retries: 1, cycleDelayMs: 0 });
  });
  afterAll(async () => {
    await agent?.stop();
    // The vBMC's QEMU is its child: killing the vBMC (net.destroy) would orphan it, so it goes
    // first, by PID — also when an assertion failed before the test powered it off.
    const vms = vbmcPid ? qemuChildren().map((l) => Number(l.trim().split(/\s+/)[0])) : [];
    for (const pid of vms) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await net?.destroy();
  });

  it('redfishtool reads the service and the system', async () => {
    const root = await rt('root');
    expect(root.Systems['@odata.id']).toBe('/redfish/v1/Systems');
    const sys = await rt('Systems', '-F');
    expect(sys).toMatchObject({ PowerState: 'Off', Manufacturer: 'QEMU' });
  });

  it('a boot override set by redfishtool is read by rackboot, and one set by rackboot by redfishtool', async () => {
    await rt('Systems', '-F', 'setBootOverride', 'Once', 'Pxe');
    expect((await agent.call('getBootDevice', id)).result).toEqual({ device: 'pxe', persistent: false, uefi: false });
    expect((await agent.call('setBootDevice', id, { device: 'disk', persistent: true, uefi: false })).ok).toBe(true);
    expect((await rt('Systems', '-F')).Boot).toMatchObject({ BootSourceOverrideTarget: 'Hdd', BootSourceOverrideEnabled: 'Continuous', BootSourceOverrideMode: 'Legacy' });
  });

  it('rackboot powers the VM on (disk first), cycles it, and redfishtool powers it off', async () => {
    expect(await agent.call('powerAction', id, 'on')).toMatchObject({ ok: true });
    const first = await waitFor('QEMU running', () => qemuChildren()[0], 20_000);
    expect((await rt('Systems', '-F')).PowerState).toBe('On');
    const args = execFileSync('cat', [`/proc/${first.trim().split(/\s+/)[0]}/cmdline`]).toString().split('\0');
    expect(args.find((a) => a.startsWith('virtio-net-pci'))).toContain('bootindex=2');
    expect(await agent.call('powerAction', id, 'cycle')).toMatchObject({ ok: true });
    const second = await waitFor('new QEMU', () => qemuChildren().find((l) => l !== first), 20_000);
    expect(second).not.toBe(first);
    expect(await agent.call('powerAction', id, 'reset')).toMatchObject({ ok: true });
    await rt('Systems', '-F', 'reset', 'ForceOff');
    expect((await agent.call('getStatus', id)).result).toMatchObject({ state: 'off' });
    await waitFor('QEMU gone', () => qemuChildren().length === 0, 10_000);
  });

  it('rackboot logs out of its session on close', async () => {
    expect((await agent.call('close')).ok).toBe(true);
    const sessions = await rt('SessionService', 'Sessions');
    // Only redfishtool's own (current) session is left.
    expect(sessions['Members@odata.count'] ?? sessions.Members?.length ?? 0).toBeLessThanOrEqual(1);
  });
});
