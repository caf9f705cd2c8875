import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CipherSuiteId } from '../../src/bmc/ipmi/constants.js';
import { deriveKeys, type RakpContext, rakp2AuthCode, rakp3AuthCode, rakp4Icv, sessionIntegrityKey } from '../../src/bmc/ipmi/crypto.js';
import { Store } from '../../src/inventory/store.js';
import { TestNet, waitFor } from '../helpers/netns.js';
import { type Agent, spawnAgent } from './helpers/agent-client.js';

// Suite 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128) checked against an independent
// implementation: test/bmc/fixtures/rmcpplus_responder.py (python hashlib/hmac/cryptography),
// which itself is proven against ipmitool -C 17 below. ipmi_sim and pyghmi's fake BMC only do suite 3.
const RESPONDER = resolve(import.meta.dirname, 'fixtures/rmcpplus_responder.py');

describe('known-answer vectors from the spec formulas (python)', () => {
  const kat = JSON.parse(execFileSync('python3', [RESPONDER, 'kat']).toString()) as Record<string, Record<string, string>>;
  it.each([3, 17] as CipherSuiteId[])('suite %i: RAKP2, RAKP3, SIK, RAKP4, K1, K2 match', (suite) => {
    const ctx: RakpContext = {
      suite,
      consoleSessionId: 0x11223344,
      bmcSessionId: 0xa0b0c0d0,
      consoleRandom: Buffer.from([...Array(16).keys()]),
      bmcRandom: Buffer.from([...Array(16).keys()].map((i) => i + 16)),
      bmcGuid: Buffer.from([...Array(16).keys()].map((i) => i + 0xa0)),
      role: 0x14,
      username: 'admin',
      password: 'password',
    };
    const want = kat[String(suite)]!;
    const sik = sessionIntegrityKey(ctx);
    const keys = deriveKeys(suite, sik);
    expect({
      rakp2: rakp2AuthCode(ctx).toString('hex'),
      rakp3: rakp3AuthCode(ctx).toString('hex'),
      sik: sik.toString('hex'),
      rakp4: rakp4Icv(ctx, sik).toString('hex'),
      k1: keys.k1.toString('hex'),
      k2: keys.k2.toString('hex'),
    }).toEqual(want);
  });
});

describe('suite 17 end to end against the independent responder', () => {
  let net: TestNet;
  let agent: Agent;
  let dataDir: string;
  let log = '';
  const ids = { ok: 0, wrong: 0 };
  const ipmitool = (...args: string[]) =>
    net.exec(net.srv, 'ipmitool', ['-I', 'lanplus', '-H', '198.18.0.1', '-p', '6231', '-U', 'admin', '-P', 'pw17', '-C', '17', ...args]);

  let responder: ChildProcess | undefined;
  const startResponder = async () => {
    log = '';
    responder = net.spawn(net.srv, 'python3', [RESPONDER, 'serve', '198.18.0.1', '6231', 'admin', 'pw17']);
    responder.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    await waitFor('responder listening', () => log.includes('listening'), 10_000);
  };

  beforeAll(async () => {
    net = await TestNet.create('ipm17');
    await startResponder();
    dataDir = mkdtempSync(join(tmpdir(), 'rb-ipm17-'));
    const store = Store.open(dataDir);
    for (const [k, pw] of [['ok', 'pw17'], ['wrong', 'nope']] as const) {
      const m = store.machines.create({ name: `m-${k}`, macs: [k === 'ok' ? '52:54:00:bb:00:01' : '52:54:00:bb:00:02'] });
      store.bmcs.set(m.id, { type: 'ipmi', address: '198.18.0.1', port: 6231, username: 'admin', password: pw });
      ids[k] = m.id;
    }
    store.close();
    agent = spawnAgent(net.srv, dataDir, { timeoutMs: 3000, retries: 1 });
  });
  afterAll(async () => {
    await agent?.stop();
    await net?.destroy();
  });

  it('ipmitool -C 17 accepts the responder (so the responder is a valid suite-17 peer)', async () => {
    const { stdout } = await ipmitool('chassis', 'power', 'status');
    expect(stdout).toContain('Chassis Power is off');
  });

  it('rackboot negotiates suite 17 first and drives power and boot flags', async () => {
    log = '';
    expect((await agent.call('getStatus', ids.ok)).result).toMatchObject({ state: 'off' });
    expect(log).toContain('session active suite=17');
    expect((await agent.call('powerAction', ids.ok, 'on')).ok).toBe(true);
    expect((await agent.call('getStatus', ids.ok)).result).toMatchObject({ state: 'on' });
    expect((await agent.call('setBootDevice', ids.ok, { device: 'pxe', persistent: true, uefi: true })).ok).toBe(true);
    expect((await agent.call('getBootDevice', ids.ok)).result).toEqual({ device: 'pxe', persistent: true, uefi: true });
    // param 0 and 3 were sent around param 5 (valid | persistent | EFI, selector PXE).
    expect(log).toMatch(/cmd=0x08 data=0001[\s\S]*cmd=0x08 data=0310[\s\S]*cmd=0x08 data=05e004000000[\s\S]*cmd=0x08 data=0000/);
    // ipmitool decodes the flags rackboot wrote.
    const { stdout } = await ipmitool('chassis', 'bootparam', 'get', '5');
    expect(stdout).toContain('Options apply to all future boots');
    expect(stdout).toContain('BIOS EFI boot');
    expect(stdout).toContain('Force PXE');
    expect((await agent.call('setBootDevice', ids.ok, { device: 'disk', persistent: false, uefi: false })).ok).toBe(true);
    expect((await agent.call('getBootDevice', ids.ok)).result).toEqual({ device: 'disk', persistent: false, uefi: false });
  });

  it('a wrong password is BMC_AUTH_FAILED after one RAKP exchange', async () => {
    const r = await agent.call('getStatus', ids.wrong);
    expect(r.error?.code).toBe('BMC_AUTH_FAILED');
    expect(r.sent).toBeLessThanOrEqual(4);
  });

  it('re-establishes the session when the BMC forgot it (restart) and reuses it otherwise', async () => {
    expect((await agent.call('opened', ids.ok)).result).toBe(1);
    const old = responder!;
    const gone = new Promise((r) => old.once('exit', r));
    old.kill('SIGKILL');
    await gone;
    await startResponder();
    expect((await agent.call('getStatus', ids.ok)).result).toMatchObject({ state: 'off' });
    expect((await agent.call('opened', ids.ok)).result).toBe(2);
    expect(log).toContain('session active suite=17');
  });
});
