import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { ReadinessMonitor, pollReadiness } from '../../src/lifecycle/monitor.js';
import { type AwaitedBoot, type KubeNodeStatus, judgeNode, kubernetesReadiness, readinessKindOf, reportReadiness } from '../../src/lifecycle/readiness.js';
import { silentLogger } from '../../src/log.js';
import { driftReport } from '../../src/rollout/drift.js';
import { KubeClient } from '../../src/rollout/k8s.js';
import { judgeReports } from '../../src/rollout/plan.js';
import { inventoryVersions } from '../../src/rollout/versions.js';
import { testApp } from '../helpers/app.js';
import { waitFor } from '../helpers/netns.js';
import { FakeKube } from '../rollout/fake-kube.js';

describe('readinessKindOf', () => {
  it.each([
    ['testos', 'report'],
    ['flatcar', 'report'],
    ['fcos', 'report'],
    ['rhcos', 'report'],
    ['cloudinit', 'report'],
    ['talos', 'kubernetes'],
    ['bottlerocket', 'kubernetes'],
  ] as const)('%s → %s', (os, kind) => {
    expect(readinessKindOf(os)).toBe(kind);
  });
});

describe('judgeNode', () => {
  const T = Date.parse('2026-01-01T12:00:00Z');
  const boot = (previousBootId: string | null = null): AwaitedBoot => ({ startedAt: T, versionId: 1, configSha256: 'a'.repeat(64), previousBootId });
  const node = (o: Partial<KubeNodeStatus>): KubeNodeStatus => ({ name: 'n1', ready: true, readySince: '2026-01-01T12:05:00Z', bootId: 'b2', addresses: [], osImage: null, kubeletVersion: null, ...o });
  it.each([
    ['no node', null, boot(), false, /no Kubernetes node named n1/],
    ['NotReady', node({ ready: false }), boot(), false, /not Ready/],
    ['Ready since before the boot, no bootID recorded', node({ readySince: '2026-01-01T11:00:00Z' }), boot(), false, /before this boot started/],
    ['Ready after the boot started', node({}), boot(), true, /since 2026-01-01T12:05:00Z/],
    ['Ready, same bootID as at the last ready (not rebooted yet)', node({ bootId: 'b1' }), boot('b1'), false, /still the boot before this one/],
    ['Ready, new bootID (even if Ready never flapped)', node({ readySince: '2026-01-01T11:00:00Z' }), boot('b1'), true, /new bootID b2/],
    ['Ready, no bootID from the node: falls back to the transition time', node({ bootId: null }), boot('b1'), true, /since/],
    ['unknown transition time', node({ readySince: null }), boot(), false, /an unknown time/],
  ] as const)('%s', (_n, n, b, ready, message) => {
    const v = judgeNode(n, b, 'n1');
    expect(v.ready).toBe(ready);
    expect(v.message).toMatch(message);
  });
});

