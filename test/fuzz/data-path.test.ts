// SPDX-License-Identifier: GPL-2.0-only
// The generation that lets the answer oracles see wrong data and failure
// paths (issue 17): the data-path program shape (distinct bytes, areas edge
// to edge, an access reading and writing across page and area boundaries),
// the fault job's call order, and the ACCESS_RW oracle on a write that
// reaches one page twice.
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/base/prng.js';
import { faultOrder } from '../../src/fuzz/campaign.js';
import { generateProgram } from '../../src/fuzz/generator.js';
import { type Program, validateProgram } from '../../src/fuzz/program.js';
import { failureSignature, fuzzRunOptions, runGuarded } from '../../src/fuzz/signal.js';

/** A program that starts with the data-path shape: a buffer, then bytes written into it, then an iommufd. */
function isDataPath(p: Program): boolean {
  return p.calls[0]?.op === 'mmap' && p.calls[1]?.op === 'write_memory' && typeof p.calls[1].data === 'string' && p.calls.some((c) => c.op === 'create_access');
}

describe('data-path programs', () => {
  it('are a share of fresh programs, valid, clean on latest, and read and write across area boundaries', () => {
    let shaped = 0;
    let rwOk = 0;
    let acrossOk = 0;
    for (let i = 0; i < 120; i++) {
      const p = generateProgram(new Prng(700 + i), { profile: 'latest', maxCalls: 14, newOps: true });
      if (!isDataPath(p)) continue;
      shaped++;
      expect(validateProgram(p), JSON.stringify(p)).toEqual([]);
      const r = runGuarded(p, fuzzRunOptions(true));
      expect(failureSignature(r), `${JSON.stringify(p)}\n${r.reasons?.join('\n')}`).toBeUndefined();
      const areaLen = new Map<string, bigint>();
      p.calls.forEach((c, k) => {
        if (c.op === 'ioas_map' && typeof c.as === 'string' && r.results[k]?.errno === undefined) areaLen.set(c.as, BigInt(c.length as number));
      });
      p.calls.forEach((c, k) => {
        if (c.op !== 'access_rw' || r.results[k]?.errno !== undefined) return;
        rwOk++;
        // `$area+off` with off + length past the area's end: the copy went on into the next area.
        const m = /^(\$r\d+)(?:\+0x([0-9a-f]+))?$/.exec(String(c.iova));
        const len = m ? areaLen.get(m[1]) : undefined;
        if (m && len !== undefined && BigInt(`0x${m[2] ?? '0'}`) + BigInt(c.length as number) > len) acrossOk++;
      });
    }
    expect(shaped).toBeGreaterThan(20);
    expect(rwOk).toBeGreaterThan(20);
    expect(acrossOk).toBeGreaterThan(0);
  }, 120_000);
});

describe('fault job order', () => {
  it('fails the iommufd calls with new signal first (the last first), then the other iommufd calls, then memory and process calls', () => {
    const calls = [{ op: 'mmap' }, { op: 'open' }, { op: 'ioas_alloc' }, { op: 'ioas_map' }, { op: 'fork' }, { op: 'access_rw' }, { op: 'ioas_unmap' }];
    const perCall = [[1], [2], [3], [4], [5], [6], [7]];
    expect(faultOrder(perCall, new Set([1, 4, 6, 7]), calls)).toEqual([6, 5, 3, 2, 1, 4, 0]);
    expect(faultOrder(perCall, new Set(), calls)).toEqual([6, 5, 3, 2, 1, 4, 0]);
    expect(faultOrder(perCall, new Set([4]), calls)).toEqual([3, 6, 5, 2, 1, 4, 0]);
  });
});

describe('ACCESS_RW oracle', () => {
  it('does not judge byte for byte a write whose range reaches one page through two areas (a copy edge to edge with its source)', () => {
    const p: Program = {
      profile: 'latest',
      memlock: 'unlimited',
      calls: [
        { op: 'mmap', as: '$buf', length: '16K' },
        { op: 'mmap', as: '$out', length: '16K' },
        { op: 'write_memory', addr: '$out+0x10', data: 'a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0' },
        { op: 'write_memory', addr: '$out+0x1010', data: '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20' },
        { op: 'open', as: '$fd' },
        { op: 'ioas_alloc', as: '$ioas' },
        { op: 'ioas_map', as: '$a', ioas: '$ioas', user_va: '$buf', length: '8K', iova: '0x100000' },
        // $a's second page again, right after $a.
        { op: 'ioas_copy', as: '$c', dst_ioas: '$ioas', src_ioas: '$ioas', src_iova: '0x101000', length: '4K', dst_iova: '0x102000' },
        { op: 'create_access', as: '$acc', ioas: '$ioas', flags: ['NEEDS_PIN_PAGES'] },
        // The page through $a from $out, then the same page through $c from $out+4K: the second copy wins.
        { op: 'access_rw', access: '$acc', iova: '0x101000', length: '0x2000', uptr: '$out', flags: ['WRITE'] },
        // A read of the same range is still judged, and agrees.
        { op: 'access_rw', access: '$acc', iova: '0x101000', length: '0x2000', uptr: '$out+0x2000' },
      ],
    };
    const r = runGuarded(p, fuzzRunOptions(true));
    expect(r.results.map((x) => x.errno ?? 'ok')).toEqual(Array(11).fill('ok'));
    expect(failureSignature(r), r.reasons?.join('\n')).toBeUndefined();
  });
});
