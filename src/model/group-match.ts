/**
 * Group matching (pure), matchbox-style: a group's selectors are AND-ed; of the groups whose
 * selectors all hold, the most specific wins.
 *
 * Specificity is a vector of selector counts by class, compared from the most specific class
 * down: identity (mac, uuid, serial) > relay (circuitId, remoteId) > subnet > labels > facts.
 * So a group pinned to one machine beats a group for its rack port, which beats one for its
 * subnet, its labels, its hardware; within a class, more selectors win. E.g. [mac] beats
 * [circuitId, facts.x, facts.y]; [facts.a, facts.b] beats [facts.a].
 *
 * Ties are refused when groups are written (findAmbiguity): two groups are ambiguous when
 * they have the same specificity vector and no key constrained by both has contradicting
 * constraints, i.e. some candidate could satisfy both (keys are independent; the candidate
 * has one value per key: `mac` is the MAC at hand). This is decidable per key: equal values,
 * numeric intervals and CIDR overlap. A set that passes never ties at run time.
 */
import { type MatchCandidate, SELECTOR_CLASSES, type Selector, classOf, parseCidr4, selectorHolds } from './group-selector.js';

/** What the matcher needs of a group. */
export interface MatchableGroup {
  name: string;
  selectors: readonly Selector[];
}

/** The verdict: one group, none, or (a set that bypassed the write check) a tie. */
export type MatchResult<G extends MatchableGroup> = { group: G } | { none: true } | { tie: [G, G] };

/** Selector counts by class, most specific class first. */
export function specificityOf(g: MatchableGroup): number[] {
  return SELECTOR_CLASSES.map((c) => g.selectors.filter((s) => classOf(s.key) === c).length);
}

/** Negative when a is less specific than b, 0 when equal. */
export function compareSpecificity(a: MatchableGroup, b: MatchableGroup): number {
  const x = specificityOf(a);
  const y = specificityOf(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** Whether every selector of the group holds for the candidate (an empty group matches all). */
export function groupHolds(g: MatchableGroup, c: MatchCandidate): boolean {
  return g.selectors.every((s) => selectorHolds(s, c));
}

/** The most specific group whose selectors all hold for the candidate. */
export function matchGroup<G extends MatchableGroup>(groups: readonly G[], c: MatchCandidate): MatchResult<G> {
  let best: G | undefined;
  let tie: G | undefined;
  for (const g of groups) {
    if (!groupHolds(g, c)) continue;
    const cmp = best ? compareSpecificity(g, best) : 1;
    if (cmp > 0) {
      best = g;
      tie = undefined;
    } else if (cmp === 0) {
      tie ??= g;
    }
  }
  if (!best) return { none: true };
  return tie ? { tie: [best, tie] } : { group: best };
}

const NUMBER = /^-?\d+(\.\d+)?$/;

/** Whether one key's constraints (from both groups) can all hold at once. */
function satisfiable(key: string, cs: readonly Selector[]): boolean {
  if (key === 'subnet') {
    // CIDRs either nest or are disjoint: all hold together iff every pair overlaps.
    const nets = cs.map((s) => parseCidr4(s.value)!);
    return nets.every(([a, p]) => nets.every(([b, q]) => {
      const bits = 32 - Math.min(p, q);
      return a - (a % 2 ** bits) === b - (b % 2 ** bits);
    }));
  }
  const eqs = cs.filter((s) => s.op === '=').map((s) => s.value);
  const nes = cs.filter((s) => s.op === '!=').map((s) => s.value);
  const same = (a: string, b: string) => (NUMBER.test(a) && NUMBER.test(b) ? Number(a) === Number(b) : a === b);
  let lo = Number.NEGATIVE_INFINITY;
  let loStrict = false;
  let hi = Number.POSITIVE_INFINITY;
  let hiStrict = false;
  for (const s of cs) {
    const n = Number(s.value);
    if ((s.op === '>=' || s.op === '>') && (n > lo || (n === lo && s.op === '>'))) [lo, loStrict] = [n, s.op === '>'];
    if ((s.op === '<=' || s.op === '<') && (n < hi || (n === hi && s.op === '<'))) [hi, hiStrict] = [n, s.op === '<'];
  }
  const bounded = lo !== Number.NEGATIVE_INFINITY || hi !== Number.POSITIVE_INFINITY;
  const inBounds = (n: number) => (loStrict ? n > lo : n >= lo) && (hiStrict ? n < hi : n <= hi);
  const first = eqs[0];
  if (first !== undefined) {
    if (eqs.some((v) => !same(v, first)) || nes.some((v) => same(v, first))) return false;
    return !bounded || (NUMBER.test(first) && inBounds(Number(first)));
  }
  if (lo < hi) return true;
  // One point left (x >= 4 and x <= 4): holds unless excluded by a strict bound or a !=.
  return lo === hi && !loStrict && !hiStrict && !nes.some((v) => NUMBER.test(v) && Number(v) === lo);
}

/** Whether some candidate could satisfy both groups. */
export function canOverlap(a: MatchableGroup, b: MatchableGroup): boolean {
  const keys = new Set(a.selectors.map((s) => s.key).filter((k) => b.selectors.some((s) => s.key === k)));
  for (const key of keys) {
    const cs = [...a.selectors, ...b.selectors].filter((s) => s.key === key);
    if (!satisfiable(key, cs)) return false;
  }
  // Each group must be satisfiable on its own too (a group that can never match ties nobody).
  const alone = (g: MatchableGroup) => [...new Set(g.selectors.map((s) => s.key))].every((k) => satisfiable(k, g.selectors.filter((s) => s.key === k)));
  return alone(a) && alone(b);
}

/** The first pair of groups that could tie (same specificity, overlapping), or undefined. */
export function findAmbiguity<G extends MatchableGroup>(groups: readonly G[]): [G, G] | undefined {
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      const a = groups[i]!;
      const b = groups[j]!;
      if (compareSpecificity(a, b) === 0 && canOverlap(a, b)) return [a, b];
    }
  }
  return undefined;
}
