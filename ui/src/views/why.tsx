/** The diagnosis verdict for a machine (`GET /api/v1/why/:ref`); hidden where the route does not exist. */
import { api, seg } from '../api';
import type { Machine } from '../types';
import { Message, fmtDuration, useLoad } from '../ui';

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

/** Verdict panel: phase reached, likely cause, next step, phase durations. */
export function WhyPanel({ machine, traceTick }: { machine: Machine; traceTick: number }) {
  // Read again when the timeline sees new events, and every 10 s (a stall is a verdict of time passing).
  const { data, error } = useLoad(() => api<unknown>('GET', `/api/v1/why/${seg(machine.name)}`), [machine.name, traceTick], 10_000);
  if (error?.missingRoute) return null;
  const v = data === undefined ? undefined : readVerdict(data);
  return (
    <section aria-labelledby="why-h" data-testid="why">
      <h2 id="why-h">Diagnosis</h2>
      <Message error={error} />
      {v && (
        <div class={`verdict ${v.severity ?? ''}`}>
          <p>
            <strong>{v.summary ?? 'No verdict'}</strong> {v.code && <code>{v.code}</code>}
          </p>
          <dl class="facts">
            {v.reached && (
              <>
                <dt>Phase reached</dt>
                <dd>{v.reached}</dd>
              </>
            )}
            {v.cause && (
              <>
                <dt>Likely cause</dt>
                <dd>{v.cause}</dd>
              </>
            )}
            {v.attempts !== null && (
              <>
                <dt>Boot attempts</dt>
                <dd>{v.attempts}</dd>
              </>
            )}
            {v.next && (
              <>
                <dt>Next step</dt>
                <dd>{v.next}</dd>
              </>
            )}
          </dl>
          {v.phases.length > 0 && (
            <ol class="phases" aria-label="Phase durations">
              {v.phases.map((p) => (
                <li key={p.name} class={p.reached ? 'reached' : ''}>
                  {p.name} {p.durationMs !== null && <small>{fmtDuration(p.durationMs)}</small>}
                </li>
              ))}
            </ol>
          )}
          {v.findings.length > 0 && (
            <>
              <h3>Also found</h3>
              <ul>
                {v.findings.map((f) => (
                  <li key={f}>{f}</li>
                ))}
              </ul>
            </>
          )}
          <details>
            <summary>Raw diagnosis</summary>
            <pre>{JSON.stringify(data, null, 2)}</pre>
          </details>
        </div>
      )}
    </section>
  );
}
