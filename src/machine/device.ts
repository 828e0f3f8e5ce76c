// SPDX-License-Identifier: GPL-2.0-only
/**
 * The device-node hook: how /dev/iommu (and any other file) plugs into the
 * machine without machine code knowing about it. A DeviceNode opens into an
 * OpenFile (struct file); the process keeps it in its fd table, shared by
 * fork(), and calls release() when the last descriptor goes away.
 */
import { EACCES, EINVAL, EISDIR } from '../base/errno.js';
import type { DeviceMapping } from '../mm/address-space.js';
import type { MemFile } from '../mm/memfile.js';

import { PAGE_SIZE, SEEK_CUR, SEEK_SET } from '../mm/constants.js';

export { fmodeReads, fmodeWrites } from '../mm/constants.js';
import type { Process } from './process.js';

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_DIRECTORY = 0o200000;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const O_NOFOLLOW = 0o400000;
export const O_DIRECT = 0o40000;
export const O_DSYNC = 0o10000;
export const O_LARGEFILE = 0o100000;
export const O_NOATIME = 0o1000000;
/** __O_SYNC: O_SYNC is __O_SYNC | O_DSYNC. */
export const O_SYNC_BIT = 0o4000000;
/** __O_TMPFILE: O_TMPFILE is __O_TMPFILE | O_DIRECTORY. */
export const O_TMPFILE_BIT = 0o20000000;
/** Opened as a path only: the flags keep O_PATH_FLAGS (build_open_how()); the file is a PathFile. */
export const O_PATH = 0o10000000;
export const O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC;
/**
 * VALID_OPEN_FLAGS of x86-64 before 7.x: every bit build_open_how() keeps of
 * open()'s flags and openat2() accepts (O_RDONLY ... __O_TMPFILE).
 */
export const VALID_OPEN_FLAGS = 0o37777703;
/** 7.x's O_EMPTYPATH: an empty path names the file of the directory descriptor (1 << 26, 6.12's __FMODE_NONOTIFY). */
export const O_EMPTYPATH = 1 << 26;
/** 7.x's openat2() flag OPENAT2_REGULAR (bit 32 of open_how.flags): only a regular file opens. */
export const OPENAT2_REGULAR = 1n << 32n;
/** The RESOLVE_ flags openat2() knows (VALID_RESOLVE_FLAGS: NO_XDEV ... CACHED). */
export const RESOLVE_BENEATH = 0x08n;
export const RESOLVE_IN_ROOT = 0x10n;
export const RESOLVE_CACHED = 0x20n;
export const VALID_RESOLVE_FLAGS = 0x3fn;

/** struct open_how: openat2()'s flags, mode and resolve (u64 each). */
export interface OpenHow {
  flags: bigint;
  mode: bigint;
  resolve: bigint;
}

/** poll(2) event bits. */
export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
export const POLLRDNORM = 0x40;
export const POLLWRNORM = 0x100;
/** What poll reports for a file without a poll method. */
export const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

/** st_mode file types. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFCHR = 0o020000;
export const S_IFDIR = 0o040000;

export { SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET } from '../mm/constants.js';

/** What fstat(2) shows of a file (the fields a program can compare with the kernel's). */
export interface FileStat {
  /** st_mode: file type and permission bits. */
  mode: number;
  rdevMajor: number;
  rdevMinor: number;
  /** st_size (a loff_t). */
  size: bigint;
  blksize: number;
  /** st_ino: a devtmpfs node's or directory's inode number (absent: none the model keeps, 0). */
  ino?: number;
  /** st_blocks (512-byte units) of a pseudo file that sets its inode's bytes (a dma-buf); absent: 0. */
  blocks?: bigint;
  /** An inode of the file's own on a pseudo filesystem (a dma-buf's), not the shared anon inode. */
  ownInode?: boolean;
}

/**
 * A file a driver makes with anon_inode_getfile() (the access, fault and
 * vEVENTQ fds): the shared anon inode, S_IRUSR | S_IWUSR and no file type
 * (alloc_anon_inode()).
 */
export const ANON_INODE_STAT: Readonly<FileStat> = { mode: 0o600, rdevMajor: 0, rdevMinor: 0, size: 0n, blksize: PAGE_SIZE };

/**
 * Where a read or write runs (a kiocb): the description's f_pos (read(2),
 * write(2)) or pread's own position, and the description's f_flags
 * (O_APPEND). A file with a position moves `pos` past what it transferred.
 */
export interface FileIo {
  pos: bigint;
  readonly flags: number;
}

