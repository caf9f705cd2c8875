import { IPXE_IDENTITY_QUERY } from '../../src/boot/urls.js';
import { describe, expect, it } from 'vitest';
import { type BootClient, type BootPlan, type BootProfile, decide } from '../../src/boot/decide.js';
import { handleRequest, type HandlerContext } from '../../src/dhcp/handler.js';
import { HostDirectory } from '../../src/dhcp/hosts.js';
import { OPT, readSubOptions } from '../../src/dhcp/options.js';
import { readRequest } from '../../src/dhcp/request.js';
import { buildSubnets } from '../../src/dhcp/subnets.js';
import type { MachineState } from '../../src/inventory/machines.js';
import { Store } from '../../src/inventory/store.js';
import { type FIRMWARE, clientPacket, firmware } from '../dhcp/helpers/packets.js';

/**
 * The one boot decision, table-tested: every row is a machine (state + profile), and each row
 * says what every kind of client gets — PXE firmware (BIOS, UEFI x64, arm64), UEFI HTTP Boot and
 * iPXE through DHCP, the iPXE script route and the GRUB config route.
 */
const URL = 'http://198.18.0.1:8080';
const SCRIPT = (mac: string) => `${URL}/boot.ipxe?mac=${mac}${IPXE_IDENTITY_QUERY}`;
const INSTALL = { image: 'sha256:' + 'a'.repeat(64), disk: '/dev/vda' };

/** What a row expects: DHCP boot files (null: none), and the script/GRUB answer. */
interface Want {
  bios: string | null;
  uefi: string | null;
  arm64: string | null;
  httpBoot: string | null;
  ipxe: 'script' | null;
  /** iPXE script route and GRUB config route. */
  script: 'network' | 'disk' | 'refuse';
}

const NET: Want = { bios: 'undionly.kpxe', uefi: 'ipxe.efi', arm64: 'ipxe-arm64.efi', httpBoot: `${URL}/assets/ipxe.efi`, ipxe: 'script', script: 'network' };
const SECURE: Want = { ...NET, uefi: 'shimx64.efi', httpBoot: `${URL}/secureboot/httpboot.img` };
const DISK: Want = { bios: null, uefi: null, arm64: null, httpBoot: null, ipxe: null, script: 'disk' };

const rows: Array<[string, MachineState, BootProfile | null, Want]> = [
  ['no profile', 'registered', null, { ...NET, script: 'refuse' }],
  ['discovered, no profile', 'discovered', null, { ...NET, script: 'refuse' }],
  ['network profile', 'registered', { boot: 'network' }, NET],
  ['network profile, booting', 'booting', { boot: 'network', chain: 'ipxe' }, NET],
  ['network profile, ready without install', 'ready', { boot: 'network' }, NET],
  ['Secure Boot profile', 'registered', { boot: 'network', chain: 'secureboot' }, SECURE],
  ['disk profile', 'registered', { boot: 'disk' }, DISK],
  ['disk profile, Secure Boot', 'registered', { boot: 'disk', chain: 'secureboot' }, DISK],
  ['install profile, registered', 'registered', { boot: 'network', install: INSTALL }, NET],
  ['install profile, installing', 'installing', { boot: 'network', install: INSTALL }, NET],
  ['install profile, installed', 'installed', { boot: 'network', install: INSTALL }, DISK],
  ['install profile, ready', 'ready', { boot: 'network', install: INSTALL }, DISK],
  ['install profile, drifted', 'drifted', { boot: 'network', install: INSTALL }, DISK],
  ['install profile, failed', 'failed', { boot: 'network', install: INSTALL, chain: 'secureboot' }, SECURE],
];

const macOf = (i: number) => `52:54:00:00:01:${i.toString(16).padStart(2, '0')}`;
const dhcpClient = (kind: keyof typeof FIRMWARE): Extract<BootClient, { kind: 'dhcp' }> => {
  const req = readRequest(clientPacket({ type: 1, mac: macOf(0), options: firmware(kind) }));
  return { kind: 'dhcp', arch: req.arch, isPxe: req.isPxe, isHttpBoot: req.isHttpBoot, isIpxe: req.isIpxe, uefiLoader: 'ipxe.efi', base: URL };
};
const fileOf = (p: BootPlan) => (p.target === 'network' && p.first ? p.first.file : null);
const routeAnswer = (p: BootPlan) => (p.target === 'none' ? 'refuse' : p.target);

