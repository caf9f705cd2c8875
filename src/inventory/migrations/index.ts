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

/**
 * One migration. `foreignKeysOff`: a table rebuild (lang_altertable.html's 12 steps) that must
 * run with foreign key enforcement off; migrate() checks the keys before it commits.
 */
export interface Migration {
  version: number;
  sql: string;
  foreignKeysOff?: boolean;
}

/** Numbered migrations, applied in order; a number is never reused or edited once shipped. */
export const MIGRATIONS: ReadonlyArray<Migration> = [
  { version: 1, sql: m001.sql },
  { version: 2, sql: m002.sql },
  { version: 3, sql: m003.sql },
  { version: 4, sql: m004.sql },
  { version: 5, sql: m005.sql },
  { version: 6, sql: m006.sql },
  { version: 7, sql: m007.sql },
  { version: 8, sql: m008.sql, foreignKeysOff: m008.foreignKeysOff },
  { version: 9, sql: m009.sql },
  { version: 10, sql: m010.sql },
  { version: 11, sql: m011.sql },
  { version: 12, sql: m012.sql },
  { version: 13, sql: m013.sql },
];
