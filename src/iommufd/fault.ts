// SPDX-License-Identifier: GPL-2.0-only
/**
 * Fault queues (fault.c, 6.12): IOMMU_FAULT_QUEUE_ALLOC makes a FAULT object
 * and its file ("[iommufd-pgfault]"). HWPTs allocated with a fault_id send
 * the I/O page faults of devices attached to them there.
 *
 * - A fault group (struct iopf_group) waits on `deliver` until read(2) hands
 *   out all its records at once (struct iommu_hwpt_pgfault, 40 bytes each)
 *   and files it under a cookie (xa_alloc from 1, or from 0 once a response
 *   gave cookie 0 up) on `response`. A read
 *   whose count is not a multiple of 40, or at a non-zero position, is
 *   -ESPIPE; one too short for the first waiting group is -EINVAL (7.x; 6.12 returns 0); a fault
 *   while copying puts the group back and ends the read.
 * - write(2) takes struct iommu_hwpt_page_response records (8 bytes): an
 *   unknown code or cookie stops with -EINVAL, and each good one completes
 *   its group. Both report the bytes done when any were.
 * - poll: always writable, readable while a group waits.
 * - When a device leaves a fault-capable HWPT, or the queue is destroyed,
 *   its outstanding groups are answered INVALID and freed.
 *
 * The file holds a users reference on the FAULT object and one on the
 * context; closing it drops both.
 */
import { EFAULT, EINVAL, ENOMEM, EOPNOTSUPP, ESPIPE } from '../base/errno.js';
import { xaNodesNeeded } from '../base/xarray.js';
import { faultPoint } from '../base/fault.js';
import type { IommufdDevice } from './device.js';
import { type KernelAllocation, allocPseudoFile, kernelAlloc, kernelFree } from './env.js';
import type { IommufdCtx, IommufdFile } from './main.js';
import type { IommufdObject } from './object-table.js';
import type { Ucmd, UserMemory } from './ucmd.js';
import { veventqAllocIoctl as veventqAlloc } from './veventq.js';
import { IOMMUFD_PAGE_RESP_INVALID, IOMMUFD_PAGE_RESP_SUCCESS, iommu_hwpt_page_response, iommu_hwpt_pgfault } from './uapi.js';

export const FP_FAULT_ALLOC = faultPoint('kzalloc.iommufd_fault', 'slab');
/** anon_inode_getfile() of the fault file. */
export const FP_FAULT_FILE = faultPoint('alloc_file_pseudo.iommufd_pgfault', 'slab');
/** ... and its dentry, allocated first (d_alloc_pseudo()). */
export const FP_FAULT_DENTRY = faultPoint('d_alloc_pseudo.iommufd_pgfault', 'slab');
/** kzalloc of struct iopf_group in iopf_group_alloc (a failure aborts the fault). */
export const FP_IOPF_GROUP_ALLOC = faultPoint('kzalloc.iopf_group', 'slab');
/** xa_alloc of a cookie in iommufd_fault_fops_read. */
export const FP_FAULT_RESPONSE_XA = faultPoint('xa_alloc.iommufd_fault_response', 'atomic');

const SIZEOF_FAULT = 200;
const SIZEOF_IOPF_GROUP = 160;
/** sizeof(struct iommu_hwpt_pgfault), sizeof(struct iommu_hwpt_page_response) */
export const PGFAULT_SIZE = iommu_hwpt_pgfault.size;
export const PAGE_RESPONSE_SIZE = iommu_hwpt_page_response.size;
/** EPOLLIN | EPOLLRDNORM, EPOLLOUT */
export const POLLIN = 0x1;
export const POLLRDNORM = 0x40;
export const POLLOUT = 0x4;

/** The file kind of a fault fd. */
export const FAULT_FILE_KIND = 'iommufd-pgfault';

/** One page request (struct iommu_fault_page_request, as the IOPF layer reports it). */
export interface PageRequest {
  readonly flags: number;
  readonly pasid: number;
  readonly grpid: number;
  readonly perm: number;
  readonly addr: bigint;
}

/** struct iopf_group as iommufd sees it. */
export class IopfGroup {
  cookie = 0;
  /** The answer the device got (undefined while outstanding). */
  response: number | undefined;
  constructor(
    readonly faults: readonly PageRequest[],
    /** The attach handle: the device and the HWPT it was attached to. */
    readonly idev: IommufdDevice,
    readonly hwpt: object,
    readonly alloc: KernelAllocation,
    /** The PASID of the attach handle (IOMMU_NO_PASID: the RID's). */
    readonly attachPasid = 0,
  ) {}
}

/** struct iommufd_fault */
export class FaultObject implements IommufdObject {
  readonly type = 'FAULT' as const;
  /** Groups not read yet, oldest first. */
  readonly deliver: IopfGroup[] = [];
  /** wake_up_interruptible() calls of the wait queue (one per queued group). */
  wakeups = 0;
  /** Groups read and waiting for their response, by cookie. */
  readonly response = new Map<number, IopfGroup>();
  /**
   * Cookie 0 has been given up: the response xarray is XA_FLAGS_ALLOC1, so
   * while it holds anything index 0 holds the zero entry that keeps 0 out of
   * xa_alloc(); a response with cookie 0 then xa_erase()s that entry (and
   * is -EINVAL: no group), which leaves 0 marked free, and nothing marks it
   * busy again (xas_shrink() only drops the zero entry it finds there).
   */
  private cookieZeroFree = false;
  file: FaultFile | undefined;
  private gone = false;

