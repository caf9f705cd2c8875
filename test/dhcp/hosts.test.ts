import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostDirectory, cachedLookup } from '../../src/dhcp/hosts.js';
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

describe('DHCP inventory caches', () => {
  it('a reservation added while "free" is cached is seen at once (no 2 s window to hand it out)', () => {
    let loads = 0;
    const reservedFor = cachedLookup(
      (ip) => {
        loads++;
        return store.leases.reservedFor(ip);
      },
      () => store.machines.generation,
      60_000,
    );
    expect(reservedFor('198.18.0.77')).toBeUndefined();
    expect(reservedFor('198.18.0.77')).toBeUndefined();
    expect(loads).toBe(1); // cached within the TTL
    const m = store.machines.create({ name: 'r1', macs: ['52:54:00:00:00:77'], ipv4: '198.18.0.77' });
    expect(reservedFor('198.18.0.77')).toBe(m.id);
    store.machines.update('r1', { ipv4: null });
    expect(reservedFor('198.18.0.77')).toBeUndefined();
  });

  it('a machine registered or re-addressed after a cached miss is known at its next packet', () => {
    const hosts = new HostDirectory(store, 60_000);
    expect(hosts.lookup('52:54:00:00:00:78', 0)).toBeNull();
    store.machines.create({ name: 'h1', macs: ['52:54:00:00:00:78'], ipv4: '198.18.0.78' });
    expect(hosts.lookup('52:54:00:00:00:78', 1)?.reservedIp).toBe('198.18.0.78');
    store.machines.update('h1', { ipv4: '198.18.0.79' });
    expect(hosts.lookup('52:54:00:00:00:78', 2)?.reservedIp).toBe('198.18.0.79');
    store.machines.remove('h1');
    expect(hosts.lookup('52:54:00:00:00:78', 3)).toBeNull();
  });
});
