// SPDX-License-Identifier: GPL-2.0-only
/**
 * mremap(2) (mm/mremap.c): the errno of each bad call in each version's
 * order (6.12 looks the VMA up before it checks the new length; 7.x checks
 * every parameter first), growing and shrinking in place, moves that carry
 * the page table entries (the same frames at the new address, pins and
 * THPs included), MREMAP_DONTUNMAP and its locked_vm, and 7.x's move of
 * several VMAs at once. Kernel-checked by test/bridge/progs/mremap.c, which
 * passes on 6.12.95 and 7.2.13 and under exec with both profiles.
 */
import { describe, expect, it } from 'vitest';
import { EAGAIN, EFAULT, EINVAL, ENOMEM, EPERM } from '../../src/base/errno.js';
import { Machine } from '../../src/machine/machine.js';
import {
  FOLL_LONGTERM,
  FOLL_WRITE,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
  VM_LOCKED,
  VM_WRITE,
} from '../../src/mm/constants.js';
import { pinUserPages } from '../../src/mm/gup.js';

const PG = 4096n;
const M2 = 2n << 20n;
const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const BASE = 0x40000000n;
const MOVE = MREMAP_MAYMOVE;
const FIXED = MREMAP_MAYMOVE | MREMAP_FIXED;

function setup(profile: 'latest' | 'v6.12', memlock = 'unlimited', failPageMinOrder?: number) {
  const m = new Machine({ memory: '256M', profile, hugetlbPages: { '2M': 4 }, ...(failPageMinOrder !== undefined ? { failPageMinOrder } : {}) });
  const p = m.spawn({ memlock, caps: [] });
  const mm = p.mm;
  const map = (at: bigint, pages: bigint, flags = PA, prot = RW): bigint => {
    const r = p.mmap(at, pages * PG, prot, flags | MAP_FIXED);
    expect(r).toBe(at);
    return r;
  };
  const put = (va: bigint, b: number): void => expect(p.writeMemory(va, new Uint8Array([b]))).toBe(0);
  const get = (va: bigint): number => {
    const b = new Uint8Array(1);
    expect(p.readMemory(va, b)).toBe(0);
    return b[0];
  };
  const pfns = (va: bigint, n: number): number[] => Array.from({ length: n }, (_, i) => mm.lookupPfn(va + BigInt(i) * PG));
  return { m, p, mm, map, put, get, pfns };
}

