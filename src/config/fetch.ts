import { requireBoundSource } from '../boot/identity.js';
import { AppError } from '../errors.js';
import type { ConfigVersionWithBody } from '../inventory/configs.js';
import { tryNormalizeMac } from '../model/mac.js';
import type { ConfigDeps } from './service.js';
import { sha256Hex, tokenKey } from './tokens.js';
import { EVENT } from '../lifecycle/event-kinds.js';

/** Companion files of a NoCloud seed directory served under the token URL. */
export const NOCLOUD_FILES = ['user-data', 'meta-data', 'vendor-data'] as const;
/** One NoCloud seed file name. */
export type NoCloudFile = (typeof NOCLOUD_FILES)[number];

/** Why a config fetch was refused (recorded in the `config.denied` event). */
export type DenyReason = 'unknown-token' | 'expired' | 'used' | 'wrong-mac' | 'no-such-file';

/** The bytes to send for a config fetch. */
export interface ServedConfig {
  version: ConfigVersionWithBody;
  body: Buffer;
  contentType: string;
  sha256: string;
}

/**
 * Spends one use of a per-boot config token and returns the exact stored bytes. A spent,
 * expired or unknown token, or a `mac` that is not the token's machine, is FORBIDDEN and
 * recorded as `config.denied`; a success is recorded as `config.served`. The token alone is not
 * enough: the request must come from the machine's own address (boot identity binding; a
 * refusal is a `security.refused` on the machine's trace and leaves the token unspent).
 */
export function fetchConfig(deps: ConfigDeps, token: string, opts: { source: string; mac?: string; file?: NoCloudFile }): ServedConfig {
  const { store } = deps;
  const log = deps.log?.child({ subsys: 'config' });
  const mac = opts.mac === undefined ? undefined : tryNormalizeMac(opts.mac);
  const key = tokenKey(token);
  const t = key ? store.configs.findToken(key) : undefined;
  const deny = (reason: DenyReason): never => {
    const detail = { reason, file: opts.file ?? null, versionId: t?.versionId ?? null, ...(opts.mac !== undefined ? { mac: opts.mac.slice(0, 40) } : {}) };
    store.events.add({ machineId: t?.machineId ?? null, mac: mac ?? null, source: 'http', kind: EVENT.configDenied, detail });
    log?.warn({ ...detail, machineId: t?.machineId, tokenId: t?.id }, 'config fetch denied');
    throw new AppError('FORBIDDEN', `config token refused (${reason})`, { details: { reason } });
  };
  if (!t || t.kind !== 'config') return deny('unknown-token');
  const now = (deps.now ?? Date.now)();
  if (t.expiresAt <= now) return deny('expired');
  if (opts.mac !== undefined) {
    const owner = mac ? store.machines.findByMac(mac) : undefined;
    if (!owner || owner.id !== t.machineId) return deny('wrong-mac');
  }
  const machine = store.machines.get(t.machineId);
  requireBoundSource(deps, { machine, source: opts.source, what: 'config', via: 'http', mac: mac ?? undefined });
  const version = store.configs.getVersion(t.versionId);
  const body = pickFile(version, opts.file);
  if (!body) return deny('no-such-file');
  if (!store.configs.consumeToken(t.id, now)) return deny('used');
  const sha256 = body === version.body ? version.sha256 : sha256Hex(body);
  const contentType = body === version.body ? version.contentType : 'text/plain; charset=utf-8';
  store.events.add({ machineId: t.machineId, mac: mac ?? null, source: 'http', kind: EVENT.configServed, detail: { versionId: version.id, sha256, file: opts.file ?? null } });
  log?.info({ machineId: t.machineId, versionId: version.id, sha256, file: opts.file }, 'config served');
  return { version, body, contentType, sha256 };
}

function pickFile(v: ConfigVersionWithBody, file: NoCloudFile | undefined): Buffer | undefined {
  if (file === undefined || (file === 'user-data' && v.format === 'cloudinit')) return v.body;
  if (v.format !== 'cloudinit') return undefined;
  const text = v.meta[file];
  return text === undefined ? undefined : Buffer.from(text, 'utf8');
}
