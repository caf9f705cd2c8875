import { createHash } from 'node:crypto';
import type { Lab, LabMachine } from '../../qemu/lab-core.js';
import type { BootEvent } from '../../src/inventory/events.js';
import type { RolloutView } from '../../src/rollout/control.js';

/** A boot-trace event as GET /api/v1/events returns it. */
export type FleetEvent = BootEvent;

/** A machine's out-of-service window in one rollout: first step taken → done (event ids). */
export interface Window {
  machineId: number;
  start: number;
  end: number;
}

/** Profiles of the fleet: A and B differ only in their config; C's test OS fails (no such install disk). */
export const VERSIONS = {
  a: { name: 'rb-e2e-a', spec: { os: 'testos', boot: 'network', testos: { files: [{ path: '/etc/rackboot-version', contents: 'A\n' }] } } },
  b: { name: 'rb-e2e-b', spec: { os: 'testos', boot: 'network', testos: { files: [{ path: '/etc/rackboot-version', contents: 'B\n' }] } } },
  // The agent checks the install disk before downloading anything and reports `failed` at once.
  c: { name: 'rb-e2e-c', spec: { os: 'testos', boot: 'network', install: { image: 'rackboot-os.raw', disk: '/dev/rb-no-such-disk' } } },
} as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every event after `afterId`, oldest first (paged). */
export async function eventsAfter(lab: Lab, afterId = 0): Promise<FleetEvent[]> {
  const out: FleetEvent[] = [];
  for (let after = afterId; ; ) {
    const r = await lab.api.request<{ items: FleetEvent[] }>('GET', `/api/v1/events?after=${after}&limit=5000`);
    out.push(...r.items);
    if (r.items.length < 5000) return out;
    after = r.items.at(-1)!.id;
  }
}

/** The newest event id (a mark to slice traces from). */
export async function lastEventId(lab: Lab): Promise<number> {
  return (await eventsAfter(lab)).at(-1)?.id ?? 0;
}

/** One rollout as the API shows it. */
export function rollout(lab: Lab, id: number): Promise<RolloutView> {
  return lab.api.request<RolloutView>('GET', `/api/v1/rollouts/${id}`);
}

/** Polls until `check` returns a value (or throws on a hopeless state); `what` explains a timeout. */
export async function poll<T>(what: () => Promise<string> | string, timeoutMs: number, check: () => Promise<T | undefined>, everyMs = 2000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch((e: unknown) => {
      // rackboot restarting under us: try again until the deadline.
      if ((e as { code?: string }).code === 'UNREACHABLE' && Date.now() < end) return undefined;
      throw e;
    });
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${await what()}`);
    await sleep(everyMs);
  }
}

/** Waits until the rollout settled (finished, or paused with nothing in flight). */
export function waitSettled(lab: Lab, id: number, timeoutMs: number, vms: LabMachine[]): Promise<RolloutView> {
  return poll(
    async () => `${JSON.stringify((await rollout(lab, id)).machines.map((m) => [m.machine, m.phase, m.message, m.failure]))}\n${serialTails(lab, vms)}`,
    timeoutMs,
    async () => {
      const v = await rollout(lab, id);
      return v.settled ? v : undefined;
    },
  );
}

/** The last lines of every VM's console, for failure messages. */
export function serialTails(lab: Lab, vms: LabMachine[]): string {
  return vms.map((vm) => `--- ${vm.name}\n${lab.serial(vm).slice(-1500)}`).join('\n');
}

/**
 * Out-of-service windows of a rollout's machines from its step events: from the first
 * `rollout.machine.*` step of the machine to its `done` (or `rolled-back`) step.
 */
export function windows(events: FleetEvent[], rolloutId: number): Window[] {
  const byMachine = new Map<number, Window>();
  for (const e of events) {
    if (e.source !== 'rollout' || e.machineId === null || e.detail.rollout !== rolloutId || !e.kind.startsWith('rollout.machine.')) continue;
    const w = byMachine.get(e.machineId) ?? { machineId: e.machineId, start: e.id, end: Number.POSITIVE_INFINITY };
    if (e.kind === 'rollout.machine.done' || e.kind === 'rollout.machine.rolled-back') w.end = e.id;
    byMachine.set(e.machineId, w);
  }
  return [...byMachine.values()].sort((a, b) => a.start - b.start);
}

/** Events that come from the machine's own boot (DHCP, TFTP, HTTP boot, phone-home), not about it. */
export function bootEvidence(events: FleetEvent[]): FleetEvent[] {
  return events.filter((e) => e.machineId !== null && ['dhcp', 'tftp', 'http', 'assets', 'agent'].includes(e.source));
}

/** The report token the VM's latest kernel was given (Linux prints its command line on the serial console). */
export function reportTokenOf(serial: string): string {
  const all = [...serial.matchAll(/rackboot\.token=([0-9]+_[A-Za-z0-9_-]{43})/g)];
  const t = all.at(-1)?.[1];
  if (!t) throw new Error('no rackboot.token= on the serial console');
  return t;
}

/** sha256 hex of a string. */
export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
