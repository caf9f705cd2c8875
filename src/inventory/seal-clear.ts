import { type Db, sqliteOf } from './db.js';
import type { SecretBox } from './secrets.js';
import { BMC_SECRET_OPTIONS, PROFILE_SECRET_PATHS, SEALED, type SecretParts, openJson, sealJson, splitSecrets, stringLeaves } from './sealing.js';

/** How many rows sealClearSecrets sealed, per table. */
export interface SealedCounts {
  profiles: number;
  bmcs: number;
  versions: number;
}

/**
 * Seals what an older database (before migration 009) holds in clear: Talos secrets in profile
 * specs, the IPMI Kg in BMC options, rendered config bodies. Runs at every open and finds
 * nothing to do once done. SQLite: freed pages are zeroed (secure_delete) and the WAL is
 * truncated after, so no clear copy stays in the files. PostgreSQL has neither: a new database
 * starts at the current schema and holds nothing in clear, so there is nothing to do there.
 */
export function sealClearSecrets(db: Db, box: SecretBox): SealedCounts {
  const counts: SealedCounts = { profiles: 0, bmcs: 0, versions: 0 };
  const kgWhere = BMC_SECRET_OPTIONS.map((k) => `json_extract(options, '$.${k}') IS NOT NULL`).join(' OR ');
  const pending =
    (db.prepare(`SELECT count(*) FROM profiles WHERE secrets IS NULL AND (${PROFILE_WHERE})`).pluck().get() as number) +
    (db.prepare(`SELECT count(*) FROM bmcs WHERE option_secrets IS NULL AND (${kgWhere})`).pluck().get() as number) +
    (db.prepare('SELECT count(*) FROM config_versions WHERE sealed = 0').pluck().get() as number);
  const sqlite = sqliteOf(db);
  if (pending === 0 || !sqlite) return counts;
  const secureDelete = sqlite.pragma('secure_delete', { simple: true }) as number;
  sqlite.pragma('secure_delete = ON');
  try {
    db.transaction(() => {
      counts.profiles = sealProfiles(db, box);
      counts.bmcs = sealBmcOptions(db, box, kgWhere);
      counts.versions = sealVersions(db, box);
    })();
  } finally {
    sqlite.pragma(`secure_delete = ${secureDelete}`);
  }
  if (counts.profiles + counts.bmcs + counts.versions > 0) sqlite.pragma('wal_checkpoint(TRUNCATE)');
  return counts;
}

/** Profiles whose spec has a secret subtree: only those can hold one in clear. */
const PROFILE_WHERE = PROFILE_SECRET_PATHS.map((p) => `json_extract(spec, '$.${p.join('.')}') IS NOT NULL`).join(' OR ');

function sealProfiles(db: Db, box: SecretBox): number {
  const rows = db.prepare(`SELECT name, spec FROM profiles WHERE secrets IS NULL AND (${PROFILE_WHERE})`).all() as Array<{ name: string; spec: string }>;
  const update = db.prepare('UPDATE profiles SET spec = ?, secrets = ? WHERE name = ?');
  let n = 0;
  for (const r of rows) {
    const { masked, secrets } = splitSecrets(JSON.parse(r.spec) as unknown, PROFILE_SECRET_PATHS);
    if (!secrets || stringLeaves(secrets).every((v) => v === SEALED)) continue;
    update.run(JSON.stringify(masked), sealJson(box, secrets), r.name);
    n++;
  }
  return n;
}

function sealBmcOptions(db: Db, box: SecretBox, kgWhere: string): number {
  const rows = db
    .prepare(`SELECT machine_id, options FROM bmcs WHERE option_secrets IS NULL AND (${kgWhere})`)
    .all() as Array<{ machine_id: number; options: string }>;
  const update = db.prepare('UPDATE bmcs SET options = ?, option_secrets = ? WHERE machine_id = ?');
  for (const r of rows) {
    const options = JSON.parse(r.options) as Record<string, unknown>;
    const secrets: Record<string, unknown> = {};
    for (const k of BMC_SECRET_OPTIONS) {
      if (options[k] === undefined || options[k] === SEALED) continue;
      secrets[k] = options[k];
      options[k] = SEALED;
    }
    update.run(JSON.stringify(options), Object.keys(secrets).length ? sealJson(box, secrets) : null, r.machine_id);
  }
  return rows.length;
}

/** Old versions record no secrets of their own: their profile's current ones are the best guess. */
function sealVersions(db: Db, box: SecretBox): number {
  const profileSecrets = new Map<string, string[]>();
  const secretsOf = (profile: string): string[] => {
    let s = profileSecrets.get(profile);
    if (!s) {
      const sealed = db.prepare('SELECT secrets FROM profiles WHERE name = ?').pluck().get(profile) as Buffer | null | undefined;
      s = stringLeaves(openJson<SecretParts>(box, sealed));
      profileSecrets.set(profile, s);
    }
    return s;
  };
  // One row at a time: a body can be large, and better-sqlite3 cannot write during an iteration.
  const ids = db.prepare('SELECT id FROM config_versions WHERE sealed = 0 ORDER BY id').pluck().all() as number[];
  const read = db.prepare('SELECT body, profile FROM config_versions WHERE id = ?');
  const update = db.prepare('UPDATE config_versions SET body = ?, sealed = 1, secrets = ? WHERE id = ?');
  for (const id of ids) {
    const r = read.get(id) as { body: Buffer; profile: string };
    const secrets = secretsOf(r.profile);
    update.run(box.sealBytes(r.body), secrets.length ? sealJson(box, secrets) : null, id);
  }
  return ids.length;
}
