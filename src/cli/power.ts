import { POWER_ACTIONS } from '../bmc/driver.js';
import type { ApiClient } from './client.js';
import { UsageError, need } from './machines.js';

type Values = Record<string, string | boolean | string[] | undefined>;

const BOOT_DEVICES = ['pxe', 'disk', 'cdrom', 'bios', 'none'];

/** `rackboot power status|on|off|soft-off|cycle|reset MACHINE` and `rackboot bootdev MACHINE DEVICE|show`. */
export async function powerCommand(api: ApiClient, cmd: string, args: string[], o: Values): Promise<string> {
  const json = o.json === true;
  if (cmd === 'power') {
    const [sub, ref] = args;
    const machine = encodeURIComponent(need(ref, 'MACHINE'));
    if (sub === 'status') {
      const r = await api.get<{ state: string }>(`/api/v1/machines/${machine}/power`);
      return json ? JSON.stringify(r, null, 2) : `${ref}: power ${r.state}`;
    }
    if (!(POWER_ACTIONS as readonly string[]).includes(sub ?? '')) {
      throw new UsageError(`unknown power command ${JSON.stringify(sub)} (status|${POWER_ACTIONS.join('|')})`);
    }
    const r = await api.request('POST', `/api/v1/machines/${machine}/power`, { action: sub });
    return json ? JSON.stringify(r, null, 2) : `${ref}: ${sub} done`;
  }
  const [ref, device] = args;
  const machine = encodeURIComponent(need(ref, 'MACHINE'));
  if (device === undefined || device === 'show') {
    const r = await api.get<{ device: string; persistent: boolean; uefi: boolean }>(`/api/v1/machines/${machine}/bootdev`);
    return json ? JSON.stringify(r, null, 2) : `${ref}: boot ${r.device}${r.persistent ? ' (persistent)' : ' (once)'}${r.uefi ? ' uefi' : ''}`;
  }
  if (!BOOT_DEVICES.includes(device)) throw new UsageError(`unknown boot device ${JSON.stringify(device)} (${BOOT_DEVICES.join('|')})`);
  const body = { device, persistent: o.persistent === true, uefi: o.uefi === true };
  const r = await api.request('PUT', `/api/v1/machines/${machine}/bootdev`, body);
  return json ? JSON.stringify(r, null, 2) : `${ref}: next boot ${device}${body.persistent ? ' (persistent)' : ' (once)'}${body.uefi ? ' uefi' : ''}`;
}
