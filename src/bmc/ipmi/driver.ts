import { AppError, isAppError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { BootOverride, PowerDriver, PowerState } from '../driver.js';
import { Mutex, type Semaphore } from '../lock.js';
import type { BmcSettings } from '../settings.js';
import {
  decodeBootFlags,
  decodeChassisStatus,
  type DeviceId,
  decodeDeviceId,
  encodeBootFlags,
  encodeBootParamNoAutoClear,
  encodeBootParamSetInProgress,
  encodeGetBootOption,
} from './commands.js';
import { CC, CHASSIS_CONTROL, type CipherSuiteId, CMD, NETFN, PRIV, type PrivilegeName } from './constants.js';
import { bmcError } from './handshake.js';
import { IpmiSession } from './session.js';
import { type DatagramFactory, realTimers, type Timers, udpDatagram } from './transport.js';

/** What the IPMI driver needs to know about one BMC. */
export interface IpmiTarget {
  host: string;
  port?: number | null;
  username: string;
  password: string;
  /** Only this suite (else 17 first, then 3). */
  cipherSuite?: CipherSuiteId;
  privilege?: PrivilegeName;
  /** BMC key Kg as hex (two-key logins), rarely set. */
  kgHex?: string;
}

/** Injected pieces (tests swap the clock and the datagram factory). */
export interface IpmiDriverDeps {
  settings: BmcSettings;
  log: Logger;
  /** Global concurrency limit shared by all drivers. */
  limiter: Semaphore;
  timers?: Timers;
  datagrams?: DatagramFactory;
}

/** Completion codes meaning "this optional boot parameter is not implemented": tolerated. */
const OPTIONAL_PARAM_CC = new Set<number>([CC.PARAM_NOT_SUPPORTED, CC.INVALID_DATA_FIELD, CC.INVALID_COMMAND]);

/** PowerDriver over IPMI v2.0 lanplus; one session reused, re-established when idle or dead. */
export class IpmiDriver implements PowerDriver {
  private session: IpmiSession | null = null;
  private readonly lock = new Mutex();
  private readonly timers: Timers;
  private preferredSuite: CipherSuiteId | undefined;
  /** Set when a BMC stores the device selector but drops the flag bits (OpenIPMI ipmi_sim does). */
  private dropsBootFlagBits = false;
  /** Sessions opened so far (tests assert reuse). */
  opened = 0;

  constructor(
    readonly target: IpmiTarget,
    private readonly deps: IpmiDriverDeps,
  ) {
    this.timers = deps.timers ?? realTimers;
  }

  /** Get Device ID (App netfn): the BMC's identity, for discovery's authenticated check. */
  async deviceId(): Promise<DeviceId> {
    return decodeDeviceId(await this.call(NETFN.APP, CMD.GET_DEVICE_ID, Buffer.alloc(0), 'Get Device ID'));
  }

  async status(): Promise<PowerState> {
    const r = await this.call(NETFN.CHASSIS, CMD.GET_CHASSIS_STATUS, Buffer.alloc(0), 'Get Chassis Status');
    return decodeChassisStatus(r).powerOn ? 'on' : 'off';
  }
  async on(): Promise<void> {
    await this.control(CHASSIS_CONTROL.UP);
  }
  async off(): Promise<void> {
    await this.control(CHASSIS_CONTROL.DOWN);
  }
  async softOff(): Promise<void> {
    await this.control(CHASSIS_CONTROL.SOFT);
  }
  async reset(): Promise<void> {
    await this.control(CHASSIS_CONTROL.HARD_RESET);
  }
  async cycle(): Promise<void> {
    // Power cycle of a chassis that is off is "not supported in present state" on many BMCs (§28.3).
    if ((await this.status()) === 'off') return this.on();
    await this.control(CHASSIS_CONTROL.CYCLE);
  }

  async setBootDevice(o: BootOverride): Promise<void> {
    await this.withSession(async (s) => {
      const set = async (data: Buffer, optional: boolean, what: string): Promise<void> => {
        const r = await s.command(NETFN.CHASSIS, CMD.SET_BOOT_OPTIONS, data);
        if (r.completionCode === 0 || (optional && OPTIONAL_PARAM_CC.has(r.completionCode))) return;
        throw bmcError(s, what, r.completionCode);
      };
      // Param 0 (set in progress) is optional; ipmi_sim and several vendors reject it.
      await set(encodeBootParamSetInProgress(true), true, 'Set Boot Options param 0');
      await set(encodeBootParamNoAutoClear(), true, 'Set Boot Options param 3');
      await set(encodeBootFlags(o), false, 'Set Boot Options param 5');
      await set(encodeBootParamSetInProgress(false), true, 'Set Boot Options param 0');
      const back = await this.readBootFlags(s);
      if (o.device !== 'none' && !back.valid && back.device === o.device) {
        if (!this.dropsBootFlagBits) this.deps.log.warn({ bmc: this.target.host }, 'BMC keeps the boot device but drops the valid/persistent/EFI bits');
        this.dropsBootFlagBits = true;
      }
    });
  }

  async getBootDevice(): Promise<BootOverride> {
    return this.withSession(async (s) => {
      const f = await this.readBootFlags(s);
      // Per spec an invalid flag set means "no override"; BMCs that drop the bits keep only the selector.
      const device = f.valid || this.dropsBootFlagBits ? f.device : 'none';
      return { device, persistent: f.persistent, uefi: f.uefi };
    });
  }

  async close(): Promise<void> {
    await this.lock.run(async () => {
      const s = this.session;
      this.session = null;
      await s?.close();
    });
  }

  private async readBootFlags(s: IpmiSession): Promise<ReturnType<typeof decodeBootFlags>> {
    const r = await s.command(NETFN.CHASSIS, CMD.GET_BOOT_OPTIONS, encodeGetBootOption(5));
    if (r.completionCode !== 0) throw bmcError(s, 'Get Boot Options param 5', r.completionCode);
    return decodeBootFlags(r.data);
  }

  private async control(action: number): Promise<void> {
    await this.call(NETFN.CHASSIS, CMD.CHASSIS_CONTROL, Buffer.from([action]), `Chassis Control ${action}`);
  }

  private async call(netFn: number, cmd: number, data: Buffer, what: string): Promise<Buffer> {
    return this.withSession(async (s) => {
      const r = await s.command(netFn, cmd, data);
      if (r.completionCode !== 0) throw bmcError(s, what, r.completionCode);
      return r.data;
    });
  }

  /** Global limit → per-BMC lock → live session; a dead session is re-opened once. */
  private async withSession<T>(fn: (s: IpmiSession) => Promise<T>): Promise<T> {
    return this.deps.limiter.run(() =>
      this.lock.run(async () => {
        const reused = this.session !== null;
        const s = await this.ensureSession();
        try {
          return await fn(s);
        } catch (e) {
          if (!reused || !isAppError(e, 'BMC_TIMEOUT')) throw e;
          // The BMC may have expired the session silently: open a fresh one and try once more.
          this.deps.log.info({ bmc: this.target.host }, 'ipmi session lost, re-establishing');
          this.drop();
          return fn(await this.ensureSession());
        }
      }),
    );
  }

  private drop(): void {
    this.session?.abandon();
    this.session = null;
  }

  private async ensureSession(): Promise<IpmiSession> {
    const idle = this.session ? this.timers.now() - this.session.lastUsed : 0;
    if (this.session && idle < this.deps.settings.sessionIdleMs) return this.session;
    if (this.session) {
      await this.session.close();
      this.session = null;
    }
    const t = this.target;
    const dgram = await (this.deps.datagrams ?? udpDatagram)(t.host, t.port ?? 623).catch((e: Error) => {
      throw new AppError('BMC_UNREACHABLE', `cannot open UDP to ${t.host}: ${e.message}`, { cause: e });
    });
    const suites: CipherSuiteId[] = t.cipherSuite ? [t.cipherSuite] : this.preferredSuite === 3 ? [3, 17] : [17, 3];
    const s = new IpmiSession(dgram, {
      host: t.host,
      username: t.username,
      password: t.password,
      privilege: PRIV[(t.privilege ?? 'admin').toUpperCase() as 'ADMIN'],
      suites,
      timeoutMs: this.deps.settings.timeoutMs,
      retries: this.deps.settings.retries,
      timers: this.timers,
      log: this.deps.log,
      ...(t.kgHex ? { kg: Buffer.from(t.kgHex, 'hex') } : {}),
    });
    try {
      await s.open();
    } catch (e) {
      s.abandon();
      throw e;
    }
    this.opened++;
    this.preferredSuite = s.established?.suite;
    this.session = s;
    return s;
  }
}
