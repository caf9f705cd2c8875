import { afterEach, describe, expect, it } from 'vitest';
import { QUIRK_TABLE, quirksFor } from '../../src/bmc/redfish/quirks.js';
import { type MockBehaviour, startRedfishMock } from './helpers/redfish-mock.js';
import { redfishMachine } from './helpers/redfish-setup.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
async function setup(b: MockBehaviour, options: Record<string, unknown> = {}) {
  const mock = await startRedfishMock(b);
  const r = redfishMachine(mock.url, options);
  cleanups.push(async () => {
    await r.svc.close();
    await mock.close();
  });
  return { mock, ...r };
}

describe('Redfish quirk table', () => {
  it('matches vendors by Manufacturer and lets BMC options override', () => {
    expect(quirksFor('Supermicro', 'X11')).toMatchObject({ modeWithEveryPatch: true });
    expect(quirksFor('HPE', 'ProLiant DL360 Gen10')).toMatchObject({ softOffResetType: 'PushPowerButton', ifMatchAlways: true });
    expect(quirksFor('Dell Inc.', 'PowerEdge R650')).toMatchObject({ omitUnchangedEnabled: true });
    expect(quirksFor('Lenovo', 'ThinkSystem SR650')).toMatchObject({ omitUnchangedEnabled: true });
    expect(quirksFor('Contoso', '3500')).toMatchObject({ modeWithEveryPatch: false, omitUnchangedEnabled: false, ifMatchAlways: false });
    expect(quirksFor('Supermicro', 'X11', { modeWithEveryPatch: false }).modeWithEveryPatch).toBe(false);
    expect(QUIRK_TABLE).toHaveLength(4);
  });

  it('Supermicro: BootSourceOverrideMode is sent even when unchanged', async () => {
    const b = { manufacturer: 'Supermicro', model: 'X11DPU', requireMode: true };
    const { mock, svc, id } = await setup(b);
    mock.system.Boot.BootSourceOverrideMode = 'UEFI';
    await svc.setBootDevice(id, { device: 'pxe', persistent: false, uefi: true });
    expect(mock.log.patches[0]!.body).toEqual({ Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once', BootSourceOverrideMode: 'UEFI' } });
    // Without the quirk the same service rejects the PATCH.
    const off = await setup(b, { quirks: { modeWithEveryPatch: false } });
    off.mock.system.Boot.BootSourceOverrideMode = 'UEFI';
    await expect(off.svc.setBootDevice(off.id, { device: 'pxe', persistent: false, uefi: true })).rejects.toMatchObject({ code: 'BMC_ERROR', details: { httpStatus: 400 } });
  });

  it.each(['Dell Inc.', 'Lenovo'])('%s: an unchanged BootSourceOverrideEnabled is left out of the PATCH', async (manufacturer) => {
    const b = { manufacturer, rejectUnchangedEnabled: true };
    const { mock, svc, id } = await setup(b);
    expect(mock.system.Boot.BootSourceOverrideEnabled).toBe('Once');
    await svc.setBootDevice(id, { device: 'disk', persistent: false, uefi: true });
    expect(mock.log.patches[0]!.body).toEqual({ Boot: { BootSourceOverrideTarget: 'Hdd' } });
    expect(await svc.getBootDevice(id)).toEqual({ device: 'disk', persistent: false, uefi: true });
    const off = await setup(b, { quirks: { omitUnchangedEnabled: false } });
    await expect(off.svc.setBootDevice(off.id, { device: 'disk', persistent: false, uefi: true })).rejects.toMatchObject({ details: { httpStatus: 400 } });
  });

  it('HPE: soft off is PushPowerButton even when GracefulShutdown is listed', async () => {
    const { mock, svc, id } = await setup({ manufacturer: 'HPE', resetTypes: ['On', 'ForceOff', 'GracefulShutdown', 'PushPowerButton', 'ForceRestart'] });
    await svc.powerAction(id, 'soft-off');
    expect(mock.log.resets).toEqual(['PushPowerButton']);
  });

  it('HPE: PATCH always carries If-Match, `*` when the service shows no ETag', async () => {
    const { mock, svc, id } = await setup({ manufacturer: 'HPE', requireIfMatch: true });
    await svc.setBootDevice(id, { device: 'pxe', persistent: true, uefi: true });
    expect(mock.log.patches.map((p) => [p.status, p.ifMatch])).toEqual([[200, 'W/"v1"']]);
    const hidden = await setup({ manufacturer: 'HPE', requireIfMatch: true, hideEtag: true });
    await hidden.svc.setBootDevice(hidden.id, { device: 'pxe', persistent: false, uefi: false });
    expect(hidden.mock.log.patches.map((p) => [p.status, p.ifMatch])).toEqual([[200, '*']]);
  });

  it('ETag 428 on a service without the quirk: re-read, then PATCH with If-Match', async () => {
    const { mock, svc, id } = await setup({ requireIfMatch: true, hideEtag: true });
    await svc.setBootDevice(id, { device: 'cdrom', persistent: false, uefi: true });
    expect(mock.log.patches.map((p) => [p.status, p.ifMatch])).toEqual([
      [428, undefined],
      [200, '*'],
    ]);
    expect(await svc.getBootDevice(id)).toEqual({ device: 'cdrom', persistent: false, uefi: true });
  });
});
