import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** One answer of the in-namespace agent. */
export interface AgentReply {
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string; details?: unknown };
  ms: number;
  sent: number;
}

/** A PowerService running inside a namespace, driven over stdin/stdout JSON lines. */
export interface Agent {
  call: (method: string, ...args: unknown[]) => Promise<AgentReply>;
  stop: () => Promise<void>;
  proc: ChildProcess;
}

/** Starts test/bmc/helpers/agent.ts in `ns` (TestNet.spawn has no stdin, so this spawns itself). */
export function spawnAgent(ns: string, dataDir: string, settings: Record<string, unknown>): Agent {
  const root = resolve(import.meta.dirname, '../../..');
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', resolve(import.meta.dirname, 'agent.ts'), dataDir, JSON.stringify(settings)], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let next = 1;
  const pending = new Map<number, (r: AgentReply) => void>();
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    try {
      const r = JSON.parse(l) as AgentReply & { id: number };
      pending.get(r.id)?.(r);
      pending.delete(r.id);
    } catch {
      /* not a reply */
    }
  });
  proc.once('exit', (code) => {
    for (const p of pending.values()) p({ ok: false, error: { code: 'AGENT_EXIT', message: `agent exited ${code}: ${stderr}` }, ms: 0, sent: 0 });
    pending.clear();
  });
  return {
    proc,
    call: (method, ...args) =>
      new Promise((res) => {
        const id = next++;
        pending.set(id, res);
        proc.stdin!.write(`${JSON.stringify({ id, method, args })}\n`);
      }),
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.stdin!.end();
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
