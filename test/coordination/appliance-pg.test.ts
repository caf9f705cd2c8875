import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../src/coordination/coordinator.js';
import { silentLogger } from '../../src/log.js';
import { type Appliance, startAppliance } from '../../src/main.js';
import { defaultSettings } from '../../src/settings.js';
import { type TestPostgres, startPostgres } from '../helpers/postgres.js';

let server: TestPostgres;
const dirs: string[] = [];
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An appliance served from `dataDir` on the shared PostgreSQL database. */
function serve(url: string, dataDir: string, name: string): Promise<Appliance> {
  const settings = defaultSettings({
    dataDir,
    store: { postgres: url },
    // Both appliances share this test's event loop: b's start blocks it for a while (its store's
    // round trips), so a's lease must outlive that stall or b takes it before a closes (seen in CI).
    appliance: { name, leaseMs: 6000 },
    http: { host: '127.0.0.1', port: 0 },
    api: { host: '127.0.0.1', port: 0 },
    dhcp: { enabled: false },
    tftp: { enabled: false },
  });
  return startAppliance(settings, silentLogger());
}

describe('two served appliances on one PostgreSQL inventory', () => {
  it('one runs the rollout runner and retention; the other takes both over when the first shuts down; each stamps its own rows', async () => {
    const url = await server.createDatabase();
    const dirA = mkdtempSync(join(tmpdir(), 'rb-app-a-'));
    const dirB = mkdtempSync(join(tmpdir(), 'rb-app-b-'));
    dirs.push(dirA, dirB);
    const a = await serve(url, dirA, 'pg-a');
    copyFileSync(join(dirA, 'secret.key'), join(dirB, 'secret.key')); // appliances on one inventory share its sealing key
    const b = await serve(url, dirB, 'pg-b');
    try {
      expect(a.store.coordination.get(ROLES.rolloutRunner)?.appliance).toBe('pg-a');
      expect(a.store.coordination.get(ROLES.retention)?.appliance).toBe('pg-a');
      const m = a.store.machines.create({ name: 'n1', macs: ['02:00:00:00:00:01'] });
      a.store.events.add({ machineId: m.id, source: 'api', kind: 'machine.note' });
      b.store.events.add({ machineId: m.id, source: 'api', kind: 'machine.note' });
      expect(b.store.events.list({ machineId: m.id }).map((e) => e.appliance)).toEqual(['pg-a', 'pg-b']);
      await a.close();
      // Released on close: b takes both roles at its next claim (every 2 s; bounded wait of 10 s).
      for (let i = 0; i < 200 && b.store.coordination.get(ROLES.retention)?.appliance !== 'pg-b'; i++) await sleep(50);
      for (let i = 0; i < 200 && b.store.coordination.get(ROLES.rolloutRunner)?.appliance !== 'pg-b'; i++) await sleep(50);
      expect(b.store.coordination.get(ROLES.rolloutRunner)).toMatchObject({ appliance: 'pg-b', epoch: 1 });
      expect(b.store.coordination.get(ROLES.retention)?.appliance).toBe('pg-b');
      const changes = b.store.events.list({ kind: 'leader.taken', limit: 100 }).map((e) => [e.appliance, e.detail.role]);
      expect(changes).toEqual(expect.arrayContaining([['pg-a', ROLES.rolloutRunner], ['pg-b', ROLES.rolloutRunner]]));
    } finally {
      await a.close();
      await b.close();
    }
  }, 120_000);
});
