import type { BootEvent } from '../inventory/events.js';
import type { ApiClient } from './client.js';
import { table } from './format.js';
import { need } from './machines.js';

type Values = Record<string, string | boolean | string[] | undefined>;

/** `rackboot events MACHINE`: the machine's boot trace. */
export async function eventsCommand(api: ApiClient, args: string[], o: Values): Promise<string> {
  const ref = need(args[0], 'MACHINE');
  const { items } = await api.get<{ items: BootEvent[] }>(`/api/v1/machines/${encodeURIComponent(ref)}/events?limit=10000`);
  if (o.json === true) return JSON.stringify(items, null, 2);
  return table(
    ['TIME', 'APPLIANCE', 'SOURCE', 'KIND', 'MAC', 'DETAIL'],
    items.map((e) => [e.at, e.appliance ?? '-', e.source, e.kind, e.mac, JSON.stringify(e.detail).slice(0, 120)]),
  );
}
