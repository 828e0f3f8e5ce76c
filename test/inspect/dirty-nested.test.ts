// SPDX-License-Identifier: GPL-2.0-only
// The snapshot of HWPTs made with IOMMU_HWPT_ALLOC: the dirty bits of a
// dirty-tracking domain (read without clearing them), a nest parent and a
// nested HWPT with the links between the objects.
import { describe, expect, it } from 'vitest';
import { IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR } from '../../src/iommufd/uapi.js';
import * as U from '../../src/iommufd/uapi.js';
import { diffSnapshots } from '../../src/inspect/diff.js';
import { Inspector } from '../../src/inspect/snapshot.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { MOCK_APERTURE_START, PAGE_SIZE, world } from '../client/harness.js';

const A = Number(MOCK_APERTURE_START);

describe('dirty tracking and nesting in the snapshot', () => {
  // 6.12's xarray mock has 2 KiB IOPTEs. 7.2's AMDv1 mock maps each 4 KiB page as a contiguous
  // pair of 2 KiB items, and its read_and_clear_dirty (record_dirty) reports a dirty pair from its
  // first item up to, not through, the pair's last one: 2 KiB of each dirty page.
  for (const profile of ['v6.12', 'latest'] as const) {
  it(`dirty IOPTEs show as dirty runs, and taking the snapshot clears nothing (${profile})`, () => {
    const w = world({ memory: '256M', profile });
    const c = w.c;
    const ioas = c.ioasAlloc();
    // As 7.2's dirty fixture: PAGE_SIZE IOPTEs
    c.option({ optionId: U.IOMMU_OPTION_HUGE_PAGES, op: U.IOMMU_OPTION_OP_SET, objectId: ioas, val64: 0 });
    const len = 16 * PAGE_SIZE;
    c.ioasMap({ ioas, userVa: w.buffer, length: len, iova: MOCK_APERTURE_START });
    const dev = c.mockDomain(ioas);
    const hwpt = c.hwptAlloc({ devId: dev.idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
    const insp = new Inspector(w.machine);
    const clean = insp.snapshot();
    const d0 = clean.domains.find((d) => d.hwpt === hwpt)!;
    expect(d0).toMatchObject({ dirtyOps: true, nestParent: false, autoDomain: false, mappedBytes: len });
    expect(d0.runs.every((r) => !r.dirty)).toBe(true);
    expect(clean.domains.find((d) => d.hwpt === dev.hwptId)!.dirtyOps).toBe(false);
    c.setDirtyTracking(hwpt, true);
    // Mark the 2 KiB IOPTEs 4..7 (IOVA pages 2 and 3) dirty through the test op.
    const bitmap = w.proc.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(w.proc.writeMemory(bitmap, Uint8Array.of(0xf0, 0, 0, 0))).toBe(0);
    expect(c.mockDomainSetDirty(hwpt, MOCK_APERTURE_START, len, 2048, bitmap)).toBe(4n);
    const s = insp.snapshot();
    const dirty = s.domains.find((d) => d.hwpt === hwpt)!.runs.filter((r) => r.dirty);
    if (profile === 'v6.12') {
      // IOVA [8K, 16K) exactly (two runs when the two pages are not physically contiguous).
      expect(dirty[0].iova - A).toBe(8192);
      for (let i = 1; i < dirty.length; i++) expect(dirty[i].iova).toBe(dirty[i - 1].iova + dirty[i - 1].length);
      expect(dirty.reduce((n, r) => n + r.length, 0)).toBe(8192);
      expect(diffSnapshots(clean, s).domains.changed).toEqual([{ ctx: 0, hwpt, iova: [{ first: A + 8192, last: A + 16383 }], mappedBytes: [len, len] }]);
    } else {
      // IOVA [8K, 10K) and [12K, 14K)
      expect(dirty.map((r) => [r.iova - A, r.length])).toEqual([
        [8192, 2048],
        [12288, 2048],
      ]);
      expect(diffSnapshots(clean, s).domains.changed).toEqual([
        {
          ctx: 0,
          hwpt,
          iova: [
            { first: A + 8192, last: A + 10239 },
            { first: A + 12288, last: A + 14335 },
          ],
          mappedBytes: [len, len],
        },
      ]);
    }
    // The snapshot read the bits with NO_CLEAR: the kernel's bitmap read still finds them.
    expect(insp.snapshot().domains.find((d) => d.hwpt === hwpt)!.runs.filter((r) => r.dirty)).toEqual(dirty);
    expect(w.proc.writeMemory(bitmap, new Uint8Array(8))).toBe(0);
    c.getDirtyBitmap({ hwptId: hwpt, iova: MOCK_APERTURE_START, length: len, pageSize: 2048, data: bitmap, flags: IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR });
    const got = new Uint8Array(1);
    expect(w.proc.readMemory(bitmap, got)).toBe(0);
    expect(got[0]).toBe(profile === 'v6.12' ? 0xf0 : 0x50);
  });
  }

  it('a nested HWPT links to its parent and its IOAS', () => {
    const w = world({ memory: '256M' });
    const c = w.c;
    const ioas = c.ioasAlloc();
    const dev = c.mockDomain(ioas);
    const parent = c.hwptAlloc({ devId: dev.idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const nested = c.hwptAllocNested(dev.idevId, parent, 0);
    const s = new Inspector(w.machine).snapshot();
    expect(s.objects.find((o) => o.id === nested)).toMatchObject({ type: 'HWPT_NESTED', links: { parent, ioas } });
    expect(s.objects.find((o) => o.id === parent)).toMatchObject({ type: 'HWPT_PAGING', links: { ioas } });
    expect(s.domains.find((d) => d.hwpt === parent)).toMatchObject({ nestParent: true, ioas });
    // Only paging HWPTs hold IO page tables.
    expect(s.domains.map((d) => d.hwpt).sort()).toEqual([dev.hwptId, parent].sort());
  });
});
