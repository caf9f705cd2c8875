/**
 * Every URL and path a booting machine is given, built in one place: the base URL (fixed at
 * start), the iPXE script, the Secure Boot HTTP Boot image, assets by name and by digest, the
 * config document and the report endpoint. DHCP answers, scripts, GRUB configs and kernel
 * arguments all come from here, so the two ends of a URL cannot drift apart.
 */
import { networkInterfaces } from 'node:os';

/** Route paths the boot listener serves (the routes register exactly these). */
export const BOOT_PATHS = {
  script: '/boot.ipxe',
  /** The path form of the script (`/boot/<mac>.ipxe`), for clients that cannot send a query. */
  scriptByPath: '/boot/:file',
  httpBootImage: '/secureboot/httpboot.img',
  assetByDigest: '/assets/sha256/',
  assetByName: '/assets/',
  config: '/config/',
  report: '/api/v1/report',
  grub: '/grub/',
} as const;

/** What the base-URL functions read: the settings' publicUrl and the one fixed at start. */
export interface BaseUrlSettings {
  settings: { http: { publicUrl?: string | undefined; host: string }; dhcp: { serverAddress?: string | undefined } };
  publicUrl?: string | undefined;
}

/** A base URL without its trailing slashes. */
export function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * The one base URL machines are given (scripts, kernel args, config versions), fixed at start:
 * the composition root's `publicUrl`, else settings.http.publicUrl. Never a request's Host header
 * (issue #15: whoever asked first could bake any host into new config versions).
 */
export function fixedPublicUrl(deps: BaseUrlSettings): string | undefined {
  const url = deps.publicUrl ?? deps.settings.http.publicUrl;
  return url ? trimBase(url) : undefined;
}

/**
 * Derives the public URL when settings.http.publicUrl is absent (once at start, and for TFTP
 * clients while none is fixed): the DHCP server address, else a fixed HTTP host, else the first
 * non-loopback IPv4, on the bound HTTP port.
 */
export function derivePublicUrl(settings: BaseUrlSettings['settings'], boundPort: number, interfaces = networkInterfaces()): string {
  if (settings.http.publicUrl) return trimBase(settings.http.publicUrl);
  return `http://${guessAddress(settings, interfaces)}:${boundPort}`;
}

function guessAddress(settings: BaseUrlSettings['settings'], interfaces: ReturnType<typeof networkInterfaces>): string {
  if (settings.dhcp.serverAddress) return settings.dhcp.serverAddress;
  if (settings.http.host !== '0.0.0.0' && settings.http.host !== '::') return settings.http.host;
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * Last resort while no public URL is fixed (tests building an app without one): the local
 * address and port the connection arrived on, which the client cannot choose the way it
 * chooses a Host header.
 */
export function socketBaseUrl(socket: { localAddress?: string | undefined; localPort?: number | undefined }, fallbackPort: number): string {
  const local = (socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  return `http://${local.includes(':') ? `[${local}]` : local}:${socket.localPort ?? fallbackPort}`;
}

/**
 * iPXE settings in the script URL (issue #19): iPXE expands them in a DHCP filename
 * (autoboot.c, expand_settings), so the script request names the machine's SMBIOS UUID and
 * serial too and a machine with a new NIC is still recognised.
 */
export const IPXE_IDENTITY_QUERY = '&uuid=${uuid}&serial=${serial:uristring}';

/** The per-machine iPXE script URL (DHCP hands it to iPXE; `${net0/mac}` in a chain line). */
export function scriptUrl(base: string, mac: string): string {
  return `${trimBase(base)}${BOOT_PATHS.script}?mac=${mac}${IPXE_IDENTITY_QUERY}`;
}

/** The UEFI HTTP Boot RAM disk for Secure Boot machines (shim → GRUB). */
export function httpBootImageUrl(base: string): string {
  return `${trimBase(base)}${BOOT_PATHS.httpBootImage}`;
}

/** A build asset by file name (loaders for UEFI HTTP Boot). */
export function assetByNameUrl(base: string, name: string): string {
  return `${trimBase(base)}${BOOT_PATHS.assetByName}${name}`;
}

/** The digest-addressed path of an asset, the same over TFTP and HTTP (GRUB configs use it). */
export function assetPath(sha256: string): string {
  return `${BOOT_PATHS.assetByDigest}${sha256}`;
}

/** The digest-addressed URL of an asset; `mac` tags the download in the boot trace (iPXE). */
export function assetUrl(base: string, sha256: string, mac?: string): string {
  return `${trimBase(base)}${assetPath(sha256)}${mac ? `?mac=${mac}` : ''}`;
}

/** The config document behind a per-boot config token. */
export function configUrl(base: string, token: string): string {
  return `${trimBase(base)}${BOOT_PATHS.config}${token}`;
}

/** The phone-home endpoint (POST with the boot's report token). */
export function reportUrl(base: string): string {
  return `${trimBase(base)}${BOOT_PATHS.report}`;
}
