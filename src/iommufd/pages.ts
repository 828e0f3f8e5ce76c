// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iopt_pages (pages.c): the PFN provider behind one or more areas. Each
 * page index lives in up to three tiers: the pinned xarray (indexes under an
 * access), the IOAS domains (indexes of areas in domains_itree), or only in
 * the user's page tables. A page is pinned once, however many domains and
 * accesses use it, and pins are charged to RLIMIT_MEMLOCK at the end of each
 * fill.
 */
import { EFAULT, EINVAL, ENOMEM, EOVERFLOW, EPERM } from '../base/errno.js';
import type { MemFile } from '../mm/memfile.js';
import { faultPoint } from '../base/fault.js';
import { DoubleSpanIter, IntervalNode, IntervalTree } from '../base/interval-tree.js';
import { XArray } from '../base/xarray.js';
import { SIZE_MAX, checkedAdd } from '../base/u64.js';
import type { IommuDomain } from '../iommu/domain.js';
import { accountLockedVm } from '../mm/accounting.js';
import type { MmStruct } from '../mm/address-space.js';
import { FOLL_WRITE, PAGE_SIZE } from '../mm/constants.js';
import { pinUserPagesRemote, unpinUserPageRange, unpinUserPages } from '../mm/gup.js';
import type { Task } from '../mm/task.js';
import type { UserStruct } from '../mm/accounting.js';
import { type IoptArea, areaIndexToIova } from './area.js';
import { type IommufdEnv, type KernelAllocation, kernelAlloc, kernelFree } from './env.js';
import { type DmaBuf, type DmaBufAttachment, type PhysVec, dmaBufDetach, dmaBufDynamicAttach } from './dmabuf.js';
import { PfnBatch } from './pfn-batch.js';
import {
  PfnReader,
  PfnReaderUser,
  batchFromDomain,
  batchFromDomainContinue,
  batchFromXarrayClear,
  batchToDomain,
  unmapDomainRange,
} from './pfn-reader.js';
import { cover, coverSites } from '../base/coverage.js';

export const IOPT_PAGES_ACCOUNT_NONE = 0;
export const IOPT_PAGES_ACCOUNT_USER = 1;
export const IOPT_PAGES_ACCOUNT_MM = 2;
export const IOPT_PAGES_ACCOUNT_MODE_NUM = 3;

/** enum iopt_address_type: where the PFNs of a pages object come from. */
export const IOPT_ADDRESS_USER = 0;
export const IOPT_ADDRESS_FILE = 1;
export const IOPT_ADDRESS_DMABUF = 2;

/** IOMMUFD_ACCESS_RW_* flags */
export const IOMMUFD_ACCESS_RW_READ = 0;
export const IOMMUFD_ACCESS_RW_WRITE = 1 << 0;
export const IOMMUFD_ACCESS_RW_KTHREAD = 1 << 1;
/** Test-only: force the slow path of iommufd_access_rw. */
export const IOMMUFD_ACCESS_RW_SLOW_PATH = 1 << 2;

export const FP_PAGES_TO_XARRAY = faultPoint('pages_to_xarray', 'iommufd');
export const FP_RW_PAGE = faultPoint('iopt_pages_rw_page', 'iommufd');
export const FP_ALLOC_PAGES = faultPoint('kzalloc.iopt_pages', 'slab');
export const FP_ALLOC_PAGES_ACCESS = faultPoint('kzalloc.iopt_pages_access', 'slab');
/** kzalloc of struct iopt_pages_dmabuf_track in iopt_dmabuf_track_domain(). */
export const FP_DMABUF_TRACK = faultPoint('kzalloc.iopt_pages_dmabuf_track', 'slab');

/** Approximate x86-64 sizeof() of the kernel structs, for memcg charges. */
const SIZEOF_IOPT_PAGES = 240;
const SIZEOF_IOPT_PAGES_ACCESS = 48;
const SIZEOF_IOPT_PAGES_DMABUF_TRACK = 40;

/** struct iopt_pages_access: an interval lock on pinned indexes, shared by identical ranges. */
export class IoptPagesAccess {
  readonly node: IntervalNode<number, IoptPagesAccess>;
  users = 0;
  alloc: KernelAllocation | undefined;
  constructor(start: number, last: number) {
    this.node = new IntervalNode<number, IoptPagesAccess>(start, last, this);
  }
}

/** struct iopt_pages_dmabuf_track: one (area, domain) pair a revoke must unmap. */
export interface DmabufTrack {
  readonly domain: IommuDomain;
  readonly area: IoptArea;
  readonly alloc: KernelAllocation;
}

/** struct iopt_pages_dmabuf */
export class IoptPagesDmabuf {
  attach: DmaBufAttachment | undefined;
  /** The exporter's physical range; len 0 once revoked (for good). */
  phys: PhysVec = { paddr: 0, len: 0 };
  /** Byte offset into the dma-buf of index 0 (PAGE_SIZE aligned). */
  start = 0;
  readonly tracker: DmabufTrack[] = [];
}

export class IoptPages {
  refs = 1;
  npages: number;
  npinned = 0;
  lastNpinned = 0;
  // Who is charged; IOMMU_IOAS_CHANGE_PROCESS moves them to another process.
  sourceTask: Task;
  sourceMm: MmStruct;
  sourceUser: UserStruct;
  /** IOPT_ADDRESS_USER, _FILE or _DMABUF. */
  type = IOPT_ADDRESS_USER;
  /** User VA of index 0 (rounded down to PAGE_SIZE); 0 for the other types. */
  readonly uptr: bigint;
  /**
   * IOPT_ADDRESS_FILE: the file's page cache (a reference held), undefined for
   * an open file without one, which maps but cannot be pinned.
   */
  file: MemFile | undefined;
  /**
   * IOPT_ADDRESS_FILE of a file without a page cache (a driver file such as
   * the context's own /dev/iommu or a fault queue): the put of the reference
   * iopt_alloc_file_pages() took on it (get_file()), dropped at release.
   */
  filePut: (() => void) | undefined;
  /** IOPT_ADDRESS_FILE: file offset of index 0 (PAGE_SIZE aligned). */
  fileStart = 0n;
  /** IOPT_ADDRESS_DMABUF */
  dmabuf: IoptPagesDmabuf | undefined;
  readonly writable: boolean;
  accountMode: number;
  readonly pinnedPfns: XArray;
  readonly accessItree = new IntervalTree<number, IoptPagesAccess>(1);
  readonly domainsItree = new IntervalTree<number, IoptArea>(1);
  alloc: KernelAllocation | undefined;

