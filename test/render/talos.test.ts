import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { renderTalos, validateTalosDocuments } from '../../src/render/talos.js';
import { expectGolden } from './golden.js';
import { input, machine, spec, talosSection } from './inputs.js';
import { talosSchemaErrors } from './validators.js';

const cpSpec = spec({ os: 'talos', install: { disk: '/dev/sda' }, talos: talosSection('alpha', 'controlplane') });
const workerSpec = spec({
  os: 'talos',
  install: { disk: '/dev/vda' },
  talos: talosSection('alpha', 'worker', {
    machines: {
      'node-2': {
        hostname: 'node-2-storage',
        interfaces: [
          { name: 'eth0', addresses: ['198.18.0.22/24'], routes: [{ destination: '0.0.0.0/0', gateway: '198.18.0.1' }] },
          { name: 'eth1', addresses: ['198.19.0.22/24'], mtu: 9000 },
        ],
        install: { disk: '/dev/nvme0n1' },
        kubelet: { extraArgs: { 'max-pods': '250' } },
        sysctls: { 'vm.max_map_count': '262144' },
      },
    },
  }),
});

/** Machines of cluster alpha (the profile's cluster): only they may receive its secrets. */
const ALPHA = { cluster: 'alpha' };

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (e) {
    if (isAppError(e, 'INVALID_CONFIG')) return e.details as { path: string; message: string }[];
    throw e;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('Talos renderer', () => {
  it('renders a control-plane machine (golden) that validates against the upstream Talos schema', () => {
    const out = renderTalos(input(cpSpec, machine({ name: 'cp-1', ipv4: '198.18.0.11', labels: ALPHA })));
    expect(out.contentType).toBe('application/yaml');
    expectGolden('talos-controlplane.yaml', out.body);
    expect(talosSchemaErrors(out.body)).toEqual([]);
  });

  it('merges the base with the per-machine patch (golden, schema-valid)', () => {
    const out = renderTalos(input(workerSpec, machine({ name: 'node-2', ipv4: '198.18.0.22', labels: ALPHA })));
    expectGolden('talos-worker-patched.yaml', out.body);
    expect(talosSchemaErrors(out.body)).toEqual([]);
    const docs = parseAllDocuments(out.body).map((d) => d.toJSON() as Record<string, unknown>);
    const kind = (k: string) => docs.filter((d) => d.kind === k);
    expect(kind('HostnameConfig')[0]?.hostname).toBe('node-2-storage');
    expect(kind('LinkConfig').map((d) => d.name)).toEqual(['eth0', 'eth1']);
    expect(kind('KubeletConfig')[0]?.extraArgs).toEqual({ 'max-pods': '250', 'rotate-server-certificates': 'true' });
    expect(kind('SysctlConfig')[0]?.params).toEqual({ 'net.core.somaxconn': '65535', 'vm.max_map_count': '262144' });
    expect((kind('UnattendedInstall')[0]?.provisioning as { diskSelector: { match: string } }).diskSelector.match).toBe(
      'disk.dev_path == "/dev/nvme0n1"',
    );
  });

  it('gives workers no CA signing keys', () => {
    const body = renderTalos(input(workerSpec, machine({ labels: ALPHA }))).body;
    const sec = talosSection('alpha', 'worker').secrets;
    expect(body).toContain(sec.machineCa.crt);
    expect(body).not.toContain(sec.machineCa.key);
    expect(body).not.toContain(sec.etcdCa.key);
    expect(body).not.toContain(sec.kubernetesCa.key);
  });

  it("puts one cluster's secrets only into that cluster's machines' configs", () => {
    const alpha = talosSection('alpha', 'controlplane');
    const beta = talosSection('betaxx', 'controlplane');
    const a = renderTalos(input(spec({ os: 'talos', talos: alpha }), machine({ name: 'a1', labels: { cluster: 'alpha' } }))).body;
    const b = renderTalos(input(spec({ os: 'talos', talos: beta }), machine({ name: 'b1', labels: { cluster: 'betaxx' } }))).body;
    for (const s of [alpha.secrets.machineToken, alpha.secrets.clusterToken, alpha.secrets.machineCa.key, alpha.secrets.etcdCa.key]) {
      expect(a).toContain(s);
      expect(b).not.toContain(s);
    }
    for (const s of [beta.secrets.machineToken, beta.secrets.clusterToken, beta.secrets.machineCa.key]) {
      expect(b).toContain(s);
      expect(a).not.toContain(s);
    }
    // A machine labelled for another cluster never gets this profile's secrets.
    const wrong = issuesOf(() => renderTalos(input(spec({ os: 'talos', talos: alpha }), machine({ labels: { cluster: 'betaxx' } }))));
    expect(wrong[0]?.path).toBe('labels.cluster');
  });

  it('fails closed: an unlabelled machine gets no cluster secrets, with a clear error', () => {
    const issues = issuesOf(() => renderTalos(input(cpSpec, machine({ name: 'stray', labels: {} }))));
    expect(issues[0]).toEqual({ path: 'labels.cluster', message: expect.stringMatching(/no cluster label; label it cluster=alpha/) });
    expect(() => renderTalos(input(cpSpec, machine({ labels: { rack: 'r1' } })))).toThrow(/labels\.cluster: machine has no cluster label/);
  });

  it.each([
    ['cluster.endpoint', { cluster: { name: 'alpha', endpoint: 'http://insecure:6443' } }, 'spec.talos.cluster.endpoint'],
    ['bootstrap token', { secrets: { ...talosSection('alpha', 'worker').secrets, clusterToken: 'nope' } }, 'spec.talos.secrets.clusterToken'],
    ['patch address', { machines: { 'node-1': { interfaces: [{ name: 'eth0', addresses: ['198.18.0.5'] }] } } }, 'spec.talos.machines.node-1.interfaces[0].addresses[0]'],
    ['unknown key', { sysctl: {} }, 'spec.talos'],
  ])('rejects a bad %s with its JSON path', (_what, patch, path) => {
    const s = spec({ os: 'talos', talos: { ...talosSection('alpha', 'worker'), ...patch } });
    expect(issuesOf(() => renderTalos(input(s))).map((i) => i.path)).toContain(path);
  });

  it('rejects an invalid output document with the document path', () => {
    const docs = [{ version: 'v1alpha1', machine: { type: 'worker', token: 't', ca: { crt: 'c' } }, cluster: { token: 't' } }, { apiVersion: 'v1alpha1', kind: 'LinkConfig', name: 'eth0', up: true, addresses: [{ address: 'nonsense' }] }];
    expect(issuesOf(() => validateTalosDocuments(docs))[0]?.path).toBe('documents[1].addresses[0].address');
    expect(issuesOf(() => validateTalosDocuments([{ apiVersion: 'v1alpha1', kind: 'Mystery' }]))[0]?.path).toBe('documents[0].kind');
  });
});
