import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parseAllDocuments } from 'yaml';

/** Upstream Talos and Ignition schemas, copied into the repository (origins in test/fixtures/SOURCES.md). */
const SCHEMAS = join(import.meta.dirname, '../fixtures/schemas');

const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (
  a: Ajv | Ajv2020,
) => void;
const load = (name: string) => JSON.parse(readFileSync(join(SCHEMAS, name), 'utf8')) as Record<string, unknown>;

const talosAjv = new Ajv2020({ strict: false, allErrors: true });
addFormats(talosAjv);
const talosValidate = talosAjv.compile(load('talos-v1alpha1.config.schema.json'));

// The Ignition schemas are draft-04; the keywords they use mean the same in draft-07.
const ignitionValidators = Object.fromEntries(
  ['3.3', '3.4'].map((v) => {
    const { $schema: _drop, ...schema } = load(`ignition-${v}.schema.json`);
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    return [v, ajv.compile(schema)];
  }),
);

/** Errors of each YAML document of a Talos config against the upstream Talos JSON schema. */
export function talosSchemaErrors(yamlText: string): string[] {
  const errors: string[] = [];
  parseAllDocuments(yamlText).forEach((d, i) => {
    if (!talosValidate(d.toJSON())) errors.push(`doc ${i}: ${talosAjv.errorsText(talosValidate.errors)}`);
  });
  return errors;
}

/** Errors of an Ignition config against the upstream schema of its major.minor version. */
export function ignitionSchemaErrors(json: string): string[] {
  const doc = JSON.parse(json) as { ignition: { version: string } };
  const v = doc.ignition.version.split('.').slice(0, 2).join('.');
  const validate = ignitionValidators[v];
  if (!validate) return [`no schema for ${doc.ignition.version}`];
  return validate(doc) ? [] : [JSON.stringify(validate.errors)];
}

function withTempFile<T>(name: string, text: string, fn: (path: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'rackboot-render-'));
  try {
    const path = join(dir, name);
    writeFileSync(path, text);
    return fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs Debian's ignition-validate; returns its exit status and output. */
export function ignitionValidate(json: string): { status: number; output: string } {
  return withTempFile('config.ign', json, (path) => {
    const r = spawnSync('ignition-validate', [path], { encoding: 'utf8' });
    return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
  });
}

/** Runs `cloud-init schema --config-file`; returns its exit status and output. */
export function cloudInitSchema(userData: string): { status: number; output: string } {
  return withTempFile('user-data', userData, (path) => {
    const r = spawnSync('cloud-init', ['schema', '--config-file', path], { encoding: 'utf8' });
    return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
  });
}

/** Parses TOML with Python's tomllib (3.11+), an independent reader, into JSON. */
export function parseTomlWithPython(toml: string): unknown {
  const out = execFileSync('python3', ['-c', 'import sys,tomllib,json; print(json.dumps(tomllib.loads(sys.stdin.read())))'], {
    input: toml,
    encoding: 'utf8',
  });
  return JSON.parse(out);
}
