// SPDX-License-Identifier: GPL-2.0-only
/**
 * Remainders by a power of two on numbers. IOVAs, user addresses and
 * physical addresses pass 2^31, where `x % m` is a float remainder that V8
 * computes by a call (about ten times the cost of the floor below); per-page
 * loops spend much of their time there.
 */

/**
 * `x % m` for a power of two `m`: exact for |x| < 2^53 (scaling by a power of
 * two, the floor, the product and the difference are all exact there); a
 * negative `x` keeps the sign of `%`.
 */
export function modPow2(x: number, m: number): number {
  return x >= 0 ? x - Math.floor(x / m) * m : x % m;
}

const P2 = Float64Array.from({ length: 64 }, (_, i) => 2 ** i);
const INV_P2 = Float64Array.from({ length: 64 }, (_, i) => 2 ** -i);

/** `x % 2^k` for 0 <= x < 2^53 and k < 64: modPow2() by a multiplication (a division costs more, by a variable). */
export function modLg2(x: number, k: number): number {
  return x - Math.floor(x * INV_P2[k]) * P2[k];
}

/** The powers of two set in `bitmap` (a page-size bitmap up to 2^63), smallest first; one shared, frozen list per bitmap. */
const bitsMemo = new Map<number, readonly number[]>();
export function pow2Bits(bitmap: number): readonly number[] {
  let l = bitsMemo.get(bitmap);
  if (l === undefined) {
    const out: number[] = [];
    for (let p = 1; p <= bitmap; p *= 2) if (Math.floor(bitmap / p) % 2 === 1) out.push(p);
    l = Object.freeze(out);
    if (bitsMemo.size < 256) bitsMemo.set(bitmap, l);
  }
  return l;
}
