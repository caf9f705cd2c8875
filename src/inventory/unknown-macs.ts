import type { Db } from './db.js';

/** What one DHCP request from an unknown MAC told us. */
export interface UnknownSighting {
  mac: string;
  /** Option 93 (first entry). */
  arch: number | null;
  /** Option 60. */
  vendorClass: string | null;
  /** discover, request, inform, ... */
  messageType: string | null;
  /** The relay agent's address (giaddr), null when not relayed. */
  giaddr: string | null;
  /** Option 82 circuit-id and remote-id as hex (RFC 3046 §3.1, §3.2). */
  circuitId: string | null;
  remoteId: string | null;
  /** Epoch ms of the request. */
  at: number;
  /** Option 97 (canonical text), when sent. */
  uuid?: string | null;
  /** The group the MAC matched (issue #19) while it waits for an operator. */
  matchedGroup?: string | null;
}

/** A row of the "seen but unknown" table. */
export interface UnknownMac {
  mac: string;
  arch: number | null;
  vendorClass: string | null;
  messageType: string | null;
  giaddr: string | null;
  circuitId: string | null;
  remoteId: string | null;
  /** Option 97 UUID, when the client sent one. */
  uuid: string | null;
  /** Matched-but-pending: the group (`enroll: manual`) this MAC matched. */
  matchedGroup: string | null;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

interface Row {
  mac: string;
  arch: number | null;
  vendor_class: string | null;
  message_type: string | null;
  giaddr: string | null;
  circuit_id: string | null;
  remote_id: string | null;
  uuid: string | null;
  matched_group: string | null;
  first_seen: string;
  last_seen: string;
  count: number;
}

interface Pending {
  s: UnknownSighting;
  first: number;
  count: number;
}

/** Bounds of the table and of its write queue. */
export interface UnknownMacLimits {
  /** Rows kept; the oldest by last_seen go first. */
  maxRows: number;
  /** Distinct MACs waiting for the next flush; beyond, sightings are counted in `dropped`. */
  maxPending: number;
  /** Sightings are written at most this long after they happen. */
  maxDelayMs: number;
}

/** Rows shown: MACs no machine has, and discovered machines matched to a group but pending. */
const VISIBLE = `mac NOT IN (SELECT i.mac FROM interfaces i JOIN machines m ON m.id = i.machine_id
  WHERE m.state != 'discovered' OR unknown_macs.matched_group IS NULL)`;

const DEFAULTS: UnknownMacLimits = { maxRows: 4096, maxPending: 4096, maxDelayMs: 1000 };

const toRecord = (r: Row): UnknownMac => ({
  mac: r.mac,
  arch: r.arch,
  vendorClass: r.vendor_class,
  messageType: r.message_type,
  giaddr: r.giaddr,
  circuitId: r.circuit_id,
  remoteId: r.remote_id,
  uuid: r.uuid,
  matchedGroup: r.matched_group,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  count: r.count,
});

/**
 * DHCP requests from MACs no machine has, bounded (LRU by last seen). `noteSoon` is for the DHCP
 * hot path: sightings merge in memory per MAC and are written in one transaction within
 * `maxDelayMs` (or before any read), so a flood of unknown clients costs one commit a second,
 * never one per packet. MACs that became machines since are left out of every read.
 */
export class UnknownMacRepo {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private readonly limits: UnknownMacLimits;
  private readonly upsert;
  /** Sightings not recorded because the queue was full (a flood of distinct MACs). */
  dropped = 0;
  /** Called when a flush fails (the batch is dropped; the caller logs). */
  onFlushError: ((err: unknown, rows: number) => void) | undefined;
  /** Sightings noted since start, by DHCP message type (read by the metrics). */
  readonly noted = new Map<string, number>();

  constructor(
    private readonly db: Db,
    limits: Partial<UnknownMacLimits> = {},
  ) {
    this.limits = { ...DEFAULTS, ...limits };
    this.upsert = db.prepare(
      `INSERT INTO unknown_macs (mac, arch, vendor_class, message_type, giaddr, circuit_id, remote_id, uuid, matched_group, first_seen, last_seen, count)
       VALUES (@mac, @arch, @vendorClass, @messageType, @giaddr, @circuitId, @remoteId, @uuid, @matchedGroup, @first, @last, @count)
       ON CONFLICT(mac) DO UPDATE SET arch = COALESCE(excluded.arch, unknown_macs.arch),
         vendor_class = COALESCE(excluded.vendor_class, unknown_macs.vendor_class),
         message_type = excluded.message_type, giaddr = excluded.giaddr, circuit_id = excluded.circuit_id, remote_id = excluded.remote_id,
         uuid = COALESCE(excluded.uuid, unknown_macs.uuid), matched_group = excluded.matched_group,
         last_seen = CASE WHEN excluded.last_seen > unknown_macs.last_seen THEN excluded.last_seen ELSE unknown_macs.last_seen END,
         count = unknown_macs.count + excluded.count`,
    );
  }

