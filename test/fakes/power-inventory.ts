import type { PowerInventory } from '../../src/bmc/service.js';
import { AppError } from '../../src/errors.js';
import type { BmcCredentials, BmcInfo } from '../../src/inventory/bmcs.js';
import type { NewEvent } from '../../src/inventory/events.js';

/**
 * An in-memory PowerInventory: BMC records by machine id and the trace rows the power service
 * writes. `failWrites` makes every trace write throw (a full or lost database).
 */
export class FakePowerInventory implements PowerInventory {
  readonly records = new Map<number, BmcCredentials>();
  readonly eventRows: NewEvent[] = [];
  failWrites = false;

  /** Registers a machine's BMC. */
  setBmc(machineId: number, b: Omit<BmcCredentials, 'machineId' | 'updatedAt' | 'options' | 'port'> & Partial<BmcCredentials>): void {
    this.records.set(machineId, { machineId, port: null, options: {}, updatedAt: new Date(0).toISOString(), ...b });
  }

  readonly bmcs: PowerInventory['bmcs'] = {
    get: (machineId: number): BmcInfo => {
      const { password: _, ...info } = this.credentialsOf(machineId);
      return info;
    },
    credentials: (machineId: number) => this.credentialsOf(machineId),
  };

  readonly events: PowerInventory['events'] = {
    add: (e: NewEvent) => {
      if (this.failWrites) throw new AppError('INTERNAL', 'fake power inventory: trace write failed (disk full)');
      this.eventRows.push(e);
      return this.eventRows.length;
    },
  };

  private credentialsOf(machineId: number): BmcCredentials {
    const r = this.records.get(machineId);
    if (!r) throw new AppError('NOT_FOUND', `machine ${machineId} has no BMC`);
    return r;
  }
}
