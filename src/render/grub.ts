/**
 * GRUB configs for the Secure Boot chain (pure: plan in, script text out). Debian's signed
 * netboot GRUB (grubnetx64) reads only `$prefix/grub.cfg` (its built-in memdisk config says so;
 * no per-MAC search), so `grub/grub.cfg` is a stub that sources the per-MAC name with GRUB's own
 * `$net_default_mac`. Every config ends in `boot` or `exit`; a kernel or initrd GRUB refuses
 * (shim's verifier: "bad shim signature") makes GRUB fetch a failure beacon so the server can
 * record it, instead of sitting at a prompt.
 */
import { normalizeMac } from '../model/mac.js';

/** How the machine reached GRUB: PXE over TFTP, or UEFI HTTP Boot (RAM disk). */
export type GrubFirmwarePath = 'pxe' | 'uefi-http';

/** Stages whose failure the config reports through the beacon. */
export const GRUB_FAIL_STAGES = ['linux', 'initrd', 'boot', 'local'] as const;
/** One of GRUB_FAIL_STAGES. */
export type GrubFailStage = (typeof GRUB_FAIL_STAGES)[number];

/** A file GRUB asks for under `grub/`, decoded from its path. */
export type GrubRequest =
  | { kind: 'stub' }
  | { kind: 'machine'; mac: string; path: GrubFirmwarePath }
  | { kind: 'ip'; ip: string }
  /** A failure beacon; `token` is the boot's report token (null: none given, refused). */
  | { kind: 'failed'; mac: string; stage: GrubFailStage; path: GrubFirmwarePath; token: string | null }
  | { kind: 'missing' };

/** Directory the failure beacons live in (relative to the server root). */
const FAIL_DIR = 'grub/rackboot-failed';

/** How long a failing config shows its message before handing back to the firmware. */
const PAUSE_SECONDS = 10;

/** MAC in the dashed form of PXE-style names (`01-52-54-00-...`). */
export function dashedMac(mac: string): string {
  return mac.toLowerCase().replaceAll(':', '-');
}

/**
 * Decodes a path under `grub/` (leading slash optional): `grub.cfg`, `grub.cfg-01-<mac>` (MAC
 * dashed as PXELINUX does, or with colons as GRUB's `$net_default_mac` has it), the same under
 * `httpboot/` for the HTTP Boot stub, `grub.cfg-<8 hex digits>` (IP, as other GRUB builds search),
 * and failure beacons. Anything else under `grub/` is `missing` (GRUB probes `x86_64-efi/*.lst`);
 * null when the path is not under `grub/` at all.
 */
