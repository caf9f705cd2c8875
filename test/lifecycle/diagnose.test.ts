import { describe, expect, it } from 'vitest';
import type { BootEvent } from '../../src/inventory/events.js';
import { type DiagnosisInput, type VerdictCode, diagnose } from '../../src/lifecycle/diagnose.js';
import { loaderFitsArch } from '../../src/lifecycle/diagnosis-rules.js';
import { phaseOf, phaseSpans, splitAttempts } from '../../src/lifecycle/trace.js';

const T0 = Date.parse('2026-12-04T10:00:00.000Z');
const MAC = '52:54:00:00:00:01';
const URL = 'http://198.18.0.1:8080/boot.ipxe?mac=52:54:00:00:00:01';

/** A step of a trace: seconds after T0, kind, detail. */
type Step = [sec: number, kind: string, detail?: Record<string, unknown>];

function trace(steps: Step[]): BootEvent[] {
  return steps.map(([sec, kind, detail = {}], i) => ({
    id: i + 1,
    at: new Date(T0 + sec * 1000).toISOString(),
    mac: MAC,
    machineId: 1,
    source: kind.split('.')[0] === 'report' ? 'agent' : kind.split('.')[0]!,
    kind,
    detail,
  }));
}

// Building blocks of a boot.
const offer = (sec: number, arch = 7, bootFile: string | null = 'ipxe.efi'): Step => [sec, 'dhcp.offer', { arch, bootFile }];
const ack = (sec: number, arch = 7, bootFile: string | null = 'ipxe.efi'): Step => [sec, 'dhcp.ack', { arch, bootFile }];
const proxyOffer = (sec: number, bootFile = 'ipxe.efi'): Step => [sec, 'dhcp.proxy-offer', { arch: 7, bootFile }];
const loader = (sec: number, file = 'ipxe.efi'): Step => [sec, 'tftp.sent', { file, bytes: 1_000_000, blksize: 1468, result: 'sent' }];
const ipxeAck = (sec: number): Step => [sec, 'dhcp.ack', { arch: 7, bootFile: URL }];
const script = (sec: number, versionId = 1): Step => [sec, 'boot.script', { mode: 'network', versionId, sha256: 'ab' }];
const diskScript = (sec: number): Step => [sec, 'boot.script', { mode: 'disk' }];
const kernel = (sec: number): Step => [sec, 'asset.served', { kind: 'kernel', status: 200 }];
const initrd = (sec: number): Step => [sec, 'asset.served', { kind: 'initrd', status: 200 }];
const config = (sec: number): Step => [sec, 'config.served', { versionId: 1 }];
const report = (sec: number, phase: string, extra: Record<string, unknown> = {}): Step => [sec, `report.${phase}`, { versionId: 1, ...extra }];
const firmwareToConfig = (s: number): Step[] => [offer(s), ack(s + 1), loader(s + 2), ipxeAck(s + 5), script(s + 6), kernel(s + 7), initrd(s + 9), config(s + 30)];

const machine = { name: 'node-1', state: 'booting' as const, profile: 'p' };
const full = { dhcpMode: 'full' as const, proxyBootFileInOffer: true, tftpMaxBlksize: 1468 };

interface Row {
  shape: string;
  steps: Step[];
  /** Seconds after T0 that "now" is. */
  now: number;
  code: VerdictCode;
  phase?: string | null;
  input?: Partial<DiagnosisInput>;
  says?: RegExp;
}

