import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { Profile } from '../inventory/profiles.js';
import type { ApiClient } from './client.js';
import { table } from './format.js';
import { UsageError, need } from './machines.js';

type Values = Record<string, string | boolean | string[] | undefined>;

/** `rackboot profiles list|show|add|set|rm` (specs from a YAML/JSON --file). */
export async function profilesCommand(api: ApiClient, sub: string, args: string[], o: Values): Promise<string> {
  const json = o.json === true;
  const specFromFile = () => {
    const file = need(typeof o.file === 'string' ? o.file : undefined, '--file');
    return parseYaml(readFileSync(file, 'utf8')) as unknown;
  };
  switch (sub) {
    case 'list': {
      const { items } = await api.get<{ items: Profile[] }>('/api/v1/profiles');
      if (json) return JSON.stringify(items, null, 2);
      return table(
        ['NAME', 'REVISION', 'OS', 'BOOT', 'CHAIN', 'UPDATED'],
        items.map((p) => [p.name, p.revision, p.spec.os, p.spec.boot, p.spec.chain, p.updatedAt]),
      );
    }
    case 'show': {
      const p = await api.get<Profile>(`/api/v1/profiles/${encodeURIComponent(need(args[0], 'PROFILE'))}`);
      return json ? JSON.stringify(p, null, 2) : toYaml(p);
    }
    case 'add': {
      const p = await api.request<Profile>('POST', '/api/v1/profiles', { name: need(args[0], 'PROFILE'), spec: specFromFile() });
      return json ? JSON.stringify(p, null, 2) : `added profile ${p.name}`;
    }
    case 'set': {
      const p = await api.request<Profile>('PUT', `/api/v1/profiles/${encodeURIComponent(need(args[0], 'PROFILE'))}`, { spec: specFromFile() });
      return json ? JSON.stringify(p, null, 2) : `profile ${p.name} at revision ${p.revision}`;
    }
    case 'rm': {
      const p = await api.request<Profile>('DELETE', `/api/v1/profiles/${encodeURIComponent(need(args[0], 'PROFILE'))}`);
      return json ? JSON.stringify(p, null, 2) : `removed profile ${p.name}`;
    }
    default:
      throw new UsageError(`unknown profiles command ${JSON.stringify(sub)} (list|show|add|set|rm)`);
  }
}
