import type { Machine } from '../inventory/machines.js';
import type { RolloutEffects } from './effects.js';
import { type HookDeps, makeStepHooks } from './hooks.js';

/** The BMC operations a rollout uses, by machine id (the BMC subsystem's power service provides them). */
export interface PowerControl {
  setBootDevice(machineId: number, o: { device: 'pxe'; persistent: boolean; uefi: boolean }): Promise<unknown>;
  powerAction(machineId: number, action: 'on' | 'cycle'): Promise<unknown>;
  getStatus?(machineId: number): Promise<{ state?: string }>;
  getBootDevice?(machineId: number): Promise<{ device: string; persistent: boolean }>;
}

/** True when the machine boots in UEFI mode (from its facts), so the boot override says so. */
export function isUefi(machine: Machine): boolean {
  const f = machine.facts;
  const v = f.firmware ?? f.bootMode ?? f.boot_mode;
  return typeof v === 'string' && v.toLowerCase().startsWith('uefi');
}

/** The real effects: BMC through `power`, steps and probes through webhooks/Kubernetes. */
export function liveEffects(power: PowerControl, hooks: HookDeps, now: () => number = Date.now): RolloutEffects {
  return {
    now,
    setNextBootPxe: async (machine) => {
      // Not persistent: only the next boot goes to the network; the one after boots the installed disk.
      await power.setBootDevice(machine.id, { device: 'pxe', persistent: false, uefi: isUefi(machine) });
    },
    ...(power.getBootDevice
      ? {
          bootsPxeNext: async (machine: Machine) => {
            const b = await power.getBootDevice!(machine.id);
            return b.device === 'pxe';
          },
        }
      : {}),
    powerCycle: async (machine) => {
      // A chassis power cycle of a machine that is off fails on many BMCs (IPMI CC 0xD5): power it on instead.
      const s = power.getStatus ? await power.getStatus(machine.id) : undefined;
      await power.powerAction(machine.id, s?.state === 'off' ? 'on' : 'cycle');
    },
    ...makeStepHooks(hooks),
  };
}
