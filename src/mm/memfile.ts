// SPDX-License-Identifier: GPL-2.0-only
/**
 * A file's page cache: what MAP_SHARED anonymous memory (shmem), memfd,
 * hugetlbfs and a read-only regular file (e.g. /proc/self/exe) hand to mmap.
 *
 * The cache holds one reference per folio (on the folio's head frame). Pages
 * are created on first use, zero-filled, or from the file's initial contents
 * for a regular file. A hugetlbfs file caches order-9 or order-18 folios and
 * keeps per-index hugetlb reservations (taken by shared mappings at mmap).
 * `vmas` is the reverse map (i_mmap): truncation zaps every mapping of the
 * truncated pages in every address space, as truncate_pagecache() does.
 * The file lives while it has `refs` (open file descriptions + VMAs); the last
 * put drops the page cache.
 */
import { EFAULT, EINVAL, ENOMEM, ENXIO } from '../base/errno.js';
import { MAX_LFS_FILESIZE, PAGE_SIZE, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE } from './constants.js';
import type { PhysicalMemory } from './physical-memory.js';

export type MemFileKind = 'shmem' | 'hugetlb' | 'file';

/** What the reverse map needs from a VMA (address-space.ts implements it). */
export interface MemFileMapping {
  /**
   * Zap the PTEs of this mapping for file page indexes [first, last]; with
   * `evenCows` false, private COW copies of those pages stay.
   */
  zapFilePages(first: number, last: number, evenCows: boolean): void;
}

export class MemFile {
  readonly phys: PhysicalMemory;
  readonly kind: MemFileKind;
  /** Folio order of the cache: 0, or 9 / 18 for hugetlbfs. */
  readonly order: number;
  readonly name: string;
  /** i_size in bytes. */
  size: number;
  /** Open file descriptions + VMAs. */
  refs = 0;
  readonly vmas = new Set<MemFileMapping>();
  /** Folio index → head PFN. */
  private readonly folios = new Map<number, number>();
  /** hugetlbfs: folio indexes reserved and not yet allocated. */
  private readonly resv = new Set<number>();
  private readonly initial: Uint8Array | undefined;
  private released = false;

  constructor(phys: PhysicalMemory, kind: MemFileKind, size: number, opts: { order?: number; name?: string; contents?: Uint8Array } = {}) {
    this.phys = phys;
    this.kind = kind;
    this.order = kind === 'hugetlb' ? (opts.order ?? 9) : 0;
    this.name = opts.name ?? kind;
    this.size = size;
    this.initial = opts.contents;
  }

  /** Pages (4 KiB) per cached folio. */
  get folioPages(): number {
    return 2 ** this.order;
  }

  get folioBytes(): number {
    return PAGE_SIZE * 2 ** this.order;
  }

  /** Folios the file's size covers. */
  get nfolios(): number {
    return Math.ceil(this.size / this.folioBytes);
  }

  /** The page cache is still there (the last reference has not gone). */
  get live(): boolean {
    return !this.released;
  }

  get(): void {
    this.refs++;
  }

  put(): void {
    if (--this.refs > 0) return;
    this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    for (const head of this.folios.values()) this.phys.putFrame(head);
    this.folios.clear();
    if (this.resv.size) this.phys.hugetlbUnreserve(this.order, this.resv.size);
    this.resv.clear();
  }

  /**
   * f_op->llseek of the file from position `pos`: the new position
   * or -errno. SEEK_SET/CUR/END as generic_file_llseek_size() up to
   * MAX_LFS_FILESIZE; SEEK_DATA/SEEK_HOLE by the cached folios on shmem
   * (shmem_file_llseek(), mapping_seek_hole_data()), while hugetlbfs, whose
   * llseek is default_llseek(), takes the whole size as data.
   */
  llseek(pos: bigint, offset: bigint, whence: number): bigint {
    const size = BigInt(this.size);
    let to = offset;
    if (whence === SEEK_END) to = offset + size;
    else if (whence === SEEK_CUR) {
      if (offset === 0n) return pos;
      to = pos + offset;
    } else if (whence === SEEK_DATA || whence === SEEK_HOLE) {
      if (offset < 0n || offset >= size) return BigInt(-ENXIO);
      if (this.kind === 'hugetlb') to = whence === SEEK_DATA ? offset : size;
      else {
        const fb = BigInt(this.folioBytes);
        let i = Number(offset / fb);
        const want = whence === SEEK_DATA;
        while (BigInt(i) * fb < size && this.lookup(i) >= 0 !== want) i++;
        const at = BigInt(i) * fb;
        if (at >= size) {
          if (want) return BigInt(-ENXIO);
          to = size;
        } else to = at > offset ? at : offset;
      }
    }
    // vfs_setpos()
    if (to < 0n || to > MAX_LFS_FILESIZE) return BigInt(-EINVAL);
    return to;
  }

