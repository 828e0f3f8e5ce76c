// SPDX-License-Identifier: GPL-2.0-only
/**
 * /dev/iommu and /dev/vfio/vfio (main.c iommu_misc_dev / vfio_misc_dev):
 * both open into an iommufd context; the VFIO one defaults to VFIO's mm
 * accounting. One IommufdEnv per machine joins the iommufd core to the
 * machine's WARN sink, fault router, profile and memory, and holds the
 * machine-wide test knobs (iommufd_test_memory_limit).
 *
 * Files a driver creates beside a context (the selftest's access fds) go into
 * the calling process's descriptor table, wrapped so the table's close and
 * fork rules apply to them like to any file.
 */
import type { UserStruct } from '../mm/accounting.js';
import type { DeviceMapping, MmStruct } from '../mm/address-space.js';
import type { MemFile } from '../mm/memfile.js';
import { PAGE_SIZE, PMD_ORDER, PUD_ORDER, VM_EXEC, VM_LOCKED, VM_SHARED } from '../mm/constants.js';
import { EINVAL, ENXIO, EPERM } from '../base/errno.js';
import { mmapRegionGet, mmapRegionLookup, mmapRegionPut } from '../iommufd/viommu.js';
import { auditIopts, auditObjects } from '../iommufd/audit.js';
import { IOPT_PAGES_ACCOUNT_MM, IOPT_PAGES_ACCOUNT_USER, type IoptPages } from '../iommufd/pages.js';
import { TEMP_MEMORY_LIMIT, type IommufdEnv } from '../iommufd/env.js';
import { IommufdCtx, type IommufdFile, type IommufdFiles } from '../iommufd/main.js';
import type { UserMemory } from '../iommufd/ucmd.js';
import { ANON_INODE_STAT, type DeviceNode, type FileStat, O_RDWR, type OpenFile, S_IFCHR } from './device.js';

/** The misc character devices' major (MISC_MAJOR). */
const MISC_MAJOR = 10;
import type { Machine } from './machine.js';
import type { Process } from './process.js';
import type { FgetFile } from '../iommufd/fget.js';

export const DEV_IOMMU = '/dev/iommu';
export const DEV_VFIO = '/dev/vfio/vfio';

const envs = new WeakMap<Machine, IommufdEnv>();

/** The iommufd core's view of `machine` (one per machine, made on first use). */
export function iommufdEnvOf(machine: Machine): IommufdEnv {
  let env = envs.get(machine);
  if (!env) {
    env = {
      warn: machine.warn,
      faults: machine.faults,
      profile: machine.profile,
      phys: machine.phys,
      tempMemoryLimit: TEMP_MEMORY_LIMIT,
      current: () => {
        const p = machine.currentProcess;
        if (!p) throw new Error('iommufd: no current process (called outside a syscall)');
        return p.task;
      },
    };
    envs.set(machine, env);
  }
  return env;
}

/** A driver file in a process's descriptor table. */
export class IommufdFileHandle implements OpenFile {
  readonly inner: IommufdFile;
  readonly read?: (proc: Process, buf: bigint, count: number) => number;
  readonly write?: (proc: Process, buf: bigint, count: number) => number;
  readonly poll?: (proc: Process) => number;
  readonly wakeups?: () => number;
  readonly mmap?: (proc: Process, vmFlags: number, pgoff: bigint, pages: number) => DeviceMapping | number;
  readonly llseek?: (pos: bigint, offset: bigint, whence: number) => bigint;
  readonly stat?: () => FileStat;
  readonly showFdinfo?: (descriptors: number) => string;
  readonly installCloexec?: boolean;
  fmode?: number;
  /** anon_inode_getfile() and dma_buf_getfile() make files of pseudo filesystems, noexec from 7.x (profile pseudoFsNoexec). */
  readonly noexec: boolean;
  constructor(inner: IommufdFile, noexec = true) {
    this.inner = inner;
    this.noexec = noexec;
    const { read, write, poll, wakeups, mmap } = inner;
    if (inner.fmode !== undefined) this.fmode = inner.fmode;
    if (inner.installCloexec !== undefined) this.installCloexec = inner.installCloexec;
    // do_mmap() checks the file mode before f_op->mmap answers
    if (mmap) this.mmap = (_proc, _vmFlags, pgoff, pages) => mmap.call(inner, pgoff, pages);
    if (read) this.read = (proc, buf, count) => read.call(inner, procMemory(proc), buf, count);
    if (write) this.write = (proc, buf, count) => write.call(inner, procMemory(proc), buf, count);
    if (poll) this.poll = () => poll.call(inner);
    if (wakeups) this.wakeups = () => wakeups.call(inner);
    const { llseek, showFdinfo } = inner;
    if (llseek) this.llseek = (pos, offset, whence) => llseek.call(inner, pos, offset, whence);
    if (showFdinfo) this.showFdinfo = (descriptors) => showFdinfo.call(inner, descriptors);
    // a file with an inode of its own (a dma-buf): the anon inode's attributes with its size, and its
    // bytes (inode_set_bytes() of the size: st_blocks in 512-byte units)
    if (inner.inodeSize !== undefined) {
      this.stat = () => {
        const size = BigInt(inner.inodeSize ?? 0);
        return { ...ANON_INODE_STAT, size, blocks: size / 512n, ownInode: true };
      };
    }
    const { ioctl } = inner;
    if (ioctl) this.ioctl = (proc, cmd, arg) => ioctl.call(inner, procMemory(proc), cmd, arg);
  }
  readonly ioctl?: (proc: Process, cmd: number, arg: bigint) => number;
  release(): void {
    this.inner.release();
  }

