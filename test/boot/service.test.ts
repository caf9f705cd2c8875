import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AssetRegistry } from '../../src/assets/index.js';
import { type BootAnswers, type IssuedBoot, BootService } from '../../src/boot/service.js';
import { tokenKey } from '../../src/config/tokens.js';
import type { TokenKey } from '../../src/inventory/configs.js';
import { AppError } from '../../src/errors.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { defaultSettings } from '../../src/settings.js';
import { fakeAssetsDir } from '../assets/fixture.js';

const BASE = 'http://198.18.0.1:8080';
const MAC = '52:54:00:00:00:01';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(join(d, '..'), { recursive: true, force: true });
});

/** A BootService over an in-memory store and a fake asset build, with one machine on a test OS profile. */
function setup(spec: Record<string, unknown> = {}) {
  const fx = fakeAssetsDir();
  dirs.push(fx.dir);
  const store = Store.memory();
  const settings = defaultSettings({ http: { publicUrl: BASE, consoleArgs: 'console=ttyS0' } });
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const boot = new BootService({ store, settings, assets: new AssetRegistry(fx.dir, fx.dataDir), log: silentLogger(), now: () => clock.now });
  store.profiles.create('lab', { os: 'testos', ...spec } as never);
  const { id } = store.machines.create({ name: 'n1', macs: [MAC], profile: 'lab' });
  const machine = () => store.machines.get(id);
  const answers: BootAnswers<{ kind: string; boot?: IssuedBoot; error?: string }> = {
    refuse: (reason) => ({ kind: `refuse:${reason}` }),
    disk: () => ({ kind: 'disk' }),
    network: (b) => ({ kind: 'network', boot: b }),
    error: (e) => ({ kind: 'error', error: e.code }),
  };
  const ipxe = () => boot.answer({ machine: machine(), mac: MAC, client: 'ipxe-script', base: BASE, source: 'http' }, answers);
  return { store, boot, machine, ipxe, clock, answers };
}

const tokenOf = (b: IssuedBoot) => b.configUrl.split('/config/')[1] as string;

describe('BootService.issue', () => {
  it('renders a version on the first boot and reuses it after: no render, hash or store, fresh one-use tokens', () => {
    const { store, ipxe, machine } = setup();
    const first = ipxe();
    expect(first.kind).toBe('network');
    expect(first.boot?.created).toBe(true);
    expect(machine().state).toBe('booting');
    const save = vi.spyOn(store.configs, 'saveVersion');
    const second = ipxe();
    const third = ipxe();
    expect(save).not.toHaveBeenCalled();
    expect(second.boot?.versionId).toBe(first.boot?.versionId);
    expect(second.boot?.sha256).toBe(first.boot?.sha256);
    expect(second.boot?.created).toBe(false);
    // Every boot: a new config token (usable) and a new report token that revokes the earlier ones.
    const tokens = [first, second, third].map((r) => tokenOf(r.boot as IssuedBoot));
    expect(new Set(tokens).size).toBe(3);
    for (const t of tokens) expect(store.configs.findToken(tokenKey(t)!)?.kind).toBe('config');
    expect(store.configs.findToken(tokenKey(first.boot!.reportToken)!)).toBeUndefined();
    expect(store.configs.findToken(tokenKey(third.boot!.reportToken)!)?.kind).toBe('report');
    expect(store.configs.listVersions(machine().id)).toHaveLength(1);
    expect(store.events.list({ machineId: machine().id, kind: 'config.version' })).toHaveLength(1);
    expect(store.events.list({ machineId: machine().id, kind: 'boot.script' })).toHaveLength(3);
    expect(third.boot?.args.join(' ')).toContain(`rackboot.config=${BASE}/config/${tokenOf(third.boot!)}`);
  });

  it('renders again when the profile revision or the machine changes, and when the desired version moved', () => {
    const { store, ipxe, machine } = setup();
    const a = ipxe().boot!;
    store.profiles.update('lab', { os: 'testos', cmdline: 'quiet' } as never);
    const b = ipxe().boot!;
    expect(b.created).toBe(false); // same bytes (cmdline is not in the document): the old version is found again
    const save = vi.spyOn(store.configs, 'saveVersion');
    store.machines.update(machine().id, { labels: { rack: 'r2' } });
    expect(ipxe().boot?.versionId).toBe(a.versionId); // rendered again (labels are an input), same bytes for the test OS
    store.machines.update(machine().id, { name: 'n1-renamed' });
    const c = ipxe().boot!;
    expect(save).toHaveBeenCalledTimes(2);
    expect(c.versionId).not.toBe(a.versionId);
    expect(c.args).toContain('quiet');
    // Another path (a second BootService, a rollout) set another desired version: not reused blindly.
    store.configs.setDesired(machine().id, a.versionId);
    const d = ipxe().boot!;
    expect(save).toHaveBeenCalledTimes(3);
    expect(d.versionId).toBe(c.versionId);
    expect(store.configs.desired(machine().id)?.id).toBe(c.versionId);
  });

  it('a failing write leaves nothing behind: no version, tokens, state change or trace', () => {
    const { store, ipxe, machine } = setup();
    const keys: TokenKey[] = [];
    const add = store.configs.addToken.bind(store.configs);
    vi.spyOn(store.configs, 'addToken').mockImplementation((t) => {
      keys.push({ id: t.id, secretHash: t.secretHash });
      add(t);
    });
    vi.spyOn(store.machines, 'update').mockImplementationOnce(() => {
      throw new Error('disk I/O error');
    });
    expect(() => ipxe()).toThrow(/disk I\/O error/);
    const id = machine().id;
    expect(keys).toHaveLength(2);
    for (const k of keys) expect(store.configs.findToken(k)).toBeUndefined();
    expect(store.configs.listVersions(id)).toEqual([]);
    expect(store.configs.desired(id)).toBeUndefined();
    expect(machine().state).toBe('registered');
    expect(store.events.list({ machineId: id })).toEqual([]);
    // The version of the rolled-back boot was not remembered: the next boot renders and stores it.
    vi.restoreAllMocks();
    const next = ipxe();
    expect(next.boot?.created).toBe(true);
    expect(store.configs.listVersions(id)).toHaveLength(1);
  });

  it('an AppError rolls back the same way and is answered and traced as boot.error', () => {
    const { store, ipxe, machine } = setup();
    vi.spyOn(store.events, 'add').mockImplementationOnce(() => {
      throw new AppError('INVALID_CONFIG', 'broken');
    });
    expect(ipxe()).toEqual({ kind: 'error', error: 'INVALID_CONFIG' });
    vi.restoreAllMocks();
    const id = machine().id;
    expect(store.configs.listVersions(id)).toEqual([]);
    expect(machine().state).toBe('registered');
    expect(store.events.list({ machineId: id }).map((e) => e.kind)).toEqual(['boot.error']);
  });

  it('a missing kernel asset is a boot.error, nothing else written', () => {
    const { store, ipxe, machine } = setup({ kernel: 'no-such-kernel' });
    expect(ipxe()).toEqual({ kind: 'error', error: 'INVALID_CONFIG' });
    expect(store.events.list({ machineId: machine().id }).map((e) => e.kind)).toEqual(['boot.error']);
    expect(store.configs.listVersions(machine().id)).toEqual([]);
  });

  it('disk and no-profile plans write only their trace row', () => {
    const { store, ipxe, machine } = setup({ boot: 'disk' });
    expect(ipxe()).toEqual({ kind: 'disk' });
    store.machines.update(machine().id, { profile: null });
    expect(ipxe()).toEqual({ kind: 'refuse:no-profile' });
    const events = store.events.list({ machineId: machine().id });
    expect(events.map((e) => e.kind).sort()).toEqual(['boot.refused', 'boot.script']);
    expect(store.configs.listVersions(machine().id)).toEqual([]);
    expect(machine().state).toBe('registered');
  });
});

