import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { normalizeMac } from '../../src/model/mac.js';
import { parseSelector } from '../../src/inventory/match.js';
import type { ProfileSpec } from '../../src/model/profile-spec.js';
import { Store } from '../../src/inventory/store.js';
import { DIALECTS, useStores } from '../helpers/stores.js';

const stores = useStores();
const spec: ProfileSpec = { boot: 'network', chain: 'ipxe', os: 'testos', initrd: [], cmdline: '', requireSecureBoot: false };

describe('MAC normalisation', () => {
  it.each([
    ['aa:bb:cc:dd:ee:ff', 'aa:bb:cc:dd:ee:ff'],
    ['AA-BB-CC-DD-EE-FF', 'aa:bb:cc:dd:ee:ff'],
    ['aabb.ccdd.eeff', 'aa:bb:cc:dd:ee:ff'],
    ['AABBCCDDEEFF', 'aa:bb:cc:dd:ee:ff'],
    [' aa:bb:cc:dd:ee:ff ', 'aa:bb:cc:dd:ee:ff'],
  ])('%s → %s', (input, want) => expect(normalizeMac(input)).toBe(want));

  it.each(['', 'aa:bb:cc:dd:ee', 'aa:bb-cc:dd:ee:ff', 'gg:bb:cc:dd:ee:ff', 'aabbccddeeff00', 'aa:bb:cc:dd:ee:ff\0'])(
    'rejects %j with BAD_INPUT',
    (input) => {
      expect(() => normalizeMac(input)).toThrowError(/not a MAC/);
    },
  );
});

describe('label selectors', () => {
  it('rejects a malformed selector', () => {
    expect(() => parseSelector('=x')).toThrowError(/bad label selector/);
  });
});

