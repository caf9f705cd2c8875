/**
 * Enrollment of a MAC DHCP discovered (issue #19): the group it matches with what DHCP knows
 * (MAC, option 97 UUID, option 82 circuit/remote id, the segment's address) decides what the
 * new machine gets. `enroll: auto` → `registered` with the group's profile, labels and
 * hostname; `manual` (or no group) → `discovered`, and a manual match is listed as pending
 * among the unknown MACs until an operator enrolls it. Facts-based selectors are evaluated
 * when the inspection report arrives (src/http/routes/inspect-enroll.ts).
 */
import { matchGroup } from '../model/group-match.js';
import type { MatchCandidate } from '../model/group-selector.js';
import { type ParsedGroup, renderHostname } from '../model/group.js';
import type { Machine } from './machines.js';
import type { Store } from './store.js';

/** What one DHCP request of an unknown MAC told us. */
export interface DiscoveredClient {
  mac: string;
  uuid?: string | undefined;
  arch: number | null;
  vendorClass: string | null;
  /** Option 82 sub-options as hex. */
  circuitId?: string | undefined;
  remoteId?: string | undefined;
  /** giaddr when relayed, else the address of the interface it arrived on (for `subnet`). */
  address?: string | undefined;
}

/** The group a discovered client matches (facts unknown yet), or undefined (none, or a tie). */
export function groupForClient(groups: readonly ParsedGroup[], c: MatchCandidate): ParsedGroup | undefined {
  if (groups.length === 0) return undefined;
  const r = matchGroup(groups, c);
  return 'group' in r ? r.group : undefined;
}

/** The matcher's view of a discovered client. */
export function candidateOfClient(d: DiscoveredClient): MatchCandidate {
  return { mac: d.mac, uuid: d.uuid, circuitId: d.circuitId, remoteId: d.remoteId, address: d.address };
}

/**
 * Creates the machine for a discovered MAC (inside the caller's transaction) and returns its
 * id: the machine that has the MAC, else a new one shaped by the matching group. A MAC is never
 * attached here: a UUID the client claims is no proof (NIC swaps are the DHCP server's
 * `nicSwap` decision, made before discovery).
 */
export function enrollDiscovered(store: Store, d: DiscoveredClient): number {
  const known = store.machines.findByMac(d.mac);
  if (known) return known.id;
  const c = candidateOfClient(d);
  const g = groupForClient(store.groups.parsed(), c);
  const hex = d.mac.replaceAll(':', '');
  const facts = {
    arch: d.arch,
    vendorClass: d.vendorClass,
    relayAgent: d.circuitId || d.remoteId ? { circuitId: d.circuitId ?? null, remoteId: d.remoteId ?? null } : null,
    ...(d.uuid ? { uuid: d.uuid } : {}),
    ...(g ? { group: g.name } : {}),
  };
  if (!g || g.enroll !== 'auto') {
    const m = store.machines.create({ name: `discovered-${hex}`, macs: [d.mac], state: 'discovered', facts, ...(d.uuid ? { uuid: d.uuid } : {}) });
    if (g) store.unknownMacs.markPending(d.mac, g.name, d.uuid ?? null);
    return m.id;
  }
  const wanted = g.hostnameTemplate ? renderHostname(g.hostnameTemplate, c, g.name) : undefined;
  const fallback = `${g.name}-${hex}`.slice(0, 63);
  const name = wanted && !store.machines.find(wanted) ? wanted : fallback;
  const m = store.machines.create({ name, macs: [d.mac], state: 'registered', profile: g.profile, labels: g.labels, facts, ...(d.uuid ? { uuid: d.uuid } : {}) });
  store.events.add({ mac: d.mac, machineId: m.id, source: 'dhcp', kind: 'machine.enrolled', detail: { group: g.name, profile: g.profile, name } });
  return m.id;
}

/** What an operator gives when enrolling an unknown MAC. */
export interface EnrollRequest {
  name: string;
  labels?: Record<string, string> | undefined;
  profile?: string | null | undefined;
}

/**
 * `unknown enroll` of a matched-but-pending MAC (already a `discovered` machine): that machine
 * becomes `registered` with the operator's name, and the profile and labels given, else the
 * matched group's. Undefined when the MAC is not such a machine (the caller creates one).
 */
export function enrollPending(store: Store, mac: string, req: EnrollRequest, by: string | null): Machine | undefined {
  const owner = store.machines.findByMac(mac);
  const seen = store.unknownMacs.find(mac);
  if (owner?.state !== 'discovered' || !seen?.matchedGroup) return undefined;
  const group = store.groups.find(seen.matchedGroup);
  const labels = { ...(group?.labels ?? {}), ...(req.labels ?? {}) };
  const profile = req.profile ?? group?.profile ?? null;
  const m = store.machines.update(owner.id, { name: req.name, labels, profile, state: 'registered' });
  store.unknownMacs.remove(mac);
  store.events.add({ mac, machineId: m.id, source: 'api', kind: 'machine.enrolled', detail: { name: m.name, group: seen.matchedGroup, profile, by } });
  return m;
}
