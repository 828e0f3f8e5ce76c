// SPDX-License-Identifier: GPL-2.0-only
/**
 * The generic IO page table's iommu operations (drivers/iommu/generic_pt/
 * iommu_pt.h) over the AMDv1 format of amdv1.ts: map of leaves of one page
 * size, unmap of a range, iova_to_phys, read_and_clear_dirty, set_dirty
 * (the selftest hook), deinit, and a walk that lists every leaf.
 *
 * Storage: each table is one 4 KiB table page, a Uint32Array of 512 PTEs as
 * lo / hi word pairs holding the real AMDv1 PTE bits. A table entry holds the
 * table page's address; table pages get model addresses TABLE_PA_BASE + slot
 * * 4096 (they are not frames of the simulated machine's memory), so the
 * walk decodes the child from the PTE as the hardware would. Per table the
 * model also keeps its level, its present-entry count (for the audit and the
 * "subtree holds a leaf" checks) and the memory cgroup charged for it.
 *
 * Behaviour kept from the kernel:
 * - A leaf of 2^n items is written into each of its items (the NL = 7
 *   encoding); mapping over empty tables frees them (clear_contig), mapping
 *   over anything present fails with -EADDRINUSE.
 * - Table pages are allocated (iommu_alloc_pages_node_sz, a page allocation:
 *   the 'page' fault class) with the map's gfp: GFP_KERNEL_ACCOUNT from
 *   iommufd, so they are charged to the map's memory cgroup. Tables left
 *   empty by an unmap that did not cover them whole stay until a later map
 *   replaces them with a leaf, an unmap covers them, or the table is freed.
 * - Unmap cannot split a leaf: starting inside one is -EINVAL (nothing
 *   unmapped at that point); a leaf that runs past the end of the range is
 *   removed whole, so more than asked can be returned. A hole stops the unmap
 *   (-EINVAL inside the walk): the bytes before it are returned.
 * - read_and_clear_dirty reports a multi-item leaf from the walk's item to
 *   the last item of the leaf, one item short (record_dirty's end index is
 *   the leaf's last index, not one past it) — what 7.2 does. A walk that
 *   starts on the last item of a dirty multi-item leaf records 0 bytes, which
 *   hangs 7.2.13 in iova_bitmap_set(): the model-only WARN
 *   record_dirty.zero_length marks it.
 */
import { modLg2 } from '../../base/pow2.js';
import { EADDRINUSE, EINVAL, ENOENT, ENOMEM, ENXIO, EOVERFLOW, ERANGE } from '../../base/errno.js';
import { type FaultRouter, faultPoint } from '../../base/fault.js';
import type { WarnSink } from '../../base/warn.js';
import type { MemAccounting } from '../domain.js';
import * as fmt from './amdv1.js';

// Module-local bindings of the format: the hot loops below must not go
// through the getters an imported binding becomes once transpiled (they
// were a third of the map path's time).
const { D, ENTRY_EMPTY, ENTRY_OA, ENTRY_TABLE, HI_IR, HI_IW, ITEMS, PR } = fmt;
const { contigLg2, entryType, itemLg2, leafLg2, leafOa, leafWords, levelOfPgsize, nextLevel, oaField, pteHex, tableWords } = fmt;
/** 2^n by table lookup (n < 64). */
const P2 = Float64Array.from({ length: 64 }, (_, i) => 2 ** i);

/** iommu_alloc_pages_node_sz() of a table page (fail_page_alloc). */
export const FP_PT_TABLE_ALLOC = faultPoint('iommu_alloc_pages.iommupt_table', 'page');

/** Where the model puts table pages in the output address space: 1 PiB + slot * 4 KiB. */
export const TABLE_PA_BASE = 2 ** 50;
const TABLE_V_BASE = TABLE_PA_BASE / 2048;
const TABLE_BYTES = 4096;
const WORDS = 2 * ITEMS;

/** 2^-itemLg2(level), exact: index arithmetic by multiplication. */
const INV_ITEM = [0, 1, 2, 3, 4, 5].map((l) => 2 ** -itemLg2(l));
const ITEM = [0, 1, 2, 3, 4, 5].map((l) => P2[itemLg2(l)]);

/** Emptied table pages (all zero), shared by all page tables. */
const tablePool: Uint32Array[] = [];
const TABLE_POOL_MAX = 4096;

export interface PtContext {
  readonly warn: WarnSink;
  readonly faults: FaultRouter;
}

/** One leaf as the walk shows it. */
export interface PtLeaf {
  /** Level of the table holding it (0: 2 KiB items). */
  readonly level: number;
  readonly iova: number;
  /** Bytes it maps (a power of two). */
  readonly size: number;
  readonly oa: number;
  /** Table items it spans (2^n for the NL = 7 encoding, else 1). */
  readonly items: number;
  readonly read: boolean;
  readonly write: boolean;
  /** Any of its items has the dirty bit. */
  readonly dirty: boolean;
  /** The PTE word of its first item, as 16 hex digits (D as stored there). */
  readonly pte: string;
}

/** One table page as the walk shows it. */
export interface PtTable {
  readonly level: number;
  /** First IOVA it covers. */
  readonly iova: number;
  /** The model address of its page. */
  readonly pa: number;
  /** Present entries. */
  readonly present: number;
}

