import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type Digest,
  digestEquals,
  digestSchema,
  digestSetOf,
  expectedFor,
  formatDigest,
  matchesDigest,
  parseDigest,
  recordedDigest,
  sha256DigestSchema,
  tryParseDigest,
} from '../../src/model/digest.js';

const H64 = 'a'.repeat(64);
const H128 = 'b'.repeat(128);
const s256 = (hex: string): Digest => ({ algorithm: 'sha256', hex });
const s512 = (hex: string): Digest => ({ algorithm: 'sha512', hex });

describe('tryParseDigest', () => {
  it.each([
    ['bare 64 hex is SHA-256', H64, s256(H64)],
    ['sha256: prefix', `sha256:${H64}`, s256(H64)],
    ['sha512: prefix', `sha512:${H128}`, s512(H128)],
    ["Ignition's sha512- form", `sha512-${H128}`, s512(H128)],
    ['bare 128 hex is SHA-512', H128, s512(H128)],
    ['upper case is folded', `sha256:${H64.toUpperCase()}`, s256(H64)],
    ['surrounding blanks', ` ${H64}\n`, s256(H64)],
    ['sha256 with 128 digits', `sha256:${H128}`, null],
    ['sha512 with 64 digits', `sha512:${H64}`, null],
    ['bare, wrong length', 'abc', null],
    ['other algorithm', `md5:${'a'.repeat(32)}`, null],
    ['not hex', `sha256:${'g'.repeat(64)}`, null],
    ['empty', '', null],
  ])('%s', (_n, input, want) => {
    expect(tryParseDigest(input)).toEqual(want);
  });

  it('parseDigest throws BAD_INPUT naming the value', () => {
    expect(() => parseDigest('md5:00')).toThrow(/not a digest: "md5:00"/);
  });
});

describe('spellings', () => {
  it.each([
    [s256(H64), `sha256:${H64}`, H64],
    [s512(H128), `sha512:${H128}`, `sha512:${H128}`],
  ])('%o', (d, canonical, recorded) => {
    expect(formatDigest(d)).toBe(canonical);
    expect(recordedDigest(d)).toBe(recorded);
    expect(tryParseDigest(canonical)).toEqual(d);
    expect(tryParseDigest(recorded)).toEqual(d);
  });
});

describe('matching', () => {
  const body = Buffer.from('{"ignition":{"version":"3.4.0"}}\n');
  const set = digestSetOf(body);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const sha512 = createHash('sha512').update(body).digest('hex');

  it('a config version is known by its SHA-256 and its SHA-512', () => {
    expect(set).toEqual([s256(sha256), s512(sha512)]);
  });

  it.each([
    ['SHA-256 of the bytes', s256(sha256), set, true],
    ['SHA-512 of the bytes (Ignition)', s512(sha512), set, true],
    ['SHA-512 of other bytes', s512(H128), set, false],
    ['SHA-512 against a set known only by SHA-256', s512(sha512), [s256(sha256)], false],
    ['same hex, other algorithm', s256(sha256), [s512(sha256)], false],
    ['nothing reported', null, set, false],
    ['empty expectation', s256(sha256), [], false],
  ])('%s', (_n, reported, expected, want) => {
    expect(matchesDigest(reported, expected)).toBe(want);
  });

  it('expectedFor shows the expected digest in the reported algorithm', () => {
    expect(expectedFor(s512(H128), set)).toEqual(s512(sha512));
    expect(expectedFor(s256(H64), set)).toEqual(s256(sha256));
    expect(expectedFor(null, set)).toEqual(s256(sha256));
    expect(expectedFor(s512(H128), [s256(sha256)])).toEqual(s256(sha256));
  });

  it('digestEquals needs the algorithm and the hex', () => {
    expect(digestEquals(s256(H64), s256(H64))).toBe(true);
    expect(digestEquals(s256(H64), s512(H64))).toBe(false);
  });
});

describe('zod schemas', () => {
  it('digestSchema parses any spelling to a Digest and names the expected forms', () => {
    expect(digestSchema.parse(`sha512:${H128}`)).toEqual(s512(H128));
    const r = digestSchema.safeParse('md5:abc');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/sha256:<64 hex digits> or sha512/);
  });

  it('sha256DigestSchema takes SHA-256 only', () => {
    expect(sha256DigestSchema.parse(H64)).toEqual(s256(H64));
    expect(sha256DigestSchema.safeParse(`sha512:${H128}`).success).toBe(false);
  });
});
