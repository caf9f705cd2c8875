import { AppError } from '../errors.js';
import { normalizeMac } from './mac.js';

/**
 * One group selector, parsed from text such as `mac=aa:bb:cc:dd:ee:ff`, `uuid=…`, `serial=…`,
 * `labels.rack=r1`, `facts.memory.gib>=64`, `facts.disks.count>=2`, `circuitId=eth0`,
 * `remoteId=hex:0a0b`, `subnet=198.18.0.0/24`. Selectors of a group are AND-ed.
 */
export interface Selector {
  /** `mac`, `uuid`, `serial`, `circuitId`, `remoteId`, `subnet`, `labels.<k>` or `facts.<path>`. */
  key: string;
  op: SelectorOp;
  /** Normalized: MAC canonical, UUID lower-case, relay ids as hex, subnet as a canonical CIDR. */
  value: string;
}

/** Comparison operators; ordering ones only on facts, with a number. */
export type SelectorOp = '=' | '!=' | '>=' | '<=' | '>' | '<';

/** Rank classes, most specific first (see specificityOf in group-match.ts). */
export const SELECTOR_CLASSES = ['identity', 'relay', 'subnet', 'labels', 'facts'] as const;
export type SelectorClass = (typeof SELECTOR_CLASSES)[number];

/** What a group is matched against: what DHCP, the inventory or an inspection report know. */
export interface MatchCandidate {
  /** The MAC at hand (the one asking over DHCP, or the boot NIC of a report); canonical. */
  mac?: string | undefined;
  uuid?: string | undefined;
  serial?: string | undefined;
  labels?: Record<string, string> | undefined;
  facts?: Record<string, unknown> | undefined;
  /** Option 82 circuit-id / remote-id as lower-case hex (as DhcpRequest carries them). */
  circuitId?: string | undefined;
  remoteId?: string | undefined;
  /** An IPv4 address of the machine's segment (giaddr when relayed, else its address) for `subnet`. */
  address?: string | undefined;
}

