// SPDX-License-Identifier: GPL-2.0-only
// Offsets deep into an area of more than 2^52 bytes (an IOAS_MAP with no domain pins nothing, so
// 2^63 bytes is legal): the byte offset is no longer exact as a double. ACCESS_PAGES at the end of
// such an area must see its last byte at offset 4095 of its page (iopt_area_contig_is_aligned()) and
// answer the protection's EPERM, as 6.12.95 and 7.2.13 do (test/oracle/handwritten/access-pages-huge-area.yaml).
import { describe, expect, it } from 'vitest';
import { runProgram } from '../../src/fuzz/executor.js';
import type { Program } from '../../src/fuzz/program.js';

describe('an area of 2^63 bytes', () => {
  it('ACCESS_PAGES at its end: EPERM for a write to the read-only area, EFAULT for the user address past TASK_SIZE, EINVAL unaligned', () => {
    const p: Program = {
      name: 'huge-area',
      profile: 'latest',
      calls: [
        { op: 'open' },
        { op: 'ioas_alloc', as: '$i' },
        { op: 'mmap', as: '$b', length: '16K' },
        { op: 'ioas_map', ioas: '$i', user_va: '$b+0x1000', length: '0x8000000000000000', iova: '0x1f3000', flags: ['READABLE', 'FIXED_IOVA'] },
        { op: 'create_access', as: '$x', ioas: '$i', flags: ['NEEDS_PIN_PAGES'] },
        { op: 'access_pages', access: '$x', iova: '0x80000000001f2000', length: 8192, flags: ['WRITE'] },
        { op: 'access_pages', access: '$x', iova: '0x80000000001f2000', length: 4096 },
        { op: 'access_pages', access: '$x', iova: '0x80000000001f2800', length: 2048 },
        { op: 'access_pages', access: '$x', iova: '0x1f3000', length: 4096 },
      ],
    };
    const r = runProgram(p, { profile: 'latest' });
    expect(r.results.slice(5).map((x) => x.errno ?? 'ok')).toEqual(['EPERM', 'EFAULT', 'EINVAL', 'ok']);
  });

  it('IOAS_COPY out of a 2^61-byte area at offsets past 2^53: the auto IOVA keeps the exact start byte (iopt_alloc_iova() of start_byte + uptr), and the last 16 bytes copy', () => {
    // (each into an IOAS of its own, as test/oracle/handwritten/copy-deep-offset.yaml, which 6.12.95 and 7.2.13 answer so)
    const copy = (dst: string, src: string, length: number): { as: string; op: string; dst_ioas: string; src_ioas: string; src_iova: string; length: number; flags: string[] } => ({
      op: 'ioas_copy', as: `$c${dst}`, dst_ioas: dst, src_ioas: '$s', src_iova: src, length, flags: ['READABLE', 'WRITEABLE'] });
    const p: Program = {
      name: 'copy-deep-offset',
      profile: 'latest',
      calls: [
        { op: 'open' },
        { op: 'ioas_alloc', as: '$s' },
        { op: 'ioas_alloc', as: '$d1' },
        { op: 'ioas_alloc', as: '$d2' },
        { op: 'ioas_alloc', as: '$d3' },
        { op: 'mmap', as: '$b', length: '4K' },
        { op: 'ioas_map', ioas: '$s', user_va: '$b', length: '0x2000000000000000', iova: '0x1000', flags: ['READABLE', 'WRITEABLE', 'FIXED_IOVA'] },
        copy('$d1', '0x1000000000001123', 0x10),
        copy('$d2', '0x20000000001001', 1),
        copy('$d3', '0x2000000000000fef', 0x10),
      ],
    };
    const r = runProgram(p, { profile: 'latest' });
    expect(r.results.slice(7).map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok']);
    expect(r.results.slice(7).map((x) => `0x${BigInt(x.outputs?.dst_iova ?? -1).toString(16)}`)).toEqual(['0x1123', '0x1001', '0x1fef']);
  });
});
