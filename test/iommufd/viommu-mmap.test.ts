// SPDX-License-Identifier: GPL-2.0-only
// The vIOMMU's mmap regions as the machine layer's mmap of the iommufd file uses them
// (iommufd_fops_mmap / iommufd_fops_vma_close): lookup by file offset, a users reference on the
// owner per VMA (its destroy is EBUSY while mapped), and the audit counting those references.
import { describe, expect, it } from 'vitest';
import { EBUSY } from '../../src/base/errno.js';
import * as U from '../../src/iommufd/uapi.js';
import { mmapRegionGet, mmapRegionLookup, mmapRegionPut, mmapRegions } from '../../src/iommufd/viommu.js';
import { auditEachWorld, ctxOf, world } from '../client/harness.js';

const audited = auditEachWorld();

describe('vIOMMU mmap regions', () => {
  it('lookup by offset, a reference per VMA, destroy EBUSY while mapped, audit clean throughout', () => {
    const w = world({ profile: 'latest' });
    audited.current = w;
    const c = w.c;
    const ioas = c.ioasAlloc();
    const { stdevId, idevId } = c.mockDomain(ioas);
    const hwpt = c.hwptAlloc({ devId: idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const v = c.viommuAllocRaw({ devId: idevId, hwptId: hwpt, inData: 5 });
    expect(v.rc).toBe(0);
    const ctx = ctxOf(w);
    const off = v.mmapOffset!;
    expect(off).toBe(4096n);
    const r = mmapRegionLookup(ctx, off + 4095n)!;
    expect(r.offset).toBe(4096);
    expect(r.length).toBe(Number(v.mmapLength));
    expect(mmapRegionLookup(ctx, 0n)).toBeUndefined();
    expect(mmapRegionLookup(ctx, off + BigInt(r.length))).toBeUndefined();
    mmapRegionGet(ctx, r);
    mmapRegionGet(ctx, r);
    expect(ctx.audit()).toBe(0);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: v.viommuId }).rc).toBe(-EBUSY);
    mmapRegionPut(ctx, r);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: v.viommuId }).rc).toBe(-EBUSY);
    mmapRegionPut(ctx, r);
    expect(ctx.audit()).toBe(0);
    c.destroy(v.viommuId);
    expect(mmapRegions(ctx)).toEqual([]);
    c.destroy(hwpt);
    c.destroy(stdevId);
  });
});
