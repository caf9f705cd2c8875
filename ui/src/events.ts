/**
 * Live boot-trace events for one machine: the server-sent event stream `GET /api/v1/events/stream`
 * read with fetch() (EventSource cannot send an Authorization header), falling back to polling
 * `GET /api/v1/machines/:ref/events?after=` when the stream route is missing or refuses.
 */
import { ApiError, api, getToken, seg, signalUnauthorized } from './api';
import type { BootEvent, Items } from './types';

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

/** One parsed server-sent event (WHATWG HTML §9.2.6 field rules, the fields we use). */
export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Splits a chunked text/event-stream into messages; feed it text, it keeps the unfinished tail. */
export class SseParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  private id: string | null = null;

  /** Parses what is complete in `chunk` (and the carried-over tail). */
  push(chunk: string): SseMessage[] {
    this.buf += chunk;
    const out: SseMessage[] = [];
    let nl: number;
    while ((nl = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + (this.buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (this.data.length > 0) out.push({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
        this.data = [];
        this.event = '';
        continue;
      }
      if (line.startsWith(':')) continue; // comment / keep-alive
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
      else if (field === 'id') this.id = value;
    }
    return out;
  }
}

/** The boot events carried by one stream message (a row, `{ event }` or `{ items }`). */
export function eventsOf(msg: SseMessage): BootEvent[] {
  let v: unknown;
  try {
    v = JSON.parse(msg.data);
  } catch {
    return [];
  }
  const rows = Array.isArray(v) ? v : isObj(v) && Array.isArray(v.items) ? v.items : isObj(v) && isObj(v.event) ? [v.event] : [v];
  return rows.filter((r): r is BootEvent => isObj(r) && typeof r.id === 'number' && typeof r.kind === 'string');
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

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
