// SPDX-License-Identifier: GPL-2.0-only
/**
 * get_user_pages / pin_user_pages (mm/gup.c) on the model's address spaces.
 *
 * Semantics (kernel v6.5 .. current):
 * - Returns the number of pages taken, which may be fewer than asked: the walk
 *   stops at the first page it cannot take and reports the pages before it;
 *   only when the very first page fails is a -errno returned.
 * - -EFAULT: no VMA (a hole), VM_IO / VM_PFNMAP, a write to a VMA without
 *   VM_WRITE (or a read from one without VM_READ, e.g. PROT_NONE), SIGBUS
 *   from the fault (past EOF, no hugetlb page), FOLL_NOFAULT on a missing page.
 *   -ENOMEM: a page fault could not allocate.
 * - The fast variants (`pinUserPages`, `getUserPages`: *_fast, current mm)
 *   first take, without looking at the VMAs, the leading pages whose PTE or
 *   PMD is present and lets the access through (gup_fast(): PROT_NONE,
 *   special entries such as the zero page (and on 7.x the huge zero
 *   folio's PMD: hugeZeroSpecial), a write to a read-only entry, a
 *   pin that must unshare, a long-term writable pin of a non-shmem file page
 *   all stop it); the slow walk with check_vma_flags() takes the rest. So a
 *   present page of a write-only VMA reads fine, a missing one is -EFAULT.
 * - The fast variants align `start` down to a page and check the whole range first: past
 *   TASK_SIZE_MAX gives -EFAULT; wrapping past 2^64 gives 0 (v6.2 .. v6.6,
 *   which iommufd turns into WARN + -EFAULT) or -EOVERFLOW in later kernels,
 *   chosen by MmStruct option `gupOverflowErrno` (0 by default). The remote
 *   variants (*_remote) walk page by page and fail at the first hole.
 * - FOLL_WRITE faults for write (allocating or breaking COW). A FOLL_PIN read
 *   must unshare (FAULT_FLAG_UNSHARE) an anon page that is not exclusive, and
 *   with FOLL_LONGTERM also a page-cache or zero page of a private writable
 *   (COW) mapping (gup_must_unshare), so that later writes by the owner land
 *   in the pinned page.
 * - Each page taken gets refcount + 1; FOLL_PIN also pincount + 1. The zero
 *   page is returned but never counted (v6.5+). Unpinning with `dirty` marks
 *   the frames dirty first.
 *
 * Per-page work is on typed arrays only: no allocation, no bigint.
 */
import { EFAULT, EINVAL } from '../base/errno.js';
import { FAULT_READ, FAULT_UNSHARE, FAULT_WRITE, type MmStruct, PTE_ANON, PTE_EXCL, PTE_RDONLY, type PtNode, type Vma, mixedSpecial } from './address-space.js';
import {
  FOLL_ANON,
  FOLL_FAST_ONLY,
  FOLL_FORCE,
  FOLL_GET,
  FOLL_HONOR_NUMA_FAULT,
  FOLL_LONGTERM,
  FOLL_NOFAULT,
  FOLL_PCI_P2PDMA,
  FOLL_PIN,
  FOLL_WRITE,
  PAGE_SIZE,
  TASK_SIZE_MAX,
  VM_ACCESS_FLAGS,
  VM_IO,
  VM_MAYREAD,
  VM_HUGETLB,
  VM_MAYSHARE,
  VM_PFNMAP,
  VM_READ,
  VM_WRITE,
} from './constants.js';
import type { MemFile } from './memfile.js';
import type { PhysicalMemory } from './physical-memory.js';

const PAGE_N = BigInt(PAGE_SIZE);
const PT_SPAN = 512;
const ANON_EXCL = PTE_ANON | PTE_EXCL;

