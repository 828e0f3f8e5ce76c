// SPDX-License-Identifier: GPL-2.0-only
/**
 * A process: one task, its address space and its file descriptor table, with
 * the system calls the model offers in raw-syscall style. A call never throws
 * on bad user input: it returns a value >= 0 or -errno (mmap: a bigint
 * address or a negative bigint errno). The only exception a call lets out is
 * a KernelWarning from a machine made with panicOnWarn.
 *
 * Every entry makes the calling task `current`: machine.faults.current is its
 * fail-nth state and machine.warn.syscall the call's name, both restored on
 * return, so fault points and WARNs are attributed to the caller.
 *
 * After exit() every call returns -ESRCH (mmap: -ESRCH as bigint).
 */
import { setKeepCaps, setresuid, setreuid, setuid } from '../mm/cred.js';
import { EAGAIN, EBADF, EEXIST, EFAULT, EFBIG, EFTYPE, EINVAL, EISDIR, EXDEV, EMFILE, ENODEV, ENOENT, ENOTDIR, ENOMEM, ENXIO, ENOSYS, ENOTTY, EOPNOTSUPP, EPERM, ESPIPE, ESRCH, ErrnoError } from '../base/errno.js';
import type { DeviceMmap, MmStruct, MremapPlace } from '../mm/address-space.js';
import { FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_WRITE_ZEROES, FALLOC_FL_ZERO_RANGE, MAP_ANONYMOUS, MAP_PRIVATE, MFD_ALLOW_SEALING, MFD_CLOEXEC, MFD_EXEC, MFD_HUGETLB, MFD_NOEXEC_SEAL, MLOCK_ONFAULT, F_ADD_SEALS, F_GET_SEALS, F_SEAL_EXEC, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEALS_WRITE, MAP_HUGE_MASK, MAP_HUGE_SHIFT, PAGE_SIZE, PMD_ORDER, PROT_READ, PROT_WRITE, PUD_ORDER, accessOk, MAX_LFS_FILESIZE as LLONG_MAX } from '../mm/constants.js';
import { MemFile } from '../mm/memfile.js';
import { uniformPage } from '../mm/physical-memory.js';
import { MINCORE_CHUNK, mincoreChunk } from '../mm/mincore.js';
import { CAP_SYS_RESOURCE, Task } from '../mm/task.js';
import { MAX_RW_COUNT, importIovec, iovTotal, loopReadvWritev } from './iov.js';
import { ANON_INODE_STAT, DEFAULT_POLLMASK, DirFile, type FileIo, type FileStat, fmodeReads, fmodeWrites, O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_DSYNC, O_EXCL, O_LARGEFILE, O_NOATIME, O_NOCTTY, O_NONBLOCK, O_PATH, O_SYNC_BIT, O_TRUNC, O_PATH_FLAGS, O_RDONLY, O_RDWR, O_TMPFILE_BIT, O_EMPTYPATH, type OpenFile, type OpenHow, OPENAT2_REGULAR, PathFile, RESOLVE_BENEATH, RESOLVE_CACHED, RESOLVE_IN_ROOT, VALID_OPEN_FLAGS, VALID_RESOLVE_FLAGS, POLLERR, POLLHUP, POLLNVAL, S_IFDIR, S_IFMT, S_IFREG, SEEK_HOLE } from './device.js';
import type { Machine } from './machine.js';
import { ConsoleFile, NullFile } from './stdio.js';
import type { TmpfsInode } from './tmpfs.js';

/** The generic ioctl numbers do_vfs_ioctl() answers (asm-generic/ioctls.h, linux/fs.h; FIBMAP is _IO(0x00, 1)). */
const FIBMAP = 1;
const FIONREAD = 0x541b;
const FIONBIO = 0x5421;
const FIONCLEX = 0x5450;
const FIOCLEX = 0x5451;
const FIOASYNC = 0x5452;
const FIOQSIZE = 0x5460;
const FIGETBSZ = 2;
/** linux/fs.h: the superblock's freeze and thaw, the extent map, the remap ioctls, the filesystem's UUID and sysfs path. */
const FIFREEZE = 0xc0045877;
const FITHAW = 0xc0045878;
const FS_IOC_FIEMAP = 0xc020660b;
const FICLONE = 0x40049409;
const FICLONERANGE = 0x4020940d;
const FIDEDUPERANGE = 0xc0189436;
const FS_IOC_GETFSUUID = 0x80111500;
const FS_IOC_GETFSSYSFSPATH = 0x80811501;

/** RLIMIT_NOFILE soft limit default. */
export const NR_OPEN_DEFAULT = 1024;
/** First descriptor handed out (0-2 are stdio). */
export const FIRST_FD = 3;

/** An open file description shared by dup'd / inherited descriptors. */
class FileDescription {
  readonly file: OpenFile;
  /** The path it was opened by (a device node), for /proc/PID/fd; undefined: the file's own name (OpenFile.dname). */
  readonly path: string | undefined;
  refs = 1;
  /** f_pos: the position lseek moves (read and write of model files take none). */
  pos = 0n;
  /** f_flags: what F_GETFL shows (access mode and status flags). */
  flags: number;

  constructor(file: OpenFile, flags = O_RDWR, path?: string) {
    this.file = file;
    this.flags = flags;
    this.path = path;
  }
}

/**
 * A file in an SCM_RIGHTS message on its way between processes: one
 * reference to an open file description, taken once by the receiver, or
 * dropped (the message was never received) through the sender.
 */
export class InFlightFile {
  private desc: FileDescription | undefined;

  constructor(
    desc: FileDescription,
    private readonly sender: Process,
  ) {
    this.desc = desc;
  }

  /** The description, once (the reference goes with it). */
  claim(): unknown {
    const d = this.desc;
    this.desc = undefined;
    return d;
  }

  /** Drop the reference: the last one releases the file, as closing it would. */
  drop(d: unknown = this.claim()): void {
    const fd = d as FileDescription | undefined;
    if (fd !== undefined && --fd.refs === 0) fd.file.release(this.sender);
  }
}

/**
 * A file's f_mode (its access mode): a file a driver installs without one is
 * read-write, as anon_inode_getfile(..., O_RDWR) makes every iommufd file
 * (the access, fault and vEVENTQ fds).
 */
function fmodeOf(file: OpenFile): number {
  return file.fmode ?? O_RDWR;
}

/**
 * f_flags of a file open(2) made: O_LARGEFILE forced on 64-bit
 * (force_o_largefile()), __O_SYNC implying O_DSYNC and O_CLOEXEC stripped
 * (build_open_flags()), the creation flags dropped (do_dentry_open()).
 */
function openFileFlags(flags: number): number {
  let f = (flags | O_LARGEFILE) & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
  if (f & O_SYNC_BIT) f |= O_DSYNC;
  return f;
}

/** The f_flags F_SETFL may change (SETFL_MASK; O_NDELAY is O_NONBLOCK on x86). */
const SETFL_MASK = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;
const PAGE_N = BigInt(PAGE_SIZE);
/** mincore()'s page of entries (__get_free_page()), reused: the chunk is copied out before the next. */
const mincoreBuf = new Uint8Array(MINCORE_CHUNK);

/**
 * The descriptor table. The fuzzer's checks and the inspector list the open
 * descriptors after every call, so the ascending list is kept until the
 * table next changes.
 */
class FdTable extends Map<number, FileDescription> {
  private sorted: readonly number[] | undefined;

  override set(fd: number, d: FileDescription): this {
    this.sorted = undefined;
    return super.set(fd, d);
  }

  override delete(fd: number): boolean {
    this.sorted = undefined;
    return super.delete(fd);
  }

  override clear(): void {
    this.sorted = undefined;
    super.clear();
  }

  ascending(): readonly number[] {
    this.sorted ??= [...this.keys()].sort((a, b) => a - b);
    return this.sorted;
  }
}

type Arg = bigint | number;

/** A syscall argument as the u64 register holds it; undefined for a non-integer number. */
function u64(x: Arg): bigint | undefined {
  if (typeof x === 'bigint') return BigInt.asUintN(64, x);
  if (!Number.isInteger(x)) return undefined;
  return BigInt.asUintN(64, BigInt(x));
}

export class Process {
  readonly machine: Machine;
  readonly task: Task;
  /** The parent's pid (0 for spawned processes). */
  readonly ppid: number;
  private readonly fds = new FdTable();
  /** Where get_unused_fd_flags() starts looking: 0 once the process has its stdio (installStdio), else FIRST_FD. */
  private lowestFd = FIRST_FD;
  private dead = false;
  /**
   * Set by a bridge whose real process holds descriptors the model never saw
   * (its stdin, stdout and stderr, a file it opened on the host): whether `fd`
   * is one of them, open and not O_PATH, so that fget() finds a file there.
   */
  outsideFd: ((fd: number) => boolean) | undefined;

  constructor(machine: Machine, task: Task, ppid = 0) {
    this.machine = machine;
    this.task = task;
    this.ppid = ppid;
  }

  get pid(): number {
    return this.task.pid;
  }

  get mm(): MmStruct {
    return this.task.mm;
  }

  get exited(): boolean {
    return this.dead;
  }

  /** Run `fn` as a system call of this process. */
  private sys<T>(name: string, dead: T, fn: () => T): T {
    if (this.dead) return dead;
    const m = this.machine;
    const prevTask = m.faults.current;
    const prevName = m.warn.syscall;
    const prevCur = m.currentProcess;
    m.faults.current = this.task.failNth;
    m.warn.syscall = name;
    m.currentProcess = this;
    try {
      return fn();
    } finally {
      m.faults.current = prevTask;
      m.warn.syscall = prevName;
      m.currentProcess = prevCur;
    }
  }

  // ---------------------------------------------------------------------------
  // memory

  /** mmap(2): the mapped address, or a negative errno, as bigint. */
  mmap(addr: Arg, length: Arg, prot: number, flags: number, fd = -1, offset: Arg = 0n): bigint {
    return this.sysMmap(addr, length, offset, (a, l, o) => {
      prot |= 0;
      flags |= 0;
      let file: MemFile | null = null;
      let fileMode = O_RDWR;
      let device: DeviceMmap | undefined;
      let noexec = false;
      let noMmap = false;
      if (!(flags & MAP_ANONYMOUS)) {
        const d = this.fdget(fd);
        if (d === undefined) return BigInt(-EBADF);
        fileMode = fmodeOf(d.file);
        noexec = d.file.noexec === true;
        if (d.file.memfile !== undefined) file = d.file.memfile;
        else if (d.file.mmap !== undefined) device = this.deviceMmap(d);
        else {
          // do_mmap(): a file with no ->mmap passes the mode and exec checks (EACCES, EPERM), then ENODEV
          noMmap = true;
          device = () => -ENODEV;
        }
      }
      return this.mm.mmap(a, l, prot, flags, { file, fileMode, offset: o, task: this.task, device, noexec, noMmap });
    });
  }

