import type { BootEvent } from '../inventory/events.js';
import { type BootPhase, eventTime, phaseOf, phaseRank } from '../lifecycle/trace.js';

/**
 * Follows each machine (or bare MAC) through the boot phases as events arrive and reports a
 * phase's duration when the next phase starts: the live counterpart of lifecycle/trace.ts's
 * phaseSpans. Bounded: the least recently active boots are forgotten past `maxBoots`.
 */
export class PhaseClock {
  private readonly open = new Map<string, { phase: BootPhase; at: number }>();

  constructor(private readonly maxBoots = 4096) {}

  /** Feeds one event; returns the phase it closed and how long it took, if any. */
  observe(e: BootEvent): { phase: BootPhase; ms: number } | null {
    const p = phaseOf(e);
    if (!p) return null;
    const key = e.machineId !== null ? `m${e.machineId}` : e.mac ? `mac${e.mac}` : null;
    if (!key) return null;
    const at = eventTime(e);
    const prev = this.open.get(key);
    // A firmware DHCP after the script (or further) is a new boot: the old one's last phase has no end.
    const restart = prev && p === 'dhcp' && phaseRank(prev.phase) >= phaseRank('script');
    if (prev && !restart && phaseRank(p) <= phaseRank(prev.phase)) return null;
    this.open.delete(key);
    this.open.set(key, { phase: p, at });
    if (this.open.size > this.maxBoots) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.open.delete(oldest);
    }
    return prev && !restart ? { phase: prev.phase, ms: Math.max(0, at - prev.at) } : null;
  }
}
