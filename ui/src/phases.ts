/** The boot phases the console's timeline shows, and which of them the current boot reached. */
import type { BootEvent } from './types.js';

/** The boot phases, in order, and the event kinds that show each was reached. */
export const PHASES: { name: string; kinds: RegExp }[] = [
  { name: 'DHCP', kinds: /^dhcp\.(offer|ack|proxy-offer)$/ },
  { name: 'TFTP', kinds: /^tftp\.sent$/ },
  { name: 'Script', kinds: /^boot\.(script|chain)$/ },
  { name: 'Kernel', kinds: /^asset\.served$/ },
  { name: 'Config', kinds: /^config\.served$/ },
  { name: 'Ready', kinds: /^report\.ready$/ },
];

/**
 * The phases this trace shows reached since its last boot began: the last provision request, or
 * a fresh DHCP offer (a DISCOVER, not a renewal) after the run had reached its script — the next
 * power-on or reset. Offers before the script (firmware, then iPXE) belong to the same boot.
 */
export function phasesReached(events: BootEvent[]): Map<string, string> {
  const seen = new Map<string, string>();
  for (const e of events) {
    if (e.kind === 'provision.requested' || (/^dhcp\.(offer|proxy-offer)$/.test(e.kind) && seen.has('Script'))) seen.clear();
    const p = PHASES.find((ph) => ph.kinds.test(e.kind));
    if (p) seen.set(p.name, e.at);
  }
  return seen;
}
