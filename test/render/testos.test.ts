import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { renderConfig } from '../../src/render/index.js';
import { testOsDocumentSchema } from '../../src/render/testos.js';
import { expectGolden } from './golden.js';
import { input, machine, spec } from './inputs.js';

const digest = 'ab'.repeat(32);

describe('test OS renderer', () => {
  it('renders the agent document with the install image by digest (golden)', () => {
    const s = spec({ os: 'testos', install: { image: `sha256:${digest}`, disk: '/dev/vda' }, testos: { files: [{ path: '/etc/motd', contents: 'hi\n' }] } });
    const out = renderConfig({ ...input(s, machine(), 'lab'), installImage: { sha256: digest, url: `http://198.18.0.1:8080/assets/sha256/${digest}` } });
    expect(out.format).toBe('testos');
    expectGolden('testos.json', out.body);
    expect(testOsDocumentSchema.parse(JSON.parse(out.body)).install?.image.sha256).toBe(digest);
  });

  it('has install: null when the profile does not install', () => {
    const out = renderConfig(input(spec({})));
    expect(JSON.parse(out.body).install).toBeNull();
  });

  it('rejects a relative file path with its JSON path', () => {
    try {
      renderConfig(input(spec({ testos: { files: [{ path: 'etc/x', contents: '' }] } })));
      expect.unreachable();
    } catch (e) {
      expect(isAppError(e, 'INVALID_CONFIG')).toBe(true);
      expect((e as { details: { path: string }[] }).details[0]?.path).toBe('spec.testos.files[0].path');
    }
  });
});
