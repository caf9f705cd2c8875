/** A value the TOML writer cannot express; `path` is the dotted key path. */
export class TomlError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'TomlError';
  }
}

type Table = Record<string, unknown>;

const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTableArray = (v: unknown): v is Table[] => Array.isArray(v) && v.length > 0 && v.every(isTable);

/** Bare keys are A-Za-z0-9_- (TOML 1.0 §Keys); anything else is quoted. */
function key(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : quote(k);
}

/** A TOML basic string with the escapes TOML 1.0 requires. */
function quote(s: string): string {
  const esc: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };
  const body = s.replace(/["\\\u0000-\u001f\u007f]/g, (c) => esc[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `"${body}"`;
}

function scalar(v: unknown, path: string): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TomlError(path, 'not a finite number');
    if (Number.isInteger(v) && !Number.isSafeInteger(v)) throw new TomlError(path, 'integer out of range');
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map((x, i) => scalar(x, `${path}[${i}]`)).join(', ')}]`;
  if (isTable(v)) {
    const parts = Object.entries(v).map(([k, x]) => `${key(k)} = ${scalar(x, `${path}.${k}`)}`);
    return `{ ${parts.join(', ')} }`;
  }
  throw new TomlError(path, `cannot be written as TOML (${v === null ? 'null' : typeof v})`);
}

function writeTable(lines: string[], t: Table, path: string[], header: string | null): void {
  const leaves = Object.entries(t).filter(([, v]) => !isTable(v) && !isTableArray(v));
  const tables = Object.entries(t).filter(([, v]) => isTable(v));
  const arrays = Object.entries(t).filter(([, v]) => isTableArray(v)) as [string, Table[]][];
  // A header is only needed when the table holds key/values itself (or is empty).
  if (header && (leaves.length > 0 || (tables.length === 0 && arrays.length === 0))) {
    if (lines.length) lines.push('');
    lines.push(header);
  }
  for (const [k, v] of leaves) lines.push(`${key(k)} = ${scalar(v, [...path, k].join('.'))}`);
  for (const [k, v] of tables) {
    const p = [...path, k];
    writeTable(lines, v as Table, p, `[${p.map(key).join('.')}]`);
  }
  for (const [k, items] of arrays) {
    const p = [...path, k];
    for (const item of items) {
      if (lines.length) lines.push('');
      lines.push(`[[${p.map(key).join('.')}]]`);
      writeTable(lines, item, p, null);
    }
  }
}

/** Serialises nested plain objects to TOML 1.0 (strings, numbers, booleans, arrays, tables). */
export function toToml(root: Table): string {
  const lines: string[] = [];
  writeTable(lines, root, [], null);
  return `${lines.join('\n')}\n`;
}