/** Flags gup_fast_fallback() accepts. */
const FAST_FLAGS =
  FOLL_WRITE | FOLL_LONGTERM | FOLL_FORCE | FOLL_PIN | FOLL_GET | FOLL_FAST_ONLY | FOLL_NOFAULT | FOLL_PCI_P2PDMA | FOLL_HONOR_NUMA_FAULT;
/** Flags a caller may pass to the public entry points (no internal ones, no FOLL_GET/PIN). */
const CALLER_FLAGS = FAST_FLAGS & ~(FOLL_PIN | FOLL_GET | FOLL_FAST_ONLY) | FOLL_ANON;

/** check_vma_flags(). */
function checkVmaFlags(v: Vma, flags: number): number {
  const vf = v.flags;
  if (vf & (VM_IO | VM_PFNMAP)) return -EFAULT;
  if (flags & FOLL_ANON && v.file !== null) return -EFAULT;
  if (flags & FOLL_WRITE) {
    if (!(vf & VM_WRITE)) {
      if (!(flags & FOLL_FORCE)) return -EFAULT;
      if (!v.isCow) return -EFAULT;
    }
  } else if (!(vf & VM_READ)) {
    if (!(flags & FOLL_FORCE)) return -EFAULT;
    if (!(vf & VM_MAYREAD)) return -EFAULT;
  }
  return 0;
}

/** Take (get or pin) the `n` pages from `vpn` of a huge entry's 2 MiB slice, their PFNs into out[o...]. */
function grabHugeRun(phys: PhysicalMemory, node: PtNode, vpn: number, n: number, pin: boolean, out: Uint32Array, o: number): void {
  const pfn0 = node.huge - 1 + (vpn & (PT_SPAN - 1));
  phys.grabRange(pfn0, n, pin);
  for (let k = 0; k < n; k++) out[o + k] = pfn0 + k;
}

/**
 * The page walk shared by every variant: take `npages` pages from page `vpn`
 * into out[outOff..]. `flags` has FOLL_PIN or FOLL_GET.
 */
