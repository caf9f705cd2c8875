import type { Store } from './inventory/store.js';
import type { Logger } from './log.js';
import type { Settings } from './settings.js';

/** What a long-running subsystem (DHCP, TFTP, ...) receives from the composition root. */
export interface ServiceContext {
  settings: Settings;
  store: Store;
  log: Logger;
  /** Base URL machines use for HTTP (e.g. http://198.18.0.1:8080). */
  publicUrl: string;
}

/** A started subsystem that can be stopped. */
export interface Service {
  name: string;
  close(): Promise<void>;
}
