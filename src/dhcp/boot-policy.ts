import { type FirstStage, decide } from '../boot/decide.js';

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
  /** From the machine's profile spec and state (HostDirectory); null for a machine without profile or a discovered MAC. */
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
  vendorClass: FirstStage['vendorClass'];
  stage: FirstStage['stage'];
}

/** Why no boot file is given (for the debug log and tests). */
export type NoBootReason = 'not-a-boot-client' | 'boot-from-disk' | 'unsupported-arch';

/** The decision, or the reason there is none. */
export type BootResult = { ok: true; boot: BootDecision } | { ok: false; reason: NoBootReason };

export { scriptUrl } from '../boot/urls.js';

/**
 * DHCP's view of the one boot decision (src/boot/decide.ts): the first stage as a boot file.
 * HostDirectory has already folded the machine's state into `profile.boot`.
 */
export function chooseBoot(input: BootInput): BootResult {
  const client = {
    kind: 'dhcp',
    arch: input.arch,
    isPxe: input.isPxe,
    isHttpBoot: input.isHttpBoot,
    isIpxe: input.isIpxe,
    uefiLoader: input.uefiLoader,
    base: input.publicUrl,
  } as const;
  const plan = decide({ mac: input.mac, state: 'registered' }, input.profile, client);
  if (plan.target === 'disk') return { ok: false, reason: 'boot-from-disk' };
  if (plan.target === 'none') return { ok: false, reason: plan.reason === 'unsupported-arch' ? 'unsupported-arch' : 'not-a-boot-client' };
  const first = plan.first;
  if (!first) return { ok: false, reason: 'not-a-boot-client' };
  return { ok: true, boot: { bootFile: first.file, via: first.via, vendorClass: first.vendorClass, stage: first.stage } };
}
