/** The console's pure parts: line diff of config versions, SSE parsing, reading a diagnosis. */
import { describe, expect, it } from 'vitest';
import { diffLines, hunks, splitLines } from '../../ui/src/diff.js';
import { SseParser, eventsOf } from '../../ui/src/sse.js';
import { readVerdict } from '../../ui/src/verdict.js';

const render = (a: string, b: string) => diffLines(a, b).map((d) => `${d.op}${d.text}`);

describe('diffLines', () => {
  it.each([
    ['equal', 'a\nb\n', 'a\nb\n', [' a', ' b']],
    ['added at end', 'a\n', 'a\nb\n', [' a', '+b']],
    ['removed in middle', 'a\nb\nc\n', 'a\nc\n', [' a', '-b', ' c']],
    ['changed line', 'a\nb\nc\n', 'a\nB\nc\n', [' a', '-b', '+B', ' c']],
    ['from empty', '', 'x\ny', ['+x', '+y']],
    ['to empty', 'x\n', '', ['-x']],
    ['CRLF same as LF', 'a\r\nb\r\n', 'a\nb\n', [' a', ' b']],
    ['moved block', 'a\nb\nc\nd\n', 'c\nd\na\nb\n', ['-a', '-b', ' c', ' d', '+a', '+b']],
  ])('%s', (_name, a, b, want) => {
    expect(render(a, b)).toEqual(want);
  });

  it('keeps every line of both sides exactly once (random edits)', () => {
    let seed = 18;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const a = Array.from({ length: rnd(30) }, () => `l${rnd(8)}`);
      const b = a.filter(() => rnd(4) !== 0).flatMap((l) => (rnd(5) === 0 ? [l, `n${rnd(8)}`] : [l]));
      const d = diffLines(a.join('\n'), b.join('\n'));
      expect(d.filter((x) => x.op !== '+').map((x) => x.text)).toEqual(a);
      expect(d.filter((x) => x.op !== '-').map((x) => x.text)).toEqual(b);
    }
  });

  it('falls back to remove-all/add-all above the size cap instead of a huge table', () => {
    const a = Array.from({ length: 2100 }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: 2100 }, (_, i) => `b${i}`).join('\n');
    const d = diffLines(a, b);
    expect(d.length).toBe(4200);
    expect(d[0]!.op).toBe('-');
    expect(d[4199]!.op).toBe('+');
  });

  it('splitLines drops only the final empty line', () => {
    expect(splitLines('a\n\nb\n')).toEqual(['a', '', 'b']);
    expect(splitLines('')).toEqual([]);
  });
});

describe('hunks', () => {
  it('groups changes with context and numbers lines from 1', () => {
    const a = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    const b = [...a];
    b[2] = 'changed 3';
    b[16] = 'changed 17';
    const h = hunks(diffLines(a.join('\n'), b.join('\n')), 2);
    expect(h.map((x) => [x.aStart, x.bStart, x.lines.length])).toEqual([
      [1, 1, 6],
      [15, 15, 6],
    ]);
    expect(hunks(diffLines('same\n', 'same\n'))).toEqual([]);
  });
});

describe('SseParser', () => {
  const frame = (id: number, kind: string) => `id: ${id}\ndata: ${JSON.stringify({ id, at: 't', mac: null, machineId: 1, source: 's', kind, detail: {} })}\n\n`;

  it('parses frames split at every byte boundary', () => {
    const text = `retry: 2000\n\n: ping\n\n${frame(1, 'dhcp.offer')}${frame(2, 'tftp.sent')}`;
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const msgs = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(msgs.flatMap(eventsOf).map((e) => e.kind)).toEqual(['dhcp.offer', 'tftp.sent']);
      expect(msgs.map((m) => m.id)).toEqual(['1', '2']);
    }
  });

  it('joins multi-line data, accepts CRLF and CR, ignores comments and unknown fields', () => {
    const p = new SseParser();
    const msgs = p.push('event: x\r\ndata: {"a":\rdata: 1}\r\nfoo: bar\n: comment\n\n');
    expect(msgs).toEqual([{ id: null, event: 'x', data: '{"a":\n1}' }]);
  });

  it('eventsOf reads a row, { event }, { items } and arrays; drops what is not an event', () => {
    const e = { id: 5, at: 't', mac: null, machineId: 1, source: 's', kind: 'k', detail: {} };
    const of = (data: unknown) => eventsOf({ id: null, event: 'message', data: JSON.stringify(data) }).map((x) => x.id);
    expect(of(e)).toEqual([5]);
    expect(of({ event: e })).toEqual([5]);
    expect(of({ items: [e, e] })).toEqual([5, 5]);
    expect(of([e])).toEqual([5]);
    expect(of({ hello: 1 })).toEqual([]);
    expect(eventsOf({ id: null, event: 'message', data: 'not json' })).toEqual([]);
  });
});

describe('readVerdict', () => {
  it('reads the diagnosis shape of /api/v1/why', () => {
    const v = readVerdict({
      phase: 'script',
      attempts: 2,
      phases: [
        { phase: 'dhcp', ms: 40 },
        { phase: 'script', ms: 1200 },
      ],
      verdict: { code: 'script-no-kernel', status: 'stalled', summary: 'script fetched, kernel never downloaded', cause: 'c', next: 'n' },
      findings: [{ summary: 'also this' }],
    });
    expect(v).toMatchObject({ code: 'script-no-kernel', severity: 'stalled', summary: 'script fetched, kernel never downloaded', cause: 'c', next: 'n', reached: 'script', attempts: 2 });
    expect(v.phases.map((p) => [p.name, p.durationMs])).toEqual([
      ['dhcp', 40],
      ['script', 1200],
    ]);
    expect(v.findings).toEqual(['also this']);
  });

  it('reads which appliances served each phase, dropping what is not a name', () => {
    const v = readVerdict({
      phases: [
        { phase: 'dhcp', ms: 40, appliances: ['rack1-a', 'rack1-b'] },
        { phase: 'script', ms: 5, appliances: ['rack1-b', 7, '', null] },
        { phase: 'kernel', ms: 9 },
      ],
    });
    expect(v.phases.map((p) => [p.name, p.appliances])).toEqual([
      ['dhcp', ['rack1-a', 'rack1-b']],
      ['script', ['rack1-b']],
      ['kernel', []],
    ]);
  });

  it('tolerates a flat or string verdict and junk', () => {
    expect(readVerdict({ verdict: 'all good' }).summary).toBe('all good');
    expect(readVerdict({ summary: 'flat', nextStep: 'do x' })).toMatchObject({ summary: 'flat', next: 'do x' });
    expect(readVerdict(null)).toMatchObject({ summary: undefined, phases: [], findings: [] });
  });
});
