// SPDX-License-Identifier: GPL-2.0-only
/**
 * vIOMMU and vDEVICE objects (viommu.c, 7.2): a vIOMMU is the driver's
 * per-VM slice of a physical IOMMU, built on a NEST_PARENT paging HWPT (which
 * it holds); nested HWPTs may be allocated on it and HWPT_INVALIDATE may
 * target it. A vDEVICE ties a bound device to a vIOMMU under the guest's
 * virtual ID (one vDEVICE per device, one device per virt_id).
 *
 * References: the vIOMMU holds a user of its HWPT; each vDEVICE and each
 * nested HWPT on it holds a user of the vIOMMU; a vDEVICE keeps the device's
 * temporary reference (users and wait count) from its lookup until it is
 * destroyed. Unbinding the device revokes that reference in the device's
 * pre_destroy: a live vDEVICE is destroyed and its ID left as a tombstone.
 *
 * The driver's mmap regions (iommufd_viommu_alloc_mmap) get offsets of the
 * iommufd file here: the lowest free page-aligned range above the first
 * page, as the kernel's maple tree hands them out. mmap() of the iommufd
 * file (machine layer) finds a region with mmapRegionLookup and holds its
 * owner through mmapRegionGet / mmapRegionPut while a VMA maps it.
 */
import { EEXIST, EFAULT, EINVAL, ENOENT, ENOMEM, EOPNOTSUPP, EOVERFLOW, ERANGE } from '../base/errno.js';
import { xaNodesNeeded } from '../base/xarray.js';
import { faultPoint } from '../base/fault.js';
import type { HwQueueCore, HwQueueDriver, IommuDev, IommuOps, IommuUserData, ViommuCore, ViommuDriver } from '../iommu/driver.js';
import { type AccessObject, type IommufdDevice, accessCreateInternal, accessDestroyInternal } from './device.js';
import { PMD_ORDER } from '../mm/constants.js';
import { type KernelAllocation, kernelAlloc, kernelFree, kvAlloc, kvmallocFits } from './env.js';
import type { HwptPaging } from './hw-pagetable.js';
import type { VeventqObject } from './veventq.js';
import type { IommufdCtx } from './main.js';
import type { IommufdObject } from './object-table.js';
import { IOMMU_VIOMMU_TYPE_DEFAULT } from './uapi.js';

/** IOMMU_HW_QUEUE_TYPE_DEFAULT: reserved. */
const IOMMU_HW_QUEUE_TYPE_DEFAULT = 0;
import { type Ucmd, copyStructFromUser } from './ucmd.js';

/** kzalloc of the driver-sized struct iommufd_viommu (_iommufd_object_alloc_ucmd). */
export const FP_VIOMMU_ALLOC = faultPoint('kzalloc.iommufd_viommu', 'slab');
/** kzalloc of struct iommufd_vdevice. */
export const FP_VDEVICE_ALLOC = faultPoint('kzalloc.iommufd_vdevice', 'slab');
/** xa_insert of the vDEVICE's virt_id into viommu->vdevs. */
export const FP_VDEVS_INSERT = faultPoint('xa_insert.viommu_vdevs', 'atomic');
/** kzalloc of struct iommufd_mmap in _iommufd_alloc_mmap. */
export const FP_IMMAP_ALLOC = faultPoint('kzalloc.iommufd_mmap', 'slab');
/**
 * mtree_alloc_range()'s node allocation for an mmap region: made GFP_NOWAIT under the tree's lock
 * (mas_insert() preallocating), and when that fails made again by mas_nomem() with the caller's gfp and
 * retried, so the point fires without failing the call (one node for the model's regions: 7.2.13 passes one).
 */
export const FP_MT_MMAP_ALLOC = faultPoint('mtree_alloc_range.mt_mmap', 'atomic');

/** Approximate x86-64 sizeof values. */
const SIZEOF_VIOMMU = 192;
const SIZEOF_VDEVICE = 88;
const SIZEOF_IMMAP = 48;
const PAGE = 4096;

// ---------------------------------------------------------------------------
// The context's mmap regions (ictx->mt_mmap)

export interface MmapRegion {
  readonly offset: number;
  readonly length: number;
  readonly owner: IommufdObject;
  readonly alloc: KernelAllocation;
  /** The first of the physically contiguous frames behind the region (immap->mmio_addr). */
  readonly pfn: number;
  /** VMAs mapping the region, each holding a users reference on the owner (mmapRegionGet / mmapRegionPut). */
  mapped: number;
}

