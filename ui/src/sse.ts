/** Server-sent events read from a fetch() body: a chunk parser and the boot events in a message. Pure. */
import type { BootEvent } from './types.js';

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
