import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { type TestPostgres, startPostgres } from '../helpers/postgres.js';

let pg: TestPostgres;
const dirs: string[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'rb-pgstore-'));
  dirs.push(d);
  return d;
};

describe('Store.openPostgres', () => {
  it('migrates a fresh database', async () => {
    const url = await pg.createDatabase();
    const store = Store.openPostgres(url, dataDir());
    try {
      expect(store.dialect).toBe('postgres');
      const m = store.machines.create({ name: 'n1', macs: ['aa:bb:cc:00:00:01'] } as never);
      console.log(m);
    } finally {
      store.close();
    }
  });
});
