/**
 * Migration 010: DHCP requests from MACs no machine has (issue #18). One row per MAC with what
 * its last request told us (option 93 arch, option 60 vendor class, relay giaddr and option 82
 * circuit/remote id), first/last seen and a count. Bounded by UnknownMacRepo (oldest last_seen
 * evicted), written off the DHCP hot path.
 */
export const sql = `
CREATE TABLE unknown_macs (
  mac TEXT PRIMARY KEY,
  arch INTEGER,
  vendor_class TEXT,
  message_type TEXT,
  giaddr TEXT,
  circuit_id TEXT,
  remote_id TEXT,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  count INTEGER NOT NULL
);
CREATE INDEX unknown_macs_last_seen ON unknown_macs(last_seen);
`;

/** PostgreSQL: the same table. */
export const pg = `
CREATE TABLE unknown_macs (
  mac TEXT COLLATE "C" PRIMARY KEY,
  arch BIGINT,
  vendor_class TEXT COLLATE "C",
  message_type TEXT COLLATE "C",
  giaddr TEXT COLLATE "C",
  circuit_id TEXT COLLATE "C",
  remote_id TEXT COLLATE "C",
  first_seen TEXT COLLATE "C" NOT NULL,
  last_seen TEXT COLLATE "C" NOT NULL,
  count BIGINT NOT NULL
);
CREATE INDEX unknown_macs_last_seen ON unknown_macs(last_seen);
`;
