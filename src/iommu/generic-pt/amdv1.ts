// SPDX-License-Identifier: GPL-2.0-only
/**
 * The AMD IOMMU v1 page-table format of the generic IO page table
 * (drivers/iommu/generic_pt/fmt/amdv1.h), in the variant the iommufd selftest
 * mock builds (fmt/iommu_mock.c, AMDV1_IOMMUFD_SELFTEST): a 2 KiB granule, so
 * that the CPU page size and the IO page size differ, 4 KiB table pages of
 * 512 eight-byte entries, at most 56 bits of IOVA and 51 bits of output
 * address, levels 0 (2 KiB items) to 4 (the top level holds no leaves).
 *
 * A PTE is one u64, kept here as two u32 words (lo = bits 0..31, hi = bits
 * 32..63) so that every operation is plain int32 arithmetic:
 *
 *   bit 0        PR  present
 *   bit 6        D   dirty (set by the IOMMU on a write; the test op DIRTY)
 *   bits 9..11   NL  next level: the level of the table it points to for a
 *                    table entry, 0 for a leaf of one item, 7 for a leaf of
 *                    2^n items ("page size" encoding)
 *   bits 12..51  OA  output address / 2 KiB (the granule), or the table's
 *   bit 60       FC  force coherence (never set: the mock has no features)
 *   bit 61       IR  read allowed
 *   bit 62       IW  write allowed
 *
 * A leaf of 2^n items (NL = 7) repeats the same word in each of its items,
 * its OA field or'ed with a string of ones below the size: 2^(size_lg2 - 12)
 * - 1 (bits the OA of an aligned leaf has clear). The length of that string
 * of ones gives the size back. Table entries carry IR and IW always (the
 * hardware ANDs the permissions down the walk; the leaf decides).
 *
 * Numbers here are plain JS numbers: IOVAs below 2^56 and OAs below 2^51
 * would not all be exact in doubles past 2^53, but the mock's table covers
 * 2^38 bytes of IOVA (see MOCK_AMDV1) and OAs are the model's physical
 * addresses, far below 2^53.
 */

/** PT_GRANULE_LG2SZ of the selftest variant: 2 KiB items at level 0. */
export const GRANULE_LG2 = 11;
/** PT_TABLEMEM_LG2SZ: every table is one 4 KiB page. */
export const TABLEMEM_LG2 = 12;
/** log2 of the items per table: 4096 / 8 = 512. */
export const ITEMS_LG2 = 9;
export const ITEMS = 1 << ITEMS_LG2;
/** PT_MAX_TOP_LEVEL of the selftest variant. */
export const MAX_TOP_LEVEL = 4;
/** PT_MAX_VA_ADDRESS_LG2 / PT_MAX_OUTPUT_ADDRESS_LG2 of the selftest variant. */
export const MAX_VA_LG2 = 56;
export const MAX_OA_LG2 = 51;

/** PTE bits, split in the lo / hi words. */
export const PR = 1 << 0;
export const D = 1 << 6;
export const NL_SHIFT = 9;
export const NL_MASK = 7;
/** AMDV1PT_FMT_NL_DEFAULT / AMDV1PT_FMT_NL_SIZE */
export const NL_DEFAULT = 0;
export const NL_SIZE = 7;
/** Bit 60 / 61 / 62 of the PTE, in the hi word. */
export const HI_FC = 1 << 28;
export const HI_IR = 1 << 29;
export const HI_IW = 1 << 30;
const TWO20 = 2 ** 20;

/** pt_table_item_lg2sz(): log2 of the bytes one item of a table at `level` covers. */
export function itemLg2(level: number): number {
  return GRANULE_LG2 + ITEMS_LG2 * level;
}

/** pt_pgsz_lg2_to_level(): the level whose items a leaf of 2^lg2 bytes is made of. */
export function levelOfPgsize(lg2: number): number {
  return Math.floor((lg2 - GRANULE_LG2) / ITEMS_LG2);
}

const POW2 = Float64Array.from({ length: 64 }, (_, i) => 2 ** i);

/** 2^n as a number (0 <= n < 64). */
export function pow2(n: number): number {
  return POW2[n];
}

/**
 * amdv1pt_possible_sizes(): the leaf sizes a table at `level` can hold, as
 * log2 values: every power of two from one item up to the whole table but
 * one (and at most 2^51), except 512 GiB (an AMD hardware bug). None at the
 * top level.
 */
export function possibleSizesLg2(level: number): number[] {
  if (level >= MAX_TOP_LEVEL) return [];
  const isz = itemLg2(level);
  const out: number[] = [];
  for (let b = isz; b <= Math.min(51, isz + ITEMS_LG2 - 1); b++) if (b !== 39) out.push(b);
  return out;
}

/**
 * The page-table configuration mock_domain_alloc_pgtable() asks for:
 * starting level 2, hw_max_vasz 56, hw_max_oasz 51, no features. Without
 * PT_FEAT_DYNAMIC_TOP the usable IOVA is what a level-2 top covers: 2^(11 +
 * 9 * 3) = 2^38 bytes (amdv1pt_iommu_fmt_init()).
 */
