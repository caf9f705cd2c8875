import { join } from 'node:path';
import { expect } from 'vitest';
import type { Lab, LabMachine } from '../../qemu/lab-core.js';
import { LAB_ADDR } from '../../qemu/netns.js';
import { LAB_HTTP_PORT } from '../../qemu/rackboot.js';

/**
 * Issue #15 in the lab: a second host on the boot network (the lab's `site` namespace, its own
 * MAC and address 198.18.0.2, not the VM) asks for a provisioned VM's boot script, its config
 * (the URL the VM was given, read off its serial console), its GRUB config over HTTP (by MAC) and
 * TFTP (by MAC and by the VM's address), marks it failed through the GRUB beacon and forges
 * `ready`/`failed` reports with the VM's harvested report token. Every request is refused, each
 * refusal is on the VM's trace as `security.refused` with the stranger's address, and the
 * machine's state is unchanged. In full mode the site namespace is created here (no DHCP server
 * runs in it); in proxy mode it is dnsmasq's namespace.
 */
export async function strangerIsRefused(lab: Lab, vm: LabMachine, opts: { createHost: boolean; vmIp?: string }): Promise<void> {
  if (opts.createHost) await lab.net.addSite();
  const stranger = LAB_ADDR.site;
  const before = await lab.machine(vm);
  const cmdline = [...lab.serial(vm).matchAll(/Command line: (.*)/g)].map((m) => m[1] ?? '').find((l) => l.includes('rackboot.config=')) ?? '';
  const configUrl = /rackboot\.config=(\S+)/.exec(cmdline)?.[1] ?? '';
  const reportToken = /rackboot\.token=(\S+)/.exec(cmdline)?.[1] ?? '';
  expect(configUrl, 'the config URL on the VM console').toMatch(/^http:\/\/198\.18\.0\.1:\d+\/config\//);
  expect(reportToken.length).toBeGreaterThan(10);
  const vmIp = opts.vmIp ?? before.ipv4 ?? '';
  expect(vmIp).toMatch(/^198\.18\.0\.\d+$/);
  expect(vmIp).not.toBe(stranger);

  const curl = (...args: string[]) =>
    lab.net.exec(lab.net.site, 'curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', ...args]).then((r) => r.stdout);
  const base = `http://${LAB_ADDR.server}:${LAB_HTTP_PORT}`;
  const dashed = vm.mac.replaceAll(':', '-');
  const hexIp = vmIp.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join('').toUpperCase();
  expect(await curl(`${base}/boot.ipxe?mac=${vm.mac}`), 'boot script').toBe('403');
  expect(await curl(configUrl), 'config').toBe('403');
  expect(await curl(`${base}/grub/grub.cfg-01-${dashed}`), 'GRUB config').toBe('403');
  expect(await curl(`${base}/grub/rackboot-failed/linux-pxe-01-${dashed}`), 'GRUB failure beacon').toBe('403');
  const forged = (phase: string) =>
    curl('-X', 'POST', '-H', `Authorization: Bearer ${reportToken}`, '-H', 'Content-Type: application/json', '-d', JSON.stringify({ phase }), `${base}/api/v1/report`);
  for (const phase of ['ready', 'failed']) expect(['401', '403'], `forged ${phase} report`).toContain(await forged(phase));
  // tftp-hpa from the stranger: "File not found" for the VM's GRUB config, by MAC and by IP.
  for (const name of [`grub/grub.cfg-01-${dashed}`, `grub/grub.cfg-${hexIp}`]) {
    const out = join(lab.opts.work, `stolen-${vm.name}-${name.replaceAll('/', '_')}`);
    const r = await lab.net
      .exec(lab.net.site, 'tftp', ['-m', 'binary', LAB_ADDR.server, '-c', 'get', name, out], 30_000)
      .catch((e: { stdout?: string; stderr?: string }) => e);
    expect(`${r.stdout ?? ''}${r.stderr ?? ''}`, name).toMatch(/not found/i);
  }

  const after = await lab.machine(vm);
  expect(after.state, 'the forged reports changed nothing').toBe(before.state);
  const refused = (await lab.events(vm)).filter((e) => e.kind === 'security.refused' && e.detail.client === stranger);
  const what = refused.map((e) => String(e.detail.what));
  for (const w of ['boot-script', 'config', 'grub-config', 'grub-beacon']) expect(what, `a ${w} refusal traced`).toContain(w);
  // Both TFTP names and the HTTP GRUB config: three grub-config refusals.
  expect(what.filter((w) => w === 'grub-config').length).toBe(3);
}
