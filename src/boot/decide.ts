/**
 * What a machine boots, decided once (pure): DHCP's boot file, the iPXE script route, GRUB
 * configs (HTTP and TFTP) and UEFI HTTP Boot all ask `decide` and act on its BootPlan, so the
 * answers the firmware, iPXE and GRUB get cannot disagree.
 */
import { ARCH } from '../dhcp/options.js';
import type { MachineState } from '../inventory/machines.js';
import type { ProfileSpec } from '../model/profile-spec.js';
import { assetByNameUrl, httpBootImageUrl, scriptUrl } from './urls.js';

/**
 * States of a machine whose image is on its disk: it boots that disk (DHCP gives PXE firmware
 * no boot file, the iPXE script hands back to the disk) until `rackboot provision` moves it
 * back to `registered` to ask for a network install.
 */
export const PROVISIONED_STATES: ReadonlySet<MachineState> = new Set<MachineState>(['installed', 'ready', 'drifted']);

/** True when the machine should boot its local disk rather than the network (pure). */
export function bootsFromDisk(state: MachineState, spec: Pick<ProfileSpec, 'boot' | 'install'>): boolean {
  return spec.boot === 'disk' || (spec.install !== undefined && PROVISIONED_STATES.has(state));
}

/** The boot chain of a profile: iPXE, or shim → GRUB for Secure Boot. */
export type BootChain = 'ipxe' | 'secureboot';

/** The machine as far as the decision goes; null: a MAC the inventory does not know. */
export interface BootMachine {
  mac: string;
  state: MachineState;
}

/** The profile fields the decision reads; null: the machine has no profile. */
export type BootProfile = Pick<ProfileSpec, 'boot'> & Partial<Pick<ProfileSpec, 'install' | 'chain'>>;

/** Who asks: firmware through DHCP, iPXE for its script, or GRUB for its config. */
export type BootClient =
  | {
      kind: 'dhcp';
      /** Option 93, or the arch in `PXEClient:Arch:xxxxx`. */
      arch?: number | undefined;
      isPxe: boolean;
      isHttpBoot: boolean;
      isIpxe: boolean;
      uefiLoader: 'ipxe.efi' | 'snponly.efi';
      /** The public base URL (script, HTTP Boot image and loader URLs). */
      base: string;
    }
  | { kind: 'ipxe-script' }
  | { kind: 'grub-config' };

/** Why nothing is booted from the network (debug log, refusal text, tests). */
export type NoBootReason = 'not-a-boot-client' | 'unsupported-arch' | 'no-profile';

/** A first stage handed to firmware: a TFTP file name (siaddr serves it) or an absolute HTTP URL. */
export interface FirstStage {
  stage: 'loader' | 'shim' | 'script';
  file: string;
  via: 'tftp' | 'http';
  /** Option 60 in the reply: PXE and HTTP-boot firmware ignore offers without it. */
  vendorClass: 'PXEClient' | 'HTTPClient';
}

/** The decision. */
export type BootPlan =
  /** Nothing from us: DHCP gives no boot file; the script and GRUB routes refuse. */
  | { target: 'none'; reason: NoBootReason }
  /** The machine's own disk: no boot file in DHCP; the script or GRUB config hands back to the disk. */
  | { target: 'disk'; chain: BootChain }
  /** Firmware gets a first stage (DHCP). */
  | { target: 'network'; chain: BootChain; first: FirstStage }
  /** iPXE or GRUB gets the kernel, initrds and a fresh config (BootService.issue). */
  | { target: 'network'; chain: BootChain; first: null; loader: 'ipxe' | 'grub' };

/**
 * Decides what `machine` (with `profile`) boots for `client`. A client that already runs iPXE
 * always gets its script URL, never a loader again: handing iPXE the loader is the classic
 * endless chainload loop. A machine without profile still gets a loader from DHCP (its script
 * then tells the operator why it stops there).
 */
export function decide(machine: BootMachine, profile: BootProfile | null, client: BootClient): BootPlan {
  const chain: BootChain = profile?.chain ?? 'ipxe';
  if (client.kind !== 'dhcp') {
    if (!profile) return { target: 'none', reason: 'no-profile' };
    if (bootsFromDisk(machine.state, profile)) return { target: 'disk', chain };
    return { target: 'network', chain, first: null, loader: client.kind === 'grub-config' ? 'grub' : 'ipxe' };
  }
  if (!client.isPxe && !client.isHttpBoot && !client.isIpxe) return { target: 'none', reason: 'not-a-boot-client' };
  if (profile && bootsFromDisk(machine.state, profile)) return { target: 'disk', chain };
  const first = firstStage(machine.mac, chain, client);
  return first ? { target: 'network', chain, first } : { target: 'none', reason: 'unsupported-arch' };
}

function firstStage(mac: string, chain: BootChain, client: Extract<BootClient, { kind: 'dhcp' }>): FirstStage | null {
  const http = (stage: FirstStage['stage'], file: string, vendorClass: FirstStage['vendorClass']): FirstStage => ({ stage, file, via: 'http', vendorClass });
  const tftp = (file: string, stage: FirstStage['stage'] = 'loader'): FirstStage => ({ stage, file, via: 'tftp', vendorClass: 'PXEClient' });
  if (client.isIpxe) return http('script', scriptUrl(client.base, mac), 'PXEClient');
  if (client.isHttpBoot) {
    // UEFI HTTP boot (UEFI 2.5+ §24.7): the URL goes in the file field with option 60 HTTPClient.
    // Secure Boot: shim + GRUB as a RAM disk image (src/http/routes/grub.ts, x64 only).
    if (chain === 'secureboot' && client.arch !== ARCH.EFI_ARM64_HTTP) return http('shim', httpBootImageUrl(client.base), 'HTTPClient');
    const loader = client.arch === ARCH.EFI_ARM64_HTTP ? 'ipxe-arm64.efi' : 'ipxe.efi';
    return http('loader', assetByNameUrl(client.base, loader), 'HTTPClient');
  }
  switch (client.arch ?? ARCH.BIOS) {
    case ARCH.BIOS:
      return tftp('undionly.kpxe');
    case ARCH.EFI_BC:
    case ARCH.EFI_X64:
      // Secure Boot: the Microsoft-signed shim is the only first stage the firmware will run.
      return chain === 'secureboot' ? tftp('shimx64.efi', 'shim') : tftp(client.uefiLoader);
    case ARCH.EFI_ARM64:
      return tftp('ipxe-arm64.efi');
    default:
      return null;
  }
}
