// SPDX-License-Identifier: GPL-2.0-only
/**
 * The PFN reader (pages.c: pfn_reader, pfn_reader_user and the batch_from_*
 * / batch_to_domain helpers). A reader walks an index range of an iopt_pages
 * and fills a pfn_batch from whichever tier holds each index: the xarray
 * (indexes under an access), a storage domain (indexes of an area mapped in
 * the IOAS domains), or, for holes, by pinning user memory. It is the only
 * place a user page gets pinned.
 */
import { DoubleSpanIter } from '../base/interval-tree.js';
import { EFAULT, EINVAL, ENOMEM } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import { IOMMU_CACHE, IOMMU_MMIO, type IommuDomain } from '../iommu/domain.js';
import { FOLL_LONGTERM, FOLL_WRITE, PAGE_SIZE } from '../mm/constants.js';
import { memfdPinFolios, pinUserPages, unpinUserPages } from '../mm/gup.js';
import { type IoptArea, areaIndexToIova, areaIndexToIovaLast } from './area.js';
import type { IommufdEnv } from './env.js';
import { BATCH_CPU_MEMORY, BATCH_MMIO, PfnBatch, tempKmallocSize } from './pfn-batch.js';
import {
  IOPT_ADDRESS_FILE,
  type IoptPages,
  batchUnpin,
  dmabufRevoked,
  findDomainArea,
  isDmabufPages,
  pagesAddNpinned,
  pagesSubNpinned,
  updatePinned,
} from './pages.js';
import { cover, coverSites } from '../base/coverage.js';

/** iommufd_should_fail() in pfn_reader_user_pin, before GUP. */
export const FP_USER_PIN = faultPoint('pfn_reader_user_pin', 'iommufd');
/** iommufd_should_fail() in pfn_reader_user_update_pinned, on an increment. */
export const FP_UPDATE_PINNED = faultPoint('pfn_reader_user_update_pinned', 'iommufd');

// Scratch for domain read-back; the kernel reads one iova_to_phys per page.
const readBuf = new Uint32Array(512);

/**
 * batch_from_domain(): read PFNs of indexes [start, last] of `area` back from
 * `domain` into the batch until it is full.
 */
export function batchFromDomain(batch: PfnBatch, domain: IommuDomain, area: IoptArea, start: number, last: number): void {
  let firstIova = areaIndexToIova(area, start);
  let pageBase = start === area.index ? area.iovaNum - area.pageOffset : firstIova;
  let chunk = 16;
  while (start <= last) {
    // The kernel reads one page at a time and stops at the first the batch refuses (that one read
    // too): read ahead no further than the batch is sure to take, one free entry per page at worst,
    // else one page (iova_to_phys of an IOVA the kernel never reads could WARN: 6.12's mock).
    const room = batch.kind === BATCH_CPU_MEMORY ? batch.arraySize - batch.end : 0;
    const n = Math.min(chunk, last - start + 1, readBuf.length, Math.max(1, room));
    if (domain.readPfns(firstIova, pageBase, n, readBuf, 0) < 0) return;
    if (batch.addFrom(readBuf, 0, n) !== n) return;
    start += n;
    pageBase += n * PAGE_SIZE;
    firstIova = pageBase;
    chunk = Math.min(chunk * 2, readBuf.length);
  }
}

/** batch_from_domain_continue(): like batchFromDomain but may only extend the last run. */
export function batchFromDomainContinue(batch: PfnBatch, domain: IommuDomain, area: IoptArea, start: number, last: number): void {
  const size = batch.arraySize;
  batch.arraySize = batch.end;
  batchFromDomain(batch, domain, area, start, last);
  batch.arraySize = size;
}

/** Read one xarray value the way xa_to_value() of a missing entry would: WARN, then 0. */
function xaValue(env: IommufdEnv, pages: IoptPages, index: number): number {
  const v = pages.pinnedPfns.load(index);
  if (v < 0) {
    env.warn.warn('xarray.missing_value', `index ${index} not in pinned_pfns`);
    return 0;
  }
  return v;
}

/** batch_from_xarray() */
export function batchFromXarray(env: IommufdEnv, batch: PfnBatch, pages: IoptPages, start: number, last: number): void {
  for (;;) {
    if (!batch.add(xaValue(env, pages, start)) || start === last) return;
    start++;
  }
}

