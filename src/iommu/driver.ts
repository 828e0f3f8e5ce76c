// SPDX-License-Identifier: GPL-2.0-only
/**
 * The driver seam of the iommu core (include/linux/iommu.h): what iommufd
 * asks of an IOMMU driver (struct iommu_ops) and of the domains it makes
 * (struct iommu_domain_ops, iommu_dirty_ops).
 *
 * - IommuOps: hw_info, capable, domain_alloc_user (paging domains by flags,
 *   nested domains from user data on a parent), IOPF enable / disable, and the
 *   PASID width of a device.
 * - Paging domains are IommuDomain subclasses (domain.ts); their optional
 *   `dirtyOps` is the iommu_dirty_ops a domain gets when it was allocated
 *   with dirty tracking.
 * - Nested domains (IOMMU_DOMAIN_NESTED) hold no mappings: they translate
 *   through their parent and take user cache invalidations
 *   (cache_invalidate_user).
 *
 * User data (struct iommu_user_data / iommu_user_data_array) reaches the
 * driver with the caller's copy_struct_from_user, which the iommufd layer
 * supplies: this layer sees no user memory of its own.
 */
import { EFAULT, EINVAL } from '../base/errno.js';
import type { DomainContext, IommuDomain } from './domain.js';

/** IOMMU_HWPT_ALLOC_* flags as the driver receives them (uAPI values). */
export const HWPT_ALLOC_NEST_PARENT = 1 << 0;
export const HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
export const HWPT_ALLOC_PASID = 1 << 3;

/** IOMMU_DIRTY_NO_CLEAR: read_and_clear_dirty reads without clearing. */
export const IOMMU_DIRTY_NO_CLEAR = 1 << 0;

/** enum iommu_cap, the capabilities iommufd asks about. */
export type IommuCap = 'CACHE_COHERENCY' | 'ENFORCE_CACHE_COHERENCY' | 'DIRTY_TRACKING' | 'PCI_ATS_SUPPORTED';

/** copy_struct_from_user(dst, dst.length, uptr, usize): 0, -E2BIG or -EFAULT. */
export type CopyStructFromUser = (dst: Uint8Array, uptr: bigint, usize: number) => number;

/** struct iommu_user_data: one driver-specific struct in user memory. */
export interface IommuUserData {
  readonly type: number;
  readonly uptr: bigint;
  readonly len: number;
  readonly copy: CopyStructFromUser;
  /** copy_to_user of `src` (at most len bytes) back to uptr: 0 or -EFAULT. */
  readonly copyTo?: (src: Uint8Array, uptr: bigint) => number;
}

/**
 * __iommu_copy_struct_to_user(): -EINVAL on a type mismatch or a length
 * outside [minLen, src.length]; else the first len bytes of `src` are written.
 */
export function copyStructToUserData(data: IommuUserData, src: Uint8Array, type: number, minLen: number): number {
  if (data.type !== type) return -EINVAL;
  if (data.len < minLen || src.length < data.len) return -EINVAL;
  if (!data.copyTo) return -EFAULT;
  return data.copyTo(src.subarray(0, data.len), data.uptr);
}

/** struct iommu_user_data_array: entry_num structs of entry_len bytes each. */
export interface IommuUserDataArray {
  readonly type: number;
  readonly uptr: bigint;
  readonly entryLen: number;
  /** In: entries given. The driver sets it to the entries it handled. */
  entryNum: number;
  readonly copy: CopyStructFromUser;
}

/**
 * __iommu_copy_struct_from_user(): -EINVAL on a type mismatch or a length
 * outside [minLen, dst.length]; else copy_struct_from_user's result.
 */
export function copyStructFromUserData(dst: Uint8Array, data: IommuUserData, type: number, minLen: number): number {
  if (data.type !== type) return -EINVAL;
  if (data.len < minLen || dst.length < data.len) return -EINVAL;
  return data.copy(dst, data.uptr, data.len);
}