  constructor(env: IommufdEnv, uptr: bigint, npages: number, writable: boolean, task: Task) {
    this.uptr = uptr;
    this.npages = npages;
    this.writable = writable;
    this.sourceTask = task;
    this.sourceMm = task.mm;
    this.sourceUser = task.user;
    this.accountMode = task.caps.has('CAP_IPC_LOCK') ? IOPT_PAGES_ACCOUNT_NONE : IOPT_PAGES_ACCOUNT_USER;
    this.pinnedPfns = new XArray({ faults: env.faults });
  }
}

/** Coverage sites of the functions below (base/coverage.ts). */
const COV_pages = coverSites('pages', ['allocPages', 'allocPagesAt', 'allocFilePages', 'allocDmabufPages', 'isDmabufPages', 'dmabufRevoked', 'pagesAddressBase', 'pagesDmabufRevoke', 'dmabufTrackDomain', 'dmabufUntrackDomain', 'dmabufTrackAllDomains', 'dmabufUntrackAllDomains', 'putPages', 'pagesAddNpinned', 'pagesSubNpinned', 'incrUserLockedVm', 'decrUserLockedVm', 'updateMmLockedVm', 'updatePinned', 'updateUnpinned', 'batchOverrun', 'batchUnpin', 'findDomainArea', 'areaUnpinDomain', 'areaUnfillDomainTo', 'areaUnfillPartialDomain', 'areaUnfillDomain', 'areaUnmapDomain', 'areaFillDomain', 'areaFillDomains', 'areaUnfillDomains', 'clearXarray', 'pagesToXarray', 'fillFromXarray', 'fillFromDomain', 'errUnpin', 'fillFromMm', 'pagesFillXarray', 'pagesUnfillXarray', 'getExactAccess', 'areaAddAccess', 'areaRemoveAccess', 'batchRw', 'pagesRwSlow', 'pagesRwPage', 'pagesRwAccess']);

/**
 * iopt_alloc_pages(): a pages object for user range [uptr, uptr + length).
 * Returns the pages or -errno.
 */
export function allocPages(env: IommufdEnv, uptr: bigint, length: bigint, writable: boolean): IoptPages | number {
  cover(COV_pages.allocPages);
  // From v6.13 iopt_alloc_user_pages() checks the wrap before iopt_alloc_pages() checks the length.
  const wraps = !env.profile.skipUptrOverflowCheck && checkedAdd(uptr, length) === undefined;
  if (wraps && env.profile.uptrOverflowBeforeLength) return -EOVERFLOW;
  if (length > SIZE_MAX - BigInt(PAGE_SIZE) || length === 0n) return -EINVAL;
  // The v6.2 kernel lacked this check (fixed by e4395701330f).
  if (wraps) return -EOVERFLOW;
  const alloc = kernelAlloc(env, FP_ALLOC_PAGES, SIZEOF_IOPT_PAGES, true);
  if (!alloc) return -ENOMEM;
  const base = uptr & ~BigInt(PAGE_SIZE - 1);
  const npages = Number((length + (uptr - base) + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE));
  const task = env.current();
  task.mm.mmgrab();
  const pages = new IoptPages(env, base, npages, writable, task);
  pages.alloc = alloc;
  return pages;
}

/**
 * iopt_alloc_pages() for the file and dma-buf types: npages covers `length`
 * bytes from `startByte` into the first page; the creator's mm, task and
 * user are charged. -EINVAL for a zero or too long length, -ENOMEM.
 */
function allocPagesAt(env: IommufdEnv, startByte: number, length: bigint, writable: boolean): IoptPages | number {
  cover(COV_pages.allocPagesAt);
  if (length > SIZE_MAX - BigInt(PAGE_SIZE) || length === 0n) return -EINVAL;
  const alloc = kernelAlloc(env, FP_ALLOC_PAGES, SIZEOF_IOPT_PAGES, true);
  if (!alloc) return -ENOMEM;
  const npages = Number((length + BigInt(startByte) + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE));
  const task = env.current();
  task.mm.mmgrab();
  const pages = new IoptPages(env, 0n, npages, writable, task);
  pages.alloc = alloc;
  return pages;
}

/**
 * iopt_alloc_file_pages(): a pages object for file bytes [start, start +
 * length) holding a reference on the file. Nothing is checked against the
 * file here: its size and kind matter when pages get pinned.
 */
export function allocFilePages(env: IommufdEnv, file: MemFile | undefined, startByte: number, start: bigint, length: bigint, writable: boolean, hold?: () => () => void): IoptPages | number {
  cover(COV_pages.allocFilePages);
  const pages = allocPagesAt(env, startByte, length, writable);
  if (typeof pages === 'number') return pages;
  file?.get();
  pages.file = file;
  // get_file() of a file with no page cache: the description stays open while the pages live (the
  // context's own file among them, which then never releases: a reference cycle on 7.x)
  if (file === undefined) pages.filePut = hold?.();
  pages.fileStart = start - BigInt(startByte);
  pages.type = IOPT_ADDRESS_FILE;
  return pages;
}

/** MAX_NPFNS: the most PFNs one batch entry holds (u32 in 7.x). */
const MAX_NPFNS = 0xffff_ffff;

/**
 * iopt_alloc_dmabuf_pages(): a pages object over dma-buf bytes [start, start
 * + length), attached to the dma-buf (which keeps the reference the caller
 * took) with the exporter's physical range. Not accounted: nothing is
 * pinned. -EINVAL past the buffer's end, -ENOMEM, or the exporter's error
 * (-ENODEV while it is revoked); the caller still owns its reference then.
 */
