import { z } from 'zod';
import { type MatchCandidate, type Selector, parseSelectorText, selectorText } from './group-selector.js';

const NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const LABEL_VALUE = /^[A-Za-z0-9._-]{0,63}$/;
/** Placeholders a hostname template may use. */
export const HOSTNAME_FIELDS = ['serial', 'uuid', 'mac', 'name'] as const;

/** Selector text checked and normalized by parseSelectorText (bad text: a zod issue naming it). */
const selectorSchema = z.string().max(200).transform((text, ctx) => {
  try {
    return selectorText(parseSelectorText(text));
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
    return z.NEVER;
  }
});

/** BMC credentials a group hands to the machines it enrolls (sealed at rest, never echoed). */
export const groupBmcSchema = z
  .object({
    type: z.enum(['ipmi', 'redfish']).default('ipmi'),
    port: z.number().int().min(1).max(65535).nullable().optional(),
    username: z.string().min(1).max(64),
    /** Left out or `<sealed>`: keep the stored password. */
    password: z.string().min(1).max(256).optional(),
  })
  .strict();

/**
 * A group (matchbox-like): AND-ed selectors and what a matching machine gets. `enroll: auto`
 * makes a matched unknown machine `registered` on its own; `manual` lists it as matched but
 * pending among the unknown MACs until an operator enrolls it.
 */
export const groupSchema = z
  .object({
    name: z.string().min(1).max(63).regex(NAME, 'lower-case letters, digits, . and - (a DNS label)'),
    selectors: z.array(selectorSchema).max(32).default([]),
    profile: z.string().min(1).max(63).nullable().default(null),
    labels: z
      .record(z.string())
      .default({})
      .refine((l) => Object.entries(l).every(([k, v]) => LABEL_KEY.test(k) && LABEL_VALUE.test(v)), 'label keys: letters, digits, ._/-; values: letters, digits, ._-'),
    /** E.g. `node-{{serial}}`; placeholders: {{serial}}, {{uuid}}, {{mac}} (12 hex digits), {{name}} (the group's). */
    hostnameTemplate: z
      .string()
      .max(63)
      .refine((t) => [...t.matchAll(/\{\{\s*([a-z]+)\s*\}\}/g)].every((m) => (HOSTNAME_FIELDS as readonly string[]).includes(m[1]!)), 'placeholders: {{serial}}, {{uuid}}, {{mac}}, {{name}}')
      .nullable()
      .default(null),
    bmc: groupBmcSchema.nullable().default(null),
    enroll: z.enum(['auto', 'manual']).default('manual'),
  })
  .strict();

/** A group as written (API body, inventory file). */
export type GroupInput = z.input<typeof groupSchema>;
/** A validated group: selectors in canonical text. */
export type Group = z.infer<typeof groupSchema>;

/** A group with its selectors parsed (what the matcher takes). */
export interface ParsedGroup extends Omit<Group, 'selectors'> {
  selectors: Selector[];
}

/** Parses the canonical selector texts of a validated group. */
export function parseGroup(g: Group): ParsedGroup {
  return { ...g, selectors: g.selectors.map(parseSelectorText) };
}

/**
 * The machine name a group's template gives a candidate: placeholders filled, lower-cased,
 * anything outside a DNS label replaced by `-`. Undefined when a placeholder has no value (no
 * serial yet) or nothing usable is left; the caller then uses its default name.
 */
export function renderHostname(template: string, c: MatchCandidate, groupName: string): string | undefined {
  let missing = false;
  const values: Record<string, string | undefined> = {
    serial: c.serial,
    uuid: c.uuid,
    mac: c.mac?.replaceAll(':', ''),
    name: groupName,
  };
  const filled = template.replace(/\{\{\s*([a-z]+)\s*\}\}/g, (_, k: string) => {
    const v = values[k]?.trim();
    if (!v) missing = true;
    return v ?? '';
  });
  if (missing) return undefined;
  const name = filled
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 63)
    .replace(/[-.]+$/, '');
  return NAME.test(name) ? name : undefined;
}
