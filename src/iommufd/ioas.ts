// SPDX-License-Identifier: GPL-2.0-only
/**
 * The IOAS object and its ioctls (ioas.c): IOAS_ALLOC, ALLOW_IOVAS, COPY,
 * IOVA_RANGES, MAP, UNMAP, IOMMU_OPTION and IOMMU_VFIO_IOAS.
 *
 * Every handler returns 0 or -errno and leaves the state the kernel leaves:
 * checks come in the kernel's order, MAP/COPY keep their mapping when only
 * the write-back faults, UNMAP keeps what it removed before an error, and
 * IOAS_ALLOC drops the new IOAS when its ID cannot be written back.
 */
import { EBADF, EBUSY, EFAULT, EINVAL, EMSGSIZE, ENODEV, ENOENT, ENOMEM, EOPNOTSUPP, EOVERFLOW, EPERM } from '../base/errno.js';
import { xaNodesNeeded } from '../base/xarray.js';
import { faultPoint } from '../base/fault.js';
import { IntervalTree, SpanIter } from '../base/interval-tree.js';
import { U64_MAX, ULONG_MAX, checkedAdd } from '../base/u64.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../iommu/domain.js';
import { PAGE_SIZE } from '../mm/constants.js';
import { CAP_SYS_RESOURCE, type Task } from '../mm/task.js';
import { type IommufdEnv, type KernelAllocation, kernelAlloc, kernelFree } from './env.js';
import { IOPT_ALLOC_IOVA, IoPagetable, IoptAllowed, type PagesListElm } from './io-pagetable.js';
import type { IommufdCtx } from './main.js';
import type { IommufdObject } from './object-table.js';
import type { IoptArea } from './area.js';
import { dmaBufGet } from './dmabuf.js';
import { fget } from './fget.js';
import {
  IOPT_ADDRESS_FILE,
  IOPT_PAGES_ACCOUNT_MM,
  IOPT_PAGES_ACCOUNT_MODE_NUM,
  IOPT_PAGES_ACCOUNT_NONE,
  IOPT_PAGES_ACCOUNT_USER,
  IoptPages,
  allocDmabufPages,
  allocFilePages,
  updatePinned,
} from './pages.js';
import {
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_READABLE,
  IOMMU_IOAS_MAP_WRITEABLE,
  IOMMU_OPTION_HUGE_PAGES,
  IOMMU_OPTION_OP_GET,
  IOMMU_OPTION_OP_SET,
  IOMMU_OPTION_RLIMIT_MODE,
  IOMMU_VFIO_IOAS_CLEAR,
  IOMMU_VFIO_IOAS_GET,
  IOMMU_VFIO_IOAS_SET,
  MOCK_FLAGS_ACCESS_SYZ,
  iommu_iova_range,
} from './uapi.js';
import type { Ucmd } from './ucmd.js';

/** kzalloc of struct iommufd_ioas in iommufd_object_alloc. */
export const FP_IOAS_ALLOC = faultPoint('kzalloc.iommufd_ioas', 'slab');
/** kzalloc of struct iopt_allowed in iommufd_ioas_load_iovas. */
export const FP_ALLOWED_ALLOC = faultPoint('kzalloc.iopt_allowed', 'slab');
/** Approximate x86-64 sizeof values, for memcg charges. */
const SIZEOF_IOMMUFD_IOAS = 512;
const SIZEOF_IOPT_ALLOWED = 48;

const MAP_FLAGS = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;
const RANGE_SIZE = 16n;

type IoasUcmd = Ucmd<IommufdCtx>;

/** The kzalloc behind each allowed range (GFP_KERNEL_ACCOUNT), freed with its tree. */
const allowedAllocs = new WeakMap<IoptAllowed, KernelAllocation>();

function freeAllowedTree(tree: IntervalTree<bigint, IoptAllowed>): void {
  for (const n of tree) {
    kernelFree(allowedAllocs.get(n.owner));
    allowedAllocs.delete(n.owner);
  }
}