export function parseGrubPath(raw: string): GrubRequest | null {
  const path = raw.replace(/^\/+/, '');
  if (!path.startsWith('grub/')) return null;
  const rest = path.slice('grub/'.length);
  if (rest === 'grub.cfg') return { kind: 'stub' };
  const http = rest.startsWith('httpboot/');
  const name = http ? rest.slice('httpboot/'.length) : rest;
  const fwPath: GrubFirmwarePath = http ? 'uefi-http' : 'pxe';
  const perMac = /^grub\.cfg-01-(.+)$/i.exec(name);
  if (perMac) {
    const mac = macOrNull(perMac[1] ?? '');
    return mac ? { kind: 'machine', mac, path: fwPath } : { kind: 'missing' };
  }
  const perIp = /^grub\.cfg-([0-9A-Fa-f]{8})$/.exec(name);
  if (perIp && !http) {
    const n = Number.parseInt(perIp[1] ?? '', 16);
    return { kind: 'ip', ip: [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.') };
  }
  const fail = /^rackboot-failed\/(linux|initrd|boot|local)-(pxe|uefi-http)-01-([^/]+)(?:\/([A-Za-z0-9_-]{1,128}))?$/.exec(rest);
  if (fail) {
    const mac = macOrNull(fail[3] ?? '');
    if (mac) return { kind: 'failed', mac, stage: fail[1] as GrubFailStage, path: fail[2] as GrubFirmwarePath, token: fail[4] ?? null };
  }
  return { kind: 'missing' };
}

function macOrNull(s: string): string | null {
  try {
    return normalizeMac(s.replaceAll('-', ':'));
  } catch {
    return null;
  }
}

/**
 * Path of the beacon a config fetches when `stage` fails (root-relative: TFTP root). It ends in
 * the boot's report token: a beacon marks the machine failed, so it must be authenticated.
 */
export function failBeaconPath(mac: string, stage: GrubFailStage, path: GrubFirmwarePath, token: string): string {
  return `/${FAIL_DIR}/${stage}-${path}-01-${dashedMac(mac)}/${token}`;
}

/**
 * GRUB script text is shell-like: `;`, `$`, quotes, `{}` and whitespace are syntax. Anything
 * from the inventory goes in single quotes (no expansion at all); a quote inside is closed,
 * escaped and reopened. Newlines are flattened: one value must never become two commands.
 */
export function grubQuote(s: string): string {
  const flat = s.replace(/[\r\n]+/g, ' ');
  if (/^[A-Za-z0-9._,:/=+@%-]+$/.test(flat)) return flat;
  return `'${flat.replaceAll("'", "'\\''")}'`;
}

function echo(text: string): string {
  return `echo ${grubQuote(`rackboot: ${text}`)}`;
}

/**
 * `grub/grub.cfg`: GRUB-net knows its MAC (`$net_default_mac`, colon form) after PXE, so the
 * stub needs no server-side lookup to reach the per-MAC config.
 */
export function renderGrubStub(): string {
  return [
    '# rackboot: per-machine configs are grub.cfg-01-<mac>',
    'if [ -n "$net_default_mac" ]; then',
    '  source "$prefix/grub.cfg-01-$net_default_mac"',
    'fi',
    echo('GRUB has no MAC address for its boot interface; cannot pick a config'),
    `sleep ${PAUSE_SECONDS}`,
    'exit 1',
    '',
  ].join('\n');
}

/** What a network boot through GRUB needs: files are root-relative paths on the TFTP server. */
export interface GrubNetworkBootPlan {
  mac: string;
  machine: string;
  profile: string;
  path: GrubFirmwarePath;
  /** This boot's report token: the failure beacons carry it. */
  beaconToken: string;
  kernel: string;
  initrds: string[];
  args: string[];
  comment?: string;
}

/** Loads the kernel and initrds, boots; any refusal (signature, missing file) fetches a beacon. */
export function renderGrubNetworkBoot(p: GrubNetworkBootPlan): string {
  const args = p.args.filter((a) => a.trim().length > 0).map(grubQuote).join(' ');
  const fail = (stage: GrubFailStage, what: string, why = '') => [
    `  ${echo(`${what} of ${p.machine} failed${why}; reporting to rackboot`)}`,
    `  source ${grubQuote(failBeaconPath(p.mac, stage, p.path, p.beaconToken))}`,
    `  sleep ${PAUSE_SECONDS}`,
    '  exit 1',
  ];
  return [
    `# rackboot: ${oneLine(p.machine)} (${p.mac}) profile ${oneLine(p.profile)} via ${p.path}${p.comment ? ` ${oneLine(p.comment)}` : ''}`,
    echo(`booting ${p.machine} (profile ${p.profile}) through shim and GRUB`),
    `if ! linux ${grubQuote(p.kernel)}${args ? ` ${args}` : ''}; then`,
    ...fail('linux', 'loading the kernel', ' (Secure Boot: is it signed by a key shim trusts?)'),
    'fi',
    ...(p.initrds.length > 0
      ? [`if ! initrd ${p.initrds.map(grubQuote).join(' ')}; then`, ...fail('initrd', 'loading the initrd'), 'fi']
      : []),
    'boot',
    ...fail('boot', 'booting the kernel').map((l) => l.slice(2)),
    '',
  ].join('\n');
}

/**
 * A provisioned machine boots its disk: chainload the removable-media loader of the first EFI
 * system partition that has one (shim again on a Secure Boot install), else leave GRUB so the
 * firmware tries its next boot entry.
 */
export function renderGrubLocalBoot(p: { mac: string; machine: string }): string {
  return [
    `# rackboot: ${oneLine(p.machine)} (${p.mac}) is provisioned: local disk`,
    echo(`${p.machine} is provisioned; booting from the local disk`),
    'if search --no-floppy --file --set=esp /EFI/BOOT/BOOTX64.EFI; then',
    '  chainloader ($esp)/EFI/BOOT/BOOTX64.EFI',
    '  boot',
    'fi',
    echo('no boot loader on a local disk; returning to the firmware'),
    'exit 0',
    '',
  ].join('\n');
}

/** A MAC rackboot does not know, or a machine it cannot boot: no kernel, a clear message, exit. */
export function renderGrubRefusal(p: { mac: string | null; reason: string; hint: string }): string {
  return [
    `# rackboot: ${p.mac ?? 'no MAC'}: ${oneLine(p.reason)}`,
    echo(p.reason),
    echo(p.hint),
    `sleep ${PAUSE_SECONDS}`,
    'exit 1',
    '',
  ].join('\n');
}

/** Answer to a failure beacon: GRUB sources it, so it must be a valid (harmless) script. */
export function renderGrubBeaconAck(stage: GrubFailStage): string {
  return `${echo(`failure at stage ${stage} recorded by the server`)}\n`;
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}
