import { describe, expect, it } from 'vitest';
import { etagMatches, parseRange } from '../../src/assets/range.js';

describe('parseRange (RFC 9110 §14.2, single ranges)', () => {
  it.each([
    [undefined, 100, null],
    ['bytes=0-9', 100, { start: 0, end: 9 }],
    ['bytes=90-', 100, { start: 90, end: 99 }],
    ['bytes=-10', 100, { start: 90, end: 99 }],
    ['bytes=-1000', 100, { start: 0, end: 99 }],
    ['bytes=50-1000', 100, { start: 50, end: 99 }],
    ['bytes=99-99', 100, { start: 99, end: 99 }],
    ['bytes=100-', 100, 'unsatisfiable'],
    ['bytes=-0', 100, 'unsatisfiable'],
    ['bytes=9-0', 100, null],
    ['bytes=0-1,5-6', 100, null],
    ['items=0-1', 100, null],
    ['bytes=-', 100, null],
    ['garbage', 100, null],
  ] as const)('%s of %i → %j', (header, size, want) => {
    expect(parseRange(header, size)).toEqual(want);
  });
});

describe('etagMatches', () => {
  const etag = '"sha256:ab"';
  it.each([
    [undefined, false],
    ['"sha256:ab"', true],
    ['W/"sha256:ab"', true],
    ['"x", "sha256:ab"', true],
    ['*', true],
    ['"sha256:cd"', false],
  ])('%s → %s', (h, want) => expect(etagMatches(h, etag)).toBe(want));
});
