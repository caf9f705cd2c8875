import { AppError } from '../errors.js';
import { findAmbiguity } from '../model/group-match.js';
import { type Group, type ParsedGroup, groupSchema, parseGroup } from '../model/group.js';
import type { Db } from './db.js';
import { nowIso } from './db.js';
import type { SecretBox } from './secrets.js';
import { SEALED } from './sealing.js';

/** A group as stored and shown: the BMC password is never in it (SEALED when one is stored). */
export interface StoredGroup extends Group {
  createdAt: string;
  updatedAt: string;
}

/** A group's BMC credentials in clear: for BMC discovery only, never for output. */
export interface GroupBmcCredentials {
  type: 'ipmi' | 'redfish';
  port: number | null;
  username: string;
  password: string;
}

interface Row {
  name: string;
  doc: string;
  bmc_secret: Buffer | null;
  created_at: string;
  updated_at: string;
}

/**
 * Groups (matchbox-like, issue #19) in the inventory. Every write checks the whole resulting
 * set with findAmbiguity (two groups of equal specificity that one machine could match are a
 * CONFLICT naming both) and that the profile exists; a failed write changes nothing.
 */
export class GroupRepo {
  private writes = 0;
  private cache: { generation: number; groups: ParsedGroup[] } | undefined;

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /** Counts writes: matchers holding parsed groups reload when it moves. */
  get generation(): number {
    return this.writes;
  }

  /** Every group by name, BMC passwords SEALED. */
  list(): StoredGroup[] {
    return (this.db.prepare('SELECT * FROM machine_groups ORDER BY name').all() as Row[]).map(toStored);
  }

  find(name: string): StoredGroup | undefined {
    const r = this.row(name);
    return r ? toStored(r) : undefined;
  }

  get(name: string): StoredGroup {
    const g = this.find(name);
    if (!g) throw new AppError('NOT_FOUND', `no group ${JSON.stringify(name)}`);
    return g;
  }

  /** Every group with its selectors parsed (for the matcher), cached until the next write. */
  parsed(): ParsedGroup[] {
    if (this.cache?.generation !== this.writes) {
      this.cache = { generation: this.writes, groups: this.list().map((g) => parseGroup(groupSchema.parse(strip(g)))) };
    }
    return this.cache.groups;
  }

  /** Creates or replaces one group; returns it and whether it is new. */
  put(input: Group): { group: StoredGroup; created: boolean } {
    const r = this.putAll([input]);
    return { group: this.get(input.name), created: r.created === 1 };
  }

  /**
   * Creates or replaces several groups in one transaction (an import), then checks the whole
   * set: an ambiguous pair or a missing profile rolls everything back.
   */
  putAll(inputs: Group[]): { created: number; updated: number } {
    const out = { created: 0, updated: 0 };
    this.writes++;
    this.db.transaction(() => {
      for (const g of inputs) {
        const old = this.row(g.name);
        this.write(g, old);
        if (old) out.updated++;
        else out.created++;
      }
      this.check();
    })();
    return out;
  }

  /** Deletes a group (machines it enrolled keep what they got). */
  remove(name: string): StoredGroup {
    const g = this.get(name);
    this.writes++;
    this.db.prepare('DELETE FROM machine_groups WHERE name = ?').run(name);
    return g;
  }

  /** The group's BMC credentials in clear, or undefined when it has none. */
  bmcCredentials(name: string): GroupBmcCredentials | undefined {
    const r = this.row(name);
    if (!r?.bmc_secret) return undefined;
    const bmc = (JSON.parse(r.doc) as Group).bmc;
    if (!bmc) return undefined;
    return { type: bmc.type, port: bmc.port ?? null, username: bmc.username, password: this.box.open(r.bmc_secret) };
  }

  /** The BMC passwords in clear by group (an admin's export with secrets). */
  bmcPasswords(): Record<string, string> {
    const rows = this.db.prepare('SELECT name, bmc_secret FROM machine_groups WHERE bmc_secret IS NOT NULL').all() as Row[];
    return Object.fromEntries(rows.map((r) => [r.name, this.box.open(r.bmc_secret!)]));
  }

  private row(name: string): Row | undefined {
    return this.db.prepare('SELECT * FROM machine_groups WHERE name = ?').get(name) as Row | undefined;
  }

  /** A password left out or SEALED keeps the stored one; SEALED with nothing stored is refused. */
  private write(g: Group, old: Row | undefined): void {
    let secret: Buffer | null = null;
    if (g.bmc) {
      const pw = g.bmc.password;
      if (pw !== undefined && pw !== SEALED) secret = this.box.seal(pw);
      else if (old?.bmc_secret) secret = old.bmc_secret;
      else throw new AppError('BAD_INPUT', `group ${g.name}: bmc.password is required (none is stored)`, { details: [{ path: 'bmc.password', message: 'required' }] });
    }
    const { bmc, ...rest } = g;
    const doc = JSON.stringify({ ...rest, bmc: bmc ? { type: bmc.type, port: bmc.port ?? null, username: bmc.username } : null });
    const now = nowIso();
    this.db
      .prepare(
        `INSERT INTO machine_groups (name, doc, bmc_secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, bmc_secret = excluded.bmc_secret, updated_at = excluded.updated_at`,
      )
      .run(g.name, doc, secret, now, now);
  }

  /** The stored set must name existing profiles and hold no ambiguous pair. */
  private check(): void {
    const all = this.list();
    for (const g of all) {
      if (g.profile && !this.db.prepare('SELECT 1 FROM profiles WHERE name = ?').get(g.profile)) {
        throw new AppError('BAD_INPUT', `group ${g.name}: profile ${g.profile} does not exist`);
      }
    }
    const pair = findAmbiguity(all.map((g) => parseGroup(groupSchema.parse(strip(g)))));
    if (pair) {
      const [a, b] = pair;
      const sel = (x: ParsedGroup) => JSON.stringify(all.find((g) => g.name === x.name)?.selectors ?? []);
      throw new AppError(
        'CONFLICT',
        `groups ${a.name} and ${b.name} are ambiguous: one machine could match both with the same specificity (${a.name}: ${sel(a)}, ${b.name}: ${sel(b)}); add a selector that tells them apart`,
        { details: { groups: [a.name, b.name] } },
      );
    }
  }
}

function toStored(r: Row): StoredGroup {
  const doc = JSON.parse(r.doc) as Group;
  const bmc = doc.bmc ? { ...doc.bmc, ...(r.bmc_secret ? { password: SEALED } : {}) } : null;
  return { ...doc, bmc, createdAt: r.created_at, updatedAt: r.updated_at };
}

/** The group fields of a stored group (what the schema takes). */
function strip(g: StoredGroup): Group {
  const { createdAt: _c, updatedAt: _u, ...rest } = g;
  return rest;
}
