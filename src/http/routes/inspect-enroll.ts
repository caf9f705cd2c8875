/**
 * What an inspection report does to the inventory: the machine's facts (replaced), its SMBIOS
 * identity, and the group the facts match (issue #19). A matched group with `enroll: auto`
 * gives the machine its profile, labels and hostname and makes it `registered`, so its next
 * network boot installs it; `manual` only records the match for an operator.
 */
import { type MatchCandidate, normalizeUuid } from '../../model/group-selector.js';
import { matchGroup } from '../../model/group-match.js';
import { type ParsedGroup, renderHostname } from '../../model/group.js';
import type { Machine, MachinePatch } from '../../inventory/machines.js';
import type { Store } from '../../inventory/store.js';

/** The label that asks for an inspection boot of a machine that has a profile (`inspect=true`). */
export const INSPECT_LABEL = 'inspect';

/** How the report ended for the machine. */
export type EnrollOutcome =
  | { result: 'enrolled'; group: string; profile: string | null; name: string }
  | { result: 'matched'; group: string }
  | { result: 'unmatched' }
  | { result: 'ambiguous'; groups: [string, string] }
  | { result: 'kept' };

/**
 * Whether a machine gets the inspection image instead of its profile's boot (pure): a
 * discovered machine nobody gave a profile yet, or one labelled `inspect=true`.
 */
export function wantsInspection(m: Pick<Machine, 'profile' | 'state' | 'labels'>): boolean {
  return m.labels[INSPECT_LABEL] === 'true' || (m.profile === null && m.state === 'discovered');
}

/** What the matcher knows of the machine after its inspection. */
export function candidateOf(m: Machine, facts: Record<string, unknown>, relay: RelayFacts | null, address: string | undefined): MatchCandidate {
  const s = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return {
    mac: m.macs[0],
    uuid: s(facts.uuid) ?? m.uuid ?? undefined,
    serial: s(facts.serial) ?? m.serial ?? undefined,
    labels: m.labels,
    facts,
    circuitId: relay?.circuitId ?? undefined,
    remoteId: relay?.remoteId ?? undefined,
    address,
  };
}

/** Option 82 as DHCP discovery recorded it in the machine's facts (`relayAgent`). */
export interface RelayFacts {
  circuitId: string | null;
  remoteId: string | null;
}

/** The relay facts of a machine's previous facts, if DHCP recorded any. */
export function relayOf(facts: Record<string, unknown>): RelayFacts | null {
  const r = facts.relayAgent as { circuitId?: unknown; remoteId?: unknown } | null | undefined;
  if (!r || typeof r !== 'object') return null;
  const s = (v: unknown) => (typeof v === 'string' ? v : null);
  return { circuitId: s(r.circuitId), remoteId: s(r.remoteId) };
}

/**
 * Decides the machine patch for one inspection (pure): facts replaced, UUID/serial taken when
 * no other machine has them, and the matched group's assignments under `enroll: auto`.
 * `nameTaken` says whether another machine already has a name.
 */
export function planInspection(
  m: Machine,
  facts: Record<string, unknown>,
  groups: readonly ParsedGroup[],
  c: MatchCandidate,
  taken: { uuid: boolean; serial: boolean; name: (n: string) => boolean },
): { patch: MachinePatch; outcome: EnrollOutcome } {
  const patch: MachinePatch = { facts };
  const uuid = typeof facts.uuid === 'string' ? normalizeUuid(facts.uuid) : undefined;
  if (uuid && !taken.uuid) patch.uuid = uuid;
  if (typeof facts.serial === 'string' && !taken.serial) patch.serial = facts.serial;
  const { [INSPECT_LABEL]: _flag, ...labels } = m.labels;
  if (_flag !== undefined) patch.labels = labels;
  // A machine that already has a profile keeps it: inspection refreshes its facts only.
  if (m.profile !== null) return { patch, outcome: { result: 'kept' } };
  const r = matchGroup(groups, c);
  if ('none' in r) return { patch, outcome: { result: 'unmatched' } };
  if ('tie' in r) return { patch, outcome: { result: 'ambiguous', groups: [r.tie[0].name, r.tie[1].name] } };
  const g = r.group;
  if (g.enroll !== 'auto') return { patch, outcome: { result: 'matched', group: g.name } };
  const wanted = g.hostnameTemplate ? renderHostname(g.hostnameTemplate, c, g.name) : undefined;
  const name = wanted && wanted !== m.name && !taken.name(wanted) ? wanted : m.name;
  Object.assign(patch, { profile: g.profile, labels: { ...labels, ...g.labels }, name, state: 'registered' as const });
  return { patch, outcome: { result: 'enrolled', group: g.name, profile: g.profile, name } };
}

/** Applies planInspection to the store (inside the caller's transaction). */
export function applyInspection(store: Store, m: Machine, facts: Record<string, unknown>, address: string | undefined): { machine: Machine; outcome: EnrollOutcome } {
  const relay = relayOf(m.facts);
  // DHCP's view of the relay is evidence about the machine, not a hardware fact: it survives.
  const kept = relay ? { ...facts, relayAgent: relay } : facts;
  const c = candidateOf(m, kept, relay, address);
  const other = (found: { machine: Machine } | undefined) => found !== undefined && found.machine.id !== m.id;
  const taken = {
    uuid: c.uuid !== undefined && other(store.machines.findByIdentity({ uuid: c.uuid })),
    serial: c.serial !== undefined && other(store.machines.findByIdentity({ serial: c.serial })),
    name: (n: string) => store.machines.find(n) !== undefined,
  };
  const { patch, outcome } = planInspection(m, kept, store.groups.parsed(), c, taken);
  return { machine: store.machines.update(m.id, patch), outcome };
}
