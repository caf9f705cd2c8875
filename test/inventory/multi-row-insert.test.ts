import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MultiRowInsert } from '../../src/inventory/db.js';

describe('MultiRowInsert', () => {
  const table = () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (n INTEGER NOT NULL, s TEXT)');
    return db;
  };

  it.each([0, 1, 3, 4, 9])('writes %i rows in order, in statements of at most 4', (rows) => {
    const db = table();
    const prepared: string[] = [];
    const prepare = (sql: string) => {
      prepared.push(sql);
      return db.prepare(sql);
    };
    const spy = { ...db, prepare } as unknown as ConstructorParameters<typeof MultiRowInsert>[0];
    const insert = new MultiRowInsert(spy, 'INSERT INTO t (n, s)', '(?, ?)', 4);
    insert.run(Array.from({ length: rows }, (_, i) => [i, `r${i}`]).flat());
    insert.run([]);
    expect(db.prepare('SELECT n, s FROM t ORDER BY rowid').all()).toEqual(Array.from({ length: rows }, (_, i) => ({ n: i, s: `r${i}` })));
    // One statement per row count, each prepared once.
    expect(new Set(prepared).size).toBe(prepared.length);
    expect(prepared.every((sql) => (sql.match(/\(\?, \?\)/g) ?? []).length <= 4)).toBe(true);
  });

  it('refuses parameters that are not whole rows, writing nothing', () => {
    const db = table();
    const insert = new MultiRowInsert(db as never, 'INSERT INTO t (n, s)', '(?, ?)', 4);
    expect(() => insert.run([1, 'a', 2])).toThrow(/3 parameters are not whole rows of 2/);
    expect(db.prepare('SELECT count(*) AS c FROM t').get()).toEqual({ c: 0 });
  });

  it('fails a statement whose row breaks a constraint without writing any of its rows', () => {
    const db = table();
    const insert = new MultiRowInsert(db as never, 'INSERT INTO t (n, s)', '(?, ?)', 4);
    expect(() => insert.run([1, 'a', null, 'b', 3, 'c'])).toThrow(/NOT NULL/);
    expect(db.prepare('SELECT count(*) AS c FROM t').get()).toEqual({ c: 0 });
  });
});
