import { AppError, isAppError } from '../errors.js';
import type { BmcCredentials, BmcRepo } from '../inventory/bmcs.js';
import type { EventRepo } from '../inventory/events.js';
import type { Logger } from '../log.js';
import type { BootOverride, MachinePower, PowerAction, PowerResult } from '../model/power.js';
import type { PowerDriver } from './driver.js';
import type { CipherSuiteId, PrivilegeName } from './ipmi/constants.js';
import { IpmiDriver } from './ipmi/driver.js';
import { type DatagramFactory, realTimers, type Timers } from './ipmi/transport.js';
import { Semaphore } from './lock.js';
import { RedfishClient } from './redfish/client.js';
import { RedfishDriver } from './redfish/driver.js';
import { type HttpSend, nodeHttp } from './redfish/http.js';
import type { RedfishQuirks } from './redfish/quirks.js';
import type { BmcSettings } from './settings.js';
import { EVENT } from '../lifecycle/event-kinds.js';
import { type BmcLocks, isBmcBusy } from '../coordination/coordinator.js';

/** Test seams: fake clock, datagram factory, HTTP transport. */
export interface PowerServiceSeams {
  timers?: Timers;
  datagrams?: DatagramFactory;
  http?: HttpSend;
}

export type { PowerResult } from '../model/power.js';

/**
 * What the power service needs from the inventory: a machine's BMC record and credentials, and
 * its boot trace. The SQLite Store is one; test/fakes/power-inventory.ts is an in-memory one.
 */
export interface PowerInventory {
  bmcs: Pick<BmcRepo, 'get' | 'credentials'>;
  events: Pick<EventRepo, 'add'>;
}

const opt = <T>(o: Record<string, unknown>, k: string, ok: (v: unknown) => boolean): T | undefined => (ok(o[k]) ? (o[k] as T) : undefined);

/**
 * Builds the right PowerDriver for a machine's BMC (IPMI or Redfish) and caches it, so one session
 * per BMC is reused; records every operation as an event in the machine's trace (never secrets).
 */
export class PowerService implements MachinePower {
  private readonly drivers = new Map<number, { stamp: string; driver: PowerDriver; close?: () => void }>();
  private readonly limiter: Semaphore;
  private readonly log: Logger;

  constructor(
    private readonly store: PowerInventory,
    private readonly settings: BmcSettings,
    log: Logger,
    private readonly seams: PowerServiceSeams = {},
    /**
     * Locks shared with the other appliances on the inventory: power actions and boot-device
     * changes run holding the BMC's lock row, taken before the driver's in-process mutex; a BMC
     * another appliance is operating is refused at once (CONFLICT, reason bmc-busy, HTTP 409).
     * Reads (status, boot device read-back) take no lock. Absent: this appliance is alone.
     */
    private readonly locks?: BmcLocks,
  ) {
    this.limiter = new Semaphore(settings.maxConcurrent);
    this.log = log.child({ subsys: 'bmc' });
  }

  /** The cached driver of a machine's BMC (rebuilt when the BMC record changed). */
  driverFor(machineId: number): PowerDriver {
    const info = this.store.bmcs.get(machineId);
    const stamp = `${info.type}|${info.address}|${info.port}|${info.updatedAt}`;
    const cached = this.drivers.get(machineId);
    if (cached?.stamp === stamp) return cached.driver;
    if (cached) void this.dispose(machineId);
    const built = this.build(this.store.bmcs.credentials(machineId));
    this.drivers.set(machineId, { stamp, ...built });
    return built.driver;
  }

  /** Power state, recorded as a `bmc.power` event with action `status`. */
  async getStatus(machineId: number): Promise<PowerResult> {
    return this.traced(machineId, 'bmc.power', { action: 'status' }, async (d) => {
      const state = await d.status();
      return { result: { machineId, action: 'status', state }, detail: { state } };
    });
  }

  /** Runs a power action (on, off, soft-off, cycle, reset). */
  async powerAction(machineId: number, action: PowerAction): Promise<PowerResult> {
    return this.locked(machineId, 'bmc.power', { action }, async (d) => {
      const fn = { on: d.on, off: d.off, 'soft-off': d.softOff, cycle: d.cycle, reset: d.reset }[action];
      await fn.call(d);
      return { result: { machineId, action }, detail: {} };
    });
  }

  /** Sets the next (or every) boot device. */
  async setBootDevice(machineId: number, o: BootOverride): Promise<BootOverride> {
    return this.locked(machineId, 'bmc.bootdev', { op: 'set', ...o }, async (d) => {
      await d.setBootDevice(o);
      return { result: o, detail: {} };
    });
  }

  /** Reads the boot override back from the BMC. */
  async getBootDevice(machineId: number): Promise<BootOverride> {
    return this.traced(machineId, 'bmc.bootdev', { op: 'get' }, async (d) => {
      const b = await d.getBootDevice();
      return { result: b, detail: { readBack: b } };
    });
  }