export class Amdv1PageTable {
  readonly topLevel: number;
  /** log2 of the IOVA span: the table covers [0, 2^maxVaLg2). */
  readonly maxVaLg2: number;
  readonly maxOaLg2: number;
  /** Bytes the last mapLeaves() installed. */
  mapped = 0;
  /** Bytes the last unmapRange() removed. */
  unmapped = 0;
  /** Bytes mapped in all, table pages held (the top one included): read-only outside (problems() checks them). */
  private leafB = 0;
  private nTables = 0;
  /** Bumped by every call that may write a table or the counts (see `changes`). */
  private gen = 0;

  private readonly ctx: PtContext;
  private tabs: Uint32Array[] = [];
  private tabLevel = new Int8Array(64).fill(-1);
  private tabPresent = new Uint16Array(64);
  private tabOwner = new Uint8Array(64);
  private readonly freeSlots: number[] = [];
  private readonly accts: MemAccounting[] = [];
  private readonly topSlot: number;
  private readonly vaEnd: number;
  private readonly words = new Uint32Array(2);

  constructor(ctx: PtContext, topLevel: number, maxVaLg2: number, maxOaLg2: number) {
    this.ctx = ctx;
    this.topLevel = topLevel;
    this.maxVaLg2 = maxVaLg2;
    this.maxOaLg2 = maxOaLg2;
    this.vaEnd = P2[maxVaLg2];
    // pt_iommu_init()'s table_alloc_top (GFP_KERNEL: not charged)
    this.topSlot = this.newSlot(topLevel, 0);
  }

  /** Bytes mapped in all. */
  get leafBytes(): number {
    return this.leafB;
  }

  /** Table pages held, the top one included. */
  get tables(): number {
    return this.nTables;
  }

  /**
   * A count that moves on every map, unmap, dirty-bit write and deinit: the
   * tables are private, so equal counts mean the same lookup() and
   * problems() (audit memos).
   */
  get changes(): number {
    return this.gen;
  }

  // ---- map ----

  /**
   * Install `count` leaves of 2^lg2 bytes from `va` to `oa` with the IR / IW
   * bits `hiAttrs` (the part of pt_iommu map_range after the page size is
   * chosen). 0 or -errno; `mapped` is the bytes installed either way.
   */
  mapLeaves(va: number, oa: number, lg2: number, count: number, hiAttrs: number, acct: MemAccounting | undefined): number {
    this.gen++;
    this.mapped = 0;
    const size = P2[lg2];
    if (va < 0 || va + size * count > this.vaEnd) return -ERANGE;
    if (oa < 0 || oa + size * count > P2[this.maxOaLg2]) return -ERANGE;
    const level = levelOfPgsize(lg2);
    const step = P2[lg2 - itemLg2(level)];
    const owner = acct === undefined ? 0 : this.acctId(acct);
    const w = this.words;
    while (count > 0) {
      const slot = this.tableAt(va, level, owner);
      if (slot < 0) return slot;
      const t = this.tabs[slot];
      const i0 = (va * INV_ITEM[level]) & (ITEMS - 1);
      const n = Math.min(count, (ITEMS - i0) / step);
      let i = i0;
      if (step === 1) {
        // single-item leaves: the OA field goes up by size / 2 KiB per item
        const inc = size / 2048;
        let v = oa / 2048;
        for (let j = 0; j < n; j++, i++, v += inc) {
          if (t[2 * i] & PR) {
            const r = this.clearContig(slot, level, i, 1);
            if (r !== 0) {
              this.tabPresent[slot] += j;
              return this.mapFailed(r, j * size);
            }
          }
          // NL_DEFAULT: a leaf of one item
          t[2 * i] = PR | ((v & 0xfffff) << 12);
          t[2 * i + 1] = ((v / 1048576) | 0) | hiAttrs;
        }
        this.tabPresent[slot] += n;
      } else {
        for (let j = 0; j < n; j++, i += step) {
          const r = this.clearContig(slot, level, i, step);
          if (r !== 0) return this.mapFailed(r, j * size);
          leafWords(oa + j * size, lg2, level, hiAttrs, w);
          const lo = w[0];
          const hi = w[1];
          for (let k = 2 * i; k < 2 * (i + step); k += 2) {
            t[k] = lo;
            t[k + 1] = hi;
          }
          this.tabPresent[slot] += step;
        }
      }
      const bytes = n * size;
      this.mapped += bytes;
      this.leafB += bytes;
      va += bytes;
      oa += bytes;
      count -= n;
    }
    return 0;
  }

  /**
   * pt_iommu map_range() past its argument checks: from `va` to `oa` for
   * `len` bytes, each step the largest leaf pt_compute_best_pgsize() allows
   * among the domain's page sizes, as many as pt_pgsz_count()
   * gives before the next bigger size could start. 0 or -errno (-ENXIO when
   * no page size fits the alignment); `mapped` is the bytes installed.
   */
  mapRange(va: number, oa: number, len: number, sizes: PgsizeTable, hiAttrs: number, acct: MemAccounting | undefined): number {
    this.gen++;
    let done = 0;
    let rc = 0;
    while (done < len) {
      const rest = len - done;
      const lg2 = bestPgsizeLg2(sizes, va, oa, rest);
      if (lg2 < 0) {
        rc = -ENXIO;
        break;
      }
      rc = this.mapLeaves(va, oa, lg2, pgszCount(sizes, lg2, va, oa, rest), hiAttrs, acct);
      done += this.mapped;
      if (rc !== 0) break;
      va += this.mapped;
      oa += this.mapped;
    }
    this.mapped = done;
    return rc;
  }

