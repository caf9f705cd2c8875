/**
 * Issues network boots: for the plan `decide` made, resolves the kernel and initrds, gets the
 * machine's config version, issues the boot's one-use tokens, moves the machine to `booting`,
 * records the boot trace and renders the answer (iPXE script or GRUB config), all in one SQLite
 * transaction: a failure anywhere leaves nothing behind.
 *
 * Issue #21: a config version is rendered once per (profile revision, machine inputs) and reused
 * while they stay the same, so a boot costs a few cheap inserts (two tokens, an event) instead
 * of a render, a hash and a store; every boot still gets fresh tokens. answerCommitted (the iPXE
 * route) goes further: such a boot's tokens and trace row join the store's group commit
 * (BootWriteQueue), and the answer is given only once they are committed.
 */
import type { AssetRegistry } from '../assets/index.js';
import { type BootTokens, type ConfigDeps, bootConfigOf, configVersionEvent, issueBootTokens, mintBootTokens, renderMachineVersion } from '../config/index.js';
import { TokenSecretPool } from '../config/tokens.js';
import type { BootWrite } from '../inventory/boot-writes.js';
import { type AppError, isAppError } from '../errors.js';
import type { ConfigVersion } from '../inventory/configs.js';
import type { Machine } from '../inventory/machines.js';
import type { Profile } from '../inventory/profiles.js';
import type { Logger } from '../log.js';
import { type ProfileSpec, profileSpecSchema } from '../model/profile-spec.js';
import { type BootImages, installArgs, resolveBootImages } from '../provision/network-boot.js';
import type { Settings } from '../settings.js';
import type { Store } from '../inventory/store.js';
import { type BootPlan, type NoBootReason, decide } from './decide.js';
import { assetUrl } from './urls.js';
import { EVENT } from '../lifecycle/event-kinds.js';

/** What the service needs; AppDeps (with an asset registry) satisfies it. */
export interface BootServiceDeps {
  store: Store;
  settings: Settings;
  assets: AssetRegistry;
  log?: Logger;
  /** Milliseconds since the epoch (tests inject a clock). */
  now?: () => number;
}

/** One boot to answer: the machine, who asks (iPXE or GRUB), the base URL and the trace fields. */
export interface BootRequest {
  machine: Machine;
  /** The MAC the request named (the machine's, already checked against the requester). */
  mac: string;
  client: 'ipxe-script' | 'grub-config';
  base: string;
  /** Event source of the trace rows: `http` (iPXE) or `grub`. */
  source: string;
  /** Extra fields every trace row of this boot carries (chain, firmware path, client). */
  trace?: Record<string, unknown>;
}

/** What a network boot was given: images, config version, tokens and the kernel command line. */
export interface IssuedBoot extends BootImages {
  versionId: number;
  sha256: string;
  configUrl: string;
  /** The boot's config token (part of configUrl). */
  configToken: string;
  reportToken: string;
  args: string[];
  /** False when the machine's unchanged version was reused. */
  created: boolean;
  /**
   * The same object for every boot of the machine whose answer can differ only in its tokens
   * (same machine, profile, base URL, assets and version); undefined: no such promise. Lets an
   * answer be filled in from the previous one (ScriptMemo).
   */
  shape?: object;
}

/** How the caller words each answer (iPXE script or GRUB config). */
export interface BootAnswers<T> {
  refuse(reason: NoBootReason): T;
  disk(): T;
  network(boot: IssuedBoot): T;
  /** A broken profile or missing asset (already traced as `boot.error`). */
  error(e: AppError): T;
}

/** Everything a config version's rendering depends on; equal keys render equal bytes. */
interface CachedVersion {
  key: string;
  version: Pick<ConfigVersion, 'id' | 'sha256' | 'format'>;
}

/** A network boot's resolved inputs and what they were resolved from (BootService.inputsOf). */
interface BootInputs {
  machine: Machine;
  profile: Profile;
  base: string;
  assetsRev: number;
  images: BootImages;
  install: string[];
  key: string;
  configDeps: ConfigDeps;
  /** The boot.script detail of the last version booted with these inputs, and its JSON (traceDetail). */
  steadyDetail?: { versionId: number; sha256: string; detail: Record<string, unknown>; json: string } | undefined;
}

const MAX_CACHED = 50_000;
const PRUNE_EVERY_MS = 60_000;

