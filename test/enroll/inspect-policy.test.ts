import { describe, expect, it } from 'vitest';
import { candidateOf, planInspection, relayOf, wantsInspection } from '../../src/http/routes/inspect-enroll.js';
import { dmiString, factsFromInspection, inspectionReportSchema } from '../../src/http/routes/inspect-report.js';
import type { Machine } from '../../src/inventory/machines.js';
import { type GroupInput, groupSchema, parseGroup } from '../../src/model/group.js';

const AT = new Date('2026-12-04T19:00:00Z');
const GiB = 1024 ** 3;

function machine(over: Partial<Machine> = {}): Machine {
  return { id: 7, name: 'discovered-525400190001', labels: {}, profile: null, state: 'discovered', uuid: null, serial: null, ipv4: null, facts: {}, macs: ['52:54:00:19:00:01'], createdAt: '', updatedAt: '', ...over };
}

const report = (memGiB: number, disks = 1) =>
  inspectionReportSchema.parse({
    version: 1,
    system: { uuid: '19B00001-0000-4000-8000-0000000000A1', serial: ' SN1 ', vendor: 'QEMU', product: 'pc' },
    cpu: { count: 4 },
    memory: { bytes: Math.round(memGiB * GiB) },
    disks: Array.from({ length: disks }, (_, i) => ({ name: `vd${i}`, sizeBytes: GiB, rotational: i === 0 })),
    nics: [{ name: 'eth0', mac: '52:54:00:19:00:01', driver: 'virtio_net', link: true }],
    firmware: { mode: 'uefi', secureBoot: true },
  });

const groups = (...gs: GroupInput[]) => gs.map((g) => parseGroup(groupSchema.parse(g)));
const G = {
  small: { name: 'small', selectors: ['facts.memory.gib<64'], profile: 'small', labels: { size: 's' }, hostnameTemplate: 'node-{{serial}}', enroll: 'auto' },
  big: { name: 'big', selectors: ['facts.memory.gib>=64', 'facts.disks.count>=2'], profile: 'big', enroll: 'auto' },
  manual: { name: 'later', selectors: ['facts.cpu.count>=4'], profile: 'small', enroll: 'manual' },
  rack: { name: 'rack', selectors: ['circuitId=eth0.10'], profile: 'rack', enroll: 'auto' },
} satisfies Record<string, GroupInput>;

describe('wantsInspection', () => {
  it.each([
    ['discovered, no profile', { state: 'discovered', profile: null, labels: {} }, true],
    ['discovered with a profile (enrolled at DHCP)', { state: 'discovered', profile: 'p', labels: {} }, false],
    ['registered, no profile', { state: 'registered', profile: null, labels: {} }, false],
    ['installed, flagged inspect=true', { state: 'installed', profile: 'p', labels: { inspect: 'true' } }, true],
    ['flag with another value', { state: 'ready', profile: 'p', labels: { inspect: 'yes' } }, false],
  ] as const)('%s → %s', (_what, m, want) => {
    expect(wantsInspection(m as Pick<Machine, 'state' | 'profile' | 'labels'>)).toBe(want);
  });
});

describe('factsFromInspection', () => {
  it('shapes the facts for selectors: memory in GiB, disk and NIC counts, DMI placeholders dropped', () => {
    const f = factsFromInspection(report(63.96, 2), AT);
    expect(f).toMatchObject({
      source: 'inspection',
      inspectedAt: AT.toISOString(),
      uuid: '19b00001-0000-4000-8000-0000000000a1',
      serial: 'SN1',
      cpu: { count: 4, model: null },
      memory: { gib: 64 },
      disks: { count: 2, totalBytes: 2 * GiB, rotational: 1 },
      nics: { count: 1 },
      macs: ['52:54:00:19:00:01'],
      firmware: { mode: 'uefi', secureBoot: true },
      bmc: null,
    });
  });
  it.each([
    ['', null],
    ['0000000', null],
    ['To Be Filled By O.E.M.', null],
    ['Default string', null],
    ['  R7-42  ', 'R7-42'],
  ])('dmiString(%j) → %j', (raw, want) => {
    expect(dmiString(raw)).toBe(want);
  });
});

