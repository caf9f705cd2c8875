/**
 * Migration 003: immutable config versions, each machine's desired version, and the
 * per-boot tokens (stored as SHA-256 hashes only, so a database dump cannot replay them).
 */
export const sql = `
CREATE TABLE config_versions (
  id INTEGER PRIMARY KEY,
  machine_id INTEGER NOT NULL,
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
CREATE INDEX config_versions_machine ON config_versions(machine_id, id);
CREATE TRIGGER config_versions_immutable BEFORE UPDATE ON config_versions
BEGIN
  SELECT RAISE(ABORT, 'config versions are immutable');
END;
CREATE TABLE machine_configs (
  machine_id INTEGER PRIMARY KEY REFERENCES machines(id) ON DELETE CASCADE,
  version_id INTEGER NOT NULL REFERENCES config_versions(id),
  assigned_at TEXT NOT NULL
);
CREATE TABLE config_tokens (
  hash TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('config', 'report')),
  machine_id INTEGER NOT NULL,
  version_id INTEGER NOT NULL REFERENCES config_versions(id),
  uses_left INTEGER,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX config_tokens_expiry ON config_tokens(expires_at);
`;
