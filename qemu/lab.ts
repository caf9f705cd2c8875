/**
 * The QEMU lab: `npm run lab -- [--vms N] [--firmware bios,uefi] [--dhcp full|proxy]
 * [--bmc ipmi|redfish] [--power bmc|direct] [--timeout S] [--work DIR]`, and `--down` to tear
 * a lab down. Runs as root (network namespaces, taps). TCG only: KVM hangs iPXE's timer here.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Lab, type LabOptions, readRecord, teardown } from './lab-core.js';
import { type ProgressRow, renderTable } from './progress.js';
import type { Firmware } from './vm.js';

const USAGE = `usage: npm run lab -- [options]
  --vms N               number of VMs (default 2)
  --firmware LIST       firmwares round-robin: bios,uefi (default bios,uefi)
  --dhcp full|proxy     rackboot authoritative, or ProxyDHCP beside dnsmasq (default full)
  --bmc ipmi|redfish    virtual BMC protocol (default ipmi)
  --power bmc|direct    power through the vBMCs (default) or start QEMU directly
  --timeout S           give up after S seconds (default 900)
  --work DIR            lab directory (default ${join(tmpdir(), 'rackboot-lab')})
  --down                stop the lab recorded in --work and delete its namespaces`;

/** Parses the lab's command line; throws a usage error message. */
export function parseLabArgs(argv: string[]): { opts: LabOptions; timeoutS: number; down: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      vms: { type: 'string', default: '2' },
      firmware: { type: 'string', default: 'bios,uefi' },
      dhcp: { type: 'string', default: 'full' },
      bmc: { type: 'string', default: 'ipmi' },
      power: { type: 'string', default: 'bmc' },
      timeout: { type: 'string', default: '900' },
      work: { type: 'string', default: join(tmpdir(), 'rackboot-lab') },
      down: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const vms = Number(values.vms);
  if (!Number.isInteger(vms) || vms < 1 || vms > 32) throw new Error('--vms: 1..32');
  const firmwares = values.firmware.split(',').map((f) => f.trim());
  for (const f of firmwares) if (!['bios', 'uefi', 'uefi-secureboot'].includes(f)) throw new Error(`--firmware: unknown ${f}`);
  if (values.dhcp !== 'full' && values.dhcp !== 'proxy') throw new Error('--dhcp: full or proxy');
  if (values.bmc !== 'ipmi' && values.bmc !== 'redfish') throw new Error('--bmc: ipmi or redfish');
  if (values.power !== 'bmc' && values.power !== 'direct') throw new Error('--power: bmc or direct');
  const timeoutS = Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS < 10) throw new Error('--timeout: at least 10 seconds');
  return {
    opts: { vms, firmwares: firmwares as Firmware[], dhcp: values.dhcp, bmc: values.bmc, power: values.power, work: values.work },
    timeoutS,
    down: values.down,
  };
}

/** Polls the boot trace and redraws the table until every VM is ready, one failed, or time runs out. */
export async function watch(lab: Lab, timeoutS: number, out: NodeJS.WriteStream = process.stdout): Promise<ProgressRow[]> {
  const start = Date.now();
  let drawn = 0;
  let lastText = '';
  for (;;) {
    const rows: ProgressRow[] = [];
    for (const vm of lab.machines) {
      const [phase, m] = await Promise.all([lab.phase(vm), lab.machine(vm)]);
      rows.push({ name: vm.name, firmware: vm.firmware, mac: vm.mac, phase, state: m.state, ip: m.ipv4 ?? vm.ipv4, since: start });
    }
    const text = renderTable(rows, Date.now());
    if (out.isTTY) {
      // Redraw in place: cursor up over the previous table, clear to the end of the screen.
      out.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}\x1b[J${text}\n`);
      drawn = text.split('\n').length;
    } else if (text.replace(/\d+s$/gm, '') !== lastText) {
      out.write(`${text}\n\n`);
      lastText = text.replace(/\d+s$/gm, '');
    }
    const done = rows.every((r) => r.phase === 'ready' && r.state === 'ready');
    if (done || rows.some((r) => r.phase === 'failed')) return rows;
    if (Date.now() - start > timeoutS * 1000) return rows;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseLabArgs>;
  try {
    parsed = parseLabArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const { opts, timeoutS, down } = parsed;
  if (down) {
    const rec = readRecord(opts.work);
    if (!rec) {
      process.stderr.write(`no lab recorded in ${opts.work}\n`);
      return 1;
    }
    await teardown(rec);
    rmSync(join(opts.work, 'lab.json'), { force: true });
    process.stdout.write(`lab ${rec.lab} stopped; logs and disks stay in ${opts.work}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('the lab needs root (network namespaces, tap devices)\n');
    return 1;
  }
  const old = readRecord(opts.work);
  if (old) await teardown(old);
  rmSync(opts.work, { recursive: true, force: true });
  process.stdout.write(`rackboot lab: ${opts.vms} VM(s) [${opts.firmwares.join(', ')}], DHCP ${opts.dhcp}, power via ${opts.power === 'bmc' ? `${opts.bmc} vBMC` : 'QEMU directly'}; work dir ${opts.work}\n`);
  let lab: Lab | undefined;
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\ninterrupted: stopping VMs, vBMCs, rackboot and deleting the namespaces...\n');
    // Before Lab.create returned, lab.json already names the namespaces it made.
    const rec = readRecord(opts.work);
    void (lab ? lab.down() : rec ? teardown(rec) : Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  lab = await Lab.create(opts).catch(async (e: unknown) => {
    if (stopping) await new Promise(() => {});
    throw e;
  });
  process.stdout.write(`network namespace ${lab.net.lab} (bridge br0 198.18.0.1/24), rackboot ${lab.api.baseUrl}\n`);
  process.stdout.write(`inventory: ${join(opts.work, 'inventory.yaml')}; powering on through the BMCs\n\n`);
  for (const vm of lab.machines) await lab.powerOn(vm);
  let rows: ProgressRow[];
  try {
    rows = await watch(lab, timeoutS);
  } catch (e) {
    // Ctrl-C tears rackboot down under the watch loop: wait for the clean-up to exit.
    if (stopping) await new Promise(() => {});
    throw e;
  }
  const ok = rows.every((r) => r.phase === 'ready');
  process.stdout.write(`\n${ok ? 'all VMs ready' : 'NOT all VMs reached ready'} in ${Math.round((Date.now() - rows[0]!.since) / 1000)} s\n`);
  process.stdout.write(`serial consoles: ${join(opts.work, '<vm>.serial.log')}; rackboot log: ${lab.rackboot.logFile}\n`);
  process.stdout.write(`rackboot CLI inside the lab: sudo ip netns exec ${lab.net.lab} env RACKBOOT_URL=${lab.api.baseUrl} RACKBOOT_DATADIR=${join(opts.work, 'data')} npx tsx src/cli.ts machines list\n`);
  process.stdout.write(`tear down: npm run lab -- --down${opts.work === join(tmpdir(), 'rackboot-lab') ? '' : ` --work ${opts.work}`}\n`);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
