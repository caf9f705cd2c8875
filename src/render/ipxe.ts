/**
 * iPXE scripts (pure: plan in, script text out). Every script ends in `boot`, `sanboot`,
 * or `exit`: never `goto` backwards and never `shell`, so a firmware that cannot boot a machine
 * falls through to its next boot entry instead of looping on the server.
 */

/** One file iPXE downloads (kernel or initrd), by digest URL. */
export interface IpxeImage {
  /** Name iPXE gives the image; UEFI kernels find initrds by it (`initrd=<name>`). */
  name: string;
  url: string;
}

/** What a network boot needs. */
export interface NetworkBootPlan {
  mac: string;
  machine: string;
  profile: string;
  kernel: IpxeImage;
  initrds: IpxeImage[];
  /** Kernel arguments, already joined in order. */
  args: string[];
  /** Shown in the script header for operators reading it. */
  comment?: string;
}

/** How long a failing script shows its message before handing back to the firmware. */
const PAUSE_SECONDS = 10;

/**
 * iPXE script syntax: a newline ends a command and `||`/`&&` chain them, so text coming from
 * the inventory must never carry either into a script (one bad profile would inject commands).
 */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/\|\||&&/g, ' ').trim();
}

/** `echo` text: iPXE expands ${...}, so a literal `$` from the inventory is dropped. */
function echoText(s: string): string {
  return oneLine(s).replaceAll('$', '');
}

/** Boots the kernel + initrds over HTTP with the given arguments. */
export function renderNetworkBoot(p: NetworkBootPlan): string {
  const initrdArgs = p.initrds.map((i) => `initrd=${i.name}`);
  const args = [...initrdArgs, ...p.args].map(oneLine).filter((a) => a.length > 0).join(' ');
  const lines = [
    '#!ipxe',
    `# rackboot: ${echoText(p.machine)} (${p.mac}) profile ${echoText(p.profile)}${p.comment ? ` ${echoText(p.comment)}` : ''}`,
    `echo rackboot: booting ${echoText(p.machine)} (profile ${echoText(p.profile)})`,
    `kernel --name ${p.kernel.name} ${oneLine(p.kernel.url)} ${args} || goto failed`,
    ...p.initrds.map((i) => `initrd --name ${i.name} ${oneLine(i.url)} || goto failed`),
    'boot || goto failed',
    ':failed',
    `echo rackboot: network boot of ${echoText(p.machine)} failed; returning to the firmware in ${PAUSE_SECONDS} s`,
    `sleep ${PAUSE_SECONDS}`,
    'exit 1',
    '',
  ];
  return lines.join('\n');
}

/**
 * A provisioned machine boots its local disk: BIOS through INT 13h drive 0x80 (`sanboot`),
 * UEFI by leaving iPXE so the boot manager tries the next entry (the installed disk).
 */
export function renderLocalBoot(p: { mac: string; machine: string }): string {
  return [
    '#!ipxe',
    `# rackboot: ${echoText(p.machine)} (${p.mac}) is provisioned: local disk`,
    `echo rackboot: ${echoText(p.machine)} is provisioned; booting from the local disk`,
    'iseq ${platform} efi && goto uefi ||',
    'sanboot --no-describe --drive 0x80 || goto failed',
    ':uefi',
    'exit 0',
    ':failed',
    `echo rackboot: local disk boot failed; returning to the firmware in ${PAUSE_SECONDS} s`,
    `sleep ${PAUSE_SECONDS}`,
    'exit 1',
    '',
  ].join('\n');
}

/** A MAC rackboot does not know, or a machine it cannot boot: a clear message, then exit. */
export function renderRefusal(p: { mac: string | null; reason: string; hint: string }): string {
  return [
    '#!ipxe',
    `# rackboot: ${p.mac ?? 'no MAC'}: ${echoText(p.reason)}`,
    `echo rackboot: ${echoText(p.reason)}`,
    `echo rackboot: ${echoText(p.hint)}`,
    `sleep ${PAUSE_SECONDS}`,
    'exit 1',
    '',
  ].join('\n');
}
