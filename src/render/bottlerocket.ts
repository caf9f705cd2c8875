import { z } from 'zod';
import { invalidConfig, parseConfig } from './check.js';
import { TomlError, toToml } from './toml.js';
import type { RenderInput, RenderedConfig } from './types.js';

const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64');

/** Bottlerocket settings: the Kubernetes keys checked, the rest passed to Bottlerocket's API. */
export const bottlerocketSettingsSchema = z
  .object({
    kubernetes: z
      .object({
        'cluster-name': z.string().min(1).optional(),
        'api-server': z.string().regex(/^https:\/\//, 'an https:// URL').optional(),
        'cluster-certificate': base64.optional(),
        'bootstrap-token': z.string().regex(/^[a-z0-9]{6}\.[a-z0-9]{16}$/, 'a bootstrap token').optional(),
        'node-labels': z.record(z.string()).optional(),
      })
      .passthrough()
      .optional(),
    network: z
      .object({})
      .passthrough()
      .superRefine((n, ctx) => {
        if ('hostname' in n) ctx.addIssue({ code: 'custom', path: ['hostname'], message: 'set by rackboot from the machine name' });
      })
      .optional(),
  })
  .passthrough();

/** `spec.bottlerocket` of a profile. */
export const bottlerocketSpecSchema = z.object({ settings: bottlerocketSettingsSchema.default({}) }).strict();

/** Renders Bottlerocket user data (TOML `[settings.*]`), with the machine's hostname. */
export function renderBottlerocket(input: RenderInput): RenderedConfig {
  const spec = parseConfig(bottlerocketSpecSchema, input.profile.spec.bottlerocket ?? {}, 'spec.bottlerocket', 'Bottlerocket profile');
  const network = { ...(spec.settings.network ?? {}), hostname: input.machine.name };
  const settings = { ...spec.settings, network };
  let body: string;
  try {
    body = toToml({ settings });
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    throw invalidConfig('Bottlerocket settings', [{ path: `spec.bottlerocket.${e.path}`, message: e.message }]);
  }
  return { format: 'bottlerocket', contentType: 'application/toml', body, meta: {} };
}
