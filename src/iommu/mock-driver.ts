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
import { EEXIST, EFAULT, EINVAL, EIO, ENOENT, ENOMEM, EOPNOTSUPP } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import type { DomainContext, IommuDomain } from './domain.js';
import {
  type AnyDomain,
  HWPT_ALLOC_DIRTY_TRACKING,
  HWPT_ALLOC_NEST_PARENT,
  HWPT_ALLOC_PASID,
  type HwInfo,
  type HwQueueCore,
  type HwQueueDriver,
  type IommuCap,
  type IommuDev,
  type IommuOps,
  type IommuUserData,
  type IommuUserDataArray,
  NestedDomain,
  type ViommuCore,
  type ViommuDriver,
  copyStructFromUserArray,
  copyStructFromUserData,
  copyStructToUserData,
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
/** MOCK_IOMMUPT_DEFAULT / MOCK_IOMMUPT_HUGE: iommu_hwpt_selftest.pagetable_type (7.2). */
export const MOCK_IOMMUPT_DEFAULT = 0;
export const MOCK_IOMMUPT_HUGE = 1;
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
/** IOMMU_TEST_PASID_RESERVED: the PASID whose second set_dev_pasid the mock fails (-ENOMEM). */
export const MOCK_PASID_FAKE_ERROR = 1024;

/** mdev->pasid_1024_fake_error, kept by the driver per device. */
const pasidFakeError = new WeakMap<IommuDev, boolean>();

/**
 * mock_domain_set_dev_pasid_nop(): the first set_dev_pasid of PASID 1024 to
 * a non-blocking domain arms a fake failure, the next one fails with -ENOMEM
 * (so the core's rollback of a replace can be tested), and going to the
 * blocking domain disarms it. Other PASIDs always succeed.
 */
function mockSetDevPasid(dev: IommuDev, pasid: number, blocking: boolean): number {
  if (pasid !== MOCK_PASID_FAKE_ERROR) return 0;
  if (blocking) {
    pasidFakeError.set(dev, false);
    return 0;
  }
  if (pasidFakeError.get(dev)) {
    pasidFakeError.set(dev, false);
    return -ENOMEM;
  }
  pasidFakeError.set(dev, true);
  return 0;
}

/** The set_dev_pasid of every mock paging and nested domain. */
const mockDomainSetDevPasid = (dev: IommuDev, pasid: number): number => mockSetDevPasid(dev, pasid, false);

/** kzalloc of the command array in mock_viommu_cache_invalidate. */
export const FP_MOCK_VIOMMU_INV_ALLOC = faultPoint('kzalloc.mock_viommu_invalidate', 'slab');

/** IOMMU_HW_QUEUE_TYPE_SELFTEST and IOMMU_TEST_HW_QUEUE_MAX */
export const MOCK_HW_QUEUE_TYPE = 0xdeadbeef;
export const MOCK_HW_QUEUE_MAX = 2;

/** IOMMU_VIOMMU_TYPE_SELFTEST */
export const MOCK_VIOMMU_TYPE = 0xdeadbeef;
/** IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST */
export const MOCK_VIOMMU_INVALIDATE_DATA_TYPE = 0xdeadbeef;
/** MOCK_DEV_CACHE_NUM / MOCK_DEV_CACHE_ID_MAX: entries of a mock device's cache. */
export const MOCK_DEV_CACHE_NUM = 4;
export const MOCK_DEV_CACHE_ID_MAX = 3;
/** sizeof / offsetofend(out_data) of struct iommu_viommu_selftest */
const SIZEOF_VIOMMU_SELFTEST = 24;
const MIN_VIOMMU_SELFTEST = 8;
/** sizeof(struct iommu_viommu_invalidate_selftest) {flags, vdev_id, cache_id} */
const SIZEOF_VIOMMU_INV_SELFTEST = 12;
/** The mock vIOMMU's mmap region: two pages. */
const MOCK_VIOMMU_MMAP_LENGTH = 2 * 4096;

/** A mock device as the mock vIOMMU sees it: its cache entries (struct mock_dev cache[]). */
interface MockCacheDev extends IommuDev {
  readonly cache?: Uint32Array;
}

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

  /** mock_nested->mock_viommu: the vIOMMU it was allocated on, if any. */
  readonly viommu: ViommuCore | undefined;

  constructor(owner: IommuOps, parent: IommuDomain, iotlb: number, viommu?: ViommuCore) {
    super(parent);
    this.owner = owner;
    this.iotlb.fill(iotlb);
    this.viommu = viommu;
  }

  /**
   * mock_domain_nop_attach(): a nested domain has no dirty ops; on a vIOMMU
   * the device needs a vDEVICE there first (-ENOENT).
   */
  attachDev(dev: IommuDev): number {
    if (this.viommu && this.viommu.getVdevId(dev) === undefined) return -ENOENT;
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
  /** mock_domain_iova_to_phys() WARNs on a missing entry (the xarray mock up to 6.18, after its unmap stopped). */
  readonly warnIovaToPhysMissing: boolean;
  /** sizeof(struct iommu_hwpt_selftest): 4 ({iotlb}, 6.12) or 8 (+ pagetable_type, 7.2). */
  readonly hwptSelftestSize: number;
  /**
   * mock_dev_create() gives every device a "pasid-num-bits" property (0
   * without MOCK_FLAGS_DEVICE_PASID): the core then sets max_pasids to
   * 1 << bits, so a device without PASID has max_pasids 1, not 0 (7.x; the
   * 6.12 mock sets no property: 0).
   */
  readonly pasidNumBitsProperty?: boolean;
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
        if (dirtyFlag && dev.flags & MOCK_DEV_NO_DIRTY) return -EOPNOTSUPP;
        // 7.2: struct iommu_hwpt_selftest picks the page-table type of a paging domain; 6.12 takes no data.
        let ptType = MOCK_IOMMUPT_DEFAULT;
        if (userData) {
          if (opts.hwptSelftestSize < 8 || userData.type !== MOCK_HWPT_DATA_TYPE) return -EOPNOTSUPP;
          const cfg = new Uint8Array(opts.hwptSelftestSize);
          const rc = copyStructFromUserData(cfg, userData, MOCK_HWPT_DATA_TYPE, MIN_HWPT_SELFTEST);
          if (rc) return rc;
          ptType = u32(cfg, 4);
        }
        const d = createPaging(ctx, dev, ptType);
        if (typeof d === 'number') return d;
        d.setDevPasid = mockDomainSetDevPasid;
        if (dirtyFlag) d.dirtyOps = { setDirtyTracking: (e) => d.setDirtyTracking(e), readAndClearDirty: (i, s, f, b) => d.readAndClearDirty(i, s, f, b) };
        return d;
      }
      // 7.2's mock_domain_alloc_nested() takes IOMMU_HWPT_ALLOC_PASID (iommufd gates it by profile).
      if (!userData || flags & ~HWPT_ALLOC_PASID) return -EOPNOTSUPP;
      if (!(parent instanceof MockDomain) || parent.owner !== ops) return -EINVAL;
      return allocNested(ctx, parent, userData);
    },
    getViommuSize(_dev: IommuDev, type: number): number {
      return type === MOCK_VIOMMU_TYPE ? 1 : 0;
    },
    viommuInit(ctx, core, parent, userData): ViommuDriver | number {
      if (!(parent instanceof MockDomain)) return -EINVAL;
      return mockViommuInit(ctx, core, parent, userData);
    },
    removeDevPasid(dev: IommuDev, pasid: number): number {
      return mockSetDevPasid(dev, pasid, true);
    },
    userPasidTable: true,
    maxPasids(dev: IommuDev): number {
      // dev_iommu_get_max_pasids(): 1 << pasid-num-bits when the property exists.
      if (dev.flags & MOCK_DEV_PASID) return 2 ** MOCK_PASID_WIDTH;
      return opts.pasidNumBitsProperty ? 1 : 0;
    },
    enableIopf(_dev: IommuDev): number {
      return 0;
    },
    disableIopf(_dev: IommuDev): void {},
  };
  /** mock_viommu_init(): with user data, the two pages behind an mmap region, and the loopback of in_data. */
  function mockViommuInit(_ctx: DomainContext, core: ViommuCore, s2: MockDomain, userData: IommuUserData | undefined): ViommuDriver | number {
    let mmap: { offset: number; length: number; pfn: number } | undefined;
    if (userData) {
      const cfg = new Uint8Array(SIZEOF_VIOMMU_SELFTEST);
      let rc = copyStructFromUserData(cfg, userData, MOCK_VIOMMU_TYPE, MIN_VIOMMU_SELFTEST);
      if (rc) return rc;
      // Two zeroed pages (the page allocator's fault point), exposed through an mmap region.
      const pfn = core.allocPages(MOCK_VIOMMU_MMAP_LENGTH / 4096);
      if (pfn < 0) return pfn;
      const offset = core.allocMmap(MOCK_VIOMMU_MMAP_LENGTH, pfn);
      if (offset < 0) {
        core.freePages(pfn);
        return offset;
      }
      // Loopback: in_data goes to the first word of the page and to out_data.
      core.writePages(pfn, 0, cfg.subarray(0, 4));
      const dv = new DataView(cfg.buffer);
      dv.setUint32(4, dv.getUint32(0, true), true);
      dv.setBigUint64(8, BigInt(offset), true);
      dv.setBigUint64(16, BigInt(MOCK_VIOMMU_MMAP_LENGTH), true);
      rc = copyStructToUserData(userData, cfg, MOCK_VIOMMU_TYPE, MIN_VIOMMU_SELFTEST);
      if (rc) {
        core.destroyMmap(offset);
        core.freePages(pfn);
        return rc;
      }
      mmap = { offset, length: MOCK_VIOMMU_MMAP_LENGTH, pfn };
    }
    // mock_viommu->hw_queue[]: each queue and the one it depends on.
    const queues: Array<{ hq: HwQueueCore; prev: HwQueueCore | undefined } | undefined> = new Array(MOCK_HW_QUEUE_MAX);
    return {
      mmap,
      getHwQueueSize: (type) => (type === MOCK_HW_QUEUE_TYPE ? 1 : 0),
      /**
       * mock_hw_queue_init_phys(): index below IOMMU_TEST_HW_QUEUE_MAX
       * (-EINVAL), free (-EEXIST), after its predecessor (-EIO), the base
       * address the core found where the S2 parent translates it (-EFAULT);
       * a queue holds its predecessor until it goes.
       */
      hwQueueInitPhys(hq, index, basePa): HwQueueDriver | number {
        if (index >= MOCK_HW_QUEUE_MAX) return -EINVAL;
        if (queues[index]) return -EEXIST;
        const prev = index ? queues[index - 1]?.hq : undefined;
        if (index && !prev) return -EIO;
        if (hq.baseAddr > BigInt(Number.MAX_SAFE_INTEGER) || basePa !== s2.iovaToPhys(Number(hq.baseAddr))) return -EFAULT;
        if (prev) {
          const rc = hq.depend(prev);
          if (rc) return rc;
        }
        queues[index] = { hq, prev };
        return {
          destroy(): void {
            queues[index] = undefined;
            if (prev) hq.undepend(prev);
          },
        };
      },
      allocDomainNested(dctx, flags, data): NestedDomain | number {
        if (flags & ~HWPT_ALLOC_PASID) return -EOPNOTSUPP;
        return allocNested(dctx, s2, data, core);
      },
      cacheInvalidate: (dctx, arr) => mockViommuCacheInvalidate(dctx, core, arr),
      destroy(): void {
        if (!mmap) return;
        core.destroyMmap(mmap.offset);
        core.freePages(mmap.pfn);
      },
    };
  }

  /** __mock_domain_alloc_nested(): the IOTLB value from struct iommu_hwpt_selftest. */
  function allocNested(ctx: DomainContext, parent: MockDomain, data: IommuUserData, viommu?: ViommuCore): MockNestedDomain | number {
    if (data.type !== MOCK_HWPT_DATA_TYPE) return -EOPNOTSUPP;
    const cfg = new Uint8Array(opts.hwptSelftestSize);
    const rc = copyStructFromUserData(cfg, data, MOCK_HWPT_DATA_TYPE, MIN_HWPT_SELFTEST);
    if (rc) return rc;
    if (ctx.faults.shouldFail(FP_MOCK_NESTED_ALLOC)) return -ENOMEM;
    const d = new MockNestedDomain(ops, parent, u32(cfg, 0), viommu);
    d.setDevPasid = mockDomainSetDevPasid;
    return d;
  }

  /** mock_domain_alloc_paging(): -ENOMEM at its kzalloc. */
  /**
   * mock_domain_alloc_paging() / 7.2's mock_domain_alloc_pgtable(): -ENOMEM at
   * its kzalloc, then -EOPNOTSUPP for an unknown page-table type. The HUGE
   * type gets the huge xarray mock: 1 MiB IOPTEs as 7.2's, but 2 KiB rather
   * than 4 KiB beside them in pgsize_bitmap (the AMDv1 mock is not built).
   */
  function createPaging(ctx: DomainContext, dev: IommuDev, ptType: number): MockDomain | number {
    if (ctx.faults.shouldFail(FP_MOCK_DOMAIN_ALLOC)) return -ENOMEM;
    if (ptType !== MOCK_IOMMUPT_DEFAULT && ptType !== MOCK_IOMMUPT_HUGE) return -EOPNOTSUPP;
    const huge = (dev.flags & MOCK_DEV_HUGE_IOVA) !== 0 || ptType === MOCK_IOMMUPT_HUGE;
    return createMockDomain(ctx, { huge, warnUnmapMissing: opts.warnMissingEntries, warnIovaToPhysMissing: opts.warnIovaToPhysMissing });
  }
  return ops;
}

