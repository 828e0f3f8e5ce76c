// SPDX-License-Identifier: GPL-2.0-only
/**
 * IOMMU_TEST_CMD (selftest.c, CONFIG_IOMMUFD_TEST): the test-only operations
 * the kernel selftests drive: mock devices on an IOAS or HWPT, checks of the
 * mock domain's contents and of page pin counts, and the in-kernel "access"
 * driver reached through its own file descriptor.
 *
 * Which ops exist follows the profile (ops above its lastTestOp fall to the
 * kernel's default case, -EOPNOTSUPP) and the struct layout the context
 * decoded the command with: the v6.5 layout has no room for the later
 * members, so MOCK_DOMAIN_REPLACE, ACCESS_REPLACE_IOAS and MOCK_DOMAIN_FLAGS
 * are unknown ops there. The 6.12 ops DIRTY, MD_CHECK_IOTLB and TRIGGER_IOPF
 * drive the mock driver's dirty bits, nested IOTLBs and I/O page faults;
 * 7.2's DEV_CHECK_CACHE reads the mock device's cache entries, and its
 * PASID_ATTACH / REPLACE / DETACH / CHECK_HWPT attach the PASIDs of a mock
 * device (device.ts) and TRIGGER_VEVENT reports a vIOMMU event (veventq.ts). Ops of features the model does not build yet answer
 * -EOPNOTSUPP like the default case.
 *
 * Error paths unwind exactly as the kernel's gotos do, so a failed op leaves
 * objects, pins and memory charges as they were (IDs included).
 */
import { KeptBytes } from '../base/kept-bytes.js';
import { EBADE, EBADFD, EFAULT, EINVAL, EIO, ENOENT, ENOMEM, EOPNOTSUPP, EOVERFLOW } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import { ULONG_MAX, addOverflows, alignDown, alignUpWrap, wrapAdd, wrapSub } from '../base/u64.js';
import { pgsizesOf } from '../iommu/domain.js';
import { MockAmdv1Domain, MockDomain } from '../iommu/mock-domain.js';
import { MOCK_NESTED_IOTLB_ID_MAX, MockNestedDomain } from '../iommu/mock-driver.js';
import { getUserPages, putPages } from '../mm/gup.js';
import type { AccessOps, IommufdAccess } from './access.js';
import {
  type AccessObject,
  type IommufdDevice,
  MockDev,
  accessAttach,
  accessCreate,
  accessDestroy,
  accessReplace,
  deviceAttach,
  deviceBind,
  deviceDetach,
  deviceReplace,
  deviceUnbind,
} from './device.js';
import { type KernelAllocation, allocPseudoFile, kernelAlloc, kernelFree, kvAlloc, kvmallocFits } from './env.js';
import { allocIopfGroup } from './fault.js';
import { HwptNested, HwptPaging } from './hw-pagetable.js';
import { testDmabufGet, testDmabufRevoke } from './selftest-dmabuf.js';
import type { IommufdCtx, IommufdFile } from './main.js';
import type { IommufdObject } from './object-table.js';
import type { Ucmd } from './ucmd.js';
import { viommuReportEvent } from './veventq.js';
import {
  IOMMU_TEST_OP_ACCESS_PAGES,
  IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
  IOMMU_TEST_OP_ACCESS_RW,
  IOMMU_TEST_OP_ADD_RESERVED,
  IOMMU_TEST_OP_CREATE_ACCESS,
  IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
  IOMMU_TEST_OP_DEV_CHECK_CACHE,
  IOMMU_TEST_OP_DMABUF_GET,
  IOMMU_TEST_OP_DMABUF_REVOKE,
  IOMMU_TEST_OP_DIRTY,
  IOMMU_TEST_OP_MD_CHECK_IOTLB,
  IOMMU_TEST_OP_TRIGGER_IOPF,
  IOMMU_TEST_OP_TRIGGER_VEVENT,
  IOMMU_VEVENTQ_TYPE_SELFTEST,
  IOMMU_TEST_OP_MD_CHECK_MAP,
  IOMMU_TEST_OP_MD_CHECK_REFS,
  IOMMU_TEST_OP_MOCK_DOMAIN,
  IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
  IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
  IOMMU_TEST_OP_PASID_ATTACH,
  IOMMU_TEST_OP_PASID_CHECK_HWPT,
  IOMMU_TEST_OP_PASID_DETACH,
  IOMMU_TEST_OP_PASID_REPLACE,
  IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
  MOCK_ACCESS_RW_SLOW_PATH,
  MOCK_ACCESS_RW_WRITE,
  MOCK_APERTURE_LAST,
  MOCK_DEV_CACHE_ID_MAX,
  MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
  MOCK_FLAGS_ACCESS_SYZ,
  MOCK_FLAGS_ACCESS_WRITE,
} from './uapi.js';

