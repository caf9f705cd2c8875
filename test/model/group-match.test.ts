import { describe, expect, it } from 'vitest';
import { canOverlap, compareSpecificity, findAmbiguity, matchGroup } from '../../src/model/group-match.js';
import { type MatchCandidate, parseSelectorText, selectorHolds, selectorText } from '../../src/model/group-selector.js';
import { groupSchema, renderHostname } from '../../src/model/group.js';

const g = (name: string, ...sel: string[]) => ({ name, selectors: sel.map(parseSelectorText) });
const hex = (s: string) => Buffer.from(s).toString('hex');

const machine: MatchCandidate = {
  mac: '52:54:00:00:00:01',
  uuid: '11111111-2222-3333-4444-555555555555',
  serial: 'SN-1',
  labels: { rack: 'r1', role: 'worker' },
  facts: { memory: { gib: 64 }, disks: [{ size: 1 }, { size: 2 }], cpu: { vendor: 'GenuineIntel', count: 8 }, secureBoot: true },
  circuitId: hex('eth0'),
  remoteId: 'abcd',
  address: '198.18.1.7',
};

describe('parseSelectorText', () => {
  it.each([
    ['mac=AA-BB-CC-DD-EE-FF', 'mac=aa:bb:cc:dd:ee:ff'],
    ['uuid={11111111-2222-3333-4444-55555555555A}', 'uuid=11111111-2222-3333-4444-55555555555a'],
    ['serial = SN 1', 'serial=SN 1'],
    ['labels.rack=r1', 'labels.rack=r1'],
    ['labels.role!=gpu', 'labels.role!=gpu'],
    ['facts.memory.gib>=64', 'facts.memory.gib>=64'],
    ['facts.disks.count>2', 'facts.disks.count>2'],
    ['facts.cpu.count<=16', 'facts.cpu.count<=16'],
    ['facts.cpu.count<16', 'facts.cpu.count<16'],
    ['circuitId=eth0', `circuitId=hex:${hex('eth0')}`],
    ['remoteId=hex:AB:CD', 'remoteId=hex:abcd'],
    ['subnet=198.18.1.9/24', 'subnet=198.18.1.0/24'],
  ])('%s → %s', (text, canonical) => {
    expect(selectorText(parseSelectorText(text))).toBe(canonical);
  });

  it.each([
    ['rack=r1', 'key must be'],
    ['labels.rack', 'expected KEY=VALUE'],
    ['mac=zz', 'not a MAC'],
    ['uuid=123', 'not a UUID'],
    ['mac>=aa:bb:cc:dd:ee:ff', 'compares facts only'],
    ['facts.memory.gib>=lots', 'needs a number'],
    ['subnet=198.18.0.0', 'subnet=CIDR'],
    ['subnet!=198.18.0.0/16', 'subnet=CIDR'],
    ['facts.x=', 'value must be'],
    ['remoteId=hex:abc', 'relay ids'],
  ])('refuses %s (%s)', (text, why) => {
    expect(() => parseSelectorText(text)).toThrow(why);
  });
});

describe('selectorHolds', () => {
  it.each([
    ['mac=52:54:00:00:00:01', true],
    ['mac=52:54:00:00:00:02', false],
    ['uuid=11111111-2222-3333-4444-555555555555', true],
    ['serial=SN-1', true],
    ['serial!=SN-1', false],
    ['labels.rack=r1', true],
    ['labels.rack!=r2', true],
    ['labels.zone=a', false],
    ['labels.zone!=a', false], // unknown satisfies nothing, != included
    ['facts.memory.gib>=64', true],
    ['facts.memory.gib>64', false],
    ['facts.memory.gib=64', true],
    ['facts.memory.gib=64.0', true],
    ['facts.memory.gib<128', true],
    ['facts.disks.count>=2', true],
    ['facts.disks.count>=3', false],
    ['facts.cpu.vendor=GenuineIntel', true],
    ['facts.cpu.vendor!=AuthenticAMD', true],
    ['facts.cpu.vendor>=1', false], // text is not a number
    ['facts.secureBoot=true', true],
    ['facts.gpu.count>=1', false],
    ['circuitId=eth0', true],
    ['circuitId=eth1', false],
    ['remoteId=hex:abcd', true],
    ['subnet=198.18.1.0/24', true],
    ['subnet=198.18.0.0/15', true],
    ['subnet=198.18.2.0/24', false],
  ])('%s → %s', (text, expected) => {
    expect(selectorHolds(parseSelectorText(text), machine)).toBe(expected);
  });

  it('an empty candidate satisfies no selector', () => {
    expect(selectorHolds(parseSelectorText('labels.a!=b'), {})).toBe(false);
    expect(selectorHolds(parseSelectorText('subnet=0.0.0.0/0'), {})).toBe(false);
  });
});

