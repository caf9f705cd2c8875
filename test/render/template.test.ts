import { describe, expect, it } from 'vitest';
import { fillTemplate, templateOf } from '../../src/render/template.js';
import { renderNetworkBoot } from '../../src/render/ipxe.js';

describe('templateOf / fillTemplate', () => {
  // [text, values, parts, slots]
  const cases: Array<[string, string[], string[] | undefined, number[] | undefined]> = [
    ['no holes here', ['AAA', 'BBB'], ['no holes here'], []],
    ['x=AAA y=BBB', ['AAA', 'BBB'], ['x=', ' y=', ''], [0, 1]],
    ['BBB first, AAA then AAA', ['AAA', 'BBB'], ['', ' first, ', ' then ', ''], [1, 0, 0]],
    ['AAAAAA', ['AAA'], ['', '', ''], [0, 0]],
    ['empty value ignored: AAA', ['', 'AAA'], ['empty value ignored: ', ''], [1]],
    ['overlap ABAB', ['ABA', 'BAB'], undefined, undefined],
  ];
  for (const [text, values, parts, slots] of cases) {
    it(`${JSON.stringify(text)} cut at ${JSON.stringify(values)}`, () => {
      const t = templateOf(text, values);
      if (!parts) {
        expect(t).toBeUndefined();
        return;
      }
      expect(t).toEqual({ parts, slots });
      expect(fillTemplate(t!, values)).toBe(text);
    });
  }

  it('a network boot script filled with other tokens is the script rendered with them', () => {
    const plan = (config: string, report: string) => ({
      mac: '52:54:00:00:00:01',
      machine: 'n1',
      profile: 'lab',
      kernel: { name: 'vmlinuz', url: 'http://198.18.0.1:8080/assets/sha256/ab?mac=52:54:00:00:00:01' },
      initrds: [{ name: 'initrd0', url: 'http://198.18.0.1:8080/assets/sha256/cd?mac=52:54:00:00:00:01' }],
      args: ['quiet', `rackboot.config=http://198.18.0.1:8080/config/${config}`, `rackboot.token=${report}`, '', 'console=ttyS0'],
      comment: 'config version 7',
    });
    const tokens = [
      ['1_' + 'a'.repeat(43), '2_' + 'b'.repeat(43)],
      ['3_' + 'Zz-_9'.repeat(8) + 'xyz', '4_' + '-'.repeat(43)],
      ['123456789012345_' + '_'.repeat(43), '5_' + '0'.repeat(43)],
    ];
    const t = templateOf(renderNetworkBoot(plan(tokens[0]![0]!, tokens[0]![1]!)), tokens[0]!)!;
    expect(t.slots).toEqual([0, 1]);
    for (const [c, r] of tokens) expect(fillTemplate(t, [c!, r!])).toBe(renderNetworkBoot(plan(c!, r!)));
  });
});
