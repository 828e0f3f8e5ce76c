// SPDX-License-Identifier: GPL-2.0-only
/**
 * Devices and accesses (device.c), for the devices the model has: the
 * selftest's mock devices on the "iommufd_mock" bus.
 *
 * A mock device (struct mock_dev) is its own iommu_group, probed by the iommu
 * core when the device is added. Binding it to a context makes an
 * iommufd_device (a DEVICE object, users = table + the binding driver) with
 * an iommufd_group. Attach connects the group to an HWPT (paging or nested,
 * through the driver's attach_dev: the mock refuses a NO_DIRTY device on a
 * domain with dirty tracking): directly by HWPT ID, or through the
 * auto-domain path for an IOAS ID (uapi-spec §6.2):
 * try the IOAS's auto HWPTs in creation order (-EINVAL means incompatible,
 * try the next), else make a new one. Replace (§6.5) swaps the HWPT of an
 * attached device and moves the device references; detach puts the HWPT,
 * which destroys an auto HWPT no device uses any more.
 *
 * Attaching to an HWPT that reports to a fault queue turns IOPF on for the
 * device and makes an attach handle; leaving it answers the attachment's
 * outstanding faults (fault.ts).
 *
 * PASIDs (7.x): a group's attachments are kept per PASID (igroup->pasid_attach,
 * the RID at IOMMU_NO_PASID), each with its HWPT and devices. A PASID attaches
 * only to a PASID-compatible HWPT (IOMMU_HWPT_ALLOC_PASID) while the RID, if
 * attached, is on one too; the RID may not leave for an incompatible HWPT
 * while any PASID is attached (iommufd_hwpt_pasid_compat). The core checks
 * the PASID against the device's max_pasids and calls the domain's
 * set_dev_pasid (the blocking domain's on detach); the iommu group keeps the
 * attach handle of each PASID (PASID_CHECK_HWPT, fault routing).
 *
 * Mock devices report no reserved regions and no software MSI window, so the
 * reserved-region steps of attach and replace have nothing to reserve here;
 * their removal by device owner is still done where the kernel does it.
 *
 * The access half (iommufd_access_create / attach / replace / destroy) wraps
 * the core IommufdAccess in an ACCESS object that holds its IOAS as a user.
 */
import { EBUSY, EFAULT, EINVAL, ENODEV, ENOENT, ENOMEM, EOPNOTSUPP } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import { ULONG_MAX } from '../base/u64.js';
import { xaNodesNeeded } from '../base/xarray.js';
import type { AnyDomain, IommuDev, IommuOps } from '../iommu/driver.js';
import { mockIommuOps } from '../iommu/mock-driver.js';
import { type AccessOps, IommufdAccess } from './access.js';
import { type KernelAllocation, type IommufdEnv, kernelAlloc, kernelFree } from './env.js';
import { type Hwpt, HwptNested, HwptPaging, allocHwptPaging, findHwptPaging, hwptPut, ioasHwptList } from './hw-pagetable.js';
import type { IommufdIoas } from './ioas.js';
import type { IommufdCtx } from './main.js';
import type { IommufdObject } from './object-table.js';
import {
  IOMMU_HW_CAP_DIRTY_TRACKING,
  IOMMU_HW_INFO_FLAG_INPUT_TYPE,
  IOMMU_HW_INFO_TYPE_DEFAULT,
  IOMMU_HW_INFO_TYPE_NONE,
  IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED,
  IOMMU_TEST_DEV_CACHE_DEFAULT,
  MOCK_DEV_CACHE_NUM,
  MOCK_FLAGS_DEVICE_PASID,
} from './uapi.js';
import type { Ucmd } from './ucmd.js';
import { type VdeviceObject, type ViommuObject, deviceRemoveVdev } from './viommu.js';

/** IOMMU_NO_PASID: the RID's index among a group's attachments. */
export const IOMMU_NO_PASID = 0;

export const FP_MOCK_DEV_ALLOC = faultPoint('kzalloc.mock_dev', 'slab');
/** dev_set_name()'s kvasprintf. */
export const FP_MOCK_DEV_NAME = faultPoint('kvasprintf.dev_set_name', 'slab');
/** iommu_probe_device() → iommu_group_alloc(): a failure leaves the device without a group. */
export const FP_IOMMU_GROUP_ALLOC = faultPoint('kzalloc.iommu_group', 'slab');
export const FP_IGROUP_ALLOC = faultPoint('kzalloc.iommufd_group', 'slab');
export const FP_DEVICE_ALLOC = faultPoint('kzalloc.iommufd_device', 'slab');
export const FP_ACCESS_ALLOC = faultPoint('kzalloc.iommufd_access', 'slab');
/** kzalloc of the iopf_device_param in iopf_queue_add_device() when IOPF goes on (7.x). */
export const FP_IOPF_PARAM_ALLOC = faultPoint('kzalloc.iopf_device_param', 'slab');
/** kzalloc of struct iommufd_attach_handle at each attach and replace. */
export const FP_ATTACH_HANDLE_ALLOC = faultPoint('kzalloc.iommufd_attach_handle', 'slab');

/** Approximate x86-64 sizeof values. */
const SIZEOF_MOCK_DEV = 776;
const SIZEOF_DEV_NAME = 16;
const SIZEOF_IOMMU_GROUP = 312;
const SIZEOF_IOMMUFD_GROUP = 184;
const SIZEOF_IOMMUFD_DEVICE = 232;
const SIZEOF_IOMMUFD_ACCESS = 168;

