// SPDX-License-Identifier: GPL-2.0-only
/**
 * mm constants with their x86-64 Linux values: page geometry, the mmap/mprotect
 * (include/uapi/asm-generic/mman*.h) and madvise uAPI numbers, GUP flags
 * (include/linux/mm_types.h FOLL_* and the mm/internal.h internal ones), the
 * vm_flags bits we model (include/linux/mm.h VM_*) and resource limits.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PAGE_SIZE_N = 4096n;
export const PAGE_MASK_N = ~(PAGE_SIZE_N - 1n);
/** Orders of the folios the model allocates: 4 KiB, 2 MiB (PMD: THP, hugetlb), 1 GiB (PUD: hugetlb). */
export const PMD_ORDER = 9;
export const PUD_ORDER = 18;
export const HPAGE_PMD_SIZE = 1 << (PAGE_SHIFT + PMD_ORDER);
export const HPAGE_PMD_NR = 1 << PMD_ORDER;
export const HPAGE_PUD_SIZE = 2 ** (PAGE_SHIFT + PUD_ORDER);

/** x86-64 4-level paging: the last user page ends at 2^47 - PAGE_SIZE. */
export const TASK_SIZE = (1n << 47n) - PAGE_SIZE_N;
export const TASK_SIZE_MAX = TASK_SIZE;

/** FMODE_READ of an open mode (OPEN_FMODE(): O_RDONLY 0 and O_RDWR 2 read; O_WRONLY 1 and 3 do not). */
export function fmodeReads(accmode: number): boolean {
  return (accmode & 3) === 0 || (accmode & 3) === 2;
}

/** FMODE_WRITE of an open mode (O_WRONLY 1 and O_RDWR 2; 3, "ioctl only", neither reads nor writes). */
export function fmodeWrites(accmode: number): boolean {
  return (accmode & 3) === 1 || (accmode & 3) === 2;
}

/** access_ok(ptr, len) on x86-64 for a run-time length: the range ends at or below TASK_SIZE_MAX. */
export function accessOk(va: bigint, len: bigint): boolean {
  return va + len <= TASK_SIZE_MAX;
}
/** STACK_TOP on x86-64 (TASK_SIZE_LOW): the initial stack ends here with randomization off. */
export const STACK_TOP = TASK_SIZE;
/** lseek(2) whence values (SEEK_MAX is SEEK_HOLE). */
export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

/** fallocate(2) modes and its one flag (include/uapi/linux/falloc.h). */
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;
export const FALLOC_FL_COLLAPSE_RANGE = 0x08;
export const FALLOC_FL_ZERO_RANGE = 0x10;
export const FALLOC_FL_INSERT_RANGE = 0x20;
export const FALLOC_FL_UNSHARE_RANGE = 0x40;
export const FALLOC_FL_WRITE_ZEROES = 0x80;

/** MAX_LFS_FILESIZE on 64-bit: the largest file position. */
export const MAX_LFS_FILESIZE = (1n << 63n) - 1n;

/** stack_guard_gap default: 256 pages (1 MiB) kept free below a VM_GROWSDOWN mapping. */
export const STACK_GUARD_GAP = 256n * PAGE_SIZE_N;
/** _STK_LIM: the default RLIMIT_STACK (8 MiB). */
export const STK_LIM = 8n * 1024n * 1024n;
/** /proc/sys/vm/mmap_min_addr: CONFIG_DEFAULT_MMAP_MIN_ADDR=4096 of both oracle kernels (their .config; distributions often use 65536). */
export const MMAP_MIN_ADDR = 4096n;
/** /proc/sys/vm/max_map_count default (DEFAULT_MAX_MAP_COUNT). */
export const DEFAULT_MAX_MAP_COUNT = 65530;

// --- mmap / mprotect prot ---
export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;

// --- mmap flags ---
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_ANON = MAP_ANONYMOUS;
/** x86-64: place the mapping in [1 GiB, 2 GiB) (find_start_end()). */
export const MAP_32BIT = 0x40;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_DENYWRITE = 0x0800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_NONBLOCK = 0x10000;
export const MAP_STACK = 0x20000;
export const MAP_HUGETLB = 0x40000;
export const MAP_SYNC = 0x80000;
export const MAP_FIXED_NOREPLACE = 0x100000;
export const MAP_UNINITIALIZED = 0x4000000;
export const MAP_HUGE_SHIFT = 26;
export const MAP_HUGE_MASK = 0x3f;
export const MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT;
export const MAP_HUGE_1GB = 30 << MAP_HUGE_SHIFT;
/** Flags accepted by MAP_SHARED (LEGACY_MAP_MASK; x86 defines MAP_32BIT and both huge sizes, so any of their bits pass). */
export const LEGACY_MAP_MASK =
  MAP_32BIT |
  MAP_HUGE_2MB |
  MAP_HUGE_1GB |
  MAP_SHARED |
  MAP_PRIVATE |
  MAP_FIXED |
  MAP_ANONYMOUS |
  MAP_DENYWRITE |
  MAP_EXECUTABLE |
  MAP_UNINITIALIZED |
  MAP_GROWSDOWN |
  MAP_LOCKED |
  MAP_NORESERVE |
  MAP_POPULATE |
  MAP_NONBLOCK |
  MAP_STACK |
  MAP_HUGETLB;

