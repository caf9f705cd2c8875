/**
 * Migration 008: a machine id is never reused, and what belongs to a machine goes with it.
 *
 * `INTEGER PRIMARY KEY` alone hands a deleted machine's id (the largest one) to the next machine,
 * which then inherited the old machine's config tokens and versions (issue #15). AUTOINCREMENT
 * keeps the high-water mark in sqlite_sequence, so ids only grow. Config versions and tokens now
 * reference the machine with ON DELETE CASCADE.
 *
 * SQLite cannot change a column's constraints in place: each table is rebuilt with the 12-step
 * procedure of https://www.sqlite.org/lang_altertable.html (create new_X, copy, drop X, rename).
 * It must run with foreign_keys OFF, or dropping `machines` would cascade-delete every
 * interface, BMC and config of every machine; `foreignKeysOff` makes migrate() switch the pragma
 * outside the transaction (it is a no-op inside one) and run foreign_key_check before commit.
 * Every row keeps its id; the indexes and the immutability trigger are recreated.
 */
export const foreignKeysOff = true;

/** The rebuild, in dependency order: machines, then config versions, then tokens. */
export const sql = `
CREATE TABLE machines_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  labels TEXT NOT NULL DEFAULT '{}',
  profile TEXT,
  state TEXT NOT NULL DEFAULT 'registered',
  uuid TEXT,
  serial TEXT,
  ipv4 TEXT UNIQUE,
  facts TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
INSERT INTO machines_new (id, name, labels, profile, state, uuid, serial, ipv4, facts, created_at, updated_at)
  SELECT id, name, labels, profile, state, uuid, serial, ipv4, facts, created_at, updated_at FROM machines;
-- Ids already handed out by a machine since deleted (still named by events, versions or tokens)
-- count as used too, so none of them is handed out again either.
DELETE FROM sqlite_sequence WHERE name = 'machines_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'machines_new', max(
  coalesce((SELECT max(id) FROM machines), 0),
  coalesce((SELECT max(machine_id) FROM events), 0),
  coalesce((SELECT max(machine_id) FROM config_versions), 0),
  coalesce((SELECT max(machine_id) FROM config_tokens), 0));
DROP TABLE machines;
ALTER TABLE machines_new RENAME TO machines;
CREATE INDEX machines_ipv4 ON machines(ipv4) WHERE ipv4 IS NOT NULL;

-- Versions and tokens of machines deleted before this migration have no owner left: dropped.
CREATE TABLE config_versions_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  machine_id INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
  machine_name TEXT NOT NULL,
  profile TEXT NOT NULL,
  profile_revision INTEGER NOT NULL,
  format TEXT NOT NULL,
  content_type TEXT NOT NULL,
  body BLOB NOT NULL,
  sha256 TEXT NOT NULL,
  meta TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  UNIQUE (machine_id, format, sha256)
);
INSERT INTO config_versions_new (id, machine_id, machine_name, profile, profile_revision, format, content_type, body, sha256, meta, created_at)
  SELECT id, machine_id, machine_name, profile, profile_revision, format, content_type, body, sha256, meta, created_at
  FROM config_versions WHERE machine_id IN (SELECT id FROM machines);
DELETE FROM sqlite_sequence WHERE name = 'config_versions_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'config_versions_new', coalesce(max(id), 0) FROM config_versions;
DELETE FROM machine_configs
  WHERE machine_id NOT IN (SELECT id FROM machines) OR version_id NOT IN (SELECT id FROM config_versions_new);
DROP TABLE config_versions;
ALTER TABLE config_versions_new RENAME TO config_versions;
CREATE INDEX config_versions_machine ON config_versions(machine_id, id);
CREATE TRIGGER config_versions_immutable BEFORE UPDATE ON config_versions
BEGIN
  SELECT RAISE(ABORT, 'config versions are immutable');
END;

CREATE TABLE config_tokens_new (
  hash TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('config', 'report')),
  machine_id INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
  -- No cascade here: deleting a version a token still names fails (retention must skip it).
  version_id INTEGER NOT NULL REFERENCES config_versions(id),
  uses_left INTEGER,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
INSERT INTO config_tokens_new (hash, kind, machine_id, version_id, uses_left, expires_at, created_at)
  SELECT hash, kind, machine_id, version_id, uses_left, expires_at, created_at FROM config_tokens
  WHERE machine_id IN (SELECT id FROM machines) AND version_id IN (SELECT id FROM config_versions);
DROP TABLE config_tokens;
ALTER TABLE config_tokens_new RENAME TO config_tokens;
CREATE INDEX config_tokens_expiry ON config_tokens(expires_at);
CREATE INDEX config_tokens_machine ON config_tokens(machine_id);
CREATE INDEX config_tokens_version ON config_tokens(version_id);
`;

/**
 * PostgreSQL reaches the same end state in place: machine and version ids are identities, which
 * never hand out an id twice, so only explicitly inserted ids can be ahead of the sequence (it is
 * moved past every machine id still named anywhere, as SQLite's sqlite_sequence is). Orphaned
 * versions, tokens and desired versions go as in the rebuild, then the keys are added.
 */
export const pg = `
SELECT setval(pg_get_serial_sequence('machines', 'id'), used.id)
  FROM (SELECT GREATEST(
    (SELECT max(id) FROM machines),
    (SELECT max(machine_id) FROM events),
    (SELECT max(machine_id) FROM config_versions),
    (SELECT max(machine_id) FROM config_tokens)) AS id) used
  WHERE used.id >= COALESCE(pg_sequence_last_value(pg_get_serial_sequence('machines', 'id')::regclass), 0) + 1;

DELETE FROM machine_configs
  WHERE machine_id NOT IN (SELECT id FROM machines)
    OR version_id IN (SELECT id FROM config_versions WHERE machine_id NOT IN (SELECT id FROM machines));
DELETE FROM config_tokens
  WHERE machine_id NOT IN (SELECT id FROM machines)
    OR version_id IN (SELECT id FROM config_versions WHERE machine_id NOT IN (SELECT id FROM machines));
DELETE FROM config_versions WHERE machine_id NOT IN (SELECT id FROM machines);
ALTER TABLE config_versions ADD FOREIGN KEY (machine_id) REFERENCES machines(id) ON DELETE CASCADE;
-- No cascade on version_id (unchanged): deleting a version a token still names fails (retention must skip it).
ALTER TABLE config_tokens ADD FOREIGN KEY (machine_id) REFERENCES machines(id) ON DELETE CASCADE;
CREATE INDEX config_tokens_machine ON config_tokens(machine_id);
CREATE INDEX config_tokens_version ON config_tokens(version_id);
`;
