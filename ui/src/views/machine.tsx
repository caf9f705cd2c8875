/** One machine: facts, diagnosis verdict, actions (operate and up), live timeline, config versions. */
import { useState } from 'preact/hooks';
import { type Role, api, roleAtLeast, seg } from '../api.js';
import type { Items, Machine, Profile } from '../types.js';
import { ConfirmButton, Message, useAction, useLoad } from '../ui.js';
import { ConfigVersions } from './configs.js';
import { Timeline } from './timeline.js';
import { WhyPanel } from './why.js';

const POWER_ACTIONS = [
  { action: 'on', label: 'Power on', confirm: false },
  { action: 'soft-off', label: 'Soft off', confirm: true },
  { action: 'off', label: 'Power off', confirm: true },
  { action: 'cycle', label: 'Power cycle', confirm: true },
  { action: 'reset', label: 'Reset', confirm: true },
] as const;

/** The machine page. */
export function MachineView({ machineRef, role }: { machineRef: string; role: Role }) {
  const [traceTick, setTraceTick] = useState(0);
  const { data: m, error } = useLoad(() => api<Machine>('GET', `/api/v1/machines/${seg(machineRef)}`), [machineRef], 5000);
  return (
    <section aria-labelledby="machine-h">
      <p>
        <a href="#/">← Fleet</a>
      </p>
      <h1 id="machine-h" tabIndex={-1}>
        Machine {machineRef}
      </h1>
      <Message error={error} />
      {m && (
        <>
          <dl class="facts">
            <dt>State</dt>
            <dd>
              <span class={`state state-${m.state}`} data-testid="machine-state">
                {m.state}
              </span>
            </dd>
            <dt>Profile</dt>
            <dd>{m.profile ?? '—'}</dd>
            <dt>MACs</dt>
            <dd>
              <code>{m.macs.join(' ')}</code>
            </dd>
            <dt>IPv4</dt>
            <dd>{m.ipv4 ?? '—'}</dd>
            <dt>BMC</dt>
            <dd>{m.bmc ? `${m.bmc.type} ${m.bmc.address}` : 'none'}</dd>
            <dt>Labels</dt>
            <dd>
              {Object.entries(m.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ') || '—'}
            </dd>
          </dl>
          <WhyPanel machine={m} traceTick={traceTick} />
          {roleAtLeast(role, 'operate') && <Actions machine={m} />}
          <Timeline machine={m} onNewEvents={() => setTraceTick((t) => t + 1)} />
          <ConfigVersions machine={m} traceTick={traceTick} />
        </>
      )}
    </section>
  );
}

/** Power, boot device and provision (shown to operate and admin tokens only). */
function Actions({ machine }: { machine: Machine }) {
  const base = `/api/v1/machines/${seg(machine.name)}`;
  const action = useAction();
  const [powerState, setPowerState] = useState<string | undefined>(undefined);
  const [device, setDevice] = useState('pxe');
  const [persistent, setPersistent] = useState(false);
  const [uefi, setUefi] = useState(machine.facts.firmware === 'uefi');
  const [profile, setProfile] = useState('');
  const profiles = useLoad(() => api<Items<Profile>>('GET', '/api/v1/profiles'), []);
  const noBmc = machine.bmc === null;

  const power = (a: string, label: string) =>
    action.run(label, async () => {
      const r = await api<{ state?: string }>('POST', `${base}/power`, { action: a });
      if (r?.state) setPowerState(r.state);
      return `${label}: sent${r?.state ? ` (power is ${r.state})` : ''}`;
    });
  return (
    <section aria-labelledby="actions-h" data-testid="actions">
      <h2 id="actions-h">Actions</h2>
      {noBmc && <p class="help">This machine has no BMC: power and boot device need one (admin: PUT {base}/bmc).</p>}
      <div class="busy" aria-busy={action.busy}>
        <Message outcome={action.outcome} />
      </div>
      <fieldset>
        <legend>Power</legend>
        <p>
          Power state: <strong data-testid="power-state">{powerState ?? 'not read'}</strong>{' '}
          <button
            type="button"
            disabled={action.busy || noBmc}
            onClick={() =>
              action.run('Read power state', async () => {
                const s = await api<{ state: string }>('GET', `${base}/power`);
                setPowerState(s.state);
                return `Power is ${s.state}`;
              })
            }
          >
            Read power state
          </button>
        </p>
        <div class="row">
          {POWER_ACTIONS.map((p) =>
            p.confirm ? (
              <ConfirmButton key={p.action} label={p.label} disabled={action.busy || noBmc} onConfirm={() => void power(p.action, p.label)} />
            ) : (
              <button key={p.action} type="button" disabled={action.busy || noBmc} onClick={() => void power(p.action, p.label)}>
                {p.label}
              </button>
            ),
          )}
        </div>
      </fieldset>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run('Set boot device', async () => {
            await api('PUT', `${base}/bootdev`, { device, persistent, uefi });
            return `Boot device set to ${device}${persistent ? ' (persistent)' : ' (next boot)'}`;
          });
        }}
      >
        <fieldset>
          <legend>Boot device</legend>
          <div class="row">
            <label for="bootdev">Device</label>
            <select id="bootdev" value={device} onChange={(e) => setDevice(e.currentTarget.value)}>
              {['pxe', 'disk', 'cdrom', 'bios', 'none'].map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
            <label>
              <input type="checkbox" checked={persistent} onChange={(e) => setPersistent(e.currentTarget.checked)} /> Persistent
            </label>
            <label>
              <input type="checkbox" checked={uefi} onChange={(e) => setUefi(e.currentTarget.checked)} /> UEFI
            </label>
            <button type="submit" disabled={action.busy || noBmc}>
              Set boot device
            </button>
          </div>
        </fieldset>
      </form>
      <fieldset>
        <legend>Provision</legend>
        <p class="help">Next boot from the network with the profile's current revision, then a power cycle (or power on).</p>
        <div class="row">
          <label for="provision-profile">Profile</label>
          <select id="provision-profile" value={profile} onChange={(e) => setProfile(e.currentTarget.value)}>
            <option value="">{machine.profile ? `keep ${machine.profile}` : '(choose one)'}</option>
            {(profiles.data?.items ?? []).map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
          <ConfirmButton
            label="Provision"
            confirmLabel={`Confirm: reinstall ${machine.name}`}
            disabled={action.busy}
            onConfirm={() =>
              void action.run('Provision', async () => {
                const r = await api<{ power: string; profile: string; profileRevision: number }>('POST', `${base}/provision`, profile ? { profile } : {});
                return `Provisioning with ${r.profile} r${r.profileRevision} (power ${r.power})`;
              })
            }
          />
        </div>
      </fieldset>
    </section>
  );
}
