/**
 * Migration 012: inspection reports with history (issue #19). Each report an inspection boot
 * posts is one row (the facts as received, JSON); InspectionRepo keeps the last few per machine.
 * Inspection tokens: one per inspection boot, stored as SHA-256 like the config tokens, revoked
 * by the machine's next inspection boot (a discovered machine has no config version to tie a
 * report token to).
 */
export const sql = `
CREATE TABLE inspections (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  machine_id INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
  facts TEXT NOT NULL,
  client TEXT,
  received_at TEXT NOT NULL
);
CREATE INDEX inspections_machine ON inspections(machine_id, id);
CREATE TABLE inspection_tokens (
  hash TEXT PRIMARY KEY,
  machine_id INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX inspection_tokens_machine ON inspection_tokens(machine_id);
`;