  /** anon_inode_getfile()'s "anon_inode:[name]", or the file's own (a dma-buf's dmabuffs_dname()). */
  get dname(): string {
    return this.inner.dname ?? `anon_inode:[${this.inner.kind}]`;
  }
}

/** The calling process's descriptor table. */
class ProcessFiles implements IommufdFiles {
  constructor(private readonly machine: Machine) {}

  install(f: IommufdFile): number {
    const p = this.machine.currentProcess;
    if (!p) throw new Error('iommufd: fd_install outside a syscall');
    // the file's f_flags: anon_inode_getfile()'s O_RDWR, a dma-buf's from its export flags
    return p.installFd(new IommufdFileHandle(f, this.machine.profile.pseudoFsNoexec), f.fileFlags ?? O_RDWR);
  }

  lookup(fd: number): IommufdFile | undefined {
    const file = this.machine.currentProcess?.fileOf(fd);
    return file instanceof IommufdFileHandle ? file.inner : undefined;
  }

  uninstall(fd: number): void {
    this.machine.currentProcess?.takeFd(fd);
  }

  /** fget(): any open file of the caller (a memfd for IOAS_MAP_FILE, a driver file such as a dma-buf). */
  fget(fd: number): FgetFile | undefined {
    const p = this.machine.currentProcess;
    if (p === undefined) return undefined;
    const file = p.fileOf(fd);
    if (file === undefined || file.outside === true) {
      // an O_PATH file of the model's is none; under exec, a file the real process opened itself is one
      // iommufd knows nothing of (dma_buf_get(): -EINVAL), unless it is O_PATH or closed there
      if (file === undefined && p.hasFd(fd)) return undefined;
      return p.outsideFd?.(fd) === true ? {} : undefined;
    }
    const hold = (): (() => void) => p.holdFile(fd);
    return file instanceof IommufdFileHandle ? { iommufdFile: file.inner, hold } : { memfile: file.memfile, hold };
  }
}

/** Each process's user memory (made once: an ioctl is called with it every time). */
const userMemories = new WeakMap<Process, UserMemory>();

function procMemory(proc: Process): UserMemory {
  let m = userMemories.get(proc);
  if (m === undefined) {
    // proc.task.mm read at each access, as before
    m = {
      read: (va, dst) => proc.task.mm.readUser(va, dst),
      write: (va, src) => proc.task.mm.writeUser(va, src),
    };
    userMemories.set(proc, m);
  }
  return m;
}


/**
 * Where a region's pages are when the driver gave no frame for it: past RAM
 * (and the vDSO's data pages), so they read as zeros and hold no references.
 */
const NO_MMIO_PFN_OFFSET = 64;

/** An open iommufd file: the context behind one struct file. */
export class IommufdOpenFile implements OpenFile {
  readonly ctx: IommufdCtx;
  readonly mmap?: (proc: Process, vmFlags: number, pgoff: bigint, pages: number) => DeviceMapping | number;
  /** Opened through its node (do_dentry_open()): pread and pwrite reach vfs_read/vfs_write, which refuse (no read, no write). */
  readonly positional = true;
  constructor(
    ctx: IommufdCtx,
    private readonly attrs: FileStat = IOMMU_NODE_STAT,
  ) {
    this.ctx = ctx;
    if (ctx.env.profile.iommufdMmap) this.mmap = (_proc, vmFlags, pgoff, pages) => this.mmapRegion(vmFlags, pgoff, pages);
  }
  ioctl(proc: Process, cmd: number, arg: bigint): number {
    return this.ctx.ioctl(cmd, arg, procMemory(proc));
  }

