// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct io_pagetable (io_pagetable.c): the IOVA space of an IOAS. Three byte
 * interval trees (areas, allowed ranges, reserved ranges), the dense list of
 * attached domains every area is mirrored into, and the in-kernel accesses.
 * IOVAs are u64 bigint here; page indexes are numbers.
 */
import { EADDRINUSE, EBUSY, EDEADLOCK, EEXIST, EINVAL, ENOENT, ENOMEM, ENOSPC, EOPNOTSUPP, EOVERFLOW, EPERM } from '../base/errno.js';
import { xaNodesNeeded } from '../base/xarray.js';
import { faultPoint } from '../base/fault.js';
import { DoubleSpanIter, IntervalNode, IntervalTree, SpanIter } from '../base/interval-tree.js';
import { XArrayAlloc } from '../base/xarray.js';
import { ULONG_MAX, alignUpWrap, checkedAdd, lowestBit, roundupPowOfTwo } from '../base/u64.js';
import { type IommuDomain, IOMMU_WRITE } from '../iommu/domain.js';
import { PAGE_SIZE } from '../mm/constants.js';
import { IoptArea, areaStartByte } from './area.js';
import { type IommufdEnv, type KernelAllocation, kernelAlloc, kernelFree } from './env.js';
import { IovaBitmap } from './iova-bitmap.js';
import {
  type IoptPages,
  IOPT_PAGES_ACCOUNT_MM,
  IOPT_PAGES_ACCOUNT_USER,
  allocPages,
  areaFillDomain,
  areaFillDomains,
  areaUnfillDomain,
  areaUnfillDomains,
  areaUnmapDomain,
  dmabufRevoked,
  dmabufTrackDomain,
  dmabufUntrackDomain,
  isDmabufPages,
  pagesAddressBase,
  putPages,
} from './pages.js';
import { cover, coverSites } from '../base/coverage.js';

const BIG_PAGE = BigInt(PAGE_SIZE);
/** HPAGE_SIZE on x86-64 with THP: the cap on automatic IOVA alignment (v6.11). */
const HPAGE_SIZE = 2n * 1024n * 1024n;

/** IOPT_ALLOC_IOVA: choose the IOVA (MAP without IOMMU_IOAS_MAP_FIXED_IOVA). */
export const IOPT_ALLOC_IOVA = 1 << 0;

export const FP_AREA_ALLOC = faultPoint('kzalloc.iopt_area', 'slab');
export const FP_RESERVED_ALLOC = faultPoint('kzalloc.iopt_reserved', 'slab');
export const FP_PAGES_LIST_ALLOC = faultPoint('kzalloc.iopt_pages_list', 'slab');
export const FP_DOMAINS_XA = faultPoint('xa_reserve.iopt_domains', 'atomic');
/** iopt_add_access()'s xa_alloc() into access_list: its nodes, made under the xarray's lock (tolerated, see xaNodesNeeded()). */
export const FP_ACCESS_LIST_XA = faultPoint('xa_alloc.iopt_access_list', 'atomic');
const SIZEOF_IOPT_AREA = 152;
const SIZEOF_IOPT_RESERVED = 56;
const SIZEOF_IOPT_PAGES_LIST = 48;

/** What io_pagetable needs of an iommufd_access registered on it. */
export interface IoptAccessUser {
  readonly iovaAlignment: number;
  /** iommufd_lock_obj(): false while the access is being destroyed. */
  isAlive(): boolean;
  /** ops->unmap(): the driver must unpin everything it pinned in the range. */
  notifyUnmap(iova: bigint, length: bigint): void;
}

export class IoptReserved {
  readonly node: IntervalNode<bigint, IoptReserved>;
  constructor(start: bigint, last: bigint, readonly owner: unknown, readonly alloc: KernelAllocation | undefined) {
    this.node = new IntervalNode<bigint, IoptReserved>(start, last, this);
  }
}

export class IoptAllowed {
  readonly node: IntervalNode<bigint, IoptAllowed>;
  constructor(start: bigint, last: bigint) {
    this.node = new IntervalNode<bigint, IoptAllowed>(start, last, this);
  }
}

/** struct iopt_pages_list: one element of a COPY source or of a MAP. */
export interface PagesListElm {
  pages: IoptPages | undefined;
  area: IoptArea | undefined;
  startByte: bigint;
  length: bigint;
  alloc?: KernelAllocation | undefined;
}

/** struct iopt_area_contig_iter */
export class AreaContigIter {
  curIova = 0n;
  lastIova = 0n;
  area: IoptArea | undefined;

  constructor(private readonly iopt: IoPagetable) {}

  init(iova: bigint, last: bigint): IoptArea | undefined {
    this.curIova = iova;
    this.lastIova = last;
    this.area = this.iopt.areaItree.iterFirst(iova, iova)?.owner;
    if (this.area && !this.area.pages) this.area = undefined;
    return this.area;
  }

