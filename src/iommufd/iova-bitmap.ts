// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iova_bitmap (iova_bitmap.c, the 6.12 form): the user's dirty
 * bitmap of IOMMU_HWPT_GET_DIRTY_BITMAP as the domain driver records into it.
 *
 * One bit per `pageSize` bytes of IOVA from `iova`; bit n is bit n % 8 of
 * byte n / 8 at `data` (little-endian u64 words, so any byte alignment of
 * `data` works). Recording ORs bits in; nothing is cleared.
 *
 * The user pages are pinned lazily, a window of at most 512 pages (2 MiB of
 * bitmap) from the byte holding the first bit recorded outside the current
 * window: pin_user_pages_fast(FOLL_WRITE) of the pages from that byte on,
 * keeping those pinned up to the first one that cannot be. A record whose
 * start cannot be pinned, or that starts past the bitmap's last byte, is
 * dropped silently (iova_bitmap_set returns nothing); a record running past
 * the pinned pages moves the window to where it continues. The pins are
 * dropped when the window moves and when the bitmap is freed.
 */
import { EFAULT, EINVAL, ENOMEM } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import { pinUserPages, unpinUserPages } from '../mm/gup.js';
import { FOLL_WRITE, PAGE_SIZE } from '../mm/constants.js';
import type { IommufdEnv } from './env.js';

/** kzalloc of struct iova_bitmap. */
export const FP_IOVA_BITMAP_ALLOC = faultPoint('kzalloc.iova_bitmap', 'slab');
/** __get_free_page of the pinned-page array. */
export const FP_IOVA_BITMAP_PAGES = faultPoint('__get_free_page.iova_bitmap', 'page');

const BITS_PER_PAGE = PAGE_SIZE * 8;
/** PAGE_SIZE / sizeof(struct page *) */
const MAX_PINNED = PAGE_SIZE / 8;
const PAGE = BigInt(PAGE_SIZE);

export class IovaBitmap {
  /** bitmap->iova, bitmap->length (bytes of IOVA covered). */
  readonly iova: number;
  readonly length: number;
  readonly pgshift: number;
  private readonly data: bigint;
  /** offset_in_page(data) */
  private readonly dataOff: number;
  /** mapped_total_index: bytes of bitmap the range needs. */
  private readonly totalIndex: number;
  private baseIndex = 0;
  private readonly pfns = new Uint32Array(MAX_PINNED);
  private npages = 0;
  private mappedIova = 0;
  private mappedLength = 0;
  private pgoff = 0;
  /** User VA of the first pinned page. */
  private pageVa = 0n;
  /**
   * The pinned pages written so far, by index in the window: the kernel sets
   * bits through kmap; here each page is read once, updated in place, and
   * written back when the window moves or the bitmap is freed (nothing else
   * writes those pages during the ioctl, so the result is the same).
   */
  private readonly pageBufs = new Map<number, Uint8Array>();

  private constructor(
    private readonly env: IommufdEnv,
    iova: number,
    length: number,
    pgshift: number,
    data: bigint,
  ) {
    this.iova = iova;
    this.length = length;
    this.pgshift = pgshift;
    this.data = data;
    this.dataOff = Number(data % PAGE);
    this.totalIndex = this.offsetToIndex(length - 1) + 1;
    this.mappedIova = iova;
  }

  /**
   * iova_bitmap_alloc(): the bitmap, or -ENOMEM. Each bit covers
   * 2^__ffs(pageSize) bytes. The range is held as doubles: only records
   * inside a domain's aperture (below 2^53) ever reach it, and the window
   * arithmetic is relative to the range's start.
   */
  static alloc(env: IommufdEnv, iova: bigint, length: bigint, pageSize: bigint, data: bigint): IovaBitmap | number {
    if (env.faults.shouldFail(FP_IOVA_BITMAP_ALLOC)) return -ENOMEM;
    // (__get_free_page(): one page, below fail_page_alloc's default min-order)
    if (env.faults.shouldFailPages(FP_IOVA_BITMAP_PAGES, 0)) return -ENOMEM;
    let pgshift = 0;
    while (pgshift < 64 && ((pageSize >> BigInt(pgshift)) & 1n) === 0n) pgshift++;
    return new IovaBitmap(env, Number(iova), Number(length), pgshift, data);
  }

  private shift(x: number): number {
    return Math.floor(x / 2 ** this.pgshift);
  }

  /** iova_bitmap_offset_to_index(): the bitmap byte of a relative IOVA. */
  private offsetToIndex(off: number): number {
    return Math.floor(this.shift(off) / 8);
  }

  /** iova_bitmap_index_to_offset() */
  private indexToOffset(index: number): number {
    return index * 8 * 2 ** this.pgshift;
  }