export function allocDmabufPages(env: IommufdEnv, buf: DmaBuf, startByte: number, start: bigint, length: bigint, writable: boolean): IoptPages | number {
  cover(COV_pages.allocDmabufPages);
  if (BigInt(buf.size) <= start + length - 1n || length / BigInt(PAGE_SIZE) >= BigInt(MAX_NPFNS)) return -EINVAL;
  const pages = allocPagesAt(env, startByte, length, writable);
  if (typeof pages === 'number') return pages;
  pages.accountMode = IOPT_PAGES_ACCOUNT_NONE;
  pages.type = IOPT_ADDRESS_DMABUF;
  const db = new IoptPagesDmabuf();
  db.start = Number(start) - startByte;
  pages.dmabuf = db;
  // iopt_map_dmabuf()
  const attach = dmaBufDynamicAttach(env, buf, { invalidateMappings: () => pagesDmabufRevoke(env, pages) });
  if (typeof attach === 'number') {
    putPages(env, pages);
    return attach;
  }
  const phys = buf.ops.iommufdMap(buf);
  if (typeof phys === 'number') {
    dmaBufDetach(attach);
    putPages(env, pages);
    return phys;
  }
  db.phys = phys;
  db.attach = attach;
  return pages;
}

/** iopt_is_dmabuf() */
export function isDmabufPages(pages: IoptPages): boolean {
  cover(COV_pages.isDmabufPages);
  return pages.type === IOPT_ADDRESS_DMABUF;
}

/** iopt_dmabuf_revoked(): a dma-buf pages object whose exporter took the memory back. */
export function dmabufRevoked(pages: IoptPages): boolean {
  cover(COV_pages.dmabufRevoked);
  return pages.dmabuf !== undefined && pages.dmabuf.phys.len === 0;
}

/** The address the IOVA allocator aligns to: user VA, file offset or dma-buf offset of index 0. */
export function pagesAddressBase(pages: IoptPages): bigint {
  cover(COV_pages.pagesAddressBase);
  if (pages.type === IOPT_ADDRESS_FILE) return pages.fileStart;
  if (pages.dmabuf) return BigInt(pages.dmabuf.start);
  return pages.uptr;
}

/**
 * iopt_revoke_notify(): the exporter revoked the dma-buf: unmap every tracked
 * (area, domain) and mark the pages revoked. The areas stay; a revoked pages
 * object never maps again.
 */
export function pagesDmabufRevoke(env: IommufdEnv, pages: IoptPages): void {
  cover(COV_pages.pagesDmabufRevoke);
  const db = pages.dmabuf!;
  if (dmabufRevoked(pages)) return;
  for (const t of db.tracker) unmapDomainRange(env, t.area, t.domain, t.area.index, t.area.lastIndex);
  db.phys = { paddr: 0, len: 0 };
}

/** iopt_dmabuf_track_domain(): remember that `domain` maps `area`. */
export function dmabufTrackDomain(env: IommufdEnv, pages: IoptPages, area: IoptArea, domain: IommuDomain): number {
  cover(COV_pages.dmabufTrackDomain);
  const db = pages.dmabuf;
  if (env.warn.on(db === undefined, 'iopt_dmabuf_track_domain.not_dmabuf')) return -EINVAL;
  for (const t of db!.tracker) if (env.warn.on(t.domain === domain && t.area === area, 'iopt_dmabuf_track_domain.twice')) return -EINVAL;
  const alloc = kernelAlloc(env, FP_DMABUF_TRACK, SIZEOF_IOPT_PAGES_DMABUF_TRACK, false);
  if (!alloc) return -ENOMEM;
  db!.tracker.push({ domain, area, alloc });
  return 0;
}

/** iopt_dmabuf_untrack_domain() */
export function dmabufUntrackDomain(env: IommufdEnv, pages: IoptPages, area: IoptArea, domain: IommuDomain): void {
  cover(COV_pages.dmabufUntrackDomain);
  const db = pages.dmabuf;
  env.warn.on(db === undefined, 'iopt_dmabuf_untrack_domain.not_dmabuf');
  const i = db ? db.tracker.findIndex((t) => t.domain === domain && t.area === area) : -1;
  if (env.warn.on(i < 0, 'iopt_dmabuf_untrack_domain.missing')) return;
  kernelFree(db!.tracker[i].alloc);
  db!.tracker.splice(i, 1);
}

/** iopt_dmabuf_track_all_domains(): track `area` in every domain of its IOAS. */
function dmabufTrackAllDomains(env: IommufdEnv, area: IoptArea, pages: IoptPages): number {
  cover(COV_pages.dmabufTrackAllDomains);
  for (const t of pages.dmabuf!.tracker) if (env.warn.on(t.area === area, 'iopt_dmabuf_track_all_domains.twice')) return -EINVAL;
  for (const d of area.iopt!.domains) {
    const rc = dmabufTrackDomain(env, pages, area, d);
    if (rc) {
      dmabufUntrackAllDomains(area, pages);
      return rc;
    }
  }
  return 0;
}

/** iopt_dmabuf_untrack_all_domains() */
function dmabufUntrackAllDomains(area: IoptArea, pages: IoptPages): void {
  cover(COV_pages.dmabufUntrackAllDomains);
  const tr = pages.dmabuf!.tracker;
  for (let i = tr.length - 1; i >= 0; i--) {
    if (tr[i].area !== area) continue;
    kernelFree(tr[i].alloc);
    tr.splice(i, 1);
  }
}

/** kref_put(&pages->kref, iopt_release_pages) */
export function putPages(env: IommufdEnv, pages: IoptPages): void {
  cover(COV_pages.putPages);
  if (--pages.refs > 0) return;
  env.warn.on(!pages.accessItree.isEmpty() || !pages.domainsItree.isEmpty(), 'iopt_release_pages.itrees');
  env.warn.on(pages.npinned !== 0, 'iopt_release_pages.npinned', `npinned ${pages.npinned}`);
  env.warn.on(!pages.pinnedPfns.isEmpty(), 'iopt_release_pages.xarray');
  const db = pages.dmabuf;
  if (db?.attach) {
    const buf = db.attach.dmabuf;
    dmaBufDetach(db.attach);
    db.attach = undefined;
    buf.put();
    env.warn.on(db.tracker.length !== 0, 'iopt_release_pages.dmabuf_tracker');
  } else if (pages.type === IOPT_ADDRESS_FILE) {
    pages.file?.put();
    pages.file = undefined;
    const put = pages.filePut;
    pages.filePut = undefined;
    put?.();
  }
  pages.sourceMm.mmdrop();
  kernelFree(pages.alloc);
}