/** An open file (struct file). */
export interface OpenFile {
  /** What /proc/PID/fd shows for a file opened by no path (d_path() of a pseudo filesystem's dentry). */
  readonly dname?: string;
  /** unlocked_ioctl; absent → -ENOTTY. */
  ioctl?(proc: Process, cmd: number, arg: bigint): number;
  /** read; absent → -EINVAL. */
  read?(proc: Process, buf: bigint, count: number, io: FileIo): number;
  /** write; absent → -EINVAL. */
  write?(proc: Process, buf: bigint, count: number, io: FileIo): number;
  /** poll: the ready EPOLL* mask; absent → DEFAULT_POLLMASK. */
  poll?(proc: Process): number;
  /** Wake-ups of the file's wait queue so far (each event it queued); absent → never woken. */
  wakeups?(): number;
  /** The last descriptor was closed (fput → release). `proc` is the process closing it. */
  release(proc: Process): void;
  /** Page cache behind mmap of this file (shmem, hugetlbfs, a regular file); absent → mmap gives -ENODEV. */
  readonly memfile?: MemFile;
  /**
   * f_op->mmap of a device file without a page cache, once mmap's generic
   * checks passed: `vmFlags` of the new VMA (VM_SHARED only for a writable
   * MAP_SHARED), its page offset and length. Returns the PFNs to map
   * (VM_IO | VM_PFNMAP) with the vm_ops open/close, or -errno. Each VMA of
   * the mapping also holds the open file, as vma->vm_file does. Absent (and
   * no memfile) → -ENODEV.
   */
  mmap?(proc: Process, vmFlags: number, pgoff: bigint, pages: number): DeviceMapping | number;
  /**
   * Open mode (O_ACCMODE bits); filled from open()'s flags when left undefined. 3 (O_WRONLY|O_RDWR)
   * is neither readable nor writable (OPEN_FMODE(): FMODE_READ/WRITE from flags + 1): ioctl only.
   */
  fmode?: number;
  /** FMODE_CAN_ODIRECT: O_DIRECT opens of it are allowed (absent: do_dentry_open() refuses them, EINVAL). */
  readonly canODirect?: boolean;
  /** FMODE_PATH: an O_PATH file, which fget()/fdget() do not return (see PathFile). */
  readonly pathOnly?: boolean;
  /**
   * f_op->show_fdinfo: the lines the file adds to /proc/PID/fdinfo/N;
   * `descriptors` counts the descriptors sharing its open description.
   */
  showFdinfo?(descriptors: number): string;
  /** A file a driver installed: whether its new descriptor is close-on-exec (get_unused_fd_flags()); absent → yes. */
  readonly installCloexec?: boolean;
  /**
   * A stand-in keeping the number of a descriptor the real process holds and
   * the model does not (exec's placeholders): fget() asks Process.outsideFd.
   */
  readonly outside?: boolean;
  /**
   * path_noexec(): the file is on a pseudo filesystem (anon inodes, dma-bufs:
   * SB_I_NOEXEC) or a noexec mount, so mmap with PROT_EXEC is -EPERM.
   */
  readonly noexec?: boolean;
  /** What fstat shows (its inode's attributes); absent → ANON_INODE_STAT. */
  stat?(): FileStat;
  /**
   * f_op->llseek from the description's position `pos`: the new position or
   * -errno. Absent → no FMODE_LSEEK (a file operations table without llseek:
   * do_dentry_open() and file_init_path() leave it off), lseek is -ESPIPE.
   */
  llseek?(pos: bigint, offset: bigint, whence: number): bigint;
  /**
   * f_op->iterate_shared: the entries a directory lists from position `pos`,
   * each with the position of the entry after it. Absent → not a directory
   * (getdents64 is -ENOTDIR).
   */
  readdir?(pos: bigint): DirRecord[];
  /**
   * FMODE_PREAD | FMODE_PWRITE: set by do_dentry_open() on every file opened
   * through a path and by memfd_create(); files made by anon_inode_getfile()
   * have neither, so pread/pwrite on them are -ESPIPE. Absent → false.
   */
  readonly positional?: boolean;
}

/**
 * What open(O_PATH) installs: the node looked up, never opened (do_o_path():
 * no permission check, no driver open, the empty file operations). fdget()
 * and fget() skip it, so ioctl, mmap, read, write and ftruncate on it are
 * EBADF and poll reports POLLNVAL; close, dup, dup2/dup3 and F_DUPFD take it
 * (fdget_raw()).
 */
export class PathFile implements OpenFile {
  readonly pathOnly = true;
  readonly fmode = 0;
  /** The node's attributes: fstat takes an O_PATH descriptor (vfs_fstat() uses fdget_raw()). */
  constructor(private readonly attrs: FileStat = ANON_INODE_STAT) {}
  stat(): FileStat {
    return { ...this.attrs };
  }
  release(): void {}
}

/** A directory's entry (a linux_dirent64 as getdents64 writes it). */
export interface DirEntry {
  name: string;
  ino: number;
  /** DT_* of the inode: DT_DIR, DT_CHR, DT_REG. */
  type: number;
}

/** An entry listed from a position: the position it is at, and that of the one after it (d_off). */
export interface DirRecord extends DirEntry {
  at: bigint;
  next: bigint;
}

export const DT_CHR = 2;
export const DT_DIR = 4;
export const DT_REG = 8;

