// SPDX-License-Identifier: GPL-2.0-only
/**
 * VMA merges and anon_vmas (mm/vma.c is_mergeable_anon_vma(),
 * vma_is_fork_child(), reusable_anon_vma()): a fork child's VMA, whose
 * anon_vma chain holds its parent's too, merges with no neighbour that has no
 * anon_vma and lends its anon_vma to none; 6.12 also merges no changed VMA
 * with an anon_vma into a neighbour without one, where 7.x does. Kernel-checked
 * by test/oracle/handwritten/anon-vma-fork-merge.yaml on 6.12.95 and 7.2.13.
 */
import { describe, expect, it } from 'vitest';
import { MmStruct } from '../../src/mm/address-space.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { PhysicalMemory } from '../../src/mm/physical-memory.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const PG = 4096n;
const A = 0x100000010000n;

function mmOf(anonMergeSrcWithout: boolean): MmStruct {
  return new MmStruct(new PhysicalMemory(64n << 20n, { seed: 9 }), { anonMergeSrcWithout });
}

/** The VMAs' page ranges, as [start, end) addresses. */
const spans = (mm: MmStruct): Array<[bigint, bigint]> => mm.vmas.map((v) => [v.startAddr, v.endAddr]);

/** A written 4-page mapping at A (so it has an anon_vma), and a fork child of its address space. */
function writtenThenForked(anonMergeSrcWithout: boolean): { mm: MmStruct; child: MmStruct } {
  const mm = mmOf(anonMergeSrcWithout);
  expect(mm.mmap(A, 4n * PG, RW, PA)).toBe(A);
  expect(mm.writeUser(A, new Uint8Array([1]))).toBe(0);
  const child = mm.fork();
  if (typeof child === 'number') throw new Error(`fork ${child}`);
  return { mm, child };
}

describe.each([
  ['7.x', true],
  ['6.12', false],
])('anon_vma merges on %s', (_k, srcWithout) => {
  it("keeps a fork child's VMA apart from a mapping made beside it, before and after that one's first write", () => {
    const { mm, child } = writtenThenForked(srcWithout);
    expect(child.mmap(A - 4n * PG, 4n * PG, RW, PA)).toBe(A - 4n * PG);
    expect(spans(child)).toEqual([
      [A - 4n * PG, A],
      [A, A + 4n * PG],
    ]);
    // its first write takes an anon_vma of its own (the fork child's is not reusable): still two
    expect(child.writeUser(A - PG, new Uint8Array([2]))).toBe(0);
    expect(child.vmas[0].anonVma).not.toBe(child.vmas[1].anonVma);
    expect(child.vmas[1].forkChild).toBe(true);
    expect(child.vmas[0].forkChild).toBe(false);
    // in the parent the same mapping merges, and shares the anon_vma
    expect(mm.mmap(A - 4n * PG, 4n * PG, RW, PA)).toBe(A - 4n * PG);
    expect(spans(mm)).toEqual([[A - 4n * PG, A + 4n * PG]]);
    child.mmput();
  });

  it('a split of a fork child keeps its chain: the halves merge back with each other, not with a new neighbour', () => {
    const { child } = writtenThenForked(srcWithout);
    expect(child.mprotect(A + 2n * PG, 2n * PG, PROT_READ)).toBe(0);
    expect(child.vmas.map((v) => v.forkChild)).toEqual([true, true]);
    expect(child.mprotect(A + 2n * PG, 2n * PG, RW)).toBe(0);
    expect(spans(child)).toEqual([[A, A + 4n * PG]]);
    expect(child.mmap(A + 4n * PG, 4n * PG, RW, PA)).toBe(A + 4n * PG);
    expect(child.vmas.length).toBe(2);
    child.mmput();
  });

  it(`${srcWithout ? 'merges' : 'does not merge'} a changed VMA with an anon_vma into a neighbour without one`, () => {
    const mm = mmOf(srcWithout);
    const q = A + 4n * PG;
    expect(mm.mmap(q, 4n * PG, RW, PA)).toBe(q);
    expect(mm.writeUser(q, new Uint8Array([3]))).toBe(0);
    expect(mm.mprotect(q, 4n * PG, PROT_READ)).toBe(0);
    expect(mm.mmap(A, 4n * PG, RW, PA)).toBe(A);
    expect(mm.vmas.length).toBe(2);
    expect(mm.mprotect(q, 4n * PG, RW)).toBe(0);
    expect(mm.vmas.length).toBe(srcWithout ? 1 : 2);
    // a new mapping beside one with an anon_vma merges on both (it takes that one's)
    const r = A + 64n * PG;
    expect(mm.mmap(r, 4n * PG, RW, PA)).toBe(r);
    expect(mm.writeUser(r, new Uint8Array([4]))).toBe(0);
    expect(mm.mmap(r - 4n * PG, 4n * PG, RW, PA)).toBe(r - 4n * PG);
    expect(spans(mm).at(-1)).toEqual([r - 4n * PG, r + 4n * PG]);
  });
});
