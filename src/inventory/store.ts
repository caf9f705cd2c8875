import { join, resolve } from 'node:path';
import { ApiTokenRepo } from './api-tokens.js';
import { BmcRepo } from './bmcs.js';
import { BootWriteQueue } from './boot-writes.js';
import { ConfigRepo } from './configs.js';
import { CoordinationRepo } from './coordination.js';
import { type Db, type OpenDbOptions, type SqliteDb, dialectOf, openDb, sqliteOf } from './db.js';
import { EventRepo } from './events.js';
import { prepareDataDir } from './file-modes.js';
import { GroupRepo } from './groups.js';
import { InspectionRepo } from './inspections.js';
import { LeaseRepo } from './leases.js';
import { MachineRepo } from './machines.js';
import { checkSecretKey, migratePg } from './pg/migrate.js';
import { PgDb, type PgDbOptions, type StoreHealth } from './pg/pg-db.js';
import { ProfileRepo } from './profiles.js';
import { RetentionRepo } from './retention.js';
import { RolloutRepo } from './rollouts.js';
import { sealClearSecrets } from './seal-clear.js';
import { SecretBox } from './secrets.js';
import { SightingBook } from './sightings.js';
import { UnknownMacRepo } from './unknown-macs.js';
import { type WalCheckpointer, type WalCheckpointerOptions, startWalCheckpointer } from './wal-checkpointer.js';

/**
 * The inventory: every table behind its repository, so no SQL lives outside src/inventory. The
 * repositories run on SQLite (better-sqlite3) or on PostgreSQL through PgDb, a synchronous
 * facade with the same shape (pg/pg-db.ts says what that costs). The connection itself is private:
 * code outside src/inventory uses the repositories and `transaction` (tests reach it through
 * `Store.rawDb`, which test/layering.test.ts refuses in src/ outside src/inventory).
 */
export class Store {
  readonly machines: MachineRepo;
  readonly profiles: ProfileRepo;
  readonly bmcs: BmcRepo;
  readonly events: EventRepo;
  readonly leases: LeaseRepo;
  readonly configs: ConfigRepo;
  readonly apiTokens: ApiTokenRepo;
  /** Rollouts, their machines and the one-holder-per-machine rule. */
  readonly rollouts: RolloutRepo;
  /** Pruning of old events, config versions and expired tokens (the retention service). */
  readonly retention: RetentionRepo;
  /** DHCP requests from MACs no machine has (bounded, written off the hot path). */
  readonly unknownMacs: UnknownMacRepo;
  /** Groups (matchbox-like selectors → profile, labels, hostname, BMC credentials). */
  readonly groups: GroupRepo;
  /** Inspection reports (bounded history per machine) and inspection-boot tokens. */
  readonly inspections: InspectionRepo;
  /** Group commit of steady-state boots' tokens and trace rows (written before any token or event access). */
  readonly bootWrites: BootWriteQueue;
  /** Leader leases and BMC locks shared by the appliances on this database (migration 014). */
  readonly coordination: CoordinationRepo;
  /** In memory: where MACs were last seen (ProxyDHCP) and boot-binding refusal counts. */
  readonly sightings = new SightingBook();

  constructor(
    private readonly db: Db,
    box: SecretBox,
  ) {
    this.machines = new MachineRepo(db);
    this.profiles = new ProfileRepo(db, box);
    this.bmcs = new BmcRepo(db, box);
    this.events = new EventRepo(db);
    this.leases = new LeaseRepo(db);
    this.configs = new ConfigRepo(db, box);
    this.apiTokens = new ApiTokenRepo(db);
    this.unknownMacs = new UnknownMacRepo(db);
    this.groups = new GroupRepo(db, box);
    this.rollouts = new RolloutRepo(db, this.events);
    this.retention = new RetentionRepo(db);
    this.inspections = new InspectionRepo(db);
    this.coordination = new CoordinationRepo(db);
    this.bootWrites = new BootWriteQueue(db, this.configs, this.events);
    const flushBoots = () => this.bootWrites.flush();
    this.configs.pendingWrites = flushBoots;
    this.events.pendingWrites = flushBoots;
    this.retention.pendingWrites = flushBoots;
    // Databases from before migration 009 held cluster secrets, Kg and config bodies in clear.
    sealClearSecrets(db, box);
  }

  /**
   * Opens the store in a data dir (created if needed, made 0700): inventory.db and secret.key
   * (0600). Takes no lock: `serve` opens through openDataDir (data-dir.ts), which locks first.
   */
  static open(dataDir: string, opts: OpenDbOptions = {}): Store {
    const dir = resolve(dataDir);
    prepareDataDir(dir);
    const box = SecretBox.fromKeyFile(join(dir, 'secret.key'));
    return new Store(openDb(join(dir, 'inventory.db'), opts), box);
  }

  /**
   * Opens the inventory on PostgreSQL (issue #20): connects (STORE_UNAVAILABLE when it cannot),
   * applies pending migrations under an advisory lock, and checks that this data dir's
   * secret.key (created 0600 if missing) opens the database's sealed values: appliances sharing
   * one database must share one key. The data dir still holds the key and this appliance's lock.
   */
  static openPostgres(url: string, dataDir: string, opts: PgDbOptions = {}): Store {
    const dir = resolve(dataDir);
    prepareDataDir(dir);
    const keyFile = join(dir, 'secret.key');
    const box = SecretBox.fromKeyFile(keyFile);
    const db = new PgDb(url, opts);
    try {
      migratePg(db);
      checkSecretKey(db, box, keyFile);
      return new Store(db, box);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** An in-memory store (tests). */
  static memory(): Store {
    return new Store(openDb(':memory:'), SecretBox.ephemeral());
  }

  /** The raw connection of a store, either dialect: for src/inventory and tests only (SQL checks, fault injection). */
  static rawDb(store: Store): Db {
    return store.db;
  }

  /** The SQLite connection of a store (pragmas); throws for a PostgreSQL store. For src/inventory and tests only. */
  static rawSqlite(store: Store): SqliteDb {
    const db = sqliteOf(store.db);
    if (!db) throw new Error('Store.rawSqlite: this store is on PostgreSQL');
    return db;
  }

  /** 'sqlite' or 'postgres'. */
  get dialect(): 'sqlite' | 'postgres' {
    return dialectOf(this.db);
  }

  /** Whether the store can be reached (always on SQLite): /healthz says degraded otherwise. */
  health(): StoreHealth {
    return this.db instanceof PgDb ? this.db.health() : { ok: true };
  }

  /** NOTIFY channels of a PostgreSQL store (undefined on SQLite, which has one writer). */
  get notifications(): Pick<PgDb, 'listen'> | undefined {
    return this.db instanceof PgDb ? this.db : undefined;
  }

  /** The database file (':memory:' for an in-memory store), or the PostgreSQL URL without its password, named in failure log lines. */
  get file(): string {
    return this.db.name;
  }

  /**
   * Moves WAL checkpoints (and their fsyncs) to a background thread reading the same file;
   * undefined for an in-memory or non-WAL database.
   */
  startWalCheckpointer(opts: WalCheckpointerOptions = {}): WalCheckpointer | undefined {
    return startWalCheckpointer(this.db, opts);
  }

  /** Runs fn in one transaction (queued boot writes are committed first, so they keep their order). */
  transaction<T>(fn: () => T): T {
    this.bootWrites.flush();
    return this.db.transaction(fn)();
  }

  /** Writes queued trace rows, then closes the database. */
  close(): void {
    this.bootWrites.flush();
    this.events.flush();
    this.unknownMacs.flush();
    if (this.db.open) this.db.close();
  }
}
