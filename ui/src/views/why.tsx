/** The diagnosis verdict for a machine (`GET /api/v1/why/:ref`); hidden where the route does not exist. */
import { api, seg } from '../api.js';
import type { Machine } from '../types.js';
import { Message, fmtDuration, useLoad } from '../ui.js';
import { readVerdict } from '../verdict.js';

/** Verdict panel: phase reached, likely cause, next step, phase durations. */
export function WhyPanel({ machine, traceTick }: { machine: Machine; traceTick: number }) {
  // Read again when the timeline sees new events, and every 10 s (a stall is a verdict of time passing).
  const { data, error } = useLoad(() => api<unknown>('GET', `/api/v1/why/${seg(machine.name)}`), [machine.name, traceTick], 10_000);
  if (error?.missingRoute) return null;
  const v = data === undefined ? undefined : readVerdict(data);
  // Which appliance served a phase, only where several did (one appliance: noise).
  const several = new Set(v?.phases.flatMap((p) => p.appliances) ?? []).size > 1;
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
                  {several && p.appliances.length > 0 && <small data-testid="phase-appliances"> via {p.appliances.join(', ')}</small>}
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
