// SPDX-License-Identifier: GPL-2.0-only
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modLg2, modPow2, pow2Bits } from '../../src/base/pow2.js';

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

describe('pow2Bits', () => {
  it('lists the powers of two set in a page-size bitmap, smallest first, up to 2^63', () => {
    expect(pow2Bits(0)).toEqual([]);
    expect(pow2Bits(0x1000 | 0x200000 | 0x40000000)).toEqual([0x1000, 0x200000, 0x40000000]);
    // AMDv1's every size from 4 KiB on (bits 12..63): above 2^53 only the powers themselves are exact
    const all = 2 ** 64 - 2 ** 12;
    const l = pow2Bits(all);
    expect(l.length).toBe(52);
    expect(l[0]).toBe(4096);
    expect(l[51]).toBe(2 ** 63);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (x) => {
        const want: number[] = [];
        for (let k = 0; k < 31; k++) if ((x >>> k) & 1) want.push(2 ** k);
        expect(pow2Bits(x)).toEqual(want);
      }),
    );
    // one shared list per bitmap, which no caller can change
    expect(pow2Bits(0x3000)).toBe(pow2Bits(0x3000));
    expect(Object.isFrozen(pow2Bits(0x3000))).toBe(true);
  });
});
