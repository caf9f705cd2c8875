/** A machine's config versions, and a line diff of any two of them. */
import { useState } from 'preact/hooks';
import { api, apiText, seg } from '../api.js';
import { type Hunk, diffLines, hunks } from '../diff.js';
import type { ConfigVersion, Machine } from '../types.js';
import { Message, fmtTime, useAction, useLoad } from '../ui.js';

interface Configs {
  desired: ConfigVersion | null;
  items: ConfigVersion[];
}

const label = (v: ConfigVersion) => `#${v.id} ${v.profile} r${v.profileRevision} ${v.format} (${fmtTime(v.createdAt)})`;

/** Version table plus a compare form (From / To → diff). */
export function ConfigVersions({ machine, traceTick }: { machine: Machine; traceTick: number }) {
  // Read again when the timeline moves: a boot renders a new version.
  const { data, error } = useLoad(() => api<Configs>('GET', `/api/v1/machines/${seg(machine.name)}/configs`), [machine.name, traceTick]);
  // Oldest first, so the default comparison is the previous version against the newest.
  const versions = [...(data?.items ?? [])].sort((x, y) => x.id - y.id);
  const [from, setFrom] = useState<string>('');
  const [to, setTo] = useState<string>('');
  const [result, setResult] = useState<{ title: string; hunks: Hunk[]; same: boolean } | undefined>(undefined);
  const [shown, setShown] = useState<{ id: number; body: string } | undefined>(undefined);
  const action = useAction();
  const a = from || String(versions[versions.length - 2]?.id ?? '');
  const b = to || String(versions[versions.length - 1]?.id ?? '');

  const compare = (e: Event) => {
    e.preventDefault();
    void action.run('Diff', async () => {
      const [x, y] = await Promise.all([apiText(`/api/v1/configs/${seg(a)}`), apiText(`/api/v1/configs/${seg(b)}`)]);
      const h = hunks(diffLines(x, y));
      setShown(undefined);
      setResult({ title: `#${a} → #${b}`, hunks: h, same: h.length === 0 });
      return `Compared version ${a} with ${b}: ${h.length === 0 ? 'identical' : `${h.length} changed region${h.length > 1 ? 's' : ''}`}`;
    });
  };
  const show = (id: number) =>
    void action.run('Show', async () => {
      setShown({ id, body: await apiText(`/api/v1/configs/${id}`) });
      setResult(undefined);
      return `Showing version ${id}`;
    });

  return (
    <section aria-labelledby="configs-h">
      <h2 id="configs-h">Config versions</h2>
      <Message error={error} />
      {data && versions.length === 0 && <p>No config rendered yet (the first boot renders one).</p>}
      {versions.length > 0 && (
        <table>
          <caption class="sr-only">Config versions of {machine.name}</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Profile</th>
              <th scope="col">Format</th>
              <th scope="col">SHA-256</th>
              <th scope="col">Size</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.id}>
                <th scope="row">
                  #{v.id}
                  {data?.desired?.id === v.id && <span class="tag"> desired</span>}
                </th>
                <td>
                  {v.profile} r{v.profileRevision}
                </td>
                <td>{v.format}</td>
                <td>
                  <code title={v.sha256}>{v.sha256.slice(0, 12)}…</code>
                </td>
                <td>{v.size} B</td>
                <td>{fmtTime(v.createdAt)}</td>
                <td>
                  <button type="button" onClick={() => show(v.id)} aria-label={`Show version ${v.id}`}>
                    Show
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {versions.length > 1 && (
        <form class="row" onSubmit={compare} aria-label="Compare two versions">
          <label for="diff-from">From</label>
          <select id="diff-from" value={a} onChange={(e) => setFrom(e.currentTarget.value)}>
            {versions.map((v) => (
              <option key={v.id} value={v.id}>
                {label(v)}
              </option>
            ))}
          </select>
          <label for="diff-to">To</label>
          <select id="diff-to" value={b} onChange={(e) => setTo(e.currentTarget.value)}>
            {versions.map((v) => (
              <option key={v.id} value={v.id}>
                {label(v)}
              </option>
            ))}
          </select>
          <button type="submit" disabled={action.busy}>
            Compare
          </button>
        </form>
      )}
      <Message outcome={action.outcome?.ok ? undefined : action.outcome} />
      {result && (
        <figure class="diff" data-testid="diff">
          <figcaption>Diff {result.title}{result.same && ': identical'}</figcaption>
          {result.hunks.map((h) => (
            <pre key={`${h.aStart}-${h.bStart}`}>
              <span class="hunk">
                @@ -{h.aStart} +{h.bStart} @@{'\n'}
              </span>
              {h.lines.map((l, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: lines of a fixed diff never reorder
                <span key={i} class={l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'ctx'}>
                  <span class="sr-only">{l.op === '+' ? 'added: ' : l.op === '-' ? 'removed: ' : ''}</span>
                  {l.op} {l.text}
                  {'\n'}
                </span>
              ))}
            </pre>
          ))}
        </figure>
      )}
      {shown && (
        <figure class="diff">
          <figcaption>Version #{shown.id}</figcaption>
          {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a long config scrolls; keyboard users need to reach it (WCAG 2.1.1) */}
          <pre tabIndex={0}>{shown.body}</pre>
        </figure>
      )}
    </section>
  );
}
