/**
 * Text cut where given values occur, to be filled again with other values in their places (pure).
 * A boot script differs from the machine's previous one only in its two fresh tokens (issue #21):
 * the script is rendered once, cut at its tokens, and every following boot with the same inputs
 * is a join of the parts with its own tokens instead of a render.
 *
 * Filling gives the text the renderer would have given for the new values when the renderer
 * treats each value as opaque: no escaping step changes a value or looks across its edges.
 * True of the iPXE renderer for tokens (`[A-Za-z0-9_-]` only: oneLine and echoText act on
 * newlines, `||`, `&&`, `$` and outer white space, none of which a token has or can form).
 */

/** `parts[0] values[slots[0]] parts[1] … parts[n]`. */
export interface TextTemplate {
  readonly parts: readonly string[];
  /** Which value goes between parts[k] and parts[k + 1]. */
  readonly slots: readonly number[];
}

/**
 * The template of `text` whose holes are every occurrence of each value; undefined when two
 * occurrences overlap (no cut is certain then). Empty values are not looked for.
 */
export function templateOf(text: string, values: readonly string[]): TextTemplate | undefined {
  const hits: Array<[at: number, slot: number]> = [];
  values.forEach((v, slot) => {
    if (v.length === 0) return;
    for (let at = text.indexOf(v); at >= 0; at = text.indexOf(v, at + v.length)) hits.push([at, slot]);
  });
  hits.sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  const slots: number[] = [];
  let from = 0;
  for (const [at, slot] of hits) {
    if (at < from) return undefined;
    parts.push(text.slice(from, at));
    slots.push(slot);
    from = at + (values[slot] as string).length;
  }
  parts.push(text.slice(from));
  return { parts, slots };
}

/** The template's text with `values` in its holes. */
export function fillTemplate(t: TextTemplate, values: readonly string[]): string {
  let out = t.parts[0] as string;
  for (let k = 0; k < t.slots.length; k++) out += (values[t.slots[k] as number] as string) + (t.parts[k + 1] as string);
  return out;
}
