import { AppError } from '../errors.js';
import type { Db } from './db.js';
import { TableMemo, deepFreeze } from './table-watch.js';
import { Statements, nowIso } from './db.js';
import { normalizeMac } from '../model/mac.js';
import { type MachineIdentity, usableSerial, usableUuid } from './identity.js';
import { isRowId } from './row-ids.js';
import { type Requirement, matchesSelector, validateLabels } from './match.js';

/** Lifecycle states a machine moves through. */
export const MACHINE_STATES = [
  'registered',
  'discovered',
  'booting',
  'configured',
  'installing',
  'installed',
  'ready',
  'drifted',
  'failed',
] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

/** A machine as the inventory knows it. */
export interface Machine {
  id: number;
  name: string;
  labels: Record<string, string>;
  profile: string | null;
  state: MachineState;
  uuid: string | null;
  serial: string | null;
  ipv4: string | null;
  facts: Record<string, unknown>;
  macs: string[];
  createdAt: string;
  updatedAt: string;
}

/** Fields accepted when creating a machine. */
export interface NewMachine {
  name: string;
  macs: string[];
  labels?: Record<string, string>;
  profile?: string | null;
  state?: MachineState;
  uuid?: string | null;
  serial?: string | null;
  ipv4?: string | null;
  facts?: Record<string, unknown>;
}

/** Fields a patch may change; `macs` replaces the whole list. */
export type MachinePatch = Partial<Omit<NewMachine, 'name'>> & { name?: string };

interface Row {
  id: number;
  name: string;
  labels: string;
  profile: string | null;
  state: MachineState;
  uuid: string | null;
  serial: string | null;
  ipv4: string | null;
  facts: string;
  created_at: string;
  updated_at: string;
}

/** Machines and their interfaces (MAC → machine). */
export class MachineRepo {
  private readonly byId;
  private readonly byName;
  private readonly byMac;
  private readonly macsOf;
  private writes = 0;
  /** Machine written by each of the last writes (null: failed, treat as "anything changed"). */
  private changes: Array<number | null> = [];

  /**
   * Counts every create, update and remove (also ones rolled back): caches of machine data
   * (DHCP's host and reservation lookups) drop their answers when it moves.
   */
  get generation(): number {
    return this.writes;
  }

  /**
   * Ids of the machines written since `generation` (repeats possible), or undefined when that
   * is too far back to tell or a write failed: the caller then reloads everything.
   */
  changedSince(generation: number): number[] | undefined {
    const back = this.writes - generation;
    if (back < 0 || back > this.changes.length) return undefined;
    const ids = this.changes.slice(this.changes.length - back);
    return ids.includes(null) ? undefined : (ids as number[]);
  }

  /** Counts a write and remembers which machine it touched. */
  private track<T extends { id: number }>(write: () => T): T {
    this.writes++;
    let id: number | null = null;
    try {
      const m = write();
      id = m.id;
      return m;
    } finally {
      this.changes.push(id);
      if (this.changes.length > 4096) this.changes.splice(0, 2048);
    }
  }
  private readonly stmts: Statements;
  private readonly macMemo: TableMemo<string, Machine>;

  constructor(private readonly db: Db) {
    this.stmts = new Statements(db);
    this.macMemo = new TableMemo(db, ['machines', 'interfaces']);
    this.byId = db.prepare('SELECT * FROM machines WHERE id = ?');
    this.byName = db.prepare('SELECT * FROM machines WHERE name = ?');
    this.byMac = db.prepare('SELECT m.* FROM machines m JOIN interfaces i ON i.machine_id = m.id WHERE i.mac = ?');
    this.macsOf = db.prepare('SELECT mac FROM interfaces WHERE machine_id = ? ORDER BY position, mac').pluck();
  }

