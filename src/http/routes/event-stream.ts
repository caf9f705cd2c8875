import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { BootEvent } from '../../inventory/events.js';
import { normalizeMac } from '../../model/mac.js';
import type { Store } from '../../inventory/store.js';
import type { EventFeed } from '../../lifecycle/event-feed.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';

/** Limits of the live event stream. */
export interface EventStreamOptions {
  /** Streams open at once; one more is refused with 503. */
  maxStreams: number;
  /** A comment line this often keeps proxies and idle timeouts from closing a quiet stream. */
  heartbeatMs: number;
  /** A client that leaves this much unread for behindGraceMs is disconnected (it reconnects with Last-Event-ID). */
  maxBufferedBytes: number;
  behindGraceMs: number;
  /** Events replayed for `after` / Last-Event-ID at most (older gaps are skipped with a comment). */
  maxReplay: number;
}

/** Defaults of EventStreamOptions. */
export const EVENT_STREAM_DEFAULTS: EventStreamOptions = { maxStreams: 32, heartbeatMs: 15_000, maxBufferedBytes: 1 << 20, behindGraceMs: 2000, maxReplay: 10_000 };

const streamQuery = z.object({
  machine: z.string().min(1).max(128).optional(),
  mac: z.string().min(1).max(64).optional(),
  after: z.coerce.number().int().min(0).optional(),
});

/** The open streams of an app (closed on app close; counted by the metrics). */
export interface EventStreams {
  readonly size: number;
  /** Ends every open stream. */
  closeAll(): void;
}

/** One SSE frame (WHATWG HTML §9.2.6): the event id and the row as JSON on one data line. */
export function sseFrame(e: BootEvent): string {
  return `id: ${e.id}\ndata: ${JSON.stringify(e)}\n\n`;
}

function filterOf(store: Store, q: z.infer<typeof streamQuery>): { match: (e: BootEvent) => boolean; list: { machineId?: number; mac?: string } } {
  const m = q.machine ? store.machines.get(q.machine) : undefined;
  const mac = q.mac ? normalizeMac(q.mac) : undefined;
  const macs = new Set(m?.macs ?? []);
  const match = (e: BootEvent) => (!m || e.machineId === m.id || (e.mac !== null && macs.has(e.mac))) && (!mac || e.mac === mac);
  return { match, list: { ...(m ? { machineId: m.id } : {}), ...(mac ? { mac } : {}) } };
}

/**
 * GET /api/v1/events/stream (read): the boot trace live as server-sent events, optionally for
 * one machine or MAC. Resumes after `?after=` or the Last-Event-ID header (what the browser
 * sends back on reconnect); every stream is fed by the one shared EventFeed.
 */
export function registerEventStream(app: FastifyInstance, store: Store, feed: EventFeed, opts: EventStreamOptions = EVENT_STREAM_DEFAULTS): EventStreams {
  const open = new Set<ServerResponse>();

  app.get('/api/v1/events/stream', { config: { access: 'read' }, ...documented({ summary: 'Boot trace live as server-sent events (query machine, mac, after; header Last-Event-ID)', querystring: streamQuery, produces: 'text/event-stream' }) }, async (req, reply) => {
    const q = parseBody(streamQuery, req.query, 'query');
    const header = req.headers['last-event-id'];
    const resume = q.after ?? (typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined);
    const filter = filterOf(store, q);
    if (open.size >= opts.maxStreams) {
      void reply.header('retry-after', '5');
      throw new AppError('UNAVAILABLE', `too many live event streams (${opts.maxStreams}); retry later or poll /api/v1/machines/:ref/events?after=`);
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    open.add(res);
    // A reader that leaves more than the bound unread for longer than behindGraceMs is cut (a
    // burst delivered within one feed tick goes out whole); the replay is bounded by maxReplay.
    let behindSince: number | undefined;
    res.on('drain', () => {
      behindSince = undefined;
    });
    const send = (text: string, live = true) => {
      if (res.writableEnded) return;
      if (live && res.writableLength > opts.maxBufferedBytes) {
        behindSince ??= Date.now();
        if (Date.now() - behindSince > opts.behindGraceMs) {
          res.end(': too far behind; reconnect with Last-Event-ID\n\n');
          return;
        }
      }
      res.write(text);
    };
    send('retry: 2000\n\n', false);
    if (resume !== undefined) replay(resume);
    const unsubscribe = feed.subscribe((batch) => {
      let out = '';
      for (const e of batch) if (filter.match(e)) out += sseFrame(e);
      if (out) send(out);
    });
    const heartbeat = setInterval(() => send(': ping\n\n'), opts.heartbeatMs);
    heartbeat.unref();
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(res);
    });

    // Everything after `from` up to what the feed has delivered (later rows come through it).
    function replay(from: number): void {
      const until = feed.position;
      let cursor = from;
      let sent = 0;
      while (cursor < until && sent < opts.maxReplay) {
        const page = store.events.list({ ...filter.list, afterId: cursor, limit: 1000 }).filter((e) => e.id <= until);
        if (page.length === 0) break;
        send(page.map(sseFrame).join(''), false);
        sent += page.length;
        cursor = page.at(-1)!.id;
      }
      if (cursor < until && sent >= opts.maxReplay) send(`: replay stopped after ${sent} events; older ones via /api/v1/machines/:ref/events\n\n`, false);
    }
  });

  return {
    get size() {
      return open.size;
    },
    closeAll() {
      for (const res of open) res.end();
      open.clear();
    },
  };
}