  /**
   * mmap(2) of a file the model does not know (under exec, a host file), which
   * the real kernel's checks of the file refuse with errno `err` (its mode, a
   * missing ->mmap). do_mmap() looks at the address first (an unaligned or
   * out-of-range MAP_FIXED, mmap_min_addr, MAP_FIXED_NOREPLACE over a
   * mapping), so those answers are the model's; past them, -err, and the
   * address space is left as it was.
   */
  mmapRefusedFile(addr: Arg, length: Arg, prot: number, flags: number, offset: Arg, err: number): bigint {
    return this.sysMmap(addr, length, offset, (a, l, o) =>
      this.mm.mmap(a, l, prot | 0, (flags | 0) & ~MAP_ANONYMOUS, { file: null, fileMode: O_RDWR, offset: o, task: this.task, device: () => -err }),
    );
  }

  /** The mmap system call around `body`: its u64 arguments, and an offset not page-aligned (EINVAL, sys_mmap()) refused first. */
  private sysMmap(addr: Arg, length: Arg, offset: Arg, body: (a: bigint, l: bigint, o: bigint) => bigint): bigint {
    return this.sys('mmap', BigInt(-ESRCH), () => {
      const a = u64(addr);
      const l = u64(length);
      const o = u64(offset);
      if (a === undefined || l === undefined || o === undefined) return BigInt(-EINVAL);
      if (o % BigInt(PAGE_SIZE) !== 0n) return BigInt(-EINVAL);
      return body(a, l, o);
    });
  }

  /**
   * The file's mmap as the address space calls it; every VMA of the mapping
   * holds the open file description (vma->vm_file): the file is released
   * when its last descriptor and its last VMA are gone, by whichever process
   * drops the last one.
   */
  private deviceMmap(d: FileDescription): DeviceMmap {
    const f = d.file;
    return (vmFlags, pgoff, pages) => {
      const m = f.mmap!(this, vmFlags, pgoff, pages);
      if (typeof m === 'number') return m;
      d.refs++;
      return {
        pfn: m.pfn,
        open: () => {
          d.refs++;
          m.open?.();
        },
        close: () => {
          m.close?.();
          this.putDescription(d);
        },
      };
    };
  }

  /**
   * mremap(2): the range's new address, or -errno. `place` is the bridge's
   * (see MmStruct.mremap()).
   */
  mremap(addr: Arg, oldLen: Arg, newLen: Arg, flags: Arg, newAddr: Arg = 0n, place?: MremapPlace): bigint {
    return this.sys('mremap', BigInt(-ESRCH), () => {
      const a = u64(addr);
      const ol = u64(oldLen);
      const nl = u64(newLen);
      const f = u64(flags);
      const na = u64(newAddr);
      if (a === undefined || ol === undefined || nl === undefined || f === undefined || na === undefined) return BigInt(-EINVAL);
      // unsigned long flags: any bit past the three known is refused first
      const fl = f > 0xffn ? 0x100 : Number(f);
      return this.mm.mremap(a, ol, nl, fl, na, this.task, place);
    });
  }

  /** munmap(2). */
  munmap(addr: Arg, length: Arg): number {
    return this.sys('munmap', -ESRCH, () => {
      const a = u64(addr);
      const l = u64(length);
      if (a === undefined || l === undefined) return -EINVAL;
      return this.mm.munmap(a, l);
    });
  }

  /** mlock(2): mlock2 without flags. */
  mlock(addr: Arg, length: Arg): number {
    return this.mlock2(addr, length, 0);
  }

  /** mlock2(2): flags other than MLOCK_ONFAULT are -EINVAL; see MmStruct.mlock. */
  mlock2(addr: Arg, length: Arg, flags: number): number {
    return this.sys('mlock', -ESRCH, () => {
      const a = u64(addr);
      const l = u64(length);
      if (a === undefined || l === undefined) return -EINVAL;
      if ((flags | 0) & ~MLOCK_ONFAULT) return -EINVAL;
      return this.mm.mlock(a, l, (flags & MLOCK_ONFAULT) !== 0, this.task);
    });
  }

  /** mlockall(2); see MmStruct.mlockall. */
  mlockall(flags: number): number {
    return this.sys('mlockall', -ESRCH, () => this.mm.mlockall(flags | 0, this.task));
  }

  /** munlockall(2). */
  munlockall(): number {
    return this.sys('munlockall', -ESRCH, () => this.mm.munlockall());
  }

  /** munlock(2). */
  munlock(addr: Arg, length: Arg): number {
    return this.sys('munlock', -ESRCH, () => {
      const a = u64(addr);
      const l = u64(length);
      if (a === undefined || l === undefined) return -EINVAL;
      return this.mm.munlock(a, l);
    });
  }

  /**
   * mincore(2) (mm/mincore.c): one byte per page of [addr, addr + length)
   * into the user buffer at `vec`, 1 where the page is resident
   * (mincoreChunk()). EINVAL for an unaligned start, ENOMEM for a range past
   * the user address space or meeting a hole (the chunks before it already
   * written), EFAULT for a vector that cannot take the entries, EAGAIN when
   * the buffer page cannot be had.
   */
  mincore(addr: Arg, length: Arg, vec: Arg): number {
    return this.sys('mincore', -ESRCH, () => {
      const a = u64(addr);
      const l = u64(length);
      const out = u64(vec);
      if (a === undefined || l === undefined || out === undefined) return -EINVAL;
      if (a % PAGE_N !== 0n) return -EINVAL;
      if (!accessOk(a, l)) return -ENOMEM;
      let pages = l / PAGE_N + (l % PAGE_N !== 0n ? 1n : 0n);
      if (!accessOk(out, pages)) return -EFAULT;
      if (!this.machine.phys.tempPage()) return -EAGAIN;
      let vpn = Number(a / PAGE_N);
      let at = out;
      while (pages > 0n) {
        const n = mincoreChunk(this.mm, vpn, Math.min(Number(pages), MINCORE_CHUNK), mincoreBuf, this.ownsRootNode());
        if (n < 0) return n;
        if (this.mm.writeUser(at, mincoreBuf.subarray(0, n)) !== 0) return -EFAULT;
        pages -= BigInt(n);
        at += BigInt(n);
        vpn += n;
      }
      return 0;
    });
  }

  /** mprotect(2). */
  mprotect(addr: Arg, length: Arg, prot: number): number {
    return this.sys('mprotect', -ESRCH, () => {
      const a = u64(addr);
      const l = u64(length);
      if (a === undefined || l === undefined) return -EINVAL;
      return this.mm.mprotect(a, l, prot | 0);
    });
  }

  /** mseal(2) (v6.10; ENOSYS before, profile mseal). */
  mseal(addr: Arg, length: Arg, flags: Arg): number {
    return this.sys('mseal', -ESRCH, () => {
      if (!this.machine.profile.mseal) return -ENOSYS;
      const a = u64(addr);
      const l = u64(length);
      const f = u64(flags);
      if (a === undefined || l === undefined || f === undefined) return -EINVAL;
      return this.mm.mseal(a, l, f);
    });
  }

  /** madvise(2). */
  madvise(addr: Arg, length: Arg, advice: number): number {
    return this.sys('madvise', -ESRCH, () => {
      const a = u64(addr);
      const l = u64(length);
      if (a === undefined || l === undefined) return -EINVAL;
      return this.mm.madvise(a, l, advice | 0, this.task);
    });
  }

  /** The process reads its own memory (copy_from_user semantics): 0 or -EFAULT. */
  readMemory(va: Arg, buf: Uint8Array): number {
    return this.sys('memory_read', -ESRCH, () => {
      const a = u64(va);
      if (a === undefined) return -EFAULT;
      return this.mm.cpuRead(a, buf);
    });
  }

  /** The process writes its own memory (copy_to_user semantics, but a fault out of memory is retried): 0 or -EFAULT. */
  writeMemory(va: Arg, data: Uint8Array): number {
    return this.sys('memory_write', -ESRCH, () => {
      const a = u64(va);
      if (a === undefined) return -EFAULT;
      return this.mm.cpuWrite(a, data);
    });
  }

  // ---------------------------------------------------------------------------
  // files

  /**
   * Descriptors 0, 1 and 2 as the oracle guest's programs have them
   * (stdio.ts): /dev/null read-only, then the console twice (one open file
   * description). From then on the lowest free descriptor may be below 3.
   */
  installStdio(): void {
    this.fds.set(0, new FileDescription(new NullFile(), openFileFlags(O_RDONLY), '/dev/null'));
    // console_on_rootfs(): filp_open() adds no O_LARGEFILE
    const tty = new FileDescription(new ConsoleFile(), O_RDWR, '/dev/console');
    tty.refs = 2;
    this.fds.set(1, tty);
    this.fds.set(2, tty);
    this.lowestFd = 0;
  }

  private allocFd(): number {
    let fd = this.lowestFd;
    while (this.fds.has(fd)) fd++;
    return fd < NR_OPEN_DEFAULT ? fd : -EMFILE;
  }

  /**
   * fd_install() for drivers: put a new open file in the lowest free slot.
   * Returns the fd, or -EMFILE (the caller still owns `file` then).
   */
  installFd(file: OpenFile, fileFlags = O_RDWR): number {
    if (this.dead) return -ESRCH;
    const fd = this.allocFd();
    if (fd < 0) return fd;
    // anon_inode_getfile(..., O_RDWR): f_flags O_RDWR, no O_LARGEFILE
    this.fds.set(fd, new FileDescription(file, fileFlags));
    return fd;
  }

  /** inode_owner_or_capable() of a root-owned inode (every model node and file): fsuid 0 or CAP_FOWNER. */
  private ownsRootNode(): boolean {
    return this.task.euid === 0 || this.task.caps.has('CAP_FOWNER');
  }