  private toMachine(r: Row): Machine {
    return {
      id: r.id,
      name: r.name,
      labels: JSON.parse(r.labels) as Record<string, string>,
      profile: r.profile,
      state: r.state,
      uuid: r.uuid,
      serial: r.serial,
      ipv4: r.ipv4,
      facts: JSON.parse(r.facts) as Record<string, unknown>,
      macs: this.macsOf.all(r.id) as string[],
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }

  /** Finds a machine by numeric id, name or any MAC form. */
  find(ref: string | number): Machine | undefined {
    let row: Row | undefined;
    if ((typeof ref === 'number' || /^\d+$/.test(ref)) && isRowId(Number(ref))) row = this.byId.get(Number(ref)) as Row | undefined;
    if (!row && typeof ref === 'string') row = this.byName.get(ref) as Row | undefined;
    if (!row && typeof ref === 'string') {
      let mac: string | undefined;
      try {
        mac = normalizeMac(ref);
      } catch {
        mac = undefined;
      }
      if (mac) row = this.byMac.get(mac) as Row | undefined;
    }
    return row ? this.toMachine(row) : undefined;
  }

  /** Like find, but a missing machine is a NOT_FOUND error. */
  get(ref: string | number): Machine {
    const m = this.find(ref);
    if (!m) throw new AppError('NOT_FOUND', `no machine ${JSON.stringify(String(ref))}`);
    return m;
  }

  /** The machine owning a canonical MAC, if any (hot path for DHCP/TFTP/HTTP). */
  findByMac(mac: string): Machine | undefined {
    const row = this.byMac.get(mac) as Row | undefined;
    return row ? this.toMachine(row) : undefined;
  }

  /**
   * Like findByMac, from memory while no machine or interface row changed (any write, by anyone
   * on this connection, or a commit of another connection, counts from the next lookup: a MAC
   * moved to another machine or removed is seen at once). The machine is shared and frozen.
   */
  findByMacCached(mac: string): Readonly<Machine> | undefined {
    return this.macMemo.get(mac, () => {
      const m = this.findByMac(mac);
      return m && deepFreeze(m);
    });
  }

  /**
   * The machine a booting client is, by any of its MACs, then its SMBIOS UUID, then its serial
   * (issue #19). UUIDs firmware vendors leave unset (all zeros, all ones) and serials shared by
   * several machines identify nobody.
   */
  findByIdentity(id: MachineIdentity): { machine: Machine; by: 'mac' | 'uuid' | 'serial' } | undefined {
    const byMac = id.mac ? this.findByMac(id.mac) : undefined;
    if (byMac) return { machine: byMac, by: 'mac' };
    const uuid = usableUuid(id.uuid);
    if (uuid) {
      const rows = this.stmts.get('SELECT * FROM machines WHERE lower(uuid) = ? LIMIT 2').all(uuid) as Row[];
      if (rows.length === 1) return { machine: this.toMachine(rows[0]!), by: 'uuid' };
    }
    const serial = usableSerial(id.serial);
    if (serial) {
      const rows = this.stmts.get('SELECT * FROM machines WHERE serial = ? LIMIT 2').all(serial) as Row[];
      if (rows.length === 1) return { machine: this.toMachine(rows[0]!), by: 'serial' };
    }
    return undefined;
  }

  /** Machine ids by usable UUID (lower-case) and serial, for in-memory lookups (DHCP). */
  identities(id?: number): Array<{ id: number; uuid: string | null; serial: string | null }> {
    const sql = 'SELECT id, lower(uuid) AS uuid, serial FROM machines WHERE (uuid IS NOT NULL OR serial IS NOT NULL)';
    const rows = (id === undefined ? this.stmts.get(sql).all() : this.stmts.get(`${sql} AND id = ?`).all(id)) as Array<{ id: number; uuid: string | null; serial: string | null }>;
    return rows.map((r) => ({ id: r.id, uuid: usableUuid(r.uuid ?? undefined) ?? null, serial: usableSerial(r.serial ?? undefined) ?? null }));
  }

  /**
   * Adds a MAC to a machine found by UUID or serial (a NIC swap, a second port). A MAC another
   * machine has is a CONFLICT; one the machine has already changes nothing (returns false).
   */
  attachMac(ref: string | number, rawMac: string): boolean {
    const mac = normalizeMac(rawMac);
    let added = false;
    this.track(() =>
      this.db.transaction(() => {
        const m = this.get(ref);
        if (m.macs.includes(mac)) return m;
        this.assertMacsFree([mac], m.id);
        this.stmts.get('INSERT INTO interfaces (mac, machine_id, position) VALUES (?, ?, ?)').run(mac, m.id, m.macs.length);
        this.stmts.get('UPDATE machines SET updated_at = ? WHERE id = ?').run(nowIso(), m.id);
        added = true;
        return m;
      })(),
    );
    return added;
  }

  /** The machine holding a reserved address, if any. */
  findByIpv4(ip: string): Machine | undefined {
    const row = this.stmts.get('SELECT * FROM machines WHERE ipv4 = ?').get(ip) as Row | undefined;
    return row ? this.toMachine(row) : undefined;
  }

  /** All machines ordered by name, filtered by a parsed label selector. */
  list(selector: Requirement[] = []): Machine[] {
    const rows = this.stmts.get('SELECT * FROM machines ORDER BY name').all() as Row[];
    return rows.map((r) => this.toMachine(r)).filter((m) => matchesSelector(m.labels, selector));
  }

  /** Creates a machine with its interfaces; a duplicate name or MAC is a CONFLICT. */
  create(input: NewMachine): Machine {
    return this.track(() => this.insert(input));
  }

  private insert(input: NewMachine): Machine {
    validateLabels(input.labels ?? {});
    const macs = input.macs.map(normalizeMac);
    const now = nowIso();
    return this.db.transaction(() => {
      if (this.byName.get(input.name)) throw new AppError('CONFLICT', `machine name ${input.name} already exists`);
      this.assertMacsFree(macs);
      this.assertIpFree(input.ipv4 ?? null);
      const id = this.stmts.get(
        `INSERT INTO machines (name, labels, profile, state, uuid, serial, ipv4, facts, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        { value: true },
      ).get(
          input.name,
          JSON.stringify(input.labels ?? {}),
          input.profile ?? null,
          input.state ?? 'registered',
          input.uuid ?? null,
          input.serial ?? null,
          input.ipv4 ?? null,
          JSON.stringify(input.facts ?? {}),
          now,
          now,
        ) as number;
      this.setMacs(id, macs);
      return this.get(id);
    })();
  }

  /** Applies a patch; labels and facts replace the old maps. */
  update(ref: string | number, patch: MachinePatch): Machine {
    return this.track(() => this.patch(ref, patch));
  }

  private patch(ref: string | number, patch: MachinePatch): Machine {
    return this.db.transaction(() => {
      const m = this.get(ref);
      if (patch.labels) validateLabels(patch.labels);
      if (patch.name !== undefined && patch.name !== m.name && this.byName.get(patch.name)) {
        throw new AppError('CONFLICT', `machine name ${patch.name} already exists`);
      }
      if (patch.ipv4 !== undefined && patch.ipv4 !== m.ipv4) this.assertIpFree(patch.ipv4, m.id);
      const next = { ...m, ...stripUndefined(patch) };
      this.stmts.get(
        `UPDATE machines SET name = ?, labels = ?, profile = ?, state = ?, uuid = ?, serial = ?, ipv4 = ?,
         facts = ?, updated_at = ? WHERE id = ?`,
      ).run(
          next.name,
          JSON.stringify(next.labels),
          next.profile ?? null,
          next.state,
          next.uuid ?? null,
          next.serial ?? null,
          next.ipv4 ?? null,
          JSON.stringify(next.facts),
          nowIso(),
          m.id,
        );
      if (patch.macs) {
        const macs = patch.macs.map(normalizeMac);
        this.assertMacsFree(macs, m.id);
        this.stmts.get('DELETE FROM interfaces WHERE machine_id = ?').run(m.id);
        this.setMacs(m.id, macs);
      }
      return this.get(m.id);
    })();
  }

  /** Deletes a machine, its interfaces and BMC; events stay for the record. */
  remove(ref: string | number): Machine {
    return this.track(() => {
      const m = this.get(ref);
      this.stmts.get('DELETE FROM machines WHERE id = ?').run(m.id);
      return m;
    });
  }

  private setMacs(id: number, macs: string[]): void {
    const ins = this.stmts.get('INSERT INTO interfaces (mac, machine_id, position) VALUES (?, ?, ?)');
    macs.forEach((mac, i) => ins.run(mac, id, i));
  }

  private assertMacsFree(macs: string[], exceptMachine?: number): void {
    if (new Set(macs).size !== macs.length) throw new AppError('BAD_INPUT', 'the same MAC is listed twice');
    for (const mac of macs) {
      const owner = this.stmts.get('SELECT machine_id FROM interfaces WHERE mac = ?', { value: true }).get(mac) as
        | number
        | undefined;
      if (owner !== undefined && owner !== exceptMachine) {
        throw new AppError('CONFLICT', `MAC ${mac} already belongs to machine ${owner}`, { details: { mac } });
      }
    }
  }

  private assertIpFree(ip: string | null, exceptMachine?: number): void {
    if (!ip) return;
    const owner = this.findByIpv4(ip);
    if (owner && owner.id !== exceptMachine) {
      throw new AppError('CONFLICT', `address ${ip} is already reserved for ${owner.name}`);
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
