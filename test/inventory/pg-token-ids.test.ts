import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/config/tokens.js';
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

describe('config token ids on one PostgreSQL inventory', () => {
  it('two appliances issuing tokens at the same time never hand out the same id, and every row is stored', async () => {
    const url = await pg.createDatabase();
    const dirA = mkdtempSync(join(tmpdir(), 'rb-pgtok-'));
    const dirB = mkdtempSync(join(tmpdir(), 'rb-pgtok-'));
    dirs.push(dirA, dirB);
    const a = Store.openPostgres(url, dirA);
    copyFileSync(join(dirA, 'secret.key'), join(dirB, 'secret.key'));
    const b = Store.openPostgres(url, dirB);
    try {
      const m = a.machines.create({ name: 'n1', macs: ['AA-BB-CC-00-00-01'] });
      const v = a.configs.saveVersion({ machineId: m.id, machineName: 'n1', profile: 'p', profileRevision: 1, format: 'testos', contentType: 'text/plain', body: Buffer.from('x'), sha256: 'a'.repeat(64), meta: {} }).version;
      const ids: number[] = [];
      const failures: unknown[] = [];
      // Interleaved, as two appliances serving boots at once do; each id's row is written right away.
      for (let i = 0; i < 200; i++) {
        for (const s of [a, b]) {
          const id = s.configs.nextTokenId();
          ids.push(id);
          try {
            s.configs.addToken({ id, secretHash: hashSecret(`s${id}`), kind: 'config', machineId: m.id, versionId: v.id, usesLeft: 1, expiresAt: Date.now() + 60_000, createdAt: Date.now() });
          } catch (e) {
            failures.push(e);
          }
        }
      }
      expect(failures).toEqual([]);
      expect(new Set(ids).size).toBe(ids.length);
      expect(Number(Store.rawDb(a).prepare('SELECT count(*) FROM config_tokens').pluck().get())).toBe(ids.length);
    } finally {
      a.close();
      b.close();
    }
  });
});
