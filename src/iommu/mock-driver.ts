// SPDX-License-Identifier: GPL-2.0-only
/**
 * The selftest mock IOMMU driver (selftest.c mock_ops, the xarray era up to
 * 6.18) behind the IommuOps seam:
 *
 * - hw_info: struct iommu_test_hw_info {u32 flags; u32 test_reg} with
 *   test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL, type IOMMU_HW_INFO_TYPE_SELFTEST.
 * - capable: cache coherency always, dirty tracking unless the device has
 *   MOCK_FLAGS_DEVICE_NO_DIRTY.
 * - domain_alloc_user without a parent: a MockDomain (1 MiB pages added for a
 *   HUGE_IOVA device), with dirty ops when asked for DIRTY_TRACKING; flags
 *   other than NEST_PARENT | DIRTY_TRACKING, any user data, or dirty tracking
 *   for a NO_DIRTY device: -EOPNOTSUPP.
 * - domain_alloc_user with a parent: a nested domain from struct
 *   iommu_hwpt_selftest {u32 iotlb}, every one of its four IOTLB entries set
 *   to `iotlb`; the data type must be IOMMU_HWPT_DATA_SELFTEST and flags 0
 *   (-EOPNOTSUPP), the parent a mock paging domain (-EINVAL).
 * - the nested domain's cache_invalidate_user takes an array of
 *   struct iommu_hwpt_invalidate_selftest {u32 flags; u32 iotlb_id}.
 * - IOPF: the mock's IOPF queue exists (the oracle kernel has
 *   CONFIG_IOMMU_IOPF), so enabling IOPF on a mock device succeeds.
 */
import { EINVAL, ENOMEM, EOPNOTSUPP } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import type { DomainContext, IommuDomain } from './domain.js';
import {
  type AnyDomain,
  HWPT_ALLOC_DIRTY_TRACKING,
  HWPT_ALLOC_NEST_PARENT,
  HWPT_ALLOC_PASID,
  type HwInfo,
  type IommuCap,
  type IommuDev,
  type IommuOps,
  type IommuUserDataArray,
  NestedDomain,
  copyStructFromUserArray,
  copyStructFromUserData,
} from './driver.js';
import { MOCK_DEV_HUGE_IOVA, MOCK_DEV_NO_DIRTY, MOCK_DEV_PASID, MockDomain, createMockDomain } from './mock-domain.js';

/** kzalloc of struct mock_iommu_domain in mock_domain_alloc_paging. */
export const FP_MOCK_DOMAIN_ALLOC = faultPoint('kzalloc.mock_iommu_domain', 'slab');
/** kzalloc of struct mock_iommu_domain_nested. */
export const FP_MOCK_NESTED_ALLOC = faultPoint('kzalloc.mock_iommu_domain_nested', 'slab');
/** kzalloc of struct iommu_test_hw_info in mock_domain_hw_info. */
export const FP_MOCK_HW_INFO_ALLOC = faultPoint('kzalloc.iommu_test_hw_info', 'slab');

/** IOMMU_HW_INFO_TYPE_SELFTEST and its register value (iommufd_test.h). */
export const MOCK_HW_INFO_TYPE = 0xfeedbeef;
export const MOCK_HW_INFO_REGVAL = 0xdeadbeef;
/** IOMMU_HWPT_DATA_SELFTEST */
export const MOCK_HWPT_DATA_TYPE = 0xdead;
/** IOMMU_HWPT_INVALIDATE_DATA_SELFTEST */
export const MOCK_INVALIDATE_DATA_TYPE = 0xdeadbeef;
/** IOMMU_TEST_INVALIDATE_FLAG_ALL */
export const MOCK_INVALIDATE_FLAG_ALL = 1 << 0;
export const MOCK_NESTED_IOTLB_NUM = 4;
export const MOCK_NESTED_IOTLB_ID_MAX = 3;
/** MOCK_PASID_WIDTH: log2 of a PASID-capable mock device's max_pasids. */
export const MOCK_PASID_WIDTH = 20;

/** sizeof(struct iommu_test_hw_info) */
const SIZEOF_TEST_HW_INFO = 8;
/** offsetofend(iotlb) of struct iommu_hwpt_selftest (its size is an era option) */
const MIN_HWPT_SELFTEST = 4;
/** sizeof / offsetofend(iotlb_id) of struct iommu_hwpt_invalidate_selftest */
const SIZEOF_INV_SELFTEST = 8;