export class IommufdIoas implements IommufdObject {
  readonly type = 'IOAS' as const;
  readonly ctx: IommufdCtx;
  readonly iopt: IoPagetable;
  private alloc: KernelAllocation | undefined;

  constructor(ctx: IommufdCtx, alloc: KernelAllocation | undefined) {
    this.ctx = ctx;
    this.alloc = alloc;
    this.iopt = new IoPagetable(ctx.env);
  }

  /** The object ID (0 once it has left the table). */
  get id(): number {
    return this.ctx.objects.idOf(this);
  }

  /** iommufd_ioas_destroy(): unmap everything, then tear the table down. */
  destroy(): void {
    const env = this.ctx.env;
    const rc = this.iopt.unmapAll({ value: 0n });
    env.warn.on(rc !== 0 && rc !== -ENOENT, 'iommufd_ioas_destroy.unmap_all', `rc ${rc}`);
    freeAllowedTree(this.iopt.allowedItree);
    this.iopt.destroy();
    kernelFree(this.alloc);
    this.alloc = undefined;
  }
}

/**
 * iommufd_ioas_alloc(): a new IOAS holding the lowest free ID, not yet
 * finalized (the caller finalizes or aborts it). -ENOMEM or -EBUSY.
 */
export function iommufdIoasAlloc(ctx: IommufdCtx): IommufdIoas | number {
  const alloc = kernelAlloc(ctx.env, FP_IOAS_ALLOC, SIZEOF_IOMMUFD_IOAS, true);
  if (!alloc) return -ENOMEM;
  const ioas = new IommufdIoas(ctx, alloc);
  const id = ctx.allocId(ioas);
  if (id < 0) {
    kernelFree(alloc);
    return id;
  }
  return ioas;
}

/** IOMMU_IOAS_ALLOC */
export function ioasAllocIoctl(ucmd: IoasUcmd): number {
  const ctx = ucmd.ctx;
  if (ucmd.num('flags')) return -EOPNOTSUPP;
  const ioas = iommufdIoasAlloc(ctx);
  if (typeof ioas === 'number') return ioas;
  ucmd.cmd.out_ioas_id = ctx.objects.idOf(ioas);
  const rc = ucmd.respond();
  if (rc) {
    // The ID never reached user space: drop the object and free the ID.
    ctx.objects.abortAndDestroy(ioas);
    return rc;
  }
  ctx.objects.finalize(ioas);
  return 0;
}

/** IOMMU_IOAS_IOVA_RANGES: the holes of the reserved ranges, as many as fit. */
export function ioasIovaRangesIoctl(ucmd: IoasUcmd): number {
  const ctx = ucmd.ctx;
  if (ucmd.num('__reserved')) return -EOPNOTSUPP;
  const ioas = ctx.getIoas(ucmd.num('ioas_id'));
  if (typeof ioas === 'number') return ioas;
  try {
    const iopt = ioas.iopt;
    const max = ucmd.num('num_iovas');
    const ranges = ucmd.big('allowed_iovas');
    let n = 0;
    const span = new SpanIter<bigint>();
    for (span.first(iopt.reservedItree, 0n, ULONG_MAX); !span.done(); span.next()) {
      if (!span.isHole) continue;
      if (n < max) {
        const elm = iommu_iova_range.encode({ start: span.startHole, last: span.lastHole });
        if (ucmd.mem.write(BigInt.asUintN(64, ranges + BigInt(n) * RANGE_SIZE), elm) !== 0) return -EFAULT;
      }
      n++;
    }
    ucmd.cmd.num_iovas = n;
    ucmd.cmd.out_iova_alignment = BigInt(iopt.iovaAlignment);
    const rc = ucmd.respond();
    if (rc) return rc;
    return n > max ? -EMSGSIZE : 0;
  } finally {
    ctx.objects.put(ioas);
  }
}