  /** A leaf install failed after `bytes` of this table's leaves went in. */
  private mapFailed(r: number, bytes: number): number {
    this.mapped += bytes;
    this.leafB += bytes;
    return r;
  }

  /**
   * The table at `level` holding `va`, made on the way down (__map_range):
   * an empty entry gets a new table, a leaf above the target level is
   * -EADDRINUSE, a failed table allocation -ENOMEM.
   */
  private tableAt(va: number, level: number, owner: number): number {
    // the level-0 table of the last call, while no table page was freed since
    if (level === 0 && this.l0Gen === this.freeGen && va >= this.l0Va && va < this.l0Va + ITEM[1]) return this.l0Slot;
    const slot = this.tableWalk(va, level, owner);
    if (level === 0 && slot >= 0) {
      this.l0Slot = slot;
      this.l0Va = Math.floor(va * INV_ITEM[1]) * ITEM[1];
      this.l0Gen = this.freeGen;
    }
    return slot;
  }

  /** tableAt() cache: a level-0 table, the IOVA it starts at, the freeGen it was found in. */
  private l0Slot = -1;
  private l0Va = -1;
  private l0Gen = -1;
  /** Table pages freed so far (a cached table is good while this has not moved). */
  private freeGen = 0;

  private tableWalk(va: number, level: number, owner: number): number {
    let slot = this.topSlot;
    for (let l = this.topLevel; l > level; l--) {
      const t = this.tabs[slot];
      const i = (va * INV_ITEM[l]) & (ITEMS - 1);
      const lo = t[2 * i];
      if ((lo & PR) === 0) {
        // (a 4 KiB table: order 0, below fail_page_alloc's default min-order)
        if (this.ctx.faults.shouldFailPages(FP_PT_TABLE_ALLOC, 0)) return -ENOMEM;
        if (owner !== 0 && !this.accts[owner - 1].charge(TABLE_BYTES)) return -ENOMEM;
        const s = this.newSlot(l - 1, owner);
        tableWords(TABLE_PA_BASE + s * TABLE_BYTES, l, this.words);
        t[2 * i] = this.words[0];
        t[2 * i + 1] = this.words[1];
        this.tabPresent[slot]++;
        slot = s;
      } else if (entryType(lo, l) === ENTRY_TABLE) {
        slot = this.slotOf(lo, t[2 * i + 1]);
      } else {
        return -EADDRINUSE;
      }
    }
    return slot;
  }

  /**
   * clear_contig(): before a leaf goes into items [i, i + step) of a table,
   * each present item must be a table with no leaf below it, which is freed
   * (-EADDRINUSE at the first leaf met; the items before it stay cleared).
   */
  private clearContig(slot: number, level: number, i: number, step: number): number {
    const t = this.tabs[slot];
    for (let k = i; k < i + step; k++) {
      const lo = t[2 * k];
      if ((lo & PR) === 0) continue;
      if (entryType(lo, level) !== ENTRY_TABLE) return -EADDRINUSE;
      const child = this.slotOf(lo, t[2 * k + 1]);
      if (this.holdsLeaf(child)) return -EADDRINUSE;
      this.freeSubtree(child);
      t[2 * k] = 0;
      t[2 * k + 1] = 0;
      this.tabPresent[slot]--;
    }
    return 0;
  }

  // ---- unmap ----

  /**
   * pt_iommu unmap_range over [va, last]: the bytes removed (see the header
   * for partial leaves and holes). 0 for a range outside the table.
   */
  unmapRange(va: number, last: number): number {
    this.gen++;
    this.unmapped = 0;
    if (!(va >= 0 && last >= va && last < this.vaEnd)) return 0;
    // A range inside one level-0 table that does not cover its whole 1 MiB:
    // the walk above it only descends (nothing there is cleared or freed),
    // so start at that table when the cache knows it.
    const win = Math.floor(va * INV_ITEM[1]) * ITEM[1];
    if (last < win + ITEM[1] && (va !== win || last !== win + ITEM[1] - 1) && this.l0Gen === this.freeGen && this.l0Va === win) {
      this.unmapLevel(this.l0Slot, 0, va, last);
      return this.unmapped;
    }
    this.unmapLevel(this.topSlot, this.topLevel, va, last);
    return this.unmapped;
  }

  /** __unmap_range(): one table's part of [va, last]; 0 or -EINVAL (the walk stops). */
  private unmapLevel(slot: number, level: number, va: number, last: number): number {
    if (level === 0) {
      this.l0Slot = slot;
      this.l0Va = Math.floor(va * INV_ITEM[1]) * ITEM[1];
      this.l0Gen = this.freeGen;
    }
    const t = this.tabs[slot];
    const item = ITEM[level];
    const span = item * ITEMS;
    const base = Math.floor(va / span) * span;
    const start = (va * INV_ITEM[level]) & (ITEMS - 1);
    const end = last < base + span ? ((last * INV_ITEM[level]) & (ITEMS - 1)) + 1 : ITEMS;
    let i = start;
    let lo = t[2 * i];
    let hi = t[2 * i + 1];
    let type = entryType(lo, level);
    let items = 0;
    let ret = 0;
    // starting inside a leaf: nothing can be unmapped here
    if (type === ENTRY_OA && modLg2(va, leafLg2(lo, hi, level)) !== 0) return -EINVAL;
    for (;;) {
      if (type !== ENTRY_OA) {
        if (type !== ENTRY_TABLE) {
          ret = -EINVAL;
          break;
        }
        const itemVa = i === start ? va : base + i * item;
        const covered = modLg2(itemVa, itemLg2(level)) === 0 && last >= itemVa + item - 1;
        const child = this.slotOf(lo, hi);
        ret = this.unmapLevel(child, level - 1, itemVa, last);
        if (ret !== 0) break;
        if (covered) {
          this.freeTable(child);
          t[2 * i] = 0;
          t[2 * i + 1] = 0;
          this.tabPresent[slot]--;
        }
        i++;
      } else {
        const n = P2[contigLg2(lo, hi, level)];
        t.fill(0, 2 * i, 2 * (i + n));
        this.tabPresent[slot] -= n;
        items += n;
        i += n;
      }
      if (i >= end) break;
      lo = t[2 * i];
      hi = t[2 * i + 1];
      type = entryType(lo, level);
    }
    this.unmapped += items * item;
    this.leafB -= items * item;
    return ret;
  }

