// SPDX-License-Identifier: GPL-2.0-only
/**
 * Guard regions (mm/madvise.c madvise_guard_install() / madvise_guard_remove(),
 * v6.13): PTE markers that fault SIGSEGV; what zap, munmap, fork, mremap,
 * MADV_COLLAPSE, pagemap and the page tables make of them. 6.12 has neither
 * advice. Kernel-checked by test/oracle/handwritten/madvise-guard.yaml and
 * test/bridge/progs/pagemap.c on 6.12.95 and 7.2.13.
 */
import { describe, expect, it } from 'vitest';
import { EFAULT, EINVAL, ENOMEM } from '../../src/base/errno.js';
import { vmFlagsText } from '../../src/bridge/smaps.js';
import { MmStruct } from '../../src/mm/address-space.js';
import {
  MADV_COLLAPSE,
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_HUGEPAGE,
  MADV_POPULATE_READ,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_PRIVATE,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_READ,
  PROT_WRITE,
  VM_MAYBE_GUARD,
} from '../../src/mm/constants.js';
import { pagemapEntry } from '../../src/mm/pagemap.js';
import { PhysicalMemory } from '../../src/mm/physical-memory.js';
import { Task } from '../../src/mm/task.js';
import { MemCgroup, UserStruct } from '../../src/mm/accounting.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const PG = 4096n;
const M2 = 2n << 20n;
const BASE = 0x40000000n;
/** pagemap's guard marker entry: PM_SWAP | PM_GUARD_REGION and, shown PFNs, SWP_PTE_MARKER | PTE_MARKER_GUARD << 5. */
const GUARD_PME = (1n << 62n) | (1n << 58n) | 0x9fn;

function setup(guardRegions = true) {
  const phys = new PhysicalMemory(64n << 20n, { seed: 5 });
  const mm = new MmStruct(phys, { thp: 'madvise', guardRegions, collapseAnyPte: true });
  const owner = new Task({ pid: 1, uid: 0, user: new UserStruct(0), caps: ['CAP_IPC_LOCK'], rlimitMemlock: 1n << 30n, mm, memcg: new MemCgroup() });
  return { phys, mm, owner };
}

/** A fresh mapping of `pages` pages at BASE, every page written with `fill`. */
function filled(mm: MmStruct, pages: bigint, fill = 7): bigint {
  expect(mm.mmap(BASE, pages * PG, RW, PA | MAP_FIXED)).toBe(BASE);
  expect(mm.writeUser(BASE, new Uint8Array(Number(pages * PG)).fill(fill))).toBe(0);
  return BASE;
}

const read1 = (mm: MmStruct, va: bigint): number | string => {
  const b = new Uint8Array(1);
  const rc = mm.readUser(va, b);
  return rc < 0 ? rc : b[0];
};

