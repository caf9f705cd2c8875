/**
 * BMC discovery as the HTTP layer sees it (types only): the inspection route hands a candidate
 * (a group's credentials at the inspected address) to a BmcDiscoverer, which main.ts builds from
 * src/bmc/discovery.ts, so http/ never imports the BMC drivers.
 */

/** Credentials a group hands out (unsealed), without an address. */
export interface GroupBmcCredentials {
  type: 'ipmi' | 'redfish';
  port?: number | null | undefined;
  username: string;
  password: string;
  options?: Record<string, unknown> | undefined;
}

/** A BMC to verify: the group's credentials at the inspected address. */
export type BmcCandidate = GroupBmcCredentials & { address: string };

/** How a discovery ended (also the `bmc.discovery` event's detail). */
export type DiscoveryOutcome =
  | { result: 'saved'; address: string; type: BmcCandidate['type'] }
  | { result: 'kept'; address: string }
  | { result: 'refused'; address: string; code: string; message: string };

/** Verifies a candidate against the BMC and saves it as the machine's BMC when it answers. */
export type BmcDiscoverer = (machineId: number, candidate: BmcCandidate) => Promise<DiscoveryOutcome>;
