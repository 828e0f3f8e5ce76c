// SPDX-License-Identifier: GPL-2.0-only
/**
 * The 7.2 AMDv1 mock under the unfill cut of a one-entry pfn batch (issue 16,
 * test/regressions/amdv1-copy-cut-under-memory-limit.yaml): a 4 MiB area over
 * two THP folios, a copy holding indexes 0x1ff-0x201 across the folio
 * boundary, the temp memory limit at 12 bytes, the last domain removed.
 *
 * Whether __iopt_area_unfill_domain() cuts a leaf depends only on where the
 * folios sit. Adjacent (what the guest of the 7.2.13 oracle had for the
 * campaign's program: one PFN run 0-0x3ff in /proc/self/pagemap) the domain
 * holds one 4 MiB leaf and the first hole reads and unmaps it whole: silent.
 * Apart (a spacer folio in between, the regression program) the domain holds
 * two 2 MiB leaves; the used span's batch_skip_carry() leaves the empty entry
 * in the full batch, the next hole unmaps [0x200, 0x201] at the start of B's
 * leaf, the generic_pt unmap removes all 2 MiB (iommu_pt.h __unmap_range()),
 * iommu_unmap_nofail() WARNs (pages.c), and B's remaining pages read as holes
 * (PFN 0) and stay pinned: 511 WARNs, as 7.2.13 printed.
 */
import { describe, expect, it } from 'vitest';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../../src/iommu/domain.js';
import { MockAmdv1Domain } from '../../src/iommu/mock-domain.js';
import { pageTableWalk } from '../../src/inspect/page-table.js';
import { MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { coreFixture } from '../iommufd/fixture.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const RW = IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE;
const IOVA = 0x1000000;
const COPY_IOVA = 0x1400000;
const BUF = 0x7f0000000000n;
const SPACER = 0x40000000n;

/** The campaign program's state before exit, with folio B faulted right after A or after a spacer folio. */
function setup(spacer: boolean) {
  const f = coreFixture({ layout: 'linear' });
  const p = f.proc;
  const thp = (va: bigint, len: bigint) => {
    expect(p.mmap(va, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)).toBe(va);
    expect(p.madvise(va, len, MADV_HUGEPAGE)).toBe(0);
  };
  const one = new Uint8Array([1]);
  thp(BUF, 4n * BigInt(MiB));
  expect(p.writeMemory(BUF, one)).toBe(0);
  if (spacer) {
    thp(SPACER, 2n * BigInt(MiB));
    expect(p.writeMemory(SPACER, one)).toBe(0);
  }
  expect(p.writeMemory(BUF + 2n * BigInt(MiB), one)).toBe(0);
  const a = f.pfnOf(BUF);
  const b = f.pfnOf(BUF + 2n * BigInt(MiB));
  const dom = new MockAmdv1Domain({ warn: f.machine.warn, faults: f.machine.faults });
  const iopt = f.newIopt();
  expect(iopt.addDomain(dom)).toBe(0);
  expect(iopt.mapUserPages(false, { value: BigInt(IOVA) }, BUF, 4n * BigInt(MiB), RW, 0)).toBe(0);
  const list: Parameters<typeof iopt.getPages>[2] = [];
  expect(iopt.getPages(BigInt(IOVA + 0x1ff000), 0x3000n, list)).toBe(0);
  expect(iopt.mapPages(list, 0x3000n, { value: BigInt(COPY_IOVA) }, RW, 0)).toBe(0);
  iopt.freePagesList(list);
  f.env.tempMemoryLimit = 12;
  return { f, dom, iopt, a, b };
}

const leafView = (dom: MockAmdv1Domain) => pageTableWalk(dom)!.leaves.map((l) => [l.level, l.iova, l.size, l.pfn, l.items]);

describe('AMDv1 mock: the unfill cut of a one-entry batch over two THP folios', () => {
  it('adjacent folios: one 4 MiB leaf (4 level-1 items), unmapped whole by the first hole; no WARN, nothing left pinned', () => {
    const { f, dom, iopt, a, b } = setup(false);
    expect(b).toBe(a + 512);
    expect(leafView(dom)).toEqual([
      [1, IOVA, 4 * MiB, a, 4],
      [0, COPY_IOVA, 4 * KiB, a + 0x1ff, 2],
      [0, COPY_IOVA + 0x1000, 4 * KiB, b, 2],
      [0, COPY_IOVA + 0x2000, 4 * KiB, b + 1, 2],
    ]);
    expect(f.pincount(a + 0x1ff)).toBe(1);
    const unmapsBefore = dom.unmapCalls;
    iopt.removeDomain(dom);
    expect(f.machine.warn.warnings).toEqual([]);
    // the 4 MiB area in one unmap; the copy's three 4 KiB leaves are one PFN run too: one unmap
    expect(dom.unmapCalls - unmapsBefore).toBe(2);
    expect(leafView(dom)).toEqual([]);
    for (let i = 0; i < 1024; i++) expect(f.pincount(a + i)).toBe(0);
    expect(f.audit()).toBe(0);
  });

  it('folios apart: two 2 MiB leaves; the cut [0x200, 0x201] removes all of B, 511 iommu_unmap_nofail WARNs, B 0x202-0x3ff stay pinned', () => {
    const { f, dom, iopt, a, b } = setup(true);
    expect(b).not.toBe(a + 512);
    expect(leafView(dom)).toEqual([
      [1, IOVA, 2 * MiB, a, 2],
      [1, IOVA + 2 * MiB, 2 * MiB, b, 2],
      [0, COPY_IOVA, 4 * KiB, a + 0x1ff, 2],
      [0, COPY_IOVA + 0x1000, 4 * KiB, b, 2],
      [0, COPY_IOVA + 0x2000, 4 * KiB, b + 1, 2],
    ]);
    f.machine.warn.panicOnWarn = false;
    iopt.removeDomain(dom);
    const w = f.machine.warn.warnings;
    const nofail = w.filter((x) => x.assertion === 'iommu_unmap_nofail');
    expect(nofail.length).toBe(511);
    expect(nofail[0].message).toBe('unmapped 2097152 of 8192 at 0x1200000');
    expect(nofail[1].message).toBe('unmapped 0 of 4096 at 0x1202000');
    expect(nofail[510].message).toBe('unmapped 0 of 4096 at 0x13ff000');
    // the holes hand PFN 0 to the unpin (a model-only assertion; the kernel drops page 0's refcount silently)
    expect(w.filter((x) => x.assertion === 'unpin_user_page.underflow').length).toBe(510);
    expect(w.length).toBe(1021);
    expect(leafView(dom)).toEqual([]);
    for (let i = 0; i < 512; i++) expect(f.pincount(a + i)).toBe(0);
    expect([f.pincount(b), f.pincount(b + 1)]).toEqual([0, 0]);
    for (let i = 2; i < 512; i++) expect(f.pincount(b + i)).toBe(1);
  });
});
