// SPDX-License-Identifier: GPL-2.0-only
/**
 * The AMDv1 selftest format (generic_pt/fmt/amdv1.h with
 * AMDV1_IOMMUFD_SELFTEST): PTE words checked against the u64 the kernel's
 * definitions give, computed here with bigint from the field masks
 * (PR bit 0, D bit 6, NEXT_LEVEL bits 9..11, OA bits 12..51, IR 61, IW 62).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ENTRY_EMPTY,
  ENTRY_OA,
  ENTRY_TABLE,
  HI_IR,
  HI_IW,
  MOCK_AMDV1,
  bitmapOf,
  contigLg2,
  entryType,
  itemLg2,
  leafLg2,
  leafOa,
  leafWords,
  levelOfPgsize,
  pgsizesLg2,
  possibleSizesLg2,
  protHiBits,
  pteValue,
  tablePa,
  tableWords,
} from '../../src/iommu/generic-pt/amdv1.js';

const PR = 1n;
const IR = 1n << 61n;
const IW = 1n << 62n;
const OA_MASK = ((1n << 52n) - 1n) & ~((1n << 12n) - 1n);
/** FIELD_PREP(GENMASK_ULL(51, 12), v) */
const oaPrep = (v: bigint) => (v << 12n) & OA_MASK;
/** FIELD_PREP(GENMASK_ULL(11, 9), v) */
const nlPrep = (v: bigint) => (v << 9n) & (7n << 9n);

/** amdv1pt_install_leaf_entry() as the kernel writes it, in bigint. */
function kernelLeaf(oa: bigint, oaszLg2: number, level: number, attrs: bigint): bigint {
  const isz = itemLg2(level);
  let e = PR | oaPrep(oa >> 11n) | attrs;
  if (oaszLg2 === isz) return e | nlPrep(0n);
  e |= nlPrep(7n) | oaPrep((1n << BigInt(oaszLg2 - 11 - 1)) - 1n);
  return e;
}

function words(f: (out: Uint32Array) => void): bigint {
  const w = new Uint32Array(2);
  f(w);
  return pteValue(w[0], w[1]);
}

