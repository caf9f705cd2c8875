import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { AppError } from '../errors.js';

/** A network interface of this host (in the current network namespace). */
export interface InterfaceInfo {
  name: string;
  index: number;
  /** IPv4 addresses with their netmask. */
  ipv4: Array<{ address: string; netmask: string }>;
}

/** Interface index from sysfs (`ip netns exec` remounts /sys for the namespace). */
function ifindex(name: string): number {
  try {
    const n = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch (cause) {
    throw new AppError('SETTINGS', `network interface ${name} does not exist`, { cause });
  }
  throw new AppError('SETTINGS', `network interface ${name} has no index`);
}

/** Describes one interface by name; an unknown name is a SETTINGS error. */
export function describeInterface(name: string): InterfaceInfo {
  if (!/^[\w.:-]{1,15}$/.test(name)) throw new AppError('SETTINGS', `not an interface name: ${JSON.stringify(name)}`);
  const index = ifindex(name);
  const ipv4 = (networkInterfaces()[name] ?? [])
    .filter((a) => a.family === 'IPv4')
    .map((a) => ({ address: a.address, netmask: a.netmask }));
  return { name, index, ipv4 };
}

/** Every non-loopback interface with an IPv4 address (used when no interface is configured). */
export function ipv4Interfaces(): InterfaceInfo[] {
  return Object.entries(networkInterfaces())
    .filter(([, addrs]) => (addrs ?? []).some((a) => a.family === 'IPv4' && !a.internal))
    .map(([name]) => describeInterface(name));
}
