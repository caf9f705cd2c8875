// SQLite-only: TableMemo's temporary SQLite triggers.
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/inventory/db.js';
import { TableMemo, deepFreeze } from '../../src/inventory/table-watch.js';

function fixture() {
  const db = openDb(':memory:');
  db.exec('CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id) ON DELETE CASCADE, v TEXT)');
  db.exec("INSERT INTO a VALUES (1, 'one'); INSERT INTO b VALUES (1, 1, 'x')");
  const memo = new TableMemo<number, string>(db, ['b']);
  let loads = 0;
  const read = (id: number) =>
    memo.get(id, () => {
      loads++;
      return (db.prepare('SELECT v FROM b WHERE id = ?').pluck().get(id) as string | undefined) ?? undefined;
    });
  return { db, read, loads: () => loads };
}

describe('TableMemo', () => {
  it.each([
    ['an insert', "INSERT INTO b VALUES (2, 1, 'y')"],
    ['an update', "UPDATE b SET v = 'z' WHERE id = 1"],
    ['a delete', 'DELETE FROM b WHERE id = 1'],
    ['a cascade from another table', 'DELETE FROM a WHERE id = 1'],
    ['a replace', "INSERT OR REPLACE INTO b VALUES (1, 1, 'r')"],
  ])('%s by any SQL on the connection counts from the next lookup', (_what, sql) => {
    const f = fixture();
    f.read(1);
    f.read(1);
    expect(f.loads()).toBe(1);
    f.db.exec(sql);
    const want = f.db.prepare('SELECT v FROM b WHERE id = 1').pluck().get() as string | undefined;
    expect(f.read(1)).toBe(want);
    expect(f.loads()).toBe(2);
  });

  it('a write to an unwatched table keeps the memory; a miss is not remembered', () => {
    const f = fixture();
    f.read(1);
    f.db.exec("UPDATE a SET v = 'uno'");
    f.read(1);
    expect(f.loads()).toBe(1);
    expect(f.read(9)).toBeUndefined();
    expect(f.read(9)).toBeUndefined();
    expect(f.loads()).toBe(3);
  });

  it('remembers nothing inside a transaction: a rolled-back row is never served', () => {
    const f = fixture();
    try {
      f.db.transaction(() => {
        f.db.exec("UPDATE b SET v = 'ghost' WHERE id = 1");
        expect(f.read(1)).toBe('ghost');
        throw new Error('roll back');
      })();
    } catch {
      /* rolled back */
    }
    expect(f.read(1)).toBe('x');
  });

  it('deepFreeze freezes nested values', () => {
    const v = deepFreeze({ a: [1, { b: 2 }] });
    expect(Object.isFrozen(v.a[1])).toBe(true);
  });
});