const rows: Row[] = [
  { shape: 'healthy boot to ready', steps: [...firmwareToConfig(0), report(200, 'installed'), report(400, 'ready')], now: 500, code: 'ready', phase: 'ready' },
  { shape: 'boot in progress within limits', steps: [offer(0), ack(1), loader(2)], now: 10, code: 'in-progress', phase: 'loader' },
  // UEFI firmware ignoring ProxyDHCP offers (EDK2 #469, pixiecore HP DL380 UEFI): offers repeat, no TFTP.
  { shape: 'UEFI ignores ProxyDHCP offers', steps: [proxyOffer(0), proxyOffer(4), proxyOffer(12), proxyOffer(28)], now: 120, code: 'proxy-offer-ignored', input: { context: { ...full, dhcpMode: 'proxy', proxyBootFileInOffer: false } }, says: /proxyBootFileInOffer: true/ },
  // Chainload loop (iPXE #922, #908): the loader is fetched again and again, no iPXE DHCP.
  { shape: 'chainload loop', steps: [offer(0, 0, 'undionly.kpxe'), ack(1, 0, 'undionly.kpxe'), loader(2, 'undionly.kpxe'), ack(5, 0, 'undionly.kpxe'), loader(6, 'undionly.kpxe'), ack(9, 0, 'undionly.kpxe'), loader(10, 'undionly.kpxe')], now: 20, code: 'chainload-loop', says: /3 times/ },
  { shape: 'Secure Boot chain: shim then GRUB is no loop', steps: [offer(0, 7, 'shimx64.efi'), ack(1, 7, 'shimx64.efi'), loader(2, 'shimx64.efi'), loader(3, 'grubx64.efi')], now: 10, code: 'in-progress', phase: 'loader' },
  // TFTP blksize/MTU stall (tftpd-hpa --blocksize advice, crowbar blksize 1024).
  { shape: 'TFTP transfer stalls at large blksize', steps: [offer(0), ack(1), [2, 'tftp.failed', { file: 'ipxe.efi', bytes: 1468, blksize: 1468, retransmits: 5, error: 'timeout waiting for ACK', result: 'timeout' }]], now: 30, code: 'tftp-stall', says: /maxBlksize/ },
  { shape: 'TFTP file not found', steps: [offer(0), ack(1), [2, 'tftp.failed', { file: 'ipxe.efi', error: 'file not found', result: 'error' }]], now: 30, code: 'tftp-failed' },
  // Wrong-arch loader (option 93 says UEFI x64, firmware fetched the BIOS loader).
  { shape: 'wrong-arch loader requested', steps: [offer(0, 7), ack(1, 7), loader(2, 'undionly.kpxe')], now: 10, code: 'wrong-arch', says: /arch 7/ },
  { shape: 'arch without any loader', steps: [offer(0, 2, null), offer(4, 2, null)], now: 120, code: 'wrong-arch', says: /arch 2 without a boot file/ },
  // DHCP offered, never requested (smee/matchbox: a second DHCP server answers first).
  { shape: 'offer never requested', steps: [offer(0), offer(4), offer(12)], now: 120, code: 'offer-not-taken' },
  { shape: 'DHCP acked, no TFTP', steps: [offer(0), ack(1)], now: 120, code: 'no-loader-fetch', says: /UDP 69/ },
  { shape: 'loader sent, iPXE never DHCPs', steps: [offer(0), ack(1), loader(2)], now: 300, code: 'loader-no-ipxe' },
  { shape: 'iPXE has the URL, never fetches the script', steps: [offer(0), ack(1), loader(2), ipxeAck(5)], now: 300, code: 'ipxe-no-script', says: /publicUrl/ },
  // Script fetched, kernel never downloaded (matchbox: unreachable asset URL).
  { shape: 'script fetched, kernel never downloaded', steps: [offer(0), ack(1), loader(2), ipxeAck(5), script(6)], now: 600, code: 'script-no-kernel', phase: 'script' },
  // Kernel fetched, no config (MAAS: NIC driver missing in the initrd, wrong ip= args).
  { shape: 'kernel fetched, no config fetch', steps: [offer(0), ack(1), loader(2), ipxeAck(5), script(6), kernel(7), initrd(9)], now: 3600, code: 'kernel-no-config', phase: 'initrd' },
  { shape: 'config fetched, no report within 30 min', steps: firmwareToConfig(0), now: 3600, code: 'config-no-report', says: /rackboot-report\.service/ },
  { shape: 'installed, never ready', steps: [...firmwareToConfig(0), report(300, 'installed')], now: 7200, code: 'installed-not-ready' },
  // Post-install boot loop (matchbox #349, cobbler pxe_just_once, netbootd #8): PXE first in the boot order.
  { shape: 'installed then netboots again', steps: [...firmwareToConfig(0), report(300, 'installed'), offer(400), ack(401), loader(402), ipxeAck(405), diskScript(406), offer(500), ack(501), loader(502), ipxeAck(505), diskScript(506)], now: 600, code: 'post-install-loop', says: /2 more time/ },
  { shape: 'installer runs again after install', steps: [...firmwareToConfig(0), report(300, 'installed'), offer(400), ack(401), loader(402), ipxeAck(405), script(406)], now: 420, code: 'post-install-loop', says: /installer ran again/ },
  { shape: 'disk boot as intended', steps: [offer(0), ack(1), loader(2), ipxeAck(5), diskScript(6)], now: 600, code: 'disk-boot' },
  { shape: 'binding refusal stops the config fetch', steps: [offer(0), ack(1), loader(2), ipxeAck(5), script(6), kernel(7), initrd(9), [30, 'security.refused', { what: 'config', reason: 'no-binding', client: '198.18.0.99' }]], now: 60, code: 'security-refused', says: /198\.18\.0\.99/ },
  { shape: 'spent config token', steps: [...firmwareToConfig(0), [40, 'config.denied', { reason: 'spent' }]], now: 60, code: 'config-denied' },
  { shape: 'no profile', steps: [offer(0), ack(1), loader(2), ipxeAck(5), [6, 'boot.refused', { reason: 'no profile' }]], now: 60, code: 'boot-error', says: /--profile/ },
  { shape: 'OS reported failure with its message', steps: [...firmwareToConfig(0), report(200, 'failed', { message: 'cloud-init: disk /dev/sda not found' })], now: 300, code: 'report-failed', says: /disk \/dev\/sda not found/ },
  { shape: 'unknown MAC', steps: [], now: 0, code: 'unknown-mac', input: { machine: null, unknown: { mac: MAC, arch: 7, vendorClass: 'PXEClient:Arch:00007', firstSeen: '2026-12-04T09:00:00Z', lastSeen: '2026-12-04T10:00:00Z', count: 12 } }, says: /rackboot unknown enroll/ },
  { shape: 'never seen at all', steps: [], now: 0, code: 'never-seen', input: { machine: null, unknown: null } },
  { shape: 'registered, no trace', steps: [], now: 0, code: 'no-trace' },
];

