/**
 * Boot identity binding at the edges (HTTP boot script, GRUB over HTTP and TFTP, config fetch,
 * reports): gathers what rackboot knows about the requester, asks the pure policy in
 * binding.ts, and records a refusal on the victim's trace (`security.refused`, with the
 * requester's address), in the refusal counters and in the log.
 */
import { AppError } from '../errors.js';
import type { Machine } from '../inventory/machines.js';
import type { Store } from '../inventory/store.js';
import type { Logger } from '../log.js';
import { neighbourMacOf } from '../net/client-mac.js';
import { type BindingVerdict, type BootBindingMode, checkBinding, normalizeSourceAddress } from './binding.js';
import { EVENT } from '../lifecycle/event-kinds.js';

/** What is being handed out or changed (the `what` of a `security.refused` event). */
export type BoundResource = 'boot-script' | 'grub-config' | 'grub-beacon' | 'config' | 'report';

/** What the check needs; AppDeps and GrubDeps satisfy it. */
export interface IdentityDeps {
  store: Store;
  log?: Logger;
  /** Milliseconds since the epoch (tests inject a clock). */
  now?: () => number;
  /** Neighbour-table lookup (tests inject one); default: the kernel's /proc/net/arp. */
  neighbourMac?: (ip: string, maxAgeMs: number) => string | undefined;
}

/** One request to check: the machine it is about, where it came from, over what. */
export interface BoundRequest {
  machine: Pick<Machine, 'id' | 'name' | 'macs' | 'profile'>;
  /** The request's source address (req.ip, the TFTP peer); `::ffff:` forms are accepted. */
  source: string;
  what: BoundResource;
  /** Event source of the trace row: http, tftp, grub, agent. */
  via: string;
  /** The MAC the request named, when it named one (else the machine's first MAC). */
  mac?: string | undefined;
}

/** The profile's `bootBinding` (default on; an unreadable or missing profile stays on). */
export function bindingModeOf(store: Store, profile: string | null): BootBindingMode {
  if (!profile) return 'on';
  const v = (store.profiles.findCached(profile)?.spec as { bootBinding?: unknown } | undefined)?.bootBinding;
  return v === 'off' ? 'off' : 'on';
}

/** Checks the binding; a refusal is traced, counted and logged before it is returned. */
export function checkSource(deps: IdentityDeps, r: BoundRequest): BindingVerdict {
  const source = normalizeSourceAddress(r.source);
  const now = (deps.now ?? Date.now)();
  const neighbour = deps.neighbourMac ?? neighbourMacOf;
  const binding = bindingModeOf(deps.store, r.machine.profile);
  const evidence = (maxAgeMs: number) => {
    const neighbourMac = neighbour(source, maxAgeMs);
    // An on-link source's neighbour entry decides alone (binding.ts, rules 3 and 4): no lease or sighting is read.
    if (neighbourMac !== undefined) return { binding, macs: r.machine.macs, source, neighbourMac };
    const lease = deps.store.leases.get(source);
    return {
      binding,
      macs: r.machine.macs,
      source,
      lease: lease ? { mac: lease.mac, active: lease.state === 'active' && lease.expiresAt > now } : undefined,
      sightings: r.machine.macs.flatMap((m) => deps.store.sightings.get(m)?.address ?? []),
    };
  };
  let verdict = checkBinding(evidence(1000));
  // The cached neighbour table may predate this client (or an address that just moved): re-read once.
  if (!verdict.ok && verdict.reason !== 'not-ipv4') verdict = checkBinding(evidence(0));
  if (!verdict.ok) {
    const mac = r.mac ?? r.machine.macs[0] ?? null;
    const detail = { what: r.what, reason: verdict.reason, client: source };
    deps.store.events.add({ mac, machineId: r.machine.id, source: r.via, kind: EVENT.securityRefused, detail });
    deps.store.sightings.countRefusal(r.machine.id, verdict.reason);
    deps.log?.warn({ subsys: 'binding', machine: r.machine.name, mac, ...detail }, 'request refused: source is not bound to the machine');
  }
  return verdict;
}

/** Like checkSource; a refusal throws FORBIDDEN (403) naming the reason. */
export function requireBoundSource(deps: IdentityDeps, r: BoundRequest): void {
  const v = checkSource(deps, r);
  if (!v.ok) {
    // No machine name in the answer: the requester is, by definition, not that machine.
    throw new AppError('FORBIDDEN', `${r.what} refused: ${normalizeSourceAddress(r.source)} is not bound to this machine (${v.reason})`, {
      details: { reason: v.reason },
    });
  }
}
