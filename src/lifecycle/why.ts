import { AppError } from '../errors.js';
import { tryNormalizeMac } from '../model/mac.js';
import type { Store } from '../inventory/store.js';
import type { UnknownMac } from '../inventory/unknown-macs.js';
import type { Settings } from '../settings.js';
import { type Diagnosis, type DiagnosisLimits, diagnose } from './diagnose.js';

/** The answer of `rackboot why` / GET /api/v1/why/:ref. */
export interface WhyReport extends Diagnosis {
  ref: string;
  machine: { id: number; name: string; state: string; profile: string | null; macs: string[] } | null;
  mac: string | null;
  unknown: UnknownMac | null;
  /** Events the diagnosis read (the newest of the trace). */
  eventsRead: number;
}

/** How many of the newest trace events a diagnosis reads. */
const TRACE_WINDOW = 2000;

/**
 * Diagnoses a machine (id, name or MAC) or a bare MAC from the store: its trace, the unknown-MAC
 * table and the settings that change what a symptom means. NOT_FOUND only for a ref that is
 * neither a machine nor a MAC.
 */
export function whyOf(store: Store, settings: Settings, ref: string, now: number, limits: Partial<DiagnosisLimits> = {}): WhyReport {
  const m = store.machines.find(ref);
  const mac = m ? null : (tryNormalizeMac(ref) ?? null);
  if (!m && !mac) throw new AppError('NOT_FOUND', `no machine or MAC ${JSON.stringify(ref.slice(0, 64))}`);
  const trace = m ? store.events.latest({ machineId: m.id }, TRACE_WINDOW) : store.events.latest({ mac: mac! }, TRACE_WINDOW);
  const unknown = mac ? (store.unknownMacs.find(mac) ?? null) : null;
  const d = diagnose({
    now,
    trace,
    machine: m ? { name: m.name, state: m.state, profile: m.profile } : null,
    unknown,
    context: { dhcpMode: settings.dhcp.mode, proxyBootFileInOffer: settings.dhcp.proxyBootFileInOffer, tftpMaxBlksize: settings.tftp.maxBlksize },
    limits,
  });
  return {
    ref,
    machine: m ? { id: m.id, name: m.name, state: m.state, profile: m.profile, macs: m.macs } : null,
    mac: m ? (m.macs[0] ?? null) : mac,
    unknown,
    eventsRead: trace.length,
    ...d,
  };
}
