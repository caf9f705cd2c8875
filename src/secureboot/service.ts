/**
 * The Secure Boot chain's server side, shared by TFTP and HTTP: decides what GRUB gets for a
 * requested name (per-machine config, stub, failure beacon) and records the boot trace —
 * which chain (`secureboot`) and which firmware path (`pxe` or `uefi-http`) each machine took.
 */
import type { AssetRegistry } from '../assets/index.js';
import { grubAnswers } from '../boot/answers.js';
import { normalizeSourceAddress } from '../boot/binding.js';
import { type IdentityDeps, checkSource } from '../boot/identity.js';
import { BootService } from '../boot/service.js';
import { reportAllowed } from '../boot/transitions.js';
import { verifyReportToken } from '../config/index.js';
import { AppError, isAppError } from '../errors.js';
import type { Store } from '../inventory/store.js';
import type { Logger } from '../log.js';
import { clientMacOf } from '../net/client-mac.js';
import {
  type GrubFirmwarePath,
  type GrubRequest,
  renderGrubBeaconAck,
  renderGrubRefusal,
  renderGrubStub,
} from '../render/grub.js';
import type { Settings } from '../settings.js';
import { EVENT } from '../lifecycle/event-kinds.js';

/** Event source of everything GRUB asks for. */
const SOURCE = 'grub';


/** What the GRUB service needs. */
export interface GrubDeps {
  store: Store;
  settings: Settings;
  log: Logger;
  assets: AssetRegistry;
  /** Neighbour-table lookup for boot identity binding (tests inject one). */
  neighbourMac?: IdentityDeps['neighbourMac'];
  /** Issues the network boots (main.ts shares one with the iPXE route; default: one per request). */
  boot?: BootService;
}

/** Who asked: the client address, its MAC when the transport knows it, and the transport. */
export interface GrubClient {
  address: string;
  mac?: string;
  via: 'tftp' | 'http';
  /** Base URL the booted OS uses for config and reports (http://<rackboot>:<port>). */
  baseUrl: string;
}

/**
 * The text GRUB gets for a decoded request, or null for "no such file". A per-machine config
 * for a client whose address is not bound to the machine, or a failure beacon without the
 * boot's token, throws FORBIDDEN (traced as `security.refused` on the machine).
 */
export function grubFile(deps: GrubDeps, req: GrubRequest, client: GrubClient): string | null {
  switch (req.kind) {
    case 'stub':
      return renderGrubStub();
    case 'missing':
      return null;
    case 'ip': {
      // Another address's name is that machine's config: the binding check below refuses it.
      const own = normalizeSourceAddress(client.address) === req.ip;
      const owner = clientMacOf(deps, req.ip); // our lease, else the neighbour table (proxy mode)
      const mac = own ? (client.mac ?? owner) : owner;
      return mac ? machineConfig(deps, mac, 'pxe', client) : null;
    }
    case 'failed':
      return recordFailure(deps, req, client);
    case 'machine':
      return machineConfig(deps, req.mac, req.path, client);
  }
}

/** A config asked for by MAC: network boot, local disk, or a refusal with the reason. */
function machineConfig(deps: GrubDeps, mac: string, path: GrubFirmwarePath, client: GrubClient): string {
  const { store } = deps;
  const log = deps.log.child({ mac, path, via: client.via });
  const trace = { chain: 'secureboot', firmwarePath: path, via: client.via, client: client.address };
  const machine = store.machines.findByMac(mac);
  if (!machine) {
    store.events.add({ mac, source: SOURCE, kind: EVENT.bootUnknown, detail: trace });
    log.info('grub config for unknown MAC');
    return renderGrubRefusal({ mac, reason: `unknown machine ${mac}`, hint: 'add it to the inventory (rackboot machines add) and reboot' });
  }
  // The name (MAC or IP) proves nothing: the config and its tokens go only to the machine's own address.
  if (!checkSource(deps, { machine, source: client.address, what: 'grub-config', via: client.via, mac }).ok) {
    throw new AppError('FORBIDDEN', `GRUB config for ${mac} refused: ${client.address} is not bound to this machine`);
  }
  // One transaction: config version, tokens, state and trace (BootService, as for iPXE scripts).
  const boot = deps.boot ?? new BootService(deps);
  return boot.answer({ machine, mac, client: 'grub-config', base: client.baseUrl, source: SOURCE, trace }, grubAnswers(machine, mac, path));
}

/**
 * A failure beacon: GRUB could not load or boot what it was given. Under Secure Boot a refused
 * kernel or initrd is almost always a signature failure, so those are `secureboot.refused`.
 * Only the boot's own report token, from the machine's own address, counts: anything else is a
 * forged marker (traced as `security.refused`, FORBIDDEN) and changes nothing.
 */
function recordFailure(deps: GrubDeps, req: Extract<GrubRequest, { kind: 'failed' }>, client: GrubClient): string {
  const { store } = deps;
  const machine = store.machines.findByMac(req.mac);
  const detail = { chain: 'secureboot', firmwarePath: req.path, stage: req.stage, via: client.via, client: client.address };
  const tokenOk = (() => {
    if (!machine || req.token === null) return false;
    try {
      return verifyReportToken(deps, req.token).machineId === machine.id;
    } catch (e) {
      if (isAppError(e, 'FORBIDDEN')) return false;
      throw e;
    }
  })();
  if (!machine || !tokenOk) {
    const reason = !machine ? 'unknown-machine' : req.token === null ? 'no-token' : 'bad-token';
    store.events.add({ mac: req.mac, machineId: machine?.id ?? null, source: SOURCE, kind: EVENT.securityRefused, detail: { ...detail, what: 'grub-beacon', reason } });
    store.sightings.countRefusal(machine?.id ?? null, reason);
    deps.log.warn({ mac: req.mac, client: client.address, reason }, 'GRUB failure beacon refused');
    throw new AppError('FORBIDDEN', `failure beacon for ${req.mac} refused (${reason})`);
  }
  if (!checkSource(deps, { machine, source: client.address, what: 'grub-beacon', via: client.via, mac: req.mac }).ok) {
    throw new AppError('FORBIDDEN', `failure beacon for ${req.mac} refused: ${client.address} is not bound to this machine`);
  }
  const kind = req.stage === 'linux' || req.stage === 'initrd' ? 'secureboot.refused' : 'boot.failed';
  store.events.add({ mac: req.mac, machineId: machine.id, source: SOURCE, kind, detail });
  if (machine.state !== 'failed' && reportAllowed(machine.state, 'failed')) store.machines.update(machine.id, { state: 'failed' });
  deps.log.warn({ mac: req.mac, machine: machine.name, stage: req.stage, path: req.path }, 'GRUB reports a refused boot');
  return renderGrubBeaconAck(req.stage);
}