  constructor(
    readonly ctx: IommufdCtx,
    private readonly alloc: KernelAllocation,
  ) {}

  get id(): number {
    return this.ctx.objects.idOf(this);
  }

  /** iommufd_fault_destroy(): answer every outstanding group INVALID. */
  destroy(): void {
    if (this.ctx.env.warn.on(this.gone, 'iommufd_fault_destroy.twice')) return;
    this.gone = true;
    for (const g of this.deliver.splice(0)) respond(g, IOMMUFD_PAGE_RESP_INVALID);
    for (const g of this.response.values()) respond(g, IOMMUFD_PAGE_RESP_INVALID);
    this.response.clear();
    kernelFree(this.alloc);
  }

  /** xa_alloc(&fault->response, ..., xa_limit_32b): the lowest free cookie, from 1 until 0 was given up. */
  private allocCookie(): number {
    let c = this.cookieZeroFree ? 0 : 1;
    while (this.response.has(c)) c++;
    return c;
  }

  /** iommufd_fault_fops_read() */
  read(mem: UserMemory, buf: bigint, count: number): number {
    if (count % PGFAULT_SIZE) return -ESPIPE;
    const env = this.ctx.env;
    let done = 0;
    let rc = 0;
    const rec = new Uint8Array(PGFAULT_SIZE);
    const dv = new DataView(rec.buffer);
    while (this.deliver.length) {
      const g = this.deliver[0];
      if (done >= count || g.faults.length * PGFAULT_SIZE > count - done) {
        if (done === 0 && env.profile.faultReadShortIsEinval) rc = -EINVAL;
        break;
      }
      g.cookie = this.allocCookie();
      // xa_alloc() of the cookie: its nodes are GFP_NOWAIT under the lock, made again with GFP_KERNEL when
      // that fails (__xas_nomem()), so fail-nth passes them and the read goes on
      for (let n = xaNodesNeeded(this.response.keys(), g.cookie, !this.cookieZeroFree); n > 0; n--) env.faults.shouldFail(FP_FAULT_RESPONSE_XA);
      let at = done;
      for (const f of g.faults) {
        rec.fill(0);
        dv.setUint32(0, f.flags, true);
        dv.setUint32(4, g.idev.id, true);
        dv.setUint32(8, f.pasid, true);
        dv.setUint32(12, f.grpid, true);
        dv.setUint32(16, f.perm, true);
        dv.setBigUint64(24, f.addr, true);
        dv.setUint32(32, 0, true);
        dv.setUint32(36, g.cookie, true);
        if (mem.write(buf + BigInt(at), rec) !== 0) {
          rc = -EFAULT;
          break;
        }
        at += PGFAULT_SIZE;
      }
      if (rc) break;
      this.deliver.shift();
      this.response.set(g.cookie, g);
      done = at;
    }
    return done === 0 ? rc : done;
  }

  /** iommufd_fault_fops_write() */
  write(mem: UserMemory, buf: bigint, count: number): number {
    if (count % PAGE_RESPONSE_SIZE) return -ESPIPE;
    let done = 0;
    let rc = 0;
    const rec = new Uint8Array(PAGE_RESPONSE_SIZE);
    const dv = new DataView(rec.buffer);
    while (count > done) {
      if (mem.read(buf + BigInt(done), rec) !== 0) {
        rc = -EFAULT;
        break;
      }
      const cookie = dv.getUint32(0, true);
      const code = dv.getUint32(4, true);
      if (code !== IOMMUFD_PAGE_RESP_SUCCESS && code !== IOMMUFD_PAGE_RESP_INVALID) {
        rc = -EINVAL;
        break;
      }
      // (an erase of index 0 on an empty xarray changes nothing: there is no zero entry yet)
      if (cookie === 0 && this.response.size > 0) this.cookieZeroFree = true;
      const g = this.response.get(cookie);
      if (!g) {
        rc = -EINVAL;
        break;
      }
      this.response.delete(cookie);
      respond(g, code);
      done += PAGE_RESPONSE_SIZE;
    }
    return done === 0 ? rc : done;
  }

  /** iommufd_fault_fops_poll() */
  poll(): number {
    return POLLOUT | (this.deliver.length ? POLLIN | POLLRDNORM : 0);
  }

  /** iommufd_auto_response_faults(): answer INVALID every group of this attachment (device, HWPT, PASID). */
  autoResponse(idev: IommufdDevice, hwpt: object, pasid = 0): void {
    const mine = (g: IopfGroup): boolean => g.idev === idev && g.hwpt === hwpt && g.attachPasid === pasid;
    for (let k = 0; k < this.deliver.length; ) {
      const g = this.deliver[k];
      if (mine(g)) {
        this.deliver.splice(k, 1);
        respond(g, IOMMUFD_PAGE_RESP_INVALID);
      } else k++;
    }
    for (const [cookie, g] of [...this.response]) {
      if (!mine(g)) continue;
      this.response.delete(cookie);
      respond(g, IOMMUFD_PAGE_RESP_INVALID);
    }
  }

