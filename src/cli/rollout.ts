import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { RolloutMachineView, RolloutView } from '../rollout/control.js';
import type { DriftItem } from '../rollout/drift.js';
import { type ApiClient, CliError } from './client.js';
import { table } from './format.js';
import { UsageError, need } from './machines.js';

type Values = Record<string, string | boolean | string[] | undefined>;
type Print = (line: string) => void;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const OK_END = new Set(['succeeded', 'rolled-back']);

/** 1m05s-style duration. */
export function formatElapsed(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function num(o: Values, key: string): number | undefined {
  const v = str(o[key]);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${key}: a whole number`);
  return n;
}

/** The rollout spec from --file (YAML or JSON) and/or flags; flags win. */
function specFrom(args: string[], o: Values): Record<string, unknown> {
  const file = str(o.file);
  const spec: Record<string, unknown> = file ? ((parseYaml(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>) : {};
  if (args.length) spec.machines = args;
  if (str(o.selector) !== undefined) spec.selector = str(o.selector);
  if (str(o.profile)) spec.target = { profile: str(o.profile) };
  const canary = num(o, 'canary');
  if (canary !== undefined) spec.canary = { count: canary };
  for (const [flag, key] of [['batch-size', 'batchSize'], ['max-unavailable', 'maxUnavailable'], ['health-timeout', 'healthTimeoutSec']] as const) {
    const n = num(o, flag);
    if (n !== undefined) spec[key] = n;
  }
  if (!spec.target) throw new UsageError('rollout start: give --profile P or a --file with a target');
  return spec;
}

function machineLine(r: RolloutView, m: RolloutMachineView): string {
  const batches = Math.max(...r.machines.map((x) => x.batch)) + 1;
  const tag = `batch ${m.batch + 1}/${batches}${m.canary ? ' canary' : ''}`;
  const extra = m.failure && !m.phase.startsWith('rb-') ? ` failure: ${m.failure}` : m.message ? ` (${m.message})` : '';
  return `[${tag}] ${m.machine}: ${m.phase}  ${formatElapsed(m.elapsedMs)}  boot: ${m.bootPhase ?? '-'}${extra}`;
}

/** The closing summary: state line and one row per machine. */
export function summary(r: RolloutView): string {
  const runner = r.runner && !r.finishedAt ? ` (runner: ${r.runner.appliance})` : '';
  const head = `rollout ${r.id}${r.name ? ` (${r.name})` : ''}: ${r.state}${r.reason ? ` — ${r.reason}` : ''}${runner}`;
  const rows = r.machines.map((m) => [m.machine, m.batch + 1, m.canary ? 'yes' : '', m.phase, formatElapsed(m.elapsedMs), m.bootPhase, m.failure]);
  return `${head}\n${table(['MACHINE', 'BATCH', 'CANARY', 'PHASE', 'ELAPSED', 'BOOT', 'FAILURE'], rows)}`;
}

/** Polls a rollout, printing each machine's phase change and boot progress, until it settles. */
async function follow(api: ApiClient, id: number, o: Values, print: Print): Promise<RolloutView> {
  const pollMs = Number(process.env.RACKBOOT_POLL_MS ?? 1000);
  const timeoutS = num(o, 'timeout') ?? 6 * 3600;
  const end = Date.now() + timeoutS * 1000;
  const seen = new Map<string, string>();
  let batch = -1;
  for (;;) {
    const r = await api.get<RolloutView>(`/api/v1/rollouts/${id}`);
    for (const m of r.machines) {
      if (m.phase !== 'pending' && m.batch > batch) {
        batch = m.batch;
        const names = r.machines.filter((x) => x.batch === batch).map((x) => x.machine);
        print(`batch ${batch + 1}${m.canary ? ' (canary)' : ''}: ${names.join(', ')}`);
      }
      const key = `${m.phase}|${m.bootPhase}|${m.message}`;
      if (seen.get(m.machine) !== key && (m.phase !== 'pending' || seen.has(m.machine))) {
        seen.set(m.machine, key);
        print(machineLine(r, m));
      }
    }
    if (r.settled) return r;
    if (Date.now() > end) throw new CliError(`rollout ${id} still ${r.state} after ${timeoutS}s`);
    await new Promise((res) => setTimeout(res, pollMs));
  }
}

/** Prints the summary; a rollout that ended paused, failed or aborted is an error (exit 1). */
function finish(r: RolloutView, o: Values, print: Print): string {
  const text = o.json === true ? JSON.stringify(r, null, 2) : summary(r);
  if (OK_END.has(r.state)) return text;
  print(text);
  throw new CliError(`rollout ${r.id} ended ${r.state}${r.reason ? `: ${r.reason}` : ''}`);
}

/** `rackboot rollout start|status|list|pause|resume|abort|rollback`. */
export async function rolloutCommand(api: ApiClient, sub: string, args: string[], o: Values, print: Print): Promise<string> {
  const id = () => {
    const n = Number(need(args[0], 'ROLLOUT'));
    if (!Number.isInteger(n) || n < 1) throw new UsageError('ROLLOUT: a rollout id');
    return n;
  };
  const wait = o.detach !== true;
  switch (sub) {
    case 'start': {
      const r = await api.request<RolloutView>('POST', '/api/v1/rollouts', specFrom(args, o));
      print(`rollout ${r.id} started: ${r.machines.length} machine(s) in ${new Set(r.machines.map((m) => m.batch)).size} batch(es)`);
      return wait ? finish(await follow(api, r.id, o, print), o, print) : o.json ? JSON.stringify(r, null, 2) : summary(r);
    }
    case 'list': {
      const { items } = await api.get<{ items: RolloutView[] }>('/api/v1/rollouts');
      if (o.json) return JSON.stringify(items, null, 2);
      return table(['ID', 'NAME', 'STATE', 'MACHINES', 'REASON'], items.map((r) => [r.id, r.name, r.state, r.machines.length, r.reason]));
    }
    case 'status': {
      const r = await api.get<RolloutView>(`/api/v1/rollouts/${id()}`);
      if (o.follow) return finish(await follow(api, r.id, o, print), o, print);
      return o.json ? JSON.stringify(r, null, 2) : summary(r);
    }
    case 'pause':
    case 'resume':
    case 'abort':
    case 'rollback': {
      const r = await api.request<RolloutView>('POST', `/api/v1/rollouts/${id()}/${sub}`);
      if (!wait || sub === 'pause' || sub === 'abort') return o.json ? JSON.stringify(r, null, 2) : summary(r);
      print(`rollout ${r.id}: ${r.state}`);
      return finish(await follow(api, r.id, o, print), o, print);
    }
    default:
      throw new UsageError('rollout start|list|status|pause|resume|abort|rollback');
  }
}

/** `rackboot drift [--stale-after SEC]`: machines not running what they should, and why. */
export async function driftCommand(api: ApiClient, o: Values): Promise<string> {
  const stale = num(o, 'stale-after');
  const q = stale === undefined ? '' : `?staleAfterSec=${stale}`;
  const r = await api.get<{ items: DriftItem[]; staleAfterSec: number }>(`/api/v1/drift${q}`);
  if (o.json) return JSON.stringify(r.items, null, 2);
  if (!r.items.length) return 'no drift';
  const short = (d: string | null) => (d ? d.slice(0, 12) : 'none');
  return table(
    ['MACHINE', 'STATE', 'REASONS', 'DIFFERS', 'LAST REPORT'],
    r.items.map((i) => [
      i.machine,
      i.state,
      i.reasons.join(','),
      i.differences.map((d) => `${d.field} ${short(d.reported)} (want ${short(d.desired)})`).join('; '),
      i.lastReportAt,
    ]),
  );
}
