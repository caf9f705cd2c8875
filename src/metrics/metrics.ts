import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DhcpStats } from '../dhcp/server.js';
import type { BootEvent } from '../inventory/events.js';
import { MACHINE_STATES } from '../inventory/machines.js';
import type { Store } from '../inventory/store.js';
import { PhaseClock } from './phase-clock.js';

/** The DHCP server's own counters (DhcpServer: stats and commitStats), read at scrape time. */
export interface DhcpCounters {
  readonly stats: Readonly<DhcpStats>;
  readonly commitStats: { readonly commits: number; readonly commitMs: number; readonly maxCommitMs: number };
}

/** What the collectors read at scrape time. */
export interface MetricsDeps {
  store: Store;
  /** Node's default metrics (event-loop lag, heap, GC, fds) on this registry; default true. */
  defaultMetrics?: boolean;
}

const PHASE_BUCKETS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
const BMC_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

/** A counter fed from an in-memory tally at scrape time (the tally only grows). */
function tallyDelta(last: Map<string, number>, key: string, now: number): number {
  const d = now - (last.get(key) ?? 0);
  last.set(key, now);
  return d > 0 ? d : 0;
}

/**
 * rackboot's Prometheus metrics on their own registry (never prom-client's global one): built
 * once per appliance. Protocol counters are derived from the boot trace as new events arrive
 * (observeEvents, fed by the shared EventFeed) so the DHCP/TFTP hot paths stay untouched; HTTP
 * is counted by an onResponse hook; gauges read the store when scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests;
  readonly httpSeconds;
  readonly eventsTotal;
  readonly dhcpReplies;
  readonly dhcpDrops;
  readonly tftpTransfers;
  readonly tftpBytes;
  readonly bmcSeconds;
  readonly bmcFailures;
  readonly bootPhaseSeconds;
  readonly streamClients;
  private readonly phases = new PhaseClock();
  private readonly watched: { dhcp?: DhcpCounters } = {};

  constructor(deps: MetricsDeps) {
    const registers = [this.registry];
    const { store } = deps;
    const watched = this.watched;
    if (deps.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'rackboot_' });
    this.httpRequests = new Counter({ name: 'rackboot_http_requests_total', help: 'HTTP requests answered, by route, method and status class', labelNames: ['route', 'method', 'status'] as const, registers });
    this.httpSeconds = new Histogram({ name: 'rackboot_http_request_duration_seconds', help: 'HTTP response time by route', labelNames: ['route'] as const, buckets: HTTP_BUCKETS, registers });
    this.eventsTotal = new Counter({ name: 'rackboot_boot_events_total', help: 'Boot-trace events recorded, by kind', labelNames: ['kind'] as const, registers });
    this.dhcpReplies = new Counter({ name: 'rackboot_dhcp_replies_total', help: 'DHCP exchanges answered or recorded (from the boot trace), by message type', labelNames: ['type'] as const, registers });
    const dropTally = new Map<string, number>();
    this.dhcpDrops = new Counter({
      name: 'rackboot_dhcp_drops_total',
      help: 'DHCP requests not answered, by message type and reason (unknown-mac: no machine has the MAC)',
      labelNames: ['type', 'reason'] as const,
      registers,
      collect() {
        let unknown = 0;
        for (const [type, n] of store.unknownMacs.noted) {
          unknown += n;
          this.inc({ type, reason: 'unknown-mac' }, tallyDelta(dropTally, type, n));
        }
        const d = watched.dhcp?.stats;
        if (!d) return;
        const add = (reason: string, n: number) => this.inc({ type: 'any', reason }, tallyDelta(dropTally, reason, n));
        add('malformed', d.malformed);
        add('stale', d.stale);
        add('discover-limited', d.discoverLimited);
        add('not-answered', d.ignored - unknown);
      },
    });
    const dhcpTally = new Map<string, number>();
    new Counter({
      name: 'rackboot_dhcp_requests_total',
      help: 'DHCP datagrams received (after startDhcp is watched)',
      registers,
      collect() {
        if (watched.dhcp) this.inc(tallyDelta(dhcpTally, 'received', watched.dhcp.stats.received));
      },
    });
    new Counter({
      name: 'rackboot_db_commits_total',
      help: 'SQLite transactions committed on the DHCP path (leases and trace rows)',
      registers,
      collect() {
        if (watched.dhcp) this.inc(tallyDelta(dhcpTally, 'commits', watched.dhcp.commitStats.commits));
      },
    });
    new Counter({
      name: 'rackboot_db_commit_seconds_total',
      help: 'Time spent in those commits; rate(seconds) / rate(commits) is the mean commit latency',
      registers,
      collect() {
        if (watched.dhcp) this.inc(tallyDelta(dhcpTally, 'commitMs', watched.dhcp.commitStats.commitMs) / 1000);
      },
    });
    new Gauge({
      name: 'rackboot_db_commit_max_seconds',
      help: 'Longest DHCP-path commit since start',
      registers,
      collect() {
        if (watched.dhcp) this.set(watched.dhcp.commitStats.maxCommitMs / 1000);
      },
    });
    this.tftpTransfers = new Counter({ name: 'rackboot_tftp_transfers_total', help: 'TFTP transfers by result (sent, timeout, error, ...)', labelNames: ['result'] as const, registers });
    this.tftpBytes = new Counter({ name: 'rackboot_tftp_bytes_total', help: 'Bytes sent by finished TFTP transfers', registers });
    this.bmcSeconds = new Histogram({ name: 'rackboot_bmc_call_duration_seconds', help: 'BMC operations that succeeded, by kind and action', labelNames: ['kind', 'action'] as const, buckets: BMC_BUCKETS, registers });
    this.bmcFailures = new Counter({ name: 'rackboot_bmc_failures_total', help: 'BMC operations that failed, by operation and error code', labelNames: ['op', 'code'] as const, registers });
    this.bootPhaseSeconds = new Histogram({ name: 'rackboot_boot_phase_duration_seconds', help: 'Time from the start of a boot phase to the start of the next (dhcp, loader, ipxe, script, kernel, initrd, config, installed)', labelNames: ['phase'] as const, buckets: PHASE_BUCKETS, registers });
    this.streamClients = new Gauge({ name: 'rackboot_event_streams', help: 'Open server-sent event streams', registers });
    const refusalTally = new Map<string, number>();
    new Counter({
      name: 'rackboot_boot_binding_refused_total',
      help: "Boot-network requests refused because they came from an address not bound to the machine (script, GRUB config, config, report), by reason",
      labelNames: ['reason'] as const,
      registers,
      collect() {
        for (const [reason, n] of Object.entries(deps.store.sightings.refusals().byReason)) this.inc({ reason }, tallyDelta(refusalTally, reason, n));
      },
    });
    new Gauge({
      name: 'rackboot_machines',
      help: 'Machines by lifecycle state',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const counts = new Map<string, number>(MACHINE_STATES.map((s) => [s, 0]));
        for (const m of store.machines.list()) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'rackboot_rollout_machines',
      help: 'Machines of each active rollout by rollout phase',
      labelNames: ['rollout', 'phase'] as const,
      registers,
      collect() {
        this.reset();
        const repo = store.rollouts;
        for (const r of repo.list({ active: true })) {
          for (const m of repo.members(r.id)) this.inc({ rollout: String(r.id), phase: m.phase });
        }
      },
    });
    new Gauge({ name: 'rackboot_unknown_macs', help: 'MACs seen in DHCP that no machine has (bounded table)', registers, collect() { this.set(store.unknownMacs.count()); } });
  }

  /** Reads the DHCP server's counters from now on (main.ts, after startDhcp). */
  watchDhcp(server: DhcpCounters): void {
    this.watched.dhcp = server;
  }

  /** Counts what new trace events say (called by the EventFeed for every batch). */
  observeEvents(events: readonly BootEvent[]): void {
    for (const e of events) {
      this.eventsTotal.inc({ kind: e.kind });
      const d = e.detail;
      if (e.source === 'dhcp' && e.kind.startsWith('dhcp.')) this.dhcpReplies.inc({ type: e.kind.slice(5) });
      else if (e.kind === 'tftp.sent' || e.kind === 'tftp.failed') {
        this.tftpTransfers.inc({ result: typeof d.result === 'string' ? d.result : e.kind.slice(5) });
        if (e.kind === 'tftp.sent' && typeof d.bytes === 'number') this.tftpBytes.inc(d.bytes);
      } else if (e.source === 'bmc' && e.kind === 'bmc.error') {
        this.bmcFailures.inc({ op: String(d.op ?? 'unknown'), code: String(d.code ?? 'BMC_ERROR') });
      } else if (e.source === 'bmc' && typeof d.ms === 'number') {
        this.bmcSeconds.observe({ kind: e.kind, action: String(d.action ?? d.op ?? '') }, d.ms / 1000);
      }
      const done = this.phases.observe(e);
      if (done) this.bootPhaseSeconds.observe({ phase: done.phase }, done.ms / 1000);
    }
  }

  /** Counts one HTTP response. */
  observeHttp(route: string, method: string, status: number, seconds: number): void {
    this.httpRequests.inc({ route, method, status: `${Math.floor(status / 100)}xx` });
    this.httpSeconds.observe({ route }, seconds);
  }

  /** The exposition text and its content type. */
  async expose(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
