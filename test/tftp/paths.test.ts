import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TFTP_ERROR } from '../../src/tftp/packet.js';
import { normalizeTftpPath, openInRoot } from '../../src/tftp/paths.js';

const { ACCESS_VIOLATION: AV, FILE_NOT_FOUND: NF } = TFTP_ERROR;

describe('normalizeTftpPath', () => {
  it.each([
    ['undionly.kpxe', 'undionly.kpxe'],
    ['/undionly.kpxe', 'undionly.kpxe'],
    ['//grub//./grub.cfg-01-52-54-00-12-34-56', 'grub/grub.cfg-01-52-54-00-12-34-56'],
    ['\\boot\\x64\\wdsnbp.com', 'boot/x64/wdsnbp.com'],
    ['pxelinux.cfg/01-52-54-00-aa-bb-cc', 'pxelinux.cfg/01-52-54-00-aa-bb-cc'],
    ['a..b/c..', 'a..b/c..'],
  ])('maps %j to %j', (raw, path) => {
    expect(normalizeTftpPath(raw)).toEqual({ ok: true, path });
  });

  it.each([
    ['..', AV],
    ['../etc/passwd', AV],
    ['grub/../../etc/passwd', AV],
    ['\\..\\..\\etc\\passwd', AV],
    ['/..', AV],
    ['C:\\boot.ini', AV],
    ['c:/x', AV],
    ['a\x01b', AV],
    ['tab\there', AV],
    ['caf\xe9', AV],
    ['x'.repeat(256), AV],
    ['', NF],
    ['/', NF],
    ['./.', NF],
  ])('refuses %j with error %i', (raw, code) => {
    expect(normalizeTftpPath(raw)).toMatchObject({ ok: false, code });
  });
});

describe('openInRoot', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'rb-tftp-root-')));
  const outside = mkdtempSync(join(tmpdir(), 'rb-tftp-out-'));
  writeFileSync(join(outside, 'secret'), 'secret');
  writeFileSync(join(root, 'ok.txt'), 'hello');
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub', 'f'), 'f');
  symlinkSync('ok.txt', join(root, 'inside-link'));
  symlinkSync(join(outside, 'secret'), join(root, 'escape'));
  symlinkSync(outside, join(root, 'escdir'));
  symlinkSync('sub', join(root, 'sublink'));

  it.each([
    ['ok.txt', 5],
    ['inside-link', 5],
    ['sub/f', 1],
    ['sublink/f', 1],
  ])('serves %s (%i bytes) inside the root', async (path, size) => {
    const r = await openInRoot(root, path);
    expect(r).toMatchObject({ ok: true, size });
    if (r.ok) await r.handle.close();
  });

  it.each([
    ['escape', AV],
    ['escdir/secret', AV],
    ['missing', NF],
    ['sub', NF],
    ['ok.txt/x', NF],
  ])('refuses %s with error %i', async (path, code) => {
    expect(await openInRoot(root, path)).toMatchObject({ ok: false, code });
  });
});
