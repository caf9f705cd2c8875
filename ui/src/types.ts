/** Shapes of the API answers the console reads (src/inventory, src/rollout; only the fields used). */

/** A machine as GET /api/v1/machines answers it. */
export interface Machine {
  id: number;
  name: string;
  labels: Record<string, string>;
  profile: string | null;
  state: string;
  ipv4: string | null;
  macs: string[];
  facts: Record<string, unknown>;
  updatedAt: string;
  bmc: { type: string; address: string } | null;
}

/** One row of a boot trace. */
export interface BootEvent {
  id: number;
  at: string;
  mac: string | null;
  machineId: number | null;
  source: string;
  kind: string;
  detail: Record<string, unknown>;
  /** The appliance that wrote the row (several appliances on one inventory); null or absent when unnamed. */
  appliance?: string | null;
}

/** A stored config version (without its bytes). */
export interface ConfigVersion {
  id: number;
  profile: string;
  profileRevision: number;
  format: string;
  sha256: string;
  size: number;
  createdAt: string;
}

/** One machine of a rollout. */
export interface RolloutMachine {
  machine: string;
  machineId: number;
  batch: number;
  canary: boolean;
  phase: string;
  message: string | null;
  failure: string | null;
  bootPhase: string | null;
}

/** A rollout with per-machine progress. */
export interface Rollout {
  id: number;
  name: string | null;
  state: string;
  reason: string | null;
  createdAt: number;
  settled: boolean;
  spec: { selector?: string; machines?: string[]; target: { profile?: string } };
  machines: RolloutMachine[];
  /** The appliance whose runner steps the rollout now (several appliances on one inventory), null when none does. */
  runner?: { appliance: string; since: number } | null;
}

/** A profile (only its name is used). */
export interface Profile {
  name: string;
  revision: number;
}

/** A list answer. */
export interface Items<T> {
  items: T[];
}
