/** Migration 1: machines, interfaces, profiles, BMCs, leases, events. */
export const sql = `
CREATE TABLE machines (
  id INTEGER PRIMARY KEY,
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
CREATE TABLE interfaces (
  mac TEXT PRIMARY KEY,
  machine_id INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
  position INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX interfaces_machine ON interfaces(machine_id);
CREATE TABLE profiles (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL,
  revision INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE bmcs (
  machine_id INTEGER PRIMARY KEY REFERENCES machines(id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (type IN ('ipmi', 'redfish')),
  address TEXT NOT NULL,
  port INTEGER,
  username TEXT NOT NULL,
  secret BLOB NOT NULL,
  options TEXT NOT NULL DEFAULT '{}',
  updated_at TEXT NOT NULL
);
CREATE TABLE leases (
  ip TEXT PRIMARY KEY,
  mac TEXT NOT NULL,
  client_id TEXT,
  hostname TEXT,
  state TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX leases_mac ON leases(mac);
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  mac TEXT,
  machine_id INTEGER,
  source TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_mac ON events(mac, id);
CREATE INDEX events_machine ON events(machine_id, id);
`;
