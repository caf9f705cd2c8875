import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { AppError } from '../../src/errors.js';
import type { Machine } from '../../src/inventory/machines.js';
import type { Store } from '../../src/inventory/store.js';
import type { RolloutEffects, VersionControl } from '../../src/rollout/effects.js';
import type { MachineVersion, RolloutTarget } from '../../src/rollout/spec.js';

/** A settable clock. */
export class FakeClock {
  constructor(public t = 1_700_000_000_000) {}
  now = (): number => this.t;
}

/** sha256:<hex> of a string. */
export const sha = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

/** How a version's OS behaves after an install: fine, reports failure, or never phones home. */
export type Behaviour = 'ok' | 'fail' | 'silent' | 'wrong-digest';

interface SimMachine {
  installed: string | null;
  pxeNext: boolean;
  cordoned: boolean;
  ready: boolean;
  boot: { at: number; profile: string | null; net: boolean; emitted: number } | null;
  cycles: number;
}

interface SimState {
  machines: Record<string, SimMachine>;
  maxUnavailable: number;
  order: string[];
  /** Every BMC call that changed something, in order: what, on which machine, by which appliance. */
  calls?: Array<{ fn: 'setNextBootPxe' | 'powerCycle'; machine: string; by: string }>;
}

/**
 * A simulated fleet behind the rollout effects: machines that reboot when power cycled, boot from
 * the network when told to, install the version their profile names and phone home through the
 * store (events `report.<phase>` + machine state, as the phone-home route records them).
 * State can live in a JSON file so a restarted process sees the same machines.
 */
export class SimFleet {
  state: SimState;
  /** Failures injected into the BMC, by machine name. */
  bmcBroken = new Set<string>();

  constructor(
    public store: Store,
    readonly now: () => number,
    readonly opts: { stageMs?: number; stateFile?: string; behaviour?: (profile: string) => Behaviour } = {},
  ) {
    this.state =
      opts.stateFile && existsSync(opts.stateFile)
        ? (JSON.parse(readFileSync(opts.stateFile, 'utf8')) as SimState)
        : { machines: {}, maxUnavailable: 0, order: [] };
  }

  /** Registers a machine already installed and ready on `profile`. */
  install(name: string, profile: string): void {
    this.state.machines[name] = { installed: profile, pxeNext: false, cordoned: false, ready: true, boot: null, cycles: 0 };
    this.save();
  }

  get(name: string): SimMachine {
    const m = this.state.machines[name];
    if (!m) throw new Error(`no simulated machine ${name}`);
    return m;
  }

  private save(): void {
    const unavailable = Object.values(this.state.machines).filter((m) => m.cordoned || !m.ready || m.boot).length;
    this.state.maxUnavailable = Math.max(this.state.maxUnavailable, unavailable);
    if (!this.opts.stateFile) return;
    writeFileSync(`${this.opts.stateFile}.tmp`, JSON.stringify(this.state));
    renameSync(`${this.opts.stateFile}.tmp`, this.opts.stateFile);
  }

  private stage(): number {
    return this.opts.stageMs ?? 10_000;
  }

  /** Emits whatever boot progress is due by now. */
  advance(): void {
    for (const [name, m] of Object.entries(this.state.machines)) {
      if (!m.boot) continue;
      const machine = this.store.machines.get(name);
      const due = Math.floor((this.now() - m.boot.at) / this.stage());
      const plan = this.bootPlan(m);
      while (m.boot && m.boot.emitted < Math.min(due, plan.length)) {
        const step = plan[m.boot.emitted]!;
        m.boot.emitted++;
        this.report(machine, step.phase, step.profile);
        if (step.phase === 'ready') {
          m.installed = step.profile;
          m.ready = true;
          m.boot = null;
        } else if (step.phase === 'failed') {
          m.boot = null;
        }
      }
    }
    this.save();
  }

  private bootPlan(m: SimMachine): Array<{ phase: string; profile: string | null }> {
    const boot = m.boot!;
    if (!boot.net) return [{ phase: 'ready', profile: m.installed }];
    const p = boot.profile;
    const b = p ? (this.opts.behaviour?.(p) ?? 'ok') : 'ok';
    if (b === 'silent') return [{ phase: 'booting', profile: p }];
    const head = [
      { phase: 'booting', profile: p },
      { phase: 'configured', profile: p },
    ];
    if (b === 'fail') return [...head, { phase: 'failed', profile: p }];
    if (b === 'wrong-digest') return [...head, { phase: 'installed', profile: p }, { phase: 'ready', profile: m.installed }];
    return [...head, { phase: 'installed', profile: p }, { phase: 'ready', profile: p }];
  }

