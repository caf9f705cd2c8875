import type { BootOverride, PowerState } from '../model/power.js';

// The shared power vocabulary lives in the leaf model/ (the routes and rollouts use it too).
export { type BootDevice, type BootOverride, POWER_ACTIONS, type PowerAction, type PowerState } from '../model/power.js';

/**
 * One BMC, whatever the protocol (IPMI lanplus or Redfish). Errors are AppError with codes
 * BMC_UNREACHABLE, BMC_TIMEOUT, BMC_AUTH_FAILED, BMC_PRIVILEGE, UNSUPPORTED, BMC_ERROR
 * (the completion code or HTTP status kept in `details`).
 */
export interface PowerDriver {
  status(): Promise<PowerState>;
  on(): Promise<void>;
  /** Hard power off. */
  off(): Promise<void>;
  /** ACPI soft off (graceful shutdown request). */
  softOff(): Promise<void>;
  cycle(): Promise<void>;
  reset(): Promise<void>;
  setBootDevice(o: BootOverride): Promise<void>;
  getBootDevice(): Promise<BootOverride>;
  /** Ends sessions and frees sockets. */
  close(): Promise<void>;
}