describe('AMDv1 selftest format', () => {
  it('levels: 2 KiB items at level 0, 1 MiB at 1, 512 MiB at 2; page size to level', () => {
    expect([0, 1, 2, 3, 4].map(itemLg2)).toEqual([11, 20, 29, 38, 47]);
    expect(levelOfPgsize(11)).toBe(0);
    expect(levelOfPgsize(19)).toBe(0);
    expect(levelOfPgsize(20)).toBe(1);
    expect(levelOfPgsize(28)).toBe(1);
    expect(levelOfPgsize(29)).toBe(2);
    expect(levelOfPgsize(36)).toBe(2);
  });

  it('possible sizes per level: one item up to the table but one, no 512 GiB, none at the top level', () => {
    expect(possibleSizesLg2(0)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(possibleSizesLg2(1)).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28]);
    expect(possibleSizesLg2(2)).toEqual([29, 30, 31, 32, 33, 34, 35, 36, 37]);
    expect(possibleSizesLg2(3)).toEqual([38, 40, 41, 42, 43, 44, 45, 46]);
    expect(possibleSizesLg2(4)).toEqual([]);
  });

  it("the mock's table: level-2 top, 2^38 of IOVA, pgsize_bitmap 2 KiB..64 GiB (VFIO shows 0x1ffffff000)", () => {
    expect(MOCK_AMDV1).toEqual({ topLevel: 2, maxVaLg2: 38, maxOaLg2: 51 });
    const bitmap = bitmapOf(pgsizesLg2(MOCK_AMDV1.topLevel, MOCK_AMDV1.maxVaLg2, MOCK_AMDV1.maxOaLg2));
    expect(bitmap).toBe(0x1ffffff800);
    // iommufd_get_pagesizes(): sizes below PAGE_SIZE folded into PAGE_SIZE
    expect((BigInt(bitmap) & ~0xfffn) | 0x1000n).toBe(0x1ffffff000n);
  });

  it('a 2 KiB leaf: NL 0, OA / 2 KiB at bit 12, IR / IW from the prot', () => {
    const oa = 0x12345800;
    const got = words((w) => leafWords(oa, 11, 0, protHiBits(3), w));
    expect(got).toBe(kernelLeaf(BigInt(oa), 11, 0, IR | IW));
    expect(got).toBe(0x6000000000000001n | (0x2468bn << 12n));
    expect(words((w) => leafWords(oa, 11, 0, protHiBits(1), w))).toBe(kernelLeaf(BigInt(oa), 11, 0, IR));
    expect(words((w) => leafWords(oa, 11, 0, protHiBits(2), w))).toBe(kernelLeaf(BigInt(oa), 11, 0, IW));
  });

  it('contiguous leaves: NL 7 and a run of ones below the size in the OA field', () => {
    // 4 KiB at level 0: zero ones (the NL bit 11 starts the run)
    expect(words((w) => leafWords(0x40001000, 12, 0, HI_IR | HI_IW, w))).toBe(kernelLeaf(0x40001000n, 12, 0, IR | IW));
    expect(words((w) => leafWords(0x40001000, 12, 0, HI_IR | HI_IW, w))).toBe(0x6000000080002e01n);
    // 8 KiB at level 0, 2 MiB at level 1 (two 1 MiB items), 64 GiB at level 2
    expect(words((w) => leafWords(0x40000000, 13, 0, HI_IR | HI_IW, w))).toBe(kernelLeaf(0x40000000n, 13, 0, IR | IW));
    expect(words((w) => leafWords(0x40000000, 21, 1, HI_IR | HI_IW, w))).toBe(0x60000000801ffe01n);
    expect(words((w) => leafWords(2 ** 36, 36, 2, HI_IR, w))).toBe(kernelLeaf(1n << 36n, 36, 2, IR));
    // one item of level 1: NL 0
    expect(words((w) => leafWords(0x40100000, 20, 1, HI_IW, w))).toBe(kernelLeaf(0x40100000n, 20, 1, IW));
  });

  it('every size at every level round-trips: type, size, start OA (random aligned OAs)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 8 }), fc.bigInt({ min: 0n, max: (1n << 51n) - 1n }), fc.integer({ min: 0, max: 3 }), (level, extra, rawOa, prot) => {
        const lg2 = itemLg2(level) + extra;
        const oa = Number((rawOa >> BigInt(lg2)) << BigInt(lg2)) % 2 ** 51;
        if (oa + 2 ** lg2 > 2 ** 51) return;
        const w = new Uint32Array(2);
        leafWords(oa, lg2, level, protHiBits(prot), w);
        expect(pteValue(w[0], w[1])).toBe(kernelLeaf(BigInt(oa), lg2, level, (prot & 1 ? IR : 0n) | (prot & 2 ? IW : 0n)));
        expect(entryType(w[0], level)).toBe(ENTRY_OA);
        expect(contigLg2(w[0], w[1], level)).toBe(extra);
        expect(leafLg2(w[0], w[1], level)).toBe(lg2);
        expect(leafOa(w[0], w[1], level)).toBe(oa);
      }),
      { seed: 0x5a5a, numRuns: 400 },
    );
  });

  it('table entries: NL = the level holding the entry, IR and IW always; empty without PR', () => {
    const pa = 2 ** 50 + 7 * 4096;
    const got = words((w) => tableWords(pa, 2, w));
    expect(got).toBe(PR | nlPrep(2n) | oaPrep(BigInt(pa) >> 11n) | IR | IW);
    const w = new Uint32Array(2);
    tableWords(pa, 1, w);
    expect(entryType(w[0], 1)).toBe(ENTRY_TABLE);
    expect(tablePa(w[0], w[1])).toBe(pa);
    // at level 0 any present entry is a leaf
    expect(entryType(w[0], 0)).toBe(ENTRY_OA);
    expect(entryType(0, 1)).toBe(ENTRY_EMPTY);
    expect(entryType(w[0] & ~1, 1)).toBe(ENTRY_EMPTY);
  });
});
