import { reportUrl } from '../boot/urls.js';
import type { ProfileSpec } from '../model/profile-spec.js';

/** What the kernel command line must carry for an OS to fetch its config and phone home. */
export interface KernelArgInput {
  os: ProfileSpec['os'];
  configUrl: string;
  sha256: string;
  publicUrl: string;
  reportToken: string;
}

/**
 * OS-specific kernel arguments. Every OS also gets the digest and the phone-home endpoint:
 * real Talos/Flatcar/cloud-init ignore unknown `rackboot.*` args, and the test OS agent
 * (or a first-boot unit) uses them to verify the config and report.
 */
export function kernelArgsFor(k: KernelArgInput): string[] {
  const report = [`rackboot.config_sha256=${k.sha256}`, `rackboot.report=${reportUrl(k.publicUrl)}`, `rackboot.token=${k.reportToken}`];
  switch (k.os) {
    case 'talos':
      return ['talos.platform=metal', `talos.config=${k.configUrl}`, ...report];
    case 'flatcar':
      // Flatcar runs Ignition only when flatcar.first_boot is set (its GRUB sets it on first boot).
      return [`ignition.config.url=${k.configUrl}`, 'ignition.firstboot', 'ignition.platform.id=metal', 'flatcar.first_boot=1', ...report];
    case 'fcos':
    case 'rhcos':
      return [`ignition.config.url=${k.configUrl}`, 'ignition.firstboot', 'ignition.platform.id=metal', ...report];
    case 'cloudinit':
      // NoCloud-net appends meta-data/user-data/vendor-data to the seed URL, which must end in '/'.
      return [`ds=nocloud-net;s=${k.configUrl}/`, ...report];
    default:
      // testos and bottlerocket: rackboot's agent fetches the document (Bottlerocket on metal reads it from disk).
      return [`rackboot.config=${k.configUrl}`, ...report];
  }
}
