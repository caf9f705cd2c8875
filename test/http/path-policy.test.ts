import { describe, expect, it } from 'vitest';
import { targetProblem } from '../../src/http/path-policy.js';

describe('targetProblem (request-target hygiene)', () => {
  it.each([
    ['/api/v1/machines', null],
    ['/boot.ipxe?mac=52:54:00:00:00:01', null],
    ['/boot/52:54:00:00:00:01.ipxe', null],
    ['/grub/grub.cfg-01-52-54-00-00-00-01', null],
    ['/assets/a%20b', null],
    ['/boot.ipxe?x=%61&y=../..', null],
    ['/', null],
  ])('%s is accepted', (url, want) => {
    expect(targetProblem(url)).toBe(want);
  });

  it.each([
    ['http://x/api/v1/machines', /absolute-form/],
    ['*', /absolute-form/],
    ['', /absolute-form/],
    ['//api/v1/machines', /\/\//],
    ['/api//v1', /\/\//],
    ['/api\\v1', /backslash/],
    ['/%61pi', /unreserved/],
    ['/a%7Eb', /unreserved/],
    ['/a%2fb', /separator/],
    ['/a%2Fb', /separator/],
    ['/a%5cb', /separator/],
    ['/a%00b', /separator/],
    ['/a%zz', /malformed/],
    ['/a%4', /malformed/],
    ['/a/../b', /dot segment/],
    ['/a/./b', /dot segment/],
    ['/a/..', /dot segment/],
    ['/a b', /control character or space/],
    ['/a\tb', /control character or space/],
    ['/a\x7fb', /control character or space/],
  ])('%j is refused (%s)', (url, why) => {
    expect(targetProblem(url)).toMatch(why);
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 20_000; i++) {
      const s = `/${Array.from({ length: rnd() % 40 }, () => String.fromCharCode(rnd() % 128)).join('')}`;
      const r = targetProblem(s);
      expect(r === null || typeof r === 'string').toBe(true);
    }
  });
});
