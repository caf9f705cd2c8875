import { expect, it } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { NeighbourTable, clientMacOf, macForClientIp, parseProcNetArp } from '../../src/net/client-mac.js';

it('reads complete neighbour entries from /proc/net/arp and skips incomplete ones', () => {
  const text = [
    'IP address       HW type     Flags       HW address            Mask     Device',
    '198.18.0.100     0x1         0x2         52:54:00:AA:00:01     *        br0',
    '198.18.0.101     0x1         0x0         00:00:00:00:00:00     *        br0',
    '198.18.0.102     0x1         0x6         52:54:00:aa:00:02     *        br0',
    'garbage',
  ].join('\n');
  expect([...parseProcNetArp(text)]).toEqual([
    ['198.18.0.100', '52:54:00:aa:00:01'],
    ['198.18.0.102', '52:54:00:aa:00:02'],
  ]);
});

it('prefers the DHCP lease for a client IP', () => {
  const store = Store.memory();
  store.leases.put({
    ip: '198.18.0.150',
    mac: '52:54:00:00:00:07',
    clientId: '52:54:00:00:00:07',
    hostname: null,
    state: 'active',
    expiresAt: Date.now() + 60_000,
    updatedAt: Date.now(),
  });
  expect(macForClientIp(store, '::ffff:198.18.0.150')).toBe('52:54:00:00:00:07');
});

it('clientMacOf: the lease first, else the neighbour table (ProxyDHCP: no lease of ours)', () => {
  const store = Store.memory();
  const neighbourMac = (ip: string) => (ip === '198.18.0.151' ? '52:54:00:00:00:08' : undefined);
  expect(clientMacOf({ store, neighbourMac }, '::ffff:198.18.0.151')).toBe('52:54:00:00:00:08');
  expect(clientMacOf({ store, neighbourMac }, '198.18.0.152')).toBeUndefined();
  store.leases.put({ ip: '198.18.0.151', mac: '52:54:00:00:00:09', clientId: '52:54:00:00:00:09', hostname: null, state: 'active', expiresAt: Date.now() + 60_000, updatedAt: Date.now() });
  expect(clientMacOf({ store, neighbourMac }, '198.18.0.151')).toBe('52:54:00:00:00:09');
});

it('NeighbourTable: one copy per appliance, re-read when older than asked (0: now), ::ffff: forms', () => {
  let reads = 0;
  let at = 1_000;
  let text = 'IP address HW type Flags HW address Mask Device\n198.18.0.100 0x1 0x2 52:54:00:aa:00:01 * br0';
  const read = () => {
    reads++;
    return text;
  };
  const table = new NeighbourTable(read, () => at);
  expect(table.lookup('::ffff:198.18.0.100', 1000)).toBe('52:54:00:aa:00:01');
  text = 'IP address HW type Flags HW address Mask Device\n198.18.0.100 0x1 0x2 52:54:00:aa:00:02 * br0';
  at += 500;
  expect(table.lookup('198.18.0.100', 1000)).toBe('52:54:00:aa:00:01');
  expect(reads).toBe(1);
  expect(table.lookup('198.18.0.100', 0)).toBe('52:54:00:aa:00:02');
  at += 1001;
  expect(table.lookup('198.18.0.101', 1000)).toBeUndefined();
  expect(reads).toBe(3);
  // Two appliances in one process share nothing.
  expect(new NeighbourTable(() => '', () => at).lookup('198.18.0.100', 1000)).toBeUndefined();
});