  next(): IoptArea | undefined {
    const area = this.area;
    if (!area) return undefined;
    if (this.lastIova <= area.lastIova) return undefined;
    this.curIova = area.lastIova + 1n;
    const n = this.iopt.areaItree.iterNext(area.node, this.curIova, this.lastIova);
    this.area = n?.owner;
    if (this.area && (this.curIova !== this.area.iova || !this.area.pages)) this.area = undefined;
    return this.area;
  }

  /** iopt_area_contig_done() */
  done(): boolean {
    return this.area !== undefined && this.lastIova <= this.area.lastIova;
  }
}

/** Coverage sites of IoPagetable's methods (base/coverage.ts). */
const COV_IoPagetable = coverSites('IoPagetable', ['checkRange', 'allocIova', 'checkIova', 'insertArea', 'abortArea', 'allocAreaPages', 'fillDomainsPages', 'mapPages', 'freePagesList', 'mapUserPages', 'mapCommon', 'getPages', 'unmapIovaRange', 'unmapIova', 'unmapAll', 'notifyUnmap', 'areaSplit', 'cutIova', 'reserveIova', 'removeReservedIova', 'setAllowIova', 'checkIovaAlignment', 'calculateIovaAlignment', 'disableLargePagesOp', 'enableLargePagesOp', 'fillDomain', 'addDomain', 'removeDomain', 'unfillDomain', 'addAccess', 'removeAccess', 'destroy']);

export class IoPagetable {
  /** Dense: domains[0 .. next_domain_id-1]. */
  readonly domains: IommuDomain[] = [];
  /**
   * iopt->domains has a node (not just its head): a reservation makes one
   * even for index 0 (a zero entry never sits in the head), and it stays
   * until an erase leaves one entry or none (xas_shrink()). Only what
   * fail-nth counts depends on it (the node allocations of xa_reserve()).
   */
  private domainsRoot = false;
  readonly accessList = new XArrayAlloc<IoptAccessUser>();
  readonly areaItree = new IntervalTree<bigint, IoptArea>(1n);
  allowedItree = new IntervalTree<bigint, IoptAllowed>(1n);
  readonly reservedItree = new IntervalTree<bigint, IoptReserved>(1n);
  disableLargePages = false;
  iovaAlignment = 1;

  constructor(readonly env: IommufdEnv) {}

  areaIterFirst(start: bigint, last: bigint): IoptArea | undefined {
    return this.areaItree.iterFirst(start, last)?.owner;
  }

  areaIterNext(area: IoptArea, start: bigint, last: bigint): IoptArea | undefined {
    return this.areaItree.iterNext(area.node, start, last)?.owner;
  }

  /** Every area in IOVA order (snapshot, so callers may change the tree). */
  areas(): IoptArea[] {
    const out: IoptArea[] = [];
    for (let a = this.areaIterFirst(0n, ULONG_MAX); a; a = this.areaIterNext(a, 0n, ULONG_MAX)) out.push(a);
    return out;
  }

  // -------------------------------------------------------------------------
  // IOVA allocation

  /** __alloc_iova_check_range(): align a candidate start; returns the start or undefined. */
  private checkRange(start: bigint, last: bigint, length: bigint, align: bigint, pageOffset: bigint): bigint | undefined {
    cover(COV_IoPagetable.checkRange);
    if (this.env.profile.autoIovaCheckedAlign) {
      const up = checkedAdd(start, align - 1n);
      if (up === undefined) return undefined;
      const s = (up & ~(align - 1n)) | pageOffset;
      if (s >= last || last - s < length - 1n) return undefined;
      return s;
    }
    // v6.5: plain modular ALIGN(), which can wrap near the top of the space.
    const s = alignUpWrap(start, align) | pageOffset;
    if (s > last || last - s < length - 1n) return undefined;
    return s;
  }

  /** iopt_alloc_iova(): lowest-address first fit honouring allowed and reserved ranges. */
  allocIova(addr: bigint, length: bigint): bigint | number {
    cover(COV_IoPagetable.allocIova);
    const pageOffset = addr % BIG_PAGE;
    if (length === 0n || length >= ULONG_MAX / 2n) return -EOVERFLOW;
    let align = roundupPowOfTwo(length);
    if (addr !== 0n) {
      const low = 1n << BigInt(lowestBit(addr));
      if (low < align) align = low;
    }
    if (this.env.profile.autoIovaAlignCap && align >= HPAGE_SIZE) align = HPAGE_SIZE;
    if (align < BigInt(this.iovaAlignment)) return -EINVAL;

    const allowedEmpty = this.allowedItree.isEmpty();
    const allowed = new SpanIter<bigint>();
    const used = new DoubleSpanIter<bigint>();
    for (allowed.first(this.allowedItree, BIG_PAGE, ULONG_MAX - BIG_PAGE); !allowed.done(); allowed.next()) {
      let aStart: bigint;
      let aLast: bigint;
      if (allowedEmpty) {
        aStart = BIG_PAGE;
        aLast = ULONG_MAX - BIG_PAGE;
      } else {
        if (allowed.isHole) continue;
        aStart = allowed.startUsed;
        aLast = allowed.lastUsed;
      }
      if (aLast - aStart < length - 1n) continue;
      const s = this.checkRange(aStart, aLast, length, align, pageOffset);
      if (s === undefined) continue;
      for (used.first(this.reservedItree, this.areaItree, s, aLast); !used.done(); used.next()) {
        if (used.isUsed !== 0 || used.last - used.start < length - 1n) continue;
        const hs = this.checkRange(used.start, used.last, length, align, pageOffset);
        if (hs !== undefined) return hs;
      }
      if (allowedEmpty) break;
    }
    return -ENOSPC;
  }