describe('MADV_GUARD_INSTALL / MADV_GUARD_REMOVE', () => {
  it('is EINVAL where the kernel has no guard regions (6.12)', () => {
    const { mm } = setup(false);
    const a = filled(mm, 4n);
    expect(mm.madvise(a, PG, MADV_GUARD_INSTALL)).toBe(-EINVAL);
    expect(mm.madvise(a, PG, MADV_GUARD_REMOVE)).toBe(-EINVAL);
    expect(read1(mm, a)).toBe(7);
  });

  it('zaps the pages, faults EFAULT on every access, keeps its table, shows in pagemap and VmFlags; REMOVE gives zeros back', () => {
    const { phys, mm } = setup();
    const a = filled(mm, 8n);
    const inUse = phys.framesInUse();
    expect(mm.madvise(a + 2n * PG, 2n * PG, MADV_GUARD_INSTALL)).toBe(0);
    expect(phys.framesInUse()).toBe(inUse - 2);
    expect(mm.residentPages()).toBe(6);
    expect(read1(mm, a + 2n * PG)).toBe(-EFAULT);
    expect(mm.writeUser(a + 4n * PG - 1n, new Uint8Array(2))).toBe(-EFAULT);
    expect(read1(mm, a + PG)).toBe(7);
    expect(pagemapEntry(mm, Number((a + 2n * PG) / PG), true)).toBe(GUARD_PME);
    expect(pagemapEntry(mm, Number((a + 3n * PG) / PG), false)).toBe((1n << 62n) | (1n << 58n));
    const v = mm.vmaAt(a)!;
    expect(v.start).toBe(Number(a / PG));
    expect(v.end).toBe(Number((a + 8n * PG) / PG));
    expect(v.flags & VM_MAYBE_GUARD).toBe(VM_MAYBE_GUARD);
    expect(vmFlagsText(v.flags)).toContain(' gu ');
    // installing again over markers and pages is the same
    expect(mm.madvise(a + PG, 3n * PG, MADV_GUARD_INSTALL)).toBe(0);
    expect(mm.residentPages()).toBe(5);
    expect(mm.madvise(a, 8n * PG, MADV_DONTNEED)).toBe(0);
    expect(mm.tablePages()).toBe(1);
    expect(read1(mm, a + 3n * PG)).toBe(-EFAULT);
    expect(mm.madvise(a, 8n * PG, MADV_POPULATE_READ)).toBe(-EFAULT);
    expect(mm.madvise(a + PG, 3n * PG, MADV_GUARD_REMOVE)).toBe(0);
    expect(read1(mm, a + 2n * PG)).toBe(0);
    expect(pagemapEntry(mm, Number((a + 3n * PG) / PG), true)).toBe(0n);
    expect(mm.vmaAt(a)!.flags & VM_MAYBE_GUARD).toBe(VM_MAYBE_GUARD);
  });

  it('refuses a locked VMA but removes its markers; mlock meets a marker (ENOMEM)', () => {
    const { mm, owner } = setup();
    expect(mm.mmap(BASE, 4n * PG, RW, PA | MAP_FIXED | MAP_LOCKED)).toBe(BASE);
    expect(mm.madvise(BASE, PG, MADV_GUARD_INSTALL)).toBe(-EINVAL);
    expect(mm.mmap(BASE + 16n * PG, 4n * PG, RW, PA | MAP_FIXED)).toBe(BASE + 16n * PG);
    expect(mm.madvise(BASE + 17n * PG, PG, MADV_GUARD_INSTALL)).toBe(0);
    expect(mm.mlock(BASE + 16n * PG, 4n * PG, false, owner)).toBe(-ENOMEM);
    expect(mm.madvise(BASE + 17n * PG, PG, MADV_GUARD_REMOVE)).toBe(0);
    expect(mm.mlock(BASE + 16n * PG, 4n * PG, false, owner)).toBe(0);
  });

  it('munmap drops the markers and frees their table; a new mapping there faults in', () => {
    const { phys, mm } = setup();
    const a = filled(mm, 4n);
    expect(mm.madvise(a, 4n * PG, MADV_GUARD_INSTALL)).toBe(0);
    expect(mm.residentPages()).toBe(0);
    expect(mm.tablePages()).toBe(1);
    expect(mm.munmap(a, 4n * PG)).toBe(0);
    expect(mm.tablePages()).toBe(0);
    expect(phys.tablePages()).toBe(0);
    expect(mm.mmap(a, 4n * PG, RW, PA | MAP_FIXED)).toBe(a);
    expect(read1(mm, a)).toBe(0);
  });

  it('merges with a neighbour without the flag, which then has it (VMA_STICKY_FLAGS)', () => {
    const { mm } = setup();
    const a = filled(mm, 4n);
    expect(mm.madvise(a, PG, MADV_GUARD_INSTALL)).toBe(0);
    expect(mm.mmap(a + 4n * PG, 4n * PG, RW, PA | MAP_FIXED)).toBe(a + 4n * PG);
    const v = mm.vmaAt(a + 5n * PG)!;
    expect(v.start).toBe(Number(a / PG));
    expect(v.end).toBe(Number((a + 8n * PG) / PG));
    expect(v.flags & VM_MAYBE_GUARD).toBe(VM_MAYBE_GUARD);
  });

  it('fork copies the markers (the child faults on them too); each side removes its own', () => {
    const { mm } = setup();
    const a = filled(mm, 4n);
    expect(mm.madvise(a + PG, PG, MADV_GUARD_INSTALL)).toBe(0);
    const child = mm.fork();
    if (typeof child === 'number') throw new Error(`fork ${child}`);
    expect(read1(child, a + PG)).toBe(-EFAULT);
    expect(read1(child, a)).toBe(7);
    expect(child.madvise(a + PG, PG, MADV_GUARD_REMOVE)).toBe(0);
    expect(read1(child, a + PG)).toBe(0);
    expect(read1(mm, a + PG)).toBe(-EFAULT);
    child.mmput();
  });

  it('mremap moves the markers with the entries, a whole table of them too', () => {
    const { mm } = setup();
    expect(mm.mmap(BASE, M2, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(mm.writeUser(BASE, new Uint8Array(Number(PG)).fill(1))).toBe(0);
    expect(mm.madvise(BASE + PG, M2 - PG, MADV_GUARD_INSTALL)).toBe(0);
    const to = BASE + 8n * M2;
    expect(mm.mremap(BASE, M2, M2, MREMAP_MAYMOVE | MREMAP_FIXED, to)).toBe(to);
    expect(read1(mm, to)).toBe(1);
    expect(read1(mm, to + PG)).toBe(-EFAULT);
    expect(read1(mm, to + M2 - PG)).toBe(-EFAULT);
    // a move by less than a table: entry by entry
    const to2 = to + 3n * M2 + 5n * PG;
    expect(mm.mremap(to, M2, M2, MREMAP_MAYMOVE | MREMAP_FIXED, to2)).toBe(to2);
    expect(read1(mm, to2)).toBe(1);
    expect(read1(mm, to2 + 7n * PG)).toBe(-EFAULT);
    expect(mm.tablePages()).toBe(2);
  });

  it('MADV_COLLAPSE of a block holding a marker is EINVAL (and takes no memory); without it the block collapses', () => {
    const { phys, mm } = setup();
    expect(mm.mmap(BASE, M2, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(mm.madvise(BASE, M2, MADV_HUGEPAGE)).toBe(0);
    expect(mm.writeUser(BASE, new Uint8Array(Number(M2)).fill(3))).toBe(0);
    expect(mm.isPmdMapped(Number(BASE / PG))).toBe(true);
    expect(mm.madvise(BASE + PG, PG, MADV_GUARD_INSTALL)).toBe(0);
    expect(mm.isPmdMapped(Number(BASE / PG))).toBe(false);
    expect(read1(mm, BASE + 2n * PG)).toBe(3);
    const inUse = phys.framesInUse();
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(-EINVAL);
    expect(phys.framesInUse()).toBe(inUse);
    expect(mm.madvise(BASE + PG, PG, MADV_GUARD_REMOVE)).toBe(0);
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(0);
    expect(mm.isPmdMapped(Number(BASE / PG))).toBe(true);
    expect(read1(mm, BASE + PG)).toBe(0);
    expect(read1(mm, BASE + 2n * PG)).toBe(3);
  });
});
