/** Small shared pieces: data loading, error banner, two-step confirm button, time formatting. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';

/** Loads data with `load` (again when `deps` change or `reload()` is called; every `everyMs` if set). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const gen = useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: deps are the caller's
  const reload = useCallback(async () => {
    const mine = ++gen.current;
    try {
      const d = await load();
      if (mine !== gen.current) return;
      setData(d);
      setError(undefined);
    } catch (e) {
      if (mine === gen.current) setError(asApiError(e));
    }
  }, deps);
  useEffect(() => {
    void reload();
    if (!everyMs) return;
    const t = setInterval(() => void reload(), everyMs);
    return () => clearInterval(t);
  }, [reload, everyMs]);
  return { data, error, reload };
}

/** Any thrown value as an ApiError (status 0 for client-side failures). */
export function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(0, 'CLIENT', (e as Error)?.message ?? String(e));
}

/** The outcome of an action: shown in a live region so screen readers announce it. */
export interface Outcome {
  ok: boolean;
  text: string;
}

/** Runs an action, tracking busy state and its outcome. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | undefined>(undefined);
  const run = useCallback(async (what: string, fn: () => Promise<string | undefined>) => {
    setBusy(true);
    setOutcome(undefined);
    try {
      const text = await fn();
      setOutcome({ ok: true, text: text ?? `${what}: done` });
    } catch (e) {
      const err = asApiError(e);
      setOutcome({ ok: false, text: `${what} failed: ${err.message}${err.code ? ` (${err.code})` : ''}` });
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, outcome, run };
}

/** An error or success message; errors are alerts (announced at once). */
export function Message({ outcome, error }: { outcome?: Outcome | undefined; error?: ApiError | undefined }) {
  if (error) {
    return (
      <p class="msg error" role="alert">
        {error.message} {error.code && <code>{error.code}</code>}
      </p>
    );
  }
  if (!outcome) return null;
  return (
    <p class={`msg ${outcome.ok ? 'ok' : 'error'}`} role={outcome.ok ? 'status' : 'alert'} data-testid="outcome">
      {outcome.text}
    </p>
  );
}

/**
 * A button for an action that is hard to undo: the first press asks, a second press on
 * "Confirm" does it; Cancel (or Escape) goes back. Both steps are plain buttons (Tab/Enter).
 */
export function ConfirmButton(props: { label: string; confirmLabel?: string; disabled?: boolean; onConfirm: () => void; children?: ComponentChildren }) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const firstRef = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);
  // Focus follows the question: to Confirm when asked, back to the button when answered (before
  // paint, so focus never falls to the page body in between).
  useLayoutEffect(() => {
    if (asking) confirmRef.current?.focus();
    else if (asked.current) firstRef.current?.focus();
    asked.current = asking;
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" ref={firstRef} disabled={props.disabled} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm" onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}>
      <button
        type="button"
        class="danger"
        ref={confirmRef}
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        {props.confirmLabel ?? `Confirm: ${props.label.toLowerCase()}`}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** A time as the operator's local clock shows it. */
export function fmtTime(at: string | number | null | undefined): string {
  if (at === null || at === undefined) return '';
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? String(at) : d.toLocaleString();
}

/** Milliseconds as "1.2 s", "3 min 4 s". */
export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
