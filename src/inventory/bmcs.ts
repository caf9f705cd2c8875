import { AppError } from '../errors.js';
import type { Db } from './db.js';
import { nowIso } from './db.js';
import type { SecretBox } from './secrets.js';

/** A BMC as shown outside the process: never the secret. */
export interface BmcInfo {
  machineId: number;
  type: 'ipmi' | 'redfish';
  address: string;
  port: number | null;
  username: string;
  options: Record<string, unknown>;
  updatedAt: string;
}

/** A BMC with its decrypted password, for the drivers only. */
export interface BmcCredentials extends BmcInfo {
  password: string;
}

/** What an operator registers. */
export interface NewBmc {
  type: 'ipmi' | 'redfish';
  address: string;
  port?: number | null;
  username: string;
  password: string;
  options?: Record<string, unknown>;
}

interface Row {
  machine_id: number;
  type: 'ipmi' | 'redfish';
  address: string;
  port: number | null;
  username: string;
  secret: Buffer;
  options: string;
  updated_at: string;
}

const toInfo = (r: Row): BmcInfo => ({
  machineId: r.machine_id,
  type: r.type,
  address: r.address,
  port: r.port,
  username: r.username,
  options: JSON.parse(r.options) as Record<string, unknown>,
  updatedAt: r.updated_at,
});

/** BMCs attached to machines; passwords sealed with AES-256-GCM at rest. */
export class BmcRepo {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  find(machineId: number): BmcInfo | undefined {
    const r = this.db.prepare('SELECT * FROM bmcs WHERE machine_id = ?').get(machineId) as Row | undefined;
    return r ? toInfo(r) : undefined;
  }

  get(machineId: number): BmcInfo {
    const b = this.find(machineId);
    if (!b) throw new AppError('NOT_FOUND', `machine ${machineId} has no BMC`);
    return b;
  }

  /** The BMC with its password decrypted: only for the power drivers, never for output. */
  credentials(machineId: number): BmcCredentials {
    const r = this.db.prepare('SELECT * FROM bmcs WHERE machine_id = ?').get(machineId) as Row | undefined;
    if (!r) throw new AppError('NOT_FOUND', `machine ${machineId} has no BMC`);
    return { ...toInfo(r), password: this.box.open(r.secret) };
  }

  /** Attaches or replaces the machine's BMC. */
  set(machineId: number, b: NewBmc): BmcInfo {
    this.db
      .prepare(
        `INSERT INTO bmcs (machine_id, type, address, port, username, secret, options, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(machine_id) DO UPDATE SET type = excluded.type, address = excluded.address, port = excluded.port,
           username = excluded.username, secret = excluded.secret, options = excluded.options, updated_at = excluded.updated_at`,
      )
      .run(
        machineId,
        b.type,
        b.address,
        b.port ?? null,
        b.username,
        this.box.seal(b.password),
        JSON.stringify(b.options ?? {}),
        nowIso(),
      );
    return this.get(machineId);
  }

  remove(machineId: number): BmcInfo {
    const b = this.get(machineId);
    this.db.prepare('DELETE FROM bmcs WHERE machine_id = ?').run(machineId);
    return b;
  }
}
