// SPDX-License-Identifier: GPL-2.0-only
/**
 * The paging HWPT object (hw_pagetable.c, struct iommufd_hwpt_paging): an
 * iommu_domain bound to one IOAS. While it lives, the IOAS has one more user
 * and the domain is one of the IOAS's domains (every area mirrored into it).
 *
 * Domains come from the mock IOMMU driver, the only one the model has: the
 * 2 KiB-page mock, with the 1 MiB page size added when the device asking for
 * it has MOCK_FLAGS_DEVICE_HUGE_IOVA (mock_domain_alloc_paging).
 *
 * Lifetime (uapi-spec §2.6): an HWPT made by the auto-domain path of attach is
 * `autoDomain`; every detach or replace-away of a device puts it, and the put
 * that leaves only the table's reference destroys it. Other HWPTs are only
 * destroyed by IOMMU_DESTROY or close.
 *
 * Each IOAS keeps its HWPTs in creation order (ioas->hwpt_list), which is the
 * order the auto-domain search tries them. The IOAS class belongs to the
 * context layer, so the list is kept here, keyed by the IOAS object.
 */
import { EOPNOTSUPP, ENOMEM } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import type { IommuDomain } from '../iommu/domain.js';
import { type MockDomain, createMockDomain } from '../iommu/mock-domain.js';
import { MOCK_FLAGS_DEVICE_HUGE_IOVA } from './uapi.js';
import { type IommufdDevice, hwptAttachDevice, hwptDetachDevice } from './device.js';
import { type KernelAllocation, kernelAlloc, kernelFree } from './env.js';
import type { IommufdIoas } from './ioas.js';
import type { IommufdCtx } from './main.js';
import type { IommufdObject } from './object-table.js';

/** kzalloc of struct iommufd_hwpt_paging in __iommufd_object_alloc. */
export const FP_HWPT_PAGING_ALLOC = faultPoint('kzalloc.iommufd_hwpt_paging', 'slab');
/** kzalloc of struct mock_iommu_domain in mock_domain_alloc_paging. */
export const FP_MOCK_DOMAIN_ALLOC = faultPoint('kzalloc.mock_iommu_domain', 'slab');

/** Approximate x86-64 sizeof values. */
const SIZEOF_HWPT_PAGING = 176;
const SIZEOF_MOCK_DOMAIN = 224;

/** The paging-HWPT allocation flags this model accepts (none of the 6.6+ ones: no HWPT_ALLOC). */
const VALID_ALLOC_FLAGS = 0;

const hwptLists = new WeakMap<object, HwptPaging[]>();

/** ioas->hwpt_list: the paging HWPTs built on this IOAS, in creation order. */
export function ioasHwptList(ioas: IommufdIoas): HwptPaging[] {
  let l = hwptLists.get(ioas);
  if (!l) {
    l = [];
    hwptLists.set(ioas, l);
  }
  return l;
}

export class HwptPaging implements IommufdObject {
  readonly type = 'HWPT_PAGING' as const;
  readonly ctx: IommufdCtx;
  readonly ioas: IommufdIoas;
  domain: MockDomain | undefined;
  /** Created by the auto-domain path: destroyed by the put of its last device. */
  autoDomain = false;
  /** On ioas->hwpt_list and in the IOAS's domains (hwpt_item not empty). */
  onIoasList = false;
  /** Devices attached through this HWPT (the igroup's device lists, flattened: each mock device is its own group). */
  readonly devices = new Set<IommufdDevice>();
  private readonly alloc: KernelAllocation;
  private domainAlloc: KernelAllocation | undefined;
  private gone = false;

  constructor(ctx: IommufdCtx, ioas: IommufdIoas, alloc: KernelAllocation) {
    this.ctx = ctx;
    this.ioas = ioas;
    this.alloc = alloc;
  }

  get iommuDomain(): IommuDomain | undefined {
    return this.domain;
  }

  /** The object ID (0 once it left the table). */
  get id(): number {
    return this.ctx.objects.idOf(this);
  }

