import { networkInterfaces } from 'node:os';
import type { Settings } from '../settings.js';

/**
 * The one base URL machines are given (scripts, kernel args, config versions), fixed at start:
 * the composition root's `publicUrl`, else settings.http.publicUrl. Never a request's Host header
 * (issue #15: whoever asked first could bake any host into new config versions).
 */
export function fixedPublicUrl(deps: { settings: Settings; publicUrl?: string | undefined }): string | undefined {
  const url = deps.publicUrl ?? deps.settings.http.publicUrl;
  return url ? url.replace(/\/+$/, '') : undefined;
}

/**
 * Derives the public URL once at start when settings.http.publicUrl is absent: the DHCP server
 * address, else a fixed HTTP host, else the first non-loopback IPv4, on the bound HTTP port.
 */
export function derivePublicUrl(settings: Settings, boundPort: number, interfaces = networkInterfaces()): string {
  if (settings.http.publicUrl) return settings.http.publicUrl.replace(/\/+$/, '');
  return `http://${guessAddress(settings, interfaces)}:${boundPort}`;
}

function guessAddress(settings: Settings, interfaces: ReturnType<typeof networkInterfaces>): string {
  if (settings.dhcp.serverAddress) return settings.dhcp.serverAddress;
  if (settings.http.host !== '0.0.0.0' && settings.http.host !== '::') return settings.http.host;
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * Last resort while no public URL is fixed (tests building an app without one): the local
 * address and port the connection arrived on, which the client cannot choose the way it
 * chooses a Host header.
 */
export function socketBaseUrl(socket: { localAddress?: string | undefined; localPort?: number | undefined }, fallbackPort: number): string {
  const local = (socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  return `http://${local.includes(':') ? `[${local}]` : local}:${socket.localPort ?? fallbackPort}`;
}
