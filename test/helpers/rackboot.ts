import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { Store } from '../../src/inventory/store.js';
import { type TestNet, waitFor } from './netns.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** A rackboot process running inside a test namespace, from the TypeScript sources (tsx). */
export interface RackbootProcess {
  proc: ChildProcess;
  dataDir: string;
  output: () => string;
  /** Opens the inventory from the test process (WAL allows it while the server runs). */
  openStore: () => Store;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

/**
 * Starts `rackboot serve` in net.srv with the given settings (dataDir defaults to a fresh
 * temp dir). Pre-populate the inventory with `Store.open(dataDir)` before calling this.
 */
export async function startRackboot(net: TestNet, settings: Record<string, unknown>, dataDir?: string): Promise<RackbootProcess> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'rb-data-'));
  const cfg = join(dir, 'rackboot.test.yaml');
  writeFileSync(cfg, stringify({ dataDir: dir, logLevel: 'debug', ...settings }));
  const proc = net.spawn(net.srv, process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'serve', '--config', cfg], {
    cwd: ROOT,
    env: { ...process.env, RACKBOOT_LOG_JSON: '1' },
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor('rackboot to start', () => {
    if (proc.exitCode !== null) throw new Error(`rackboot exited ${proc.exitCode}:\n${out}`);
    return out.includes('rackboot serving');
  }, 60_000);
  return {
    proc,
    dataDir: dir,
    output: () => out,
    openStore: () => Store.open(dir),
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      // Already gone (an exit code, or killed by a signal): the exit event has fired.
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await exited;
    },
  };
}