describe('specificity', () => {
  it.each([
    [['mac=52:54:00:00:00:01'], ['circuitId=eth0', 'facts.a=1', 'facts.b=2'], 1],
    [['circuitId=eth0'], ['subnet=198.18.0.0/16', 'labels.a=b'], 1],
    [['subnet=198.18.0.0/16'], ['labels.a=b', 'facts.a=1'], 1],
    [['labels.a=b'], ['facts.a=1', 'facts.b=1'], 1],
    [['facts.a=1', 'facts.b=1'], ['facts.a=1'], 1],
    [['uuid=11111111-2222-3333-4444-555555555555'], ['mac=52:54:00:00:00:01'], 0],
    [[], ['facts.a=1'], -1],
  ])('%j vs %j → sign %i', (a, b, sign) => {
    expect(Math.sign(compareSpecificity(g('a', ...a), g('b', ...b)))).toBe(sign);
  });
});

describe('matchGroup', () => {
  const groups = [
    g('default'),
    g('big', 'facts.memory.gib>=64'),
    g('small', 'facts.memory.gib<64'),
    g('big-many-disks', 'facts.memory.gib>=64', 'facts.disks.count>=2'),
    g('rack1', 'labels.rack=r1'),
    g('port', 'circuitId=eth0'),
    g('pinned', 'mac=52:54:00:00:00:09'),
    g('lab-subnet', 'subnet=198.18.0.0/15'),
  ];
  const name = (r: ReturnType<typeof matchGroup>) => ('group' in r ? r.group.name : 'none' in r ? 'none' : `tie:${r.tie.map((x) => x.name).join(',')}`);

  it.each<[string, MatchCandidate, string]>([
    ['nothing known: the catch-all', { mac: '52:54:00:00:00:05' }, 'default'],
    ['small memory', { facts: { memory: { gib: 8 } } }, 'small'],
    ['big memory, one disk', { facts: { memory: { gib: 96 }, disks: [{}] } }, 'big'],
    ['big memory, two disks', { facts: { memory: { gib: 96 }, disks: [{}, {}] } }, 'big-many-disks'],
    ['labels beat facts', { labels: { rack: 'r1' }, facts: { memory: { gib: 96 }, disks: [{}, {}] } }, 'rack1'],
    ['subnet beats labels', { labels: { rack: 'r1' }, address: '198.18.5.5' }, 'lab-subnet'],
    ['relay beats subnet', { circuitId: hex('eth0'), address: '198.18.5.5' }, 'port'],
    ['identity beats relay', { mac: '52:54:00:00:00:09', circuitId: hex('eth0') }, 'pinned'],
    ['the full machine', machine, 'port'],
  ])('%s → %s', (_, c, expected) => {
    expect(name(matchGroup(groups, c))).toBe(expected);
  });

  it('no group at all → none; a set that bypassed the write check → tie', () => {
    expect(name(matchGroup([g('x', 'facts.a=1')], {}))).toBe('none');
    expect(name(matchGroup([g('x', 'facts.a=1'), g('y', 'facts.b=1')], { facts: { a: 1, b: 1 } }))).toBe('tie:x,y');
  });
});

