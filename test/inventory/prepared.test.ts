import { describe, expect, it } from 'vitest';
import { Statements, openDb } from '../../src/inventory/db.js';

describe('Statements: prepared once per repository', () => {
  it('returns the same statement for the same SQL, a separate one in value (pluck) mode', () => {
    const db = openDb(':memory:');
    const stmts = new Statements(db);
    const sql = "SELECT name, 1 AS one FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 1";
    const rows = stmts.get(sql);
    expect(stmts.get(sql)).toBe(rows);
    const values = stmts.get(sql, { value: true });
    expect(values).not.toBe(rows);
    expect(typeof values.get()).toBe('string');
    expect(rows.get()).toMatchObject({ one: 1 });
    db.close();
  });
});