  // ---- lookups ----

  /** iova_to_phys(): the physical address `va` translates to, or -1 (the kernel returns 0). */
  lookup(va: number): number {
    this.lastL0 = undefined;
    let t: Uint32Array;
    let l: number;
    // The table the last walk ended in, while no table page was freed since (as tableAt()): a table's
    // entries are read as they are now, and a live table stays where it is until freed.
    if (this.lkGen === this.freeGen && va >= this.lkVa && va < this.lkEnd) {
      t = this.lkTab!;
      l = this.lkLevel;
    } else {
      if (!(va >= 0 && va < this.vaEnd)) return -1;
      t = this.tabs[this.topSlot];
      l = this.topLevel;
    }
    for (; ; l--) {
      if (l === 0) this.lastL0 = t;
      const i = (va * INV_ITEM[l]) & (ITEMS - 1);
      const lo = t[2 * i];
      const hi = t[2 * i + 1];
      const type = entryType(lo, l);
      if (type !== ENTRY_TABLE) {
        if (l < this.topLevel) {
          this.lkTab = t;
          this.lkLevel = l;
          this.lkVa = Math.floor(va * INV_ITEM[l + 1]) * ITEM[l + 1];
          this.lkEnd = this.lkVa + ITEM[l + 1];
          this.lkGen = this.freeGen;
        }
        if (type === ENTRY_EMPTY) return -1;
        return leafOa(lo, hi, l) + modLg2(va, leafLg2(lo, hi, l));
      }
      t = this.tabs[this.slotOf(lo, hi)];
    }
  }

  /**
   * lookup(va) and, when it reads a leaf, leafSpanAt(va) into out[0], out[1]
   * (untouched over a hole): one walk, the same cache as lookup(). The table
   * lookup() ends in is the one a walk from the top reaches (a table leaves
   * its parent entry only when freed), so the leaf found there is findLeaf()'s.
   */
  lookupLeaf(va: number, out: Float64Array): number {
    this.lastL0 = undefined;
    let t: Uint32Array;
    let l: number;
    if (this.lkGen === this.freeGen && va >= this.lkVa && va < this.lkEnd) {
      t = this.lkTab!;
      l = this.lkLevel;
    } else {
      if (!(va >= 0 && va < this.vaEnd)) return -1;
      t = this.tabs[this.topSlot];
      l = this.topLevel;
    }
    for (; ; l--) {
      if (l === 0) this.lastL0 = t;
      const i = (va * INV_ITEM[l]) & (ITEMS - 1);
      const lo = t[2 * i];
      const hi = t[2 * i + 1];
      const type = entryType(lo, l);
      if (type !== ENTRY_TABLE) {
        if (l < this.topLevel) {
          this.lkTab = t;
          this.lkLevel = l;
          this.lkVa = Math.floor(va * INV_ITEM[l + 1]) * ITEM[l + 1];
          this.lkEnd = this.lkVa + ITEM[l + 1];
          this.lkGen = this.freeGen;
        }
        if (type === ENTRY_EMPTY) return -1;
        // findLeaf()/leafSpanAt(): the leaf's first item from this item's contiguity, the size from that item
        const n = P2[contigLg2(lo, hi, l)];
        const first = i - (i % n);
        out[0] = Math.floor(va / (ITEM[l] * n)) * ITEM[l] * n;
        out[1] = P2[leafLg2(t[2 * first], t[2 * first + 1], l)];
        return leafOa(lo, hi, l) + modLg2(va, leafLg2(lo, hi, l));
      }
      t = this.tabs[this.slotOf(lo, hi)];
    }
  }

  /**
   * After lookup(va) read `phys`: the first of va + step, va + 2 * step, ...
   * below `limit` where lookup() would not read phys plus the distance (or
   * leaves the table that walk ended in): those lookups would hit its cache
   * and read that table's items, as here, leaving the cache as it is.
   */
  readsOnTo(va: number, phys: number, step: number, limit: number): number {
    if (!(this.lkGen === this.freeGen && va >= this.lkVa && va < this.lkEnd)) return va + step;
    const t = this.lkTab!;
    const l = this.lkLevel;
    const end = Math.min(limit, this.lkEnd);
    const item = ITEM[l];
    let v = va + step;
    while (v < end) {
      const i = (v * INV_ITEM[l]) & (ITEMS - 1);
      const lo = t[2 * i];
      const hi = t[2 * i + 1];
      if (entryType(lo, l) !== ENTRY_OA) break;
      if (leafOa(lo, hi, l) + modLg2(v, leafLg2(lo, hi, l)) !== phys + (v - va)) break;
      // The leaf is a whole number of aligned items: the item's other steps read on from v too.
      const next = (Math.floor(v / item) + 1) * item;
      v += Math.max(1, Math.ceil((next - v) / step)) * step;
    }
    // an item's steps may pass `end`: the first step at or past it
    return v > end ? va + Math.max(1, Math.ceil((end - va) / step)) * step : v;
  }

