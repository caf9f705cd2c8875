import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.js';
import { UsageError } from '../../src/cli/machines.js';
import { unknownCommand, whyCommand } from '../../src/cli/why.js';
import { Store } from '../../src/inventory/store.js';
import { observabilityApp } from '../helpers/observability-app.js';

const MAC = '52:54:00:00:00:42';
const UNKNOWN = '02:00:00:00:00:77';
let close: () => Promise<unknown>;
let store: Store;
let admin: ApiClient;
let reader: ApiClient;

beforeAll(async () => {
  const t = await observabilityApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  store = t.store;
  admin = new ApiClient(url, t.roles.admin.authorization.slice(7));
  reader = new ApiClient(url, t.roles.read.authorization.slice(7));
  close = () => t.app.close();
});
afterAll(async () => {
  await close?.();
});

describe('rackboot why / unknown (CLI commands over HTTP)', () => {
  it('why prints the verdict, cause, next step and the phase table', async () => {
    store.machines.create({ name: 'node-42', macs: [MAC] });
    const old = Date.now() - 3_600_000;
    Store.rawDb(store).prepare("INSERT INTO events (at, mac, machine_id, source, kind, detail) VALUES (?, ?, NULL, 'dhcp', 'dhcp.ack', ?)").run(new Date(old).toISOString(), MAC, JSON.stringify({ arch: 7, bootFile: 'ipxe.efi' }));
    const text = await whyCommand(reader, ['node-42'], {});
    expect(text).toMatch(/^node-42 \(registered, profile -, 52:54:00:00:00:42\)/);
    expect(text).toMatch(/verdict: +STALLED no-loader-fetch: DHCP gave ipxe\.efi/);
    expect(text).toMatch(/next: +check tftp\.enabled/);
    expect(text).toMatch(/PHASE +STARTED +TOOK +EVENTS\ndhcp +\S+ +60 min \(open\) +1/);
    expect(JSON.parse(await whyCommand(reader, ['node-42'], { json: true })).verdict.code).toBe('no-loader-fetch');
  });

  it('unknown list shows the sightings; enroll makes a machine (admin), a read token gets the 403', async () => {
    store.unknownMacs.noteSoon({ mac: UNKNOWN, arch: 0, vendorClass: 'PXEClient:Arch:00000', messageType: 'discover', giaddr: '198.18.3.1', circuitId: 'aa01', remoteId: null, at: Date.now() });
    const list = await unknownCommand(reader, 'list', [], {});
    expect(list).toMatch(/^MAC +ARCH +VENDOR CLASS +RELAY/);
    expect(list).toMatch(/02:00:00:00:00:77 +0 +PXEClient:Arch:00000 +198\.18\.3\.1 +aa01 +- /);
    await expect(unknownCommand(reader, 'enroll', [UNKNOWN], { name: 'n77' })).rejects.toThrow(/403 FORBIDDEN/);
    await expect(unknownCommand(admin, 'enroll', [UNKNOWN], {})).rejects.toThrow(UsageError);
    expect(await unknownCommand(admin, 'enroll', [UNKNOWN], { name: 'n77', label: ['rack=r3'] })).toBe(`enrolled ${UNKNOWN} as n77`);
    expect(store.machines.get('n77').labels).toEqual({ rack: 'r3' });
    expect(await whyCommand(reader, [UNKNOWN], {})).toMatch(/^n77 /);
    expect(await unknownCommand(reader, 'list', [], { json: true })).toBe('[]');
  });
});