  /** iova_bitmap_get(): pin the window from baseIndex; -EFAULT when its first page cannot be. */
  private get(): number {
    const addr = this.data + BigInt(this.baseIndex);
    const off = Number(addr % PAGE);
    let npages = Math.ceil((this.totalIndex - this.baseIndex) / PAGE_SIZE);
    npages = Math.min(npages + (off !== 0 ? 1 : 0), MAX_PINNED);
    const mm = this.env.current().mm;
    const n = pinUserPages(mm, addr - BigInt(off), npages, FOLL_WRITE, this.pfns, 0);
    if (n <= 0) return -EFAULT;
    this.npages = n;
    this.pageVa = addr - BigInt(off);
    this.mappedIova = this.iova + this.indexToOffset(this.baseIndex);
    this.pgoff = off;
    // iova_bitmap_mapped_length(): what the pinned bytes cover, capped at the range's end
    const bytes = n * PAGE_SIZE - off;
    const remaining = Math.min(this.totalIndex - this.baseIndex, bytes);
    let len = this.indexToOffset(remaining);
    const maxIova = this.iova + this.length - 1;
    if (this.mappedIova + len - 1 > maxIova) len -= this.mappedIova + len - 1 - maxIova;
    this.mappedLength = len;
    return 0;
  }

  /** iova_bitmap_put() */
  private put(): void {
    this.flush();
    if (this.npages) {
      unpinUserPages(this.env.phys, this.pfns, 0, this.npages, false);
      this.npages = 0;
    }
  }

  /** iova_bitmap_free() */
  free(): void {
    this.flushPending();
    this.put();
  }

  private mappedRange(iova: number, length: number): boolean {
    return this.npages !== 0 && iova >= this.mappedIova && iova + length - 1 <= this.mappedIova + this.mappedLength - 1;
  }

  /** iova_bitmap_advance_to() */
  private advanceTo(iova: number): number {
    const index = this.offsetToIndex(iova - this.iova);
    if (index >= this.totalIndex) return -EINVAL;
    this.baseIndex = index;
    this.put();
    return this.get();
  }

  /**
   * iova_bitmap_set(): record [iova, iova + length) as dirty. Records that
   * continue the previous one within the same page of bitmap are merged and
   * set together: one page is pinned or not as a whole, so the merged record
   * sets exactly the bits the separate ones would.
   */
  set(iova: number, length: number): void {
    if (this.pendLen !== 0 && iova === this.pendIova + this.pendLen && iova + length <= this.pendLimit) {
      this.pendLen += length;
      return;
    }
    this.flushPending();
    this.pendIova = iova;
    this.pendLen = length;
    // the first IOVA whose bit lies in the next page of bitmap
    const byte = this.dataOff + Math.floor(this.shift(iova - this.iova) / 8);
    const nextPageByte = (Math.floor(byte / PAGE_SIZE) + 1) * PAGE_SIZE - this.dataOff;
    this.pendLimit = this.iova + nextPageByte * 8 * 2 ** this.pgshift;
  }

  private pendIova = 0;
  private pendLen = 0;
  private pendLimit = 0;

  private flushPending(): void {
    if (this.pendLen === 0) return;
    const iova = this.pendIova;
    const length = this.pendLen;
    this.pendLen = 0;
    this.setNow(iova, length);
  }

  /** The kernel's iova_bitmap_set() for one record. */
  private setNow(iova: number, length: number): void {
    for (;;) {
      if (!this.mappedRange(iova, length) && this.advanceTo(iova)) return;
      const lastPage = this.npages - 1;
      let cur = this.shift(iova - this.mappedIova) + this.pgoff * 8;
      const last = this.shift(iova + length - 1 - this.mappedIova) + this.pgoff * 8;
      let moved = false;
      do {
        const pageIdx = Math.floor(cur / BITS_PER_PAGE);
        const offset = cur % BITS_PER_PAGE;
        const nbits = Math.min(BITS_PER_PAGE - offset, last - cur + 1);
        if (pageIdx > lastPage) {
          const left = (last - cur + 1) * 2 ** this.pgshift;
          iova += length - left;
          length = left;
          moved = true;
          break;
        }
        this.setBits(pageIdx, offset, nbits);
        cur += nbits;
      } while (cur <= last);
      if (!moved) return;
    }
  }

  /** Write back the pages of the window that got bits. */
  private flush(): void {
    if (this.pageBufs.size === 0) return;
    const mm = this.env.current().mm;
    for (const [idx, buf] of this.pageBufs) mm.writeUser(this.pageVa + BigInt(idx) * PAGE, buf);
    this.pageBufs.clear();
  }

  /** bitmap_set() on one pinned page: OR `nbits` bits from bit `offset` of page `pageIdx`. */
  private setBits(pageIdx: number, offset: number, nbits: number): void {
    let buf = this.pageBufs.get(pageIdx);
    if (buf === undefined) {
      buf = new Uint8Array(PAGE_SIZE);
      // The page is pinned for write: the kernel writes it through kmap.
      if (this.env.current().mm.readUser(this.pageVa + BigInt(pageIdx) * PAGE, buf) !== 0) return;
      this.pageBufs.set(pageIdx, buf);
    }
    const end = offset + nbits;
    let bit = offset;
    while (bit < end && bit & 7) buf[bit >>> 3] |= 1 << (bit++ & 7);
    if (bit + 8 <= end) {
      const e8 = end & ~7;
      buf.fill(0xff, bit >>> 3, e8 >>> 3);
      bit = e8;
    }
    while (bit < end) buf[bit >>> 3] |= 1 << (bit++ & 7);
  }
}