  /**
   * fchmod(2) (`gid` undefined: `uidOrMode` is the mode) and fchown(2) of a
   * descriptor, as notify_change() answers for a root-owned node: -EBADF for
   * one not open (or O_PATH); an anon-inode file -EOPNOTSUPP where the
   * profile's anon inode refuses every setattr; a mode change needs the owner
   * or CAP_FOWNER (setattr_prepare()), an owner or group change to anything
   * but root's CAP_CHOWN (chown_ok(), chgrp_ok(); -1 keeps it). 0 when
   * allowed: the model keeps its nodes' attributes as they were.
   */
  fsetattr(fd: number, uidOrMode: number, gid?: number): number {
    if (this.dead) return -ESRCH;
    const d = this.fdget(fd);
    if (d === undefined) return -EBADF;
    if (d.file.stat === undefined && this.machine.profile.anonInodeSetattrRefused) return -EOPNOTSUPP;
    const f = d.file.memfile;
    if (gid === undefined && f !== undefined && f.kind !== 'file') {
      // a memfd's mode: setattr_prepare() wants its owner or CAP_FOWNER, then shmem_setattr() keeps F_SEAL_EXEC's
      // promise (no change to the x bits; hugetlbfs_setattr() has no such check)
      if (this.task.euid !== f.uid && !this.task.caps.has('CAP_FOWNER')) return -EPERM;
      if (f.kind === 'shmem' && f.seals & F_SEAL_EXEC && (f.perm ^ uidOrMode) & 0o111) return -EPERM;
      f.perm = uidOrMode & 0o7777;
      return 0;
    }
    if (gid === undefined) return this.ownsRootNode() ? 0 : -EPERM;
    const chown = this.task.caps.has('CAP_CHOWN');
    const root = this.task.euid === 0;
    if (uidOrMode !== -1 && !(root && uidOrMode === 0) && !chown) return -EPERM;
    // chgrp_ok(): the owner may pick a group it is in (root's is 0), else CAP_CHOWN
    if (gid !== -1 && !(root && gid === 0) && !chown) return -EPERM;
    return 0;
  }

  // ---------------------------------------------------------------------------
  // credentials (mm/cred.ts)

  /** setuid(2): 0 or -errno. */
  setuid(uid: number): number {
    return this.sys('setuid', -ESRCH, () => setuid(this.task, uid, (u) => this.machine.userStruct(u)));
  }

  /** setreuid(2) (UID_KEEP, (uid_t)-1, leaves one as it is): 0 or -errno. */
  setreuid(ruid: number, euid: number): number {
    return this.sys('setreuid', -ESRCH, () => setreuid(this.task, ruid, euid, (u) => this.machine.userStruct(u)));
  }

  /** setresuid(2) (UID_KEEP leaves one as it is): 0 or -errno. */
  setresuid(ruid: number, euid: number, suid: number): number {
    return this.sys('setresuid', -ESRCH, () => setresuid(this.task, ruid, euid, suid, (u) => this.machine.userStruct(u)));
  }

  /** prctl(PR_SET_KEEPCAPS, v): 0 or -errno. */
  setKeepCaps(v: bigint): number {
    return this.sys('prctl', -ESRCH, () => setKeepCaps(this.task, v));
  }

  /** prctl(PR_SET_THP_DISABLE, disable, flags, arg4, arg5): 0 or -errno. */
  setThpDisable(disable: bigint, flags = 0n, arg4 = 0n, arg5 = 0n): number {
    return this.sys('prctl', -ESRCH, () => this.task.mm.setThpDisable(disable, flags, arg4, arg5));
  }

  /** prctl(PR_GET_THP_DISABLE, arg2, ...): 0, 1, 3 (except advised, 7.x) or -errno. */
  getThpDisable(arg2 = 0n, arg3 = 0n, arg4 = 0n, arg5 = 0n): number {
    return this.sys('prctl', -ESRCH, () => this.task.mm.getThpDisable(arg2, arg3, arg4, arg5));
  }

  /** setrlimit(RLIMIT_MEMLOCK, {cur, max}): 0 or -errno (Task.setMemlockLimit()). */
  setMemlockLimit(cur: bigint, max: bigint): number {
    return this.sys('setrlimit', -ESRCH, () => this.task.setMemlockLimit(cur, max));
  }

  /**
   * prlimit(pid, RLIMIT_MEMLOCK, nw, old) (SYSCALL prlimit64): set the limits
   * of process `pid` (0: this one) when `nw` is given, and answer the ones it
   * had (or -errno). No process of that pid (an exited one is reaped at once
   * here) is ESRCH; another process is open only to a caller whose UID is its
   * real, effective and saved one, or with CAP_SYS_RESOURCE
   * (check_prlimit_permission(), before do_prlimit()'s EINVAL of cur > max).
   * The model keeps no group IDs: every process has the same.
   */
  prlimitMemlock(pid: number, nw?: { cur: bigint; max: bigint }): { cur: bigint; max: bigint } | number {
    return this.sys<{ cur: bigint; max: bigint } | number>('prlimit64', -ESRCH, () => {
      const target = pid === 0 ? this : this.machine.processes.get(pid);
      if (target === undefined || target.exited) return -ESRCH;
      const me = this.task;
      const t = target.task;
      if (target !== this && !(me.uid === t.euid && me.uid === t.suid && me.uid === t.uid) && !me.capable(CAP_SYS_RESOURCE)) return -EPERM;
      const old = { cur: t.rlimitMemlock, max: t.rlimitMemlockMax };
      if (nw) {
        const rc = t.setMemlockLimit(nw.cur, nw.max, me);
        if (rc !== 0) return rc;
      }
      return old;
    });
  }

  /** getrlimit(RLIMIT_MEMLOCK): the soft and hard limits, or -ESRCH once exited. */
  memlockLimit(): { cur: bigint; max: bigint } | number {
    return this.sys<{ cur: bigint; max: bigint } | number>('getrlimit', -ESRCH, () => ({ cur: this.task.rlimitMemlock, max: this.task.rlimitMemlockMax }));
  }

  /** fcntl(F_GETFL): the file's f_flags; an O_PATH descriptor answers too (check_fcntl_cmd()). */
  getfl(fd: number): number {
    if (this.dead) return -ESRCH;
    const d = this.fds.get(fd);
    return d === undefined ? -EBADF : d.flags;
  }

  /** f_pos of the descriptor's open file description (/proc/PID/fdinfo's pos), -EBADF when not open. */
  fdPos(fd: number): bigint | number {
    const d = this.fds.get(fd);
    return d === undefined ? -EBADF : d.pos;
  }

  /** What the file's show_fdinfo adds to /proc/PID/fdinfo/`fd` (seq_show()); '' for none or a descriptor not open. */
  fdinfoExtra(fd: number): string {
    const d = this.fds.get(fd);
    return d?.file.showFdinfo?.(d.refs) ?? '';
  }

  /**
   * fcntl(F_SETFL) (setfl()): only SETFL_MASK changes; O_NOATIME needs the
   * inode's owner (root for every model file) or CAP_FOWNER (-EPERM), and
   * O_DIRECT a file that can do direct I/O (-EINVAL). No model file has
   * fasync, so FASYNC stays off. An O_PATH descriptor is -EBADF.
   */
  setfl(fd: number, arg: number): number {
    if (this.dead) return -ESRCH;
    const d = this.fdget(fd);
    if (d === undefined) return -EBADF;
    if (arg & O_NOATIME && !(d.flags & O_NOATIME) && !this.ownsRootNode()) return -EPERM;
    if (arg & O_DIRECT && d.file.canODirect !== true) return -EINVAL;
    d.flags = (arg & SETFL_MASK) | (d.flags & ~SETFL_MASK);
    return 0;
  }

  /**
   * Undo installFd() for a driver whose command failed after installing
   * (put_unused_fd): the descriptor goes away and the file is handed back
   * unreleased. undefined if `fd` is not open.
   */
  takeFd(fd: number): OpenFile | undefined {
    const d = this.fds.get(fd);
    if (d === undefined) return undefined;
    this.fds.delete(fd);
    d.refs--;
    return d.file;
  }

  /**
   * The sending side of an SCM_RIGHTS message (scm_fp_copy(), fget_raw()):
   * the message holds a reference to `fd`'s open file description until it
   * is received or dropped, so the sender may close its descriptor at once.
   * -EBADF for a descriptor not open.
   */
  scmSend(fd: number): InFlightFile | number {
    if (this.dead) return -ESRCH;
    const d = this.fds.get(fd);
    if (d === undefined) return -EBADF;
    d.refs++;
    return new InFlightFile(d, this);
  }

  /**
   * The receiving side (receive_fd()): the message's file at descriptor `to`,
   * the number the real recvmsg chose, replacing whatever the model kept
   * there. -EBADF when the message was already received or dropped.
   */
  scmReceive(f: InFlightFile, to: number): number {
    return this.sys('recvmsg', -ESRCH, () => {
      const d = f.claim();
      if (d === undefined) return -EBADF;
      if (!Number.isInteger(to) || to < 0 || to >= NR_OPEN_DEFAULT) {
        f.drop(d);
        return -EBADF;
      }
      if (this.fds.has(to)) this.closeFd(to);
      this.fds.set(to, d as FileDescription);
      return to;
    });
  }

  /**
   * pidfd_getfd(2) (pidfd_getfd() → receive_fd()): `from`'s open file
   * description of `fd` installed here at descriptor `to`, the number the
   * real call chose (close-on-exec, which the real descriptor keeps). The
   * ptrace access check is the real call's. -EBADF for a descriptor `from`
   * has not open, -ESRCH when it has exited.
   */
  pidfdGetfd(from: Process, fd: number, to: number): number {
    return this.sys('pidfd_getfd', -ESRCH, () => {
      if (from.dead) return -ESRCH;
      const f = from.scmSend(fd);
      if (typeof f === 'number') return f;
      return this.scmReceive(f, to);
    });
  }

