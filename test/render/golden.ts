import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { FIXTURES } from './inputs.js';

/** Compares text with test/fixtures/render/<name>; UPDATE_GOLDENS=1 rewrites the file instead. */
export function expectGolden(name: string, text: string): void {
  const path = join(FIXTURES, name);
  if (process.env.UPDATE_GOLDENS === '1' || !existsSync(path)) {
    if (process.env.CI && !existsSync(path)) throw new Error(`golden ${name} is missing`);
    writeFileSync(path, text);
  }
  expect(text).toBe(readFileSync(path, 'utf8'));
}
