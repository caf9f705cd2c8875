import type { BootEvent } from '../inventory/events.js';
import { EVENT, PHASE_KINDS } from './event-kinds.js';

/**
 * The phases of one network boot, in the order a healthy boot reaches them:
 * firmware DHCP → loader (TFTP or HTTP) → iPXE's own DHCP → boot script → kernel → initrd →
 * config → the OS's reports (installed, then ready).
 */
export const BOOT_PHASES = ['dhcp', 'loader', 'ipxe', 'script', 'kernel', 'initrd', 'config', 'installed', 'ready'] as const;
/** One of BOOT_PHASES. */
export type BootPhase = (typeof BOOT_PHASES)[number];

/** Where a phase sits in BOOT_PHASES (higher is further). */
export function phaseRank(p: BootPhase): number {
  return BOOT_PHASES.indexOf(p);
}

const DHCP_REPLIES: ReadonlySet<string> = new Set(PHASE_KINDS.dhcp);

/** True when a DHCP reply handed out the iPXE script URL (the client already runs iPXE). */
export function isScriptBootFile(bootFile: unknown): boolean {
  return typeof bootFile === 'string' && /\/boot\.ipxe(\?|$)/.test(bootFile);
}

/** True when a file name is a network loader (iPXE builds, shim/GRUB images). */
export function isLoaderFile(file: unknown): boolean {
  return typeof file === 'string' && /(\.kpxe|\.pxe|\.efi|\.0|httpboot\.img)$/i.test(file);
}

/**
 * The phase an event marks, or null when it marks none (API edits, rollout bookkeeping, BMC
 * calls, refusals: those are findings, not progress).
 */
export function phaseOf(e: Pick<BootEvent, 'kind' | 'detail'>): BootPhase | null {
  const d = e.detail;
  if (DHCP_REPLIES.has(e.kind)) {
    // No option 93 and no boot file: the booted OS's own DHCP client, not a network boot.
    if ((d.arch === null || d.arch === undefined) && !d.bootFile) return null;
    return isScriptBootFile(d.bootFile) ? 'ipxe' : 'dhcp';
  }
  switch (e.kind) {
    case EVENT.tftpSent:
    case EVENT.tftpFailed:
      return isLoaderFile(d.file) ? 'loader' : null;
    case EVENT.bootChain:
      return 'script';
    case EVENT.bootScript:
      return d.mode === 'disk' ? null : 'script';
    case EVENT.assetServed:
      return d.kind === 'kernel' ? 'kernel' : d.kind === 'initrd' ? 'initrd' : null;
    case EVENT.configServed:
      return 'config';
    case 'report.booting':
    case 'report.configured':
    case 'report.installing':
    case 'report.installed': // PHASE_KINDS.installed
      return 'installed';
    case 'report.ready':
      return 'ready';
    default:
      return null;
  }
}

/** How long one phase of a boot attempt took. */
export interface PhaseSpan {
  phase: BootPhase;
  /** Event time (ms) of the first event of this phase. */
  startedAt: number;
  /** When the next phase started; null while this is the last phase reached. */
  endedAt: number | null;
  /** endedAt - startedAt, or (now - startedAt) for the phase still open. */
  ms: number;
  /** Events of this phase (a retried TFTP transfer counts twice). */
  events: number;
  /** The appliances that served this phase's events, in order of first appearance (#20; unnamed rows add none). */
  appliances: string[];
}

/** Event time in epoch ms. */
export function eventTime(e: Pick<BootEvent, 'at'>): number {
  return Date.parse(e.at);
}

/**
 * Splits a trace (oldest first) into boot attempts: a firmware DHCP reply after the attempt
 * already reached the boot script (or further) starts a new one. Events before the first
 * phase event belong to the first attempt.
 */
export function splitAttempts(trace: readonly BootEvent[]): BootEvent[][] {
  const attempts: BootEvent[][] = [[]];
  let best = -1;
  for (const e of trace) {
    const p = phaseOf(e);
    if (p === 'dhcp' && best >= phaseRank('script')) {
      attempts.push([]);
      best = -1;
    }
    if (p) best = Math.max(best, phaseRank(p));
    attempts.at(-1)!.push(e);
  }
  return attempts.filter((a, i) => a.length > 0 || i === 0);
}

/**
 * The phases one attempt went through with their durations. A phase starts at its first event;
 * an event of an earlier phase later on (iPXE's DHCP after the script) does not reopen it.
 */
export function phaseSpans(attempt: readonly BootEvent[], now: number): PhaseSpan[] {
  const spans: PhaseSpan[] = [];
  for (const e of attempt) {
    const p = phaseOf(e);
    if (!p) continue;
    const at = eventTime(e);
    const same = spans.find((s) => s.phase === p);
    if (same) {
      same.events++;
      addAppliance(same, e);
      continue;
    }
    const last = spans.at(-1);
    if (last && phaseRank(p) < phaseRank(last.phase)) continue;
    if (last) {
      last.endedAt = at;
      last.ms = Math.max(0, at - last.startedAt);
    }
    spans.push({ phase: p, startedAt: at, endedAt: null, ms: 0, events: 1, appliances: e.appliance ? [e.appliance] : [] });
  }
  const open = spans.at(-1);
  if (open) open.ms = Math.max(0, now - open.startedAt);
  return spans;
}

function addAppliance(span: PhaseSpan, e: Pick<BootEvent, 'appliance'>): void {
  if (e.appliance && !span.appliances.includes(e.appliance)) span.appliances.push(e.appliance);
}

/** The furthest phase an attempt reached, or null. */
export function phaseReached(spans: readonly PhaseSpan[]): BootPhase | null {
  return spans.at(-1)?.phase ?? null;
}
