/** Rollouts: list with progress, start form, and one rollout's machines with its controls. */
import { useState } from 'preact/hooks';
import { type Role, api, roleAtLeast } from '../api.js';
import type { Items, Profile, Rollout } from '../types.js';
import { ConfirmButton, Message, fmtTime, useAction, useLoad } from '../ui.js';

/** Phases after which a machine of a rollout needs nothing more. */
const DONE_PHASES = new Set(['done', 'failed', 'rolled-back', 'rollback-failed', 'skipped', 'aborted']);
const FINISHED = new Set(['succeeded', 'aborted', 'rolled-back', 'failed']);

function Progress({ r }: { r: Rollout }) {
  const done = r.machines.filter((m) => DONE_PHASES.has(m.phase)).length;
  const total = r.machines.length;
  return (
    <span class="progress">
      <progress max={Math.max(total, 1)} value={done} aria-label={`Rollout ${r.id} progress`} /> {done}/{total}
    </span>
  );
}

/** The list of rollouts (refreshed every 2 s) and, for operate tokens, the start form. */
export function RolloutsView({ role }: { role: Role }) {
  const list = useLoad(() => api<Items<Rollout>>('GET', '/api/v1/rollouts'), [], 2000);
  const items = [...(list.data?.items ?? [])].sort((a, b) => b.id - a.id);
  return (
    <section aria-labelledby="rollouts-h">
      <h1 id="rollouts-h" tabIndex={-1}>
        Rollouts
      </h1>
      <Message error={list.error} />
      <table data-testid="rollouts">
        <caption class="sr-only">Rollouts, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Rollout</th>
            <th scope="col">State</th>
            <th scope="col">Target</th>
            <th scope="col">Progress</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {items.map((r) => (
            <tr key={r.id}>
              <th scope="row">
                <a href={`#/rollouts/${r.id}`}>
                  #{r.id}
                  {r.name ? ` ${r.name}` : ''}
                </a>
              </th>
              <td>
                <span class={`state state-${r.state}`}>{r.state}</span>
              </td>
              <td>{r.spec.target.profile ?? 'digests'}</td>
              <td>
                <Progress r={r} />
              </td>
              <td>{fmtTime(r.createdAt)}</td>
            </tr>
          ))}
          {list.data && items.length === 0 && (
            <tr>
              <td colSpan={5}>No rollouts yet.</td>
            </tr>
          )}
        </tbody>
      </table>
      {roleAtLeast(role, 'operate') && <StartRollout onStarted={() => void list.reload()} />}
    </section>
  );
}

function StartRollout({ onStarted }: { onStarted: () => void }) {
  const profiles = useLoad(() => api<Items<Profile>>('GET', '/api/v1/profiles'), []);
  const action = useAction();
  const [f, setF] = useState({ name: '', selector: '', machines: '', profile: '', canary: '1', batchSize: '1', maxUnavailable: '1' });
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = (e: Event) => {
    e.preventDefault();
    void action.run('Start rollout', async () => {
      const machines = f.machines.split(/[\s,]+/).filter(Boolean);
      const r = await api<Rollout>('POST', '/api/v1/rollouts', {
        ...(f.name.trim() ? { name: f.name.trim() } : {}),
        ...(f.selector.trim() ? { selector: f.selector.trim() } : {}),
        ...(machines.length ? { machines } : {}),
        target: { profile: f.profile },
        canary: { count: Number(f.canary) },
        batchSize: Number(f.batchSize),
        maxUnavailable: Number(f.maxUnavailable),
      });
      onStarted();
      location.hash = `#/rollouts/${r.id}`;
      return `Rollout #${r.id} started with ${r.machines.length} machines`;
    });
  };
  const num = (id: keyof typeof f, text: string, min: number) => (
    <>
      <label for={`ro-${id}`}>{text}</label>
      <input id={`ro-${id}`} type="number" min={min} required value={f[id]} onInput={set(id)} />
    </>
  );
  return (
    <form class="grid" onSubmit={submit} aria-labelledby="start-h">
      <h2 id="start-h">Start a rollout</h2>
      <label for="ro-name">Name (optional)</label>
      <input id="ro-name" value={f.name} onInput={set('name')} />
      <label for="ro-selector">Selector</label>
      <input id="ro-selector" value={f.selector} placeholder="role=worker" onInput={set('selector')} aria-describedby="ro-targets-help" />
      <label for="ro-machines">Machines</label>
      <input id="ro-machines" value={f.machines} placeholder="n1, n2" onInput={set('machines')} aria-describedby="ro-targets-help" />
      <span id="ro-targets-help" class="help">
        A selector, machine names, or both (the union is taken).
      </span>
      <label for="ro-profile">Target profile</label>
      <select id="ro-profile" required value={f.profile} onChange={set('profile')}>
        <option value="">(choose one)</option>
        {(profiles.data?.items ?? []).map((p) => (
          <option key={p.name} value={p.name}>
            {p.name} (r{p.revision})
          </option>
        ))}
      </select>
      {num('canary', 'Canaries', 0)}
      {num('batchSize', 'Batch size', 1)}
      {num('maxUnavailable', 'Max unavailable', 1)}
      <button type="submit" disabled={action.busy || !f.profile || (!f.selector.trim() && !f.machines.trim())}>
        Start rollout
      </button>
      <Message outcome={action.outcome} />
    </form>
  );
}

