// SPDX-License-Identifier: GPL-2.0-only
/**
 * The HWPT objects (hw_pagetable.c): a paging HWPT (struct
 * iommufd_hwpt_paging) is an iommu_domain bound to one IOAS: while it lives,
 * the IOAS has one more user and the domain is one of the IOAS's domains
 * (every area mirrored into it). A nested HWPT (struct iommufd_hwpt_nested)
 * is a driver's stage-1 domain over a NEST_PARENT paging HWPT, which it holds
 * as a user; it maps nothing itself and takes user cache invalidations.
 *
 * Domains come from the device's IOMMU driver through the IommuOps seam
 * (iommu/driver.ts): domain_alloc_user with the user's flags and data.
 *
 * Lifetime (uapi-spec §2.6): an HWPT made by the auto-domain path of attach is
 * `autoDomain`; every detach or replace-away of a device puts it, and the put
 * that leaves only the table's reference destroys it. HWPTs from
 * IOMMU_HWPT_ALLOC are only destroyed by IOMMU_DESTROY or close.
 *
 * Each IOAS keeps its paging HWPTs in creation order (ioas->hwpt_list), which
 * is the order the auto-domain search tries them. The IOAS class belongs to
 * the context layer, so the list is kept here, keyed by the IOAS object.
 */
import { EFAULT, EINVAL, ENOMEM, EOPNOTSUPP } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import type { Profile } from '../base/profile.js';
import type { IommuDomain } from '../iommu/domain.js';
import { type IommuUserData, type IommuUserDataArray, NestedDomain } from '../iommu/driver.js';
import { type IommufdAttach, type IommufdDevice, hwptAttachDevice, hwptDetachDevice } from './device.js';
import { type KernelAllocation, kernelAlloc, kernelFree } from './env.js';
import { type FaultObject, getFault } from './fault.js';
import type { IommufdIoas } from './ioas.js';
import { ioptReadAndClearDirtyData, ioptSetDirtyTracking } from './io-pagetable.js';
import type { IommufdCtx } from './main.js';
import type { IommufdObject } from './object-table.js';
import type { ViommuObject } from './viommu.js';
import {
  IOMMU_HWPT_ALLOC_PASID,
  IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
  IOMMU_HWPT_ALLOC_NEST_PARENT,
  IOMMU_HWPT_DATA_NONE,
  IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
  IOMMU_HWPT_FAULT_ID_VALID,
  IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
} from './uapi.js';
import { type Ucmd, copyStructFromUser } from './ucmd.js';

/** kzalloc of struct iommufd_hwpt_paging in __iommufd_object_alloc. */
export const FP_HWPT_PAGING_ALLOC = faultPoint('kzalloc.iommufd_hwpt_paging', 'slab');
/** kzalloc of struct iommufd_hwpt_nested. */
export const FP_HWPT_NESTED_ALLOC = faultPoint('kzalloc.iommufd_hwpt_nested', 'slab');

/** Approximate x86-64 sizeof values. */
const SIZEOF_HWPT_PAGING = 176;
const SIZEOF_HWPT_NESTED = 128;

/** iommufd_hwpt_paging_alloc's valid_flags: 6.12's two, and in 7.2 FAULT_ID_VALID and ALLOC_PASID too. */
function pagingValidFlags(p: Profile): number {
  let f = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
  if (p.hwptFaultIdOnPaging) f |= IOMMU_HWPT_FAULT_ID_VALID;
  if (p.hwptAllocPasidFlag) f |= IOMMU_HWPT_ALLOC_PASID;
  return f;
}

