/** The console's phase chips: which phases the current boot reached (ui/src/phases.ts). */
import { describe, expect, it } from 'vitest';
import { phasesReached } from '../../ui/src/phases.js';
import type { BootEvent } from '../../ui/src/types.js';

const trace = (kinds: string[]): BootEvent[] => kinds.map((kind, i) => ({ id: i + 1, kind, at: `t${i + 1}`, detail: {} }) as unknown as BootEvent);
const reached = (kinds: string[]) => [...phasesReached(trace(kinds)).keys()];

describe('phasesReached', () => {
  it.each([
    ['nothing yet', [], []],
    ['one full boot', ['dhcp.offer', 'dhcp.ack', 'tftp.sent', 'dhcp.offer', 'dhcp.ack', 'boot.script', 'asset.served', 'config.served', 'report.ready'], ['DHCP', 'TFTP', 'Script', 'Kernel', 'Config', 'Ready']],
    ['firmware then iPXE offers are one boot', ['dhcp.offer', 'tftp.sent', 'dhcp.offer', 'boot.script'], ['DHCP', 'TFTP', 'Script']],
    ['a power cycle after ready starts over', ['dhcp.offer', 'tftp.sent', 'boot.script', 'asset.served', 'config.served', 'report.ready', 'dhcp.offer', 'tftp.sent'], ['DHCP', 'TFTP']],
    ['a renewal (ack only) after ready keeps the boot', ['dhcp.offer', 'boot.script', 'config.served', 'report.ready', 'dhcp.ack'], ['DHCP', 'Script', 'Config', 'Ready']],
    ['proxy offers count as a new boot too', ['dhcp.proxy-offer', 'boot.script', 'report.ready', 'dhcp.proxy-offer'], ['DHCP']],
    ['a provision request starts over', ['dhcp.offer', 'boot.script', 'report.ready', 'provision.requested', 'report.installing'], []],
  ])('%s', (_name, kinds, want) => {
    expect(reached(kinds)).toEqual(want);
  });
});
