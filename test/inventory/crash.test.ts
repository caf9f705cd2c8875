// SQLite-only: kill -9 of a writer on a SQLite file (WAL recovery, integrity_check).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { waitFor } from '../helpers/netns.js';

it('kill -9 of a writer mid-transaction: the DB opens and holds every committed row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-crash-'));
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'crash-writer.ts'), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor('the writer to commit 2000 rows', () => out.split('\n').length > 2000, 60_000, 20);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const committed = out.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
  const last = Math.max(...committed);

  const store = Store.open(dir);
  expect(Store.rawDb(store).prepare('PRAGMA integrity_check').pluck().get()).toBe('ok');
  const names = new Set(store.machines.list().map((m) => m.name));
  for (let n = 0; n <= last; n++) expect(names.has(`m${n}`)).toBe(true);
  // Rows and their events were committed together: never one without the other.
  const events = store.events.list({ kind: 'crash.row', limit: 10_000 });
  expect(events.length).toBe(names.size);
  store.close();
});
