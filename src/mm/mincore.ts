// SPDX-License-Identifier: GPL-2.0-only
/**
 * mincore(2)'s residency vector (mm/mincore.c do_mincore()), one chunk at a
 * time as the syscall asks for it:
 *
 * - the VMA holding the first page, else -ENOMEM (vma_lookup());
 * - a VMA the caller may not learn the page cache of is all resident
 *   (can_do_mincore(): a special mapping such as [vdso] has vm_ops and no
 *   file; a regular file, the exec image, is root's and not writable by
 *   others, so only its owner or CAP_FOWNER learn it; memfds and shared
 *   anonymous memory anyone may write; a device mapping is taken as one the
 *   caller may write, having opened the device read-write to map it);
 * - hugetlb: resident where this address space maps the huge page
 *   (mincore_hugetlb());
 * - a PFNMAP (device) VMA: none, it has no page cache (the walk's pte_hole);
 * - elsewhere a PMD mapping (a THP or the huge zero page) and a present PTE
 *   (the zero page too) are resident; a hole is resident when the VMA's file
 *   caches the page at that offset (mincore_page()), never in anonymous
 *   memory. A regular file's pages are all cached up to its size (the exec
 *   image sits on the initramfs, which holds every page). The model has no
 *   swap, as neither oracle kernel has.
 */
import { ENOMEM } from '../base/errno.js';
import type { MmStruct } from './address-space.js';
import { PAGE_SIZE, VM_HUGETLB, VM_PFNMAP } from './constants.js';

/** Pages one chunk covers at most: the syscall's temporary page of entries (PAGE_SIZE bytes). */
export const MINCORE_CHUNK = 4096;

/**
 * do_mincore(): the entries of pages vpn, vpn + 1, ... (at most `pages`, and
 * no further than the end of the VMA holding `vpn`) into out[0..]; how many,
 * or -ENOMEM when no VMA holds `vpn`. `ownsRoot`: the caller owns a root
 * inode or has CAP_FOWNER (inode_owner_or_capable()).
 */
export function mincoreChunk(mm: MmStruct, vpn: number, pages: number, out: Uint8Array, ownsRoot: boolean): number {
  const v = mm.findVma(vpn);
  if (v === undefined || vpn < v.start) return -ENOMEM;
  const n = Math.min(pages, v.end - vpn);
  if (v.special !== undefined || (v.file?.kind === 'file' && !ownsRoot)) {
    out.fill(1, 0, n);
    return n;
  }
  if (v.flags & VM_PFNMAP) {
    out.fill(0, 0, n);
    return n;
  }
  const hugetlb = (v.flags & VM_HUGETLB) !== 0;
  const file = hugetlb ? null : v.file;
  for (let i = 0; i < n; i++) {
    const p = vpn + i;
    if (mm.lookupEntry(p) !== 0) {
      out[i] = 1;
      continue;
    }
    if (file === null) {
      out[i] = 0;
      continue;
    }
    const page = v.pgoff + (p - v.start);
    if (file.kind === 'file') out[i] = BigInt(page) * BigInt(PAGE_SIZE) < file.size ? 1 : 0;
    else out[i] = file.incore(Math.floor(page / file.folioPages)) ? 1 : 0;
  }
  return n;
}