/** iopt_pages_add_npinned() */
export function pagesAddNpinned(env: IommufdEnv, pages: IoptPages, n: number): void {
  cover(COV_pages.pagesAddNpinned);
  pages.npinned += n;
  // The message is built only when the check fires (this runs per batch
  // entry); the check itself is always made, so the fuzzer sees it reached.
  const bad = pages.npinned > pages.npages;
  env.warn.testOn(bad, 'iopt_pages_add_npinned', bad ? `npinned ${pages.npinned} > npages ${pages.npages}` : '');
}

/** iopt_pages_sub_npinned() */
export function pagesSubNpinned(env: IommufdEnv, pages: IoptPages, n: number): void {
  cover(COV_pages.pagesSubNpinned);
  pages.npinned -= n;
  const bad = pages.npinned < 0 || pages.npinned > pages.npages;
  env.warn.testOn(bad, 'iopt_pages_sub_npinned', bad ? `npinned ${pages.npinned}` : '');
}

/** incr_user_locked_vm(): charge the creating user's locked_vm against its RLIMIT_MEMLOCK. */
function incrUserLockedVm(pages: IoptPages, n: number): number {
  cover(COV_pages.incrUserLockedVm);
  const limit = Number(pages.sourceTask.rlimitMemlock >> 12n);
  const cur = pages.sourceUser.lockedVm;
  if (cur + n > limit) return -ENOMEM;
  pages.sourceUser.lockedVm = cur + n;
  return 0;
}

function decrUserLockedVm(env: IommufdEnv, pages: IoptPages, n: number): void {
  cover(COV_pages.decrUserLockedVm);
  if (env.warn.on(pages.sourceUser.lockedVm < n, 'decr_user_locked_vm.underflow')) return;
  pages.sourceUser.lockedVm -= n;
}

/** update_mm_locked_vm(): VFIO-style per-mm locked_vm through __account_locked_vm(). */
function updateMmLockedVm(env: IommufdEnv, pages: IoptPages, n: number, inc: boolean, user: PfnReaderUser | undefined): number {
  cover(COV_pages.updateMmLockedVm);
  let doPut = false;
  if ((!user?.upages) && pages.sourceMm !== env.current().mm) {
    if (!pages.sourceMm.mmgetNotZero()) {
      // the mm's last user is gone: this charge stays on it (iopt_pages_update_pinned() returns early)
      if (!inc) pages.sourceMm.unchargeRefused = true;
      return -EINVAL;
    }
    doPut = true;
  }
  const rc = accountLockedVm(pages.sourceMm, n, inc, pages.sourceTask, false);
  if (doPut) pages.sourceMm.mmput();
  return rc;
}

/** do_update_pinned(): move the charge by n pages in the pages' account mode. */
export function updatePinned(env: IommufdEnv, pages: IoptPages, n: number, inc: boolean, user: PfnReaderUser | undefined): number {
  cover(COV_pages.updatePinned);
  let rc = 0;
  switch (pages.accountMode) {
    case IOPT_PAGES_ACCOUNT_NONE:
      break;
    case IOPT_PAGES_ACCOUNT_USER:
      if (inc) rc = incrUserLockedVm(pages, n);
      else decrUserLockedVm(env, pages, n);
      break;
    case IOPT_PAGES_ACCOUNT_MM:
      rc = updateMmLockedVm(env, pages, n, inc, user);
      break;
  }
  if (rc) return rc;
  pages.lastNpinned = pages.npinned;
  pages.sourceMm.pinnedVm += inc ? n : -n;
  return 0;
}

/** update_unpinned(): uncharge what was unpinned since the last update. */
export function updateUnpinned(env: IommufdEnv, pages: IoptPages): void {
  cover(COV_pages.updateUnpinned);
  if (env.warn.on(pages.npinned > pages.lastNpinned, 'update_unpinned.npinned')) return;
  if (pages.npinned === pages.lastNpinned) return;
  updatePinned(env, pages, pages.lastNpinned - pages.npinned, false, undefined);
}

/** Walking past the batch's array: an out-of-bounds read in the kernel (KASAN). */
function batchOverrun(env: IommufdEnv, batch: PfnBatch, npages: number): void {
  cover(COV_pages.batchOverrun);
  env.warn.warn('batch_unpin.overrun', `walked past the ${batch.arraySize}-entry batch with ${npages} PFNs to go`);
}

/**
 * batch_unpin(): unpin `npages` PFNs of the batch starting `firstOff` PFNs
 * in. It trusts npfns[] and ignores `end`, as the kernel does: a corrupted
 * batch walks stale slots.
 */
export function batchUnpin(env: IommufdEnv, batch: PfnBatch, pages: IoptPages, firstOff: number, npages: number): void {
  cover(COV_pages.batchUnpin);
  batch.checkTotal(env, 'batch_unpin');
  let cur = 0;
  while (firstOff > 0) {
    if (cur >= batch.arraySize) {
      batchOverrun(env, batch, npages);
      return;
    }
    if (batch.npfns[cur] > firstOff) break;
    firstOff -= batch.npfns[cur];
    cur++;
  }
  const pfns = batch.pfns;
  const npfns = batch.npfns;
  const cap = batch.arraySize;
  const phys = env.phys;
  const dirty = pages.writable;
  while (npages > 0) {
    if (cur >= cap) {
      batchOverrun(env, batch, npages);
      return;
    }
    // An emptied entry (batch_skip_carry can leave npfns[0] == 0 with end 1)
    // unpins nothing and the walk moves on.
    const n = Math.min(npages, npfns[cur] - firstOff);
    if (n > 0) {
      unpinUserPageRange(phys, pfns[cur] + firstOff, n, dirty);
      pagesSubNpinned(env, pages, n);
    }
    cur++;
    firstOff = 0;
    npages -= n;
  }
}

