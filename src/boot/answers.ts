/**
 * How each boot plan is worded for iPXE (script) and for GRUB (config): BootService decides and
 * writes, these only render. Asset URLs come from urls.ts (absolute for iPXE, digest paths for
 * GRUB, which fetches them over TFTP or HTTP from the server it came from).
 */
import type { Machine } from '../inventory/machines.js';
import { type GrubFirmwarePath, renderGrubLocalBoot, renderGrubNetworkBoot, renderGrubRefusal } from '../render/grub.js';
import { renderLocalBoot, renderNetworkBoot, renderRefusal } from '../render/ipxe.js';
import type { BootAnswers } from './service.js';
import { assetPath, assetUrl } from './urls.js';

const NO_PROFILE_HINT = 'assign a profile and reboot';
const ERROR_HINT = 'fix the profile or assets and reboot';

/** The iPXE script answers; asset URLs carry `?mac=` to tag downloads in the trace. */
export function ipxeAnswers(machine: Pick<Machine, 'name' | 'profile'>, mac: string, base: string): BootAnswers<string> {
  const url = (sha256: string) => assetUrl(base, sha256, mac);
  return {
    refuse: () => renderRefusal({ mac, reason: `machine ${machine.name} has no profile`, hint: NO_PROFILE_HINT }),
    disk: () => renderLocalBoot({ mac, machine: machine.name }),
    network: (b) =>
      renderNetworkBoot({
        mac,
        machine: machine.name,
        profile: machine.profile ?? '',
        kernel: { name: 'vmlinuz', url: url(b.kernel.sha256) },
        initrds: b.initrds.map((a, i) => ({ name: `initrd${i}`, url: url(a.sha256) })),
        args: b.args,
        comment: `config version ${b.versionId}`,
      }),
    error: (e) => renderRefusal({ mac, reason: `cannot boot ${machine.name}: ${e.message}`, hint: ERROR_HINT }),
  };
}

/** The GRUB config answers; the failure beacons carry the boot's report token. */
export function grubAnswers(machine: Pick<Machine, 'name' | 'profile'>, mac: string, path: GrubFirmwarePath): BootAnswers<string> {
  return {
    refuse: () => renderGrubRefusal({ mac, reason: `machine ${machine.name} has no profile`, hint: NO_PROFILE_HINT }),
    disk: () => renderGrubLocalBoot({ mac, machine: machine.name }),
    network: (b) =>
      renderGrubNetworkBoot({
        mac,
        machine: machine.name,
        profile: machine.profile ?? '',
        path,
        beaconToken: b.reportToken,
        kernel: assetPath(b.kernel.sha256),
        initrds: b.initrds.map((a) => assetPath(a.sha256)),
        args: b.args,
        comment: `config version ${b.versionId}`,
      }),
    error: (e) => renderGrubRefusal({ mac, reason: `cannot boot ${machine.name}: ${e.message}`, hint: ERROR_HINT }),
  };
}
