// SPDX-License-Identifier: GPL-2.0-only
/**
 * MADV_COLLAPSE of anonymous memory (mm/khugepaged.c madvise_collapse()):
 * the VMA checks (thp_vma_allowable_order(), the anon_vma), the per-block
 * scan (hpage_collapse_scan_pmd() on 6.12, collapse_scan_pmd() on 7.2) and
 * the collapse into a PMD-mapped THP. Kernel-checked by
 * test/regressions/thp-madvise-collapse-anon.yaml.
 */
import { describe, expect, it } from 'vitest';
import { EAGAIN, EINVAL } from '../../src/base/errno.js';
import { MmStruct } from '../../src/mm/address-space.js';
import {
  FOLL_LONGTERM,
  FOLL_WRITE,
  MADV_COLLAPSE,
  MADV_DONTNEED,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from '../../src/mm/constants.js';
import { pinUserPages, unpinUserPages } from '../../src/mm/gup.js';
import { PhysicalMemory } from '../../src/mm/physical-memory.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const M2 = 2n << 20n;
const BASE = 0x40000000n;

/** The mm options of each kernel: 7.2's scan (collapseAnyPte) and its CONFIG_PT_RECLAIM (ptReclaim). */
function setup(is72: boolean) {
  const phys = new PhysicalMemory(64n << 20n, { seed: 2 });
  const mm = new MmStruct(phys, { collapseAnyPte: is72, ptReclaim: is72 });
  expect(mm.mmap(BASE, 8n * M2, RW, PA | MAP_FIXED)).toBe(BASE);
  const order = (va: bigint) => phys.folioOrder(mm.lookupPfn(va));
  const byte = (va: bigint, b: number) => expect(mm.writeUser(va, new Uint8Array([b]))).toBe(0);
  return { phys, mm, order, byte };
}

describe.each([
  ['6.12', false],
  ['7.2', true],
])('MADV_COLLAPSE as %s', (_k, anyPte) => {
  // test/oracle/handwritten/collapse-after-readonly-pin.yaml, on 6.12.95 and 7.2.13
  it(`pages a read-only long-term pin faulted in (unshare: read-only entries) ${anyPte ? 'collapse' : 'have no writable PTE: EINVAL until mprotect or a write makes one writable'}`, () => {
    const { mm, phys, order, byte } = setup(anyPte);
    const out = new Uint32Array(512);
    expect(pinUserPages(mm, BASE, 512, FOLL_LONGTERM, out, 0)).toBe(512);
    unpinUserPages(phys, out, 0, 512, false);
    expect(order(BASE)).toBe(0);
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(anyPte ? 0 : -EINVAL);
    expect(pinUserPages(mm, BASE + M2, 512, FOLL_LONGTERM, out, 0)).toBe(512);
    unpinUserPages(phys, out, 0, 512, false);
    expect(mm.mprotect(BASE + M2, M2, PROT_READ)).toBe(0);
    expect(mm.mprotect(BASE + M2, M2, RW)).toBe(0);
    expect(mm.madvise(BASE + M2, M2, MADV_COLLAPSE)).toBe(0);
    expect(order(BASE + M2)).toBe(9);
    expect(pinUserPages(mm, BASE + 2n * M2, 512, FOLL_LONGTERM, out, 0)).toBe(512);
    unpinUserPages(phys, out, 0, 512, false);
    byte(BASE + 2n * M2 + 0x3000n, 7);
    expect(mm.madvise(BASE + 2n * M2, M2, MADV_COLLAPSE)).toBe(0);
    expect(order(BASE + 2n * M2)).toBe(9);
  });

  it('a VMA no anonymous page was ever made in has no anon_vma: EINVAL; after one write, its block collapses with the data', () => {
    const { mm, phys, order, byte } = setup(anyPte);
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(-EINVAL);
    // a read fault outside THP (mode madvise, no MADV_HUGEPAGE) maps the zero page: still none
    expect(mm.readUser(BASE, new Uint8Array(1))).toBe(0);
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(-EINVAL);
    byte(BASE + 0x1000n, 0x5a);
    expect(order(BASE + 0x1000n)).toBe(0);
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(0);
    expect(order(BASE)).toBe(9);
    expect(mm.lookupPfn(BASE + 0x1000n)).toBe(mm.lookupPfn(BASE) + 1);
    const b = new Uint8Array(2);
    expect(mm.readUser(BASE + 0xfffn, b)).toBe(0);
    expect([...b]).toEqual([0, 0x5a]);
    // already a THP: SCAN_PMD_MAPPED counts as done
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(0);
    mm.mmput();
    expect(phys.framesInUse()).toBe(0);
  });

  it('ranges without a whole aligned 2 MiB: 0 when the start is aligned or the range crosses a boundary; inside one block unaligned: EINVAL on 6.12, 0 on 7.2', () => {
    const { mm, byte } = setup(anyPte);
    byte(BASE, 1);
    expect(mm.madvise(BASE, 0x1000n, MADV_COLLAPSE)).toBe(0);
    expect(mm.madvise(BASE + M2 - 0x1000n, 0x2000n, MADV_COLLAPSE)).toBe(0);
    expect(mm.madvise(BASE + 0x1000n, 0x1000n, MADV_COLLAPSE)).toBe(anyPte ? 0 : -EINVAL);
    mm.mmput();
  });

  it('a pinned page: EAGAIN (SCAN_PAGE_COUNT), the block stays small; unpinned it collapses', () => {
    const { mm, phys, order, byte } = setup(anyPte);
    byte(BASE, 1);
    const out = new Uint32Array(1);
    expect(pinUserPages(mm, BASE + 0x3000n, 1, FOLL_LONGTERM | FOLL_WRITE, out, 0)).toBe(1);
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(-EAGAIN);
    expect(order(BASE)).toBe(0);
    unpinUserPages(phys, out, 0, 1, true);
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(0);
    expect(order(BASE)).toBe(9);
    mm.mmput();
    expect(phys.framesInUse()).toBe(0);
  });

  it('a block with no page table: 6.12 stops there (SCAN_PMD_NONE, EINVAL); 7.2 skips it and goes on', () => {
    const { mm, order, byte } = setup(anyPte);
    byte(BASE, 1);
    byte(BASE + 2n * M2, 2);
    // blocks 0 and 2 have tables, block 1 none
    expect(mm.madvise(BASE, 3n * M2, MADV_COLLAPSE)).toBe(-EINVAL);
    expect(order(BASE)).toBe(9);
    expect(order(BASE + 2n * M2)).toBe(anyPte ? 9 : 0);
    mm.mmput();
  });

  it('only read-only or empty PTEs: 6.12 needs a writable one (SCAN_PAGE_RO, EINVAL), 7.2 collapses', () => {
    const { mm, order, byte } = setup(anyPte);
    byte(BASE, 1);
    byte(BASE + M2, 1);
    expect(mm.mprotect(BASE, M2, PROT_READ)).toBe(0);
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(anyPte ? 0 : -EINVAL);
    expect(order(BASE)).toBe(anyPte ? 9 : 0);
    // MADV_DONTNEED of the whole block: 6.12 keeps the emptied table, whose scan finds no writable PTE
    // (SCAN_PAGE_RO); 7.2 frees it (CONFIG_PT_RECLAIM), and a block without a table is skipped: EINVAL both
    expect(mm.madvise(BASE + M2, M2, MADV_DONTNEED)).toBe(0);
    expect(mm.madvise(BASE + M2, M2, MADV_COLLAPSE)).toBe(-EINVAL);
    mm.mmput();
  });

  it('EINVAL for VM_NOHUGEPAGE, for a VMA that cannot hold an aligned 2 MiB, and for shared or file memory', () => {
    const { mm, byte } = setup(anyPte);
    byte(BASE, 1);
    expect(mm.madvise(BASE, M2, MADV_NOHUGEPAGE)).toBe(0);
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(-EINVAL);
    const small = mm.mmap(0n, M2 - 0x1000n, RW, PA);
    expect(mm.writeUser(small, new Uint8Array([1]))).toBe(0);
    expect(mm.madvise(small, M2 - 0x1000n, MADV_COLLAPSE)).toBe(-EINVAL);
    const sh = mm.mmap(0n, 2n * M2, RW, MAP_SHARED | MAP_ANONYMOUS);
    expect(mm.writeUser(sh, new Uint8Array([1]))).toBe(0);
    expect(mm.madvise(sh, 2n * M2, MADV_COLLAPSE)).toBe(-EINVAL);
    mm.mmput();
  });

  it('shmem (shared anonymous): no whole block in the range is 0 (6.12: only from a block boundary); a VMA not block-aligned is EINVAL', () => {
    const { mm } = setup(anyPte);
    const SH = BASE + 16n * M2;
    expect(mm.mmap(SH, M2, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)).toBe(SH);
    expect(mm.writeUser(SH, new Uint8Array([1]))).toBe(0);
    // inside the block, not from its start: 7.2 hstart >= hend is 0, 6.12's unsigned count is EINVAL
    expect(mm.madvise(SH + 0x7000n, 0xf000n, MADV_COLLAPSE)).toBe(anyPte ? 0 : -EINVAL);
    // from the block's start, short of its end: hstart == hend, 0 on both
    expect(mm.madvise(SH, 0x10000n, MADV_COLLAPSE)).toBe(0);
    // the VMA's start is not block-aligned (its file offset is 0): thp_vma_suitable_order() refuses it
    const OFF = SH + 4n * M2 + 0x1000n;
    expect(mm.mmap(OFF, 2n * M2, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)).toBe(OFF);
    expect(mm.madvise(OFF, 0x1000n, MADV_COLLAPSE)).toBe(-EINVAL);
    mm.mmput();
  });
});
