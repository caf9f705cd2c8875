import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostDirectory } from '../../src/dhcp/hosts.js';
import { Store } from '../../src/inventory/store.js';

let dir: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-hosts-'));
  store = Store.open(dir);
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('DHCP host directory (in memory, kept current from the machine change log)', () => {
  it('a reservation added for a free address is seen at once (never handed to another client)', () => {
    const hosts = new HostDirectory(store, 60_000);
    expect(hosts.reservedFor('198.18.0.77')).toBeUndefined();
    const m = store.machines.create({ name: 'r1', macs: ['52:54:00:00:00:77'], ipv4: '198.18.0.77' });
    expect(hosts.reservedFor('198.18.0.77')).toBe(m.id);
    store.machines.update('r1', { ipv4: '198.18.0.78' });
    expect(hosts.reservedFor('198.18.0.77')).toBeUndefined();
    expect(hosts.reservedFor('198.18.0.78')).toBe(m.id);
    store.machines.remove('r1');
    expect(hosts.reservedFor('198.18.0.78')).toBeUndefined();
  });

  it('a machine registered, re-addressed or removed after a miss is known at its next packet', () => {
    const hosts = new HostDirectory(store, 60_000);
    expect(hosts.lookup('52:54:00:00:00:78', 0)).toBeNull();
    store.machines.create({ name: 'h1', macs: ['52:54:00:00:00:78'], ipv4: '198.18.0.78' });
    expect(hosts.lookup('52:54:00:00:00:78', 1)?.reservedIp).toBe('198.18.0.78');
    store.machines.update('h1', { ipv4: '198.18.0.79' });
    expect(hosts.lookup('52:54:00:00:00:78', 2)?.reservedIp).toBe('198.18.0.79');
    store.machines.remove('h1');
    expect(hosts.lookup('52:54:00:00:00:78', 3)).toBeNull();
  });

  it('a MAC moved from one machine to another follows it; other machines stay loaded', () => {
    const a = store.machines.create({ name: 'a', macs: ['52:54:00:00:01:01', '52:54:00:00:01:02'] });
    const b = store.machines.create({ name: 'b', macs: ['52:54:00:00:02:01'] });
    const hosts = new HostDirectory(store, 60_000);
    expect(hosts.lookup('52:54:00:00:01:02', 0)?.machineId).toBe(a.id);
    store.machines.update('a', { macs: ['52:54:00:00:01:01'] });
    store.machines.update('b', { macs: ['52:54:00:00:02:01', '52:54:00:00:01:02'] });
    expect(hosts.lookup('52:54:00:00:01:02', 1)?.machineId).toBe(b.id);
    expect(hosts.lookup('52:54:00:00:01:01', 1)?.machineId).toBe(a.id);
    expect(hosts.lookup('52:54:00:00:02:01', 1)?.machineId).toBe(b.id);
  });

  it('a failed write or a long gap reloads everything; a state change is seen at once', () => {
    store.machines.create({ name: 'c', macs: ['52:54:00:00:03:01'] });
    const hosts = new HostDirectory(store, 60_000);
    expect(hosts.lookup('52:54:00:00:03:01', 0)?.discovered).toBe(false);
    expect(() => store.machines.create({ name: 'c', macs: ['52:54:00:00:03:02'] })).toThrow();
    expect(store.machines.changedSince(store.machines.generation - 1)).toBeUndefined();
    store.machines.update('c', { state: 'discovered' });
    expect(hosts.lookup('52:54:00:00:03:01', 1)?.discovered).toBe(true);
    for (let i = 0; i < 1100; i++) store.machines.create({ name: `bulk-${i}`, macs: [`52:54:00:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`] });
    expect(hosts.lookup('52:54:00:01:04:4b', 2)?.machineId).toBe(store.machines.find('bulk-1099')?.id);
  });

  it("another writer's change (another appliance) counts once it is announced (invalidate), and a failed reload keeps the view", () => {
    const other = Store.open(dir); // a second connection: its writes are not in this process's change log
    try {
      let now = 0;
      const hosts = new HostDirectory(store, 60_000, () => now);
      hosts.sync();
      const m = other.machines.create({ name: 'peer', macs: ['52:54:00:00:00:90'], ipv4: '198.18.0.90' });
      expect(hosts.lookup('52:54:00:00:00:90', 0)).toBeNull();
      hosts.invalidate([m.id]);
      expect(hosts.lookup('52:54:00:00:00:90', 1)?.reservedIp).toBe('198.18.0.90');
      other.machines.update('peer', { ipv4: '198.18.0.91' });
      // The store is unreachable while the change is announced: the old view answers meanwhile.
      const hostsOf = store.leases.hosts.bind(store.leases);
      store.leases.hosts = () => {
        throw Object.assign(new Error('gone'), { code: 'STORE_UNAVAILABLE' });
      };
      hosts.invalidate([m.id]);
      expect(hosts.lookup('52:54:00:00:00:90', 2)?.reservedIp).toBe('198.18.0.90');
      store.leases.hosts = hostsOf;
      // Retried a second later (the directory's clock), then current.
      expect(hosts.reservedFor('198.18.0.91')).toBeUndefined();
      now += 1000;
      expect(hosts.reservedFor('198.18.0.91')).toBe(m.id);
    } finally {
      other.close();
    }
  });

  it('a reload failing for another reason than an outage is thrown once per retry, the old view serving in between', () => {
    let now = 0;
    const hosts = new HostDirectory(store, 60_000, () => now);
    const m = store.machines.create({ name: 'seen', macs: ['52:54:00:00:00:91'], ipv4: '198.18.0.91' });
    expect(hosts.lookup('52:54:00:00:00:91', 0)?.reservedIp).toBe('198.18.0.91');
    const hostsOf = store.leases.hosts.bind(store.leases);
    store.leases.hosts = () => {
      throw new Error('a bug in the host query');
    };
    hosts.invalidate([m.id]);
    expect(() => hosts.lookup('52:54:00:00:00:91', 1)).toThrow(/bug in the host query/);
    expect(hosts.lookup('52:54:00:00:00:91', 2)?.reservedIp).toBe('198.18.0.91');
    now += 1000;
    expect(() => hosts.lookup('52:54:00:00:00:91', 3)).toThrow(/bug in the host query/);
    store.leases.hosts = hostsOf;
    now += 1000;
    expect(hosts.lookup('52:54:00:00:00:91', 4)?.reservedIp).toBe('198.18.0.91');
  });
});
