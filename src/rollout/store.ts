import type { EventRepo } from '../inventory/events.js';
import type { MachineRepo } from '../inventory/machines.js';
import type { RolloutRepo } from '../inventory/rollouts.js';

/** The rollout rows the runner reads and writes (compare-and-set on phases and states). */
export type RolloutRows = Pick<RolloutRepo, 'list' | 'get' | 'members' | 'setState' | 'updateMember' | 'lastEventId'>;

/**
 * What the rollout runner and its steps need from the inventory: its rollout rows, the machines
 * and their boot traces. The SQLite Store is one; test/fakes/rollout-store.ts is an in-memory one.
 */
export interface RolloutStore {
  rollouts: RolloutRows;
  machines: Pick<MachineRepo, 'get'>;
  events: Pick<EventRepo, 'add' | 'list'>;
}
