// SPDX-License-Identifier: GPL-2.0-only
/**
 * The iommu_domain contract and the part of the iommu core (drivers/iommu/
 * iommu.c) that sits between iommufd and a domain driver: iommu_map,
 * iommu_unmap, iommu_iova_to_phys and iommu_domain_free.
 *
 * The core validates alignment against the smallest page size, cuts the
 * request into driver calls of one page size each (iommu_pgsize), and when a
 * driver call fails it unmaps everything the request had mapped so far. A
 * driver subclass supplies the callbacks (map_pages, unmap_pages,
 * iova_to_phys, free) and the read-back fast path used by the pfn reader.
 *
 * batch_to_domain maps a PFN batch with one iommu_map per run. mapRuns() is
 * that loop's fast path: the runs a driver can map on its common path (one
 * page size, nothing charged, no fault armed) are mapped in one driver loop,
 * each still one counted map call that passes the driver's fault point; the
 * caller maps the first run off that path with map() and carries on. The
 * domain ends as calling map() for every run would leave it.
 *
 * Addresses and sizes are plain numbers: every domain aperture ends below
 * 2^53 and iommufd never hands a domain anything outside its aperture. They
 * are integers but may exceed 2^32: the only bitwise operator applied to them
 * is `>>> 0` (the value mod 2^32) to test alignment to a page size.
 */
import { EINVAL } from '../base/errno.js';
import type { FaultRouter } from '../base/fault.js';
import type { WarnSink } from '../base/warn.js';
import { PAGE_SIZE } from '../mm/constants.js';
import { IOMMU_DIRTY_NO_CLEAR, type IommuDev, type IommuDirtyOps, type IommuOps, type SetDevPasid } from './driver.js';
import { cover, coverSites } from '../base/coverage.js';

/** Protection bits of iommu_map (include/linux/iommu.h). */
export const IOMMU_READ = 1;
export const IOMMU_WRITE = 2;
export const IOMMU_CACHE = 4;
export const IOMMU_NOEXEC = 8;
export const IOMMU_MMIO = 16;

/** What a domain driver needs from the machine. */
export interface DomainContext {
  readonly warn: WarnSink;
  readonly faults: FaultRouter;
}

/** A memory cgroup: what GFP_KERNEL_ACCOUNT allocations are charged to. */
export interface MemAccounting {
  /** Charge `bytes`; false when the cgroup is over its limit (the allocation fails). */
  charge(bytes: number): boolean;
  uncharge(bytes: number): void;
}

/** The fixed properties a driver gives its domain at allocation. */
export interface DomainGeometry {
  /** Supported page sizes, one bit per power of two (may exceed 2^32). */
  readonly pgsizeBitmap: number;
  /** geometry.aperture_start (inclusive). */
  readonly apertureStart: number;
  /** geometry.aperture_end (inclusive). */
  readonly apertureEnd: number;
}

/** The page sizes of a bitmap, ascending. Arithmetic only: bitmaps may exceed 32 bits. */
export function pgsizesOf(bitmap: number): number[] {
  const out: number[] = [];
  if (!Number.isSafeInteger(bitmap) || bitmap <= 0) return out;
  let rest = bitmap;
  for (let p = 1; rest > 0; p *= 2) {
    if (rest % 2 === 1) out.push(p);
    rest = Math.floor(rest / 2);
  }
  return out;
}

/** x is a multiple of the power of two p (division by a power of two is exact; `%` on doubles is a slow fmod). */
export function aligned(x: number, p: number): boolean {
  const q = x / p;
  return Math.floor(q) === q;
}

/**
 * Index into `sizes` of the page size iommu_pgsize picks: the largest
 * supported size that fits in `size` and to which both addresses are aligned.
 * -1 when none fits (the kernel's BUG_ON).
 */
function pickPgsize(sizes: Float64Array, iova: number, paddr: number, size: number): number {
  for (let i = sizes.length - 1; i >= 0; i--) {
    const p = sizes[i];
    if (p <= size && aligned(iova, p) && aligned(paddr, p)) return i;
  }
  return -1;
}

