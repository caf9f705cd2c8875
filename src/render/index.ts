import type { ConfigFormat } from '../model/config-format.js';
import type { ProfileSpec } from '../model/profile-spec.js';
import { renderBottlerocket } from './bottlerocket.js';
import { renderCloudInit } from './cloudinit.js';
import { renderIgnition } from './ignition.js';
import { renderTalos } from './talos.js';
import { renderTestOs } from './testos.js';
import type { RenderInput, RenderedConfig } from './types.js';

export type { RenderInput, RenderMachine, RenderedConfig, ResolvedImage } from './types.js';

/** Which config format a profile's OS consumes. */
export function formatOf(os: ProfileSpec['os']): ConfigFormat {
  switch (os) {
    case 'talos':
      return 'talos';
    case 'flatcar':
    case 'fcos':
    case 'rhcos':
      return 'ignition';
    case 'cloudinit':
      return 'cloudinit';
    case 'bottlerocket':
      return 'bottlerocket';
    default:
      return 'testos';
  }
}

const RENDERERS: Record<ConfigFormat, (input: RenderInput) => RenderedConfig> = {
  testos: renderTestOs,
  talos: renderTalos,
  ignition: renderIgnition,
  cloudinit: renderCloudInit,
  bottlerocket: renderBottlerocket,
};

/** Renders a machine's config document in its profile's format (throws INVALID_CONFIG with paths). */
export function renderConfig(input: RenderInput): RenderedConfig {
  return RENDERERS[formatOf(input.profile.spec.os)](input);
}
