import type { Machine } from '../inventory/machines.js';
import type { ApiClient } from './client.js';
import { formatLabels, parseLabelArgs, table } from './format.js';

type Values = Record<string, string | boolean | string[] | undefined>;
type MachineView = Machine & { bmc: { type: string; address: string } | null };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): string[] | undefined => (Array.isArray(v) ? v : typeof v === 'string' ? [v] : undefined);

/** `rackboot machines list|show|add|set|attach-mac|rm`. */
export async function machinesCommand(api: ApiClient, sub: string, args: string[], o: Values): Promise<string> {
  const json = o.json === true;
  switch (sub) {
    case 'list': {
      const q = str(o.selector) ? `?selector=${encodeURIComponent(str(o.selector)!)}` : '';
      const { items } = await api.get<{ items: MachineView[] }>(`/api/v1/machines${q}`);
      if (json) return JSON.stringify(items, null, 2);
      return table(
        ['NAME', 'MACS', 'PROFILE', 'STATE', 'IPV4', 'LABELS', 'BMC'],
        items.map((m) => [m.name, m.macs.join(','), m.profile, m.state, m.ipv4, formatLabels(m.labels), m.bmc ? `${m.bmc.type}:${m.bmc.address}` : '']),
      );
    }
    case 'show': {
      const m = await api.get<MachineView>(`/api/v1/machines/${encodeURIComponent(need(args[0], 'MACHINE'))}`);
      if (json) return JSON.stringify(m, null, 2);
      return [
        `name:     ${m.name} (id ${m.id})`,
        `macs:     ${m.macs.join(', ')}`,
        `profile:  ${m.profile ?? '-'}`,
        `state:    ${m.state}`,
        `ipv4:     ${m.ipv4 ?? '-'}`,
        `labels:   ${formatLabels(m.labels) || '-'}`,
        `uuid:     ${m.uuid ?? '-'}`,
        `serial:   ${m.serial ?? '-'}`,
        `bmc:      ${m.bmc ? `${m.bmc.type} ${m.bmc.address}` : '-'}`,
        `updated:  ${m.updatedAt}`,
      ].join('\n');
    }
    case 'add': {
      const body = {
        name: need(str(o.name), '--name'),
        macs: need(list(o.mac), '--mac'),
        labels: parseLabelArgs(list(o.label)) ?? {},
        ...(str(o.profile) ? { profile: str(o.profile) } : {}),
        ...(str(o.ipv4) ? { ipv4: str(o.ipv4) } : {}),
      };
      const m = await api.request<MachineView>('POST', '/api/v1/machines', body);
      return json ? JSON.stringify(m, null, 2) : `added ${m.name} (${m.macs.join(', ')})`;
    }
    case 'set': {
      const ref = need(args[0], 'MACHINE');
      const patch: Record<string, unknown> = {};
      if (str(o.name)) patch.name = str(o.name);
      if (list(o.mac)) patch.macs = list(o.mac);
      if (list(o.label)) patch.labels = parseLabelArgs(list(o.label));
      if (str(o.profile) !== undefined) patch.profile = str(o.profile) === '' ? null : str(o.profile);
      if (str(o.ipv4) !== undefined) patch.ipv4 = str(o.ipv4) === '' ? null : str(o.ipv4);
      if (str(o.state)) patch.state = str(o.state);
      const m = await api.request<MachineView>('PATCH', `/api/v1/machines/${encodeURIComponent(ref)}`, patch);
      return json ? JSON.stringify(m, null, 2) : `updated ${m.name}`;
    }
    case 'attach-mac': {
      const ref = need(args[0], 'MACHINE');
      const mac = need(args[1], 'MAC');
      const m = await api.request<MachineView & { attached: boolean }>('POST', `/api/v1/machines/${encodeURIComponent(ref)}/macs`, { mac });
      return json ? JSON.stringify(m, null, 2) : m.attached ? `attached ${mac} to ${m.name} (${m.macs.join(', ')})` : `${m.name} already has ${mac}`;
    }
    case 'rm': {
      const m = await api.request<Machine>('DELETE', `/api/v1/machines/${encodeURIComponent(need(args[0], 'MACHINE'))}`);
      return json ? JSON.stringify(m, null, 2) : `removed ${m.name}`;
    }
    default:
      throw new UsageError(`unknown machines command ${JSON.stringify(sub)} (list|show|add|set|attach-mac|rm)`);
  }
}

/** A wrong command line: exit code 2. */
export class UsageError extends Error {}

/** Returns v or throws a usage error naming what is missing. */
export function need<T>(v: T | undefined, what: string): T {
  if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) throw new UsageError(`missing ${what}`);
  return v;
}
