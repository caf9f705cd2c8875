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
 * The machine a booting client is (by MAC, else UUID, else serial). With `attach`, a machine
 * found by UUID or serial gets the asking MAC attached (a NIC swap keeps the machine), traced
 * as `machine.mac-attached`. Option 97 and iPXE's ${uuid} are what the client claims, as its
 * MAC is: the same trust, no less and no more.
 */
export function findMachineByIdentity(store: Store, id: MachineIdentity, opts: { attach?: boolean; source?: string } = {}): Machine | undefined {
  const found = store.machines.findByIdentity(id);
  if (!found) return undefined;
  const { machine, by } = found;
  if (opts.attach && by !== 'mac' && id.mac && store.machines.attachMac(machine.id, id.mac)) {
    store.events.add({ mac: id.mac, machineId: machine.id, source: opts.source ?? 'inventory', kind: 'machine.mac-attached', detail: { by, uuid: id.uuid ?? null, serial: id.serial ?? null, macs: machine.macs } });
    return store.machines.get(machine.id);
  }
  return machine;
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