/**
 * How many pages of sizes[i] to hand the driver in one call. Normally all
 * that fit in `size`; but when the next bigger page size could be used once
 * the addresses reach its alignment (iova and paddr congruent modulo it, and
 * at least one whole bigger page would remain), stop at that boundary.
 */
function pgCount(sizes: Float64Array, i: number, iova: number, paddr: number, size: number): number {
  const pgsize = sizes[i];
  if (i + 1 < sizes.length) {
    const next = sizes[i + 1];
    const iovaOff = iova % next;
    if (iovaOff === paddr % next) {
      const toBoundary = next - iovaOff;
      if (toBoundary + next <= size) size = toBoundary;
    }
  }
  return Math.floor(size / pgsize);
}

/** iommu_pgsize(): the page size and page count of the next driver call (for tests and tools). */
export function iommuPgsize(pgsizeBitmap: number, iova: number, paddr: number, size: number): { pgsize: number; count: number } {
  const sizes = Float64Array.from(pgsizesOf(pgsizeBitmap));
  const i = pickPgsize(sizes, iova, paddr, size);
  if (i < 0) return { pgsize: 0, count: 0 };
  return { pgsize: sizes[i], count: pgCount(sizes, i, iova, paddr, size) };
}

/** Coverage sites of IommuDomain's methods (base/coverage.ts). */
const COV_IommuDomain = coverSites('IommuDomain', ['attachDev', 'mapRunsDrv', 'map', 'mapRuns', 'mapRest', 'mapChecked', 'mapLoop', 'unmap', 'firstMismatch', 'free', 'storageProblems', 'unmapRange']);

export abstract class IommuDomain {
  /** domain->type: a paging domain (IOMMU_DOMAIN_UNMANAGED). */
  readonly type = 'UNMANAGED' as const;
  /** domain->owner: the driver ops that allocated it (set by iommufd after domain_alloc_user). */
  owner: IommuOps | undefined;
  /** domain->dirty_ops: present on domains allocated with dirty tracking. */
  dirtyOps: IommuDirtyOps | undefined;
  /** domain_ops->set_dev_pasid, set by the driver that made the domain (absent: no PASID attach, -EOPNOTSUPP). */
  setDevPasid: SetDevPasid | undefined;
  readonly pgsizeBitmap: number;
  readonly apertureStart: number;
  readonly apertureEnd: number;
  /** iommu_map() calls made on this domain by its users (the core's own rollback unmaps are not counted). */
  mapCalls = 0;
  /** iommu_unmap() calls made on this domain by its users. */
  unmapCalls = 0;

  protected readonly ctx: DomainContext;
  /** The driver's `size_t *mapped` out-parameter: mapPages adds every byte it stored, even on failure. */
  protected drvMapped = 0;
  private readonly pgsizes: Float64Array;
  private readonly minPgsize: number;
  /** One supported page size, at most 2^31: the common path of map() applies. */
  private readonly onePgsize: boolean;
  /** minPgsize - 1, and 1 / minPgsize (exact: a power of two). */
  private readonly minMask: number;
  private readonly minInverse: number;
  private freed = false;

  protected constructor(ctx: DomainContext, geometry: DomainGeometry) {
    const sizes = pgsizesOf(geometry.pgsizeBitmap);
    if (sizes.length === 0) throw new RangeError(`bad pgsize bitmap ${geometry.pgsizeBitmap}`);
    const { apertureStart, apertureEnd } = geometry;
    if (!Number.isSafeInteger(apertureStart) || !Number.isSafeInteger(apertureEnd) || apertureStart < 0 || apertureEnd < apertureStart) {
      throw new RangeError(`bad aperture [${apertureStart}, ${apertureEnd}]`);
    }
    this.ctx = ctx;
    this.pgsizeBitmap = geometry.pgsizeBitmap;
    this.apertureStart = apertureStart;
    this.apertureEnd = apertureEnd;
    this.pgsizes = Float64Array.from(sizes);
    this.minPgsize = sizes[0];
    this.onePgsize = sizes.length === 1 && sizes[0] <= 2 ** 31;
    this.minMask = sizes[0] - 1;
    this.minInverse = 1 / sizes[0];
  }