describe.each([
  ['v6.12', false],
  ['latest', true],
] as const)('mremap on %s', (profile, is72) => {
  it('bad calls: EINVAL for the flags and addresses, EFAULT with no VMA, ENOMEM where it cannot grow, in the order of each version', () => {
    const { p, mm, map } = setup(profile);
    const a = map(BASE, 8n);
    map(BASE + 8n * PG, 1n, PA, PROT_READ);
    expect(p.mremap(a, PG, PG, 8)).toBe(BigInt(-EINVAL));
    expect(p.mremap(a, PG, PG, 1n << 40n)).toBe(BigInt(-EINVAL));
    expect(p.mremap(a, PG, PG, MREMAP_FIXED, a + 0x100000n)).toBe(BigInt(-EINVAL));
    expect(p.mremap(a, PG, PG, MREMAP_DONTUNMAP)).toBe(BigInt(-EINVAL));
    expect(p.mremap(a + 1n, PG, PG, 0)).toBe(BigInt(-EINVAL));
    expect(p.mremap(a, PG, 0n, 0)).toBe(BigInt(-EINVAL));
    const gap = BASE - 0x100000n;
    expect(p.mremap(gap, PG, 2n * PG, MOVE)).toBe(BigInt(-EFAULT));
    // 7.x: the new length is checked before the VMA is looked up
    expect(p.mremap(gap, PG, 1n << 62n, MOVE)).toBe(BigInt(is72 ? -EINVAL : -EFAULT));
    // 6.12 compares the DONTUNMAP lengths as given, 7.x once page-aligned
    expect(p.mremap(a, PG, PG - 1n, MOVE | MREMAP_DONTUNMAP) >= 0n).toBe(is72);
    expect(p.mremap(a + PG, 0n, PG, MOVE)).toBe(BigInt(-EINVAL));
    expect(p.mremap(a + PG, 2n * PG, 2n * PG, FIXED, a + 2n * PG)).toBe(BigInt(-EINVAL));
    expect(p.mremap(a + PG, PG, PG, FIXED, gap + 1n)).toBe(BigInt(-EINVAL));
    expect(p.mremap(a + 6n * PG, 4n * PG, 6n * PG, MOVE)).toBe(BigInt(-EFAULT));
    expect(p.mremap(a + PG, 7n * PG, 8n * PG, 0)).toBe(BigInt(-ENOMEM));
    // a FIXED target past TASK_SIZE; one below mmap_min_addr without CAP_SYS_RAWIO (security_mmap_addr())
    expect(p.mremap(a + PG, PG, PG, FIXED, TASK_SIZE)).toBe(BigInt(-EINVAL));
    expect(p.mremap(a + PG, PG, PG, FIXED, 0n)).toBe(BigInt(-EPERM));
    expect(mm.vmaAt(a + PG)).toBeDefined();
  });

  it('a move carries the page table entries: the same frames at the new address, a pin held across it, the old range gone', () => {
    const { m, p, mm, map, put, get, pfns } = setup(profile);
    const a = map(BASE, 8n);
    map(BASE + 8n * PG, 1n, PA, PROT_READ);
    for (let i = 0n; i < 8n; i++) put(a + i * PG, 0x61 + Number(i));
    const before = pfns(a, 8);
    const pinned = new Uint32Array(2);
    expect(pinUserPages(mm, a, 2, FOLL_WRITE | FOLL_LONGTERM, pinned, 0)).toBe(2);
    const free = m.phys.freeFrames();
    const tables = mm.tablePages();
    const b = p.mremap(a, 8n * PG, 12n * PG, MOVE);
    expect(b > 0n && b !== a).toBe(true);
    expect(pfns(b, 8)).toEqual(before);
    expect([...pinned]).toEqual(before.slice(0, 2));
    expect(m.phys.pincount(before[0])).toBe(1);
    expect(get(b + 7n * PG)).toBe(0x68);
    expect(get(b + 9n * PG)).toBe(0);
    expect(mm.vmaAt(a)).toBeUndefined();
    // no frame was taken or given back: only the new range's PTE table (the old one goes with the old range)
    expect(mm.tablePages()).toBe(tables + 1);
    expect(free - m.phys.freeFrames()).toBe(1);
    expect(m.audit()).toBe(0);
  });

  it('shrinking stays in place and unmaps the tail; growing into free space stays in place; MREMAP_FIXED replaces what is there', () => {
    const { p, mm, map, put, get, pfns } = setup(profile);
    const a = map(BASE, 6n);
    for (let i = 0n; i < 6n; i++) put(a + i * PG, 0x30 + Number(i));
    const kept = pfns(a, 2);
    expect(p.mremap(a, 6n * PG, 2n * PG, 0)).toBe(a);
    expect(mm.vmaAt(a + 2n * PG)).toBeUndefined();
    expect(p.mremap(a, 2n * PG, 4n * PG, 0)).toBe(a);
    expect(pfns(a, 2)).toEqual(kept);
    expect(get(a + 3n * PG)).toBe(0);
    expect(mm.vmas.filter((v) => v.start === Number(a / PG)).map((v) => v.end - v.start)).toEqual([4]);
    const t = map(BASE + 0x100000n, 2n);
    put(t, 0x7a);
    expect(p.mremap(a, 2n * PG, 2n * PG, FIXED, t)).toBe(t);
    expect(get(t)).toBe(0x30);
    expect(pfns(t, 2)).toEqual(kept);
  });

  it('MREMAP_DONTUNMAP: the pages move, the old VMA stays mapped and empty, no longer locked', () => {
    const { m, p, mm, map, put, get, pfns } = setup(profile);
    const a = map(BASE, 4n);
    expect(p.mlock(a, 4n * PG)).toBe(0);
    put(a, 0x64);
    const moved = pfns(a, 4);
    expect(mm.lockedVm).toBe(4);
    // the middle two pages: 6.12 unlocks the whole source VMA and keeps its count; 7.x splits them off first
    const b = p.mremap(a + PG, 2n * PG, 2n * PG, MOVE | MREMAP_DONTUNMAP);
    expect(b > 0n).toBe(true);
    expect(pfns(b, 2)).toEqual(moved.slice(1, 3));
    expect(mm.vmaAt(a + PG)).toBeDefined();
    expect(get(a + PG)).toBe(0);
    expect(get(a)).toBe(0x64);
    expect(mm.lockedVm).toBe(4);
    const lockedPages = mm.vmas.filter((v) => v.flags & VM_LOCKED).reduce((n, v) => n + v.pages, 0);
    expect(lockedPages).toBe(is72 ? 4 : 2);
    expect(mm.lockedVmOrphaned).toBe(is72 ? 0 : 2);
    expect(m.audit()).toBe(0);
    // the new range unmapped gives back its count; 6.12's orphaned two pages stay counted
    expect(p.munmap(b, 2n * PG)).toBe(0);
    // 7.x: the two pages still locked; 6.12: none locked, the two orphaned
    expect(mm.lockedVm).toBe(2);
    expect(p.munmap(a, 4n * PG)).toBe(0);
    expect(mm.lockedVm).toBe(is72 ? 0 : 2);
  });

  it('a locked VMA that grows counts and faults in its new pages; over RLIMIT_MEMLOCK: EAGAIN', () => {
    const { p, mm, map } = setup(profile, '32K');
    const a = map(BASE, 2n);
    expect(p.mlock(a, 2n * PG)).toBe(0);
    const b = p.mremap(a, 2n * PG, 5n * PG, MOVE);
    expect(b > 0n).toBe(true);
    expect(mm.lockedVm).toBe(5);
    expect(mm.lookupPfn(b + 4n * PG)).toBeGreaterThan(0);
    expect(p.mremap(b, 5n * PG, 9n * PG, MOVE)).toBe(BigInt(-EAGAIN));
  });

  it('a THP moved to a 2 MiB boundary stays PMD-mapped; moved off one it is split, the frames kept', () => {
    const { p, mm, pfns } = setup(profile);
    const t = p.mmap(BASE, M2, RW, PA | MAP_FIXED);
    expect(p.madvise(t, M2, MADV_HUGEPAGE)).toBe(0);
    expect(p.writeMemory(t, new Uint8Array([1]))).toBe(0);
    expect(mm.isPmdMapped(Number(t / PG))).toBe(true);
    const head = pfns(t, 1)[0];
    const t2 = BASE + 2n * M2;
    expect(p.mremap(t, M2, M2, FIXED, t2)).toBe(t2);
    expect(mm.isPmdMapped(Number(t2 / PG))).toBe(true);
    expect(pfns(t2, 1)[0]).toBe(head);
    const t3 = BASE + PG;
    expect(p.mremap(t2, M2, M2, FIXED, t3)).toBe(t3);
    expect(mm.isPmdMapped(Number(t3 / PG))).toBe(false);
    expect(pfns(t3 + M2 - PG, 1)[0]).toBe(head + 511);
  });

  it('hugetlb: moved whole on its boundaries; growing it or an address off a huge page is EINVAL', () => {
    const { p, mm, pfns } = setup(profile);
    const h = p.mmap(BASE, M2, RW, PA | MAP_HUGETLB | MAP_FIXED);
    expect(h).toBe(BASE);
    expect(p.writeMemory(h + PG, new Uint8Array([9]))).toBe(0);
    const head = pfns(h, 1)[0];
    expect(p.mremap(h, M2, 2n * M2, MOVE)).toBe(BigInt(-EINVAL));
    expect(p.mremap(h, M2, M2, FIXED, BASE + 4n * M2 + PG)).toBe(BigInt(-EINVAL));
    expect(p.mremap(h, M2, M2, FIXED, BASE + 4n * M2)).toBe(BASE + 4n * M2);
    expect(pfns(BASE + 4n * M2, 1)[0]).toBe(head);
    expect(mm.vmaAt(BASE)).toBeUndefined();
  });

  it('an old length of 0 duplicates a shared mapping (the same file pages), not a private one', () => {
    const { p, mm, map, put, get } = setup(profile);
    expect(p.mremap(map(BASE - 0x100000n, 1n), 0n, PG, MOVE)).toBe(BigInt(-EINVAL));
    const s = map(BASE, 2n, MAP_SHARED | MAP_ANONYMOUS);
    put(s, 0x73);
    const dup = p.mremap(s, 0n, 2n * PG, MOVE);
    expect(dup > 0n && dup !== s).toBe(true);
    expect(get(dup)).toBe(0x73);
    expect(mm.lookupPfn(dup)).toBe(mm.lookupPfn(s));
    expect(mm.vmaAt(s)).toBeDefined();
  });

  it(`an MREMAP_FIXED move of two VMAs at once: ${is72 ? 'both move, the gap between them kept' : 'EFAULT past the first'}`, () => {
    const { p, mm, map, put, get } = setup(profile);
    const a = map(BASE, 2n);
    map(BASE + 2n * PG, 2n, PA, PROT_READ);
    put(a, 0x6d);
    const to = BASE + 0x100000n;
    const r = p.mremap(a, 4n * PG, 4n * PG, FIXED, to);
    if (is72) {
      expect(r).toBe(to);
      expect(get(to)).toBe(0x6d);
      expect(mm.vmaAt(to + 2n * PG)!.flags & VM_WRITE).toBe(0);
      expect(mm.vmaAt(to)!.end).toBe(Number((to + 2n * PG) / PG));
      expect(mm.vmaAt(a)).toBeUndefined();
      expect(mm.vmaAt(a + 2n * PG)).toBeUndefined();
    } else {
      expect(r).toBe(BigInt(-EFAULT));
      expect(get(a)).toBe(0x6d);
    }
    // a range that runs past its only VMA into a gap
    const g = map(BASE + 0x200000n, 2n);
    const r2 = p.mremap(g, 4n * PG, 4n * PG, FIXED, BASE + 0x300000n);
    expect(r2).toBe(is72 ? BASE + 0x300000n : BigInt(-EFAULT));
  });

  it('an anonymous VMA never written takes its new address as offset (it merges there); a written one keeps the old', () => {
    const { p, mm, map, put } = setup(profile);
    const dst = BASE + 0x100000n;
    map(dst, 2n);
    const fresh = map(BASE, 2n);
    // moved right after the untouched mapping at dst: one VMA
    expect(p.mremap(fresh, 2n * PG, 2n * PG, FIXED, dst + 2n * PG)).toBe(dst + 2n * PG);
    expect(mm.vmaAt(dst)?.end).toBe(Number((dst + 4n * PG) / PG));
    const used = map(BASE, 2n);
    put(used, 1);
    expect(p.mremap(used, 2n * PG, 2n * PG, FIXED, dst + 4n * PG)).toBe(dst + 4n * PG);
    expect(mm.vmaAt(dst)?.end).toBe(Number((dst + 4n * PG) / PG));
    expect(mm.vmaAt(dst + 4n * PG)?.pgoff).toBe(Number(BASE / PG));
  });
});

