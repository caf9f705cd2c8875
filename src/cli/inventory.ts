import { stringify as toYaml } from 'yaml';
import type { ImportResult } from '../config/inventory-file.js';
import type { ApiClient } from './client.js';
import { UsageError, need } from './machines.js';
import { readYamlFile } from './yaml-file.js';

type Values = Record<string, string | boolean | string[] | undefined>;

/** `rackboot inventory import FILE` (all or nothing) and `export [--with-secrets]` (YAML, or --json). */
export async function inventoryCommand(api: ApiClient, sub: string, args: string[], o: Values): Promise<string> {
  switch (sub) {
    case 'import': {
      const file = need(args[0], 'FILE');
      const doc = readYamlFile(file);
      const r = await api.request<ImportResult>('POST', '/api/v1/inventory/import', doc ?? {});
      return o.json === true
        ? JSON.stringify(r, null, 2)
        : `imported ${file}: profiles ${r.profiles.created} created, ${r.profiles.updated} updated; machines ${r.machines.created} created, ${r.machines.updated} updated`;
    }
    case 'export': {
      // Without the flag every secret reads <sealed>; importing such a file keeps the stored values.
      const doc = await api.get(o['with-secrets'] === true ? '/api/v1/inventory/export?withSecrets=true' : '/api/v1/inventory/export');
      return o.json === true ? JSON.stringify(doc, null, 2) : toYaml(doc);
    }
    default:
      throw new UsageError(`unknown inventory command ${JSON.stringify(sub)} (import|export)`);
  }
}
