import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli.js';
import { clientFromEnv } from '../../src/cli/client.js';
import { UsageError } from '../../src/cli/machines.js';
import { parseDuration, tokensCommand } from '../../src/cli/tokens.js';
import type { Store } from '../../src/inventory/store.js';
import { ADMIN_TOKEN, tokenTestApp } from '../helpers/token-app.js';

describe('parseDuration', () => {
  it.each([
    ['3600', 3600],
    ['45s', 45],
    ['15m', 900],
    ['12h', 43_200],
    ['30d', 2_592_000],
    ['2w', 1_209_600],
    [' 1H ', 3600],
  ])('%j is %i seconds', (text, want) => expect(parseDuration(text)).toBe(want));

  it.each(['', '0', '0h', '-5', '1.5h', '12y', 'h', '12 hours', '99999999999999999999'])('%j is a usage error', (text) => {
    expect(() => parseDuration(text)).toThrow(UsageError);
  });
});

describe('rackboot tokens against an in-process server on 127.0.0.1:0', () => {
  let app: FastifyInstance;
  let store: Store;
  let url: string;
  const api = (token = ADMIN_TOKEN) => clientFromEnv({ RACKBOOT_URL: url, RACKBOOT_TOKEN: token });

  beforeAll(async () => {
    ({ app, store } = await tokenTestApp(Date.now()));
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => app?.close());
  afterEach(() => vi.unstubAllEnvs());

  it('create prints the secret once with a warning; the secret works; --json has it as a field', async () => {
    const text = await tokensCommand(api(), 'create', [], { role: 'operate', ttl: '12h', name: 'ci' });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^created token ci \(id \d+, role operate, expires \d{4}-.*Z\)$/);
    expect(lines[1]).toMatch(/^rb_[A-Za-z0-9_-]{32}$/);
    expect(lines[2]).toMatch(/shown once/);
    // An operate token may not manage tokens.
    await expect(tokensCommand(api(lines[1]), 'list', [], {})).rejects.toThrow(/403 FORBIDDEN/);
    const j = JSON.parse(await tokensCommand(api(), 'create', [], { role: 'admin', json: true }));
    expect(j).toMatchObject({ role: 'admin', state: 'active', expiresAt: null });
    expect(j.secret).toMatch(/^rb_/);
    expect((await tokensCommand(api(j.secret), 'list', [], { json: true })).includes(j.secret)).toBe(false);
  });

  it('list shows a table with each state; revoke by name and by id', async () => {
    store.apiTokens.create({ name: 'old', role: 'read' });
    const b = store.apiTokens.create({ name: 'older', role: 'read' });
    expect(await tokensCommand(api(), 'revoke', ['old'], {})).toMatch(/^revoked old \(id \d+, since .*Z\)$/);
    expect(await tokensCommand(api(), 'revoke', [String(b.token.id)], {})).toMatch(/^revoked older/);
    const table = await tokensCommand(api(), 'list', [], {});
    expect(table.split('\n')[0]).toMatch(/^ID\s+NAME\s+ROLE\s+STATE\s+CREATED\s+EXPIRES\s+LAST USED$/);
    expect(table).toMatch(/\bold\s+read\s+revoked\b/);
    expect(table).toMatch(/\bci\s+operate\s+active\b/);
    expect(table).not.toMatch(/rb_/);
  });

  it('usage errors are thrown before any request', async () => {
    await expect(tokensCommand(api(), 'create', [], {})).rejects.toThrow(/missing --role/);
    await expect(tokensCommand(api(), 'create', [], { role: 'root' })).rejects.toThrow(/unknown role/);
    await expect(tokensCommand(api(), 'create', [], { role: 'read', ttl: 'soon' })).rejects.toThrow(/bad duration/);
    await expect(tokensCommand(api(), 'revoke', [], {})).rejects.toThrow(/missing NAME or ID/);
    await expect(tokensCommand(api(), 'rotate', [], {})).rejects.toThrow(UsageError);
  });

  it('runCli wires tokens: exit 0 on create, 2 on usage, 1 with one line on a server error', async () => {
    vi.stubEnv('RACKBOOT_URL', url);
    vi.stubEnv('RACKBOOT_TOKEN', ADMIN_TOKEN);
    const sink = () => {
      const s = {
        text: '',
        write: (chunk: string) => {
          s.text += chunk;
          return true;
        },
      };
      return s;
    };
    const out = sink();
    const err = sink();
    const io = [out, err] as unknown as [Parameters<typeof runCli>[1], Parameters<typeof runCli>[2]];
    expect(await runCli(['tokens', 'create', '--role', 'read', '--ttl', '30d', '--name', 'cli-made'], ...io)).toBe(0);
    expect(out.text).toMatch(/created token cli-made/);
    expect(await runCli(['tokens', 'create', '--ttl', '1d'], ...io)).toBe(2);
    expect(await runCli(['tokens', 'revoke', 'ghost'], ...io)).toBe(1);
    expect(err.text).toMatch(/404 NOT_FOUND/);
    expect(await runCli(['tokens', 'list', '--json'], ...io)).toBe(0);
    expect(out.text).toMatch(/"name": "cli-made"/);
  });
});
