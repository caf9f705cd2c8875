import type { Machine } from '../inventory/machines.js';
import type { ExpectedDigests } from './plan.js';
import type { MachineVersion, RolloutSpec, RolloutTarget } from './spec.js';

/** What the runner tells a pre/post step about the work at hand. */
export interface StepContext {
  rolloutId: number;
  spec: RolloutSpec;
  /** 'pre' before the reboot (cordon/drain), 'post' after the health gate (uncordon). */
  phase: 'pre' | 'post';
  /** True while returning the machine to its previous version. */
  rollback: boolean;
}

/** Result of one attempt at a pre/post step: done, or not yet (retried next tick until the timeout). */
export interface StepResult {
  done: boolean;
  message?: string;
}

/**
 * Everything the runner does to the outside world. Each call must be safe to repeat: after a
 * crash the runner repeats the step it had not recorded as finished.
 */
export interface RolloutEffects {
  /** Epoch milliseconds (tests inject a clock). */
  now(): number;
  /** BMC: boot from the network on the next boot only. */
  setNextBootPxe(machine: Machine): Promise<void>;
  /**
   * BMC: true when the next boot is already set to the network (read back; no change). Used to
   * verify an override a previous runner may have sent; absent or failing: it is sent again.
   */
  bootsPxeNext?(machine: Machine): Promise<boolean>;
  /** BMC: power cycle (or power on when off). */
  powerCycle(machine: Machine): Promise<void>;
  /** Cordon/drain (webhook and/or Kubernetes) before the machine is taken down. */
  preStep(machine: Machine, ctx: StepContext): Promise<StepResult>;
  /** Uncordon (webhook and/or Kubernetes) once the machine is healthy again. */
  postStep(machine: Machine, ctx: StepContext): Promise<StepResult>;
  /** Extra health checks beyond the phone-home (HTTP probe, Kubernetes node Ready); null when all pass. */
  extraHealth(machine: Machine, spec: RolloutSpec): Promise<string | null>;
}

/** How the runner learns and changes which version a machine is meant to run. */
export interface VersionControl {
  /** The version the machine is meant to run now (what a rollback returns to). */
  current(machine: Machine): MachineVersion;
  /** The version the machine gets for a rollout target; BAD_INPUT/CONFLICT when it cannot be had. */
  resolve(machine: Machine, target: RolloutTarget): MachineVersion;
  /** Makes the machine's next provisioning use `version` (idempotent). */
  assign(machine: Machine, version: MachineVersion): void;
  /** Digests the machine must report for `version` (after it booted, when the config is rendered at boot). */
  expected(machine: Machine, version: MachineVersion): ExpectedDigests;
}
