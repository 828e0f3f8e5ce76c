// SPDX-License-Identifier: GPL-2.0-only
/**
 * The selftest mock paging domain of drivers/iommu/iommufd/selftest.c, in
 * its xarray form (v6.2 .. before the iommupt conversion).
 *
 * The kernel keeps one xarray value per 2 KiB IO page, indexed by iova/2048,
 * holding paddr/2048 plus marker bits. The marker set on the first entry of
 * every map_pages call and on its final entry is a single shared bit in the
 * kernel (MOCK_PFN_START_IOVA == MOCK_PFN_LAST_IOVA). Here START and LAST are
 * stored apart for inspection, and every check tests "START or LAST", which
 * is exactly the kernel's one-bit test. The huge variant (devices with
 * MOCK_FLAGS_DEVICE_HUGE_IOVA) adds 1 MiB to the page sizes, tags entries
 * written by a bigger-than-2 KiB map_pages call HUGE, and skips the
 * START/LAST checks on unmap because the core's page-size changes split
 * unmaps at places that were not map boundaries.
 *
 * Storage: the aperture's 2^20 entry slots are cut into 512-entry chunks
 * (1 MiB of IOVA), allocated on first store and dropped when empty. A chunk is
 * a Float64Array of paddr + 1 (0 = no entry) and a Uint8Array of flags with
 * room after the 512 flag bytes for the per-leaf bookkeeping described below.
 *
 * Fast paths, each exact: a map_pages call into one leaf with every slot
 * empty stores in one pass (mapPages); batch_to_domain's runs go through
 * mapRunsDrv, one such call per run in a single loop (IommuDomain.mapRuns);
 * an unmap erases the entries between its first and last without judging
 * them, and a whole leaf there by its entry count.
 *
 * Accounting: xa_store allocates 576-byte xa_nodes; each leaf node covers 64
 * indices, its parents 4096 and 2^18. A node is modelled as existing while
 * any entry lies in its range; creating one charges XA_NODE_SIZE to the
 * MemAccounting given with the map (GFP_KERNEL_ACCOUNT), and -ENOMEM is what
 * xa_store reports when that fails. The topmost node is not modelled. Note
 * that the kernel's mock xarray is not XA_FLAGS_ACCOUNT, so its first,
 * GFP_NOWAIT node allocation is not charged: that is the default here, and
 * `accountNodes: true` charges every modelled node (for memcg experiments).
 */
import { modPow2 } from '../base/pow2.js';
import { EINVAL, ENOENT, ENOMEM, ERANGE } from '../base/errno.js';
import type { Profile } from '../base/profile.js';
import { faultPoint } from '../base/fault.js';
import { type DomainContext, type DomainGeometry, IOMMU_READ, IOMMU_WRITE, IommuDomain, type MemAccounting, aligned, pgsizesOf } from './domain.js';
import { IOMMU_DIRTY_NO_CLEAR, type IommuDev, type IommuDirtyBitmap } from './driver.js';
import { MOCK_AMDV1, bitmapOf, pgsizesLg2, protHiBits } from './generic-pt/amdv1.js';
import { Amdv1PageTable, type PgsizeTable, type PtLeaf, type PtTable, pgsizeTable } from './generic-pt/iommu-pt.js';
import { cover, coverSites } from '../base/coverage.js';

/** MOCK_IO_PAGE_SIZE = PAGE_SIZE / 2. */
export const MOCK_IO_PAGE_SIZE = 2048;
/** MOCK_HUGE_PAGE_SIZE = 512 * MOCK_IO_PAGE_SIZE. */
export const MOCK_HUGE_PAGE_SIZE = 512 * MOCK_IO_PAGE_SIZE;
/** MOCK_APERTURE_START = 1 << 24. */
export const MOCK_APERTURE_START = 2 ** 24;
/** MOCK_APERTURE_LAST = (1 << 31) - 1. */
export const MOCK_APERTURE_LAST = 2 ** 31 - 1;
/** Mock device flags (iommufd_test.h MOCK_FLAGS_DEVICE_*), as the mock driver reads them. */
export const MOCK_DEV_NO_DIRTY = 1 << 0;
export const MOCK_DEV_HUGE_IOVA = 1 << 1;
export const MOCK_DEV_PASID = 1 << 2;
/** sizeof(struct xa_node) on x86-64 (radix_tree_node_cachep object size). */
export const XA_NODE_SIZE = 576;

/** iommufd_should_fail() at the top of mock_domain_map_pages: -ENOENT. */
export const FP_MOCK_MAP_PAGES = faultPoint('mock_domain_map_pages', 'iommufd');
/**
 * The nodes an xa_store() into mock->pfns makes: GFP_NOWAIT under the xarray's lock, made again with the
 * caller's gfp when that fails (__xas_nomem()), so each fires without failing the store.
 */
export const FP_MOCK_PFNS_XA = faultPoint('xa_store.mock_pfns', 'atomic');

const IO = MOCK_IO_PAGE_SIZE;
/** 1 / IO, exact: index arithmetic by multiplication. */
const INV_IO = 1 / IO;
const CPU_PAGE = 4096;

const F_START = 1;
const F_LAST = 2;
const F_HUGE = 4;
/** MOCK_PFN_DIRTY_IOVA: set by the test op DIRTY, read and cleared by read_and_clear_dirty. */
const F_DIRTY = 8;
/** The kernel's single START/LAST bit. */
const F_MARK = F_START | F_LAST;

/** Entries per storage chunk (and per leaf xa_node). */
const CHUNK = 512;
const CHUNK_SHIFT = 9;
const LEAF = 64;
const LEAF_SHIFT = 6;
const LEAVES_PER_CHUNK = CHUNK / LEAF;
/** Flag-array offsets of the per-leaf entry counts and charge owners. */
const LEAF_CNT = CHUNK;
const LEAF_OWNER = CHUNK + LEAVES_PER_CHUNK;
const FLAG_BYTES = CHUNK + 2 * LEAVES_PER_CHUNK;
/** From a leaf's count slot to its owner slot. */
const OWNER_DELTA = LEAF_OWNER - LEAF_CNT;
/** Indices covered by the modelled interior xa_nodes. */
const L1_SPAN = 4096;
const L2_SPAN = 2 ** 18;
const L1_SHIFT = 12;
const L2_SHIFT = 18;

/** One past the last entry index of the aperture (2^20). */
const IDX_END = (MOCK_APERTURE_LAST + 1) / IO;
const N_CHUNKS = IDX_END / CHUNK;

/**
 * Emptied storage chunks, shared by all mock domains (all zero). Allocating
 * and zeroing 4.6 KiB per MiB of IOVA was a measurable part of mapping into a
 * fresh domain; 2048 chunks cover 2 GiB of IOVA (9.4 MiB held at most).
 */
