import { AppError } from '../errors.js';
import type { Db } from './db.js';
import { nowIso } from './db.js';
import type { ProfileSpec } from './profile-spec.js';

/** A named profile with its spec and a revision bumped on every change. */
export interface Profile {
  name: string;
  spec: ProfileSpec;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  name: string;
  spec: string;
  revision: number;
  created_at: string;
  updated_at: string;
}

const toProfile = (r: Row): Profile => ({
  name: r.name,
  spec: JSON.parse(r.spec) as ProfileSpec,
  revision: r.revision,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Profiles: how groups of machines boot and which config they get. */
export class ProfileRepo {
  constructor(private readonly db: Db) {}

  find(name: string): Profile | undefined {
    const r = this.db.prepare('SELECT * FROM profiles WHERE name = ?').get(name) as Row | undefined;
    return r ? toProfile(r) : undefined;
  }

  get(name: string): Profile {
    const p = this.find(name);
    if (!p) throw new AppError('NOT_FOUND', `no profile ${JSON.stringify(name)}`);
    return p;
  }

  list(): Profile[] {
    return (this.db.prepare('SELECT * FROM profiles ORDER BY name').all() as Row[]).map(toProfile);
  }

  create(name: string, spec: ProfileSpec): Profile {
    if (this.find(name)) throw new AppError('CONFLICT', `profile ${name} already exists`);
    const now = nowIso();
    this.db
      .prepare('INSERT INTO profiles (name, spec, revision, created_at, updated_at) VALUES (?, ?, 1, ?, ?)')
      .run(name, JSON.stringify(spec), now, now);
    return this.get(name);
  }

  /** Replaces the spec; the revision goes up only when the spec really changed. */
  update(name: string, spec: ProfileSpec): Profile {
    const p = this.get(name);
    if (JSON.stringify(p.spec) === JSON.stringify(spec)) return p;
    this.db
      .prepare('UPDATE profiles SET spec = ?, revision = revision + 1, updated_at = ? WHERE name = ?')
      .run(JSON.stringify(spec), nowIso(), name);
    return this.get(name);
  }

  /** Deletes a profile; refused while machines still use it. */
  remove(name: string): Profile {
    const p = this.get(name);
    const users = this.db.prepare('SELECT COUNT(*) FROM machines WHERE profile = ?').pluck().get(name) as number;
    if (users > 0) throw new AppError('CONFLICT', `profile ${name} is used by ${users} machine(s)`);
    this.db.prepare('DELETE FROM profiles WHERE name = ?').run(name);
    return p;
  }
}