describe('planInspection', () => {
  const free = { uuid: false, serial: false, name: () => false };
  it.each([
    ['small by memory: enrolled, named from the serial', report(16), [G.small, G.big], { result: 'enrolled', group: 'small', profile: 'small', name: 'node-sn1' }],
    ['big needs both selectors', report(128, 2), [G.small, G.big], { result: 'enrolled', group: 'big', profile: 'big', name: 'discovered-525400190001' }],
    ['128 GiB but one disk: no group', report(128, 1), [G.small, G.big], { result: 'unmatched' }],
    ['manual group: matched only', report(16), [G.manual], { result: 'matched', group: 'later' }],
    ['relay beats facts', report(16), [G.small, G.rack], { result: 'enrolled', group: 'rack', profile: 'rack' }],
  ] as const)('%s', (_what, r, gs, want) => {
    const m = machine({ facts: { relayAgent: { circuitId: '657468302e3130', remoteId: null } } });
    const facts = { ...factsFromInspection(r, AT), relayAgent: relayOf(m.facts) };
    const { patch, outcome } = planInspection(m, facts, groups(...(gs as unknown as GroupInput[])), candidateOf(m, facts, relayOf(m.facts), '198.18.0.21'), free);
    expect(outcome).toMatchObject(want);
    expect(patch.facts).toBe(facts);
    expect(patch.uuid).toBe('19b00001-0000-4000-8000-0000000000a1');
    if (want.result === 'enrolled') expect(patch).toMatchObject({ state: 'registered', profile: want.profile });
    else expect(patch.state).toBeUndefined();
  });

  it('a UUID, serial or name another machine has is not taken', () => {
    const m = machine();
    const facts = factsFromInspection(report(16), AT);
    const { patch, outcome } = planInspection(m, facts, groups(G.small), candidateOf(m, facts, null, undefined), { uuid: true, serial: true, name: () => true });
    expect(patch.uuid).toBeUndefined();
    expect(patch.serial).toBeUndefined();
    expect(outcome).toMatchObject({ result: 'enrolled', name: m.name });
  });

  it('a machine with a profile keeps it; the inspect flag is cleared', () => {
    const m = machine({ profile: 'p', state: 'ready', labels: { inspect: 'true', rack: 'r1' } });
    const facts = factsFromInspection(report(16), AT);
    const { patch, outcome } = planInspection(m, facts, groups(G.small), candidateOf(m, facts, null, undefined), free);
    expect(outcome).toEqual({ result: 'kept' });
    expect(patch).toMatchObject({ labels: { rack: 'r1' } });
    expect(patch.profile).toBeUndefined();
  });
});

describe('inspection report: the LLDP neighbour of a NIC', () => {
  const NEIGHBOUR = { chassisId: 'c2:d8:b6:6a:54:eb', portId: 'swp7', systemName: 'leaf-r7', portDescription: 'to node 7', managementAddress: '198.18.0.250' };
  const withLldp = (lldp: unknown) => {
    const r = inspectionReportSchema.safeParse({ ...report(1), nics: [{ name: 'eth0', mac: '52:54:00:19:00:01', link: true, lldp }] });
    return r.success ? 'valid' : r.error.issues.map((i) => i.path.join('.')).join(' ');
  };
  it.each([
    ['the full neighbour', NEIGHBOUR, 'valid'],
    ['IDs only', { chassisId: '10.0.0.1', portId: 'Ethernet1/7' }, 'valid'],
    ['none heard (null)', null, 'valid'],
    ['an older image (absent)', undefined, 'valid'],
    ['system name of 256 characters', { ...NEIGHBOUR, systemName: 'n'.repeat(256) }, 'valid'],
    ['system name of 257 characters', { ...NEIGHBOUR, systemName: 'n'.repeat(257) }, 'nics.0.lldp.systemName'],
    ['chassis ID of 257 characters', { ...NEIGHBOUR, chassisId: 'c'.repeat(257) }, 'nics.0.lldp.chassisId'],
    ['management address of 65 characters', { ...NEIGHBOUR, managementAddress: 'a'.repeat(65) }, 'nics.0.lldp.managementAddress'],
    ['no port ID', { chassisId: 'c' }, 'nics.0.lldp.portId'],
    ['an unknown field', { ...NEIGHBOUR, vlan: 7 }, 'nics.0.lldp'],
    ['a string', 'leaf-r7', 'nics.0.lldp'],
  ])('%s: %s', (_what, lldp, want) => {
    expect(withLldp(lldp)).toBe(want);
  });
  it('the facts keep the neighbour per NIC', () => {
    const r = inspectionReportSchema.parse({ ...report(1), nics: [{ name: 'eth0', mac: '52:54:00:19:00:01', lldp: NEIGHBOUR }, { name: 'eth1', mac: '52:54:00:19:00:02', lldp: null }] });
    expect((factsFromInspection(r, AT).nics as { items: unknown[] }).items).toEqual([
      { name: 'eth0', mac: '52:54:00:19:00:01', lldp: NEIGHBOUR },
      { name: 'eth1', mac: '52:54:00:19:00:02', lldp: null },
    ]);
  });
});
