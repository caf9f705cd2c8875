import { AppError } from '../errors.js';
import type { Db } from './db.js';
import { TableMemo, deepFreeze } from './table-watch.js';
import { Statements, nowIso } from './db.js';
import type { ProfileSpec } from '../model/profile-spec.js';
import type { SecretBox } from './secrets.js';
import {
  PROFILE_SECRET_PATHS,
  SEALED,
  type SecretParts,
  fillPlaceholders,
  hasPlaceholder,
  joinSecrets,
  openJson,
  sealJson,
  splitSecrets,
  stringLeaves,
  valueAt,
} from './sealing.js';

/** A named profile with its spec and a revision bumped on every change. */
export interface Profile {
  name: string;
  spec: ProfileSpec;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/** A profile with its secrets in clear: for the renderer and an admin's export only. */
export interface UnsealedProfile extends Profile {
  /** Every secret string of the spec (to redact them from rendered bodies). */
  secretValues: string[];
}

interface Row {
  name: string;
  /** The spec with every secret leaf replaced by SEALED. */
  spec: string;
  /** The secret subtrees (SecretParts JSON), sealed; null when the spec has none. */
  secrets: Buffer | null;
  revision: number;
  created_at: string;
  updated_at: string;
}

/** Masking again on read keeps a clear value out of any output even if one reached the column. */
const maskedSpec = (r: Row): ProfileSpec => splitSecrets(JSON.parse(r.spec) as ProfileSpec, PROFILE_SECRET_PATHS).masked;

const toProfile = (r: Row): Profile => ({
  name: r.name,
  spec: maskedSpec(r),
  revision: r.revision,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * Profiles: how groups of machines boot and which config they get. Secret subtrees of a spec
 * (PROFILE_SECRET_PATHS: the Talos cluster secrets) are sealed into their own column; every
 * read shows them as SEALED, and only unsealed() opens them.
 */
export class ProfileRepo {
  private readonly stmts: Statements;
  private readonly memo: TableMemo<string, Profile>;

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {
    this.stmts = new Statements(db);
    this.memo = new TableMemo(db, ['profiles']);
  }

  /** Like find, from memory while no profile row changed (the boot path: issue #21); shared and frozen. */
  findCached(name: string): Readonly<Profile> | undefined {
    return this.memo.get(name, () => {
      const p = this.find(name);
      return p && deepFreeze(p);
    });
  }

  /** A profile, secrets shown as SEALED. */
  find(name: string): Profile | undefined {
    const r = this.row(name);
    return r ? toProfile(r) : undefined;
  }

  /** Like find; a missing profile is NOT_FOUND. */
  get(name: string): Profile {
    const p = this.find(name);
    if (!p) throw new AppError('NOT_FOUND', `no profile ${JSON.stringify(name)}`);
    return p;
  }

  /** Every profile by name, secrets shown as SEALED. */
  list(): Profile[] {
    return (this.stmts.get('SELECT * FROM profiles ORDER BY name').all() as Row[]).map(toProfile);
  }

  /** The profile with its secrets opened: only for rendering configs and an admin's export. */
  unsealed(name: string): UnsealedProfile {
    const r = this.row(name);
    if (!r) throw new AppError('NOT_FOUND', `no profile ${JSON.stringify(name)}`);
    const secrets = openJson<SecretParts>(this.box, r.secrets);
    return { ...toProfile(r), spec: joinSecrets(JSON.parse(r.spec) as ProfileSpec, secrets), secretValues: stringLeaves(secrets) };
  }

  /**
   * `spec` with each SEALED secret leaf replaced by the stored profile's value (export → edit →
   * import round trip). BAD_INPUT when a placeholder has no stored value, e.g. for a new profile.
   */
  withStoredSecrets(name: string, spec: ProfileSpec): ProfileSpec {
    if (!PROFILE_SECRET_PATHS.some((p) => hasPlaceholder(valueAt(spec, p)))) return spec;
    const stored = this.row(name) ? this.unsealed(name).spec : undefined;
    return fillPlaceholders(spec, stored, PROFILE_SECRET_PATHS, 'spec');
  }

  /** Creates a profile (SEALED placeholders are refused: nothing is stored to keep). */
  create(name: string, spec: ProfileSpec): Profile {
    if (this.row(name)) throw new AppError('CONFLICT', `profile ${name} already exists`);
    const { masked, secrets } = this.seal(this.withStoredSecrets(name, spec));
    const now = nowIso();
    this.stmts.get('INSERT INTO profiles (name, spec, secrets, revision, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)').run(name, masked, secrets, now, now);
    return this.get(name);
  }

  /** Replaces the spec (SEALED leaves keep the stored secrets); the revision goes up only on a real change. */
  update(name: string, spec: ProfileSpec): Profile {
    const old = this.unsealed(name);
    const clear = this.withStoredSecrets(name, spec);
    if (JSON.stringify(old.spec) === JSON.stringify(clear)) return this.get(name);
    const { masked, secrets } = this.seal(clear);
    this.stmts.get('UPDATE profiles SET spec = ?, secrets = ?, revision = revision + 1, updated_at = ? WHERE name = ?').run(masked, secrets, nowIso(), name);
    return this.get(name);
  }

  /** Deletes a profile; refused while machines still use it. */
  remove(name: string): Profile {
    const p = this.get(name);
    const users = this.stmts.get('SELECT COUNT(*) FROM machines WHERE profile = ?', { value: true }).get(name) as number;
    if (users > 0) throw new AppError('CONFLICT', `profile ${name} is used by ${users} machine(s)`);
    this.stmts.get('DELETE FROM profiles WHERE name = ?').run(name);
    return p;
  }

  private row(name: string): Row | undefined {
    return this.stmts.get('SELECT * FROM profiles WHERE name = ?').get(name) as Row | undefined;
  }

  /** The column values for a clear spec: masked JSON and the sealed secret subtrees. */
  private seal(spec: ProfileSpec): { masked: string; secrets: Buffer | null } {
    const { masked, secrets } = splitSecrets(spec, PROFILE_SECRET_PATHS);
    if (secrets && stringLeaves(secrets).includes(SEALED)) {
      throw new AppError('BAD_INPUT', `a secret of the profile is the literal ${SEALED}`);
    }
    return { masked: JSON.stringify(masked), secrets: secrets ? sealJson(this.box, secrets) : null };
  }
}