describe('mremap on latest: MREMAP_FIXED | MREMAP_DONTUNMAP through remap_move()', () => {
  it('moves the part of a larger VMA once, and the source VMA stays (mmsweep seed 7 looped here until the map count ran out)', () => {
    const { p, mm, map, put, get } = setup('latest');
    const a = map(BASE, 8n);
    put(a + 2n * PG, 0x44);
    const n0 = mm.vmas.length;
    const to = BASE + 0x100000n;
    expect(p.mremap(a + 2n * PG, 2n * PG, 2n * PG, FIXED | MREMAP_DONTUNMAP, to)).toBe(to);
    expect(get(to)).toBe(0x44);
    expect(get(a + 2n * PG)).toBe(0);
    expect(mm.vmas.length).toBe(n0 + 1);
  });
});

describe.each(['v6.12', 'latest'] as const)('mremap on %s under fail_nth', (profile) => {
  it('a new PTE table refused (alloc_pages, fail_page_alloc min-order 0): the entries go back, the new range is unmapped, ENOMEM; every nth tried', () => {
    let failed = 0;
    let moved = 0;
    for (let nth = 1; nth <= 8; nth++) {
      // min-order 0: the kernel's default of 1 never fails an order-0 page-table page
      const { m, p, mm, map, put, get, pfns } = setup(profile, 'unlimited', 0);
      const a = map(BASE + 0x1000n, 8n);
      expect(p.mlock(a, 8n * PG)).toBe(0);
      for (let i = 0n; i < 8n; i++) put(a + i * PG, 0x41 + Number(i));
      const before = pfns(a, 8);
      const locked = mm.lockedVm;
      const to = BASE + 0x10000000n;
      p.setFailNth(nth);
      const r = p.mremap(a, 8n * PG, 8n * PG, FIXED, to);
      const fired = p.task.failNth.lastFailed !== undefined;
      p.setFailNth(0);
      if (r < 0n) {
        failed++;
        expect(r).toBe(BigInt(-ENOMEM));
        expect(fired).toBe(true);
        expect(pfns(a, 8)).toEqual(before);
        expect(mm.vmaAt(to)).toBeUndefined();
      } else {
        moved++;
        expect(r).toBe(to);
        expect(pfns(to, 8)).toEqual(before);
        expect(get(to + 7n * PG)).toBe(0x48);
      }
      expect(mm.lockedVm).toBe(locked);
      expect(m.audit()).toBe(0);
    }
    // both outcomes reached: some nth hits the table of the move, a later one lands after it
    expect(failed).toBeGreaterThan(0);
    expect(moved).toBeGreaterThan(0);
  });
});

describe.each(['v6.12', 'latest'] as const)('mremap on %s: page tables', (profile) => {
  it('a moved part of a slice with no entries takes no table (fuzz finding: one page-table page still counted at exit)', () => {
    const { m, p, mm, map, put } = setup(profile);
    const src = map(BASE + 0x400000n, 1024n);
    const dst = map(BASE, 1024n);
    put(src + 0x300000n, 1);
    const tables = mm.tablePages();
    expect(p.mremap(src + 0x1ff000n, 2n * PG, 2n * PG, FIXED, dst)).toBe(dst);
    expect(mm.tablePages()).toBe(tables);
    expect(m.audit()).toBe(0);
  });
});
