import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestNet, waitFor } from '../helpers/netns.js';
import { type RackbootProcess, startRackboot } from '../helpers/rackboot.js';
import { EDGE_FILES, sha256File, writeRandomFiles } from './helpers/files.js';

const SERVER = '198.18.0.1';

/** How each real client fetches `file` into `out` (run inside the client namespace). */
const CLIENTS: Record<string, { cmd: (file: string, out: string) => [string, string[]]; blksize: number; windowsize: number }> = {
  'tftp-hpa': { cmd: (f, o) => ['tftp', ['-m', 'binary', SERVER, '-c', 'get', f, o]], blksize: 512, windowsize: 1 },
  'atftp window 16 blksize 1432': {
    cmd: (f, o) => ['atftp', ['--option', 'windowsize 16', '--option', 'blksize 1432', '--option', 'tsize 0', '-g', '-r', f, '-l', o, SERVER]],
    blksize: 1432,
    windowsize: 16,
  },
  'atftp window 16 blksize 512': {
    cmd: (f, o) => ['atftp', ['--option', 'windowsize 16', '--option', 'blksize 512', '-g', '-r', f, '-l', o, SERVER]],
    blksize: 512,
    windowsize: 16,
  },
  'curl --tftp-blksize 1432': { cmd: (f, o) => ['curl', ['-sS', '--tftp-blksize', '1432', `tftp://${SERVER}/${f}`, '-o', o]], blksize: 1432, windowsize: 1 },
  'curl (blksize 512)': { cmd: (f, o) => ['curl', ['-sS', '--tftp-blksize', '512', `tftp://${SERVER}/${f}`, '-o', o]], blksize: 512, windowsize: 1 },
};

/**
 * Files go over the native data path by default; one lock-step and one windowed client also
 * run with tftp.nativeTransfers false so the TS path keeps real-client coverage.
 */
const RUNS = [
  { native: true, clients: Object.keys(CLIENTS) },
  { native: false, clients: ['tftp-hpa', 'atftp window 16 blksize 1432'] },
];

describe.each(RUNS)('real TFTP clients against rackboot in a test network (native $native)', ({ native, clients }) => {
  const cases = clients.flatMap((client) => Object.keys(EDGE_FILES).map((file) => [client, file] as const));
  let net: TestNet;
  let rb: RackbootProcess;
  let files: ReturnType<typeof writeRandomFiles>;
  const outDir = mkdtempSync(join(tmpdir(), 'rb-tftp-out-'));
  let n = 0;

  beforeAll(async () => {
    files = writeRandomFiles(EDGE_FILES);
    net = await TestNet.create('tftpc');
    await net.exec(net.cli, 'ip', ['addr', 'add', '198.18.0.10/24', 'dev', 'eth0']);
    rb = await startRackboot(net, {
      assetsDir: files.dir,
      logLevel: 'debug',
      http: { host: SERVER, port: 0 },
      dhcp: { enabled: false },
      tftp: { host: SERVER, port: 69, nativeTransfers: native },
    });
  });
  afterAll(async () => {
    await rb?.stop();
    await net?.destroy();
  });

  it.each(cases)('%s fetches %s byte-identically', async (client, file) => {
    const out = join(outDir, `${++n}-${file}`);
    const [cmd, args] = CLIENTS[client]!.cmd(file, out);
    await net.exec(net.cli, cmd, args, 240_000);
    expect(sha256File(out)).toBe(files.sha[file]);
  }, 300_000);

  it('recorded one tftp.sent event per transfer with file, bytes, blksize and windowsize', async () => {
    const store = rb.openStore();
    try {
      const events = await waitFor('tftp events', () => {
        const list = store.events.list({ kind: 'tftp.sent', limit: 10_000 });
        return list.length >= cases.length ? list : undefined;
      }, 20_000);
      expect(events).toHaveLength(cases.length);
      for (const [client, file] of cases) {
        const { blksize, windowsize } = CLIENTS[client]!;
        const match = events.filter((e) => e.detail.file === file && e.detail.blksize === blksize && e.detail.windowsize === windowsize);
        expect(match.length, `${client} ${file}`).toBeGreaterThanOrEqual(1);
        expect(match[0]!.detail).toMatchObject({ bytes: EDGE_FILES[file], client: '198.18.0.10', result: 'sent' });
        expect(match[0]!.source).toBe('tftp');
      }
      expect(store.events.list({ kind: 'tftp.failed' })).toEqual([]);
      // Every transfer took the data path this run is about (logged when it started).
      const started = rb.output().match(/"native":(true|false)[^\n]*tftp transfer started/g) ?? [];
      expect(started).toHaveLength(cases.length);
      expect(started.every((line) => line.startsWith(`"native":${native}`))).toBe(true);
    } finally {
      store.close();
    }
  });
});