/** __iommu_copy_struct_from_user_array(): entry `index` of the array, by the same rules. */
export function copyStructFromUserArray(dst: Uint8Array, arr: IommuUserDataArray, type: number, index: number, minLen: number): number {
  if (index >= arr.entryNum || arr.entryNum === 0) return -EINVAL;
  const uptr = BigInt.asUintN(64, arr.uptr + BigInt(arr.entryLen) * BigInt(index));
  return copyStructFromUserData(dst, { type: arr.type, uptr, len: arr.entryLen, copy: arr.copy }, type, minLen);
}

/** struct iommu_dirty_bitmap: where read_and_clear_dirty records dirty ranges (iommu_dirty_bitmap_record). */
export interface IommuDirtyBitmap {
  /** Set the bits of [iova, iova + length); absent when the caller only clears. */
  readonly record: ((iova: number, length: number) => void) | undefined;
}

/** struct iommu_dirty_ops */
export interface IommuDirtyOps {
  setDirtyTracking(enable: boolean): number;
  readAndClearDirty(iova: number, size: number, flags: number, dirty: IommuDirtyBitmap): number;
}

/**
 * domain_ops->set_dev_pasid(domain, dev, pasid, old): make `pasid` of `dev`
 * translate through the domain the op belongs to; `old` is the domain the
 * PASID leaves (undefined on a first attach). 0 or -errno, nothing changed on
 * failure.
 */
export type SetDevPasid = (dev: IommuDev, pasid: number, old: AnyDomain | undefined) => number;

/** What a driver knows of a device it serves (struct device + its dev_iommu). */
export interface IommuDev {
  /** Driver-specific device flags (the mock's MOCK_FLAGS_DEVICE_*). */
  readonly flags: number;
}

/** struct iommu_domain of type IOMMU_DOMAIN_NESTED: a stage-1 table over a paging parent. */
export abstract class NestedDomain {
  readonly type = 'NESTED' as const;
  /** domain->owner: the ops that made it. */
  abstract readonly owner: IommuOps;
  readonly parent: IommuDomain;
  private freed = false;

  protected constructor(parent: IommuDomain) {
    this.parent = parent;
  }

  /** domain_ops->attach_dev */
  abstract attachDev(dev: IommuDev): number;

  /** domain_ops->cache_invalidate_user: handles entries in order; sets arr.entryNum to those done. */
  abstract cacheInvalidateUser(arr: IommuUserDataArray): number;

  /** domain_ops->set_dev_pasid, set by the driver that made the domain. */
  setDevPasid: SetDevPasid | undefined;

  /** domain_ops->free */
  free(): void {
    this.freed = true;
  }

  get isFreed(): boolean {
    return this.freed;
  }
}

/** Any domain a driver hands out. */
export type AnyDomain = IommuDomain | NestedDomain;

/** A hw_info answer: the driver's struct and its IOMMU_HW_INFO_TYPE_*. */
export interface HwInfo {
  readonly data: Uint8Array;
  readonly type: number;
}

/** struct iommu_ops, the part iommufd reaches. */
export interface IommuOps {
  readonly name: string;
  /** The IOMMU_HW_INFO_TYPE_* the driver's hw_info reports (what FLAG_INPUT_TYPE may ask for). */
  readonly hwInfoType: number;
  /** ops->hw_info: the driver's info struct, or -errno. */
  hwInfo(ctx: DomainContext, dev: IommuDev): HwInfo | number;
  /** ops->capable */
  capable(dev: IommuDev, cap: IommuCap): boolean;
  /**
   * ops->domain_alloc_user: a paging domain by flags (no parent), or a nested
   * domain on `parent` from `userData`; -errno.
   */
  domainAllocUser(ctx: DomainContext, dev: IommuDev, flags: number, parent: IommuDomain | undefined, userData: IommuUserData | undefined): AnyDomain | number;
  /** dev->iommu->max_pasids (0: no PASID). */
  maxPasids(dev: IommuDev): number;
  /** ops->get_viommu_size: nonzero when the driver builds vIOMMUs of `type`. */
  getViommuSize?(dev: IommuDev, type: number): number;
  /**
   * ops->viommu_init: the driver's half of a vIOMMU on the nest-parent
   * `parent`, with the user's data (if any); its viommu ops, or -errno.
   */
  viommuInit?(ctx: DomainContext, core: ViommuCore, parent: IommuDomain, userData: IommuUserData | undefined): ViommuDriver | number;
  /**
   * ops->blocked_domain->ops->set_dev_pasid (iommu_remove_dev_pasid): the
   * PASID leaves `domain` for the blocking domain. Absent: the driver has no
   * PASID support (attach is -EOPNOTSUPP). A failure is a driver bug (WARN).
   */
  removeDevPasid?(dev: IommuDev, pasid: number, domain: AnyDomain): number;
  /** ops->user_pasid_table: PASID faults without a PASID attachment go to a nested RID domain. */
  readonly userPasidTable?: boolean;
  /** ops->dev_enable_feat(IOMMU_DEV_FEAT_IOPF) */
  enableIopf(dev: IommuDev): number;
  /** ops->dev_disable_feat(IOMMU_DEV_FEAT_IOPF) */
  disableIopf(dev: IommuDev): void;
}

