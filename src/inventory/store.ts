import { join, resolve } from 'node:path';
import { ApiTokenRepo } from './api-tokens.js';
import { BmcRepo } from './bmcs.js';
import { BootWriteQueue } from './boot-writes.js';
import { ConfigRepo } from './configs.js';
import { CoordinationRepo } from './coordination.js';
import { type Db, type OpenDbOptions, openDb } from './db.js';
import { EventRepo } from './events.js';
import { prepareDataDir } from './file-modes.js';
import { GroupRepo } from './groups.js';
import { InspectionRepo } from './inspections.js';
import { LeaseRepo } from './leases.js';
import { MachineRepo } from './machines.js';
import { ProfileRepo } from './profiles.js';
import { RetentionRepo } from './retention.js';
import { RolloutRepo } from './rollouts.js';
import { sealClearSecrets } from './seal-clear.js';
import { SecretBox } from './secrets.js';
import { SightingBook } from './sightings.js';
import { UnknownMacRepo } from './unknown-macs.js';
import { type WalCheckpointer, type WalCheckpointerOptions, startWalCheckpointer } from './wal-checkpointer.js';

/**
 * The inventory: every table behind its repository, so no SQL lives outside src/inventory
 * (a PostgreSQL backend can replace these classes later). The connection itself is private:
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

  /** An in-memory store (tests). */
  static memory(): Store {
    return new Store(openDb(':memory:'), SecretBox.ephemeral());
  }

  /** The raw connection of a store: for src/inventory and tests only (SQL checks, fault injection). */
  static rawDb(store: Store): Db {
    return store.db;
  }

  /** The database file (':memory:' for an in-memory store), named in disk-failure log lines. */
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