/** One per appliance (main.ts), shared by the iPXE route and the GRUB routes and TFTP handler. */
export class BootService {
  private readonly versions = new Map<number, CachedVersion>();
  private readonly inputs = new Map<number, BootInputs>();
  private readonly secrets = new TokenSecretPool();
  private readonly specs = new Map<string, { key: string; spec: ProfileSpec }>();
  private prunedAt = Number.NEGATIVE_INFINITY;
  private readonly configLog: Logger | undefined;

  constructor(private readonly deps: BootServiceDeps) {
    this.configLog = deps.log?.child({ subsys: 'config' });
  }

  /** Decides (src/boot/decide.ts) and issues one boot; see BootAnswers. */
  answer<T>(r: BootRequest, answers: BootAnswers<T>): T {
    return this.decideAndIssue(r, answers, false).out;
  }

  /**
   * Like answer, but a boot that only needs fresh tokens and its trace row (unchanged version,
   * machine already booting) queues them for the store's group commit and resolves once they
   * are committed: the answer, which carries the tokens, is never given before they are durable.
   */
  async answerCommitted<T>(r: BootRequest, answers: BootAnswers<T>): Promise<T> {
    const { out, pending } = this.decideAndIssue(r, answers, true);
    if (pending) {
      try {
        await this.deps.store.bootWrites.commitSoon(pending);
      } catch (e) {
        this.deps.log?.error({ mac: r.mac, machine: r.machine.name, err: e }, 'boot writes not committed; no script given');
        throw e;
      }
    }
    return out;
  }

  private decideAndIssue<T>(r: BootRequest, answers: BootAnswers<T>, batch: boolean): { out: T; pending?: BootWrite | undefined } {
    const { store } = this.deps;
    // From memory while the profiles are unchanged (a profile edit counts from the next boot).
    const stored = r.machine.profile ? (store.profiles.findCached(r.machine.profile) ?? store.profiles.get(r.machine.profile)) : null;
    const spec = stored ? this.specOf(stored) : null;
    const plan = decide({ mac: r.mac, state: r.machine.state }, spec, { kind: r.client });
    return this.issueWith(r, plan, stored && spec ? { stored, spec } : null, answers, batch);
  }

  /** The parsed spec of a stored profile, parsed once per revision (zod is most of a repeat boot's CPU). */
  private specOf(stored: Profile): ProfileSpec {
    const key = `${stored.revision}@${stored.createdAt}`;
    const hit = this.specs.get(stored.name);
    if (hit?.key === key) return hit.spec;
    const spec = profileSpecSchema.parse(stored.spec);
    if (this.specs.size >= 1000) this.specs.clear();
    this.specs.set(stored.name, { key, spec });
    return spec;
  }

  /** Carries out `plan` in one transaction; an AppError rolls everything back and is traced as `boot.error`. */
  issue<T>(r: BootRequest, plan: BootPlan, profile: { stored: Profile; spec: ProfileSpec } | null, answers: BootAnswers<T>): T {
    return this.issueWith(r, plan, profile, answers, false).out;
  }

  /** issue; with `batch`, a steady-state boot writes nothing and returns its writes as `pending`. */
  private issueWith<T>(r: BootRequest, plan: BootPlan, profile: { stored: Profile; spec: ProfileSpec } | null, answers: BootAnswers<T>, batch: boolean): { out: T; pending?: BootWrite | undefined } {
    const { store } = this.deps;
    const { machine, mac } = r;
    const trace = r.trace ?? {};
    if (batch && plan.target === 'network' && profile) {
      const queued = this.queued(r, profile);
      if (queued) {
        this.remember(machine.id, queued.entry);
        return { out: answers.network(queued.boot), pending: queued.pending };
      }
    }
    let cache: CachedVersion | undefined;
    const out = this.run(r, () => {
      if (plan.target === 'none' || !profile) {
        store.events.add({ mac, machineId: machine.id, source: r.source, kind: EVENT.bootRefused, detail: { ...trace, reason: 'no profile' } });
        return answers.refuse(plan.target === 'none' ? plan.reason : 'no-profile');
      }
      if (plan.target === 'disk') {
        store.events.add({ mac, machineId: machine.id, source: r.source, kind: EVENT.bootScript, detail: { ...trace, mode: 'disk', profile: machine.profile } });
        return answers.disk();
      }
      const issued = this.network(r, profile, false)!; // undefined only with queueOnly
      cache = issued.entry;
      return answers.network(issued.boot);
    }, answers.error);
    if (cache) this.remember(machine.id, cache);
    return { out };
  }