describe('ambiguity at write time', () => {
  it.each([
    // [a, b, ambiguous]
    [['facts.memory.gib>=64'], ['facts.memory.gib<64'], false],
    [['facts.memory.gib>=64'], ['facts.memory.gib>=128'], true],
    [['facts.memory.gib>64'], ['facts.memory.gib<=64'], false],
    [['facts.memory.gib>=64'], ['facts.memory.gib<=64'], true], // 64 is in both
    [['facts.x>=4', 'facts.x<=4'], ['facts.x!=4', 'facts.y=1'], false],
    [['facts.x=4'], ['facts.x=5'], false],
    [['facts.x=4'], ['facts.x=4.0'], true],
    [['facts.x=4'], ['facts.x>3'], true],
    [['facts.x=4'], ['facts.x>4'], false],
    [['facts.vendor=a'], ['facts.vendor!=a'], false],
    [['facts.vendor=a'], ['facts.vendor>1'], false],
    [['facts.a=1'], ['facts.b=1'], true], // different keys: a machine can have both
    [['mac=52:54:00:00:00:01'], ['mac=52:54:00:00:00:02'], false],
    [['mac=52:54:00:00:00:01'], ['uuid=11111111-2222-3333-4444-555555555555'], true],
    [['circuitId=eth0'], ['circuitId=eth1'], false],
    [['subnet=198.18.0.0/24'], ['subnet=198.18.1.0/24'], false],
    [['subnet=198.18.0.0/15'], ['subnet=198.18.1.0/24'], true],
    [['labels.rack=r1'], ['labels.rack=r2'], false],
    [['labels.rack=r1'], ['labels.rack!=r2'], true],
    [['mac=52:54:00:00:00:01'], ['facts.a=1'], false], // different specificity
    [[], [], true],
    [['facts.x>5', 'facts.x<3'], ['facts.y=1'], false], // a group that can never match ties nobody
  ])('%j vs %j → %s', (a, b, ambiguous) => {
    expect(canOverlap(g('a', ...a), g('b', ...b)) && compareSpecificity(g('a', ...a), g('b', ...b)) === 0).toBe(ambiguous);
  });

  it('findAmbiguity names the first pair', () => {
    const set = [g('big', 'facts.memory.gib>=64'), g('small', 'facts.memory.gib<64'), g('huge', 'facts.memory.gib>=256')];
    expect(findAmbiguity(set)?.map((x) => x.name)).toEqual(['big', 'huge']);
    expect(findAmbiguity(set.slice(0, 2))).toBeUndefined();
  });
});

describe('group schema and hostname template', () => {
  it('normalizes selectors and applies defaults', () => {
    const v = groupSchema.parse({ name: 'big', selectors: ['mac=AA-BB-CC-DD-EE-FF', 'circuitId=eth0'] });
    expect(v).toEqual({ name: 'big', selectors: ['mac=aa:bb:cc:dd:ee:ff', `circuitId=hex:${hex('eth0')}`], profile: null, labels: {}, hostnameTemplate: null, bmc: null, enroll: 'manual' });
  });

  it.each([
    [{ name: 'Big' }, 'name'],
    [{ name: 'a', selectors: ['rack=r1'] }, 'key must be'],
    [{ name: 'a', hostnameTemplate: 'n-{{rack}}' }, 'placeholders'],
    [{ name: 'a', labels: { 'bad key!': 'x' } }, 'label keys'],
    [{ name: 'a', enroll: 'yes' }, 'enroll'],
    [{ name: 'a', extra: 1 }, 'extra'],
  ])('refuses %j', (input, why) => {
    const r = groupSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(why);
  });

  it.each([
    ['node-{{serial}}', { serial: 'SN 1/A' }, 'node-sn-1-a'],
    ['{{name}}-{{mac}}', { mac: '52:54:00:00:00:01' }, 'gpu-525400000001'],
    ['n-{{ uuid }}', { uuid: '11111111-2222-3333-4444-555555555555' }, 'n-11111111-2222-3333-4444-555555555555'],
    ['node-{{serial}}', {}, undefined],
    ['{{serial}}', { serial: '---' }, undefined],
  ])('%s with %j → %s', (t, c, expected) => {
    expect(renderHostname(t, c, 'gpu')).toBe(expected);
  });
});
