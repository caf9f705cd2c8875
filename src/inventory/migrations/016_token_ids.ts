/**
 * Migration 016: config tokens keyed by a time-ordered id (issue #21). A token was stored under
 * the SHA-256 of the whole token, a random key: every boot's two rows landed on their own pages
 * of that index, so a group commit of 28 boots wrote about 60 pages to the WAL. A token is now
 * `<id>_<secret>`: the row's key is the id, which only grows (new rows go to the right edge of
 * the table), and the row keeps the SHA-256 of the secret (`secret_hash`), compared in constant
 * time when the token is used. The id is handed out by rackboot before the row is written (a
 * queued boot's script carries it), so it is no identity column in PostgreSQL either.
 *
 * Tokens issued before this migration keep working until they are used up, revoked or expired as
 * before: their rows move over with an id and their old hash in `legacy_hash` (found through a
 * partial index no new row enters). An installed OS reports with the token its installer wrote
 * to disk, valid for a year; dropping them would refuse every installed machine's phone-home
 * until its next network boot.
 */
export const sql = `
CREATE TABLE config_tokens_new (
  id INTEGER PRIMARY KEY,
  secret_hash BLOB,
  legacy_hash TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('config', 'report')),
  machine_id INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
  -- No cascade here: deleting a version a token still names fails (retention must skip it).
  version_id INTEGER NOT NULL REFERENCES config_versions(id),
  uses_left INTEGER,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  CHECK ((secret_hash IS NULL) <> (legacy_hash IS NULL))
);
INSERT INTO config_tokens_new (id, secret_hash, legacy_hash, kind, machine_id, version_id, uses_left, expires_at, created_at)
  SELECT row_number() OVER (ORDER BY created_at, hash), NULL, hash, kind, machine_id, version_id, uses_left, expires_at, created_at
  FROM config_tokens;
DROP TABLE config_tokens;
ALTER TABLE config_tokens_new RENAME TO config_tokens;
CREATE INDEX config_tokens_expiry ON config_tokens(expires_at);
CREATE INDEX config_tokens_machine_kind ON config_tokens(machine_id, kind);
CREATE INDEX config_tokens_version ON config_tokens(version_id);
CREATE UNIQUE INDEX config_tokens_legacy ON config_tokens(legacy_hash) WHERE legacy_hash IS NOT NULL;
`;

/** PostgreSQL: the same rebuild (BIGINT, BYTEA, names in the "C" collation as in 003). */
export const pg = `
CREATE TABLE config_tokens_new (
  id BIGINT PRIMARY KEY,
  secret_hash BYTEA,
  legacy_hash TEXT COLLATE "C",
  kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('config', 'report')),
  machine_id BIGINT NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
  version_id BIGINT NOT NULL REFERENCES config_versions(id),
  uses_left BIGINT,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  CHECK ((secret_hash IS NULL) <> (legacy_hash IS NULL))
);
INSERT INTO config_tokens_new (id, secret_hash, legacy_hash, kind, machine_id, version_id, uses_left, expires_at, created_at)
  SELECT row_number() OVER (ORDER BY created_at, hash), NULL, hash, kind, machine_id, version_id, uses_left, expires_at, created_at
  FROM config_tokens;
DROP TABLE config_tokens;
ALTER TABLE config_tokens_new RENAME TO config_tokens;
CREATE INDEX config_tokens_expiry ON config_tokens(expires_at);
CREATE INDEX config_tokens_machine_kind ON config_tokens(machine_id, kind);
CREATE INDEX config_tokens_version ON config_tokens(version_id);
CREATE UNIQUE INDEX config_tokens_legacy ON config_tokens(legacy_hash) WHERE legacy_hash IS NOT NULL;
`;