describe.each(DIALECTS)('inventory on %s', (dialect) => {
  describe('label selectors', () => {
    const labels = { rack: 'r1', role: 'worker', canary: '' };
    it.each([
      ['', true],
      ['rack=r1', true],
      ['rack==r1,role=worker', true],
      ['rack=r2', false],
      ['role!=gpu', true],
      ['canary', true],
      ['!canary', false],
      ['!retired', true],
      ['rack=r1,role!=worker', false],
    ])('%j matches: %s', async (sel, want) => {
      const store = await stores.fresh(dialect);
      store.machines.create({ name: 'm1', macs: ['02:00:00:00:00:01'], labels });
      expect(store.machines.list(parseSelector(sel)).length === 1).toBe(want);
    });
  });

  describe('machines', () => {
    it('creates, finds by id, name and any MAC form, updates and deletes', async () => {
      const s = await stores.fresh(dialect);
      const m = s.machines.create({ name: 'n1', macs: ['AA-BB-CC-00-00-01', '02:00:00:00:00:02'], labels: { rack: 'r1' } });
      expect(m.macs).toEqual(['aa:bb:cc:00:00:01', '02:00:00:00:00:02']);
      expect(s.machines.get('n1').id).toBe(m.id);
      expect(s.machines.get(String(m.id)).name).toBe('n1');
      expect(s.machines.get('aabb.cc00.0001').name).toBe('n1');
      expect(s.machines.findByMac('02:00:00:00:00:02')?.name).toBe('n1');
      const u = s.machines.update(m.id, { labels: { rack: 'r2' }, ipv4: '198.18.0.10', macs: ['aa:bb:cc:00:00:03'] });
      expect(u.labels).toEqual({ rack: 'r2' });
      expect(u.macs).toEqual(['aa:bb:cc:00:00:03']);
      expect(s.machines.findByMac('aa:bb:cc:00:00:01')).toBeUndefined();
      s.machines.remove('n1');
      expect(s.machines.find('n1')).toBeUndefined();
    });

    it('refuses a duplicate MAC, name or reserved address with CONFLICT and changes nothing', async () => {
      const s = await stores.fresh(dialect);
      s.machines.create({ name: 'n1', macs: ['aa:bb:cc:00:00:01'], ipv4: '198.18.0.10' });
      const attempts = [
        () => s.machines.create({ name: 'n2', macs: ['AABBCC000001'] }),
        () => s.machines.create({ name: 'n1', macs: ['aa:bb:cc:00:00:02'] }),
        () => s.machines.create({ name: 'n3', macs: ['aa:bb:cc:00:00:03'], ipv4: '198.18.0.10' }),
      ];
      for (const f of attempts) {
        let err: unknown;
        try {
          f();
        } catch (e) {
          err = e;
        }
        expect(isAppError(err, 'CONFLICT')).toBe(true);
      }
      expect(s.machines.list().map((m) => m.name)).toEqual(['n1']);
    });

    it('rejects bad labels', async () => {
      const s = await stores.fresh(dialect);
      expect(() => s.machines.create({ name: 'n1', macs: ['aa:bb:cc:00:00:01'], labels: { 'bad key!': 'x' } })).toThrowError(
        /bad label/,
      );
    });

    it('lists by name in byte order (upper case before lower, as SQLite orders text), ids never reused', async () => {
      const s = await stores.fresh(dialect);
      const ids = ['node-10', 'Node-2', 'node-2', 'node_1'].map((name, i) => s.machines.create({ name, macs: [`02:00:00:00:01:0${i}`] }).id);
      expect(s.machines.list().map((m) => m.name)).toEqual(['Node-2', 'node-10', 'node-2', 'node_1']);
      s.machines.remove('node_1');
      expect(s.machines.create({ name: 'again', macs: ['02:00:00:00:01:09'] }).id).toBeGreaterThan(Math.max(...ids));
    });
  });

  describe('ids from outside', () => {
    it('a number past any id (past BIGINT, or not exact in JavaScript) finds nothing, never an error', async () => {
      const s = await stores.fresh(dialect);
      const m = s.machines.create({ name: 'n1', macs: ['aa:bb:cc:00:00:01'] });
      s.events.add({ machineId: m.id, source: 'api', kind: 'x' });
      for (const big of ['99999999999999999999', String(2 ** 63), '9007199254740993']) {
        expect(s.machines.find(big)).toBeUndefined();
        expect(s.apiTokens.find(big)).toBeUndefined();
        expect(s.configs.findVersion(Number(big))).toBeUndefined();
        expect(s.rollouts.find(Number(big))).toBeUndefined();
        expect(s.events.list({ afterId: Number(big) })).toEqual([]);
      }
      expect(s.events.list({ afterId: -1e20 })).toHaveLength(1);
    });
  });

  describe('profiles', () => {
    it('bumps the revision only when the spec changes and refuses deleting a used profile', async () => {
      const s = await stores.fresh(dialect);
      s.profiles.create('p', spec);
      expect(s.profiles.update('p', spec).revision).toBe(1);
      expect(s.profiles.update('p', { ...spec, cmdline: 'quiet' }).revision).toBe(2);
      s.machines.create({ name: 'n1', macs: ['aa:bb:cc:00:00:01'], profile: 'p' });
      expect(() => s.profiles.remove('p')).toThrowError(/used by 1/);
    });
  });

  describe('BMC secrets', () => {
    it('are sealed at rest with the key file (0600) and opened only through credentials()', async () => {
      const s = await stores.fresh(dialect);
      const dir = stores.dataDir(s);
      const m = s.machines.create({ name: 'n1', macs: ['aa:bb:cc:00:00:01'] });
      const info = s.bmcs.set(m.id, { type: 'ipmi', address: '198.18.0.50', username: 'admin', password: 'hunter2-secret' });
      expect(JSON.stringify(info)).not.toContain('hunter2');
      expect(s.bmcs.credentials(m.id).password).toBe('hunter2-secret');
      const row = Store.rawDb(s).prepare('SELECT * FROM bmcs').get() as { secret: Buffer };
      expect(row.secret.includes('hunter2-secret')).toBe(false);
      const again = await stores.reopen(s);
      expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
      if (dialect === 'sqlite') {
        for (const f of ['inventory.db', 'inventory.db-wal']) {
          try {
            expect(readFileSync(join(dir, f)).includes('hunter2-secret')).toBe(false);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          }
        }
      }
      expect(again.bmcs.credentials(m.id).password).toBe('hunter2-secret');
    });
  });

  describe('events', () => {
    it('attach to the machine owning the MAC and list per machine and per MAC', async () => {
      const s = await stores.fresh(dialect);
      const m = s.machines.create({ name: 'n1', macs: ['aa:bb:cc:00:00:01'] });
      s.events.add({ mac: 'aa:bb:cc:00:00:01', source: 'dhcp', kind: 'dhcp.offer', detail: { xid: 1 } });
      s.events.add({ mac: 'aa:bb:cc:00:00:09', source: 'dhcp', kind: 'dhcp.offer' });
      expect(s.events.list({ machineId: m.id }).map((e) => e.detail)).toEqual([{ xid: 1 }]);
      expect(s.events.list({ mac: 'aa:bb:cc:00:00:09' })).toHaveLength(1);
      expect(s.events.latest({ machineId: m.id }, 5).map((e) => e.kind)).toEqual(['dhcp.offer']);
    });

    it('add returns increasing ids; latest reads the end of a trace, oldest first', async () => {
      const s = await stores.fresh(dialect);
      const m = s.machines.create({ name: 'n1', macs: ['aa:bb:cc:00:00:01'] });
      const ids = ['a', 'b', 'c', 'd'].map((kind) => s.events.add({ machineId: m.id, source: 'http', kind }));
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(new Set(ids).size).toBe(4);
      expect(s.events.lastId()).toBe(ids[3]);
      expect(s.events.latest({ machineId: m.id }, 2).map((e) => e.kind)).toEqual(['c', 'd']);
      expect(s.events.list({ machineId: m.id, afterId: ids[1] }).map((e) => e.id)).toEqual(ids.slice(2));
    });

    it('queued rows (addSoon) keep their order, are seen by reads, and are written by close', async () => {
      const s = await stores.fresh(dialect);
      const m = s.machines.create({ name: 'q1', macs: ['aa:bb:cc:00:00:02'] });
      s.events.addSoon({ mac: 'aa:bb:cc:00:00:02', machineId: m.id, source: 'dhcp', kind: 'dhcp.offer' });
      s.events.addSoon({ mac: 'aa:bb:cc:00:00:02', machineId: m.id, source: 'dhcp', kind: 'dhcp.ack' });
      // Another subsystem's event comes after them: the queue is written first.
      s.events.add({ mac: 'aa:bb:cc:00:00:02', machineId: m.id, source: 'tftp', kind: 'tftp.sent' });
      s.events.addSoon({ mac: 'aa:bb:cc:00:00:02', machineId: m.id, source: 'dhcp', kind: 'dhcp.release' });
      expect(s.events.list({ machineId: m.id }).map((e) => e.kind)).toEqual(['dhcp.offer', 'dhcp.ack', 'tftp.sent', 'dhcp.release']);
      s.events.addSoon({ mac: 'aa:bb:cc:00:00:02', machineId: m.id, source: 'dhcp', kind: 'dhcp.offer' });
      const again = await stores.reopen(s);
      expect(again.events.list({ mac: 'aa:bb:cc:00:00:02' })).toHaveLength(5);
    });
  });
});

// SQLite-only: the plan is SQLite's query planner (EXPLAIN QUERY PLAN).
describe('events on sqlite', () => {
  it("a machine's trace uses the indexes (DHCP rows through events_mac, the others through events_machine)", () => {
    const s = Store.memory();
    const plan = Store.rawDb(s)
      .prepare(
        "EXPLAIN QUERY PLAN SELECT * FROM events WHERE ((machine_id = ? AND source <> 'dhcp') OR mac IN (SELECT mac FROM interfaces WHERE machine_id = ?)) AND id > ? ORDER BY id",
      )
      .all(1, 1, 0) as Array<{ detail: string }>;
    const text = plan.map((r) => r.detail).join('\n');
    expect(text).toContain('events_machine');
    expect(text).toContain('events_mac');
    expect(text).not.toMatch(/SCAN events(?! USING)/);
    s.close();
  });
});
