// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { parseSize } from '../../src/base/u64.js';

describe('parseSize', () => {
  it('answers the same the first time and every time after (parsed texts are kept), and refuses bad text every time', () => {
    const cases: Array<[string, bigint]> = [
      ['4K', 4096n],
      ['2M', 2n << 20n],
      ['1GiB', 1n << 30n],
      [' 256M ', 256n << 20n],
      ['0x1000', 4096n],
      ['1_000', 1000n],
      ['16', 16n],
    ];
    for (let round = 0; round < 3; round++) for (const [t, want] of cases) expect(parseSize(t)).toBe(want);
    for (let round = 0; round < 2; round++) expect(() => parseSize('4X')).toThrow(RangeError);
    expect(parseSize(12)).toBe(12n);
    expect(parseSize(7n)).toBe(7n);
    // more distinct texts than it keeps: still right after the store is emptied
    for (let i = 0; i < 600; i++) expect(parseSize(`${i}K`)).toBe(BigInt(i) << 10n);
    for (const [t, want] of cases) expect(parseSize(t)).toBe(want);
  });
});
