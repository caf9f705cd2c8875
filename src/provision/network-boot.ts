import type { Asset, AssetRegistry } from '../assets/index.js';
import { assetUrl } from '../boot/urls.js';
import type { ProfileSpec } from '../model/profile-spec.js';

/** The test OS the boot-assets build produces; profiles without a kernel boot it. */
export const TEST_OS = { kernel: 'testos-vmlinuz', initrd: 'testos-initrd.img', ignition: 'testos-ignition.img' } as const;

/** The kernel and initrds one network boot of a profile loads, whatever the chain (iPXE or shim → GRUB). */
export interface BootImages {
  kernel: Asset;
  initrds: Asset[];
}

/**
 * Resolves the profile's kernel and initrds by verified digest (the test OS when it names none).
 * Throws AppError (NOT_FOUND) for an asset that is not there.
 */
export function resolveBootImages(assets: AssetRegistry, spec: ProfileSpec): BootImages {
  const kernel = assets.resolve(spec.kernel ?? TEST_OS.kernel, 'spec.kernel');
  const refs = spec.initrd.length > 0 ? spec.initrd : defaultInitrds(spec);
  return { kernel, initrds: refs.map((ref, i) => assets.resolve(ref, `spec.initrd.${i}`)) };
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
export function installArgs(spec: ProfileSpec, assets: AssetRegistry, base: string): string[] {
  const ref = spec.install?.image;
  if (!ref || spec.os === 'testos') return [];
  const a = assets.resolve(ref, 'spec.install.image');
  return [`rackboot.image=${assetUrl(base, a.sha256)}`, `rackboot.image_sha256=${a.sha256}`, `rackboot.disk=${spec.install?.disk ?? '/dev/vda'}`];
}
