// SPDX-License-Identifier: GPL-2.0-only
/**
 * /proc/PID/smaps's page counts for a private anonymous VMA (fs/proc/task_mmu.c
 * smap_gather_stats() → smaps_pte_range() → smaps_account()), read from the
 * model's page tables:
 *
 * - the zero page and the huge zero folio are not counted (vm_normal_page()
 *   and vm_normal_page_pmd() give no page for them);
 * - every other page of such a VMA is an anonymous page, and dirty: a write
 *   fault, a COW copy, MAP_POPULATE and MADV_COLLAPSE make dirty entries,
 *   and fork copies a private entry dirty bit and all;
 * - a page mapped more than once (by fork's copy, in any live address space)
 *   is shared and its Pss is PAGE_SIZE / mapcount; a PMD-mapped THP counts
 *   in AnonHugePages and each of its pages is mapped by the PMD (and by any
 *   PTE another address space split it into);
 * - Locked is the Pss of a VM_LOCKED VMA.
 *
 * Checked on Linux 6.12.95 and 7.2.13 (test/bridge/progs/smaps-anon.c). Not
 * modelled: the young bit (Referenced is Rss: a fork child's copied entries
 * are old there until touched) and MADV_FREE's clean pages (smaps is read
 * under exec only, where the model's lazy freeing is off: it keeps the pages
 * dirty; the kernel cleans them and counts a large folio as LazyFree).
 */
import type { MmStruct, PtNode, Vma } from './address-space.js';
import { PAGE_SIZE, VM_HUGETLB, VM_LOCKED, VM_MAYSHARE, VM_PFNMAP } from './constants.js';

/** Pages per page table (a 2 MiB slice). */
const SLICE = 512;
/** smaps' fixed point for Pss (PSS_SHIFT). */
const PSS_SHIFT = 12n;

/** The counts smaps prints for a VMA, in bytes. */
export interface SmapCounts {
  rss: number;
  pss: number;
  pssDirty: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  referenced: number;
  anonymous: number;
  anonHugePages: number;
  locked: number;
  /** THPeligible: 1 when a PMD-size THP may back some of the VMA. */
  thpEligible: number;
}

/** A VMA whose pages smapAnonCounts() can count: private anonymous memory (not hugetlb, not PFNMAP). */
export function isPrivateAnon(v: Vma): boolean {
  return v.file === null && !(v.flags & (VM_MAYSHARE | VM_PFNMAP | VM_HUGETLB));
}

/**
 * The smaps counts of pages [start, end) of `v` (a private anonymous VMA of
 * `mm`). `mms`: every live address space (the mapcount of a page shared by
 * fork counts the other's mappings).
 */
