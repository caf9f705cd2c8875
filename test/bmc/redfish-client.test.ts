import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RedfishDriver } from '../../src/bmc/redfish/driver.js';
import { type MockBehaviour, startRedfishMock } from './helpers/redfish-mock.js';
import { redfishMachine } from './helpers/redfish-setup.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(b: MockBehaviour = {}, options: Record<string, unknown> = {}, password = 'pw') {
  const mock = await startRedfishMock(b);
  const r = redfishMachine(mock.url, options, password);
  cleanups.push(async () => {
    await r.svc.close();
    await mock.close();
  });
  return { mock, ...r };
}

describe('Redfish client against the DMTF public-rackmount1 mockup', () => {
  it('discovers the system, logs in with a session, and logs out on close', async () => {
    const { mock, svc, id } = await setup();
    expect(await svc.getStatus(id)).toMatchObject({ state: 'on' });
    expect(mock.log.logins).toBe(1);
    await svc.powerAction(id, 'off');
    expect(await svc.getStatus(id)).toMatchObject({ state: 'off' });
    await svc.close();
    expect(mock.log.logouts).toBe(1);
    expect(mock.log.basicRequests).toBe(0);
  });

  it('cycles with off + on when PowerCycle is not offered (the mockup offers none)', async () => {
    const { mock, svc, id } = await setup();
    await svc.powerAction(id, 'cycle');
    expect(mock.log.resets).toEqual(['ForceOff', 'On']);
  });

  it('uses PowerCycle when offered, ForceRestart for reset, GracefulShutdown for soft-off', async () => {
    const { mock, svc, id } = await setup({ resetTypes: ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'] });
    await svc.powerAction(id, 'cycle');
    await svc.powerAction(id, 'reset');
    await svc.powerAction(id, 'soft-off');
    await svc.powerAction(id, 'on');
    expect(mock.log.resets).toEqual(['PowerCycle', 'ForceRestart', 'GracefulShutdown', 'On']);
  });

  it('sets the boot override with If-Match, re-reads it, and maps targets', async () => {
    const { mock, svc, id } = await setup();
    await svc.setBootDevice(id, { device: 'pxe', persistent: true, uefi: false });
    expect(mock.log.patches[0]).toMatchObject({ body: { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Continuous', BootSourceOverrideMode: 'Legacy' } }, ifMatch: 'W/"v1"', status: 200 });
    expect(await svc.getBootDevice(id)).toEqual({ device: 'pxe', persistent: true, uefi: false });
    await svc.setBootDevice(id, { device: 'disk', persistent: false, uefi: false });
    // Mode unchanged: not sent (only Supermicro needs it every time).
    expect(mock.log.patches[1]!.body).toEqual({ Boot: { BootSourceOverrideTarget: 'Hdd', BootSourceOverrideEnabled: 'Once' } });
    expect(await svc.getBootDevice(id)).toEqual({ device: 'disk', persistent: false, uefi: false });
  });

  it('maps pxe+uefi to UefiHttp when the BMC option asks for it', async () => {
    const { mock, svc, id } = await setup({}, { uefiHttp: true });
    await svc.setBootDevice(id, { device: 'pxe', persistent: false, uefi: true });
    expect(mock.system.Boot).toMatchObject({ BootSourceOverrideTarget: 'UefiHttp', BootSourceOverrideMode: 'UEFI' });
    expect(await svc.getBootDevice(id)).toEqual({ device: 'pxe', persistent: false, uefi: true });
  });

  it('refuses a target the system does not offer', async () => {
    const { mock, svc, id } = await setup();
    mock.system.Boot['BootSourceOverrideTarget@Redfish.AllowableValues'] = ['None', 'Hdd'];
    await expect(svc.setBootDevice(id, { device: 'pxe', persistent: false, uefi: false })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('follows 202 + TaskMonitor for Reset and PATCH', async () => {
    const { mock, svc, id } = await setup({ async: true, taskPolls: 2 });
    await svc.powerAction(id, 'off');
    expect(mock.log.resets).toEqual(['ForceOff']);
    await svc.setBootDevice(id, { device: 'bios', persistent: false, uefi: true });
    expect(await svc.getBootDevice(id)).toEqual({ device: 'bios', persistent: false, uefi: true });
    expect(mock.log.taskPolls).toBe(6);
  });

  it('re-reads the ETag after 412 Precondition Failed and retries once', async () => {
    const { mock, svc, id } = await setup({ staleEtagOnce: true });
    await svc.setBootDevice(id, { device: 'pxe', persistent: false, uefi: true });
    expect(mock.log.patches.map((p) => p.status)).toEqual([412, 200]);
  });

  it('falls back to Basic auth when there is no SessionService', async () => {
    const { mock, svc, id } = await setup({ noSessions: true });
    expect(await svc.getStatus(id)).toMatchObject({ state: 'on' });
    expect(mock.log.logins).toBe(0);
    expect(mock.log.basicRequests).toBeGreaterThan(0);
  });

  it('a wrong password is BMC_AUTH_FAILED, recorded without the password', async () => {
    const { svc, id, store } = await setup({}, {}, 'wrong-pass');
    await expect(svc.getStatus(id)).rejects.toMatchObject({ code: 'BMC_AUTH_FAILED' });
    const ev = store.events.list({ machineId: id });
    expect(ev[0]).toMatchObject({ kind: 'bmc.error', detail: { code: 'BMC_AUTH_FAILED' } });
    expect(JSON.stringify(ev)).not.toContain('wrong-pass');
  });

  it('checks TLS certificates unless insecureTls is set for that BMC', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const mock = await startRedfishMock({}, { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') });
    cleanups.push(() => mock.close());
    const strict = redfishMachine(mock.url);
    await expect(strict.svc.getStatus(strict.id)).rejects.toMatchObject({ code: 'BMC_UNREACHABLE', message: expect.stringMatching(/TLS|certificate|insecureTls/) });
    const lax = redfishMachine(mock.url, { insecureTls: true });
    expect(await lax.svc.getStatus(lax.id)).toMatchObject({ state: 'on' });
    await strict.svc.close();
    await lax.svc.close();
  });

  it('shares one driver per BMC and rebuilds it when the BMC record changes', async () => {
    const { svc, id, store, mock } = await setup();
    const d1 = svc.driverFor(id) as RedfishDriver;
    expect(svc.driverFor(id)).toBe(d1);
    await new Promise((r) => setTimeout(r, 5));
    store.bmcs.set(id, { type: 'redfish', address: mock.url, username: 'admin', password: 'pw' });
    expect(svc.driverFor(id)).not.toBe(d1);
  });
});
