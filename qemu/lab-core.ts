import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { LabApi } from './api.js';
import { type LabVm, labInventory, planVms } from './inventory.js';
import { LAB_ADDR, LabNet, type LabProc, isAlive, stopRecorded } from './netns.js';
import { type Phase, type TraceEvent, currentPhase } from './progress.js';
import { LAB_API_PORT, LAB_HTTP_PORT, type LabRackboot, ROOT, adminToken, labCaFile, labSettings, startLabRackboot } from './rackboot.js';
import { type VmPower, startVmPower } from './vmpower.js';
import type { Firmware } from './vm.js';

const run = promisify(execFile);

/** How a lab is started. */
export interface LabOptions {
  vms: number;
  firmwares: Firmware[];
  dhcp: 'full' | 'proxy';
  bmc: 'ipmi' | 'redfish';
  /** Power path: through the virtual BMCs (default) or QEMU started directly (debugging). */
  power: 'bmc' | 'direct';
  /** Working directory: disks, logs, serial consoles, rackboot's data, lab.json. */
  work: string;
  diskMb?: number;
  logLevel?: string;
}

/** What `lab.json` records so `--down` can stop a lab another process started. */
export interface LabRecord {
  lab: string;
  site: string;
  work: string;
  procs: LabProc[];
}

/** One VM of a running lab. */
export interface LabMachine extends LabVm {
  disk: string;
  serialLog: string;
  power: VmPower;
}

/** A running lab: network, rackboot, site DHCP (proxy mode), VMs behind their virtual BMCs. */
export class Lab {
  readonly machines: LabMachine[] = [];
  rackboot!: LabRackboot;
  api!: LabApi;
  private readonly procs: LabProc[] = [];
  private constructor(
    readonly opts: LabOptions,
    readonly net: LabNet,
  ) {}

  /** Builds the lab up to "VMs registered, powered off"; on failure tears down what it made. */
  static async create(opts: LabOptions): Promise<Lab> {
    mkdirSync(opts.work, { recursive: true });
    const net = await LabNet.create('lab');
    const lab = new Lab(opts, net);
    try {
      await lab.setUp();
    } catch (e) {
      await lab.down();
      throw e;
    }
    return lab;
  }

  /** The lab's snapshot of boot-assets/build (what its rackboot serves). */
  get assetsDir(): string {
    return join(this.opts.work, 'assets');
  }

  private async setUp(): Promise<void> {
    const { opts, net } = this;
    this.save();
    // A snapshot (hard links; the build replaces files by rename, so linked ones never change):
    // a rebuild in the tree while the lab runs would otherwise change digests under its VMs.
    await run('cp', ['-al', join(ROOT, 'boot-assets/build'), this.assetsDir]).catch(() => run('cp', ['-a', join(ROOT, 'boot-assets/build'), this.assetsDir]));
    if (opts.dhcp === 'proxy') await this.startSiteDhcp();
    const vms = planVms({
      count: opts.vms,
      firmwares: opts.firmwares,
      mode: opts.dhcp,
      bmc: opts.bmc,
      bmcAddress: LAB_ADDR.server,
      labByte: randomBytes(1)[0]!,
      password: randomBytes(12).toString('base64url'),
    });
    await this.startRackboot();
    for (const vm of vms) {
      await net.addTap(vm.tap);
      const disk = join(opts.work, `${vm.name}.raw`);
      await run('qemu-img', ['create', '-q', '-f', 'raw', disk, `${opts.diskMb ?? 256}M`]);
      const serialLog = join(opts.work, `${vm.name}.serial.log`);
      const power = await startVmPower({ net, vm, disk, serialLog, work: opts.work, mode: opts.power });
      this.procs.push(...power.procs);
      this.machines.push({ ...vm, disk, serialLog, power });
      this.save();
    }
    const inventory = labInventory(vms);
    writeFileSync(join(opts.work, 'inventory.yaml'), inventory);
    await this.api.request('POST', '/api/v1/inventory/import', parse(inventory));
  }

