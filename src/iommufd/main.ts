// SPDX-License-Identifier: GPL-2.0-only
/**
 * The iommufd context (main.c): what one open of /dev/iommu or
 * /dev/vfio/vfio owns. Its object table, the accounting mode of the pages it
 * creates, the VFIO compat IOAS, the ioctl dispatch table and the release
 * sweep.
 *
 * The table holds the commands of the profile's kernel (up to its
 * lastIommufdCmd) that the model builds, plus IOMMU_TEST_CMD at slot 0xa0.
 * Later commands are holes, so they answer as a kernel that lacks them does:
 * the size word is read first (EFAULT on a bad pointer), then ENOTTY. Every
 * nr outside the table goes to the VFIO type1 compat handler (vfio-compat.ts).
 *
 * File lifetime: the context lives while its file does. In-kernel users that
 * hold the file (a selftest access fd, iommufd_ctx_get) take a reference with
 * ctxGet() and drop it with ctxPut(); release() runs when the last one goes.
 */
import { ENOMEM, ENOTTY } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import type { Task } from '../mm/task.js';
import { type AuditOptions, auditIopts, auditObjects } from './audit.js';
import { type IommufdEnv, type KernelAllocation, kernelAlloc, kernelFree } from './env.js';
import type { IoPagetable } from './io-pagetable.js';
import {
  IommufdIoas,
  ioasAllocIoctl,
  ioasAllowIovasIoctl,
  ioasChangeProcessIoctl,
  ioasCopyIoctl,
  ioasIovaRangesIoctl,
  ioasMapFileIoctl,
  ioasMapIoctl,
  ioasUnmapIoctl,
  optionIoctl,
  vfioIoasIoctl,
} from './ioas.js';
import { type IommufdObject, ObjectTable } from './object-table.js';
import { IOPT_PAGES_ACCOUNT_MM, IOPT_PAGES_ACCOUNT_USER } from './pages.js';
import { iommufdTestCmd } from './selftest.js';
import { getHwInfoIoctl } from './device.js';
import { faultAllocIoctl, veventqAllocIoctl } from './fault.js';
import { hwQueueAllocIoctl, vdeviceAllocIoctl, viommuAllocIoctl } from './viommu.js';
import { hwptAllocIoctl, hwptGetDirtyBitmapIoctl, hwptInvalidateIoctl, hwptSetDirtyTrackingIoctl } from './hw-pagetable.js';
import { IOMMU_TEST_CMD, IOMMU_TEST_CMD_OP_V6_5, IOMMUFD_IOCTL_OPS, type IoctlOp } from './uapi.js';
import { type Ucmd, type UcmdExecute, UcmdTable, type UserMemory, ucmdIoctl } from './ucmd.js';
import { vfioIoctl } from './vfio-compat.js';
import type { FgetFile } from './fget.js';

export { IommufdIoas } from './ioas.js';

/** kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT) in iommufd_fops_open. */
export const FP_CTX_ALLOC = faultPoint('kzalloc.iommufd_ctx', 'slab');
/**
 * The nodes xa_alloc(&ictx->objects, ..., GFP_KERNEL_ACCOUNT) makes in
 * _iommufd_object_alloc(): GFP_NOWAIT under the lock, made again with
 * GFP_KERNEL when that fails, so fail-nth passes them and the call goes on.
 */
export const FP_OBJECTS_XA_NODE = faultPoint('xa_alloc.iommufd_objects', 'atomic');
const SIZEOF_IOMMUFD_CTX = 256;

