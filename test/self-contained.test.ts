import { readFileSync, readdirSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
/** Trees CI runs from a plain clone: nothing in them may reach outside the repository. */
const TREES = ['test', 'qemu', 'bench', 'scripts'];
const TEXT = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.sh', '.json', '.yaml', '.yml', '.toml', '.md', '.txt']);

// Built from pieces so this file does not match itself.
const FORBIDDEN = [['..', 'shared'].join('/'), ['', 'work', ''].join('/'), ['RACKBOOT', 'SHARED'].join('_')];

function* textFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'results') yield* textFiles(path);
    } else if (e.isFile() && TEXT.has(extname(e.name))) yield path;
  }
}

/** `file:line: text` of every line that names a forbidden path. */
function outsidePaths(files: Iterable<string>, read: (f: string) => string = (f) => readFileSync(f, 'utf8')): string[] {
  const hits: string[] = [];
  for (const f of files) {
    read(f)
      .split('\n')
      .forEach((line, i) => {
        if (FORBIDDEN.some((p) => line.includes(p))) hits.push(`${relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
      });
  }
  return hits;
}

describe('the test suite is self-contained', () => {
  it('no file under test/, qemu/, bench/ or scripts/ reads a path outside the repository', () => {
    const files = TREES.flatMap((t) => [...textFiles(join(ROOT, t))]);
    expect(files.length).toBeGreaterThan(50);
    expect(outsidePaths(files)).toEqual([]);
  });

  it('the scan finds each forbidden form', () => {
    const planted: Record<string, string> = {
      'a.ts': `const d = join(import.meta.dirname, '${FORBIDDEN[0]}/schemas');`,
      'b.ts': `const m = '${FORBIDDEN[1]}shared/x';`,
      'c.sh': `dir=\${${FORBIDDEN[2]}:-x}`,
      'd.ts': 'const ok = "./fixtures/schemas";',
    };
    const hits = outsidePaths(Object.keys(planted), (f) => planted[f]!);
    expect(hits.map((h) => h.split(':')[0]!.split('/').pop())).toEqual(['a.ts', 'b.ts', 'c.sh']);
  });
});
