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
import { EBUSY, EFAULT, EFBIG, EINVAL, ENOMEM, ENOSPC, ENXIO, EPERM } from '../base/errno.js';
import type { MmStruct } from './address-space.js';
import { F_ALL_SEALS, F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, F_SEALS_WRITE, MAX_LFS_FILESIZE, PAGE_SIZE_N, PAGE_SIZE, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, VM_MAYWRITE, VM_SHARED } from './constants.js';
import { type PhysicalMemory, uniformPage } from './physical-memory.js';
import { XArray } from '../base/xarray.js';

/** A kiocb's position: where a read or write of the file starts, moved past what it transferred. */
export interface FilePos {
  pos: bigint;
}

export type MemFileKind = 'shmem' | 'hugetlb' | 'file';

/** What the reverse map needs from a VMA (address-space.ts implements it). */
export interface MemFileMapping {
  /** The mapping's VMA flags (a VM_SHARED | VM_MAYWRITE one counts in i_mmap_writable). */
  readonly flags: number;
  /**
   * Zap the PTEs of this mapping for file page indexes [first, last]; with
   * `evenCows` false, private COW copies of those pages stay.
   */
  zapFilePages(first: number, last: number, evenCows: boolean): void;
}

/** mapping_max_folio_size() of a shmem file (MAX_PAGECACHE_ORDER: PMD size): generic_perform_write()'s chunk. */
const WRITE_CHUNK = 2n << 20n;

/** Folios one fallocate() may add in the model (2^21: 8 GiB of 4 KiB pages, 4 TiB of 2 MiB ones). */
export const FALLOC_MAX_FOLIOS = 1 << 21;

export class MemFile {
  readonly phys: PhysicalMemory;
  readonly kind: MemFileKind;
  /** Folio order of the cache: 0, or 9 / 18 for hugetlbfs. */
  readonly order: number;
  readonly name: string;
  /** i_size in bytes (a loff_t: up to MAX_LFS_FILESIZE, past what a double holds exactly). */
  size: bigint;
  /** Open file descriptions + VMAs. */
  refs = 0;
  readonly vmas = new Set<MemFileMapping>();
  /** Folio index → head PFN. */
  private readonly folios = new Map<number, number>();
  /** Head PFN → folio index (the page cache's reverse map, for pageOf()). */
  private readonly indexOf = new Map<number, number>();
  /**
   * The small-page cache's indexes as the kernel's i_pages xarray holds them: adding a folio
   * (shmem_add_to_page_cache(), filemap_add_folio()) stores under the xarray's lock, so each node the
   * store makes is a fault point that fires without failing it (XArray.store()). Hugetlb's multi-index
   * entries are not counted.
   */
  private readonly iPages: XArray | undefined;
  /** hugetlbfs: folio indexes reserved and not yet allocated. */
  private readonly resv = new Set<number>();
  /** shmem folios fallocate() added that nothing has written or faulted yet (!folio_test_uptodate()). */
  private readonly falloced = new Set<number>();
  /** Bumped by every change to the cache, its reservations or the not-uptodate set (what problems() reads). */
  changes = 0;
  /**
   * The inode's seals (shmem_inode_info / hugetlbfs_inode_info ->seals):
   * F_SEAL_SEAL from the start (shmem_get_inode(), hugetlbfs_get_inode()),
   * so only a memfd made with MFD_ALLOW_SEALING or MFD_NOEXEC_SEAL takes more.
   */
  seals = F_SEAL_SEAL;
  /** The inode's permission bits (i_mode & 07777): a memfd starts rwx for all, rw- with MFD_NOEXEC_SEAL. */
  perm = 0o777;
  /** The inode's owner (i_uid): the fsuid (the model's euid) of the process that made it. */
  uid = 0;
  private readonly initial: Uint8Array | undefined;
  private released = false;

  constructor(phys: PhysicalMemory, kind: MemFileKind, size: bigint, opts: { order?: number; name?: string; contents?: Uint8Array } = {}) {
    this.phys = phys;
    this.kind = kind;
    this.order = kind === 'hugetlb' ? (opts.order ?? 9) : 0;
    this.iPages = kind === 'hugetlb' ? undefined : new XArray({ faults: phys.faults });
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
    const fb = BigInt(this.folioBytes);
    return Number((this.size + fb - 1n) / fb);
  }

