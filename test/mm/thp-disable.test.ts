// SPDX-License-Identifier: GPL-2.0-only
/**
 * prctl(PR_SET_THP_DISABLE) (kernel/sys.c prctl_set_thp_disable()) and what
 * vma_thp_disabled() makes of it: no THP at a fault whatever the sysfs mode,
 * MADV_COLLAPSE refused; 7.x's PR_THP_DISABLE_EXCEPT_ADVISED leaves THPs where
 * MADV_HUGEPAGE asks and lets MADV_COLLAPSE force one; inherited by fork.
 * Kernel-checked by test/oracle/handwritten/prctl-thp-disable.yaml and
 * test/bridge/progs/thp.c on 6.12.95 and 7.2.13.
 */
import { describe, expect, it } from 'vitest';
import { EINVAL } from '../../src/base/errno.js';
import { MmStruct, THP_DISABLE_ALL, THP_DISABLE_EXCEPT_ADVISED } from '../../src/mm/address-space.js';
import { MADV_COLLAPSE, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { PhysicalMemory } from '../../src/mm/physical-memory.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const M2 = 2n << 20n;
const BASE = 0x40000000n;

function setup(is72: boolean) {
  const phys = new PhysicalMemory(64n << 20n, { seed: 3 });
  const mm = new MmStruct(phys, { thp: 'always', thpDisableExceptAdvised: is72, collapseAnyPte: is72 });
  /** A fresh 2 MiB-aligned anonymous block (MADV_HUGEPAGE on it when `advise`), written at its start: its folio order. */
  let next = BASE;
  const block = (advise: boolean): number => {
    const va = next;
    next += 2n * M2;
    expect(mm.mmap(va, M2, RW, PA | MAP_FIXED)).toBe(va);
    if (advise) expect(mm.madvise(va, M2, MADV_HUGEPAGE)).toBe(0);
    expect(mm.writeUser(va, new Uint8Array([1]))).toBe(0);
    return phys.folioOrder(mm.lookupPfn(va));
  };
  return { mm, block };
}

describe.each([
  ['6.12', false],
  ['7.2', true],
])('PR_SET_THP_DISABLE as %s', (_k, is72) => {
  it('no THP at a fault, MADV_HUGEPAGE or not, and no forced collapse; back on with 0', () => {
    const { mm, block } = setup(is72);
    expect(block(false)).toBe(9);
    expect(mm.getThpDisable(0n, 0n, 0n, 0n)).toBe(0);
    expect(mm.setThpDisable(1n, 0n, 0n, 0n)).toBe(0);
    expect(mm.getThpDisable(0n, 0n, 0n, 0n)).toBe(THP_DISABLE_ALL);
    expect(block(false)).toBe(0);
    expect(block(true)).toBe(0);
    // a block of small pages: MADV_COLLAPSE is refused for the VMA, not tried
    const va = BASE + 8n * M2;
    expect(mm.mmap(va, M2, RW, PA | MAP_FIXED)).toBe(va);
    expect(mm.writeUser(va, new Uint8Array([1]))).toBe(0);
    expect(mm.madvise(va, M2, MADV_COLLAPSE)).toBe(-EINVAL);
    expect(mm.setThpDisable(0n, 0n, 0n, 0n)).toBe(0);
    expect(mm.madvise(va, M2, MADV_COLLAPSE)).toBe(0);
    expect(block(false)).toBe(9);
  });

  it('the arguments: every one but disable and (7.x) the flag must be 0; a refused SET changes nothing', () => {
    const { mm } = setup(is72);
    expect(mm.setThpDisable(1n, 0n, 1n, 0n)).toBe(-EINVAL);
    expect(mm.setThpDisable(1n, 0n, 0n, 1n)).toBe(-EINVAL);
    expect(mm.setThpDisable(1n, 4n, 0n, 0n)).toBe(-EINVAL);
    expect(mm.setThpDisable(0n, 2n, 0n, 0n)).toBe(-EINVAL);
    expect(mm.thpDisable).toBe(0);
    expect(mm.getThpDisable(1n, 0n, 0n, 0n)).toBe(-EINVAL);
    expect(mm.getThpDisable(0n, 0n, 0n, 1n)).toBe(-EINVAL);
    // any nonzero disable is "on"
    expect(mm.setThpDisable(7n, 0n, 0n, 0n)).toBe(0);
    expect(mm.getThpDisable(0n, 0n, 0n, 0n)).toBe(THP_DISABLE_ALL);
    expect(mm.setThpDisable(1n, 2n, 0n, 0n)).toBe(is72 ? 0 : -EINVAL);
    expect(mm.getThpDisable(0n, 0n, 0n, 0n)).toBe(is72 ? THP_DISABLE_EXCEPT_ADVISED : THP_DISABLE_ALL);
  });

  it('a forked child inherits it and changes its own alone', () => {
    const { mm } = setup(is72);
    expect(mm.setThpDisable(1n, 0n, 0n, 0n)).toBe(0);
    const child = mm.fork();
    if (typeof child === 'number') throw new Error(`fork: ${child}`);
    expect(child.getThpDisable(0n, 0n, 0n, 0n)).toBe(THP_DISABLE_ALL);
    expect(child.setThpDisable(0n, 0n, 0n, 0n)).toBe(0);
    expect(mm.getThpDisable(0n, 0n, 0n, 0n)).toBe(THP_DISABLE_ALL);
    child.mmput();
  });
});

describe('PR_THP_DISABLE_EXCEPT_ADVISED (7.x)', () => {
  it('THPs only where MADV_HUGEPAGE asks; MADV_COLLAPSE forces one anyway', () => {
    const { mm, block } = setup(true);
    expect(mm.setThpDisable(1n, 2n, 0n, 0n)).toBe(0);
    expect(block(false)).toBe(0);
    expect(block(true)).toBe(9);
    const va = BASE + 8n * M2;
    expect(mm.mmap(va, M2, RW, PA | MAP_FIXED)).toBe(va);
    expect(mm.writeUser(va, new Uint8Array([1]))).toBe(0);
    expect(mm.madvise(va, M2, MADV_COLLAPSE)).toBe(0);
  });
});
