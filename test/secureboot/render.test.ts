import { describe, expect, it } from 'vitest';
import { chooseBoot } from '../../src/dhcp/boot-policy.js';
import { HTTPBOOT_IMAGE_PATH } from '../../src/http/routes/grub.js';
import {
  failBeaconPath,
  grubQuote,
  parseGrubPath,
  renderGrubBeaconAck,
  renderGrubLocalBoot,
  renderGrubNetworkBoot,
  renderGrubRefusal,
  renderGrubStub,
} from '../../src/render/grub.js';
import { HTTPBOOT_PLACEHOLDER, patchHttpBootImage } from '../../src/render/grub-httpboot.js';
import { secureBootVerdict } from '../../src/secureboot/compliance.js';

const MAC = '52:54:00:5b:00:01';

/** A report token as the boot issues it (43 base64url characters). */
const TOKEN = `rT0k-${'x'.repeat(37)}_`;

describe('parseGrubPath: every name GRUB-net asks for', () => {
  it.each([
    ['grub/grub.cfg', { kind: 'stub' }],
    ['/grub/grub.cfg', { kind: 'stub' }],
    ['grub/grub.cfg-01-52-54-00-5b-00-01', { kind: 'machine', mac: MAC, path: 'pxe' }],
    ['grub/grub.cfg-01-52:54:00:5B:00:01', { kind: 'machine', mac: MAC, path: 'pxe' }],
    ['grub/httpboot/grub.cfg-01-52:54:00:5b:00:01', { kind: 'machine', mac: MAC, path: 'uefi-http' }],
    ['grub/grub.cfg-C6120064', { kind: 'ip', ip: '198.18.0.100' }],
    ['grub/grub.cfg-01-', { kind: 'missing' }],
    ['grub/grub.cfg-01-zz-zz', { kind: 'missing' }],
    ['grub/x86_64-efi/command.lst', { kind: 'missing' }],
    ['grub/x86_64-efi/grub.cfg', { kind: 'missing' }],
    ['grub/rackboot-failed/linux-pxe-01-52-54-00-5b-00-01', { kind: 'failed', mac: MAC, stage: 'linux', path: 'pxe', token: null }],
    ['grub/rackboot-failed/initrd-uefi-http-01-52-54-00-5b-00-01', { kind: 'failed', mac: MAC, stage: 'initrd', path: 'uefi-http', token: null }],
    [`grub/rackboot-failed/linux-pxe-01-52-54-00-5b-00-01/${TOKEN}`, { kind: 'failed', mac: MAC, stage: 'linux', path: 'pxe', token: TOKEN }],
    ['grub/rackboot-failed/linux-pxe-01-52-54-00-5b-00-01/bad token', { kind: 'missing' }],
    ['grub/rackboot-failed/rm-rf-01-52-54-00-5b-00-01', { kind: 'missing' }],
    ['shimx64.efi', null],
    ['grubx64.efi', null],
    ['assets/sha256/00', null],
  ])('%s', (path, want) => {
    expect(parseGrubPath(path)).toEqual(want);
  });

  it('a failure beacon path parses back to what produced it', () => {
    expect(parseGrubPath(failBeaconPath(MAC, 'initrd', 'uefi-http', TOKEN))).toEqual({ kind: 'failed', mac: MAC, stage: 'initrd', path: 'uefi-http', token: TOKEN });
  });
});

