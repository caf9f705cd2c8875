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

/** Power actions the API and CLI accept. */
export const POWER_ACTIONS = ['on', 'off', 'soft-off', 'cycle', 'reset'] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];
