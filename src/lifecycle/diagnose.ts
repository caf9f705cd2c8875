import type { BootEvent } from '../inventory/events.js';
import type { MachineState } from '../inventory/machines.js';
import { RULES } from './diagnosis-rules.js';
import { type BootPhase, type PhaseSpan, phaseReached, phaseSpans, splitAttempts } from './trace.js';

/** Stable verdict codes (the console and scripts branch on these, never on the text). */
export const VERDICT_CODES = [
  'never-seen',
  'unknown-mac',
  'no-trace',
  'report-failed',
  'security-refused',
  'config-denied',
  'boot-error',
  'post-install-loop',
  'ready',
  'disk-boot',
  'chainload-loop',
  'tftp-stall',
  'tftp-failed',
  'wrong-arch',
  'offer-not-taken',
  'proxy-offer-ignored',
  'no-loader-fetch',
  'loader-no-ipxe',
  'ipxe-no-script',
  'script-no-kernel',
  'kernel-no-config',
  'config-no-report',
  'installed-not-ready',
  'in-progress',
] as const;
/** One of VERDICT_CODES. */
export type VerdictCode = (typeof VERDICT_CODES)[number];

/** How bad it is: done, still going, stuck, broken, or not ours to judge. */
export type VerdictStatus = 'ok' | 'waiting' | 'stalled' | 'failed' | 'unknown';

/** A verdict: what happened, the likely cause, the next step, and the events that show it. */
export interface Verdict {
  code: VerdictCode;
  status: VerdictStatus;
  summary: string;
  cause: string;
  next: string;
  /** Ids of the events the verdict rests on. */
  evidence: number[];
}

/** How long a phase may stay open before the boot counts as stalled (ms). */
export interface DiagnosisLimits {
  /** DHCP answered → loader fetch (firmware asks within seconds). */
  dhcpMs: number;
  /** Loader fetched → iPXE's own DHCP. */
  loaderMs: number;
  /** iPXE DHCP → boot script. */
  ipxeMs: number;
  /** Script served → kernel download. */
  scriptMs: number;
  /** Kernel/initrd served → config fetch (the initrd brings the network up). */
  kernelMs: number;
  /** Config served → the OS's first report. */
  reportMs: number;
  /** Installed → ready. */
  readyMs: number;
}

/** Defaults of DiagnosisLimits. */
export const DEFAULT_LIMITS: DiagnosisLimits = {
  dhcpMs: 60_000,
  loaderMs: 90_000,
  ipxeMs: 60_000,
  scriptMs: 120_000,
  kernelMs: 15 * 60_000,
  reportMs: 30 * 60_000,
  readyMs: 30 * 60_000,
};

/** The settings that change what a symptom means. */
export interface DiagnosisContext {
  dhcpMode: 'full' | 'proxy';
  proxyBootFileInOffer: boolean;
  tftpMaxBlksize: number;
}

/** What the unknown-MAC table knows about a MAC no machine has. */
export interface UnknownMacSeen {
  mac: string;
  arch: number | null;
  vendorClass: string | null;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

/** Everything a diagnosis reads; nothing else (pure). */
export interface DiagnosisInput {
  now: number;
  /** The MAC's or machine's trace, oldest first. */
  trace: readonly BootEvent[];
  machine: { name: string; state: MachineState; profile: string | null } | null;
  unknown: UnknownMacSeen | null;
  context: DiagnosisContext;
  limits?: Partial<DiagnosisLimits>;
}

/** The result of `rackboot why`. */
export interface Diagnosis {
  /** Furthest phase of the latest boot attempt. */
  phase: BootPhase | null;
  phases: PhaseSpan[];
  /** Boot attempts in the trace. */
  attempts: number;
  verdict: Verdict;
  /** Other rules that matched (lower priority), at most five. */
  findings: Verdict[];
}

/** What each rule sees: the input plus the split trace. */
export interface RuleView {
  input: DiagnosisInput;
  limits: DiagnosisLimits;
  attempts: BootEvent[][];
  /** The latest attempt. */
  attempt: BootEvent[];
  spans: PhaseSpan[];
  reached: BootPhase | null;
  now: number;
}

/** A rule: a verdict when its failure shape matches, else null. Rules run in priority order. */
export type Rule = (v: RuleView) => Verdict | null;

/** Diagnoses a boot trace: the phase reached, each phase's duration, a verdict and further findings. */
export function diagnose(input: DiagnosisInput): Diagnosis {
  const attempts = splitAttempts(input.trace);
  const attempt = attempts.at(-1) ?? [];
  const spans = phaseSpans(attempt, input.now);
  const view: RuleView = {
    input,
    limits: { ...DEFAULT_LIMITS, ...input.limits },
    attempts,
    attempt,
    spans,
    reached: phaseReached(spans),
    now: input.now,
  };
  const matched: Verdict[] = [];
  for (const rule of RULES) {
    const v = rule(view);
    if (v && !matched.some((m) => m.code === v.code)) matched.push(v);
  }
  const [verdict, ...rest] = matched;
  return {
    phase: view.reached,
    phases: spans,
    attempts: input.trace.length ? attempts.length : 0,
    verdict: verdict ?? inProgress(view),
    findings: rest.filter((f) => f.status !== 'waiting').slice(0, 5),
  };
}

function inProgress(v: RuleView): Verdict {
  return {
    code: 'in-progress',
    status: 'waiting',
    summary: v.reached ? `boot in progress: ${v.reached} reached` : 'no boot activity yet',
    cause: 'nothing has gone wrong so far',
    next: 'wait, or watch it live: rackboot events MACHINE / the console',
    evidence: v.attempt.slice(-1).map((e) => e.id),
  };
}
