/** PXE clients seen but not in the inventory (`GET /api/v1/unknown-macs`), with enrollment. */
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { type Role, api, roleAtLeast, seg } from '../api.js';
import type { Items, Profile } from '../types.js';
import { Message, fmtTime, useAction, useLoad } from '../ui.js';

/** One sighting as the API lists it (fields beyond mac are optional: shown when present). */
interface Sighting {
  mac: string;
  arch?: number | string | null;
  vendorClass?: string | null;
  relay?: string | null;
  giaddr?: string | null;
  circuitId?: string | null;
  remoteId?: string | null;
  firstSeen?: string | null;
  lastSeen?: string | null;
  count?: number | null;
}

/** Client system architectures of DHCP option 93 (RFC 4578 §2.1 and the IANA registry). */
const ARCH: Record<number, string> = {
  0: 'BIOS x86',
  6: 'UEFI x86',
  7: 'UEFI x64',
  9: 'UEFI x64',
  10: 'UEFI ARM32',
  11: 'UEFI ARM64',
  15: 'UEFI x86 HTTP',
  16: 'UEFI x64 HTTP',
  19: 'UEFI ARM64 HTTP',
};
const archName = (a: Sighting['arch']) => (typeof a === 'number' ? `${ARCH[a] ?? 'arch'} (${a})` : (a ?? ''));

/** The unknown-MACs table (refreshed every 5 s) with an enroll form per row for admin tokens. */
export function UnknownMacsView({ role }: { role: Role }) {
  const list = useLoad(() => api<Items<Sighting>>('GET', '/api/v1/unknown-macs'), [], 5000);
  const [enrolling, setEnrolling] = useState<string | undefined>(undefined);
  const items = list.data?.items ?? [];
  // Enrolling creates a machine: an admin action (machines are managed by admin tokens).
  const canEnroll = roleAtLeast(role, 'admin');
  return (
    <section aria-labelledby="unknown-h">
      <h1 id="unknown-h" tabIndex={-1}>
        Unknown MACs
      </h1>
      <p class="help">PXE clients that asked for a boot but are not in the inventory: a new machine, a mis-cabled one, or a typo in its MAC.</p>
      <Message error={list.error} />
      <table data-testid="unknown-macs">
        <caption class="sr-only">Unknown MACs, most recently seen first</caption>
        <thead>
          <tr>
            <th scope="col">MAC</th>
            <th scope="col">Arch</th>
            <th scope="col">Vendor class</th>
            <th scope="col">Relay</th>
            <th scope="col">First seen</th>
            <th scope="col">Last seen</th>
            <th scope="col">Count</th>
            {canEnroll && (
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {items.map((s) => (
            <tr key={s.mac}>
              <th scope="row">
                <code>{s.mac}</code>
              </th>
              <td>{archName(s.arch)}</td>
              <td>{s.vendorClass ?? ''}</td>
              <td>{[s.relay ?? s.giaddr, s.circuitId && `circuit ${s.circuitId}`, s.remoteId && `remote ${s.remoteId}`].filter(Boolean).join(', ')}</td>
              <td>{fmtTime(s.firstSeen)}</td>
              <td>{fmtTime(s.lastSeen)}</td>
              <td>{s.count ?? ''}</td>
              {canEnroll && (
                <td>
                  <button type="button" aria-expanded={enrolling === s.mac} onClick={() => setEnrolling(enrolling === s.mac ? undefined : s.mac)} aria-label={`Enroll ${s.mac}`}>
                    Enroll
                  </button>
                </td>
              )}
            </tr>
          ))}
          {list.data && items.length === 0 && (
            <tr>
              <td colSpan={canEnroll ? 8 : 7}>No unknown PXE clients seen.</td>
            </tr>
          )}
        </tbody>
      </table>
      {enrolling && canEnroll && (
        <EnrollForm
          mac={enrolling}
          onDone={() => {
            setEnrolling(undefined);
            void list.reload();
          }}
        />
      )}
    </section>
  );
}

function EnrollForm({ mac, onDone }: { mac: string; onDone: () => void }) {
  const profiles = useLoad(() => api<Items<Profile>>('GET', '/api/v1/profiles'), []);
  const action = useAction();
  const [name, setName] = useState('');
  const [profile, setProfile] = useState('');
  const [labels, setLabels] = useState('');
  const nameRef = useRef<HTMLInputElement>(null);
  // The form opens under the table: focus goes to its first field (again when another MAC is picked).
  // biome-ignore lint/correctness/useExhaustiveDependencies: re-run per MAC on purpose
  useLayoutEffect(() => nameRef.current?.focus(), [mac]);
  const submit = (e: Event) => {
    e.preventDefault();
    void action.run('Enroll', async () => {
      const parsed = Object.fromEntries(
        labels
          .split(',')
          .map((kv) => kv.trim())
          .filter(Boolean)
          .map((kv) => [kv.split('=')[0]!.trim(), kv.slice(kv.indexOf('=') + 1).trim()]),
      );
      const m = await api<{ name: string }>('POST', `/api/v1/unknown-macs/${seg(mac)}/enroll`, {
        name: name.trim(),
        ...(profile ? { profile } : {}),
        ...(labels.trim() ? { labels: parsed } : {}),
      });
      onDone();
      return `Enrolled ${mac} as ${m?.name ?? name}`;
    });
  };
  return (
    <form class="grid" onSubmit={submit} aria-labelledby="enroll-h">
      <h2 id="enroll-h">
        Enroll <code>{mac}</code>
      </h2>
      <label for="enroll-name">Machine name</label>
      <input id="enroll-name" ref={nameRef} required pattern="[a-z0-9]([a-z0-9.\-]*[a-z0-9])?" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="enroll-profile">Profile</label>
      <select id="enroll-profile" value={profile} onChange={(e) => setProfile(e.currentTarget.value)}>
        <option value="">(none yet)</option>
        {(profiles.data?.items ?? []).map((p) => (
          <option key={p.name} value={p.name}>
            {p.name}
          </option>
        ))}
      </select>
      <label for="enroll-labels">Labels</label>
      <input id="enroll-labels" placeholder="rack=r1,role=worker" value={labels} onInput={(e) => setLabels(e.currentTarget.value)} />
      <button type="submit" disabled={action.busy || !name.trim()}>
        Enroll machine
      </button>
      <Message outcome={action.outcome} />
    </form>
  );
}
