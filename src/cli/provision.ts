import { formatDigest, tryParseDigest } from '../model/digest.js';
import type { ApiClient } from './client.js';
import { CliError } from './client.js';
import { UsageError } from './machines.js';

type Values = Record<string, string | boolean | string[] | undefined>;

interface ProvisionAnswer {
  machine: string;
  profile: string;
  profileRevision: number;
  previousState: string;
  power: string;
}

interface TraceItem {
  id: number;
  kind: string;
  detail: Record<string, unknown>;
}

/**
 * `rackboot provision MACHINE [--profile P] [--follow [--timeout S]]`: next boot PXE through
 * the BMC, power cycle, and (with --follow) wait until the machine phones home `ready`.
 */
export async function provisionCommand(api: ApiClient, args: string[], o: Values, progress: (line: string) => void = () => {}): Promise<string> {
  const [ref, ...extra] = args;
  if (!ref || extra.length > 0) throw new UsageError('provision MACHINE [--profile P] [--follow] [--timeout S]');
  const enc = encodeURIComponent(ref);
  // The trace position before the request: --follow only looks at what happens after it.
  const before = await api.request<{ items: TraceItem[] }>('GET', `/api/v1/machines/${enc}/events?limit=1000`);
  const afterId = before.items.reduce((m, e) => Math.max(m, e.id), 0);
  const body = typeof o.profile === 'string' ? { profile: o.profile } : {};
  const r = await api.request<ProvisionAnswer>('POST', `/api/v1/machines/${enc}/provision`, body);
  const head = `${r.machine}: provisioning with profile ${r.profile} (revision ${r.profileRevision}); was ${r.previousState}; next boot PXE, power ${r.power}`;
  if (o.json && !o.follow) return JSON.stringify(r, null, 2);
  if (!o.follow) return head;
  progress(head);
  const timeoutS = typeof o.timeout === 'string' ? Number(o.timeout) : 900;
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError('--timeout: seconds');
  const end = Date.now() + timeoutS * 1000;
  let seen = afterId;
  for (;;) {
    const page = await api.request<{ items: TraceItem[] }>('GET', `/api/v1/machines/${enc}/events?limit=1000`);
    for (const e of page.items.filter((x) => x.id > seen)) {
      seen = Math.max(seen, e.id);
      if (e.kind.startsWith('report.') || e.kind === 'boot.script' || e.kind === 'config.version') progress(`  ${e.kind} ${describe(e)}`.trimEnd());
      if (e.kind === 'report.failed') throw new CliError(`${r.machine}: provisioning failed: ${String(e.detail.message ?? '')}`);
      if (e.kind === 'report.ready') {
        const done = { ...r, configDigest: e.detail.configDigest ?? null, imageDigest: e.detail.imageDigest ?? null };
        return o.json ? JSON.stringify(done, null, 2) : `${r.machine}: ready (config ${shownDigest(done.configDigest)}, image ${shownDigest(done.imageDigest)})`;
      }
    }
    if (Date.now() > end) throw new CliError(`${r.machine}: not ready after ${timeoutS} s`);
    await new Promise((res) => setTimeout(res, 2000));
  }
}

/** A recorded digest with its algorithm spelled out (SHA-256 is recorded as bare hex). */
function shownDigest(v: unknown): string {
  const d = typeof v === 'string' ? tryParseDigest(v) : null;
  return d ? formatDigest(d) : 'none';
}

function describe(e: TraceItem): string {
  const d = e.detail;
  if (e.kind === 'boot.script') return d.mode === 'disk' ? '(local disk)' : `(network, config version ${String(d.versionId ?? '?')})`;
  if (e.kind === 'config.version') return `(version ${String(d.versionId)} sha256:${String(d.sha256).slice(0, 12)}…)`;
  return typeof d.message === 'string' ? `(${d.message})` : '';
}
