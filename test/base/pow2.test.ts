// SPDX-License-Identifier: GPL-2.0-only
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modLg2, modPow2 } from '../../src/base/pow2.js';

describe('remainders by a power of two', () => {
  it('modPow2 and modLg2 give exactly what % gives, up to 2^53 (and modPow2 below zero)', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.integer({ min: 0, max: 52 }), (x, k) => {
        const m = 2 ** k;
        expect(Object.is(modPow2(x, m), x % m)).toBe(true);
        if (x >= 0) expect(modLg2(x, k)).toBe(x % m);
      }),
      { numRuns: 20000 },
    );
  });

  it('holds at the edges: the last safe integer, a page boundary, addresses past 2^31 and 2^47', () => {
    const max = Number.MAX_SAFE_INTEGER;
    for (const [x, k] of [
      [max, 12],
      [max, 52],
      [max - 1, 1],
      [0, 12],
      [4096, 12],
      [4095, 12],
      [2 ** 31 + 4097, 12],
      [0x7fff_ffff_f000 + 0x800, 11],
      [2 ** 47 - 1, 21],
      [2 ** 52 + 2 ** 12, 12],
    ] as const) {
      expect(modLg2(x, k)).toBe(x % 2 ** k);
      expect(modPow2(x, 2 ** k)).toBe(x % 2 ** k);
    }
    // a negative dividend keeps the sign, as `%`
    expect(modPow2(-4097, 4096)).toBe(-1);
    expect(Object.is(modPow2(-4096, 4096), -0)).toBe(true);
  });
});
