import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/** How a fake pod answers eviction: at once, 429 for the first N tries, or 429 forever (a PDB at its minimum). */
export type PodBehaviour = { kind: 'ok' } | { kind: 'pdb'; times: number } | { kind: 'pdb-forever' };

interface FakePod {
  namespace: string;
  name: string;
  node: string;
  behaviour: PodBehaviour;
  evictions: number;
  ownerKind?: string;
  mirror?: boolean;
}

/** A fake Node: schedulability, Ready with its transition time, bootID and addresses. */
export interface FakeNode {
  unschedulable: boolean;
  ready: boolean;
  readySince: string;
  bootId: string | null;
  addresses: string[];
}

/**
 * A small Kubernetes API server (node:http on 127.0.0.1): nodes (read, strategic-merge patch of
 * spec.unschedulable), pods by spec.nodeName, and the policy/v1 Eviction subresource.
 * Also answers POST /hook as a pre/post webhook (503 for the first `webhookBusy` calls).
 */
export class FakeKube {
  nodes = new Map<string, FakeNode>();
  pods: FakePod[] = [];
  requests: string[] = [];
  webhookCalls: unknown[] = [];
  webhookBusy = 0;
  private server: Server | undefined;
  url = '';

  addNode(name: string, ready = true, extra: Partial<Omit<FakeNode, 'ready'>> = {}): void {
    this.nodes.set(name, { unschedulable: false, ready, readySince: '2020-01-01T00:00:00Z', bootId: null, addresses: [], ...extra });
  }

  /** A Node's Ready condition changes (as the kubelet/node controller would post it); a boot gives a new bootID. */
  setReady(name: string, ready: boolean, at: Date, bootId?: string): void {
    const n = this.nodes.get(name)!;
    if (n.ready !== ready) n.readySince = at.toISOString();
    n.ready = ready;
    if (bootId !== undefined) n.bootId = bootId;
  }

  addPod(p: Omit<FakePod, 'evictions'>): void {
    this.pods.push({ ...p, evictions: 0 });
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => this.handle(req, res, body));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  /** Writes a kubeconfig pointing at this server; returns its path. */
  writeKubeconfig(path: string): string {
    writeFileSync(
      path,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        // The client refuses plain http unless TLS verification is off (real clusters use https + CA).
        clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'fake', user: { token: 'fake-token' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
        'current-context': 'fake',
      }),
    );
    return path;
  }

  private send(res: ServerResponse, status: number, obj: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(obj));
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.send(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
  }

  private nodeJson(name: string) {
    const n = this.nodes.get(name)!;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      spec: { unschedulable: n.unschedulable },
      status: {
        conditions: [{ type: 'Ready', status: n.ready ? 'True' : 'False', lastTransitionTime: n.readySince }],
        addresses: n.addresses.map((address) => ({ type: 'InternalIP', address })),
        ...(n.bootId ? { nodeInfo: { bootID: n.bootId, osImage: 'Talos (v1.9.0)', kubeletVersion: 'v1.32.0', machineID: '', systemUUID: '', kernelVersion: '', containerRuntimeVersion: '', kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64' } } : {}),
      },
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (url.pathname === '/hook' && req.method === 'POST') {
      this.webhookCalls.push(JSON.parse(body));
      if (this.webhookBusy > 0) {
        this.webhookBusy--;
        return this.send(res, 503, { busy: true });
      }
      return this.send(res, 200, { ok: true });
    }
    if (req.headers.authorization !== 'Bearer fake-token') return this.status(res, 401, 'Unauthorized', 'no token');
    if (url.pathname === '/api/v1/nodes' && req.method === 'GET') {
      return this.send(res, 200, { apiVersion: 'v1', kind: 'NodeList', metadata: {}, items: [...this.nodes.keys()].map((n) => this.nodeJson(n)) });
    }
    let m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const name = decodeURIComponent(m[1]!);
      const node = this.nodes.get(name);
      if (!node) return this.status(res, 404, 'NotFound', `nodes "${name}" not found`);
      if (req.method === 'PATCH') {
        if (req.headers['content-type'] !== 'application/strategic-merge-patch+json') return this.status(res, 415, 'UnsupportedMediaType', String(req.headers['content-type']));
        const patch = JSON.parse(body) as { spec?: { unschedulable?: boolean } };
        if (patch.spec?.unschedulable !== undefined) node.unschedulable = patch.spec.unschedulable;
      }
      return this.send(res, 200, this.nodeJson(name));
    }
    if (url.pathname === '/api/v1/pods' && req.method === 'GET') {
      const sel = /^spec\.nodeName=(.+)$/.exec(url.searchParams.get('fieldSelector') ?? '');
      const items = this.pods
        .filter((p) => !sel || p.node === sel[1])
        .map((p) => ({
          metadata: {
            name: p.name,
            namespace: p.namespace,
            ...(p.ownerKind ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: p.ownerKind, name: 'x', uid: 'u' }] } : {}),
            ...(p.mirror ? { annotations: { 'kubernetes.io/config.mirror': 'abc' } } : {}),
          },
          spec: { nodeName: p.node, containers: [] },
          status: { phase: 'Running' },
        }));
      return this.send(res, 200, { apiVersion: 'v1', kind: 'PodList', metadata: {}, items });
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/.exec(url.pathname);
    if (m && req.method === 'POST') {
      const pod = this.pods.find((p) => p.namespace === m![1] && p.name === m![2]);
      if (!pod) return this.status(res, 404, 'NotFound', `pods "${m[2]}" not found`);
      pod.evictions++;
      const b = pod.behaviour;
      if (b.kind === 'pdb-forever' || (b.kind === 'pdb' && pod.evictions <= b.times)) {
        return this.status(res, 429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.");
      }
      this.pods = this.pods.filter((p) => p !== pod);
      return this.send(res, 201, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod.name, namespace: pod.namespace } });
    }
    return this.status(res, 404, 'NotFound', `no route ${req.method} ${url.pathname}`);
  }
}
