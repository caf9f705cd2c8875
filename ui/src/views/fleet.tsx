/** The fleet: every machine (or those a selector matches), with counts by state. */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { Items, Machine } from '../types.js';
import { Message, fmtTime, useLoad } from '../ui.js';

/** Fleet table with a label selector (`rack=r1,role!=gpu`) and state counts. */
export function FleetView() {
  const [draft, setDraft] = useState('');
  const [selector, setSelector] = useState('');
  const { data, error } = useLoad(
    () => api<Items<Machine>>('GET', `/api/v1/machines${selector ? `?selector=${encodeURIComponent(selector)}` : ''}`),
    [selector],
    5000,
  );
  const machines = data?.items ?? [];
  const counts = new Map<string, number>();
  for (const m of machines) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
  return (
    <section aria-labelledby="fleet-h">
      <h1 id="fleet-h" tabIndex={-1}>
        Fleet
      </h1>
      <form
        class="row"
        aria-label="Filter machines"
        onSubmit={(e) => {
          e.preventDefault();
          setSelector(draft.trim());
        }}
      >
        <label for="selector">Selector</label>
        <input id="selector" value={draft} placeholder="rack=r1,role!=gpu" aria-describedby="selector-help" onInput={(e) => setDraft(e.currentTarget.value)} />
        <button type="submit">Filter</button>
        {selector && (
          <button
            type="button"
            onClick={() => {
              setDraft('');
              setSelector('');
            }}
          >
            Clear
          </button>
        )}
        <span id="selector-help" class="help">
          Labels AND-ed: <code>key=value</code>, <code>key!=value</code>.
        </span>
      </form>
      <Message error={error} />
      <ul class="counts" aria-label="Machines by state" data-testid="state-counts">
        <li>
          <strong>{machines.length}</strong> machines
        </li>
        {[...counts].sort().map(([state, n]) => (
          <li key={state}>
            <span class={`state state-${state}`}>{state}</span> {n}
          </li>
        ))}
      </ul>
      <table>
        <caption class="sr-only">Machines{selector ? ` matching ${selector}` : ''}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">State</th>
            <th scope="col">Profile</th>
            <th scope="col">MACs</th>
            <th scope="col">IPv4</th>
            <th scope="col">Labels</th>
            <th scope="col">BMC</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {machines.map((m) => (
            <tr key={m.id}>
              <th scope="row">
                <a href={`#/machines/${encodeURIComponent(m.name)}`}>{m.name}</a>
              </th>
              <td>
                <span class={`state state-${m.state}`}>{m.state}</span>
              </td>
              <td>{m.profile ?? '—'}</td>
              <td>
                <code>{m.macs.join(' ')}</code>
              </td>
              <td>{m.ipv4 ?? '—'}</td>
              <td>
                {Object.entries(m.labels)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ')}
              </td>
              <td>{m.bmc ? `${m.bmc.type} ${m.bmc.address}` : '—'}</td>
              <td>{fmtTime(m.updatedAt)}</td>
            </tr>
          ))}
          {data && machines.length === 0 && (
            <tr>
              <td colSpan={8}>No machines{selector ? ' match this selector' : ''}.</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
