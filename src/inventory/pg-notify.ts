import type { LeaseRecord, StoredLeaseState } from './leases.js';
import { Store } from './store.js';

/**
 * Change notifications between appliances sharing one PostgreSQL inventory (issue #20). Each
 * appliance keeps DHCP's host directory and lease tables in memory; triggers on machines,
 * interfaces and leases `pg_notify` this channel on every row change, and each appliance's
 * DHCP service reloads what changed. A lease's payload carries the row itself (a few hundred
 * bytes, far under NOTIFY's 8,000), so a lease another appliance granted needs no query; a
 * machine's carries its id. On SQLite (one process per data dir) none of this exists.
 */
export const CHANGE_CHANNEL = 'rackboot_changes';

/** Any advisory lock key of our own: serializes the DDL of appliances starting together. */
const DDL_LOCK = 7_302_020;

/**
 * The trigger function and triggers, idempotent (CREATE OR REPLACE); installChangeTriggers runs
 * them in one transaction under a transaction-level advisory lock: two appliances starting at once would otherwise race
 * on the catalog ("tuple concurrently updated"). PostgreSQL 14+ (CREATE OR REPLACE TRIGGER).
 */
export const CHANGE_TRIGGERS_SQL = `
CREATE OR REPLACE FUNCTION rackboot_notify_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_TABLE_NAME = 'leases' THEN
    IF TG_OP <> 'DELETE' THEN
      PERFORM pg_notify('${CHANGE_CHANNEL}', json_build_object('t', 'lease', 'ip', NEW.ip, 'mac', NEW.mac,
        'clientId', NEW.client_id, 'hostname', NEW.hostname, 'state', NEW.state,
        'expiresAt', NEW.expires_at, 'updatedAt', NEW.updated_at)::text);
    END IF;
  ELSIF TG_TABLE_NAME = 'machines' THEN
    IF TG_OP = 'DELETE' THEN
      PERFORM pg_notify('${CHANGE_CHANNEL}', json_build_object('t', 'machine', 'id', OLD.id)::text);
    ELSE
      PERFORM pg_notify('${CHANGE_CHANNEL}', json_build_object('t', 'machine', 'id', NEW.id)::text);
    END IF;
  ELSE
    IF TG_OP <> 'INSERT' THEN
      PERFORM pg_notify('${CHANGE_CHANNEL}', json_build_object('t', 'machine', 'id', OLD.machine_id)::text);
    END IF;
    IF TG_OP <> 'DELETE' THEN
      PERFORM pg_notify('${CHANGE_CHANNEL}', json_build_object('t', 'machine', 'id', NEW.machine_id)::text);
    END IF;
  END IF;
  RETURN NULL;
END
$fn$;
CREATE OR REPLACE TRIGGER rackboot_notify_change AFTER INSERT OR UPDATE OR DELETE ON machines
  FOR EACH ROW EXECUTE FUNCTION rackboot_notify_change();
CREATE OR REPLACE TRIGGER rackboot_notify_change AFTER INSERT OR UPDATE OR DELETE ON interfaces
  FOR EACH ROW EXECUTE FUNCTION rackboot_notify_change();
CREATE OR REPLACE TRIGGER rackboot_notify_change AFTER INSERT OR UPDATE ON leases
  FOR EACH ROW EXECUTE FUNCTION rackboot_notify_change();
`;

/** What installing the triggers needs: a PostgreSQL connection (PgDb's better-sqlite3 shape). */
export interface ChangeTriggerDb {
  exec(sql: string): unknown;
  transaction<T>(fn: () => T): () => T;
}

/** Creates (or refreshes) the change triggers; safe to run from every appliance at every start. */
export function installChangeTriggers(db: ChangeTriggerDb): void {
  db.transaction(() => {
    db.exec(`SELECT pg_advisory_xact_lock(${DDL_LOCK})`);
    db.exec(CHANGE_TRIGGERS_SQL);
  })();
}

/**
 * One change another writer (or this one) committed; or a `hello` a listener sent itself to
 * learn that its LISTEN is in effect (LISTEN starts asynchronously, on its own connection).
 */
export type StoreChange = { kind: 'lease'; lease: LeaseRecord } | { kind: 'machine'; id: number } | { kind: 'hello'; token: string };

/** The payload of a listener's hello. */
export function helloPayload(token: string): string {
  return JSON.stringify({ t: 'hello', token });
}

const LEASE_STATES = new Set<string>(['active', 'released', 'declined', 'expired']);

/** Reads one notification payload; undefined for anything malformed (logged and dropped by the caller). */
export function parseChange(payload: string): StoreChange | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.t === 'machine') return typeof o.id === 'number' && Number.isInteger(o.id) ? { kind: 'machine', id: o.id } : undefined;
  if (o.t === 'hello') return typeof o.token === 'string' ? { kind: 'hello', token: o.token } : undefined;
  if (o.t !== 'lease') return undefined;
  const { ip, mac, clientId, hostname, state, expiresAt, updatedAt } = o;
  if (typeof ip !== 'string' || typeof mac !== 'string' || typeof state !== 'string' || !LEASE_STATES.has(state)) return undefined;
  if (typeof expiresAt !== 'number' || typeof updatedAt !== 'number') return undefined;
  return {
    kind: 'lease',
    lease: {
      ip,
      mac,
      clientId: typeof clientId === 'string' ? clientId : mac,
      hostname: typeof hostname === 'string' ? hostname : null,
      state: state as StoredLeaseState,
      expiresAt,
      updatedAt,
    },
  };
}

/** Notifications of one store: PgDb.listen's shape (onResync: the LISTEN connection was made again), and NOTIFY. */
export interface ChangeFeed {
  listen(channel: string, onPayload: (payload: string) => void, onResync?: () => void): () => void;
  notify(channel: string, payload: string): void;
}

/**
 * The store's change feed: on PostgreSQL, installs the triggers and returns the connection's
 * LISTEN; on SQLite (one process per data dir, nobody else writes) undefined.
 */
export function openChangeFeed(store: Store): ChangeFeed | undefined {
  const notifications = store.notifications;
  if (!notifications) return undefined;
  const db = Store.rawDb(store);
  installChangeTriggers(db);
  return {
    listen: (channel, onPayload, onResync) => notifications.listen(channel, onPayload, onResync),
    notify: (channel, payload) => void db.prepare('SELECT pg_notify(?, ?)').get(channel, payload),
  };
}