  /** iopt_check_iova(): validate a fixed IOVA. */
  checkIova(iova: bigint, length: bigint): number {
    cover(COV_IoPagetable.checkIova);
    if (iova % BigInt(this.iovaAlignment) !== 0n) return -EINVAL;
    const last = checkedAdd(iova, length - 1n);
    if (last === undefined) return -EOVERFLOW;
    if (this.reservedItree.iterFirst(iova, last)) return -EINVAL;
    if (this.areaItree.iterFirst(iova, last)) return -EEXIST;
    return 0;
  }

  /** iopt_insert_area(): reserve the IOVA range for an area whose pages are not set yet. */
  private insertArea(area: IoptArea, pages: IoptPages, iova: bigint, startByte: bigint, length: bigint, prot: number): number {
    cover(COV_IoPagetable.insertArea);
    if (prot & IOMMU_WRITE && !pages.writable) return -EPERM;
    area.iommuProt = prot;
    const pageOffset = Number(startByte & 0xfffn);
    area.pageOffset = pageOffset;
    if (pageOffset % this.iovaAlignment !== 0) return -EINVAL;
    if (checkedAdd(iova, length - 1n) === undefined) return -EOVERFLOW;
    const lastByte = checkedAdd(startByte, length - 1n);
    if (lastByte === undefined) return -EOVERFLOW;
    if (this.env.warn.on(lastByte / BIG_PAGE >= BigInt(pages.npages), 'iopt_insert_area.npages')) return -EOVERFLOW;
    area.setRange(iova, startByte, length);
    area.iopt = this;
    this.areaItree.insert(area.node);
    return 0;
  }

  /** iopt_abort_area(): drop an area that never got (or has lost) its pages. */
  abortArea(area: IoptArea, alloc: KernelAllocation | undefined): void {
    cover(COV_IoPagetable.abortArea);
    this.env.warn.testOn(area.pages !== undefined, 'iopt_abort_area.pages');
    if (area.iopt && area.node.inTree) this.areaItree.remove(area.node);
    kernelFree(alloc);
  }

  /** iopt_alloc_area_pages(): allocate areas for the list and place them at the IOVA. */
  private allocAreaPages(list: PagesListElm[], length: bigint, iova: { value: bigint }, prot: number, flags: number): number {
    cover(COV_IoPagetable.allocAreaPages);
    for (const elm of list) {
      const alloc = kernelAlloc(this.env, FP_AREA_ALLOC, SIZEOF_IOPT_AREA, true);
      if (!alloc) return -ENOMEM;
      elm.area = new IoptArea();
      elm.area.alloc = alloc;
    }
    if (length % BigInt(this.iovaAlignment) !== 0n || length === 0n) return -EINVAL;
    if (flags & IOPT_ALLOC_IOVA) {
      const first = list[0];
      const r = this.allocIova(pagesAddressBase(first.pages!) + first.startByte, length);
      if (typeof r === 'number') return r;
      iova.value = r;
      if (this.env.warn.testOn(this.checkIova(r, length) !== 0, 'iopt_alloc_area_pages.check_iova', `auto IOVA 0x${r.toString(16)}`)) return -EINVAL;
    } else {
      const rc = this.checkIova(iova.value, length);
      if (rc) return rc;
    }
    let cur = iova.value;
    for (const elm of list) {
      const rc = this.insertArea(elm.area!, elm.pages!, cur, elm.startByte, elm.length, prot);
      if (rc) return rc;
      cur += elm.length;
    }
    return 0;
  }

  /** iopt_fill_domains_pages() */
  private fillDomainsPages(list: PagesListElm[]): number {
    cover(COV_IoPagetable.fillDomainsPages);
    for (let i = 0; i < list.length; i++) {
      const rc = areaFillDomains(this.env, list[i].area!, list[i].pages!);
      if (rc) {
        for (let j = 0; j < i; j++) areaUnfillDomains(this.env, list[j].area!, list[j].pages!);
        return rc;
      }
    }
    return 0;
  }

