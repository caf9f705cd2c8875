import { AppError } from '../errors.js';
import type { ConfigToken, ConfigVersion, ConfigVersionWithBody } from '../inventory/configs.js';
import type { Machine } from '../inventory/machines.js';
import type { Store } from '../inventory/store.js';
import type { Logger } from '../log.js';
import { renderConfig } from '../render/index.js';
import type { RenderInput, ResolvedImage } from '../render/types.js';
import type { Settings } from '../settings.js';
import { assetUrl, configUrl, trimBase } from '../boot/urls.js';
import type { ProfileSpec } from '../model/profile-spec.js';
import { kernelArgsFor } from './kernel-args.js';
import { redactSecrets } from './redact.js';
import { formatToken, hashSecret, newTokenSecret, sha256Hex, tokenKey } from './tokens.js';
import { EVENT } from '../lifecycle/event-kinds.js';

/** Resolves an asset name or `sha256:<hex>` to its digest and URL (boot-asset manifest). */
export type AssetResolver = (ref: string) => ResolvedImage | undefined;

/** What the config service needs; AppDeps satisfies it. */
export interface ConfigDeps {
  store: Store;
  settings: Settings;
  log?: Logger;
  /** Base URL machines use; falls back to settings.http.publicUrl. */
  publicUrl?: string;
  /** Milliseconds since the epoch (tests inject a clock). */
  now?: () => number;
  resolveAsset?: AssetResolver;
  /** Makes a boot's token secrets (default newTokenSecret; BootService passes its TokenSecretPool). */
  newSecret?: () => string;
}

/** What a boot script needs to hand a machine its config. */
export interface BootConfig {
  versionId: number;
  sha256: string;
  configUrl: string;
  reportToken: string;
  kernelArgs: string[];
}

/** NoCloud-net fetches meta-data, user-data and vendor-data: one boot is three fetches. */
const FETCHES_PER_BOOT = { cloudinit: 3 } as Record<string, number>;

const nowOf = (deps: ConfigDeps) => (deps.now ?? Date.now)();

/** The base URL for machines, without a trailing slash. */
export function publicUrlOf(deps: ConfigDeps, override?: string): string {
  const url = override ?? deps.publicUrl ?? deps.settings.http.publicUrl;
  if (!url) throw new AppError('SETTINGS', 'http.publicUrl is not set and no public URL was given');
  return trimBase(url);
}

/** Resolves spec.install.image: an explicit resolver first, else a literal sha256:<hex> digest. */
export function resolveInstallImage(deps: ConfigDeps, ref: string | undefined, publicUrl: string): ResolvedImage | null {
  if (!ref) return null;
  const found = deps.resolveAsset?.(ref);
  if (found) return found;
  const m = /^sha256:([0-9a-f]{64})$/.exec(ref);
  if (m) return { sha256: m[1]!, url: assetUrl(publicUrl, m[1]!) };
  throw new AppError('INVALID_CONFIG', `install image ${ref} is not a known asset`, {
    details: [{ path: 'spec.install.image', message: 'unknown asset (register it, or give sha256:<hex>)' }],
  });
}

/**
 * Renders the machine's config and stores it as an immutable version (identical output
 * reuses the existing version), without assigning it or issuing tokens.
 */
export function renderMachineVersion(
  deps: ConfigDeps,
  machine: Machine,
  publicUrl = publicUrlOf(deps),
  bootImage: RenderInput['bootImage'] = null,
): { version: ConfigVersion; created: boolean } {
  if (!machine.profile) throw new AppError('INVALID_CONFIG', `machine ${machine.name} has no profile`, { details: [{ path: 'profile', message: 'required' }] });
  // The one place profile secrets are opened: the renderer needs them, the version records them (sealed).
  const profile = deps.store.profiles.unsealed(machine.profile);
  const input: RenderInput = {
    machine: { id: machine.id, name: machine.name, macs: machine.macs, ipv4: machine.ipv4, labels: machine.labels },
    profile: { name: profile.name, revision: profile.revision, spec: profile.spec },
    installImage: resolveInstallImage(deps, profile.spec.install?.image, publicUrl),
    bootImage,
  };
  const doc = renderConfig(input);
  const body = Buffer.from(doc.body, 'utf8');
  return deps.store.configs.saveVersion({
    machineId: machine.id,
    machineName: machine.name,
    profile: profile.name,
    profileRevision: profile.revision,
    format: doc.format,
    contentType: doc.contentType,
    body,
    sha256: sha256Hex(body),
    meta: doc.meta,
    secrets: profile.secretValues,
  });
}

/** The two tokens one network boot gets, `<id>_<secret>` (only the secrets' hashes are stored). */
export interface BootTokens {
  configToken: string;
  reportToken: string;
}

/**
 * Issues a boot's tokens for `version` (the caller holds the transaction): a config token good
 * for the boot's fetches and a report token that replaces every earlier one of the machine.
 */
export function issueBootTokens(deps: ConfigDeps, machineId: number, version: Pick<ConfigVersion, 'id' | 'format'>, now = nowOf(deps)): BootTokens {
  const { store } = deps;
  const { tokens, rows } = mintBootTokens(deps, machineId, version, now);
  // One report token per network boot: the new boot's token replaces every earlier one (a
  // harvested token dies at the machine's next boot). The installed OS reports with the token
  // its installer wrote to disk, which stays valid until the machine boots from the network again.
  store.configs.revokeTokens(machineId, 'report');
  for (const row of rows) store.configs.addToken(row);
  return tokens;
}

