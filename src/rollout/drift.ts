import type { BootEvent } from '../inventory/events.js';
import type { MachineState } from '../inventory/machines.js';
import type { Store } from '../inventory/store.js';
import type { VersionControl } from './effects.js';
import { type ExpectedDigests, compareField, reportedDigest } from './plan.js';
import { configAliasesOf } from './versions.js';
import { recordedDigest } from '../model/digest.js';

/** Why a machine is in the drift report. */
export type DriftReason = 'digest-mismatch' | 'never-configured' | 'stale';

/** One digest that is not what the machine should run. */
export interface DriftDifference {
  field: 'imageDigest' | 'configDigest';
  desired: string;
  reported: string | null;
}

/** A machine in the drift report with what differs. */
export interface DriftItem {
  machine: string;
  machineId: number;
  state: MachineState;
  reasons: DriftReason[];
  differences: DriftDifference[];
  desired: ExpectedDigests;
  reported: { imageDigest: string | null; configDigest: string | null; phase: string; at: string } | null;
  lastReportAt: string | null;
}

/** The newest reports of one machine (with digests / of any kind). */
export interface LastReports {
  digests?: BootEvent | undefined;
  any?: BootEvent | undefined;
}

/** A digest as shown in the report: its recorded spelling, or the raw text when it is not a digest. */
const str = (v: unknown): string | null => {
  const d = reportedDigest(v);
  return d ? recordedDigest(d) : typeof v === 'string' && v ? v : null;
};
const shown = (v: string | null): string | null => (v === null ? null : str(v));

/**
 * Pure comparison of what a machine should run with what it last said it runs: digests that
 * differ, never configured (no report ever carried digests, or no version was ever given), or
 * silent since `staleAfterMs` before `now`.
 */
export function compareDrift(desired: ExpectedDigests, last: LastReports, now: number, staleAfterMs: number): Pick<DriftItem, 'reasons' | 'differences'> {
  const reasons: DriftReason[] = [];
  const differences: DriftDifference[] = [];
  if (!last.digests || (desired.imageDigest === null && desired.configDigest === null)) reasons.push('never-configured');
  if (last.digests) {
    for (const field of ['imageDigest', 'configDigest'] as const) {
      const d = compareField(desired, field, last.digests.detail[field]);
      if (d) differences.push({ field, desired: d.want, reported: d.got });
    }
    if (differences.length) reasons.push('digest-mismatch');
  }
  if (last.any && now - Date.parse(last.any.at) > staleAfterMs) reasons.push('stale');
  return { reasons, differences };
}

/** The drift report over every machine (only machines with at least one reason are listed). */
export function driftReport(store: Store, versions: VersionControl, opts: { now?: number; staleAfterMs: number }): DriftItem[] {
  const now = opts.now ?? Date.now();
  const reports = store.rollouts.lastReports();
  const out: DriftItem[] = [];
  for (const m of store.machines.list()) {
    const v = versions.current(m);
    // Ignition nodes report the SHA-512 of the config they parsed: the same stored bytes, other name.
    const desired = { imageDigest: v.imageDigest, configDigest: v.configDigest, configAliases: configAliasesOf(store, m.id, v.configDigest) };
    const last: LastReports = reports.get(m.id) ?? {};
    const { reasons, differences } = compareDrift(desired, last, now, opts.staleAfterMs);
    if (!reasons.length) continue;
    const d = last.digests;
    out.push({
      machine: m.name,
      machineId: m.id,
      state: m.state,
      reasons,
      differences,
      desired: { imageDigest: shown(desired.imageDigest), configDigest: shown(desired.configDigest) },
      reported: d ? { imageDigest: str(d.detail.imageDigest), configDigest: str(d.detail.configDigest), phase: d.kind.replace('report.', ''), at: d.at } : null,
      lastReportAt: last.any?.at ?? null,
    });
  }
  return out;
}
