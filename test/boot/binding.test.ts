import { describe, expect, it } from 'vitest';
import { type BindingEvidence, checkBinding, normalizeSourceAddress } from '../../src/boot/binding.js';
import { REPORT_PHASES, REPORT_TRANSITIONS, nextMachineState } from '../../src/boot/transitions.js';
import { MSG } from '../../src/dhcp/options.js';
import type { DhcpPacket } from '../../src/dhcp/packet.js';
import type { DhcpRequest } from '../../src/dhcp/request.js';
import { sightedAddress } from '../../src/dhcp/sighting.js';
import { MACHINE_STATES } from '../../src/inventory/machines.js';
import { SightingBook } from '../../src/inventory/sightings.js';

const VICTIM = '52:54:00:00:0f:01';
const OTHER_NIC = '52:54:00:00:0f:02';
const ATTACKER = '52:54:00:00:0a:01';
const base: BindingEvidence = { binding: 'on', macs: [VICTIM, OTHER_NIC], source: '198.18.0.11' };

describe('checkBinding (pure)', () => {
  it.each<[string, Partial<BindingEvidence>, ReturnType<typeof checkBinding>]>([
    ['nothing known about the source', {}, { ok: false, reason: 'unbound-source' }],
    ['bootBinding off (NAT lab): anything goes', { binding: 'off', source: '10.0.2.2' }, { ok: true, by: 'binding-off' }],
    ['bootBinding off, even an IPv6 source', { binding: 'off', source: 'fe80::1' }, { ok: true, by: 'binding-off' }],
    ['full mode: our active lease of the source, held by the machine', { lease: { mac: VICTIM, active: true } }, { ok: true, by: 'lease' }],
    ['full mode: the lease of its second NIC', { lease: { mac: OTHER_NIC, active: true } }, { ok: true, by: 'lease' }],
    ['full mode: the address is leased to another MAC', { lease: { mac: ATTACKER, active: true } }, { ok: false, reason: 'lease-mismatch' }],
    ['full mode: an expired lease says nothing', { lease: { mac: VICTIM, active: false } }, { ok: false, reason: 'unbound-source' }],
    ['proxy mode: the neighbour entry is the machine', { neighbourMac: VICTIM }, { ok: true, by: 'neighbour' }],
    ['neighbour case-insensitive', { neighbourMac: VICTIM.toUpperCase() }, { ok: true, by: 'neighbour' }],
    ['proxy mode: another host on the segment', { neighbourMac: ATTACKER }, { ok: false, reason: 'neighbour-mismatch' }],
    ['another host beats a matching lease (forged DHCP)', { neighbourMac: ATTACKER, lease: { mac: VICTIM, active: true } }, { ok: false, reason: 'neighbour-mismatch' }],
    ['another host beats a matching sighting (forged PXE request)', { neighbourMac: ATTACKER, sightings: ['198.18.0.11'] }, { ok: false, reason: 'neighbour-mismatch' }],
    ['the machine on-link beats a stale lease of another MAC', { neighbourMac: VICTIM, lease: { mac: ATTACKER, active: true } }, { ok: true, by: 'neighbour' }],
    ['proxy mode, relayed (no neighbour entry): seen in its PXE exchange', { sightings: ['198.18.0.11'] }, { ok: true, by: 'sighting' }],
    ['proxy mode: seen elsewhere', { sightings: ['198.18.0.12'] }, { ok: false, reason: 'unbound-source' }],
    ['IPv6 source with binding on', { source: 'fe80::1' }, { ok: false, reason: 'not-ipv4' }],
    ['not an address at all', { source: 'localhost' }, { ok: false, reason: 'not-ipv4' }],
  ])('%s', (_name, over, want) => {
    expect(checkBinding({ ...base, ...over })).toEqual(want);
  });

  it.each([
    ['::ffff:198.18.0.11', '198.18.0.11'],
    ['::FFFF:198.18.0.11', '198.18.0.11'],
    ['198.18.0.11', '198.18.0.11'],
    [' 198.18.0.11 ', '198.18.0.11'],
    ['::1', '::1'],
    ['FE80::1', 'fe80::1'],
  ])('normalizeSourceAddress(%s) = %s', (raw, want) => {
    expect(normalizeSourceAddress(raw)).toBe(want);
  });

  it('an IPv4-mapped source is bound like its IPv4 form', () => {
    expect(checkBinding({ ...base, source: normalizeSourceAddress('::ffff:198.18.0.11'), lease: { mac: VICTIM, active: true } })).toEqual({ ok: true, by: 'lease' });
  });
});

