import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFromEnv } from '../../src/cli/client.js';
import { groupsCommand, groupsOfFile } from '../../src/cli/groups.js';
import { UsageError } from '../../src/cli/machines.js';
import { AppError, httpStatusOf, isAppError } from '../../src/errors.js';
import { installGuard } from '../../src/http/guard.js';
import { registerGroupRoutes } from '../../src/http/routes/groups.js';
import { createTokenVerifier } from '../../src/http/tokens.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';

const TOKEN = 'rb_groups-cli-admin';

describe('groupsOfFile', () => {
  it.each([
    [{ groups: [{ name: 'a' }], machines: [] }, [{ name: 'a' }]],
    [[{ name: 'a' }, { name: 'b' }], [{ name: 'a' }, { name: 'b' }]],
    [{ name: 'a' }, [{ name: 'a' }]],
    [null, []],
  ])('%j → %j', (doc, groups) => {
    expect(groupsOfFile(doc)).toEqual(groups);
  });
});

describe('rackboot groups against an in-process server on 127.0.0.1:0', () => {
  let app: FastifyInstance;
  let store: Store;
  let dir: string;
  let api: ReturnType<typeof clientFromEnv>;

  beforeAll(async () => {
    store = Store.memory();
    store.profiles.create('testos', { os: 'testos', boot: 'network' } as never);
    app = Fastify();
    installGuard(app, { tokens: createTokenVerifier(store, TOKEN), audit: { refused: () => {} }, log: silentLogger(), split: false, now: Date.now });
    app.setErrorHandler((err, _req, reply) => {
      const e = isAppError(err) ? err : new AppError('BAD_INPUT', (err as Error).message);
      void reply.status(httpStatusOf(e.code)).send({ error: { code: e.code, message: e.message, details: e.details ?? null } });
    });
    registerGroupRoutes(app, { store });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'rb-groups-cli-'));
    api = clientFromEnv({ RACKBOOT_URL: url, RACKBOOT_TOKEN: TOKEN, RACKBOOT_DATADIR: dir });
  });
  afterAll(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('apply FILE, list, show, delete; an ambiguous file is refused naming both groups and changes nothing', async () => {
    const good = join(dir, 'groups.yaml');
    writeFileSync(good, `groups:
  - name: big
    selectors: ["facts.memory.gib>=64"]
    profile: testos
    bmc: { username: admin, password: pw }
    enroll: auto
  - name: small
    selectors: ["facts.memory.gib<64"]
    profile: testos
`);
    expect(await groupsCommand(api, 'apply', [good], {})).toBe(`applied ${good}: groups 2 created, 0 updated`);
    const list = await groupsCommand(api, 'list', [], {});
    expect(list.split('\n')[0]).toMatch(/^NAME\s+SELECTORS\s+PROFILE/);
    expect(list).toMatch(/big\s+facts\.memory\.gib>=64\s+testos/);
    expect(list).not.toContain('pw');
    expect(JSON.parse(await groupsCommand(api, 'show', ['big'], { json: true }))).toMatchObject({ name: 'big', bmc: { password: '<sealed>' } });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, '- { name: small, selectors: ["facts.memory.gib<64"], labels: { changed: "yes" } }\n- { name: tiny, selectors: ["facts.memory.gib<=8"] }\n');
    await expect(groupsCommand(api, 'apply', [bad], {})).rejects.toThrow(/groups small and tiny are ambiguous/);
    expect(store.groups.get('small').labels).toEqual({});
    expect(await groupsCommand(api, 'delete', ['small'], {})).toBe('deleted group small');
    expect(store.groups.list().map((g) => g.name)).toEqual(['big']);
    await expect(groupsCommand(api, 'frob', [], {})).rejects.toThrow(UsageError);
  });
});
