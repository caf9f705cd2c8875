import { validateProfileSpec } from '../config/validate.js';
import { AppError, isAppError } from '../errors.js';
import type { InventoryFile } from '../http/schemas.js';
import { normalizeMac } from './mac.js';
import type { Store } from './store.js';

/** What an import changed. */
export interface ImportResult {
  profiles: { created: number; updated: number };
  machines: { created: number; updated: number };
}

/**
 * Applies a validated inventory file in one transaction: profiles and machines are created or
 * updated by name. Any failing entry rolls everything back and the error names the entry.
 */
export function importInventory(store: Store, file: InventoryFile): ImportResult {
  const result: ImportResult = { profiles: { created: 0, updated: 0 }, machines: { created: 0, updated: 0 } };
  // MACs listed twice across the file are caught before touching the database.
  const seen = new Map<string, string>();
  file.machines.forEach((m, i) => {
    for (const raw of m.macs) {
      const mac = at(`machines[${i}] (${m.name})`, () => normalizeMac(raw));
      const other = seen.get(mac);
      if (other) throw new AppError('CONFLICT', `machines[${i}] (${m.name}): MAC ${mac} is also listed for ${other}`);
      seen.set(mac, m.name);
    }
  });
  store.transaction(() => {
    file.profiles.forEach((p, i) =>
      at(`profiles[${i}] (${p.name})`, () => {
        // The same render check as POST /profiles: a profile that renders an invalid document never lands.
        validateProfileSpec(p.spec);
        if (store.profiles.find(p.name)) {
          store.profiles.update(p.name, p.spec);
          result.profiles.updated++;
        } else {
          store.profiles.create(p.name, p.spec);
          result.profiles.created++;
        }
      }),
    );
    file.machines.forEach((m, i) =>
      at(`machines[${i}] (${m.name})`, () => {
        const { bmc, ...fields } = m;
        if (fields.profile && !store.profiles.find(fields.profile)) {
          throw new AppError('BAD_INPUT', `profile ${fields.profile} does not exist`);
        }
        const existing = store.machines.find(m.name);
        const saved = existing ? store.machines.update(existing.id, fields) : store.machines.create(fields);
        if (existing) result.machines.updated++;
        else result.machines.created++;
        if (bmc) {
          const password = bmc.password ?? (store.bmcs.find(saved.id) ? store.bmcs.credentials(saved.id).password : undefined);
          if (!password) throw new AppError('BAD_INPUT', 'bmc.password is required for a new BMC');
          store.bmcs.set(saved.id, { ...bmc, password });
        }
      }),
    );
  });
  return result;
}

/** The inventory as a file (BMC passwords are never exported). */
export function exportInventory(store: Store): InventoryFile {
  return {
    profiles: store.profiles.list().map((p) => ({ name: p.name, spec: p.spec })),
    machines: store.machines.list().map((m) => {
      const bmc = store.bmcs.find(m.id);
      return {
        name: m.name,
        macs: m.macs,
        labels: m.labels,
        profile: m.profile,
        uuid: m.uuid,
        serial: m.serial,
        ipv4: m.ipv4,
        ...(bmc
          ? { bmc: { type: bmc.type, address: bmc.address, port: bmc.port, username: bmc.username, options: bmc.options } }
          : {}),
      };
    }),
  };
}

function at<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isAppError(e)) throw new AppError(e.code, `${where}: ${e.message}`, { details: e.details, cause: e });
    throw e;
  }
}
