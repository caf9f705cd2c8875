import type { Service, ServiceContext } from '../service.js';

/** Starts the TFTP server from settings (filled in by the TFTP subsystem). */
export async function startTftp(_ctx: ServiceContext): Promise<Service | undefined> {
  return undefined;
}
