import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { LAB_ADDR, type LabNet, type LabProc } from './netns.js';

/** The repository root (rackboot runs from its TypeScript sources through tsx). */
export const ROOT = resolve(import.meta.dirname, '..');

/** HTTP port of rackboot's boot listener inside the lab namespace. */
export const LAB_HTTP_PORT = 8080;

/** HTTPS port of rackboot's management API inside the lab namespace. */
export const LAB_API_PORT = 8443;

/** The local CA rackboot generated for its API (curl --cacert, RACKBOOT_CA). */
export function labCaFile(dataDir: string): string {
  return join(dataDir, 'tls', 'ca.crt');
}

/** rackboot's settings for a lab: everything bound in the lab namespace, DHCP on br0. */
export function labSettings(o: { dataDir: string; assetsDir: string; mode: 'full' | 'proxy'; logLevel?: string }): Record<string, unknown> {
  return {
    dataDir: o.dataDir,
    assetsDir: o.assetsDir,
    logLevel: o.logLevel ?? 'info',
    http: { host: '0.0.0.0', port: LAB_HTTP_PORT, publicUrl: `http://${LAB_ADDR.server}:${LAB_HTTP_PORT}`, consoleArgs: 'console=tty0 console=ttyS0,115200' },
    api: { host: '0.0.0.0', port: LAB_API_PORT, tls: { names: [LAB_ADDR.server] } },
    tftp: { host: LAB_ADDR.server },
    dhcp: {
      mode: o.mode,
      interfaces: ['br0'],
      serverAddress: LAB_ADDR.server,
      subnets:
        o.mode === 'full'
          ? [{ cidr: `198.18.0.0/${LAB_ADDR.prefix}`, poolStart: LAB_ADDR.poolStart, poolEnd: LAB_ADDR.poolEnd, leaseSeconds: 3600 }]
          : [],
    },
  };
}

/** A rackboot process of the lab. */
export interface LabRackboot {
  proc: LabProc;
  logFile: string;
  configFile: string;
}

/**
 * Starts `rackboot serve` in the lab namespace (detached, output appended to `logFile`) and
 * waits until it logs that it serves. Restarting with the same settings file reuses the data.
 */
export async function startLabRackboot(net: LabNet, work: string, settings: Record<string, unknown>, timeoutMs = 120_000): Promise<LabRackboot> {
  const configFile = join(work, 'rackboot.yaml');
  const logFile = join(work, 'rackboot.log');
  writeFileSync(configFile, stringify(settings));
  const before = existsSync(logFile) ? readFileSync(logFile).length : 0;
  const cli = join(ROOT, 'src/cli.ts');
  const p = net.spawn(net.lab, process.execPath, ['--import', 'tsx', cli, 'serve', '--config', configFile], {
    logFile,
    cwd: ROOT,
    env: { ...process.env, RACKBOOT_LOG_JSON: '1' },
  });
  const pid = p.pid;
  if (pid === undefined) throw new Error('cannot start rackboot');
  let exited: number | null = null;
  p.once('exit', (code) => {
    exited = code ?? -1;
  });
  const end = Date.now() + timeoutMs;
  for (;;) {
    const out = readFileSync(logFile).subarray(before).toString();
    if (out.includes('rackboot serving')) break;
    if (exited !== null) throw new Error(`rackboot exited ${exited}:\n${out.slice(-3000)}`);
    if (Date.now() > end) throw new Error(`rackboot did not start within ${timeoutMs} ms:\n${out.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  // `ip netns exec` execs the command, so the PID is node's own.
  return { proc: { pid, what: cli }, logFile, configFile };
}

/** The admin token rackboot wrote on its first start. */
export function adminToken(dataDir: string): string {
  return readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
}
