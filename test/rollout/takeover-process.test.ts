import { describe, it } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { killHolderMidRollout } from './takeover-run.js';

describe('kill -9 of the appliance running a rollout, another appliance on the same SQLite file', () => {
  it('takes the runner over and finishes it; the BMC call log has every step once, after the kill only from the survivor', async () => {
    await killHolderMidRollout((dir) => Store.open(dir));
  }, 120_000);
});