  /**
   * iopt_map_pages(): map a pages list at `iova` (chosen when IOPT_ALLOC_IOVA).
   * On success the list's pages references move into the areas.
   */
  mapPages(list: PagesListElm[], length: bigint, iova: { value: bigint }, prot: number, flags: number): number {
    cover(COV_IoPagetable.mapPages);
    let rc = this.allocAreaPages(list, length, iova, prot, flags);
    if (rc) return rc;
    rc = this.fillDomainsPages(list);
    if (rc) return rc;
    for (const elm of list) {
      elm.area!.pages = elm.pages;
      elm.pages = undefined;
      elm.area = undefined;
    }
    return 0;
  }

  /** iopt_free_pages_list() */
  freePagesList(list: PagesListElm[]): void {
    cover(COV_IoPagetable.freePagesList);
    for (const elm of list) {
      if (elm.area) this.abortArea(elm.area, elm.area.alloc);
      if (elm.pages) putPages(this.env, elm.pages);
      kernelFree(elm.alloc);
    }
    list.length = 0;
  }

  /**
   * iopt_map_user_pages(): map user memory [uptr, uptr+length). Returns 0 and
   * sets iova.value, or -errno with nothing changed.
   */
  mapUserPages(accountModeMm: boolean, iova: { value: bigint }, uptr: bigint, length: bigint, prot: number, flags: number): number {
    cover(COV_IoPagetable.mapUserPages);
    const pages = allocPages(this.env, uptr, length, (prot & IOMMU_WRITE) !== 0);
    if (typeof pages === 'number') return pages;
    if (accountModeMm && pages.accountMode === IOPT_PAGES_ACCOUNT_USER) pages.accountMode = IOPT_PAGES_ACCOUNT_MM;
    const elm: PagesListElm = { pages, area: undefined, startByte: uptr - pages.uptr, length };
    const list = [elm];
    const rc = this.mapPages(list, length, iova, prot, flags);
    if (rc) {
      if (elm.area) this.abortArea(elm.area, elm.area.alloc);
      if (elm.pages) putPages(this.env, elm.pages);
      return rc;
    }
    return 0;
  }

  /**
   * iopt_map_common() for a pages object already made (MAP_FILE): map it at
   * `iova`; on failure the pages reference is dropped and nothing changed.
   */
  mapCommon(accountModeMm: boolean, pages: IoptPages, iova: { value: bigint }, length: bigint, startByte: number, prot: number, flags: number): number {
    cover(COV_IoPagetable.mapCommon);
    if (accountModeMm && pages.accountMode === IOPT_PAGES_ACCOUNT_USER) pages.accountMode = IOPT_PAGES_ACCOUNT_MM;
    const elm: PagesListElm = { pages, area: undefined, startByte: BigInt(startByte), length };
    const rc = this.mapPages([elm], length, iova, prot, flags);
    if (rc) {
      if (elm.area) this.abortArea(elm.area, elm.area.alloc);
      if (elm.pages) putPages(this.env, elm.pages);
    }
    return rc;
  }

  /** iopt_get_pages(): reference the pages under [iova, iova+length) (COPY source). */
  getPages(iova: bigint, length: bigint, list: PagesListElm[]): number {
    cover(COV_IoPagetable.getPages);
    if (length === 0n) return -EINVAL;
    const last = checkedAdd(iova, length - 1n);
    if (last === undefined) return -EOVERFLOW;
    const it = new AreaContigIter(this);
    for (let area = it.init(iova, last); area; area = it.next()) {
      const areaLast = last < area.lastIova ? last : area.lastIova;
      const alloc = kernelAlloc(this.env, FP_PAGES_LIST_ALLOC, SIZEOF_IOPT_PAGES_LIST, true);
      if (!alloc) {
        this.freePagesList(list);
        return -ENOMEM;
      }
      area.pages!.refs++;
      list.push({ pages: area.pages, area: undefined, startByte: areaStartByte(area, it.curIova), length: areaLast - it.curIova + 1n, alloc });
    }
    if (!it.done()) {
      this.freePagesList(list);
      return -ENOENT;
    }
    return 0;
  }

  // -------------------------------------------------------------------------
  // Unmap

