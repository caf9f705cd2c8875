import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.js';
import { eventsCommand } from '../../src/cli/events.js';
import { whyCommand } from '../../src/cli/why.js';
import type { BootEvent } from '../../src/inventory/events.js';
import type { Store } from '../../src/inventory/store.js';
import { phaseSpans } from '../../src/lifecycle/trace.js';
import { observabilityApp } from '../helpers/observability-app.js';

const MAC = '52:54:00:00:01:43';
let close: () => Promise<unknown>;
let store: Store;
let reader: ApiClient;

beforeAll(async () => {
  const t = await observabilityApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  store = t.store;
  reader = new ApiClient(`http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, t.roles.read.authorization.slice(7));
  close = () => t.app.close();
});
afterAll(async () => {
  await close?.();
});

const ev = (id: number, kind: string, detail: Record<string, unknown>, appliance: string | null): BootEvent => ({ id, at: new Date(1_700_000_000_000 + id * 1000).toISOString(), mac: MAC, machineId: 1, source: 'x', kind, detail, appliance });

describe('which appliance served each step (#20)', () => {
  it('phaseSpans lists the appliances of each phase in order of appearance; unnamed rows add none', () => {
    const spans = phaseSpans(
      [
        ev(1, 'dhcp.offer', { arch: 7, bootFile: 'ipxe.efi' }, 'ams1/r1'),
        ev(2, 'dhcp.ack', { arch: 7, bootFile: 'ipxe.efi' }, 'ams1/r2'),
        ev(3, 'dhcp.ack', { arch: 7, bootFile: 'ipxe.efi' }, 'ams1/r1'),
        ev(4, 'tftp.sent', { file: 'ipxe.efi' }, null),
      ],
      1_700_000_010_000,
    );
    expect(spans.map((s) => [s.phase, s.appliances])).toEqual([
      ['dhcp', ['ams1/r1', 'ams1/r2']],
      ['loader', []],
    ]);
  });

  it('rackboot why has an APPLIANCE column and rackboot events one per row, from the rows each appliance wrote', async () => {
    store.machines.create({ name: 'node-43', macs: [MAC] });
    store.events.appliance = 'ams1/r1';
    store.events.add({ mac: MAC, source: 'dhcp', kind: 'dhcp.ack', detail: { arch: 7, bootFile: 'ipxe.efi' } });
    store.events.appliance = 'ams1/r2';
    store.events.add({ mac: MAC, source: 'tftp', kind: 'tftp.sent', detail: { file: 'ipxe.efi' } });
    const why = await whyCommand(reader, ['node-43'], {});
    expect(why).toMatch(/PHASE +STARTED +TOOK +EVENTS +APPLIANCE\ndhcp +\S+ +.+ +1 +ams1\/r1\nloader +\S+ +.+ +1 +ams1\/r2/);
    expect(JSON.parse(await whyCommand(reader, ['node-43'], { json: true })).phases.map((p: { appliances: string[] }) => p.appliances)).toEqual([['ams1/r1'], ['ams1/r2']]);
    const events = await eventsCommand(reader, ['node-43'], {});
    expect(events).toMatch(/TIME +APPLIANCE +SOURCE +KIND/);
    expect(events).toMatch(/ams1\/r1 +dhcp +dhcp\.ack/);
    expect(events).toMatch(/ams1\/r2 +tftp +tftp\.sent/);
  });
});
