import type { Service, ServiceContext } from '../service.js';

/** Starts the DHCP server(s) from settings (filled in by the DHCP subsystem). */
export async function startDhcp(_ctx: ServiceContext): Promise<Service | undefined> {
  return undefined;
}