  /**
   * iopt_unmap_iova_range(): unmap every area inside [start, last]. Areas are
   * never split; earlier whole areas stay unmapped when a later one fails.
   */
  unmapIovaRange(start: bigint, last: bigint, unmapped: { value: bigint }): number {
    cover(COV_IoPagetable.unmapIovaRange);
    const p = this.env.profile;
    let rc = p.unmapEmptyRangeOk ? 0 : -ENOENT;
    let unmappedBytes = 0n;
    let tries = 0;
    let area: IoptArea | undefined;
    out: {
      while ((area = this.areaIterFirst(start, last))) {
        const areaFirst = area.iova;
        const areaLast = area.lastIova;
        if (!area.pages) {
          rc = -EBUSY;
          break out;
        }
        // locked by an internal access (a HW queue) not destroyed yet
        if (area.numLocks) {
          rc = -EBUSY;
          break out;
        }
        if (areaFirst < start || areaLast > last) {
          rc = -ENOENT;
          break out;
        }
        if (areaFirst !== start) tries = 0;
        if (area.numAccesses) {
          start = areaFirst;
          area.preventAccess = true;
          this.notifyUnmap(areaFirst, area.length);
          tries++;
          if (!p.unmapRetryLimit) {
            // v6.2-6.4: one round of notifications must have released every pin.
            if (this.env.warn.on(area.numAccesses !== 0, 'iopt_unmap_iova_range.accesses')) return -EDEADLOCK;
            continue;
          }
          if (this.env.warn.on(tries > 100, 'iopt_unmap_iova_range.tries')) {
            if (p.deadlockReportsUnmapped) unmapped.value = unmappedBytes;
            return -EDEADLOCK;
          }
          continue;
        }
        const pages = area.pages;
        area.pages = undefined;
        areaUnfillDomains(this.env, area, pages);
        this.abortArea(area, area.alloc);
        putPages(this.env, pages);
        unmappedBytes += areaLast - areaFirst + 1n;
        if (p.unmapAdvancesStart) {
          if (areaLast >= last) break;
          start = areaLast + 1n;
        }
      }
      if (!p.unmapEmptyRangeOk && unmappedBytes) rc = 0;
    }
    unmapped.value = unmappedBytes;
    return rc;
  }

  /** iopt_unmap_iova() */
  unmapIova(iova: bigint, length: bigint, unmapped: { value: bigint }): number {
    cover(COV_IoPagetable.unmapIova);
    if (length === 0n) return -EINVAL;
    const last = checkedAdd(iova, length - 1n);
    if (last === undefined) return -EOVERFLOW;
    return this.unmapIovaRange(iova, last, unmapped);
  }

  /** iopt_unmap_all() */
  unmapAll(unmapped: { value: bigint }): number {
    cover(COV_IoPagetable.unmapAll);
    const rc = this.unmapIovaRange(0n, ULONG_MAX, unmapped);
    return rc === -ENOENT ? 0 : rc;
  }

  /** iommufd_access_notify_unmap(): ask every live access to drop pins in the range. */
  private notifyUnmap(iova: bigint, length: bigint): void {
    cover(COV_IoPagetable.notifyUnmap);
    for (const [, access] of [...this.accessList.entries()]) {
      if (!access.isAlive()) continue;
      access.notifyUnmap(iova, length);
    }
  }

  // -------------------------------------------------------------------------
  // VFIO type1 v1 splitting

  /** iopt_area_split(): make `iova` the last byte of the left part of its area. */
  private areaSplit(area: IoptArea, iova: bigint): number {
    cover(COV_IoPagetable.areaSplit);
    const alignment = BigInt(this.iovaAlignment);
    const startIova = area.iova;
    const lastIova = area.lastIova;
    const newStart = iova + 1n;
    const pages = area.pages;
    if (iova === startIova || iova === lastIova) return 0;
    if (!pages || area.preventAccess) return -EBUSY;
    // Keeping the dma-buf's domain tracking right across a split is not done.
    if (isDmabufPages(pages)) return -EOPNOTSUPP;
    if (newStart % alignment !== 0n || areaStartByte(area, newStart) % alignment !== 0n) return -EINVAL;
    const lhsAlloc = kernelAlloc(this.env, FP_AREA_ALLOC, SIZEOF_IOPT_AREA, true);
    if (!lhsAlloc) return -ENOMEM;
    const rhsAlloc = kernelAlloc(this.env, FP_AREA_ALLOC, SIZEOF_IOPT_AREA, true);
    if (!rhsAlloc) {
      kernelFree(lhsAlloc);
      return -ENOMEM;
    }
    if (area.numAccesses || (area.storageDomain && !this.disableLargePages)) {
      kernelFree(lhsAlloc);
      kernelFree(rhsAlloc);
      return -EINVAL;
    }
    const lhs = new IoptArea();
    const rhs = new IoptArea();
    lhs.alloc = lhsAlloc;
    rhs.alloc = rhsAlloc;
    this.areaItree.remove(area.node);
    let rc = this.insertArea(lhs, pages, startIova, areaStartByte(area, startIova), newStart - startIova, area.iommuProt);
    if (this.env.warn.on(rc !== 0, 'iopt_area_split.insert_lhs')) {
      this.areaItree.insert(area.node);
      return rc;
    }
    rc = this.insertArea(rhs, pages, newStart, areaStartByte(area, newStart), lastIova - newStart + 1n, area.iommuProt);
    if (this.env.warn.on(rc !== 0, 'iopt_area_split.insert_rhs')) {
      this.areaItree.remove(lhs.node);
      this.areaItree.insert(area.node);
      return rc;
    }
    // v6.7 fix (stable 6.5.13): the halves replace the old node in domains_itree.
    if (area.storageDomain) {
      pages.domainsItree.remove(area.pagesNode);
      pages.domainsItree.insert(lhs.pagesNode);
      pages.domainsItree.insert(rhs.pagesNode);
    }
    lhs.storageDomain = area.storageDomain;
    rhs.storageDomain = area.storageDomain;
    lhs.pages = pages;
    rhs.pages = pages;
    pages.refs++;
    kernelFree(area.alloc);
    return 0;
  }