  private async startSiteDhcp(): Promise<void> {
    const { net, opts } = this;
    await net.addSite();
    // The site's DHCP server: addresses only, no PXE options (rackboot answers those as ProxyDHCP).
    const p = net.spawn(net.site, 'dnsmasq', [
      '--no-daemon', '--conf-file=/dev/null', '--port=0', '--interface=eth0', '--bind-interfaces', '--user=root',
      `--dhcp-range=${LAB_ADDR.poolStart},${LAB_ADDR.poolEnd},255.255.255.0,1h`,
      `--dhcp-leasefile=${join(opts.work, 'dnsmasq.leases')}`, '--log-dhcp',
    ], { logFile: join(opts.work, 'dnsmasq.log') });
    if (p.pid === undefined) throw new Error('cannot start dnsmasq');
    this.procs.push({ pid: p.pid, what: 'dnsmasq' });
    this.save();
  }

  /** Starts (or restarts) rackboot on the lab's data directory. */
  async startRackboot(): Promise<void> {
    const dataDir = join(this.opts.work, 'data');
    const settings = labSettings({ dataDir, assetsDir: this.assetsDir, mode: this.opts.dhcp, logLevel: this.opts.logLevel ?? 'debug' });
    this.rackboot = await startLabRackboot(this.net, this.opts.work, settings);
    this.procs.push(this.rackboot.proc);
    this.save();
    this.api = new LabApi(this.net.lab, `https://${LAB_ADDR.server}:${LAB_API_PORT}`, adminToken(dataDir), labCaFile(dataDir));
  }

  /** SIGKILLs rackboot (crash test) and waits until the process is gone. */
  async killRackboot(): Promise<void> {
    const p = this.rackboot.proc;
    process.kill(p.pid, 'SIGKILL');
    const end = Date.now() + 10_000;
    while (isAlive(p) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  }

  /** Powers a VM on through rackboot's BMC API (or directly in `direct` mode). */
  async powerOn(vm: LabMachine): Promise<void> {
    if (this.opts.power === 'direct') {
      this.procs.push(...(await vm.power.directOn()));
      this.save();
      return;
    }
    await this.api.request('POST', `/api/v1/machines/${vm.name}/power`, { action: 'on' });
  }

  /** The machine's boot trace, oldest first. */
  async events(vm: LabMachine): Promise<TraceEvent[]> {
    const r = await this.api.request<{ items: TraceEvent[] }>('GET', `/api/v1/machines/${vm.name}/events?limit=1000`);
    return r.items;
  }

  /** Machine state and address as the inventory has them. */
  async machine(vm: LabMachine): Promise<{ state: string; ipv4: string | null; facts: Record<string, unknown> }> {
    return this.api.request('GET', `/api/v1/machines/${vm.name}`);
  }

  /** Current phase per VM from its trace. */
  async phase(vm: LabMachine): Promise<Phase> {
    return currentPhase(await this.events(vm));
  }

  /** Serial console text of a VM (empty until it printed something). */
  serial(vm: LabMachine): string {
    return existsSync(vm.serialLog) ? readFileSync(vm.serialLog, 'utf8') : '';
  }

  /** Writes lab.json (namespaces and PIDs) for `--down`. */
  save(): void {
    const rec: LabRecord = { lab: this.net.lab, site: this.net.site, work: this.opts.work, procs: this.procs };
    writeFileSync(join(this.opts.work, 'lab.json'), `${JSON.stringify(rec, null, 2)}\n`);
  }

  /** Stops everything the lab started (by PID) and deletes its namespaces. */
  async down(): Promise<void> {
    await teardown({ lab: this.net.lab, site: this.net.site, work: this.opts.work, procs: this.procs });
  }
}

/** Tears down a recorded lab: VMs and vBMCs, rackboot, dnsmasq (by PID), then the namespaces. */
export async function teardown(rec: LabRecord): Promise<void> {
  await stopRecorded(rec.procs);
  await LabNet.attach(rec.lab, rec.site).destroy();
}

/** Reads lab.json of a working directory, if a lab was started there. */
export function readRecord(work: string): LabRecord | undefined {
  const f = join(work, 'lab.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as LabRecord) : undefined;
}
