import { AppError } from '../errors.js';
import type { Db } from './db.js';
import { nowIso } from './db.js';
import type { SecretBox } from './secrets.js';
import { BMC_SECRET_OPTIONS, SEALED, openJson, sealJson } from './sealing.js';

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

/**
 * What an operator registers. A password left out (or SEALED), and a secret option given as
 * SEALED, keep the stored value, but only while type, address and port stay the same.
 */
export interface NewBmc {
  type: 'ipmi' | 'redfish';
  address: string;
  port?: number | null | undefined;
  username: string;
  password?: string | undefined;
  options?: Record<string, unknown> | undefined;
}

interface Row {
  machine_id: number;
  type: 'ipmi' | 'redfish';
  address: string;
  port: number | null;
  username: string;
  secret: Buffer;
  /** Options with each secret option shown as SEALED. */
  options: string;
  /** The secret options (JSON object), sealed; null when there are none. */
  option_secrets: Buffer | null;
  updated_at: string;
}

const SECRET_KEYS: readonly string[] = BMC_SECRET_OPTIONS;

/** Options as shown outside: every secret option SEALED (also one that reached the column in clear). */
const maskOptions = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, SECRET_KEYS.includes(k) && v !== undefined ? SEALED : v]));

const toInfo = (r: Row): BmcInfo => ({
  machineId: r.machine_id,
  type: r.type,
  address: r.address,
  port: r.port,
  username: r.username,
  options: maskOptions(JSON.parse(r.options) as Record<string, unknown>),
  updatedAt: r.updated_at,
});

/** A BAD_INPUT naming the field a changed or new BMC must be given again. */
const needAgain = (path: string, old: Row | undefined, same: boolean): AppError =>
  new AppError(
    'BAD_INPUT',
    !old
      ? `bmc ${path} is required for a new BMC`
      : same
        ? `bmc ${path} is ${SEALED} but none is stored: give the value itself`
        : `bmc ${path} is required when type, address or port change: the stored one is never sent to a different BMC`,
    { details: [{ path, message: 'required' }] },
  );

/** BMCs attached to machines; passwords sealed with AES-256-GCM at rest. */
export class BmcRepo {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  find(machineId: number): BmcInfo | undefined {
    const r = this.row(machineId);
    return r ? toInfo(r) : undefined;
  }

  get(machineId: number): BmcInfo {
    const b = this.find(machineId);
    if (!b) throw new AppError('NOT_FOUND', `machine ${machineId} has no BMC`);
    return b;
  }

  /** The BMC with its password and secret options decrypted: only for the power drivers, never for output. */
  credentials(machineId: number): BmcCredentials {
    const r = this.row(machineId);
    if (!r) throw new AppError('NOT_FOUND', `machine ${machineId} has no BMC`);
    const options = { ...(JSON.parse(r.options) as Record<string, unknown>), ...openJson<Record<string, unknown>>(this.box, r.option_secrets) };
    return { ...toInfo(r), options, password: this.box.open(r.secret) };
  }

  /** The BMC's secret options in clear (an admin's export with secrets). */
  secretOptions(machineId: number): Record<string, unknown> {
    const r = this.row(machineId);
    return r ? (openJson<Record<string, unknown>>(this.box, r.option_secrets) ?? {}) : {};
  }

  /**
   * Attaches or replaces the machine's BMC. A missing or SEALED password and SEALED secret
   * options keep the stored ones only for the same type, address and port: otherwise BAD_INPUT,
   * so an edited address never receives the old credentials.
   */
  set(machineId: number, b: NewBmc): BmcInfo {
    const old = this.row(machineId);
    const same = old !== undefined && old.type === b.type && old.address === b.address && old.port === (b.port ?? null);
    let secret: Buffer;
    if (b.password !== undefined && b.password !== SEALED) secret = this.box.seal(b.password);
    else if (same) secret = old.secret;
    else throw needAgain('password', old, same);
    const { options, sealed } = this.splitOptions(b.options ?? {}, old, same);
    this.db
      .prepare(
        `INSERT INTO bmcs (machine_id, type, address, port, username, secret, options, option_secrets, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(machine_id) DO UPDATE SET type = excluded.type, address = excluded.address, port = excluded.port,
           username = excluded.username, secret = excluded.secret, options = excluded.options,
           option_secrets = excluded.option_secrets, updated_at = excluded.updated_at`,
      )
      .run(machineId, b.type, b.address, b.port ?? null, b.username, secret, options, sealed, nowIso());
    return this.get(machineId);
  }

  /** Detaches the machine's BMC. */
  remove(machineId: number): BmcInfo {
    const b = this.get(machineId);
    this.db.prepare('DELETE FROM bmcs WHERE machine_id = ?').run(machineId);
    return b;
  }

  private row(machineId: number): Row | undefined {
    return this.db.prepare('SELECT * FROM bmcs WHERE machine_id = ?').get(machineId) as Row | undefined;
  }

  /** Options column values: secret options SEALED in `options`, their values sealed apart. */
  private splitOptions(given: Record<string, unknown>, old: Row | undefined, same: boolean): { options: string; sealed: Buffer | null } {
    const stored = old && same ? (openJson<Record<string, unknown>>(this.box, old.option_secrets) ?? {}) : {};
    const secrets: Record<string, unknown> = {};
    for (const k of SECRET_KEYS) {
      const v = given[k];
      if (v === undefined) continue;
      if (v !== SEALED) secrets[k] = v;
      else if (stored[k] !== undefined) secrets[k] = stored[k];
      else throw needAgain(`options.${k}`, old, same);
    }
    const sealed = Object.keys(secrets).length ? sealJson(this.box, secrets) : null;
    return { options: JSON.stringify(maskOptions(given)), sealed };
  }
}
