/**
 * Migration 011 (issue #19): groups and identity beyond MAC.
 * - `machine_groups`: matchbox-like groups; `doc` is the group as JSON without the BMC password, which
 *   is sealed apart in `bmc_secret` (AES-256-GCM, like every secret).
 * - Machines are found by SMBIOS UUID (case-insensitive) or serial as well as by any of their
 *   MACs (the `interfaces` table already holds several MACs per machine).
 * - `unknown_macs` remembers the UUID of option 97 and the group an unknown MAC matched while
 *   it waits for an operator (`enroll: manual`).
 */
export const sql = `
CREATE TABLE machine_groups (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  bmc_secret BLOB,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX machines_uuid ON machines(lower(uuid)) WHERE uuid IS NOT NULL;
CREATE INDEX machines_serial ON machines(serial) WHERE serial IS NOT NULL;
ALTER TABLE unknown_macs ADD COLUMN uuid TEXT;
ALTER TABLE unknown_macs ADD COLUMN matched_group TEXT;
`;

/** PostgreSQL: the same table, indexes and columns. */
export const pg = `
CREATE TABLE machine_groups (
  name TEXT COLLATE "C" PRIMARY KEY,
  doc TEXT COLLATE "C" NOT NULL,
  bmc_secret BYTEA,
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX machines_uuid ON machines(lower(uuid)) WHERE uuid IS NOT NULL;
CREATE INDEX machines_serial ON machines(serial) WHERE serial IS NOT NULL;
ALTER TABLE unknown_macs ADD COLUMN uuid TEXT COLLATE "C";
ALTER TABLE unknown_macs ADD COLUMN matched_group TEXT COLLATE "C";
`;