  /** Allocate the driver domain (mock_domain_alloc_paging): 0 or -ENOMEM. */
  allocDomain(huge: boolean): number {
    const env = this.ctx.env;
    const a = kernelAlloc(env, FP_MOCK_DOMAIN_ALLOC, SIZEOF_MOCK_DOMAIN, false);
    if (!a) return -ENOMEM;
    this.domainAlloc = a;
    this.domain = createMockDomain(
      { warn: env.warn, faults: env.faults },
      { huge, warnUnmapMissing: env.profile.mockWarnsMissingEntries, warnIovaToPhysMissing: env.profile.mockWarnsMissingEntries },
    );
    return 0;
  }

  /** iommufd_hwpt_paging_destroy(): leave the IOAS, free the domain, drop the IOAS user. */
  destroy(): void {
    if (this.gone) {
      this.ctx.env.warn.warn('iommufd_hwpt_paging_destroy.twice');
      return;
    }
    this.gone = true;
    const env = this.ctx.env;
    env.warn.on(this.devices.size !== 0, 'iommufd_hwpt_paging_destroy.devices', `${this.devices.size} devices still attached`);
    if (this.onIoasList) {
      const list = ioasHwptList(this.ioas);
      const i = list.indexOf(this);
      if (i >= 0) list.splice(i, 1);
      this.onIoasList = false;
      if (this.domain) this.ioas.iopt.removeDomain(this.domain);
    }
    if (this.domain) {
      this.domain.free();
      kernelFree(this.domainAlloc);
      this.domainAlloc = undefined;
    }
    this.ctx.objects.decUsers(this.ioas);
    kernelFree(this.alloc);
  }

  /** iommufd_hwpt_paging_abort(): the same teardown for a never-finalized HWPT. */
  abort(): void {
    this.destroy();
  }
}

/**
 * iommufd_hwpt_paging_alloc(): a new HWPT on `ioas` with a domain for `idev`.
 * With `immediateAttach` the device is attached before the domain joins the
 * IOAS (the auto-domain attach path). The HWPT is returned unfinalized: the
 * caller finalizes it, or aborts it with abortAndDestroy.
 */
export function allocHwptPaging(ctx: IommufdCtx, ioas: IommufdIoas, idev: IommufdDevice, flags: number, immediateAttach: boolean): HwptPaging | number {
  if (flags & ~VALID_ALLOC_FLAGS) return -EOPNOTSUPP;
  const alloc = kernelAlloc(ctx.env, FP_HWPT_PAGING_ALLOC, SIZEOF_HWPT_PAGING, true);
  if (!alloc) return -ENOMEM;
  const hwpt = new HwptPaging(ctx, ioas, alloc);
  const id = ctx.allocId(hwpt);
  if (id < 0) {
    kernelFree(alloc);
    return id;
  }
  // Pairs with the decrement in destroy().
  ctx.objects.incUsers(ioas);
  let rc = hwpt.allocDomain((idev.mockDev.flags & MOCK_FLAGS_DEVICE_HUGE_IOVA) !== 0);
  if (rc) {
    ctx.objects.abortAndDestroy(hwpt);
    return rc;
  }
  if (immediateAttach) {
    rc = hwptAttachDevice(hwpt, idev);
    if (rc) {
      ctx.objects.abortAndDestroy(hwpt);
      return rc;
    }
  }
  rc = ioas.iopt.addDomain(hwpt.domain!);
  if (rc) {
    if (immediateAttach) {
      hwptDetachDevice(idev);
      // The kernel frees the object with the device's reference still
      // counted; drop it so the abort sees only the table's.
      ctx.objects.decUsers(hwpt);
    }
    ctx.objects.abortAndDestroy(hwpt);
    return rc;
  }
  hwpt.onIoasList = true;
  ioasHwptList(ioas).push(hwpt);
  return hwpt;
}

/**
 * iommufd_hw_pagetable_put(): drop a device's reference. An auto HWPT is
 * destroyed when nothing but the table holds it any more.
 */
export function hwptPut(ctx: IommufdCtx, hwpt: HwptPaging): void {
  if (hwpt.autoDomain) ctx.objects.putAndTryDestroy(hwpt);
  else ctx.objects.decUsers(hwpt);
}
