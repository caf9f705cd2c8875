import type { ProfileSpec } from '../model/profile-spec.js';
import { bottlerocketSpecSchema } from '../render/bottlerocket.js';
import { parseButane } from '../render/butane.js';
import { parseConfig } from '../render/check.js';
import { cloudInitSpecSchema } from '../render/cloudinit.js';
import { renderConfig } from '../render/index.js';
import { ignitionSpecSchema } from '../render/ignition.js';
import { talosSpecSchema } from '../render/talos-spec.js';
import { testOsSpecSchema } from '../render/testos.js';
import type { RenderInput } from '../render/types.js';

// Probe values only: 198.18.0.0/15 is the benchmarking block (RFC 2544) the lab uses.
const PROBE_IMAGE = { sha256: '0'.repeat(64), url: 'http://198.18.0.1/assets/sha256/' + '0'.repeat(64) };

/**
 * Rejects a profile spec that would render an invalid document, before it is saved: each
 * per-OS section present is parsed, then the profile's own format is rendered for a probe
 * machine (and for every machine a Talos patch names). Throws INVALID_CONFIG (422) whose
 * details carry the JSON path, e.g. `spec.talos.cluster.endpoint`.
 */
export function validateProfileSpec(spec: ProfileSpec): void {
  if (spec.talos !== undefined) parseConfig(talosSpecSchema, spec.talos, 'spec.talos', 'Talos profile');
  if (spec.ignition !== undefined) parseConfig(ignitionSpecSchema, spec.ignition, 'spec.ignition', 'Ignition profile');
  if (spec.butane !== undefined) parseButane(spec.butane);
  if (spec.cloudInit !== undefined) parseConfig(cloudInitSpecSchema, spec.cloudInit, 'spec.cloudInit', 'cloud-init profile');
  if (spec.bottlerocket !== undefined) parseConfig(bottlerocketSpecSchema, spec.bottlerocket, 'spec.bottlerocket', 'Bottlerocket profile');
  if (spec.testos !== undefined) parseConfig(testOsSpecSchema, spec.testos, 'spec.testos', 'test OS profile');
  const names = ['probe'];
  const talos = spec.os === 'talos' ? parseConfig(talosSpecSchema, spec.talos, 'spec.talos', 'Talos profile') : undefined;
  if (talos) names.push(...Object.keys(talos.machines));
  // Cluster secrets render only for machines labelled with the profile's cluster: probe as one.
  const labels: Record<string, string> = talos ? { cluster: talos.cluster.name } : {};
  names.forEach((name, i) => {
    const input: RenderInput = {
      machine: { id: 0, name, macs: ['02:00:00:00:00:01'], ipv4: `198.18.0.${200 + (i % 50)}`, labels },
      profile: { name: 'probe', revision: 1, spec },
      installImage: spec.install?.image ? PROBE_IMAGE : null,
    };
    renderConfig(input);
  });
}