/** kzalloc of struct selftest_obj (iommufd_object_alloc). */
export const FP_SELFTEST_OBJ_ALLOC = faultPoint('kzalloc.selftest_obj', 'slab');
export const FP_STACCESS_ALLOC = faultPoint('kzalloc.selftest_access', 'slab');
/** anon_inode_getfile() of the access file. */
export const FP_STACCESS_FILE = faultPoint('alloc_file_pseudo.staccess', 'slab');
/** ... and its dentry, allocated first (d_alloc_pseudo()). */
export const FP_STACCESS_DENTRY = faultPoint('d_alloc_pseudo.staccess', 'slab');
export const FP_ACCESS_ITEM_ALLOC = faultPoint('kzalloc.selftest_access_item', 'slab');
/** kvcalloc of the page array in iommufd_test_access_pages. */
export const FP_ACCESS_PAGES_ARRAY = faultPoint('kvcalloc.access_pages', 'slab');
/** kvzalloc of the bit buffer in iommufd_test_dirty. */
export const FP_TEST_DIRTY_BUF = faultPoint('kvzalloc.test_dirty', 'slab');
/** kvzalloc of the bounce buffer in iommufd_test_access_rw. */
export const FP_ACCESS_RW_BUF = faultPoint('kvzalloc.access_rw', 'slab');

/** MOCK_IO_PAGE_SIZE, the unit of MD_CHECK_MAP. */
const MOCK_IO = 2048n;
const PAGE = 4096n;
/** Both ACCESS_PAGES and ACCESS_RW refuse more than this before doing anything (-ENOMEM). */
const ACCESS_MAX_LENGTH = 16n * 1024n * 1024n;
/** sizeof(unsigned long) + sizeof(u32): one batch element, the floor of the temp memory limit. */
const MIN_MEMORY_LIMIT = 12;

const SIZEOF_SELFTEST_OBJ = 72;
const SIZEOF_STACCESS = 96;
const SIZEOF_ACCESS_ITEM = 48;

/** The file kind of an access fd ("[iommufd_test_staccess]"). */
export const STACCESS_KIND = 'iommufd_test_staccess';

// ---------------------------------------------------------------------------
// The selftest object: owner of one mock device

export class SelftestObject implements IommufdObject {
  readonly type = 'SELFTEST' as const;
  idev: IommufdDevice | undefined;
  mockDev: MockDev | undefined;
  private gone = false;

  constructor(
    readonly ctx: IommufdCtx,
    private readonly alloc: KernelAllocation,
  ) {}

  /** iommufd_selftest_destroy(): detach, unbind and remove the mock device. */
  destroy(): void {
    const env = this.ctx.env;
    if (env.warn.on(this.gone, 'iommufd_selftest_destroy.twice')) return;
    this.gone = true;
    const idev = this.idev;
    if (idev) {
      deviceDetach(idev);
      deviceUnbind(idev);
    }
    this.mockDev?.destroy(env);
    kernelFree(this.alloc);
  }

  /** Free the memory of an object that never got a device (iommufd_object_abort). */
  abort(): void {
    this.gone = true;
    kernelFree(this.alloc);
  }
}

// ---------------------------------------------------------------------------
// The access driver and its file

interface AccessItem {
  readonly iova: bigint;
  readonly length: bigint;
  readonly id: number;
  readonly alloc: KernelAllocation;
}

/** struct selftest_access: the private data of an access fd. */
export class StaccessFile implements IommufdFile {
  readonly kind = STACCESS_KIND;
  access: AccessObject | undefined;
  /** Pinned ranges, oldest first (the kernel's list_add_tail order). */
  readonly items: AccessItem[] = [];
  nextId = 0;
  private released = false;

  constructor(
    readonly ctx: IommufdCtx,
    readonly needsPinPages: boolean,
    private readonly alloc: KernelAllocation,
    private readonly fileAlloc: KernelAllocation,
  ) {}

  /** iommufd_access_create() took a reference on the context. */
  get heldCtx(): IommufdCtx {
    return this.ctx;
  }

  /** The driver ops handed to iommufd_access_create. */
  ops(): AccessOps {
    return {
      needsPinPages: this.needsPinPages,
      unmap: (access, iova, length) => this.unmap(access, iova, length),
    };
  }

  /**
   * iommufd_test_access_unmap(): unpin and forget every item overlapping
   * [iova, iova + length - 1] (unsigned long arithmetic, as the kernel's).
   */
  unmap(access: IommufdAccess, iova: bigint, length: bigint): void {
    const last = wrapSub(wrapAdd(iova, length), 1n);
    for (let k = 0; k < this.items.length; ) {
      const it = this.items[k];
      const itLast = wrapSub(wrapAdd(it.iova, it.length), 1n);
      if (iova > itLast || last < it.iova) {
        k++;
        continue;
      }
      this.items.splice(k, 1);
      access.unpinPages(it.iova, it.length);
      kernelFree(it.alloc);
    }
  }

