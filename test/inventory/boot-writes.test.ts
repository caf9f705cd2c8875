import { describe, expect, it } from 'vitest';
import { issueBootTokens, mintBootTokens } from '../../src/config/index.js';
import type { BootWrite } from '../../src/inventory/boot-writes.js';
import type { ConfigToken, TokenKey } from '../../src/inventory/configs.js';
import { Store } from '../../src/inventory/store.js';
import { defaultSettings } from '../../src/settings.js';
import { DIALECTS, type StoreDialect, useStores } from '../helpers/stores.js';

const settings = defaultSettings({ http: { publicUrl: 'http://198.18.0.1:8080' } });
const stores = useStores();
let store: Store;

/** A store with one machine and one stored version (tokens need both). */
async function setup(dialect: StoreDialect): Promise<{ machineId: number; versionId: number }> {
  store = await stores.fresh(dialect);
  const m = store.machines.create({ name: 'n1', macs: ['52:54:00:00:00:01'], state: 'booting' });
  const { version } = store.configs.saveVersion({ machineId: m.id, machineName: 'n1', profile: 'p', profileRevision: 1, format: 'testos', contentType: 'application/json', sha256: 'a'.repeat(64), meta: {}, body: Buffer.from('{}') });
  return { machineId: m.id, versionId: version.id };
}

/** How a stored row is found again (its id and its secret's hash). */
const keyOf = (t: ConfigToken): TokenKey => ({ id: t.id, secretHash: t.secretHash });

const bootWrite = (machineId: number, versionId: number, now = Date.now()) => {
  const { tokens, rows } = mintBootTokens({ store, settings, publicUrl: 'http://198.18.0.1:8080' }, machineId, { id: versionId, format: 'testos' }, now);
  const write: BootWrite = { machineId, tokens: rows, event: { machineId, source: 'http', kind: 'boot.script', detail: { versionId } } };
  return { tokens, rows, write };
};

describe.each(DIALECTS)('BootWriteQueue (group commit of steady-state boots) on %s', (dialect) => {
  it('writes a turn of boots in one transaction and resolves only once another connection sees them', async () => {
    const { machineId, versionId } = await setup(dialect);
    const other = Store.rawDb(await stores.another(store));
    const count = () => other.prepare('SELECT count(*) FROM config_tokens').pluck().get() as number;
    const boots = Array.from({ length: 5 }, () => bootWrite(machineId, versionId));
    let settled = 0;
    const done = boots.map((b) => store.bootWrites.commitSoon(b.write).then(() => settled++));
    expect(store.bootWrites.size).toBe(5);
    expect(count()).toBe(0); // nothing committed yet, nothing handed out yet
    expect(settled).toBe(0);
    await Promise.all(done);
    // 5 config tokens; of the report tokens only the last boot's survives (each boot revokes the earlier ones).
    expect(count()).toBe(6);
    const reports = other.prepare("SELECT id FROM config_tokens WHERE kind = 'report'").pluck().all();
    expect(reports).toEqual([boots[4]!.rows[1]!.id]);
    expect(store.events.list({ kind: 'boot.script' })).toHaveLength(5);
  });

  it('a turn larger than one INSERT (100 boots: 101 tokens, 100 trace rows) is written whole and in order, its pre-serialized details as given', async () => {
    const { machineId, versionId } = await setup(dialect);
    const boots = Array.from({ length: 100 }, () => bootWrite(machineId, versionId));
    boots.forEach((b, i) => {
      if (i % 2) b.write.eventDetail = JSON.stringify({ versionId, n: i });
    });
    await Promise.all(boots.map((b) => store.bootWrites.commitSoon(b.write)));
    for (const b of boots) expect(store.configs.findToken(keyOf(b.rows[0]!))).toMatchObject({ kind: 'config', machineId, versionId });
    expect(store.configs.findToken(keyOf(boots[99]!.rows[1]!))).toMatchObject({ kind: 'report' });
    expect(store.configs.findToken(keyOf(boots[98]!.rows[1]!))).toBeUndefined();
    const rows = store.events.list({ kind: 'boot.script', limit: 200 });
    expect(rows.map((e) => e.detail)).toEqual(boots.map((_, i) => (i % 2 ? { versionId, n: i } : { versionId })));
    expect(rows.every((e) => e.machineId === machineId && e.source === 'http')).toBe(true);
  });

  it('token reads and event reads see queued boots at once (flush before access)', async () => {
    const { machineId, versionId } = await setup(dialect);
    const b = bootWrite(machineId, versionId);
    void store.bootWrites.commitSoon(b.write);
    expect(store.configs.findToken(keyOf(b.rows[0]!))).toMatchObject({ kind: 'config', machineId });
    expect(store.bootWrites.size).toBe(0);
    expect(store.events.list({ kind: 'boot.script' })).toHaveLength(1);
  });

  it('keeps boot order with a transactional boot in the same turn: the later report token survives', async () => {
    const { machineId, versionId } = await setup(dialect);
    const queued = bootWrite(machineId, versionId);
    const committed = store.bootWrites.commitSoon(queued.write);
    const later = store.transaction(() => issueBootTokens({ store, settings, publicUrl: 'http://198.18.0.1:8080' }, machineId, { id: versionId, format: 'testos' }));
    await committed;
    const reports = store.configs.findToken(keyOf(queued.rows[1]!));
    expect(reports).toBeUndefined(); // revoked by the later boot, as in sequence
    expect(store.configs.revokeTokens(machineId, 'report')).toBe(1); // the later boot's one
    expect(later.reportToken).toMatch(/^[1-9][0-9]*_[A-Za-z0-9_-]{43}$/);
  });

  it('a boot whose writes fail is rejected alone; the others in its batch commit', async () => {
    const { machineId, versionId } = await setup(dialect);
    const good = [bootWrite(machineId, versionId), bootWrite(machineId, versionId)];
    const bad = bootWrite(machineId, versionId + 999); // no such version: the foreign key refuses it
    const results = await Promise.allSettled([good[0]!, bad, good[1]!].map((b) => store.bootWrites.commitSoon(b.write)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(store.configs.findToken(keyOf(bad.rows[0]!))).toBeUndefined();
    for (const b of good) expect(store.configs.findToken(keyOf(b.rows[0]!))).toBeDefined();
    expect(store.events.list({ kind: 'boot.script' })).toHaveLength(2);
  });

  it('close writes what is still queued', async () => {
    const { machineId, versionId } = await setup(dialect);
    const b = bootWrite(machineId, versionId);
    const p = store.bootWrites.commitSoon(b.write);
    store.close();
    await p;
    store = await stores.reopen(store);
    expect(store.configs.findToken(keyOf(b.rows[0]!))).toBeDefined();
  });
});