  /**
   * The first of va = first, first + step, ... up to `last` where lookup(va)
   * is not phys + (va - first); -1 when none (for the audit). After each
   * lookup() the steps that read on from it are skipped (readsOnTo()).
   */
  firstMismatch(first: number, last: number, step: number, phys: number): number {
    for (let va = first; va <= last; ) {
      const pa = this.lookup(va);
      if (pa !== phys + (va - first)) return va;
      va = this.readsOnTo(va, pa, step, last + 1);
    }
    return -1;
  }

  /**
   * batch_from_domain()'s iova_to_phys per CPU page: out[outOff + k] is the
   * PFN at `first` for k = 0, at `base + k * 4096` after (0 for a hole). The
   * level-0 table of the last walk is kept for the next page.
   */
  readPfns(first: number, base: number, count: number, out: Uint32Array, outOff: number): void {
    let tabVa = -1;
    let t: Uint32Array | undefined;
    for (let k = 0; k < count; k++) {
      const va = k === 0 ? first : base + k * 4096;
      let pa = -1;
      if (t !== undefined && va >= tabVa && va < tabVa + ITEM[1]) {
        const i = (va * INV_ITEM[0]) & (ITEMS - 1);
        const lo = t[2 * i];
        if (lo & PR) {
          const hi = t[2 * i + 1];
          pa = (lo >>> 9) & 7 ? leafOa(lo, hi, 0) + modLg2(va, leafLg2(lo, hi, 0)) : ((lo >>> 12) + (hi & 0xfffff) * 1048576) * 2048 + modLg2(va, 11);
        }
      } else {
        pa = this.lookup(va);
        t = this.lastL0;
        tabVa = t === undefined ? -1 : Math.floor(va * INV_ITEM[1]) * ITEM[1];
      }
      out[outOff + k] = pa < 0 ? 0 : Math.floor(pa / 4096);
    }
  }

  /** The level-0 table the last lookup() ended in, if it did. */
  private lastL0: Uint32Array | undefined;
  /** lookup() cache: the table the last walk ended in, its level, the IOVA range it covers, the freeGen it was found in. */
  private lkTab: Uint32Array | undefined;
  private lkLevel = 0;
  private lkVa = -1;
  private lkEnd = -1;
  private lkGen = -1;

  /** findLeaf()'s result: the table slot, the leaf's first item and its IOVA. */
  private flSlot = 0;
  private flFirst = 0;
  private flIova = 0;

  /**
   * Walk to the leaf holding `va`: its level (the slot, first item and IOVA
   * in flSlot/flFirst/flIova), or -1 over a hole or outside the table.
   */
  private findLeaf(va: number): number {
    if (!(va >= 0 && va < this.vaEnd)) return -1;
    let slot = this.topSlot;
    for (let l = this.topLevel; ; l--) {
      const t = this.tabs[slot];
      const i = (va * INV_ITEM[l]) & (ITEMS - 1);
      const lo = t[2 * i];
      const type = entryType(lo, l);
      if (type === ENTRY_EMPTY) return -1;
      if (type === ENTRY_OA) {
        const n = P2[contigLg2(lo, t[2 * i + 1], l)];
        this.flSlot = slot;
        this.flFirst = i - (i % n);
        this.flIova = Math.floor(va / (ITEM[l] * n)) * ITEM[l] * n;
        return l;
      }
      slot = this.slotOf(lo, t[2 * i + 1]);
    }
  }

  /** The leaf holding `va`, or undefined. */
  leafAt(va: number): PtLeaf | undefined {
    const l = this.findLeaf(va);
    return l < 0 ? undefined : this.leafInfo(this.flSlot, l, this.flFirst, this.flIova);
  }

  /**
   * leafAt()'s iova and size alone, into out[0] and out[1] (nothing allocated); false over a
   * hole. The size is read from the leaf's first item, as leafAt() reads it.
   */
  leafSpanAt(va: number, out: Float64Array): boolean {
    const l = this.findLeaf(va);
    if (l < 0) return false;
    const t = this.tabs[this.flSlot];
    const first = this.flFirst;
    out[0] = this.flIova;
    out[1] = P2[leafLg2(t[2 * first], t[2 * first + 1], l)];
    return true;
  }

  // ---- dirty tracking ----

  /**
   * set_dirty() (the selftest's IOMMU_TEST_OP_DIRTY): set D in the one item
   * holding `va`. -ENOENT over a hole, -ERANGE outside the table.
   */
  setDirty(va: number): number {
    if (!(va >= 0 && va < this.vaEnd)) return -ERANGE;
    this.gen++;
    let t = this.tabs[this.topSlot];
    for (let l = this.topLevel; ; l--) {
      const i = (va * INV_ITEM[l]) & (ITEMS - 1);
      const lo = t[2 * i];
      const type = entryType(lo, l);
      if (type === ENTRY_EMPTY) return -ENOENT;
      if (type === ENTRY_OA) {
        t[2 * i] = lo | D;
        return 0;
      }
      t = this.tabs[this.slotOf(lo, t[2 * i + 1])];
    }
  }

