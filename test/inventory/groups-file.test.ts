import { describe, expect, it } from 'vitest';
import { exportInventory, importInventory } from '../../src/config/inventory-file.js';
import { inventoryFileSchema } from '../../src/http/schemas.js';
import { DIALECTS, useStores } from '../helpers/stores.js';

const profiles = [{ name: 'testos', spec: { os: 'testos', boot: 'network' } }];
const stores = useStores();
const file = (groups: unknown[], machines: unknown[] = []) => inventoryFileSchema.parse({ profiles, groups, machines });

describe.each(DIALECTS)('groups in inventory files on %s', (dialect) => {
  it('imports groups with the profiles they name, exports them back (password <sealed> unless withSecrets), and re-import keeps the password', async () => {
    const store = await stores.fresh(dialect);
    const r = importInventory(store, file([
      { name: 'big', selectors: ['facts.memory.gib>=64'], profile: 'testos', hostnameTemplate: 'big-{{serial}}', bmc: { username: 'admin', password: 'pw-big' }, enroll: 'auto' },
      { name: 'small', selectors: ['facts.memory.gib<64'], profile: 'testos' },
    ]));
    expect(r.groups).toEqual({ created: 2, updated: 0 });
    const ex = exportInventory(store);
    expect(JSON.stringify(ex)).not.toContain('pw-big');
    expect(ex.groups.map((g) => [g.name, g.bmc?.password ?? null])).toEqual([['big', '<sealed>'], ['small', null]]);
    expect(exportInventory(store, { withSecrets: true }).groups[0]?.bmc?.password).toBe('pw-big');
    const again = importInventory(store, inventoryFileSchema.parse(JSON.parse(JSON.stringify(ex))));
    expect(again.groups).toEqual({ created: 0, updated: 2 });
    expect(store.groups.bmcCredentials('big')?.password).toBe('pw-big');
  });

  it.each([
    ['an ambiguous pair, naming both', [{ name: 'a', selectors: ['labels.rack=r1'] }, { name: 'b', selectors: ['labels.role=gpu'] }], /groups: groups a and b are ambiguous/],
    ['a group listed twice', [{ name: 'a' }, { name: 'a' }], /groups\[1\] \(a\): the group is listed twice/],
    ['a group naming a missing profile', [{ name: 'a', profile: 'nope' }], /groups: group a: profile nope does not exist/],
  ])('refuses %s and stores nothing of the file', async (_, groups, message) => {
    const store = await stores.fresh(dialect);
    expect(() => importInventory(store, file(groups, [{ name: 'm1', macs: ['02:00:00:00:00:01'] }]))).toThrow(message);
    expect(store.groups.list()).toEqual([]);
    expect(store.profiles.list()).toEqual([]);
    expect(store.machines.list()).toEqual([]);
  });
});

describe('groups in inventory files', () => {
  it('a bad selector is a schema error naming the field', () => {
    const r = inventoryFileSchema.safeParse({ groups: [{ name: 'a', selectors: ['facts.memory.gib>=lots'] }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['groups', 0, 'selectors', 0]);
  });
});