  /**
   * get_file() for a driver: one more reference on the open file description
   * behind `fd` (which must be open); the returned put drops it, and the last
   * reference runs the file's release (fput()).
   */
  holdFile(fd: number): () => void {
    const d = this.fds.get(fd)!;
    d.refs++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.putDescription(d);
    };
  }

  /** fput() of a reference held beside the descriptors: the last one runs the release, in the process dropping it. */
  private putDescription(d: FileDescription): void {
    if (--d.refs === 0) d.file.release(this.machine.currentProcess ?? this);
  }

  /** The lowest other descriptor on the same open file description as `fd` (a dup of it), or -1. */
  sameFileFd(fd: number): number {
    const d = this.fds.get(fd);
    if (d === undefined) return -1;
    for (const other of this.fds.ascending()) if (other !== fd && this.fds.get(other) === d) return other;
    return -1;
  }

  /** fget(): the open file behind `fd`, for drivers (e.g. a VFIO device fd); an O_PATH file is none. */
  fileOf(fd: number): OpenFile | undefined {
    const f = this.fds.get(fd)?.file;
    return f?.pathOnly === true ? undefined : f;
  }

  /**
   * The link /proc/PID/fd/`fd` reads (d_path()): the node it was opened by,
   * else the file's own name ("anon_inode:[...]", "/memfd:... (deleted)");
   * -EBADF for a descriptor not open.
   */
  fdPath(fd: number): string | number {
    const d = this.fds.get(fd);
    if (d === undefined) return -EBADF;
    return d.path ?? d.file.dname ?? 'anon_inode:[unknown]';
  }

  /** `fd` is an open descriptor (of any file, an O_PATH one included: fdget_raw()). */
  hasFd(fd: number): boolean {
    return this.fds.has(fd);
  }

  /** fdget(): the descriptor's open file description, undefined when not open or O_PATH. */
  private fdget(fd: number): FileDescription | undefined {
    const d = this.fds.get(fd);
    return d === undefined || d.file.pathOnly === true ? undefined : d;
  }

  /** Open descriptors, ascending (a list kept until the table next changes: do not modify it). */
  openFds(): readonly number[] {
    return this.fds.ascending();
  }

  /**
   * open(2) of a registered node: the fd, -ENOENT for an unknown path. With
   * 7.x's O_EMPTYPATH, '' opens again the file of descriptor `from`; `walk`
   * as openat2()'s.
   */
  open(path: string, flags: number, from?: number, walk = 0): number {
    return this.openat2(path, this.openHow(flags), walk, from);
  }

  /** build_open_flags() alone: 0 or the -errno openat2() with `how` answers before it reads the path. */
  checkOpenHow(how: OpenHow): number {
    const r = this.buildOpenFlags(how);
    return typeof r === 'number' ? 0 : r.err;
  }

  /**
   * build_open_how(): what open() and openat() make of their flags for
   * openat2's checks: only VALID_OPEN_FLAGS kept (an unknown bit is dropped,
   * not refused), O_PATH keeping only O_PATH_FLAGS, no mode (the nodes here
   * are never created).
   */
  private openHow(flags: number): OpenHow {
    const emptyPath = this.machine.profile.openEmptyPath ? O_EMPTYPATH : 0;
    let f = flags & (VALID_OPEN_FLAGS | emptyPath);
    if (f & O_PATH) f &= O_PATH_FLAGS | emptyPath;
    return { flags: BigInt(f >>> 0), mode: 0n, resolve: 0n };
  }

  /**
   * openat2(2) of a registered node, on the path the caller resolved to the
   * node's name ('' with `from`, the directory descriptor, for an empty path):
   * do_sys_openat2() checks the open_how first (build_open_flags()), then the
   * name, then takes a descriptor, then walks; `walk` is the walk's own
   * failure the caller found (RESOLVE_BENEATH or RESOLVE_NO_XDEV: -EXDEV).
   */
  openat2(path: string, how: OpenHow, walk: number, from?: number): number {
    return this.sys('open', -ESRCH, () => {
      const built = this.buildOpenFlags(how);
      if (typeof built !== 'number') return built.err;
      const flags = built;
      const regular = (how.flags & OPENAT2_REGULAR) !== 0n;
      // getname(): an empty name only with LOOKUP_EMPTY (7.x's O_EMPTYPATH)
      if (path === '' && !(this.machine.profile.openEmptyPath && flags & O_EMPTYPATH)) return -ENOENT;
      const fd = this.allocFd();
      if (fd < 0) return fd;
      if (walk < 0) return walk;
      if (path === '') {
        // path_init() of LOOKUP_EMPTY: the walk ends at the descriptor's own file
        const src = from === undefined ? undefined : this.fds.get(from);
        if (src === undefined) return -EBADF;
        if (src.file.memfile !== undefined && src.file.memfile.kind !== 'file') return this.reopenMemfd(fd, `/proc/self/fd/${from}`, flags) ?? -ENOENT;
        if (src.path === undefined) {
          // an anonymous inode: do_o_path() needs no open, do_open() finds none (no_open(): -ENXIO)
          if (!(flags & O_PATH)) return -ENXIO;
          this.fds.set(fd, new FileDescription(new PathFile(src.file.stat?.() ?? ANON_INODE_STAT), flags & ~O_CLOEXEC, src.file.dname));
          return fd;
        }
        path = src.path;
      }
      const reopened = this.reopenMemfd(fd, path, flags);
      if (reopened !== undefined) return reopened;
      const node = this.machine.device(path);
      if (node === undefined) return this.openDir(fd, path, flags, regular);
      // do_open(): O_CREAT | O_EXCL of a path that exists, before the directory check; 7.x's OPENAT2_REGULAR
      // between the two (every node here is a device)
      if ((flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) return -EEXIST;
      if (regular && !(flags & O_PATH)) return -EFTYPE;
      if (flags & O_DIRECTORY) return -ENOTDIR;
      // do_o_path(): the lookup alone, the device is not opened
      if (flags & O_PATH) {
        // do_o_path(): f_flags as build_open_how() left them (O_PATH_FLAGS, O_LARGEFILE gone), without O_CLOEXEC
        this.fds.set(fd, new FileDescription(new PathFile(node.stat?.() ?? ANON_INODE_STAT), flags & ~O_CLOEXEC, path));
        return fd;
      }
      // may_open(): O_NOATIME only for the inode's owner (root, for every node here) or with CAP_FOWNER
      if (flags & O_NOATIME && !this.ownsRootNode()) return -EPERM;
      const file = node.open(this, flags | 0);
      if (typeof file === 'number') return file;
      // do_dentry_open(): after the driver's open, O_DIRECT on a file that cannot do it; the file is released
      if (flags & O_DIRECT && file.canODirect !== true) {
        file.release(this);
        return -EINVAL;
      }
      if (file.fmode === undefined) file.fmode = flags & O_ACCMODE;
      this.fds.set(fd, new FileDescription(file, openFileFlags(flags), path));
      return fd;
    });
  }

  /**
   * do_open() of a directory of device nodes (/dev/vfio): creation is EEXIST
   * with O_EXCL and EISDIR without, 7.x's OPENAT2_REGULAR EFTYPE, write
   * access EISDIR (may_open()); else a DirFile (or an O_PATH file). -ENOENT
   * when `path` is none.
   */
  private openDir(fd: number, path: string, flags: number, regular: boolean): number {
    const st = this.machine.deviceDir(path);
    if (st === undefined) return -ENOENT;
    if (flags & O_CREAT) return flags & O_EXCL ? -EEXIST : -EISDIR;
    if (regular && !(flags & O_PATH)) return -EFTYPE;
    if (flags & O_PATH) {
      this.fds.set(fd, new FileDescription(new PathFile(st), flags & ~O_CLOEXEC, path));
      return fd;
    }
    // ACC_MODE(): O_WRONLY, O_RDWR and 3 ask for writing, and so does O_TRUNC
    if (flags & (O_ACCMODE | O_TRUNC)) return -EISDIR;
    if (flags & O_NOATIME && !this.ownsRootNode()) return -EPERM;
    const parent = path.slice(0, path.lastIndexOf('/'));
    this.fds.set(fd, new FileDescription(new DirFile(st, () => this.machine.deviceDirChildren(path), this.machine.nodeIno(parent) ?? 0), openFileFlags(flags), path));
    return fd;
  }

  /**
   * getdents64(2): the directory's entries from the description's position
   * written at `buf` as linux_dirent64 records (ino, the next entry's
   * position, record length, type, the name and its NUL, each record
   * 8-byte aligned; the padding is not written), as many as `count` bytes
   * hold; the bytes written, 0 at the end, or -errno. -EBADF for a closed or
   * O_PATH descriptor, -ENOTDIR for a file that lists nothing
   * (iterate_dir()), -EINVAL when the first record does not fit, -EFAULT
   * when it cannot be written (filldir64(); a later one that cannot ends
   * the listing before it). The position moves to the first entry not
   * written.
   */
  getdents64(fd: number, buf: bigint, count: number): number {
    return this.sys('getdents64', -ESRCH, () => {
      const d = this.fdget(fd);
      if (d === undefined) return -EBADF;
      if (d.file.readdir === undefined) return -ENOTDIR;
      const records = d.file.readdir(d.pos);
      const room = count >>> 0;
      let used = 0;
      let err = 0;
      // (nothing listed: the end, DIR_OFFSET_EOD)
      let pos = records.length > 0 ? d.pos : 0x7fffffffn;
      for (const r of records) {
        const name = new TextEncoder().encode(r.name);
        const len = 19 + name.length + 1;
        const reclen = (len + 7) & ~7;
        if (reclen > room - used) {
          err = -EINVAL;
          pos = r.at;
          break;
        }
        const rec = new Uint8Array(len);
        const v = new DataView(rec.buffer);
        v.setBigUint64(0, BigInt(r.ino), true);
        v.setBigInt64(8, r.next, true);
        v.setUint16(16, reclen, true);
        rec[18] = r.type;
        rec.set(name, 19);
        if (this.mm.writeUser(buf + BigInt(used), rec) < 0) {
          err = -EFAULT;
          pos = r.at;
          break;
        }
        used += reclen;
        pos = r.next;
      }
      d.pos = pos;
      return used > 0 ? used : err;
    });
  }

  /**
   * build_open_flags(): every field of an open_how checked (openat2() takes
   * them as given; open() and openat() come through openHow()), in the
   * kernel's order: unknown flags or resolve bits, both scoping flags, a mode
   * without creation or beyond S_IALLUGO, O_DIRECTORY | O_CREAT (6.4+),
   * __O_TMPFILE without O_DIRECTORY or write access, 7.x's OPENAT2_REGULAR
   * with O_DIRECTORY, O_PATH with other flags, RESOLVE_CACHED of a creating or
   * truncating open (-EAGAIN). The flags as the open goes on with them.
   */
  private buildOpenFlags(how: OpenHow): number | { err: number } {
    const latest = this.machine.profile.openEmptyPath;
    // O_CLOEXEC is stripped first (it is the descriptor's), and before 7.x __FMODE_NONOTIFY (1 << 26)
    let flags = how.flags & ~BigInt(O_CLOEXEC | (latest ? 0 : O_EMPTYPATH));
    const valid = BigInt(VALID_OPEN_FLAGS | (latest ? O_EMPTYPATH : 0)) | (latest ? OPENAT2_REGULAR : 0n);
    if (flags & ~valid) return { err: -EINVAL };
    if (how.resolve & ~VALID_RESOLVE_FLAGS) return { err: -EINVAL };
    if (how.resolve & RESOLVE_BENEATH && how.resolve & RESOLVE_IN_ROOT) return { err: -EINVAL };
    // WILL_CREATE(): a mode within S_IALLUGO, else none
    const willCreate = (flags & BigInt(O_CREAT | O_TMPFILE_BIT)) !== 0n;
    if (willCreate ? (how.mode & ~0o7777n) !== 0n : how.mode !== 0n) return { err: -EINVAL };
    const f = Number(flags & 0xffffffffn);
    if (this.machine.profile.openDirectoryCreateEinval && (f & (O_DIRECTORY | O_CREAT)) === (O_DIRECTORY | O_CREAT)) return { err: -EINVAL };
    if (f & O_TMPFILE_BIT && ((f & (O_DIRECTORY | O_CREAT)) !== O_DIRECTORY || (f & O_ACCMODE) === O_RDONLY)) return { err: -EINVAL };
    if (flags & OPENAT2_REGULAR && f & O_DIRECTORY) return { err: -EINVAL };
    if (f & O_PATH && flags & ~BigInt(O_PATH_FLAGS | (latest ? O_EMPTYPATH : 0))) return { err: -EINVAL };
    if (how.resolve & RESOLVE_CACHED && f & (O_TRUNC | O_CREAT | O_TMPFILE_BIT)) return { err: -EAGAIN };
    // the open goes on with the descriptor's O_CLOEXEC again
    flags = BigInt(f) | (how.flags & BigInt(O_CLOEXEC));
    return Number(flags) | 0;
  }

  /**
   * dup(2) / fcntl(F_DUPFD, min): a new descriptor, the lowest free one at or
   * above `min`, sharing the open file description of `fd` (one release when
   * the last descriptor of it closes). -EBADF for an unknown fd, -EINVAL for
   * a `min` outside the table (f_dupfd), -EMFILE when the table is full.
   */
  dup(fd: number, min = 0): number {
    return this.sys('dup', -ESRCH, () => {
      const d = this.fds.get(fd);
      if (d === undefined) return -EBADF;
      if (!Number.isInteger(min) || min < 0 || min >= NR_OPEN_DEFAULT) return -EINVAL;
      let to = Math.max(min, this.lowestFd);
      while (this.fds.has(to)) to++;
      if (to >= NR_OPEN_DEFAULT) return -EMFILE;
      d.refs++;
      this.fds.set(to, d);
      return to;
    });
  }

  /**
   * dup2(2) / dup3(2): make `to` a descriptor of the file description of
   * `fd`, closing what `to` held first (ksys_dup3(): dup3 with fd == to is
   * -EINVAL, dup2 with fd == to returns `to` once fd is checked). -EBADF for
   * a `to` outside the table, then for an unknown `fd`.
   */
  dup3(fd: number, to: number, dup2 = false): number {
    return this.sys('dup3', -ESRCH, () => {
      const d = this.fds.get(fd);
      if (fd === to) return dup2 ? (d === undefined ? -EBADF : to) : -EINVAL;
      if (!Number.isInteger(to) || to < 0 || to >= NR_OPEN_DEFAULT) return -EBADF;
      if (d === undefined) return -EBADF;
      d.refs++;
      if (this.fds.has(to)) this.closeFd(to);
      this.fds.set(to, d);
      return to;
    });
  }

  /** close(2). */
  close(fd: number): number {
    return this.sys('close', -ESRCH, () => this.closeFd(fd));
  }

  private closeFd(fd: number): number {
    const d = this.fds.get(fd);
    if (d === undefined) return -EBADF;
    this.fds.delete(fd);
    if (--d.refs === 0) d.file.release(this);
    return 0;
  }

  /** ioctl(2): -EBADF for an unknown fd, -ENOTTY when the file has no ioctl. */
  ioctl(fd: number, cmd: number, arg: Arg = 0n): number {
    return this.sys('ioctl', -ESRCH, () => {
      const d = this.fdget(fd);
      if (d === undefined) return -EBADF;
      const a = u64(arg);
      if (a === undefined) return -EINVAL;
      const generic = this.vfsIoctl(d, cmd >>> 0, a);
      if (generic !== undefined) return generic;
      if (d.file.ioctl === undefined) return -ENOTTY;
      return d.file.ioctl(this, cmd >>> 0, a);
    });
  }

  /**
   * do_vfs_ioctl(): the commands the VFS answers for every file before the
   * driver sees them; undefined for the rest. FIGETBSZ is the superblock's
   * block size: 4 KiB for devtmpfs, anon inodes and shmem, the huge page
   * size for a hugetlb memfd. Only a memfd, a rootfs or a tmpfs file is a
   * regular file (FIONREAD, FIOQSIZE, and file_ioctl()'s FIBMAP). No model
   * file has fasync, so FIOASYNC on is -ENOTTY (ioctl_fioasync).
   */
  private vfsIoctl(d: FileDescription, cmd: number, arg: bigint): number | undefined {
    const file = d.file;
    // file_ioctl(), for a regular file only (a memfd, a rootfs or tmpfs file): FIBMAP wants CAP_SYS_RAWIO
    // before anything (ioctl_fibmap()), then the int block number; none of these filesystems has a bmap, so
    // a block is EINVAL with 0 written back (bmap())
    if (cmd === FIBMAP && file.memfile !== undefined) {
      if (!this.task.capable('CAP_SYS_RAWIO')) return -EPERM;
      const b = new Uint8Array(4);
      if (this.mm.readUser(arg, b) !== 0) return -EFAULT;
      if (new DataView(b.buffer).getInt32(0, true) < 0) return -EINVAL;
      return this.mm.writeUser(arg, new Uint8Array(4)) === 0 ? -EINVAL : -EFAULT;
    }
    const fs = this.superOf(d);
    if (fs === 'devtmpfs' || fs === 'anon_inodefs' || fs === 'dmabuf') {
      const r = this.pseudoFsIoctl(d, fs, cmd, arg);
      if (r !== undefined) return r;
    }
    // Every other command goes to the driver (no helpers made for it).
    if (cmd !== FIOCLEX && cmd !== FIONCLEX && cmd !== FIONBIO && cmd !== FIOASYNC && cmd !== FIOQSIZE && cmd !== FIGETBSZ && cmd !== FIONREAD) return undefined;
    const getInt = (): number => {
      const b = new Uint8Array(4);
      return this.mm.readUser(arg, b) === 0 ? new DataView(b.buffer).getInt32(0, true) : Number.NaN;
    };
    const putInt = (v: number): number => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, v, true);
      return this.mm.writeUser(arg, b);
    };
    switch (cmd) {
      case FIOCLEX:
      case FIONCLEX:
        return 0;
      case FIONBIO: {
        // ioctl_fionbio(): O_NONBLOCK of the open file description follows the int
        const on = getInt();
        if (Number.isNaN(on)) return -EFAULT;
        d.flags = on ? d.flags | O_NONBLOCK : d.flags & ~O_NONBLOCK;
        return 0;
      }
      case FIOASYNC: {
        const on = getInt();
        if (Number.isNaN(on)) return -EFAULT;
        return on ? -ENOTTY : 0;
      }
      case FIOQSIZE: {
        // inode_get_bytes(): the blocks the file holds, not its size (a rootfs file is all in memory); a
        // directory of device nodes holds none
        const f = file.memfile;
        if (file instanceof DirFile) return this.mm.writeUser(arg, new Uint8Array(8));
        if (f === undefined) return -ENOTTY;
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigInt64(0, f.kind === 'file' ? BigInt(f.nfolios * f.folioBytes) : f.allocatedBytes(), true);
        return this.mm.writeUser(arg, b);
      }
      case FIGETBSZ:
        // the superblock's s_blocksize: hugetlbfs_fill_super() makes it the huge page size
        return putInt(file.memfile?.kind === 'hugetlb' ? file.memfile.folioBytes : PAGE_SIZE);
      case FIONREAD:
        // i_size - f_pos, stored as an int
        return file.memfile ? putInt(Number(BigInt.asIntN(32, file.memfile.size - d.pos))) : undefined;
      default:
        return undefined;
    }
  }

  /**
   * The filesystem a file is on, for the superblock's part of do_vfs_ioctl():
   * a device node or the directory of some (devtmpfs), an anonymous inode
   * (anon_inodefs), a dma-buf (its own), a memfd's or tmpfs file's cache, a
   * file the model does not know (exec's, 'host'); undefined for the rest (the
   * console).
   */
  private superOf(d: FileDescription): 'devtmpfs' | 'anon_inodefs' | 'dmabuf' | 'shmem' | 'hugetlbfs' | 'rootfs' | 'host' | undefined {
    const f = d.file;
    if (f.outside === true) return 'host';
    if (f.memfile !== undefined) return f.memfile.kind === 'hugetlb' ? 'hugetlbfs' : f.memfile.kind === 'shmem' ? 'shmem' : 'rootfs';
    if (f instanceof DirFile || d.path?.startsWith('/dev/')) return 'devtmpfs';
    if (f.dname?.startsWith('anon_inode:')) return 'anon_inodefs';
    if (f.dname === '/dmabuf:') return 'dmabuf';
    return undefined;
  }

  /**
   * do_vfs_ioctl()'s superblock and remap commands on a file of devtmpfs,
   * anon_inodefs or the dma-buf filesystem (what Linux 6.12.95 and 7.2.13
   * answer progs/vfsioctl.c): none can freeze (ioctl_fsfreeze(): EPERM
   * without CAP_SYS_ADMIN, then EOPNOTSUPP), a thaw finds nothing frozen
   * (thaw_super(): EINVAL), none has fiemap (EOPNOTSUPP before the struct is
   * read) or remap_file_range, and none of their files is regular
   * (generic_file_rw_checks(), vfs_dedupe_file_range(): EINVAL, EISDIR for the
   * directory, EXDEV first for a source on another filesystem); devtmpfs (a
   * shmem superblock) has a UUID, the others none (ENOTTY), and none a sysfs
   * name (ENOTTY). undefined: the command is the driver's.
   */
  private pseudoFsIoctl(d: FileDescription, fs: string, cmd: number, arg: bigint): number | undefined {
    const read = (n: number, at = 0n): DataView | undefined => {
      const b = new Uint8Array(n);
      return this.mm.readUser(arg + at, b) === 0 ? new DataView(b.buffer) : undefined;
    };
    const kind = (x: FileDescription): number => (x.file instanceof DirFile ? S_IFDIR : x.file.memfile !== undefined ? S_IFREG : 0);
    // ioctl_file_clone() → vfs_clone_file_range(): the source by number (fdget of an unsigned int), the superblocks, generic_file_rw_checks()
    const clone = (srcfd: number): number => {
      const src = this.fdget(srcfd >>> 0);
      if (src === undefined) return -EBADF;
      if (this.superOf(src) !== fs) return -EXDEV;
      return kind(src) === S_IFDIR || kind(d) === S_IFDIR ? -EISDIR : -EINVAL;
    };
    switch (cmd >>> 0) {
      case FIFREEZE:
        return this.task.capable('CAP_SYS_ADMIN') ? -EOPNOTSUPP : -EPERM;
      case FITHAW:
        return this.task.capable('CAP_SYS_ADMIN') ? -EINVAL : -EPERM;
      case FS_IOC_FIEMAP:
        return -EOPNOTSUPP;
      case FICLONE:
        return clone(Number(arg & 0xffffffffn));
      case FICLONERANGE: {
        // struct file_clone_range: s64 src_fd, then the offsets and length
        const v = read(32);
        return v === undefined ? -EFAULT : clone(v.getUint32(0, true));
      }
      case FIDEDUPERANGE: {
        // ioctl_file_dedupe_range(): get_user() of dest_count (u16 at 16) first, then memdup_user() of its
        // struct_size() (24 + 32 each, at most a page)
        const c = read(2, 16n);
        if (c === undefined) return -EFAULT;
        const size = 24 + 32 * c.getUint16(0, true);
        if (size > PAGE_SIZE) return -ENOMEM;
        const v = read(size);
        if (v === undefined) return -EFAULT;
        if (!fmodeReads(fmodeOf(d.file)) || v.getUint16(18, true) !== 0 || v.getUint32(20, true) !== 0) return -EINVAL;
        return kind(d) === S_IFDIR ? -EISDIR : -EINVAL;
      }
      case FS_IOC_GETFSUUID: {
        if (fs !== 'devtmpfs') return -ENOTTY;
        // struct fsuuid2 { u8 len; u8 uuid[16]; }: shmem_fill_super()'s random UUID of this boot
        const b = new Uint8Array(17);
        b[0] = 16;
        b.set(this.machine.devtmpfsUuid, 1);
        return this.mm.writeUser(arg, b) === 0 ? 0 : -EFAULT;
      }
      case FS_IOC_GETFSSYSFSPATH:
        return -ENOTTY;
      default:
        return undefined;
    }
  }

  /** read(2): bytes read or -errno (-EBADF unknown fd or not open for reading, -EINVAL when the file has no read). */
  read(fd: number, buf: Arg, count: number): number {
    return this.sys('read', -ESRCH, () => this.vfsRw(false, this.fdget(fd), buf, count, undefined));
  }

  /**
   * vfs_read() / vfs_write() on the description `d` at `pos` (pread/pwrite)
   * or at its f_pos: -EBADF unless open for it, -EINVAL for a file without
   * the method, access_ok() of the whole buffer, rw_verify_area() (position +
   * count past LLONG_MAX: no model file has unsigned offsets), then the count
   * cut to MAX_RW_COUNT. No zero-count shortcut: the file decides (a
   * vEVENTQ's read of nothing is -EINVAL).
   */
  private vfsRw(write: boolean, d: FileDescription | undefined, buf: Arg, count: number, pos: bigint | undefined): number {
    if (d === undefined) return -EBADF;
    const fmode = fmodeOf(d.file);
    if (write ? !fmodeWrites(fmode) : !fmodeReads(fmode)) return -EBADF;
    const method = write ? d.file.write : d.file.read;
    if (method === undefined) return -EINVAL;
    const a = u64(buf);
    if (a === undefined || !Number.isSafeInteger(count) || count < 0) return -EINVAL;
    if (!accessOk(a, BigInt(count))) return -EFAULT;
    const io: FileIo = pos === undefined ? d : { pos, flags: d.flags };
    if (io.pos + BigInt(count) > LLONG_MAX) return -EINVAL;
    return method.call(d.file, this, a, Math.min(count, MAX_RW_COUNT), io);
  }

  /**
   * lseek(2): the new position or -errno. ksys_lseek(): -EBADF for a closed
   * (or O_PATH) descriptor, -EINVAL for a whence past SEEK_HOLE; then
   * vfs_llseek(): -ESPIPE for a file without llseek (/dev/iommu, the
   * anon-inode files), else the file's llseek moves the description's position.
   */
  lseek(fd: number, offset: bigint, whence: number): bigint {
    return this.sys('lseek', BigInt(-ESRCH), () => {
      const d = this.fdget(fd);
      if (d === undefined) return BigInt(-EBADF);
      if (!Number.isInteger(whence) || whence < 0 || whence > SEEK_HOLE) return BigInt(-EINVAL);
      if (d.file.llseek === undefined) return BigInt(-ESPIPE);
      const to = d.file.llseek(d.pos, BigInt.asIntN(64, offset), whence);
      if (to >= 0n) d.pos = to;
      return to;
    });
  }

  /**
   * pread(2) / pwrite(2): ksys_pread64() / ksys_pwrite64(): a negative
   * position is -EINVAL before the descriptor is looked at, a file without
   * FMODE_PREAD / FMODE_PWRITE (the anon-inode ones) -ESPIPE; then as
   * read(2) / write(2) at that position, leaving f_pos where it was
   * (vfs_read() / vfs_write(): /dev/iommu has neither, -EINVAL).
   */
  pread(fd: number, buf: Arg, count: number, pos: bigint): number {
    return this.positional(fd, pos) ?? this.sys('read', -ESRCH, () => this.vfsRw(false, this.fdget(fd), buf, count, BigInt.asIntN(64, pos)));
  }

  pwrite(fd: number, buf: Arg, count: number, pos: bigint): number {
    return this.positional(fd, pos) ?? this.sys('write', -ESRCH, () => this.vfsRw(true, this.fdget(fd), buf, count, BigInt.asIntN(64, pos)));
  }

  /**
   * The f_mode bits of `fd` the splice family checks (do_splice(), do_tee(),
   * do_sendfile()): FMODE_READ 1, FMODE_WRITE 2, FMODE_PREAD and FMODE_PWRITE
   * 4 (the positional ones); 8 for an O_PATH descriptor, which fdget() does
   * not return (EBADF); -EBADF for none. No model file has splice_read or
   * splice_write, so past these checks they answer EINVAL.
   */
  spliceModes(fd: number): number {
    if (this.dead) return -ESRCH;
    const d = this.fds.get(fd);
    if (d === undefined) return -EBADF;
    if (d.file.pathOnly === true) return 8;
    const m = fmodeOf(d.file);
    return (fmodeReads(m) ? 1 : 0) | (fmodeWrites(m) ? 2 : 0) | (d.file.positional === true ? 4 : 0);
  }

  /** What ksys_pread64/pwrite64 answer before vfs_read/vfs_write, undefined when those run. */
  private positional(fd: number, pos: bigint): number | undefined {
    if (this.dead) return -ESRCH;
    if (BigInt.asIntN(64, pos) < 0n) return -EINVAL;
    const d = this.fdget(fd);
    if (d === undefined) return -EBADF;
    return d.file.positional === true ? undefined : -ESPIPE;
  }

  /**
   * readv(2) (`pos` undefined), preadv(2) and preadv2(2) (preadv2 at position
   * -1 is readv with flags): bytes read or -errno. do_preadv(): a negative
   * position is -EINVAL before the descriptor, a file without FMODE_PREAD
   * -ESPIPE; vfs_readv(): -EBADF unless open for reading, -EINVAL for a file
   * without read (before the iovecs are looked at), then import_iovec(); no
   * bytes asked is 0; then the file's read per segment (iov.ts).
   */
  readv(fd: number, vec: Arg, vlen: Arg, pos?: bigint, flags = 0): number {
    return this.rwv(false, fd, vec, vlen, pos, flags);
  }

  /** writev(2), pwritev(2), pwritev2(2): as readv, with the file's write. */
  writev(fd: number, vec: Arg, vlen: Arg, pos?: bigint, flags = 0): number {
    return this.rwv(true, fd, vec, vlen, pos, flags);
  }

  private rwv(write: boolean, fd: number, vec: Arg, vlen: Arg, pos: bigint | undefined, flags: number): number {
    return this.sys(write ? 'writev' : 'readv', -ESRCH, () => {
      if (pos !== undefined && BigInt.asIntN(64, pos) < 0n) return -EINVAL;
      const d = this.fdget(fd);
      if (d === undefined) return -EBADF;
      if (pos !== undefined && d.file.positional !== true) return -ESPIPE;
      const fmode = fmodeOf(d.file);
      if (write ? !fmodeWrites(fmode) : !fmodeReads(fmode)) return -EBADF;
      if ((write ? d.file.write : d.file.read) === undefined) return -EINVAL;
      const v = u64(vec);
      const n = u64(vlen);
      if (v === undefined || n === undefined) return -EINVAL;
      // import_iovec() takes the count as an unsigned int
      const segs = importIovec(this.mm, v, Number(n & 0xffff_ffffn));
      if (typeof segs === 'number') return segs;
      const total = iovTotal(segs);
      if (total === 0) return 0;
      // rw_verify_area(): position + count past LLONG_MAX (no model file has unsigned offsets)
      if (BigInt.asIntN(64, pos ?? d.pos) + BigInt(total) > LLONG_MAX) return -EINVAL;
      const file = d.file;
      const io: FileIo = pos === undefined ? d : { pos: BigInt.asIntN(64, pos), flags: d.flags };
      return loopReadvWritev(segs, flags >>> 0, (base, len) => (write ? file.write!(this, base, len, io) : file.read!(this, base, len, io)));
    });
  }

  /** fstat(2): the attributes of the file behind `fd` (an O_PATH one too: vfs_fstat() uses fdget_raw()), or -EBADF. */
  fstat(fd: number): FileStat | number {
    if (this.dead) return -ESRCH;
    const d = this.fds.get(fd);
    if (d === undefined) return -EBADF;
    const st = d.file.stat?.() ?? { ...ANON_INODE_STAT };
    // a node opened by its path: its inode's number
    const ino = d.path !== undefined && st.ino === undefined && (st.mode & S_IFMT) !== 0 ? this.machine.nodeIno(d.path) : undefined;
    return ino === undefined ? st : { ...st, ino };
  }

  /** stat(2) of a path: the node's attributes, -ENOENT for a path the machine has no node at. */
  stat(path: string): FileStat | number {
    if (this.dead) return -ESRCH;
    const node = this.machine.device(path);
    if (node === undefined) return this.machine.deviceDir(path) ?? -ENOENT;
    const st = node.stat?.() ?? { ...ANON_INODE_STAT };
    const ino = this.machine.nodeIno(path);
    return ino === undefined ? st : { ...st, ino };
  }

  /** write(2): bytes written or -errno (-EBADF unknown fd or read-only, -EINVAL when the file has no write). */
  write(fd: number, buf: Arg, count: number): number {
    return this.sys('write', -ESRCH, () => this.vfsRw(true, this.fdget(fd), buf, count, undefined));
  }

  /**
   * poll(2) of one descriptor: its revents, the ready events among `events`
   * (POLLERR and POLLHUP always reported). As do_pollfd(): a negative fd is
   * skipped (0), a descriptor that is not open is POLLNVAL, not an error. A
   * file without poll is always ready for reading and writing
   * (DEFAULT_POLLMASK).
   */
  poll(fd: number, events: number): number {
    return this.sys('poll', -ESRCH, () => {
      if (fd < 0) return 0;
      const d = this.fdget(fd);
      if (d === undefined) return POLLNVAL;
      const mask = d.file.poll ? d.file.poll(this) : DEFAULT_POLLMASK;
      return mask & (events | POLLERR | POLLHUP);
    });
  }

  /**
   * file_can_poll() of the file behind `fd`: 1 when it has a poll method (the
   * fault and vEVENTQ files), 0 when not (/dev/iommu: epoll_ctl refuses it
   * with EPERM), -EBADF when not open.
   */
  pollable(fd: number): number {
    if (this.dead) return -ESRCH;
    const d = this.fdget(fd);
    if (d === undefined) return -EBADF;
    return d.file.poll !== undefined ? 1 : 0;
  }

  /** The wake-ups of the file behind `fd` so far (OpenFile.wakeups; 0 for a file never woken), -EBADF when not open. */
  pollWakeups(fd: number): number {
    if (this.dead) return -ESRCH;
    const d = this.fdget(fd);
    if (d === undefined) return -EBADF;
    return d.file.wakeups?.() ?? 0;
  }

  /**
   * ioctl(2) on a struct (test and client convenience): copy `bytes` into a
   * scratch mapping of this process, call ioctl with its address, and copy the
   * struct back into `bytes`. The scratch is an anonymous private mapping made
   * and populated on first use (grown when a bigger struct comes); its setup
   * and the two copies pass no fault-injection point, so fail-nth counts only
   * what the ioctl itself does. Returns the ioctl's result (or -ENOMEM/-ESRCH
   * when no scratch could be made).
   */
  ioctlStruct(fd: number, cmd: number, bytes: Uint8Array): number {
    if (this.dead) return -ESRCH;
    // As this process with fault injection off (model-internal work, not a syscall); no closures per call.
    const m = this.machine;
    let prevFaults = m.faults.current;
    let prevCur = m.currentProcess;
    m.faults.current = undefined;
    m.currentProcess = this;
    let va: bigint;
    let wrc = 0;
    try {
      va = this.scratchFor(bytes.length);
      if (va >= 0n) wrc = this.mm.writeUser(va, bytes);
    } finally {
      m.faults.current = prevFaults;
      m.currentProcess = prevCur;
    }
    if (va < 0n) return Number(va);
    if (wrc !== 0) return -EFAULT;
    const rc = this.ioctl(fd, cmd, va);
    if (!this.dead) {
      prevFaults = m.faults.current;
      prevCur = m.currentProcess;
      m.faults.current = undefined;
      m.currentProcess = this;
      try {
        this.mm.readUser(va, bytes);
      } finally {
        m.faults.current = prevFaults;
        m.currentProcess = prevCur;
      }
    }
    return rc;
  }

  private scratchVa = 0n;
  private scratchLen = 0;

  /** Where ioctlStruct() keeps its scratch mapping (len 0: none yet), for tools that follow the process's memory. */
  get ioctlScratch(): { va: bigint; len: number } {
    return { va: this.scratchVa, len: this.scratchLen };
  }

  /** A populated scratch mapping of at least `len` bytes: its address, or a negative errno. */
  private scratchFor(len: number): bigint {
    if (this.scratchLen >= len && this.scratchLen > 0) return this.scratchVa;
    const want = Math.max(PAGE_SIZE, Math.ceil(len / PAGE_SIZE) * PAGE_SIZE);
    const va = this.mm.mmap(0n, BigInt(want), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, { file: null, fileMode: O_RDWR, offset: 0n, task: this.task });
    if (va < 0n) return va;
    // populated page by page from the shared zero contents (a fresh private page reads zeros anyway)
    const zeros = uniformPage(0);
    let rc = 0;
    for (let off = 0; off < want && rc === 0; off += PAGE_SIZE) rc = this.mm.writeUser(va + BigInt(off), zeros);
    if (rc !== 0) {
      this.mm.munmap(va, BigInt(want));
      return BigInt(rc);
    }
    if (this.scratchLen > 0) this.mm.munmap(this.scratchVa, BigInt(this.scratchLen));
    this.scratchVa = va;
    this.scratchLen = want;
    return va;
  }

  /** memfd_create(2): a shmem (or, with MFD_HUGETLB, hugetlbfs) file of size 0. */
  memfdCreate(name: string, flags = 0): number {
    return this.sys('memfd_create', -ESRCH, () => {
      const hugeBits = (MAP_HUGE_MASK << MAP_HUGE_SHIFT) >>> 0;
      // SYSCALL_DEFINE2(memfd_create): the size bits only with MFD_HUGETLB; EXEC and NOEXEC_SEAL not both
      // (the exec seal itself is not modelled: no fcntl sealing, no exec).
      const all = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
      if (flags & ~(flags & MFD_HUGETLB ? all | hugeBits : all)) return -EINVAL;
      if (flags & MFD_EXEC && flags & MFD_NOEXEC_SEAL) return -EINVAL;
      let file: MemFile;
      if (flags & MFD_HUGETLB) {
        const log = (flags >>> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
        const order = log === 0 || log === 21 ? PMD_ORDER : log === 30 ? PUD_ORDER : -1;
        // hugetlb_file_setup(): no hstate of that size (get_hstate_idx() < 0)
        if (order < 0 || !this.machine.phys.hasHstate(order)) return -ENODEV;
        file = new MemFile(this.machine.phys, 'hugetlb', 0n, { order, name: `memfd:${name}` });
      } else file = new MemFile(this.machine.phys, 'shmem', 0n, { name: `memfd:${name}` });
      file.get();
      // memfd_alloc_file(): MFD_NOEXEC_SEAL takes the x bits away and seals F_SEAL_EXEC (and lets more seals
      // come), MFD_ALLOW_SEALING lets them come; the inode is the caller's (shmem_get_inode())
      if (flags & MFD_NOEXEC_SEAL) {
        file.perm = 0o666;
        file.seals = (file.seals & ~F_SEAL_SEAL) | F_SEAL_EXEC;
      } else if (flags & MFD_ALLOW_SEALING) file.seals &= ~F_SEAL_SEAL;
      file.uid = this.task.euid;
      // memfd_alloc_file(): O_RDWR | O_LARGEFILE
      const fd = this.installFd(this.memfdFile(file, `/memfd:${name} (deleted)`, O_RDWR), O_RDWR | O_LARGEFILE);
      if (fd < 0) file.put();
      return fd;
    });
  }

  /**
   * A struct file of memfd `file` opened `fmode` (memfd_alloc_file(), or a
   * reopen through /proc/PID/fd): FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE,
   * a regular file of the inode's mode named as shmem_file_setup() names it
   * under the internal mount, unlinked; or of a tmpfs file, named by its link.
   */
  private memfdFile(file: MemFile, name: string | TmpfsInode, fmode: number): OpenFile {
    const attrs: FileStat = { mode: S_IFREG, rdevMajor: 0, rdevMinor: 0, size: 0n, blksize: file.folioBytes };
    return {
      memfile: file,
      // a tmpfs file's d_path() follows its link: " (deleted)" once unlinked
      get dname() {
        return typeof name === 'string' ? name : name.linked ? name.path : `${name.path} (deleted)`;
      },
      fmode,
      positional: true,
      stat: () => ({ ...attrs, mode: S_IFREG | file.perm, size: file.size }),
      // shmem_file_read_iter() / hugetlbfs_read_iter(); hugetlbfs has no write_iter (write(2) is -EINVAL)
      read: (proc, buf, count, io) => file.read(proc.mm, buf, count, io),
      write: file.kind === 'shmem' ? (proc, buf, count, io) => file.write(proc.mm, buf, count, io, (io.flags & O_APPEND) !== 0, this.machine.profile.writeFaultInAfterShortCopy) : undefined,
      llseek: (pos, offset, whence) => file.llseek(pos, offset, whence),
      release: () => file.put(),
    };
  }

  /**
   * open(2) of /proc/self/fd/N (/proc/thread-self/fd/N, /proc/<own pid>/fd/N)
   * where N is a memfd: proc_fd_link() leads to its inode and do_open()
   * opens it anew, a struct file of its own (access mode, position, flags);
   * O_CREAT | O_EXCL is EEXIST, O_DIRECTORY ENOTDIR, O_TRUNC truncates
   * (handle_truncate(): the size seals may refuse it, and the new file with
   * it). undefined when the path is no such link, -ENOENT when N is not open.
   * may_open()'s inode_permission() against the memfd's mode is not made:
   * the model keeps no group, and a memfd is rw for all unless chmod'ed.
   */
  private reopenMemfd(fd: number, path: string, flags: number): number | undefined {
    const m = /^\/proc\/(self|thread-self|\d+)\/fd\/(\d+)$/.exec(path);
    if (m === null || (m[1] !== 'self' && m[1] !== 'thread-self' && Number(m[1]) !== this.pid)) return undefined;
    const src = this.fds.get(Number(m[2]));
    if (src === undefined) return -ENOENT;
    const f = src.file.memfile;
    const st = src.file.stat?.();
    if (f === undefined || f.kind === 'file' || src.file.pathOnly === true || st === undefined || src.file.dname === undefined) return undefined;
    if ((flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) return -EEXIST;
    if (flags & O_DIRECTORY) return -ENOTDIR;
    if (flags & O_PATH) {
      this.fds.set(fd, new FileDescription(new PathFile(st), flags & ~O_CLOEXEC));
      return fd;
    }
    if (flags & O_TRUNC && f.size !== 0n && f.seals & F_SEAL_SHRINK) return -EPERM;
    f.get();
    const file = this.memfdFile(f, src.file.dname, flags & O_ACCMODE);
    if (flags & O_TRUNC) f.truncate(0n);
    this.fds.set(fd, new FileDescription(file, openFileFlags(flags)));
    return fd;
  }

  /**
   * open(2) of a regular file of the tmpfs on /tmp whose path the caller has
   * walked (under exec, the real open did the lookup, O_CREAT, O_EXCL and the
   * permission checks): `key` names the inode (Tmpfs; undefined: an inode
   * with no name, as O_TMPFILE makes), `attrs` are what the caller found
   * there when the model does not know it yet (the size, the permission bits
   * and the owner). A new struct file of the inode, with its
   * own access mode and position (do_dentry_open()); O_TRUNC truncates it
   * (handle_truncate(): no seal can refuse it, a tmpfs file takes none).
   * O_PATH and O_DIRECTORY are the caller's to refuse.
   */
  openTmpfs(key: string | undefined, path: string, flags: number, attrs: { size: bigint; perm: number; uid: number }): number {
    return this.sys('open', -ESRCH, () => {
      if (flags & O_PATH || (flags & O_DIRECTORY && !(flags & O_TMPFILE_BIT))) return -EINVAL;
      if (attrs.size < 0n || attrs.size > LLONG_MAX) return -EINVAL;
      const fd = this.allocFd();
      if (fd < 0) return fd;
      let ino = key === undefined ? undefined : this.machine.tmpfs.lookup(key);
      if (ino === undefined) {
        // shmem_get_inode(): F_SEAL_SEAL (MemFile's default), the mode and owner the creation gave
        const f = new MemFile(this.machine.phys, 'shmem', attrs.size, { name: path });
        f.perm = attrs.perm & 0o7777;
        f.uid = attrs.uid;
        ino = key === undefined ? { file: f, path, linked: false } : this.machine.tmpfs.add(key, path, f);
      } else if (flags & O_TRUNC) ino.file.truncate(0n);
      ino.file.get();
      this.fds.set(fd, new FileDescription(this.memfdFile(ino.file, ino, flags & O_ACCMODE), openFileFlags(flags)));
      return fd;
    });
  }

  /**
   * fcntl(F_ADD_SEALS / F_GET_SEALS) (memfd_fcntl()): a memfd's seals, -EINVAL
   * for any other file (and for another command); adding needs a descriptor
   * open for writing (-EPERM), then MemFile.addSeals() decides.
   */
  memfdFcntl(fd: number, cmd: number, arg: number): number {
    return this.sys('fcntl', -ESRCH, () => {
      const d = this.fdget(fd);
      if (d === undefined) return -EBADF;
      const f = d.file.memfile;
      const sealable = f !== undefined && f.kind !== 'file';
      if (cmd === F_GET_SEALS) return sealable ? f.seals : -EINVAL;
      if (cmd !== F_ADD_SEALS) return -EINVAL;
      if (!fmodeWrites(fmodeOf(d.file))) return -EPERM;
      // (an unknown seal and a file without seals are both -EINVAL)
      if (!sealable) return -EINVAL;
      return f.addSeals(arg >>> 0, f.perm);
    });
  }

  /** ftruncate(2) of a file with a page cache (memfd). */
  ftruncate(fd: number, length: Arg): number {
    return this.sys('ftruncate', -ESRCH, () => {
      const d = this.fdget(fd);
      if (d === undefined) return -EBADF;
      const f = d.file.memfile;
      if (f === undefined || f.kind === 'file' || !fmodeWrites(fmodeOf(d.file))) return -EINVAL;
      // do_sys_ftruncate(): a negative loff_t; shmem's and hugetlbfs' s_maxbytes is MAX_LFS_FILESIZE, so every other size is taken
      const l = typeof length === 'bigint' ? BigInt.asIntN(64, length) : Number.isInteger(length) ? BigInt(length) : -1n;
      if (l < 0n) return -EINVAL;
      if (f.kind === 'hugetlb' && l % BigInt(f.folioBytes) !== 0n) return -EINVAL;
      // shmem_setattr() / hugetlbfs_setattr(): F_SEAL_SHRINK refuses a smaller size, F_SEAL_GROW a larger one
      if ((l < f.size && f.seals & F_SEAL_SHRINK) || (l > f.size && f.seals & F_SEAL_GROW)) return -EPERM;
      f.truncate(l);
      return 0;
    });
  }

  /**
   * fallocate(2) (ksys_fallocate(), vfs_fallocate()): a memfd's shmem_fallocate() or
   * hugetlbfs_fallocate(): PUNCH_HOLE (with KEEP_SIZE) drops the folios inside the range and
   * zeroes what it covers of the others; no mode allocates the range's folios, zero-filled, and
   * grows the size unless KEEP_SIZE. Any other mode is -EOPNOTSUPP.
   */
  fallocate(fd: number, mode: number, offset: Arg, len: Arg): number {
    return this.sys('fallocate', -ESRCH, () => {
      const d = this.fdget(fd);
      if (d === undefined) return -EBADF;
      const off = typeof offset === 'bigint' ? BigInt.asIntN(64, offset) : Number.isInteger(offset) ? BigInt(offset) : -1n;
      const n = typeof len === 'bigint' ? BigInt.asIntN(64, len) : Number.isInteger(len) ? BigInt(len) : -1n;
      if (off < 0n || n <= 0n) return -EINVAL;
      // the modes are exclusive, ALLOCATE_RANGE being none; KEEP_SIZE the one flag
      const modes = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE | (this.machine.profile.fallocWriteZeroes ? FALLOC_FL_WRITE_ZEROES : 0);
      if (mode & ~(modes | FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
      switch (mode & modes) {
        case 0:
        case FALLOC_FL_UNSHARE_RANGE:
        case FALLOC_FL_ZERO_RANGE:
          break;
        case FALLOC_FL_PUNCH_HOLE:
          if (!(mode & FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
          break;
        case FALLOC_FL_COLLAPSE_RANGE:
        case FALLOC_FL_INSERT_RANGE:
        case FALLOC_FL_WRITE_ZEROES:
          if (mode & FALLOC_FL_KEEP_SIZE) return -EOPNOTSUPP;
          break;
        default:
          return -EOPNOTSUPP;
      }
      if (!fmodeWrites(fmodeOf(d.file))) return -EBADF;
      const f = d.file.memfile;
      // the model's other files are no FIFO or directory: an anon inode or a device node is -ENODEV
      if (f === undefined) return ((d.file.stat?.() ?? ANON_INODE_STAT).mode & S_IFMT) === S_IFREG ? -EOPNOTSUPP : -ENODEV;
      if (off + n > LLONG_MAX) return -EFBIG;
      // a regular file of the model's (read-only contents) has no fallocate
      if (f.kind === 'file') return -EOPNOTSUPP;
      if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return -EOPNOTSUPP;
      if (mode & FALLOC_FL_PUNCH_HOLE) {
        // shmem_fallocate() / hugetlbfs_punch_hole(): no hole in write-sealed contents
        if (f.seals & F_SEALS_WRITE) return -EPERM;
        f.punchBytes(off, off + n);
        return 0;
      }
      // F_SEAL_GROW refuses a range past i_size, KEEP_SIZE or not
      if (f.seals & F_SEAL_GROW && off + n > f.size) return -EPERM;
      // end = (offset + len + folio size - 1) >> shift: shmem_fallocate() adds PAGE_SIZE, an unsigned long, so
      // the sum is unsigned and cannot wrap; hugetlbfs_fallocate()'s hpage_size is a loff_t, so near LLONG_MAX
      // the sum wraps negative (the kernel builds with -fno-strict-overflow), shifts arithmetically and is a
      // huge pgoff_t: the loop takes the whole pool (ENOSPC), leaving folios at page-cache indexes its
      // eviction no longer reaches (a kernel bug: clear_inode()'s BUG_ON(nrpages) when the file goes)
      const shift = BigInt(Math.log2(f.folioBytes));
      const start = off >> shift;
      const sum = off + n + BigInt(f.folioBytes) - 1n;
      const end = f.kind === 'hugetlb' ? BigInt.asUintN(64, BigInt.asIntN(64, sum) >> shift) : sum >> shift;
      const rc = f.allocate(start, end);
      if (rc < 0) return rc;
      if (!(mode & FALLOC_FL_KEEP_SIZE) && off + n > f.size) f.size = off + n;
      return 0;
    });
  }

  // ---------------------------------------------------------------------------
  // lifetime

  /** /proc/self/task/<tid>/fail-nth write: fail the n-th fault point from now (0 disarms). */
  setFailNth(n: number): void {
    this.task.failNth.arm(n);
  }

  /** /proc/self/task/<tid>/fail-nth read. */
  getFailNth(): number {
    return this.task.failNth.read();
  }

  /**
   * fork(2): a child with a copy-on-write copy of the address space, the same
   * open files (shared descriptions), credentials, limits and memory cgroup,
   * and a fresh fail-nth. Returns the child or -errno (-ENOMEM).
   */
  forkOrErrno(): Process | number {
    return this.sys<Process | number>('fork', -ESRCH, () => {
      const mm = this.mm.fork();
      if (typeof mm === 'number') return mm;
      const t = this.task;
      const task = new Task({
        pid: this.machine.allocPid(),
        uid: t.uid,
        euid: t.euid,
        suid: t.suid,
        user: t.user,
        caps: t.caps,
        permitted: t.permitted,
        capBset: t.capBset,
        keepCaps: t.keepCaps,
        rlimitMemlock: t.rlimitMemlock,
        rlimitMemlockMax: t.rlimitMemlockMax,
        rlimitStack: t.rlimitStack,
        mm,
        memcg: t.memcg,
      });
      const child = new Process(this.machine, task, this.pid);
      // ioctlStruct()'s scratch came along with the address space: the child uses it as it is
      child.scratchVa = this.scratchVa;
      child.scratchLen = this.scratchLen;
      child.lowestFd = this.lowestFd;
      for (const [fd, d] of this.fds) {
        d.refs++;
        child.fds.set(fd, d);
      }
      this.machine.adopt(child);
      return child;
    });
  }

  /** fork(2); throws ErrnoError(ENOMEM) in the rare case forkOrErrno() fails (a pinned page could not be copied). */
  fork(): Process {
    const r = this.forkOrErrno();
    if (typeof r === 'number') throw new ErrnoError(r === -ESRCH ? ESRCH : ENOMEM, 'fork');
    return r;
  }

  /** exit(2): close every descriptor, then drop the address space (pins keep their frames). */
  exit(): void {
    if (this.dead) return;
    this.sys('exit', undefined, () => {
      for (const fd of this.openFds()) this.closeFd(fd);
      this.dead = true;
      this.mm.mmput();
      this.machine.reap(this);
    });
  }
}