  /** iommufd_test_staccess_release(): drop every pin, destroy the access. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const a = this.access;
    if (a) {
      this.unmap(a.core, 0n, ULONG_MAX);
      accessDestroy(a);
      this.access = undefined;
    }
    kernelFree(this.alloc);
    kernelFree(this.fileAlloc);
  }
}

/** iommufd_access_get(): the access behind an fd, or -EBADFD. */
function accessGet(ctx: IommufdCtx, fd: number): StaccessFile | number {
  if (fd > 0x7fff_ffff) return -EBADFD;
  const f = ctx.files.lookup(fd);
  if (!(f instanceof StaccessFile) || !f.access) return -EBADFD;
  return f;
}

/**
 * iommufd_test_syz_conv_iova(): syzkaller mode reads the IOVA field as
 * {u32 nth_area, u32 offset} and turns it into an IOVA (0 when no such area).
 */
function syzConvIova(access: IommufdAccess, raw: bigint): bigint {
  const iopt = access.iopt;
  if (!iopt) return 0n;
  let nth = Number(raw & 0xffff_ffffn);
  const offset = raw >> 32n;
  for (const area of iopt.areas()) {
    if (nth === 0) return wrapAdd(area.iova, offset);
    nth--;
  }
  return 0n;
}

// ---------------------------------------------------------------------------
// Ops

const oneFrame = new Uint32Array(1);

/** get_user_pages_fast() of one page and put_page(): the PFN, or -errno. */
function userPfn(ctx: IommufdCtx, va: bigint): number {
  const mm = ctx.env.current().mm;
  const n = getUserPages(mm, va, 1, 0, oneFrame, 0);
  if (n < 0) return n;
  if (ctx.env.warn.on(n !== 1, 'iommufd_test.gup', `get_user_pages_fast returned ${n}`)) return -EFAULT;
  const pfn = oneFrame[0];
  putPages(ctx.env.phys, oneFrame, 0, 1);
  return pfn;
}

/** iommufd_test_add_reserved(): a permanent reservation owned by nobody. */
function addReserved(ctx: IommufdCtx, ioasId: number, start: bigint, length: bigint): number {
  // 6.12.95 and 7.2 refuse an empty or wrapping range before looking the IOAS up;
  // the older selftest wrapped the last IOVA around.
  if (ctx.env.profile.addReservedChecksRange) {
    if (length === 0n) return -EINVAL;
    if (addOverflows(start, length - 1n)) return -EOVERFLOW;
  }
  const ioas = ctx.getIoas(ioasId);
  if (typeof ioas === 'number') return ioas;
  const rc = ioas.iopt.reserveIova(start, wrapSub(wrapAdd(start, length), 1n), null);
  ctx.objects.put(ioas);
  return rc;
}

/** iommufd_test_mock_domain(): selftest object, mock device, bind, attach. */
function mockDomain(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>, devFlags: number): number {
  const objects = ctx.objects;
  const a = kernelAlloc(ctx.env, FP_SELFTEST_OBJ_ALLOC, SIZEOF_SELFTEST_OBJ, true);
  if (!a) return -ENOMEM;
  const sobj = new SelftestObject(ctx, a);
  const sid = ctx.allocId(sobj);
  if (sid < 0) {
    kernelFree(a);
    return sid;
  }
  const dev = MockDev.create(ctx.env, devFlags);
  if (typeof dev === 'number') {
    objects.abortAndDestroy(sobj);
    return dev;
  }
  const idev = deviceBind(ctx, dev);
  if (typeof idev === 'number') {
    dev.destroy(ctx.env);
    objects.abortAndDestroy(sobj);
    return idev;
  }
  const pt = { value: ucmd.num('id') };
  let rc = deviceAttach(idev, pt);
  if (!rc) {
    ucmd.set('mock_domain.out_hwpt_id', pt.value);
    ucmd.set('mock_domain.out_stdev_id', sid);
    ucmd.set('mock_domain.out_idev_id', idev.id);
    rc = ucmd.respond();
    if (!rc) {
      sobj.idev = idev;
      sobj.mockDev = dev;
      objects.finalize(sobj);
      return 0;
    }
    deviceDetach(idev);
  }
  deviceUnbind(idev);
  dev.destroy(ctx.env);
  objects.abortAndDestroy(sobj);
  return rc;
}

/** iommufd_test_mock_domain_replace() */
function mockDomainReplace(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>): number {
  const obj = ctx.objects.get(ucmd.num('id'), 'SELFTEST');
  if (typeof obj === 'number') return obj;
  let rc = -EINVAL;
  const idev = obj instanceof SelftestObject ? obj.idev : undefined;
  if (idev) {
    const pt = { value: ucmd.num('mock_domain_replace.pt_id') };
    rc = deviceReplace(idev, pt);
    if (!rc) {
      ucmd.set('mock_domain_replace.pt_id', pt.value);
      rc = ucmd.respond();
    }
  }
  ctx.objects.put(obj);
  return rc;
}

/**
 * iommufd_test_md_check_pa(): each mock page of IOVA maps the physical address
 * behind the user VA. The page is 2 KiB on 6.12; 7.2 takes the smallest size
 * of the domain's pgsize_bitmap (4 KiB for the MOCK_IOMMUPT_HUGE table).
 */
function mdCheckMap(ctx: IommufdCtx, hwptId: number, iova: bigint, length: bigint, uptr: bigint): number {
  // 7.2 looks the mock HWPT up first (its page size comes from the domain), 6.12 checks the arguments first.
  const lookupFirst = ctx.env.profile.mdCheckMapLookupFirst;
  const bad = (step: bigint) => iova % step || length % step || uptr % step || addOverflows(uptr, length);
  if (!lookupFirst && bad(MOCK_IO)) return -EINVAL;
  const obj = ctx.objects.get(hwptId, 'HWPT_PAGING');
  if (typeof obj === 'number') return obj;
  const mock = obj instanceof HwptPaging && obj.domain instanceof MockDomain ? obj.domain : undefined;
  const step = lookupFirst && mock ? BigInt(pgsizesOf(mock.pgsizeBitmap)[0]) : MOCK_IO;
  if (lookupFirst && bad(step)) {
    ctx.objects.put(obj);
    return -EINVAL;
  }
  // The xarray mock has entries inside the mock aperture only; the AMDv1 one answers for its whole aperture.
  const last = BigInt(mock instanceof MockAmdv1Domain ? mock.apertureEnd : MOCK_APERTURE_LAST);
  let rc = mock ? 0 : -EINVAL;
  for (; mock && length; length -= step) {
    const pfn = userPfn(ctx, uptr & ~(PAGE - 1n));
    if (pfn < 0) {
      rc = pfn;
      break;
    }
    const phys = iova <= last ? mock.peekPhys(Number(iova)) : -1;
    if (phys < 0 || phys !== pfn * 4096 + Number(uptr % PAGE)) {
      rc = -EINVAL;
      break;
    }
    iova += step;
    uptr += step;
  }
  ctx.objects.put(obj);
  return rc;
}

/** iommufd_test_md_check_refs(): every non-compound page under uptr has `refs` long-term pins. */
function mdCheckRefs(ctx: IommufdCtx, uptr: bigint, length: bigint, refs: number): number {
  if (length % PAGE || uptr % PAGE || addOverflows(uptr, length)) return -EINVAL;
  const phys = ctx.env.phys;
  for (; length; length -= PAGE) {
    const pfn = userPfn(ctx, uptr);
    if (pfn < 0) return pfn;
    // page_ref_count / GUP_PIN_COUNTING_BIAS counts FOLL_PIN pins; compound pages are skipped.
    if (phys.folioOrder(pfn) <= 0 && phys.pincount(pfn) !== refs) return -EIO;
    uptr += PAGE;
  }
  return 0;
}

/** iommufd_test_create_access(): an access on the IOAS, returned as a new fd. */
function createAccess(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>, ioasId: number, flags: number): number {
  if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) return -EOPNOTSUPP;
  const env = ctx.env;
  const sa = kernelAlloc(env, FP_STACCESS_ALLOC, SIZEOF_STACCESS, true);
  if (!sa) return -ENOMEM;
  const fa = allocPseudoFile(env, FP_STACCESS_DENTRY, FP_STACCESS_FILE);
  if (!fa) {
    kernelFree(sa);
    return -ENOMEM;
  }
  const file = new StaccessFile(ctx, (flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) !== 0, sa, fa);
  const access = accessCreate(ctx, file.ops());
  if (typeof access === 'number') {
    file.release();
    return access;
  }
  let rc = accessAttach(access, ioasId);
  if (!rc) {
    // The kernel reserves the fd first and installs it only after the
    // write-back; the file table here installs and numbers in one step. So
    // the write-back is tried first (a fault there fails the call with no fd
    // made), then the fd is installed and its number written to the same,
    // now known-good, bytes.
    ucmd.set('create_access.out_access_fd', 0);
    rc = ucmd.respond();
    if (!rc) {
      file.access = access;
      const fd = ctx.files.install(file);
      if (fd >= 0) {
        ucmd.set('create_access.out_access_fd', fd);
        ctx.env.warn.on(ucmd.respond() !== 0, 'iommufd_test_create_access.respond', 'write-back faulted after a successful one');
        return 0;
      }
      // get_unused_fd_flags() failing is -ENOMEM to the caller.
      file.access = undefined;
      rc = -ENOMEM;
    }
  }
  accessDestroy(access);
  file.release();
  return rc;
}

