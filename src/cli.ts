import { parseArgs } from 'node:util';
import { AppError } from './errors.js';
import { CliError, clientFromEnv } from './cli/client.js';
import { eventsCommand } from './cli/events.js';
import { groupsCommand } from './cli/groups.js';
import { inventoryCommand } from './cli/inventory.js';
import { UsageError, machinesCommand } from './cli/machines.js';
import { powerCommand } from './cli/power.js';
import { profilesCommand } from './cli/profiles.js';
import { provisionCommand } from './cli/provision.js';
import { driftCommand, rolloutCommand } from './cli/rollout.js';
import { tokensCommand } from './cli/tokens.js';
import { unknownCommand, whyCommand } from './cli/why.js';

const USAGE = `usage: rackboot <command> [options]
  serve [--config FILE]                      run the appliance
  backup FILE [--config FILE]                online copy of the inventory database (local, works while serve runs)
  machines list [--selector k=v,...]         list machines
  machines show MACHINE                      one machine (id, name or MAC)
  machines add --name N --mac M [--mac M2] [--label k=v] [--profile P] [--ipv4 A]
  machines set MACHINE [--name N] [--mac M] [--label k=v] [--profile P] [--ipv4 A] [--state S]
  machines attach-mac MACHINE MAC           confirm a NIC swap: the MAC joins the machine (admin)
  machines rm MACHINE
  profiles list | show P | add P --file F | set P --file F | rm P
  groups list | show G | apply FILE | delete G  groups: selectors → profile, labels, hostname (apply: all or nothing)
  inventory import FILE | export [--with-secrets]  export: secrets shown as <sealed> unless --with-secrets (admin)
  events MACHINE                             the machine's boot trace
  why MACHINE|MAC                            where the latest boot got to, the likely cause and the next step
  unknown list | enroll MAC --name N [--profile P] [--label k=v]  DHCP clients no machine has; enroll one (admin)
  power status|on|off|soft-off|cycle|reset MACHINE
  bootdev MACHINE pxe|disk|cdrom|bios [--persistent] [--uefi]
  provision MACHINE [--profile P] [--follow [--timeout S]]  reinstall via PXE (BMC: next boot PXE, power cycle)
  rollout start [MACHINE...] [--selector S] --profile P | --file SPEC [--canary N] [--batch-size N] [--max-unavailable N] [--health-timeout S] [--detach]
  rollout list | status ID [--follow] | pause ID | resume ID | abort ID | rollback ID [--detach]
  drift [--stale-after S]                    machines not running their desired image/config
  tokens create --role read|operate|admin [--ttl D] [--name N]  API token (D: 3600, 12h, 30d); secret shown once
  tokens list | revoke NAME|ID               API tokens (admin)
options: --json (machine-readable output); env RACKBOOT_URL, RACKBOOT_TOKEN`;

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  config: { type: 'string' },
  selector: { type: 'string' },
  name: { type: 'string' },
  mac: { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  profile: { type: 'string' },
  ipv4: { type: 'string' },
  state: { type: 'string' },
  file: { type: 'string' },
  persistent: { type: 'boolean' },
  uefi: { type: 'boolean' },
  follow: { type: 'boolean' },
  timeout: { type: 'string' },
  canary: { type: 'string' },
  'batch-size': { type: 'string' },
  'max-unavailable': { type: 'string' },
  'health-timeout': { type: 'string' },
  'stale-after': { type: 'string' },
  detach: { type: 'boolean' },
  'with-secrets': { type: 'boolean' },
  role: { type: 'string' },
  ttl: { type: 'string' },
} as const;

/** Runs one CLI command; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function runCli(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    err.write(`rackboot: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [cmd, sub = '', ...rest] = parsed.positionals;
  const o = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (!cmd || o.help) {
    (cmd ? out : err).write(`${USAGE}\n`);
    return cmd ? 0 : 2;
  }
  try {
    if (cmd === 'serve') {
      const { serve } = await import('./main.js');
      await serve(typeof o.config === 'string' ? { configPath: o.config } : {});
      return 0;
    }
    if (cmd === 'backup') {
      const { backupCommand } = await import('./cli/backup.js');
      out.write(`${await backupCommand([sub, ...rest].filter(Boolean), o)}\n`);
      return 0;
    }
    const api = clientFromEnv();
    let text: string;
    switch (cmd) {
      case 'machines':
        text = await machinesCommand(api, sub || 'list', rest, o);
        break;
      case 'profiles':
        text = await profilesCommand(api, sub || 'list', rest, o);
        break;
      case 'inventory':
        text = await inventoryCommand(api, sub, rest, o);
        break;
      case 'groups':
        text = await groupsCommand(api, sub || 'list', rest, o);
        break;
      case 'events':
        text = await eventsCommand(api, [sub, ...rest].filter(Boolean), o);
        break;
      case 'why':
        text = await whyCommand(api, [sub, ...rest].filter(Boolean), o);
        break;
      case 'unknown':
        text = await unknownCommand(api, sub || 'list', rest, o);
        break;
      case 'rollout':
        text = await rolloutCommand(api, sub, rest, o, (line) => out.write(`${line}\n`));
        break;
      case 'drift':
        text = await driftCommand(api, o);
        break;
      case 'tokens':
        text = await tokensCommand(api, sub || 'list', rest, o);
        break;
      case 'provision':
        text = await provisionCommand(api, [sub, ...rest].filter(Boolean), o, (line) => out.write(`${line}\n`));
        break;
      case 'power':
      case 'bootdev':
        text = await powerCommand(api, cmd, [sub, ...rest].filter(Boolean), o);
        break;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
    out.write(`${text}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`rackboot: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof CliError || e instanceof AppError) {
      err.write(`rackboot: ${e.message}\n`);
      return 1;
    }
    err.write(`rackboot: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runCli(process.argv.slice(2));
}