/** iopt_pages_find_domain_area(): the lowest area in domains_itree covering `index`. */
export function findDomainArea(pages: IoptPages, index: number): IoptArea | undefined {
  cover(COV_pages.findDomainArea);
  return pages.domainsItree.iterFirst(index, index)?.owner;
}

// ---------------------------------------------------------------------------
// Domains

/**
 * iopt_area_unpin_domain(): unmap and unpin hole [start, last] of the area,
 * cutting unmaps only at PFN discontinuities and carrying PFNs that were
 * unmapped but must not be unpinned yet.
 */
function areaUnpinDomain(
  env: IommufdEnv,
  batch: PfnBatch,
  area: IoptArea,
  pages: IoptPages,
  domain: IommuDomain,
  start: number,
  last: number,
  st: { unmappedEnd: number },
  realLast: number,
): void {
  cover(COV_pages.areaUnpinDomain);
  const p = env.profile;
  while (start <= last) {
    let batchLast: number;
    if (st.unmappedEnd <= last) {
      const readStart = Math.max(start, st.unmappedEnd);
      if (batch.totalPfns) {
        const bad = st.unmappedEnd - batch.totalPfns !== start;
        env.warn.testOn(bad, 'iopt_area_unpin_domain.carry', bad ? `unmapped_end ${st.unmappedEnd} total ${batch.totalPfns} start ${start}` : '');
      }
      batchFromDomain(batch, domain, area, readStart, last);
      // v6.2 counted from the read start, overshooting by the carry (fixed by 727c28c1cef2).
      batchLast = (p.unpinLastIndexFromReadStart ? readStart : start) + batch.totalPfns - 1;
    } else {
      batchLast = last;
    }
    env.warn.testOn(batchLast > realLast, 'iopt_area_unpin_domain.last', batchLast > realLast ? `batch_last_index ${batchLast} > ${realLast}` : '');
    // Keep reading until a discontinuity so the unmap cuts between maps. As in iopt_area_unpin_domain(),
    // this runs even when the carry already covers the hole (unmappedEnd > last): it then reads an IOVA
    // unmapped before, which 6.12's xarray mock WARNs about (regression v6.12-unfill-continue-reads-*).
    if (batchLast === last && last !== realLast) batchFromDomainContinue(batch, domain, area, last + 1, realLast);
    if (st.unmappedEnd <= batchLast) {
      unmapDomainRange(env, area, domain, st.unmappedEnd, start + batch.totalPfns - 1);
      st.unmappedEnd = start + batch.totalPfns;
    }
    // Unpin only what is now unmapped.
    batchUnpin(env, batch, pages, 0, batchLast - start + 1);
    start = batchLast + 1;
    batch.clearCarry(env, st.unmappedEnd - batchLast - 1);
  }
}

/**
 * __iopt_area_unfill_domain(): unmap indexes [area.index, lastIndex] from
 * `domain` and unpin those held by no other area or access. The area must
 * already be out of domains_itree.
 */
export function areaUnfillDomainTo(env: IommufdEnv, area: IoptArea, pages: IoptPages, domain: IommuDomain, lastIndex: number): void {
  cover(COV_pages.areaUnfillDomainTo);
  const start = area.index;
  if (isDmabufPages(pages)) {
    // Nothing is pinned: just the unmap.
    if (env.warn.on(dmabufRevoked(pages), '__iopt_area_unfill_domain.revoked')) return;
    unmapDomainRange(env, area, domain, start, lastIndex);
    return;
  }
  const st = { unmappedEnd: start };
  const batch = new PfnBatch();
  batch.init(env, lastIndex + 1, true);
  const span = new DoubleSpanIter<number>();
  for (span.first(pages.domainsItree, pages.accessItree, start, lastIndex); !span.done(); span.next()) {
    if (span.isUsed !== 0) {
      batch.skipCarry(env, span.last - span.start + 1);
      continue;
    }
    areaUnpinDomain(env, batch, area, pages, domain, span.start, span.last, st, lastIndex);
  }
  // A range that ends under a held span still needs its residual unmap.
  if (st.unmappedEnd !== lastIndex + 1) unmapDomainRange(env, area, domain, st.unmappedEnd, lastIndex);
  env.warn.on(batch.totalPfns !== 0, '__iopt_area_unfill_domain.carry_left', `total ${batch.totalPfns}`);
  batch.destroy();
  updateUnpinned(env, pages);
}

/** iopt_area_unfill_partial_domain(): undo a fill that reached `endIndex` (exclusive). */
function areaUnfillPartialDomain(env: IommufdEnv, area: IoptArea, pages: IoptPages, domain: IommuDomain, endIndex: number): void {
  cover(COV_pages.areaUnfillPartialDomain);
  if (endIndex !== area.index) areaUnfillDomainTo(env, area, pages, domain, endIndex - 1);
}

/** iopt_area_unfill_domain() */
export function areaUnfillDomain(env: IommufdEnv, area: IoptArea, pages: IoptPages, domain: IommuDomain): void {
  cover(COV_pages.areaUnfillDomain);
  if (dmabufRevoked(pages)) return;
  areaUnfillDomainTo(env, area, pages, domain, area.lastIndex);
}

/** iopt_area_unmap_domain(): one whole-area unmap; no unpin (other domains still hold the PFNs). */
export function areaUnmapDomain(env: IommufdEnv, area: IoptArea, domain: IommuDomain): void {
  cover(COV_pages.areaUnmapDomain);
  unmapDomainRange(env, area, domain, area.index, area.lastIndex);
}

/**
 * iopt_area_fill_domain(): map an existing area into one more domain (domain
 * attach). Caller holds the pages lock.
 */