const mmapTables = new WeakMap<IommufdCtx, MmapRegion[]>();

/** ictx->mt_mmap: the regions, by offset. */
export function mmapRegions(ctx: IommufdCtx): readonly MmapRegion[] {
  return mmapTables.get(ctx) ?? [];
}

/** _iommufd_alloc_mmap(): the lowest free range of `length` bytes from offset PAGE_SIZE; -EINVAL / -ENOMEM. */
function allocMmap(ctx: IommufdCtx, owner: IommufdObject, length: number, pfn: number): number {
  if (!length || length % PAGE) return -EINVAL;
  const a = kernelAlloc(ctx.env, FP_IMMAP_ALLOC, SIZEOF_IMMAP, false);
  if (!a) return -ENOMEM;
  ctx.env.faults.shouldFail(FP_MT_MMAP_ALLOC);
  let list = mmapTables.get(ctx);
  if (!list) {
    list = [];
    mmapTables.set(ctx, list);
  }
  let start = PAGE;
  let k = 0;
  for (; k < list.length && list[k].offset - start < length; k++) start = list[k].offset + list[k].length;
  list.splice(k, 0, { offset: start, length, owner, alloc: a, pfn, mapped: 0 });
  return start;
}

/**
 * iommufd_fops_mmap()'s lookup (mtree_load): the region containing byte
 * `offset` of the iommufd file, if its owner is not being destroyed; the
 * caller still checks that the mapping starts and ends with it (-ENXIO).
 */
export function mmapRegionLookup(ctx: IommufdCtx, offset: bigint): MmapRegion | undefined {
  const r = mmapRegions(ctx).find((x) => offset >= BigInt(x.offset) && offset < BigInt(x.offset) + BigInt(x.length));
  if (!r || ctx.objects.usersOf(r.owner) === 0) return undefined;
  return r;
}

/** A VMA of the region opens (iommufd_fops_mmap, vm_ops->open): a users reference on the owner, so its destroy is -EBUSY. */
export function mmapRegionGet(ctx: IommufdCtx, r: MmapRegion): void {
  r.mapped++;
  ctx.objects.incUsers(r.owner);
}

/** A VMA of the region closes (iommufd_fops_vma_close): the owner's reference goes. */
export function mmapRegionPut(ctx: IommufdCtx, r: MmapRegion): void {
  if (ctx.env.warn.on(r.mapped === 0, 'iommufd_fops_vma_close.unmapped')) return;
  r.mapped--;
  ctx.objects.decUsers(r.owner);
}

/** _iommufd_destroy_mmap(): WARNs unless `owner` holds the region at `offset`. */
function destroyMmap(ctx: IommufdCtx, owner: IommufdObject, offset: number): void {
  const list = mmapTables.get(ctx) ?? [];
  const k = list.findIndex((r) => r.offset === offset);
  if (ctx.env.warn.on(k < 0 || list[k].owner !== owner, '_iommufd_destroy_mmap.owner')) return;
  kernelFree(list[k].alloc);
  list.splice(k, 1);
}

// ---------------------------------------------------------------------------
// Objects

/** struct iommufd_viommu */
export class ViommuObject implements IommufdObject {
  readonly type = 'VIOMMU' as const;
  /** viommu->vdevs: virt_id → vDEVICE (null: a slot reserved by an allocation in progress). */
  readonly vdevs = new Map<bigint, VdeviceObject | null>();
  /** viommu->ops, set by the driver's viommu_init. */
  driver: ViommuDriver | undefined;
  /** viommu->veventqs: at most one per type, each holding a user of the vIOMMU. */
  readonly veventqs: VeventqObject[] = [];
  private gone = false;

  constructor(
    readonly ctx: IommufdCtx,
    readonly hwpt: HwptPaging,
    readonly viommuType: number,
    /** viommu->iommu_dev, as the driver ops that serve it. */
    readonly iommuOps: IommuOps,
    private readonly alloc: KernelAllocation,
  ) {}

  get id(): number {
    return this.ctx.objects.idOf(this);
  }

