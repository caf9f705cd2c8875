import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportSchema } from '../../src/http/routes/report.js';
import { renderCloudInit } from '../../src/render/cloudinit.js';
import { IGNITION_PRESET_FILE, REPORT_PROGRAM, servedImageOf } from '../../src/render/completion.js';
import { renderIgnition } from '../../src/render/ignition.js';
import type { RenderInput } from '../../src/render/types.js';
import { input, machine, spec } from './inputs.js';
import { ReportSink, TOKEN, dataUrlText, runInNamespace } from './report-harness.js';

const hex = (c: string) => c.repeat(64);
const KERNEL = hex('a');
const INITRD = hex('b');
const IMAGE = hex('c');
const boot = { kernel: KERNEL, initrds: [INITRD] };
const install = { sha256: IMAGE, url: `http://198.18.0.1:8080/assets/sha256/${IMAGE}` };

describe('the booted image rackboot served, rendered into the report', () => {
  it.each([
    { name: 'no boot (profile check)', bootImage: undefined, installImage: null, served: null },
    { name: 'network boot', bootImage: boot, installImage: null, served: { kernel: KERNEL, initrds: [INITRD], install: null } },
    { name: 'install image only', bootImage: null, installImage: install, served: { kernel: null, initrds: [], install: IMAGE } },
    { name: 'network boot of an installing profile', bootImage: boot, installImage: install, served: { kernel: KERNEL, initrds: [INITRD], install: IMAGE } },
  ])('servedImageOf: $name', ({ bootImage, installImage, served }) => {
    expect(servedImageOf({ ...(bootImage !== undefined ? { bootImage } : {}), installImage })).toEqual(served);
  });

  const withBoot = (s: Parameters<typeof input>[0]): RenderInput => ({ ...input(s, machine({ name: 'n1' })), bootImage: boot, installImage: install });
  const ign = (i: RenderInput) => {
    const doc = JSON.parse(renderIgnition(i).body);
    return dataUrlText(doc.storage.files.find((f: { path: string }) => f.path === REPORT_PROGRAM).contents.source) as string;
  };
  const ci = (i: RenderInput) => parse(renderCloudInit(i).body, { version: '1.1' }).write_files.find((f: { path: string }) => f.path === REPORT_PROGRAM).content as string;
  const fcos = spec({ os: 'fcos', butane: 'variant: fcos\nversion: 1.4.0\n' });
  const cloud = spec({ os: 'cloudinit', cloudInit: { userData: {} } });

  it.each([
    { name: 'Ignition', program: ign(withBoot(fcos)), plain: ign(input(fcos)) },
    { name: 'cloud-init', program: ci(withBoot(cloud)), plain: ci(input(cloud)) },
  ])('$name: the program names the served kernel, initrds and install image; without a boot it names none', ({ program, plain }) => {
    for (const h of [KERNEL, INITRD, IMAGE]) expect(program).toContain(`sha256:${h}`);
    expect(plain).not.toMatch(/sha256:[0-9a-f]{64}/);
  });

  it('a new kernel is a new config version (the node measures the config digest)', () => {
    const a = renderIgnition(withBoot(fcos)).body;
    const b = renderIgnition({ ...withBoot(fcos), bootImage: { kernel: hex('d'), initrds: [INITRD] } }).body;
    expect(a).not.toBe(b);
  });
});