function gupWalk(mm: MmStruct, vpn: number, npages: number, flags: number, out: Uint32Array, outOff: number): number {
  const phys = mm.phys;
  const pin = (flags & FOLL_PIN) !== 0;
  const write = (flags & FOLL_WRITE) !== 0;
  const longterm = (flags & FOLL_LONGTERM) !== 0;
  mm.backing?.touch?.(mm, vpn, vpn + npages);
  let done = 0;
  let o = outOff;
  let lastFault = -1;
  // where the pages taken from the shared file mapping being walked began (-1: none), for the backing's gupShared
  const tells = mm.backing?.gupShared !== undefined;
  let sharedFrom = -1;
  while (done < npages) {
    if (sharedFrom >= 0) sharedFrom = tellShared(mm, sharedFrom, vpn, write);
    const v = mm.findVmaForAccess(vpn);
    if (v === undefined) return done || -EFAULT;
    const bad = checkVmaFlags(v, flags);
    if (bad) return done || bad;
    if (tells && v.file !== null && v.flags & VM_MAYSHARE && !(v.flags & VM_HUGETLB)) sharedFrom = vpn;
    // what each present page must satisfy: 0 anything, 1 anon-exclusive, 2 not a shared anon page
    let need = 0;
    if (v.isCow) {
      if (write || (pin && longterm)) need = 1;
      else if (pin) need = 2;
    }
    const vend = Math.min(v.end, vpn + (npages - done));
    // an entry an unshare left read-only takes a write fault before a write follows it
    const roBad = write && !(v.flags & VM_MAYSHARE) ? PTE_RDONLY : 0;
    while (vpn < vend) {
      const key = Math.floor(vpn / PT_SPAN);
      const node = mm.pt.get(key);
      const kend = Math.min(vend, (key + 1) * PT_SPAN);
      if (node !== undefined) {
        if (node.huge !== 0) {
          const f = node.hugeFlags & ANON_EXCL;
          if (need === 0 || (need === 1 ? f === ANON_EXCL : f !== PTE_ANON)) {
            const n = kend - vpn;
            grabHugeRun(phys, node, vpn, n, pin, out, o);
            o += n;
            done += n;
            vpn = kend;
            continue;
          }
        } else if (node.pfns !== null) {
          const pfns = node.pfns;
          const fl = node.flags!;
          const i0 = vpn & (PT_SPAN - 1);
          const iend = i0 + (kend - vpn);
          let i = i0;
          if (pin) {
            if (need === 0) {
              for (; i < iend; i++) {
                const e = pfns[i];
                if (e === 0) break;
                phys.pinFrame(e - 1);
                out[o++] = e - 1;
              }
            } else if (need === 1) {
              for (; i < iend; i++) {
                const e = pfns[i];
                // (a write follows only a writable entry: can_follow_write_pte())
                if (e === 0 || (fl[i] & ANON_EXCL) !== ANON_EXCL || fl[i] & roBad) break;
                phys.pinFrame(e - 1);
                out[o++] = e - 1;
              }
            } else {
              for (; i < iend; i++) {
                const e = pfns[i];
                if (e === 0 || (fl[i] & ANON_EXCL) === PTE_ANON) break;
                phys.pinFrame(e - 1);
                out[o++] = e - 1;
              }
            }
          } else {
            for (; i < iend; i++) {
              const e = pfns[i];
              if (e === 0 || (need === 1 && ((fl[i] & ANON_EXCL) !== ANON_EXCL || fl[i] & roBad))) break;
              phys.getFrame(e - 1);
              out[o++] = e - 1;
            }
          }
          done += i - i0;
          vpn += i - i0;
          if (vpn === kend) continue;
        }
      }
      // the page at vpn needs a fault
      if (flags & FOLL_NOFAULT) {
        if (sharedFrom >= 0) tellShared(mm, sharedFrom, vpn, write);
        return done || -EFAULT;
      }
      if (vpn === lastFault) {
        mm.opts.warn?.warn('gup.fault_no_progress', `vpn ${vpn}`);
        if (sharedFrom >= 0) tellShared(mm, sharedFrom, vpn, write);
        return done || -EFAULT;
      }
      lastFault = vpn;
      const present = mm.lookupEntry(vpn) !== 0;
      const rc = mm.fault(v, vpn, write ? FAULT_WRITE : need === 1 || present ? FAULT_UNSHARE : FAULT_READ);
      if (rc < 0) {
        if (sharedFrom >= 0) tellShared(mm, sharedFrom, vpn, write);
        return done || rc;
      }
    }
  }
  if (sharedFrom >= 0) tellShared(mm, sharedFrom, vpn, write);
  return done;
}

/** Tell the backing GUP took pages [from, to) of a shared file mapping; -1 (no walk in progress). */
function tellShared(mm: MmStruct, from: number, to: number, write: boolean): number {
  if (to > from) mm.backing!.gupShared!(mm, from, to, write);
  return -1;
}

/** The PTE flags gupFastWalk() looks at. */
const FAST_FLAG_MASK = ANON_EXCL | PTE_RDONLY;
/** gupFastWalk()'s per-VMA table: 1 where an entry with these flags & FAST_FLAG_MASK is taken. */
const OK_BY_FLAGS = new Uint8Array(FAST_FLAG_MASK + 1);

/**
 * gup_fast() (the lockless walk of gup_fast_pte_range() / gup_fast_pmd_leaf()):
 * take pages from `vpn` while their entry is present and allows the access,
 * consulting the VMA only for what the hardware entry would hold (its
 * protection after mprotect, writability). Returns the count taken; the
 * caller's slow walk goes on from the first page refused.
 */