  /** What the core offers the driver for this vIOMMU. */
  core(): ViommuCore {
    return {
      allocPages: (npages) => {
        const phys = this.ctx.env.phys;
        if (npages < 1 || npages > 1 << PMD_ORDER) return -ENOMEM;
        const head = phys.allocFolio(npages === 1 ? 0 : PMD_ORDER, { kernel: true });
        if (head < 0) return -ENOMEM;
        phys.getFrame(head);
        return head;
      },
      freePages: (pfn) => this.ctx.env.phys.putFrame(pfn),
      writePages: (pfn, offset, data) => {
        const phys = this.ctx.env.phys;
        for (let done = 0; done < data.length; ) {
          const off = offset + done;
          const n = Math.min(data.length - done, PAGE - (off % PAGE));
          phys.write(pfn + Math.floor(off / PAGE), off % PAGE, data, done, n);
          done += n;
        }
      },
      allocMmap: (length, pfn) => allocMmap(this.ctx, this, length, pfn),
      destroyMmap: (offset) => destroyMmap(this.ctx, this, offset),
      findDev: (virtId): IommuDev | undefined => this.vdevs.get(virtId)?.idev.mockDev,
      getVdevId: (dev): bigint | undefined => {
        for (const [virtId, v] of this.vdevs) if (v && v.idev.mockDev === dev) return virtId;
        return undefined;
      },
    };
  }

  /** iommufd_viommu_destroy(): the driver's destroy, then the HWPT's user. */
  destroy(): void {
    if (this.ctx.env.warn.on(this.gone, 'iommufd_viommu_destroy.twice')) return;
    this.gone = true;
    this.driver?.destroy();
    this.driver = undefined;
    this.ctx.objects.decUsers(this.hwpt);
    this.ctx.env.warn.on(this.vdevs.size !== 0, 'iommufd_viommu_destroy.vdevs', `${this.vdevs.size} vDEVICEs left`);
    this.ctx.env.warn.on(this.veventqs.length !== 0, 'iommufd_viommu_destroy.veventqs', `${this.veventqs.length} vEVENTQs left`);
    kernelFree(this.alloc);
  }
}

/** struct iommufd_vdevice */
export class VdeviceObject implements IommufdObject {
  readonly type = 'VDEVICE' as const;
  private gone = false;

  constructor(
    readonly ctx: IommufdCtx,
    readonly viommu: ViommuObject,
    readonly idev: IommufdDevice,
    readonly virtId: bigint,
    private readonly alloc: KernelAllocation,
  ) {}

  get id(): number {
    return this.ctx.objects.idOf(this);
  }

  /** iommufd_vdevice_abort(): leave the vIOMMU and the device (the device's reference stays with the caller). */
  abort(): void {
    if (this.ctx.env.warn.on(this.gone, 'iommufd_vdevice_abort.twice')) return;
    this.gone = true;
    if (this.viommu.vdevs.get(this.virtId) === this) this.viommu.vdevs.delete(this.virtId);
    this.ctx.objects.decUsers(this.viommu);
    this.idev.vdev = undefined;
    kernelFree(this.alloc);
  }

  /** iommufd_vdevice_destroy(): abort, then drop the device reference held since the allocation. */
  destroy(): void {
    this.abort();
    this.ctx.objects.put(this.idev);
  }
}

// ---------------------------------------------------------------------------
// Ioctls

/** IOMMU_VIOMMU_ALLOC (iommufd_viommu_alloc_ioctl) */
export function viommuAllocIoctl(ucmd: Ucmd<IommufdCtx>): number {
  const ctx = ucmd.ctx;
  const objects = ctx.objects;
  const type = ucmd.num('type');
  if (ucmd.num('flags') || type === IOMMU_VIOMMU_TYPE_DEFAULT) return -EOPNOTSUPP;
  const dobj = objects.get(ucmd.num('dev_id'), 'DEVICE');
  if (typeof dobj === 'number') return dobj;
  const idev = dobj as IommufdDevice;
  const rc = viommuAlloc(ucmd, idev, type);
  objects.put(dobj);
  return rc;
}