const chunkPool: Array<{ pa: Float64Array; fl: Uint8Array }> = [];
const CHUNK_POOL_MAX = 2048;

/** The chunk directories of a domain that has no chunk yet (shared, read only). */
const NO_CHUNKS: readonly undefined[] = Object.freeze(new Array<undefined>(N_CHUNKS).fill(undefined));

/** Placeholders for a chunk not looked up yet. */
const EMPTY_PA: Float64Array = new Float64Array(0);
const EMPTY_FL: Uint8Array = new Uint8Array(0);

export interface MockDomainOptions {
  /** The MOCK_FLAGS_DEVICE_HUGE_IOVA variant: pgsize_bitmap also has MOCK_HUGE_PAGE_SIZE. */
  huge?: boolean;
  /**
   * The v6.2–v6.6 unmap_pages: WARN on every missing entry, and the START/LAST
   * checks also fire on a missing first/final entry. From v6.7 missing
   * entries are silently skipped (default).
   */
  warnUnmapMissing?: boolean;
  /** iova_to_phys WARNs on a missing entry (the xarray mock; the later generic-page-table mock returns 0 quietly). Default true. */
  warnIovaToPhysMissing?: boolean;
  /** Charge every modelled xarray node to the map's MemAccounting (default false: the kernel's mock xarray is not XA_FLAGS_ACCOUNT). */
  accountNodes?: boolean;
  /**
   * Which mock to build: the xarray one (up to 6.18) or the generic page
   * table with the AMDv1 format (6.19 on). Default: the profile's
   * `mockPageTable` when the domain context carries a profile, else xarray.
   */
  pageTable?: MockPageTable;
}

/** The two selftest mock domains: the xarray mock, the generic-pt AMDv1 mock. */
export type MockPageTable = 'xarray' | 'amdv1';

export interface MockEntry {
  readonly paddr: number;
  readonly start: boolean;
  readonly last: boolean;
  readonly huge: boolean;
}

/** Coverage sites of MockDomain's methods (base/coverage.ts). */
const COV_MockDomain = coverSites('MockDomain', ['mapPages', 'mapRunsDrv', 'mapPagesFull', 'unmapPages', 'iovaToPhysDrv', 'freeDrv', 'readPfns', 'attachDev', 'setDirtyTracking', 'readAndClearDirty', 'markDirty', 'countDirty', 'storageProblems', 'ownDirs', 'allocChunk', 'acctId', 'createNodes', 'commitAdd', 'commitRemove', 'uncharge', 'eraseRange']);

export class MockDomain extends IommuDomain {
  readonly huge: boolean;
  readonly warnUnmapMissing: boolean;
  readonly warnIovaToPhysMissing: boolean;
  readonly accountNodes: boolean;

  // Until the first chunk is allocated both point at NO_CHUNKS (never written): the AMDv1 mock never uses them.
  private paDir: (Float64Array | undefined)[] = NO_CHUNKS as (Float64Array | undefined)[];
  private flDir: (Uint8Array | undefined)[] = NO_CHUNKS as (Uint8Array | undefined)[];
  /**
   * Live leaves under each first-level interior node, live first-level nodes
   * under each second-level one: an xa_node lives while it has a child
   * (xas_delete_node frees it with its last one).
   */
  private readonly l1Cnt = new Uint16Array(IDX_END / L1_SPAN);
  private readonly l1Owner = new Uint8Array(IDX_END / L1_SPAN);
  private readonly l2Cnt = new Int32Array(IDX_END / L2_SPAN);
  private readonly l2Owner = new Uint8Array(IDX_END / L2_SPAN);
  /** Memory cgroups that own charged nodes; owner id = index + 1 (0 = uncharged). */
  private readonly accts: MemAccounting[] = [];
  private entries = 0;
  private chunks = 0;
  /** Bumped by every driver call that may write the storage (see storageChanges). */
  private storeGen = 0;
  /** MOCK_DIRTY_TRACK in mock->flags: set_dirty_tracking(true) ran last. */
  dirtyTrack = false;

  /** `geometry`: a subclass's own page sizes and aperture (the AMDv1 mock); the xarray mock's by default. */
  constructor(ctx: DomainContext, opts: MockDomainOptions = {}, geometry?: DomainGeometry) {
    super(ctx, geometry ?? {
      pgsizeBitmap: opts.huge ? IO + MOCK_HUGE_PAGE_SIZE : IO,
      apertureStart: MOCK_APERTURE_START,
      apertureEnd: MOCK_APERTURE_LAST,
    });
    this.huge = opts.huge === true;
    this.warnUnmapMissing = opts.warnUnmapMissing === true;
    this.warnIovaToPhysMissing = opts.warnIovaToPhysMissing !== false;
    this.accountNodes = opts.accountNodes === true;
  }

  // ---- driver callbacks ----

  protected mapPages(iova: number, paddr: number, pgsize: number, pgcount: number, _prot: number, acct: MemAccounting | undefined): number {
    cover(COV_MockDomain.mapPages);
    if (this.ctx.faults.shouldFail(FP_MOCK_MAP_PAGES)) return -ENOENT;
    this.storeGen++;
    // The common call, small enough to inline: 2 KiB pages into one leaf,
    // none of them mapped yet, no node charging (so making the leaf cannot
    // fail). Else the full path.
    const first = iova * INV_IO;
    const last = first + pgcount - 1;
    if (pgsize === IO && (first | 0) === first && pgcount > 0 && first >>> LEAF_SHIFT === last >>> LEAF_SHIFT && (acct === undefined || !this.accountNodes)) {
      const c = first >>> CHUNK_SHIFT;
      const fl = this.flDir[c] ?? this.allocChunk(c);
      const leafSlot = LEAF_CNT + ((first >>> LEAF_SHIFT) & (LEAVES_PER_CHUNK - 1));
      if (fl[leafSlot] === 0) this.createNodes(first, 0);
      const pa = this.paDir[c]!;
      const o0 = first & (CHUNK - 1);
      // A live entry (only in a leaf that existed) means an overwrite, which
      // WARNs: the full path does that call.
      if (storeIfEmpty(pa, fl, o0, o0 + pgcount, paddr)) {
        this.commitAdd(fl, leafSlot, pgcount);
        this.drvMapped += pgcount * IO;
        return 0;
      }
    }
    return this.mapPagesFull(iova, paddr, pgsize, pgcount, acct);
  }

