import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { qemuArgs } from '../../../qemu/vm.js';

const run = promisify(execFile);

/** A SeaBIOS + iPXE VM (TCG) on a tap of a namespace's bridge. */
export interface BridgeVm {
  proc: ChildProcess;
  /** The serial console so far (empty before the first byte). */
  serial: () => string;
  /** Kills QEMU (by its PID) and waits for it to exit. */
  stop: () => Promise<void>;
}

/** What the VM is: its NIC's MAC and its SMBIOS system identity (type 1). */
export interface BridgeVmOptions {
  ns: string;
  bridge: string;
  tap: string;
  name: string;
  mac: string;
  uuid: string;
  serial: string;
  /** Where the serial console log goes. */
  dir: string;
}

/**
 * Adds a tap to `bridge` in namespace `ns` and starts QEMU on it there, with qemu/vm.ts's
 * arguments (BIOS firmware: SeaBIOS, whose virtio NIC ROM from ipxe-qemu is iPXE itself) and
 * the given SMBIOS UUID and serial, which iPXE sends with its script request.
 */
export async function startBridgeVm(o: BridgeVmOptions): Promise<BridgeVm> {
  await run('ip', ['-n', o.ns, 'tuntap', 'add', 'dev', o.tap, 'mode', 'tap']);
  await run('ip', ['-n', o.ns, 'link', 'set', o.tap, 'master', o.bridge]);
  await run('ip', ['-n', o.ns, 'link', 'set', o.tap, 'up']);
  const log = join(o.dir, `${o.name}.serial.log`);
  const args = [
    ...qemuArgs({ name: o.name, mac: o.mac, tap: o.tap, firmware: 'bios', serialLog: log, memoryMb: 512 }),
    '-smbios', `type=1,manufacturer=rackboot-lab,product=active-active,uuid=${o.uuid},serial=${o.serial}`,
  ];
  // `ip netns exec` execs QEMU in place: the child's PID is QEMU's.
  const proc = spawn('ip', ['netns', 'exec', o.ns, 'qemu-system-x86_64', ...args], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    serial: () => (existsSync(log) ? readFileSync(log, 'utf8') : ''),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Calls an appliance's management API from inside a namespace (curl, verifying the appliance's
 * own CA from its data dir, with its first-start admin token). Rejects on an HTTP error.
 */
export function applianceApi(ns: string, base: string, dataDir: string) {
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const args = ['netns', 'exec', ns, 'curl', '-sS', '--fail-with-body', '--max-time', '30', '-X', method, '--cacert', join(dataDir, 'tls', 'ca.crt'), '-H', `Authorization: Bearer ${token}`];
    if (body !== undefined) args.push('-H', 'Content-Type: application/json', '-d', JSON.stringify(body));
    const r = await run('ip', [...args, `${base}${path}`], { maxBuffer: 16 << 20 }).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`${method} ${path}: ${e.stderr ?? ''} ${e.stdout ?? ''}`);
    });
    return JSON.parse(r.stdout) as T;
  };
}

/** The SHA-256 (hex) of what a URL returns, fetched with curl from inside a namespace. */
export async function fetchDigest(ns: string, url: string): Promise<string> {
  const r = await run('ip', ['netns', 'exec', ns, 'bash', '-c', 'set -o pipefail; curl -sS --fail --max-time 60 "$1" | sha256sum', 'bash', url]);
  return r.stdout.split(/\s+/)[0] ?? '';
}
