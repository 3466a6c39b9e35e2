import { describe, expect, it } from 'vitest';
import type { TftpOptions } from '../../../src/tftp/codec.js';
import { negotiateOptions } from '../../../src/tftp/negotiate.js';

const limits = { blksizeMax: 1468, windowsizeMax: 64 };

describe('option negotiation (RFC 2347/2348/2349/7440)', () => {
  it.each<[string, TftpOptions, number | null, { blksize: number; windowsize: number; timeoutS: number | null; tsizeRequested: boolean; oack: TftpOptions }]>([
    ['no options: no OACK, RFC 1350 defaults', [], 100, { blksize: 512, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [] }],
    ['blksize within limit granted as asked', [['blksize', '1024']], 100, { blksize: 1024, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [['blksize', '1024']] }],
    ['blksize above limit clamped (RFC 2348 lets the server answer smaller)', [['blksize', '65464']], 100, { blksize: 1468, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [['blksize', '1468']] }],
    ['blksize below 8 dropped', [['blksize', '7']], 100, { blksize: 512, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [] }],
    ['blksize 8 is the minimum', [['blksize', '8']], 100, { blksize: 8, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [['blksize', '8']] }],
    ['blksize not a number dropped', [['blksize', '1k']], 100, { blksize: 512, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [] }],
    ['blksize negative dropped', [['blksize', '-1468']], 100, { blksize: 512, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [] }],
    ['tsize 0 answered with the size (RFC 2349)', [['tsize', '0']], 123456, { blksize: 512, windowsize: 1, timeoutS: null, tsizeRequested: true, oack: [['tsize', '123456']] }],
    ['tsize of a 0-byte file', [['tsize', '0']], 0, { blksize: 512, windowsize: 1, timeoutS: null, tsizeRequested: true, oack: [['tsize', '0']] }],
    ['tsize with unknown size left out', [['tsize', '0']], null, { blksize: 512, windowsize: 1, timeoutS: null, tsizeRequested: true, oack: [] }],
    ['timeout in range granted', [['timeout', '3']], 1, { blksize: 512, windowsize: 1, timeoutS: 3, tsizeRequested: false, oack: [['timeout', '3']] }],
    ['timeout 0 dropped', [['timeout', '0']], 1, { blksize: 512, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [] }],
    ['timeout 256 dropped', [['timeout', '256']], 1, { blksize: 512, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [] }],
    ['windowsize 4 (OVMF default) granted', [['windowsize', '4']], 1, { blksize: 512, windowsize: 4, timeoutS: null, tsizeRequested: false, oack: [['windowsize', '4']] }],
    ['windowsize above limit clamped', [['windowsize', '65535']], 1, { blksize: 512, windowsize: 64, timeoutS: null, tsizeRequested: false, oack: [['windowsize', '64']] }],
    ['windowsize 0 dropped', [['windowsize', '0']], 1, { blksize: 512, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [] }],
    ['unknown options dropped, never ERROR 8', [['multicast', ''], ['utimeout', '1000'], ['rollover', '0']], 1, { blksize: 512, windowsize: 1, timeoutS: null, tsizeRequested: false, oack: [] }],
    ['client order kept, unknown omitted', [['windowsize', '16'], ['foo', 'bar'], ['tsize', '0'], ['blksize', '1468'], ['timeout', '1']], 5,
      { blksize: 1468, windowsize: 16, timeoutS: 1, tsizeRequested: true, oack: [['windowsize', '16'], ['tsize', '5'], ['blksize', '1468'], ['timeout', '1']] }],
  ])('%s', (_name, requested, size, expected) => {
    expect(negotiateOptions(requested, limits, size)).toEqual(expected);
  });

  it('a per-host cap below the default is what is granted', () => {
    expect(negotiateOptions([['blksize', '1468']], { blksizeMax: 1024, windowsizeMax: 64 }, 1).blksize).toBe(1024);
  });
});
