import { AppError } from '../../errors.js';
import type { BootDevice, BootOverride, PowerDriver, PowerState } from '../driver.js';
import { Mutex, type Semaphore } from '../lock.js';
import type { Timers } from '../ipmi/transport.js';
import type { BmcSettings } from '../settings.js';
import { type RedfishClient, httpError } from './client.js';
import { type RedfishQuirks, quirksFor } from './quirks.js';

/** Driver options from the BMC record. */
export interface RedfishDriverOptions {
  /** Use this system instead of the first member of /redfish/v1/Systems. */
  systemId?: string;
  /** Map pxe+uefi to UefiHttp instead of Pxe. */
  uefiHttp?: boolean;
  quirks?: Partial<RedfishQuirks>;
}

const TARGETS: Record<BootDevice, string> = { pxe: 'Pxe', disk: 'Hdd', cdrom: 'Cd', bios: 'BiosSetup', none: 'None' };
const FROM_TARGET: Record<string, BootDevice> = { Pxe: 'pxe', UefiHttp: 'pxe', Hdd: 'disk', Cd: 'cdrom', BiosSetup: 'bios' };

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
const strs = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

/** PowerDriver over Redfish (ComputerSystem.Reset and Boot override PATCH). */
export class RedfishDriver implements PowerDriver {
  private systemPath: string | null = null;
  private readonly lock = new Mutex();
  /** Quirks in force after discovery (tests read them). */
  quirks: RedfishQuirks | null = null;

  constructor(
    readonly client: RedfishClient,
    private readonly deps: { settings: BmcSettings; limiter: Semaphore; timers: Timers },
    private readonly options: RedfishDriverOptions = {},
  ) {}

  async status(): Promise<PowerState> {
    return this.run(async () => {
      const s = (await this.system()).json.PowerState;
      return s === 'On' || s === 'PoweringOn' ? 'on' : s === 'Off' || s === 'PoweringOff' ? 'off' : 'unknown';
    });
  }
  async on(): Promise<void> {
    await this.run(async () => this.reset1(['On', 'ForceOn', 'PushPowerButton']));
  }
  async off(): Promise<void> {
    await this.run(async () => this.reset1(['ForceOff']));
  }
  async softOff(): Promise<void> {
    await this.run(async () => {
      await this.system();
      const first = this.quirks!.softOffResetType;
      await this.reset1(first === 'PushPowerButton' ? ['PushPowerButton', 'GracefulShutdown'] : ['GracefulShutdown', 'PushPowerButton']);
    });
  }
  async reset(): Promise<void> {
    await this.run(async () => this.reset1(['ForceRestart', 'GracefulRestart']));
  }
  async cycle(): Promise<void> {
    await this.run(async () => {
      const { json } = await this.system();
      if (json.PowerState === 'Off') return this.reset1(['On', 'ForceOn']);
      const allowed = this.allowedResets(json);
      if (!allowed || allowed.includes('PowerCycle')) return this.reset1(['PowerCycle']);
      // No PowerCycle offered: off, wait, on (DSP2046 ResetType semantics).
      await this.reset1(['ForceOff']);
      await new Promise<void>((r) => this.deps.timers.setTimeout(r, this.deps.settings.cycleDelayMs));
      await this.reset1(['On', 'ForceOn']);
    });
  }

  async setBootDevice(o: BootOverride): Promise<void> {
    await this.run(async () => {
      const cur = await this.system();
      const q = this.quirks!;
      const boot = obj(cur.json.Boot);
      const target = o.device === 'pxe' && o.uefi && this.options.uefiHttp ? 'UefiHttp' : TARGETS[o.device];
      const allowed = strs(boot['BootSourceOverrideTarget@Redfish.AllowableValues']);
      if (allowed && !allowed.includes(target)) throw new AppError('UNSUPPORTED', `boot target ${target} not offered (offered: ${allowed.join(', ')})`);
      const enabled = o.device === 'none' ? 'Disabled' : o.persistent ? 'Continuous' : 'Once';
      const mode = o.uefi ? 'UEFI' : 'Legacy';
      const patch: Record<string, string> = { BootSourceOverrideTarget: target };
      if (!(q.omitUnchangedEnabled && boot.BootSourceOverrideEnabled === enabled)) patch.BootSourceOverrideEnabled = enabled;
      if (q.modeWithEveryPatch || ('BootSourceOverrideMode' in boot && boot.BootSourceOverrideMode !== mode)) patch.BootSourceOverrideMode = mode;
      await this.patchSystem({ Boot: patch }, cur.etag);
      const back = readBoot((await this.system()).json);
      if (back.device !== (o.device === 'none' ? 'none' : FROM_TARGET[target]) || (o.device !== 'none' && back.persistent !== o.persistent)) {
        throw new AppError('BMC_ERROR', 'boot override not applied', { details: { wanted: o, readBack: back } });
      }
    });
  }

