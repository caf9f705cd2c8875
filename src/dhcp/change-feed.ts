import { randomUUID } from 'node:crypto';
import { CHANGE_CHANNEL, helloPayload, parseChange } from '../inventory/pg-notify.js';
import type { LeaseRecord } from '../inventory/leases.js';
import type { Logger } from '../log.js';
import { ipToInt } from '../net/ipv4.js';

/** Where change notifications come from: PostgreSQL LISTEN (PgDb.listen), or a fake in tests. */
export interface ChangeSource {
  /**
   * Calls `onPayload` for every notification on `channel` and `onResync` when some may have
   * been missed (the LISTEN connection was lost and made again); returns the unsubscribe.
   */
  listen(channel: string, onPayload: (payload: string) => void, onResync?: () => void): () => void;
  /** Sends a notification (the hello that tells when LISTEN is in effect). */
  notify(channel: string, payload: string): void;
}

/** Timer functions of the hello handshake (injected in tests): `later` returns its cancel. */
export interface FeedTimers {
  later: (fn: () => void, ms: number) => () => void;
}

const realTimers: FeedTimers = {
  later: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

/** The hello's first repeat and its longest wait (it doubles in between). */
const HELLO_FIRST_MS = 500;
const HELLO_MAX_MS = 30_000;
/** A reload that failed (the store not back yet) is tried again after 1 s, doubling up to 30 s. */
const RELOAD_FIRST_MS = 1000;
const RELOAD_MAX_MS = 30_000;

/** What a change updates: the lease tables and the host directory of one DHCP server. */
export interface ChangeTarget {
  applyStoredLease(r: LeaseRecord): void;
  invalidateMachines(ids: number[]): void;
  /** Reloads every lease and host (after missed notifications). */
  resync(): void;
}

/**
 * Keeps one appliance's in-memory DHCP view current with what other appliances commit (issue
 * #20): a lease row another appliance wrote replaces the binding in memory, so its address is
 * no longer offered here; a machine or interface change reloads that machine's hosts at the
 * next packet. Its own writes come back too and change nothing. Missed notifications are
 * covered by a full reload: when the LISTEN connection was lost and made again, and once at
 * the start, when the hello this appliance sends itself (after 0.5 s, 1 s, 2 s … up to every
 * 30 s until it arrives: each is a round trip on the event loop) shows that LISTEN is in
 * effect; what was committed before that is read then.
 */
export function followChanges(source: ChangeSource, target: ChangeTarget, log: Logger, timers: FeedTimers = realTimers): () => void {
  let malformed = 0;
  const token = randomUUID();
  let hellos = 0;
  const sayHello = () => {
    try {
      source.notify(CHANGE_CHANNEL, helloPayload(token));
    } catch (err) {
      // The store is unreachable: the outage has its own line; try again at the next tick.
      if (hellos === 0) log.debug({ err }, 'store change feed: hello not sent');
    }
    hellos++;
  };
  let stopHello: (() => void) | undefined;
  let helloMs = HELLO_FIRST_MS;
  const helloLater = () => {
    stopHello = timers.later(() => {
      // Re-armed first: a hello answered at once (a synchronous source) then cancels it.
      helloLater();
      sayHello();
    }, helloMs);
    helloMs = Math.min(helloMs * 2, HELLO_MAX_MS);
  };
  const endHello = () => {
    stopHello?.();
    stopHello = undefined;
  };
  let stopReload: (() => void) | undefined;
  let reloadMs = RELOAD_FIRST_MS;
  const resync = () => {
    // A LISTEN connection made again is in effect as well: no hello needed after this reload.
    endHello();
    stopReload?.();
    stopReload = undefined;
    try {
      target.resync();
      reloadMs = RELOAD_FIRST_MS;
      log.info('store notifications in effect: leases and hosts reloaded');
    } catch (err) {
      // The LISTEN connection came back before the statement one (PostgreSQL restarting), and
      // no outage need be under way to reload later: what was missed is read at the next try.
      if (reloadMs === RELOAD_FIRST_MS) log.warn({ err }, 'store notifications resumed but the reload failed: trying again');
      stopReload = timers.later(resync, reloadMs);
      reloadMs = Math.min(reloadMs * 2, RELOAD_MAX_MS);
    }
  };
  const unlisten = source.listen(CHANGE_CHANNEL, (payload) => {
    const change = parseChange(payload);
    if (!change) {
      // One line per 1,000: a foreign writer on our channel must not flood the log.
      if (malformed++ % 1000 === 0) log.warn({ malformed, payload: payload.slice(0, 200) }, 'store change notification not understood: dropped');
      return;
    }
    if (change.kind === 'hello') {
      if (change.token !== token || !stopHello) return;
      resync();
      return;
    }
    try {
      if (change.kind === 'lease') target.applyStoredLease(change.lease);
      else target.invalidateMachines([change.id]);
    } catch (err) {
      log.error({ err }, 'store change notification could not be applied');
    }
  }, resync);
  helloLater();
  sayHello();
  return () => {
    endHello();
    stopReload?.();
    unlisten();
  };
}

/**
 * Where an appliance's search for a free address starts in a pool of `size` (issue #20):
 * Fibonacci hashing of its server address, so two appliances on one segment (usually
 * neighbouring addresses) start about 38 % of the pool apart and their offers rarely meet.
 */
export function poolStartOffset(serverAddress: string, size: number): number {
  const n = ipToInt(serverAddress);
  const frac = (n * 0.6180339887498949) % 1;
  return Math.floor(frac * size);
}