describe('decide: every machine row × every client', () => {
  it.each(rows.map((r, i) => [...r, i] as const))('%s (%s)', (_name, state, profile, want, i) => {
    const machine = { mac: macOf(i), state };
    const dhcp = (kind: keyof typeof FIRMWARE) => fileOf(decide(machine, profile, dhcpClient(kind)));
    expect(dhcp('biosPxe')).toBe(want.bios);
    expect(dhcp('uefiX64')).toBe(want.uefi);
    expect(dhcp('uefiX64Alt')).toBe(want.uefi);
    expect(dhcp('arm64')).toBe(want.arm64);
    expect(dhcp('httpBoot')).toBe(want.httpBoot);
    expect(dhcp('ipxe')).toBe(want.ipxe ? SCRIPT(machine.mac) : null);
    expect(dhcp('plain')).toBeNull();
    expect(routeAnswer(decide(machine, profile, { kind: 'ipxe-script' }))).toBe(want.script);
    expect(routeAnswer(decide(machine, profile, { kind: 'grub-config' }))).toBe(want.script);
    const grub = decide(machine, profile, { kind: 'grub-config' });
    if (grub.target === 'network') expect(grub).toMatchObject({ first: null, loader: 'grub', chain: profile?.chain ?? 'ipxe' });
  });

  it('snponly.efi replaces ipxe.efi for UEFI PXE when configured, never for iPXE or HTTP Boot', () => {
    const m = { mac: macOf(1), state: 'registered' as const };
    const p = { boot: 'network' as const };
    expect(fileOf(decide(m, p, { ...dhcpClient('uefiX64'), uefiLoader: 'snponly.efi' }))).toBe('snponly.efi');
    expect(fileOf(decide(m, p, { ...dhcpClient('httpBoot'), uefiLoader: 'snponly.efi' }))).toBe(`${URL}/assets/ipxe.efi`);
    expect(fileOf(decide(m, p, { ...dhcpClient('ipxe'), uefiLoader: 'snponly.efi' }))).toBe(SCRIPT(m.mac));
  });

  it('names the reason when nothing is booted', () => {
    const m = { mac: macOf(1), state: 'registered' as const };
    expect(decide(m, null, { kind: 'ipxe-script' })).toEqual({ target: 'none', reason: 'no-profile' });
    expect(decide(m, { boot: 'network' }, dhcpClient('plain'))).toEqual({ target: 'none', reason: 'not-a-boot-client' });
    expect(decide(m, { boot: 'network' }, { ...dhcpClient('biosPxe'), arch: 6 })).toEqual({ target: 'none', reason: 'unsupported-arch' });
    // arm64 UEFI HTTP Boot gets the arm64 loader, even for Secure Boot profiles (shim image is x64 only).
    expect(fileOf(decide(m, { boot: 'network', chain: 'secureboot' }, { ...dhcpClient('httpBoot'), arch: 19 }))).toBe(`${URL}/assets/ipxe-arm64.efi`);
  });
});

/** The same rows through the inventory (HostDirectory) and the DHCP handler: what goes on the wire. */
describe('decide through DHCP: the same rows from a real inventory', () => {
  const store = Store.memory();
  rows.forEach(([, state, profile], i) => {
    if (profile) store.profiles.create(`p${i}`, { os: 'testos', ...profile } as never);
    store.machines.create({ name: `m${i}`, macs: [macOf(i)], profile: profile ? `p${i}` : null, state });
  });
  const hosts = new HostDirectory(store);
  const [subnet] = buildSubnets([{ cidr: '198.18.0.0/24', poolStart: '198.18.0.100', poolEnd: '198.18.0.199', dns: [], leaseSeconds: 600 }], [], () => undefined);
  const ctx = (mode: 'full' | 'proxy'): HandlerContext => ({
    mode,
    serverId: '198.18.0.1',
    pxePort: false,
    subnet,
    uefiLoader: 'ipxe.efi',
    publicUrl: URL,
    bootInOffer: true,
    now: 1_000_000,
    offerHoldMs: 60_000,
    declineMs: 3_600_000,
  });
  const kinds: Array<[keyof typeof FIRMWARE, keyof Want]> = [['biosPxe', 'bios'], ['uefiX64', 'uefi'], ['arm64', 'arm64'], ['httpBoot', 'httpBoot'], ['ipxe', 'ipxe']];
  const cases = rows.flatMap(([name, , , want], i) => (['full', 'proxy'] as const).flatMap((mode) => kinds.map(([kind, key]) => [name, mode, kind, i, want[key]] as const)));

  it.each(cases)('%s, %s mode, %s', (_name, mode, kind, i, want) => {
    const mac = macOf(i);
    const file = want === 'script' ? SCRIPT(mac) : (want as string | null);
    const host = hosts.lookup(mac, 1_000_000);
    expect(host).not.toBeNull();
    const out = handleRequest(readRequest(clientPacket({ type: 1, mac, options: firmware(kind) })), host!, ctx(mode));
    if (mode === 'proxy' && file === null) {
      expect(out.reply).toBeNull();
      return;
    }
    const reply = out.reply!;
    expect(reply.file).toBe(file ?? '');
    expect(reply.siaddr).toBe(file ? '198.18.0.1' : '0.0.0.0');
    const vendorClass = file === null ? null : kind === 'httpBoot' ? 'HTTPClient' : 'PXEClient';
    expect(reply.options.get(OPT.VENDOR_CLASS)?.toString() ?? null).toBe(vendorClass);
    // Plain PXE ROMs get PXE_DISCOVERY_CONTROL=8 ("use the file in the offer"); iPXE and HTTP boot do not.
    const pxe43 = reply.options.get(OPT.VENDOR_SPECIFIC);
    if (file && vendorClass === 'PXEClient' && kind !== 'ipxe') expect(readSubOptions(pxe43!).get(6)).toEqual(Buffer.from([8]));
    else expect(pxe43).toBeUndefined();
  });
});