  /**
   * A steady-state network boot without writing anything (no transaction: it only reads): its
   * answer and the writes to queue, or undefined when the boot needs more than fresh tokens and
   * a trace row, or failed (the transactional path then does it, and traces the failure).
   */
  private queued(r: BootRequest, profile: { stored: Profile; spec: ProfileSpec }): { boot: IssuedBoot; entry: CachedVersion; pending: BootWrite } | undefined {
    try {
      const issued = this.network(r, profile, true);
      return issued?.pending ? { boot: issued.boot, entry: issued.entry, pending: issued.pending } : undefined;
    } catch (e) {
      if (isAppError(e)) return undefined;
      throw e;
    }
  }

  /**
   * Runs one boot's work in a transaction; an AppError (broken profile, missing asset) rolls it
   * all back, is traced as `boot.error` and answered by `onError`. Other errors propagate.
   */
  run<T>(r: Pick<BootRequest, 'machine' | 'mac' | 'source' | 'trace'>, work: () => T, onError: (e: AppError) => T): T {
    const { store } = this.deps;
    try {
      return store.transaction(work);
    } catch (e) {
      if (!isAppError(e)) throw e;
      const detail = { ...(r.trace ?? {}), code: e.code, message: e.message };
      store.events.add({ mac: r.mac, machineId: r.machine.id, source: r.source, kind: EVENT.bootError, detail });
      this.deps.log?.warn({ mac: r.mac, machine: r.machine.name, code: e.code, msg: e.message }, 'cannot boot machine');
      return onError(e);
    }
  }

  /**
   * The network boot's writes (inside the caller's transaction). With `queueOnly`, it writes
   * nothing: a boot that needs nothing but fresh tokens and its trace row (version reused, machine
   * already booting, no token pruning due) returns them as `pending` for the group commit, any
   * other boot returns undefined.
   */
  private network(r: BootRequest, profile: { stored: Profile; spec: ProfileSpec }, queueOnly: boolean): { boot: IssuedBoot; entry: CachedVersion; pending?: BootWrite } | undefined {
    const { store, settings } = this.deps;
    const { machine, mac, base } = r;
    const { spec } = profile;
    const now = (this.deps.now ?? Date.now)();
    const inputs = this.inputsOf(machine, profile, base);
    const { images, install, configDeps, key } = inputs;
    const hit = this.versions.get(machine.id);
    let version: CachedVersion['version'];
    let created = false;
    const reuse = hit !== undefined && hit.key === key && store.configs.desiredIdCached(machine.id) === hit.version.id;
    const pruneDue = now - this.prunedAt >= PRUNE_EVERY_MS;
    if (queueOnly && !(reuse && machine.state === 'booting' && !pruneDue)) return undefined;
    if (hit && reuse) {
      version = hit.version; // unchanged inputs: the machine's desired version is still the one they render
    } else {
      const saved = renderMachineVersion(configDeps, machine, base, { kernel: images.kernel.sha256, initrds: images.initrds.map((a) => a.sha256) });
      version = saved.version;
      created = saved.created;
      store.configs.setDesired(machine.id, version.id);
      if (created) store.events.add(configVersionEvent(machine.id, saved.version));
    }
    if (pruneDue) {
      store.configs.pruneTokens(now);
      this.prunedAt = now;
    }
    let tokens: BootTokens;
    let tokenRows: BootWrite['tokens'] | undefined;
    if (queueOnly) {
      const minted = mintBootTokens(configDeps, machine.id, version, now);
      tokens = minted.tokens;
      tokenRows = minted.rows;
    } else {
      tokens = issueBootTokens(configDeps, machine.id, version, now);
    }
    const config = bootConfigOf(version, spec.os, base, tokens);
    const args = [spec.cmdline, ...config.kernelArgs, ...install, settings.http.consoleArgs];
    if (machine.state !== 'booting') store.machines.update(machine.id, { state: 'booting' });
    const detail = this.traceDetail(r, machine, version, images, inputs);
    const event = { mac, machineId: machine.id, source: r.source, kind: EVENT.bootScript, detail: detail.detail };
    if (!tokenRows) store.events.add(event);
    this.configLog?.info({ machine: machine.name, versionId: version.id, sha256: version.sha256, created }, 'config prepared');
    const boot: IssuedBoot = { kernel: images.kernel, initrds: images.initrds, versionId: version.id, sha256: version.sha256, configUrl: config.configUrl, configToken: tokens.configToken, reportToken: tokens.reportToken, args, created };
    // The steady detail is made once per machine inputs and version: exactly what the answer depends on but the tokens.
    if (detail.json !== undefined) boot.shape = detail;
    const entry = hit && reuse ? hit : { key, version: { id: version.id, sha256: version.sha256, format: version.format } };
    if (!tokenRows) return { boot, entry };
    const pending: BootWrite = { machineId: machine.id, tokens: tokenRows, event };
    if (detail.json !== undefined) pending.eventDetail = detail.json;
    return { boot, entry, pending };
  }

