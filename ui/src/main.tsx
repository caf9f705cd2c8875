/** The rackboot console: login, then fleet / machine / rollouts / unknown MACs, by URL hash. */
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Role, clearSession, getRole, getToken, learnRole, request, setSession, setUnauthorizedHandler } from './api.js';
import './style.css';
import { asApiError } from './ui.js';
import { FleetView } from './views/fleet.js';
import { MachineView } from './views/machine.js';
import { RolloutView, RolloutsView } from './views/rollouts.js';
import { UnknownMacsView } from './views/unknown.js';

/** The page the hash names: `#/`, `#/machines/NAME`, `#/rollouts`, `#/rollouts/ID`, `#/unknown`. */
type Page = { view: 'fleet' } | { view: 'machine'; ref: string } | { view: 'rollouts' } | { view: 'rollout'; id: number } | { view: 'unknown' };

function pageOf(hash: string): Page {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'machines' && parts[1]) return { view: 'machine', ref: parts[1] };
  if (parts[0] === 'rollouts' && parts[1] && /^\d+$/.test(parts[1])) return { view: 'rollout', id: Number(parts[1]) };
  if (parts[0] === 'rollouts') return { view: 'rollouts' };
  if (parts[0] === 'unknown') return { view: 'unknown' };
  return { view: 'fleet' };
}

function titleOf(page: Page, role: Role | null): string {
  if (!role) return 'Sign in';
  if (page.view === 'machine') return `Machine ${page.ref}`;
  if (page.view === 'rollout') return `Rollout #${page.id}`;
  return { fleet: 'Fleet', rollouts: 'Rollouts', unknown: 'Unknown MACs' }[page.view];
}

function Login({ onLogin, notice }: { onLogin: (role: Role) => void; notice: string | undefined }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const t = token.trim();
      const role = await learnRole(t);
      setSession(t, role);
      onLogin(role);
    } catch (err) {
      const a = asApiError(err);
      setError(a.status === 401 ? 'That token was refused (unknown, revoked or expired).' : a.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="login">
      <h1>rackboot console</h1>
      <form onSubmit={submit} aria-describedby="login-help">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" required value={token} ref={input} onInput={(e) => setToken(e.currentTarget.value)} />
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p id="login-help" class="help">
          A token from <code>rackboot tokens create --role read|operate|admin</code> or <code>data/admin.token</code>. It is kept in this tab only
          (sessionStorage).
        </p>
        {error && (
          <p class="msg error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function App() {
  const [role, setRole] = useState<Role | null>(getToken() ? getRole() : null);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [page, setPage] = useState<Page>(pageOf(location.hash));
  const [unknownMacs, setUnknownMacs] = useState(false);
  const mainRef = useRef<HTMLElement>(null);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setRole(null);
      setNotice('Your token was refused (revoked or expired): sign in again.');
    });
    const onHash = () => setPage(pageOf(location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  // The unknown-MACs panel exists only where the route does (an older rackboot answers 404).
  useEffect(() => {
    if (!role) return;
    request('GET', '/api/v1/unknown-macs?limit=1').then(
      () => setUnknownMacs(true),
      (e) => setUnknownMacs(!(asApiError(e) instanceof ApiError && asApiError(e).status === 404)),
    );
  }, [role]);
  // A new page moves focus to its content, so keyboard and screen-reader users start there, and
  // names itself in the title (what a screen reader announces, and the tab shows).
  useEffect(() => {
    mainRef.current?.querySelector<HTMLElement>('h1')?.focus();
    document.title = `${titleOf(page, role)} · rackboot`;
  }, [page, role]);

  if (!role) {
    return (
      <Login
        notice={notice}
        onLogin={(r) => {
          setNotice(undefined);
          setRole(r);
        }}
      />
    );
  }
  const current = (v: Page['view'][]) => (v.includes(page.view) ? 'page' : undefined);
  return (
    <>
      <button type="button" class="skip" onClick={() => mainRef.current?.querySelector<HTMLElement>('h1')?.focus()}>
        Skip to content
      </button>
      <header>
        <span class="brand">rackboot</span>
        <nav aria-label="Console">
          <a href="#/" aria-current={current(['fleet', 'machine'])}>
            Fleet
          </a>
          <a href="#/rollouts" aria-current={current(['rollouts', 'rollout'])}>
            Rollouts
          </a>
          {unknownMacs && (
            <a href="#/unknown" aria-current={current(['unknown'])}>
              Unknown MACs
            </a>
          )}
        </nav>
        <span class="who" data-testid="role">
          role: <strong>{role}</strong>
          {role === 'read' && ' (read-only)'}
        </span>
        <button
          type="button"
          onClick={() => {
            clearSession();
            setRole(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" ref={mainRef}>
        {page.view === 'fleet' && <FleetView />}
        {page.view === 'machine' && <MachineView key={page.ref} machineRef={page.ref} role={role} />}
        {page.view === 'rollouts' && <RolloutsView role={role} />}
        {page.view === 'rollout' && <RolloutView key={page.id} id={page.id} role={role} />}
        {page.view === 'unknown' && <UnknownMacsView role={role} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