function viommuAlloc(ucmd: Ucmd<IommufdCtx>, idev: IommufdDevice, type: number): number {
  const ctx = ucmd.ctx;
  const objects = ctx.objects;
  const ops = idev.mockDev.ops;
  if (!ops.getViommuSize || !ops.viommuInit) return -EOPNOTSUPP;
  if (!ops.getViommuSize(idev.mockDev, type)) return -EOPNOTSUPP;
  const hobj = objects.get(ucmd.num('hwpt_id'), 'HWPT_PAGING');
  if (typeof hobj === 'number') return hobj;
  const hwpt = hobj as HwptPaging;
  let rc = 0;
  put: {
    if (!hwpt.nestParent || !hwpt.domain) {
      rc = -EINVAL;
      break put;
    }
    const a = kernelAlloc(ctx.env, FP_VIOMMU_ALLOC, SIZEOF_VIOMMU, true);
    if (!a) {
      rc = -ENOMEM;
      break put;
    }
    const viommu = new ViommuObject(ctx, hwpt, type, ops, a);
    ctx.passObjectIdNodes();
    const id = objects.allocUcmd(ucmd, viommu);
    if (id < 0) {
      kernelFree(a);
      rc = id;
      break put;
    }
    // From here the command's return value finalizes or destroys the object.
    objects.incUsers(hwpt);
    const dataLen = ucmd.num('data_len');
    const data: IommuUserData = {
      type,
      uptr: ucmd.big('data_uptr'),
      len: dataLen,
      copy: (dst, uptr, usize) => copyStructFromUser(ucmd.mem, dst, uptr, usize),
      copyTo: (src, uptr) => (ucmd.mem.write(uptr, src) === 0 ? 0 : -EFAULT),
    };
    const driver = ops.viommuInit(ctx.env, viommu.core(), hwpt.domain, dataLen ? data : undefined);
    if (typeof driver === 'number') {
      rc = driver;
      break put;
    }
    viommu.driver = driver;
    ucmd.set('out_viommu_id', id);
    rc = ucmd.respond();
  }
  objects.put(hobj);
  return rc;
}

/** iommufd_get_viommu(): the vIOMMU with a temporary reference, or -ENOENT. */
export function getViommu(ctx: IommufdCtx, id: number): ViommuObject | number {
  const obj = ctx.objects.get(id, 'VIOMMU');
  if (typeof obj === 'number') return obj;
  return obj as ViommuObject;
}

/** IOMMU_VDEVICE_ALLOC (iommufd_vdevice_alloc_ioctl) */
export function vdeviceAllocIoctl(ucmd: Ucmd<IommufdCtx>): number {
  const ctx = ucmd.ctx;
  const objects = ctx.objects;
  // virt_id indexes an xarray: on a 64-bit kernel every u64 fits (ULONG_MAX).
  const virtId = ucmd.big('virt_id');
  const viommu = getViommu(ctx, ucmd.num('viommu_id'));
  if (typeof viommu === 'number') return viommu;
  let rc = 0;
  const dobj = objects.get(ucmd.num('dev_id'), 'DEVICE');
  if (typeof dobj === 'number') rc = dobj;
  else {
    const idev = dobj as IommufdDevice;
    rc = vdeviceAlloc(ucmd, viommu, idev, virtId);
    // On success the vDEVICE keeps the device reference.
    if (rc) objects.put(dobj);
  }
  objects.put(viommu);
  return rc;
}

function vdeviceAlloc(ucmd: Ucmd<IommufdCtx>, viommu: ViommuObject, idev: IommufdDevice, virtId: bigint): number {
  const ctx = ucmd.ctx;
  const objects = ctx.objects;
  if (viommu.iommuOps !== idev.mockDev.ops) return -EINVAL;
  if (idev.destroying) return -ENOENT;
  if (idev.vdev) return -EEXIST;
  const a = kernelAlloc(ctx.env, FP_VDEVICE_ALLOC, SIZEOF_VDEVICE, true);
  if (!a) return -ENOMEM;
  const vdev = new VdeviceObject(ctx, viommu, idev, virtId, a);
  const id = ctx.allocId(vdev);
  if (id < 0) {
    kernelFree(a);
    return id;
  }
  objects.incUsers(viommu);
  idev.vdev = vdev;
  let rc = 0;
  if (viommu.vdevs.has(virtId)) rc = -EEXIST;
  else {
    // xa_insert(): its nodes are GFP_NOWAIT under the lock, made again with GFP_KERNEL when that fails
    // (__xas_nomem()), so fail-nth passes them and the insert goes on
    for (let n = xaNodesNeeded(viommu.vdevs.keys(), virtId, false); n > 0; n--) ctx.env.faults.shouldFail(FP_VDEVS_INSERT);
  }
  if (!rc) {
    viommu.vdevs.set(virtId, vdev);
    ucmd.set('out_vdevice_id', id);
    rc = ucmd.respond();
  }
  if (rc) objects.abortAndDestroy(vdev);
  else objects.finalize(vdev);
  return rc;
}