/** iommufd_test_access_replace_ioas() */
function accessReplaceIoas(ctx: IommufdCtx, fd: number, ioasId: number): number {
  const f = accessGet(ctx, fd);
  if (typeof f === 'number') return f;
  return accessReplace(f.access!, ioasId);
}

/** iommufd_test_check_pages(): the pinned PFNs are the pages behind uptr. */
function checkPages(ctx: IommufdCtx, uptr: bigint, pfns: Uint32Array, npages: number): number {
  for (let k = 0; k < npages; k++) {
    const pfn = userPfn(ctx, uptr);
    if (pfn < 0) return pfn;
    if (pfn !== pfns[k]) return -EBADE;
    uptr = wrapAdd(uptr, PAGE);
  }
  return 0;
}

/** iommufd_test_access_pages(): pin a range through the access and record it as an item. */
function accessPages(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>): number {
  let iova = ucmd.big('access_pages.iova');
  const length = ucmd.big('access_pages.length');
  const uptr = ucmd.big('access_pages.uptr');
  const flags = ucmd.num('access_pages.flags');
  if (length > ACCESS_MAX_LENGTH) return -ENOMEM;
  if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ)) return -EOPNOTSUPP;
  const f = accessGet(ctx, ucmd.num('id'));
  if (typeof f === 'number') return f;
  if (!f.needsPinPages) return -EOPNOTSUPP;
  const core = f.access!.core;
  if (flags & MOCK_FLAGS_ACCESS_SYZ) iova = syzConvIova(core, iova);

  const env = ctx.env;
  const npages = Number(wrapSub(alignUpWrap(wrapAdd(iova, length), PAGE), alignDown(iova, PAGE)) / PAGE);
  let arr: KernelAllocation | undefined;
  if (npages > 0) {
    arr = kvAlloc(env, FP_ACCESS_PAGES_ARRAY, npages * 8, true);
    if (!arr) return -ENOMEM;
  }
  const pfns = new Uint32Array(npages);
  let rc = core.pinPages(iova, length, pfns, flags & MOCK_FLAGS_ACCESS_WRITE);
  if (!rc) {
    unaccess: {
      if (uptr !== 0n) {
        rc = checkPages(ctx, wrapSub(uptr, iova % PAGE), pfns, npages);
        if (rc) break unaccess;
      }
      const ia = kernelAlloc(env, FP_ACCESS_ITEM_ALLOC, SIZEOF_ACCESS_ITEM, true);
      if (!ia) {
        rc = -ENOMEM;
        break unaccess;
      }
      const item: AccessItem = { iova, length, id: f.nextId, alloc: ia };
      f.nextId = (f.nextId + 1) >>> 0;
      f.items.push(item);
      ucmd.set('access_pages.out_access_pages_id', item.id);
      rc = ucmd.respond();
      if (!rc) break unaccess;
      f.items.splice(f.items.indexOf(item), 1);
      kernelFree(ia);
    }
    if (rc) core.unpinPages(iova, length);
  }
  kernelFree(arr);
  return rc;
}