function u32(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

/** struct mock_iommu_domain_nested */
export class MockNestedDomain extends NestedDomain {
  readonly owner: IommuOps;
  /** The four mock IOTLB entries. */
  readonly iotlb = new Uint32Array(MOCK_NESTED_IOTLB_NUM);

  constructor(owner: IommuOps, parent: IommuDomain, iotlb: number) {
    super(parent);
    this.owner = owner;
    this.iotlb.fill(iotlb);
  }

  /** mock_domain_nop_attach(): a nested domain has no dirty ops, so it takes any device. */
  attachDev(_dev: IommuDev): number {
    return 0;
  }

  /** mock_domain_cache_invalidate_user() */
  cacheInvalidateUser(arr: IommuUserDataArray): number {
    let processed = 0;
    let rc = 0;
    if (arr.type !== MOCK_INVALIDATE_DATA_TYPE) rc = -EINVAL;
    else {
      const inv = new Uint8Array(SIZEOF_INV_SELFTEST);
      for (let i = 0; i < arr.entryNum; i++) {
        inv.fill(0);
        rc = copyStructFromUserArray(inv, arr, MOCK_INVALIDATE_DATA_TYPE, i, SIZEOF_INV_SELFTEST);
        if (rc) break;
        const flags = u32(inv, 0);
        const id = u32(inv, 4);
        if (flags & ~MOCK_INVALIDATE_FLAG_ALL) {
          rc = -EOPNOTSUPP;
          break;
        }
        if (id > MOCK_NESTED_IOTLB_ID_MAX) {
          rc = -EINVAL;
          break;
        }
        if (flags & MOCK_INVALIDATE_FLAG_ALL) this.iotlb.fill(0);
        else this.iotlb[id] = 0;
        processed++;
      }
    }
    arr.entryNum = processed;
    return rc;
  }
}


/** Options of the mock driver that differ between kernel eras. */
export interface MockOpsOptions {
  /** The v6.2-v6.6 mock WARNs on missing entries at unmap / iova_to_phys. */
  readonly warnMissingEntries: boolean;
  /** sizeof(struct iommu_hwpt_selftest): 4 ({iotlb}, 6.12) or 8 (+ pagetable_type, 7.2). */
  readonly hwptSelftestSize: number;
}

/** mock_ops for one kernel era. */
export function mockIommuOps(opts: MockOpsOptions): IommuOps {
  const ops: IommuOps = {
    name: 'mock',
    hwInfoType: MOCK_HW_INFO_TYPE,
    hwInfo(ctx: DomainContext, _dev: IommuDev): HwInfo | number {
      if (ctx.faults.shouldFail(FP_MOCK_HW_INFO_ALLOC)) return -ENOMEM;
      const data = new Uint8Array(SIZEOF_TEST_HW_INFO);
      new DataView(data.buffer).setUint32(4, MOCK_HW_INFO_REGVAL, true);
      return { data, type: MOCK_HW_INFO_TYPE };
    },
    capable(dev: IommuDev, cap: IommuCap): boolean {
      if (cap === 'CACHE_COHERENCY') return true;
      if (cap === 'DIRTY_TRACKING') return (dev.flags & MOCK_DEV_NO_DIRTY) === 0;
      return false;
    },
    domainAllocUser(ctx, dev, flags, parent, userData): AnyDomain | number {
      if (!parent) {
        const dirtyFlag = (flags & HWPT_ALLOC_DIRTY_TRACKING) !== 0;
        if (flags & ~(HWPT_ALLOC_NEST_PARENT | HWPT_ALLOC_DIRTY_TRACKING | HWPT_ALLOC_PASID)) return -EOPNOTSUPP;
        if (userData || (dirtyFlag && dev.flags & MOCK_DEV_NO_DIRTY)) return -EOPNOTSUPP;
        const d = createPaging(ctx, dev);
        if (!d) return -ENOMEM;
        if (dirtyFlag) d.dirtyOps = { setDirtyTracking: (e) => d.setDirtyTracking(e), readAndClearDirty: (i, s, f, b) => d.readAndClearDirty(i, s, f, b) };
        return d;
      }
      // 7.2's mock_domain_alloc_nested() takes IOMMU_HWPT_ALLOC_PASID (iommufd gates it by profile).
      if (!userData || userData.type !== MOCK_HWPT_DATA_TYPE || flags & ~HWPT_ALLOC_PASID) return -EOPNOTSUPP;
      if (!(parent instanceof MockDomain) || parent.owner !== ops) return -EINVAL;
      const cfg = new Uint8Array(opts.hwptSelftestSize);
      const rc = copyStructFromUserData(cfg, userData, MOCK_HWPT_DATA_TYPE, MIN_HWPT_SELFTEST);
      if (rc) return rc;
      if (ctx.faults.shouldFail(FP_MOCK_NESTED_ALLOC)) return -ENOMEM;
      return new MockNestedDomain(ops, parent, u32(cfg, 0));
    },
    maxPasids(dev: IommuDev): number {
      return dev.flags & MOCK_DEV_PASID ? 2 ** MOCK_PASID_WIDTH : 0;
    },
    enableIopf(_dev: IommuDev): number {
      return 0;
    },
    disableIopf(_dev: IommuDev): void {},
  };
  /** mock_domain_alloc_paging(): -ENOMEM at its kzalloc. */
  function createPaging(ctx: DomainContext, dev: IommuDev): MockDomain | undefined {
    if (ctx.faults.shouldFail(FP_MOCK_DOMAIN_ALLOC)) return undefined;
    const warn = opts.warnMissingEntries;
    return createMockDomain(ctx, { huge: (dev.flags & MOCK_DEV_HUGE_IOVA) !== 0, warnUnmapMissing: warn, warnIovaToPhysMissing: warn });
  }
  return ops;
}
