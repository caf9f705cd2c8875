import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Addresses of the lab (RFC 2544 benchmarking range 198.18.0.0/15, never routed). */
export const LAB_ADDR = {
  /** rackboot and the virtual BMCs, on the bridge in the lab namespace. */
  server: '198.18.0.1',
  /** The "site" DHCP server (dnsmasq) of proxy mode, in its own namespace. */
  site: '198.18.0.2',
  prefix: 24,
  poolStart: '198.18.0.100',
  poolEnd: '198.18.0.199',
} as const;

/** A process the lab started, as recorded for `--down` (PID plus what it was, to avoid PID reuse). */
export interface LabProc {
  pid: number;
  what: string;
}

/**
 * The lab network: namespace `lab` with bridge br0 at 198.18.0.1/24 (rackboot, vBMCs and
 * every VM tap), and for proxy mode a `site` namespace joined to br0 by a veth pair where the
 * site's own DHCP server runs. Nothing is created in, or sent from, the root namespace.
 */
export class LabNet {
  private constructor(
    readonly lab: string,
    readonly site: string,
  ) {}

  /** Creates the namespaces and the bridge; names are unique per lab (tag + random). */
  static async create(tag: string): Promise<LabNet> {
    const id = `${tag.replace(/[^a-z0-9]/g, '').slice(0, 6)}${randomBytes(3).toString('hex')}`;
    const net = new LabNet(`rb-${id}-l`, `rb-${id}-x`);
    await run('ip', ['netns', 'add', net.lab]);
    try {
      const l = (...a: string[]) => run('ip', ['-n', net.lab, ...a]);
      await l('link', 'set', 'lo', 'up');
      await l('link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
      await l('addr', 'add', `${LAB_ADDR.server}/${LAB_ADDR.prefix}`, 'dev', 'br0');
      await l('link', 'set', 'br0', 'up');
    } catch (e) {
      await run('ip', ['netns', 'del', net.lab]).catch(() => {});
      throw e;
    }
    return net;
  }

  /** Re-attaches to namespaces recorded by an earlier run (for `--down`). */
  static attach(lab: string, site: string): LabNet {
    return new LabNet(lab, site);
  }

  /** Adds the site namespace (198.18.0.2 on a veth into br0) for a site DHCP server. */
  async addSite(): Promise<void> {
    await run('ip', ['netns', 'add', this.site]);
    const l = (...a: string[]) => run('ip', ['-n', this.lab, ...a]);
    const s = (...a: string[]) => run('ip', ['-n', this.site, ...a]);
    await l('link', 'add', 'vsite', 'type', 'veth', 'peer', 'name', 'eth0');
    await l('link', 'set', 'eth0', 'netns', this.site);
    await l('link', 'set', 'vsite', 'master', 'br0');
    await l('link', 'set', 'vsite', 'up');
    await s('link', 'set', 'lo', 'up');
    await s('addr', 'add', `${LAB_ADDR.site}/${LAB_ADDR.prefix}`, 'dev', 'eth0');
    await s('link', 'set', 'eth0', 'up');
  }

  /** Adds a tap device on br0 for one VM NIC. */
  async addTap(name: string): Promise<string> {
    await run('ip', ['-n', this.lab, 'tuntap', 'add', 'dev', name, 'mode', 'tap']);
    await run('ip', ['-n', this.lab, 'link', 'set', name, 'master', 'br0']);
    await run('ip', ['-n', this.lab, 'link', 'set', name, 'up']);
    return name;
  }

  /** Runs a command to completion inside a namespace. */
  async exec(ns: string, cmd: string, args: string[] = [], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  }

  /**
   * Starts a long-running process in a namespace, detached in its own process group with its
   * output in `logFile`, so it outlives the lab command (`--down` stops it by PID).
   */
  spawn(ns: string, cmd: string, args: string[], opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): ChildProcess {
    const fd = openSync(opts.logFile, 'a');
    const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      detached: true,
    });
    p.unref();
    return p;
  }

  /**
   * Stops every process still inside the lab's namespaces (QEMU started by a vBMC is not our
   * child; `ip netns pids` names exactly the processes in our namespaces), then deletes them.
   */
  async destroy(graceMs = 5000): Promise<void> {
    for (const ns of [this.site, this.lab]) {
      const pids = await nsPids(ns);
      for (const pid of pids) signal(pid, 'SIGTERM');
      const end = Date.now() + graceMs;
      while ((await nsPids(ns)).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      for (const pid of await nsPids(ns)) signal(pid, 'SIGKILL');
      await run('ip', ['netns', 'del', ns]).catch(() => {});
    }
  }
}

async function nsPids(ns: string): Promise<number[]> {
  const r = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** Sends a signal to a recorded process if it is still the one we started (its cmdline matches). */
export function killRecorded(p: LabProc, signal: NodeJS.Signals = 'SIGTERM'): boolean {
  if (!isAlive(p)) return false;
  try {
    process.kill(p.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True when the PID still runs the command we recorded (guards against PID reuse). */
export function isAlive(p: LabProc): boolean {
  try {
    // /proc/<pid>/cmdline is NUL-separated; a gone process throws, a zombie reads empty.
    return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(p.what);
  } catch {
    return false;
  }
}

/** Stops recorded processes: SIGTERM, then SIGKILL after `graceMs` for those still running. */
export async function stopRecorded(procs: LabProc[], graceMs = 5000): Promise<void> {
  const live = procs.filter((p) => killRecorded(p, 'SIGTERM'));
  const end = Date.now() + graceMs;
  while (live.some(isAlive) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  for (const p of live) killRecorded(p, 'SIGKILL');
}
