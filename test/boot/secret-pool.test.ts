import { describe, expect, it } from 'vitest';
import { TokenSecretPool, looksLikeToken } from '../../src/config/tokens.js';

describe('TokenSecretPool', () => {
  it.each([1, 2, 3, 128])('pool of %i: every secret is a token, none repeats across refills', (size) => {
    const pool = new TokenSecretPool(size);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const s = pool.next();
      expect(looksLikeToken(s)).toBe(true);
      seen.add(s);
    }
    expect(seen.size).toBe(1000);
  });
});