  async getBootDevice(): Promise<BootOverride> {
    return this.run(async () => readBoot((await this.system()).json));
  }

  async close(): Promise<void> {
    await this.lock.run(() => this.client.close());
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    return this.deps.limiter.run(() => this.lock.run(fn));
  }

  /** GET the ComputerSystem, discovering it (and the quirks) the first time. */
  private async system(): Promise<{ json: Record<string, unknown>; etag: string | undefined }> {
    if (!this.systemPath) {
      const root = await this.client.connect();
      const systems = String(obj(root.Systems)['@odata.id'] ?? '/redfish/v1/Systems');
      const members = (await this.client.get(systems)).json.Members;
      const ids = Array.isArray(members) ? members.map((m) => String(obj(m)['@odata.id'])) : [];
      const want = this.options.systemId ? ids.find((p) => p.replace(/\/$/, '').endsWith(`/${this.options.systemId}`)) : ids[0];
      if (!want) throw new AppError('BMC_ERROR', `no ComputerSystem${this.options.systemId ? ` ${this.options.systemId}` : ''} at ${systems}`);
      this.systemPath = want;
    }
    const s = await this.client.get(this.systemPath);
    this.quirks ??= quirksFor(String(s.json.Manufacturer ?? ''), String(s.json.Model ?? ''), this.options.quirks);
    return s;
  }

  private allowedResets(json: Record<string, unknown>): string[] | undefined {
    return strs(obj(obj(json.Actions)['#ComputerSystem.Reset'])['ResetType@Redfish.AllowableValues']);
  }

  /** POSTs ComputerSystem.Reset with the first of `prefs` the service allows. */
  private async reset1(prefs: string[]): Promise<void> {
    const { json } = await this.system();
    const action = obj(obj(json.Actions)['#ComputerSystem.Reset']);
    const target = typeof action.target === 'string' ? action.target : `${this.systemPath}/Actions/ComputerSystem.Reset`;
    const allowed = this.allowedResets(json);
    const type = allowed ? prefs.find((p) => allowed.includes(p)) : prefs[0];
    if (!type) throw new AppError('UNSUPPORTED', `none of ResetType ${prefs.join('/')} offered (offered: ${allowed?.join(', ')})`);
    const r = await this.client.request('POST', target, { ResetType: type });
    if (r.status === 202 && typeof r.headers.location === 'string') await this.client.waitTask(new URL(r.headers.location, this.client.target.baseUrl).pathname);
    else if (r.status >= 300) throw httpError(`Reset ${type}`, r);
  }

  /** PATCH with If-Match; 412 (stale ETag) re-reads once, 428 (If-Match required) retries with one. */
  private async patchSystem(body: Record<string, unknown>, etag: string | undefined): Promise<void> {
    const path = this.systemPath!;
    const q = this.quirks!;
    let tag = etag ?? (q.ifMatchAlways ? '*' : undefined);
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await this.client.request('PATCH', path, body, tag ? { 'if-match': tag } : {});
      if (r.status === 202 && typeof r.headers.location === 'string') {
        await this.client.waitTask(new URL(r.headers.location, this.client.target.baseUrl).pathname);
        return;
      }
      if (r.status < 300) return;
      if ((r.status === 412 || r.status === 428) && attempt < 2) {
        tag = (await this.client.get(path)).etag ?? '*';
        continue;
      }
      throw httpError(`PATCH ${path}`, r);
    }
  }
}

/** The boot override as a ComputerSystem reports it. */
export function readBoot(json: Record<string, unknown>): BootOverride {
  const b = obj(json.Boot);
  const enabled = b.BootSourceOverrideEnabled;
  const device = enabled === 'Disabled' ? 'none' : (FROM_TARGET[String(b.BootSourceOverrideTarget)] ?? 'none');
  return { device, persistent: enabled === 'Continuous', uefi: b.BootSourceOverrideMode === 'UEFI' };
}
