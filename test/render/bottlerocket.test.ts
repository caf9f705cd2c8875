import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { renderBottlerocket } from '../../src/render/bottlerocket.js';
import { toToml } from '../../src/render/toml.js';
import { expectGolden } from './golden.js';
import { input, machine, spec } from './inputs.js';
import { parseTomlWithPython } from './validators.js';

const settings = {
  kubernetes: {
    'cluster-name': 'alpha',
    'api-server': 'https://alpha.lab.example:6443',
    'cluster-certificate': 'RkFLRQ==',
    'bootstrap-token': 'abcdef.0123456789abcdef',
    'node-labels': { 'rackboot.io/rack': 'r1', 'topology.kubernetes.io/zone': 'lab-a' },
    'max-pods': 110,
  },
  'host-containers': { admin: { enabled: false }, control: { enabled: true } },
  kernel: { sysctl: { 'net.core.somaxconn': '65535' } },
  'container-registry': { mirrors: [{ registry: 'docker.io', endpoint: ['https://mirror.lab.example'] }] },
};

describe('Bottlerocket renderer', () => {
  it('renders settings TOML (golden) that an independent TOML reader parses back to the same settings', () => {
    const out = renderBottlerocket(input(spec({ os: 'bottlerocket', bottlerocket: { settings } }), machine({ name: 'br-1' })));
    expect(out.contentType).toBe('application/toml');
    expectGolden('bottlerocket.toml', out.body);
    expect(parseTomlWithPython(out.body)).toEqual({ settings: { ...settings, network: { hostname: 'br-1' } } });
  });

  it('escapes strings and quotes keys as TOML 1.0 requires', () => {
    const tricky = { 'a.b': { 'key with space': 'quote " backslash \\ tab \t newline \n bell \u0007', n: -3, f: 1.5, t: true, list: [1, 2], empty: {} } };
    expect(parseTomlWithPython(toToml(tricky))).toEqual(tricky);
  });

  it.each([
    [{ network: { hostname: 'x' } }, 'spec.bottlerocket.settings.network.hostname'],
    [{ kubernetes: { 'api-server': 'http://x' } }, 'spec.bottlerocket.settings.kubernetes.api-server'],
    [{ motd: null }, 'spec.bottlerocket.settings.motd'],
  ])('rejects %j with its JSON path', (bad, path) => {
    try {
      renderBottlerocket(input(spec({ os: 'bottlerocket', bottlerocket: { settings: bad } })));
      expect.unreachable();
    } catch (e) {
      expect(isAppError(e, 'INVALID_CONFIG')).toBe(true);
      expect((e as { details: { path: string }[] }).details[0]?.path).toBe(path);
    }
  });
});