describe('diagnose: failure shapes', () => {
  it.each(rows)('$shape → $code', (r) => {
    const d = diagnose({ now: T0 + r.now * 1000, trace: trace(r.steps), machine, unknown: null, context: full, ...r.input });
    expect(d.verdict.code).toBe(r.code);
    if (r.phase !== undefined) expect(d.phase).toBe(r.phase);
    if (r.says) expect(`${d.verdict.summary} ${d.verdict.next}`).toMatch(r.says);
    expect(d.verdict.cause.length).toBeGreaterThan(10);
    for (const id of d.verdict.evidence) expect(id).toBeLessThanOrEqual(r.steps.length);
  });

  it('covers at least 10 distinct failure verdicts', () => {
    const failures = new Set(rows.map((r) => r.code).filter((c) => !['ready', 'in-progress', 'disk-boot'].includes(c)));
    expect(failures.size).toBeGreaterThanOrEqual(10);
  });
});

describe('boot phases', () => {
  it('durations of each phase of the latest attempt', () => {
    const d = diagnose({ now: T0 + 500_000, trace: trace([...firmwareToConfig(0), report(200, 'installed'), report(400, 'ready')]), machine, unknown: null, context: full });
    expect(d.phases.map((p) => [p.phase, p.ms])).toEqual([
      ['dhcp', 2000],
      ['loader', 3000],
      ['ipxe', 1000],
      ['script', 1000],
      ['kernel', 2000],
      ['initrd', 21000],
      ['config', 170000],
      ['installed', 200000],
      ['ready', 100000],
    ]);
    expect(d.phases[0]!.events).toBe(2);
  });

  it('a new firmware DHCP after the script starts a new attempt', () => {
    const a = splitAttempts(trace([...firmwareToConfig(0), offer(100), ack(101)]));
    expect(a.map((x) => x.length)).toEqual([8, 2]);
  });

  it("the booted OS's own DHCP (no option 93, no boot file) is no new attempt", () => {
    const os: Step = [40, 'dhcp.ack', { arch: null, bootFile: null }];
    const d = diagnose({ now: T0 + 60_000, trace: trace([...firmwareToConfig(0), os]), machine, unknown: null, context: full });
    expect(d.attempts).toBe(1);
    expect(d.phase).toBe('config');
    expect(phaseOf({ kind: 'dhcp.ack', detail: { arch: null, bootFile: null } })).toBeNull();
  });

  it('events of an earlier phase do not reopen it', () => {
    const spans = phaseSpans(trace([offer(0), ack(1), loader(2), ipxeAck(5), script(6), [7, 'dhcp.ack', { bootFile: URL }]]), T0 + 10_000);
    expect(spans.map((s) => s.phase)).toEqual(['dhcp', 'loader', 'ipxe', 'script']);
  });

  it.each([
    ['dhcp.offer', { bootFile: 'ipxe.efi' }, 'dhcp'],
    ['dhcp.ack', { bootFile: URL }, 'ipxe'],
    ['tftp.sent', { file: 'undionly.kpxe' }, 'loader'],
    ['tftp.sent', { file: 'grub.cfg' }, null],
    ['boot.script', { mode: 'disk' }, null],
    ['boot.chain', {}, 'script'],
    ['asset.served', { kind: 'initrd' }, 'initrd'],
    ['report.installing', {}, 'installed'],
    ['machine.updated', {}, null],
  ])('%s %j → %s', (kind, detail, phase) => {
    expect(phaseOf({ kind, detail })).toBe(phase);
  });

  it.each([
    ['undionly.kpxe', 0, true],
    ['ipxe.efi', 0, false],
    ['ipxe.efi', 7, true],
    ['undionly.kpxe', 9, false],
    ['ipxe-arm64.efi', 11, true],
    ['ipxe.efi', 11, false],
    ['ipxe-arm64.efi', 7, false],
  ])('loader %s fits arch %i: %s', (file, arch, fits) => {
    expect(loaderFitsArch(file, arch)).toBe(fits);
  });
});
