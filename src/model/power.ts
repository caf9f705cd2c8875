/**
 * Power control as the rest of rackboot sees it, whatever the BMC protocol: the routes, the
 * provisioning flow and rollouts take a MachinePower (src/bmc/service.ts PowerService is one).
 */

/** Boot devices a BMC can be asked to use next. */
export type BootDevice = 'pxe' | 'disk' | 'cdrom' | 'bios' | 'none';

/** A boot-device override as set or read back. */
export interface BootOverride {
  device: BootDevice;
  persistent: boolean;
  uefi: boolean;
}

/** Chassis power state as the BMC reports it. */
export type PowerState = 'on' | 'off' | 'unknown';

/** Power actions the API and CLI accept. */
export const POWER_ACTIONS = ['on', 'off', 'soft-off', 'cycle', 'reset'] as const;
/** One power action. */
export type PowerAction = (typeof POWER_ACTIONS)[number];

/** The result of a power action or status query. */
export interface PowerResult {
  machineId: number;
  action: PowerAction | 'status';
  state?: PowerState;
}

/**
 * A machine's BMC by machine id. Errors are AppError with BMC_* codes (or NOT_FOUND for a
 * machine without a BMC); every call is traced by the implementation.
 */
export interface MachinePower {
  getStatus(machineId: number): Promise<PowerResult>;
  powerAction(machineId: number, action: PowerAction): Promise<PowerResult>;
  setBootDevice(machineId: number, o: BootOverride): Promise<BootOverride>;
  getBootDevice(machineId: number): Promise<BootOverride>;
}