  /**
   * read_and_clear_dirty(): every leaf in [va, va + size) with D in any of
   * its items is recorded (record_dirty) and, when `clear`, made clean in all
   * its items. 0, or make_range()'s -EINVAL / -EOVERFLOW / -ERANGE.
   */
  readAndClearDirty(va: number, size: number, clear: boolean, record: ((iova: number, length: number) => void) | undefined, quiet = false): number {
    if (size === 0) return -EINVAL;
    const last = va + size - 1;
    if (!Number.isSafeInteger(last) || last >= 2 ** 64) return -EOVERFLOW;
    if (!(va >= 0 && last < this.vaEnd)) return -ERANGE;
    if (clear) this.gen++;
    this.dirtyLevel(this.topSlot, this.topLevel, va, last, clear, record, quiet);
    return 0;
  }

  private dirtyLevel(slot: number, level: number, va: number, last: number, clear: boolean, record: ((iova: number, length: number) => void) | undefined, quiet: boolean): void {
    const t = this.tabs[slot];
    const item = ITEM[level];
    const span = item * ITEMS;
    const base = Math.floor(va / span) * span;
    const start = (va * INV_ITEM[level]) & (ITEMS - 1);
    const end = last < base + span ? ((last * INV_ITEM[level]) & (ITEMS - 1)) + 1 : ITEMS;
    for (let i = start; i < end; ) {
      const lo = t[2 * i];
      const type = entryType(lo, level);
      const itemVa = i === start ? va : base + i * item;
      if (type === ENTRY_TABLE) {
        this.dirtyLevel(this.slotOf(lo, t[2 * i + 1]), level - 1, itemVa, last, clear, record, quiet);
        i++;
        continue;
      }
      if (type === ENTRY_EMPTY) {
        i++;
        continue;
      }
      const nlg2 = contigLg2(lo, t[2 * i + 1], level);
      const n = P2[nlg2];
      const first = i - (i % n);
      let dirty = false;
      for (let k = first; k < first + n; k++) if (t[2 * k] & D) dirty = true;
      if (dirty) {
        // record_dirty(): to the leaf's last index (or the walk's end), not one past it
        const len = nlg2 === 0 ? item : (Math.min(i | (n - 1), end) - i) * item;
        if (len === 0 && record !== undefined && !quiet) {
          // A walk starting on a leaf's last item records 0 bytes, at the start
          // of the user's bitmap: iova_bitmap_set() of 0 bytes there never
          // returns on 7.2.13 (last_bit wraps, and its next-page step computes
          // the same iova and length again): the ioctl hangs the CPU. Checked
          // on the 7.2.13 oracle; no kernel WARN, so a model-only assertion.
          this.ctx.warn.warn('record_dirty.zero_length', `0 bytes of the dirty leaf at item 0x${itemVa.toString(16)}: 7.2.13 loops forever in iova_bitmap_set()`);
        }
        record?.(itemVa, len);
        if (clear) for (let k = first; k < first + n; k++) t[2 * k] &= ~D;
      }
      i = first + n;
    }
  }

  /** Items with D set, over the whole table. */
  countDirty(): number {
    let n = 0;
    this.forEachTable((slot, level) => {
      const t = this.tabs[slot];
      for (let i = 0; i < ITEMS; i++) if (entryType(t[2 * i], level) === ENTRY_OA && t[2 * i] & D) n++;
    });
    return n;
  }

  // ---- walk ----

  /** Every leaf in IOVA order (one per leaf, however many items it spans). */
  leaves(): PtLeaf[] {
    const out: PtLeaf[] = [];
    const rec = (slot: number, level: number, base: number): void => {
      const t = this.tabs[slot];
      for (let i = 0; i < ITEMS; ) {
        const lo = t[2 * i];
        const type = entryType(lo, level);
        if (type === ENTRY_TABLE) rec(this.slotOf(lo, t[2 * i + 1]), level - 1, base + i * ITEM[level]);
        if (type !== ENTRY_OA) {
          i++;
          continue;
        }
        const n = P2[contigLg2(lo, t[2 * i + 1], level)];
        out.push(this.leafInfo(slot, level, i, base + i * ITEM[level]));
        i += n;
      }
    };
    rec(this.topSlot, this.topLevel, 0);
    return out;
  }

  /** Every table page, parents before children, in IOVA order. */
  tablePages(): PtTable[] {
    const out: PtTable[] = [];
    const rec = (slot: number, level: number, base: number): void => {
      out.push({ level, iova: base, pa: TABLE_PA_BASE + slot * TABLE_BYTES, present: this.tabPresent[slot] });
      const t = this.tabs[slot];
      for (let i = 0; i < ITEMS; i++) if (entryType(t[2 * i], level) === ENTRY_TABLE) rec(this.slotOf(t[2 * i], t[2 * i + 1]), level - 1, base + i * ITEM[level]);
    };
    rec(this.topSlot, this.topLevel, 0);
    return out;
  }