/** A file created beside the context by a driver (the selftest's access fd, a fault queue's fd). */
export interface IommufdFile {
  readonly kind: string;
  /** The context this file holds a reference on (iommufd_ctx_get), alive while the file is open. */
  readonly heldCtx?: IommufdCtx;
  /** The last descriptor of the file was closed. */
  release(): void;
  /** read(2) of `count` bytes to `buf`: bytes read or -errno; absent → -EINVAL. */
  read?(mem: UserMemory, buf: bigint, count: number): number;
  /** write(2) of `count` bytes from `buf`: bytes taken or -errno; absent → -EINVAL. */
  write?(mem: UserMemory, buf: bigint, count: number): number;
  /** poll: the EPOLL* mask ready now; absent → the default mask. */
  poll?(): number;
  /** Wake-ups of the file's wait queue so far (wake_up_interruptible() per queued event): what an edge-triggered epoll sees. */
  wakeups?(): number;
  /** The file's open mode (O_ACCMODE bits); absent → read-write. */
  readonly fmode?: number;
  /** The file's f_flags as it was made; absent → O_RDWR (anon_inode_getfile()). */
  readonly fileFlags?: number;
  /** get_unused_fd_flags() at its install: false for a descriptor kept across exec; absent → O_CLOEXEC (iommufd's own files). */
  readonly installCloexec?: boolean;
  /**
   * f_op->show_fdinfo: the lines it adds to /proc/PID/fdinfo/N; `descriptors`
   * counts the descriptors sharing the open file (what file_count() holds for them).
   */
  showFdinfo?(descriptors: number): string;
  /**
   * f_op->mmap, once mmap's generic checks (the file mode) passed: the
   * -errno it answers (files that map nothing); absent → no mmap (-ENODEV).
   */
  mmap?(pgoff: bigint, pages: number): number;
  /** i_size of the file's own inode (a dma-buf's size); absent → 0, the shared anon inode's. */
  readonly inodeSize?: number;
  /** f_op->unlocked_ioctl: 0 or -errno; absent → -ENOTTY. */
  ioctl?(mem: UserMemory, cmd: number, arg: bigint): number;
  /** What d_path() shows of a file with a dentry name of its own (a dma-buf's "/dmabuf:NAME"); absent → "anon_inode:[kind]". */
  readonly dname?: string;
  /** f_op->llseek from position `pos`: the new position or -errno; absent → no llseek (-ESPIPE). */
  llseek?(pos: bigint, offset: bigint, whence: number): bigint;
}

/** The calling process's descriptor table, as drivers on this context see it. */
export interface IommufdFiles {
  /** fd_install() a new file into the caller's table: the fd, or -errno (the caller still owns `f`). */
  install(f: IommufdFile): number;
  /** fdget(fd) in the caller's table: the file if it is one of ours. */
  lookup(fd: number): IommufdFile | undefined;
  /** Take back an fd installed by a command that then failed; the file is not released (put_unused_fd). */
  uninstall(fd: number): void;
  /** fget(fd): any open file of the caller (a memfd, a dma-buf); a table without it shows only its driver files. */
  fget?(fd: number): FgetFile | undefined;
}

export interface IommufdCtxOptions {
  /** Opened through /dev/vfio/vfio: VFIO-style mm accounting by default (iommufd_fops_open). */
  readonly vfioCompat?: boolean;
  /** Where driver files go; without one, an fd table private to the context. */
  readonly files?: IommufdFiles;
}

/** A descriptor table private to one context, for contexts made without a machine. */
class LocalFiles implements IommufdFiles {
  private readonly fds = new Map<number, IommufdFile>();
  install(f: IommufdFile): number {
    let fd = 3;
    while (this.fds.has(fd)) fd++;
    this.fds.set(fd, f);
    return fd;
  }
  lookup(fd: number): IommufdFile | undefined {
    return this.fds.get(fd);
  }
  uninstall(fd: number): void {
    this.fds.delete(fd);
  }
  close(fd: number): boolean {
    const f = this.fds.get(fd);
    if (!f) return false;
    this.fds.delete(fd);
    f.release();
    return true;
  }
}

/** The memory of whichever task is making the current syscall (copy_{from,to}_user). */
function currentMemory(env: IommufdEnv): UserMemory {
  return {
    read: (va, dst) => env.current().mm.readUser(va, dst),
    write: (va, src) => env.current().mm.writeUser(va, src),
  };
}

export class IommufdCtx {
  readonly env: IommufdEnv;
  readonly objects: ObjectTable<IommufdObject>;
  /** The task that opened the file. */
  readonly task: Task;
  /**
   * User memory as copy_{from,to}_user see it: the memory of the task making
   * the current syscall (the opener, or a forked child sharing the fd).
   */
  readonly mem: UserMemory;
  /** IOPT_PAGES_ACCOUNT_USER or IOPT_PAGES_ACCOUNT_MM (IOMMU_OPTION_RLIMIT_MODE). */
  accountMode: number;
  /** ictx->vfio_ioas: the IOAS the VFIO compat ioctls operate on. */
  vfioIoas: IommufdIoas | undefined;
  readonly files: IommufdFiles;
  /** References on the file: the descriptor(s) count as one, ctxGet() adds more. */
  private fileRefs = 1;
  private released = false;
  private readonly alloc: KernelAllocation;

