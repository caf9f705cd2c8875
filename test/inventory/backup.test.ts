// SQLite-only: SQLite's online backup of the database file.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { isAppError } from '../../src/errors.js';
import { backupDatabase } from '../../src/inventory/backup.js';
import { Store } from '../../src/inventory/store.js';
import { waitFor } from '../helpers/netns.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'rb-backup-'));
const committedIn = (out: string) => out.split('\n').filter((l) => /^\d+$/.test(l)).length;

type Row = Record<string, unknown>;
const rows = (db: Database.Database, sql: string) => db.prepare(sql).all() as Row[];

describe('backupDatabase', () => {
  it('copies a consistent snapshot while another process keeps committing, as a 0600 single-file database', async () => {
    const dir = tempDir();
    // The crash test's writer: machines and their events in one transaction each, numbered.
    const writer = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'crash-writer.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    writer.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const dest = join(tempDir(), 'inventory.backup');
    let before = 0;
    try {
      await waitFor('the writer to commit 500 rows', () => committedIn(out) >= 500, 60_000, 20);
      before = committedIn(out);
      const old = process.umask(0o000);
      const r = await backupDatabase(join(dir, 'inventory.db'), dest).finally(() => process.umask(old));
      expect(r.path).toBe(dest);
      expect(r.bytes).toBe(statSync(dest).size);
      const after = committedIn(out);
      await waitFor('the writer to go on committing', () => committedIn(out) >= after + 200, 60_000, 20);
    } finally {
      const exited = new Promise((res) => writer.once('exit', res));
      writer.kill('SIGKILL');
      await exited;
    }
    expect(statSync(dest).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dest, '..'))).toEqual(['inventory.backup']); // no -wal, -shm, -journal or temp file

    const copy = new Database(dest, { readonly: true });
    const live = new Database(join(dir, 'inventory.db'), { readonly: true });
    try {
      expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(copy.pragma('user_version', { simple: true })).toBe(live.pragma('user_version', { simple: true }));
      const machines = rows(copy, 'SELECT * FROM machines ORDER BY id');
      // The writer committed before and after the copy's snapshot: it was active throughout.
      expect(rows(live, 'SELECT count(*) AS n FROM machines')[0]!.n).toBeGreaterThan(machines.length);
      // Everything committed before the backup began, and a snapshot: m0..mN without a gap.
      expect(machines.length).toBeGreaterThanOrEqual(before);
      expect(machines.map((m) => m.name)).toEqual(machines.map((_, n) => `m${n}`));
      // Row for row what the database holds for those machines, and their events with them.
      const last = machines.at(-1)!.id as number;
      expect(machines).toEqual(rows(live, `SELECT * FROM machines WHERE id <= ${last} ORDER BY id`));
      expect(rows(copy, 'SELECT * FROM interfaces ORDER BY mac')).toEqual(rows(live, `SELECT * FROM interfaces WHERE machine_id <= ${last} ORDER BY mac`));
      expect(rows(copy, "SELECT count(*) AS n FROM events WHERE kind = 'crash.row'")[0]!.n).toBe(machines.length);
    } finally {
      copy.close();
      live.close();
    }
  });

  it('the copy opens as a data dir after the restore steps of the README', async () => {
    const dir = tempDir();
    const s = Store.open(dir);
    s.machines.create({ name: 'keep-me', macs: ['aa:bb:cc:00:00:42'] });
    const dest = join(tempDir(), 'b.db');
    await backupDatabase(join(dir, 'inventory.db'), dest); // while the store is open
    s.close();
    const restored = tempDir();
    copyFileSync(join(dir, 'secret.key'), join(restored, 'secret.key'));
    copyFileSync(dest, join(restored, 'inventory.db'));
    const again = Store.open(restored);
    expect(again.machines.list().map((m) => m.name)).toEqual(['keep-me']);
    again.close();
  });

  it('refuses a missing database and the database itself as target; a failed backup leaves no file', async () => {
    const dir = tempDir();
    await expect(backupDatabase(join(dir, 'inventory.db'), join(dir, 'x'))).rejects.toSatisfy((e) => isAppError(e, 'NOT_FOUND'));
    Store.open(dir).close();
    await expect(backupDatabase(join(dir, 'inventory.db'), join(dir, 'inventory.db-wal'))).rejects.toSatisfy((e) => isAppError(e, 'BAD_INPUT'));
    await expect(backupDatabase(join(dir, 'inventory.db'), join(dir, 'no-such-dir', 'b.db'))).rejects.toThrow();
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });
});

describe('rackboot backup FILE', () => {
  it('reads the data dir from the settings and writes the copy', async () => {
    const dir = tempDir();
    const s = Store.open(dir);
    s.machines.create({ name: 'cli', macs: ['aa:bb:cc:00:00:43'] });
    const config = join(tempDir(), 'rackboot.yaml');
    writeFileSync(config, `dataDir: ${dir}\n`);
    const dest = join(tempDir(), 'cli.db');
    const out: string[] = [];
    const err: string[] = [];
    const io = [{ write: (t: string) => out.push(t) }, { write: (t: string) => err.push(t) }] as unknown as [
      Parameters<typeof runCli>[1],
      Parameters<typeof runCli>[2],
    ];
    expect(await runCli(['backup', dest, '--config', config], ...io)).toBe(0);
    s.close();
    expect(err.join('')).toBe('');
    expect(out.join('')).toMatch(new RegExp(`^backup written to ${dest} \\(\\d+ bytes, schema \\d+, mode 0600\\)\\n$`));
    const copy = new Database(dest, { readonly: true });
    expect(rows(copy, 'SELECT name FROM machines')).toEqual([{ name: 'cli' }]);
    copy.close();
    expect(await runCli(['backup', '--config', config], ...io)).toBe(2);
    expect(err.join('')).toContain('missing FILE');
  });
});