  /**
   * Runs of a batch_to_domain loop (IommuDomain.mapRuns): each run is the
   * one 2 KiB map_pages call the core would make, taken here while it is on
   * the common path of mapPages (one leaf, every slot empty, nothing to
   * charge). A run off that path is left to the caller's map().
   */
  protected override mapRunsDrv(pfns: Uint32Array, npfns: Uint32Array, from: number, end: number, iova: number, lastIova: number, acct: MemAccounting | undefined): number {
    cover(COV_MockDomain.mapRunsDrv);
    if (acct !== undefined && this.accountNodes) return from;
    this.storeGen++;
    // allocChunk() below would give the domain its own directories: take them before holding them here.
    this.ownDirs();
    const paDir = this.paDir;
    const flDir = this.flDir;
    // entry indexes: the aperture ends below 2^31, so they fit in int32
    const endIdx = ((lastIova + 1) * INV_IO) | 0;
    let first = (iova * INV_IO) | 0;
    let added = 0;
    let cur = from;
    let c = -1;
    let pa = EMPTY_PA;
    let fl = EMPTY_FL;
    // the leaf the runs are storing into (it exists), its count slot, and
    // the entries stored there not yet added to that count
    let leaf = -1;
    let leafSlot = 0;
    let inLeaf = 0;
    for (; cur < end; cur++) {
      const n = npfns[cur] * (CPU_PAGE / IO);
      const o0 = first & (CHUNK - 1);
      // off the common path: an empty run, one that crosses a leaf, or the
      // last run of the area cut short (lastIova); map() does those
      if (n === 0 || (o0 & (LEAF - 1)) + n > LEAF || first + n > endIdx) break;
      if (first >>> LEAF_SHIFT !== leaf) {
        // a new leaf (maybe in a new chunk): count the entries stored in the last one
        if (inLeaf !== 0) fl[leafSlot] += inLeaf;
        inLeaf = 0;
        if (first >>> CHUNK_SHIFT !== c) {
          c = first >>> CHUNK_SHIFT;
          fl = flDir[c] ?? this.allocChunk(c);
          pa = paDir[c]!;
        }
        leaf = first >>> LEAF_SHIFT;
        leafSlot = LEAF_CNT + (o0 >>> LEAF_SHIFT);
        if (fl[leafSlot] === 0) this.createNodes(first, 0);
      }
      // as mapPages: a live entry (an overwrite, which WARNs) ends the loop
      if (!storeIfEmpty(pa, fl, o0, o0 + n, pfns[cur] * CPU_PAGE)) break;
      inLeaf += n;
      added += n;
      first += n;
    }
    if (inLeaf !== 0) fl[leafSlot] += inLeaf;
    this.entries += added;
    this.runsEndIova = first * IO;
    // each run passed mock_domain_map_pages' fault point
    this.ctx.faults.passQuiet(cur - from);
    return cur;
  }

  /** map_pages past the fault point, in general: any page size, new nodes, overwrites. */
  private mapPagesFull(iova: number, paddr: number, pgsize: number, pgcount: number, acct: MemAccounting | undefined): number {
    cover(COV_MockDomain.mapPagesFull);
    this.storeGen++;
    const ctx = this.ctx;
    if (!aligned(iova, IO)) ctx.warn.warn('mock_domain_map_pages.iova_align', `iova 0x${iova.toString(16)}`);
    if (!aligned(pgsize, IO)) ctx.warn.warn('mock_domain_map_pages.pgsize_align', `pgsize 0x${pgsize.toString(16)}`);
    // The core only calls inside the aperture (below 2^31): entry indexes fit in int32.
    const first = (iova / IO) | 0;
    const end = first + ((pgsize / IO) | 0) * pgcount;
    const huge = pgsize !== IO ? F_HUGE : 0;
    const owner = acct !== undefined && this.accountNodes ? this.acctId(acct) : 0;
    let idx = first;
    let p = paddr;
    while (idx < end) {
      const c = idx >>> CHUNK_SHIFT;
      const leaf = idx >>> LEAF_SHIFT;
      const segEnd = Math.min(end, (leaf + 1) << LEAF_SHIFT);
      const leafSlot = LEAF_CNT + (leaf & (LEAVES_PER_CHUNK - 1));
      let fl = this.flDir[c];
      if (fl === undefined || fl[leafSlot] === 0) {
        if (!this.createNodes(idx, owner)) {
          this.eraseRange(first, idx);
          return -ENOMEM;
        }
        if (fl === undefined) fl = this.allocChunk(c);
        fl[leafSlot + OWNER_DELTA] = owner;
      }
      const pa = this.paDir[c]!;
      const o0 = idx & (CHUNK - 1);
      const o1 = o0 + (segEnd - idx);
      const startHere = idx === first;
      const lastHere = segEnd === end;
      // entries added since the last commit
      let added = 0;
      let o = o0;
      for (;;) {
        // stores into empty slots: the common case
        const from = o;
        for (; o < o1 && pa[o] === 0; o++, p += IO) {
          pa[o] = p + 1;
          fl[o] = huge;
        }
        added += o - from;
        if (o === o1) break;
        // xa_store replaced a live entry: the kernel WARNs and carries on
        // (with the marks of the entries stored so far in place).
        pa[o] = p + 1;
        fl[o] = huge;
        if (startHere) fl[o0] |= F_START;
        if (lastHere && o === o1 - 1) fl[o] |= F_LAST;
        this.commitAdd(fl, leafSlot, added);
        added = 0;
        ctx.warn.warn('mock_domain_map_pages.overwrite', `iova 0x${(((c << CHUNK_SHIFT) + o) * IO).toString(16)} was already mapped`);
        o++;
        p += IO;
      }
      if (startHere) fl[o0] |= F_START;
      if (lastHere) fl[o1 - 1] |= F_LAST;
      this.commitAdd(fl, leafSlot, added);
      this.drvMapped += (segEnd - idx) * IO;
      idx = segEnd;
    }
    return 0;
  }