export const MOCK_AMDV1 = Object.freeze({
  topLevel: 2,
  maxVaLg2: GRANULE_LG2 + ITEMS_LG2 * 3,
  maxOaLg2: MAX_OA_LG2,
});

/**
 * pt_iommu get_info(): the domain's pgsize_bitmap, as log2 values: every
 * leaf size of levels 0..top, below 2^(max_va - 1) (a whole top-level table
 * is no page size) and below 2^max_oa. For the mock: 2 KiB .. 64 GiB.
 */
export function pgsizesLg2(topLevel: number, maxVaLg2: number, maxOaLg2: number): number[] {
  const out: number[] = [];
  for (let l = 0; l <= topLevel; l++) for (const b of possibleSizesLg2(l)) if (b < maxVaLg2 - 1 && b < maxOaLg2) out.push(b);
  return out;
}

/** A pgsize bitmap as a number (bits may pass 2^32). */
export function bitmapOf(lg2s: readonly number[]): number {
  let b = 0;
  for (const l of lg2s) b += pow2(l);
  return b;
}

/** Count trailing zero bits of a nonzero int32. */
function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** The OA field (OA / 2 KiB) of a PTE. */
export function oaField(lo: number, hi: number): number {
  return (lo >>> 12) + (hi & 0xfffff) * TWO20;
}

/** FIELD_GET(NEXT_LEVEL) */
export function nextLevel(lo: number): number {
  return (lo >>> NL_SHIFT) & NL_MASK;
}

/** The entry types of pt_load_entry_raw(). */
export const ENTRY_EMPTY = 0;
export const ENTRY_TABLE = 1;
export const ENTRY_OA = 2;

/** amdv1pt_load_entry_raw(): EMPTY without PR; OA at level 0 or for NL 0 / 7; else TABLE. */
export function entryType(lo: number, level: number): number {
  if ((lo & PR) === 0) return ENTRY_EMPTY;
  const nl = nextLevel(lo);
  return level === 0 || nl === NL_DEFAULT || nl === NL_SIZE ? ENTRY_OA : ENTRY_TABLE;
}

/**
 * amdv1pt_entry_num_contig_lg2(): log2 of the items a leaf spans, from the
 * run of ones starting at bit `isz` of the PTE (the top NL bit, then the OA
 * ones, at level 0; OA ones only above it).
 */
export function contigLg2(lo: number, hi: number, level: number): number {
  if (nextLevel(lo) === NL_DEFAULT) return 0;
  const isz = itemLg2(level);
  const code = isz < 32 ? (lo >>> isz) | (hi << (32 - isz)) : hi >>> (isz - 32);
  return ctz32(~code);
}

/** pt_entry_oa_lg2sz(): log2 of the bytes a leaf maps. */
export function leafLg2(lo: number, hi: number, level: number): number {
  return itemLg2(level) + contigLg2(lo, hi, level);
}

/** amdv1pt_entry_oa(): the OA where the leaf starts (the size ones cleared). */
export function leafOa(lo: number, hi: number, level: number): number {
  let v = oaField(lo, hi);
  if (nextLevel(lo) === NL_SIZE) {
    const ones = leafLg2(lo, hi, level) - GRANULE_LG2 - 1;
    if (ones > 0) v -= pow2(ones) - 1;
  }
  return v * 2048;
}

/** amdv1pt_table_pa(): the table a table entry points to. */
export function tablePa(lo: number, hi: number): number {
  return oaField(lo, hi) * 2048;
}

/**
 * amdv1pt_install_leaf_entry(): the PTE words of a leaf of 2^sizeLg2 bytes at
 * `oa` in a table at `level`, with the IR / IW bits `hiAttrs`. Written into
 * every item the leaf spans (`out` gets [lo, hi]).
 */
export function leafWords(oa: number, sizeLg2: number, level: number, hiAttrs: number, out: Uint32Array): void {
  let v = oa / 2048;
  let nl = NL_DEFAULT;
  if (sizeLg2 !== itemLg2(level)) {
    nl = NL_SIZE;
    v += pow2(sizeLg2 - GRANULE_LG2 - 1) - 1;
  }
  out[0] = PR | (nl << NL_SHIFT) | ((v & 0xfffff) << 12);
  out[1] = ((v / TWO20) | 0) | hiAttrs;
}

/** amdv1pt_install_table(): the words of a table entry at `level` pointing to the table at `pa`. */
export function tableWords(pa: number, level: number, out: Uint32Array): void {
  const v = pa / 2048;
  out[0] = PR | (level << NL_SHIFT) | ((v & 0xfffff) << 12);
  out[1] = ((v / TWO20) | 0) | HI_IR | HI_IW;
}

/** amdv1pt_iommu_set_prot(): the descriptor bits of IOMMU_READ (1) / IOMMU_WRITE (2), in the hi word. */
export function protHiBits(prot: number): number {
  return (prot & 1 ? HI_IR : 0) | (prot & 2 ? HI_IW : 0);
}

/** The PTE as one bigint (for display and tests). */
export function pteValue(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** The PTE as 16 hex digits. */
export function pteHex(lo: number, hi: number): string {
  return `0x${pteValue(lo, hi).toString(16).padStart(16, '0')}`;
}