/**
 * The bounce buffer of ACCESS_RW (the kernel's kvzalloc'd tmp), kept between calls: every byte
 * is written before one is read (by the user copy of a write, or by a read's walk that succeeded;
 * a failed one copies nothing back).
 */
const rwTmp = new KeptBytes(Number(ACCESS_MAX_LENGTH));

/** iommufd_test_access_rw(): copy between user memory and the IOAS through the access. */
function accessRw(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>): number {
  let iova = ucmd.big('access_rw.iova');
  const length = ucmd.big('access_rw.length');
  const uptr = ucmd.big('access_rw.uptr');
  const flags = ucmd.num('access_rw.flags');
  if (length > ACCESS_MAX_LENGTH) return -ENOMEM;
  if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH | MOCK_FLAGS_ACCESS_SYZ)) return -EOPNOTSUPP;
  const f = accessGet(ctx, ucmd.num('id'));
  if (typeof f === 'number') return f;
  const n = Number(length);
  let buf: KernelAllocation | undefined;
  if (n > 0) {
    buf = kvAlloc(ctx.env, FP_ACCESS_RW_BUF, n, true);
    if (!buf) return -ENOMEM;
  }
  const tmp = rwTmp.get(n);
  let rc = 0;
  if (flags & MOCK_ACCESS_RW_WRITE && ucmd.mem.read(uptr, tmp) !== 0) rc = -EFAULT;
  if (!rc) {
    const core = f.access!.core;
    if (flags & MOCK_FLAGS_ACCESS_SYZ) iova = syzConvIova(core, iova);
    rc = core.rw(iova, tmp, flags);
    if (!rc && !(flags & MOCK_ACCESS_RW_WRITE) && ucmd.mem.write(uptr, tmp) !== 0) rc = -EFAULT;
  }
  kernelFree(buf);
  return rc;
}

/** iommufd_test_access_item_destroy() */
function destroyAccessPages(ctx: IommufdCtx, fd: number, itemId: number): number {
  const f = accessGet(ctx, fd);
  if (typeof f === 'number') return f;
  const k = f.items.findIndex((it) => it.id === itemId);
  if (k < 0) return -ENOENT;
  const it = f.items[k];
  f.items.splice(k, 1);
  f.access!.core.unpinPages(it.iova, it.length);
  kernelFree(it.alloc);
  return 0;
}