  protected unmapPages(iova: number, pgsize: number, pgcount: number): number {
    cover(COV_MockDomain.unmapPages);
    this.storeGen++;
    const w = this.ctx.warn;
    if (!aligned(iova, IO)) w.warn('mock_domain_unmap_pages.iova_align', `iova 0x${iova.toString(16)}`);
    if (!aligned(pgsize, IO)) w.warn('mock_domain_unmap_pages.pgsize_align', `pgsize 0x${pgsize.toString(16)}`);
    const n = Math.floor(pgsize / IO) * pgcount;
    const first = Math.floor(iova / IO);
    const end = first + n;
    const last = end - 1;
    const checkMarks = !this.huge;
    const strict = this.warnUnmapMissing;
    let idx = first;
    while (idx < end) {
      const c = Math.floor(idx / CHUNK);
      // Indexes past the aperture (2^20) only reach here with nothing stored.
      const segEnd = idx < IDX_END ? Math.min(end, ((idx >>> LEAF_SHIFT) + 1) << LEAF_SHIFT) : Math.min(end, (Math.floor(idx / LEAF) + 1) * LEAF);
      const pa = this.paDir[c];
      if (pa === undefined && !strict) {
        // Nothing stored here, and from v6.7 missing entries never WARN.
        idx = idx >= IDX_END ? end : Math.min(end, (c + 1) * CHUNK);
        continue;
      }
      const fl = this.flDir[c];
      const leafSlot = LEAF_CNT + modPow2(Math.floor(idx / LEAF), LEAVES_PER_CHUNK);
      let removed = 0;
      for (let k = idx; k < segEnd; k++) {
        const off = k & (CHUNK - 1);
        if (k !== first && k !== last && pa !== undefined && !strict) {
          // The entries strictly inside the request, up to its last one or
          // the leaf's end: mock_domain_unmap_pages judges only the first and
          // last entries (and, before v6.7, holes), so these are erased where
          // live and skipped where not.
          const stop = last < segEnd ? last : segEnd;
          if (stop - k === LEAF) {
            // the whole leaf: its count says how many are live, and clearing
            // an empty slot changes nothing
            removed += fl![leafSlot];
            pa.fill(0, off, off + LEAF);
            fl!.fill(0, off, off + LEAF);
          } else removed += eraseLive(pa, fl!, off, off + (stop - k));
          k = stop - 1;
          continue;
        }
        const v = pa === undefined ? 0 : pa[off];
        if (v !== 0 && k !== first && k !== last) {
          // a live entry inside the request, before v6.7 (holes WARN there)
          pa![off] = 0;
          fl![off] = 0;
          removed++;
          continue;
        }
        let f = 0;
        if (v !== 0) {
          f = fl![off];
          pa![off] = 0;
          fl![off] = 0;
          removed++;
        }
        // the request's first or last entry, or a hole
        const judged = v !== 0 || strict;
        const badMissing = v === 0 && strict;
        const badStart = checkMarks && k === first && judged && (f & F_MARK) === 0;
        const badLast = checkMarks && k === last && judged && (f & F_MARK) === 0;
        if (badMissing || badStart || badLast) {
          if (removed !== 0) this.commitRemove(c, leafSlot, idx, removed);
          removed = 0;
          const at = `iova 0x${(k * IO).toString(16)}`;
          if (badMissing) w.warn('mock_domain_unmap.missing', `${at} not mapped`);
          if (badStart) w.warn('mock_domain_unmap.start', `${at} was not the first page of a map`);
          if (badLast) w.warn('mock_domain_unmap.last', `${at} was not the last page of a map`);
        }
      }
      if (removed !== 0) this.commitRemove(c, leafSlot, idx, removed);
      idx = segEnd;
    }
    return n * IO;
  }

  protected iovaToPhysDrv(iova: number): number {
    cover(COV_MockDomain.iovaToPhysDrv);
    const w = this.ctx.warn;
    if (!aligned(iova, IO)) w.warn('mock_domain_iova_to_phys.unaligned', `iova 0x${iova.toString(16)}`);
    const v = this.load(Math.floor(iova / IO));
    if (v === 0) {
      if (this.warnIovaToPhysMissing) w.warn('mock_domain_iova_to_phys.missing', `iova 0x${iova.toString(16)} not mapped`);
      return 0;
    }
    return v - 1;
  }

  peekPhys(iova: number): number {
    if (!aligned(iova, IO)) return -1;
    const v = this.load(Math.floor(iova / IO));
    return v === 0 ? -1 : v - 1;
  }

  protected freeDrv(): void {
    cover(COV_MockDomain.freeDrv);
    this.storeGen++;
    if (this.entries !== 0) {
      this.ctx.warn.warn('mock_domain_free.not_empty', `${this.entries} entries still mapped`);
    }
    // kfree(mock) without xa_destroy: remaining nodes (and their charges) leak.
    this.paDir = [];
    this.flDir = [];
    this.entries = 0;
    this.chunks = 0;
  }

  readPfns(firstIova: number, pageBase: number, count: number, out: Uint32Array, outOff: number): number {
    cover(COV_MockDomain.readPfns);
    const base = pageBase / IO;
    const first = firstIova / IO;
    // Every index an integer inside the aperture: walk the entries directly,
    // two 2 KiB entries per CPU page after the first.
    if ((base | 0) === base && (first | 0) === first && first >= 0 && base >= 0 && base + 2 * count <= IDX_END && first < IDX_END) {
      let c = first >>> CHUNK_SHIFT;
      let pa = this.paDir[c];
      let v = pa === undefined ? 0 : pa[first & (CHUNK - 1)];
      for (let k = 0; ; ) {
        if (v !== 0) out[outOff + k] = Math.floor((v - 1) * (1 / CPU_PAGE));
        else {
          // iova_to_phys of a hole: 0, with the xarray mock's WARN
          const iova = k === 0 ? firstIova : pageBase + k * CPU_PAGE;
          if (this.warnIovaToPhysMissing) this.ctx.warn.warn('mock_domain_iova_to_phys.missing', `iova 0x${iova.toString(16)} not mapped`);
          out[outOff + k] = 0;
        }
        if (++k === count) break;
        const i = base + 2 * k;
        if (i >>> CHUNK_SHIFT !== c) {
          c = i >>> CHUNK_SHIFT;
          pa = this.paDir[c];
        }
        v = pa === undefined ? 0 : pa[i & (CHUNK - 1)];
      }
      return count;
    }
    for (let k = 0; k < count; k++) {
      // Out of the fast path's reach: behave as iova_to_phys would.
      const phys = this.iovaToPhysDrv(k === 0 ? firstIova : pageBase + k * CPU_PAGE);
      out[outOff + k] = Math.floor(phys / CPU_PAGE);
    }
    return count;
  }

  mappedBytes(): number {
    return this.entries * IO;
  }

  heapBytes(): number {
    const fixed = (this.l1Cnt.byteLength + this.l1Owner.byteLength + this.l2Cnt.byteLength + this.l2Owner.byteLength)
      + 16 * (this.paDir.length + this.flDir.length);
    return fixed + this.chunks * (CHUNK * 8 + FLAG_BYTES);
  }

  /** mock_domain_nop_attach(): a domain with dirty ops refuses a NO_DIRTY device. */
  override attachDev(dev: IommuDev): number {
    cover(COV_MockDomain.attachDev);
    if (this.dirtyOps && dev.flags & MOCK_DEV_NO_DIRTY) return -EINVAL;
    return 0;
  }

  // ---- dirty tracking (the mock's iommu_dirty_ops) ----

  /** mock_domain_set_dirty_tracking() */
  setDirtyTracking(enable: boolean): number {
    cover(COV_MockDomain.setDirtyTracking);
    if (enable && !this.dirtyOps) return -EINVAL;
    this.dirtyTrack = enable;
    return 0;
  }