describe('Ignition report: the config\'s own units decide ready or failed', () => {
  const sink = new ReportSink();
  let dir: string;
  let bin: string;
  const program = dataUrlText(
    JSON.parse(renderIgnition({ ...input(spec({ os: 'fcos', butane: 'variant: fcos\nversion: 1.4.0\n' }), machine({ name: 'n1' })), bootImage: boot, installImage: install }).body)
      .storage.files.find((f: { path: string }) => f.path === REPORT_PROGRAM).contents.source,
  );

  beforeAll(async () => {
    await sink.start();
    dir = mkdtempSync(join(tmpdir(), 'rb-completion-units-'));
    bin = join(dir, 'bin');
    mkdirSync(join(dir, 'state'), { recursive: true });
    mkdirSync(bin);
    // systemctl show -p PROP --value UNIT reads state/UNIT.PROP; list-jobs reads state/jobs.
    writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\ncase "$1" in\n  list-jobs) cat ${dir}/state/jobs 2>/dev/null ;;\n  show) cat "${dir}/state/$5.$3" 2>/dev/null ;;\nesac\nexit 0\n`);
    // journalctl -b -u UNIT ... prints the unit's log; journalctl -b -o cat the boot's (Ignition's SHA-512 line).
    writeFileSync(join(bin, 'journalctl'), `#!/bin/sh\nif [ "$2" = -u ]; then cat "${dir}/state/$3.log" 2>/dev/null; else echo "fetch: parsing config with SHA512: ${'e'.repeat(128)}"; fi\n`);
    for (const f of ['systemctl', 'journalctl']) chmodSync(join(bin, f), 0o755);
    writeFileSync(join(dir, 'report.sh'), program);
  });
  afterAll(async () => {
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const state = (files: Record<string, string>) => {
    rmSync(join(dir, 'state'), { recursive: true, force: true });
    mkdirSync(join(dir, 'state'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'state', name), text);
  };
  const run = async (preset: string) => {
    sink.posts = [];
    const r = await runInNamespace(dir, `sh ${join(dir, 'report.sh')}`, {
      cmdline: `ignition.firstboot rackboot.report=${sink.url} rackboot.token=${TOKEN}`,
      mounts: { '/etc/systemd': { [IGNITION_PRESET_FILE.slice('/etc/systemd/'.length)]: preset } },
      path: bin,
    });
    expect(sink.posts, r.output).toHaveLength(1);
    return reportSchema.parse(JSON.parse(sink.posts[0]!.body));
  };
  const preset = 'enable rackboot-hello.service\nenable rackboot-broken.service\nenable rackboot-report.service\n';

  it('every unit the config enabled finished: ready, with the served image and the install image digest', async () => {
    state({ 'rackboot-hello.service.ActiveState': 'inactive\n', 'rackboot-broken.service.ActiveState': 'active\n' });
    const body = await run(preset);
    expect(body).toMatchObject({ phase: 'ready', message: 'ignition config applied', imageDigest: { algorithm: 'sha256', hex: IMAGE } });
    expect(body.configDigest).toEqual({ algorithm: 'sha512', hex: 'e'.repeat(128) });
    expect(body.facts).toMatchObject({ bootedImage: { served: { kernel: `sha256:${KERNEL}`, initrds: [`sha256:${INITRD}`], install: `sha256:${IMAGE}` } } });
  });

  it("a unit of the config failed: failed, naming it with systemd's result, exit status and last log lines", async () => {
    state({
      'rackboot-hello.service.ActiveState': 'inactive\n',
      'rackboot-broken.service.ActiveState': 'failed\n',
      'rackboot-broken.service.Result': 'exit-code\n',
      'rackboot-broken.service.ExecMainStatus': '3\n',
      'rackboot-broken.service.log': 'Starting rackboot-broken.service...\nbroken: about to fail "quoted"\n',
      // The report unit itself is never waited for or judged.
      'rackboot-report.service.ActiveState': 'activating\n',
    });
    const body = await run(preset);
    expect(body.phase).toBe('failed');
    expect(body.message).toBe('units of the config failed: rackboot-broken.service (result exit-code, exit status 3; log: Starting rackboot-broken.service...|broken: about to fail quoted|);');
    expect(body.configDigest?.algorithm).toBe('sha512');
  });

  it('no preset file (Ignition enabled nothing): ready', async () => {
    state({});
    expect((await run('')).phase).toBe('ready');
  });
});

describe('cloud-init report: the served image', () => {
  const sink = new ReportSink();
  let dir: string;
  beforeAll(async () => {
    await sink.start();
    dir = mkdtempSync(join(tmpdir(), 'rb-completion-ci-img-'));
  });
  afterAll(async () => {
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ready carries the install image as imageDigest and the served kernel and initrds in the facts', async () => {
    const out = renderCloudInit({ ...input(spec({ os: 'cloudinit', cloudInit: { userData: {} } }), machine({ name: 'c1' })), bootImage: boot, installImage: install });
    const program = parse(out.body, { version: '1.1' }).write_files.find((f: { path: string }) => f.path === REPORT_PROGRAM).content as string;
    writeFileSync(join(dir, 'report.py'), program);
    const r = await runInNamespace(dir, `python3 ${join(dir, 'report.py')}`, {
      cmdline: `rackboot.report=${sink.url} rackboot.token=${TOKEN}`,
      mounts: { '/var/lib': { 'cloud/instance/user-data.txt': out.body }, '/run': { 'cloud-init/result.json': JSON.stringify({ v1: { datasource: 'NoCloudNet', errors: [] } }) } },
    });
    expect(sink.posts, r.output).toHaveLength(1);
    const body = reportSchema.parse(JSON.parse(sink.posts[0]!.body));
    expect(body).toMatchObject({ phase: 'ready', imageDigest: { algorithm: 'sha256', hex: IMAGE } });
    expect(body.facts).toMatchObject({ bootedImage: { served: { kernel: `sha256:${KERNEL}`, initrds: [`sha256:${INITRD}`], install: `sha256:${IMAGE}` } } });
  });
});
