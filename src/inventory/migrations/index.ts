import * as m001 from './001_foundation.js';
import * as m002 from './002_dhcp.js';
import * as m003 from './003_config.js';
import * as m004 from './004_bmc.js';
import * as m005 from './005_rollout.js';
import * as m006 from './006_event_indexes.js';
import * as m007 from './007_api_tokens.js';
import * as m008 from './008_machine_identity.js';
import * as m009 from './009_sealed_secrets.js';
import * as m010 from './010_unknown_macs.js';
import * as m011 from './011_groups.js';
import * as m012 from './012_inspection.js';
import * as m013 from './013_token_revoke_index.js';
import * as m014 from './014_coordination.js';
import * as m015 from './015_appliances.js';
import * as m016 from './016_token_ids.js';
import * as m017 from './017_token_id_sequence.js';

/**
 * One migration: `sql` for SQLite, `pg` for PostgreSQL (issue #20: the same numbered steps in
 * both dialects). `foreignKeysOff`: a SQLite table rebuild (lang_altertable.html's 12 steps) that
 * must run with foreign key enforcement off; migrate() checks the keys before it commits.
 */
export interface Migration {
  version: number;
  sql: string;
  pg?: string;
  foreignKeysOff?: boolean;
}

interface MigrationModule {
  sql: string;
  pg?: string;
  foreignKeysOff?: boolean;
}

const step = (version: number, m: MigrationModule): Migration => ({ version, sql: m.sql, pg: m.pg, foreignKeysOff: m.foreignKeysOff });

/** Numbered migrations, applied in order; a number is never reused or edited once shipped. */
export const MIGRATIONS: ReadonlyArray<Migration> = [
  step(1, m001),
  step(2, m002),
  step(3, m003),
  step(4, m004),
  step(5, m005),
  step(6, m006),
  step(7, m007),
  step(8, m008),
  step(9, m009),
  step(10, m010),
  step(11, m011),
  step(12, m012),
  step(13, m013),
  step(14, m014),
  step(15, m015),
  step(16, m016),
  step(17, m017),
];