  /**
   * mock_domain_read_and_clear_dirty(): walk [iova, iova + size) one IOPTE at
   * a time (2 KiB, or 1 MiB for an entry a huge map wrote); an IOPTE any of
   * whose 2 KiB entries is dirty is recorded whole, from the walk's IOVA,
   * and its dirty bits cleared unless NO_CLEAR. Without tracking on, a
   * caller that records gets -EINVAL (a caller that only clears does not).
   */
  readAndClearDirty(iova: number, size: number, flags: number, dirty: IommuDirtyBitmap): number {
    cover(COV_MockDomain.readAndClearDirty);
    if (!this.dirtyTrack && dirty.record) return -EINVAL;
    const end = iova + size;
    const clear = (flags & IOMMU_DIRTY_NO_CLEAR) === 0;
    // NO_CLEAR writes nothing: the count stays (a snapshot's read leaves the audit memos valid).
    if (clear) this.storeGen++;
    do {
      const idx = Math.floor(iova / IO);
      const c = idx >= 0 && idx < IDX_END ? idx >>> CHUNK_SHIFT : -1;
      const pa = c >= 0 ? this.paDir[c] : undefined;
      if (pa === undefined) {
        // no chunk: every entry up to its end is missing, one IO page each
        iova += c >= 0 ? ((c + 1) * CHUNK - idx) * IO : IO;
        continue;
      }
      const fl = this.flDir[c]!;
      const o = idx & (CHUNK - 1);
      if (pa[o] === 0) {
        iova += IO;
        continue;
      }
      const pgsize = fl[o] & F_HUGE ? MOCK_HUGE_PAGE_SIZE : IO;
      // mock_test_and_clear_dirty over the IOPTE holding iova (one chunk: a
      // huge IOPTE is 512 entries, 1 MiB aligned)
      const h0 = pgsize === IO ? o : 0;
      const h1 = h0 + pgsize / IO;
      let found = false;
      for (let k = h0; k < h1; k++) {
        if (pa[k] !== 0 && fl[k] & F_DIRTY) {
          found = true;
          if (clear) fl[k] &= ~F_DIRTY;
          else break;
        }
      }
      if (found) dirty.record?.(iova, pgsize);
      iova += pgsize;
    } while (iova < end);
    return 0;
  }

  /** The test op DIRTY's store: mark the entry at index `idx` dirty; false when there is none. */
  markDirty(idx: number): boolean {
    cover(COV_MockDomain.markDirty);
    if (!(idx >= 0 && idx < IDX_END)) return false;
    const c = idx >>> CHUNK_SHIFT;
    const pa = this.paDir[c];
    if (pa === undefined || pa[idx & (CHUNK - 1)] === 0) return false;
    this.storeGen++;
    this.flDir[c]![idx & (CHUNK - 1)] |= F_DIRTY;
    return true;
  }

  /** Entries with the dirty bit set. */
  countDirty(): number {
    cover(COV_MockDomain.countDirty);
    let n = 0;
    for (let c = 0; c < this.flDir.length; c++) {
      const fl = this.flDir[c];
      if (fl === undefined) continue;
      for (let o = 0; o < CHUNK; o++) if (fl[o] & F_DIRTY) n++;
    }
    return n;
  }

  // ---- inspection (test commands, audits) ----

  /** The entry holding `iova`, or undefined. */
  entryAt(iova: number): MockEntry | undefined {
    const idx = Math.floor(iova / IO);
    const v = this.load(idx);
    if (v === 0) return undefined;
    const f = this.flDir[Math.floor(idx / CHUNK)]![modPow2(idx, CHUNK)];
    return { paddr: v - 1, start: (f & F_START) !== 0, last: (f & F_LAST) !== 0, huge: (f & F_HUGE) !== 0 };
  }

  /** Number of 2 KiB entries stored. */
  countEntries(): number {
    return this.entries;
  }

  /** Moves on every map, unmap, dirty-bit write and free (the storage is private: nothing else writes it). */
  override get storageChanges(): number {
    return this.storeGen;
  }

  /**
   * The storage invariants the fast paths rely on: an empty slot has no
   * flags; a live entry only START, LAST and HUGE; a leaf's count is its live
   * entries and an empty leaf owns no charge; a chunk is held only while a
   * leaf in it lives; the interior node counts are the live children under
   * them; `entries` is the live total.
   */
  override storageProblems(): string[] {
    cover(COV_MockDomain.storageProblems);
    const out: string[] = [];
    const l1 = new Uint16Array(this.l1Cnt.length);
    let total = 0;
    let held = 0;
    for (let c = 0; c < this.flDir.length; c++) {
      const fl = this.flDir[c];
      const pa = this.paDir[c];
      if (fl === undefined || pa === undefined) {
        if (fl !== pa) out.push(`chunk ${c}: entries and flags allocated apart`);
        continue;
      }
      held++;
      let leaves = 0;
      for (let j = 0; j < LEAVES_PER_CHUNK; j++) {
        let live = 0;
        for (let o = j * LEAF; o < (j + 1) * LEAF; o++) {
          if (pa[o] !== 0) {
            live++;
            if ((fl[o] & ~F_MARK & ~F_HUGE & ~F_DIRTY) !== 0) out.push(`entry ${c * CHUNK + o}: flags ${fl[o]}`);
            if (fl[o] & F_DIRTY && !this.dirtyOps) out.push(`entry ${c * CHUNK + o}: dirty in a domain without dirty tracking`);
          } else if (fl[o] !== 0) out.push(`empty slot ${c * CHUNK + o}: flags ${fl[o]}`);
        }
        const leaf = (c * CHUNK) / LEAF + j;
        if (fl[LEAF_CNT + j] !== live) out.push(`leaf ${leaf}: count ${fl[LEAF_CNT + j]}, ${live} live entries`);
        if (live === 0 && fl[LEAF_CNT + j + OWNER_DELTA] !== 0) out.push(`leaf ${leaf}: empty but owns a charge`);
        if (live !== 0) {
          leaves++;
          l1[(leaf * LEAF) >>> L1_SHIFT]++;
        }
        total += live;
      }
      if (leaves === 0) out.push(`chunk ${c}: held with no live leaf`);
    }
    if (held !== this.chunks) out.push(`${held} chunks held, ${this.chunks} counted`);
    if (total !== this.entries) out.push(`${total} live entries, ${this.entries} counted`);
    const l2 = new Int32Array(this.l2Cnt.length);
    for (let i = 0; i < l1.length; i++) {
      if (l1[i] !== this.l1Cnt[i]) out.push(`L1 node ${i}: count ${this.l1Cnt[i]}, ${l1[i]} live leaves`);
      if (l1[i] === 0 && this.l1Owner[i] !== 0) out.push(`L1 node ${i}: gone but owns a charge`);
      if (l1[i] !== 0) l2[(i * L1_SPAN) >>> L2_SHIFT]++;
    }
    for (let i = 0; i < l2.length; i++) {
      if (l2[i] !== this.l2Cnt[i]) out.push(`L2 node ${i}: count ${this.l2Cnt[i]}, ${l2[i]} live L1 nodes`);
      if (l2[i] === 0 && this.l2Owner[i] !== 0) out.push(`L2 node ${i}: gone but owns a charge`);
    }
    return out;
  }

