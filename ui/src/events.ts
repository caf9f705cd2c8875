/**
 * Live boot-trace events for one machine: the server-sent event stream `GET /api/v1/events/stream`
 * read with fetch() (EventSource cannot send an Authorization header), falling back to polling
 * `GET /api/v1/machines/:ref/events?after=` when the stream route is missing or refuses.
 */
import { ApiError, api, getToken, seg, signalUnauthorized } from './api.js';
import { SseParser, eventsOf } from './sse.js';
import type { BootEvent, Items } from './types.js';

/** How the timeline is being kept up to date (shown to the operator). */
export type LiveMode = 'connecting' | 'stream' | 'polling' | 'offline';

/** What to follow and where to send it. */
export interface FollowOptions {
  machine: { id: number; name: string; macs: string[] };
  /** Last event id already shown. */
  after: number;
  onEvents(events: BootEvent[]): void;
  onMode(mode: LiveMode): void;
  pollMs?: number;
}

/** Starts following; returns the function that stops it. */
export function followMachineEvents(o: FollowOptions): () => void {
  const ctl = new AbortController();
  let last = o.after;
  const macs = new Set(o.machine.macs.map((m) => m.toLowerCase()));
  const mine = (e: BootEvent) => e.machineId === o.machine.id || (e.mac !== null && macs.has(e.mac.toLowerCase()));
  const deliver = (events: BootEvent[]) => {
    const fresh = events.filter((e) => e.id > last && mine(e)).sort((a, b) => a.id - b.id);
    if (fresh.length === 0) return;
    last = fresh[fresh.length - 1]!.id;
    o.onEvents(fresh);
  };
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  const poll = async () => {
    const page = await api<Items<BootEvent>>('GET', `/api/v1/machines/${seg(o.machine.name)}/events?after=${last}&limit=500`);
    deliver(page.items);
  };

  const stream = async (): Promise<'missing' | 'ended'> => {
    const token = getToken();
    const res = await fetch(`/api/v1/events/stream?machine=${seg(o.machine.name)}&after=${last}`, {
      headers: { accept: 'text/event-stream', 'last-event-id': String(last), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: ctl.signal,
      cache: 'no-store',
    });
    if (res.status === 401) {
      signalUnauthorized();
      throw new ApiError(401, 'UNAUTHORIZED', 'token refused');
    }
    if (!res.ok || !res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) return 'missing';
    o.onMode('stream');
    const parser = new SseParser();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'ended';
      deliver(parser.push(value).flatMap(eventsOf));
    }
  };

  void (async () => {
    o.onMode('connecting');
    let useStream = true;
    while (!ctl.signal.aborted) {
      try {
        if (useStream) {
          const r = await stream();
          if (r === 'missing') useStream = false;
          else await sleep(1000); // the server closed it: reconnect after a pause
          continue;
        }
        await poll();
        o.onMode('polling');
      } catch (e) {
        if (ctl.signal.aborted) return;
        if (e instanceof ApiError && e.status === 401) return; // back to login
        o.onMode('offline');
      }
      await sleep(o.pollMs ?? 1500);
    }
  })();
  return () => ctl.abort();
}
