import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/client.js';
import { powerCommand } from '../../src/cli/power.js';
import { PowerService } from '../../src/bmc/service.js';
import { buildApp } from '../../src/http/app.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { defaultSettings } from '../../src/settings.js';
import { startRedfishMock } from './helpers/redfish-mock.js';

const TOKEN = 'test-admin-token';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(password = 'pw') {
  const mock = await startRedfishMock({ resetTypes: ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'] });
  const store = Store.memory();
  const m = store.machines.create({ name: 'node1', macs: ['52:54:00:ee:00:01'] });
  store.bmcs.set(m.id, { type: 'redfish', address: mock.url, username: 'admin', password });
  store.machines.create({ name: 'nobmc', macs: ['52:54:00:ee:00:02'] });
  const settings = defaultSettings({ bmc: { timeoutMs: 2000, retries: 0 } });
  const power = new PowerService(store, settings.bmc, silentLogger());
  const app = await buildApp({ settings, store, log: silentLogger(), adminToken: TOKEN, power });
  cleanups.push(async () => {
    await app.close();
    await power.close();
    await mock.close();
  });
  const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { mock, store, app, power, call, id: m.id };
}

describe('power API', () => {
  it('POST/GET power and PUT/GET bootdev, every operation in the trace', async () => {
    const { call, mock, store, id } = await setup();
    expect((await call('GET', '/api/v1/machines/node1/power')).json()).toMatchObject({ state: 'on' });
    expect((await call('POST', '/api/v1/machines/node1/power', { action: 'cycle' })).statusCode).toBe(200);
    expect((await call('POST', '/api/v1/machines/52:54:00:ee:00:01/power', { action: 'soft-off' })).statusCode).toBe(200);
    expect(mock.log.resets).toEqual(['PowerCycle', 'GracefulShutdown']);
    const put = await call('PUT', '/api/v1/machines/node1/bootdev', { device: 'pxe', persistent: true, uefi: true });
    expect(put.json()).toMatchObject({ device: 'pxe', persistent: true, uefi: true });
    expect((await call('GET', '/api/v1/machines/node1/bootdev')).json()).toEqual({ machineId: id, device: 'pxe', persistent: true, uefi: true });
    const kinds = store.events.list({ machineId: id }).map((e) => `${e.kind}:${String(e.detail.action ?? e.detail.op)}`);
    expect(kinds).toEqual(['bmc.power:status', 'bmc.power:cycle', 'bmc.power:soft-off', 'bmc.bootdev:set', 'bmc.bootdev:get']);
  });

  it('bad bodies are 400 with details; a machine without BMC is 404', async () => {
    const { call } = await setup();
    const r = await call('POST', '/api/v1/machines/node1/power', { action: 'explode' });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('BAD_INPUT');
    expect((await call('PUT', '/api/v1/machines/node1/bootdev', { device: 'floppy' })).statusCode).toBe(400);
    expect((await call('GET', '/api/v1/machines/nobmc/power')).statusCode).toBe(404);
  });

  it('BMC failures are 502 JSON errors with the BMC code', async () => {
    const { call } = await setup('wrong');
    const r = await call('GET', '/api/v1/machines/node1/power');
    expect(r.statusCode).toBe(502);
    expect(r.json().error).toMatchObject({ code: 'BMC_AUTH_FAILED', details: { httpStatus: 401 } });
  });

  it('documents the routes in OpenAPI and logs out of BMC sessions when the power service closes', async () => {
    const { call, app, power, mock } = await setup();
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/machines/{ref}/power', '/api/v1/machines/{ref}/bootdev']));
    expect(doc.paths['/api/v1/machines/{ref}/power'].post.requestBody).toBeDefined();
    await call('GET', '/api/v1/machines/node1/power');
    await app.close();
    await power.close(); // main.ts closes it after the listeners (appliance-services.ts closeServices)
    expect(mock.log.logouts).toBe(1);
  });

  it('CLI: rackboot power / bootdev over a listening server', async () => {
    const { app, mock } = await setup();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const api = new ApiClient(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, TOKEN);
    expect(await powerCommand(api, 'power', ['status', 'node1'], {})).toBe('node1: power on');
    expect(await powerCommand(api, 'power', ['off', 'node1'], {})).toBe('node1: off done');
    expect(await powerCommand(api, 'bootdev', ['node1', 'disk'], { persistent: true })).toBe('node1: next boot disk (persistent)');
    expect(JSON.parse(await powerCommand(api, 'bootdev', ['node1', 'show'], { json: true }))).toMatchObject({ device: 'disk', persistent: true });
    expect(mock.log.resets).toEqual(['ForceOff']);
    await expect(powerCommand(api, 'power', ['blink', 'node1'], {})).rejects.toThrow(/unknown power command/);
  });
});