  // ---- driver callbacks (struct iommu_domain_ops) ----

  /** attach_dev: 0, or -errno when the driver refuses the device. */
  attachDev(_dev: IommuDev): number {
    cover(COV_IommuDomain.attachDev);
    return 0;
  }

  /**
   * map_pages: map `pgcount` pages of `pgsize` bytes from iova to paddr.
   * Returns 0 or -errno and adds the bytes it mapped to `this.drvMapped`.
   */
  protected abstract mapPages(iova: number, paddr: number, pgsize: number, pgcount: number, prot: number, acct: MemAccounting | undefined): number;
  /** unmap_pages: returns the bytes unmapped (0 stops the core's loop). */
  protected abstract unmapPages(iova: number, pgsize: number, pgcount: number): number;
  /**
   * The driver's side of mapRuns(): map runs from..end-1 (see mapRuns), each
   * as the one map_pages call of the smallest page size that map() would
   * make, for as long as each can neither fail nor take the driver's general
   * path; count each run's pass of the driver's fault points
   * (faults.passQuiet). Returns the index of the first run not mapped, and
   * sets runsEndIova to its IOVA. Called only with no fault armed, inside
   * the aperture and aligned; the default maps none.
   */
  protected mapRunsDrv(_pfns: Uint32Array, _npfns: Uint32Array, from: number, _end: number, _iova: number, _lastIova: number, _acct: MemAccounting | undefined): number {
    cover(COV_IommuDomain.mapRunsDrv);
    return from;
  }
  /** iova_to_phys, with the driver's own assertions. */
  protected abstract iovaToPhysDrv(iova: number): number;
  /** ops->free. */
  protected abstract freeDrv(): void;

  // ---- the iommu core ----

  /** Where the runs the last mapRuns() mapped end: the IOVA of the first run it left. */
  runsEndIova = 0;

  /** iommu_map(): 0 or -errno. A failed call leaves the domain as it was. */
  map(iova: number, paddr: number, size: number, prot: number, acct?: MemAccounting): number {
    cover(COV_IommuDomain.map);
    this.mapCalls++;
    // The common call, kept small enough to inline: a one-page-size domain,
    // a valid range inside the aperture, one driver call (iommu_pgsize can
    // only pick that size) that maps it all. Anything else takes the full path.
    // Alignment by the low 32 bits (x >>> 0 is x mod 2^32 for integers up to
    // 2^53, and the page size is at most 2^31): cheaper than three divisions.
    if (this.onePgsize && !this.freed && size > 0 && paddr >= 0 && iova >= this.apertureStart && iova + size - 1 <= this.apertureEnd && (((iova >>> 0) | (paddr >>> 0) | (size >>> 0)) & this.minMask) === 0) {
      this.drvMapped = 0;
      const ret = this.mapPages(iova, paddr, this.minPgsize, size * this.minInverse, prot, acct);
      if (ret === 0 && this.drvMapped === size) return 0;
      return this.mapRest(iova, paddr, size, prot, acct, ret, this.drvMapped);
    }
    return this.mapChecked(iova, paddr, size, prot, acct);
  }

  /**
   * batch_to_domain's iommu_map() calls for runs from..end-1 of a PFN batch:
   * run k maps npfns[k] CPU pages from frame pfns[k], the runs at consecutive
   * IOVAs from `iova` (page aligned), the last cut at `lastIova`. Maps as many
   * leading runs as the driver can on its common path, each counted as one
   * map call, and returns the index of the first run not mapped, which the
   * caller maps with map(). None when a fault is armed (every point must be
   * offered to fail_nth one by one), off the one-page-size path, or when a
   * run could leave the aperture. runsEndIova is left at the IOVA of that
   * run.
   */
  mapRuns(pfns: Uint32Array, npfns: Uint32Array, from: number, end: number, iova: number, lastIova: number, acct?: MemAccounting): number {
    cover(COV_IommuDomain.mapRuns);
    this.runsEndIova = iova;
    if (!this.onePgsize || this.freed || this.minPgsize > PAGE_SIZE || !this.ctx.faults.quiet()) return from;
    // Every run starts on a frame and at a multiple of PAGE_SIZE from iova;
    // only the cut at lastIova + 1 can leave the smallest page size.
    if (iova < this.apertureStart || lastIova > this.apertureEnd || ((iova >>> 0) & this.minMask) !== 0 || (((lastIova + 1) >>> 0) & this.minMask) !== 0) return from;
    const to = this.mapRunsDrv(pfns, npfns, from, end, iova, lastIova, acct);
    this.mapCalls += to - from;
    return to;
  }

