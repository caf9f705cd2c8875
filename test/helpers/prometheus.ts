import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One sample of an instant query (Prometheus HTTP API, `resultType: vector`). */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A Prometheus server the test started inside a network namespace. */
export interface NetnsPrometheus {
  url: string;
  proc: ChildProcess;
  /** GET /api/v1/query (at `atSeconds`, Unix time, or now) from inside the namespace (the test process has no route there). */
  query(expr: string, atSeconds?: number): Promise<PromSample[]>;
  /** SIGTERM by PID, SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * Starts Debian's `prometheus` with `ip netns exec` on `listen` (an address of that namespace),
 * scraping one HTTPS target every second with a bearer token file and the target's CA. Storage
 * is a fresh directory under `dir`; output goes to `dir/prometheus.log`.
 */
export function startNetnsPrometheus(o: { netns: string; dir: string; listen: string; target: string; caFile: string; tokenFile: string; path?: string }): NetnsPrometheus {
  mkdirSync(o.dir, { recursive: true });
  const config = join(o.dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: rackboot',
      `    metrics_path: ${o.path ?? '/metrics'}`,
      '    scheme: https',
      `    tls_config: { ca_file: ${JSON.stringify(o.caFile)} }`,
      `    authorization: { credentials_file: ${JSON.stringify(o.tokenFile)} }`,
      `    static_configs: [{ targets: [${JSON.stringify(o.target)}] }]`,
      '',
    ].join('\n'),
  );
  const log = openSync(join(o.dir, 'prometheus.log'), 'a');
  const proc = spawn(
    'ip',
    ['netns', 'exec', o.netns, 'prometheus', `--config.file=${config}`, `--storage.tsdb.path=${join(o.dir, 'tsdb')}`, `--web.listen-address=${o.listen}`],
    { stdio: ['ignore', log, log] },
  );
  const url = `http://${o.listen}`;
  return {
    url,
    proc,
    async query(expr, atSeconds) {
      const params = ['--data-urlencode', `query=${expr}`, ...(atSeconds === undefined ? [] : ['--data-urlencode', `time=${atSeconds}`])];
      const { stdout } = await run('ip', ['netns', 'exec', o.netns, 'curl', '-sS', '--max-time', '5', '--get', ...params, `${url}/api/v1/query`], { timeout: 10_000 });
      const body = JSON.parse(stdout) as { status: string; error?: string; data?: { result: PromSample[] } };
      if (body.status !== 'success' || !body.data) throw new Error(`prometheus query ${expr}: ${body.error ?? stdout.slice(0, 200)}`);
      return body.data.result;
    },
    async stop() {
      if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      // `ip netns exec` execs prometheus: the PID is prometheus's own.
      process.kill(proc.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, 'SIGKILL');
    },
  };
}
