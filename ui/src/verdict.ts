/** Reads a diagnosis answer (`GET /api/v1/why/:ref`) into what the panel shows, tolerant of its exact shape. Pure. */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Obj, ...keys: string[]): string | undefined => {
  for (const k of keys) if (typeof o[k] === 'string' && o[k]) return o[k] as string;
  return undefined;
};

/** The fields the console shows, read from the answer whatever its exact nesting. */
export function readVerdict(raw: unknown) {
  const top = isObj(raw) ? raw : {};
  const v = isObj(top.verdict) ? top.verdict : top;
  const summary = typeof top.verdict === 'string' ? top.verdict : str(v, 'summary', 'title', 'message', 'verdict');
  const phases = (Array.isArray(top.phases) ? top.phases : []).filter(isObj).map((p) => ({
    name: str(p, 'phase', 'name') ?? '?',
    durationMs: typeof p.durationMs === 'number' ? p.durationMs : typeof p.ms === 'number' ? p.ms : null,
    reached: p.reached !== false,
    appliances: (Array.isArray(p.appliances) ? p.appliances : []).filter((a): a is string => typeof a === 'string' && a !== ''),
  }));
  return {
    code: str(v, 'code', 'kind'),
    severity: str(v, 'severity', 'level', 'status'),
    summary,
    cause: str(v, 'cause', 'likelyCause', 'reason'),
    next: str(v, 'next', 'nextStep', 'advice', 'hint'),
    reached: str(top, 'phase', 'reached', 'lastPhase'),
    attempts: typeof top.attempts === 'number' ? top.attempts : null,
    phases,
    findings: (Array.isArray(top.findings) ? top.findings : []).filter(isObj).map((f) => str(f, 'summary', 'message') ?? '').filter(Boolean),
  };
}