function gupFastWalk(mm: MmStruct, vpn: number, npages: number, flags: number, out: Uint32Array, outOff: number): number {
  const phys = mm.phys;
  const zero = phys.zeroPfn;
  const pin = (flags & FOLL_PIN) !== 0;
  const write = (flags & FOLL_WRITE) !== 0;
  const longterm = (flags & FOLL_LONGTERM) !== 0;
  // gup_fast_folio_allowed(): a long-term writable pin of a page-cache page other than shmem/hugetlbfs falls back
  const fileRefused = pin && longterm && write;
  const hugeZeroSpecial = mm.opts.hugeZeroSpecial;
  const okW = OK_BY_FLAGS;
  let done = 0;
  let o = outOff;
  while (done < npages) {
    const v = mm.findVma(vpn);
    // 7.x's [vvar]: a data page a read faulted in is a normal entry (not anonymous: no long-term pin, no write)
    if (v !== undefined && mixedSpecial(v) && !write && !(pin && longterm)) {
      const vend = Math.min(v.end, vpn + (npages - done));
      while (vpn < vend && (v.special!.present! >>> (v.pgoff + vpn - v.start)) & 1) {
        out[o++] = v.pfnBase + (vpn - v.start);
        done++;
        vpn++;
      }
      if (vpn < vend) return done;
      continue;
    }
    // no entry (no VMA), PFN maps (special entries), PROT_NONE (pte_protnone)
    if (v === undefined || v.flags & (VM_IO | VM_PFNMAP) || !(v.flags & VM_ACCESS_FLAGS)) return done;
    const shared = (v.flags & VM_MAYSHARE) !== 0;
    const vmaWrite = (v.flags & VM_WRITE) !== 0;
    if (write && !vmaWrite) return done;
    const fileOk = !fileRefused || v.file === null || v.file.kind !== 'file';
    const vend = Math.min(v.end, vpn + (npages - done));
    // which entries are taken, by their flags & FAST_FLAG_MASK (0..7), decided once per VMA
    for (let w = 0; w <= FAST_FLAG_MASK; w++) {
      const anon = (w & PTE_ANON) !== 0;
      const excl = (w & ANON_EXCL) === ANON_EXCL;
      // pte_write(): a shared writable mapping, or an exclusive anon page of a writable private one
      // (not one an unshare left read-only)
      const pteWrite = vmaWrite && (shared || (excl && !(w & PTE_RDONLY)));
      let ok = !(write && !pteWrite) && (anon || fileOk);
      // gup_must_unshare() without the VMA: a pinned read of a read-only entry
      if (pin && !pteWrite && (anon ? !excl : longterm)) ok = false;
      okW[w] = ok ? 1 : 0;
    }
    while (vpn < vend) {
      const key = Math.floor(vpn / PT_SPAN);
      const node = mm.pt.get(key);
      const kend = Math.min(vend, (key + 1) * PT_SPAN);
      if (node === undefined) return done;
      if (node.huge !== 0) {
        if (okW[node.hugeFlags & FAST_FLAG_MASK] === 0) return done;
        // 7.x maps the huge zero folio with a special PMD (gup_fast_pmd_leaf(): pmd_special())
        if (hugeZeroSpecial && node.huge - 1 === mm.hugeZeroFolio) return done;
        const n = kend - vpn;
        grabHugeRun(phys, node, vpn, n, pin, out, o);
        o += n;
        done += n;
        vpn = kend;
        continue;
      }
      const pfns = node.pfns;
      if (pfns === null) return done;
      const fl = node.flags!;
      const i0 = vpn & (PT_SPAN - 1);
      const iend = i0 + (kend - vpn);
      let i = i0;
      for (; i < iend; i++) {
        const e = pfns[i];
        // no entry; the zero page is a special entry
        if (e === 0 || e - 1 === zero || okW[fl[i] & FAST_FLAG_MASK] === 0) break;
        if (pin) phys.pinFrame(e - 1);
        else phys.getFrame(e - 1);
        out[o++] = e - 1;
      }
      done += i - i0;
      vpn += i - i0;
      if (vpn < kend) return done;
    }
  }
  return done;
}