const OPS: readonly SelectorOp[] = ['>=', '<=', '!=', '=', '>', '<'];
const PLAIN_KEYS = ['mac', 'uuid', 'serial', 'circuitId', 'remoteId', 'subnet'] as const;
const LABEL_KEY = /^labels\.[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const FACT_KEY = /^facts(\.[A-Za-z0-9_-]{1,64}){1,8}$/;
const NUMBER = /^-?\d+(\.\d+)?$/;

const bad = (text: string, why: string) => new AppError('BAD_INPUT', `bad selector ${JSON.stringify(text.slice(0, 120))}: ${why}`);

/** Class of a selector key (drives specificity). */
export function classOf(key: string): SelectorClass {
  if (key === 'mac' || key === 'uuid' || key === 'serial') return 'identity';
  if (key === 'circuitId' || key === 'remoteId') return 'relay';
  if (key === 'subnet') return 'subnet';
  return key.startsWith('labels.') ? 'labels' : 'facts';
}

/** A UUID in canonical text (lower-case, dashed), or undefined. */
export function normalizeUuid(text: string): string | undefined {
  const hex = text.trim().toLowerCase().replace(/^\{|\}$/g, '').replaceAll('-', '');
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Relay ids: `hex:0a0b` as given, anything else is the text's bytes (dhcrelay sends interface names). */
function relayHex(v: string): string | undefined {
  if (v.startsWith('hex:')) {
    const h = v.slice(4).toLowerCase().replaceAll(':', '');
    return /^([0-9a-f]{2}){1,64}$/.test(h) ? h : undefined;
  }
  return v.length > 0 && v.length <= 64 ? Buffer.from(v, 'utf8').toString('hex') : undefined;
}

/** Parses `a.b.c.d/n` into [network, prefix] (host bits cleared), or undefined. */
export function parseCidr4(text: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const ip = octets.reduce((a, o) => a * 256 + o, 0);
  return [ip - (ip % 2 ** (32 - prefix)), prefix];
}

/** An IPv4 address as a number, or undefined. */
export function ipv4ToNumber(text: string): number | undefined {
  const c = parseCidr4(`${text}/32`);
  return c?.[0];
}

/** Parses one selector; bad text is a BAD_INPUT naming it. */
export function parseSelectorText(text: string): Selector {
  const t = text.trim();
  let at = -1;
  let op: SelectorOp | undefined;
  for (let i = 0; i < t.length && op === undefined; i++) {
    for (const o of OPS) {
      if (t.startsWith(o, i)) {
        at = i;
        op = o;
        break;
      }
    }
  }
  if (op === undefined) throw bad(text, 'expected KEY=VALUE (or !=, >=, <=, >, <)');
  const key = t.slice(0, at).trim();
  const raw = t.slice(at + op.length).trim();
  const known = (PLAIN_KEYS as readonly string[]).includes(key) || LABEL_KEY.test(key) || FACT_KEY.test(key);
  if (!known) throw bad(text, 'key must be mac, uuid, serial, circuitId, remoteId, subnet, labels.<key> or facts.<path>');
  const ordering = op !== '=' && op !== '!=';
  if (ordering && classOf(key) !== 'facts') throw bad(text, `${op} compares facts only`);
  if (ordering && !NUMBER.test(raw)) throw bad(text, `${op} needs a number`);
  if (raw.length === 0 || raw.length > 128) throw bad(text, 'value must be 1 to 128 characters');
  return { key, op, value: normalizeValue(text, key, op, raw) };
}

function normalizeValue(text: string, key: string, op: SelectorOp, raw: string): string {
  switch (key) {
    case 'mac':
      try {
        return normalizeMac(raw);
      } catch {
        throw bad(text, 'not a MAC address');
      }
    case 'uuid': {
      const u = normalizeUuid(raw);
      if (!u) throw bad(text, 'not a UUID');
      return u;
    }
    case 'circuitId':
    case 'remoteId': {
      const h = relayHex(raw);
      if (!h) throw bad(text, 'relay ids are text (up to 64 bytes) or hex:0a0b…');
      return h;
    }
    case 'subnet': {
      const c = parseCidr4(raw);
      if (!c || op !== '=') throw bad(text, 'subnet=CIDR (e.g. subnet=198.18.0.0/24)');
      return `${[24, 16, 8, 0].map((s) => Math.floor(c[0] / 2 ** s) % 256).join('.')}/${c[1]}`;
    }
    default:
      return raw;
  }
}

/** Canonical text of a selector (what is stored and shown). */
export function selectorText(s: Selector): string {
  if (s.key === 'circuitId' || s.key === 'remoteId') return `${s.key}${s.op}hex:${s.value}`;
  return `${s.key}${s.op}${s.value}`;
}

/** The value at a dotted facts path; `.count` of an array is its length. */
export function factAt(facts: Record<string, unknown> | undefined, path: string): unknown {
  let cur: unknown = facts;
  for (const seg of path.split('.')) {
    if (Array.isArray(cur) && seg === 'count') cur = cur.length;
    else if (typeof cur === 'object' && cur !== null && !Array.isArray(cur) && Object.hasOwn(cur, seg)) cur = (cur as Record<string, unknown>)[seg];
    else return undefined;
  }
  return cur;
}

/** The candidate's value for a key, as text or number; undefined when it does not know it. */
function candidateValue(c: MatchCandidate, key: string): string | number | undefined {
  switch (key) {
    case 'mac':
      return c.mac;
    case 'uuid':
      return c.uuid ? normalizeUuid(c.uuid) : undefined;
    case 'serial':
      return c.serial ?? undefined;
    case 'circuitId':
      return c.circuitId?.toLowerCase();
    case 'remoteId':
      return c.remoteId?.toLowerCase();
    case 'subnet':
      return c.address;
  }
  if (key.startsWith('labels.')) {
    const k = key.slice('labels.'.length);
    return c.labels && Object.hasOwn(c.labels, k) ? c.labels[k] : undefined;
  }
  const v = factAt(c.facts, key.slice('facts.'.length));
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * Whether the candidate satisfies one selector. Something the candidate does not know (no
 * UUID yet, no facts before inspection) satisfies no selector, `!=` included: a group must be
 * proved, never assumed.
 */
export function selectorHolds(s: Selector, c: MatchCandidate): boolean {
  const v = candidateValue(c, s.key);
  if (v === undefined) return false;
  if (s.key === 'subnet') {
    const ip = ipv4ToNumber(String(v));
    const net = parseCidr4(s.value);
    return ip !== undefined && net !== undefined && ip - (ip % 2 ** (32 - net[1])) === net[0];
  }
  const num = typeof v === 'number' ? v : NUMBER.test(v) ? Number(v) : undefined;
  const want = NUMBER.test(s.value) ? Number(s.value) : undefined;
  const same = num !== undefined && want !== undefined ? num === want : String(v) === s.value;
  switch (s.op) {
    case '=':
      return same;
    case '!=':
      return !same;
    case '>=':
      return num !== undefined && num >= Number(s.value);
    case '<=':
      return num !== undefined && num <= Number(s.value);
    case '>':
      return num !== undefined && num > Number(s.value);
    case '<':
      return num !== undefined && num < Number(s.value);
  }
}
