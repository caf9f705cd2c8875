import { ARCH } from './options.js';

/** How the server runs: authoritative (addresses + boot) or ProxyDHCP (boot only). */
export type DhcpMode = 'full' | 'proxy';

/** Everything the boot decision depends on; built from the request, the host and settings. */
export interface BootInput {
  mode: DhcpMode;
  mac: string;
  /** Option 93, or the arch in `PXEClient:Arch:xxxxx`. */
  arch?: number;
  isPxe: boolean;
  isHttpBoot: boolean;
  isIpxe: boolean;
  /** From the machine's profile spec; null for a machine without profile or a discovered MAC. */
  profile: { boot: 'network' | 'disk'; chain: 'ipxe' | 'secureboot' } | null;
  uefiLoader: 'ipxe.efi' | 'snponly.efi';
  publicUrl: string;
}

/** What to tell a booting client: a TFTP file name or an HTTP URL, and the option 60 to echo. */
export interface BootDecision {
  bootFile: string;
  /** tftp: file name relative to the TFTP root (siaddr serves it); http: absolute URL. */
  via: 'tftp' | 'http';
  /** Option 60 in the reply: PXE and HTTP-boot firmware ignore offers without it. */
  vendorClass: 'PXEClient' | 'HTTPClient';
  stage: 'loader' | 'shim' | 'script';
}

/** Why no boot file is given (for the debug log and tests). */
export type NoBootReason = 'not-a-boot-client' | 'boot-from-disk' | 'unsupported-arch';

/** The decision, or the reason there is none. */
export type BootResult = { ok: true; boot: BootDecision } | { ok: false; reason: NoBootReason };

/** The per-machine iPXE script URL (served by the HTTP boot subsystem). */
export function scriptUrl(publicUrl: string, mac: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/boot.ipxe?mac=${mac}`;
}

/**
 * Chooses the first boot stage. A client that already runs iPXE always gets its script URL,
 * never a loader again: handing iPXE the loader is the classic endless chainload loop.
 */
export function chooseBoot(input: BootInput): BootResult {
  if (!input.isPxe && !input.isHttpBoot && !input.isIpxe) return { ok: false, reason: 'not-a-boot-client' };
  if (input.profile?.boot === 'disk') return { ok: false, reason: 'boot-from-disk' };
  const base = input.publicUrl.replace(/\/+$/, '');
  if (input.isIpxe) {
    return { ok: true, boot: { bootFile: scriptUrl(base, input.mac), via: 'http', vendorClass: 'PXEClient', stage: 'script' } };
  }
  if (input.isHttpBoot) {
    // UEFI HTTP boot (UEFI 2.5+ §24.7): the URL goes in the file field with option 60 HTTPClient.
    // Secure Boot: shim + GRUB as a RAM disk image (src/http/routes/grub.ts, x64 only).
    if (input.profile?.chain === 'secureboot' && input.arch !== ARCH.EFI_ARM64_HTTP) {
      return { ok: true, boot: { bootFile: `${base}/secureboot/httpboot.img`, via: 'http', vendorClass: 'HTTPClient', stage: 'shim' } };
    }
    const loader = input.arch === ARCH.EFI_ARM64_HTTP ? 'ipxe-arm64.efi' : 'ipxe.efi';
    return { ok: true, boot: { bootFile: `${base}/assets/${loader}`, via: 'http', vendorClass: 'HTTPClient', stage: 'loader' } };
  }
  const tftp = (bootFile: string, stage: BootDecision['stage'] = 'loader'): BootResult => ({
    ok: true,
    boot: { bootFile, via: 'tftp', vendorClass: 'PXEClient', stage },
  });
  const secure = input.profile?.chain === 'secureboot';
  switch (input.arch ?? ARCH.BIOS) {
    case ARCH.BIOS:
      return tftp('undionly.kpxe');
    case ARCH.EFI_BC:
    case ARCH.EFI_X64:
      // Secure Boot: the Microsoft-signed shim is the only first stage the firmware will run.
      return secure ? tftp('shimx64.efi', 'shim') : tftp(input.uefiLoader);
    case ARCH.EFI_ARM64:
      return tftp('ipxe-arm64.efi');
    default:
      return { ok: false, reason: 'unsupported-arch' };
  }
}