describe('GRUB configs (golden)', () => {
  const plan = {
    mac: MAC,
    machine: 'sb1',
    profile: 'secure',
    path: 'pxe' as const,
    beaconToken: TOKEN,
    kernel: `/assets/sha256/${'a'.repeat(64)}`,
    initrds: [`/assets/sha256/${'b'.repeat(64)}`],
    args: [
      'quiet',
      'rackboot.config=http://198.18.0.1:8080/config/tok',
      'ds=nocloud-net;s=http://198.18.0.1:8080/c/',
      "it's",
      '',
      'console=ttyS0,115200',
    ],
    comment: 'config version 7',
  };

  it('network boot: kernel + initrd by digest, quoted args, beacon on every failure', async () => {
    await expect(renderGrubNetworkBoot(plan)).toMatchFileSnapshot('golden/network.cfg');
  });
  it('network boot over UEFI HTTP Boot, no initrd', async () => {
    await expect(renderGrubNetworkBoot({ ...plan, path: 'uefi-http', initrds: [], comment: undefined } as never)).toMatchFileSnapshot('golden/network-httpboot.cfg');
  });
  it('stub, local disk, refusal, beacon answer', async () => {
    await expect(renderGrubStub()).toMatchFileSnapshot('golden/stub.cfg');
    await expect(renderGrubLocalBoot({ mac: MAC, machine: 'sb1' })).toMatchFileSnapshot('golden/local.cfg');
    await expect(renderGrubRefusal({ mac: MAC, reason: `unknown machine ${MAC}`, hint: 'add it; then reboot' })).toMatchFileSnapshot('golden/refusal.cfg');
    expect(renderGrubBeaconAck('linux')).toBe("echo 'rackboot: failure at stage linux recorded by the server'\n");
  });

  it('inventory text cannot inject GRUB commands', () => {
    const evil = renderGrubNetworkBoot({ ...plan, machine: "x'; reboot; echo '", profile: 'p\nreboot', args: ['a\nreboot', '$(x)', '${prefix}'] });
    const lines = evil.split('\n');
    expect(lines.filter((l) => /^\s*reboot/.test(l))).toEqual([]);
    expect(lines.find((l) => l.startsWith('if ! linux '))).toContain("'a reboot' '$(x)' '${prefix}'");
    expect(renderGrubRefusal({ mac: null, reason: 'a\nreboot', hint: "'" }).split('\n').filter((l) => l.startsWith('reboot'))).toEqual([]);
  });

  it.each([
    ['plain', 'plain'],
    ['a=b,c:d/e', 'a=b,c:d/e'],
    ['a b', "'a b'"],
    ["it's", "'it'\\''s'"],
    ['x;y', "'x;y'"],
    ['$v', "'$v'"],
  ])('grubQuote(%j) = %s', (s, q) => {
    expect(grubQuote(s)).toBe(q);
  });
});

describe('HTTP Boot RAM disk patch', () => {
  const image = Buffer.concat([Buffer.alloc(1000, 0xf6), Buffer.from(`set rackboot_server=${HTTPBOOT_PLACEHOLDER}\n`), Buffer.alloc(500)]);

  it('writes the address over the placeholder, same length, nothing else changes', () => {
    const out = patchHttpBootImage(image, '198.18.0.1');
    expect(out.length).toBe(image.length);
    expect(out.toString('latin1')).toContain(`set rackboot_server=${'198.18.0.1'.padEnd(HTTPBOOT_PLACEHOLDER.length)}\n`);
    expect(out.subarray(0, 1000)).toEqual(image.subarray(0, 1000));
    expect(image.toString('latin1')).toContain(HTTPBOOT_PLACEHOLDER);
  });
  it('refuses a non-IPv4 address and an image without (or with two) placeholders', () => {
    expect(() => patchHttpBootImage(image, '198.18.0.1; reboot')).toThrow(/not an IPv4/);
    expect(() => patchHttpBootImage(Buffer.alloc(100), '198.18.0.1')).toThrow(/exactly once/);
    expect(() => patchHttpBootImage(Buffer.concat([image, image]), '198.18.0.1')).toThrow(/exactly once/);
  });
});

describe('Secure Boot compliance verdict', () => {
  it.each([
    [true, { secureBoot: true }, { required: true, reported: true, compliant: true }],
    [true, { secureBoot: false }, { required: true, reported: false, compliant: false }],
    [true, { firmware: 'bios', secureBoot: null }, { required: true, reported: null, compliant: false }],
    [false, { secureBoot: false }, { required: false, reported: false, compliant: true }],
    [false, {}, { required: false, reported: null, compliant: true }],
  ])('required=%s facts=%j', (required, facts, want) => {
    expect(secureBootVerdict(required, facts)).toEqual(want);
  });
});

describe('DHCP first stage for Secure Boot profiles', () => {
  const input = {
    mode: 'full' as const,
    mac: MAC,
    isPxe: false,
    isHttpBoot: false,
    isIpxe: false,
    profile: { boot: 'network' as const, chain: 'secureboot' as const },
    uefiLoader: 'ipxe.efi' as const,
    publicUrl: 'http://198.18.0.1:8080/',
  };
  it.each([
    ['PXE x64 (arch 7)', { isPxe: true, arch: 7 }, { bootFile: 'shimx64.efi', via: 'tftp', vendorClass: 'PXEClient', stage: 'shim' }],
    ['HTTPClient x64 (arch 16)', { isHttpBoot: true, arch: 16 }, { bootFile: `http://198.18.0.1:8080${HTTPBOOT_IMAGE_PATH}`, via: 'http', vendorClass: 'HTTPClient', stage: 'shim' }],
  ])('%s', (_, over, want) => {
    expect(chooseBoot({ ...input, ...over })).toEqual({ ok: true, boot: want });
  });
});