  private constructor(env: IommufdEnv, alloc: KernelAllocation, opts: IommufdCtxOptions) {
    this.env = env;
    this.alloc = alloc;
    this.task = env.current();
    this.mem = currentMemory(env);
    this.accountMode = opts.vfioCompat ? IOPT_PAGES_ACCOUNT_MM : IOPT_PAGES_ACCOUNT_USER;
    this.vfioIoas = undefined;
    this.files = opts.files ?? new LocalFiles();
    this.objects = new ObjectTable<IommufdObject>({
      warn: env.warn,
      faults: env.faults,
      onRemove: (obj) => {
        if (obj === this.vfioIoas) this.vfioIoas = undefined;
      },
    });
  }

  /** iommufd_fops_open(): a new context, or -ENOMEM. */
  static open(env: IommufdEnv, opts: IommufdCtxOptions = {}): IommufdCtx | number {
    const alloc = kernelAlloc(env, FP_CTX_ALLOC, SIZEOF_IOMMUFD_CTX, true);
    if (!alloc) return -ENOMEM;
    return new IommufdCtx(env, alloc, opts);
  }

  /**
   * The ID half of _iommufd_object_alloc(): xa_alloc of the lowest free ID
   * for an object the caller has kzalloc'ed. The ID, or -ENOMEM / -EBUSY.
   */
  allocId(obj: IommufdObject): number {
    this.passObjectIdNodes();
    return this.objects.alloc(obj);
  }

  /** The fault points of the ID's xarray nodes (FP_OBJECTS_XA_NODE): each is passed, none fails the allocation. */
  passObjectIdNodes(): void {
    for (let n = this.objects.nextIdNodes(); n > 0; n--) this.env.faults.shouldFail(FP_OBJECTS_XA_NODE);
  }

  /** iommufd_get_ioas(): the IOAS with a temporary reference (drop it with objects.put), or -ENOENT. */
  getIoas(id: number): IommufdIoas | number {
    const obj = this.objects.get(id, 'IOAS');
    if (typeof obj === 'number') return obj;
    return obj as IommufdIoas;
  }

  /** iommufd_fops_ioctl(): one ioctl on the file; `mem` is the calling process's memory. */
  ioctl(cmd: number, arg: bigint, mem: UserMemory = this.mem): number {
    if (this.released) return -ENOTTY;
    return ucmdIoctl(tableFor(this.env), this, mem, cmd, arg, (c, a) => vfioIoctl(this, mem, c, a));
  }

  /** iommufd_ctx_get(): keep the file (and so the context) alive. */
  ctxGet(): void {
    this.env.warn.on(this.fileRefs <= 0, 'iommufd_ctx_get', 'context already released');
    this.fileRefs++;
  }

  /** iommufd_ctx_put() / fput(): the last reference releases the context. */
  ctxPut(): void {
    if (this.env.warn.on(this.fileRefs <= 0, 'iommufd_ctx_put', 'reference underflow')) return;
    if (--this.fileRefs === 0) this.release();
  }

  /** The file is still open (release has not run). */
  get alive(): boolean {
    return !this.released;
  }

  /**
   * iommufd_fops_release(): destroy every object, leaves first (the table's
   * repeated sweep of users == 1 objects), then free the context.
   */
  private release(): void {
    if (this.released) return;
    this.released = true;
    this.objects.release();
    this.vfioIoas = undefined;
    kernelFree(this.alloc);
  }

  // --- inspection ------------------------------------------------------------

  /** Every live IOAS, by ID. */
  ioasList(): Array<{ id: number; ioas: IommufdIoas }> {
    const out: Array<{ id: number; ioas: IommufdIoas }> = [];
    for (const { id, obj } of this.objects.live()) if (obj instanceof IommufdIoas) out.push({ id, ioas: obj });
    return out;
  }