/** batch_from_xarray_clear(): like batchFromXarray, erasing each entry once the batch took it. */
export function batchFromXarrayClear(env: IommufdEnv, batch: PfnBatch, pages: IoptPages, start: number, last: number): void {
  for (;;) {
    if (!batch.add(xaValue(env, pages, start))) return;
    pages.pinnedPfns.erase(start);
    if (start === last) return;
    start++;
  }
}

/** batch_from_pages() */
function batchFromPages(batch: PfnBatch, pfns: Uint32Array, off: number, n: number): void {
  batch.addFrom(pfns, off, n);
}

/** iommu_unmap_nofail(): an unmap that must remove exactly `size` bytes. */
export function unmapNofail(env: IommufdEnv, domain: IommuDomain, iova: number, size: number): void {
  const got = domain.unmap(iova, size);
  env.warn.on(got !== size, 'iommu_unmap_nofail', got !== size ? `unmapped ${got} of ${size} at 0x${iova.toString(16)}` : '');
}

/** iopt_area_unmap_domain_range(): one unmap covering indexes [start, last] of the area. */
export function unmapDomainRange(env: IommufdEnv, area: IoptArea, domain: IommuDomain, start: number, last: number): void {
  const startIova = areaIndexToIova(area, start);
  unmapNofail(env, domain, startIova, areaIndexToIovaLast(area, last) - startIova + 1);
}

/** batch_iommu_map_small(): one PAGE_SIZE map per page (large pages disabled). */
function mapSmall(env: IommufdEnv, domain: IommuDomain, iova: number, paddr: number, size: number, prot: number): number {
  env.warn.testOn(paddr % PAGE_SIZE !== 0 || iova % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0, 'batch_iommu_map_small.unaligned');
  const startIova = iova;
  const memcg = env.current().memcg;
  while (size > 0) {
    const rc = domain.map(iova, paddr, PAGE_SIZE, 0 | prot, memcg);
    if (rc !== 0) {
      if (startIova !== iova) unmapNofail(env, domain, startIova, iova - startIova);
      return rc;
    }
    iova += PAGE_SIZE;
    paddr += PAGE_SIZE;
    size -= PAGE_SIZE;
  }
  return 0;
}

/**
 * batch_to_domain(): map every run of the batch into `domain` at the IOVA of
 * `startIndex`, one map call per run. On failure the domain is unchanged.
 * Runs the domain can take on its common path go through mapRuns() in one
 * loop; the others, and every run while a fault is armed, through map().
 */
export function batchToDomain(env: IommufdEnv, batch: PfnBatch, domain: IommuDomain, area: IoptArea, startIndex: number): number {
  const small = area.iopt?.disableLargePages === true;
  const prot = batch.kind === BATCH_MMIO ? (area.iommuProt & ~IOMMU_CACHE) | IOMMU_MMIO : area.iommuProt;
  const lastIova = area.lastIovaNum;
  let pageOffset = startIndex === area.index ? area.pageOffset : 0;
  const startIova = areaIndexToIova(area, startIndex);
  let iova = startIova;
  let nextIova = startIova;
  const memcg = env.current().memcg;
  for (let cur = 0; cur < batch.end; cur++) {
    // (the run fast path maps with the area's own protection)
    if (!small && pageOffset === 0 && prot === area.iommuProt) {
      cur = domain.mapRuns(batch.pfns, batch.npfns, cur, batch.end, iova, lastIova, memcg);
      iova = nextIova = domain.runsEndIova;
      if (cur === batch.end) break;
    }
    nextIova = Math.min(lastIova + 1, nextIova + batch.npfns[cur] * PAGE_SIZE - pageOffset);
    const paddr = batch.pfns[cur] * PAGE_SIZE + pageOffset;
    const rc = small
      ? mapSmall(env, domain, iova, paddr, nextIova - iova, prot)
      : domain.map(iova, paddr, nextIova - iova, prot, memcg);
    if (rc !== 0) {
      if (startIova !== iova) unmapNofail(env, domain, startIova, iova - startIova);
      return rc;
    }
    iova = nextIova;
    pageOffset = 0;
  }
  return 0;
}

