/** One simulated machine's network boot, phase by phase, as UEFI firmware + iPXE do it. */
import type { RelayDhcp } from './dhcp-client.js';
import { MachineHttp } from './http-client.js';
import type { MachineResult, Phase } from './stats.js';
import { type TftpOptions, tftpGet } from './tftp-client.js';

/** What the iPXE script says to fetch (kernel, initrds) and the agent's URLs from the kernel args. */
export interface ScriptPlan {
  kernel: string;
  initrds: string[];
  config?: string;
  report?: string;
  token?: string;
}

/** Reads `kernel URL args…` and `initrd URL` lines of an iPXE script (pure). */
export function parseScript(text: string): ScriptPlan {
  let kernel = '';
  const initrds: string[] = [];
  let args: string[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const cmd = words.shift();
    // iPXE's image options: `--name X`, `--name=X`, `--autofree`…; the URL follows them.
    const positional = () => {
      const rest = [...words];
      while (rest[0]?.startsWith('-')) {
        const opt = rest.shift()!;
        if (/^(--name|-n|--timeout|-t)$/.test(opt)) rest.shift();
      }
      const end = rest.findIndex((w) => w === '||' || w === '&&');
      return end === -1 ? rest : rest.slice(0, end);
    };
    if (cmd === 'kernel') {
      const p = positional();
      kernel = p[0] ?? '';
      args = p.slice(1);
    } else if (cmd === 'initrd') {
      const p = positional();
      if (p[0]) initrds.push(p[0]);
    }
  }
  const arg = (name: string) => args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
  const plan: ScriptPlan = { kernel, initrds };
  const config = arg('rackboot.config');
  const report = arg('rackboot.report');
  const token = arg('rackboot.token');
  if (config) plan.config = config;
  if (report) plan.report = report;
  if (token) plan.token = token;
  return plan;
}

export interface MachineEnv {
  dhcp: RelayDhcp;
  tftp: TftpOptions;
  deadline: number;
}

export async function bootMachine(mac: string, env: MachineEnv): Promise<MachineResult> {
  const r: MachineResult = { mac, ms: {}, retransmits: 0, bytes: 0, totalMs: 0 };
  const t0 = performance.now();
  let http: MachineHttp | undefined;
  let phase: Phase = 'dhcp';
  const step = async <T>(p: Phase, fn: () => Promise<T>): Promise<T> => {
    phase = p;
    const s = performance.now();
    const v = await fn();
    r.ms[p] = (r.ms[p] ?? 0) + performance.now() - s;
    return v;
  };
  try {
    const lease = await step('dhcp', () => env.dhcp.dora(mac, 'firmware', env.deadline));
    r.retransmits += lease.retransmits;
    if (!lease.file) throw new Error('no boot file in the ACK');
    const loader = await step('tftp', () => tftpGet(lease.ip, lease.nextServer, lease.file, env.tftp, env.deadline));
    r.retransmits += loader.retransmits;
    r.bytes += loader.bytes;
    const ipxe = await step('dhcp-ipxe', () => env.dhcp.dora(mac, 'ipxe', env.deadline));
    r.retransmits += ipxe.retransmits;
    if (!/^https?:\/\//.test(ipxe.file)) throw new Error(`iPXE got no script URL: '${ipxe.file}'`);
    http = new MachineHttp(ipxe.ip);
    const h = http;
    const script = await step('script', () => h.fetch(ipxe.file, env.deadline, { keep: true }));
    const plan = parseScript(script.body!.toString());
    if (!plan.kernel) throw new Error(`no kernel in the script: ${script.body!.toString().slice(0, 200)}`);
    const add = (g: { bytes: number; retries: number; reopenIdleMs: number[] }) => {
      r.bytes += g.bytes;
      r.retransmits += g.retries;
      for (const idleMs of g.reopenIdleMs) (r.reopens ??= []).push({ phase, idleMs });
    };
    add(await step('kernel', () => h.fetch(plan.kernel, env.deadline)));
    for (const url of plan.initrds) add(await step('initrd', () => h.fetch(url, env.deadline)));
    if (plan.config) {
      const url = plan.config;
      add(await step('config', () => h.fetch(url, env.deadline, { keep: true })));
    }
    if (plan.report) {
      const url = plan.report;
      const body = JSON.stringify({ phase: 'configured', message: 'storm' });
      add(await step('report', () => h.fetch(url, env.deadline, { body, ...(plan.token ? { token: plan.token } : {}) })));
    }
  } catch (e) {
    r.failed = { phase, error: e instanceof Error ? e.message : String(e) };
  } finally {
    http?.close();
  }
  r.totalMs = performance.now() - t0;
  return r;
}
