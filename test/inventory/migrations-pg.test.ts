import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/inventory/migrations/index.js';
import { type TestPostgres, startPostgres } from '../helpers/postgres.js';

/**
 * Issue #20: every migration step has a PostgreSQL text, and after each step both schemas mean
 * the same: tables, columns (type, NOT NULL, default, generated ids), primary, unique and foreign
 * keys with their ON DELETE, indexes with their columns, expressions and partial conditions, and
 * triggers. Text columns are in the "C" collation in PostgreSQL (SQLite's BINARY). CHECK
 * constraints are not compared here; the repository suite runs against both dialects.
 */

/** SQLite declared types → PostgreSQL types (migration conventions). */
const TYPES: Record<string, string> = { INTEGER: 'bigint', TEXT: 'text', BLOB: 'bytea', REAL: 'double precision' };

/**
 * Columns whose ids rackboot assigns itself: an INTEGER PRIMARY KEY in SQLite (which would also
 * number a row given none), a plain BIGINT key in PostgreSQL (migration 016).
 */
const ASSIGNED_IDS = new Set(['config_tokens.id']);

interface Column {
  type: string;
  notNull: boolean;
  default: string | null;
  generated: boolean;
}

interface Schema {
  columns: Record<string, Column>;
  primaryKeys: Record<string, string[]>;
  uniques: string[];
  foreignKeys: string[];
  indexes: Record<string, string>;
  triggers: string[];
}

