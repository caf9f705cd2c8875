/** Output formats a config version can have (one renderer each). */
export const CONFIG_FORMATS = ['testos', 'talos', 'ignition', 'cloudinit', 'bottlerocket'] as const;
/** One config output format. */
export type ConfigFormat = (typeof CONFIG_FORMATS)[number];
