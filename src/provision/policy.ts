import type { MachineState } from '../inventory/machines.js';
import type { ProfileSpec } from '../inventory/profile-spec.js';

/**
 * States of a machine whose image is on its disk: it boots that disk (DHCP gives PXE firmware
 * no boot file, the iPXE script hands back to the disk) until `rackboot provision` moves it
 * back to `registered` to ask for a network install.
 */
export const PROVISIONED_STATES: ReadonlySet<MachineState> = new Set<MachineState>(['installed', 'ready', 'drifted']);

/** True when the machine should boot its local disk rather than the network (pure). */
export function bootsFromDisk(state: MachineState, spec: Pick<ProfileSpec, 'boot' | 'install'>): boolean {
  return spec.boot === 'disk' || (spec.install !== undefined && PROVISIONED_STATES.has(state));
}
