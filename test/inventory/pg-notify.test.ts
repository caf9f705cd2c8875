import { describe, expect, it } from 'vitest';
import { parseChange } from '../../src/inventory/pg-notify.js';

const lease = { t: 'lease', ip: '198.18.0.100', mac: '02:00:00:00:00:01', clientId: '01aa', hostname: null, state: 'active', expiresAt: 5, updatedAt: 4 };

describe('change notification payloads (issue #20)', () => {
  it.each([
    ['a lease row', JSON.stringify(lease), { kind: 'lease', lease: { ip: '198.18.0.100', mac: '02:00:00:00:00:01', clientId: '01aa', hostname: null, state: 'active', expiresAt: 5, updatedAt: 4 } }],
    ['a lease without client id keys on its MAC', JSON.stringify({ ...lease, clientId: null }), { kind: 'lease', lease: expect.objectContaining({ clientId: '02:00:00:00:00:01' }) }],
    ['a machine', '{"t":"machine","id":42}', { kind: 'machine', id: 42 }],
    ['not JSON', 'lease 198.18.0.100', undefined],
    ['JSON null', 'null', undefined],
    ['an unknown kind', '{"t":"profile","name":"p"}', undefined],
    ['a machine id that is not an integer', '{"t":"machine","id":"42"}', undefined],
    ['a lease in a state no row has', JSON.stringify({ ...lease, state: 'offered' }), undefined],
    ['a lease without its expiry', JSON.stringify({ ...lease, expiresAt: null }), undefined],
  ])('%s', (_name, payload, want) => {
    expect(parseChange(payload)).toEqual(want);
  });
});

describe('pool start offsets of appliances (issue #20)', () => {
  it('neighbouring server addresses start far apart in the pool, and always inside it', async () => {
    const { poolStartOffset } = await import('../../src/dhcp/change-feed.js');
    const size = 130_000;
    const a = poolStartOffset('198.18.0.1', size);
    const b = poolStartOffset('198.18.0.2', size);
    const apart = Math.min(Math.abs(a - b), size - Math.abs(a - b));
    expect(apart).toBeGreaterThan(size / 4);
    for (const ip of ['0.0.0.0', '255.255.255.255', '10.0.0.1']) {
      const o = poolStartOffset(ip, 16);
      expect(o >= 0 && o < 16).toBe(true);
    }
    // What was computed before (octets folded by hand) for these addresses.
    expect([a, b]).toEqual([84_150, 34_494]);
    // Not an address: a clear error, not a NaN search start.
    expect(() => poolStartOffset('198.18.0', size)).toThrow(/not an IPv4 address/);
  });
});
