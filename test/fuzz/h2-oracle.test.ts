// SPDX-License-Identifier: GPL-2.0-only
// Answer-oracle regressions found by campaigns.
import { describe, expect, it } from 'vitest';
import type { Program } from '../../src/fuzz/program.js';
import { failureSignature, fuzzRunOptions, runGuarded } from '../../src/fuzz/signal.js';

describe('answer oracle regressions', () => {
  it('does not judge an unmap of an area it could not follow (a pages object above the page-by-page limit)', () => {
    // IOAS_MAP of 2^59 bytes with no domain pins nothing and is legal; the oracle stops following while it
    // exists, so the unmap that removes it is not compared with a reference that never saw it.
    const p: Program = {
      profile: 'latest',
      calls: [
        { op: 'open' },
        { op: 'ioas_alloc', as: '$r2' },
        { op: 'ioas_map', ioas: '$r2', user_va: 0, length: '0x800000000000000' },
        { op: 'ioas_unmap', ioas: '$r2', iova: 0, length: '0x3fffffffc0000000' },
      ],
    };
    const r = runGuarded(p, fuzzRunOptions(true));
    expect(r.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(r.results[3].outputs.length).toBe(0x800000000000000n);
    expect(failureSignature(r), r.reasons?.join('\n')).toBeUndefined();
  });
});