/** gup_fast_fallback() front end: range checks, the lockless walk, then the slow walk for the rest. */
function gupFast(mm: MmStruct, start: bigint, npages: number, flags: number, out: Uint32Array, outOff: number): number {
  if (mm.opts.warn?.on((flags & ~FAST_FLAGS) !== 0, 'gup_fast.flags') ?? (flags & ~FAST_FLAGS) !== 0) return -EINVAL;
  if (npages <= 0) return 0;
  const s = BigInt.asUintN(64, start) & ~(PAGE_N - 1n);
  const end = s + BigInt(npages) * PAGE_N;
  if (end > 0xffff_ffff_ffff_ffffn) return mm.opts.gupOverflowErrno ? -mm.opts.gupOverflowErrno : 0;
  if (end > TASK_SIZE_MAX) return -EFAULT;
  const vpn = Number(s / PAGE_N);
  const fast = gupFastWalk(mm, vpn, npages, flags, out, outOff);
  if (fast === npages || flags & FOLL_FAST_ONLY) return fast;
  const rc = gupWalk(mm, vpn + fast, npages - fast, flags, out, outOff + fast);
  return rc < 0 ? fast || rc : fast + rc;
}

function gupRemote(mm: MmStruct, start: bigint, npages: number, flags: number, out: Uint32Array, outOff: number): number {
  if (npages <= 0) return 0;
  const s = BigInt.asUintN(64, start);
  if (s >= TASK_SIZE_MAX) return -EFAULT;
  return gupWalk(mm, Number(s / PAGE_N), npages, flags, out, outOff);
}

function callerFlagsOk(mm: MmStruct, flags: number): boolean {
  const bad = (flags & ~CALLER_FLAGS) !== 0;
  return !(mm.opts.warn?.on(bad, 'is_valid_gup_args', `flags ${flags.toString(16)}`) ?? bad);
}

/**
 * pin_user_pages_fast(start, npages, gupFlags, pages): FOLL_PIN the pages of
 * [start, start + npages * PAGE_SIZE) of `mm` into out[outOff..]. Returns the
 * count pinned (> 0, maybe short), 0 on u64 wrap (see module doc) or -errno.
 */
export function pinUserPages(mm: MmStruct, start: bigint, npages: number, gupFlags: number, out: Uint32Array, outOff: number): number {
  if (!callerFlagsOk(mm, gupFlags)) return -EINVAL;
  return gupFast(mm, start, npages, gupFlags | FOLL_PIN, out, outOff);
}

/** pin_user_pages_remote(mm, ...): the same on another process's mm, page by page. */
export function pinUserPagesRemote(mm: MmStruct, start: bigint, npages: number, gupFlags: number, out: Uint32Array, outOff: number): number {
  if (!callerFlagsOk(mm, gupFlags)) return -EINVAL;
  return gupRemote(mm, start, npages, gupFlags | FOLL_PIN, out, outOff);
}

/** get_user_pages_fast(): FOLL_GET references (refcount only); release with putPages(). */
export function getUserPages(mm: MmStruct, start: bigint, npages: number, gupFlags: number, out: Uint32Array, outOff: number): number {
  if (!callerFlagsOk(mm, gupFlags)) return -EINVAL;
  return gupFast(mm, start, npages, gupFlags | FOLL_GET, out, outOff);
}

/** get_user_pages_remote(). */
export function getUserPagesRemote(mm: MmStruct, start: bigint, npages: number, gupFlags: number, out: Uint32Array, outOff: number): number {
  if (!callerFlagsOk(mm, gupFlags)) return -EINVAL;
  return gupRemote(mm, start, npages, gupFlags | FOLL_GET, out, outOff);
}