describe('report transitions (pure table)', () => {
  it.each([
    ['booting', 'booting', false, 'booting'],
    ['booting', 'configured', false, 'configured'],
    ['booting', 'installed', false, 'installed'],
    ['booting', 'ready', true, 'drifted'],
    ['configured', 'installing', false, 'installing'],
    ['installing', 'installed', false, 'installed'],
    ['installed', 'ready', false, 'ready'],
    ['ready', 'ready', false, 'ready'],
    ['ready', 'failed', false, 'failed'],
    ['drifted', 'ready', false, 'ready'],
    ['drifted', 'ready', true, 'drifted'],
    ['installing', 'failed', true, 'failed'],
    ['failed', 'failed', false, 'failed'],
  ] as const)('%s + %s (drift %s) → %s', (from, phase, drift, want) => {
    expect(nextMachineState(from, phase, drift)).toBe(want);
  });

  it.each([
    // No network boot since the machine was (re-)registered: any report is from an older boot.
    ['registered', 'ready'],
    ['registered', 'booting'],
    ['registered', 'failed'],
    ['discovered', 'booting'],
    // Backward moves are stale or replayed reports.
    ['ready', 'configured'],
    ['ready', 'booting'],
    ['installed', 'installing'],
    ['installing', 'ready'],
    // A failed machine waits for its next network boot.
    ['failed', 'ready'],
    ['failed', 'configured'],
  ] as const)('%s + %s is refused with CONFLICT', (from, phase) => {
    expect(() => nextMachineState(from, phase)).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
  });

  it('has a row for every machine state and only known phases', () => {
    expect(Object.keys(REPORT_TRANSITIONS).sort()).toEqual([...MACHINE_STATES].sort());
    for (const phases of Object.values(REPORT_TRANSITIONS)) for (const p of phases) expect(REPORT_PHASES).toContain(p);
  });
});

describe('ProxyDHCP sightings', () => {
  const packet = (over: Partial<DhcpPacket>) => ({ ciaddr: '0.0.0.0', giaddr: '0.0.0.0', ...over }) as DhcpPacket;
  const req = (type: number, over: Partial<DhcpPacket> = {}, requestedIp?: string) =>
    ({ type, mac: VICTIM, packet: packet(over), ...(requestedIp ? { requestedIp } : {}) }) as unknown as DhcpRequest;

  it.each([
    ['DISCOVER from 0.0.0.0 shows nothing', req(MSG.DISCOVER), '0.0.0.0', undefined],
    ['PXE request on 4011: ciaddr', req(MSG.REQUEST, { ciaddr: '198.18.0.11' }), '198.18.0.11', '198.18.0.11'],
    ['unicast source without ciaddr', req(MSG.INFORM), '198.18.0.12', '198.18.0.12'],
    ['IPv4-mapped source', req(MSG.INFORM), '::ffff:198.18.0.12', '198.18.0.12'],
    ['REQUEST to the site server: option 50', req(MSG.REQUEST, {}, '198.18.0.13'), '0.0.0.0', '198.18.0.13'],
    ['relayed: the source is the relay, option 50 unconfirmed', req(MSG.REQUEST, { giaddr: '198.19.0.1' }, '198.18.0.13'), '198.19.0.1', undefined],
    ['relayed with ciaddr', req(MSG.REQUEST, { giaddr: '198.19.0.1', ciaddr: '198.18.0.14' }), '198.19.0.1', '198.18.0.14'],
  ] as const)('%s', (_name, r, from, want) => {
    expect(sightedAddress(r, { address: from })).toBe(want);
  });

  it('the book keeps the latest address per MAC, bounded, and counts refusals', () => {
    const book = new SightingBook(2);
    book.note(VICTIM, '198.18.0.11', 1);
    book.note(VICTIM.toUpperCase(), '198.18.0.12', 2);
    expect(book.get(VICTIM)).toEqual({ address: '198.18.0.12', at: 2 });
    book.note(OTHER_NIC, '198.18.0.13', 3);
    book.note(ATTACKER, '198.18.0.14', 4);
    expect(book.get(VICTIM)).toBeUndefined(); // oldest evicted
    expect(book.get(ATTACKER)?.address).toBe('198.18.0.14');
    book.countRefusal(7, 'neighbour-mismatch');
    book.countRefusal(7, 'no-token');
    book.countRefusal(null, 'unknown-machine');
    expect(book.refusals(7)).toBe(2);
    expect(book.refusals()).toEqual({ total: 3, byReason: { 'neighbour-mismatch': 1, 'no-token': 1, 'unknown-machine': 1 } });
  });
});