  /** What the phone-home route records for a report. */
  report(machine: Machine, phase: string, profile: string | null): void {
    const v = profile ? versionOf(this.store, machine, profile) : undefined;
    this.store.events.add({
      machineId: machine.id,
      mac: machine.macs[0] ?? null,
      source: 'report',
      kind: `report.${phase}`,
      detail: { imageDigest: v?.imageDigest ?? null, configDigest: v?.configDigest ?? null },
    });
    const state = phase === 'failed' ? 'failed' : (phase as Machine['state']);
    this.store.machines.update(machine.id, { state });
  }

  /** Rollout effects acting on this fleet; pre/post steps cordon and uncordon. `by`: the appliance named in the call log. */
  effects(by = 'a'): RolloutEffects {
    const log = (fn: 'setNextBootPxe' | 'powerCycle', machine: string) => (this.state.calls ??= []).push({ fn, machine, by });
    return {
      now: this.now,
      setNextBootPxe: async (machine) => {
        if (this.bmcBroken.has(machine.name)) throw new AppError('BMC_UNREACHABLE', `BMC of ${machine.name} does not answer`);
        log('setNextBootPxe', machine.name);
        this.get(machine.name).pxeNext = true;
        this.save();
      },
      bootsPxeNext: async (machine) => this.get(machine.name).pxeNext,
      powerCycle: async (machine) => {
        if (this.bmcBroken.has(machine.name)) throw new AppError('BMC_UNREACHABLE', `BMC of ${machine.name} does not answer`);
        log('powerCycle', machine.name);
        const m = this.get(machine.name);
        m.cycles++;
        m.ready = false;
        const net = m.pxeNext;
        m.pxeNext = false;
        const profile = net ? this.store.machines.get(machine.id).profile : m.installed;
        m.boot = { at: this.now(), profile, net, emitted: 0 };
        this.state.order.push(machine.name);
        this.save();
        // The machine's firmware starts at once: its first DHCP request is boot evidence.
        this.store.events.add({ machineId: machine.id, source: 'dhcp', kind: net ? 'dhcp.discover' : 'disk.boot' });
      },
      preStep: async (machine) => {
        this.get(machine.name).cordoned = true;
        this.save();
        return { done: true };
      },
      postStep: async (machine) => {
        this.get(machine.name).cordoned = false;
        this.save();
        return { done: true };
      },
      extraHealth: async () => null,
    };
  }
}

/** The version a profile gives a machine: image digest from the profile, config digest per machine. */
export function versionOf(store: Store, machine: Machine, profile: string): MachineVersion {
  const p = store.profiles.get(profile);
  return {
    profile,
    profileRevision: p.revision,
    imageDigest: sha(`image:${profile}`),
    configDigest: sha(`config:${profile}:${machine.name}:${p.revision}`),
  };
}

/** Version control over machine.profile, as a profile-per-version inventory does it. */
export function profileVersions(getStore: () => Store): VersionControl {
  return {
    current: (m) => (m.profile ? versionOf(getStore(), m, m.profile) : { profile: null, profileRevision: null, imageDigest: null, configDigest: null }),
    resolve: (m, target: RolloutTarget) => {
      if (!('profile' in target) || !target.profile) throw new AppError('BAD_INPUT', 'simulated fleet needs a profile target');
      const v = versionOf(getStore(), m, target.profile);
      if ('revision' in target && target.revision !== undefined && target.revision !== v.profileRevision) {
        throw new AppError('CONFLICT', `profile ${target.profile} is at revision ${v.profileRevision}`);
      }
      return v;
    },
    assign: (m, v) => {
      getStore().machines.update(m.id, { profile: v.profile });
    },
    // What the fleet reports for the version's profile (the stored version may come from another resolver).
    expected: (m, v) => {
      const want = v.profile ? versionOf(getStore(), m, v.profile) : v;
      return { imageDigest: want.imageDigest, configDigest: want.configDigest };
    },
  };
}

/** A store with profiles os-a, os-b, os-c and machines m1..mN installed on os-a. */
export function seedFleet(store: Store, fleet: SimFleet, n = 3, profile = 'os-a'): void {
  for (const p of ['os-a', 'os-b', 'os-c']) {
    if (store.profiles.find(p)) continue;
    const install = { image: sha(`image:${p}`), disk: '/dev/vda' };
    store.profiles.create(p, { boot: 'network', chain: 'ipxe', os: 'testos', initrd: [], cmdline: '', requireSecureBoot: false, install });
  }
  for (let i = 1; i <= n; i++) {
    const name = `m${i}`;
    store.machines.create({ name, macs: [`52:54:00:00:00:0${i}`], labels: { role: 'worker', ...(i === 1 ? { canary: 'yes' } : {}) }, profile, state: 'ready' });
    fleet.install(name, profile);
  }
}
