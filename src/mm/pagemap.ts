// SPDX-License-Identifier: GPL-2.0-only
/**
 * /proc/PID/pagemap (fs/proc/task_mmu.c pagemap_read()): one little-endian
 * u64 per virtual page, read at offset vpn * 8. The oracle kernels are built
 * without CONFIG_MEM_SOFT_DIRTY and without userfaultfd write protection, so
 * the bits here are present, file-or-shared-anon, exclusively mapped and the
 * PFN (shown only to a reader with CAP_SYS_ADMIN), and for a guard marker
 * (7.x) swap and guard region.
 */
import { EINVAL } from '../base/errno.js';
import { type MmStruct, PTE_ANON, TASK_PAGES } from './address-space.js';
import { VM_PFNMAP } from './constants.js';

export const PM_ENTRY_BYTES = 8;
const PM_MMAP_EXCLUSIVE = 1n << 56n;
const PM_GUARD_REGION = 1n << 58n;
const PM_FILE = 1n << 61n;
const PM_SWAP = 1n << 62n;
/**
 * The frame a guard marker shows (to a reader allowed PFNs): its swap type
 * SWP_PTE_MARKER (31 whatever the config: the last of the 32 types) and, above
 * MAX_SWAPFILES_SHIFT (5), its offset, the marker PTE_MARKER_GUARD (4).
 */
const GUARD_FRAME = 31n | (4n << 5n);
const PM_PRESENT = 1n << 63n;
const PM_PFRAME_MASK = (1n << 55n) - 1n;
/** Pages one read may describe (a read larger than this comes back short; the caller reads on). */
export const PAGEMAP_MAX_ENTRIES = 1 << 16;

/**
 * The entries a read of `count` bytes at file offset `pos` returns, or
 * -EINVAL for a position or count that is not a whole number of entries.
 * Short at the end of the task's address space (nothing past it).
 */
export function pagemapRead(mm: MmStruct, pos: bigint, count: number, showPfn: boolean): BigUint64Array | number {
  if (pos % BigInt(PM_ENTRY_BYTES) !== 0n || count % PM_ENTRY_BYTES !== 0) return -EINVAL;
  const first = pos / BigInt(PM_ENTRY_BYTES);
  // The entries stop at mm->task_size.
  if (first >= BigInt(TASK_PAGES)) return new BigUint64Array(0);
  const start = Number(first);
  const n = Math.min(count / PM_ENTRY_BYTES, TASK_PAGES - start, PAGEMAP_MAX_ENTRIES);
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) out[i] = pagemapEntry(mm, start + i, showPfn);
  return out;
}

/** pte_to_pagemap_entry(), pagemap_pmd_range_thp(), pagemap_hugetlb_range() for page `vpn`. */
export function pagemapEntry(mm: MmStruct, vpn: number, showPfn: boolean): bigint {
  const v = mm.findVma(vpn);
  if (v === undefined) return 0n;
  const phys = mm.phys;
  if (v.flags & VM_PFNMAP) {
    // remap_pfn_range()'s special PTEs: present, no struct page behind them (vm_normal_page() is NULL)
    return PM_PRESENT | (showPfn ? BigInt(v.pfnBase + (vpn - v.start)) & PM_PFRAME_MASK : 0n);
  }
  const e = mm.lookupEntry(vpn);
  // pte_to_pagemap_entry(): a guard marker is a swap-type entry with no page
  if (e === 0) return mm.isGuard(vpn) ? PM_SWAP | PM_GUARD_REGION | (showPfn ? GUARD_FRAME : 0n) : 0n;
  const pfn = e - 1;
  let flags = PM_PRESENT;
  const frame = showPfn ? BigInt(pfn) & PM_PFRAME_MASK : 0n;
  // The 4 KiB zero page is no normal page: neither file nor exclusive.
  if (pfn === phys.zeroPfn) return flags | frame;
  const anon = (mm.lastFlags & PTE_ANON) !== 0;
  if (!anon) flags |= PM_FILE;
  const order = phys.folioOrder(pfn);
  if (phys.isHugetlb(pfn)) {
    // !folio_maybe_mapped_shared(): one PMD-size mapping of the folio
    if (phys.hugeMapcount(pfn) === 1) flags |= PM_MMAP_EXCLUSIVE;
    return flags | frame;
  }
  // A PMD-mapped THP answers for its first page of the slice (pmd_page()); the huge zero folio is
  // not mapcounted, so never exclusive.
  const leaf = mm.isPmdMapped(vpn) ? pfn - (vpn % 512) : pfn;
  if (order >= 0 && leaf !== mm.hugeZeroFolio && pageMapcount(mm, leaf, anon) === 1) flags |= PM_MMAP_EXCLUSIVE;
  return flags | frame;
}

/**
 * folio_precise_page_mapcount() of a frame: its references less its pins
 * and the page cache's own.
 */
function pageMapcount(mm: MmStruct, pfn: number, anon: boolean): number {
  const phys = mm.phys;
  return phys.refcount(pfn) - phys.pincount(pfn) - (anon ? 0 : 1);
}
