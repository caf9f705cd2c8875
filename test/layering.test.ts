import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of src/, checked file by file on the import statements (type-only imports too):
 * protocols do not import each other; render/ and model/ import nothing from inventory/ or http/;
 * model/ imports no other part of rackboot but errors; inventory/ imports no protocol or http module.
 */
const SRC = resolve(import.meta.dirname, '../src');
const PROTOCOLS = ['dhcp', 'tftp', 'http', 'bmc'];

/** Every .ts file under src/ with the top-level folders it imports (relative imports only). */
function importsByFile(): Array<{ file: string; area: string; imports: string[] }> {
  const out: Array<{ file: string; area: string; imports: string[] }> = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8');
        const targets = [...text.matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)].map((m) => relative(SRC, resolve(dirname(p), m[1] ?? '')));
        const area = relative(SRC, p).split('/')[0] ?? '';
        out.push({ file: relative(SRC, p), area, imports: targets.map((t) => (t.includes('/') ? (t.split('/')[0] ?? '') : t.replace(/\.js$/, ''))) });
      }
    }
  };
  walk(SRC);
  return out;
}

const files = importsByFile();

/**
 * Known exceptions, to be removed, never added to: the power, provision and rollout routes still
 * reach the BMC layer's PowerService through powerServiceFor() instead of a narrow interface
 * built once in main.ts (issue #17).
 */
const KNOWN = new Set(['http/routes/power.ts → bmc/', 'http/routes/provision.ts → bmc/', 'http/routes/rollout.ts → bmc/']);
const violations = (area: string, forbidden: (target: string) => boolean) =>
  [...new Set(files.filter((f) => f.area === area).flatMap((f) => f.imports.filter(forbidden).map((t) => `${f.file} → ${t}/`)))].filter((v) => !KNOWN.has(v));

describe('layering of src/', () => {
  it('reads every file (the check is not vacuous)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((f) => f.area === 'render' && f.imports.includes('model'))).toBe(true);
  });

  it.each(PROTOCOLS)('%s/ imports no other protocol', (p) => {
    expect(violations(p, (t) => PROTOCOLS.includes(t) && t !== p)).toEqual([]);
  });

  it.each(['render', 'model'])('%s/ imports nothing from inventory/ or http/', (area) => {
    expect(violations(area, (t) => t === 'inventory' || t === 'http')).toEqual([]);
  });

  it('model/ is a leaf (errors only)', () => {
    expect(violations('model', (t) => t !== 'model' && t !== 'errors')).toEqual([]);
  });

  it('inventory/ imports no protocol or http module', () => {
    expect(violations('inventory', (t) => PROTOCOLS.includes(t))).toEqual([]);
  });
});