export function areaFillDomain(env: IommufdEnv, area: IoptArea, domain: IommuDomain): number {
  cover(COV_pages.areaFillDomain);
  const pages = area.pages!;
  if (dmabufRevoked(pages)) return 0;
  const r = new PfnReader(env);
  let rc = r.first(pages, area.index, area.lastIndex);
  if (rc) return rc;
  let doneEnd = area.index;
  failed: {
    while (!r.done()) {
      doneEnd = r.batchStartIndex;
      rc = batchToDomain(env, r.batch, domain, area, r.batchStartIndex);
      if (rc) break failed;
      doneEnd = r.batchEndIndex;
      rc = r.next();
      if (rc) break failed;
    }
    rc = r.updatePinned();
    if (rc) break failed;
    r.destroy();
    return 0;
  }
  r.releasePins();
  areaUnfillPartialDomain(env, area, pages, domain, doneEnd);
  r.destroy();
  return rc;
}

/**
 * iopt_area_fill_domains(): map a new area (not yet in domains_itree) into
 * every domain of its IOAS, reading each batch once. On failure every domain
 * is left as it was and nothing stays pinned.
 */
export function areaFillDomains(env: IommufdEnv, area: IoptArea, pages: IoptPages): number {
  cover(COV_pages.areaFillDomains);
  const domains = area.iopt!.domains;
  if (domains.length === 0) return 0;
  const dmabuf = isDmabufPages(pages);
  if (dmabuf) {
    const rc = dmabufTrackAllDomains(env, area, pages);
    if (rc) return rc;
  }
  if (dmabufRevoked(pages)) {
    area.storageDomain = domains[0];
    pages.domainsItree.insert(area.pagesNode);
    return 0;
  }
  const r = new PfnReader(env);
  let rc = r.first(pages, area.index, area.lastIndex);
  if (rc) {
    if (dmabuf) dmabufUntrackAllDomains(area, pages);
    return rc;
  }
  let doneFirstEnd = area.index;
  let doneAllEnd = area.index;
  let failedAt = domains.length - 1;
  failed: {
    while (!r.done()) {
      doneFirstEnd = r.batchEndIndex;
      doneAllEnd = r.batchStartIndex;
      for (let i = 0; i < domains.length; i++) {
        rc = batchToDomain(env, r.batch, domains[i], area, r.batchStartIndex);
        if (rc) {
          failedAt = i;
          break failed;
        }
      }
      doneAllEnd = doneFirstEnd;
      rc = r.next();
      if (rc) break failed;
    }
    rc = r.updatePinned();
    if (rc) break failed;
    area.storageDomain = domains[0];
    pages.domainsItree.insert(area.pagesNode);
    r.destroy();
    return 0;
  }
  r.releasePins();
  // The area is not in domains_itree: only the last domain unpins.
  for (let i = 0; i < domains.length; i++) {
    const end = i < failedAt ? doneFirstEnd : doneAllEnd;
    if (i !== domains.length - 1) {
      if (end !== area.index) unmapDomainRange(env, area, domains[i], area.index, end - 1);
    } else {
      areaUnfillPartialDomain(env, area, pages, domains[i], end);
    }
  }
  r.destroy();
  if (dmabuf) dmabufUntrackAllDomains(area, pages);
  return rc;
}

/** iopt_area_unfill_domains(): take an area out of every domain (unmap, then unpin what nobody else holds). */
export function areaUnfillDomains(env: IommufdEnv, area: IoptArea, pages: IoptPages): void {
  cover(COV_pages.areaUnfillDomains);
  const storage = area.storageDomain;
  if (!storage) return;
  const revoked = dmabufRevoked(pages);
  for (const d of area.iopt!.domains) {
    if (d !== storage && !revoked) unmapDomainRange(env, area, d, area.index, area.lastIndex);
  }
  if (env.profile.warnAreaNotInDomainsItree) env.warn.testOn(!area.pagesNode.inTree, 'iopt_area_unfill_domains.not_in_itree');
  if (area.pagesNode.inTree) pages.domainsItree.remove(area.pagesNode);
  areaUnfillDomain(env, area, pages, storage);
  if (isDmabufPages(pages)) dmabufUntrackAllDomains(area, pages);
  area.storageDomain = undefined;
}

// ---------------------------------------------------------------------------
// The xarray tier (accesses)

/** clear_xarray() */
function clearXarray(pages: IoptPages, start: number, last: number): void {
  cover(COV_pages.clearXarray);
  for (let i = start; i <= last; i++) pages.pinnedPfns.erase(i);
}

/**
 * pages_to_xarray(): store PFNs of [start, last] as value entries; a fault
 * point half way through; on error what was stored is erased.
 */
function pagesToXarray(env: IommufdEnv, pages: IoptPages, start: number, last: number, pfns: Uint32Array, off: number): number {
  cover(COV_pages.pagesToXarray);
  const n = last - start + 1;
  const half = Math.floor(n / 2);
  for (let k = 0; k < n; k++) {
    let rc = 0;
    if (k === half && env.faults.shouldFail(FP_PAGES_TO_XARRAY)) rc = -EINVAL;
    else {
      const live = pages.pinnedPfns.load(start + k) >= 0;
      env.warn.on(live, 'pages_to_xarray.overwrite', live ? `index ${start + k}` : '');
      rc = pages.pinnedPfns.store(start + k, pfns[off + k]);
    }
    if (rc) {
      if (k !== 0) clearXarray(pages, start, start + k - 1);
      return rc;
    }
  }
  return 0;
}

/** iopt_pages_fill_from_xarray(): copy entries of [start, last] into out. */
function fillFromXarray(env: IommufdEnv, pages: IoptPages, start: number, last: number, out: Uint32Array, off: number): void {
  cover(COV_pages.fillFromXarray);
  for (let i = start; i <= last; i++) {
    const v = pages.pinnedPfns.load(i);
    env.warn.on(v < 0, 'xarray.missing_value', v < 0 ? `index ${i}` : '');
    out[off++] = v < 0 ? 0 : v;
  }
}

const oneBuf = new Uint32Array(1);

/** iopt_pages_fill_from_domain(): read PFNs of [start, last] from the areas' storage domains. */
function fillFromDomain(env: IommufdEnv, pages: IoptPages, start: number, last: number, out: Uint32Array, off: number): void {
  cover(COV_pages.fillFromDomain);
  while (start <= last) {
    const area = findDomainArea(pages, start);
    if (env.warn.on(area === undefined, 'iopt_pages_fill_from_domain.no_area')) return;
    const curLast = Math.min(area!.lastIndex, last);
    // raw_pages_from_domain(): one iova_to_phys per page.
    for (let i = start; i <= curLast; i++) {
      const iova = areaIndexToIova(area!, i);
      const base = i === area!.index ? area!.iovaNum - area!.pageOffset : iova;
      area!.storageDomain!.readPfns(iova, base, 1, oneBuf, 0);
      out[off++] = oneBuf[0];
    }
    start = curLast + 1;
  }
}

