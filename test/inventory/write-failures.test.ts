// SQLite-only: SQLITE_FULL handling of the write paths.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { WriteFailureLog, isDiskFull } from '../../src/inventory/write-failures.js';

/** A logger writing JSON lines into an array. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

describe('WriteFailureLog', () => {
  it.each([
    [{ code: 'SQLITE_FULL' }, true],
    [{ code: 'ENOSPC' }, true],
    [{ code: '53100' }, true],
    [{ code: 'SQLITE_CONSTRAINT_UNIQUE' }, false],
    [{ code: '23505' }, false],
    [new Error('plain'), false],
    [null, false],
  ])('isDiskFull(%j) is %s', (err, want) => expect(isDiskFull(err)).toBe(want));

  it('logs a full disk once per interval, naming SQLITE_FULL and the data dir, with what was lost meanwhile', async () => {
    let now = 0;
    const { log, lines } = capture();
    const f = new WriteFailureLog({ log, what: 'dhcp leases', consequence: 'their ACKs are withheld', dbFile: '/var/lib/rackboot/inventory.db', intervalMs: 1000, now: () => now });
    for (let i = 0; i < 500; i++, now += 4) f.failed(full, 2);
    await new Promise((r) => setImmediate(r));
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ code: 'SQLITE_FULL', dataDir: '/var/lib/rackboot', failures: 1, lost: 2 });
    expect(String(errors[0]!.msg)).toMatch(/^disk full: dhcp leases cannot be written to the data dir \/var\/lib\/rackboot \(SQLITE_FULL\), their ACKs are withheld/);
    // The second line counts every failure since the first one.
    expect(errors[1]).toMatchObject({ failures: 250, lost: 500 });
    expect(f.total).toBe(500);
  });

  it('names the PostgreSQL server, not a local data dir, when PostgreSQL reports disk_full (53100)', async () => {
    const { log, lines } = capture();
    const f = new WriteFailureLog({ log, what: 'boot trace rows', consequence: 'they are dropped', dbFile: 'postgres://db.example/rackboot', now: () => 0 });
    f.failed(Object.assign(new Error('could not extend file'), { code: '53100' }), 4);
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, code: '53100', store: 'postgres://db.example/rackboot', lost: 4 });
    expect(lines[0]).not.toHaveProperty('dataDir');
    expect(String(lines[0]!.msg)).toBe('disk full on the PostgreSQL server: boot trace rows cannot be written (SQLSTATE 53100 disk_full), they are dropped; free space on the database server');
  });

  it('logs the recovery once per episode (throttled) and other errors with their cause', async () => {
    let now = 0;
    const { log, lines } = capture();
    const f = new WriteFailureLog({ log, what: 'boot trace rows', consequence: 'they are dropped', dbFile: '/d/inventory.db', intervalMs: 1000, now: () => now });
    f.succeeded();
    f.failed(new Error('disk I/O error'), 3);
    f.succeeded();
    f.succeeded();
    now = 100;
    f.failed(full, 1);
    f.succeeded(); // flapping within the interval: not logged again
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [50, 'boot trace rows cannot be written, they are dropped'],
      [30, 'boot trace rows written again'],
    ]);
    expect(lines[0]!.err).toMatchObject({ message: 'disk I/O error' });
  });
});
