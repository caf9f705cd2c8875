/**
 * Which report may move a machine from which state (pure). A report token is good for one boot;
 * this table is the second line: a report that does not fit where the machine is (a stale boot's
 * `ready` after a re-provision, a replayed `configured` after `ready`) changes nothing.
 */
import { AppError } from '../errors.js';
import type { MachineState } from '../inventory/machines.js';

/** Phases a node agent reports, in the order a provisioning normally runs. */
export const REPORT_PHASES = ['booting', 'configured', 'installing', 'installed', 'ready', 'failed'] as const;
/** One of REPORT_PHASES. */
export type ReportPhase = (typeof REPORT_PHASES)[number];

/**
 * Allowed phases per current state. Only a network boot (the boot script or GRUB config, not a
 * report) puts a machine in `booting`, so `registered` and `discovered` machines take no report
 * at all, and `booting` is reported only in `booting`. Progress phases only move forward and may
 * skip (an Ignition node goes booting → installed); a repeat is allowed (an installed OS reports
 * `ready` at every start). `failed` is allowed from every state a boot is in; a failed machine
 * takes nothing until its next network boot.
 */
export const REPORT_TRANSITIONS: Readonly<Record<MachineState, readonly ReportPhase[]>> = {
  registered: [],
  discovered: [],
  booting: ['booting', 'configured', 'installing', 'installed', 'ready', 'failed'],
  configured: ['configured', 'installing', 'installed', 'ready', 'failed'],
  installing: ['installing', 'installed', 'failed'],
  installed: ['installed', 'ready', 'failed'],
  ready: ['ready', 'failed'],
  drifted: ['ready', 'failed'],
  failed: ['failed'],
};

/** True when a `phase` report is allowed for a machine in `current` (pure). */
export function reportAllowed(current: MachineState, phase: ReportPhase): boolean {
  return REPORT_TRANSITIONS[current].includes(phase);
}

/**
 * The state a report moves a machine to (pure); CONFLICT when the table does not allow it.
 * `failed` wins over everything, then drift (reported digests differ from the desired ones).
 */
export function nextMachineState(current: MachineState, phase: ReportPhase, drifted = false): MachineState {
  if (!reportAllowed(current, phase)) {
    throw new AppError('CONFLICT', `report ${phase} not allowed for a machine in state ${current} (a stale or replayed report; a network boot starts over)`, {
      details: { state: current, phase, allowed: REPORT_TRANSITIONS[current] },
    });
  }
  if (phase === 'failed' || phase === 'booting') return phase;
  return drifted ? 'drifted' : phase;
}