/** iommufd_test_md_check_iotlb(): entry `iotlbId` of a mock nested domain holds `iotlb`. */
function mdCheckIotlb(ctx: IommufdCtx, hwptId: number, iotlbId: number, iotlb: number): number {
  const obj = ctx.objects.get(hwptId, 'HWPT_NESTED');
  if (typeof obj === 'number') return obj;
  const d = obj instanceof HwptNested ? obj.domain : undefined;
  let rc = 0;
  if (!(d instanceof MockNestedDomain)) rc = -EINVAL;
  else if (iotlbId > MOCK_NESTED_IOTLB_ID_MAX || d.iotlb[iotlbId] !== iotlb) rc = -EINVAL;
  ctx.objects.put(obj);
  return rc;
}

/** iommufd_test_dev_check_cache(): entry `cacheId` of the mock device's cache holds `cache`. */
function devCheckCache(ctx: IommufdCtx, idevId: number, cacheId: number, cache: number): number {
  const obj = ctx.objects.get(idevId, 'DEVICE');
  if (typeof obj === 'number') return obj;
  const mdev = (obj as IommufdDevice).mockDev;
  const rc = cacheId > MOCK_DEV_CACHE_ID_MAX || mdev.cache[cacheId] !== cache ? -EINVAL : 0;
  ctx.objects.put(obj);
  return rc;
}

/** 16 MiB of bits: the most iommufd_test_dirty takes. */
const TEST_DIRTY_MAX_BITS = 16 * 1024 * 1024 * 8;

/**
 * iommufd_test_dirty(): for each bit set in the user's bitmap, mark the mock
 * IOPTE dirty. Note the kernel indexes the mock's 2 KiB entries by
 * (iova + i * page_size) / page_size, which is the entry's own index only
 * for page_size 2 KiB (what the selftests use); that indexing is kept.
 */
function testDirty(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>, hwptId: number): number {
  const iova = ucmd.big('dirty.iova');
  const length = ucmd.big('dirty.length');
  const pageSize = ucmd.big('dirty.page_size');
  const uptr = ucmd.big('dirty.uptr');
  if (!pageSize || !length || iova % pageSize || length % pageSize || !uptr) return -EINVAL;
  const max = length / pageSize;
  if (ctx.env.profile.testDirtyLengthCap && max > BigInt(TEST_DIRTY_MAX_BITS)) return -EOVERFLOW;
  const obj = ctx.objects.get(hwptId, 'HWPT_PAGING');
  if (typeof obj === 'number') return obj;
  const mock = obj instanceof HwptPaging && obj.domain instanceof MockDomain ? obj.domain : undefined;
  let rc = 0;
  tmp: {
    if (!mock) {
      rc = -EINVAL;
      break tmp;
    }
    if (!mock.dirtyTrack) {
      rc = -EINVAL;
      break tmp;
    }
    // kvzalloc of the whole bitmap (6.12 has no cap before it); past INT_MAX bytes the kernel also
    // WARNs, once per boot, which the model does not
    const bytes = ((max + 63n) / 64n) * 8n;
    if (!kvmallocFits(ctx.env, bytes)) {
      rc = -ENOMEM;
      break tmp;
    }
    const n = Number(max);
    const words = Math.ceil(n / 64);
    const buf = kvAlloc(ctx.env, FP_TEST_DIRTY_BUF, words * 8, true);
    if (!buf) {
      rc = -ENOMEM;
      break tmp;
    }
    const bits = new Uint8Array(words * 8);
    if (ucmd.mem.read(uptr, bits.subarray(0, Math.ceil(n / 8))) !== 0) rc = -EFAULT;
    else {
      let count = 0;
      const ps = Number(pageSize);
      const base = Number(iova);
      for (let i = 0; i < n; i++) {
        if (!(bits[i >>> 3] & (1 << (i & 7)))) continue;
        // 7.2's AMDv1 mock: set_dirty at iova + i * page_size, every bit counted.
        if (mock instanceof MockAmdv1Domain) {
          mock.setDirty(base + i * ps);
          count++;
        } else if (mock.markDirty(Math.floor((base + i * ps) / ps))) count++;
      }
      ucmd.set('dirty.out_nr_dirty', BigInt(count));
      rc = ucmd.respond();
    }
    kernelFree(buf);
  }
  ctx.objects.put(obj);
  return rc;
}

/** IOMMU_PGFAULT_FLAGS_* / IOMMU_FAULT_PAGE_REQUEST_* (same values). */
const PAGE_REQUEST_PASID_VALID = 1 << 0;
const PAGE_REQUEST_LAST_PAGE = 1 << 1;

/**
 * iommufd_test_trigger_iopf(): the mock device reports one last-page request
 * (iommu_report_device_fault). It reaches a fault queue when the device's
 * group is attached to a fault-capable HWPT: for a PASID-tagged request,
 * through the group's nested domain (the mock keeps the PASID table in the
 * guest); else through any domain. Otherwise the driver answers it and the
 * op still returns 0.
 */