/**
 * Device flags mock_dev_create() accepts: the profile's (6.12: NO_DIRTY |
 * HUGE_IOVA; 7.2: NO_DIRTY | PASID, its MOCK_IOMMUPT_HUGE page-table type
 * having replaced HUGE_IOVA).
 */
export function mockDevValidFlags(env: IommufdEnv): number {
  return env.profile.mockDevValidFlags;
}

const opsOf = new WeakMap<IommufdEnv, IommuOps>();

/** The mock driver's iommu_ops on this machine (one instance: domain->owner compares it). */
export function mockOpsOf(env: IommufdEnv): IommuOps {
  let ops = opsOf.get(env);
  if (!ops) {
    ops = mockIommuOps({
      warnMissingEntries: env.profile.mockWarnsMissingEntries,
      warnIovaToPhysMissing: env.profile.mockIovaToPhysWarnsMissing,
      hwptSelftestSize: env.profile.mockHwptSelftestPagetableType ? 8 : 4,
      // The mock that knows MOCK_FLAGS_DEVICE_PASID gives every device a pasid-num-bits property.
      pasidNumBitsProperty: (env.profile.mockDevValidFlags & MOCK_FLAGS_DEVICE_PASID) !== 0,
    });
    opsOf.set(env, ops);
  }
  return ops;
}

// ---------------------------------------------------------------------------
// The mock device and its iommu_group

/** struct iommu_group, as far as iommufd can see it. */
export class IommuGroup {
  /** DMA owner (iommu_device_claim_dma_owner); undefined = kernel DMA API. */
  owner: unknown;
  ownerCnt = 0;
  /** The attached HWPT, or undefined for the blocking domain. */
  domainOf: Hwpt | undefined;
  /** group->pasid_array beyond IOMMU_NO_PASID: the HWPT whose domain and attach handle each PASID has. */
  readonly pasidHwpt = new Map<number, Hwpt>();
  constructor(readonly alloc: KernelAllocation | undefined) {}

  /** iommu_attach_handle_get(group, pasid, 0): the HWPT behind the handle, if any. */
  handleAt(pasid: number): Hwpt | undefined {
    return pasid === IOMMU_NO_PASID ? this.domainOf : this.pasidHwpt.get(pasid);
  }
}

/** struct mock_dev */
export class MockDev implements IommuDev {
  group: IommuGroup | undefined;
  /** IOPF enabled on the device (iopf_queue_add_device). */
  iopfEnabled = false;
  /**
   * mdev->viommu / mdev->vdev_id: the vIOMMU of the nested domain the RID was
   * last attached to and the device's virt_id there, as the mock's attach_dev
   * records them (a later attach elsewhere clears them).
   */
  viommu: ViommuObject | undefined;
  vdevId = 0n;
  /**
   * mdev->cache: the device cache entries a vIOMMU invalidation clears,
   * IOMMU_TEST_DEV_CACHE_DEFAULT until then (7.2 mock_dev_create).
   */
  readonly cache = new Uint32Array(MOCK_DEV_CACHE_NUM).fill(IOMMU_TEST_DEV_CACHE_DEFAULT);
  private allocs: Array<KernelAllocation | undefined> = [];
  private removed = false;

  constructor(
    readonly flags: number,
    /** dev_iommu_ops(dev) */
    readonly ops: IommuOps,
  ) {}

  /** mock_dev_create(): -EINVAL for unknown flags, -ENOMEM. */
  static create(env: IommufdEnv, flags: number): MockDev | number {
    if (flags & ~mockDevValidFlags(env)) return -EINVAL;
    const a = kernelAlloc(env, FP_MOCK_DEV_ALLOC, SIZEOF_MOCK_DEV, false);
    if (!a) return -ENOMEM;
    const dev = new MockDev(flags, mockOpsOf(env));
    dev.allocs.push(a);
    const name = kernelAlloc(env, FP_MOCK_DEV_NAME, SIZEOF_DEV_NAME, false);
    if (!name) {
      dev.release();
      return -ENOMEM;
    }
    dev.allocs.push(name);
    // device_add(): the bus notifier probes the IOMMU; a probe failure is
    // not reported, the device just has no group (bind then gives -ENODEV).
    const g = kernelAlloc(env, FP_IOMMU_GROUP_ALLOC, SIZEOF_IOMMU_GROUP, false);
    if (g) dev.group = new IommuGroup(g);
    return dev;
  }

  /** mock_dev_destroy(): device_unregister; the group goes with its only device. */
  destroy(env: IommufdEnv): void {
    if (env.warn.on(this.removed, 'mock_dev_destroy.twice')) return;
    env.warn.on(this.group !== undefined && this.group.ownerCnt !== 0, 'iommu_release_device.owned', 'group still has a DMA owner');
    this.release();
  }

  private release(): void {
    this.removed = true;
    if (this.group) kernelFree(this.group.alloc);
    this.group = undefined;
    for (const a of this.allocs) kernelFree(a);
    this.allocs = [];
  }
}

// ---------------------------------------------------------------------------
// iommufd_device

/**
 * struct iommufd_attach: one PASID of a group (IOMMU_NO_PASID: the RID)
 * attached to an HWPT, and the devices attached through it (device_array,
 * each holding one HWPT user).
 */
export class IommufdAttach {
  readonly devices: IommufdDevice[] = [];
  constructor(
    readonly pasid: number,
    public hwpt: Hwpt,
    readonly alloc: KernelAllocation | undefined,
  ) {}
}

const NO_DEVICES: readonly IommufdDevice[] = [];

