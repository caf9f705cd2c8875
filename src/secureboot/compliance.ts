/**
 * Secure Boot compliance: a profile with `requireSecureBoot: true` wants every machine to report
 * Secure Boot enabled (the node agent reads the SecureBoot EFI variable into `facts.secureBoot`).
 * The verdict is stored in the machine's facts (`compliance.secureBoot`) so the API shows it.
 */
import type { Machine } from '../inventory/machines.js';
import type { Store } from '../inventory/store.js';
import { EVENT } from '../lifecycle/event-kinds.js';

/** The verdict for one machine. */
export interface SecureBootVerdict {
  required: boolean;
  /** What the machine reported: true/false, or null (BIOS, or no fact). */
  reported: boolean | null;
  compliant: boolean;
}

/** Decides compliance from the profile requirement and reported facts (pure). */
export function secureBootVerdict(required: boolean, facts: Record<string, unknown>): SecureBootVerdict {
  const v = facts.secureBoot;
  const reported = typeof v === 'boolean' ? v : null;
  return { required, reported, compliant: !required || reported === true };
}

/**
 * Facts with the verdict added (only when the report carried facts); records a
 * `machine.noncompliant` event when a required Secure Boot is reported off or missing.
 */
export function withSecureBootCompliance(
  store: Store,
  machine: Machine,
  spec: { requireSecureBoot?: boolean } | undefined,
  facts: Record<string, unknown>,
  reportedFacts: boolean,
): Record<string, unknown> {
  if (!reportedFacts) return facts;
  const verdict = secureBootVerdict(spec?.requireSecureBoot === true, facts);
  if (!verdict.compliant) {
    store.events.add({
      mac: machine.macs[0] ?? null,
      machineId: machine.id,
      source: 'agent',
      kind: EVENT.machineNoncompliant,
      detail: { rule: 'requireSecureBoot', reported: verdict.reported },
    });
  }
  const compliance = typeof facts.compliance === 'object' && facts.compliance !== null ? facts.compliance : {};
  return { ...facts, compliance: { ...compliance, secureBoot: verdict } };
}
