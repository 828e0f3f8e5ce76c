// SPDX-License-Identifier: GPL-2.0-only
/**
 * User page tables take RAM (pte_alloc_one(), GFP_PGTABLE_USER): one page per
 * 2 MiB slice mapped through PTEs, or deposited under an anonymous PMD. A
 * fault that finds none fails (VM_FAULT_OOM), fork cannot copy an address
 * space it has no tables for, and munmap and exit give them back. Before,
 * tables were free in the model, and a MAP_POPULATE of terabytes of read-only
 * anonymous memory mapped the zero page forever.
 */
import { describe, expect, it } from 'vitest';
import { setFaultHook } from '../../src/base/fault.js';
import { EAGAIN, EFAULT, ENOMEM, ErrnoError } from '../../src/base/errno.js';
import { Machine, type Process } from '../../src/machine/index.js';
import type { MmStruct } from '../../src/mm/address-space.js';
import {
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_POPULATE_READ,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/mm/constants.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const PG = 4096n;
const M2 = 2n << 20n;
const BASE = 0x40000000n;

/** `access` run with `p`'s fail-nth armed at `n`: its result; each fault point it passed ('NAME', 'NAME failed') in `seen`. */
function traced(p: Process, n: number, access: () => number, seen: string[]): number {
  seen.length = 0;
  const prev = setFaultHook((pt, failed) => seen.push(`${pt.name}${failed ? ' failed' : ''}`));
  try {
    p.setFailNth(n);
    return access();
  } finally {
    setFaultHook(prev);
  }
}

/** Every present PTE of an address space as [vpn, pfn, flags, huge]. */
function mappings(mm: MmStruct): number[][] {
  const out: number[][] = [];
  mm.forEachMapping((vpn, pfn, flags, huge) => out.push([vpn, pfn, flags, huge ? 1 : 0]));
  return out.sort((x, y) => x[0] - y[0]);
}

describe('user page tables take RAM', () => {
  it('MAP_POPULATE of read-only memory far past RAM maps the zero page until the tables fill RAM; munmap gives them back', () => {
    const m = new Machine({ memory: '16M', seed: 1, panicOnWarn: true });
    const p = m.spawn();
    const frames = m.phys.totalFrames;
    const len = 64n << 30n; // 32768 slices: eight times as many tables as RAM has pages
    // mm_populate() ignores the failure: the mmap itself succeeds
    expect(p.mmap(BASE, len, PROT_READ, PA | MAP_FIXED | MAP_POPULATE)).toBe(BASE);
    expect(m.phys.tablePages()).toBe(frames);
    expect(m.phys.freeFrames()).toBe(0);
    expect(m.phys.framesInUse()).toBe(0);
    const end = BASE + BigInt(frames) * M2;
    expect(p.mm.lookupPfn(BASE)).toBe(m.phys.zeroPfn);
    expect(p.mm.lookupPfn(end - PG)).toBe(m.phys.zeroPfn);
    expect(p.mm.lookupPfn(end)).toBe(-1);
    // MADV_POPULATE_READ of the rest: the first fault has no table
    expect(p.madvise(end, M2, MADV_POPULATE_READ)).toBe(-ENOMEM);
    // mlock(): __mm_populate()'s -ENOMEM is -EAGAIN (__mlock_posix_error_return())
    expect(p.mlock(end, PG)).toBe(-EAGAIN);
    expect(p.munmap(BASE, M2 * 8n)).toBe(0);
    expect(m.phys.tablePages()).toBe(frames - 8);
    // a reader of the unpopulated part faults one slice in with a freed page
    expect(p.readMemory(end, new Uint8Array(1))).toBe(0);
    expect(m.phys.tablePages()).toBe(frames - 7);
    expect(m.audit()).toBe(0);
    expect(p.munmap(BASE, len)).toBe(0);
    expect(m.phys.tablePages()).toBe(0);
    expect(m.phys.freeFrames()).toBe(frames);
  });

  it('the machine audit holds the count to the live address spaces: a stray page is a problem', () => {
    const m = new Machine({ memory: '64M', seed: 6 });
    const p = m.spawn();
    expect(p.mmap(BASE, 3n * M2, RW, PA | MAP_FIXED | MAP_POPULATE)).toBe(BASE);
    const c = p.fork();
    expect(m.phys.tablePages()).toBe(6);
    expect(m.audit()).toBe(0);
    c.exit();
    expect(m.audit()).toBe(0);
    m.phys.allocTable(true);
    expect(m.audit()).toBe(1);
    expect(m.warnings.at(-1)?.assertion).toBe('audit.page_tables');
  });

  it("a fault's user page waits for its table: with none, a write is EFAULT to the user and nothing is allocated", () => {
    const m = new Machine({ memory: '1M', seed: 1, panicOnWarn: true });
    const p = m.spawn();
    // 255 pages and their one table fill the machine's 256
    expect(p.mmap(BASE, 255n * PG, RW, PA | MAP_FIXED | MAP_POPULATE)).toBe(BASE);
    expect(m.phys.framesInUse()).toBe(255);
    expect(m.phys.tablePages()).toBe(1);
    expect(p.mmap(BASE + M2, PG, RW, PA | MAP_FIXED)).toBe(BASE + M2);
    expect(p.writeMemory(BASE + M2, new Uint8Array([1]))).toBe(-EFAULT);
    expect(m.phys.tablePages()).toBe(1);
    expect(p.munmap(BASE, PG)).toBe(0);
    // one free page: the table takes it, and the page itself has none
    expect(p.writeMemory(BASE + M2, new Uint8Array([1]))).toBe(-EFAULT);
    expect(m.phys.tablePages()).toBe(1);
    expect(m.phys.framesInUse()).toBe(254);
    expect(p.munmap(BASE + PG, PG)).toBe(0);
    expect(p.writeMemory(BASE + M2, new Uint8Array([1]))).toBe(0);
    expect(m.phys.tablePages()).toBe(2);
    expect(m.phys.framesInUse()).toBe(254);
    p.exit();
    expect(m.phys.tablePages()).toBe(0);
    expect(m.phys.framesInUse()).toBe(0);
  });

  it('a read populate maps exactly what read faults page by page map, and writes stay in their own table', () => {
    const m = new Machine({ memory: '64M', seed: 2, panicOnWarn: true });
    const bulk = m.spawn();
    const byPage = m.spawn();
    // from the middle of one slice across two whole ones into a third
    const start = BASE + 300n * PG;
    const len = 3n * M2 - 100n * PG;
    expect(bulk.mmap(start, len, RW, PA | MAP_FIXED)).toBe(start);
    expect(bulk.madvise(start, len, MADV_POPULATE_READ)).toBe(0);
    expect(byPage.mmap(start, len, RW, PA | MAP_FIXED)).toBe(start);
    const one = new Uint8Array(1);
    for (let a = start; a < start + len; a += PG) expect(byPage.readMemory(a, one)).toBe(0);
    expect(mappings(bulk.mm)).toEqual(mappings(byPage.mm));
    expect(mappings(bulk.mm)).toHaveLength(Number(len / PG));
    expect(m.phys.tablePages()).toBe(8);
    // a write into one whole slice takes a page there; the other whole slice still maps the zero page
    const zero = m.phys.zeroPfn;
    expect(bulk.writeMemory(BASE + M2 + 5n * PG, new Uint8Array([9]))).toBe(0);
    for (let k = 0n; k < 512n; k++) {
      const pfn = bulk.mm.lookupPfn(BASE + M2 + k * PG);
      if (k === 5n) expect(pfn).not.toBe(zero);
      else expect(pfn).toBe(zero);
      expect(bulk.mm.lookupPfn(BASE + 2n * M2 + k * PG)).toBe(zero);
    }
    // a partial munmap of the other whole slice leaves the rest of it
    expect(bulk.munmap(BASE + 2n * M2, 10n * PG)).toBe(0);
    expect(bulk.mm.lookupPfn(BASE + 2n * M2 + 9n * PG)).toBe(-1);
    expect(bulk.mm.lookupPfn(BASE + 2n * M2 + 10n * PG)).toBe(zero);
    expect(m.phys.tablePages()).toBe(8);
    // a fork copies every table, and the copies read the same
    const child = bulk.fork();
    expect(mappings(child.mm)).toEqual(mappings(bulk.mm));
    expect(m.phys.tablePages()).toBe(12);
    expect(m.audit()).toBe(0);
    bulk.exit();
    byPage.exit();
    child.exit();
    expect(m.phys.tablePages()).toBe(0);
    expect(m.phys.framesInUse()).toBe(0);
  });

  it('fork with no RAM for the child tables is ENOMEM and leaves nothing behind', () => {
    const m = new Machine({ memory: '8M', seed: 3, panicOnWarn: true });
    const p = m.spawn();
    // read-populated, then one page written: the VMA has an anon_vma, so fork copies its tables
    // (MAP_NORESERVE: 3 GiB of private writable memory past the overcommit heuristic of 8 MiB)
    expect(p.mmap(BASE, 1500n * M2, RW, PA | MAP_FIXED | MAP_NORESERVE)).toBe(BASE);
    expect(p.madvise(BASE, 1500n * M2, MADV_POPULATE_READ)).toBe(0);
    const last = BASE + 1499n * M2;
    expect(p.writeMemory(last, new Uint8Array([7]))).toBe(0);
    expect(m.phys.tablePages()).toBe(1500);
    expect(m.phys.framesInUse()).toBe(1);
    expect(() => p.fork()).toThrow(new ErrnoError(ENOMEM, 'fork'));
    expect(m.phys.tablePages()).toBe(1500);
    expect(m.phys.framesInUse()).toBe(1);
    expect(m.processes.size).toBe(1);
    expect(p.munmap(BASE, 1000n * M2)).toBe(0);
    const c = p.fork();
    expect(m.phys.tablePages()).toBe(1000);
    expect(c.mm.lookupPfn(BASE + 1000n * M2)).toBe(m.phys.zeroPfn);
    expect(mappings(c.mm)).toEqual(mappings(p.mm));
    expect(mappings(c.mm)).toHaveLength(500 * 512);
    // the child's tables are its own: a write there leaves the parent's zero page
    expect(c.writeMemory(BASE + 1000n * M2, new Uint8Array([7]))).toBe(0);
    expect(c.mm.lookupPfn(BASE + 1000n * M2)).not.toBe(m.phys.zeroPfn);
    expect(p.mm.lookupPfn(BASE + 1000n * M2)).toBe(m.phys.zeroPfn);
    expect(c.mm.lookupPfn(BASE + 1000n * M2 + PG)).toBe(m.phys.zeroPfn);
    c.exit();
    p.exit();
    expect(m.phys.tablePages()).toBe(0);
    expect(m.phys.framesInUse()).toBe(0);
  });

  it('a private VMA that never had an anonymous page is not copied at fork: the child refaults it (vma_needs_copy())', () => {
    // 6.12.95 and 7.2.13: a PROT_READ MAP_PRIVATE|MAP_POPULATE memfd mapping has 4096 kB Rss in the parent, 0 in a child
    const m = new Machine({ memory: '64M', seed: 7, panicOnWarn: true });
    const p = m.spawn();
    expect(p.mmap(BASE, 3n * M2, PROT_READ, PA | MAP_FIXED | MAP_POPULATE)).toBe(BASE);
    expect(m.phys.tablePages()).toBe(3);
    const c = p.fork();
    expect(mappings(c.mm)).toEqual([]);
    expect(m.phys.tablePages()).toBe(3);
    expect(c.readMemory(BASE + M2, new Uint8Array(1))).toBe(0);
    expect(c.mm.lookupPfn(BASE + M2)).toBe(m.phys.zeroPfn);
    expect(m.phys.tablePages()).toBe(4);
    c.exit();
    // the kernels' case: a memfd mapped MAP_PRIVATE|MAP_POPULATE read-only (page cache PTEs, no anon_vma)
    // and read-write (written: anonymous copies, an anon_vma)
    const fd = p.memfdCreate('m', 0);
    expect(p.ftruncate(fd, 4n * M2)).toBe(0);
    const ro = BASE + 8n * M2;
    const rw = BASE + 16n * M2;
    expect(p.mmap(ro, 2n * M2, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd)).toBe(ro);
    expect(p.mmap(rw, 2n * M2, RW, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd)).toBe(rw);
    const d = p.fork();
    const mapped = (mm: MmStruct, at: bigint) => mappings(mm).filter(([vpn]) => vpn >= Number(at / PG) && vpn < Number((at + 2n * M2) / PG)).length;
    expect(mapped(p.mm, ro)).toBe(1024);
    expect(mapped(d.mm, ro)).toBe(0);
    expect(mapped(p.mm, rw)).toBe(1024);
    expect(mapped(d.mm, rw)).toBe(1024);
    expect(d.mm.lookupPfn(rw + PG)).toBe(p.mm.lookupPfn(rw + PG));
    d.exit();
    p.exit();
    expect(m.phys.tablePages()).toBe(0);
    expect(m.phys.framesInUse()).toBe(0);
  });

  describe.each([
    ['v6.12', false],
    ['latest', true],
  ] as const)('an emptied table stays until munmap, or MADV_DONTNEED of its whole slice on 7.2 (%s)', (profile, reclaim) => {
    // 6.12.95 and 7.2.13 (smaps AnonHugePages of a slice faulted at 4 KiB under MADV_NOHUGEPAGE, emptied, then
    // MADV_HUGEPAGE and written again): a table left in the PMD makes the fault 4 KiB; without one it is a THP
    const slice = (m: Machine, at: bigint) => {
      const p = m.processes.values().next().value!;
      expect(p.mmap(at, M2, RW, PA | MAP_FIXED)).toBe(at);
      expect(p.madvise(at, M2, MADV_NOHUGEPAGE)).toBe(0);
      expect(p.writeMemory(at, new Uint8Array([1]))).toBe(0);
      return p;
    };
    const thpAfter = (p: Process, at: bigint): boolean => {
      expect(p.madvise(at, M2, MADV_HUGEPAGE)).toBe(0);
      expect(p.writeMemory(at, new Uint8Array([2]))).toBe(0);
      return p.mm.isPmdMapped(Number(at / PG));
    };
    it('MADV_DONTNEED of the whole slice', () => {
      const m = new Machine({ memory: '64M', profile, panicOnWarn: true });
      m.spawn();
      const p = slice(m, BASE);
      expect(m.phys.tablePages()).toBe(1);
      expect(p.madvise(BASE, M2, MADV_DONTNEED)).toBe(0);
      expect(m.phys.tablePages()).toBe(reclaim ? 0 : 1);
      expect(m.phys.framesInUse()).toBe(0);
      expect(thpAfter(p, BASE)).toBe(reclaim);
      expect(m.audit()).toBe(0);
    });
    it('MADV_DONTNEED of one page: the table stays on both', () => {
      const m = new Machine({ memory: '64M', profile, panicOnWarn: true });
      m.spawn();
      const p = slice(m, BASE);
      expect(p.madvise(BASE, PG, MADV_DONTNEED)).toBe(0);
      expect(m.phys.tablePages()).toBe(1);
      expect(thpAfter(p, BASE)).toBe(false);
    });
    it('munmap of the whole slice frees it (free_pgtables()); of part of it, with the VMA left, not', () => {
      const m = new Machine({ memory: '64M', profile, panicOnWarn: true });
      m.spawn();
      const p = slice(m, BASE);
      expect(p.munmap(BASE, M2)).toBe(0);
      expect(m.phys.tablePages()).toBe(0);
      expect(p.mmap(BASE, M2, RW, PA | MAP_FIXED)).toBe(BASE);
      expect(thpAfter(p, BASE)).toBe(true);
      const q = slice(m, BASE + M2);
      expect(q.munmap(BASE + M2 + 511n * PG, PG)).toBe(0);
      expect(q.munmap(BASE + M2, PG)).toBe(0);
      expect(m.phys.tablePages()).toBe(2);
      // (a fixed mapping back over the hole: the slice's table is still there)
      expect(q.mmap(BASE + M2, PG, RW, PA | MAP_FIXED)).toBe(BASE + M2);
      expect(q.writeMemory(BASE + M2, new Uint8Array([3]))).toBe(0);
      expect(m.phys.tablePages()).toBe(2);
      q.exit();
      expect(m.phys.tablePages()).toBe(0);
    });
    it('fork gives the child a table for every one of the parent in a VMA it copies, an empty one too', () => {
      const m = new Machine({ memory: '64M', profile, panicOnWarn: true });
      m.spawn();
      const p = slice(m, BASE);
      expect(p.madvise(BASE, PG, MADV_DONTNEED)).toBe(0);
      const c = p.fork();
      expect(m.phys.tablePages()).toBe(2);
      expect(thpAfter(c, BASE)).toBe(false);
      expect(m.audit()).toBe(0);
    });
  });

  it('the huge zero PMD counts the table it deposits; hugetlb maps without one', () => {
    const m = new Machine({ memory: '64M', seed: 4, panicOnWarn: true, hugetlbPages: { '2M': 4 } });
    const p = m.spawn();
    expect(p.mmap(BASE, 2n * M2, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(p.madvise(BASE, 2n * M2, MADV_HUGEPAGE)).toBe(0);
    expect(p.readMemory(BASE + M2, new Uint8Array(1))).toBe(0);
    expect(p.mm.isPmdMapped(Number((BASE + M2) / PG))).toBe(true);
    expect(m.phys.tablePages()).toBe(1);
    const h = 0x80000000n;
    expect(p.mmap(h, 2n * M2, RW, PA | MAP_FIXED | MAP_HUGETLB)).toBe(h);
    expect(p.writeMemory(h, new Uint8Array([1]))).toBe(0);
    expect(p.writeMemory(h + M2, new Uint8Array([1]))).toBe(0);
    expect(m.phys.framesInUse()).toBe(512 * 3);
    expect(m.phys.tablePages()).toBe(1);
    p.exit();
    expect(m.phys.tablePages()).toBe(0);
  });

  it("a private hugetlb write fault asks its reserve map for a file_region entry again once the folio is in: the cache is empty then (the first fault's own entry made the region), the kmalloc's failure gives the folio and the reservation back, and the CPU takes the fault again (hugetlb_no_page(), restore_reserve_on_error(); 6.12.95 and 7.2.13 fail ACCESS_PAGES there)", () => {
    const m = new Machine({ memory: '64M', seed: 6, panicOnWarn: true, hugetlbPages: { '2M': 4 } });
    const p = m.spawn();
    const h = 0x80000000n;
    expect(p.mmap(h, 2n * M2, RW, PA | MAP_FIXED | MAP_HUGETLB)).toBe(h);
    const seen: string[] = [];
    expect(traced(p, 3, () => p.writeMemory(h, new Uint8Array([1])), seen)).toBe(0);
    expect(p.getFailNth()).toBe(0);
    // the failed fault asked again in its restore (that entry stays), so the fault taken again needs none
    // until the write check, whose cache the commit emptied
    expect(seen).toEqual(['kmem_cache_alloc.anon_vma_chain', 'kmem_cache_alloc.anon_vma', 'kmalloc.file_region failed', 'kmalloc.file_region', 'kmalloc.file_region']);
    expect(m.phys.hugetlbStats(9)).toMatchObject({ inUse: 1, reserved: 1 });
    // a read fault of the second huge page: its region takes the entry the write check left, and asks no more
    expect(traced(p, 1, () => p.readMemory(h + M2, new Uint8Array(1)), seen)).toBe(0);
    expect(seen).toEqual([]);
    expect(p.getFailNth()).toBe(1);
    p.setFailNth(0);
    expect(m.phys.hugetlbStats(9)).toMatchObject({ inUse: 2, reserved: 0 });
    p.exit();
    expect(m.phys.hugetlbStats(9)).toMatchObject({ inUse: 0, reserved: 0 });
    expect(m.phys.framesInUse()).toBe(0);
  });

  it("an anonymous fault allocates its table, then the VMA's anon_vma (its chain, then itself), then the page; the CPU's own access takes the fault again when one fails (fail_page_alloc at min-order 0)", () => {
    const m = new Machine({ memory: '64M', seed: 5, panicOnWarn: true, failPageMinOrder: 0 });
    const p = m.spawn();
    expect(p.mmap(BASE, M2, RW, PA | MAP_FIXED)).toBe(BASE);
    const seen: string[] = [];
    const write = (n: number): number => traced(p, n, () => p.writeMemory(BASE, new Uint8Array([1])), seen);
    // the table fails: pagefault_out_of_memory() returns and the store faults again
    expect(write(1)).toBe(0);
    expect(seen).toEqual(['alloc_pages failed', 'alloc_pages', 'kmem_cache_alloc.anon_vma_chain', 'kmem_cache_alloc.anon_vma', 'alloc_pages']);
    expect(p.getFailNth()).toBe(0);
    expect(m.phys.tablePages()).toBe(1);
    expect(m.phys.framesInUse()).toBe(1);
    expect(p.munmap(BASE, M2)).toBe(0);
    expect(m.phys.tablePages()).toBe(0);
    // a new VMA has no anon_vma (none left to reuse): the page is the fourth allocation, and its failure
    // gives the table back before the store faults again
    expect(p.mmap(BASE, M2, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(write(4)).toBe(0);
    expect(seen).toEqual(['alloc_pages', 'kmem_cache_alloc.anon_vma_chain', 'kmem_cache_alloc.anon_vma', 'alloc_pages failed', 'alloc_pages', 'alloc_pages']);
    expect(m.phys.tablePages()).toBe(1);
    expect(m.phys.framesInUse()).toBe(1);
  });
});