/** What the iommufd core offers a vIOMMU driver (iommufd_viommu_alloc_mmap, iommufd_viommu_find_dev). */
export interface ViommuCore {
  /**
   * __get_free_pages(GFP_KERNEL | __GFP_ZERO) for the driver: `npages`
   * zeroed, physically contiguous pages (one order-0 frame, or a PMD-order
   * block for more: the machine has no order-1 folios); the first PFN or -ENOMEM.
   */
  allocPages(npages: number): number;
  /** free_pages() of what allocPages gave. */
  freePages(pfn: number): void;
  /** A kernel store of `data` at byte `offset` of the pages starting at `pfn`. */
  writePages(pfn: number, offset: number, data: Uint8Array): void;
  /** iommufd_viommu_alloc_mmap(): an mmap offset of the iommufd file for `length` bytes of the pages at `pfn`, or -errno. */
  allocMmap(length: number, pfn: number): number;
  /** _iommufd_destroy_mmap() */
  destroyMmap(offset: number): void;
  /** iommufd_viommu_find_dev(): the device of the vDEVICE at virt_id, if any. */
  findDev(virtId: bigint): IommuDev | undefined;
  /** iommufd_viommu_get_vdev_id(): the virt_id of `dev`'s vDEVICE on this vIOMMU, or undefined (-ENOENT). */
  getVdevId(dev: IommuDev): bigint | undefined;
}

/** What the core offers a driver's HW queue (struct iommufd_hw_queue). */
export interface HwQueueCore {
  /** hw_queue->base_addr: the queue's IOVA in the nesting parent. */
  readonly baseAddr: bigint;
  /** hw_queue->length */
  readonly length: bigint;
  /** iommufd_hw_queue_depend(): this queue holds `prev` (a users reference) until undepend; -EINVAL on itself. */
  depend(prev: HwQueueCore): number;
  /** iommufd_hw_queue_undepend() */
  undepend(prev: HwQueueCore): void;
}

/** The driver's half of a HW queue: hw_queue->destroy. */
export interface HwQueueDriver {
  destroy(): void;
}

/** struct iommufd_viommu_ops, the driver's half of a vIOMMU. */
export interface ViommuDriver {
  /** The mmap region the driver exposes (offset, length), if any. */
  readonly mmap: { readonly offset: number; readonly length: number } | undefined;
  /** viommu_ops->alloc_domain_nested */
  allocDomainNested(ctx: DomainContext, flags: number, userData: IommuUserData): NestedDomain | number;
  /** viommu_ops->cache_invalidate: handles entries in order; sets arr.entryNum to those done. */
  cacheInvalidate(ctx: DomainContext, arr: IommuUserDataArray): number;
  /** viommu_ops->get_hw_queue_size: nonzero when the driver builds HW queues of `type`. */
  getHwQueueSize?(type: number): number;
  /**
   * viommu_ops->hw_queue_init_phys: the driver's half of a HW queue at
   * `index`, whose guest memory starts at physical address `basePa`.
   */
  hwQueueInitPhys?(hq: HwQueueCore, index: number, basePa: number): HwQueueDriver | number;
  /** viommu_ops->destroy */
  destroy(): void;
}
