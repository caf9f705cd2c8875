import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Lab, LabMachine } from '../../qemu/lab-core.js';
import { type Phase, type Run, type TraceEvent, currentPhase, runsOf } from '../../qemu/progress.js';

/** The digest of the installable image a lab serves (what `ready` must report). */
export function imageDigest(assetsDir: string): string {
  const m = JSON.parse(readFileSync(join(assetsDir, 'manifest.json'), 'utf8')) as { artifacts: { name: string; sha256: string }[] };
  const a = m.artifacts.find((x) => x.name === 'rackboot-os.raw');
  if (!a) throw new Error('rackboot-os.raw missing from the boot-assets manifest');
  return a.sha256;
}

/** Waits until every VM's latest run is `ready` (state too); fails fast on `failed`, with the serial tail. */
export async function waitReady(lab: Lab, vms: LabMachine[], timeoutMs: number, afterId = 0): Promise<Map<string, TraceEvent[]>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const traces = new Map<string, TraceEvent[]>();
    let all = true;
    for (const vm of vms) {
      const events = (await lab.events(vm)).filter((e) => e.id > afterId);
      traces.set(vm.name, events);
      const phase = currentPhase(events);
      if (phase === 'failed') throw new Error(`${vm.name} failed:\n${kinds(events)}\n${lab.serial(vm).slice(-3000)}`);
      const state = (await lab.machine(vm)).state;
      if (phase !== 'ready' || state !== 'ready') all = false;
    }
    if (all) return traces;
    if (Date.now() > end) {
      const where = vms.map((vm) => `${vm.name}: ${currentPhase(traces.get(vm.name) ?? [])}\n${lab.serial(vm).slice(-2000)}`).join('\n---\n');
      throw new Error(`not ready after ${timeoutMs} ms:\n${where}`);
    }
    await new Promise((r) => setTimeout(r, 3000));
  }
}

/** Waits for the first event of `kind` after `afterId` in a VM's trace. */
export async function waitEvent(lab: Lab, vm: LabMachine, kind: string, afterId: number, timeoutMs: number): Promise<TraceEvent> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const e = (await lab.events(vm)).find((x) => x.id > afterId && x.kind === kind);
    if (e) return e;
    if (Date.now() > end) throw new Error(`${vm.name}: no ${kind} within ${timeoutMs} ms:\n${lab.serial(vm).slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Compact trace for failure messages. */
export function kinds(events: TraceEvent[]): string {
  return events.map((e) => `${e.id}:${e.kind}${e.detail.mode ? `(${String(e.detail.mode)})` : ''}`).join(' ');
}

const FULL_FLOW: Phase[] = ['dhcp', 'loader', 'script', 'kernel', 'testos', 'config', 'installing', 'installed', 'disk', 'ready'];

/**
 * Asserts one complete provisioning inside `events` (a trace slice starting at the power-on or
 * provision request): milestones in order, exactly one install, the second boot from the local
 * disk, and `ready` carrying the served config digest and the image digest. Returns the run.
 */
export function expectProvisioned(
  name: string,
  events: TraceEvent[],
  image: string,
  opts: { mode: 'full' | 'proxy'; firmware: string },
): { run: Run; configSha: string; versionId: number } {
  const runs = runsOf(events);
  expect(runs.length, `${name}: one run in ${kinds(events)}`).toBe(1);
  const run = runs[0]!;
  const got = run.milestones.map((m) => m.phase);
  expect(got, `${name}: milestones in order in ${kinds(events)}`).toEqual(FULL_FLOW.filter((p) => got.includes(p)));
  // SeaBIOS's NIC ROM is iPXE already: it gets the script URL at once, no TFTP loader. Full
  // mode answers the firmware of a provisioned machine with an address and no boot file (the
  // `disk` milestone); a ProxyDHCP stays silent then, so only the absence of a second network
  // boot and the installed OS's own report show the disk boot.
  const required = FULL_FLOW.filter((p) => (p !== 'loader' || opts.firmware !== 'bios') && (p !== 'disk' || opts.mode === 'full'));
  for (const p of required) expect(got, `${name}: ${p} in ${kinds(events)}`).toContain(p);
  const count = (k: string) => events.filter((e) => e.kind === k).length;
  // No second install: one installing/installed, and the boot after it was a local-disk script.
  expect(count('report.installing'), name).toBe(1);
  expect(count('report.installed'), name).toBe(1);
  const scripts = events.filter((e) => e.kind === 'boot.script').map((e) => e.detail.mode);
  expect(scripts, `${name}: one network boot script, none after the install`).toEqual(['network']);
  const network = events.find((e) => e.kind === 'boot.script' && e.detail.mode === 'network')!;
  const ready = events.filter((e) => e.kind === 'report.ready');
  expect(ready.length, name).toBe(1);
  const configSha = String(network.detail.sha256);
  expect(ready[0]!.detail.configDigest, `${name}: config digest reported by the installed OS`).toBe(configSha);
  expect(ready[0]!.detail.imageDigest, `${name}: image digest measured by the installed OS`).toBe(image);
  const installed = events.find((e) => e.kind === 'report.installed')!;
  expect(installed.detail.imageDigest, name).toBe(image);
  expect(installed.detail.configDigest, name).toBe(configSha);
  return { run, configSha, versionId: Number(network.detail.versionId) };
}