/** DIR_OFFSET_EOD: the position past a shmem directory's last entry (S32_MAX). */
const DIR_OFFSET_EOD = 0x7fffffffn;
/** DIR_OFFSET_FIRST: the position of the first entry after "." and "..". */
const DIR_OFFSET_FIRST = 2n;

/**
 * A directory's children as shmem's offset map holds them: each with the
 * offset it was given when it was made (simple_offset_add(): 3, 4, ... in
 * the order they were made).
 */
export interface DirChild extends DirEntry {
  offset: number;
}

/**
 * A directory of device nodes (devtmpfs's /dev/vfio) opened without write
 * access: its attributes, read(2) refused as generic_read_dir() does, and
 * its entries as shmem lists them (simple_offset_dir_operations).
 */
export class DirFile implements OpenFile {
  /** Opened only for reading (write access is EISDIR), and positional as a directory is (FMODE_PREAD). */
  readonly fmode = O_RDONLY;
  readonly positional = true;
  /**
   * `children()`: the directory's entries now; `parentIno`: the inode of the
   * directory holding it (the ".." entry).
   */
  constructor(
    private readonly attrs: FileStat,
    private readonly children: () => DirChild[] = () => [],
    private readonly parentIno = 0,
  ) {}
  stat(): FileStat {
    return { ...this.attrs };
  }
  read(): number {
    return -EISDIR;
  }
  /** offset_dir_llseek(): SEEK_SET and SEEK_CUR to any position at or past 0; else -EINVAL. */
  llseek(pos: bigint, offset: bigint, whence: number): bigint {
    // (a loff_t sum past LLONG_MAX wraps negative)
    const to = whence === SEEK_CUR ? BigInt.asIntN(64, pos + offset) : whence === SEEK_SET ? offset : -1n;
    return to >= 0n ? to : BigInt(-EINVAL);
  }
  /**
   * offset_readdir(): "." at position 0 and ".." at 1 (dir_emit_dots()),
   * then, unless the position is DIR_OFFSET_EOD, from the child at the
   * largest offset at or below it (the first child for 2, or when there is
   * none: offset_dir_lookup() then starts at the head) through the sibling
   * list, newest first. Each record carries the position the listing stands
   * at after it (d_off: the next entry's offset, at the end DIR_OFFSET_EOD).
   */
  readdir(pos: bigint): DirRecord[] {
    const out: DirRecord[] = [];
    if (pos === 0n) out.push({ name: '.', ino: this.attrs.ino ?? 0, type: DT_DIR, at: 0n, next: 1n });
    if (pos <= 1n) out.push({ name: '..', ino: this.parentIno, type: DT_DIR, at: 1n, next: DIR_OFFSET_EOD });
    if (pos === DIR_OFFSET_EOD) return out;
    // the sibling list holds the newest dentry first (d_alloc() adds at the head)
    const kids = this.children().sort((x, y) => y.offset - x.offset);
    let from = kids.findIndex((c) => BigInt(c.offset) <= pos);
    if (pos <= DIR_OFFSET_FIRST || from < 0) from = 0;
    if (out.length > 0 && kids.length > 0) out[out.length - 1].next = BigInt(kids[from].offset);
    for (let i = from; i < kids.length; i++) {
      const c = kids[i];
      out.push({ name: c.name, ino: c.ino, type: c.type, at: BigInt(c.offset), next: i + 1 < kids.length ? BigInt(kids[i + 1].offset) : DIR_OFFSET_EOD });
    }
    return out;
  }
  release(): void {}
}

/** A node in the file namespace (a character device, a file). */
export interface DeviceNode {
  open(proc: Process, flags: number): OpenFile | number;
  /** What stat(2) of its path shows (absent: ANON_INODE_STAT). */
  stat?(): FileStat;
  /** Set its permission bits (a chmod before the program, as a VM's init does); absent: they stay. */
  chmod?(perm: number): void;
}

/** A read-only regular file (e.g. /proc/self/exe) whose pages can be mmapped. */
export class RegularFileNode implements DeviceNode {
  readonly file: MemFile;

  constructor(file: MemFile) {
    this.file = file;
    file.get();
  }

  open(_proc: Process, flags: number): OpenFile | number {
    if ((flags & O_ACCMODE) !== O_RDONLY) return -EACCES;
    const f = this.file;
    f.get();
    // a file of the rootfs (tmpfs, which takes O_DIRECT since 6.6)
    return {
      memfile: f,
      fmode: O_RDONLY,
      canODirect: true,
      positional: true,
      stat: () => this.stat(),
      read: (proc, buf, count, io) => f.read(proc.mm, buf, count, io),
      llseek: (pos, offset, whence) => f.llseek(pos, offset, whence),
      release: () => f.put(),
    };
  }

  /** A regular file of the rootfs, readable and executable by all. */
  stat(): FileStat {
    return { mode: S_IFREG | 0o755, rdevMajor: 0, rdevMinor: 0, size: this.file.size, blksize: PAGE_SIZE };
  }
}