/**
 * iommufd_device_remove_vdev(), the device's pre_destroy: no new vDEVICE
 * from now on; a live vDEVICE is destroyed and its ID left as a tombstone,
 * which gives back the device reference it held.
 */
export function deviceRemoveVdev(idev: IommufdDevice): void {
  idev.destroying = true;
  const vdev = idev.vdev;
  if (!vdev) return;
  const objects = idev.ctx.objects;
  // iommufd_try_inc_users(): a vDEVICE on its way out finishes on its own.
  if (!objects.isLive(vdev) || objects.usersOf(vdev) === 0) return;
  objects.incUsers(vdev);
  objects.tombstoneUser(vdev);
}

// ---------------------------------------------------------------------------
// HW queues

/** kvzalloc of the page array in iommufd_hw_queue_alloc_phys. */
export const FP_HW_QUEUE_PAGES = faultPoint('kvzalloc.hw_queue_pages', 'slab');
/** kzalloc of the driver-sized struct iommufd_hw_queue (_iommufd_object_alloc_ucmd). */
export const FP_HW_QUEUE_ALLOC = faultPoint('kzalloc.iommufd_hw_queue', 'slab');

const SIZEOF_HW_QUEUE = 96;
const U64_MAX = (1n << 64n) - 1n;

/** struct iommufd_hw_queue */
export class HwQueueObject implements IommufdObject, HwQueueCore {
  readonly type = 'HW_QUEUE' as const;
  /** hw_queue->viommu, set (with a users reference) once the guest queue is pinned. */
  viommu: ViommuObject | undefined;
  /** hw_queue->access: the internal access pinning the guest queue. */
  access: AccessObject | undefined;
  /** hw_queue->destroy, the driver's half (set by a successful hw_queue_init_phys). */
  driver: HwQueueDriver | undefined;
  /** The queues this one depends on (iommufd_hw_queue_depend), each holding a user of it. */
  readonly dependsOn: HwQueueObject[] = [];
  baseAddr = 0n;
  length = 0n;
  index = 0;
  private gone = false;

  constructor(
    readonly ctx: IommufdCtx,
    readonly queueType: number,
    private readonly alloc: KernelAllocation,
  ) {}

  get id(): number {
    return this.ctx.objects.idOf(this);
  }

  depend(prev: HwQueueCore): number {
    if (prev === this || !(prev instanceof HwQueueObject)) return -EINVAL;
    this.ctx.objects.incUsers(prev);
    this.dependsOn.push(prev);
    return 0;
  }

  undepend(prev: HwQueueCore): void {
    const k = this.dependsOn.indexOf(prev as HwQueueObject);
    if (this.ctx.env.warn.on(k < 0, '_iommufd_object_undepend')) return;
    this.dependsOn.splice(k, 1);
    this.ctx.objects.decUsers(prev as HwQueueObject);
  }

  /**
   * iommufd_hw_queue_destroy(): the driver's destroy, then the guest queue's
   * pages unpinned and the internal access gone, then the vIOMMU's user; each
   * only if the allocation got that far.
   */
  destroy(): void {
    if (this.ctx.env.warn.on(this.gone, 'iommufd_hw_queue_destroy.twice')) return;
    this.gone = true;
    this.driver?.destroy();
    this.driver = undefined;
    if (this.access) {
      const { iova, length } = pinnedRange(this.baseAddr, this.length);
      this.access.core.unpinPages(iova, length);
      accessDestroyInternal(this.access);
      this.access = undefined;
    }
    if (this.viommu) this.ctx.objects.decUsers(this.viommu);
    kernelFree(this.alloc);
  }
}

/** The page-aligned IOVA range behind [base, base + length): PAGE_ALIGN_DOWN(base), PAGE_ALIGN(length + offset). */
function pinnedRange(base: bigint, length: bigint): { iova: bigint; length: bigint } {
  const iova = base & ~BigInt(PAGE - 1);
  const off = base - iova;
  return { iova, length: (length + off + BigInt(PAGE - 1)) & ~BigInt(PAGE - 1) };
}

