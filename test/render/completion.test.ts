import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportSchema } from '../../src/http/routes/report.js';
import { digestOf, formatDigest } from '../../src/model/digest.js';
import { renderCloudInit } from '../../src/render/cloudinit.js';
import { REPORT_PROGRAM, REPORT_UNIT } from '../../src/render/completion.js';
import { renderIgnition } from '../../src/render/ignition.js';
import { input, machine, spec } from './inputs.js';
import { ReportSink, TOKEN, dataUrlText, runInNamespace } from './report-harness.js';
import { cloudInitSchema, ignitionSchemaErrors, ignitionValidate } from './validators.js';

describe('completion report rendered into Ignition configs', () => {
  const sink = new ReportSink();
  let dir: string;
  beforeAll(async () => {
    await sink.start();
    dir = mkdtempSync(join(tmpdir(), 'rb-completion-'));
  });
  afterAll(async () => {
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const out = renderIgnition(input(spec({ os: 'flatcar', butane: 'variant: flatcar\nversion: 1.0.0\n' }), machine({ name: 'flatcar-1' })));
  const doc = JSON.parse(out.body);
  const program = dataUrlText(doc.storage.files.find((f: { path: string }) => f.path === REPORT_PROGRAM).contents.source);
  const unit = doc.systemd.units.find((u: { name: string }) => u.name === REPORT_UNIT);

  it('adds an enabled oneshot unit after network-online, retried, and its program; the config stays valid', () => {
    expect(ignitionSchemaErrors(out.body)).toEqual([]);
    expect(ignitionValidate(out.body)).toEqual({ status: 0, output: '' });
    expect(unit.enabled).toBe(true);
    expect(unit.contents).toMatch(/^Wants=network-online\.target$/m);
    expect(unit.contents).toMatch(/^After=network-online\.target$/m);
    expect(unit.contents).toMatch(/^Type=oneshot$/m);
    expect(unit.contents).toMatch(/^Restart=on-failure$/m);
    expect(unit.contents).toMatch(/^ConditionKernelCommandLine=rackboot\.token$/m);
    expect(spawnSync('sh', ['-n'], { input: program }).status).toBe(0);
    // No token or URL in the config: one stored version serves every boot.
    expect(out.body).not.toContain(TOKEN);
  });

  it('systemd-analyze verify accepts the unit', () => {
    const unitDir = join(dir, 'units');
    mkdirSync(unitDir, { recursive: true });
    writeFileSync(join(unitDir, REPORT_UNIT), unit.contents);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(unitDir, REPORT_UNIT)], { encoding: 'utf8' });
    expect(r.stderr.split('\n').filter((l) => l.includes(REPORT_UNIT))).toEqual([]);
  });

  it('the program posts ready with the SHA-512 Ignition logged, the token, and the booted image; rackboot would accept it', async () => {
    const sha512 = digestOf('sha512', out.body);
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    // journalctl of a booted Flatcar: Ignition's initramfs lines are in this boot's journal.
    writeFileSync(join(bin, 'journalctl'), `#!/bin/sh\necho 'Ignition 2.14.0'\necho 'fetch: parsing config with SHA512: ${sha512.hex}'\necho 'files: op(1): [finished] writing file'\n`);
    chmodSync(join(bin, 'journalctl'), 0o755);
    writeFileSync(join(dir, 'report.sh'), program);
    sink.posts = [];
    const r = await runInNamespace(dir, `sh ${join(dir, 'report.sh')}`, {
      cmdline: `initrd=initrd0 ignition.config.url=http://x/config/t ignition.firstboot rackboot.report=${sink.url} rackboot.token=${TOKEN}`,
      path: bin,
    });
    expect(r.output).toContain('ready reported');
    expect(r.code).toBe(0);
    const [post] = sink.posts;
    expect(post?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const body = reportSchema.parse(JSON.parse(post!.body));
    expect(body.phase).toBe('ready');
    expect(body.configDigest).toEqual(sha512);
    expect(formatDigest(body.configDigest!)).toBe(`sha512:${sha512.hex}`);
    expect(body.facts).toMatchObject({ bootedImage: { kernel: expect.any(String), bootId: expect.stringMatching(/^[0-9a-f-]{36}$/) } });
  });

  it('without a report token on the command line it does nothing; a 4xx answer is final (exit 2, no retry)', async () => {
    sink.posts = [];
    const none = await runInNamespace(dir, `sh ${join(dir, 'report.sh')}`, { cmdline: 'root=/dev/sda ro' });
    expect(none.code).toBe(0);
    expect(sink.posts).toHaveLength(0);
    sink.statuses = [403];
    const refused = await runInNamespace(dir, `sh ${join(dir, 'report.sh')}`, { cmdline: `rackboot.report=${sink.url} rackboot.token=${TOKEN}`, path: join(dir, 'bin') });
    expect(refused.code).toBe(2);
    expect(sink.posts).toHaveLength(1);
  });

  it('the profile can leave it out (images whose own agent reports)', () => {
    const plain = JSON.parse(renderIgnition(input(spec({ os: 'flatcar', ignition: { report: false } }))).body);
    expect(plain.systemd).toBeUndefined();
  });
});

describe('completion report rendered into cloud-init user-data', () => {
  const sink = new ReportSink();
  let dir: string;
  beforeAll(async () => {
    await sink.start();
    dir = mkdtempSync(join(tmpdir(), 'rb-completion-ci-'));
  });
  afterAll(async () => {
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const render = (userData: Record<string, unknown>) => renderCloudInit(input(spec({ os: 'cloudinit', cloudInit: { userData } }), machine({ name: 'cloud-1' })));
  const ok = render({ runcmd: ['echo hello > /run/hello'] });
  const doc = parse(ok.body, { version: '1.1' });
  const program = doc.write_files.find((f: { path: string }) => f.path === REPORT_PROGRAM).content as string;

  it('writes the program and a unit after cloud-final, queued first in runcmd; `cloud-init schema` accepts it', () => {
    const r = cloudInitSchema(ok.body);
    expect(r.output).toContain('Valid cloud-config');
    expect(doc.runcmd).toEqual([['systemctl', 'start', '--no-block', REPORT_UNIT], 'echo hello > /run/hello']);
    const unit = doc.write_files.find((f: { path: string }) => f.path === `/etc/systemd/system/${REPORT_UNIT}`).content as string;
    expect(unit).toMatch(/^After=network-online\.target cloud-final\.service$/m);
    expect(spawnSync('python3', ['-c', 'import ast,sys; ast.parse(sys.stdin.read())'], { input: program }).status).toBe(0);
  });

  const run = (result: unknown, userData = ok.body) => {
    writeFileSync(join(dir, 'report.py'), program);
    return runInNamespace(dir, `python3 ${join(dir, 'report.py')}`, {
      cmdline: `ds=nocloud-net;s=http://x/config/t/ rackboot.report=${sink.url} rackboot.token=${TOKEN}`,
      mounts: {
        '/var/lib': { 'cloud/instance/user-data.txt': userData },
        '/run': { 'cloud-init/result.json': JSON.stringify(result) },
      },
    });
  };

  it('cloud-init finished without errors: ready with the SHA-256 of the user-data it received', async () => {
    sink.posts = [];
    const r = await run({ v1: { datasource: 'DataSourceNoCloudNet [seed=http://x]', errors: [] } });
    expect(r.output).toContain('ready reported');
    const body = reportSchema.parse(JSON.parse(sink.posts[0]!.body));
    expect(sink.posts[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(body).toMatchObject({ phase: 'ready', message: 'cloud-init finished', configDigest: digestOf('sha256', ok.body) });
  });

  it("cloud-init's own errors: failed, with them in the message and the facts", async () => {
    sink.posts = [];
    const errors = ["('scripts-user', RuntimeError('Runparts: 1 failures (runcmd) in 1 attempted commands'))"];
    const r = await run({ v1: { datasource: 'DataSourceNoCloudNet', errors } });
    expect(r.code).toBe(0);
    const body = reportSchema.parse(JSON.parse(sink.posts[0]!.body));
    expect(body.phase).toBe('failed');
    expect(body.message).toBe(`cloud-init: ${errors[0]}`);
    expect(body.facts).toMatchObject({ cloudInit: { errors } });
  });

  it('booted from an installed disk (no token on the command line): reports with the URL and token the image copied from the state block', async () => {
    sink.posts = [];
    const unit = doc.write_files.find((f: { path: string }) => f.path === `/etc/systemd/system/${REPORT_UNIT}`).content as string;
    expect(unit).toMatch(/^ConditionKernelCommandLine=\|rackboot\.token\nConditionPathExists=\|\/var\/lib\/rackboot\/state\/token$/m);
    writeFileSync(join(dir, 'report.py'), program);
    const r = await runInNamespace(dir, `python3 ${join(dir, 'report.py')}`, {
      cmdline: 'BOOT_IMAGE=/boot/vmlinuz console=ttyS0,115200 rackboot.slot=a rackboot.image_size=167772160',
      mounts: {
        '/var/lib': { 'cloud/instance/user-data.txt': ok.body, 'rackboot/state/report': `${sink.url}\n`, 'rackboot/state/token': `${TOKEN}\n` },
        '/run': { 'cloud-init/result.json': JSON.stringify({ v1: { datasource: 'DataSourceNoCloud [seed=/var/lib/cloud/seed/nocloud]', errors: [] } }) },
      },
    });
    expect(r.output).toContain('ready reported');
    expect(sink.posts[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(reportSchema.parse(JSON.parse(sink.posts[0]!.body))).toMatchObject({ phase: 'ready', configDigest: digestOf('sha256', ok.body) });
    // Neither on the command line nor on disk: nothing is sent.
    sink.posts = [];
    const none = await runInNamespace(dir, `python3 ${join(dir, 'report.py')}`, { cmdline: 'root=/dev/vda ro', mounts: { '/var/lib': { 'cloud/x': '' } } });
    expect(none).toMatchObject({ code: 0, output: expect.stringContaining('nor in /var/lib/rackboot/state') });
    expect(sink.posts).toEqual([]);
  });

  it('no result file (cloud-final never finished): failed, saying so', async () => {
    sink.posts = [];
    writeFileSync(join(dir, 'report.py'), program);
    await runInNamespace(dir, `python3 ${join(dir, 'report.py')}`, {
      cmdline: `rackboot.report=${sink.url} rackboot.token=${TOKEN}`,
      mounts: { '/var/lib': { 'cloud/instance/user-data.txt': ok.body }, '/run': { 'x/y': '' } },
    });
    expect(reportSchema.parse(JSON.parse(sink.posts[0]!.body))).toMatchObject({ phase: 'failed', message: expect.stringContaining('cannot read /run/cloud-init/result.json') });
  });

  it('the profile can leave it out', () => {
    const plain = renderCloudInit(input(spec({ os: 'cloudinit', cloudInit: { report: false, userData: { runcmd: ['true'] } } })));
    expect(plain.body).not.toContain(REPORT_UNIT);
  });
});