  /** The raw PTE words of item `index` of the table holding `va` at `level` (tests): [lo, hi], or undefined without such a table. */
  pteAt(va: number, level: number): [number, number] | undefined {
    let slot = this.topSlot;
    for (let l = this.topLevel; l > level; l--) {
      const t = this.tabs[slot];
      const i = (va * INV_ITEM[l]) & (ITEMS - 1);
      if (entryType(t[2 * i], l) !== ENTRY_TABLE) return undefined;
      slot = this.slotOf(t[2 * i], t[2 * i + 1]);
    }
    const i = (va * INV_ITEM[level]) & (ITEMS - 1);
    const t = this.tabs[slot];
    return [t[2 * i], t[2 * i + 1]];
  }

  private leafInfo(slot: number, level: number, first: number, iova: number): PtLeaf {
    const t = this.tabs[slot];
    const lo = t[2 * first];
    const hi = t[2 * first + 1];
    const lg2 = leafLg2(lo, hi, level);
    const n = P2[lg2 - itemLg2(level)];
    let dirty = false;
    for (let k = first; k < first + n; k++) if (t[2 * k] & D) dirty = true;
    return { level, iova, size: P2[lg2], oa: leafOa(lo, hi, level), items: n, read: (hi & HI_IR) !== 0, write: (hi & HI_IW) !== 0, dirty, pte: pteHex(lo, hi) };
  }

  // ---- teardown and audit ----

  /** pt_iommu deinit(): every table page freed (and uncharged). */
  deinit(): void {
    this.gen++;
    const slots: number[] = [];
    this.forEachTable((slot) => slots.push(slot));
    for (const s of slots) this.freeTable(s);
    this.leafB = 0;
  }

  /** Bytes of typed arrays held. */
  heapBytes(): number {
    return this.nTables * TABLE_BYTES + this.tabLevel.byteLength + this.tabPresent.byteLength + this.tabOwner.byteLength;
  }

  /**
   * The storage invariants: each table page reached once from the top, at
   * the level its parent's NL says; present counts right; every leaf of n
   * items aligned, inside its table, its items the same words but for D;
   * no leaf at the top level; leaf bytes summed right; nothing held that the
   * walk does not reach; an empty charged table owned by a live cgroup.
   */
  problems(): string[] {
    const out: string[] = [];
    const seen = new Set<number>();
    let bytes = 0;
    const rec = (slot: number, level: number, base: number): void => {
      if (seen.has(slot)) {
        out.push(`table ${slot}: reached twice`);
        return;
      }
      seen.add(slot);
      if (this.tabLevel[slot] !== level) out.push(`table ${slot}: level ${this.tabLevel[slot]}, reached at ${level}`);
      const t = this.tabs[slot];
      let present = 0;
      for (let i = 0; i < ITEMS; ) {
        const lo = t[2 * i];
        const hi = t[2 * i + 1];
        if (lo === 0 && hi === 0) {
          // an empty item (the common case): nothing to check
          i++;
          continue;
        }
        const type = entryType(lo, level);
        if (type === ENTRY_EMPTY) {
          if (lo !== 0 || hi !== 0) out.push(`table ${slot}[${i}]: not present but 0x${pteHex(lo, hi)}`);
          i++;
          continue;
        }
        if (type === ENTRY_TABLE) {
          present++;
          if (nextLevel(lo) !== level) out.push(`table ${slot}[${i}]: table entry NL ${nextLevel(lo)} at level ${level}`);
          const child = this.slotOf(lo, hi);
          if (!(child >= 0 && child < this.tabs.length && this.tabLevel[child] >= 0)) out.push(`table ${slot}[${i}]: points to no table`);
          else rec(child, level - 1, base + i * ITEM[level]);
          i++;
          continue;
        }
        if (level >= 4) out.push(`table ${slot}[${i}]: leaf at level ${level}`);
        const n = P2[contigLg2(lo, hi, level)];
        if (i % n !== 0 || i + n > ITEMS) out.push(`table ${slot}[${i}]: leaf of ${n} items misplaced`);
        for (let k = i; k < Math.min(ITEMS, i + n); k++) {
          if ((t[2 * k] & ~D) !== (lo & ~D) || t[2 * k + 1] !== hi) out.push(`table ${slot}[${k}]: item differs from its leaf`);
        }
        if (modLg2(leafOa(lo, hi, level), leafLg2(lo, hi, level)) !== 0) out.push(`table ${slot}[${i}]: leaf OA not aligned to its size`);
        present += n;
        bytes += n * ITEM[level];
        i += n;
      }
      if (present !== this.tabPresent[slot]) out.push(`table ${slot}: ${this.tabPresent[slot]} present counted, ${present} found`);
    };
    rec(this.topSlot, this.topLevel, 0);
    if (bytes !== this.leafB) out.push(`${bytes} bytes of leaves, ${this.leafB} counted`);
    let held = 0;
    for (let s = 0; s < this.tabs.length; s++) {
      if (this.tabLevel[s] < 0) continue;
      held++;
      if (!seen.has(s)) out.push(`table ${s}: held but not reachable`);
    }
    if (held !== this.nTables) out.push(`${held} tables held, ${this.nTables} counted`);
    return out;
  }

  // ---- table pages ----

  private slotOf(lo: number, hi: number): number {
    return (oaField(lo, hi) - TABLE_V_BASE) / 2;
  }

