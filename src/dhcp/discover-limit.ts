import { KeyedLimiter } from '../model/keyed-limiter.js';

/**
 * Rate limit of `unknownMacs: discover` (issue #15): every unknown MAC that is answered becomes a
 * `discovered` machine row, so a host inventing MACs could grow the inventory without bound. Each
 * relay (giaddr) or directly attached segment (interface) gets its own token bucket, so a flood
 * behind one relay does not stop discovery on the others.
 */
export class DiscoverLimiter extends KeyedLimiter {}

/** The bucket of a request: its relay agent when relayed, else the interface it arrived on. */
export function discoverKey(giaddr: string, iface: string | undefined): string {
  return giaddr !== '0.0.0.0' ? `relay ${giaddr}` : `iface ${iface ?? '*'}`;
}
