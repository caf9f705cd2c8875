import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Firmware a test VM boots with. */
export type Firmware = 'bios' | 'uefi' | 'uefi-secureboot';

/** How to start one QEMU VM on a tap device (TCG: KVM hangs iPXE's timer here). */
export interface VmOptions {
  name: string;
  mac: string;
  tap: string;
  firmware: Firmware;
  /** Disk image (qcow2 or raw) attached as virtio disk. */
  disk?: string;
  memoryMb?: number;
  /** Serial console log file. */
  serialLog: string;
  /** QMP unix socket path (for power control). */
  qmpSocket?: string;
  /** Boot order: network first unless 'disk'. */
  boot?: 'network' | 'disk';
  /** UEFI: NIC without option ROM (edk2's own virtio-net driver and PXE), the default for uefi. */
  romfile?: string;
  /** UEFI: the VM's NVRAM file, created from the OVMF template when missing (else a temp copy). */
  varsFile?: string;
}

const OVMF = {
  uefi: { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
  'uefi-secureboot': { code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd' },
} as const;

/** The qemu-system-x86_64 argument list for a VM. */
export function qemuArgs(o: VmOptions): string[] {
  // bootindex, not `-boot order`: OVMF only follows bootindex (fw_cfg bootorder); SeaBIOS both.
  const diskFirst = o.boot === 'disk';
  const nicIndex = `,bootindex=${diskFirst ? 2 : 1}`;
  const diskIndex = `,bootindex=${diskFirst ? 1 : 2}`;
  const args = [
    '-name', o.name,
    '-nodefaults', '-display', 'none', '-no-user-config',
    '-m', String(o.memoryMb ?? 512),
    '-smp', '1',
    '-serial', `file:${o.serialLog}`,
    '-netdev', `tap,id=n0,ifname=${o.tap},script=no,downscript=no`,
  ];
  if (o.firmware === 'bios') {
    args.push('-machine', 'pc', '-device', `virtio-net-pci,netdev=n0,mac=${o.mac}${o.romfile !== undefined ? `,romfile=${o.romfile}` : ''}${nicIndex}`);
  } else {
    const fw = OVMF[o.firmware];
    const vars = o.varsFile ?? join(mkdtempSync(join(tmpdir(), 'rb-ovmf-')), 'vars.fd');
    if (!existsSync(vars)) copyFileSync(fw.vars, vars);
    if (o.firmware === 'uefi-secureboot') {
      args.push('-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on');
    } else {
      args.push('-machine', 'q35');
    }
    args.push(
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${fw.code}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
      '-device', `virtio-net-pci,netdev=n0,mac=${o.mac},romfile=${o.romfile ?? ''}${nicIndex}`,
      // No IPv6 network stack: OVMF would try PXE and HTTP boot over IPv6 after IPv4 (minutes of
      // DHCPv6 timeouts on the IPv4-only lab) before the disk of a provisioned machine.
      '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=no',
      '-fw_cfg', 'name=opt/org.tianocore/IPv6Support,string=no',
    );
  }
  if (o.disk) {
    const format = o.disk.endsWith('.raw') ? 'raw' : 'qcow2';
    args.push('-drive', `file=${o.disk},if=none,id=d0,format=${format}`, '-device', `virtio-blk-pci,drive=d0${diskIndex}`);
  }
  if (o.qmpSocket) args.push('-qmp', `unix:${o.qmpSocket},server=on,wait=off`);
  return args;
}
