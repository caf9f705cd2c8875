/**
 * Known differences between Redfish implementations, keyed by vendor/model. Every entry has a test
 * in test/bmc/redfish-quirks.test.ts that runs the client against a server behaving that way.
 */
export interface RedfishQuirks {
  /** Send BootSourceOverrideMode in every Boot PATCH (Supermicro rejects or ignores PATCHes without it). */
  modeWithEveryPatch: boolean;
  /** Leave BootSourceOverrideEnabled out of a PATCH when it already has the wanted value (some BMCs answer 400). */
  omitUnchangedEnabled: boolean;
  /** ResetType for ACPI soft off (HPE iLO: PushPowerButton; GracefulShutdown elsewhere). */
  softOffResetType: 'GracefulShutdown' | 'PushPowerButton';
  /** Always send If-Match on PATCH, `*` when no ETag is known (services answering 428 without it). */
  ifMatchAlways: boolean;
}

/** What a standards-following service needs. */
export const DEFAULT_QUIRKS: RedfishQuirks = {
  modeWithEveryPatch: false,
  omitUnchangedEnabled: false,
  softOffResetType: 'GracefulShutdown',
  ifMatchAlways: false,
};

/** Quirk rows: the first whose manufacturer (and model, when given) matches wins. */
export const QUIRK_TABLE: { manufacturer: RegExp; model?: RegExp; quirks: Partial<RedfishQuirks>; why: string }[] = [
  { manufacturer: /supermicro/i, quirks: { modeWithEveryPatch: true }, why: 'Supermicro: Boot PATCH needs BootSourceOverrideMode every time' },
  { manufacturer: /^hpe?$|hewlett/i, quirks: { softOffResetType: 'PushPowerButton', ifMatchAlways: true }, why: 'HPE iLO: soft off via PushPowerButton; PATCH wants If-Match' },
  { manufacturer: /dell/i, quirks: { omitUnchangedEnabled: true }, why: 'Dell iDRAC: unchanged BootSourceOverrideEnabled rejected (field reports; unverified here)' },
  { manufacturer: /lenovo/i, quirks: { omitUnchangedEnabled: true }, why: 'Lenovo XCC: unchanged BootSourceOverrideEnabled rejected (field reports; unverified here)' },
];

/** The quirks for a system, with per-BMC overrides from the BMC options applied last. */
export function quirksFor(manufacturer: string | undefined, model: string | undefined, overrides: Partial<RedfishQuirks> = {}): RedfishQuirks {
  const row = QUIRK_TABLE.find((r) => r.manufacturer.test(manufacturer ?? '') && (!r.model || r.model.test(model ?? '')));
  return { ...DEFAULT_QUIRKS, ...(row?.quirks ?? {}), ...overrides };
}
