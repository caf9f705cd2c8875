import { describe, expect, it } from 'vitest';
import { redactUrl, scrubPassword } from '../../src/inventory/pg/redact.js';
import { bindParams, jsonPathKeys, translateSql } from '../../src/inventory/pg/translate.js';

describe('translateSql', () => {
  it.each([
    ['positional', 'SELECT * FROM t WHERE a = ? AND b = ?', 'SELECT * FROM t WHERE a = $1 AND b = $2', [0, 1]],
    ['named once each', 'INSERT INTO t VALUES (@mac, @arch)', 'INSERT INTO t VALUES ($1, $2)', ['mac', 'arch']],
    ['a name used twice is one parameter', 'SELECT @a, :b, $c, @a', 'SELECT $1, $2, $3, $1', ['a', 'b', 'c']],
    ['? in a string literal', "SELECT '?', 'it''s ?', ? FROM t", "SELECT '?', 'it''s ?', $1 FROM t", [0]],
    ['quoted identifiers', 'SELECT machine_id AS "machineId?" FROM t WHERE x = ?', 'SELECT machine_id AS "machineId?" FROM t WHERE x = $1', [0]],
    ['casts are not names', "SELECT x::jsonb, '{}'::text FROM t WHERE y = ?", "SELECT x::jsonb, '{}'::text FROM t WHERE y = $1", [0]],
    ['comments', 'SELECT 1 -- what? @x\nFROM t /* ? */ WHERE a = ?', 'SELECT 1 -- what? @x\nFROM t /* ? */ WHERE a = $1', [0]],
    ['dollar quotes', 'CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE ?; END $$ LANGUAGE plpgsql', 'CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE ?; END $$ LANGUAGE plpgsql', []],
    ['json_extract', "SELECT json_extract(detail, '$.versionId') FROM events", "SELECT (detail::jsonb #>> '{versionId}') FROM events", []],
    ['json_extract nested path', "WHERE json_extract(spec, '$.talos.cluster.secrets') IS NOT NULL", "WHERE (spec::jsonb #>> '{talos,cluster,secrets}') IS NOT NULL", []],
    ['json_extract qualified column', "SELECT json_extract(e.detail, '$.a[0]')", "SELECT (e.detail::jsonb #>> '{a,0}')", []],
    ['json_extract of an expression', "SELECT json_extract(coalesce(a, ?), '$.k') = ?", "SELECT ((coalesce(a, $1))::jsonb #>> '{k}') = $2", [0, 1]],
    ['JSON_EXTRACT upper case', "SELECT JSON_EXTRACT(x, '$.k')", "SELECT (x::jsonb #>> '{k}')", []],
    ['IS ?', 'WHERE profile IS ? AND b = ?', 'WHERE profile IS NOT DISTINCT FROM $1 AND b = $2', [0, 1]],
    ['IS NOT ?', 'WHERE profile IS NOT ?', 'WHERE profile IS DISTINCT FROM $1', [0]],
    ['is @name', 'WHERE uuid is @uuid', 'WHERE uuid IS NOT DISTINCT FROM $1', ['uuid']],
    ['IS NULL untouched', 'WHERE a IS NULL AND b IS NOT NULL', 'WHERE a IS NULL AND b IS NOT NULL', []],
    ['portable SQL passes through', 'INSERT INTO m (a) VALUES (?) ON CONFLICT (a) DO UPDATE SET a = excluded.a RETURNING id', 'INSERT INTO m (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET a = excluded.a RETURNING id', [0]],
  ])('%s', (_name, sql, text, params) => {
    expect(translateSql(sql)).toEqual({ text, params });
  });

  it.each([
    ['numbered parameters', 'SELECT ?1', /numbered parameters/],
    ['an unterminated string', "SELECT 'abc", /unterminated ' quote/],
    ['an unterminated quoted identifier', 'SELECT "abc FROM t', /unterminated " quote/],
    ['an unterminated comment', 'SELECT 1 /* where?', /unterminated \/\* comment/],
    ['an unterminated dollar quote', 'DO $body$ BEGIN NULL; END', /unterminated \$body\$ quote/],
    ['json_extract without its closing parenthesis', "SELECT json_extract(x, '$.a'", /without its closing parenthesis/],
    ['a json_extract path that is a parameter', 'SELECT json_extract(x, ?)', /exactly \(expression/],
    ['json_extract with three arguments', "SELECT json_extract(x, '$.a', '$.b')", /exactly \(expression/],
    ['json_extract with one argument', 'SELECT json_extract(x)', /exactly \(expression/],
    ['a JSON path without $', "SELECT json_extract(x, 'a.b')", /does not start with \$/],
    ['a JSON path with a wildcard', "SELECT json_extract(x, '$.a[*]')", /not a plain/],
  ])('refuses %s, saying why', (_name, sql, error) => {
    expect(() => translateSql(sql)).toThrow(error);
  });
});

describe('jsonPathKeys', () => {
  it.each([
    ['$', []],
    ['$.a', ['a']],
    ['$.a.b_c[2]', ['a', 'b_c', '2']],
    ['$."odd key".x', ['odd key', 'x']],
  ])('%s', (path, keys) => {
    expect(jsonPathKeys(path)).toEqual(keys);
  });
});

describe('bindParams', () => {
  const buf = Buffer.from([1]);
  it.each([
    ['positional in order', [0, 1], ['a', 2], ['a', 2]],
    ['arrays are spread', [0, 1, 2], [['a', 'b'], 'c'], ['a', 'b', 'c']],
    ['named from one object', ['x', 'y', 'x'], [{ x: 1, y: null }], [1, null, 1]],
    ['named and positional together', [0, 'n'], ['p', { n: 'q' }], ['p', 'q']],
    ['booleans as 1/0, bigint as text, undefined as NULL', [0, 1, 2, 3], [true, false, 12n, undefined], [1, 0, '12', null]],
    ['Buffers are values, not named objects', [0], [buf], [buf]],
  ])('%s', (_name, params, args, values) => {
    expect(bindParams(params as Array<number | string>, args as unknown[])).toEqual(values);
  });

  it.each([
    ['too few', [0, 1], ['a'], /Too few/],
    ['too many', [0], ['a', 'b'], /Too many/],
    ['a missing name', ['x'], [{ y: 1 }], /Missing named parameter "x"/],
    ['text with a NUL character (PostgreSQL cannot hold it)', [0], ['a\u0000b'], /NUL character/],
    ['a named text with a NUL character', ['n'], [{ n: '\u0000' }], /NUL character/],
  ])('refuses %s', (_name, params, args, error) => {
    expect(() => bindParams(params as Array<number | string>, args as unknown[])).toThrow(error);
  });
});

describe('password redaction', () => {
  it.each([
    ['postgres://rb:s3cret@db.example:5432/inv', 'postgres://rb:***@db.example:5432/inv'],
    ['postgresql://rb@db/inv', 'postgresql://rb@db/inv'],
    ['postgres://rb@db/inv?password=s3cret&sslmode=require', 'postgres://rb@db/inv?password=***&sslmode=require'],
    ['not a url s3cret', '(a PostgreSQL URL that does not parse)'],
  ])('%s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('scrubs the password, raw and percent-encoded, from any text', () => {
    const url = 'postgres://rb:p%40ss%2Fw@db/inv';
    expect(scrubPassword('auth p@ss/w failed (p%40ss%2Fw)', url)).toBe('auth *** failed (***)');
  });
});
