import type { Machine, MachineState } from '../inventory/machines.js';
import { profileSpecSchema } from '../model/profile-spec.js';
import type { Store } from '../inventory/store.js';
import type { Logger } from '../log.js';
import { type AwaitedBoot, type ReadinessKind, type ReadinessSource, type ReadinessVerdict, readinessKindOf } from './readiness.js';
import { PollLoop } from '../poll-loop.js';
import { EVENT, reportKind } from './event-kinds.js';
import type { Leadership } from '../coordination/leader.js';

/** States in which a machine's latest network boot has not finished yet. */
const AWAITING: ReadonlySet<MachineState> = new Set(['booting', 'configured', 'installing', 'installed']);

/** What the readiness monitor needs. */
export interface ReadinessMonitorDeps {
  store: Store;
  /** Sources by kind; a kind without a source is not polled (e.g. no kubeconfig in settings). */
  sources: Partial<Record<ReadinessKind, ReadinessSource>>;
  /** Resolves spec.install.image (asset name or sha256:<hex>) to its bare hex digest. */
  imageDigestOf: (ref: string) => string | undefined;
  log: Logger;
  /** The rollout runner's lease when appliances share the inventory: only its holder polls. */
  leader?: Leadership;
}

/** The latest network boot of a machine from its trace (with the event id it started at). */
export function awaitedBootOf(store: Store, machine: Machine): (AwaitedBoot & { eventId: number }) | null {
  const scripts = store.events.list({ machineId: machine.id, kind: EVENT.bootScript, limit: 10_000 });
  const last = scripts.filter((e) => e.detail.mode === 'network').at(-1);
  if (!last || typeof last.detail.versionId !== 'number' || typeof last.detail.sha256 !== 'string') return null;
  const prev = machine.facts.kubeBootId;
  return {
    eventId: last.id,
    startedAt: Date.parse(last.at),
    versionId: last.detail.versionId,
    configSha256: last.detail.sha256,
    previousBootId: typeof prev === 'string' ? prev : null,
  };
}

/**
 * Records a `report.ready` on behalf of a node that cannot post one (source `kubernetes`), so the
 * health gate, drift and `provision --follow` read it like any phone-home. The digests are what
 * rackboot served for this boot — not measured on the node; `evidence` says how far they go.
 */
export function recordObservedReady(deps: Pick<ReadinessMonitorDeps, 'store' | 'imageDigestOf'>, machine: Machine, boot: AwaitedBoot & { eventId: number }, v: Extract<ReadinessVerdict, { ready: true }>): boolean {
  const { store } = deps;
  return store.transaction(() => {
    const m = store.machines.get(machine.id);
    if (!AWAITING.has(m.state) || m.profile !== machine.profile) return false;
    const spec = profileSpecSchema.safeParse(store.profiles.find(m.profile ?? '')?.spec ?? {});
    const ref = spec.success ? spec.data.install?.image : undefined;
    const imageDigest = ref ? (deps.imageDigestOf(ref) ?? null) : null;
    const fetched = store.events
      .list({ machineId: m.id, afterId: boot.eventId, kind: EVENT.configServed, limit: 10_000 })
      .some((e) => e.detail.versionId === boot.versionId);
    store.machines.update(m.id, { state: 'ready', facts: { ...m.facts, kubeNode: v.node, ...(v.bootId ? { kubeBootId: v.bootId } : {}) } });
    store.events.add({
      mac: m.macs[0] ?? null,
      machineId: m.id,
      source: 'kubernetes',
      kind: reportKind('ready'),
      detail: {
        versionId: boot.versionId,
        state: 'ready',
        message: v.message,
        configDigest: boot.configSha256,
        imageDigest,
        node: v.node,
        bootId: v.bootId,
        // config: 'fetched' = the node fetched this version with its boot's token; 'served' = only offered.
        evidence: { ready: 'kubernetes-node', config: fetched ? 'fetched' : 'served', image: 'served' },
      },
    });
    return true;
  });
}

/**
 * One pass over the machines awaiting a boot whose OS has no phone-home of its own: asks its
 * readiness source and records `ready` when the source says so. Errors of one machine are logged
 * and do not stop the pass. Returns the names of machines that became ready.
 */
export async function pollReadiness(deps: ReadinessMonitorDeps): Promise<string[]> {
  const done: string[] = [];
  for (const m of deps.store.machines.list()) {
    if (!m.profile || !AWAITING.has(m.state)) continue;
    const spec = profileSpecSchema.safeParse(deps.store.profiles.find(m.profile)?.spec ?? {});
    if (!spec.success) continue;
    const source = deps.sources[readinessKindOf(spec.data.os)];
    if (!source || source.kind === 'report') continue;
    const boot = awaitedBootOf(deps.store, m);
    if (!boot) continue;
    try {
      const v = await source.observe(m, boot);
      if (v?.ready && recordObservedReady(deps, m, boot, v)) {
        deps.log.info({ machine: m.name, node: v.node, bootId: v.bootId }, 'ready (observed)');
        done.push(m.name);
      } else if (v) deps.log.debug({ machine: m.name, msg: v.message }, 'not ready yet');
    } catch (err) {
      deps.log.warn({ machine: m.name, err }, 'readiness check failed');
    }
  }
  return done;
}

/** Runs pollReadiness every `intervalMs` until stop(); concurrent ticks share the pass in flight. */
export class ReadinessMonitor {
  private readonly deps: ReadinessMonitorDeps;
  private readonly loop: PollLoop<string[]>;

  constructor(deps: ReadinessMonitorDeps) {
    this.deps = { ...deps, log: deps.log.child({ subsys: 'readiness' }) };
    this.loop = new PollLoop(async () => (this.deps.leader?.held() === false ? [] : pollReadiness(this.deps)), (err) => this.deps.log.error({ err }, 'readiness pass failed'));
  }

  /** One pass now (or the one in flight). */
  tick(): Promise<string[]> {
    return this.loop.run();
  }

  /** Polls every `intervalMs` until stop(). */
  start(intervalMs: number): void {
    this.loop.start(intervalMs);
  }

  /** Stops polling and waits for the pass in flight. */
  stop(): Promise<void> {
    return this.loop.stop();
  }
}
