import { describe, expect, it } from 'vitest';
import { checkImportAddress, checkImportPath, checkImportUrl, checkRequestedPath, isAllowHostEntry } from '../../src/assets/import-policy.js';
import { assetImportSettingsSchema } from '../../src/assets/settings.js';
import { embeddedIpv4, inBlock, parseBlock, parseIp } from '../../src/assets/ip-address.js';

describe('parseIp / parseBlock', () => {
  it.each([
    ['127.0.0.1', 4, 0x7f000001n],
    ['::1', 6, 1n],
    ['::', 6, 0n],
    ['[fe80::1]', 6, 0xfe80n << 112n | 1n],
    ['fe80::1%eth0', 6, 0xfe80n << 112n | 1n],
    ['::ffff:169.254.169.254', 6, 0xffffa9fea9fen],
    ['1:2:3:4:5:6:7:8', 6, 0x00010002000300040005000600070008n],
    ['1::', 6, 1n << 112n],
  ])('%s', (s, family, value) => {
    expect(parseIp(s)).toEqual({ family, value });
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '0x7f.0.0.1', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1:2', '1:::2', 'g::1', 'mirror.lab', '1:2:3:4:5:6:7::8'])(
    '%j is not an address',
    (s) => {
      expect(parseIp(s)).toBeUndefined();
    },
  );

  it('blocks match their own family only', () => {
    const b = parseBlock('10.0.0.0/8');
    expect(b && inBlock(b, parseIp('10.200.1.1')!)).toBe(true);
    expect(b && inBlock(b, parseIp('11.0.0.1')!)).toBe(false);
    expect(b && inBlock(b, parseIp('::ffff:10.0.0.1')!)).toBe(false);
    expect(parseBlock('10.0.0.0/33')).toBeUndefined();
    expect(parseBlock('fe80::/10')).toMatchObject({ family: 6, prefix: 10 });
    expect(embeddedIpv4(parseIp('64:ff9b::7f00:1')!)).toEqual(parseIp('127.0.0.1'));
  });
});

describe('checkImportAddress', () => {
  it.each([
    // address, allowHosts, expected
    ['93.184.215.14', [], 'ok'],
    ['10.1.2.3', [], 'ok'], // RFC 1918 rack mirror
    ['192.168.10.5', [], 'ok'],
    ['172.20.0.9', [], 'ok'],
    ['198.18.0.1', [], 'ok'],
    ['fd12:3456::1', [], 'ok'], // ULA
    ['2001:db8::1', [], 'ok'],
    ['127.0.0.1', [], 'loopback'],
    ['127.8.9.10', [], 'loopback'],
    ['::1', [], 'loopback'],
    ['::ffff:127.0.0.1', [], 'loopback'],
    ['::127.0.0.1', [], 'loopback'],
    ['64:ff9b::127.0.0.1', [], 'loopback'],
    ['169.254.1.1', [], 'link-local'],
    ['fe80::1', [], 'link-local'],
    ['169.254.169.254', [], 'metadata'],
    ['::ffff:169.254.169.254', [], 'metadata'],
    ['fd00:ec2::254', [], 'metadata'],
    ['100.100.100.200', [], 'metadata'],
    ['0.0.0.0', [], 'unspecified'],
    ['0.1.2.3', [], 'unspecified'],
    ['::', [], 'unspecified'],
    ['224.0.0.1', [], 'multicast'],
    ['ff02::1', [], 'multicast'],
    ['255.255.255.255', [], 'reserved'],
    ['not-an-ip', [], 'invalid'],
    // allowHosts lifts loopback and link-local, by address, block or name ...
    ['127.0.0.1', ['127.0.0.1'], 'ok'],
    ['127.0.0.2', ['127.0.0.0/8'], 'ok'],
    ['::ffff:127.0.0.1', ['127.0.0.1'], 'ok'],
    ['::1', ['127.0.0.1'], 'loopback'],
    ['127.0.0.1', ['mirror.lab'], 'ok'],
    ['169.254.7.7', ['169.254.0.0/16'], 'ok'],
    // ... but never metadata or unspecified addresses.
    ['169.254.169.254', ['169.254.0.0/16'], 'metadata'],
    ['169.254.169.254', ['169.254.169.254'], 'metadata'],
    ['169.254.169.254', ['mirror.lab'], 'metadata'],
    ['0.0.0.0', ['0.0.0.0'], 'unspecified'],
  ] as Array<[string, string[], string]>)('%s with allowHosts %j → %s', (ip, allow, want) => {
    const d = checkImportAddress(ip, 'Mirror.Lab.', allow);
    expect(d.ok ? 'ok' : d.reason).toBe(want);
  });
});

describe('checkImportUrl', () => {
  it.each([
    ['http://mirror.lab/k', undefined, 'http://mirror.lab/k'],
    ['https://[::1]:8443/k', undefined, 'https://[::1]:8443/k'],
    ['http://2130706433/', undefined, 'http://127.0.0.1/'], // the URL parser canonicalises numeric hosts
    ['http://0x7f.1/', undefined, 'http://127.0.0.1/'],
    ['/other', 'http://mirror.lab/k', 'http://mirror.lab/other'],
    ['//evil.example/x', 'http://mirror.lab/k', 'http://evil.example/x'],
  ])('%s (base %s) → %s', (raw, base, want) => {
    const d = checkImportUrl(raw, base === undefined ? undefined : new URL(base));
    expect(d.ok && d.url.href).toBe(want);
  });

  it.each(['file:///etc/passwd', 'ftp://mirror.lab/x', 'gopher://127.0.0.1:6379/_', 'http://user:pw@mirror.lab/', 'not a url'])('%s is refused', (raw) => {
    expect(checkImportUrl(raw).ok).toBe(false);
  });
});

describe('checkRequestedPath / checkImportPath', () => {
  it.each([
    ['/srv/images/a.raw', 'ok'],
    ['/srv/images/../../etc/passwd', 'dot-dot'],
    ['/srv/images/sub/../a.raw', 'dot-dot'],
    ['relative/a.raw', 'not-absolute'],
    ['/srv/images/a\0.raw', 'not-absolute'],
  ])('%j → %s', (p, want) => {
    const d = checkRequestedPath(p);
    expect(d.ok ? 'ok' : d.reason).toBe(want);
  });

  const dirs = ['/srv/images', '/var/lib/rackboot/import'];
  const deny = ['/var/lib/rackboot'];
  it.each([
    ['/srv/images/a.raw', dirs, 'ok'],
    ['/srv/images/sub/b.raw', dirs, 'ok'],
    ['/srv/images', dirs, 'outside'],
    ['/srv/images-evil/a.raw', dirs, 'outside'],
    ['/etc/passwd', dirs, 'outside'],
    ['/var/lib/rackboot/import/c.raw', dirs, 'ok'], // an import dir deliberately inside the data dir
    ['/var/lib/rackboot/secret.key', dirs, 'outside'],
    ['/var/lib/rackboot/secret.key', ['/var/lib'], 'denied'],
    ['/var/lib/rackboot/import/c.raw', ['/var/lib'], 'denied'],
    ['/srv/images/a.raw', [], 'import-off'],
    ['/srv/images/./a.raw', dirs, 'not-absolute'],
  ])('%s in %j → %s', (file, importDirs, want) => {
    const d = checkImportPath(file, importDirs, deny);
    expect(d.ok ? 'ok' : d.reason).toBe(want);
  });
});

describe('assets settings', () => {
  it('defaults: local import off, 8 GiB cap, no allowHosts', () => {
    expect(assetImportSettingsSchema.parse(undefined)).toEqual({
      importDirs: [],
      allowHosts: [],
      maxImportBytes: 8 * 1024 ** 3,
      fetchTimeoutMs: 30_000,
      maxRedirects: 3,
    });
  });

  it.each([{ importDirs: ['/'] }, { importDirs: ['relative'] }, { importDirs: ['/srv/../etc'] }, { allowHosts: ['http://x/'] }, { allowHosts: ['10.0.0.0/40'] }, { bogus: 1 }])(
    '%j is refused',
    (raw) => {
      expect(assetImportSettingsSchema.safeParse(raw).success).toBe(false);
    },
  );

  it.each(['mirror.lab', 'Mirror-1.example.com.', '127.0.0.1', '::1', '10.0.0.0/8', 'fe80::/10'])('allowHosts entry %s is valid', (e) => {
    expect(isAllowHostEntry(e)).toBe(true);
  });
});