/** struct iommufd_group: the context's view of an iommu_group. */
export class IommufdGroup {
  /** igroup->pasid_attach, the RID at IOMMU_NO_PASID included. */
  readonly pasidAttach = new Map<number, IommufdAttach>();
  constructor(
    readonly group: IommuGroup,
    readonly alloc: KernelAllocation | undefined,
  ) {}

  /** The HWPT the RID is attached to. */
  get hwpt(): Hwpt | undefined {
    return this.pasidAttach.get(IOMMU_NO_PASID)?.hwpt;
  }

  /** Devices attached through the RID, in attach order. */
  get devices(): readonly IommufdDevice[] {
    return this.pasidAttach.get(IOMMU_NO_PASID)?.devices ?? NO_DEVICES;
  }
}

export class IommufdDevice implements IommufdObject {
  readonly type = 'DEVICE' as const;
  /** Mock devices support no ENFORCE_CACHE_COHERENCY. */
  readonly enforceCacheCoherency = false;
  /** idev->iopf_enabled: attachments to fault-capable HWPTs. */
  iopfEnabled = 0;
  /** idev->vdev: the vDEVICE holding this device's reference, if any. */
  vdev: VdeviceObject | undefined;
  /** idev->destroying: unbind has begun, no new vDEVICE. */
  destroying = false;
  private gone = false;

  constructor(
    readonly ctx: IommufdCtx,
    readonly mockDev: MockDev,
    readonly igroup: IommufdGroup,
    private readonly alloc: KernelAllocation,
  ) {}

  get id(): number {
    return this.ctx.objects.idOf(this);
  }

  /** The HWPT the device's RID is attached to. */
  get hwpt(): Hwpt | undefined {
    return this.hwptAt(IOMMU_NO_PASID);
  }

  /** The HWPT `pasid` of the device is attached to (iommufd_device_is_attached). */
  hwptAt(pasid: number): Hwpt | undefined {
    const attach = this.igroup.pasidAttach.get(pasid);
    return attach?.devices.includes(this) ? attach.hwpt : undefined;
  }

  /** iommufd_device_pre_destroy(): revoke the vDEVICE's reference (a tombstone takes its ID). */
  preDestroy(): void {
    deviceRemoveVdev(this);
  }

  /** iommufd_device_destroy(): give up DMA ownership and the group. */
  destroy(): void {
    const env = this.ctx.env;
    if (env.warn.on(this.gone, 'iommufd_device_destroy.twice')) return;
    this.gone = true;
    env.warn.on(this.igroup.devices.includes(this), 'iommufd_device_destroy.attached', 'device destroyed while attached');
    releaseDmaOwner(this.igroup.group);
    env.warn.on(this.igroup.pasidAttach.size !== 0, 'iommufd_group_release.pasid_attach', 'group released with attachments');
    kernelFree(this.igroup.alloc);
    kernelFree(this.alloc);
  }
}

function releaseDmaOwner(group: IommuGroup): void {
  if (group.ownerCnt > 0 && --group.ownerCnt === 0) group.owner = undefined;
}

/**
 * iommufd_device_bind(): make the DEVICE object of a mock device. It is
 * finalized at once and held by the caller until deviceUnbind().
 */
export function deviceBind(ctx: IommufdCtx, dev: MockDev): IommufdDevice | number {
  const env = ctx.env;
  // device_iommu_capable(CACHE_COHERENCY) is true for the mock; the isolated
  // MSI check is skipped for mock devices.
  const group = dev.group;
  if (!group) return -ENODEV;
  const ga = kernelAlloc(env, FP_IGROUP_ALLOC, SIZEOF_IOMMUFD_GROUP, false);
  if (!ga) return -ENOMEM;
  const igroup = new IommufdGroup(group, ga);
  // iommu_device_claim_dma_owner()
  if (group.ownerCnt > 0 && group.owner !== ctx) {
    kernelFree(ga);
    return -EBUSY;
  }
  group.owner = ctx;
  group.ownerCnt++;
  const a = kernelAlloc(env, FP_DEVICE_ALLOC, SIZEOF_IOMMUFD_DEVICE, true);
  if (!a) {
    releaseDmaOwner(group);
    kernelFree(ga);
    return -ENOMEM;
  }
  const idev = new IommufdDevice(ctx, dev, igroup, a);
  const id = ctx.allocId(idev);
  if (id < 0) {
    releaseDmaOwner(group);
    kernelFree(ga);
    kernelFree(a);
    return id;
  }
  // The binding driver is a user until unbind.
  ctx.objects.incUsers(idev);
  ctx.objects.finalize(idev);
  return idev;
}

/** iommufd_device_unbind() */
export function deviceUnbind(idev: IommufdDevice): void {
  idev.ctx.objects.destroyUser(idev);
}

/** iommufd_fault_iopf_enable() */
function iopfEnable(idev: IommufdDevice): number {
  if (++idev.iopfEnabled > 1) return 0;
  const env = idev.ctx.env;
  if (env.profile.iopfEnableAllocates && env.faults.shouldFail(FP_IOPF_PARAM_ALLOC)) {
    idev.iopfEnabled--;
    return -ENOMEM;
  }
  const rc = idev.mockDev.ops.enableIopf(idev.mockDev);
  if (rc) idev.iopfEnabled--;
  else idev.mockDev.iopfEnabled = true;
  return rc;
}

/** iommufd_fault_iopf_disable() */
function iopfDisable(idev: IommufdDevice): void {
  if (idev.ctx.env.warn.on(idev.iopfEnabled === 0, 'iommufd_fault_iopf_disable.zero')) return;
  if (--idev.iopfEnabled === 0) {
    idev.mockDev.ops.disableIopf(idev.mockDev);
    idev.mockDev.iopfEnabled = false;
  }
}