  /** iopt_cut_iova(): split at each IOVA that falls inside an area. */
  cutIova(iovas: bigint[]): number {
    cover(COV_IoPagetable.cutIova);
    for (const iova of iovas) {
      const area = this.areaIterFirst(iova, iova);
      if (!area) continue;
      const rc = this.areaSplit(area, iova);
      if (rc) return rc;
    }
    return 0;
  }

  // -------------------------------------------------------------------------
  // Reserved and allowed ranges, alignment

  /** iopt_reserve_iova() */
  reserveIova(start: bigint, last: bigint, owner: unknown): number {
    cover(COV_IoPagetable.reserveIova);
    if (this.areaItree.iterFirst(start, last) || this.allowedItree.iterFirst(start, last)) return -EADDRINUSE;
    const alloc = kernelAlloc(this.env, FP_RESERVED_ALLOC, SIZEOF_IOPT_RESERVED, true);
    if (!alloc) return -ENOMEM;
    this.reservedItree.insert(new IoptReserved(start, last, owner, alloc).node);
    return 0;
  }

  /** iopt_remove_reserved_iova() */
  removeReservedIova(owner: unknown): void {
    cover(COV_IoPagetable.removeReservedIova);
    for (const n of [...this.reservedItree]) {
      if (n.owner.owner === owner) {
        this.reservedItree.remove(n);
        kernelFree(n.owner.alloc);
      }
    }
  }

  /** iopt_set_allow_iova(): swap in a new allowed tree unless it hits a reserved range. Returns the tree the caller must free. */
  setAllowIova(tree: IntervalTree<bigint, IoptAllowed>): { rc: number; old: IntervalTree<bigint, IoptAllowed> } {
    cover(COV_IoPagetable.setAllowIova);
    const old = this.allowedItree;
    this.allowedItree = tree;
    for (const n of tree) {
      if (this.reservedItree.iterFirst(n.start, n.last)) {
        this.allowedItree = old;
        return { rc: -EADDRINUSE, old: tree };
      }
    }
    return { rc: 0, old };
  }

  /** iopt_check_iova_alignment() */
  private checkIovaAlignment(newAlign: number): number {
    cover(COV_IoPagetable.checkIovaAlignment);
    const a = BigInt(newAlign);
    for (const area of this.areas()) {
      if (area.iova % a !== 0n || area.length % a !== 0n || area.pageOffset % newAlign !== 0) return -EADDRINUSE;
    }
    if (this.env.warn.checks) {
      for (const [, access] of this.accessList.entries()) {
        if (this.env.warn.on(access.iovaAlignment > newAlign, 'iopt_check_iova_alignment.access')) return -EADDRINUSE;
      }
    }
    return 0;
  }

  /** iopt_calculate_iova_alignment(): recompute; only an increase is validated. */
  calculateIovaAlignment(): number {
    cover(COV_IoPagetable.calculateIovaAlignment);
    let align = this.disableLargePages ? PAGE_SIZE : 1;
    for (const d of this.domains) align = Math.max(align, smallestPage(d));
    for (const [, access] of this.accessList.entries()) align = Math.max(align, access.iovaAlignment);
    if (align > this.iovaAlignment) {
      const rc = this.checkIovaAlignment(align);
      if (rc) return rc;
    }
    this.iovaAlignment = align;
    return 0;
  }

  /** iopt_disable_large_pages() */
  disableLargePagesOp(): number {
    cover(COV_IoPagetable.disableLargePagesOp);
    if (this.disableLargePages) return 0;
    if (this.domains.length !== 0 && !this.areaItree.isEmpty()) return -EINVAL;
    this.disableLargePages = true;
    const rc = this.calculateIovaAlignment();
    if (rc) this.disableLargePages = false;
    return rc;
  }

  /** iopt_enable_large_pages() */
  enableLargePagesOp(): void {
    cover(COV_IoPagetable.enableLargePagesOp);
    this.disableLargePages = false;
    this.env.warn.on(this.calculateIovaAlignment() !== 0, 'iopt_enable_large_pages');
  }

  // -------------------------------------------------------------------------
  // Domains

  /** iopt_fill_domain(): map every area into a new domain (pinning when it is the first). */
  private fillDomain(domain: IommuDomain): number {
    cover(COV_IoPagetable.fillDomain);
    const areas = this.areas();
    for (let i = 0; i < areas.length; i++) {
      const area = areas[i];
      const pages = area.pages;
      if (!pages) continue;
      let rc = isDmabufPages(pages) ? dmabufTrackDomain(this.env, pages, area, domain) : 0;
      if (!rc) {
        rc = areaFillDomain(this.env, area, domain);
        if (rc && isDmabufPages(pages)) dmabufUntrackDomain(this.env, pages, area, domain);
      }
      if (rc) {
        for (let j = 0; j < i; j++) {
          const a = areas[j];
          if (!a.pages) continue;
          if (this.domains.length === 0) {
            a.pages.domainsItree.remove(a.pagesNode);
            a.storageDomain = undefined;
          }
          areaUnfillDomain(this.env, a, a.pages, domain);
          if (isDmabufPages(a.pages)) dmabufUntrackDomain(this.env, a.pages, a, domain);
        }
        return rc;
      }
      if (!area.storageDomain) {
        this.env.warn.on(this.domains.length !== 0, 'iopt_fill_domain.storage');
        area.storageDomain = domain;
        pages.domainsItree.insert(area.pagesNode);
      }
    }
    return 0;
  }

