/** A machine's boot timeline: its trace, updated live as events arrive. */
import { useEffect, useState } from 'preact/hooks';
import { type ApiError, api, seg } from '../api.js';
import { type LiveMode, followMachineEvents } from '../events.js';
import { PHASES, phasesReached } from '../phases.js';
import type { BootEvent, Items, Machine } from '../types.js';
import { Message, asApiError, fmtTime } from '../ui.js';

/** How many rows the page keeps (the CLI's `rackboot events` has them all). */
const KEEP = 500;

/** The detail's short fields as `k=v` (long or nested values left to the raw view). */
function summary(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .filter(([, v]) => v !== null && ['string', 'number', 'boolean'].includes(typeof v))
    .map(([k, v]) => `${k}=${String(v).length > 48 ? `${String(v).slice(0, 45)}…` : String(v)}`)
    .slice(0, 6)
    .join(' ');
}

async function loadAll(name: string): Promise<BootEvent[]> {
  const out: BootEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await api<Items<BootEvent>>('GET', `/api/v1/machines/${seg(name)}/events?after=${after}&limit=1000`);
    out.push(...page.items);
    if (page.items.length < 1000) return out.slice(-KEEP);
    after = page.items[page.items.length - 1]!.id;
  }
}

/** The live boot timeline of one machine. */
export function Timeline({ machine, onNewEvents }: { machine: Machine; onNewEvents?: () => void }) {
  const [events, setEvents] = useState<BootEvent[] | undefined>(undefined);
  const [mode, setMode] = useState<LiveMode>('connecting');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [latest, setLatest] = useState('');
  // Restart only when the machine's identity changes (its page reloads every few seconds).
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed on id, name and MACs, not the object
  useEffect(() => {
    let stop = () => {};
    let cancelled = false;
    loadAll(machine.name).then(
      (initial) => {
        if (cancelled) return;
        setEvents(initial);
        stop = followMachineEvents({
          machine,
          after: initial[initial.length - 1]?.id ?? 0,
          onMode: setMode,
          onEvents: (fresh) => {
            setEvents((old) => [...(old ?? []), ...fresh].slice(-KEEP));
            const last = fresh[fresh.length - 1]!;
            setLatest(`${fresh.length} new event${fresh.length > 1 ? 's' : ''}, latest ${last.kind}`);
            onNewEvents?.();
          },
        });
      },
      (e) => setError(asApiError(e)),
    );
    return () => {
      cancelled = true;
      stop();
    };
  }, [machine.id, machine.name, machine.macs.join()]);

  const reached = phasesReached(events ?? []);
  // The appliance column only where several appliances served this machine (one appliance: noise).
  const named = new Set((events ?? []).map((e) => e.appliance).filter(Boolean)).size > 1;
  return (
    <section aria-labelledby="timeline-h">
      <h2 id="timeline-h">Boot timeline</h2>
      <p class="help">
        Live: <span data-testid="live-mode">{mode === 'stream' ? 'streaming' : mode}</span>. <span class="sr-only" aria-live="polite">{latest}</span>
      </p>
      <ol class="phases" aria-label="Boot phases reached" data-testid="boot-phases">
        {PHASES.map((p) => (
          <li key={p.name} class={reached.has(p.name) ? 'reached' : ''} title={fmtTime(reached.get(p.name))}>
            {p.name}
            <span class="sr-only">{reached.has(p.name) ? ` reached ${fmtTime(reached.get(p.name))}` : ' not reached'}</span>
          </li>
        ))}
      </ol>
      <Message error={error} />
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it (WCAG 2.1.1) */}
      <section class="scroll" tabIndex={0} aria-label="Boot trace rows">
        <table data-testid="timeline">
          <caption class="sr-only">Boot trace of {machine.name}, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time</th>
              {named && <th scope="col">Appliance</th>}
              <th scope="col">Source</th>
              <th scope="col">Event</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {(events ?? []).map((e) => (
              <tr key={e.id} data-kind={e.kind}>
                <td>{e.id}</td>
                <td>{fmtTime(e.at)}</td>
                {named && <td data-testid="appliance">{e.appliance ?? '-'}</td>}
                <td>{e.source}</td>
                <td>
                  <code>{e.kind}</code>
                </td>
                <td class="detail">{summary(e.detail)}</td>
              </tr>
            ))}
            {events && events.length === 0 && (
              <tr>
                <td colSpan={named ? 6 : 5}>No events yet: they appear here as the machine boots.</td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
    </section>
  );
}