/**
 * iommufd_hwpt_pasid_compat(): the RID may leave for a non-PASID-compatible
 * HWPT only while no PASID is attached; a PASID needs a PASID-compatible
 * HWPT, and the RID (if attached) on one too.
 */
function hwptPasidCompat(hwpt: Hwpt, idev: IommufdDevice, pasid: number): number {
  const igroup = idev.igroup;
  if (pasid === IOMMU_NO_PASID) {
    if (!hwpt.pasidCompat && igroup.pasidAttach.size > (igroup.pasidAttach.has(IOMMU_NO_PASID) ? 1 : 0)) return -EINVAL;
    return 0;
  }
  if (!hwpt.pasidCompat) return -EINVAL;
  const rid = igroup.pasidAttach.get(IOMMU_NO_PASID);
  if (rid && !rid.hwpt.pasidCompat) return -EINVAL;
  return 0;
}

/**
 * __iommu_set_group_pasid(): set_dev_pasid for each PASID-capable device of
 * the group (a mock group has one device; one without PASID is skipped).
 */
function setGroupPasid(domain: AnyDomain, dev: MockDev, pasid: number, old: AnyDomain | undefined): number {
  if (!dev.ops.maxPasids(dev)) return 0;
  return domain.setDevPasid!(dev, pasid, old);
}

/** iommu_remove_dev_pasid() for each PASID-capable device of the group: to the blocking domain. */
function removeGroupPasid(env: IommufdEnv, dev: MockDev, pasid: number, domain: AnyDomain): void {
  if (!dev.ops.maxPasids(dev)) return;
  env.warn.on(dev.ops.removeDevPasid!(dev, pasid, domain) !== 0, 'iommu_remove_dev_pasid', 'blocking domain refused the PASID');
}

/**
 * iommu_attach_device_pasid(): the core's checks, then set_dev_pasid; the
 * PASID's handle is published only on success.
 */
function attachDevicePasid(hwpt: Hwpt, idev: IommufdDevice, pasid: number): number {
  const domain = hwpt.domain!;
  const dev = idev.mockDev;
  const group = idev.igroup.group;
  if (!domain.setDevPasid || !dev.ops.removeDevPasid) return -EOPNOTSUPP;
  if (domain.owner !== dev.ops) return -EINVAL;
  const max = dev.ops.maxPasids(dev);
  if (max > 0 && pasid >= max) return -EINVAL;
  if (group.pasidHwpt.has(pasid)) return -EBUSY;
  // xa_insert() reserving the PASID in group->pasid_array (which holds the RID's handle at 0 while iommufd
  // has it attached): its nodes fire without failing the call.
  const held = [...group.pasidHwpt.keys()];
  if (group.domainOf) held.push(IOMMU_NO_PASID);
  for (let n = xaNodesNeeded(held, pasid, false); n > 0; n--) hwpt.ctx.env.faults.shouldFail(FP_GROUP_PASID_ARRAY_XA);
  const rc = setGroupPasid(domain, dev, pasid, undefined);
  if (rc) return rc;
  group.pasidHwpt.set(pasid, hwpt);
  return 0;
}

/** iommu_replace_device_pasid(): move an attached PASID to another domain (set_dev_pasid with the old one). */
function replaceDevicePasid(hwpt: Hwpt, idev: IommufdDevice, pasid: number): number {
  const domain = hwpt.domain!;
  const dev = idev.mockDev;
  const group = idev.igroup.group;
  if (!domain.setDevPasid) return -EOPNOTSUPP;
  if (domain.owner !== dev.ops) return -EINVAL;
  const cur = group.pasidHwpt.get(pasid);
  if (!cur) return -EINVAL;
  if (cur.domain !== domain) {
    const rc = setGroupPasid(domain, dev, pasid, cur.domain);
    if (rc) return rc;
  }
  group.pasidHwpt.set(pasid, hwpt);
  return 0;
}

/**
 * iommufd_hwpt_attach_device(): the PASID rules, an attach handle (for
 * every attach, the RID's too: 6.12.95 and 7.2 alike), IOPF on for a fault-capable HWPT,
 * then the core: the RID through the driver's attach_dev, a PASID through
 * iommu_attach_device_pasid.
 */
function attachDomain(hwpt: Hwpt, idev: IommufdDevice, pasid: number): number {
  if (!hwpt.domain) return -EINVAL;
  const rc0 = hwptPasidCompat(hwpt, idev, pasid);
  if (rc0) return rc0;
  if (!kernelAlloc(hwpt.ctx.env, FP_ATTACH_HANDLE_ALLOC, 16, false)) return -ENOMEM;
  if (hwpt.fault) {
    const rc = iopfEnable(idev);
    if (rc) return rc;
  }
  const rc = pasid === IOMMU_NO_PASID ? hwpt.domain.attachDev(idev.mockDev) : attachDevicePasid(hwpt, idev, pasid);
  if (rc && hwpt.fault) iopfDisable(idev);
  if (!rc && pasid === IOMMU_NO_PASID) {
    idev.igroup.group.domainOf = hwpt;
    noteRidDomain(idev.mockDev, hwpt);
  }
  return rc;
}

/** mock_domain_nop_attach()'s record of the vIOMMU behind the RID's new domain (none for the blocking domain). */
function noteRidDomain(mdev: MockDev, hwpt: Hwpt | undefined): void {
  const viommu = hwpt instanceof HwptNested ? hwpt.viommu : undefined;
  if (viommu === mdev.viommu) return;
  mdev.viommu = viommu;
  mdev.vdevId = viommu ? (viommu.core().getVdevId(mdev) ?? 0n) : 0n;
}