/** Coverage sites of PfnReaderUser's methods (base/coverage.ts). */
const COV_PfnReaderUser = coverSites('PfnReaderUser', ['init', 'useBuffer', 'destroy', 'pin', 'updatePinned']);

/** struct pfn_reader_user: the GUP side of a reader. */
export class PfnReaderUser {
  /** PFN buffer the pins land in (the kernel's upages), and where index upagesStart sits in it. */
  upages: Uint32Array | undefined;
  upagesBase = 0;
  /** Capacity in bytes (8 per page, as struct page pointers). */
  upagesLen = 0;
  upagesStart = 0;
  upagesEnd = 0;
  gupFlags = 0;
  /** -1 no mm reference taken yet, 0 mm referenced (or it is current's own). */
  locked = -1;
  /** The pages are a file's: pins come from its page cache, never through an mm. */
  file = false;
  /** The buffer came from temp_kmalloc (and goes back to the pool). */
  private owned = false;
  /** A file's pins: the size temp_kmalloc gave the ufolios array (0: none yet), which bounds each pin. */
  private ufoliosLen = 0;

  constructor(private readonly env: IommufdEnv) {}

  /** pfn_reader_user_init() */
  init(pages: IoptPages): void {
    cover(COV_PfnReaderUser.init);
    this.upages = undefined;
    this.upagesBase = 0;
    this.upagesLen = 0;
    this.upagesStart = 0;
    this.upagesEnd = 0;
    this.locked = -1;
    this.owned = false;
    this.ufoliosLen = 0;
    this.gupFlags = FOLL_LONGTERM | (pages.writable ? FOLL_WRITE : 0);
    this.file = pages.type === IOPT_ADDRESS_FILE;
  }

  /** Point the pin buffer into caller memory (iopt_pages_fill_xarray does this with out_pages). */
  useBuffer(buf: Uint32Array, base: number, lenBytes: number): void {
    cover(COV_PfnReaderUser.useBuffer);
    this.upages = buf;
    this.upagesBase = base;
    this.upagesLen = lenBytes;
    this.owned = false;
  }

  /** pfn_reader_user_destroy() */
  destroy(pages: IoptPages): void {
    cover(COV_PfnReaderUser.destroy);
    if (this.locked !== -1) {
      if (!this.file && pages.sourceMm !== this.env.current().mm) pages.sourceMm.mmput();
      this.locked = -1;
    }
    if (this.owned && this.upages) userBufPool.push(this.upages);
    this.upages = undefined;
    this.owned = false;
    this.ufoliosLen = 0;
  }

  /** pfn_reader_user_pin(): pin a chunk of [start, last] (maybe fewer pages). */
  pin(pages: IoptPages, start: number, last: number): number {
    cover(COV_PfnReaderUser.pin);
    const env = this.env;
    if (env.warn.testOn(last < start, 'pfn_reader_user_pin.range')) return -EINVAL;
    // A file's pins go through a ufolios array of their own, even into a caller's upages (an access's
    // out_pages): its temp_kmalloc() bounds each pin; mm pins land in upages, made here unless given.
    if (this.file && this.ufoliosLen === 0) {
      const size = tempKmallocSize(env, (last - start + 1) * 8, 0);
      if (size < 0) return -ENOMEM;
      this.ufoliosLen = size;
    }
    if (!this.upages) {
      const size = this.file ? this.ufoliosLen : tempKmallocSize(env, (last - start + 1) * 8, 0);
      if (size < 0) return -ENOMEM;
      this.upagesLen = size;
      const want = Math.max(1, Math.floor(size / 8));
      let buf = userBufPool.pop();
      if (!buf || buf.length < want) buf = new Uint32Array(Math.max(want, 64));
      this.upages = buf;
      this.upagesBase = 0;
      this.owned = true;
    }
    if (this.locked === -1) {
      if (!this.file && pages.sourceMm !== env.current().mm && !pages.sourceMm.mmgetNotZero()) return -EFAULT;
      this.locked = 0;
    }
    const npages = Math.min(last - start + 1, Math.floor((this.file ? this.ufoliosLen : this.upagesLen) / 8));
    if (env.faults.shouldFail(FP_USER_PIN)) return -EFAULT;
    let rc: number;
    if (this.file) {
      // pin_memfd_pages(): through the page cache
      rc = memfdPinFolios(pages.file, pages.fileStart + BigInt(start) * BigInt(PAGE_SIZE), npages, this.upages, this.upagesBase);
    } else {
      const uptr = pages.uptr + BigInt(start) * BigInt(PAGE_SIZE);
      rc = pinUserPages(pages.sourceMm, uptr, npages, this.gupFlags, this.upages, this.upagesBase);
    }
    if (rc < 0) return rc;
    if (env.warn.on(rc === 0, 'pfn_reader_user_pin.zero', 'GUP pinned nothing')) return -EFAULT;
    pagesAddNpinned(env, pages, rc);
    this.upagesStart = start;
    this.upagesEnd = start + rc;
    return 0;
  }