  /** The IO page tables of every live IOAS. */
  iopts(): IoPagetable[] {
    return this.ioasList().map((e) => e.ioas.iopt);
  }

  /** Run the whole-state audit over this context's IOAS and object links; the number of problems (each also WARNs). */
  audit(opts: AuditOptions = {}): number {
    return auditIopts(this.env, this.iopts(), opts) + auditObjects(this);
  }
}

// --- the dispatch table ------------------------------------------------------------

const HANDLERS: Readonly<Record<string, UcmdExecute<IommufdCtx>>> = {
  IOMMU_DESTROY: (ucmd) => ucmd.ctx.objects.remove(ucmd.num('id')),
  IOMMU_IOAS_ALLOC: ioasAllocIoctl,
  IOMMU_IOAS_ALLOW_IOVAS: ioasAllowIovasIoctl,
  IOMMU_IOAS_COPY: ioasCopyIoctl,
  IOMMU_IOAS_IOVA_RANGES: ioasIovaRangesIoctl,
  IOMMU_IOAS_MAP: ioasMapIoctl,
  IOMMU_IOAS_UNMAP: ioasUnmapIoctl,
  IOMMU_OPTION: optionIoctl,
  IOMMU_VFIO_IOAS: vfioIoasIoctl,
  IOMMU_HWPT_ALLOC: hwptAllocIoctl,
  IOMMU_GET_HW_INFO: getHwInfoIoctl,
  IOMMU_HWPT_SET_DIRTY_TRACKING: hwptSetDirtyTrackingIoctl,
  IOMMU_HWPT_GET_DIRTY_BITMAP: hwptGetDirtyBitmapIoctl,
  IOMMU_HWPT_INVALIDATE: hwptInvalidateIoctl,
  IOMMU_FAULT_QUEUE_ALLOC: faultAllocIoctl,
  IOMMU_VIOMMU_ALLOC: viommuAllocIoctl,
  IOMMU_VDEVICE_ALLOC: vdeviceAllocIoctl,
  IOMMU_IOAS_MAP_FILE: ioasMapFileIoctl,
  IOMMU_IOAS_CHANGE_PROCESS: ioasChangeProcessIoctl,
  IOMMU_VEVENTQ_ALLOC: veventqAllocIoctl,
  IOMMU_HW_QUEUE_ALLOC: hwQueueAllocIoctl,
  IOMMU_TEST_CMD: (ucmd: Ucmd<IommufdCtx>) => iommufdTestCmd(ucmd.ctx, ucmd),
};

const tables = new Map<string, UcmdTable<IommufdCtx>>();

function testCmdOp(long: boolean): IoctlOp {
  if (!long) return IOMMU_TEST_CMD_OP_V6_5;
  const op = IOMMUFD_IOCTL_OPS.find((o) => o.cmd === IOMMU_TEST_CMD);
  if (!op) throw new Error('uapi: IOMMU_TEST_CMD missing');
  return op;
}

/**
 * The ioctl table of the machine's profile: every command up to the
 * profile's lastIommufdCmd that the model builds, and the test command in the
 * layout of that kernel. Later numbers are holes (or past the table's end):
 * iommufd_fops_ioctl answers them as unknown commands (-ENOTTY).
 */
function tableFor(env: IommufdEnv): UcmdTable<IommufdCtx> {
  const long = env.profile.testCmdDirtyUnion;
  const last = env.profile.lastIommufdCmd;
  const key = `${last}:${long}`;
  let t = tables.get(key);
  if (!t) {
    const ops = IOMMUFD_IOCTL_OPS.filter((o) => !o.testOnly && o.nr <= last);
    t = UcmdTable.fromHandlers([...ops, testCmdOp(long)], HANDLERS);
    tables.set(key, t);
  }
  return t;
}

/** The ioctl op the context dispatches `cmd` to under `env`'s profile (undefined for holes and VFIO numbers). */
export function iommufdIoctlOp(env: IommufdEnv, cmd: number): IoctlOp | undefined {
  const t = tableFor(env);
  const idx = (cmd & 0xff) - 0x80;
  const e = idx >= 0 ? t.slots[idx] : undefined;
  return e && e.op.cmd === cmd >>> 0 ? e.op : undefined;
}