/**
 * iommufd_hwpt_detach_device(): the RID to the blocking domain, or the PASID
 * through iommu_detach_device_pasid; the attachment's outstanding faults are
 * answered and IOPF goes off.
 */
function detachDomain(hwpt: Hwpt, idev: IommufdDevice, pasid: number): void {
  const group = idev.igroup.group;
  if (pasid === IOMMU_NO_PASID) {
    group.domainOf = undefined;
    noteRidDomain(idev.mockDev, undefined);
  } else if (hwpt.domain) {
    removeGroupPasid(hwpt.ctx.env, idev.mockDev, pasid, hwpt.domain);
    group.pasidHwpt.delete(pasid);
  }
  if (hwpt.fault) {
    hwpt.fault.autoResponse(idev, hwpt, pasid);
    iopfDisable(idev);
  }
}

/** Link or unlink the HWPT side of an attachment (its users are counted by the caller). */
function linkHwpt(hwpt: Hwpt, attach: IommufdAttach, idev: IommufdDevice, on: boolean): void {
  if (attach.pasid === IOMMU_NO_PASID) {
    if (on) hwpt.devices.add(idev);
    else hwpt.devices.delete(idev);
  } else if (on) hwpt.pasids.add(attach);
  else hwpt.pasids.delete(attach);
}

/** kzalloc of struct iommufd_attach for a first attach of a PASID (not modelled for the RID, as 6.12 had none). */
export const FP_IOMMUFD_ATTACH_ALLOC = faultPoint('kzalloc.iommufd_attach', 'slab');
/** The nodes of igroup->pasid_attach's xa_cmpxchg() and of the new attachment's device_array xa_insert(). */
export const FP_PASID_ATTACH_XA = faultPoint('xa_cmpxchg.igroup_pasid_attach', 'atomic');
export const FP_ATTACH_DEVICES_XA = faultPoint('xa_insert.attach_device_array', 'atomic');
/** iopt_table_enforce_dev_resv_regions()'s iommufd_should_fail(): -EINVAL before it asks the driver. */
export const FP_RESV_REGIONS = faultPoint('iopt_table_enforce_dev_resv_regions', 'iommufd');
/** iommu_attach_device_pasid()'s xa_insert() into the iommu group's pasid_array. */
export const FP_GROUP_PASID_ARRAY_XA = faultPoint('xa_insert.group_pasid_array', 'atomic');

/**
 * iommufd_hw_pagetable_attach(): attach `pasid` of the device's group to
 * `hwpt` (the driver attach happens for the group's first device only).
 * A device attached there already is -EBUSY, another HWPT there -EINVAL.
 * Takes an HWPT user.
 */
export function hwptAttachDevice(hwpt: Hwpt, idev: IommufdDevice, pasid = IOMMU_NO_PASID): number {
  const igroup = idev.igroup;
  let attach = igroup.pasidAttach.get(pasid);
  if (attach?.devices.includes(idev)) return -EBUSY;
  if (attach && attach.hwpt !== hwpt) return -EINVAL;
  const paging = findHwptPaging(hwpt);
  // iommufd_device_attach_reserved_iova(): a mock device has no reserved regions, but asking for them is a
  // fault point (EINVAL) for the RID.
  if (pasid === IOMMU_NO_PASID && hwpt.ctx.env.faults.shouldFail(FP_RESV_REGIONS)) return -EINVAL;
  if (!attach) {
    let alloc: KernelAllocation | undefined;
    if (pasid !== IOMMU_NO_PASID) {
      const faults = hwpt.ctx.env.faults;
      // xa_cmpxchg() reserving the PASID in the group's pasid_attach, then the new attachment's device_array
      // taking the device (xa_insert()): their nodes fire without failing the call (xaNodesNeeded()).
      for (let n = xaNodesNeeded(igroup.pasidAttach.keys(), pasid, false); n > 0; n--) faults.shouldFail(FP_PASID_ATTACH_XA);
      alloc = kernelAlloc(hwpt.ctx.env, FP_IOMMUFD_ATTACH_ALLOC, 40, false);
      if (!alloc) return -ENOMEM;
      for (let n = xaNodesNeeded([], idev.id, false); n > 0; n--) faults.shouldFail(FP_ATTACH_DEVICES_XA);
    }
    const rc = attachDomain(hwpt, idev, pasid);
    if (rc) {
      kernelFree(alloc);
      if (pasid === IOMMU_NO_PASID) paging.ioas.iopt.removeReservedIova(idev.mockDev);
      return rc;
    }
    attach = new IommufdAttach(pasid, hwpt, alloc);
    igroup.pasidAttach.set(pasid, attach);
  }
  hwpt.ctx.objects.incUsers(hwpt);
  attach.devices.push(idev);
  linkHwpt(hwpt, attach, idev, true);
  return 0;
}

/**
 * iommufd_hw_pagetable_detach(): undefined when nothing is attached at
 * `pasid`; else the HWPT, which the caller puts.
 */
export function hwptDetachDevice(idev: IommufdDevice, pasid = IOMMU_NO_PASID): Hwpt | undefined {
  const igroup = idev.igroup;
  const attach = igroup.pasidAttach.get(pasid);
  if (!attach) return undefined;
  const hwpt = attach.hwpt;
  const i = attach.devices.indexOf(idev);
  if (i >= 0) attach.devices.splice(i, 1);
  linkHwpt(hwpt, attach, idev, false);
  if (attach.devices.length === 0) {
    detachDomain(hwpt, idev, pasid);
    igroup.pasidAttach.delete(pasid);
    kernelFree(attach.alloc);
  }
  if (pasid === IOMMU_NO_PASID) findHwptPaging(hwpt).ioas.iopt.removeReservedIova(idev.mockDev);
  return hwpt;
}