  /** The rest of iommu_map() after a first driver call that returned `ret` having mapped `mapped` bytes. */
  private mapRest(iova: number, paddr: number, size: number, prot: number, acct: MemAccounting | undefined, ret: number, mapped: number): number {
    cover(COV_IommuDomain.mapRest);
    let rest = size - mapped;
    if (ret === 0 && mapped === 0) {
      this.ctx.warn.warn('iommu_map.no_progress', `driver mapped nothing at 0x${iova.toString(16)}`);
      ret = -EINVAL;
    }
    if (ret === 0 && rest > 0) {
      ret = this.mapLoop(iova + mapped, paddr + mapped, rest, prot, acct);
      rest = this.loopRest;
    }
    if (ret !== 0) this.unmapRange(iova, size - rest);
    return ret;
  }

  /** iommu_map() with every check, for calls off the common path. */
  private mapChecked(iova: number, paddr: number, size: number, prot: number, acct: MemAccounting | undefined): number {
    cover(COV_IommuDomain.mapChecked);
    if (this.freed) {
      this.ctx.warn.warn('iommu_map.freed_domain', `map 0x${iova.toString(16)} on a freed domain`);
      return -EINVAL;
    }
    const min = this.minPgsize;
    if (paddr < 0 || size < 0 || !aligned(iova, min) || !aligned(paddr, min) || !aligned(size, min)) return -EINVAL;
    if (size === 0) return 0;
    // Not checked by iommu.c: iommufd reserves everything outside the
    // aperture, so reaching this is a bug of the model's iommufd layer.
    if (iova < this.apertureStart || iova + size - 1 > this.apertureEnd) {
      this.ctx.warn.warn('iommu_map.aperture', `[0x${iova.toString(16)}, +0x${size.toString(16)}) outside the aperture`);
      return -EINVAL;
    }
    const ret = this.mapLoop(iova, paddr, size, prot, acct);
    if (ret !== 0) this.unmapRange(iova, size - this.loopRest);
    return ret;
  }

  /** What mapLoop() left unmapped when it stopped. */
  private loopRest = 0;

  /** __iommu_map()'s loop: one driver call per page size run until `size` is mapped or one fails (no rollback here). */
  private mapLoop(iova: number, paddr: number, size: number, prot: number, acct: MemAccounting | undefined): number {
    cover(COV_IommuDomain.mapLoop);
    const min = this.minPgsize;
    const sizes = this.pgsizes;
    const single = sizes.length === 1;
    let cur = iova;
    let pa = paddr;
    let rest = size;
    let ret = 0;
    while (rest > 0) {
      let pgsize = min;
      let count = rest / min;
      if (!single) {
        const i = pickPgsize(sizes, cur, pa, rest);
        pgsize = sizes[i];
        count = pgCount(sizes, i, cur, pa, rest);
      }
      this.drvMapped = 0;
      ret = this.mapPages(cur, pa, pgsize, count, prot, acct);
      const mapped = this.drvMapped;
      rest -= mapped;
      if (ret !== 0) break;
      if (mapped === 0) {
        this.ctx.warn.warn('iommu_map.no_progress', `driver mapped nothing at 0x${cur.toString(16)}`);
        ret = -EINVAL;
        break;
      }
      cur += mapped;
      pa += mapped;
    }
    this.loopRest = rest;
    return ret;
  }

