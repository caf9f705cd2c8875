import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab, type LabMachine } from '../../qemu/lab-core.js';
import { LAB_ADDR } from '../../qemu/netns.js';
import { LAB_HTTP_PORT, ROOT } from '../../qemu/rackboot.js';
import type { RolloutView } from '../../src/rollout/control.js';
import type { DriftItem } from '../../src/rollout/drift.js';
import { type FleetEvent, VERSIONS, bootEvidence, eventsAfter, lastEventId, poll, reportTokenOf, rollout, serialTails, sha256, waitSettled, windows } from './fleet.js';

const run = promisify(execFile);
const MIN = 60_000;
let lab: Lab | undefined;
/** Kept for debugging (serial consoles, rackboot.log) unless the test passed. */
let passedWork: string | undefined;

afterAll(async () => {
  // Stops the vBMCs and rackboot by PID, then every process left in the lab namespace (the
  // QEMUs the vBMCs daemonized), and deletes the namespace.
  await lab?.down();
  if (passedWork) rmSync(passedWork, { recursive: true, force: true });
}, 2 * MIN);

/** Waits until every VM phoned home `ready` after `mark` with the config its profile `profile` rendered for it. */
async function waitOnVersion(l: Lab, vms: LabMachine[], profile: string, mark: number, timeoutMs: number): Promise<void> {
  const where = async () => `${JSON.stringify(await Promise.all(vms.map((vm) => l.machine(vm).then((m) => [vm.name, m.state]))))}\n${serialTails(l, vms)}`;
  await poll(where, timeoutMs, async () => {
    for (const vm of vms) {
      const m = await l.api.request<{ state: string; profile: string | null }>('GET', `/api/v1/machines/${vm.name}`);
      if (m.state === 'failed') throw new Error(`${vm.name} failed:\n${await where()}`);
      if (m.state !== 'ready' || m.profile !== profile) return undefined;
      const { desired } = await l.api.request<{ desired: { sha256: string; profile: string } | null }>('GET', `/api/v1/machines/${vm.name}/configs`);
      const ready = (await l.events(vm)).filter((e) => e.id > mark && e.kind === 'report.ready').at(-1);
      if (!ready || desired?.profile !== profile) return undefined;
      expect(ready.detail.configDigest, `${vm.name}: ready on ${profile}`).toBe(desired.sha256);
    }
    return true;
  });
}

/**
 * Issue 8 acceptance on one fleet of three SeaBIOS+iPXE VMs behind IPMI virtual BMCs. The
 * versions are test-OS profiles that boot from the network on every boot (no image install:
 * one boot ≈ a minute under TCG), so a version change is a config change the VM proves by
 * phoning home the digest of the config it verified.
 */
