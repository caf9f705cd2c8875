import type { Asset, AssetRegistry } from '../assets/index.js';
import { type BootConfig, type ConfigDeps, prepareBootConfig } from '../config/index.js';
import type { Machine } from '../inventory/machines.js';
import type { ProfileSpec } from '../inventory/profile-spec.js';
import type { Store } from '../inventory/store.js';
import type { Logger } from '../log.js';
import type { Settings } from '../settings.js';

/** The test OS the boot-assets build produces; profiles without a kernel boot it. */
export const TEST_OS = { kernel: 'testos-vmlinuz', initrd: 'testos-initrd.img', ignition: 'testos-ignition.img' } as const;

/** What one network boot of a machine gets, whatever the chain (iPXE or shim → GRUB). */
export interface NetworkBootPlan {
  kernel: Asset;
  initrds: Asset[];
  /** The config version and tokens issued for this boot. */
  boot: BootConfig;
  /** Kernel command line parts: profile cmdline, OS config args, install orders, console. */
  args: string[];
}

/**
 * Resolves the kernel and initrds (by verified digest), issues the config version and tokens for
 * this boot and builds the kernel arguments. Shared by the iPXE script and the GRUB config so the
 * two chains cannot drift apart. Throws AppError (INVALID_CONFIG, NOT_FOUND) for a broken profile.
 */
export function planNetworkBoot(
  deps: { store: Store; settings: Settings; log?: Logger },
  assets: AssetRegistry,
  machine: Machine,
  spec: ProfileSpec,
  base: string,
): NetworkBootPlan {
  const kernel = assets.resolve(spec.kernel ?? TEST_OS.kernel, 'spec.kernel');
  const initrdRefs = spec.initrd.length > 0 ? spec.initrd : defaultInitrds(spec);
  const initrds = initrdRefs.map((ref, i) => assets.resolve(ref, `spec.initrd.${i}`));
  const configDeps: ConfigDeps = {
    store: deps.store,
    settings: deps.settings,
    ...(deps.log ? { log: deps.log } : {}),
    publicUrl: base,
    resolveAsset: (ref) => {
      const hex = assets.digestOf(ref);
      return hex ? { sha256: hex, url: `${base}/assets/sha256/${hex}` } : undefined;
    },
  };
  const boot = prepareBootConfig(configDeps, machine, { publicUrl: base });
  const args = [spec.cmdline, ...boot.kernelArgs, ...installArgs(spec, assets, base), deps.settings.http.consoleArgs];
  return { kernel, initrds, boot, args };
}

/** The test OS initrd, plus the Ignition part for Ignition-configured OSes. */
function defaultInitrds(spec: ProfileSpec): string[] {
  if (spec.kernel) return [];
  return spec.os === 'flatcar' || spec.os === 'fcos' || spec.os === 'rhcos' ? [TEST_OS.initrd, TEST_OS.ignition] : [TEST_OS.initrd];
}

/**
 * Install orders for the agent when the OS config cannot carry them (an Ignition or Talos
 * document has no place for "write this image first"; the test OS document has `install`).
 */
function installArgs(spec: ProfileSpec, assets: AssetRegistry, base: string): string[] {
  const ref = spec.install?.image;
  if (!ref || spec.os === 'testos') return [];
  const a = assets.resolve(ref, 'spec.install.image');
  return [`rackboot.image=${base}/assets/sha256/${a.sha256}`, `rackboot.image_sha256=${a.sha256}`, `rackboot.disk=${spec.install?.disk ?? '/dev/vda'}`];
}