  /** Number of xa_nodes modelled (leaves and the two interior levels). */
  countNodes(): number {
    let n = 0;
    for (let c = 0; c < this.flDir.length; c++) {
      const fl = this.flDir[c];
      if (fl === undefined) continue;
      for (let j = 0; j < LEAVES_PER_CHUNK; j++) if (fl[LEAF_CNT + j] !== 0) n++;
    }
    for (const v of this.l1Cnt) if (v !== 0) n++;
    for (const v of this.l2Cnt) if (v !== 0) n++;
    return n;
  }

  // ---- storage ----

  private load(idx: number): number {
    if (!(idx >= 0 && idx < IDX_END)) return 0;
    const pa = this.paDir[Math.floor(idx / CHUNK)];
    return pa === undefined ? 0 : pa[modPow2(idx, CHUNK)];
  }

  /** Directories of this domain's own in place of the shared empty ones. */
  private ownDirs(): void {
    cover(COV_MockDomain.ownDirs);
    if (this.paDir === NO_CHUNKS) {
      this.paDir = new Array<Float64Array | undefined>(N_CHUNKS).fill(undefined);
      this.flDir = new Array<Uint8Array | undefined>(N_CHUNKS).fill(undefined);
    }
  }

  private allocChunk(c: number): Uint8Array {
    cover(COV_MockDomain.allocChunk);
    this.ownDirs();
    const pooled = chunkPool.pop();
    const fl = pooled?.fl ?? new Uint8Array(FLAG_BYTES);
    this.paDir[c] = pooled?.pa ?? new Float64Array(CHUNK);
    this.flDir[c] = fl;
    this.chunks++;
    return fl;
  }

  private acctId(acct: MemAccounting): number {
    cover(COV_MockDomain.acctId);
    const i = this.accts.indexOf(acct);
    if (i >= 0) return i + 1;
    if (this.accts.length >= 255) {
      this.ctx.warn.warn('mock_domain.memcg_table_full', 'more than 255 memory cgroups charged one domain');
      return 0;
    }
    this.accts.push(acct);
    return this.accts.length;
  }

  /**
   * Create the xa_nodes the store at `idx` needs (its leaf is known to be
   * missing): parents first, as xas_create does. False when a charge fails;
   * nothing stays charged then.
   */
  private createNodes(idx: number, owner: number): boolean {
    cover(COV_MockDomain.createNodes);
    const i1 = Math.floor(idx / L1_SPAN);
    const i2 = Math.floor(idx / L2_SPAN);
    const needL2 = this.l2Cnt[i2] === 0;
    const needL1 = this.l1Cnt[i1] === 0;
    // The kernel's tree has a fourth level (the unmodelled root over 2^24 indexes) while an index at or past
    // 2^18 is present: a store that first goes there makes that root too (xas_expand(), or the top of an
    // empty tree's path in xas_create()). Every index is past 2^13 (the aperture starts at 16 MiB), so a
    // tree is never lower than three levels.
    const l2 = this.l2Cnt;
    const grows = i2 !== 0 && l2[1] === 0 && l2[2] === 0 && l2[3] === 0;
    const faults = this.ctx.faults;
    for (let n = 1 + (needL1 ? 1 : 0) + (needL2 ? 1 : 0) + (grows ? 1 : 0); n > 0; n--) faults.shouldFail(FP_MOCK_PFNS_XA);
    if (owner !== 0) {
      const acct = this.accts[owner - 1];
      const want = 1 + (needL1 ? 1 : 0) + (needL2 ? 1 : 0);
      for (let j = 0; j < want; j++) {
        if (!acct.charge(XA_NODE_SIZE)) {
          if (j !== 0) acct.uncharge(j * XA_NODE_SIZE);
          return false;
        }
      }
    }
    if (needL2) this.l2Owner[i2] = owner;
    if (needL1) {
      this.l1Owner[i1] = owner;
      this.l2Cnt[i2]++;
    }
    this.l1Cnt[i1]++;
    return true;
  }

  private commitAdd(fl: Uint8Array, leafSlot: number, added: number): void {
    cover(COV_MockDomain.commitAdd);
    if (added === 0) return;
    fl[leafSlot] += added;
    this.entries += added;
  }

  /** Account `removed` erased entries of one leaf; free the nodes and chunk that became empty. */
  private commitRemove(c: number, leafSlot: number, idx: number, removed: number): void {
    cover(COV_MockDomain.commitRemove);
    const fl = this.flDir[c]!;
    this.entries -= removed;
    const leafLeft = (fl[leafSlot] -= removed);
    if (leafLeft !== 0) return;
    this.uncharge(fl[leafSlot + OWNER_DELTA]);
    fl[leafSlot + OWNER_DELTA] = 0;
    const i1 = idx >>> L1_SHIFT;
    if (--this.l1Cnt[i1] === 0) {
      this.uncharge(this.l1Owner[i1]);
      this.l1Owner[i1] = 0;
      const i2 = idx >>> L2_SHIFT;
      if (--this.l2Cnt[i2] === 0) {
        this.uncharge(this.l2Owner[i2]);
        this.l2Owner[i2] = 0;
      }
    }
    for (let j = 0; j < LEAVES_PER_CHUNK; j++) if (fl[LEAF_CNT + j] !== 0) return;
    // Every entry, count and owner slot is zero again: the chunk can be reused as it is.
    if (chunkPool.length < CHUNK_POOL_MAX) chunkPool.push({ pa: this.paDir[c]!, fl });
    this.paDir[c] = undefined;
    this.flDir[c] = undefined;
    this.chunks--;
  }

  private uncharge(owner: number): void {
    cover(COV_MockDomain.uncharge);
    if (owner !== 0) this.accts[owner - 1].uncharge(XA_NODE_SIZE);
  }