// --- madvise ---
export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_REMOVE = 9;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_DONTDUMP = 16;
export const MADV_DODUMP = 17;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;
export const MADV_DONTNEED_LOCKED = 24;
export const MADV_COLLAPSE = 25;
export const MADV_HWPOISON = 100;
export const MADV_SOFT_OFFLINE = 101;
/** Guard regions (v6.13): a PTE marker that faults SIGSEGV on every access; removed by MADV_GUARD_REMOVE. */
export const MADV_GUARD_INSTALL = 102;
export const MADV_GUARD_REMOVE = 103;

// --- memfd_create ---
export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;
export const MFD_HUGETLB = 0x4;
export const MFD_NOEXEC_SEAL = 0x8;
export const MFD_EXEC = 0x10;
export const MFD_HUGE_2MB = MAP_HUGE_2MB;
export const MFD_HUGE_1GB = MAP_HUGE_1GB;

// --- memfd seals (include/uapi/linux/fcntl.h) ---
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;
export const F_SEAL_FUTURE_WRITE = 0x10;
export const F_SEAL_EXEC = 0x20;
/** Every seal memfd_add_seals() knows (F_ALL_SEALS). */
export const F_ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;
/** The seals that forbid writing the contents (is_write_sealed()). */
export const F_SEALS_WRITE = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

// --- GUP flags (include/linux/mm_types.h) ---
export const FOLL_WRITE = 1 << 0;
export const FOLL_GET = 1 << 1;
export const FOLL_DUMP = 1 << 2;
export const FOLL_FORCE = 1 << 3;
export const FOLL_NOWAIT = 1 << 4;
export const FOLL_NOFAULT = 1 << 5;
export const FOLL_HWPOISON = 1 << 6;
export const FOLL_ANON = 1 << 7;
export const FOLL_LONGTERM = 1 << 8;
export const FOLL_SPLIT_PMD = 1 << 9;
export const FOLL_PCI_P2PDMA = 1 << 10;
export const FOLL_INTERRUPTIBLE = 1 << 11;
export const FOLL_HONOR_NUMA_FAULT = 1 << 12;
// internal (mm/internal.h)
export const FOLL_TOUCH = 1 << 16;
export const FOLL_TRIED = 1 << 17;
export const FOLL_REMOTE = 1 << 18;
export const FOLL_PIN = 1 << 19;
export const FOLL_FAST_ONLY = 1 << 20;
export const FOLL_UNLOCKABLE = 1 << 21;

// --- vm_flags (include/linux/mm.h); VM_READ/WRITE/EXEC equal the PROT_ bits ---
export const VM_NONE = 0;
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_PFNMAP = 0x400;
export const VM_LOCKED = 0x2000;
/** Lock the pages as they are faulted in, not at once (mlock2(MLOCK_ONFAULT)). */
export const VM_LOCKONFAULT = 0x80000;
/** VM_LOCKED_MASK. */
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
/** mlock2(2) flags. */
export const MLOCK_ONFAULT = 0x01;
/** mlockall(2) flags. */
export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;
export const MCL_ONFAULT = 4;
export const VM_IO = 0x4000;
/** MADV_SEQUENTIAL / MADV_RANDOM read-ahead hints: VMA flags like any other (a VMA splits to carry them). */
export const VM_SEQ_READ = 0x8000;
export const VM_RAND_READ = 0x10000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
/** VMA_MAYBE_GUARD_BIT (v6.19): the VMA may hold guard markers; sticky across merges, shown as `gu` in smaps. */
export const VM_MAYBE_GUARD = 0x800;
/**
 * VM_SEALED (mseal(2), v6.10): bit 63 in the kernel; the model keeps it in
 * VM_ARCH_1's bit (x86's VM_PAT, which the model never sets), so its 32-bit
 * flag arithmetic holds it, and shows it as `sl` last, as smaps lists bit 63.
 */
export const VM_SEALED = 0x1000000;
export const VM_DONTDUMP = 0x4000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

// --- resource limits ---
/** RLIM_INFINITY: (unsigned long)~0. */
export const RLIM_INFINITY = (1n << 64n) - 1n;
/** Default RLIMIT_MEMLOCK since v5.16 (MLOCK_LIMIT, 8 MiB). */
export const MLOCK_LIMIT = 8n * 1024n * 1024n;

/** GUP_PIN_COUNTING_BIAS: what one FOLL_PIN adds to an order-0 page's refcount in the kernel. */
export const GUP_PIN_COUNTING_BIAS = 1024;

/** mremap(2) flags (include/uapi/linux/mman.h). */
export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;
