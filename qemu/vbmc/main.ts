/**
 * Starts a virtual BMC for one VM, inside the caller's network namespace:
 *   node --import tsx qemu/vbmc/main.ts redfish|ipmi SPEC.json
 * SPEC: { vm: VmOptions, dir, address, port, username, password }. ipmi execs ipmi_sim (this
 * process stays as its parent); redfish serves until SIGTERM and kills its VM on exit.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { killVbmcVm, prepareIpmiVbmc } from './ipmisim.js';
import { startRedfishVbmc } from './redfish.js';

const [kind, file] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(file ?? '/dev/stdin', 'utf8'));
if (kind === 'redfish') {
  const v = await startRedfishVbmc({ vm: spec.vm, dir: spec.dir, host: spec.address, port: spec.port, username: spec.username, password: spec.password });
  process.stdout.write(`vbmc redfish listening ${v.url}\n`);
  const stop = () => void v.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else if (kind === 'ipmi') {
  const plan = prepareIpmiVbmc(spec);
  const sim = spawn(plan.command, plan.args, { stdio: 'inherit' });
  process.stdout.write(`vbmc ipmi listening ${spec.address}:${spec.port}\n`);
  const stop = () => {
    sim.kill('SIGTERM');
    killVbmcVm(plan.dir);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  sim.on('exit', (code) => {
    killVbmcVm(plan.dir);
    process.exit(code ?? 0);
  });
} else {
  process.stderr.write('usage: main.ts redfish|ipmi SPEC.json\n');
  process.exit(2);
}
