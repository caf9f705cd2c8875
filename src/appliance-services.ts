import { AssetRegistry } from './assets/registry.js';
import { PowerService, type PowerServiceSeams } from './bmc/service.js';
import { BootService } from './boot/service.js';
import type { Store } from './inventory/store.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics/metrics.js';
import { type NeighbourLookup, NeighbourTable } from './net/client-mac.js';
import { type RolloutBackground, buildRollouts } from './rollout/services.js';
import { grubTftpHandler } from './secureboot/tftp.js';
import type { Settings } from './settings.js';
import { type Coordinator, ROLES } from './coordination/coordinator.js';
import { TftpHandlerRegistry } from './tftp/handlers.js';

/**
 * The services of one appliance, each built once by the composition root (main.ts; tests build
 * them the same way through test/helpers/app.ts) and handed to the HTTP app and the protocol
 * servers. Nothing here is a module-level singleton: two appliances in one process share nothing.
 */
export interface ApplianceServices {
  /** Boot assets by name and digest (boot, GRUB and asset routes, rollouts' image digests). */
  assets: AssetRegistry;
  /** One cached BMC session per machine, shared by the power/provision routes and rollouts. */
  power: PowerService;
  /** The TFTP server's dynamic files (the Secure Boot chain's GRUB configs and digest paths). */
  tftpHandlers: TftpHandlerRegistry;
  /** Rollout versions, the persisted runner and the Kubernetes readiness monitor. */
  rollouts: RolloutBackground;
  /** Prometheus metrics of this appliance. */
  metrics: Metrics;
  /** The boot core: decides and issues every boot (iPXE and GRUB routes, the GRUB TFTP handler). */
  boot: BootService;
  /** The kernel's neighbour table (IP → MAC), for identity binding and traces without a lease of ours. */
  neighbours: NeighbourTable;
}

/** What building the services needs. `publicUrl` is read per request: main.ts fixes it after listening. */
export interface ServiceInputs {
  settings: Settings;
  store: Store;
  log: Logger;
  publicUrl: () => string;
  /** Test seams of the BMC drivers (fake clock, datagrams, HTTP transport). */
  powerSeams?: PowerServiceSeams;
  /** Leases and BMC locks shared with the other appliances on the inventory (main.ts; absent: alone). */
  coordinator?: Coordinator;
  /** How often the asset registry looks at the manifest's mtime (main.ts: once a second; absent: at every lookup). */
  manifestCheckMs?: number;
}

/** Builds every service once; nothing starts until startBackground (the listeners are main.ts's). */
export function buildServices(o: ServiceInputs): ApplianceServices {
  const { settings, store, log } = o;
  const assets = new AssetRegistry(settings.assetsDir, settings.dataDir, { manifestCheckMs: o.manifestCheckMs ?? 0 });
  const power = new PowerService(store, settings.bmc, log, o.powerSeams, o.coordinator);
  const boot = new BootService({ store, settings, assets, log: log.child({ subsys: 'boot' }) });
  const neighbours = new NeighbourTable();
  const tftpHandlers = new TftpHandlerRegistry();
  // GRUB-net (Debian's signed GRUB) reads its configs over TFTP: the same answers as /grub/*.
  tftpHandlers.register(grubTftpHandler({ store, settings, log: log.child({ subsys: 'grub' }), assets, boot, neighbourMac: neighbours.lookup }, o.publicUrl));
  const rollouts = buildRollouts({ store, settings: settings.rollout, power, assets, log, ...(o.coordinator ? { leader: o.coordinator.leader(ROLES.rolloutRunner) } : {}) });
  const metrics = new Metrics({ store });
  return { assets, power, tftpHandlers, rollouts, metrics, boot, neighbours };
}

/** The service fields of AppDeps (buildApp) from built services. */
export function appServices(s: ApplianceServices): Pick<ApplianceServices, 'assets' | 'power' | 'rollouts' | 'metrics' | 'boot'> & { neighbourMac: NeighbourLookup } {
  return { assets: s.assets, power: s.power, rollouts: s.rollouts, metrics: s.metrics, boot: s.boot, neighbourMac: s.neighbours.lookup };
}

/** Stops what runs on its own (rollout runner, readiness monitor), then logs out of every BMC. */
export async function closeServices(s: ApplianceServices): Promise<void> {
  await s.rollouts.stop();
  await s.power.close();
}