  /**
   * inode_get_bytes(): the bytes the cached folios take (i_blocks, raised per
   * folio added by shmem_inode_acct_blocks() or hugetlb_no_page(), lowered
   * as they go); what FIOQSIZE answers for a shmem or hugetlbfs file.
   */
  allocatedBytes(): bigint {
    return BigInt(this.folios.size) * BigInt(this.folioBytes);
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
    this.changes++;
    for (const head of this.folios.values()) this.phys.putFrame(head);
    this.folios.clear();
    this.iPages?.clear();
    this.indexOf.clear();
    this.falloced.clear();
    if (this.resv.size) this.phys.hugetlbUnreserve(this.order, this.resv.size);
    this.resv.clear();
  }

  /**
   * f_op->llseek of the file from position `pos`: the new position
   * or -errno. SEEK_SET/CUR/END as generic_file_llseek_size() up to
   * MAX_LFS_FILESIZE; SEEK_DATA/SEEK_HOLE by the cached folios on shmem
   * (shmem_file_llseek(), mapping_seek_hole_data()), while hugetlbfs, whose
   * llseek is default_llseek(), takes the whole size as data (and lets a
   * negative offset through to the hole at the end).
   */
  llseek(pos: bigint, offset: bigint, whence: number): bigint {
    const size = this.size;
    let to = offset;
    if (whence === SEEK_END) to = offset + size;
    else if (whence === SEEK_CUR) {
      if (offset === 0n) return pos;
      to = pos + offset;
    } else if (whence === SEEK_DATA || whence === SEEK_HOLE) {
      // default_llseek() (hugetlbfs) refuses only an offset at or past the size: a negative one is data
      // (then EINVAL below) or before the hole at the end; shmem_file_llseek() refuses it first (ENXIO)
      if (offset >= size || (offset < 0n && this.kind !== 'hugetlb')) return BigInt(-ENXIO);
      if (this.kind === 'hugetlb') to = whence === SEEK_DATA ? offset : size;
      else {
        const fb = BigInt(this.folioBytes);
        const from = Number(offset / fb);
        // the first cached folio at or after `from` (SEEK_DATA), or the first one not cached (SEEK_HOLE), found
        // through the cache, not by walking the holes: i_size goes up to 2^63
        let i = from;
        // (a folio fallocate() added and nothing wrote yet is not uptodate: folio_seek_hole_data() takes it for a hole)
        if (whence === SEEK_DATA) {
          i = Number.POSITIVE_INFINITY;
          for (const k of this.folios.keys()) if (k >= from && k < i && !this.falloced.has(k)) i = k;
        } else while (this.folios.has(i) && !this.falloced.has(i)) i++;
        const at = i === Number.POSITIVE_INFINITY ? size : BigInt(i) * fb;
        const want = whence === SEEK_DATA;
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

  /** The folio at `index` is cached and uptodate: what mincore_page() counts (one fallocate() added and nothing wrote is not). */
  incore(index: number): boolean {
    return this.folios.has(index) && !this.falloced.has(index);
  }

  /** Head PFN of the cached folio at `index`, -1 if not cached. */
  lookup(index: number): number {
    return this.folios.get(index) ?? -1;
  }

  /** The file page (4 KiB index) frame `pfn` holds in this page cache, -1 when it is none of the file's. */
  pageOf(pfn: number): number {
    const fp = this.folioPages;
    const head = pfn - (pfn % fp);
    const index = this.indexOf.get(head);
    return index === undefined ? -1 : index * fp + (pfn - head);
  }

  /**
   * F_ADD_SEALS once the descriptor may write (memfd_add_seals()): -EINVAL
   * for a seal it does not know, -EPERM once F_SEAL_SEAL is set. F_SEAL_EXEC
   * on an executable inode (`mode`) brings every write and size seal with it.
   * A first F_SEAL_WRITE is -EBUSY while a shared writable mapping exists
   * (mapping_deny_writable()) or while a folio is pinned past the waits of
   * memfd_wait_for_pins() (its extra references: an IOAS that maps it).
   */
  addSeals(seals: number, mode: number): number {
    if (seals & ~F_ALL_SEALS) return -EINVAL;
    if (this.seals & F_SEAL_SEAL) return -EPERM;
    let add = seals;
    if (add & F_SEAL_EXEC && mode & 0o111) add |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
    if (add & F_SEAL_WRITE && !(this.seals & F_SEAL_WRITE)) {
      for (const v of this.vmas) if ((v.flags & (VM_SHARED | VM_MAYWRITE)) === (VM_SHARED | VM_MAYWRITE)) return -EBUSY;
      if (this.anyPinned()) return -EBUSY;
    }
    if ((this.seals | add) !== this.seals) this.changes++;
    this.seals |= add;
    return 0;
  }

  /** Some page of the cache holds a FOLL_PIN reference. */
  private anyPinned(): boolean {
    const fp = this.folioPages;
    for (const head of this.folios.values()) for (let i = 0; i < fp; i++) if (this.phys.pincount(head + i) > 0) return true;
    return false;
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
  getFolio(index: number, forPin = false, beyondEof = false): number {
    const have = this.folios.get(index);
    if (have !== undefined) {
      // a fault, write or pin of a folio fallocate() added: zeroed already, now uptodate (shmem_get_folio_gfp())
      if (this.falloced.delete(index)) this.changes++;
      return have;
    }
    if ((index >= this.nfolios && !beyondEof) || this.released) return -EFAULT;
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
    this.changes++;
    this.iPages?.store(index, 0);
    this.folios.set(index, head);
    this.indexOf.set(head, index);
    return head;
  }

  /**
   * read(2) of the file at io.pos into user memory at `buf`
   * (shmem_file_read_iter(), hugetlbfs_read_iter()): nothing at or past
   * i_size; a hole reads as zeros and stays a hole (SGP_READ allocates
   * nothing); a regular file's pages not cached yet read from its contents.
   * The copy stops at the first user page that cannot be written. Bytes read
   * (io.pos moved past them), or -EFAULT when not one could be stored.
   */
  read(mm: MmStruct, buf: bigint, count: number, io: FilePos): number {
    const fp = this.folioPages;
    const chunk = pageBuffer();
    let pos = io.pos;
    let done = 0;
    while (done < count && pos < this.size) {
      const page = Number(pos / PAGE_SIZE_N);
      const po = Number(pos % PAGE_SIZE_N);
      const ua = buf + BigInt(done);
      let n = Math.min(count - done, PAGE_SIZE - po, PAGE_SIZE - Number(ua % PAGE_SIZE_N));
      if (BigInt(n) > this.size - pos) n = Number(this.size - pos);
      const bytes = chunk.subarray(0, n);
      const head = this.folios.get(Math.floor(page / fp));
      if (head !== undefined) this.phys.read(head + (page % fp), po, bytes, 0, n);
      else {
        bytes.fill(0);
        const init = this.initial;
        const from = page * PAGE_SIZE + po;
        if (init && from < init.length) bytes.set(init.subarray(from, Math.min(init.length, from + n)));
      }
      if (mm.writeUser(ua, bytes) !== 0) {
        if (done === 0) return -EFAULT;
        break;
      }
      done += n;
      pos += BigInt(n);
    }
    io.pos = pos;
    return done;
  }

  /**
   * write(2) of a shmem file at io.pos (at i_size with O_APPEND) from user
   * memory at `buf` (shmem_file_write_iter(), generic_perform_write()):
   * nothing asked writes nothing; a position at MAX_LFS_FILESIZE is -EFBIG
   * and the count is cut to end there (generic_write_check_limits()). Page by
   * page, the page cache folio is found or added first (shmem_write_begin(),
   * SGP_WRITE, past i_size too) and i_size follows the end written
   * (shmem_write_end()). A user page that cannot be read ends the write;
   * with `lateFaultIn` (Profile.writeFaultInAfterShortCopy) after its folio
   * was added and with i_size raised to the position reached (write_end()
   * with nothing copied), else before either. Bytes written (io.pos moved
   * past them), or the -errno of the first page (-EFAULT, -ENOMEM).
   */
  write(mm: MmStruct, buf: bigint, count: number, io: FilePos, append: boolean, lateFaultIn: boolean): number {
    if (count === 0) return 0;
    let pos = append ? this.size : io.pos;
    if (pos >= MAX_LFS_FILESIZE) return -EFBIG;
    if (BigInt(count) > MAX_LFS_FILESIZE - pos) count = Number(MAX_LFS_FILESIZE - pos);
    const fp = this.folioPages;
    const chunk = pageBuffer();
    let done = 0;
    let err = 0;
    while (done < count) {
      const page = Number(pos / PAGE_SIZE_N);
      const po = Number(pos % PAGE_SIZE_N);
      const ua = buf + BigInt(done);
      const n = Math.min(count - done, PAGE_SIZE - po, PAGE_SIZE - Number(ua % PAGE_SIZE_N));
      const bytes = chunk.subarray(0, n);
      // 6.12: fault_in_iov_iter_readable() before write_begin; the chunk's first byte is this page's
      const readable = mm.readUser(ua, bytes) === 0;
      if (!readable && !lateFaultIn) {
        err = -EFAULT;
        break;
      }
      // shmem_write_begin() at each step of generic_perform_write() (the first at pos, the next at each
      // page the folio before ended), for the step's bytes up to the mapping's largest folio size (shmem
      // sets large folios: 2 MiB): a write seal refuses every write, F_SEAL_GROW one whose step passes i_size
      if ((done === 0 || po === 0) && this.seals & (F_SEAL_GROW | F_SEALS_WRITE)) {
        const room = WRITE_CHUNK - (pos % WRITE_CHUNK);
        const step = BigInt(count - done) < room ? BigInt(count - done) : room;
        if (this.seals & F_SEALS_WRITE || pos + step > this.size) {
          err = -EPERM;
          break;
        }
      }
      const head = this.getFolio(Math.floor(page / fp), false, true);
      if (head < 0) {
        // shmem_get_folio(): -ENOMEM (an open file's page cache is never released under it)
        err = head;
        break;
      }
      if (!readable) {
        if (pos > this.size) this.size = pos;
        err = -EFAULT;
        break;
      }
      this.phys.write(head + (page % fp), po, bytes, 0, n);
      done += n;
      pos += BigInt(n);
      if (pos > this.size) this.size = pos;
    }
    if (done === 0) return err;
    io.pos = pos;
    return done;
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
    this.changes++;
    return true;
  }

  /** ftruncate(): shrink drops the cached folios past the new end, unmapping them everywhere first. */
  truncate(newSize: bigint): void {
    this.changes++;
    const old = this.nfolios;
    this.size = newSize;
    const keep = this.nfolios;
    if (keep >= old) return;
    const firstPage = keep * this.folioPages;
    const lastPage = old * this.folioPages - 1;
    for (const m of this.vmas) m.zapFilePages(firstPage, lastPage, true);
    for (const [index, head] of [...this.folios]) {
      if (index < keep) continue;
      this.dropFolio(index, head);
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
   * and drop the whole folios inside the range. A pinned folio stays alive
   * with its bytes, out of the cache. On hugetlbfs the reservations of the
   * range go too (remove_inode_hugepages() -> hugetlb_unreserve_pages()).
   */
  punchHole(first: number, last: number): void {
    const fp = this.folioPages;
    const f0 = Math.ceil(first / fp);
    const f1 = Math.floor((last + 1) / fp) - 1;
    if (f1 < f0) return;
    this.changes++;
    for (const m of this.vmas) m.zapFilePages(f0 * fp, (f1 + 1) * fp - 1, false);
    for (const [index, head] of [...this.folios]) {
      if (index < f0 || index > f1) continue;
      this.dropFolio(index, head);
    }
    let unreserve = 0;
    for (const i of [...this.resv])
      if (i >= f0 && i <= f1) {
        this.resv.delete(i);
        unreserve++;
      }
    if (unreserve) this.phys.hugetlbUnreserve(this.order, unreserve);
  }

  /**
   * fallocate(FALLOC_FL_PUNCH_HOLE) over bytes [start, end) (shmem_truncate_range(),
   * hugetlbfs_punch_hole()): the folios wholly inside go (punchHole()); the bytes of
   * a cached folio the range only partly covers are zeroed in place, so a pin of it
   * sees the zeros too; a hole there stays a hole.
   */
  punchBytes(start: bigint, end: bigint): void {
    const fb = BigInt(this.folioBytes);
    const whole0 = (start + fb - 1n) / fb;
    const whole1 = end / fb;
    if (whole0 >= whole1) {
      this.zeroCached(start, end);
      return;
    }
    this.zeroCached(start, whole0 * fb);
    this.zeroCached(whole1 * fb, end);
    this.punchHole(Number(whole0) * this.folioPages, Number(whole1) * this.folioPages - 1);
  }

  /** Zero bytes [start, end) of the cached folios there, page by page (an uncached page stays a hole). */
  private zeroCached(start: bigint, end: bigint): void {
    const zeros = uniformPage(0);
    for (let pos = start; pos < end; ) {
      const page = Number(pos / PAGE_SIZE_N);
      const off = Number(pos % PAGE_SIZE_N);
      const n = Number(end - pos < BigInt(PAGE_SIZE - off) ? end - pos : BigInt(PAGE_SIZE - off));
      const head = this.folios.get(Math.floor(page / this.folioPages));
      if (head !== undefined) this.phys.write(head + (page % this.folioPages), off, zeros, 0, n);
      pos += BigInt(n);
    }
  }

  /**
   * fallocate()'s allocation of folio indexes [from, to) (shmem_fallocate() with SGP_FALLOC,
   * hugetlbfs_fallocate()): each folio not cached is added, zero-filled. When one cannot be had,
   * shmem takes back the folios of the range still not uptodate (shmem_undo_range(): -ENOMEM here);
   * hugetlbfs keeps what it added (-ENOSPC; its `to` can be huge, see Process.fallocate, and the
   * pool ends it). shmem's `to` is at most MAX_LFS_FILESIZE >> PAGE_SHIFT + 1 (the VFS refused a
   * longer range), so shmem_get_folio()'s EFBIG past that index is never reached.
   * A shmem call that free memory cannot satisfy fails up front, allocating nothing, as the
   * kernel's undo leaves it; FALLOC_MAX_FOLIOS is a model limit on one call (the Map of a 1 TiB
   * machine's pages would not fit the host), past which it fails as if RAM had run out. 0 or -errno.
   */
  allocate(from: bigint, to: bigint): number {
    const shmem = this.kind !== 'hugetlb';
    if (shmem) {
      // Where the kernel's loop would stop, found without allocating: where free memory (or the model
      // limit) runs out. It then undoes what it added, so a doomed call allocates nothing here (a fail-nth
      // armed for one of its allocations is then not consumed).
      const cached = [...this.folios.keys()].filter((k) => BigInt(k) >= from && BigInt(k) < to).sort((a, b) => a - b);
      let left = BigInt(Math.min(this.phys.freeFrames(), FALLOC_MAX_FOLIOS));
      let at = from;
      for (const k of cached) {
        const gap = BigInt(k) - at;
        if (gap > left) break;
        left -= gap;
        at = BigInt(k) + 1n;
      }
      const oomAt = at + left;
      if (oomAt < to) {
        // the kernel's loop runs the machine out of RAM there (reclaim, the OOM killer): a refusal
        this.phys.refuseForRam();
        // shmem_undo_range(unfalloc): the folios of the range still not uptodate go, earlier calls' too
        for (const k of [...this.falloced]) if (BigInt(k) >= from && BigInt(k) < oomAt) this.dropFolio(k, this.folios.get(k)!);
        return -ENOMEM;
      }
    }
    for (let i = from; i < to; i++) {
      const index = Number(i);
      if (this.folios.has(index)) continue;
      const head = this.getFolio(index, false, true);
      if (head < 0) {
        if (!shmem) return -ENOSPC;
        for (const k of [...this.falloced]) if (BigInt(k) >= from && k < index) this.dropFolio(k, this.folios.get(k)!);
        return -ENOMEM;
      }
      if (shmem) this.falloced.add(index);
      this.changes++;
    }
    return 0;
  }

  /**
   * The page cache's own invariants: the index and the head of each cached folio name each other;
   * each holds the cache's reference; a folio fallocate() added and not yet uptodate is cached (and
   * only shmem has such); a hugetlb reservation is for an index with no folio. Problems as text.
   */
  /** hugetlbfs: huge pages reserved for the file and not yet allocated (its share of resv_huge_pages). */
  get hugeReserved(): number {
    return this.resv.size;
  }

  problems(): string[] {
    const out: string[] = [];
    for (const [index, head] of this.folios) {
      if (this.indexOf.get(head) !== index) out.push(`${this.name}: folio ${index} at ${head}, the reverse map says ${this.indexOf.get(head)}`);
      if (this.phys.refcount(head) < 1) out.push(`${this.name}: folio ${index} at ${head} has no reference`);
    }
    if (this.indexOf.size !== this.folios.size) out.push(`${this.name}: ${this.folios.size} folios, ${this.indexOf.size} in the reverse map`);
    for (const k of this.falloced) if (!this.folios.has(k) || this.kind === 'hugetlb') out.push(`${this.name}: fallocated index ${k} is not a cached shmem folio`);
    // seals: only those memfd_add_seals() knows; a write seal leaves no shared writable mapping (mapping_deny_writable())
    if (this.seals & ~F_ALL_SEALS) out.push(`${this.name}: unknown seals 0x${this.seals.toString(16)}`);
    if (this.seals & F_SEAL_WRITE) for (const v of this.vmas) if ((v.flags & (VM_SHARED | VM_MAYWRITE)) === (VM_SHARED | VM_MAYWRITE)) out.push(`${this.name}: write-sealed, yet a shared writable mapping exists`);
    for (const k of this.resv) if (this.folios.has(k)) out.push(`${this.name}: index ${k} both reserved and cached`);
    return out;
  }

  private dropFolio(index: number, head: number): void {
    this.changes++;
    this.falloced.delete(index);
    this.folios.delete(index);
    this.iPages?.erase(index);
    this.indexOf.delete(head);
    this.phys.putFrame(head);
  }
}

let spare: Uint8Array | undefined;

/** One page of bytes the copies between the page cache and user memory pass through. */
function pageBuffer(): Uint8Array {
  return (spare ??= new Uint8Array(PAGE_SIZE));
}
