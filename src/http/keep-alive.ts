import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { SendQueueLookup } from './send-queue.js';

/**
 * Keep-alive that starts when the client can have the response (issue #21).
 *
 * Node starts a kept-alive connection's keep-alive timer when a response "finishes", i.e. when
 * its last byte was handed to the kernel. On a busy link the kernel still holds megabytes of it
 * (a 1,000-machine storm at 1 Gbit/s: up to 2.4 MiB per connection, drained at ~1 Mbit/s), so
 * the timer ran out before the client had read the response it was answering, and the next
 * request (initrd after kernel) met a closed connection. Here the keep-alive wait begins once
 * the kernel's send queue of the connection is empty (every byte acknowledged by the client):
 * until then the queue is checked every pollMs. A peer that stops acknowledging is still
 * closed, maxTailMs after the response finished (the idle timeout); a connection whose queue
 * cannot be read (not Linux) keeps Node's timing.
 */

export interface KeepAliveTiming {
  /** How long a kept-alive connection waits for its next request once the client has the response. */
  keepAliveMs: number;
  /** Longest wait for the send queue to drain after a response finished. */
  maxTailMs: number;
  /** How often the send queue is checked while it drains. */
  pollMs: number;
}

/** Where a kept-alive connection stands when its timer fires. */
export interface KeepAliveClock {
  now: number;
  /** When the last response was handed to the kernel. */
  finishedAt: number;
  /** When its send queue was first seen empty. */
  drainedAt?: number | undefined;
  /** Unacknowledged bytes now; undefined when unknown. */
  unacked: number | undefined;
}

export type KeepAliveStep = { close: true } | { close: false; waitMs: number; drainedAt?: number };

/** What to do when a kept-alive connection's timer fires (pure). */
export function nextKeepAliveStep(c: KeepAliveClock, t: KeepAliveTiming): KeepAliveStep {
  const wait = (ms: number, drainedAt?: number): KeepAliveStep => (ms <= 0 ? { close: true } : { close: false, waitMs: ms, ...(drainedAt === undefined ? {} : { drainedAt }) });
  if (c.drainedAt !== undefined) return wait(t.keepAliveMs - (c.now - c.drainedAt));
  const sinceFinish = c.now - c.finishedAt;
  if (c.unacked === undefined) return wait(t.keepAliveMs - sinceFinish);
  if (sinceFinish >= t.maxTailMs) return { close: true };
  if (c.unacked > 0) return wait(Math.min(t.pollMs, t.maxTailMs - sinceFinish));
  return wait(t.keepAliveMs, c.now);
}

interface ConnState {
  /** Bumped by every request on the connection. */
  gen: number;
  req?: IncomingMessage | undefined;
  res?: ServerResponse | undefined;
  /** Set when the last response finished (0 while one is in progress). */
  finishedAt: number;
  drainedAt?: number | undefined;
  /** socket.bytesRead when the response finished: more means the client is sending again. */
  readAt: number;
}

/**
 * Takes over the socket timeouts of `server` (its 'timeout' event): a kept-alive connection is
 * closed keepAliveMs after its send queue drained (nextKeepAliveStep); any other timeout (a
 * stalled download, a slow body) closes the connection as Node would, unless the request or
 * response has a 'timeout' listener of its own.
 */
export function keepAliveUntilDelivered(server: HttpServer, t: KeepAliveTiming, sendQueue: SendQueueLookup, now: () => number = Date.now): void {
  const conns = new WeakMap<Socket, ConnState>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const st: ConnState = { gen: (conns.get(socket)?.gen ?? 0) + 1, req, res, finishedAt: 0, readAt: 0 };
    conns.set(socket, st);
    res.once('finish', () => {
      if (conns.get(socket) !== st || socket.destroyed || socket.writableEnded) return;
      st.req = undefined;
      st.res = undefined;
      st.finishedAt = now();
      st.readAt = socket.bytesRead;
      // Node has just armed its keep-alive timer (its own 'finish' listener runs first): check the
      // send queue sooner. The next request's first bytes re-arm Node's request timers.
      socket.setTimeout(t.pollMs);
    });
  });
  server.on('timeout', (socket: Socket) => {
    const st = conns.get(socket);
    if (!st || st.finishedAt === 0 || socket.writableEnded || socket.bytesRead !== st.readAt) {
      const own = (st?.req && !st.req.complete && st.req.listenerCount('timeout') > 0) || (st?.res?.listenerCount('timeout') ?? 0) > 0;
      if (!own) socket.destroy();
      return;
    }
    void (async () => {
      const unacked = st.drainedAt === undefined ? await sendQueue(socket) : 0;
      // A request began meanwhile (Node re-armed its timers for it), or the socket went.
      if (conns.get(socket) !== st || st.finishedAt === 0 || socket.destroyed || socket.bytesRead !== st.readAt) return;
      const step = nextKeepAliveStep({ now: now(), finishedAt: st.finishedAt, drainedAt: st.drainedAt, unacked }, t);
      if (step.close) {
        socket.destroy();
        return;
      }
      if (step.drainedAt !== undefined) st.drainedAt = step.drainedAt;
      socket.setTimeout(step.waitMs);
    })();
  });
}