describe('ScriptMemo (#21: a steady boot script is a template fill)', () => {
  it('fills the MAC\'s last script with fresh tokens while the shape holds, and renders again after a profile or machine change', async () => {
    const { ScriptMemo, ipxeAnswers } = await import('../../src/boot/answers.js');
    const { store, boot, machine } = setup({ cmdline: 'quiet' });
    const memo = new ScriptMemo();
    let fills = 0;
    const fill = memo.script.bind(memo);
    memo.script = (mac, b, render) => fill(mac, b, () => {
      fills--;
      return render();
    });
    const script = (withMemo: boolean) => {
      // As the route finds it: the store's remembered row, a new object after any change.
      const m = store.machines.findByMacCached(MAC) as ReturnType<typeof machine>;
      if (withMemo) fills++;
      return boot.answer({ machine: m, mac: MAC, client: 'ipxe-script', base: BASE, source: 'http' }, ipxeAnswers(m, MAC, BASE, withMemo ? memo : undefined));
    };
    const plain = (s: string) => s.replace(/\d+_[A-Za-z0-9_-]{43}/g, '<token>');
    const first = script(true);
    // [what changes before the boot, a text the script must then contain]
    const steps: Array<[() => void, string]> = [
      [() => {}, 'quiet'],
      [() => {}, 'quiet'],
      [() => store.profiles.update('lab', { os: 'testos', cmdline: 'loud' } as never), 'loud'],
      [() => {}, 'loud'],
      [() => store.machines.update(machine().id, { name: 'n1-renamed' }), 'n1-renamed'],
      [() => {}, 'n1-renamed'],
    ];
    let previous = first;
    for (const [change, expected] of steps) {
      change();
      const memoized = script(true);
      const rendered = script(false);
      expect(memoized).toContain(expected);
      // The same script a render gives, with its own fresh tokens.
      expect(plain(memoized)).toBe(plain(rendered));
      expect(memoized.match(/\d+_[A-Za-z0-9_-]{43}/g)).toHaveLength(2);
      for (const tok of previous.match(/\d+_[A-Za-z0-9_-]{43}/g) ?? []) expect(memoized).not.toContain(tok);
      previous = memoized;
    }
    // Rendered on the first two boots (the first moves the machine to booting: a changed row), and
    // after each change; filled in on the three boots in between.
    expect(fills).toBe(3);
  });
});
