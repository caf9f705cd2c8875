/** The config subsystem: immutable versions, per-boot tokens and profile validation. */
export { type NoCloudFile, NOCLOUD_FILES, type ServedConfig, fetchConfig } from './fetch.js';
export { kernelArgsFor } from './kernel-args.js';
export {
  type AssetResolver,
  type BootConfig,
  type BootTokens,
  bootConfigOf,
  configVersionEvent,
  issueBootTokens,
  mintBootTokens,
  type ConfigDeps,
  configVersion,
  configVersionFor,
  machineConfigs,
  prepareBootConfig,
  renderMachineVersion,
  verifyReportToken,
} from './service.js';
export { validateProfileSpec } from './validate.js';
