import { z } from 'zod';
import { parseConfig } from './check.js';
import type { RenderInput, RenderedConfig } from './types.js';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits');

/** `spec.testos` of a profile: extra files the test OS agent writes. */
export const testOsSpecSchema = z
  .object({
    files: z
      .array(
        z
          .object({
            path: z.string().regex(/^\/[^\0]*[^/]$/, 'an absolute file path'),
            mode: z.number().int().min(0).max(0o7777).default(0o644),
            contents: z.string().max(65_536),
          })
          .strict(),
      )
      .max(64)
      .default([]),
  })
  .strict();

/** The document rackboot's test OS agent fetches (`rackboot.config=`). */
export const testOsDocumentSchema = z
  .object({
    kind: z.literal('rackboot.testos/v1'),
    hostname: z.string().min(1),
    machine: z.object({ id: z.number().int(), name: z.string().min(1), macs: z.array(z.string()) }).strict(),
    profile: z.string().min(1),
    install: z.object({ image: z.object({ sha256: sha256Hex, url: z.string().url() }).strict(), disk: z.string().startsWith('/dev/') }).strict().nullable(),
    files: z.array(z.object({ path: z.string(), mode: z.number().int(), contents: z.string() }).strict()),
  })
  .strict();

/** The test OS document type. */
export type TestOsDocument = z.infer<typeof testOsDocumentSchema>;

/** Renders the test OS agent's JSON document. */
export function renderTestOs(input: RenderInput): RenderedConfig {
  const { machine, profile, installImage } = input;
  const spec = parseConfig(testOsSpecSchema, profile.spec.testos ?? {}, 'spec.testos', 'test OS profile');
  const disk = profile.spec.install?.disk ?? '/dev/vda';
  const doc: TestOsDocument = {
    kind: 'rackboot.testos/v1',
    hostname: machine.name,
    machine: { id: machine.id, name: machine.name, macs: machine.macs },
    profile: profile.name,
    install: installImage ? { image: { sha256: installImage.sha256, url: installImage.url }, disk } : null,
    files: spec.files,
  };
  parseConfig(testOsDocumentSchema, doc, '', 'test OS document');
  return { format: 'testos', contentType: 'application/json', body: `${JSON.stringify(doc, null, 2)}\n`, meta: {} };
}