function triggerIopf(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>): number {
  const obj = ctx.objects.get(ucmd.num('trigger_iopf.dev_id'), 'DEVICE');
  if (typeof obj === 'number') return obj;
  const idev = obj as IommufdDevice;
  const pasid = ucmd.num('trigger_iopf.pasid');
  const req = {
    flags: PAGE_REQUEST_LAST_PAGE | (pasid !== 0 ? PAGE_REQUEST_PASID_VALID : 0),
    pasid,
    grpid: ucmd.num('trigger_iopf.grpid'),
    perm: ucmd.num('trigger_iopf.perm'),
    addr: ucmd.big('trigger_iopf.addr'),
  };
  // find_fault_handler(): a PASID-tagged request goes to that PASID's attach
  // handle, else (the mock keeps the PASID table in the guest) to a nested
  // domain on the RID; an untagged one to the RID's handle.
  const group = idev.mockDev.group;
  let handle = pasid !== 0 ? group?.handleAt(pasid) : undefined;
  let handlePasid = handle ? pasid : 0;
  if (!handle) {
    const rid = group?.handleAt(0);
    if (pasid === 0 || (idev.mockDev.ops.userPasidTable && rid instanceof HwptNested)) handle = rid;
    handlePasid = 0;
  }
  if (handle?.fault && idev.mockDev.iopfEnabled) {
    const g = allocIopfGroup(ctx, req, idev, handle, handlePasid);
    // A failed group allocation aborts the request at the driver.
    if (g) handle.fault.handle(g);
  }
  ctx.objects.put(obj);
  return 0;
}

/** iommufd_test_get_selftest_obj(): the SELFTEST object and its device (the caller puts the object). */
function getSelftestDev(ctx: IommufdCtx, id: number): { obj: IommufdObject; idev: IommufdDevice } | number {
  const obj = ctx.objects.get(id, 'SELFTEST');
  if (typeof obj === 'number') return obj;
  const idev = obj instanceof SelftestObject ? obj.idev : undefined;
  if (!idev) {
    ctx.objects.put(obj);
    return -EINVAL;
  }
  return { obj, idev };
}

/**
 * iommufd_test_pasid_attach() / _replace(): attach or replace `pasid` of the
 * mock device (IOMMU_NO_PASID is its RID) to pasid_attach.pt_id, writing the
 * HWPT ID back; an attach whose write-back faults is detached again.
 */
function pasidAttach(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>, replace: boolean): number {
  const got = getSelftestDev(ctx, ucmd.num('id'));
  if (typeof got === 'number') return got;
  const pasid = ucmd.num('pasid_attach.pasid');
  const pt = { value: ucmd.num('pasid_attach.pt_id') };
  let rc = replace ? deviceReplace(got.idev, pt, pasid) : deviceAttach(got.idev, pt, pasid);
  if (!rc) {
    ucmd.set('pasid_attach.pt_id', pt.value);
    rc = ucmd.respond();
    if (rc && !replace) deviceDetach(got.idev, pasid);
  }
  ctx.objects.put(got.obj);
  return rc;
}

/** iommufd_test_pasid_detach(): always 0, whether or not anything was attached. */
function pasidDetach(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>): number {
  const got = getSelftestDev(ctx, ucmd.num('id'));
  if (typeof got === 'number') return got;
  deviceDetach(got.idev, ucmd.num('pasid_detach.pasid'));
  ctx.objects.put(got.obj);
  return 0;
}

/**
 * iommufd_test_pasid_check_hwpt(): the domain behind the group's attach
 * handle at `pasid` is that of HWPT hwpt_id; hwpt_id 0 asks that nothing is
 * attached there. -EINVAL when not.
 */
function pasidCheckHwpt(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>): number {
  const got = getSelftestDev(ctx, ucmd.num('id'));
  if (typeof got === 'number') return got;
  const attached = got.idev.mockDev.group?.handleAt(ucmd.num('pasid_check.pasid'))?.domain;
  const hwptId = ucmd.num('pasid_check.hwpt_id');
  let rc = 0;
  if (!hwptId) rc = attached ? -EINVAL : 0;
  else {
    // iommufd_get_hwpt(): any object, -EINVAL unless an HWPT.
    const obj = ctx.objects.get(hwptId);
    if (typeof obj === 'number') rc = obj;
    else {
      if (!(obj instanceof HwptPaging || obj instanceof HwptNested)) rc = -EINVAL;
      else if (attached !== obj.domain) rc = -EINVAL;
      ctx.objects.put(obj);
    }
  }
  ctx.objects.put(got.obj);
  return rc;
}

/**
 * iommufd_test_trigger_vevent(): the mock device reports one event
 * (struct iommu_viommu_event_selftest {u32 virt_id}) to the vEVENTQ of its
 * vIOMMU: -ENOENT unless its RID sits on a nested domain of a vIOMMU with a
 * non-zero virt_id, else what the report returns (-EOPNOTSUPP with no
 * queue of the selftest type).
 */
