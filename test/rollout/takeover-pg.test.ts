import { afterAll, beforeAll, describe, it } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { type TestPostgres, startPostgres } from '../helpers/postgres.js';
import { killHolderMidRollout } from './takeover-run.js';

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

describe('kill -9 of the appliance running a rollout, another appliance on the same PostgreSQL database', () => {
  it('takes the runner over and finishes it; the BMC call log has every step once, after the kill only from the survivor', async () => {
    const url = await pg.createDatabase();
    await killHolderMidRollout((dir) => Store.openPostgres(url, dir), url);
  }, 180_000);
});
