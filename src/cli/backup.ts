import { join, resolve } from 'node:path';
import { AppError } from '../errors.js';
import { backupDatabase } from '../inventory/backup.js';
import { loadSettings } from '../settings.js';
import { UsageError, need } from './machines.js';

type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * `rackboot backup FILE [--config F]`: an online copy of data/inventory.db, taken locally (no
 * API, no secrets over the wire), also while serve runs. The data dir comes from the settings
 * (--config, RACKBOOT_CONFIG or ./rackboot.yaml; RACKBOOT_DATADIR overrides).
 */
export async function backupCommand(args: string[], o: Values, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = need(args[0], 'FILE');
  if (args.length > 1) throw new UsageError(`backup takes one FILE, got ${args.length}`);
  const settings = loadSettings({ ...(typeof o.config === 'string' ? { configPath: o.config } : {}), env });
  if (settings.store !== 'sqlite') {
    throw new AppError('UNSUPPORTED', 'the store is PostgreSQL: back it up with pg_dump (and keep data/secret.key with it); rackboot backup copies an SQLite inventory');
  }
  const r = await backupDatabase(join(resolve(settings.dataDir), 'inventory.db'), file);
  if (o.json === true) return JSON.stringify(r, null, 2);
  return `backup written to ${r.path} (${r.bytes} bytes, schema ${r.schema}, mode 0600)`;
}
