import { validateProfileSpec } from './validate.js';
import { AppError, isAppError } from '../errors.js';
import type { InventoryFile } from '../http/schemas.js';
import { normalizeMac } from '../model/mac.js';
import type { Store } from '../inventory/store.js';

/** What an import changed. */
export interface ImportResult {
  profiles: { created: number; updated: number };
  groups: { created: number; updated: number };
  machines: { created: number; updated: number };
}

/**
 * Applies a validated inventory file in one transaction: profiles and machines are created or
 * updated by name. Any failing entry rolls everything back and the error names the entry.
 */
export function importInventory(store: Store, file: InventoryFile): ImportResult {
  const result: ImportResult = { profiles: { created: 0, updated: 0 }, groups: { created: 0, updated: 0 }, machines: { created: 0, updated: 0 } };
  const groupNames = new Set<string>();
  file.groups.forEach((g, i) => {
    if (groupNames.has(g.name)) throw new AppError('CONFLICT', `groups[${i}] (${g.name}): the group is listed twice`);
    groupNames.add(g.name);
  });
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
        // `<sealed>` secrets (an export without secrets) keep the stored values; never the literal.
        const spec = store.profiles.withStoredSecrets(p.name, p.spec);
        // The same render check as POST /profiles: a profile that renders an invalid document never lands.
        validateProfileSpec(spec);
        if (store.profiles.find(p.name)) {
          store.profiles.update(p.name, spec);
          result.profiles.updated++;
        } else {
          store.profiles.create(p.name, spec);
          result.profiles.created++;
        }
      }),
    );
    // After the profiles they name; the whole resulting set is checked: an ambiguous pair is
    // refused naming both groups, and nothing of the file is kept.
    if (file.groups.length) result.groups = at('groups', () => store.groups.putAll(file.groups));
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
        // No password (or `<sealed>` options) keeps the stored ones only for an unchanged BMC address.
        if (bmc) store.bmcs.set(saved.id, bmc);
      }),
    );
  });
  return result;
}

/**
 * The inventory as a file. Secrets (Talos cluster secrets, IPMI Kg, groups' BMC passwords) are
 * `<sealed>` unless `withSecrets` (an admin's backup); machines' BMC passwords are never exported.
 */
export function exportInventory(store: Store, opts: { withSecrets?: boolean } = {}): InventoryFile {
  const withSecrets = opts.withSecrets === true;
  return {
    profiles: store.profiles.list().map((p) => ({ name: p.name, spec: withSecrets ? store.profiles.unsealed(p.name).spec : p.spec })),
    groups: exportGroups(store, withSecrets),
    machines: store.machines.list().map((m) => {
      const found = store.bmcs.find(m.id);
      const bmc = found && withSecrets ? { ...found, options: { ...found.options, ...store.bmcs.secretOptions(m.id) } } : found;
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

/** Groups as a file holds them; BMC passwords `<sealed>` unless `withSecrets`. */
function exportGroups(store: Store, withSecrets: boolean): InventoryFile['groups'] {
  const passwords = withSecrets ? store.groups.bmcPasswords() : {};
  return store.groups.list().map(({ createdAt: _c, updatedAt: _u, ...g }) => {
    const password = passwords[g.name];
    return g.bmc && password !== undefined ? { ...g, bmc: { ...g.bmc, password } } : g;
  });
}

function at<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isAppError(e)) throw new AppError(e.code, `${where}: ${e.message}`, { details: e.details, cause: e });
    throw e;
  }
}