  /**
   * iommufd_fops_mmap(): the page offset selects a region of the context's
   * mmap table (a driver's, e.g. the mock vIOMMU's page), which must be
   * mapped whole and shared (-EINVAL), not executable (-EPERM); an offset
   * outside every region, a region whose owner is being destroyed, or a
   * different start or length is -ENXIO. Each VMA of it holds a users
   * reference on the owner (vm_ops open/close), so destroying the owner is
   * -EBUSY while it is mapped.
   */
  private mmapRegion(vmFlags: number, pgoff: bigint, pages: number): DeviceMapping | number {
    if (!(vmFlags & VM_SHARED)) return -EINVAL;
    if (vmFlags & VM_EXEC) return -EPERM;
    const ctx = this.ctx;
    const off = pgoff * BigInt(PAGE_SIZE);
    const r = mmapRegionLookup(ctx, off);
    if (r === undefined) return -ENXIO;
    if (off !== BigInt(r.offset) || pages * PAGE_SIZE !== r.length) return -ENXIO;
    mmapRegionGet(ctx, r);
    const given = r.pfn;
    return {
      pfn: given ?? ctx.env.phys.zeroPfn + NO_MMIO_PFN_OFFSET,
      open: () => mmapRegionGet(ctx, r),
      close: () => mmapRegionPut(ctx, r),
    };
  }

  stat(): FileStat {
    return { ...this.attrs };
  }

  release(): void {
    this.ctx.ctxPut();
  }
}

/**
 * The two misc character devices as devtmpfs makes them: iommu_misc_dev
 * (mode 0660, a dynamic minor: 258 on both oracle kernels, 6.12.95 and
 * 7.2.13) and, for VFIO compatibility, vfio_misc_dev (VFIO_MINOR 196, mode 0666).
 */
const IOMMU_NODE_STAT: Readonly<FileStat> = { mode: S_IFCHR | 0o660, rdevMajor: MISC_MAJOR, rdevMinor: 258, size: 0n, blksize: PAGE_SIZE };
const VFIO_NODE_STAT: Readonly<FileStat> = { mode: S_IFCHR | 0o666, rdevMajor: MISC_MAJOR, rdevMinor: 196, size: 0n, blksize: PAGE_SIZE };

export class IommufdNode implements DeviceNode {
  /** The node's permission bits: devtmpfs's, until a chmod (Machine.chmodNode()). */
  private perm: number;

  constructor(
    private readonly machine: Machine,
    /** The /dev/vfio/vfio node. */
    readonly vfioCompat: boolean,
  ) {
    this.perm = (vfioCompat ? VFIO_NODE_STAT : IOMMU_NODE_STAT).mode & 0o7777;
  }

  open(_proc: Process, _flags: number): OpenFile | number {
    const ctx = IommufdCtx.open(iommufdEnvOf(this.machine), { vfioCompat: this.vfioCompat, files: new ProcessFiles(this.machine) });
    if (typeof ctx === 'number') return ctx;
    return new IommufdOpenFile(ctx, this.stat());
  }

  stat(): FileStat {
    const st = { ...(this.vfioCompat ? VFIO_NODE_STAT : IOMMU_NODE_STAT) };
    st.mode = (st.mode & ~0o7777) | this.perm;
    return st;
  }

  chmod(perm: number): void {
    this.perm = perm & 0o7777;
  }
}

/** Make /dev/iommu and /dev/vfio/vfio openable on `machine`. */
export function registerIommufdNodes(machine: Machine): void {
  machine.registerDevice(DEV_IOMMU, new IommufdNode(machine, false));
  machine.registerDevice(DEV_VFIO, new IommufdNode(machine, true));
}

/** The iommufd context behind `fd` of `proc` (for tests and tools), or undefined. */
export function iommufdCtxOf(proc: Process, fd: number): IommufdCtx | undefined {
  const f = proc.fileOf(fd);
  return f instanceof IommufdOpenFile ? f.ctx : undefined;
}

/** Every live iommufd context on the machine (fds shared across fork counted once). */
export function iommufdContexts(machine: Machine): IommufdCtx[] {
  const out = new Set<IommufdCtx>();
  for (const proc of machine.processes.values()) {
    for (const fd of proc.openFds()) {
      const ctx = iommufdCtxOf(proc, fd);
      if (ctx) out.add(ctx);
      // a fault, vEVENTQ or access fd keeps its context alive after the iommufd is closed
      const f = proc.fileOf(fd);
      if (f instanceof IommufdFileHandle && f.inner.heldCtx) out.add(f.inner.heldCtx);
    }
  }
  return [...out];
}