/** What an attach_fn returns: an HWPT for the caller to put, nothing, or -errno. */
type AttachResult = Hwpt | undefined | number;
type AttachFn = (idev: IommufdDevice, pasid: number, hwpt: Hwpt) => AttachResult;

function doAttach(idev: IommufdDevice, pasid: number, hwpt: Hwpt): AttachResult {
  const rc = hwptAttachDevice(hwpt, idev, pasid);
  return rc ? rc : undefined;
}

/**
 * iommufd_hwpt_replace_device(): the PASID rules, a new attach handle, then
 * the core moves the RID (attach_dev) or the PASID (set_dev_pasid with the
 * old domain) to the new domain; IOPF follows the fault capability of the two
 * HWPTs, and the old attachment's outstanding faults are answered.
 */
function replaceDomain(idev: IommufdDevice, pasid: number, hwpt: Hwpt, old: Hwpt): number {
  if (!hwpt.domain) return -EINVAL;
  const rc0 = hwptPasidCompat(hwpt, idev, pasid);
  if (rc0) return rc0;
  if (!kernelAlloc(hwpt.ctx.env, FP_ATTACH_HANDLE_ALLOC, 16, false)) return -ENOMEM;
  const on = hwpt.fault !== undefined && old.fault === undefined;
  if (on) {
    const rc = iopfEnable(idev);
    if (rc) return rc;
  }
  const rc = pasid === IOMMU_NO_PASID ? hwpt.domain.attachDev(idev.mockDev) : replaceDevicePasid(hwpt, idev, pasid);
  if (rc) {
    if (on) iopfDisable(idev);
    return rc;
  }
  if (pasid === IOMMU_NO_PASID) {
    idev.igroup.group.domainOf = hwpt;
    noteRidDomain(idev.mockDev, hwpt);
  }
  if (old.fault) {
    // iommufd_auto_response_faults(): the old attachment's groups, looked for in the old HWPT's queue (6.12: in
    // the new one's, where only a shared queue has them)
    const queue = hwpt.ctx.env.profile.faultReplaceAnswersNewQueue ? hwpt.fault : old.fault;
    queue?.autoResponse(idev, old, pasid);
    if (!hwpt.fault) iopfDisable(idev);
  }
  return 0;
}

/** iommufd_device_do_replace(): move the group's `pasid` (and its device references) to `hwpt`. */
function doReplace(idev: IommufdDevice, pasid: number, hwpt: Hwpt): AttachResult {
  const igroup = idev.igroup;
  const attach = igroup.pasidAttach.get(pasid);
  if (!attach) return -EINVAL;
  const old = attach.hwpt;
  if (!attach.devices.includes(idev)) return -EINVAL;
  if (hwpt === old) return undefined;
  const paging = findHwptPaging(hwpt);
  const oldPaging = findHwptPaging(old);
  const rid = pasid === IOMMU_NO_PASID;
  // Reserved regions of the new IOAS (iommufd_group_do_replace_reserved_iova()): none for mock devices, but
  // asking for each device's is a fault point (EINVAL) when the IOAS changes.
  if (rid && paging.ioas !== oldPaging.ioas) {
    for (let k = 0; k < attach.devices.length; k++) if (hwpt.ctx.env.faults.shouldFail(FP_RESV_REGIONS)) return -EINVAL;
  }
  const rc = replaceDomain(idev, pasid, hwpt, old);
  if (rc) {
    if (rid) for (const d of attach.devices) paging.ioas.iopt.removeReservedIova(d.mockDev);
    return rc;
  }
  if (rid && paging.ioas !== oldPaging.ioas) for (const d of attach.devices) oldPaging.ioas.iopt.removeReservedIova(d.mockDev);
  for (const d of attach.devices) linkHwpt(old, attach, d, false);
  attach.hwpt = hwpt;
  for (const d of attach.devices) linkHwpt(hwpt, attach, d, true);
  const objects = hwpt.ctx.objects;
  const n = attach.devices.length;
  for (let k = 0; k < n; k++) objects.incUsers(hwpt);
  // One reference stays with old for the caller's put.
  for (let k = 1; k < n; k++) objects.decUsers(old);
  return old;
}

/**
 * iommufd_device_auto_get_domain(): reuse an auto HWPT of the IOAS that takes
 * the device, or make a new one. Sets ptId to the HWPT used.
 */
function autoGetDomain(idev: IommufdDevice, pasid: number, ioas: IommufdIoas, ptId: { value: number }, fn: AttachFn): AttachResult {
  const ctx = idev.ctx;
  const immediate = fn === doAttach;
  for (const hwpt of [...ioasHwptList(ioas)]) {
    if (!hwpt.autoDomain) continue;
    // iommufd_lock_obj() fails on an object already being destroyed.
    if (ctx.objects.usersOf(hwpt) === 0) continue;
    const r = fn(idev, pasid, hwpt);
    if (typeof r === 'number') {
      // -EINVAL: incompatible, try the next one.
      if (r === -EINVAL) continue;
      return r;
    }
    ptId.value = ctx.objects.idOf(hwpt);
    return r;
  }
  const hwpt = allocHwptPaging(ctx, ioas, idev, 0, immediate, undefined, pasid);
  if (typeof hwpt === 'number') return hwpt;
  let r: AttachResult;
  if (!immediate) {
    r = fn(idev, pasid, hwpt);
    if (typeof r === 'number') {
      ctx.objects.abortAndDestroy(hwpt);
      return r;
    }
  }
  hwpt.autoDomain = true;
  ptId.value = ctx.objects.idOf(hwpt);
  ctx.objects.finalize(hwpt);
  return r;
}