/**
 * mock_viommu_cache_invalidate(): each struct iommu_viommu_invalidate_selftest
 * clears one cache entry (or all, IOMMU_TEST_INVALIDATE_FLAG_ALL) of the
 * device behind vdev_id. The whole array is copied first; a failed copy
 * handles nothing. An empty array of the right type only validates the type.
 * A failed kzalloc leaves entry_num as the user gave it (the kernel returns
 * before it sets it).
 */
function mockViommuCacheInvalidate(ctx: DomainContext, core: ViommuCore, arr: IommuUserDataArray): number {
  if (arr.entryNum === 0 && arr.type === MOCK_VIOMMU_INVALIDATE_DATA_TYPE) return 0;
  if (ctx.faults.shouldFail(FP_MOCK_VIOMMU_INV_ALLOC)) return -ENOMEM;
  const n = arr.entryNum;
  const cmds = new Uint8Array(n * SIZEOF_VIOMMU_INV_SELFTEST);
  let done = 0;
  let rc = 0;
  // iommu_copy_struct_from_full_user_array()
  if (arr.type !== MOCK_VIOMMU_INVALIDATE_DATA_TYPE || n === 0) rc = -EINVAL;
  for (let i = 0; !rc && i < n; i++) {
    const uptr = BigInt.asUintN(64, arr.uptr + BigInt(arr.entryLen) * BigInt(i));
    rc = arr.copy(cmds.subarray(i * SIZEOF_VIOMMU_INV_SELFTEST, (i + 1) * SIZEOF_VIOMMU_INV_SELFTEST), uptr, arr.entryLen);
  }
  for (; !rc && done < n; done++) {
    const flags = u32(cmds, done * SIZEOF_VIOMMU_INV_SELFTEST);
    const vdevId = u32(cmds, done * SIZEOF_VIOMMU_INV_SELFTEST + 4);
    const cacheId = u32(cmds, done * SIZEOF_VIOMMU_INV_SELFTEST + 8);
    if (flags & ~MOCK_INVALIDATE_FLAG_ALL) rc = -EOPNOTSUPP;
    else if (cacheId > MOCK_DEV_CACHE_ID_MAX) rc = -EINVAL;
    else {
      const dev = core.findDev(BigInt(vdevId)) as MockCacheDev | undefined;
      if (!dev?.cache) rc = -EINVAL;
      else if (flags & MOCK_INVALIDATE_FLAG_ALL) dev.cache.fill(0);
      else dev.cache[cacheId] = 0;
    }
    if (rc) break;
  }
  arr.entryNum = done;
  return rc;
}