/**
 * The machine-wide audit: every IOAS of every context (areas, domains, tiers,
 * npinned, exact frame pin counts), and the accounting, which only iommufd
 * charges on this machine: each user's locked_vm equals the charge of its
 * USER-mode pages, each mm's locked_vm the charge of its MM-mode pages and its
 * pinned_vm the charge of all its pages. Problems WARN as `audit.*`; returns
 * their number.
 */
export function auditMachine(machine: Machine): number {
  const env = iommufdEnvOf(machine);
  const iopts = iommufdContexts(machine).flatMap((c) => c.iopts());
  let problems = auditIopts(env, iopts, { exactPins: true });
  for (const ctx of iommufdContexts(machine)) problems += auditObjects(ctx);
  const pagesSet = new Set<IoptPages>();
  for (const iopt of iopts) for (const a of iopt.areas()) if (a.pages) pagesSet.add(a.pages);
  const userCharge = new Map<UserStruct, number>();
  const mmLocked = new Map<MmStruct, number>();
  const mmPinned = new Map<MmStruct, number>();
  for (const p of pagesSet) {
    if (p.accountMode === IOPT_PAGES_ACCOUNT_USER) userCharge.set(p.sourceUser, (userCharge.get(p.sourceUser) ?? 0) + p.lastNpinned);
    if (p.accountMode === IOPT_PAGES_ACCOUNT_MM) mmLocked.set(p.sourceMm, (mmLocked.get(p.sourceMm) ?? 0) + p.lastNpinned);
    mmPinned.set(p.sourceMm, (mmPinned.get(p.sourceMm) ?? 0) + p.lastNpinned);
  }
  const fail = (name: string, msg: string): void => {
    problems++;
    env.warn.warn(`audit.${name}`, msg);
  };
  for (const user of machine.users.values()) {
    const want = userCharge.get(user) ?? 0;
    if (user.lockedVm !== want) fail('locked_vm', `uid ${user.uid}: locked_vm ${user.lockedVm}, iommufd charged ${want}`);
  }
  const mms = new Set<MmStruct>([...mmPinned.keys(), ...[...machine.processes.values()].map((p) => p.mm)]);
  // hugetlb reservations held by private VMAs (huge pages not faulted yet, or zapped), per size
  const heldResv = [0, 0];
  for (const mm of mms) {
    if (mm.pinnedVm !== (mmPinned.get(mm) ?? 0)) fail('pinned_vm', `pinned_vm ${mm.pinnedVm}, iommufd charged ${mmPinned.get(mm) ?? 0}`);
    // locked_vm also counts mlock()ed / MAP_LOCKED VMAs
    let vmaLocked = 0;
    for (const v of mm.vmas) {
      if (v.flags & VM_LOCKED) vmaLocked += v.pages;
      if (v.resv !== null) for (let i = 0; i < v.resv.length; i++) heldResv[v.hugeOrder === PUD_ORDER ? 1 : 0] += v.resv[i];
    }
    const wantLocked = (mmLocked.get(mm) ?? 0) + vmaLocked + mm.lockedVmOrphaned;
    if (mm.lockedVm !== wantLocked) fail('mm_locked_vm', `mm locked_vm ${mm.lockedVm}, iommufd charged ${mmLocked.get(mm) ?? 0} and ${vmaLocked} pages of locked VMAs`);
  }
  // every page cache a live process reaches, through a descriptor or a mapping (MemFile.problems())
  const files = new Set<MemFile>();
  machine.reachablePageCaches(files);
  for (const f of files) for (const problem of f.problems()) fail('page_cache', problem);
  // ... and by hugetlbfs files, those the IOASes pin (IOAS_MAP_FILE holds the file) too: what the pool owes
  for (const p of pagesSet) if (p.file?.live) files.add(p.file);
  for (const f of files) if (f.kind === 'hugetlb') heldResv[f.order === PUD_ORDER ? 1 : 0] += f.hugeReserved;
  for (const [hi, order] of [[0, PMD_ORDER], [1, PUD_ORDER]])
    if (machine.phys.hugetlbReservationsOwed(order) !== heldResv[hi]) fail('hugetlb_resv', `${order === PUD_ORDER ? '1 GiB' : '2 MiB'} pool: ${machine.phys.hugetlbReservationsOwed(order)} reservations owed, VMAs and files hold ${heldResv[hi]}`);
  // RAM in user page tables: exactly the tables of the live address spaces
  let tables = 0;
  for (const mm of new Set([...machine.processes.values()].map((p) => p.mm))) if (mm.alive) tables += mm.tablePages();
  if (tables !== machine.phys.tablePages()) fail('page_tables', `${machine.phys.tablePages()} page-table pages counted, the live address spaces hold ${tables}`);
  return problems;
}