/** iopt_pages_err_unpin() */
function errUnpin(env: IommufdEnv, pages: IoptPages, start: number, last: number, pfns: Uint32Array, off: number): void {
  cover(COV_pages.errUnpin);
  const n = last - start + 1;
  unpinUserPages(env.phys, pfns, off, n, false);
  pagesSubNpinned(env, pages, n);
}

/** iopt_pages_fill_from_mm(): pin all of [start, last] straight into out, retrying partial GUP. */
function fillFromMm(env: IommufdEnv, pages: IoptPages, user: PfnReaderUser, start: number, last: number, out: Uint32Array, off: number): number {
  cover(COV_pages.fillFromMm);
  let cur = start;
  while (cur !== last + 1) {
    user.useBuffer(out, off + (cur - start), (last - cur + 1) * 8);
    const rc = user.pin(pages, cur, last);
    if (rc) {
      if (cur !== start) errUnpin(env, pages, start, cur - 1, out, off);
      return rc;
    }
    cur = user.upagesEnd;
  }
  return 0;
}

/**
 * iopt_pages_fill_xarray(): make [start, last] present in the xarray (pinning
 * holes, copying domain-held PFNs) and write the PFNs to out. On failure the
 * xarray is as before.
 */
export function pagesFillXarray(env: IommufdEnv, pages: IoptPages, start: number, last: number, out: Uint32Array, outOff: number): number {
  cover(COV_pages.pagesFillXarray);
  let xaEnd = start;
  const user = new PfnReaderUser(env);
  user.init(pages);
  user.upagesLen = (last - start + 1) * 8;
  const span = new DoubleSpanIter<number>();
  let rc = 0;
  clean: {
    for (span.first(pages.accessItree, pages.domainsItree, start, last); !span.done(); span.next()) {
      const off = outOff + span.start - start;
      if (span.isUsed === 1) {
        fillFromXarray(env, pages, span.start, span.last, out, off);
        continue;
      }
      if (span.isUsed === 2) {
        fillFromDomain(env, pages, span.start, span.last, out, off);
        rc = pagesToXarray(env, pages, span.start, span.last, out, off);
        if (rc) break clean;
        xaEnd = span.last + 1;
        continue;
      }
      rc = fillFromMm(env, pages, user, span.start, span.last, out, off);
      if (rc) break clean;
      rc = pagesToXarray(env, pages, span.start, span.last, out, off);
      if (rc) {
        errUnpin(env, pages, span.start, span.last, out, off);
        break clean;
      }
      xaEnd = span.last + 1;
    }
    rc = user.updatePinned(pages);
    if (rc) break clean;
    user.upages = undefined;
    user.destroy(pages);
    return 0;
  }
  if (start !== xaEnd) pagesUnfillXarray(env, pages, start, xaEnd - 1);
  user.upages = undefined;
  user.destroy(pages);
  return rc;
}

/**
 * iopt_pages_unfill_xarray(): drop [start, last] from the xarray (the access
 * is already out of access_itree): unpin what no domain or access holds,
 * erase what a domain holds, keep what another access holds.
 */
export function pagesUnfillXarray(env: IommufdEnv, pages: IoptPages, start: number, last: number): void {
  cover(COV_pages.pagesUnfillXarray);
  const span = new DoubleSpanIter<number>();
  let batch: PfnBatch | undefined;
  for (span.first(pages.accessItree, pages.domainsItree, start, last); !span.done(); span.next()) {
    if (span.isUsed === 0) {
      if (!batch) {
        batch = new PfnBatch();
        batch.init(env, last - start + 1, true);
      }
      // iopt_pages_unpin_xarray()
      let s = span.start;
      const e = span.last;
      while (s <= e) {
        batchFromXarrayClear(env, batch, pages, s, e);
        batchUnpin(env, batch, pages, 0, batch.totalPfns);
        s += batch.totalPfns;
        batch.clear();
      }
    } else if (span.isUsed === 2) {
      clearXarray(pages, span.start, span.last);
    }
  }
  batch?.destroy();
  updateUnpinned(env, pages);
}

/** iopt_pages_get_exact_access() */
function getExactAccess(pages: IoptPages, start: number, last: number): IoptPagesAccess | undefined {
  cover(COV_pages.getExactAccess);
  for (let n = pages.accessItree.iterFirst(start, last); n; n = pages.accessItree.iterNext(n, start, last)) {
    if (n.start === start && n.last === last) return n.owner;
  }
  return undefined;
}

/** iopt_area_add_access(): pin [start, last] for an access and return the PFNs in out. */
export function areaAddAccess(env: IommufdEnv, area: IoptArea, start: number, last: number, out: Uint32Array, outOff: number, flags: number, lockArea = false): number {
  cover(COV_pages.areaAddAccess);
  const pages = area.pages!;
  if (flags & IOMMUFD_ACCESS_RW_WRITE && !pages.writable) return -EPERM;
  if (isDmabufPages(pages)) return -EINVAL;
  let access = getExactAccess(pages, start, last);
  if (access) {
    area.numAccesses++;
    if (lockArea) area.numLocks++;
    access.users++;
    fillFromXarray(env, pages, start, last, out, outOff);
    return 0;
  }
  const alloc = kernelAlloc(env, FP_ALLOC_PAGES_ACCESS, SIZEOF_IOPT_PAGES_ACCESS, true);
  if (!alloc) return -ENOMEM;
  const rc = pagesFillXarray(env, pages, start, last, out, outOff);
  if (rc) {
    kernelFree(alloc);
    return rc;
  }
  access = new IoptPagesAccess(start, last);
  access.alloc = alloc;
  access.users = 1;
  area.numAccesses++;
  if (lockArea) area.numLocks++;
  pages.accessItree.insert(access.node);
  return 0;
}