  /** Queues one sighting; it is written within `maxDelayMs` or before the next read. */
  noteSoon(s: UnknownSighting): void {
    const type = s.messageType ?? 'unknown';
    this.noted.set(type, (this.noted.get(type) ?? 0) + 1);
    const p = this.pending.get(s.mac);
    if (p) {
      p.s = s;
      p.count++;
    } else if (this.pending.size >= this.limits.maxPending) {
      this.dropped++;
      return;
    } else {
      this.pending.set(s.mac, { s, first: s.at, count: 1 });
    }
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.limits.maxDelayMs);
      this.timer.unref();
    }
  }

  /** Writes the queued sightings and trims the table to `maxRows` (also on Store.close). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0 || !this.db.open) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    const iso = (ms: number) => new Date(ms).toISOString();
    try {
      this.write(batch, iso);
    } catch (err) {
      this.dropped += batch.length;
      this.onFlushError?.(err, batch.length);
    }
  }

  private write(batch: Pending[], iso: (ms: number) => string): void {
    this.db.transaction(() => {
      for (const { s, first, count } of batch) {
        this.upsert.run({ mac: s.mac, arch: s.arch, vendorClass: s.vendorClass, messageType: s.messageType, giaddr: s.giaddr, circuitId: s.circuitId, remoteId: s.remoteId, uuid: s.uuid ?? null, matchedGroup: s.matchedGroup ?? null, first: iso(first), last: iso(s.at), count });
      }
      const rows = this.db.prepare('SELECT COUNT(*) FROM unknown_macs').pluck().get() as number;
      if (rows > this.limits.maxRows) {
        this.db
          .prepare('DELETE FROM unknown_macs WHERE mac IN (SELECT mac FROM unknown_macs ORDER BY last_seen ASC, mac LIMIT ?)')
          .run(rows - this.limits.maxRows);
      }
    })();
  }

  /**
   * Unknown MACs, most recently seen first. MACs that became machines are left out, except a
   * `discovered` machine whose group match waits for an operator (matched-but-pending).
   */
  list(q: { limit?: number } = {}): UnknownMac[] {
    this.flush();
    const rows = this.db
      .prepare(`SELECT * FROM unknown_macs WHERE ${VISIBLE} ORDER BY last_seen DESC, mac LIMIT ?`)
      .all(Math.min(q.limit ?? this.limits.maxRows, this.limits.maxRows)) as Row[];
    return rows.map(toRecord);
  }

  /** One unknown MAC, or undefined (also when a machine has it now). */
  find(mac: string): UnknownMac | undefined {
    this.flush();
    const r = this.db.prepare(`SELECT * FROM unknown_macs WHERE mac = ? AND ${VISIBLE}`).get(mac) as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  /**
   * Records a discovered MAC as matched to a group but pending (`enroll: manual`), at once (it
   * happens once per new machine, inside the discovery's transaction).
   */
  markPending(mac: string, group: string, uuid: string | null): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO unknown_macs (mac, uuid, matched_group, first_seen, last_seen, count) VALUES (?, ?, ?, ?, ?, 1)
         ON CONFLICT(mac) DO UPDATE SET uuid = COALESCE(excluded.uuid, unknown_macs.uuid), matched_group = excluded.matched_group,
           last_seen = excluded.last_seen, count = unknown_macs.count + 1`,
      )
      .run(mac, uuid, group, now, now);
  }

  /** Forgets a MAC (after enrolment). */
  remove(mac: string): void {
    this.flush();
    this.db.prepare('DELETE FROM unknown_macs WHERE mac = ?').run(mac);
  }

  /** Rows in the table (the metrics gauge). */
  count(): number {
    this.flush();
    return this.db.prepare(`SELECT COUNT(*) FROM unknown_macs WHERE ${VISIBLE}`).pluck().get() as number;
  }
}
