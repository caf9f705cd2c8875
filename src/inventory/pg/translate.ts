import { AppError } from '../../errors.js';

/**
 * SQLite-flavoured statement text (what the repositories write, for better-sqlite3) → PostgreSQL
 * text, pure. Only what cannot be written portably is rewritten:
 * - parameters: `?` → `$1, $2, …` in order; `@name`, `:name`, `$name` → one `$n` per name;
 * - `json_extract(expr, '$.a.b')` → `(expr::jsonb #>> '{a,b}')` (text, or NULL when absent);
 * - `x IS ?` → `x IS NOT DISTINCT FROM $n`, `x IS NOT ?` → `x IS DISTINCT FROM $n` (SQLite's IS
 *   compares NULLs as equal).
 * String literals, quoted identifiers, dollar-quoted bodies and comments are left alone, and so
 * is everything else: the rest of the repository SQL is portable by convention.
 */

/** Where the value of one `$n` comes from: an argument position or a named property. */
export type ParamSource = number | string;

/** A translated statement: PostgreSQL text and, for `$1…$n` in order, where each value comes from. */
export interface TranslatedSql {
  text: string;
  params: ParamSource[];
}

type Token =
  | { kind: 'text'; text: string }
  | { kind: 'space'; text: string }
  | { kind: 'word'; text: string }
  | { kind: 'positional'; text: string }
  | { kind: 'named'; text: string; name: string };

/** Translates one statement (or several, for exec); throws on what it cannot translate. */
export function translateSql(sql: string): TranslatedSql {
  const params: ParamSource[] = [];
  const names = new Map<string, number>();
  let positional = 0;
  const placeholder = (t: Token): string => {
    if (t.kind === 'positional') {
      params.push(positional++);
      return `$${params.length}`;
    }
    if (t.kind !== 'named') throw new Error('not a parameter');
    let n = names.get(t.name);
    if (n === undefined) {
      params.push(t.name);
      n = params.length;
      names.set(t.name, n);
    }
    return `$${n}`;
  };
  const text = emit(tokenize(sql), placeholder);
  return { text, params };
}

function emit(tokens: Token[], placeholder: (t: Token) => string): string {
  let out = '';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'positional' || t.kind === 'named') {
      out += placeholder(t);
      continue;
    }
    if (t.kind === 'word' && t.text.toLowerCase() === 'json_extract') {
      const call = jsonExtract(tokens, i, placeholder);
      if (call) {
        out += call.text;
        i = call.end;
        continue;
      }
    }
    if (t.kind === 'word' && t.text.toLowerCase() === 'is') {
      const cmp = isParam(tokens, i);
      if (cmp) {
        out += `${cmp.not ? 'IS DISTINCT FROM' : 'IS NOT DISTINCT FROM'} ${placeholder(tokens[cmp.param]!)}`;
        i = cmp.param;
        continue;
      }
    }
    out += t.text;
  }
  return out;
}

/** `IS [NOT] <param>` starting at token i: the parameter's index, or undefined. */
function isParam(tokens: Token[], i: number): { not: boolean; param: number } | undefined {
  let j = skipSpace(tokens, i + 1);
  let not = false;
  const w = tokens[j];
  if (w?.kind === 'word' && w.text.toLowerCase() === 'not') {
    not = true;
    j = skipSpace(tokens, j + 1);
  }
  const p = tokens[j];
  return p && (p.kind === 'positional' || p.kind === 'named') ? { not, param: j } : undefined;
}

/** `json_extract(expr, 'path')` starting at token i, translated; undefined when it is not a call. */
function jsonExtract(tokens: Token[], i: number, placeholder: (t: Token) => string): { text: string; end: number } | undefined {
  const open = skipSpace(tokens, i + 1);
  if (tokens[open]?.text !== '(') return undefined;
  const args: Token[][] = [[]];
  let depth = 0;
  let j = open + 1;
  for (; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (t.text === '(') depth++;
    else if (t.text === ')') {
      if (depth === 0) break;
      depth--;
    } else if (t.text === ',' && depth === 0) {
      args.push([]);
      continue;
    }
    args.at(-1)!.push(t);
  }
  if (j >= tokens.length) throw new Error('json_extract( without its closing parenthesis');
  const [exprTokens, pathTokens, ...rest] = args;
  const pathText = (pathTokens ?? []).filter((t) => t.kind !== 'space');
  if (rest.length > 0 || !exprTokens || pathText.length !== 1 || !pathText[0]!.text.startsWith("'")) {
    throw new Error('json_extract needs exactly (expression, \'$.literal.path\') to be translated');
  }
  const expr = emit(exprTokens, placeholder).trim();
  const simple = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$|^"[^"]+"$/.test(expr);
  const keys = jsonPathKeys(pathText[0]!.text.slice(1, -1).replaceAll("''", "'"));
  return { text: `(${simple ? expr : `(${expr})`}::jsonb #>> '${pgTextArray(keys)}')`, end: j };
}