  /** pfn_reader_user_update_pinned(): charge or uncharge the change in npinned. */
  updatePinned(pages: IoptPages): number {
    cover(COV_PfnReaderUser.updatePinned);
    if (pages.npinned === pages.lastNpinned) return 0;
    if (pages.npinned < pages.lastNpinned) return updatePinned(this.env, pages, pages.lastNpinned - pages.npinned, false, this);
    if (this.env.faults.shouldFail(FP_UPDATE_PINNED)) return -ENOMEM;
    return updatePinned(this.env, pages, pages.npinned - pages.lastNpinned, true, this);
  }
}

const userBufPool: Uint32Array[] = [];

/** Coverage sites of PfnReader's methods (base/coverage.ts). */
const COV_PfnReader = coverSites('PfnReader', ['init', 'first', 'done', 'fillSpan', 'next', 'unpin', 'releasePins', 'updatePinned', 'destroy']);

/** struct pfn_reader */
export class PfnReader {
  pages!: IoptPages;
  readonly span = new DoubleSpanIter<number>();
  readonly batch = new PfnBatch();
  batchStartIndex = 0;
  batchEndIndex = 0;
  lastIndex = 0;
  readonly user: PfnReaderUser;
  /** pfn_reader_dmabuf: the dma-buf's physical range and offset, copied at init. */
  private dmabufPaddr = 0;
  private dmabufStart = 0;

  constructor(private readonly env: IommufdEnv) {
    this.user = new PfnReaderUser(env);
  }

  /** pfn_reader_init() */
  private init(pages: IoptPages, start: number, last: number): number {
    cover(COV_PfnReader.init);
    this.pages = pages;
    this.batchStartIndex = start;
    this.batchEndIndex = start;
    this.lastIndex = last;
    if (isDmabufPages(pages)) {
      // pfn_reader_dmabuf_init(): callers never read a revoked dma-buf
      this.env.warn.on(dmabufRevoked(pages), 'pfn_reader_dmabuf_init.revoked');
      this.dmabufPaddr = pages.dmabuf!.phys.paddr;
      this.dmabufStart = pages.dmabuf!.start;
    } else this.user.init(pages);
    const rc = this.batch.init(this.env, last - start + 1, false);
    if (rc) return rc;
    this.span.first(pages.accessItree, pages.domainsItree, start, last);
    return 0;
  }

  /** pfn_reader_first(): set up and read the first batch. On failure nothing is left pinned. */
  first(pages: IoptPages, start: number, last: number): number {
    cover(COV_PfnReader.first);
    if (this.env.warn.testOn(last < start, 'pfn_reader_first.range')) return -EINVAL;
    let rc = this.init(pages, start, last);
    if (rc) return rc;
    rc = this.next();
    if (rc) {
      this.destroy();
      return rc;
    }
    return 0;
  }

  /** pfn_reader_done() */
  done(): boolean {
    cover(COV_PfnReader.done);
    return this.batchStartIndex === this.lastIndex + 1;
  }