  /** Closes every cached driver (sessions logged out). */
  async close(): Promise<void> {
    await Promise.all([...this.drivers.keys()].map((id) => this.dispose(id)));
  }

  private async dispose(machineId: number): Promise<void> {
    const c = this.drivers.get(machineId);
    this.drivers.delete(machineId);
    if (!c) return;
    await c.driver.close().catch((e: unknown) => this.log.debug({ machineId, err: (e as Error).message }, 'bmc close failed'));
    c.close?.();
  }

  /** A change to the BMC (power, boot device): traced, and run holding the BMC's lock row when appliances share the inventory. */
  private locked<T>(machineId: number, kind: string, base: Record<string, unknown>, fn: (d: PowerDriver) => Promise<{ result: T; detail: Record<string, unknown> }>): Promise<T> {
    return this.traced(machineId, kind, base, fn, true);
  }

  /** Runs one operation, recorded in the trace; `locked`: under the BMC's lock row (when there are locks). */
  private async traced<T>(
    machineId: number,
    kind: string,
    base: Record<string, unknown>,
    fn: (d: PowerDriver) => Promise<{ result: T; detail: Record<string, unknown> }>,
    locked = false,
  ): Promise<T> {
    const started = Date.now();
    const bmc = this.store.bmcs.get(machineId);
    const where = { type: bmc.type, address: bmc.address };
    const run = () => fn(this.driverFor(machineId));
    try {
      const { result, detail } = await (locked && this.locks ? this.locks.withBmc(machineId, kind, run) : run());
      const ms = Date.now() - started;
      this.store.events.add({ machineId, source: 'bmc', kind, detail: { ...base, ...detail, bmc: where, ms } });
      this.log.info({ machineId, kind, ...base, ms }, 'bmc operation done');
      return result;
    } catch (e) {
      if (isBmcBusy(e)) {
        // Nothing was sent: not an operation of this appliance, so not in the trace.
        this.log.info({ machineId, kind, ...base, holder: (e.details as { appliance?: unknown }).appliance }, 'bmc busy on another appliance');
        throw e;
      }
      const err = isAppError(e) ? e : new AppError('BMC_ERROR', (e as Error).message, { cause: e });
      this.store.events.add({
        machineId,
        source: 'bmc',
        kind: EVENT.bmcError,
        detail: { ...base, op: kind, bmc: where, code: err.code, message: err.message, details: err.details ?? null },
      });
      this.log.warn({ machineId, kind, code: err.code, msg: err.message }, 'bmc operation failed');
      throw err;
    }
  }

  private build(c: BmcCredentials): { driver: PowerDriver; close?: () => void } {
    const o = c.options;
    const timers = this.seams.timers ?? realTimers;
    if (c.type === 'ipmi') {
      const suite = opt<number>(o, 'cipherSuite', (v) => v === 3 || v === 17);
      const priv = opt<PrivilegeName>(o, 'privilege', (v) => v === 'user' || v === 'operator' || v === 'admin');
      const kgHex = opt<string>(o, 'kgHex', (v) => typeof v === 'string');
      const driver = new IpmiDriver(
        { host: c.address, port: c.port, username: c.username, password: c.password, ...(suite ? { cipherSuite: suite as CipherSuiteId } : {}), ...(priv ? { privilege: priv } : {}), ...(kgHex ? { kgHex } : {}) },
        { settings: this.settings, log: this.log.child({ bmc: c.address }), limiter: this.limiter, timers, ...(this.seams.datagrams ? { datagrams: this.seams.datagrams } : {}) },
      );
      return { driver };
    }
    const scheme = opt<string>(o, 'scheme', (v) => v === 'http' || v === 'https') ?? 'https';
    const baseUrl = c.address.includes('://') ? c.address : `${scheme}://${c.address.includes(':') && !c.address.startsWith('[') ? `[${c.address}]` : c.address}${c.port ? `:${c.port}` : ''}`;
    const transport = this.seams.http ? { send: this.seams.http, close: () => {} } : nodeHttp({ timeoutMs: this.settings.timeoutMs, insecureTls: o.insecureTls === true });
    const client = new RedfishClient({ baseUrl, username: c.username, password: c.password }, transport.send, {
      retries: this.settings.retries,
      taskTimeoutMs: this.settings.taskTimeoutMs,
      timers,
      log: this.log.child({ bmc: baseUrl }),
    });
    const driver = new RedfishDriver(client, { settings: this.settings, limiter: this.limiter, timers }, {
      ...(typeof o.systemId === 'string' ? { systemId: o.systemId } : {}),
      ...(o.uefiHttp === true ? { uefiHttp: true } : {}),
      ...(o.quirks && typeof o.quirks === 'object' ? { quirks: o.quirks as Partial<RedfishQuirks> } : {}),
    });
    return { driver, close: transport.close };
  }
}
