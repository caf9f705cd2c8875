import type { UnknownMac } from '../inventory/unknown-macs.js';
import type { WhyReport } from '../lifecycle/why.js';
import { humanMs } from '../lifecycle/diagnosis-rules.js';
import type { ApiClient } from './client.js';
import { parseLabelArgs, table } from './format.js';
import { UsageError, need } from './machines.js';

type Values = Record<string, string | boolean | string[] | undefined>;
type Api = Pick<ApiClient, 'request' | 'get'>;

/** The text of a diagnosis: verdict, cause, next step, then the phases with their durations. */
export function formatWhy(r: WhyReport): string {
  const who = r.machine ? `${r.machine.name} (${r.machine.state}, profile ${r.machine.profile ?? '-'}, ${r.machine.macs.join(',')})` : `MAC ${r.mac ?? r.ref}`;
  const v = r.verdict;
  const lines = [
    who,
    `verdict:  ${v.status.toUpperCase()} ${v.code}: ${v.summary}`,
    `cause:    ${v.cause}`,
    `next:     ${v.next}`,
    `reached:  ${r.phase ?? 'nothing'} (${r.attempts} boot attempt${r.attempts === 1 ? '' : 's'} in the last ${r.eventsRead} events)`,
  ];
  if (r.phases.length) {
    // Which appliance served each phase (#20: several appliances on one inventory), when the rows say.
    const named = r.phases.some((p) => (p.appliances ?? []).length > 0);
    const head = ['PHASE', 'STARTED', 'TOOK', 'EVENTS', ...(named ? ['APPLIANCE'] : [])];
    const row = (p: (typeof r.phases)[number]) => [p.phase, new Date(p.startedAt).toISOString(), `${humanMs(p.ms)}${p.endedAt === null ? ' (open)' : ''}`, p.events, ...(named ? [(p.appliances ?? []).join(',') || '-'] : [])];
    lines.push('', table(head, r.phases.map(row)));
  }
  for (const f of r.findings) lines.push('', `also:     ${f.status} ${f.code}: ${f.summary}`, `          next: ${f.next}`);
  if (v.evidence.length) lines.push('', `evidence: events ${v.evidence.join(', ')} (rackboot events ${r.machine?.name ?? 'MACHINE'})`);
  return lines.join('\n');
}

/** `rackboot why MACHINE|MAC`: where the latest boot got to and why it stopped. */
export async function whyCommand(api: Api, args: string[], o: Values): Promise<string> {
  const ref = need(args[0], 'MACHINE or MAC');
  const r = await api.get<WhyReport>(`/api/v1/why/${encodeURIComponent(ref)}`);
  return o.json === true ? JSON.stringify(r, null, 2) : formatWhy(r);
}

/** `rackboot unknown list | enroll MAC --name N [--profile P] [--label k=v]`. */
export async function unknownCommand(api: Api, sub: string, args: string[], o: Values): Promise<string> {
  if (sub === 'list') {
    const { items } = await api.get<{ items: Array<UnknownMac & { claims?: { machine: string; by: string } | null }> }>('/api/v1/unknown-macs');
    if (o.json === true) return JSON.stringify(items, null, 2);
    return table(
      ['MAC', 'ARCH', 'VENDOR CLASS', 'RELAY', 'CIRCUIT', 'REMOTE', 'FIRST SEEN', 'LAST SEEN', 'COUNT', 'CLAIMS'],
      items.map((u) => [u.mac, u.arch, u.vendorClass, u.giaddr, u.circuitId, u.remoteId, u.firstSeen, u.lastSeen, u.count, u.claims ? `${u.claims.machine} (${u.claims.by})` : '']),
    );
  }
  if (sub === 'enroll') {
    const mac = need(args[0], 'MAC');
    const name = need(typeof o.name === 'string' ? o.name : undefined, '--name');
    const labels = parseLabelArgs(Array.isArray(o.label) ? o.label : undefined);
    const body = { name, ...(typeof o.profile === 'string' ? { profile: o.profile } : {}), ...(labels ? { labels } : {}) };
    const m = await api.request<{ name: string; macs: string[] }>('POST', `/api/v1/unknown-macs/${encodeURIComponent(mac)}/enroll`, body);
    return o.json === true ? JSON.stringify(m, null, 2) : `enrolled ${m.macs.join(',')} as ${m.name}`;
  }
  throw new UsageError(`unknown ${JSON.stringify(sub)}: use unknown list | unknown enroll MAC --name N`);
}
