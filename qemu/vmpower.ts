import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabVm } from './inventory.js';
import type { LabNet, LabProc } from './netns.js';
import { prepareIpmiVbmc } from './vbmc/ipmisim.js';
import { type VmOptions, qemuArgs } from './vm.js';

/** How a lab VM gets power: its virtual BMC (which starts QEMU), or the lab directly. */
export interface VmPower {
  /** Processes to stop at teardown (the vBMC; QEMU itself is found through the namespace). */
  procs: LabProc[];
  /** The QEMU command line the VM runs with (also written to <work>/<vm>.qemu.json). */
  argv: string[];
  /** Direct mode only: starts QEMU now. */
  directOn(): Promise<LabProc[]>;
}

/** Plans a VM's QEMU command and starts its power path (virtual BMC or nothing in direct mode). */
export async function startVmPower(o: { net: LabNet; vm: LabVm; disk: string; serialLog: string; work: string; mode: 'bmc' | 'direct' }): Promise<VmPower> {
  const { net, vm } = o;
  const options: VmOptions = {
    name: vm.name,
    mac: vm.mac,
    tap: vm.tap,
    firmware: vm.firmware,
    disk: o.disk,
    serialLog: o.serialLog,
    memoryMb: 512,
    // One NVRAM per VM for its whole life, like a real board's (boot entries survive power cycles).
    varsFile: join(o.work, `${vm.name}.vars.fd`),
  };
  const argv = ['qemu-system-x86_64', ...qemuArgs(options)];
  writeFileSync(join(o.work, `${vm.name}.qemu.json`), `${JSON.stringify(argv)}\n`);
  const directOn = async (): Promise<LabProc[]> => {
    const p = net.spawn(net.lab, argv[0]!, argv.slice(1), { logFile: join(o.work, `${vm.name}.qemu.log`) });
    if (p.pid === undefined) throw new Error(`cannot start QEMU for ${vm.name}`);
    return [{ pid: p.pid, what: vm.name }];
  };
  if (o.mode === 'direct') return { procs: [], argv, directOn };
  if (vm.bmc.type !== 'ipmi') throw new Error('the lab has IPMI virtual BMCs (ipmi_sim) only: use --bmc ipmi');
  // ipmi_sim hands every power and boot-device command to chassis-control.sh, which starts QEMU
  // (daemonized, inside this namespace) with the boot order the BMC was last told.
  const plan = prepareIpmiVbmc({
    vm: options,
    dir: join(o.work, `${vm.name}.vbmc`),
    address: vm.bmc.address,
    port: vm.bmc.port,
    username: vm.bmc.username,
    password: vm.bmc.password,
  });
  const p = net.spawn(net.lab, plan.command, plan.args, { logFile: join(o.work, `${vm.name}.vbmc.log`) });
  if (p.pid === undefined) throw new Error(`cannot start the vBMC of ${vm.name}`);
  await waitListening(net, `${vm.bmc.address}:${vm.bmc.port}`, 20_000);
  return { procs: [{ pid: p.pid, what: 'ipmi_sim' }], argv, directOn };
}

/** Waits until a UDP socket is bound in the lab namespace (ipmi_sim is ready for RMCP+). */
async function waitListening(net: LabNet, addrPort: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await net.exec(net.lab, 'ss', ['-Huln'])).stdout.includes(addrPort)) {
    if (Date.now() > end) throw new Error(`vBMC did not listen on ${addrPort} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
