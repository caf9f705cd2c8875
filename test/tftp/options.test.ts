import { describe, expect, it } from 'vitest';
import { negotiateOptions } from '../../src/tftp/options.js';

const limits = { maxBlksize: 1468, maxWindowsize: 64, defaultTimeoutSeconds: 1 };

describe('option negotiation (RFC 2347/2348/2349/7440)', () => {
  it.each([
    ['no options: no OACK, RFC 1350 defaults', {}, 100, 'octet', { blksize: 512, windowsize: 1, timeoutMs: 1000, oack: {} }],
    ['blksize granted', { blksize: '1432' }, 100, 'octet', { blksize: 1432, oack: { blksize: '1432' } }],
    ['blksize capped at the path MTU setting', { blksize: '65464' }, 100, 'octet', { blksize: 1468, oack: { blksize: '1468' } }],
    ['blksize below 8 ignored', { blksize: '7' }, 100, 'octet', { blksize: 512, oack: {} }],
    ['blksize not a number ignored', { blksize: '1e3' }, 100, 'octet', { blksize: 512, oack: {} }],
    ['tsize answered with the size', { tsize: '0' }, 4096, 'octet', { oack: { tsize: '4096' } }],
    ['tsize of an empty file left out (curl refuses "tsize 0")', { tsize: '0' }, 0, 'octet', { oack: {} }],
    ['tsize left out when the size is unknown', { tsize: '0' }, undefined, 'octet', { oack: {} }],
    ['tsize left out in netascii (length changes on the wire)', { tsize: '0' }, 10, 'netascii', { oack: {} }],
    ['timeout echoed and used', { timeout: '3' }, 1, 'octet', { timeoutMs: 3000, oack: { timeout: '3' } }],
    ['timeout 0 ignored', { timeout: '0' }, 1, 'octet', { timeoutMs: 1000, oack: {} }],
    ['timeout 256 ignored', { timeout: '256' }, 1, 'octet', { timeoutMs: 1000, oack: {} }],
    ['windowsize granted', { windowsize: '16' }, 1, 'octet', { windowsize: 16, oack: { windowsize: '16' } }],
    ['windowsize capped', { windowsize: '65535' }, 1, 'octet', { windowsize: 64, oack: { windowsize: '64' } }],
    ['windowsize 0 ignored', { windowsize: '0' }, 1, 'octet', { windowsize: 1, oack: {} }],
    ['unknown options ignored', { multicast: '', rollover: '0' }, 1, 'octet', { oack: {} }],
    [
      'everything at once (atftp)',
      { blksize: '1432', tsize: '0', timeout: '5', windowsize: '16' },
      12,
      'octet',
      { blksize: 1432, windowsize: 16, timeoutMs: 5000, oack: { blksize: '1432', tsize: '12', timeout: '5', windowsize: '16' } },
    ],
  ] as const)('%s', (_name, requested, size, mode, expected) => {
    const r = negotiateOptions({ ...requested }, { size, mode }, limits);
    expect(r).toMatchObject(expected);
    expect(r.oack).toEqual(expected.oack);
  });
});