  /** iopt_table_add_domain() */
  addDomain(domain: IommuDomain): number {
    cover(COV_IoPagetable.addDomain);
    if (this.env.warn.on(this.domains.includes(domain), 'iopt_table_add_domain.exists')) return -EEXIST;
    const newAlign = Math.max(smallestPage(domain), this.iovaAlignment);
    if (newAlign > PAGE_SIZE) return -EINVAL;
    if (newAlign !== this.iovaAlignment) {
      const rc = this.checkIovaAlignment(newAlign);
      if (rc) return rc;
    }
    let rc = 0;
    reserved: {
      if (domain.apertureStart !== 0) {
        rc = this.reserveIova(0n, BigInt(domain.apertureStart) - 1n, domain);
        if (rc) break reserved;
      }
      if (BigInt(domain.apertureEnd) !== ULONG_MAX) {
        rc = this.reserveIova(BigInt(domain.apertureEnd) + 1n, ULONG_MAX, domain);
        if (rc) break reserved;
      }
      // xa_reserve() of the next domain index: its nodes are GFP_NOWAIT under the lock, made again with
      // GFP_KERNEL when that fails (__xas_nomem()), so fail-nth passes them and the table goes on
      const n = this.domains.length;
      const nodes = n < 64 ? (this.domainsRoot ? 0 : 1) : xaNodesNeeded(this.domains.keys(), n, false);
      for (let k = nodes; k > 0; k--) this.env.faults.shouldFail(FP_DOMAINS_XA);
      this.domainsRoot = true;
      rc = this.fillDomain(domain);
      if (rc) {
        // xa_release(): the reservation erased, the tree shrinks back to its head for one entry or none
        this.domainsRoot = n >= 2;
        break reserved;
      }
      this.iovaAlignment = newAlign;
      this.domains.push(domain);
      return 0;
    }
    this.removeReservedIova(domain);
    return rc;
  }

  /** iopt_table_remove_domain() */
  removeDomain(domain: IommuDomain): void {
    cover(COV_IoPagetable.removeDomain);
    const index = this.domains.indexOf(domain);
    if (this.env.warn.on(index < 0, 'iopt_table_remove_domain.missing')) return;
    const tail = this.domains.pop()!;
    if (index !== this.domains.length) this.domains[index] = tail;
    this.domainsRoot = this.domains.length >= 2;
    this.unfillDomain(domain);
    this.removeReservedIova(domain);
    this.env.warn.on(this.calculateIovaAlignment() !== 0, 'iopt_table_remove_domain.alignment');
  }

  /** iopt_unfill_domain() */
  private unfillDomain(domain: IommuDomain): void {
    cover(COV_IoPagetable.unfillDomain);
    if (this.domains.length !== 0) {
      const storage = this.domains[0];
      for (const area of this.areas()) {
        if (!area.pages) continue;
        this.env.warn.testOn(!area.storageDomain, 'iopt_unfill_domain.no_storage');
        if (area.storageDomain === domain) area.storageDomain = storage;
        if (isDmabufPages(area.pages)) {
          if (!dmabufRevoked(area.pages)) areaUnmapDomain(this.env, area, domain);
          dmabufUntrackDomain(this.env, area.pages, area, domain);
          continue;
        }
        areaUnmapDomain(this.env, area, domain);
      }
      return;
    }
    for (const area of this.areas()) {
      const pages = area.pages;
      if (!pages) continue;
      if (area.pagesNode.inTree) pages.domainsItree.remove(area.pagesNode);
      this.env.warn.on(area.storageDomain !== domain, 'iopt_unfill_domain.storage_mismatch');
      area.storageDomain = undefined;
      areaUnfillDomain(this.env, area, pages, domain);
      if (isDmabufPages(pages)) dmabufUntrackDomain(this.env, pages, area, domain);
    }
  }

  // -------------------------------------------------------------------------
  // Accesses

  /** iopt_add_access(): register and raise the alignment; returns the list id or -errno. */
  addAccess(access: IoptAccessUser): number {
    cover(COV_IoPagetable.addAccess);
    const present = [...this.accessList.keys()];
    const id = this.accessList.alloc(access, 0, 0xffff);
    if (id < 0) return id;
    for (let n = xaNodesNeeded(present, id, false); n > 0; n--) this.env.faults.shouldFail(FP_ACCESS_LIST_XA);
    const rc = this.calculateIovaAlignment();
    if (rc) {
      this.accessList.erase(id);
      return rc;
    }
    return id;
  }

