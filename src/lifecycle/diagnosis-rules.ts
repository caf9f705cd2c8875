import type { BootEvent } from '../inventory/events.js';
import type { Rule, RuleView, Verdict } from './diagnose.js';
import { type BootPhase, eventTime, isLoaderFile, phaseOf, phaseRank } from './trace.js';

// Failure shapes gathered from peer trackers (iPXE, EDK2, pixiecore, smee, matchbox, MAAS,
// netboot.xyz, cobbler): each rule names the symptom as it shows in rackboot's trace.

const ids = (es: readonly BootEvent[]) => es.map((e) => e.id);
const ofKind = (es: readonly BootEvent[], ...kinds: string[]) => es.filter((e) => kinds.includes(e.kind));
const str = (v: unknown, dflt = '?') => (typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : dflt);
const num = (v: unknown) => (typeof v === 'number' ? v : null);

/** Human duration: 45 s, 12 min, 3 h. */
export function humanMs(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

/** Client architectures (option 93, RFC 4578 §2.1 and the IANA registry) rackboot has loaders for. */
const KNOWN_ARCH: Record<number, string> = { 0: 'BIOS', 6: 'EFI IA32', 7: 'EFI x64', 9: 'EFI x64', 11: 'EFI arm64', 16: 'EFI x64 HTTP', 19: 'EFI arm64 HTTP' };

/** Whether a loader file fits the architecture the client announced. */
export function loaderFitsArch(file: string, arch: number): boolean {
  const arm = /arm64|aa64/i.test(file);
  if (arch === 0) return /\.(kpxe|pxe|0)$/i.test(file);
  if (arch === 11 || arch === 19) return /\.efi$|\.img$/i.test(file) && arm;
  if (arch === 6 || arch === 7 || arch === 9 || arch === 16) return /\.efi$|\.img$/i.test(file) && !arm;
  return true;
}

const verdict = (v: Omit<Verdict, 'evidence'>, evidence: readonly BootEvent[]): Verdict => ({ ...v, evidence: ids(evidence).slice(-20) });

/** The open phase when it has been open longer than `limitMs`. */
function overdue(v: RuleView, phases: BootPhase[], limitMs: number): { since: number; events: BootEvent[] } | null {
  const open = v.spans.at(-1);
  if (!open || !phases.includes(open.phase) || v.now - open.startedAt <= limitMs) return null;
  return { since: open.startedAt, events: v.attempt.filter((e) => phaseOf(e) === open.phase) };
}

/** Id of the attempt's last progress (phase) event, 0 if none. */
const lastProgressId = (v: RuleView) => v.attempt.filter((e) => phaseOf(e) !== null).at(-1)?.id ?? 0;

const neverSeen: Rule = (v) =>
  !v.input.machine && !v.input.unknown && v.input.trace.length === 0
    ? verdict({ code: 'never-seen', status: 'unknown', summary: 'rackboot has never seen this MAC', cause: 'no DHCP request from it reached rackboot: the NIC is not set to network boot, another NIC booted, or a relay does not forward to rackboot', next: 'enable PXE on that NIC in the firmware; on a routed segment point the relay (ip helper-address) at rackboot; then: rackboot unknown list' }, [])
    : null;

const unknownMac: Rule = (v) => {
  if (v.input.machine || (!v.input.unknown && v.input.trace.length === 0)) return null;
  const u = v.input.unknown;
  const seen = u ? `seen ${u.count} times from ${u.firstSeen} to ${u.lastSeen}, arch ${u.arch ?? 'none'}, vendor class ${u.vendorClass ?? 'none'}` : 'seen in the trace';
  return verdict({ code: 'unknown-mac', status: 'unknown', summary: `unknown MAC: ${seen}`, cause: 'no machine in the inventory has this MAC, so rackboot does not answer it (dhcp.unknownMacs: ignore)', next: `rackboot unknown enroll ${u?.mac ?? 'MAC'} --name NAME [--profile P]` }, v.input.trace.slice(-5));
};

const noTrace: Rule = (v) =>
  v.input.machine && v.input.trace.length === 0
    ? verdict({ code: 'no-trace', status: 'unknown', summary: `${v.input.machine.name} has no boot trace`, cause: 'none of its MACs sent a DHCP request rackboot saw: the machine is off, boots from disk, or booted from a NIC whose MAC is not registered', next: 'rackboot power status MACHINE; rackboot unknown list (a MAC of this machine missing from the inventory shows up there)' }, [])
    : null;

const reportFailed: Rule = (v) => {
  const last = v.attempt.filter((e) => e.kind.startsWith('report.')).at(-1);
  if (last?.kind !== 'report.failed') return null;
  return verdict({ code: 'report-failed', status: 'failed', summary: `the OS reported failure: ${str(last.detail.message, '(no message)')}`, cause: 'the installer or the first boot of the OS failed and said so (the message is the OS\'s own)', next: 'fix what the message names (profile, disk, image) and provision again: rackboot provision MACHINE' }, [last]);
};

const postInstallLoop: Rule = (v) => {
  const trace = v.input.trace;
  const installed = trace.filter((e) => e.kind === 'report.installed').at(-1);
  if (!installed) return null;
  const after = trace.filter((e) => e.id > installed.id);
  if (after.some((e) => e.kind === 'report.ready' || e.kind === 'provision.requested' || e.kind === 'rollout.assigned')) return null;
  const boots = ofKind(after, 'boot.script', 'boot.chain');
  const rerun = boots.some((e) => e.detail.mode === 'network' && e.detail.versionId === installed.detail.versionId);
  if (boots.length < 2 && !rerun) return null;
  return verdict({ code: 'post-install-loop', status: 'failed', summary: `installed at ${installed.at}, then booted from the network ${boots.length} more time(s) without reaching ready${rerun ? ' (the installer ran again)' : ''}`, cause: 'the firmware boots from the network first and the local boot does not take (iPXE exits back to the firmware, which PXE-boots again), or the installer wrote no bootloader', next: 'rackboot bootdev MACHINE disk --persistent (or put the disk first in the firmware); check the disk has a boot entry' }, [installed, ...boots]);
};

const ready: Rule = (v) => {
  if (v.reached !== 'ready') return null;
  const total = v.spans.length ? (v.spans.at(-1)!.startedAt - v.spans[0]!.startedAt) : 0;
  return verdict({ code: 'ready', status: 'ok', summary: `ready (${humanMs(total)} from first DHCP to ready)`, cause: 'the boot completed', next: 'nothing to do' }, v.attempt.filter((e) => e.kind === 'report.ready'));
};

const securityRefused: Rule = (v) => {
  const refused = ofKind(v.attempt.length ? v.attempt : v.input.trace, 'security.refused');
  const last = refused.at(-1);
  if (!last || last.id < lastProgressId(v)) return null;
  return verdict({ code: 'security-refused', status: 'failed', summary: `rackboot refused this machine's ${str(last.detail.what, 'request')} from ${str(last.detail.client)}: ${str(last.detail.reason)}`, cause: 'boot identity binding: the request came from an address not bound to this machine (no lease, neighbour entry or ProxyDHCP sighting of its MACs), or carried another boot\'s token', next: 'if the machine changed address, let it DHCP again and reboot; if it was not this machine, find who uses that address; bootBinding: off in the profile only for NATed labs' }, refused);
};

const configDenied: Rule = (v) => {
  const denied = ofKind(v.attempt, 'config.denied');
  const last = denied.at(-1);
  if (!last || last.id < lastProgressId(v)) return null;
  return verdict({ code: 'config-denied', status: 'failed', summary: `the config fetch was refused: ${str(last.detail.reason)}`, cause: 'the per-boot config token was spent, expired (http.configTokenTtlSeconds) or belongs to an earlier boot', next: 'reboot the machine for a fresh script and token; an installer that fetches more often than allowed needs a higher http.configTokenUses' }, denied);
};

const bootError: Rule = (v) => {
  const errs = ofKind(v.attempt, 'boot.error', 'boot.refused');
  const last = errs.at(-1);
  if (!last || last.id < lastProgressId(v)) return null;
  const noProfile = last.kind === 'boot.refused';
  return verdict({ code: 'boot-error', status: 'failed', summary: noProfile ? `no boot script: ${str(last.detail.reason)}` : `the boot script could not be rendered: ${str(last.detail.code)} ${str(last.detail.message, '')}`, cause: noProfile ? 'the machine has no profile, so rackboot has nothing to boot it into' : 'the profile or its assets are incomplete for this machine', next: noProfile ? 'rackboot machines set MACHINE --profile P' : 'fix the profile (rackboot profiles show P) and reboot' }, errs);
};

const diskBoot: Rule = (v) => {
  const disk = v.attempt.filter((e) => e.kind === 'boot.script' && e.detail.mode === 'disk');
  if (!disk.length || phaseOf(v.attempt.at(-1)!) === 'ready') return null;
  return verdict({ code: 'disk-boot', status: 'ok', summary: `served the local-boot script: the machine boots from its disk (state ${v.input.machine?.state ?? '?'})`, cause: 'the profile boots from disk or the machine is already installed', next: 'to reinstall: rackboot provision MACHINE' }, disk);
};

const chainloadLoop: Rule = (v) => {
  // The same loader again (shim then GRUB are two files of one healthy Secure Boot chain).
  const sent = v.attempt.filter((e) => e.kind === 'tftp.sent' && isLoaderFile(e.detail.file));
  const loaders = sent.filter((e) => e.detail.file === sent.at(-1)?.detail.file);
  if (loaders.length < 2 || v.spans.some((s) => phaseRank(s.phase) >= phaseRank('ipxe'))) return null;
  return verdict({ code: 'chainload-loop', status: 'failed', summary: `the loader ${str(loaders[0]!.detail.file)} was fetched ${loaders.length} times and iPXE never asked for its script`, cause: 'chainload loop: the loaded iPXE\'s DHCP request is not recognised as iPXE (no user class "iPXE" / option 175, e.g. a vendor or custom build), so it is handed the loader again; or another PXE server hands out its own boot file', next: 'use the loaders rackboot builds; look for a second DHCP/ProxyDHCP server (tcpdump -ni IFACE port 67 or port 4011); in proxy mode the main DHCP server must send no boot file' }, loaders);
};

const tftpFailures = (v: RuleView) => ofKind(v.attempt, 'tftp.failed').filter((e) => e.id > (v.attempt.filter((x) => x.kind === 'tftp.sent').at(-1)?.id ?? 0));
const isStall = (e: BootEvent) => /time(d)?\s?out|retransmi|no ack/i.test(str(e.detail.error, '')) || (num(e.detail.retransmits) ?? 0) >= 3;

const tftpStall: Rule = (v) => {
  const stalls = tftpFailures(v).filter(isStall);
  const last = stalls.at(-1);
  if (!last) return null;
  const d = last.detail;
  return verdict({ code: 'tftp-stall', status: 'failed', summary: `TFTP transfer of ${str(d.file)} stopped after ${str(d.bytes, '0')} bytes (${str(d.error, 'timeout')}; blksize ${str(d.blksize, '512')}, ${str(d.retransmits, '0')} retransmits)`, cause: 'blocks of the negotiated size do not reach the client or its ACKs do not come back: a path MTU below 1500 (VLAN, tunnel) drops large blocks, or the firmware mishandles big blocks or windowsize', next: `lower tftp.maxBlksize (now ${v.input.context.tftpMaxBlksize}) to 1024 or 512, or fix the path MTU; then reboot the machine` }, stalls);
};

const tftpFailed: Rule = (v) => {
  const fails = tftpFailures(v).filter((e) => !isStall(e));
  const last = fails.at(-1);
  if (!last) return null;
  return verdict({ code: 'tftp-failed', status: 'failed', summary: `TFTP request for ${str(last.detail.file)} failed: ${str(last.detail.error)}`, cause: 'the file is not in the TFTP root (loader not built, wrong name requested) or could not be read', next: 'build the boot assets (npm start builds them) and check assetsDir; compare the requested name with the DHCP boot file' }, fails);
};

const wrongArch: Rule = (v) => {
  let arch: number | null = null;
  for (const e of v.attempt) {
    if (e.source === 'dhcp' && num(e.detail.arch) !== null) arch = num(e.detail.arch);
    if ((e.kind === 'tftp.sent' || e.kind === 'tftp.failed') && isLoaderFile(e.detail.file) && arch !== null && !loaderFitsArch(str(e.detail.file), arch)) {
      return verdict({ code: 'wrong-arch', status: 'failed', summary: `the client announced arch ${arch} (${KNOWN_ARCH[arch] ?? 'unknown'}) but fetched ${str(e.detail.file)}`, cause: 'option 93 and the loader disagree: the firmware reports the wrong architecture (some UEFI firmware sends 0), the boot mode (UEFI vs legacy) changed, or another server handed out its boot file', next: 'check the firmware boot mode; compare option 93 in a capture (tcpdump -vni IFACE port 67); look for a second PXE server' }, [e]);
    }
  }
  const dhcp = v.attempt.filter((e) => e.source === 'dhcp' && e.kind !== 'dhcp.release');
  const a = num(dhcp.at(-1)?.detail.arch);
  if (a === null || KNOWN_ARCH[a] || dhcp.some((e) => e.detail.bootFile) || v.reached !== 'dhcp') return null;
  return verdict({ code: 'wrong-arch', status: 'failed', summary: `DHCP answered arch ${a} without a boot file`, cause: 'rackboot has no loader for that client architecture (option 93)', next: 'check the firmware mode; build a loader for that architecture or boot it in a supported mode' }, dhcp.slice(-3));
};

const offerNotTaken: Rule = (v) => {
  if (v.input.context.dhcpMode !== 'full' || v.reached !== 'dhcp') return null;
  const offers = ofKind(v.attempt, 'dhcp.offer');
  if (!offers.length || ofKind(v.attempt, 'dhcp.ack').length || v.now - eventTime(offers[0]!) <= v.limits.dhcpMs) return null;
  return verdict({ code: 'offer-not-taken', status: 'stalled', summary: `rackboot offered an address ${offers.length} time(s); the client never requested it`, cause: 'the client took another DHCP server\'s offer (a second DHCP server on the segment), or our offer never reached it (relay, broadcast flag)', next: 'find the other DHCP server: tcpdump -ni IFACE port 67; on a network with its own DHCP server use dhcp.mode: proxy' }, offers);
};

const proxyIgnored: Rule = (v) => {
  const o = v.input.context.dhcpMode === 'proxy' ? overdue(v, ['dhcp'], v.limits.dhcpMs) : null;
  if (!o || !o.events.some((e) => e.kind === 'dhcp.proxy-offer' && e.detail.bootFile)) return null;
  const next = v.input.context.proxyBootFileInOffer
    ? 'the boot file is already in the first offer (dhcp.proxyBootFileInOffer: true): set next-server and filename on the main DHCP server instead, or run dhcp.mode: full on this segment'
    : 'set dhcp.proxyBootFileInOffer: true so the boot file rides in the first offer; else set next-server and filename on the main DHCP server';
  return verdict({ code: 'proxy-offer-ignored', status: 'stalled', summary: `ProxyDHCP answered ${o.events.length} time(s) over ${humanMs(v.now - o.since)}; the firmware never fetched the loader`, cause: 'UEFI firmware that ignores ProxyDHCP offers (it does not merge a boot-only offer with the main DHCP server\'s, or never asks on port 4011)', next }, o.events);
};

const noLoaderFetch: Rule = (v) => {
  const o = overdue(v, ['dhcp'], v.limits.dhcpMs);
  const withFile = o?.events.filter((e) => (e.kind === 'dhcp.ack' || e.kind === 'dhcp.inform') && e.detail.bootFile) ?? [];
  if (!o || !withFile.length) return null;
  const http = str(withFile.at(-1)!.detail.bootFile).startsWith('http');
  return verdict({ code: 'no-loader-fetch', status: 'stalled', summary: `DHCP gave ${str(withFile.at(-1)!.detail.bootFile)} ${humanMs(v.now - o.since)} ago; no loader fetch followed`, cause: http ? 'the UEFI HTTP boot client did not fetch the URL or the loader did not start (Secure Boot refusal, unreachable boot listener)' : 'the TFTP request never reached rackboot: UDP 69 blocked, next-server not reachable from that segment, or TFTP disabled', next: http ? 'check the firmware console; curl the URL from that segment' : 'check tftp.enabled and that UDP 69 on the server address is reachable: tcpdump -ni IFACE port 69' }, withFile);
};

const stall = (code: Verdict['code'], phases: BootPhase[], limit: (v: RuleView) => number, text: (o: { since: number }, v: RuleView) => Omit<Verdict, 'code' | 'status' | 'evidence'>): Rule => (v) => {
  const o = overdue(v, phases, limit(v));
  return o ? verdict({ code, status: 'stalled', ...text(o, v) }, o.events) : null;
};

const loaderNoIpxe = stall('loader-no-ipxe', ['loader'], (v) => v.limits.loaderMs, (o, v) => ({
  summary: `the loader was sent ${humanMs(v.now - o.since)} ago; iPXE never asked DHCP for its script`,
  cause: 'iPXE did not start or got no address: a NIC without an iPXE driver, Secure Boot refusing the unsigned loader, or the switch port still blocking (spanning tree) when iPXE asks',
  next: 'watch the console; try dhcp.uefiLoader: snponly.efi; enable portfast on the switch port; use chain: secureboot under Secure Boot',
}));

const ipxeNoScript = stall('ipxe-no-script', ['ipxe'], (v) => v.limits.ipxeMs, (o, v) => ({
  summary: `iPXE got the script URL ${humanMs(v.now - o.since)} ago and never fetched it`,
  cause: 'the boot listener is not reachable at http.publicUrl from the boot network (wrong address, firewall, routing)',
  next: 'curl the script URL from the machine\'s segment; check http.publicUrl',
}));

const scriptNoKernel = stall('script-no-kernel', ['script'], (v) => v.limits.scriptMs, (o, v) => ({
  summary: `the boot script was served ${humanMs(v.now - o.since)} ago; the kernel was never downloaded`,
  cause: 'iPXE could not fetch the kernel: the asset URL is unreachable, the asset is missing, or the download failed (iPXE prints the error on the console)',
  next: 'check the profile\'s kernel asset is registered and curl its /assets/sha256/ URL from the boot network',
}));

const kernelNoConfig = stall('kernel-no-config', ['kernel', 'initrd'], (v) => v.limits.kernelMs, (o, v) => ({
  summary: `the ${v.reached === 'kernel' ? 'kernel (no initrd)' : 'kernel and initrd'} went out ${humanMs(v.now - o.since)} ago; the config was never fetched`,
  cause: 'the kernel started but did not bring the network up or fetch its config: a NIC driver or firmware missing from the initrd, wrong kernel arguments (ip=, console=, the config URL), or the initrd download failed',
  next: 'watch the serial console; check the profile\'s kernel args and that the initrd carries the NIC driver',
}));

const configNoReport = stall('config-no-report', ['config'], (v) => v.limits.reportMs, (o, v) => ({
  summary: `the config was fetched ${humanMs(v.now - o.since)} ago; the OS never reported`,
  cause: 'the OS got its config but did not phone home: its network after boot, the report unit (rackboot-report.service or cloud-init) failing, or the boot listener unreachable from the OS',
  next: 'on the machine: journalctl -u rackboot-report.service; check it reaches http.publicUrl; Talos and Bottlerocket report through Kubernetes readiness instead',
}));

const installedNotReady = stall('installed-not-ready', ['installed'], (v) => v.limits.readyMs, (o, v) => ({
  summary: `installed ${humanMs(v.now - o.since)} ago; never reported ready`,
  cause: 'the installed system did not come up: it did not boot from its disk, or its first boot failed before the report',
  next: 'check the boot order and the console; rackboot power status MACHINE',
}));

/** Every rule, highest priority first: the first match is the verdict, the rest are findings. */
export const RULES: readonly Rule[] = [
  neverSeen,
  unknownMac,
  noTrace,
  reportFailed,
  postInstallLoop,
  ready,
  securityRefused,
  configDenied,
  bootError,
  diskBoot,
  chainloadLoop,
  tftpStall,
  tftpFailed,
  wrongArch,
  offerNotTaken,
  proxyIgnored,
  noLoaderFetch,
  loaderNoIpxe,
  ipxeNoScript,
  scriptNoKernel,
  kernelNoConfig,
  configNoReport,
  installedNotReady,
];
