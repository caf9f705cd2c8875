import { AppError } from '../errors.js';

/** One requirement of a label selector. */
export type Requirement =
  | { key: string; op: 'eq' | 'ne'; value: string }
  | { key: string; op: 'exists' | 'absent' };

const KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const VALUE = /^[A-Za-z0-9._-]{0,63}$/;

/**
 * Parses a Kubernetes-style label selector: `rack=r1,role!=gpu,canary,!retired`.
 * Requirements are AND-ed; an empty selector matches everything.
 */
export function parseSelector(text: string): Requirement[] {
  const out: Requirement[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(!?)([^=!]+?)\s*(?:(==|=|!=)\s*(.*))?$/.exec(part);
    const key = m?.[2]?.trim() ?? '';
    if (!m || !KEY.test(key)) throw new AppError('BAD_INPUT', `bad label selector term: ${JSON.stringify(part)}`);
    if (m[3] === undefined) {
      out.push({ key, op: m[1] ? 'absent' : 'exists' });
      continue;
    }
    const value = (m[4] ?? '').trim();
    if (m[1] || !VALUE.test(value)) throw new AppError('BAD_INPUT', `bad label selector term: ${JSON.stringify(part)}`);
    out.push({ key, op: m[3] === '!=' ? 'ne' : 'eq', value });
  }
  return out;
}

/** True when the labels satisfy every requirement. */
export function matchesSelector(labels: Record<string, string>, reqs: Requirement[]): boolean {
  return reqs.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case 'absent':
        return !has;
      case 'eq':
        return has && labels[r.key] === r.value;
      case 'ne':
        return !has || labels[r.key] !== r.value;
    }
  });
}

/** Validates label keys and values as accepted by selectors. */
export function validateLabels(labels: Record<string, string>): void {
  for (const [k, v] of Object.entries(labels)) {
    if (!KEY.test(k) || !VALUE.test(v)) {
      throw new AppError('BAD_INPUT', `bad label ${JSON.stringify(k)}=${JSON.stringify(v)}`, {
        details: [{ path: `labels.${k}`, message: 'keys: letters, digits, ._/- (max 63); values: letters, digits, ._- (max 63)' }],
      });
    }
  }
}
