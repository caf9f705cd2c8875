/**
 * How each boot plan is worded for iPXE (script) and for GRUB (config): BootService decides and
 * writes, these only render. Asset URLs come from urls.ts (absolute for iPXE, digest paths for
 * GRUB, which fetches them over TFTP or HTTP from the server it came from).
 */
import type { Machine } from '../inventory/machines.js';
import { type GrubFirmwarePath, renderGrubLocalBoot, renderGrubNetworkBoot, renderGrubRefusal } from '../render/grub.js';
import { renderLocalBoot, renderNetworkBoot, renderRefusal } from '../render/ipxe.js';
import { type TextTemplate, fillTemplate, templateOf } from '../render/template.js';
import type { BootAnswers, IssuedBoot } from './service.js';
import { assetPath, assetUrl } from './urls.js';

const NO_PROFILE_HINT = 'assign a profile and reboot';
const ERROR_HINT = 'fix the profile or assets and reboot';

const MAX_SCRIPTS = 50_000;

/**
 * The last network boot script per MAC as a template cut at its tokens (render/template.ts), with
 * the IssuedBoot.shape it was rendered for: a boot of the same shape (same machine inputs and
 * version: only its tokens differ) is a fill of the template; any other boot is rendered and
 * replaces it. One per boot route set (the route owns it).
 */
export class ScriptMemo {
  private readonly scripts = new Map<string, { shape: object; template: TextTemplate }>();

  /** The script of `b` for `mac`: filled in from the memo when its shape is the memo's, else `render()` (remembered). */
  script(mac: string, b: IssuedBoot, render: () => string): string {
    const tokens = [b.configToken, b.reportToken];
    const hit = b.shape ? this.scripts.get(mac) : undefined;
    if (hit && hit.shape === b.shape) return fillTemplate(hit.template, tokens);
    const text = render();
    const template = b.shape ? templateOf(text, tokens) : undefined;
    if (b.shape && template) {
      if (this.scripts.size >= MAX_SCRIPTS) this.scripts.clear();
      this.scripts.set(mac, { shape: b.shape, template });
    } else this.scripts.delete(mac);
    return text;
  }
}

/**
 * The iPXE script answers; asset URLs carry `?mac=` to tag downloads in the trace. With a memo,
 * a network boot whose script differs from the MAC's last one only in its tokens is a template fill.
 */
export function ipxeAnswers(machine: Pick<Machine, 'name' | 'profile'>, mac: string, base: string, memo?: ScriptMemo): BootAnswers<string> {
  const url = (sha256: string) => assetUrl(base, sha256, mac);
  const render = (b: IssuedBoot) =>
    renderNetworkBoot({
        mac,
        machine: machine.name,
        profile: machine.profile ?? '',
        kernel: { name: 'vmlinuz', url: url(b.kernel.sha256) },
        initrds: b.initrds.map((a, i) => ({ name: `initrd${i}`, url: url(a.sha256) })),
        args: b.args,
        comment: `config version ${b.versionId}`,
      });
  return {
    refuse: () => renderRefusal({ mac, reason: `machine ${machine.name} has no profile`, hint: NO_PROFILE_HINT }),
    disk: () => renderLocalBoot({ mac, machine: machine.name }),
    network: (b) => (memo ? memo.script(mac, b, () => render(b)) : render(b)),
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