/** iommufd_device_change_pt(): pt_id names an HWPT (paging or nested) or an IOAS. */
function changePt(idev: IommufdDevice, pasid: number, ptId: { value: number }, fn: AttachFn): number {
  const ctx = idev.ctx;
  const obj = ctx.objects.get(ptId.value);
  if (typeof obj === 'number') return obj;
  let r: AttachResult;
  if (obj instanceof HwptPaging || obj instanceof HwptNested) r = fn(idev, pasid, obj);
  else if (obj.type === 'IOAS') r = autoGetDomain(idev, pasid, obj as IommufdIoas, ptId, fn);
  else r = -EINVAL;
  ctx.objects.put(obj);
  if (typeof r === 'number') return r;
  if (r) hwptPut(ctx, r);
  return 0;
}

/** iommufd_device_attach(): 0 and the HWPT ID in ptId, or -errno with nothing changed. */
export function deviceAttach(idev: IommufdDevice, ptId: { value: number }, pasid = IOMMU_NO_PASID): number {
  const rc = changePt(idev, pasid, ptId, doAttach);
  if (rc) return rc;
  // Pairs with deviceDetach().
  idev.ctx.objects.incUsers(idev);
  return 0;
}

/** iommufd_device_replace() */
export function deviceReplace(idev: IommufdDevice, ptId: { value: number }, pasid = IOMMU_NO_PASID): number {
  return changePt(idev, pasid, ptId, doReplace);
}

/** iommufd_device_detach(): nothing to do when nothing is attached at `pasid`. */
export function deviceDetach(idev: IommufdDevice, pasid = IOMMU_NO_PASID): void {
  const ctx = idev.ctx;
  const hwpt = hwptDetachDevice(idev, pasid);
  if (!hwpt) return;
  hwptPut(ctx, hwpt);
  ctx.objects.decUsers(idev);
}

// ---------------------------------------------------------------------------
// iommufd_access objects

export class AccessObject implements IommufdObject {
  readonly type = 'ACCESS' as const;
  readonly core: IommufdAccess;
  /** access->ioas */
  ioas: IommufdIoas | undefined;
  private gone = false;

  constructor(
    readonly ctx: IommufdCtx,
    ops: AccessOps,
    private readonly alloc: KernelAllocation,
    /** iommufd_access_is_internal(): made by the core for itself (a HW queue), holding no context reference. */
    readonly internal = false,
  ) {
    this.core = new IommufdAccess(ctx.env, ops);
    // iopt_area_add_access(): an internal access's pins lock their areas (IOAS_UNMAP -EBUSY)
    this.core.lockArea = internal;
  }

  get id(): number {
    return this.ctx.objects.idOf(this);
  }

  /** iommufd_access_destroy_object(): leave the IOAS, release the context. */
  destroy(): void {
    const env = this.ctx.env;
    if (env.warn.on(this.gone, 'iommufd_access_destroy_object.twice')) return;
    this.gone = true;
    this.core.dying = true;
    if (this.ioas) env.warn.on(changeIoas(this, undefined) !== 0, 'iommufd_access_destroy_object.change_ioas');
    if (!this.internal) this.ctx.ctxPut();
    kernelFree(this.alloc);
  }
}

/**
 * iommufd_access_change_ioas(): move the access to `next` (or detach it).
 * The new IOAS gains a user before the old one is left; leaving asks the
 * driver to drop every pin first.
 */
function changeIoas(a: AccessObject, next: IommufdIoas | undefined): number {
  const cur = a.ioas;
  if (cur === next) return 0;
  const objects = a.ctx.objects;
  if (next) {
    const rc = cur ? a.core.replace(next.iopt) : a.core.attach(next.iopt);
    if (rc) return rc;
    objects.incUsers(next);
  } else {
    if (!a.internal) a.core.ops.unmap?.(a.core, 0n, ULONG_MAX);
    a.core.detach();
  }
  if (cur) objects.decUsers(cur);
  a.ioas = next;
  return 0;
}

function changeIoasId(a: AccessObject, ioasId: number): number {
  const ioas = a.ctx.getIoas(ioasId);
  if (typeof ioas === 'number') return ioas;
  const rc = changeIoas(a, ioas);
  a.ctx.objects.put(ioas);
  return rc;
}

/**
 * iommufd_access_create(): an ACCESS object (it takes an ID; users = table +
 * the driver), finalized at once; it holds a context reference.
 */
export function accessCreate(ctx: IommufdCtx, ops: AccessOps): AccessObject | number {
  const a = kernelAlloc(ctx.env, FP_ACCESS_ALLOC, SIZEOF_IOMMUFD_ACCESS, true);
  if (!a) return -ENOMEM;
  const obj = new AccessObject(ctx, ops, a);
  const id = ctx.allocId(obj);
  if (id < 0) {
    kernelFree(a);
    return id;
  }
  ctx.objects.incUsers(obj);
  ctx.ctxGet();
  ctx.objects.finalize(obj);
  return obj;
}

/**
 * The ops of an internal access (the kernel's has none). Internal accesses
 * take no unmap notifications (iommufd_access_notify_unmap and
 * iommufd_access_change_ioas skip them): their pins lock the areas instead
 * (AccessObject sets lockArea, so IOAS_UNMAP over them is -EBUSY). The no-op
 * unmap only stands in for the kernel's `internal` exemption in
 * iommufd_access_pin_pages(), which checks for an unmap op otherwise.
 */