function triggerVevent(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>): number {
  const obj = ctx.objects.get(ucmd.num('trigger_vevent.dev_id'), 'DEVICE');
  if (typeof obj === 'number') return obj;
  const mdev = (obj as IommufdDevice).mockDev;
  let rc = -ENOENT;
  if (mdev.viommu && mdev.vdevId) {
    const ev = new Uint8Array(4);
    new DataView(ev.buffer).setUint32(0, Number(mdev.vdevId & 0xffff_ffffn), true);
    rc = viommuReportEvent(mdev.viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, ev);
  }
  ctx.objects.put(obj);
  return rc;
}

/** The union member an op needs: absent from older layouts, which makes the op unknown there. */
function hasMember(ucmd: Ucmd<IommufdCtx>, field: string): boolean {
  return ucmd.layout.has(field);
}

/** iommufd_test(): dispatch on cmd->op. */
export function iommufdTestCmd(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>): number {
  const op = ucmd.num('op');
  const id = ucmd.num('id');
  // Ops the profile's selftest driver does not have fall to its default case.
  if (op > ctx.env.profile.lastTestOp) return -EOPNOTSUPP;
  switch (op) {
    case IOMMU_TEST_OP_ADD_RESERVED:
      return addReserved(ctx, id, ucmd.big('add_reserved.start'), ucmd.big('add_reserved.length'));
    case IOMMU_TEST_OP_MOCK_DOMAIN:
      return mockDomain(ctx, ucmd, 0);
    case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
      if (!hasMember(ucmd, 'mock_domain_flags.dev_flags')) return -EOPNOTSUPP;
      return mockDomain(ctx, ucmd, ucmd.num('mock_domain_flags.dev_flags'));
    case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
      if (!hasMember(ucmd, 'mock_domain_replace.pt_id')) return -EOPNOTSUPP;
      return mockDomainReplace(ctx, ucmd);
    case IOMMU_TEST_OP_MD_CHECK_MAP:
      return mdCheckMap(ctx, id, ucmd.big('check_map.iova'), ucmd.big('check_map.length'), ucmd.big('check_map.uptr'));
    case IOMMU_TEST_OP_MD_CHECK_REFS:
      return mdCheckRefs(ctx, ucmd.big('check_refs.uptr'), ucmd.big('check_refs.length'), ucmd.num('check_refs.refs'));
    case IOMMU_TEST_OP_CREATE_ACCESS:
      return createAccess(ctx, ucmd, id, ucmd.num('create_access.flags'));
    case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
      if (!hasMember(ucmd, 'access_replace_ioas.ioas_id')) return -EOPNOTSUPP;
      return accessReplaceIoas(ctx, id, ucmd.num('access_replace_ioas.ioas_id'));
    case IOMMU_TEST_OP_ACCESS_PAGES:
      return accessPages(ctx, ucmd);
    case IOMMU_TEST_OP_ACCESS_RW:
      return accessRw(ctx, ucmd);
    case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
      return destroyAccessPages(ctx, id, ucmd.num('destroy_access_pages.access_pages_id'));
    case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT: {
      const limit = ucmd.num('memory_limit.limit');
      if (limit < MIN_MEMORY_LIMIT) return -EINVAL;
      ctx.env.tempMemoryLimit = limit;
      return 0;
    }
    case IOMMU_TEST_OP_DIRTY:
      if (!hasMember(ucmd, 'dirty.out_nr_dirty')) return -EOPNOTSUPP;
      return testDirty(ctx, ucmd, id);
    case IOMMU_TEST_OP_MD_CHECK_IOTLB:
      if (!hasMember(ucmd, 'check_iotlb.iotlb')) return -EOPNOTSUPP;
      return mdCheckIotlb(ctx, id, ucmd.num('check_iotlb.id'), ucmd.num('check_iotlb.iotlb'));
    case IOMMU_TEST_OP_TRIGGER_IOPF:
      if (!hasMember(ucmd, 'trigger_iopf.addr')) return -EOPNOTSUPP;
      return triggerIopf(ctx, ucmd);
    case IOMMU_TEST_OP_DEV_CHECK_CACHE:
      return devCheckCache(ctx, id, ucmd.num('check_dev_cache.id'), ucmd.num('check_dev_cache.cache'));
    case IOMMU_TEST_OP_TRIGGER_VEVENT:
      return triggerVevent(ctx, ucmd);
    case IOMMU_TEST_OP_PASID_ATTACH:
      return pasidAttach(ctx, ucmd, false);
    case IOMMU_TEST_OP_PASID_REPLACE:
      return pasidAttach(ctx, ucmd, true);
    case IOMMU_TEST_OP_PASID_DETACH:
      return pasidDetach(ctx, ucmd);
    case IOMMU_TEST_OP_PASID_CHECK_HWPT:
      return pasidCheckHwpt(ctx, ucmd);
    case IOMMU_TEST_OP_DMABUF_GET:
      return testDmabufGet(ctx, ucmd);
    case IOMMU_TEST_OP_DMABUF_REVOKE:
      return testDmabufRevoke(ctx, ucmd);
    default:
      return -EOPNOTSUPP;
  }
}