  /** Head PFN of the cached folio at `index`, -1 if not cached. */
  lookup(index: number): number {
    return this.folios.get(index) ?? -1;
  }

  /** Cached folios (for audits). */
  cached(): IterableIterator<[number, number]> {
    return this.folios.entries();
  }

  /**
   * The folio at `index`, created when absent (shmem_get_folio / hugetlb_no_page).
   * Returns the head PFN, -EFAULT past EOF (SIGBUS) or when a hugetlb folio
   * cannot be had, -ENOMEM when a page cannot be allocated. `forPin` is
   * memfd_pin_folios()' allocation (memfd_alloc_folio): a hugetlb folio
   * takes its own reservation and a failure is -ENOMEM.
   */
  getFolio(index: number, forPin = false): number {
    const have = this.folios.get(index);
    if (have !== undefined) return have;
    if (index >= this.nfolios || this.released) return -EFAULT;
    let head: number;
    if (this.kind === 'hugetlb') {
      let reserved = this.resv.has(index);
      // memfd_alloc_folio(): reserve the one folio first, -ENOMEM when the pool cannot
      let ownResv = false;
      if (forPin && !reserved) {
        if (!this.reserve(index, index + 1)) return -ENOMEM;
        reserved = ownResv = true;
      }
      head = this.phys.allocFolio(this.order, { hugetlb: true, reserved });
      if (head < 0) {
        if (ownResv) {
          this.resv.delete(index);
          this.phys.hugetlbUnreserve(this.order, 1);
        }
        return forPin ? -ENOMEM : -EFAULT;
      }
      if (reserved) this.resv.delete(index);
    } else {
      head = this.phys.allocFolio(0);
      if (head < 0) return -ENOMEM;
      const init = this.initial;
      if (init && index * PAGE_SIZE < init.length) {
        const from = index * PAGE_SIZE;
        const n = Math.min(PAGE_SIZE, init.length - from);
        this.phys.write(head, 0, init, from, n);
        this.phys.setDirty(head, false);
      }
    }
    this.phys.getFrame(head);
    this.folios.set(index, head);
    return head;
  }

  /**
   * hugetlb_reserve_pages() for a shared mapping of folio indexes [from, to):
   * reserve those neither cached nor reserved yet. False when the pool cannot.
   */
  reserve(from: number, to: number): boolean {
    if (this.kind !== 'hugetlb') return true;
    let have = 0;
    for (const i of this.folios.keys()) if (i >= from && i < to) have++;
    for (const i of this.resv) if (i >= from && i < to && !this.folios.has(i)) have++;
    if (!this.phys.hugetlbReserve(this.order, to - from - have)) return false;
    // the pool granted it, so the range is no larger than free memory
    for (let i = from; i < to; i++) if (!this.folios.has(i)) this.resv.add(i);
    return true;
  }

  /** ftruncate(): shrink drops the cached folios past the new end, unmapping them everywhere first. */
  truncate(newSize: number): void {
    const old = this.nfolios;
    this.size = newSize;
    const keep = this.nfolios;
    if (keep >= old) return;
    const firstPage = keep * this.folioPages;
    const lastPage = old * this.folioPages - 1;
    for (const m of this.vmas) m.zapFilePages(firstPage, lastPage, true);
    for (const [index, head] of [...this.folios]) {
      if (index < keep) continue;
      this.folios.delete(index);
      this.phys.putFrame(head);
    }
    let drop = 0;
    for (const i of [...this.resv])
      if (i >= keep) {
        this.resv.delete(i);
        drop++;
      }
    if (drop) this.phys.hugetlbUnreserve(this.order, drop);
  }

  /**
   * fallocate(PUNCH_HOLE) / MADV_REMOVE over 4 KiB page indexes [first, last]:
   * unmap the page-cache pages from every mapping (private COW copies stay)
   * and drop the whole folios inside the range.
   */
  punchHole(first: number, last: number): void {
    const fp = this.folioPages;
    const f0 = Math.ceil(first / fp);
    const f1 = Math.floor((last + 1) / fp) - 1;
    if (f1 < f0) return;
    for (const m of this.vmas) m.zapFilePages(f0 * fp, (f1 + 1) * fp - 1, false);
    for (const [index, head] of [...this.folios]) {
      if (index < f0 || index > f1) continue;
      this.folios.delete(index);
      this.phys.putFrame(head);
    }
  }
}