  private newSlot(level: number, owner: number): number {
    const slot = this.freeSlots.pop() ?? this.tabs.length;
    if (slot >= this.tabLevel.length) {
      const cap = this.tabLevel.length * 2;
      const lv = new Int8Array(cap).fill(-1);
      lv.set(this.tabLevel);
      const pr = new Uint16Array(cap);
      pr.set(this.tabPresent);
      const ow = new Uint8Array(cap);
      ow.set(this.tabOwner);
      this.tabLevel = lv;
      this.tabPresent = pr;
      this.tabOwner = ow;
    }
    this.tabs[slot] = tablePool.pop() ?? new Uint32Array(WORDS);
    this.tabLevel[slot] = level;
    this.tabPresent[slot] = 0;
    this.tabOwner[slot] = owner;
    this.nTables++;
    return slot;
  }

  /** Free one table page (its entries are dropped with it) and uncharge it. */
  private freeTable(slot: number): void {
    this.freeGen++;
    const owner = this.tabOwner[slot];
    if (owner !== 0) this.accts[owner - 1].uncharge(TABLE_BYTES);
    const t = this.tabs[slot];
    t.fill(0);
    if (tablePool.length < TABLE_POOL_MAX) tablePool.push(t);
    this.tabs[slot] = EMPTY_TABLE;
    this.tabLevel[slot] = -1;
    this.tabPresent[slot] = 0;
    this.tabOwner[slot] = 0;
    this.freeSlots.push(slot);
    this.nTables--;
  }

  /** A table and every table below it, freed (no leaves below: checked by the caller). */
  private freeSubtree(slot: number): void {
    const level = this.tabLevel[slot];
    const t = this.tabs[slot];
    for (let i = 0; i < ITEMS; i++) if (entryType(t[2 * i], level) === ENTRY_TABLE) this.freeSubtree(this.slotOf(t[2 * i], t[2 * i + 1]));
    this.freeTable(slot);
  }

  /** A leaf anywhere in this table or below (__collect_tables with check_mapped). */
  private holdsLeaf(slot: number): boolean {
    const level = this.tabLevel[slot];
    const t = this.tabs[slot];
    if (this.tabPresent[slot] === 0) return false;
    for (let i = 0; i < ITEMS; i++) {
      const type = entryType(t[2 * i], level);
      if (type === ENTRY_OA) return true;
      if (type === ENTRY_TABLE && this.holdsLeaf(this.slotOf(t[2 * i], t[2 * i + 1]))) return true;
    }
    return false;
  }

  private forEachTable(fn: (slot: number, level: number) => void): void {
    for (let s = 0; s < this.tabs.length; s++) if (this.tabLevel[s] >= 0) fn(s, this.tabLevel[s]);
  }

  private acctId(acct: MemAccounting): number {
    const i = this.accts.indexOf(acct);
    if (i >= 0) return i + 1;
    if (this.accts.length >= 255) {
      this.ctx.warn.warn('iommupt.memcg_table_full', 'more than 255 memory cgroups charged one page table');
      return 0;
    }
    this.accts.push(acct);
    return this.accts.length;
  }
}

const EMPTY_TABLE = new Uint32Array(0);
const TWO32 = 2 ** 32;

/** log2 of the largest power of two dividing x (64 for 0); x an integer below 2^53. */
function ctzNum(x: number): number {
  // x >>> 0 is x mod 2^32 for an integer below 2^53
  const low = x >>> 0;
  if (low !== 0) return 31 - Math.clz32(low & -low);
  if (x === 0) return 64;
  const high = (x / TWO32) >>> 0;
  return 32 + 31 - Math.clz32(high & -high);
}

/** floor(log2(x)) for an integer 1 <= x < 2^53. */
function flsNum(x: number): number {
  return x < TWO32 ? 31 - Math.clz32(x) : 32 + 31 - Math.clz32(Math.floor(x / TWO32));
}

/**
 * A domain's page sizes for the two choices below: `below[m]` the largest
 * log2 size <= m (or -1), `above[l]` the smallest log2 size > l (or -1).
 */
export interface PgsizeTable {
  readonly below: Int8Array;
  readonly above: Int8Array;
}

/** The PgsizeTable of the log2 sizes `lg2s` (any order). */
export function pgsizeTable(lg2s: readonly number[]): PgsizeTable {
  const below = new Int8Array(65).fill(-1);
  const above = new Int8Array(65).fill(-1);
  for (let m = 0; m <= 64; m++) {
    for (const l of lg2s) {
      if (l <= m && l > below[m]) below[m] = l;
      if (l > m && (above[m] < 0 || l < above[m])) above[m] = l;
    }
  }
  return { below, above };
}

/**
 * pt_compute_best_pgsize(): the largest page size to which va and oa are
 * aligned and that fits in len; -1 when none.
 */
export function bestPgsizeLg2(sizes: PgsizeTable, va: number, oa: number, len: number): number {
  return sizes.below[Math.min(ctzNum(va), ctzNum(oa), flsNum(len))];
}

/**
 * pt_pgsz_count(): how many leaves of 2^lg2 to install from va: all that fit
 * in len, but only up to the next bigger page size's boundary when va and oa
 * sit alike inside it.
 */
export function pgszCount(sizes: PgsizeTable, lg2: number, va: number, oa: number, len: number): number {
  const next = sizes.above[lg2];
  if (next >= 0) {
    const span = P2[next];
    // the offsets inside the bigger page (by the low 32 bits while it is at most 2^31)
    const off = next <= 31 ? (va >>> 0) & (span - 1) : modLg2(va, next);
    const oaOff = next <= 31 ? (oa >>> 0) & (span - 1) : modLg2(oa, next);
    if (off === oaOff) len = Math.min(len, span - off);
  }
  return Math.floor(len / P2[lg2]);
}
