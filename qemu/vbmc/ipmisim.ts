import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { qemuArgs, type VmOptions } from '../vm.js';

const HERE = resolve(import.meta.dirname);

/** A virtual BMC for one QEMU VM, served by OpenIPMI's ipmi_sim (RMCP+, cipher suite 3). */
export interface IpmiVbmcSpec {
  /** The VM; its qmpSocket is forced into `dir`. */
  vm: VmOptions;
  /** Working directory: config, VM state, QMP socket, logs. */
  dir: string;
  /** Address ipmi_sim listens on (198.18.0.x or 127.0.0.1 inside a namespace). */
  address: string;
  port: number;
  username: string;
  password: string;
}

/** How to run the vBMC: spawn `command args` inside the VM's network namespace. */
export interface IpmiVbmcPlan {
  command: 'ipmi_sim';
  args: string[];
  dir: string;
}

const q = (s: string): string => {
  if (/["\s]/.test(s)) throw new Error(`ipmi_sim config values cannot hold quotes or spaces: ${JSON.stringify(s)}`);
  return `"${s}"`;
};

/**
 * Writes lan.conf, the emulator command file and the QEMU argument files for the chassis_control
 * script. The VM is started on the first power-on (startnow false), with the boot device the BMC
 * was last told: pxe → network first, default (disk) → disk first.
 */
export function prepareIpmiVbmc(spec: IpmiVbmcSpec): IpmiVbmcPlan {
  const dir = resolve(spec.dir);
  mkdirSync(join(dir, 'state'), { recursive: true });
  const vm: VmOptions = { ...spec.vm, qmpSocket: join(dir, 'qmp.sock') };
  const lines = (a: string[]) => `${a.join('\n')}\n`;
  writeFileSync(join(dir, 'args.default'), lines(qemuArgs(vm)));
  writeFileSync(join(dir, 'args.network'), lines(qemuArgs({ ...vm, boot: 'network' })));
  writeFileSync(join(dir, 'args.disk'), lines(qemuArgs({ ...vm, boot: 'disk' })));
  const conf = [
    `name ${q(`vbmc-${spec.vm.name}`)}`,
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr ${spec.address} ${spec.port}`,
    '    priv_limit admin',
    // RMCP+ is always offered; the v1.5 auth types are only needed by Get Channel Auth Capabilities.
    '    allowed_auths_callback none md5',
    '    allowed_auths_user none md5',
    '    allowed_auths_operator none md5',
    '    allowed_auths_admin none md5',
    '    guid a123456789abcdefa123456789abcdef',
    '  endlan',
    `  chassis_control "${q(join(HERE, 'chassis-control.sh')).slice(1, -1)} ${q(dir).slice(1, -1)}"`,
    `  user 2 true ${q(spec.username)} ${q(spec.password)} admin 10 none md5`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'lan.conf'), conf);
  writeFileSync(join(dir, 'sim.emu'), 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n');
  return { command: 'ipmi_sim', args: ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'sim.emu'), '-s', join(dir, 'state'), '-n', '-p'], dir };
}

/** PID of the VM the vBMC started, if it is running. */
export function vbmcVmPid(dir: string): number | undefined {
  const f = join(dir, 'qemu.pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  if (!pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Kills the VM the chassis_control script daemonized (it is not a child of anyone we own). */
export function killVbmcVm(dir: string): void {
  const pid = vbmcVmPid(dir);
  if (pid) process.kill(pid, 'SIGKILL');
}

/** The chassis_control script's operation log (power on/off, reset, shutdown, boot). */
export function vbmcOps(dir: string): string {
  const f = join(dir, 'ops.log');
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}