  /** iopt_remove_access() */
  removeAccess(access: IoptAccessUser, id: number): void {
    cover(COV_IoPagetable.removeAccess);
    this.env.warn.on(this.accessList.erase(id) !== access, 'iopt_remove_access.entry');
    this.env.warn.on(this.calculateIovaAlignment() !== 0, 'iopt_remove_access.alignment');
  }

  /**
   * iopt_destroy_table() (after unmap all). Test builds drop the NULL-owner
   * reservations of IOMMU_TEST_OP_ADD_RESERVED first; the model always has
   * that test command, so it always does, `checks` or not.
   */
  destroy(): void {
    cover(COV_IoPagetable.destroy);
    this.removeReservedIova(null);
    this.allowedItree = new IntervalTree<bigint, IoptAllowed>(1n);
    this.env.warn.on(!this.reservedItree.isEmpty(), 'iopt_destroy_table.reserved');
    this.env.warn.on(this.domains.length !== 0, 'iopt_destroy_table.domains');
    this.env.warn.on(this.accessList.size !== 0, 'iopt_destroy_table.access_list');
    this.env.warn.on(!this.areaItree.isEmpty(), 'iopt_destroy_table.areas');
  }
}

/** 1 << __ffs(pgsize_bitmap): the smallest IO page of a domain (the domain keeps it: its bitmap is fixed at allocation). */
export function smallestPage(d: IommuDomain): number {
  return d.minPageSize;
}

// ---------------------------------------------------------------------------
// Dirty tracking (io_pagetable.c: iopt_set_dirty_tracking,
// iopt_read_and_clear_dirty_data and their helpers)

/** iopt_set_dirty_tracking(): enabling first clears every area's dirty bits (a clean snapshot). */
export function ioptSetDirtyTracking(iopt: IoPagetable, domain: IommuDomain, enable: boolean): number {
  const ops = domain.dirtyOps;
  if (!ops) return -EOPNOTSUPP;
  if (enable) {
    // iopt_clear_dirty_data()
    for (const area of iopt.areas()) {
      if (!area.pages) continue;
      const rc = ops.readAndClearDirty(Number(area.iova), Number(area.length), 0, { record: undefined });
      if (rc) return rc;
    }
  }
  return ops.setDirtyTracking(enable);
}

/** The arguments of IOMMU_HWPT_GET_DIRTY_BITMAP. */
export interface DirtyBitmapArgs {
  readonly iova: bigint;
  readonly length: bigint;
  readonly pageSize: bigint;
  readonly data: bigint;
}

/** iommufd_check_iova_range(): the bitmap range must be aligned to the IOAS and to page_size. */
export function checkDirtyIovaRange(iopt: IoPagetable, b: DirtyBitmapArgs): number {
  // iova + (length - 1) in u64: length 0 adds U64_MAX, so it overflows above IOVA 0
  const last = b.iova + ((b.length - 1n) & ULONG_MAX);
  if (last > ULONG_MAX) return -EOVERFLOW;
  const end = last + 1n;
  const align = BigInt(iopt.iovaAlignment) - 1n;
  if (b.iova & align || end & align) return -EINVAL;
  if (b.pageSize === 0n) return -EINVAL;
  const m = b.pageSize - 1n;
  // (last_iova + 1) wraps to 0 in u64 when the range ends at 2^64
  if (b.iova & m || (end & ULONG_MAX) & m) return -EINVAL;
  return 0;
}

/**
 * iopt_read_and_clear_dirty_data(): check the range, then have the domain
 * record the dirty IOPTEs of each area in the range into the user bitmap.
 * 6.12 drops the walk's result (iova_bitmap_for_each's return is not
 * looked at), so a hole in the range, or tracking off, still answers 0.
 */
export function ioptReadAndClearDirtyData(iopt: IoPagetable, domain: IommuDomain, flags: number, b: DirtyBitmapArgs): number {
  const rc = checkDirtyIovaRange(iopt, b);
  if (rc) return rc;
  // iommu_read_and_clear_dirty()
  const ops = domain.dirtyOps;
  if (!ops) return -EOPNOTSUPP;
  const bitmap = IovaBitmap.alloc(iopt.env, b.iova, b.length, b.pageSize, b.data);
  if (typeof bitmap === 'number') return -ENOMEM;
  const dirty = { record: (iova: number, length: number) => bitmap.set(iova, length) };
  const lastIova = b.iova + b.length - 1n;
  const it = new AreaContigIter(iopt);
  for (let area = it.init(b.iova, lastIova); area; area = it.next()) {
    const last = lastIova < area.lastIova ? lastIova : area.lastIova;
    if (ops.readAndClearDirty(Number(it.curIova), Number(last - it.curIova + 1n), flags, dirty)) break;
  }
  bitmap.free();
  return 0;
}