/** SQLite JSON path `$.a.b[0]` → ['a', 'b', '0']. */
export function jsonPathKeys(path: string): string[] {
  if (!path.startsWith('$')) throw new Error(`JSON path ${path} does not start with $`);
  const keys: string[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_]*)|\.("(?:[^"]|"")*")|\[(\d+)\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) throw new Error(`JSON path ${path} is not a plain $.key.key[n] path`);
    keys.push(m[1] ?? m[3] ?? m[2]!.slice(1, -1).replaceAll('""', '"'));
  }
  return keys;
}

/** A PostgreSQL text[] literal body (inside a SQL string: its quotes are doubled). */
function pgTextArray(keys: string[]): string {
  const quoted = keys.map((k) => (/^[A-Za-z0-9_]+$/.test(k) ? k : `"${k.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`));
  return `{${quoted.join(',')}}`.replaceAll("'", "''");
}

function skipSpace(tokens: Token[], i: number): number {
  while (tokens[i]?.kind === 'space') i++;
  return i;
}

/** Splits SQL into literals, identifiers, words, parameters and punctuation. */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const start = i;
    if (c === "'" || c === '"' || c === '`') {
      i = closeQuote(sql, i, c);
      tokens.push({ kind: 'text', text: sql.slice(start, i) });
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end;
      tokens.push({ kind: 'space', text: sql.slice(start, i) });
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new Error('unterminated /* comment');
      i = end + 2;
      tokens.push({ kind: 'space', text: sql.slice(start, i) });
    } else if (/\s/.test(c)) {
      while (i < n && /\s/.test(sql[i]!)) i++;
      tokens.push({ kind: 'space', text: sql.slice(start, i) });
    } else if (c === '?') {
      if (/\d/.test(sql[i + 1] ?? '')) throw new Error('numbered parameters (?NNN) are not supported');
      i++;
      tokens.push({ kind: 'positional', text: '?' });
    } else if (c === ':' && sql[i + 1] === ':') {
      i += 2;
      tokens.push({ kind: 'text', text: '::' });
    } else if (c === '$' && /[A-Za-z_$]/.test(sql[i + 1] ?? '')) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        if (end < 0) throw new Error(`unterminated ${tag[0]} quote`);
        i = end + tag[0].length;
        tokens.push({ kind: 'text', text: sql.slice(start, i) });
      } else {
        i = wordEnd(sql, i + 1);
        tokens.push({ kind: 'named', text: sql.slice(start, i), name: sql.slice(start + 1, i) });
      }
    } else if ((c === '@' || c === ':') && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      i = wordEnd(sql, i + 1);
      tokens.push({ kind: 'named', text: sql.slice(start, i), name: sql.slice(start + 1, i) });
    } else if (/[A-Za-z_]/.test(c)) {
      i = wordEnd(sql, i);
      tokens.push({ kind: 'word', text: sql.slice(start, i) });
    } else {
      i++;
      tokens.push({ kind: 'text', text: c });
    }
  }
  return tokens;
}

function wordEnd(sql: string, i: number): number {
  while (i < sql.length && /[A-Za-z0-9_$]/.test(sql[i]!)) i++;
  return i;
}

/** The index after the closing quote (a doubled quote is part of the literal). */
function closeQuote(sql: string, i: number, q: string): number {
  let j = i + 1;
  for (;;) {
    const k = sql.indexOf(q, j);
    if (k < 0) throw new Error(`unterminated ${q} quote`);
    if (sql[k + 1] === q) {
      j = k + 2;
      continue;
    }
    return k + 1;
  }
}

/**
 * The values for a translated statement's `$1…$n`, from arguments as better-sqlite3 takes them:
 * values in order (arrays are spread), and one plain object for the named ones. Booleans bind as
 * 1/0 and bigints as decimal text (columns are BIGINT); undefined binds as NULL; text holding a
 * NUL character is refused (BAD_INPUT).
 */
export function bindParams(params: readonly ParamSource[], args: readonly unknown[]): unknown[] {
  const positional: unknown[] = [];
  let named: Record<string, unknown> | undefined;
  for (const a of args) {
    if (Array.isArray(a)) positional.push(...a);
    else if (isPlainObject(a)) named = { ...named, ...a };
    else positional.push(a);
  }
  let used = 0;
  const values = params.map((p) => {
    if (typeof p === 'number') {
      if (p >= positional.length) throw new RangeError('Too few parameter values were provided');
      used = Math.max(used, p + 1);
      return bindValue(positional[p]);
    }
    if (!named || !(p in named)) throw new RangeError(`Missing named parameter "${p}"`);
    return bindValue(named[p]);
  });
  if (used < positional.length) throw new RangeError('Too many parameter values were provided');
  return values;
}

function bindValue(v: unknown): unknown {
  if (v === undefined) return null;
  // PostgreSQL text cannot hold U+0000 (SQLite can): a hostile name or path with %00 would fail
  // deep in the server as an encoding error (a 500); it is bad input, refused before it is sent.
  if (typeof v === 'string' && v.includes('\0')) throw new AppError('BAD_INPUT', 'text with a NUL character (U+0000) is not accepted');
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