/** unpin_user_pages_dirty_lock(pfns[off..off+n), dirty). */
export function unpinUserPages(phys: PhysicalMemory, pfns: Uint32Array, off: number, n: number, dirty: boolean): void {
  const end = off + n;
  let k = off;
  while (k < end) {
    const first = pfns[k];
    let run = 1;
    // a run of consecutive frames inside one 2 MiB block is released in one go
    while (k + run < end && pfns[k + run] === first + run && (first + run) % PT_SPAN !== 0) run++;
    if (run === 1) phys.unpinFrame(first, dirty);
    else phys.unpinRange(first, run, dirty);
    k += run;
  }
}

/** unpin_user_page_range_dirty_lock(): a physically contiguous run of `npages` frames from `firstPfn`. */
export function unpinUserPageRange(phys: PhysicalMemory, firstPfn: number, npages: number, dirty: boolean): void {
  if (npages === 1) {
    // one frame (every run of scattered 4 KiB pages): no block walk
    phys.unpinFrame(firstPfn, dirty);
    return;
  }
  let pfn = firstPfn;
  const end = firstPfn + npages;
  while (pfn < end) {
    const n = Math.min(end, pfn - (pfn % PT_SPAN) + PT_SPAN) - pfn;
    phys.unpinRange(pfn, n, dirty);
    pfn += n;
  }
}

/** unpin_user_page(). */
export function unpinUserPage(phys: PhysicalMemory, pfn: number): void {
  phys.unpinFrame(pfn, false);
}

/** put_page() on each of pfns[off..off+n) (release FOLL_GET references). */
export function putPages(phys: PhysicalMemory, pfns: Uint32Array, off: number, n: number): void {
  for (let k = off; k < off + n; k++) phys.putFrame(pfns[k]);
}

/** Above this a loff_t start is negative. */
const LOFF_MAX = (1n << 63n) - 1n;

/**
 * memfd_pin_folios() followed by folio_add_pins() for every page taken
 * (pin_memfd_pages in iommufd): FOLL_PIN the 4 KiB pages of file bytes
 * [start, start + npages * PAGE_SIZE) of a memfd's page cache into
 * out[outOff..], allocating the folios that are not cached yet. Each page
 * gets one pin (the kernel's folio pin count ends at the number of its pages
 * taken). Returns npages or -errno with nothing pinned: -EINVAL when the file
 * is neither shmem nor hugetlbfs, when the range is empty or starts below 0
 * as a loff_t, or when its last byte is at or past i_size; -ENOMEM when a
 * folio cannot be allocated.
 */
export function memfdPinFolios(file: MemFile | undefined, start: bigint, npages: number, out: Uint32Array, outOff: number): number {
  if (npages <= 0 || start > LOFF_MAX) return -EINVAL;
  const end = start + BigInt(npages) * PAGE_N - 1n;
  if (end > LOFF_MAX) return -EINVAL;
  if (file === undefined || (file.kind !== 'shmem' && file.kind !== 'hugetlb')) return -EINVAL;
  if (end >= file.size) return -EINVAL;
  const phys = file.phys;
  const fp = file.folioPages;
  const first = Number(start / PAGE_N);
  const last = first + npages - 1;
  let o = outOff;
  for (let page = first; page <= last; ) {
    const index = Math.floor(page / fp);
    const head = file.getFolio(index, true);
    if (head < 0) {
      // unpin_folios() of what was taken so far
      unpinUserPages(phys, out, outOff, o - outOff, false);
      return head;
    }
    const stop = Math.min(last, (index + 1) * fp - 1);
    let pfn = head + (page - index * fp);
    let n = stop - page + 1;
    while (n > 0) {
      // grabRange works inside one 2 MiB block
      const k = Math.min(n, PT_SPAN - (pfn % PT_SPAN));
      phys.grabRange(pfn, k, true);
      for (let j = 0; j < k; j++) out[o++] = pfn + j;
      pfn += k;
      n -= k;
    }
    page = stop + 1;
  }
  return npages;
}
