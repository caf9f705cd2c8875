import { stringify as toYaml } from 'yaml';
import type { StoredGroup } from '../inventory/groups.js';
import type { ApiClient } from './client.js';
import { formatLabels, table } from './format.js';
import { UsageError, need } from './machines.js';
import { readYamlFile } from './yaml-file.js';

type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * The groups of a file: `groups: [...]` (an inventory file's section), a list, or one group.
 * Other sections of an inventory file are left to `inventory import`.
 */
export function groupsOfFile(doc: unknown): unknown[] {
  if (Array.isArray(doc)) return doc;
  if (doc && typeof doc === 'object' && 'groups' in doc) {
    const g = (doc as { groups: unknown }).groups;
    return Array.isArray(g) ? g : [g];
  }
  return doc === null || doc === undefined ? [] : [doc];
}

/** `rackboot groups list|show G|apply FILE|delete G` (apply: all or nothing). */
export async function groupsCommand(api: ApiClient, sub: string, args: string[], o: Values): Promise<string> {
  const json = o.json === true;
  switch (sub) {
    case 'list': {
      const { items } = await api.get<{ items: StoredGroup[] }>('/api/v1/groups');
      if (json) return JSON.stringify(items, null, 2);
      return table(
        ['NAME', 'SELECTORS', 'PROFILE', 'LABELS', 'HOSTNAME', 'ENROLL', 'BMC'],
        items.map((g) => [g.name, g.selectors.join(' ') || '(all)', g.profile, formatLabels(g.labels), g.hostnameTemplate, g.enroll, g.bmc ? g.bmc.username : null]),
      );
    }
    case 'show': {
      const g = await api.get<StoredGroup>(`/api/v1/groups/${encodeURIComponent(need(args[0], 'GROUP'))}`);
      return json ? JSON.stringify(g, null, 2) : toYaml(g);
    }
    case 'apply': {
      const file = need(args[0], 'FILE');
      const doc = readYamlFile(file);
      const r = await api.request<{ created: number; updated: number }>('POST', '/api/v1/groups/apply', { groups: groupsOfFile(doc) });
      return json ? JSON.stringify(r, null, 2) : `applied ${file}: groups ${r.created} created, ${r.updated} updated`;
    }
    case 'delete':
    case 'rm': {
      const g = await api.request<StoredGroup>('DELETE', `/api/v1/groups/${encodeURIComponent(need(args[0], 'GROUP'))}`);
      return json ? JSON.stringify(g, null, 2) : `deleted group ${g.name}`;
    }
    default:
      throw new UsageError(`unknown groups command ${JSON.stringify(sub)} (list|show|apply|delete)`);
  }
}
