/** Identity beyond MAC (issue #19): which UUIDs and serials can name one machine. */
import type { Machine } from './machines.js';
import type { Store } from './store.js';

/** What a booting client tells about itself: the MAC asking, option 97 / iPXE ${uuid}, iPXE ${serial}. */
export interface MachineIdentity {
  mac?: string | undefined;
  uuid?: string | undefined;
  serial?: string | undefined;
}

/** A UUID that names one machine: canonical lower-case, not all zeros or all ones. */
export function usableUuid(raw: string | undefined): string | undefined {
  const hex = raw?.trim().toLowerCase().replace(/^\{|\}$/g, '').replaceAll('-', '');
  if (!hex || !/^[0-9a-f]{32}$/.test(hex) || /^(0{32}|f{32})$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A serial that can name one machine (firmware placeholders such as "To Be Filled By O.E.M." do not). */
export function usableSerial(raw: string | undefined): string | undefined {
  const s = raw?.trim();
  if (!s || s.length > 128 || /^(0+|none|n\/a|default string|to be filled by o\.e\.m\.|system serial number|not specified|0123456789)$/i.test(s)) return undefined;
  return s;
}

/**
 * The machine a client's UUID or serial names when its MAC is unknown: a NIC swap, or someone
 * claiming that machine (option 97 and iPXE's ${uuid} are only what the client says). Never a
 * reason to answer as that machine: the caller refuses and traces the claim; an operator
 * confirms a real swap (POST /api/v1/machines/:ref/macs).
 */
export function claimedMachine(store: Store, id: Omit<MachineIdentity, 'mac'>): { machine: Machine; by: 'uuid' | 'serial' } | undefined {
  if (!id.uuid && !id.serial) return undefined;
  const found = store.machines.findByIdentity({ uuid: id.uuid, serial: id.serial });
  return found && found.by !== 'mac' ? { machine: found.machine, by: found.by } : undefined;
}

/**
 * The `uuid` and `serial` of a boot script request (iPXE fills `${uuid}` and
 * `${serial:uristring}` into the URL rackboot hands it); empty or oversized values are left out.
 */
export function identityQuery(query: unknown): { uuid?: string; serial?: string } {
  const q = (query ?? {}) as Record<string, unknown>;
  const pick = (v: unknown) => (typeof v === 'string' && v.trim() && v.length <= 128 ? v.trim() : undefined);
  const uuid = pick(q.uuid);
  const serial = pick(q.serial);
  return { ...(uuid ? { uuid } : {}), ...(serial ? { serial } : {}) };
}