export function smapAnonCounts(mm: MmStruct, v: Vma, start: number, end: number, mms: Iterable<MmStruct>): SmapCounts {
  const zero = mm.phys.zeroPfn;
  const hugeZero = mm.hugeZeroFolio;
  // The PFN of every page counted (a PMD's pages, the PTEs' but the zero page), in two passes: how
  // many, then the PFNs into a typed array of that size.
  let count = 0;
  let anonHuge = 0;
  const pass = (pfns: Uint32Array | undefined): void => {
    for (let key = Math.floor(start / SLICE); key * SLICE < end; key++) {
      const n = mm.pt.get(key);
      if (n === undefined) continue;
      const lo = Math.max(start, key * SLICE);
      const hi = Math.min(end, (key + 1) * SLICE);
      if (n.huge !== 0) {
        const head = n.huge - 1;
        if (head === hugeZero) continue;
        if (pfns === undefined) anonHuge += (hi - lo) * PAGE_SIZE;
        for (let vpn = lo; vpn < hi; vpn++) {
          if (pfns !== undefined) pfns[count] = head + (vpn - key * SLICE);
          count++;
        }
        continue;
      }
      const ptes = n.pfns;
      if (ptes === null) continue;
      for (let vpn = lo; vpn < hi; vpn++) {
        const ent = ptes[vpn - key * SLICE];
        if (ent === 0 || ent - 1 === zero) continue;
        if (pfns !== undefined) pfns[count] = ent - 1;
        count++;
      }
    }
  };
  pass(undefined);
  const pfnAt = new Uint32Array(count);
  count = 0;
  pass(pfnAt);
  const mapcount = mapcounts(mm, pfnAt, mms);
  // Pages by mapcount: Pss is summed per page in PSS_SHIFT fixed point, as smaps_account() does.
  let pssFixed = 0n;
  let shared = 0;
  const byCount = new Map<number, number>();
  for (let i = 0; i < pfnAt.length; i++) {
    const c = Math.max(1, mapcount[i]);
    byCount.set(c, (byCount.get(c) ?? 0) + 1);
    if (c >= 2) shared++;
  }
  for (const [c, pages] of byCount) pssFixed += BigInt(pages) * ((BigInt(PAGE_SIZE) << PSS_SHIFT) / BigInt(c));
  const rss = pfnAt.length * PAGE_SIZE;
  const pss = Number(pssFixed >> PSS_SHIFT);
  // __thp_vma_allowable_orders() for smaps: the mode and flags, and a whole aligned 2 MiB block in the VMA.
  const lastBlock = Math.floor((v.end - SLICE) / SLICE) * SLICE;
  return {
    rss,
    pss,
    pssDirty: pss,
    sharedClean: 0,
    sharedDirty: shared * PAGE_SIZE,
    privateClean: 0,
    privateDirty: rss - shared * PAGE_SIZE,
    referenced: rss,
    anonymous: rss,
    anonHugePages: anonHuge,
    locked: v.flags & VM_LOCKED ? pss : 0,
    thpEligible: mm.thpAllowed(v) && v.end - v.start >= SLICE && lastBlock >= v.start ? 1 : 0,
  };
}

/**
 * How many page-table entries map each of `pfns` (counted in `mm`, once
 * each: a private anonymous page is mapped once in its address space): that
 * one, and the PTEs mapping it and the PMDs mapping its folio in the other
 * address spaces of `mms`. Those are walked only when some page has another
 * reference (fork's copy, or a pin) to find.
 */
function mapcounts(mm: MmStruct, pfns: Uint32Array, mms: Iterable<MmStruct>): Int32Array {
  const out = new Int32Array(pfns.length).fill(1);
  const phys = mm.phys;
  const others = [...new Set(mms)].filter((m) => m !== mm);
  if (others.length === 0 || !pfns.some((p) => phys.refcount(p) > 1)) return out;
  const index = new Map<number, number>();
  for (let i = 0; i < pfns.length; i++) index.set(pfns[i], i);
  for (const m of others) for (const n of m.pt.values()) countNode(n, index, out);
  return out;
}

function countNode(n: PtNode, index: ReadonlyMap<number, number>, out: Int32Array): void {
  if (n.huge !== 0) {
    const head = n.huge - 1;
    for (let k = 0; k < SLICE; k++) {
      const i = index.get(head + k);
      if (i !== undefined) out[i]++;
    }
    return;
  }
  const pfns = n.pfns;
  if (pfns === null || n.count === 0) return;
  for (let k = 0; k < pfns.length; k++) {
    const ent = pfns[k];
    if (ent === 0) continue;
    const i = index.get(ent - 1);
    if (i !== undefined) out[i]++;
  }
}

/**
 * /proc/meminfo's AnonHugePages (NR_ANON_THPS): the anonymous THPs some PMD
 * maps, each once however many address spaces map it (a fork shares one); a
 * THP split into PTEs (MADV_DONTNEED of one of its pages) no longer counts.
 * Bytes.
 */
export function anonThpBytes(mms: Iterable<MmStruct>): number {
  const heads = new Set<number>();
  for (const mm of mms) {
    const hugeZero = mm.hugeZeroFolio;
    for (const n of mm.pt.values()) {
      if (n.huge === 0) continue;
      const head = n.huge - 1;
      if (head !== hugeZero && !mm.phys.isHugetlb(head)) heads.add(head);
    }
  }
  return heads.size * SLICE * PAGE_SIZE;
}