  /** pfn_reader_fill_span(): append PFNs from the current span. */
  private fillSpan(): number {
    cover(COV_PfnReader.fillSpan);
    const env = this.env;
    const span = this.span;
    const pages = this.pages;
    let start = this.batchEndIndex;
    if (env.warn.testOn(span.last < start, 'pfn_reader_fill_span.span', span.last < start ? `span last ${span.last} < ${start}` : '')) return -EINVAL;
    if (span.isUsed === 1) {
      batchFromXarray(env, this.batch, pages, start, span.last);
      return 0;
    }
    if (span.isUsed === 2) {
      const area = findDomainArea(pages, start);
      if (env.warn.on(area === undefined, 'pfn_reader_fill_span.no_area')) return -EINVAL;
      batchFromDomain(this.batch, area!.storageDomain!, area!, start, Math.min(area!.lastIndex, span.last));
      return 0;
    }
    if (isDmabufPages(pages)) {
      // pfn_reader_fill_dmabuf(): the whole hole as one MMIO run
      const pfn = Math.floor((this.dmabufPaddr + this.dmabufStart + start * PAGE_SIZE) / PAGE_SIZE);
      this.batch.addRun(pfn, span.last - start + 1, BATCH_MMIO);
      return 0;
    }
    const user = this.user;
    if (start >= user.upagesEnd) {
      const rc = user.pin(pages, start, span.last);
      if (rc) return rc;
    }
    const n = user.upagesEnd - start;
    start -= user.upagesStart;
    batchFromPages(this.batch, user.upages!, user.upagesBase + start, n);
    return 0;
  }

  /** pfn_reader_next(): read the next batch. */
  next(): number {
    cover(COV_PfnReader.next);
    const env = this.env;
    const batch = this.batch;
    batch.clear();
    this.batchStartIndex = this.batchEndIndex;
    while (this.batchEndIndex !== this.lastIndex + 1) {
      const before = batch.totalPfns;
      if (env.warn.testOn(this.span.done(), 'pfn_reader_next.span_done')) return -EINVAL;
      const rc = this.fillSpan();
      if (rc) return rc;
      if (env.warn.on(batch.totalPfns === 0, 'pfn_reader_next.no_progress')) return -EINVAL;
      this.batchEndIndex = this.batchStartIndex + batch.totalPfns;
      if (this.batchEndIndex === this.span.last + 1) this.span.next();
      if (before === batch.totalPfns) return 0;
    }
    return 0;
  }

  /** pfn_reader_unpin(): unpin the hole parts of the current batch (error and rw paths). */
  unpin(): void {
    cover(COV_PfnReader.unpin);
    const pages = this.pages;
    const start = this.batchStartIndex;
    const last = this.batchEndIndex - 1;
    const span = spanScratch;
    for (span.first(pages.accessItree, pages.domainsItree, start, last); !span.done(); span.next()) {
      if (span.isUsed !== 0) continue;
      batchUnpin(this.env, this.batch, pages, span.start - start, span.last - span.start + 1);
    }
  }

  /** pfn_reader_release_pins(): undo pins of the current batch and of any read-ahead. */
  releasePins(): void {
    cover(COV_PfnReader.releasePins);
    const pages = this.pages;
    if (isDmabufPages(pages)) return;
    const user = this.user;
    if (user.upagesEnd > this.batchEndIndex) {
      const n = user.upagesEnd - this.batchEndIndex;
      const off = user.upagesBase + (this.batchEndIndex - user.upagesStart);
      unpinUserPages(this.env.phys, user.upages!, off, n, false);
      pagesSubNpinned(this.env, pages, n);
      user.upagesEnd = this.batchEndIndex;
    }
    if (this.batchStartIndex !== this.batchEndIndex) {
      this.unpin();
      this.batchStartIndex = this.batchEndIndex;
    }
  }

  /** pfn_reader_update_pinned() */
  updatePinned(): number {
    cover(COV_PfnReader.updatePinned);
    return this.user.updatePinned(this.pages);
  }

  /** pfn_reader_destroy(): every pin taken must by now be accounted or released. */
  destroy(): void {
    cover(COV_PfnReader.destroy);
    const pages = this.pages;
    this.releasePins();
    if (!isDmabufPages(pages)) this.user.destroy(pages);
    this.batch.destroy();
    this.env.warn.on(pages.lastNpinned !== pages.npinned, 'pfn_reader_destroy.npinned', `last_npinned ${pages.lastNpinned} != npinned ${pages.npinned}`);
  }
}

// pfn_reader_unpin runs its own span walk; readers never nest it.
const spanScratch = new DoubleSpanIter<number>();
