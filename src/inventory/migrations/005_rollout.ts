/**
 * Migration 005: rollouts and their per-machine progress. A machine is "held" by at most one
 * rollout at a time: the partial unique index makes a second hold fail inside SQLite, so two
 * processes (or two API calls racing) can never both start work on the same machine.
 */
export const sql = `
CREATE TABLE rollouts (
  id INTEGER PRIMARY KEY,
  name TEXT,
  spec TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('running', 'paused', 'rolling-back', 'succeeded', 'aborted', 'rolled-back', 'failed')),
  reason TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE TABLE rollout_machines (
  rollout_id INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
  machine_id INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  batch INTEGER NOT NULL,
  position INTEGER NOT NULL,
  canary INTEGER NOT NULL DEFAULT 0,
  held INTEGER NOT NULL DEFAULT 1 CHECK (held IN (0, 1)),
  phase TEXT NOT NULL DEFAULT 'pending',
  moved INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 0,
  from_version TEXT,
  to_version TEXT,
  start_mark INTEGER,
  cycle_mark INTEGER,
  cycle_sent_at INTEGER,
  phase_started_at INTEGER,
  started_at INTEGER,
  finished_at INTEGER,
  message TEXT,
  failure TEXT,
  trace TEXT,
  PRIMARY KEY (rollout_id, machine_id)
);
CREATE UNIQUE INDEX rollout_machines_one_holder ON rollout_machines(machine_id) WHERE held = 1;
CREATE INDEX rollout_machines_order ON rollout_machines(rollout_id, batch, position);
`;
