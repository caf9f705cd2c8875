/** A small line diff (LCS) for comparing two config versions; pure, no DOM. */

/** One line of a diff: kept (' '), removed from A ('-'), added in B ('+'). */
export interface DiffLine {
  op: ' ' | '-' | '+';
  text: string;
}

/** Above this many cells (lines of A × lines of B) the LCS table is skipped for a plain replace. */
const MAX_CELLS = 4_000_000;

/** Splits text into lines; a final newline does not make an empty last line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Line diff of a and b: common prefix and suffix trimmed, the middle by longest common subsequence. */
export function diffLines(a: string, b: string): DiffLine[] {
  const x = splitLines(a);
  const y = splitLines(b);
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
  let suf = 0;
  while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
  const xs = x.slice(pre, x.length - suf);
  const ys = y.slice(pre, y.length - suf);
  const keep = (t: string): DiffLine => ({ op: ' ', text: t });
  return [...x.slice(0, pre).map(keep), ...middle(xs, ys), ...x.slice(x.length - suf).map(keep)];
}

function middle(xs: string[], ys: string[]): DiffLine[] {
  const n = xs.length;
  const m = ys.length;
  if (n * m > MAX_CELLS) return [...xs.map((t): DiffLine => ({ op: '-', text: t })), ...ys.map((t): DiffLine => ({ op: '+', text: t }))];
  // lcs[i*(m+1)+j] = length of the LCS of xs[i..] and ys[j..].
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = xs[i] === ys[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (xs[i] === ys[j]) {
      out.push({ op: ' ', text: xs[i++]! });
      j++;
    } else if (lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!) out.push({ op: '-', text: xs[i++]! });
    else out.push({ op: '+', text: ys[j++]! });
  }
  while (i < n) out.push({ op: '-', text: xs[i++]! });
  while (j < m) out.push({ op: '+', text: ys[j++]! });
  return out;
}

/** A run of diff lines to show: changes with `context` unchanged lines around them. */
export interface Hunk {
  /** 1-based first line in A and in B. */
  aStart: number;
  bStart: number;
  lines: DiffLine[];
}

/** Groups a diff into hunks with `context` lines of context (none when a and b are equal). */
export function hunks(diff: DiffLine[], context = 3): Hunk[] {
  const changed = diff.map((d) => d.op !== ' ');
  const show = diff.map((_, k) => {
    for (let d = -context; d <= context; d++) if (changed[k + d]) return true;
    return false;
  });
  const out: Hunk[] = [];
  let a = 1;
  let b = 1;
  let cur: Hunk | undefined;
  diff.forEach((d, k) => {
    if (show[k]) {
      if (!cur) out.push((cur = { aStart: a, bStart: b, lines: [] }));
      cur.lines.push(d);
    } else cur = undefined;
    if (d.op !== '+') a++;
    if (d.op !== '-') b++;
  });
  return out;
}