/** iommufd_hwpt_nested_alloc's flags: FAULT_ID_VALID, and in 7.2 ALLOC_PASID. */
function nestedValidFlags(p: Profile): number {
  return IOMMU_HWPT_FAULT_ID_VALID | (p.hwptAllocPasidFlag ? IOMMU_HWPT_ALLOC_PASID : 0);
}
/** IOMMU_HWPT_INVALIDATE_ENTRY_NUM_MAX */
const INVALIDATE_ENTRY_NUM_MAX = 1 << 19;
const PAGE_SIZE = 4096;

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
  domain: IommuDomain | undefined;
  /** hwpt->fault (always undefined for paging HWPTs in 6.12: FAULT_ID_VALID is nested-only there). */
  fault: FaultObject | undefined;
  /** Created by the auto-domain path: destroyed by the put of its last device. */
  autoDomain = false;
  /** hwpt->pasid_compat: allocated with IOMMU_HWPT_ALLOC_PASID. */
  pasidCompat = false;
  /** IOMMU_HWPT_ALLOC_NEST_PARENT: nested HWPTs may be built on it. */
  nestParent = false;
  /** On ioas->hwpt_list and in the IOAS's domains (hwpt_item not empty). */
  onIoasList = false;
  /** Devices whose RID is attached through this HWPT (the igroup's device lists, flattened: each mock device is its own group). */
  readonly devices = new Set<IommufdDevice>();
  /** PASID attachments (not the RID) on this HWPT; each of their devices holds a user. */
  readonly pasids = new Set<IommufdAttach>();
  private readonly alloc: KernelAllocation;
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

  /** iommufd_hwpt_paging_destroy(): leave the IOAS, free the domain, drop the IOAS user. */
  destroy(): void {
    if (this.gone) {
      this.ctx.env.warn.warn('iommufd_hwpt_paging_destroy.twice');
      return;
    }
    this.gone = true;
    const env = this.ctx.env;
    env.warn.on(this.devices.size + this.pasids.size !== 0, 'iommufd_hwpt_paging_destroy.devices', `${this.devices.size} devices, ${this.pasids.size} PASIDs still attached`);
    if (this.onIoasList) {
      const list = ioasHwptList(this.ioas);
      const i = list.indexOf(this);
      if (i >= 0) list.splice(i, 1);
      this.onIoasList = false;
      if (this.domain) this.ioas.iopt.removeDomain(this.domain);
    }
    hwptCommonDestroy(this);
    this.ctx.objects.decUsers(this.ioas);
    kernelFree(this.alloc);
  }

  /** iommufd_hwpt_paging_abort(): the same teardown for a never-finalized HWPT. */
  abort(): void {
    this.destroy();
  }
}

export class HwptNested implements IommufdObject {
  readonly type = 'HWPT_NESTED' as const;
  readonly ctx: IommufdCtx;
  readonly parent: HwptPaging;
  domain: NestedDomain | undefined;
  fault: FaultObject | undefined;
  /** hwpt->pasid_compat: allocated with IOMMU_HWPT_ALLOC_PASID. */
  pasidCompat = false;
  readonly devices = new Set<IommufdDevice>();
  /** PASID attachments (not the RID) on this HWPT. */
  readonly pasids = new Set<IommufdAttach>();
  private readonly alloc: KernelAllocation;
  private gone = false;

  /** hwpt_nested->viommu: the vIOMMU it was allocated on (which then holds the parent). */
  readonly viommu: ViommuObject | undefined;

  constructor(ctx: IommufdCtx, parent: HwptPaging, alloc: KernelAllocation, viommu?: ViommuObject) {
    this.ctx = ctx;
    this.parent = parent;
    this.alloc = alloc;
    this.viommu = viommu;
  }

  get id(): number {
    return this.ctx.objects.idOf(this);
  }

  /** The IOAS behind the parent. */
  get ioas(): IommufdIoas {
    return this.parent.ioas;
  }

  /** iommufd_hwpt_nested_destroy(): free the domain, drop the vIOMMU or else the parent. */
  destroy(): void {
    if (this.ctx.env.warn.on(this.gone, 'iommufd_hwpt_nested_destroy.twice')) return;
    this.gone = true;
    this.ctx.env.warn.on(this.devices.size + this.pasids.size !== 0, 'iommufd_hwpt_nested_destroy.devices', `${this.devices.size} devices, ${this.pasids.size} PASIDs still attached`);
    hwptCommonDestroy(this);
    this.ctx.objects.decUsers(this.viommu ?? this.parent);
    kernelFree(this.alloc);
  }
}

/** struct iommufd_hw_pagetable: either kind. */
export type Hwpt = HwptPaging | HwptNested;

export function isHwpt(obj: IommufdObject): obj is Hwpt {
  return obj instanceof HwptPaging || obj instanceof HwptNested;
}

/** find_hwpt_paging(): the paging HWPT whose IOAS a device attached to `hwpt` uses. */
export function findHwptPaging(hwpt: Hwpt): HwptPaging {
  return hwpt instanceof HwptNested ? hwpt.parent : hwpt;
}