/** `CREATE [UNIQUE] INDEX name ON t (cols) [WHERE p]` → "t unique? (cols) where p", spacing, parens and casts dropped. */
function indexShape(sql: string): string {
  const m = /^CREATE (UNIQUE )?INDEX \S+ ON (?:public\.)?(\w+)(?: USING btree)? ?\((.*?)\)(?: WHERE (.*))?$/is.exec(sql.replace(/\s+/g, ' ').trim());
  if (!m) throw new Error(`unexpected index: ${sql}`);
  const norm = (s: string | undefined) => (s ?? '').replace(/::[a-z ]+/g, '').replace(/[()\s"]/g, '').toLowerCase();
  return `${m[2]} ${m[1] ? 'unique ' : ''}(${norm(m[3])})${m[4] ? ` where ${norm(m[4])}` : ''}`;
}

function sqliteSchema(db: Database.Database): Schema {
  const s: Schema = { columns: {}, primaryKeys: {}, uniques: [], foreignKeys: [], indexes: {}, triggers: [] };
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  for (const t of tables) {
    const cols = db.pragma(`table_info(${t})`) as Array<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>;
    const pk = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    s.primaryKeys[t] = pk.map((c) => c.name);
    const fks = db.pragma(`foreign_key_list(${t})`) as Array<{ table: string; from: string; to: string; on_delete: string }>;
    for (const fk of fks) s.foreignKeys.push(`${t}.${fk.from} -> ${fk.table}.${fk.to} on delete ${fk.on_delete.toLowerCase()}`);
    for (const c of cols) {
      // A rowid alias numbers rows itself, unless its value always comes from elsewhere (a key of another table).
      const rowid = pk.length === 1 && c.pk === 1 && c.type.toUpperCase() === 'INTEGER' && !fks.some((fk) => fk.from === c.name);
      s.columns[`${t}.${c.name}`] = {
        type: TYPES[c.type.toUpperCase()] ?? `? ${c.type}`,
        notNull: c.notnull === 1 || c.pk > 0,
        default: c.dflt_value,
        generated: rowid && !ASSIGNED_IDS.has(`${t}.${c.name}`),
      };
    }
    for (const ix of db.pragma(`index_list(${t})`) as Array<{ name: string; unique: number; origin: string; partial: number }>) {
      if (ix.origin === 'u') {
        const cols = (db.pragma(`index_info(${ix.name})`) as Array<{ name: string }>).map((c) => c.name);
        s.uniques.push(`${t} (${cols.join(',')})`);
      } else if (ix.origin === 'c') {
        s.indexes[ix.name] = indexShape(db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').pluck().get(ix.name) as string);
      }
    }
  }
  s.triggers = (db.prepare("SELECT tbl_name || '.' || name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[]).sort();
  s.uniques.sort();
  s.foreignKeys.sort();
  return s;
}

const DELETE_ACTIONS: Record<string, string> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };

async function pgSchema(c: pg.Client): Promise<Schema> {
  const s: Schema = { columns: {}, primaryKeys: {}, uniques: [], foreignKeys: [], indexes: {}, triggers: [] };
  const cols = await c.query(
    `SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity, collation_name
     FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  for (const r of cols.rows) {
    expect(r.data_type !== 'text' || r.collation_name === 'C', `${r.table_name}.${r.column_name} collation`).toBe(true);
    s.columns[`${r.table_name}.${r.column_name}`] = {
      type: r.data_type,
      notNull: r.is_nullable === 'NO',
      default: r.column_default === null ? null : String(r.column_default).replace(/::[a-z ]+$/, ''),
      generated: r.is_identity === 'YES',
    };
  }
  const cons = await c.query(
    `SELECT c.conname, c.contype, t.relname AS tbl, c.confdeltype, f.relname AS ftbl,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS cols,
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS fcols
     FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid LEFT JOIN pg_class f ON f.oid = c.confrelid
     WHERE c.connamespace = current_schema()::regnamespace`,
  );
  const backing = new Set<string>();
  for (const r of cons.rows) {
    if (r.contype === 'p') s.primaryKeys[r.tbl] = r.cols;
    if (r.contype === 'u') s.uniques.push(`${r.tbl} (${r.cols.join(',')})`);
    if (r.contype === 'f') s.foreignKeys.push(`${r.tbl}.${r.cols[0]} -> ${r.ftbl}.${r.fcols[0]} on delete ${DELETE_ACTIONS[r.confdeltype]}`);
    if (r.contype === 'p' || r.contype === 'u') backing.add(r.conname);
  }
  const tables = await c.query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'");
  for (const r of tables.rows) s.primaryKeys[r.table_name] ??= [];
  const ix = await c.query('SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()');
  for (const r of ix.rows) if (!backing.has(r.indexname)) s.indexes[r.indexname] = indexShape(r.indexdef);
  const tg = await c.query('SELECT t.relname, g.tgname FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid WHERE NOT g.tgisinternal');
  s.triggers = tg.rows.map((r) => `${r.relname}.${r.tgname}`).sort();
  s.uniques.sort();
  s.foreignKeys.sort();
  return s;
}

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(async () => {
  await cluster?.stop();
});

describe('migrations in both dialects', () => {
  it('every step has PostgreSQL text where it has SQLite text', () => {
    for (const m of MIGRATIONS) expect(m.pg !== undefined && (m.sql.trim() === '') === (m.pg.trim() === ''), `migration ${m.version}`).toBe(true);
  });

  it('after each step the PostgreSQL schema matches the SQLite one', async () => {
    const lite = new Database(':memory:');
    lite.pragma('foreign_keys = ON');
    const client = new pg.Client({ connectionString: await cluster.createDatabase() });
    await client.connect();
    try {
      for (const m of MIGRATIONS) {
        lite.transaction(() => lite.exec(m.sql))();
        await client.query(`BEGIN; ${m.pg ?? ''}; COMMIT`);
        expect(await pgSchema(client), `after migration ${m.version}`).toEqual(sqliteSchema(lite));
      }
    } finally {
      await client.end();
      lite.close();
    }
  });

  it('008 keeps every live row, drops orphaned versions and tokens, and moves the machine id sequence past ids still named', async () => {
    const client = new pg.Client({ connectionString: await cluster.createDatabase() });
    await client.connect();
    try {
      for (const m of MIGRATIONS.filter((x) => x.version < 8)) await client.query(m.pg ?? '');
      await client.query(`
        INSERT INTO machines (name, created_at, updated_at) VALUES ('m1', 't', 't'), ('m2', 't', 't');
        INSERT INTO config_versions (machine_id, machine_name, profile, profile_revision, format, content_type, body, sha256, created_at)
          SELECT m.id, m.name, 'p', 1, 'testos', 'x', '\\x00', m.name || v, 't' FROM machines m, (VALUES ('a'), ('b')) AS vs(v);
        INSERT INTO config_tokens SELECT 'h' || id, 'config', machine_id, id, 1, 99, 1 FROM config_versions;
        INSERT INTO machine_configs SELECT machine_id, max(id), 't' FROM config_versions GROUP BY machine_id;
        INSERT INTO events (at, machine_id, source, kind) VALUES ('t', 40, 'http', 'boot.script');
        DELETE FROM machines WHERE name = 'm2';`);
      for (const m of MIGRATIONS.filter((x) => x.version >= 8)) await client.query(m.pg ?? '');
      const count = async (t: string) => Number((await client.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
      expect([await count('config_versions'), await count('config_tokens'), await count('machine_configs')]).toEqual([2, 2, 1]);
      const id = await client.query("INSERT INTO machines (name, created_at, updated_at) VALUES ('m3', 't', 't') RETURNING id");
      expect(Number(id.rows[0].id)).toBe(41);
      // The two tokens moved by 016 got ids 1 and 2; the token id sequence (017) starts after them.
      expect((await client.query('SELECT id FROM config_tokens ORDER BY id')).rows.map((r) => Number(r.id))).toEqual([1, 2]);
      expect(Number((await client.query("SELECT nextval('config_token_ids') AS n")).rows[0].n)).toBe(3);
      // A machine's delete now takes its versions, tokens and desired version with it.
      await client.query("DELETE FROM machines WHERE name = 'm1'");
      expect([await count('config_versions'), await count('config_tokens'), await count('machine_configs')]).toEqual([0, 0, 0]);
    } finally {
      await client.end();
    }
  });

  it('config versions change only from clear to sealed', async () => {
    const client = new pg.Client({ connectionString: await cluster.createDatabase() });
    await client.connect();
    try {
      for (const m of MIGRATIONS) await client.query(m.pg ?? '');
      await client.query(`
        INSERT INTO machines (name, created_at, updated_at) VALUES ('m1', 't', 't');
        INSERT INTO config_versions (machine_id, machine_name, profile, profile_revision, format, content_type, body, sha256, created_at)
          VALUES (1, 'm1', 'p', 1, 'testos', 'x', '\\x00', 'a', 't'), (1, 'm1', 'p', 1, 'testos', 'x', '\\x00', 'b', 't');`);
      await client.query("UPDATE config_versions SET sealed = 1, body = '\\x01' WHERE sha256 = 'a'");
      await expect(client.query("UPDATE config_versions SET body = '\\x02' WHERE sha256 = 'a'")).rejects.toThrow(/config versions are immutable/);
      await expect(client.query("UPDATE config_versions SET sealed = 1, profile = 'q' WHERE sha256 = 'b'")).rejects.toThrow(/config versions are immutable/);
    } finally {
      await client.end();
    }
  });
});
