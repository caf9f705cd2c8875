import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A throw-away test network made of two network namespaces:
 * - `srv`: bridge br0 at 198.18.0.1/24 (servers run here; VM taps join br0),
 * - `cli`: interface eth0 joined to br0 through a veth pair (real DHCP/TFTP clients run here).
 * Nothing touches the root namespace's interfaces; destroy() kills what it started (by PID)
 * and deletes both namespaces.
 */
export class TestNet {
  readonly procs = new Set<ChildProcess>();
  private constructor(
    readonly srv: string,
    readonly cli: string,
  ) {}

  /** Server address on br0. */
  readonly serverIp = '198.18.0.1';

  static async create(tag: string): Promise<TestNet> {
    const id = `${tag.slice(0, 6)}${randomBytes(3).toString('hex')}`;
    const net = new TestNet(`rb-${id}-s`, `rb-${id}-c`);
    const sh = async (...args: string[]) => run('ip', args);
    await sh('netns', 'add', net.srv);
    await sh('netns', 'add', net.cli);
    const s = (...a: string[]) => sh('-n', net.srv, ...a);
    const c = (...a: string[]) => sh('-n', net.cli, ...a);
    await s('link', 'set', 'lo', 'up');
    await c('link', 'set', 'lo', 'up');
    await s('link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
    await s('addr', 'add', `${net.serverIp}/24`, 'dev', 'br0');
    await s('link', 'set', 'br0', 'up');
    // veth pair created inside srv, one end moved to cli as eth0.
    await s('link', 'add', 'vcli', 'type', 'veth', 'peer', 'name', 'eth0');
    await s('link', 'set', 'eth0', 'netns', net.cli);
    await s('link', 'set', 'vcli', 'master', 'br0');
    await s('link', 'set', 'vcli', 'up');
    await c('link', 'set', 'eth0', 'up');
    return net;
  }

  /** Runs a command to completion inside a namespace; rejects on non-zero exit. */
  async exec(ns: string, cmd: string, args: string[] = [], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  }

  /** Starts a long-running process inside a namespace; it is killed by destroy(). */
  spawn(ns: string, cmd: string, args: string[] = [], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    this.procs.add(p);
    p.once('exit', () => this.procs.delete(p));
    return p;
  }

  /** Adds a tap device in srv joined to br0 (for a QEMU NIC). */
  async addTap(name: string): Promise<string> {
    await run('ip', ['-n', this.srv, 'tuntap', 'add', 'dev', name, 'mode', 'tap']);
    await run('ip', ['-n', this.srv, 'link', 'set', name, 'master', 'br0']);
    await run('ip', ['-n', this.srv, 'link', 'set', name, 'up']);
    return name;
  }

  /** Kills every process it started (SIGKILL, by PID) and deletes the namespaces. */
  async destroy(): Promise<void> {
    for (const p of this.procs) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    await Promise.all([...this.procs].map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    for (const ns of [this.cli, this.srv]) await run('ip', ['netns', 'del', ns]).catch(() => {});
  }
}

/** Waits until `pred` is true, polling every `everyMs`; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 200): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
