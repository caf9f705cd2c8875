import { describe, expect, it } from 'vitest';
import { parseScript } from '../../bench/storm/machine.js';
import { type MachineResult, linkLimitSeconds, parseRate, quantile, summarize } from '../../bench/storm/stats.js';

describe('storm client: iPXE script reading', () => {
  it.each([
    [
      'rackboot network boot',
      '#!ipxe\nkernel --name vmlinuz http://s/a/k initrd=initrd rackboot.config=http://s/config/t1 rackboot.report=http://s/api/v1/report rackboot.token=tok || goto failed\ninitrd --name initrd http://s/a/i || goto failed\nboot || goto failed\n',
      { kernel: 'http://s/a/k', initrds: ['http://s/a/i'], config: 'http://s/config/t1', report: 'http://s/api/v1/report', token: 'tok' },
    ],
    ['no options, two initrds', 'kernel http://s/k quiet\ninitrd http://s/i1\ninitrd http://s/i2\nboot', { kernel: 'http://s/k', initrds: ['http://s/i1', 'http://s/i2'] }],
    ['local disk script', '#!ipxe\nsanboot --no-describe --drive 0x80 || goto failed\nexit 0\n', { kernel: '', initrds: [] }],
  ])('%s', (_name, script, want) => {
    expect(parseScript(script)).toEqual(want);
  });
});

describe('storm client: statistics', () => {
  it.each([
    [[1, 2, 3, 4], 0.5, 2],
    [[1, 2, 3, 4], 0.99, 4],
    [[7], 0.5, 7],
  ])('quantile(%j, %f) = %i', (xs, q, want) => {
    expect(quantile(xs, q)).toBe(want);
  });

  it.each([
    ['1gbit', 1e9],
    ['10gbit', 1e10],
    ['500mbit', 5e8],
    ['none', 0],
  ])('parseRate(%s)', (s, want) => {
    expect(parseRate(s)).toBe(want);
  });

  it('the link-rate limit of 125 MB at 1 Gbit/s is 1 s', () => {
    expect(linkLimitSeconds(125e6, 1e9)).toBe(1);
  });

  it('counts a failed machine in its phase and in total, not in later phases', () => {
    const ok: MachineResult = { mac: 'a', ms: { dhcp: 10, tftp: 20 }, retransmits: 0, bytes: 1, totalMs: 30 };
    const bad: MachineResult = { mac: 'b', ms: { dhcp: 12 }, failed: { phase: 'tftp', error: 'x' }, retransmits: 1, bytes: 0, totalMs: 50 };
    const rows = summarize([ok, bad]);
    expect(rows.find((r) => r.phase === 'dhcp')).toMatchObject({ ok: 2, failed: 0, max: 12 });
    expect(rows.find((r) => r.phase === 'tftp')).toMatchObject({ ok: 1, failed: 1 });
    expect(rows.find((r) => r.phase === 'total')).toMatchObject({ ok: 1, failed: 1, p50: 30 });
  });
});