/**
 * iommufd_hw_queue_alloc_phys(): pin the guest queue through an internal
 * access on the vIOMMU's IOAS; the pages must be physically contiguous
 * (-EFAULT). The physical address of the base, or -errno.
 */
function hwQueueAllocPhys(ctx: IommufdCtx, hq: HwQueueObject, viommu: ViommuObject, iova: bigint, len: bigint): number {
  const aligned = iova & ~BigInt(PAGE - 1);
  const offset = iova - aligned;
  let length = offset + len;
  if (length > U64_MAX) return -ERANGE;
  length += BigInt(PAGE - 1);
  if (length > U64_MAX) return -ERANGE;
  const maxNpages = length / BigInt(PAGE);
  length = maxNpages * BigInt(PAGE);
  // kvzalloc of the page-pointer array, with __GFP_NOWARN
  const bytes = maxNpages * 8n;
  if (!kvmallocFits(ctx.env, bytes)) return -ENOMEM;
  const pagesAlloc = kvAlloc(ctx.env, FP_HW_QUEUE_PAGES, Number(bytes), false);
  if (!pagesAlloc) return -ENOMEM;
  let rc = 0;
  out: {
    const access = accessCreateInternal(ctx, viommu.hwpt.ioas);
    if (typeof access === 'number') {
      rc = access;
      break out;
    }
    const pfns = new Uint32Array(Number(maxNpages));
    rc = access.core.pinPages(aligned, length, pfns, 0);
    if (!rc) {
      for (let i = 1; i < pfns.length; i++) {
        if (pfns[i] !== pfns[i - 1] + 1) {
          rc = -EFAULT;
          break;
        }
      }
      if (rc) access.core.unpinPages(aligned, length);
    }
    if (rc) {
      accessDestroyInternal(access);
      break out;
    }
    hq.access = access;
    rc = pfns[0] * PAGE + Number(offset);
  }
  kernelFree(pagesAlloc);
  return rc;
}

/**
 * IOMMU_HW_QUEUE_ALLOC (iommufd_hw_queue_alloc_ioctl, 6.17): a HW queue of
 * the vIOMMU's driver at `index`, its guest memory [nesting_parent_iova,
 * + length) pinned through an internal access and handed to the driver by
 * physical address. The object is finalized or destroyed with the command's
 * result; the queue holds a user of the vIOMMU.
 */
export function hwQueueAllocIoctl(ucmd: Ucmd<IommufdCtx>): number {
  const ctx = ucmd.ctx;
  const objects = ctx.objects;
  const type = ucmd.num('type');
  if (ucmd.num('flags') || type === IOMMU_HW_QUEUE_TYPE_DEFAULT) return -EOPNOTSUPP;
  const length = ucmd.big('length');
  if (!length) return -EINVAL;
  const base = ucmd.big('nesting_parent_iova');
  if (base + length - 1n > U64_MAX) return -EOVERFLOW;
  const viommu = getViommu(ctx, ucmd.num('viommu_id'));
  if (typeof viommu === 'number') return viommu;
  let rc = 0;
  put: {
    const driver = viommu.driver;
    if (!driver?.getHwQueueSize || !driver.hwQueueInitPhys || !driver.getHwQueueSize(type)) {
      rc = -EOPNOTSUPP;
      break put;
    }
    const a = kernelAlloc(ctx.env, FP_HW_QUEUE_ALLOC, SIZEOF_HW_QUEUE, true);
    if (!a) {
      rc = -ENOMEM;
      break put;
    }
    const hq = new HwQueueObject(ctx, type, a);
    ctx.passObjectIdNodes();
    const id = objects.allocUcmd(ucmd, hq);
    if (id < 0) {
      kernelFree(a);
      rc = id;
      break put;
    }
    // From here the command's return value finalizes or destroys the object.
    hq.baseAddr = base;
    hq.length = length;
    const basePa = hwQueueAllocPhys(ctx, hq, viommu, base, length);
    if (basePa < 0) {
      rc = basePa;
      break put;
    }
    hq.viommu = viommu;
    objects.incUsers(viommu);
    hq.index = ucmd.num('index');
    const d = driver.hwQueueInitPhys(hq, hq.index, basePa);
    if (typeof d === 'number') {
      rc = d;
      break put;
    }
    hq.driver = d;
    ucmd.set('out_hw_queue_id', id);
    rc = ucmd.respond();
  }
  objects.put(viommu);
  return rc;
}
