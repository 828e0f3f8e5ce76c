// SPDX-License-Identifier: GPL-2.0-only
/** The page-table walk inspect/ shows, over both selftest mocks. */
import { describe, expect, it } from 'vitest';
import { FaultRouter } from '../../src/base/fault.js';
import { WarnSink } from '../../src/base/warn.js';
import { IOMMU_READ, IOMMU_WRITE, MOCK_APERTURE_START } from '../../src/iommu/index.js';
import { MockAmdv1Domain, MockDomain } from '../../src/iommu/mock-domain.js';
import { formatPageTable, pageTableWalk } from '../../src/inspect/page-table.js';

const A = MOCK_APERTURE_START;
const P = 0x40000000;
const ctx = () => ({ warn: new WarnSink({ panicOnWarn: true }), faults: new FaultRouter() });

describe('page-table walk', () => {
  it('AMDv1: one leaf per PTE with its level, size, OA, PFN, items, bits; the table pages', () => {
    const d = new MockAmdv1Domain(ctx());
    expect(d.map(A, P, 2 * 1024 * 1024 + 4096, IOMMU_READ | IOMMU_WRITE)).toBe(0);
    expect(d.map(A + 0x400000, P + 0x800, 2048, IOMMU_READ)).toBe(0);
    expect(d.setDirty(A + 0x1000)).toBe(0);
    const w = pageTableWalk(d)!;
    expect(w.format).toBe('amdv1');
    expect(w.pgsizes[0]).toBe(2048);
    expect(w.pgsizes.at(-1)).toBe(2 ** 36);
    expect(w.leaves.map((l) => [l.level, l.iova - A, l.size, l.oa, l.pfn, l.items, l.read, l.write, l.dirty])).toEqual([
      [1, 0, 0x200000, P, P / 4096, 2, true, true, true],
      [0, 0x200000, 0x1000, P + 0x200000, P / 4096 + 0x200, 2, true, true, false],
      [0, 0x400000, 0x800, P + 0x800, P / 4096, 1, true, false, false],
    ]);
    // the dirty bit sits in the item it was set on (the first 1 MiB item of the 2 MiB leaf)
    expect(w.leaves[0].pte).toBe('0x60000000801ffe41');
    expect(w.leaves[2].pte).toBe('0x2000000080001001');
    expect(w.tables.map((t) => [t.level, t.present])).toEqual([
      [2, 1],
      [1, 4],
      [0, 2],
      [0, 1],
    ]);
    expect(w.mappedBytes).toBe(0x200000 + 0x1000 + 0x800);
    // a range picks the leaves overlapping it
    expect(pageTableWalk(d, A + 0x1ff000, A + 0x200000)!.leaves.length).toBe(2);
    const text = formatPageTable(w);
    expect(text[0]).toBe('amdv1: page sizes 2K 4K 8K 16K 32K 64K 128K 256K 512K 1M 2M 4M 8M 16M 32M 64M 128M 256M 512M 1G 2G 4G 8G 16G 32G 64G; 3 leaves, 2054K mapped; 4 table pages');
    expect(text).toContain('    L1 0x1000000 +2M -> 0x40000000 (pfn 0x40000) x2 rwd 0x60000000801ffe41');
  });

  it('xarray: one 2 KiB leaf per entry with its marks; no table pages', () => {
    const d = new MockDomain(ctx());
    expect(d.map(A, P, 8192, IOMMU_READ | IOMMU_WRITE)).toBe(0);
    const w = pageTableWalk(d, A, A + 0xffff)!;
    expect(w.format).toBe('xarray');
    expect(w.tables).toEqual([]);
    expect(w.leaves.map((l) => [l.iova - A, l.oa - P, l.pte])).toEqual([
      [0, 0, 'S'],
      [0x800, 0x800, ''],
      [0x1000, 0x1000, ''],
      [0x1800, 0x1800, 'L'],
    ]);
  });
});