  /**
   * The `boot.script` row's detail of a network boot, and (without extra trace fields) its JSON,
   * made once per machine inputs and version: every steady-state boot of a machine writes the
   * same detail, and serializing it per boot was a tenth of the group commit's cost (issue #21).
   */
  private traceDetail(r: BootRequest, machine: Machine, version: CachedVersion['version'], images: BootImages, inputs: BootInputs): { detail: Record<string, unknown>; json?: string } {
    const memo = inputs.steadyDetail;
    if (r.trace === undefined && memo?.versionId === version.id && memo.sha256 === version.sha256) return memo;
    const detail = {
      ...(r.trace ?? {}),
      mode: 'network',
      versionId: version.id,
      sha256: version.sha256,
      profile: machine.profile,
      kernel: images.kernel.sha256,
      initrds: images.initrds.map((a) => a.sha256),
    };
    if (r.trace !== undefined) return { detail };
    inputs.steadyDetail = { versionId: version.id, sha256: version.sha256, detail, json: JSON.stringify(detail) };
    return inputs.steadyDetail;
  }

  /**
   * What a network boot resolves before its tokens (images, install arguments, the version key),
   * remembered per machine while the machine and profile objects (the store's remembered rows:
   * a new object after any change), the base URL and the asset list are the same.
   */
  private inputsOf(machine: Machine, profile: { stored: Profile; spec: ProfileSpec }, base: string): BootInputs {
    const { assets } = this.deps;
    const assetsRev = assets.revision();
    const hit = this.inputs.get(machine.id);
    if (hit && hit.machine === machine && hit.profile === profile.stored && hit.base === base && hit.assetsRev === assetsRev) return hit;
    const { spec } = profile;
    const images = resolveBootImages(assets, spec);
    const install = installArgs(spec, assets, base);
    const installImage = spec.install?.image ? (assets.digestOf(spec.install.image) ?? spec.install.image) : null;
    const key = versionKey(machine, profile.stored, base, images, installImage);
    const entry: BootInputs = { machine, profile: profile.stored, base, assetsRev, images, install, key, configDeps: this.configDeps(base) };
    if (this.inputs.size >= MAX_CACHED) this.inputs.clear();
    this.inputs.set(machine.id, entry);
    return entry;
  }

  private configDeps(base: string): ConfigDeps {
    const { store, settings, assets, log, now } = this.deps;
    return {
      store,
      settings,
      publicUrl: base,
      ...(log ? { log } : {}),
      ...(now ? { now } : {}),
      newSecret: () => this.secrets.next(),
      resolveAsset: (ref) => {
        const hex = assets.digestOf(ref);
        return hex ? { sha256: hex, url: assetUrl(base, hex) } : undefined;
      },
    };
  }

  /** Called after the transaction committed: a rolled-back version is never remembered. */
  private remember(machineId: number, entry: CachedVersion): void {
    if (this.versions.size >= MAX_CACHED) this.versions.clear();
    this.versions.set(machineId, entry);
  }
}

/**
 * Every input of a config rendering (src/config/service.ts renderMachineVersion): the machine's
 * fields the renderers see, the profile by name, revision and creation (a re-created profile
 * starts at revision 1 again), the base URL and the images' digests.
 */
function versionKey(machine: Machine, profile: Profile, base: string, images: BootImages, installImage: string | null): string {
  return JSON.stringify([
    machine.name,
    machine.macs,
    machine.ipv4,
    machine.labels,
    profile.name,
    profile.revision,
    profile.createdAt,
    base,
    images.kernel.sha256,
    images.initrds.map((a) => a.sha256),
    installImage,
  ]);
}