/** iommufd_ioas_load_iovas(): read the user's ranges into a new tree (freed by the caller). */
function loadIovas(ucmd: IoasUcmd, tree: IntervalTree<bigint, IoptAllowed>, ptr: bigint, num: number): number {
  const env = ucmd.ctx.env;
  const raw = new Uint8Array(16);
  for (let i = 0; i < num; i++) {
    if (ucmd.mem.read(BigInt.asUintN(64, ptr + BigInt(i) * RANGE_SIZE), raw) !== 0) return -EFAULT;
    const r = iommu_iova_range.decode(raw);
    const start = r.start as bigint;
    const last = r.last as bigint;
    if (start >= last) return -EINVAL;
    if (tree.iterFirst(start, last)) return -EINVAL;
    const alloc = kernelAlloc(env, FP_ALLOWED_ALLOC, SIZEOF_IOPT_ALLOWED, true);
    if (!alloc) return -ENOMEM;
    const allowed = new IoptAllowed(start, last);
    allowedAllocs.set(allowed, alloc);
    tree.insert(allowed.node);
  }
  return 0;
}

/** IOMMU_IOAS_ALLOW_IOVAS: replace the allowed list atomically. */
export function ioasAllowIovasIoctl(ucmd: IoasUcmd): number {
  const ctx = ucmd.ctx;
  if (ucmd.num('__reserved')) return -EOPNOTSUPP;
  const ioas = ctx.getIoas(ucmd.num('ioas_id'));
  if (typeof ioas === 'number') return ioas;
  const tree = new IntervalTree<bigint, IoptAllowed>(1n);
  let toFree = tree;
  try {
    const rc = loadIovas(ucmd, tree, ucmd.big('allowed_iovas'), ucmd.num('num_iovas'));
    if (rc) return rc;
    const r = ioas.iopt.setAllowIova(tree);
    toFree = r.old;
    return r.rc;
  } finally {
    freeAllowedTree(toFree);
    ctx.objects.put(ioas);
  }
}

/** conv_iommu_prot(): the IOMMU_* protection of MAP/COPY flags (cache coherent always). */
export function convIommuProt(flags: number): number {
  let prot = IOMMU_CACHE;
  if (flags & IOMMU_IOAS_MAP_WRITEABLE) prot |= IOMMU_WRITE;
  if (flags & IOMMU_IOAS_MAP_READABLE) prot |= IOMMU_READ;
  return prot;
}