/**
 * A boot's fresh config and report tokens and the rows that store them (hashes only), written
 * by the caller: issueBootTokens at once, BootService through the boot write queue.
 */
export function mintBootTokens(deps: ConfigDeps, machineId: number, version: Pick<ConfigVersion, 'id' | 'format'>, now = nowOf(deps)): { tokens: BootTokens; rows: ConfigToken[] } {
  const http = deps.settings.http;
  const secret = deps.newSecret ?? newTokenSecret;
  const configSecret = secret();
  const reportSecret = secret();
  const configId = deps.store.configs.nextTokenId();
  const reportId = deps.store.configs.nextTokenId();
  const uses = http.configTokenUses * (FETCHES_PER_BOOT[version.format] ?? 1);
  const rows: ConfigToken[] = [
    { id: configId, secretHash: hashSecret(configSecret), kind: 'config', machineId, versionId: version.id, usesLeft: uses, expiresAt: now + http.configTokenTtlSeconds * 1000, createdAt: now },
    { id: reportId, secretHash: hashSecret(reportSecret), kind: 'report', machineId, versionId: version.id, usesLeft: null, expiresAt: now + http.reportTokenTtlSeconds * 1000, createdAt: now },
  ];
  return { tokens: { configToken: formatToken(configId, configSecret), reportToken: formatToken(reportId, reportSecret) }, rows };
}

/** The `config.version` trace row of a newly stored version. */
export function configVersionEvent(machineId: number, version: ConfigVersion) {
  const detail = { versionId: version.id, sha256: version.sha256, format: version.format, profile: version.profile, profileRevision: version.profileRevision };
  return { machineId, source: 'config', kind: EVENT.configVersion, detail } as const;
}

/**
 * Renders and stores the machine's config version, records it as the machine's desired version,
 * and issues a per-boot config token and a report token (BootService.issue does the same inside
 * the boot's transaction, reusing an unchanged version).
 */
export function prepareBootConfig(
  deps: ConfigDeps,
  machine: Machine,
  opts: { publicUrl?: string; bootImage?: RenderInput['bootImage'] } = {},
): BootConfig {
  const publicUrl = publicUrlOf(deps, opts.publicUrl);
  const now = nowOf(deps);
  const { store } = deps;
  const { version, created, configToken, reportToken } = store.transaction(() => {
    const saved = renderMachineVersion(deps, machine, publicUrl, opts.bootImage ?? null);
    store.configs.pruneTokens(now);
    store.configs.setDesired(machine.id, saved.version.id);
    return { ...saved, ...issueBootTokens(deps, machine.id, saved.version, now) };
  });
  if (created) store.events.add(configVersionEvent(machine.id, version));
  deps.log?.child({ subsys: 'config' }).info({ machine: machine.name, versionId: version.id, sha256: version.sha256, created }, 'config prepared');
  const os = store.profiles.get(machine.profile!).spec.os;
  return bootConfigOf(version, os, publicUrl, { configToken, reportToken });
}

/** The BootConfig a script needs: config URL, report token and the OS's kernel arguments. */
export function bootConfigOf(version: Pick<ConfigVersion, 'id' | 'sha256'>, os: ProfileSpec['os'], publicUrl: string, tokens: BootTokens): BootConfig {
  const url = configUrl(publicUrl, tokens.configToken);
  const kernelArgs = kernelArgsFor({ os, configUrl: url, sha256: version.sha256, publicUrl, reportToken: tokens.reportToken });
  return { versionId: version.id, sha256: version.sha256, configUrl: url, reportToken: tokens.reportToken, kernelArgs };
}

/** The machine and version a phone-home report token stands for; FORBIDDEN when unknown or expired. */
export function verifyReportToken(deps: ConfigDeps, token: string): { machineId: number; versionId: number } {
  const key = tokenKey(token);
  const t = key ? deps.store.configs.findToken(key) : undefined;
  if (!t || t.kind !== 'report' || t.expiresAt <= nowOf(deps)) throw new AppError('FORBIDDEN', 'unknown or expired report token');
  return { machineId: t.machineId, versionId: t.versionId };
}

/** The machine's desired version and every version it was ever given (newest first). */
export function machineConfigs(deps: ConfigDeps, machineId: number): { desired: ConfigVersion | null; items: ConfigVersion[] } {
  return { desired: deps.store.configs.desired(machineId) ?? null, items: deps.store.configs.listVersions(machineId) };
}

/** One stored version with its exact bytes (rollback, audit). */
export function configVersion(deps: ConfigDeps, id: number): ConfigVersionWithBody {
  return deps.store.configs.getVersion(id);
}

/**
 * One stored version as a caller may see it: the exact bytes when `unseal` (admin), else with
 * every secret it was rendered with, and every current secret of its profile, shown as `<sealed>`.
 */
export function configVersionFor(deps: ConfigDeps, id: number, unseal: boolean): ConfigVersionWithBody & { redacted: boolean } {
  const { store } = deps;
  const v = store.configs.getVersion(id);
  if (unseal) return { ...v, redacted: false };
  const current = store.profiles.find(v.profile) ? store.profiles.unsealed(v.profile).secretValues : [];
  const { body } = redactSecrets(v.body, [...store.configs.secretValues(id), ...current]);
  return { ...v, body, redacted: true };
}