/** One rollout: live machine progress (every 1.5 s) and pause/resume/abort/rollback. */
export function RolloutView({ id, role }: { id: number; role: Role }) {
  const { data: r, error, reload } = useLoad(() => api<Rollout>('GET', `/api/v1/rollouts/${id}`), [id], 1500);
  const action = useAction();
  const act = (verb: 'pause' | 'resume' | 'abort' | 'rollback', label: string) =>
    void action.run(label, async () => {
      const v = await api<Rollout>('POST', `/api/v1/rollouts/${id}/${verb}`, {});
      void reload();
      return `${label}: rollout is ${v.state}`;
    });
  const finished = r ? FINISHED.has(r.state) : true;
  return (
    <section aria-labelledby="rollout-h">
      <p>
        <a href="#/rollouts">← Rollouts</a>
      </p>
      <h1 id="rollout-h" tabIndex={-1}>
        Rollout #{id}
        {r?.name ? ` ${r.name}` : ''}
      </h1>
      <Message error={error} />
      {r && (
        <>
          <p>
            State: <span class={`state state-${r.state}`} data-testid="rollout-state">{r.state}</span> <Progress r={r} />
            {r.reason && <span> — {r.reason}</span>}
          </p>
          {r.runner && !finished && (
            <p data-testid="rollout-runner">
              Stepped by appliance <strong>{r.runner.appliance}</strong> since {fmtTime(r.runner.since)}
            </p>
          )}
          {roleAtLeast(role, 'operate') && !finished && (
            <div class="row" data-testid="rollout-actions">
              {r.state === 'running' && (
                <button type="button" disabled={action.busy} onClick={() => act('pause', 'Pause')}>
                  Pause
                </button>
              )}
              {r.state === 'paused' && (
                <button type="button" disabled={action.busy} onClick={() => act('resume', 'Resume')}>
                  Resume
                </button>
              )}
              {r.state !== 'rolling-back' && <ConfirmButton label="Roll back" disabled={action.busy} onConfirm={() => act('rollback', 'Roll back')} />}
              <ConfirmButton label="Abort" disabled={action.busy} onConfirm={() => act('abort', 'Abort')} />
            </div>
          )}
          <Message outcome={action.outcome} />
          <table>
            <caption class="sr-only">Machines of rollout {id}</caption>
            <thead>
              <tr>
                <th scope="col">Machine</th>
                <th scope="col">Batch</th>
                <th scope="col">Phase</th>
                <th scope="col">Boot</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {r.machines.map((m) => (
                <tr key={m.machineId}>
                  <th scope="row">
                    <a href={`#/machines/${encodeURIComponent(m.machine)}`}>{m.machine}</a>
                  </th>
                  <td>
                    {m.batch}
                    {m.canary ? ' (canary)' : ''}
                  </td>
                  <td>{m.phase}</td>
                  <td>{m.bootPhase ?? ''}</td>
                  <td>{m.failure ?? m.message ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