/** IOMMU_IOAS_MAP */
export function ioasMapIoctl(ucmd: IoasUcmd): number {
  const ctx = ucmd.ctx;
  const flags = ucmd.num('flags');
  if (flags & ~MAP_FLAGS || ucmd.num('__reserved')) return -EOPNOTSUPP;
  const iovaIn = ucmd.big('iova');
  const length = ucmd.big('length');
  if (iovaIn >= ULONG_MAX || length >= ULONG_MAX) return -EOVERFLOW;
  if (ctx.env.profile.mapNeedsReadOrWrite && !(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) return -EINVAL;
  const ioas = ctx.getIoas(ucmd.num('ioas_id'));
  if (typeof ioas === 'number') return ioas;
  try {
    const iova = { value: iovaIn };
    const allocFlags = flags & IOMMU_IOAS_MAP_FIXED_IOVA ? 0 : IOPT_ALLOC_IOVA;
    const accountMm = ctx.accountMode === IOPT_PAGES_ACCOUNT_MM;
    const rc = ioas.iopt.mapUserPages(accountMm, iova, ucmd.big('user_va'), length, convIommuProt(flags), allocFlags);
    if (rc) return rc;
    ucmd.cmd.iova = iova.value;
    // A faulting write-back leaves the mapping in place.
    return ucmd.respond();
  } finally {
    ctx.objects.put(ioas);
  }
}

/**
 * iommufd_test_syz_conv_iova_id() (test kernels): with MOCK_FLAGS_ACCESS_SYZ
 * the IOVA is "nth area (low 32 bits) + offset (high 32 bits)" of the IOAS;
 * the flag is consumed. The IOVA is left alone when the IOAS lookup fails and
 * becomes 0 when there is no such area.
 */
export function syzConvIovaId(ctx: IommufdCtx, ioasId: number, iova: bigint, flags: number): { iova: bigint; flags: number } {
  if (!(flags & MOCK_FLAGS_ACCESS_SYZ)) return { iova, flags };
  const outFlags = (flags & ~MOCK_FLAGS_ACCESS_SYZ) >>> 0;
  const ioas = ctx.getIoas(ioasId);
  if (typeof ioas === 'number') return { iova, flags: outFlags };
  try {
    let nth = Number(iova & 0xffff_ffffn);
    const offset = iova >> 32n;
    for (const area of ioas.iopt.areas()) {
      if (nth === 0) return { iova: BigInt.asUintN(64, area.iova + offset), flags: outFlags };
      nth--;
    }
    return { iova: 0n, flags: outFlags };
  } finally {
    ctx.objects.put(ioas);
  }
}

/** IOMMU_IOAS_COPY: map the pages behind a source range at a new IOVA. */
export function ioasCopyIoctl(ucmd: IoasUcmd): number {
  const ctx = ucmd.ctx;
  const cmd = ucmd.cmd;
  const srcId = ucmd.num('src_ioas_id');
  const syz = syzConvIovaId(ctx, srcId, ucmd.big('src_iova'), ucmd.num('flags'));
  cmd.src_iova = syz.iova;
  cmd.flags = syz.flags;
  const flags = syz.flags;
  if (flags & ~MAP_FLAGS) return -EOPNOTSUPP;
  const length = ucmd.big('length');
  const srcIova = syz.iova;
  const dstIova = ucmd.big('dst_iova');
  if (length >= ULONG_MAX || srcIova >= ULONG_MAX || dstIova >= ULONG_MAX) return -EOVERFLOW;
  if (ctx.env.profile.mapNeedsReadOrWrite && !(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) return -EINVAL;

  const src = ctx.getIoas(srcId);
  if (typeof src === 'number') return src;
  const list: PagesListElm[] = [];
  let rc = src.iopt.getPages(srcIova, length, list);
  ctx.objects.put(src);
  if (rc) return rc;

  const dst = ctx.getIoas(ucmd.num('dst_ioas_id'));
  if (typeof dst === 'number') {
    src.iopt.freePagesList(list);
    return dst;
  }
  try {
    const iova = { value: dstIova };
    const allocFlags = flags & IOMMU_IOAS_MAP_FIXED_IOVA ? 0 : IOPT_ALLOC_IOVA;
    rc = dst.iopt.mapPages(list, length, iova, convIommuProt(flags), allocFlags);
    if (rc) return rc;
    cmd.dst_iova = iova.value;
    return ucmd.respond();
  } finally {
    dst.iopt.freePagesList(list);
    ctx.objects.put(dst);
  }
}

/** IOMMU_IOAS_UNMAP: whole areas inside the range, or everything for (0, U64_MAX). */
export function ioasUnmapIoctl(ucmd: IoasUcmd): number {
  const ctx = ucmd.ctx;
  const ioas = ctx.getIoas(ucmd.num('ioas_id'));
  if (typeof ioas === 'number') return ioas;
  try {
    const iova = ucmd.big('iova');
    const length = ucmd.big('length');
    const unmapped = { value: 0n };
    if (iova === 0n && length === U64_MAX) {
      const rc = ioas.iopt.unmapAll(unmapped);
      if (rc) return rc;
    } else {
      if (iova >= ULONG_MAX || length >= ULONG_MAX) return -EOVERFLOW;
      const rc = ioas.iopt.unmapIova(iova, length, unmapped);
      if (rc) return rc;
      // Once the page table accepts empty ranges, the ioctl keeps reporting them (iommufd_ioas_unmap).
      if (unmapped.value === 0n) return -ENOENT;
    }
    ucmd.cmd.length = unmapped.value;
    return ucmd.respond();
  } finally {
    ctx.objects.put(ioas);
  }
}

/** iommufd_option_rlimit_mode(): the context's accounting mode. */
function optionRlimitMode(ucmd: IoasUcmd): number {
  const ctx = ucmd.ctx;
  if (ucmd.num('object_id')) return -EOPNOTSUPP;
  const op = ucmd.num('op');
  if (op === IOMMU_OPTION_OP_GET) {
    ucmd.cmd.val64 = ctx.accountMode === IOPT_PAGES_ACCOUNT_MM ? 1n : 0n;
    return 0;
  }
  if (op === IOMMU_OPTION_OP_SET) {
    if (!ctx.env.current().capable(CAP_SYS_RESOURCE)) return -EPERM;
    // Any object at all, even one still being created, pins the mode.
    if (!ctx.objects.xaEmpty()) return -EBUSY;
    const val = ucmd.big('val64');
    if (val === 0n) ctx.accountMode = IOPT_PAGES_ACCOUNT_USER;
    else if (val === 1n) ctx.accountMode = IOPT_PAGES_ACCOUNT_MM;
    else return -EINVAL;
    return 0;
  }
  return -EOPNOTSUPP;
}

/** iommufd_ioas_option(): HUGE_PAGES of one IOAS; the lookup comes before the op check. */
function optionHugePages(ucmd: IoasUcmd): number {
  const ctx = ucmd.ctx;
  const ioas = ctx.getIoas(ucmd.num('object_id'));
  if (typeof ioas === 'number') return ioas;
  try {
    const iopt = ioas.iopt;
    const op = ucmd.num('op');
    if (op === IOMMU_OPTION_OP_GET) {
      ucmd.cmd.val64 = iopt.disableLargePages ? 0n : 1n;
      return 0;
    }
    if (op === IOMMU_OPTION_OP_SET) {
      const val = ucmd.big('val64');
      if (val === 0n) return iopt.disableLargePagesOp();
      if (val === 1n) {
        iopt.enableLargePagesOp();
        return 0;
      }
      return -EINVAL;
    }
    return -EOPNOTSUPP;
  } finally {
    ctx.objects.put(ioas);
  }
}

/** IOMMU_OPTION (main.c iommufd_option): on success only val64 is written back. */
export function optionIoctl(ucmd: IoasUcmd): number {
  if (ucmd.num('__reserved')) return -EOPNOTSUPP;
  let rc: number;
  switch (ucmd.num('option_id')) {
    case IOMMU_OPTION_RLIMIT_MODE:
      rc = optionRlimitMode(ucmd);
      break;
    case IOMMU_OPTION_HUGE_PAGES:
      rc = optionHugePages(ucmd);
      break;
    default:
      return -EOPNOTSUPP;
  }
  if (rc) return rc;
  return ucmd.respondField('val64');
}

/**
 * get_compat_ioas(): the context's VFIO compat IOAS, or -ENODEV. The
 * kernel locks it for the call; a single thread cannot race its destruction,
 * and removal from the table clears the pointer, so no reference is taken.
 */
export function getCompatIoas(ctx: IommufdCtx): IommufdIoas | number {
  const ioas = ctx.vfioIoas;
  if (!ioas || !ctx.objects.isLive(ioas) || ctx.objects.usersOf(ioas) === 0) return -ENODEV;
  return ioas;
}

/** IOMMU_VFIO_IOAS (vfio_compat.c iommufd_vfio_ioas) */
export function vfioIoasIoctl(ucmd: IoasUcmd): number {
  const ctx = ucmd.ctx;
  if (ucmd.num('__reserved')) return -EOPNOTSUPP;
  switch (ucmd.num('op')) {
    case IOMMU_VFIO_IOAS_GET: {
      const ioas = getCompatIoas(ctx);
      if (typeof ioas === 'number') return ioas;
      ucmd.cmd.ioas_id = ctx.objects.idOf(ioas);
      return ucmd.respond();
    }
    case IOMMU_VFIO_IOAS_SET: {
      const ioas = ctx.getIoas(ucmd.num('ioas_id'));
      if (typeof ioas === 'number') return ioas;
      ctx.vfioIoas = ioas;
      ctx.objects.put(ioas);
      return 0;
    }
    case IOMMU_VFIO_IOAS_CLEAR:
      ctx.vfioIoas = undefined;
      return 0;
    default:
      return -EOPNOTSUPP;
  }
}

/**
 * iopt_map_file_pages(): map bytes [start, start + length) of the file open
 * as `fd`: a dma-buf through its exporter's physical range, any other file
 * through its page cache (pinned only when a domain needs the pages, so a
 * file that cannot be pinned, or a range past its end, fails only then).
 */
function mapFilePages(ctx: IommufdCtx, ioas: IommufdIoas, iova: { value: bigint }, fd: number, start: bigint, length: bigint, prot: number, flags: number): number {
  const env = ctx.env;
  if (length === 0n) return -EINVAL;
  if (checkedAdd(start, length - 1n) === undefined) return -EOVERFLOW;
  const startByte = Number(start % BigInt(PAGE_SIZE));
  const writable = (prot & IOMMU_WRITE) !== 0;
  let pages: IoptPages | number;
  const buf = dmaBufGet(ctx, fd);
  if (typeof buf !== 'number') {
    pages = allocDmabufPages(env, buf, startByte, start, length, writable);
    if (typeof pages === 'number') {
      buf.put();
      return pages;
    }
  } else {
    const file = fget(ctx, fd);
    if (!file) return -EBADF;
    pages = allocFilePages(env, file.memfile, startByte, start, length, writable, file.hold);
    if (typeof pages === 'number') return pages;
  }
  return ioas.iopt.mapCommon(ctx.accountMode === IOPT_PAGES_ACCOUNT_MM, pages, iova, length, startByte, prot, flags);
}

/** IOMMU_IOAS_MAP_FILE (iommufd_ioas_map_file(), 6.13): IOAS_MAP of a memfd or dma-buf range. */
export function ioasMapFileIoctl(ucmd: IoasUcmd): number {
  const ctx = ucmd.ctx;
  const flags = ucmd.num('flags');
  if (flags & ~MAP_FLAGS) return -EOPNOTSUPP;
  const iovaIn = ucmd.big('iova');
  const length = ucmd.big('length');
  if (iovaIn >= ULONG_MAX || length >= ULONG_MAX) return -EOVERFLOW;
  if (!(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) return -EINVAL;
  const ioas = ctx.getIoas(ucmd.num('ioas_id'));
  if (typeof ioas === 'number') return ioas;
  try {
    const iova = { value: iovaIn };
    const allocFlags = flags & IOMMU_IOAS_MAP_FIXED_IOVA ? 0 : IOPT_ALLOC_IOVA;
    const rc = mapFilePages(ctx, ioas, iova, ucmd.num('fd'), ucmd.big('start'), length, convIommuProt(flags), allocFlags);
    if (rc) return rc;
    ucmd.cmd.iova = iova.value;
    return ucmd.respond();
  } finally {
    ctx.objects.put(ioas);
  }
}

/** xa_store() of each IOAS into the local list of iommufd_take_all_iova_rwsem(). */
export const FP_CHANGE_PROCESS_XA = faultPoint('xa_store.change_process_ioas_list', 'atomic');

/** need_charge_update(): would moving this pages object to the caller move any charge? */
function needChargeUpdate(pages: IoptPages, task: Task): boolean {
  switch (pages.accountMode) {
    case IOPT_PAGES_ACCOUNT_NONE:
      return false;
    case IOPT_PAGES_ACCOUNT_MM:
      return pages.sourceMm !== task.mm;
    case IOPT_PAGES_ACCOUNT_USER:
      // pinned_vm is per mm, so a new mm alone moves it
      return pages.sourceUser !== task.user || pages.sourceMm !== task.mm;
  }
  return true;
}

/** charge_current(): charge npinned[mode] to the caller in each mode, all or nothing. */
function chargeCurrent(env: IommufdEnv, npinned: number[]): number {
  const tmp = new IoptPages(env, 0n, 0, false, env.current());
  let mode = 0;
  let rc = 0;
  for (; mode !== IOPT_PAGES_ACCOUNT_MODE_NUM; mode++) {
    if (!npinned[mode]) continue;
    tmp.accountMode = mode;
    rc = updatePinned(env, tmp, npinned[mode], true, undefined);
    if (rc) break;
  }
  if (!rc) return 0;
  while (mode !== 0) {
    mode--;
    if (!npinned[mode]) continue;
    tmp.accountMode = mode;
    updatePinned(env, tmp, npinned[mode], false, undefined);
  }
  return rc;
}

/**
 * IOMMU_IOAS_CHANGE_PROCESS (iommufd_ioas_change_process(), 6.14): move the
 * pinned and locked charge of every pages object of every IOAS in the context
 * to the calling process (its mm, task and user). Only file-backed maps can
 * move (-EINVAL otherwise); a charge over the caller's RLIMIT_MEMLOCK is
 * -ENOMEM; on failure nothing changes.
 */
export function ioasChangeProcessIoctl(ucmd: IoasUcmd): number {
  const ctx = ucmd.ctx;
  const env = ctx.env;
  if (ucmd.num('__reserved')) return -EOPNOTSUPP;
  // iommufd_take_all_iova_rwsem(): every IOAS still referenced, in ID order
  const list: IommufdIoas[] = [];
  // xa_store(ioas_list, id) of each: the nodes it makes are GFP_NOWAIT under the lock, made again with
  // GFP_KERNEL when that fails (__xas_nomem()), so fail-nth passes them and the call goes on
  const ids: number[] = [];
  for (const { id, obj, users } of ctx.objects.live()) {
    if (!(obj instanceof IommufdIoas) || users === 0) continue;
    for (let n = xaNodesNeeded(ids, id, false); n > 0; n--) env.faults.shouldFail(FP_CHANGE_PROCESS_XA);
    ids.push(id);
    list.push(obj);
  }
  const areas: IoptArea[] = [];
  for (const ioas of list) areas.push(...ioas.iopt.areas());
  for (const area of areas) {
    if (!area.pages) return -EBUSY;
    if (area.pages.type !== IOPT_ADDRESS_FILE) return -EINVAL;
  }
  const task = env.current();
  // Count each pages object once: its last_npinned is cleared when counted
  // (npinned == last_npinned under the locks) and restored below.
  const all = [0, 0, 0];
  for (const area of areas) {
    const pages = area.pages!;
    if (needChargeUpdate(pages, task)) {
      all[pages.accountMode] += pages.lastNpinned;
      pages.lastNpinned = 0;
    }
  }
  let rc = chargeCurrent(env, all);
  if (rc) {
    for (const area of areas) area.pages!.lastNpinned = area.pages!.npinned;
    return rc;
  }
  for (const area of areas) {
    const pages = area.pages!;
    if (needChargeUpdate(pages, task)) {
      // uncharge the old owner, which also restores last_npinned
      const r = updatePinned(env, pages, pages.npinned, false, undefined);
      if (env.warn.on(r !== 0, 'iommufd_ioas_change_process.uncharge', `rc ${r}`)) rc = r;
    }
    else if (pages.sourceMm !== task.mm && pages.npinned > 0) {
      // account mode NONE: pinned_vm is not moved, yet the pages get the new mm, which later
      // unpins uncharge (a kernel quirk: the old mm keeps the pages, the new one goes below)
      pages.sourceMm.pinnedVmMoved = true;
      task.mm.pinnedVmMoved = true;
    }
    // change_mm()
    task.mm.mmgrab();
    pages.sourceMm.mmdrop();
    pages.sourceMm = task.mm;
    pages.sourceTask = task;
    pages.sourceUser = task.user;
  }
  return rc;
}