  /** xa_erase of [from, to) without any checks (map_pages undoing its own stores). */
  private eraseRange(from: number, to: number): void {
    cover(COV_MockDomain.eraseRange);
    this.storeGen++;
    let idx = from;
    while (idx < to) {
      const c = Math.floor(idx / CHUNK);
      const segEnd = Math.min(to, (Math.floor(idx / LEAF) + 1) * LEAF);
      const pa = this.paDir[c];
      const fl = this.flDir[c];
      if (pa !== undefined && fl !== undefined) {
        const off = modPow2(idx, CHUNK);
        const removed = eraseLive(pa, fl, off, off + (segEnd - idx));
        if (removed !== 0) this.commitRemove(c, LEAF_CNT + modPow2(Math.floor(idx / LEAF), LEAVES_PER_CHUNK), idx, removed);
      }
      idx = segEnd;
    }
  }
}

/**
 * One 2 KiB map_pages call into chunk slots [from, to) from `paddr`, made
 * only if every slot is empty (mock_domain_map_pages stores with xa_store and
 * WARNs on an old entry: callers leave that case to the full path). The
 * stores are taken back at the first live entry: false. Else the call's one
 * START/LAST mark (the kernel's single shared bit) on its ends, over flags
 * that are 0 in an empty slot: true.
 */
function storeIfEmpty(pa: Float64Array, fl: Uint8Array, from: number, to: number, paddr: number): boolean {
  let o = from;
  for (let p = paddr + 1; o < to && pa[o] === 0; o++, p += IO) pa[o] = p;
  if (o !== to) {
    for (let k = from; k < o; k++) pa[k] = 0;
    return false;
  }
  fl[from] = F_START;
  fl[to - 1] |= F_LAST;
  return true;
}

/** Erase the live entries of chunk slots [from, to); how many there were. */
function eraseLive(pa: Float64Array, fl: Uint8Array, from: number, to: number): number {
  let removed = 0;
  for (let o = from; o < to; o++) {
    if (pa[o] !== 0) {
      pa[o] = 0;
      fl[o] = 0;
      removed++;
    }
  }
  return removed;
}

/** The page sizes of the default AMDv1 mock: every size the format can hold below its VA and OA limits. */
const AMDV1_MOCK_PGSIZES = bitmapOf(pgsizesLg2(MOCK_AMDV1.topLevel, MOCK_AMDV1.maxVaLg2, MOCK_AMDV1.maxOaLg2));

/** map_range's page-size choices per pgsize_bitmap (a domain only reads them): made once per bitmap. */
const sizesTables = new Map<number, PgsizeTable>();
function sizesTableOf(bitmap: number): PgsizeTable {
  let t = sizesTables.get(bitmap);
  if (t === undefined) {
    t = pgsizeTable(pgsizesOf(bitmap).map(Math.log2));
    sizesTables.set(bitmap, t);
  }
  return t;
}

/** Module-local copies (imported bindings are getters once transpiled): IOMMU_READ | IOMMU_WRITE, the table's OA limit, IR / IW. */
const PROT_RW = IOMMU_READ | IOMMU_WRITE;
const OA_END = 2 ** MOCK_AMDV1.maxOaLg2;
const HI_IR = protHiBits(IOMMU_READ);
const HI_IW = protHiBits(IOMMU_WRITE);

/**
 * The selftest mock domain of 6.19 on (selftest.c mock_domain_alloc_pgtable()):
 * the generic IO page table in the AMDv1 selftest format (generic-pt/).
 *
 * - MOCK_IOMMUPT_DEFAULT (`huge` false): every page size the table has from
 *   2 KiB to 64 GiB (pgsize_bitmap 0x1ffffff800), the mock aperture
 *   [MOCK_APERTURE_START, MOCK_APERTURE_LAST].
 * - MOCK_IOMMUPT_HUGE (`huge` true): pgsize_bitmap MOCK_HUGE_PAGE_SIZE |
 *   PAGE_SIZE and the table's own aperture, [0, 2^38 - 1].
 *
 * The iommu core of 7.2 hands an iommupt domain the whole range (map_range);
 * the core here cuts it into iommu_pgsize() calls first, which picks the same
 * leaves (pt_compute_best_pgsize / pt_pgsz_count choose as iommu_pgsize does)
 * and undoes a failed map the same way. Unlike the xarray mock: no fault point
 * of its own in map (only the table page allocations), no WARN on a missing
 * entry anywhere, map over a present entry is -EADDRINUSE without a WARN, unmap
 * cannot split a leaf (it returns the whole leaf, or nothing when asked to
 * start inside one: the core's iommu_unmap_nofail WARNs), free drops every
 * table page.
 */
export class MockAmdv1Domain extends MockDomain {
  /** The page table: its walk, PTEs and audit are public for inspect/ and tests. */
  readonly pt: Amdv1PageTable;

  constructor(ctx: DomainContext, opts: MockDomainOptions = {}) {
    const huge = opts.huge === true;
    super(ctx, { ...opts, warnIovaToPhysMissing: false }, {
      pgsizeBitmap: huge ? MOCK_HUGE_PAGE_SIZE + CPU_PAGE : AMDV1_MOCK_PGSIZES,
      apertureStart: huge ? 0 : MOCK_APERTURE_START,
      apertureEnd: huge ? 2 ** MOCK_AMDV1.maxVaLg2 - 1 : MOCK_APERTURE_LAST,
    });
    this.pt = new Amdv1PageTable(ctx, MOCK_AMDV1.topLevel, MOCK_AMDV1.maxVaLg2, MOCK_AMDV1.maxOaLg2);
    this.sizes = sizesTableOf(this.pgsizeBitmap);
  }

  /** The page sizes of pgsize_bitmap, for map_range's choices. */
  private readonly sizes: PgsizeTable;

  /**
   * iommu_map() of 7.2 for an iommupt domain: the core hands the whole range
   * to pt_iommu map_range (no iommu_pgsize() cutting, no alignment check of
   * its own: an unaligned range is -ENXIO) and unmaps what it mapped when it
   * fails. The rollback is not counted as a user's unmap.
   */
  override map(iova: number, paddr: number, size: number, prot: number, acct?: MemAccounting): number {
    this.mapCalls++;
    const w = this.ctx.warn;
    if (this.isFreed) {
      w.warn('iommu_map.freed_domain', `map 0x${iova.toString(16)} on a freed domain`);
      return -EINVAL;
    }
    // Not checked by the kernel: iommufd reserves everything outside the aperture (see IommuDomain).
    if (iova < this.apertureStart || iova + size - 1 > this.apertureEnd) {
      w.warn('iommu_map.aperture', `[0x${iova.toString(16)}, +0x${size.toString(16)}) outside the aperture`);
      return -EINVAL;
    }
    // pt_iommu map_range()'s checks, in its order
    if (!(prot & PROT_RW)) {
      w.warn('pt_iommu_map_range.prot', `prot ${prot} neither reads nor writes`);
      return -EINVAL;
    }
    if (paddr >= OA_END) return -ERANGE;
    if (size <= 0) return -EINVAL;
    const pt = this.pt;
    const rc = pt.mapRange(iova, paddr, size, this.sizes, (prot & 1 ? HI_IR : 0) | (prot & 2 ? HI_IW : 0), acct);
    if (rc !== 0 && pt.mapped !== 0) pt.unmapRange(iova, iova + pt.mapped - 1);
    return rc;
  }