/** iopt_area_remove_access() */
export function areaRemoveAccess(env: IommufdEnv, area: IoptArea, start: number, last: number, unlockArea = false): void {
  cover(COV_pages.areaRemoveAccess);
  const pages = area.pages!;
  const access = getExactAccess(pages, start, last);
  if (env.warn.on(access === undefined, 'iopt_area_remove_access.missing', `[${start}, ${last}]`)) return;
  env.warn.on(area.numAccesses === 0 || access!.users === 0, 'iopt_area_remove_access.counts');
  if (unlockArea) {
    env.warn.on(area.numLocks === 0, 'iopt_area_remove_access.num_locks');
    area.numLocks--;
  }
  area.numAccesses--;
  access!.users--;
  if (access!.users) return;
  pages.accessItree.remove(access!.node);
  pagesUnfillXarray(env, pages, start, last);
  kernelFree(access!.alloc);
}

// ---------------------------------------------------------------------------
// rw

/** batch_rw(): copy between data and the batch's pages, page by page. Returns bytes copied. */
function batchRw(env: IommufdEnv, batch: PfnBatch, data: Uint8Array, dataOff: number, offset: number, length: number, write: boolean): number {
  cover(COV_pages.batchRw);
  let copied = 0;
  for (let cur = 0; cur < batch.end && length > 0; cur++) {
    for (let k = 0; k < batch.npfns[cur] && length > 0; k++) {
      const n = Math.min(PAGE_SIZE - offset, length);
      const pfn = batch.pfns[cur] + k;
      if (write) env.phys.write(pfn, offset, data, dataOff + copied, n);
      else env.phys.read(pfn, offset, data, dataOff + copied, n);
      offset = 0;
      copied += n;
      length -= n;
    }
  }
  return copied;
}

/** iopt_pages_rw_slow(): rw through a pfn reader (temporary pins for holes). */
function pagesRwSlow(env: IommufdEnv, pages: IoptPages, startIndex: number, lastIndex: number, offset: number, data: Uint8Array, length: number, write: boolean): number {
  cover(COV_pages.pagesRwSlow);
  const r = new PfnReader(env);
  let rc = r.first(pages, startIndex, lastIndex);
  if (rc) return rc;
  let done = 0;
  while (!r.done()) {
    const n = batchRw(env, r.batch, data, done, offset, length, write);
    done += n;
    length -= n;
    offset = 0;
    r.unpin();
    rc = r.next();
    if (rc) break;
  }
  if (!rc && env.warn.on(length !== 0, 'iopt_pages_rw_slow.left', `${length} bytes left`)) rc = -EINVAL;
  r.destroy();
  return rc;
}

/** iopt_pages_rw_page(): one page through a transient (not longterm) GUP pin. */
function pagesRwPage(env: IommufdEnv, pages: IoptPages, index: number, offset: number, data: Uint8Array, length: number, write: boolean): number {
  cover(COV_pages.pagesRwPage);
  if (env.warn.testOn(pages.type !== IOPT_ADDRESS_USER, 'iopt_pages_rw_page.type')) return -EINVAL;
  const mm = pages.sourceMm;
  if (!mm.mmgetNotZero()) return pagesRwSlow(env, pages, index, index, offset, data, length, write);
  if (env.faults.shouldFail(FP_RW_PAGE)) {
    mm.mmput();
    return -EINVAL;
  }
  // pin_user_pages_remote(): the slow walk, whose check_vma_flags() refuses a read of a VMA without VM_READ
  const rc = pinUserPagesRemote(mm, pages.uptr + BigInt(index) * BigInt(PAGE_SIZE), 1, write ? FOLL_WRITE : 0, oneBuf, 0);
  mm.mmput();
  if (rc !== 1) {
    if (env.warn.on(rc >= 0, 'iopt_pages_rw_page.gup', `GUP returned ${rc}`)) return -EINVAL;
    return rc;
  }
  if (write) env.phys.write(oneBuf[0], offset, data, 0, length);
  else env.phys.read(oneBuf[0], offset, data, 0, length);
  unpinUserPageRange(env.phys, oneBuf[0], 1, write);
  return 0;
}

/**
 * iopt_pages_rw_access(): copy `data` to/from bytes [startByte, startByte+len)
 * of the pages: through the user mapping when it can (ignoring pin state, as
 * the kernel does), else through pins.
 */
export function pagesRwAccess(env: IommufdEnv, pages: IoptPages, startByteAt: bigint, data: Uint8Array, flags: number): number {
  cover(COV_pages.pagesRwAccess);
  const length = data.length;
  // (the index and the offset in its page exactly, however deep into the pages)
  const startIndex = Number(startByteAt >> 12n);
  const lastIndex = Number((startByteAt + BigInt(length) - 1n) >> 12n);
  const inPage = Number(startByteAt & 0xfffn);
  const write = (flags & IOMMUFD_ACCESS_RW_WRITE) !== 0;
  const changeMm = (flags & IOMMUFD_ACCESS_RW_SLOW_PATH) !== 0 || env.current().mm !== pages.sourceMm;
  if (write && !pages.writable) return -EPERM;
  if (isDmabufPages(pages)) return -EINVAL;
  // A file has no user mapping to copy through: always through pins.
  if (pages.type !== IOPT_ADDRESS_USER) return pagesRwSlow(env, pages, startIndex, lastIndex, inPage, data, length, write);
  if (!(flags & IOMMUFD_ACCESS_RW_KTHREAD) && changeMm) {
    if (startIndex === lastIndex) return pagesRwPage(env, pages, startIndex, inPage, data, length, write);
    return pagesRwSlow(env, pages, startIndex, lastIndex, inPage, data, length, write);
  }
  const mm = pages.sourceMm;
  if (changeMm) {
    if (!mm.mmgetNotZero()) return pagesRwSlow(env, pages, startIndex, lastIndex, inPage, data, length, write);
  }
  const va = pages.uptr + startByteAt;
  const rc = write ? mm.writeUser(va, data) : mm.readUser(va, data);
  if (changeMm) mm.mmput();
  return rc ? -EFAULT : 0;
}
