/**
 * Migration 007: scoped API tokens. Only the SHA-256 digest of a secret is stored (a leaked
 * database or backup holds no usable token); the unique index on it is how a presented bearer is
 * found. Times are epoch milliseconds. Revoked and expired rows stay (and keep their name) so the
 * event trail can always be read against them.
 */
export const sql = `
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('read', 'operate', 'admin')),
  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  last_used_at INTEGER
);
`;