  /** iommu_unmap() of 7.2 for an iommupt domain: pt_iommu unmap_range over the whole range. */
  override unmap(iova: number, size: number): number {
    this.unmapCalls++;
    if (this.isFreed) {
      this.ctx.warn.warn('iommu_unmap.freed_domain', `unmap 0x${iova.toString(16)} on a freed domain`);
      return 0;
    }
    return this.pt.unmapRange(iova, iova + size - 1);
  }

  /** pt_iommu map_range for one page size: the checks, then the leaves. */
  protected override mapPages(iova: number, paddr: number, pgsize: number, pgcount: number, prot: number, acct: MemAccounting | undefined): number {
    if (!(prot & PROT_RW)) {
      this.ctx.warn.warn('pt_iommu_map_range.prot', `prot ${prot} neither reads nor writes`);
      return -EINVAL;
    }
    if (paddr >= OA_END) return -ERANGE;
    const rc = this.pt.mapLeaves(iova, paddr, Math.log2(pgsize), pgcount, (prot & 1 ? HI_IR : 0) | (prot & 2 ? HI_IW : 0), acct);
    this.drvMapped += this.pt.mapped;
    return rc;
  }

  protected override mapRunsDrv(_pfns: Uint32Array, _npfns: Uint32Array, from: number): number {
    return from;
  }

  /** pt_iommu unmap_range over the pages asked for: the bytes removed. */
  protected override unmapPages(iova: number, pgsize: number, pgcount: number): number {
    return this.pt.unmapRange(iova, iova + pgsize * pgcount - 1);
  }

  /** pt_iommu iova_to_phys: 0 for a hole, no WARN. */
  protected override iovaToPhysDrv(iova: number): number {
    const pa = this.pt.lookup(iova);
    return pa < 0 ? 0 : pa;
  }

  override peekPhys(iova: number): number {
    return this.pt.lookup(iova);
  }

  /** The table's own loop, unless a subclass reads translations its own way (then peekPhys() one by one). */
  override firstMismatch(first: number, last: number, step: number, phys: number): number {
    if (this.ownPeek) return this.pt.firstMismatch(first, last, step, phys);
    return super.firstMismatch(first, last, step, phys);
  }

  /** peekPhys() is this class's (pt.lookup): pt.firstMismatch() agrees with it. */
  private readonly ownPeek = Object.getPrototypeOf(this).peekPhys === MockAmdv1Domain.prototype.peekPhys;

  /** The table when peekPhys() is its lookup() (callers may then read it with pt.lookupLeaf()), else undefined. */
  get lookupTable(): Amdv1PageTable | undefined {
    return this.ownPeek ? this.pt : undefined;
  }

  protected override freeDrv(): void {
    this.pt.deinit();
  }

  override readPfns(firstIova: number, pageBase: number, count: number, out: Uint32Array, outOff: number): number {
    this.pt.readPfns(firstIova, pageBase, count, out, outOff);
    return count;
  }

  override mappedBytes(): number {
    return this.pt.leafBytes;
  }

  override heapBytes(): number {
    return this.pt.heapBytes();
  }

  /**
   * pt_iommu read_and_clear_dirty. Unlike the xarray mock it does not look at
   * the mock's tracking flag: reading with tracking off is not refused.
   */
  override readAndClearDirty(iova: number, size: number, flags: number, dirty: IommuDirtyBitmap): number {
    return this.pt.readAndClearDirty(iova, size, (flags & IOMMU_DIRTY_NO_CLEAR) === 0, dirty.record);
  }

  /** The same read as NO_CLEAR, with no record_dirty.zero_length WARN (a model-only assertion about a kernel hang). */
  override peekDirty(iova: number, size: number, record: (iova: number, length: number) => void): number {
    return this.dirtyOps ? this.pt.readAndClearDirty(iova, size, false, record, true) : -EINVAL;
  }

  /** set_dirty (IOMMU_TEST_OP_DIRTY's store): 0, or -ENOENT over a hole. */
  setDirty(iova: number): number {
    return this.pt.setDirty(iova);
  }

  /**
   * The test op DIRTY through the xarray mock's interface: entry `idx` of
   * 2 KiB is IOVA idx * 2 KiB. True always: 7.2's iommufd_test_dirty counts
   * every bit it was asked to set, whether set_dirty found an entry or not.
   */
  override markDirty(idx: number): boolean {
    this.setDirty(idx * IO);
    return true;
  }

  override countDirty(): number {
    return this.pt.countDirty();
  }

  /** The 2 KiB page at `iova` as an xarray-mock entry; `huge` when its leaf is 1 MiB or more. */
  override entryAt(iova: number): MockEntry | undefined {
    const base = Math.floor(iova / IO) * IO;
    const leaf = this.pt.leafAt(base);
    if (leaf === undefined) return undefined;
    return { paddr: leaf.oa + (base - leaf.iova), start: false, last: false, huge: leaf.size >= MOCK_HUGE_PAGE_SIZE };
  }

  /** 2 KiB units mapped. */
  override countEntries(): number {
    return this.pt.leafBytes / IO;
  }

  /** Table pages held. */
  override countNodes(): number {
    return this.pt.tables;
  }

  override storageProblems(): string[] {
    return this.pt.problems();
  }

  /** The page table's own count (this mock keeps no storage of the xarray mock's). */
  override get storageChanges(): number {
    return this.pt.changes;
  }

  /** Every leaf, in IOVA order. */
  leaves(): PtLeaf[] {
    return this.pt.leaves();
  }

  /** Every table page. */
  tablePages(): PtTable[] {
    return this.pt.tablePages();
  }
}

/** A domain context that may say which kernel it models (the iommufd environment does). */
interface ProfiledContext extends DomainContext {
  readonly profile?: Pick<Profile, 'mockPageTable'>;
}

/**
 * mock_domain_alloc_paging() (xarray) / mock_domain_alloc_pgtable() (AMDv1):
 * a mock domain for a plain or huge mock device / page-table type, of the
 * kind opts.pageTable names, else the one of the context's profile.
 */
export function createMockDomain(ctx: DomainContext, opts: MockDomainOptions = {}): MockDomain {
  const kind = opts.pageTable ?? (ctx as ProfiledContext).profile?.mockPageTable ?? 'xarray';
  if (kind === 'amdv1') return new MockAmdv1Domain(ctx, opts);
  return new MockDomain(ctx, opts);
}