/** __iommufd_hwpt_destroy(): free the domain, drop the fault queue. */
function hwptCommonDestroy(hwpt: Hwpt): void {
  if (hwpt.domain) {
    hwpt.domain.free();
    hwpt.domain = undefined;
  }
  if (hwpt.fault) {
    hwpt.ctx.objects.decUsers(hwpt.fault);
    hwpt.fault = undefined;
  }
}

/** The user data of IOMMU_HWPT_ALLOC as the driver reads it. */
function userData(ucmd: Ucmd<IommufdCtx>): IommuUserData {
  return {
    type: ucmd.num('data_type'),
    uptr: ucmd.big('data_uptr'),
    len: ucmd.num('data_len'),
    copy: (dst, uptr, usize) => copyStructFromUser(ucmd.mem, dst, uptr, usize),
  };
}

/**
 * iommufd_hwpt_paging_alloc(): a new HWPT on `ioas` with a domain for `idev`.
 * With `immediateAttach` the device is attached before the domain joins the
 * IOAS (the auto-domain attach path), at `pasid`. The HWPT is returned
 * unfinalized: the caller finalizes it, or aborts it with abortAndDestroy.
 */
export function allocHwptPaging(
  ctx: IommufdCtx,
  ioas: IommufdIoas,
  idev: IommufdDevice,
  flags: number,
  immediateAttach: boolean,
  data?: IommuUserData,
  pasid = 0,
): HwptPaging | number {
  const ops = idev.mockDev.ops;
  if (flags & ~pagingValidFlags(ctx.env.profile)) return -EOPNOTSUPP;
  if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING && !ops.capable(idev.mockDev, 'DIRTY_TRACKING')) return -EOPNOTSUPP;
  if (flags & IOMMU_HWPT_FAULT_ID_VALID && flags & IOMMU_HWPT_ALLOC_NEST_PARENT) return -EOPNOTSUPP;
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
  hwpt.nestParent = (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) !== 0;
  hwpt.pasidCompat = (flags & IOMMU_HWPT_ALLOC_PASID) !== 0;
  const domain = ops.domainAllocUser(ctx.env, idev.mockDev, flags & ~IOMMU_HWPT_FAULT_ID_VALID, undefined, data);
  if (typeof domain === 'number' || domain instanceof NestedDomain) {
    ctx.objects.abortAndDestroy(hwpt);
    return typeof domain === 'number' ? domain : -EINVAL;
  }
  domain.owner = ops;
  hwpt.domain = domain;
  // A mock device enforces no cache coherency: nothing to set up here.
  let rc: number;
  if (immediateAttach) {
    rc = hwptAttachDevice(hwpt, idev, pasid);
    if (rc) {
      ctx.objects.abortAndDestroy(hwpt);
      return rc;
    }
  }
  rc = ioas.iopt.addDomain(domain);
  if (rc) {
    if (immediateAttach) {
      hwptDetachDevice(idev, pasid);
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

/** iommufd_hwpt_nested_alloc(): a nested HWPT on `parent` from the user's data. */
function allocHwptNested(ctx: IommufdCtx, parent: HwptPaging, idev: IommufdDevice, flags: number, data: IommuUserData): HwptNested | number {
  const ops = idev.mockDev.ops;
  if (flags & ~nestedValidFlags(ctx.env.profile) || !data.len) return -EOPNOTSUPP;
  if (parent.autoDomain || !parent.nestParent || parent.domain?.owner !== ops) return -EINVAL;
  const alloc = kernelAlloc(ctx.env, FP_HWPT_NESTED_ALLOC, SIZEOF_HWPT_NESTED, true);
  if (!alloc) return -ENOMEM;
  const hwpt = new HwptNested(ctx, parent, alloc);
  const id = ctx.allocId(hwpt);
  if (id < 0) {
    kernelFree(alloc);
    return id;
  }
  hwpt.pasidCompat = (flags & IOMMU_HWPT_ALLOC_PASID) !== 0;
  ctx.objects.incUsers(parent);
  const domain = ops.domainAllocUser(ctx.env, idev.mockDev, flags & ~IOMMU_HWPT_FAULT_ID_VALID, parent.domain, data);
  if (typeof domain === 'number') {
    ctx.objects.abortAndDestroy(hwpt);
    return domain;
  }
  if (ctx.env.warn.on(!(domain instanceof NestedDomain), 'iommufd_hwpt_nested_alloc.type', 'driver returned a paging domain')) {
    domain.free();
    ctx.objects.abortAndDestroy(hwpt);
    return -EINVAL;
  }
  hwpt.domain = domain as NestedDomain;
  return hwpt;
}

/** iommufd_viommu_alloc_hwpt_nested(): a nested HWPT from the vIOMMU's driver. */
function allocViommuHwptNested(ctx: IommufdCtx, viommu: ViommuObject, flags: number, data: IommuUserData): HwptNested | number {
  if (flags & ~nestedValidFlags(ctx.env.profile)) return -EOPNOTSUPP;
  if (!data.len) return -EOPNOTSUPP;
  const driver = viommu.driver;
  if (!driver) return -EOPNOTSUPP;
  const alloc = kernelAlloc(ctx.env, FP_HWPT_NESTED_ALLOC, SIZEOF_HWPT_NESTED, true);
  if (!alloc) return -ENOMEM;
  const hwpt = new HwptNested(ctx, viommu.hwpt, alloc, viommu);
  const id = ctx.allocId(hwpt);
  if (id < 0) {
    kernelFree(alloc);
    return id;
  }
  hwpt.pasidCompat = (flags & IOMMU_HWPT_ALLOC_PASID) !== 0;
  ctx.objects.incUsers(viommu);
  const domain = driver.allocDomainNested(ctx.env, flags & ~IOMMU_HWPT_FAULT_ID_VALID, data);
  if (typeof domain === 'number') {
    ctx.objects.abortAndDestroy(hwpt);
    return domain;
  }
  hwpt.domain = domain;
  return hwpt;
}

/** IOMMU_HWPT_ALLOC (iommufd_hwpt_alloc): the pt_id names an IOAS (paging), a paging HWPT or (7.2) a vIOMMU (nested). */
export function hwptAllocIoctl(ucmd: Ucmd<IommufdCtx>): number {
  const ctx = ucmd.ctx;
  const objects = ctx.objects;
  if (ucmd.num('__reserved')) return -EOPNOTSUPP;
  const dataType = ucmd.num('data_type');
  const dataLen = ucmd.num('data_len');
  if ((dataType === IOMMU_HWPT_DATA_NONE && dataLen) || (dataType !== IOMMU_HWPT_DATA_NONE && !dataLen)) return -EINVAL;
  const flags = ucmd.num('flags');
  const idev = objects.get(ucmd.num('dev_id'), 'DEVICE');
  if (typeof idev === 'number') return idev;
  const dev = idev as IommufdDevice;
  const pt = objects.get(ucmd.num('pt_id'));
  if (typeof pt === 'number') {
    objects.put(idev);
    return -EINVAL;
  }
  const data = userData(ucmd);
  let hwpt: Hwpt | number;
  if (pt.type === 'IOAS') hwpt = allocHwptPaging(ctx, pt as IommufdIoas, dev, flags, false, dataLen ? data : undefined);
  else if (pt instanceof HwptPaging) hwpt = allocHwptNested(ctx, pt, dev, flags, data);
  else if (pt.type === 'VIOMMU') {
    const viommu = pt as ViommuObject;
    hwpt = viommu.iommuOps !== dev.mockDev.ops ? -EINVAL : allocViommuHwptNested(ctx, viommu, flags, data);
  } else hwpt = -EINVAL;
  let rc = 0;
  if (typeof hwpt === 'number') rc = hwpt;
  else {
    if (flags & IOMMU_HWPT_FAULT_ID_VALID) {
      const fault = getFault(ctx, ucmd.num('fault_id'));
      if (typeof fault === 'number') rc = fault;
      else {
        hwpt.fault = fault;
        objects.incUsers(fault);
        objects.put(fault);
      }
    }
    if (!rc) {
      ucmd.set('out_hwpt_id', objects.idOf(hwpt));
      rc = ucmd.respond();
    }
    if (rc) objects.abortAndDestroy(hwpt);
    else objects.finalize(hwpt);
  }
  objects.put(pt);
  objects.put(idev);
  return rc;
}

/** IOMMU_HWPT_SET_DIRTY_TRACKING (iommufd_hwpt_set_dirty_tracking) */
export function hwptSetDirtyTrackingIoctl(ucmd: Ucmd<IommufdCtx>): number {
  const ctx = ucmd.ctx;
  const flags = ucmd.num('flags');
  if (flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) return -EOPNOTSUPP;
  const hwpt = ctx.objects.get(ucmd.num('hwpt_id'), 'HWPT_PAGING');
  if (typeof hwpt === 'number') return hwpt;
  const h = hwpt as HwptPaging;
  const rc = h.domain ? ioptSetDirtyTracking(h.ioas.iopt, h.domain, (flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE) !== 0) : -EOPNOTSUPP;
  ctx.objects.put(hwpt);
  return rc;
}

/** IOMMU_HWPT_GET_DIRTY_BITMAP (iommufd_hwpt_get_dirty_bitmap) */
export function hwptGetDirtyBitmapIoctl(ucmd: Ucmd<IommufdCtx>): number {
  const ctx = ucmd.ctx;
  const flags = ucmd.num('flags');
  if (flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR || ucmd.num('__reserved')) return -EOPNOTSUPP;
  const hwpt = ctx.objects.get(ucmd.num('hwpt_id'), 'HWPT_PAGING');
  if (typeof hwpt === 'number') return hwpt;
  const h = hwpt as HwptPaging;
  const args = { iova: ucmd.big('iova'), length: ucmd.big('length'), pageSize: ucmd.big('page_size'), data: ucmd.big('data') };
  const rc = h.domain ? ioptReadAndClearDirtyData(h.ioas.iopt, h.domain, flags, args) : -EOPNOTSUPP;
  ctx.objects.put(hwpt);
  return rc;
}

/** IOMMU_HWPT_INVALIDATE (iommufd_hwpt_invalidate): entry_num is written back with the entries done, even on error. */
export function hwptInvalidateIoctl(ucmd: Ucmd<IommufdCtx>): number {
  const ctx = ucmd.ctx;
  let done = 0;
  let rc = 0;
  const entryNum = ucmd.num('entry_num');
  const entryLen = ucmd.num('entry_len');
  if (ucmd.num('__reserved')) rc = -EOPNOTSUPP;
  else if (entryNum && (!ucmd.big('data_uptr') || !entryLen || (ctx.env.profile.invalidateEntryNumCap && (entryLen > PAGE_SIZE || entryNum > INVALIDATE_ENTRY_NUM_MAX))))
    rc = -EINVAL;
  else {
    // 6.12 looks up a nested HWPT only; 7.2 any object, then by type.
    const anyType = ctx.env.profile.invalidateTakesViommu;
    const obj = ctx.objects.get(ucmd.num('hwpt_id'), anyType ? 'ANY' : 'HWPT_NESTED');
    if (typeof obj === 'number') rc = obj;
    else {
      const arr: IommuUserDataArray = {
        type: ucmd.num('data_type'),
        uptr: ucmd.big('data_uptr'),
        entryLen,
        entryNum,
        copy: (dst, uptr, usize) => copyStructFromUser(ucmd.mem, dst, uptr, usize),
      };
      if (obj instanceof HwptNested) {
        rc = obj.domain!.cacheInvalidateUser(arr);
        done = arr.entryNum;
      } else if (obj.type === 'VIOMMU') {
        const driver = (obj as ViommuObject).driver;
        if (!driver) rc = -EOPNOTSUPP;
        else {
          rc = driver.cacheInvalidate(ctx.env, arr);
          done = arr.entryNum;
        }
      } else rc = -EINVAL;
      ctx.objects.put(obj);
    }
  }
  ucmd.set('entry_num', done);
  if (ucmd.respond()) return -EFAULT;
  return rc;
}

/**
 * iommufd_hw_pagetable_put(): drop a device's reference. An auto HWPT is
 * destroyed when nothing but the table holds it any more.
 */
export function hwptPut(ctx: IommufdCtx, hwpt: Hwpt): void {
  if (hwpt instanceof HwptPaging && hwpt.autoDomain) ctx.objects.putAndTryDestroy(hwpt);
  else ctx.objects.decUsers(hwpt);
}
