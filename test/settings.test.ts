import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envOverrides, loadSettings } from '../src/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'rb-settings-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('settings', () => {
  it('defaults are safe: proxy DHCP, registered MACs only, ./data, 0.0.0.0:8080', () => {
    const s = loadSettings({ configPath: file('empty.yaml', ''), env: {} });
    expect(s.dataDir).toBe('./data');
    expect(s.http).toMatchObject({ host: '0.0.0.0', port: 8080 });
    expect(s.dhcp).toMatchObject({ enabled: true, mode: 'proxy', unknownMacs: 'ignore' });
    expect(s.tftp.enabled).toBe(true);
  });
  it('reads the file given by --config or RACKBOOT_CONFIG, then env overrides win', () => {
    const p = file('a.yaml', 'http:\n  port: 9000\ndhcp:\n  mode: full\n');
    expect(loadSettings({ configPath: p, env: {} }).http.port).toBe(9000);
    const s = loadSettings({ env: { RACKBOOT_CONFIG: p, RACKBOOT_HTTP__PORT: '9001', RACKBOOT_DATADIR: '/var/lib/rb' } });
    expect(s.http.port).toBe(9001);
    expect(s.dhcp.mode).toBe('full');
    expect(s.dataDir).toBe('/var/lib/rb');
  });
  it('maps env names case-insensitively and ignores unknown ones', () => {
    expect(envOverrides({ RACKBOOT_DHCP__UNKNOWN_MACS: 'discover', RACKBOOT_NOPE: '1', OTHER: 'x' })).toEqual({
      dhcp: { unknownMacs: 'discover' },
    });
  });
  it.each([
    ['http:\n  port: 70000\n', /http\.port/],
    ['dhcp:\n  mode: sideways\n', /dhcp\.mode/],
    ['nosuchkey: 1\n', /Unrecognized key.*nosuchkey/],
    ['- a\n- b\n', /expected a mapping/],
    ['http: [\n', /cannot parse/],
  ])('an invalid file stops start-up naming the field (%#)', (text, msg) => {
    expect(() => loadSettings({ configPath: file(`bad${Math.random()}.yaml`, text), env: {} })).toThrowError(msg);
  });
  it('a missing explicit file is an error; a missing default file means defaults', () => {
    expect(() => loadSettings({ configPath: join(dir, 'none.yaml'), env: {} })).toThrowError(/not found/);
  });
});