describe('rollouts on a QEMU fleet: A → B across a SIGKILL, broken C stops at the canary, drift', () => {
  it('moves 3 VMs one at a time, survives a crash, rolls a failed canary back, reports drift', async () => {
    const work = mkdtempSync(join(tmpdir(), 'rb-rollout-e2e-'));
    lab = await Lab.create({ vms: 3, firmwares: ['bios'], dhcp: 'full', bmc: 'ipmi', power: 'bmc', work, logLevel: 'info' });
    const l = lab;
    const vms = l.machines;
    const [vm1, vm2, vm3] = vms as [LabMachine, LabMachine, LabMachine];
    for (const v of Object.values(VERSIONS)) await l.api.request('POST', '/api/v1/profiles', v);
    const ids = new Map<string, number>();
    for (const vm of vms) {
      const m = await l.api.request<{ id: number }>('PATCH', `/api/v1/machines/${vm.name}`, { profile: VERSIONS.a.name });
      ids.set(vm.name, m.id);
    }
    const id = (vm: LabMachine) => ids.get(vm.name)!;

    // 1. The fleet on A: powered on through the BMCs, each phones home ready with A's config.
    const markA = await lastEventId(l);
    for (const vm of vms) await l.powerOn(vm);
    await waitOnVersion(l, vms, VERSIONS.a.name, markA, 12 * MIN);

    // 2. A → B, canary 1, batch 1. rackboot is SIGKILLed while vm2 boots its new version: after
    // iPXE fetched the kernel and initrd, before the test OS asks for an address. (A crash while
    // iPXE itself does DHCP strands the VM: iPXE gives up before rackboot is back, and the
    // runner only notices at the health timeout, then fails and rolls the machine back.)
    const markB = await lastEventId(l);
    const toB = await l.api.request<RolloutView>('POST', '/api/v1/rollouts', {
      name: 'to-b', selector: 'lab=qemu', target: { profile: VERSIONS.b.name }, canary: { count: 1 }, batchSize: 1, maxUnavailable: 1, healthTimeoutSec: 420,
    });
    expect(toB.machines.map((m) => [m.machine, m.batch, m.canary])).toEqual([[vm1.name, 0, true], [vm2.name, 1, false], [vm3.name, 2, false]]);
    await poll(async () => JSON.stringify((await rollout(l, toB.id)).machines), 12 * MIN, async () => {
      const ev = await eventsAfter(l, markB);
      const cycled = ev.find((e) => e.kind === 'rollout.machine.health' && e.machineId === id(vm2));
      if (!cycled) return undefined;
      const after = ev.filter((e) => e.id > cycled.id && e.mac === vm2.mac);
      if (after.some((e) => e.kind.startsWith('report.'))) throw new Error(`vm2 reported before the crash point: ${after.map((e) => e.kind).join(' ')}`);
      return after.filter((e) => e.kind === 'asset.served').length >= 2 ? true : undefined;
    }, 500);
    await l.killRackboot();
    await l.startRackboot();
    const doneB = await waitSettled(l, toB.id, 15 * MIN, vms);
    expect(doneB.state, JSON.stringify(doneB.machines)).toBe('succeeded');
    expect(doneB.machines.map((m) => [m.machine, m.phase, m.attempt])).toEqual(vms.map((vm) => [vm.name, 'done', 1]));
    await waitOnVersion(l, vms, VERSIONS.b.name, markB, 2 * MIN);

    // In order, one at a time: each machine's window (first step → done) ends before the next
    // one's starts, and every boot event of the rollout lies in its own machine's window.
    const evB = await eventsAfter(l, markB);
    const w = windows(evB, toB.id);
    expect(w.map((x) => x.machineId)).toEqual(vms.map(id));
    for (let i = 1; i < w.length; i++) expect(w[i - 1]!.end, `window ${i - 1} ends before ${i} starts`).toBeLessThan(w[i]!.start);
    const inRollout = bootEvidence(evB).filter((e) => e.id > w[0]!.start && e.id < w[2]!.end);
    for (const e of inRollout) {
      const own = w.find((x) => x.machineId === e.machineId);
      expect(own && e.id > own.start && e.id < own.end, `event ${e.id} ${e.kind} of machine ${e.machineId} outside its window`).toBe(true);
    }
    // Across the crash nothing was done twice: one network boot and one power cycle per machine.
    for (const vm of vms) {
      const mine = evB.filter((e) => e.machineId === id(vm));
      expect(mine.filter((e) => e.kind === 'boot.script').map((e) => e.detail.profile), vm.name).toEqual([VERSIONS.b.name]);
      expect(mine.filter((e) => e.kind === 'rollout.machine.health').length, vm.name).toBe(1);
    }

    // 3. A rollout to the broken C: the canary reports failure, the rollout pauses, the canary
    // goes back to B the same way and is ready on B; vm2 and vm3 are never touched.
    const markC = await lastEventId(l);
    const toC = await l.api.request<RolloutView>('POST', '/api/v1/rollouts', {
      name: 'to-c', selector: 'lab=qemu', target: { profile: VERSIONS.c.name }, canary: { count: 1 }, batchSize: 1, healthTimeoutSec: 420,
    });
    const doneC = await waitSettled(l, toC.id, 12 * MIN, vms);
    expect(doneC.state).toBe('paused');
    const [c1, c2, c3] = doneC.machines;
    expect(c1).toMatchObject({ machine: vm1.name, canary: true, phase: 'rolled-back' });
    expect(c1!.failure).toMatch(/reported failure/);
    expect((c1!.trace ?? []).map((e) => e.kind)).toContain('report.failed');
    expect([c2!.phase, c3!.phase]).toEqual(['pending', 'pending']);
    await waitOnVersion(l, [vm1], VERSIONS.b.name, markC, 2 * MIN);
    const evC = await eventsAfter(l, markC);
    const c1Trace = (k: string) => evC.filter((e) => e.machineId === id(vm1) && e.kind === k);
    expect(c1Trace('boot.script').map((e) => e.detail.profile)).toEqual([VERSIONS.c.name, VERSIONS.b.name]);
    expect(c1Trace('report.failed').length).toBe(1);
    const touched = (e: FleetEvent) => e.machineId === id(vm2) || e.machineId === id(vm3) || e.mac === vm2.mac || e.mac === vm3.mac;
    expect(evC.filter(touched).map((e) => `${e.id}:${e.kind}`)).toEqual([]);

    // 4. Drift: vm3's config digest changes behind rackboot's back (a report with its own token).
    const token = reportTokenOf(l.serial(vm3));
    const tampered = sha256("changed behind rackboot's back");
    const body = JSON.stringify({ phase: 'ready', message: 'hand-edited', configDigest: `sha256:${tampered}` });
    const url = `http://${LAB_ADDR.server}:${LAB_HTTP_PORT}/api/v1/report`;
    const args = ['-sS', '-f', '-X', 'POST', '-H', `authorization: Bearer ${token}`, '-H', 'content-type: application/json', '--data-binary', body, url];
    // Reports are bound to the machine's address (identity binding): from rackboot's own namespace it is refused...
    await expect(l.net.exec(l.net.lab, 'curl', args)).rejects.toThrow(/403/);
    // ...and accepted from vm3's MAC and address: a throw-away namespace on the lab bridge stands in for vm3.
    const curl = await asMachine(l.net.lab, vm3, () => run('ip', ['netns', 'exec', DRIFT_NS, 'curl', ...args], { timeout: MIN }));
    expect(JSON.parse(curl.stdout)).toMatchObject({ machine: vm3.name, state: 'drifted' });
    const env = { ...process.env, RACKBOOT_URL: l.api.baseUrl, RACKBOOT_DATADIR: join(work, 'data') };
    const cli = (...args: string[]) => run('ip', ['netns', 'exec', l.net.lab, process.execPath, '--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], { env, cwd: ROOT, timeout: 2 * MIN });
    const drift = JSON.parse((await cli('drift', '--json')).stdout) as DriftItem[];
    const { desired } = await l.api.request<{ desired: { sha256: string } }>('GET', `/api/v1/machines/${vm3.name}/configs`);
    expect(drift.map((d) => d.machine)).toEqual([vm3.name]);
    expect(drift[0]).toMatchObject({ state: 'drifted', reasons: ['digest-mismatch'], differences: [{ field: 'configDigest', desired: desired.sha256, reported: tampered }] });
    const table = (await cli('drift')).stdout;
    expect(table).toContain(vm3.name);
    expect(table).toContain(`configDigest ${tampered.slice(0, 12)}`);
    passedWork = work;
  }, 40 * MIN);
});

const DRIFT_NS = `rb-drift-${process.pid}`;

/** Runs `fn` while a namespace DRIFT_NS on the lab bridge carries `vm`'s MAC and address; removes it after. */
async function asMachine<T>(labNs: string, vm: LabMachine, fn: () => Promise<T>): Promise<T> {
  const ip = (...a: string[]) => run('ip', a, { timeout: MIN });
  await ip('netns', 'add', DRIFT_NS);
  try {
    await ip('-n', labNs, 'link', 'add', 'vdrift', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', DRIFT_NS);
    await ip('-n', labNs, 'link', 'set', 'vdrift', 'master', 'br0', 'up');
    await ip('-n', DRIFT_NS, 'link', 'set', 'eth0', 'address', vm.mac);
    await ip('-n', DRIFT_NS, 'addr', 'add', `${vm.ipv4}/${LAB_ADDR.prefix}`, 'dev', 'eth0');
    await ip('-n', DRIFT_NS, 'link', 'set', 'eth0', 'up');
    await ip('-n', DRIFT_NS, 'link', 'set', 'lo', 'up');
    return await fn();
  } finally {
    await ip('netns', 'del', DRIFT_NS).catch(() => {});
  }
}
