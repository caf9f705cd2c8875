/**
 * The catalogue of boot-trace event kinds: every `kind` rackboot records in the events table,
 * grouped by the subsystem that records it. Recorders name kinds from here (`EVENT.bootScript`),
 * readers (SQL matches, the CLI, `lifecycle/trace.ts`, the console's timeline) match these
 * strings, and test/lifecycle/event-kinds.test.ts fails when a kind is recorded or matched that
 * is not listed. Kinds built from a phase or state (`report.<phase>`, `rollout.<state>`,
 * `rollout.machine.<phase>`) are derived from the lists that define those phases and states.
 */
import { REPORT_PHASES, type ReportPhase } from '../boot/transitions.js';
import { ROLLOUT_STATES, type RolloutState } from '../inventory/rollouts.js';
import { FORWARD_PHASES, ROLLBACK_PHASES, SETTLED_PHASES } from '../rollout/plan.js';

/** The fixed kinds, by a short name recorders use. */
export const EVENT = {
  // DHCP (src/dhcp/handler.ts decides which one a reply is)
  dhcpOffer: 'dhcp.offer',
  dhcpAck: 'dhcp.ack',
  dhcpNak: 'dhcp.nak',
  dhcpProxyOffer: 'dhcp.proxy-offer',
  dhcpDecline: 'dhcp.decline',
  dhcpRelease: 'dhcp.release',
  dhcpInform: 'dhcp.inform',
  // TFTP (src/tftp/events.ts)
  tftpSent: 'tftp.sent',
  tftpFailed: 'tftp.failed',
  // Boot scripts, chains and refusals (src/boot, src/http/routes/boot.ts, grub.ts, src/secureboot)
  bootScript: 'boot.script',
  bootChain: 'boot.chain',
  bootUnknown: 'boot.unknown',
  bootRefused: 'boot.refused',
  bootError: 'boot.error',
  bootFailed: 'boot.failed',
  secureBootRefused: 'secureboot.refused',
  securityRefused: 'security.refused',
  // Assets and configs
  assetServed: 'asset.served',
  assetRegistered: 'asset.registered',
  configVersion: 'config.version',
  configServed: 'config.served',
  configDenied: 'config.denied',
  // Machines and the inventory
  machineCreated: 'machine.created',
  machineUpdated: 'machine.updated',
  machineDeleted: 'machine.deleted',
  machineEnrolled: 'machine.enrolled',
  machineMacAttached: 'machine.mac-attached',
  machineIdentityClaim: 'machine.identity-claim',
  machineDrifted: 'machine.drifted',
  machineNoncompliant: 'machine.noncompliant',
  inspectReport: 'inspect.report',
  inventoryImported: 'inventory.imported',
  inventoryExported: 'inventory.exported',
  provisionRequested: 'provision.requested',
  // BMCs (src/bmc)
  bmcSet: 'bmc.set',
  bmcPower: 'bmc.power',
  bmcBootdev: 'bmc.bootdev',
  bmcError: 'bmc.error',
  bmcDiscovery: 'bmc.discovery',
  // Rollouts (besides the derived ones below)
  rolloutStarted: 'rollout.started',
  rolloutAssigned: 'rollout.assigned',
  // API access
  authRefused: 'auth.refused',
  tokenCreated: 'token.created',
  tokenRevoked: 'token.revoked',
} as const;

/** One of the fixed kinds. */
export type FixedEventKind = (typeof EVENT)[keyof typeof EVENT];
/** A node agent's report: `report.<phase>` for each phase of src/boot/transitions.ts. */
export type ReportEventKind = `report.${ReportPhase}`;
/** A rollout reaching a state (src/inventory/rollouts.ts ROLLOUT_STATES). */
export type RolloutStateEventKind = `rollout.${RolloutState}`;
/** Every kind the boot trace may hold. */
export type EventKind = FixedEventKind | ReportEventKind | RolloutStateEventKind | `rollout.machine.${string}`;

/** The report kind of a phase (`report.ready`). */
export const reportKind = (phase: ReportPhase): ReportEventKind => `report.${phase}`;
/** The kind recorded when a rollout reaches a state. */
export const rolloutStateKind = (state: RolloutState): RolloutStateEventKind => `rollout.${state}`;
/** The kind recorded when a rollout moves a machine to a phase (src/rollout/plan.ts). */
export const rolloutMachineKind = (phase: string): `rollout.machine.${string}` => `rollout.machine.${phase}`;

/** The phases a rollout records for a machine: forward, rollback and settled ones. */
export const ROLLOUT_MACHINE_PHASES: readonly string[] = [...FORWARD_PHASES, ...ROLLBACK_PHASES, ...SETTLED_PHASES];

/** Every kind, spelled out (the derived ones expanded). */
export const EVENT_KINDS: readonly EventKind[] = [
  ...Object.values(EVENT),
  ...REPORT_PHASES.map(reportKind),
  ...ROLLOUT_STATES.map(rolloutStateKind),
  ...ROLLOUT_MACHINE_PHASES.map(rolloutMachineKind),
];

const KNOWN: ReadonlySet<string> = new Set(EVENT_KINDS);

/** Whether a string is a catalogued event kind. */
export function isEventKind(kind: string): kind is EventKind {
  return KNOWN.has(kind);
}

/**
 * Kinds whose rows can mark each boot phase (src/lifecycle/trace.ts `phaseOf` decides from the
 * row's detail whether one does: a loader file, a kernel or initrd, a network boot).
 */
export const PHASE_KINDS = {
  dhcp: [EVENT.dhcpOffer, EVENT.dhcpAck, EVENT.dhcpProxyOffer, EVENT.dhcpInform],
  ipxe: [EVENT.dhcpOffer, EVENT.dhcpAck, EVENT.dhcpProxyOffer, EVENT.dhcpInform],
  loader: [EVENT.tftpSent, EVENT.tftpFailed],
  script: [EVENT.bootScript, EVENT.bootChain],
  kernel: [EVENT.assetServed],
  initrd: [EVENT.assetServed],
  config: [EVENT.configServed],
  installed: [reportKind('booting'), reportKind('configured'), reportKind('installing'), reportKind('installed')],
  ready: [reportKind('ready')],
} as const satisfies Record<string, readonly EventKind[]>;

/** Machine state transitions driven by reports live beside the report phases (pure, table-tested). */
export { REPORT_PHASES, type ReportPhase, nextMachineState } from '../boot/transitions.js';