  /** iommu_unmap(): bytes unmapped; 0 for an unaligned request. */
  unmap(iova: number, size: number): number {
    cover(COV_IommuDomain.unmap);
    this.unmapCalls++;
    if (this.freed) {
      this.ctx.warn.warn('iommu_unmap.freed_domain', `unmap 0x${iova.toString(16)} on a freed domain`);
      return 0;
    }
    return this.unmapRange(iova, size);
  }

  /** iommu_iova_to_phys(). */
  iovaToPhys(iova: number): number {
    return this.iovaToPhysDrv(iova);
  }

  /** Model-only lookup for audits and test commands: the phys address at iova, or -1, without any WARN. */
  abstract peekPhys(iova: number): number;

  /**
   * Model-only, for snapshots: what read_and_clear_dirty() with
   * IOMMU_DIRTY_NO_CLEAR would record over [iova, iova + size), without any
   * WARN and without moving storageChanges (nothing is written). 0, or the
   * read's negative errno (no dirty ops: -EINVAL).
   */
  peekDirty(iova: number, size: number, record: (iova: number, length: number) => void): number {
    return this.dirtyOps ? this.dirtyOps.readAndClearDirty(iova, size, IOMMU_DIRTY_NO_CLEAR, { record }) : -EINVAL;
  }

  /**
   * Model-only, for the audit: the first iova of first, first + step, ...
   * up to `last` whose peekPhys() is not phys + (iova - first); -1 when
   * none. A driver may read its storage in place, as peekPhys() would.
   */
  firstMismatch(first: number, last: number, step: number, phys: number): number {
    cover(COV_IommuDomain.firstMismatch);
    for (let iova = first; iova <= last; iova += step) {
      if (this.peekPhys(iova) !== phys + (iova - first)) return iova;
    }
    return -1;
  }

  /**
   * The pfn reader's read-back (batch_from_domain): out[outOff + k] is the PFN
   * at `firstIova` for k = 0 and at `pageBase + k * PAGE_SIZE` after. Returns
   * `count`; a page that is not mapped reads as PFN 0, as iova_to_phys returning 0 would give.
   */
  abstract readPfns(firstIova: number, pageBase: number, count: number, out: Uint32Array, outOff: number): number;

  /** iommu_domain_free(). */
  free(): void {
    cover(COV_IommuDomain.free);
    if (this.freed) {
      this.ctx.warn.warn('iommu_domain_free.double_free', 'domain freed twice');
      return;
    }
    this.freed = true;
    this.freeDrv();
  }

  /** True once free() ran. */
  get isFreed(): boolean {
    return this.freed;
  }

  /** Bytes of IOVA currently mapped. */
  abstract mappedBytes(): number;
  /** Approximate heap bytes held by the IO page table storage. */
  abstract heapBytes(): number;

  /**
   * Model-only, for the audit: the invariants of the driver's own storage
   * that do not hold (its fast paths rely on them), one line each. None by
   * default.
   */
  storageProblems(): string[] {
    cover(COV_IommuDomain.storageProblems);
    return [];
  }

  /**
   * Model-only, for audit memos: a count the driver moves on every change to
   * what peekPhys() and storageProblems() read. NaN (never equal to itself)
   * for a driver that does not count: its domain is audited every time.
   */
  get storageChanges(): number {
    return Number.NaN;
  }

  /** The smallest supported page size (iova_alignment contribution). */
  get minPageSize(): number {
    return this.minPgsize;
  }

  /** __iommu_unmap(): the uncounted unmap also used to undo a failed map. */
  private unmapRange(iova: number, size: number): number {
    cover(COV_IommuDomain.unmapRange);
    const min = this.minPgsize;
    if (iova < 0 || size < 0 || !aligned(iova, min) || !aligned(size, min)) return 0;
    const sizes = this.pgsizes;
    const single = sizes.length === 1;
    let unmapped = 0;
    while (unmapped < size) {
      const left = size - unmapped;
      let got: number;
      if (single) {
        got = this.unmapPages(iova, min, left / min);
      } else {
        const i = pickPgsize(sizes, iova, iova, left);
        got = this.unmapPages(iova, sizes[i], pgCount(sizes, i, iova, iova, left));
      }
      if (got === 0) break;
      iova += got;
      unmapped += got;
    }
    return unmapped;
  }
}
