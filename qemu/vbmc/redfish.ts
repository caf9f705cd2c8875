import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { qemuArgs, type VmOptions } from '../vm.js';
import { qmpCommand } from './qmp.js';

/** A small Redfish service for one QEMU VM (power via the process and QMP, boot override → boot order). */
export interface RedfishVbmcOptions {
  vm: VmOptions;
  /** Working directory for the QMP socket. */
  dir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  username: string;
  password: string;
}

/** A running Redfish vBMC. */
export interface RedfishVbmc {
  url: string;
  /** PID of the running QEMU, if powered on. */
  vmPid(): number | undefined;
  /** QEMU argument lists started so far (tests check the boot order). */
  starts: string[][];
  close(): Promise<void>;
}

const SYS = '/redfish/v1/Systems/1';
const RESETS = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'];
const TARGETS = ['None', 'Pxe', 'Hdd'];

/** Starts the service; QEMU is started on the first On (TCG, the VM's own tap). */
export async function startRedfishVbmc(o: RedfishVbmcOptions): Promise<RedfishVbmc> {
  mkdirSync(o.dir, { recursive: true });
  const qmp = join(o.dir, 'qmp.sock');
  const boot = { target: 'None', enabled: 'Disabled', mode: o.vm.firmware === 'bios' ? 'Legacy' : 'UEFI' };
  let vm: ChildProcess | null = null;
  let version = 1;
  const tokens = new Set<string>();
  const starts: string[][] = [];
  const running = () => vm !== null && vm.exitCode === null && vm.signalCode === null;

  const powerOn = () => {
    if (running()) return;
    // Once: QEMU follows the override for this start only; the BMC then clears it (as real BMCs do).
    const order = boot.enabled === 'Disabled' ? o.vm.boot : boot.target === 'Pxe' ? 'network' : boot.target === 'Hdd' ? 'disk' : o.vm.boot;
    const args = qemuArgs({ ...o.vm, qmpSocket: qmp, ...(order ? { boot: order } : {}) });
    starts.push(args);
    vm = spawn('qemu-system-x86_64', args, { stdio: 'ignore' });
    if (boot.enabled === 'Once') {
      boot.enabled = 'Disabled';
      version++;
    }
  };
  const powerOff = async () => {
    const p = vm;
    if (!p || !running()) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };
  const system = () => ({
    '@odata.id': SYS,
    '@odata.type': '#ComputerSystem.v1_20_0.ComputerSystem',
    '@odata.etag': `W/"${version}"`,
    Id: '1',
    Name: o.vm.name,
    Manufacturer: 'QEMU',
    Model: 'rackboot vBMC',
    PowerState: running() ? 'On' : 'Off',
    Boot: {
      BootSourceOverrideTarget: boot.target,
      BootSourceOverrideEnabled: boot.enabled,
      BootSourceOverrideMode: boot.mode,
      'BootSourceOverrideTarget@Redfish.AllowableValues': TARGETS,
    },
    Actions: { '#ComputerSystem.Reset': { target: `${SYS}/Actions/ComputerSystem.Reset`, 'ResetType@Redfish.AllowableValues': RESETS } },
  });

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', async () => {
      const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'odata-version': '4.0', ...headers });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      const err = (status: number, message: string) => send(status, { error: { code: 'Base.1.0.GeneralError', message, '@Message.ExtendedInfo': [{ Message: message }] } });
      const path = (req.url ?? '/').split('?')[0]!.replace(/\/$/, '') || '/';
      let body: Record<string, unknown> = {};
      try {
        body = raw ? JSON.parse(raw) : {};
      } catch {
        return err(400, 'malformed JSON');
      }
      try {
        if (path === '/redfish') return send(200, { v1: '/redfish/v1/' });
        if (path === '/redfish/v1' && req.method === 'GET') {
          return send(200, {
            '@odata.id': '/redfish/v1/', '@odata.type': '#ServiceRoot.v1_5_0.ServiceRoot', Id: 'RootService', Name: 'rackboot vBMC', RedfishVersion: '1.6.0',
            Systems: { '@odata.id': '/redfish/v1/Systems' }, SessionService: { '@odata.id': '/redfish/v1/SessionService' },
            Links: { Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' } },
          });
        }
        if (path === '/redfish/v1/SessionService/Sessions' && req.method === 'POST') {
          if (body.UserName !== o.username || body.Password !== o.password) return err(401, 'bad credentials');
          const t = randomBytes(16).toString('hex');
          tokens.add(t);
          return send(201, { '@odata.id': `/redfish/v1/SessionService/Sessions/${t}`, Id: t }, { 'x-auth-token': t, location: `/redfish/v1/SessionService/Sessions/${t}` });
        }
        const tok = req.headers['x-auth-token'];
        const basic = `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`;
        if (!(typeof tok === 'string' && tokens.has(tok)) && req.headers.authorization !== basic) return err(401, 'unauthorized');
        if (path === '/redfish/v1/SessionService') return send(200, { '@odata.id': path, Id: 'SessionService', Sessions: { '@odata.id': `${path}/Sessions` } });
        if (path === '/redfish/v1/SessionService/Sessions' && req.method === 'GET') return send(200, { '@odata.id': path, Members: [...tokens].map((t) => ({ '@odata.id': `${path}/${t}` })), 'Members@odata.count': tokens.size });
        if (path.startsWith('/redfish/v1/SessionService/Sessions/') && req.method === 'DELETE') {
          tokens.delete(path.split('/').pop()!);
          return send(204);
        }
        if (path === '/redfish/v1/Systems' && req.method === 'GET') return send(200, { '@odata.id': path, '@odata.type': '#ComputerSystemCollection.ComputerSystemCollection', Name: 'Systems', Members: [{ '@odata.id': SYS }], 'Members@odata.count': 1 });
        if (path === SYS && req.method === 'GET') return send(200, system(), { etag: `W/"${version}"` });
        if (path === SYS && req.method === 'PATCH') {
          const m = req.headers['if-match'];
          if (m && m !== '*' && m !== `W/"${version}"`) return err(412, 'ETag mismatch');
          const b = (body.Boot ?? {}) as Record<string, string | undefined>;
          if (b.BootSourceOverrideTarget !== undefined && !TARGETS.includes(b.BootSourceOverrideTarget)) return err(400, `target ${b.BootSourceOverrideTarget} not supported`);
          if (b.BootSourceOverrideEnabled !== undefined && !['Disabled', 'Once', 'Continuous'].includes(b.BootSourceOverrideEnabled)) return err(400, 'bad Enabled');
          if (b.BootSourceOverrideMode !== undefined && !['UEFI', 'Legacy'].includes(b.BootSourceOverrideMode)) return err(400, 'bad Mode');
          boot.target = b.BootSourceOverrideTarget ?? boot.target;
          boot.enabled = b.BootSourceOverrideEnabled ?? boot.enabled;
          boot.mode = b.BootSourceOverrideMode ?? boot.mode;
          version++;
          return send(200, system(), { etag: `W/"${version}"` });
        }
        if (path === `${SYS}/Actions/ComputerSystem.Reset` && req.method === 'POST') {
          const t = String(body.ResetType);
          if (t === 'On') powerOn();
          else if (t === 'ForceOff') await powerOff();
          else if (t === 'GracefulShutdown') running() && (await qmpCommand(qmp, 'system_powerdown'));
          else if (t === 'ForceRestart') running() && (await qmpCommand(qmp, 'system_reset'));
          else if (t === 'PowerCycle') {
            await powerOff();
            powerOn();
          } else return err(400, `ResetType ${t} not allowed`);
          return send(204);
        }
        return err(404, `no ${req.method} ${path}`);
      } catch (e) {
        return err(500, (e as Error).message);
      }
    });
  });
  await new Promise<void>((r) => server.listen(o.port, o.host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host}:${port}`,
    vmPid: () => (running() ? vm?.pid : undefined),
    starts,
    close: async () => {
      await powerOff();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
