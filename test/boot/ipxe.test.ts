import { describe, expect, it } from 'vitest';
import { renderLocalBoot, renderNetworkBoot, renderRefusal } from '../../src/render/ipxe.js';

const plan = {
  mac: '52:54:00:00:00:01',
  machine: 'node-1',
  profile: 'workers',
  kernel: { name: 'vmlinuz', url: 'http://198.18.0.1:8080/assets/sha256/aa?mac=52:54:00:00:00:01' },
  initrds: [
    { name: 'initrd0', url: 'http://198.18.0.1:8080/assets/sha256/bb' },
    { name: 'initrd1', url: 'http://198.18.0.1:8080/assets/sha256/cc' },
  ],
  args: ['quiet', 'rackboot.config=http://198.18.0.1:8080/config/tok', 'console=ttyS0'],
};

describe('iPXE renderers', () => {
  it('network boot: kernel with initrd= names, one initrd line each, boot, then a one-way failure path', () => {
    expect(renderNetworkBoot(plan)).toBe(
      [
        '#!ipxe',
        '# rackboot: node-1 (52:54:00:00:00:01) profile workers',
        'echo rackboot: booting node-1 (profile workers)',
        'kernel --name vmlinuz http://198.18.0.1:8080/assets/sha256/aa?mac=52:54:00:00:00:01 initrd=initrd0 initrd=initrd1 quiet rackboot.config=http://198.18.0.1:8080/config/tok console=ttyS0 || goto failed',
        'initrd --name initrd0 http://198.18.0.1:8080/assets/sha256/bb || goto failed',
        'initrd --name initrd1 http://198.18.0.1:8080/assets/sha256/cc || goto failed',
        'boot || goto failed',
        ':failed',
        'echo rackboot: network boot of node-1 failed; returning to the firmware in 10 s',
        'sleep 10',
        'exit 1',
        '',
      ].join('\n'),
    );
  });

  it('inventory text cannot inject iPXE commands (newlines, ||, &&) and ${} is dropped from echo', () => {
    const s = renderNetworkBoot({ ...plan, machine: 'evil\nshell', profile: 'p${x}', args: ['a\nshell', 'b || shell', 'c && chain http://x'] });
    const lines = s.split('\n');
    expect(lines.some((l) => l.trim() === 'shell' || l.startsWith('chain'))).toBe(false);
    expect(lines[2]).toBe('echo rackboot: booting evil shell (profile p{x})');
    expect(lines[3]).toContain('initrd=initrd1 a shell b   shell c   chain http://x || goto failed');
  });

  it('local boot picks sanboot (BIOS) or exit (UEFI) by ${platform}', () => {
    const s = renderLocalBoot({ mac: '52:54:00:00:00:01', machine: 'node-1' });
    expect(s).toContain('iseq ${platform} efi && goto uefi ||\nsanboot --no-describe --drive 0x80 || goto failed\n:uefi\nexit 0\n');
    expect(s).not.toMatch(/kernel|shell/);
  });

  it('refusal: message, pause, exit', () => {
    expect(renderRefusal({ mac: null, reason: 'no MAC', hint: 'use ?mac=${net0/mac}' })).toBe(
      '#!ipxe\n# rackboot: no MAC: no MAC\necho rackboot: no MAC\necho rackboot: use ?mac={net0/mac}\nsleep 10\nexit 1\n',
    );
  });
});
