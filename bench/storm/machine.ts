/** One simulated machine's network boot, phase by phase, as UEFI firmware + iPXE do it. */
import type { ClientKind, Lease } from './dhcp-client.js';
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

/** A DORA as a machine's firmware or iPXE makes it (RelayDhcp, or a worker's proxy to it). */
export interface DoraClient {
  dora(mac: string, kind: ClientKind, deadline: number): Promise<Lease>;
}

export interface MachineEnv {
  dhcp: DoraClient;
  tftp: TftpOptions;
  deadline: number;
}

export async function bootMachine(mac: string, env: MachineEnv): Promise<MachineResult> {
  const r: MachineResult = { mac, ms: {}, retransmits: 0, retx: {}, bytes: 0, totalMs: 0 };
  const t0 = performance.now();
  // iPXE's one kept-alive connection (script, kernel, initrd); then the booted OS's agent
  // (boot-assets/testos/agent.sh) fetches config and posts its report with one wget each, so
  // on a fresh connection each.
  let ipxeHttp: MachineHttp | undefined;
  const agentFetch = async (ip: string, url: string, o: { keep?: boolean; body?: string; token?: string }) => {
    const c = new MachineHttp(ip);
    try {
      return await c.fetch(url, env.deadline, o);
    } finally {
      c.close();
    }
  };
  let phase: Phase = 'dhcp';
  const step = async <T>(p: Phase, fn: () => Promise<T>): Promise<T> => {
    phase = p;
    const s = performance.now();
    const v = await fn();
    r.ms[p] = (r.ms[p] ?? 0) + performance.now() - s;
    return v;
  };
  const retried = (n: number) => {
    r.retransmits += n;
    r.retx![phase] = (r.retx![phase] ?? 0) + n;
  };
  try {
    const lease = await step('dhcp', () => env.dhcp.dora(mac, 'firmware', env.deadline));
    retried(lease.retransmits);
    if (!lease.file) throw new Error('no boot file in the ACK');
    const loader = await step('tftp', () => tftpGet(lease.ip, lease.nextServer, lease.file, env.tftp, env.deadline));
    retried(loader.retransmits);
    r.bytes += loader.bytes;
    const ipxe = await step('dhcp-ipxe', () => env.dhcp.dora(mac, 'ipxe', env.deadline));
    retried(ipxe.retransmits);
    if (!/^https?:\/\//.test(ipxe.file)) throw new Error(`iPXE got no script URL: '${ipxe.file}'`);
    ipxeHttp = new MachineHttp(ipxe.ip);
    const h = ipxeHttp;
    const script = await step('script', () => h.fetch(ipxe.file, env.deadline, { keep: true }));
    retried(script.retries);
    const plan = parseScript(script.body!.toString());
    if (!plan.kernel) throw new Error(`no kernel in the script: ${script.body!.toString().slice(0, 200)}`);
    const add = (g: { bytes: number; retries: number; reopenIdleMs: number[] }) => {
      r.bytes += g.bytes;
      retried(g.retries);
      for (const idleMs of g.reopenIdleMs) (r.reopens ??= []).push({ phase, idleMs });
    };
    add(await step('kernel', () => h.fetch(plan.kernel, env.deadline)));
    for (const url of plan.initrds) add(await step('initrd', () => h.fetch(url, env.deadline)));
    ipxeHttp.close();
    ipxeHttp = undefined;
    if (plan.config) {
      const url = plan.config;
      add(await step('config', () => agentFetch(ipxe.ip, url, { keep: true })));
    }
    if (plan.report) {
      const url = plan.report;
      const body = JSON.stringify({ phase: 'configured', message: 'storm' });
      add(await step('report', () => agentFetch(ipxe.ip, url, { body, ...(plan.token ? { token: plan.token } : {}) })));
    }
  } catch (e) {
    r.failed = { phase, error: e instanceof Error ? e.message : String(e) };
  } finally {
    ipxeHttp?.close();
  }
  r.totalMs = performance.now() - t0;
  return r;
}