const INTERNAL_ACCESS_OPS: AccessOps = { needsPinPages: true, unmap: () => {} };

/**
 * iommufd_access_create_internal() + iommufd_access_attach_internal(): an
 * ACCESS object of the core's own (it takes an object ID, finalized at once,
 * no context reference) attached to `ioas`.
 */
export function accessCreateInternal(ctx: IommufdCtx, ioas: IommufdIoas): AccessObject | number {
  const a = kernelAlloc(ctx.env, FP_ACCESS_ALLOC, SIZEOF_IOMMUFD_ACCESS, true);
  if (!a) return -ENOMEM;
  const obj = new AccessObject(ctx, INTERNAL_ACCESS_OPS, a, true);
  const id = ctx.allocId(obj);
  if (id < 0) {
    kernelFree(a);
    return id;
  }
  ctx.objects.incUsers(obj);
  ctx.objects.finalize(obj);
  const rc = changeIoas(obj, ioas);
  if (rc) {
    accessDestroy(obj);
    return rc;
  }
  return obj;
}

/** iommufd_access_detach_internal() + iommufd_access_destroy_internal() */
export function accessDestroyInternal(a: AccessObject): void {
  if (a.ioas) a.ctx.env.warn.on(changeIoas(a, undefined) !== 0, 'iommufd_access_detach_internal');
  accessDestroy(a);
}

/** iommufd_access_attach() */
export function accessAttach(a: AccessObject, ioasId: number): number {
  if (a.ctx.env.warn.on(a.ioas !== undefined, 'iommufd_access_attach.attached')) return -EINVAL;
  return changeIoasId(a, ioasId);
}

/** iommufd_access_replace(): -ENOENT when the access is not attached. */
export function accessReplace(a: AccessObject, ioasId: number): number {
  if (!a.ioas) return -ENOENT;
  return changeIoasId(a, ioasId);
}

/** iommufd_access_destroy(): the driver's reference goes and the object with it. */
export function accessDestroy(a: AccessObject): void {
  a.ctx.objects.destroyUser(a);
}

// ---------------------------------------------------------------------------
// IOMMU_GET_HW_INFO

/**
 * IOMMU_GET_HW_INFO (iommufd_get_hw_info): the driver's info struct copied
 * into the user's buffer up to its data_len, the rest of that buffer zeroed,
 * data_len set to the driver's length, the dirty-tracking capability and the
 * PASID width.
 *
 * Flags: 6.12 rejects any (-EOPNOTSUPP); 7.2 (hwInfoInputType) takes
 * IOMMU_HW_INFO_FLAG_INPUT_TYPE with in_data_type, where a type other than
 * the driver's (or DEFAULT) is -EOPNOTSUPP from the driver's hw_info before
 * it allocates anything. 7.2 also reports PCI_ATS_NOT_SUPPORTED for the mock.
 */
export function getHwInfoIoctl(ucmd: Ucmd<IommufdCtx>): number {
  const ctx = ucmd.ctx;
  const flags = ucmd.num('flags');
  const profile = ctx.env.profile;
  if (flags & ~(profile.hwInfoInputType ? IOMMU_HW_INFO_FLAG_INPUT_TYPE : 0)) return -EOPNOTSUPP;
  for (let k = 0; k < 3; k++) if (ucmd.num(`__reserved[${k}]`)) return -EOPNOTSUPP;
  const obj = ctx.objects.get(ucmd.num('dev_id'), 'DEVICE');
  if (typeof obj === 'number') return obj;
  const idev = obj as IommufdDevice;
  const rc = getHwInfo(ucmd, idev, flags);
  ctx.objects.put(obj);
  return rc;
}

function getHwInfo(ucmd: Ucmd<IommufdCtx>, idev: IommufdDevice, flags: number): number {
  const ops = idev.mockDev.ops;
  // mock_domain_hw_info() checks the requested type before its kzalloc.
  if (flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE) {
    const want = ucmd.num('in_data_type');
    if (want !== IOMMU_HW_INFO_TYPE_DEFAULT && want !== ops.hwInfoType) return -EOPNOTSUPP;
  }
  const info = ops.hwInfo(ucmd.ctx.env, idev.mockDev);
  if (typeof info === 'number') return info;
  if (ucmd.ctx.env.warn.on(info.type === IOMMU_HW_INFO_TYPE_NONE, 'iommufd_get_hw_info.type_none')) return -ENODEV;
  const userLen = ucmd.num('data_len');
  const uptr = ucmd.big('data_uptr');
  const copyLen = Math.min(userLen, info.data.length);
  if (copyLen && ucmd.mem.write(uptr, info.data.subarray(0, copyLen))) return -EFAULT;
  // clear_user() of the rest of the user's buffer
  if (copyLen < userLen && ucmd.mem.write(uptr + BigInt(copyLen), new Uint8Array(userLen - copyLen))) return -EFAULT;
  ucmd.set('data_len', info.data.length);
  ucmd.set('out_data_type', info.type);
  let caps = ops.capable(idev.mockDev, 'DIRTY_TRACKING') ? IOMMU_HW_CAP_DIRTY_TRACKING : 0;
  if (ucmd.ctx.env.profile.hwInfoAtsNotSupportedCap && !ops.capable(idev.mockDev, 'PCI_ATS_SUPPORTED')) caps |= IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED;
  ucmd.set('out_capabilities', BigInt(caps));
  const maxPasids = ops.maxPasids(idev.mockDev);
  ucmd.set('out_max_pasid_log2', maxPasids ? Math.floor(Math.log2(maxPasids)) : 0);
  return ucmd.respond();
}
