/**
 * BMC discovery after an inspection (issue #19): the address comes from the machine's
 * inspection report (read in-band), the credentials from the group the machine matched. The
 * pair is verified against the BMC with an authenticated call before anything is saved: IPMI
 * opens a lanplus session (RAKP proves the password) and reads Get Device ID (its manufacturer,
 * product and firmware go into the trace); Redfish reads the service root and logs in
 * (SessionService, or Basic when the service has none).
 */
import { AppError, isAppError } from '../errors.js';
import type { NewBmc } from '../inventory/bmcs.js';
import type { Store } from '../inventory/store.js';
import type { Logger } from '../log.js';
import type { CipherSuiteId, PrivilegeName } from './ipmi/constants.js';
import { IpmiDriver } from './ipmi/driver.js';
import { type DatagramFactory, realTimers, type Timers } from './ipmi/transport.js';
import { Semaphore } from './lock.js';
import { RedfishClient } from './redfish/client.js';
import { type HttpSend, nodeHttp } from './redfish/http.js';
import type { BmcCandidate, BmcDiscoverer, DiscoveryOutcome } from '../model/bmc-discovery.js';
import type { BmcSettings } from './settings.js';
import { EVENT } from '../lifecycle/event-kinds.js';

export type { BmcCandidate, BmcDiscoverer, DiscoveryOutcome, GroupBmcCredentials } from '../model/bmc-discovery.js';

/**
 * Verifies a candidate against the BMC; throws AppError (BMC_*) when it does not answer or
 * refuses. Returns what the BMC said about itself, when the protocol tells (IPMI Get Device ID).
 */
export type BmcProbe = (c: BmcCandidate) => Promise<Record<string, unknown> | undefined>;

/** Test seams for the default probe. */
export interface ProbeSeams {
  timers?: Timers;
  datagrams?: DatagramFactory;
  http?: HttpSend;
}

/** The real probe: one IPMI session or one Redfish login, closed again. */
export function bmcProbe(settings: BmcSettings, log: Logger, seams: ProbeSeams = {}): BmcProbe {
  const timers = seams.timers ?? realTimers;
  return async (c) => {
    const o = c.options ?? {};
    if (c.type === 'ipmi') {
      const driver = new IpmiDriver(
        {
          host: c.address,
          port: c.port ?? null,
          username: c.username,
          password: c.password,
          ...(o.cipherSuite === 3 || o.cipherSuite === 17 ? { cipherSuite: o.cipherSuite as CipherSuiteId } : {}),
          ...(o.privilege === 'user' || o.privilege === 'operator' || o.privilege === 'admin' ? { privilege: o.privilege as PrivilegeName } : {}),
          ...(typeof o.kgHex === 'string' ? { kgHex: o.kgHex } : {}),
        },
        { settings, log: log.child({ bmc: c.address }), limiter: new Semaphore(1), timers, ...(seams.datagrams ? { datagrams: seams.datagrams } : {}) },
      );
      try {
        return { ...(await driver.deviceId()) };
      } finally {
        await driver.close().catch(() => undefined);
      }
    }
    const scheme = o.scheme === 'http' ? 'http' : 'https';
    const baseUrl = `${scheme}://${c.address}${c.port ? `:${c.port}` : ''}`;
    const transport = seams.http ? { send: seams.http, close: () => {} } : nodeHttp({ timeoutMs: settings.timeoutMs, insecureTls: o.insecureTls === true });
    const client = new RedfishClient({ baseUrl, username: c.username, password: c.password }, transport.send, {
      retries: settings.retries,
      taskTimeoutMs: settings.taskTimeoutMs,
      timers,
      log: log.child({ bmc: baseUrl }),
    });
    try {
      await client.connect();
      // Basic-auth services accept any login above: one authenticated read proves the password.
      await client.get('/redfish/v1/Systems');
      return undefined;
    } finally {
      await client.close().catch(() => undefined);
      transport.close();
    }
  };
}

/**
 * Saves the machine's BMC once the probe accepted it. A machine that already has a BMC keeps
 * it (an operator's entry wins over discovery); a refusal saves nothing. Traced as `bmc.discovery`.
 */
export async function discoverBmc(
  deps: { store: Store; probe: BmcProbe; log?: Logger },
  machineId: number,
  candidate: BmcCandidate,
): Promise<DiscoveryOutcome> {
  const { store } = deps;
  const existing = store.bmcs.find(machineId);
  let out: DiscoveryOutcome;
  let device: Record<string, unknown> | undefined;
  if (existing) {
    out = { result: 'kept', address: existing.address };
  } else {
    try {
      device = await deps.probe(candidate);
      const bmc: NewBmc = { type: candidate.type, address: candidate.address, port: candidate.port ?? null, username: candidate.username, password: candidate.password, options: candidate.options ?? {} };
      store.bmcs.set(machineId, bmc);
      out = { result: 'saved', address: candidate.address, type: candidate.type };
    } catch (e) {
      const err = isAppError(e) ? e : new AppError('BMC_ERROR', (e as Error).message, { cause: e });
      out = { result: 'refused', address: candidate.address, code: err.code, message: err.message };
    }
  }
  // Never the password: the event says where and what, not with what.
  store.events.add({ machineId, source: 'bmc', kind: EVENT.bmcDiscovery, detail: { ...out, username: candidate.username, ...(device ? { device } : {}) } });
  deps.log?.info({ subsys: 'bmc', machineId, ...out }, 'bmc discovery');
  return out;
}

/** The discoverer main.ts gives the HTTP layer: the real probe, results saved in `store`. */
export function bmcDiscoverer(store: Store, settings: BmcSettings, log: Logger, seams: ProbeSeams = {}): BmcDiscoverer {
  const probe = bmcProbe(settings, log, seams);
  return (machineId, candidate) => discoverBmc({ store, probe, log }, machineId, candidate);
}
