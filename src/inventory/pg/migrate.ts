import { AppError } from '../../errors.js';
import { MIGRATIONS, type Migration } from '../migrations/index.js';
import type { SecretBox } from '../secrets.js';
import type { PgDb } from './pg-db.js';

/** pg_advisory_xact_lock key of schema changes ('rkbt' 'migr' as two int4s, one bigint). */
const MIGRATE_LOCK = '8287298052493502834';

/** A migration step may take this long (a big table's index), and its lock wait as long. */
const STEP_DEADLINE_MS = 120_000;

/**
 * Applies the PostgreSQL text (`pg`) of every pending migration, each step in its own transaction
 * that first takes a transaction-scoped advisory lock, so appliances starting together on one
 * database migrate one after the other and each step runs once. The applied versions are rows of
 * rackboot_schema. Refuses a database newer than this binary (like SQLite's user_version check)
 * and a step without PostgreSQL text. Returns the schema version.
 */
export function migratePg(db: PgDb, migrations: ReadonlyArray<Migration> = MIGRATIONS): number {
  const max = migrations.at(-1)?.version ?? 0;
  for (;;) {
    const applied = db.transaction(() => {
      db.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK], { deadlineMs: STEP_DEADLINE_MS });
      db.execRaw(
        `CREATE TABLE IF NOT EXISTS rackboot_schema (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS rackboot_meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL)`,
      );
      const current = Number(db.query('SELECT COALESCE(max(version), 0) FROM rackboot_schema', [], { array: true }).rows.flat()[0]);
      if (current > max) {
        throw new AppError('DATABASE', `${db.name}: database schema ${current} is newer than this rackboot (max ${max}); upgrade rackboot`, {
          details: { store: db.name, version: current, maxVersion: max },
        });
      }
      const next = migrations.find((m) => m.version > current);
      if (!next) return current;
      if (next.pg === undefined) {
        throw new AppError('DATABASE', `migration ${next.version} has no PostgreSQL text: this rackboot cannot bring ${db.name} past schema ${current}`, {
          details: { store: db.name, version: next.version },
        });
      }
      if (next.pg.trim()) db.execRaw(next.pg, STEP_DEADLINE_MS);
      db.query('INSERT INTO rackboot_schema (version, applied_at) VALUES ($1, $2)', [next.version, new Date().toISOString()]);
      return undefined;
    })();
    if (applied !== undefined) return applied;
  }
}

/** The sealed check value's row in rackboot_meta, and what it opens to. */
const KEY_CHECK = 'secret_key_check';
const KEY_CHECK_TEXT = 'rackboot secret.key check';

/**
 * Appliances sharing one PostgreSQL must seal with the same secret.key (each has its own data
 * dir): the first to start stores a value sealed with its key, every later start must open it.
 * Refuses to start otherwise, before anything is sealed with the wrong key.
 */
export function checkSecretKey(db: PgDb, box: SecretBox, keyFile: string): void {
  db.query('INSERT INTO rackboot_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [KEY_CHECK, box.seal(KEY_CHECK_TEXT)]);
  const sealed = db.query('SELECT value FROM rackboot_meta WHERE name = $1', [KEY_CHECK], { array: true }).rows.flat()[0] as Buffer;
  let opened: string | undefined;
  try {
    opened = box.open(sealed);
  } catch {
    opened = undefined;
  }
  if (opened !== KEY_CHECK_TEXT) {
    throw new AppError(
      'SETTINGS',
      `${keyFile} does not open the secrets in ${db.name}: appliances sharing one PostgreSQL database need the same secret.key. Copy it from an appliance already using this database (0600) and start again`,
      { details: { store: db.name, keyFile } },
    );
  }
}