describe('kubernetes readiness against the fake API', () => {
  const kube = new FakeKube();
  let dir: string;
  let client: KubeClient;
  beforeAll(async () => {
    await kube.start();
    dir = mkdtempSync(join(tmpdir(), 'rb-ready-'));
    client = KubeClient.fromFile(kube.writeKubeconfig(join(dir, 'kubeconfig')));
  });
  afterAll(async () => {
    await kube.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the node by name, else by the machine address', async () => {
    kube.addNode('talos-1', true, { bootId: 'x', addresses: ['198.18.0.11'] });
    kube.addNode('ip-198-18-0-12', false, { addresses: ['198.18.0.12'] });
    expect(await client.findNode('talos-1', [])).toMatchObject({ name: 'talos-1', ready: true, bootId: 'x', osImage: 'Talos (v1.9.0)', addresses: ['198.18.0.11'] });
    expect(await client.findNode('talos-2', ['198.18.0.12'])).toMatchObject({ name: 'ip-198-18-0-12', ready: false });
    expect(await client.findNode('talos-3', ['198.18.0.99'])).toBeNull();
    expect(await client.findNode('talos-3', [])).toBeNull();
    kube.nodes.clear();
  });

  /** A Talos (or Bottlerocket) machine that rackboot network-booted: profile, config version, boot script event. */
  function talosMachine(store: Store, name: string, ipv4: string, os: 'talos' | 'bottlerocket' = 'talos') {
    if (!store.profiles.find(os)) {
      store.profiles.create(os, { boot: 'network', chain: 'ipxe', os, initrd: [], cmdline: '', requireSecureBoot: false, install: { image: `sha256:${'1'.repeat(64)}`, disk: '/dev/sda' } });
    }
    const m = store.machines.create({ name, macs: ['52:54:00:00:10:01'], labels: {}, profile: os, state: 'booting', ipv4 });
    const talos = { format: 'talos' as const, contentType: 'application/yaml', text: `version: v1alpha1\nmachine:\n  type: worker\n  network:\n    hostname: ${name}\n` };
    const bottlerocket = { format: 'bottlerocket' as const, contentType: 'application/toml', text: `[settings.kubernetes]\napi-server = "https://198.18.0.1:6443"\n[settings.network]\nhostname = "${name}"\n` };
    const doc = os === 'talos' ? talos : bottlerocket;
    const body = Buffer.from(doc.text);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const { version } = store.configs.saveVersion({ machineId: m.id, machineName: name, profile: os, profileRevision: 1, format: doc.format, contentType: doc.contentType, body, sha256, meta: {} });
    store.configs.setDesired(m.id, version.id);
    const bootScript = () => store.events.add({ machineId: m.id, source: 'http', kind: 'boot.script', detail: { mode: 'network', versionId: version.id, sha256 } });
    bootScript();
    return { m, sha256, version, bootScript };
  }

  it.each(['talos', 'bottlerocket'] as const)('%s: Node Ready transitions: not ready → ready after the boot; the gate and drift consume the observed ready', async (os) => {
    const store = Store.memory();
    const { m, sha256, version, bootScript } = talosMachine(store, 'talos-1', '198.18.0.21', os);
    const startedAt = Date.now();
    const digestOf = (ref: string) => (ref.startsWith('sha256:') ? ref.slice(7) : undefined);
    const deps = { store, sources: { report: reportReadiness, kubernetes: kubernetesReadiness(() => client) }, imageDigestOf: digestOf, log: silentLogger() };

    // No node yet, then a node still Ready from the boot before (not rebooted / not yet NotReady).
    expect(await pollReadiness(deps)).toEqual([]);
    kube.addNode('talos-1', true, { bootId: 'boot-0', readySince: new Date(startedAt - 3600_000).toISOString() });
    expect(await pollReadiness(deps)).toEqual([]);
    // The reboot: NotReady, then Ready with a new bootID after the boot script was served.
    kube.setReady('talos-1', false, new Date(startedAt + 1000));
    expect(await pollReadiness(deps)).toEqual([]);
    kube.setReady('talos-1', true, new Date(startedAt + 2000), 'boot-1');
    expect(await pollReadiness(deps)).toEqual(['talos-1']);

    const ready = store.events.list({ machineId: m.id, kind: 'report.ready' });
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ source: 'kubernetes', detail: { configDigest: sha256, imageDigest: '1'.repeat(64), versionId: version.id, node: 'talos-1', bootId: 'boot-1', evidence: { config: 'served', image: 'served' } } });
    expect(store.machines.get(m.id)).toMatchObject({ state: 'ready', facts: { kubeBootId: 'boot-1', kubeNode: 'talos-1' } });
    // Nothing more to observe once ready.
    expect(await pollReadiness(deps)).toEqual([]);

    // The health gate and drift read it like any phone-home.
    const versions = inventoryVersions(store, digestOf);
    const expected = versions.expected(m, versions.current(m));
    expect(judgeReports(ready, expected, 0, 1)).toEqual({ kind: 'healthy' });
    expect(driftReport(store, versions, { staleAfterMs: 3600_000 })).toEqual([]);

    // Reinstall: a new boot; the node Ready with the bootID of the previous ready is not the new boot.
    store.machines.update(m.id, { state: 'booting' });
    bootScript();
    store.events.add({ machineId: m.id, source: 'http', kind: 'config.served', detail: { versionId: version.id, sha256 } });
    expect(await pollReadiness(deps)).toEqual([]);
    kube.setReady('talos-1', true, new Date(), 'boot-2');
    expect(await new ReadinessMonitor(deps).tick()).toEqual(['talos-1']);
    expect(store.events.list({ machineId: m.id, kind: 'report.ready' }).at(-1)?.detail).toMatchObject({ bootId: 'boot-2', evidence: { config: 'fetched' } });
    kube.nodes.clear();
  });

  it('matches a node named otherwise by the machine address; report-kind and unsourced machines are left alone', async () => {
    const store = Store.memory();
    const { m } = talosMachine(store, 'talos-9', '198.18.0.29');
    kube.addNode('worker-abc', true, { addresses: ['198.18.0.29'], readySince: new Date(Date.now() + 1000).toISOString() });
    const none = { store, sources: {}, imageDigestOf: () => undefined, log: silentLogger() };
    expect(await pollReadiness(none)).toEqual([]);
    const deps = { ...none, sources: { kubernetes: kubernetesReadiness(() => client) } };
    store.profiles.create('ign', { boot: 'network', chain: 'ipxe', os: 'flatcar', initrd: [], cmdline: '', requireSecureBoot: false });
    store.machines.create({ name: 'flatcar-1', macs: ['52:54:00:00:10:02'], labels: {}, profile: 'ign', state: 'booting' });
    expect(await pollReadiness(deps)).toEqual(['talos-9']);
    expect(store.machines.get(m.id).facts).toMatchObject({ kubeNode: 'worker-abc' });
    expect(store.machines.get('flatcar-1').state).toBe('booting');
    kube.nodes.clear();
  });

  it('the served app runs the monitor when rollout.kubeconfig is set: a Talos machine goes ready from its Node', async () => {
    const t = await testApp({ rollout: { kubeconfig: kube.writeKubeconfig(join(dir, 'kc-app')), tickMs: 20 } });
    try {
      talosMachine(t.store, 'talos-app', '198.18.0.31');
      kube.addNode('talos-app', true, { bootId: 'b-app', readySince: new Date(Date.now() + 1000).toISOString() });
      await t.app.ready();
      await waitFor('talos-app ready', () => t.store.machines.get('talos-app').state === 'ready' || undefined, 10_000, 20);
      expect(t.store.events.list({ kind: 'report.ready' }).at(-1)).toMatchObject({ source: 'kubernetes', detail: { node: 'talos-app' } });
    } finally {
      await t.app.close();
      kube.nodes.clear();
    }
  });

  it('an API failure is logged and leaves the machine waiting', async () => {
    const store = Store.memory();
    talosMachine(store, 'talos-5', '198.18.0.25');
    const broken = { findNode: async () => Promise.reject(new Error('connection refused')) };
    const deps = { store, sources: { kubernetes: kubernetesReadiness(() => broken) }, imageDigestOf: () => undefined, log: silentLogger() };
    expect(await pollReadiness(deps)).toEqual([]);
    expect(store.machines.get('talos-5').state).toBe('booting');
  });
});