  /** iommufd_fault_iopf_handler(): queue a group for reading and wake the readers. */
  handle(g: IopfGroup): void {
    this.deliver.push(g);
    this.wakeups++;
  }

  /** Groups this queue holds (waiting or read). */
  outstanding(): IopfGroup[] {
    return [...this.deliver, ...this.response.values()];
  }
}

/** iopf_group_response + iopf_free_group */
function respond(g: IopfGroup, code: number): void {
  g.response = code;
  kernelFree(g.alloc);
}

/** The fault fd. */
export class FaultFile implements IommufdFile {
  readonly kind = FAULT_FILE_KIND;
  private released = false;
  constructor(
    readonly fault: FaultObject,
    private readonly alloc: KernelAllocation,
  ) {}

  get heldCtx(): IommufdCtx {
    return this.fault.ctx;
  }

  read(mem: UserMemory, buf: bigint, count: number): number {
    return this.fault.read(mem, buf, count);
  }

  write(mem: UserMemory, buf: bigint, count: number): number {
    return this.fault.write(mem, buf, count);
  }

  poll(): number {
    return this.fault.poll();
  }

  wakeups(): number {
    return this.fault.wakeups;
  }

  /** iommufd_fault_fops_release(): drop the object and context references. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const ctx = this.fault.ctx;
    if (this.fault.file === this) this.fault.file = undefined;
    // The object may be gone already when close() races a failed alloc.
    if (ctx.objects.usersOf(this.fault) > 0) ctx.objects.decUsers(this.fault);
    kernelFree(this.alloc);
    ctx.ctxPut();
  }
}

/** iommufd_get_fault(): the FAULT object with a temporary reference, or -ENOENT. */
export function getFault(ctx: IommufdCtx, id: number): FaultObject | number {
  const obj = ctx.objects.get(id, 'FAULT');
  return obj as FaultObject | number;
}

/** IOMMU_FAULT_QUEUE_ALLOC (iommufd_fault_alloc) */
export function faultAllocIoctl(ucmd: Ucmd<IommufdCtx>): number {
  const ctx = ucmd.ctx;
  if (ucmd.num('flags')) return -EOPNOTSUPP;
  const env = ctx.env;
  const a = kernelAlloc(env, FP_FAULT_ALLOC, SIZEOF_FAULT, true);
  if (!a) return -ENOMEM;
  const fault = new FaultObject(ctx, a);
  const id = ctx.allocId(fault);
  if (id < 0) {
    kernelFree(a);
    return id;
  }
  const fa = allocPseudoFile(env, FP_FAULT_DENTRY, FP_FAULT_FILE);
  if (!fa) {
    ctx.objects.abortAndDestroy(fault);
    return -ENOMEM;
  }
  // The file holds the object and the context.
  const file = new FaultFile(fault, fa);
  ctx.objects.incUsers(fault);
  ctx.ctxGet();
  fault.file = file;
  const abort = (rc: number): number => {
    // The kernel aborts the object with the file's reference still counted
    // and the file is released later by fput; both go here.
    ctx.objects.decUsers(fault);
    ctx.objects.abortAndDestroy(fault);
    kernelFree(fa);
    ctx.ctxPut();
    return rc;
  };
  // The fd number is reserved before the write-back and installed after it:
  // write back with a placeholder first (a fault fails the call with no fd),
  // then install and write the real number to the same, known-good bytes.
  ucmd.set('out_fault_id', id);
  ucmd.set('out_fault_fd', 0);
  let rc = ucmd.respond();
  if (rc) return abort(rc);
  const fd = ctx.files.install(file);
  if (fd < 0) return abort(fd);
  ctx.objects.finalize(fault);
  ucmd.set('out_fault_fd', fd);
  rc = ucmd.respond();
  env.warn.on(rc !== 0, 'iommufd_fault_alloc.respond', 'write-back faulted after a successful one');
  return 0;
}

/** Allocate an IOPF group for one last-page request (iopf_group_alloc); undefined when the kzalloc fails. */
export function allocIopfGroup(ctx: IommufdCtx, req: PageRequest, idev: IommufdDevice, hwpt: object, attachPasid = 0): IopfGroup | undefined {
  const a = kernelAlloc(ctx.env, FP_IOPF_GROUP_ALLOC, SIZEOF_IOPF_GROUP, false);
  if (!a) return undefined;
  return new IopfGroup([req], idev, hwpt, a, attachPasid);
}

/**
 * IOMMU_VEVENTQ_ALLOC (6.15) lives with the vEVENTQ in veventq.ts; the
 * command table reaches it here (a call, not a re-export: the modules import
 * each other, and the table is built while they load).
 */
export function veventqAllocIoctl(ucmd: Ucmd<IommufdCtx>): number {
  return veventqAlloc(ucmd);
}
