// SPDX-License-Identifier: GPL-2.0-only
/**
 * A process address space (mm_struct): VMAs, page tables, page faults, the
 * mmap / munmap / mprotect / madvise system calls, fork and exit, and user
 * memory access (copy_to_user / copy_from_user).
 *
 * Representation. Addresses are bigint at the API (u64 as the syscall sees
 * them) and page numbers (`vpn`, JS numbers < 2^35) inside. VMAs are a sorted
 * array. Page tables are a Map from the 2 MiB region number (vpn / 512) to a
 * PtNode holding either 512 PTEs (pfn+1 in a Uint32Array, 0 = none, and a
 * flags byte per PTE) or one huge entry (a PMD mapping a 2 MiB folio or a
 * 2 MiB slice of a 1 GiB hugetlb folio). A THP or hugetlb mapping thus costs
 * one small object per 2 MiB. Empty nodes are dropped. A node of PTEs, or of
 * an anonymous PMD (which deposits a PTE table), costs a page of RAM, as the
 * kernel's page tables do (PhysicalMemory.allocTable()): an anonymous fault
 * takes it before its page and fails with ENOMEM without one; hugetlb needs
 * none. A slice whose 512 PTEs all map the zero page (a read populate) shares
 * one array of them until written (zeroSlice()).
 *
 * PTE flags: PTE_ANON (an anonymous page; otherwise page cache or the zero
 * page) and PTE_EXCL (PageAnonExclusive: this mm owns the anon page alone and
 * may write it in place). Writability is derived from the VMA and these bits:
 * a private mapping writes in place only to an exclusive anon page, anything
 * else takes a write (COW) fault. mprotect therefore never rewrites PTEs.
 *
 * Faulting follows the kernel: private anonymous memory has no page until
 * touched; a read fault maps the shared zero page (documented choice: the
 * kernel does so unless mm_forbids_zeropage), a write fault allocates an
 * exclusive page. A VMA allowed THP (MADV_HUGEPAGE under the default
 * 'madvise' mode, or 'always') write-faults a whole 2 MiB folio when the
 * aligned 2 MiB block lies inside the VMA and no page table exists for it yet
 * (pmd_none), else 4 KiB; THP allocation failure falls back to 4 KiB. A read
 * fault there maps the huge zero folio, which a write splits (6.12) or
 * replaces by a THP (7.x).
 * Hugetlb VMAs fault whole huge folios, from per-VMA reservations taken at
 * mmap (private) or the hugetlbfs file's reservations (shared).
 * MAP_SHARED anonymous memory is a shmem file (never THP: shmem_enabled is
 * 'never' by default); its pages live in the file and are mapped, not copied,
 * and a forked child refaults them lazily.
 *
 * Write (and unshare) faults on a non-exclusive anon page reuse it when no one
 * else references it (refcount 1 for a small folio or a PMD-mapped THP,
 * mapcount 1 for hugetlb) and copy it otherwise; a PMD-mapped THP that cannot
 * be reused is split to PTEs and the faulting 4 KiB page copied. fork() shares
 * private pages copy-on-write (both sides lose PTE_EXCL), except that an
 * exclusive anon folio that may be DMA pinned is copied for the child at once
 * (the parent keeps its pinned page), like copy_present_page().
 *
 * Layout: no ASLR (as with `setarch -R`): the mmap base is TASK_SIZE minus the
 * stack gap (128 MiB by default; setMmapBase() from RLIMIT_STACK), and a
 * process made by exec (setupExec) has the image of a static program at
 * 0x400000 and the [stack], [vvar], [vvar_vclock] and [vdso] mappings a real
 * x86-64 process has; a growsdown VMA keeps its guard gap free of later
 * placements. A user access (not GUP) below a growsdown VMA grows it
 * (expandStack).
 *
 * Not modelled (as on both oracle kernels, which are built without them):
 * swap, KSM, memory failure (their madvise advices are EINVAL). Not modelled
 * either: 6.13's guard regions, reclaim (but MADV_PAGEOUT's discard of the
 * pages MADV_FREE lazily freed), khugepaged and the MADV_COLLAPSE of shmem, NUMA,
 * ASLR, 6.12's stricter anon_vma check in VMA merging (a VMA being modified
 * that has an anon_vma does not take in a neighbour without one; the model
 * merges VMAs unless both have anon_vmas and they differ, as 7.x does),
 * anon_vma chains (a forked VMA's is never reused), memcg charging
 * of user pages.
 */
import { EACCES, EAGAIN, EBADF, EEXIST, EFAULT, EINVAL, ENODEV, ENOMEM, EOPNOTSUPP, EOVERFLOW, EPERM } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import { U64_MAX } from '../base/u64.js';
import type { WarnSink } from '../base/warn.js';
import {
  LEGACY_MAP_MASK,
  MAP_32BIT,
  MADV_COLD,
  MADV_COLLAPSE,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_HUGEPAGE,
  MADV_KEEPONFORK,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_REMOVE,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGE_MASK,
  MAP_HUGE_SHIFT,
  MAP_HUGETLB,
  MAP_LOCKED,
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_STACK,
  MAP_TYPE,
  MMAP_MIN_ADDR,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  DEFAULT_MAX_MAP_COUNT,
  PAGE_SIZE,
  PMD_ORDER,
  PROT_EXEC,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  PROT_READ,
  PROT_SEM,
  PROT_WRITE,
  PUD_ORDER,
  STACK_GUARD_GAP,
  STACK_TOP,
  TASK_SIZE,
  VM_ACCESS_FLAGS,
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_MAYBE_GUARD,
  VM_SEALED,
  VM_IO,
  VM_LOCKED,
  VM_LOCKED_MASK,
  VM_LOCKONFAULT,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_ACCOUNT,
  VM_NORESERVE,
  VM_PFNMAP,
  VM_RAND_READ,
  VM_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WIPEONFORK,
  VM_WRITE,
  F_SEALS_WRITE,
  fmodeReads,
  fmodeWrites,
} from './constants.js';
import { MemFile, type MemFileMapping } from './memfile.js';
import type { PhysicalMemory } from './physical-memory.js';
import { cover, coverSites } from '../base/coverage.js';

/** PTE flag: the page is anonymous. */
export const PTE_ANON = 1;
/** PTE flag: PageAnonExclusive. */
export const PTE_EXCL = 2;
/**
 * PTE flag: an exclusive anonymous page mapped read-only in a writable VMA,
 * as an unshare fault leaves it (wp_page_copy() / wp_page_reuse() with
 * FAULT_FLAG_UNSHARE do not make the entry writable): a write faults first
 * (and makes it writable in place), MADV_COLLAPSE on 6.12 finds no writable
 * PTE (SCAN_PAGE_RO), mprotect back to writable makes it writable.
 */
export const PTE_RDONLY = 4;
const PTE_ANON_EXCL = PTE_ANON | PTE_EXCL;
/**
 * A guard marker (PTE_MARKER_GUARD, v6.13): no page (its pfn entry is 0), and
 * any fault on it is SIGSEGV (handle_pte_marker()); counted in PtNode.markers.
 */
export const PTE_GUARD = 0x80;

/** MmStruct.thpDisable: PR_GET_THP_DISABLE's answers (1, and 1 | PR_THP_DISABLE_EXCEPT_ADVISED). */
export const THP_DISABLE_ALL = 1;
export const THP_DISABLE_EXCEPT_ADVISED = 3;
const PR_THP_DISABLE_EXCEPT_ADVISED = 2n;

export const FAULT_READ = 0;
export const FAULT_WRITE = 1;
/** FAULT_FLAG_UNSHARE: break COW for a read-only pin, keep the PTE read-only. */
export const FAULT_UNSHARE = 2;

const PT_SPAN = 512;
/** Pages below TASK_SIZE. */
export const TASK_PAGES = Number(TASK_SIZE / BigInt(PAGE_SIZE));
/** Where MAP_32BIT mappings go on x86-64 (find_start_end(): [1 GiB, 2 GiB)), in pages. */
const LOW32_BEGIN = 0x40000000 / PAGE_SIZE;
const LOW32_END = 0x80000000 / PAGE_SIZE;
const MIN_ADDR_PAGES = Number(MMAP_MIN_ADDR / BigInt(PAGE_SIZE));
/** mmap_base without randomization: TASK_SIZE minus the 128 MiB minimum stack gap. */
const MMAP_BASE_PAGES = TASK_PAGES - (128 * 1024 * 1024) / PAGE_SIZE;
/** TASK_UNMAPPED_BASE = PAGE_ALIGN(TASK_SIZE / 3), the bottom-up search base. */
const LEGACY_BASE_PAGES = Math.ceil(TASK_PAGES / 3);
const PAGE_N = BigInt(PAGE_SIZE);

/** What mmap needs from the calling task (mlock limits, capabilities). */
export interface MmCaller {
  readonly rlimitMemlock: bigint;
  capable(cap: string): boolean;
}

export type ThpMode = 'always' | 'madvise' | 'never';

export interface MmOptions {
  /** /sys/kernel/mm/transparent_hugepage/enabled; 'madvise' by default. */
  thp?: ThpMode;
  /** Align anonymous mappings whose length is a multiple of 2 MiB to 2 MiB (v6.7+); true by default. */
  thpAlignAnon?: boolean;
  maxMapCount?: number;
  /**
   * What pin_user_pages_fast() returns when start + npages wraps past 2^64: 0
   * (v6.2 .. v6.6, the default) or -EOVERFLOW (later kernels): give the errno.
   */
  gupOverflowErrno?: number;
  /** MAP_STACK sets VM_NOHUGEPAGE (v6.7+, c4608d1bf7c6); true by default. */
  mapStackNoHugepage?: boolean;
  /** A hugetlb mapping's hint is aligned down, not up (x86 before 6.13: profile hugetlbHintAlignsDown). */
  hugetlbHintDown?: boolean;
  /**
   * MADV_COLLAPSE as 7.x scans (profile madviseCollapseAnyPte): no writable
   * PTE needed, a block without a PTE table is skipped, a range with no
   * whole block is 0. false (the default): 6.1 - 6.12's madvise_collapse().
   */
  collapseAnyPte?: boolean;
  /**
   * A write to the huge zero folio allocates a THP in its place (7.x
   * do_huge_zero_wp_pmd(), profile hugeZeroWriteAllocsThp); false (the
   * default): 6.12's do_huge_pmd_wp_page() splits it into small zero PTEs
   * and the write gets a small page.
   */
  hugeZeroWpThp?: boolean;
  /**
   * khugepaged's slot for the mm is allocated before the mm is marked as
   * entered (7.x __khugepaged_enter()): a failed allocation is tried again
   * at the next THP fault; false (the default, 6.12): the mark comes first.
   */
  khugepagedSlotFirst?: boolean;
  /**
   * MADV_DONTNEED of a whole slice frees its emptied page table (profile
   * ptReclaim, CONFIG_PT_RECLAIM); false (the default): it stays until munmap.
   */
  ptReclaim?: boolean;
  /**
   * mremap(2) as 6.17+ does it (profile mremapMovesVmas): every parameter
   * checked before the VMA is looked up (check_mremap_params()), and an
   * MREMAP_FIXED move of an unchanged length moves each VMA of the range
   * (remap_move()). false (the default): 6.12's order, one VMA only.
   */
  mremapMulti?: boolean;
  /**
   * MADV_FREE makes the anonymous pages it covers lazily freeable, and
   * MADV_PAGEOUT discards those still clean and unreferenced (true, the
   * default). `iommufd-sim exec` turns it off: the program's CPU writes
   * reach the real process, not the model, and the host's reclaim decides.
   */
  lazyfree?: boolean;
  /** 7.x's reclaim of a lazily freed folio it cannot discard (profile lazyfreeKeepsReferenced); false: 6.12's. */
  lazyfreeKeepsReferenced?: boolean;
  /** gup_fast() refuses the huge zero folio's PMD, a special one (7.x; profile hugeZeroPmdSpecial). */
  hugeZeroSpecial?: boolean;
  /** [vvar]'s data pages are present once read, as 7.x's VM_MIXEDMAP mapping has them (profile vvarMixedMap). */
  vvarMixed?: boolean;
  /** MADV_DOFORK refuses every VM_SPECIAL mapping, not only VM_IO (7.x; profile madvDoforkRefusesSpecial). */
  doforkRefusesSpecial?: boolean;
  /** PR_SET_THP_DISABLE takes PR_THP_DISABLE_EXCEPT_ADVISED in arg3 (7.x; profile thpDisableExceptAdvised). */
  thpDisableExceptAdvised?: boolean;
  /** madvise(MADV_GUARD_INSTALL / MADV_GUARD_REMOVE) exist (v6.13; profile madvGuard). */
  guardRegions?: boolean;
  /**
   * A VMA with an anon_vma, being changed, may merge into a neighbour without
   * one (7.x is_mergeable_anon_vma() case 1; profile anonMergeSrcWithout);
   * false: 6.12, whose check wants the target's chain singular, and an empty
   * one is not.
   */
  anonMergeSrcWithout?: boolean;
  /** Profile msealAnonByVmOps: which sealed VMA refuses discarding advice. */
  msealAnonByVmOps?: boolean;
  warn?: WarnSink;
}

/** The bridge's hold on an mremap: see MmStruct.mremap(). */
export interface MremapPlace {
  /** Answer 0 where the call would go ahead, before anything changes. */
  check?: boolean;
  /** The real kernel put the range here (in place when it is the old address). */
  at?: bigint;
  /** Filled with what the call did, in order, for the bridge to do the same to the real process. */
  effects?: MremapEffect[];
  /**
   * Set by a `check`: whether the range would move, the lengths as the call takes them (page- or
   * huge-page-aligned), and where it would go (a move: the model's own choice of the new address).
   */
  checked?: { move: boolean; oldLen: bigint; newLen: bigint; to?: bigint };
}

/** One change an mremap made to the address space: a range unmapped, moved, or grown in place. */
export type MremapEffect =
  | { kind: 'unmap'; addr: bigint; len: bigint }
  | { kind: 'move'; from: bigint; oldLen: bigint; to: bigint; newLen: bigint; dontUnmap: boolean }
  | { kind: 'grow'; addr: bigint; oldLen: bigint; newLen: bigint };

/** One mremap in flight (the kernel's vma_remap_struct): lengths page-aligned as it goes. */
interface Remap {
  addr: bigint;
  oldLen: bigint;
  newLen: bigint;
  flags: number;
  newAddr: bigint;
  task: MmCaller | undefined;
  place: MremapPlace;
}

const MREMAP_ALL = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;

/** PAGE_ALIGN() of an unsigned long (wraps to 0 at the top). */
function pageAlign(x: bigint): bigint {
  return BigInt.asUintN(64, x + PAGE_N - 1n) & ~(PAGE_N - 1n);
}

/**
 * Where the bytes of user memory live when they are not the model's own: the
 * bridge (iommufd-sim exec) keeps page identity in the model and contents in
 * a real process. Absent (the default), user copies use the frames' contents.
 */
export interface UserBacking {
  /**
   * Move `len` bytes between user address `va` and buf[off..] (write: into
   * user memory). The model's page walk has already succeeded for the range.
   * Returns false when the bytes cannot be reached (then -EFAULT).
   */
  copy(va: number, buf: Uint8Array, off: number, len: number, write: boolean): boolean;
  /**
   * No VMA covers page `vpn`: the backing may add the mappings it knows
   * (e.g. from /proc/PID/maps). true → look again.
   */
  vmaMiss?(mm: MmStruct, vpn: number): boolean;
  /**
   * The model is about to walk pages [lo, hi) for GUP or a user copy, past
   * the entries it can take as they are: the backing may first bring the
   * page tables up to what the real process did there (pages its own CPU
   * touched since the model last looked).
   */
  touch?(mm: MmStruct, lo: number, hi: number): void;
  /**
   * The model gave pages [lo, hi) copies of a file's pages (a write to a
   * private mapping): the backing makes the real pages copies too, so that
   * later changes to the file no longer show through them.
   */
  copiedFile?(mm: MmStruct, lo: number, hi: number): void;
  /**
   * GUP's slow walk took pages [lo, hi) of a shared mapping of a file (with
   * FOLL_WRITE: `write`), faulting in those it had to: the backing may have
   * the real process's own page tables fault them the same way, since the
   * kernel's would show them (its smaps, its RSS).
   */
  gupShared?(mm: MmStruct, lo: number, hi: number, write: boolean): void;
}

/**
 * The mappings exec gives a new x86-64 process before its first instruction,
 * as far as they decide where later mappings go (see MmStruct.setupExec).
 */
export interface ExecLayout {
  /** RLIMIT_STACK (soft) at exec: sets the gap between the stack and mmap_base. */
  stackRlimit: bigint;
  /** Pages of the initial [stack] VMA: the argument pages plus 128 KiB (setup_arg_pages). */
  stackPages: number;
  /** The vDSO image (mapped private, read + exec); null: no vDSO mappings. */
  vdso: MemFile | null;
  /** Pages of [vvar] below the vDSO text. */
  vvarPages: number;
  /** Pages of [vvar_vclock] between [vvar] and the text (0: none). */
  vclockPages: number;
  /** First PFN behind the data pages: outside RAM, so they read as zeros and hold no references. */
  vvarPfn: number;
  /**
   * The [vvar] pages a user access finds (the rest SIGBUS); default: what
   * vvar_fault() maps without kvmclock, Hyper-V or a time namespace (the
   * oracle's TCG guest): page 0 on 6.12 (arch/x86/entry/vdso/vma.c; 1-3 are
   * the pvclock, hvclock and timens pages), pages 0 and 2 (time and rng data)
   * with the generic data store of 6.15 and later (lib/vdso/datastore.c),
   * whose kernels are the ones with [vvar_vclock] pages. [vvar_vclock]
   * pages always SIGBUS there (vvar_vclock_fault(): no vclock in use).
   */
  vvarPresent?: readonly number[];
  /** Map the static program image at 0x400000 (EXEC_IMAGE); default true. */
  image?: boolean;
  /** The image to map instead of EXEC_IMAGE (a given binary's: the oracle's batch of programs). */
  imageLayout?: ExecImage;
}

/** A static program's image as exec maps it: its mappings, and the size of its file. */
export interface ExecImage {
  mappings: readonly ExecImageMapping[];
  /** The last file-backed byte, page aligned. */
  fileBytes: number;
  /** The file's bytes, what a read of its text or rodata finds (default: an ELF header, then zeros). */
  contents?: Uint8Array;
}

/** One mapping of the exec'd program's image (binfmt_elf load_elf_binary()). */
export interface ExecImageMapping {
  start: number;
  end: number;
  /** PROT_* of the segment. */
  prot: number;
  /** Byte offset in the file; null: anonymous (the bss past the file, the brk heap). */
  offset: number | null;
  name?: string;
  /** VM_ACCOUNT: the writable private segments (and RELRO, once writable), the bss and the brk heap. */
  accounted?: boolean;
}

/** Bytes of the [heap] glibc's start-up and stdio take with brk, right after the bss (randomization off). */
export const EXEC_HEAP_BYTES = 0x22000;

/**
 * The image of a static, non-PIE x86-64 program (`cc -static`, as the oracle
 * builds its programs) with randomization off, as /proc/self/maps of a
 * one-program oracle binary shows it: the ELF header page, text, rodata,
 * the RELRO part of the data made read-only, data, the bss past the file,
 * and the [heap] glibc's start-up and stdio took with brk. Sizes past the
 * first pages depend on the binary (a batch of many programs has more
 * text: the oracle lays out each batch binary's own, src/oracle/elf-image.ts);
 * what the model needs is that low addresses hold the image's file-backed
 * VMAs, as a real process's do.
 */
export const EXEC_IMAGE: readonly ExecImageMapping[] = [
  { start: 0x400000, end: 0x401000, prot: PROT_READ, offset: 0 },
  { start: 0x401000, end: 0x47e000, prot: PROT_READ | PROT_EXEC, offset: 0x1000 },
  { start: 0x47e000, end: 0x4a7000, prot: PROT_READ, offset: 0x7e000 },
  // RELRO: mapped writable with the data, made read-only after relocation (it keeps VM_ACCOUNT)
  { start: 0x4a7000, end: 0x4ab000, prot: PROT_READ, offset: 0xa7000, accounted: true },
  { start: 0x4ab000, end: 0x4ae000, prot: PROT_READ | PROT_WRITE, offset: 0xab000, accounted: true },
  { start: 0x4ae000, end: 0x4b8000, prot: PROT_READ | PROT_WRITE, offset: null, accounted: true },
  { start: 0x4b8000, end: 0x4b8000 + EXEC_HEAP_BYTES, prot: PROT_READ | PROT_WRITE, offset: null, name: '[heap]', accounted: true },
];

/** The file behind EXEC_IMAGE (its size: the last file-backed byte, page aligned). */
export const EXEC_IMAGE_PATH = '/bin/oracle-progs';
const EXEC_IMAGE_FILE_BYTES = 0xae000;
/** EXEC_IMAGE with its file size. */
export const DEFAULT_EXEC_IMAGE: ExecImage = { mappings: EXEC_IMAGE, fileBytes: EXEC_IMAGE_FILE_BYTES };

/**
 * A vm_special_mapping ([vvar], [vvar_vclock], [vdso]): it cannot be split
 * (special_mapping_split()), and its fault handler may refuse pages.
 */
export interface SpecialMapping {
  /** Bit i set: page offset i SIGBUSes on access (the fault handler's VM_FAULT_SIGBUS). */
  sigbus: number;
  /**
   * 7.x's [vvar] (VM_MIXEDMAP): bit i set while page offset i is mapped by a
   * normal PTE (a user read faulted it in, MADV_DONTNEED zaps it), which
   * get_user_pages_fast() takes. Absent: raw PFNs, special entries.
   */
  present?: number;
}

/**
 * 7.x's [vvar]: VM_MIXEDMAP in the kernel (normal, refcounted data pages)
 * where the model keeps VM_PFNMAP's raw frames, with their presence beside.
 */
export function mixedSpecial(v: Vma): boolean {
  return v.special?.present !== undefined;
}

/** madviseCollapse(): a block madvise_collapse() goes on after (SCAN_PMD_NULL, SCAN_PAGE_RO; SCAN_PAGE_COUNT). */
const COLLAPSE_SKIPPED_EINVAL = 1;
const COLLAPSE_SKIPPED_EAGAIN = 2;

/** Pages of the initial stack VMA for arguments and environment within one page. */
export const EXEC_STACK_PAGES = 1 + (128 * 1024) / PAGE_SIZE;

/** vm_ops of a device mapping: told when a VMA of it is copied (split, fork) or goes away. */
export interface VmaOps {
  /** vm_ops->open: one more VMA maps it. */
  open?(): void;
  /** vm_ops->close: one VMA of it went away (munmap, exit, failed mmap excluded). */
  close?(): void;
}

/** What a device file's mmap (f_op->mmap) puts in the new VMA: raw PFNs (remap_pfn_range). */
export interface DeviceMapping extends VmaOps {
  /** First PFN: frames inside RAM are read and written without references, others read as zeros. */
  pfn: number;
}

/**
 * A device file's f_op->mmap, called with the new VMA's flags, its page
 * offset and length once the generic checks passed: the mapping, or -errno
 * (nothing is mapped then).
 */
export type DeviceMmap = (vmFlags: number, pgoff: bigint, pages: number) => DeviceMapping | number;

export interface MmapOptions {
  /** The mapped file (for a non-MAP_ANONYMOUS mapping). */
  file?: MemFile | null;
  /** Instead of `file`: a device file whose mmap hands out PFNs (VM_IO | VM_PFNMAP). */
  device?: DeviceMmap;
  /** The file's open mode (O_RDONLY / O_WRONLY / O_RDWR); O_RDWR by default. */
  fileMode?: number;
  /** Byte offset in the file (must be page aligned). */
  offset?: bigint;
  /** The caller, for MAP_LOCKED limits and mmap_min_addr. */
  task?: MmCaller;
  /**
   * path_noexec(): the file lives on a noexec mount or a pseudo filesystem
   * (anon inodes, dma-bufs): PROT_EXEC is -EPERM, and VM_MAYEXEC is off.
   */
  noexec?: boolean;
  /** The file has no f_op->mmap: -ENODEV once the mode and exec checks passed. */
  noMmap?: boolean;
}

/** MmapOptions.noexec and .noMmap as doMmap() takes them. */
const FILE_NOEXEC = 1;
const FILE_NO_MMAP = 2;

/** mlock's and munlock's range: widened to whole pages, in u64 arithmetic (a length may wrap to 0). */
function lockRange(addr: bigint, length: bigint): [start: bigint, len: bigint] {
  const a = BigInt.asUintN(64, addr);
  const off = a % PAGE_N;
  return [a - off, BigInt.asUintN(64, BigInt.asUintN(64, length) + off + PAGE_N - 1n) & ~(PAGE_N - 1n)];
}

/** Pages [s, e) of the byte range [start, end) of user space; an end past TASK_SIZE reaches beyond every VMA. */
function pageSpan(start: bigint, end: bigint): [s: number, e: number] {
  return [Number(start / PAGE_N), end > TASK_SIZE ? TASK_PAGES + 1 : Number(end / PAGE_N)];
}

function fileAttrs(o: MmapOptions): number {
  return (o.noexec === true ? FILE_NOEXEC : 0) | (o.noMmap === true ? FILE_NO_MMAP : 0);
}

export class PtNode {
  /** pfn + 1 per 4 KiB entry; null while the node holds a huge entry. */
  pfns: Uint32Array | null = null;
  flags: Uint8Array | null = null;
  /** Present PTEs. */
  count = 0;
  /** Guard markers (PTE_GUARD entries): the table stays while any is left. */
  markers = 0;
  /** pfn + 1 of the 2 MiB slice mapped by a huge entry, 0 if none. */
  huge = 0;
  hugeFlags = 0;
  /** Order of the folio behind the huge entry (9 or 18). */
  hugeOrder = 0;
  /**
   * The slice costs a page-table page of RAM (PhysicalMemory.allocTable()): its
   * PTE table, or the one an anonymous PMD mapping deposits
   * (pgtable_trans_huge_deposit()). Not for hugetlb, which maps at PMD or PUD
   * level without one.
   */
  table = false;
}

export class Vma implements MemFileMapping {
  readonly mm: MmStruct;
  start: number;
  end: number;
  flags: number;
  file: MemFile | null;
  /** File page (4 KiB) index mapped at `start`. */
  pgoff: number;
  /** 0, or the hugetlb folio order. */
  hugeOrder: number;
  /** First PFN of a VM_PFNMAP mapping. */
  pfnBase: number;
  /** Private hugetlb: 1 per huge page still covered by a reservation. */
  resv: Uint8Array | null = null;
  /**
   * Private hugetlb with `resv`: the file_region entries waiting in the reserve map's cache
   * (resv_map->region_cache_count; one from resv_map_alloc()). The map is the owner VMA's,
   * shared by the parts a split or mremap makes of it.
   */
  resvMap: { cache: number } | null = null;
  /** The name /proc/PID/maps shows for a special mapping ('[stack]', '[vdso]', '[vvar]', '[vvar_vclock]'). */
  name: string | undefined;
  /** vm_ops of a device mapping. */
  ops: VmaOps | undefined;
  /** Set for a vm_special_mapping (exec's [vvar], [vvar_vclock], [vdso]). */
  special: SpecialMapping | undefined;
  /**
   * vma->anon_vma, by identity (0: none): set when an anonymous page was made
   * in it (a write or unshare fault of a private mapping, a THP-eligible read
   * fault: the kernel's vmf_anon_prepare()), then its neighbour's when that
   * one's may be shared (find_mergeable_anon_vma()), else a new one; kept by
   * a split or a merge, a new one for each forked copy. MADV_COLLAPSE refuses
   * a VMA without it, and two VMAs with different ones never merge.
   */
  anonVma = 0;
  /**
   * The VMA's anon_vma chain holds more than its own (!list_is_singular()):
   * a fork child's copy, and every VMA split or mremapped from one
   * (anon_vma_clone()). Such a VMA lends its anon_vma to no neighbour
   * (reusable_anon_vma()) and merges with none that has no anon_vma
   * (vma_is_fork_child()).
   */
  forkChild = false;

  constructor(mm: MmStruct, start: number, end: number, flags: number, file: MemFile | null, pgoff: number, hugeOrder: number, pfnBase = 0) {
    this.mm = mm;
    this.start = start;
    this.end = end;
    this.flags = flags;
    this.file = file;
    this.pgoff = pgoff;
    this.hugeOrder = hugeOrder;
    this.pfnBase = pfnBase;
  }

  get pages(): number {
    return this.end - this.start;
  }

  get startAddr(): bigint {
    return BigInt(this.start) * PAGE_N;
  }

  get endAddr(): bigint {
    return BigInt(this.end) * PAGE_N;
  }

  /** is_cow_mapping(): private and may be written. */
  get isCow(): boolean {
    return (this.flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
  }

  zapFilePages(first: number, last: number, evenCows: boolean): void {
    const s = Math.max(this.start, this.start + (first - this.pgoff));
    const e = Math.min(this.end, this.start + (last - this.pgoff) + 1);
    if (s < e) this.mm.zapRange(this, s, e, !evenCows);
  }
}

function calcVmProt(prot: number): number {
  return prot & VM_ACCESS_FLAGS;
}

const GUARD_GAP_PAGES = Number(STACK_GUARD_GAP / PAGE_N);

/** vm_start_gap(): where the free space below a VMA ends (a VM_GROWSDOWN one keeps stack_guard_gap free). */
function startGap(v: Vma): number {
  return v.flags & VM_GROWSDOWN ? Math.max(0, v.start - GUARD_GAP_PAGES) : v.start;
}

function hugeOrderFromFlags(flags: number): number {
  const log = (flags >>> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
  if (log === 0 || log === PMD_ORDER + 12) return PMD_ORDER;
  if (log === PUD_ORDER + 12) return PUD_ORDER;
  return -1;
}

/**
 * madvise_behavior_valid() of the machine's kernel, configured as both
 * oracle kernels: no CONFIG_KSM (MADV_MERGEABLE, MADV_UNMERGEABLE) and no
 * CONFIG_MEMORY_FAILURE (MADV_HWPOISON, MADV_SOFT_OFFLINE) make those
 * advices -EINVAL; 6.13's guard regions (MADV_GUARD_INSTALL/REMOVE) are
 * not modelled either.
 */
function validAdvice(a: number, guard: boolean): boolean {
  switch (a) {
    case MADV_GUARD_INSTALL:
    case MADV_GUARD_REMOVE:
      return guard;
    case MADV_NORMAL:
    case MADV_RANDOM:
    case MADV_SEQUENTIAL:
    case MADV_WILLNEED:
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED:
    case MADV_FREE:
    case MADV_REMOVE:
    case MADV_DONTFORK:
    case MADV_DOFORK:
    case MADV_HUGEPAGE:
    case MADV_NOHUGEPAGE:
    case MADV_COLLAPSE:
    case MADV_DONTDUMP:
    case MADV_DODUMP:
    case MADV_WIPEONFORK:
    case MADV_KEEPONFORK:
    case MADV_COLD:
    case MADV_PAGEOUT:
    case MADV_POPULATE_READ:
    case MADV_POPULATE_WRITE:
      return true;
    default:
      return false;
  }
}

/**
 * The huge zero folio of each machine (mm/huge_memory.c huge_zero_folio):
 * allocated when a first address space maps it, held by every address space
 * that mapped it (mm_get_huge_zero_folio(), MMF_HUGE_ZERO_PAGE) through one
 * extra PMD mapping count, and freed once the last of them is gone (the
 * kernel's shrinker), so a machine ends with no frame in use.
 */
const hugeZeroFolios = new WeakMap<PhysicalMemory, { head: number; holders: number }>();

/**
 * A kernel copy to or from user memory (copy_to_user(), copy_from_user()) with this many bytes left when a
 * page faults takes the fault again: on a CPU without ERMS/FSRM (the oracle VMs' QEMU CPU) x86's
 * rep_movs_alternative() copies 8 bytes or more by words (or movsq), and a fault there falls back to its
 * byte loop, which touches the same address again; fewer bytes start in the byte loop, whose fault ends the
 * copy. What the second fault finds differs only when the first ran out of memory (a fault point, fail-nth).
 */
const COPY_TAIL_RETRY = 8;

/** __anon_vma_prepare()'s slab allocations: the anon_vma_chain, then (none to reuse) the anon_vma. */
export const FP_ANON_VMA_CHAIN = faultPoint('kmem_cache_alloc.anon_vma_chain', 'slab');
export const FP_ANON_VMA = faultPoint('kmem_cache_alloc.anon_vma', 'slab');
/** __khugepaged_enter()'s mm_slot_alloc(). */
export const FP_KHUGEPAGED_SLOT = faultPoint('kmem_cache_zalloc.khugepaged_mm_slot', 'slab');
/** allocate_file_region_entries()'s kmalloc of a file_region for a reserve map's cache (region_chg()). */
export const FP_FILE_REGION = faultPoint('kmalloc.file_region', 'slab');

let anonVmas = 0;
/** A new anon_vma's identity (what two VMAs compare to decide whether they may merge). */
function newAnonVma(): number {
  return ++anonVmas;
}

/** Coverage sites of MmStruct's methods (base/coverage.ts). */
const COV_MmStruct = coverSites('MmStruct', ['mmget', 'mmgetNotZero', 'mmput', 'mmgrab', 'mmdrop', 'exitMmap', 'getHugeZero', 'putHugeZero', 'isHugeZero', 'findVmaForAccess', 'expandStack', 'hintFits', 'attach', 'insertVma', 'releaseVma', 'splitVma', 'canMerge', 'mergeRange', 'setHuge', 'splitHugePmd', 'zapRange', 'thpEligible', 'filePage', 'hugetlbFault', 'populate', 'topdown', 'bottomup', 'searchArea', 'getUnmappedArea', 'setMmapBase', 'setupExec', 'mapExecImage', 'mmap', 'doMmap', 'mmapDevice', 'mmapRegion', 'mmapPfnmap', 'munmap', 'mseal', 'doMunmap', 'setFlags', 'mlock', 'munlock', 'applyLockFlags', 'mlockall', 'mprotect', 'madvise', 'madviseVma', 'madviseCollapse', 'madviseCollapseShmem', 'collapseBlock', 'guardInstall', 'guardRemove', 'fork', 'copyPages', 'backedCopy', 'pageTableBytes', 'mremap', 'remapMove', 'moveVma', 'moveTables', 'expandInPlace']);

export class MmStruct {
  readonly phys: PhysicalMemory;
  readonly opts: Required<Omit<MmOptions, 'warn'>> & { warn: WarnSink | undefined };
  /** mm_users: address space users (the process, temporary mmget()s). */
  users = 1;
  /** mm_count: references to the struct itself (mmgrab). */
  count = 1;
  /**
   * A driver's uncharge was refused after the last user left (iommufd's
   * update_mm_locked_vm(): mmget_not_zero() fails), so pinned_vm and
   * locked_vm keep what it held until the struct is freed.
   */
  unchargeRefused = false;
  /**
   * IOMMU_IOAS_CHANGE_PROCESS moved pinned pages of account mode NONE to or
   * from this mm without moving their pinned_vm (need_charge_update() is
   * false for them; change_mm() swaps the mm): its pinned_vm no longer
   * matches its pins.
   */
  pinnedVmMoved = false;
  /**
   * User reads of a special mapping's page ([vvar], [vvar_vclock], [vdso]):
   * the model keeps no contents there that a real kernel's would match (the
   * vDSO data page holds the running clock), so the oracle marks such a read.
   */
  specialReads = 0;
  readonly vmas: Vma[] = [];
  readonly pt = new Map<number, PtNode>();
  /** Pages pinned long-term by drivers (mm->pinned_vm, VmPin). */
  pinnedVm = 0;
  /**
   * mm->def_flags: VM_LOCKED (and VM_LOCKONFAULT) that every new mapping gets
   * after mlockall(MCL_FUTURE); a fork's or an exec's new mm starts without.
   */
  defFlags = 0;
  /**
   * mm->owner: the task whose limits a user access that grows a VM_LOCKED
   * stack is held to (mlock_future_ok() asks current's RLIMIT_MEMLOCK; the
   * model's processes have one task each). Set by Task.
   */
  owner: MmCaller | undefined = undefined;
  /** RLIMIT_STACK (soft) that a growing stack VMA is held to (exec's, default 8 MiB). */
  stackRlimit = 8n << 20n;
  /** Pages accounted as locked (mm->locked_vm, VmLck): mlock and VFIO-style accounting. */
  lockedVm = 0;
  /**
   * prctl(PR_SET_THP_DISABLE) as PR_GET_THP_DISABLE reports it: 0, THP_DISABLE_ALL
   * (MMF_DISABLE_THP_COMPLETELY; 6.12's MMF_DISABLE_THP) or THP_DISABLE_EXCEPT_ADVISED
   * (MMF_DISABLE_THP_EXCEPT_ADVISED, 7.x). Inherited by fork (MMF_INIT_LEGACY_MASK).
   */
  thpDisable = 0;
  /**
   * Pages locked_vm still counts that no VMA holds VM_LOCKED for: 6.12's
   * MREMAP_DONTUNMAP clears VM_LOCKED on the whole source VMA and leaves
   * locked_vm alone (move_vma()); 7.x splits off the moved part first.
   */
  lockedVmOrphaned = 0;
  mmapBase = MMAP_BASE_PAGES;
  mmapLegacyBase = LEGACY_BASE_PAGES;
  /** Flags of the entry returned by the last lookupEntry(). */
  private lf = 0;
  /** Head PFN of the huge zero folio this mm holds (-1: none yet). */
  private hugeZero = -1;
  /** A page-table page taken before the node it is for exists (fault(), copyPages()). */
  private heldTable = false;
  /** The PTEs and flags of a slice whose every entry maps the zero page, shared (zeroSlice()). */
  private zeroPtes: Uint32Array | null = null;
  private zeroFlags: Uint8Array | null = null;
  /** Where user bytes live when not in the frames (the bridge); see UserBacking. */
  backing: UserBacking | undefined;
  /**
   * A count that moves whenever a frame is newly mapped here (a fault, a
   * COW, a fork's copy): a reverse map built before it moved may lack one.
   */
  framesMapped = 0;

  constructor(phys: PhysicalMemory, opts: MmOptions = {}) {
    this.phys = phys;
    this.opts = {
      thp: opts.thp ?? 'madvise',
      thpAlignAnon: opts.thpAlignAnon ?? true,
      maxMapCount: opts.maxMapCount ?? DEFAULT_MAX_MAP_COUNT,
      gupOverflowErrno: opts.gupOverflowErrno ?? 0,
      mapStackNoHugepage: opts.mapStackNoHugepage ?? true,
      hugetlbHintDown: opts.hugetlbHintDown ?? false,
      collapseAnyPte: opts.collapseAnyPte ?? false,
      hugeZeroWpThp: opts.hugeZeroWpThp ?? false,
      khugepagedSlotFirst: opts.khugepagedSlotFirst ?? false,
      ptReclaim: opts.ptReclaim ?? false,
      mremapMulti: opts.mremapMulti ?? false,
      lazyfree: opts.lazyfree ?? true,
      lazyfreeKeepsReferenced: opts.lazyfreeKeepsReferenced ?? false,
      hugeZeroSpecial: opts.hugeZeroSpecial ?? false,
      vvarMixed: opts.vvarMixed ?? false,
      doforkRefusesSpecial: opts.doforkRefusesSpecial ?? false,
      thpDisableExceptAdvised: opts.thpDisableExceptAdvised ?? false,
      guardRegions: opts.guardRegions ?? false,
      anonMergeSrcWithout: opts.anonMergeSrcWithout ?? true,
      msealAnonByVmOps: opts.msealAnonByVmOps ?? true,
      warn: opts.warn ?? phys.warn,
    };
  }

  // ---------------------------------------------------------------------------
  // users

  /** mmget(). */
  mmget(): void {
    cover(COV_MmStruct.mmget);
    this.users++;
  }

  /** mmget_not_zero(): false once the address space is gone. */
  mmgetNotZero(): boolean {
    cover(COV_MmStruct.mmgetNotZero);
    if (this.users === 0) return false;
    this.users++;
    return true;
  }

  /** mmput(): the last user tears the address space down (exit_mmap). */
  mmput(): void {
    cover(COV_MmStruct.mmput);
    if (this.opts.warn?.on(this.users <= 0, 'mmput.underflow')) return;
    if (--this.users === 0) this.exitMmap();
  }

  /** mmgrab(): keep the struct (and its counters) referenced. */
  mmgrab(): void {
    cover(COV_MmStruct.mmgrab);
    this.count++;
  }

  mmdrop(): void {
    cover(COV_MmStruct.mmdrop);
    this.opts.warn?.on(this.count <= 0, 'mmdrop.underflow');
    this.count--;
  }

  get alive(): boolean {
    return this.users > 0;
  }

  private exitMmap(): void {
    cover(COV_MmStruct.exitMmap);
    for (const v of this.vmas) {
      this.zapRange(v, v.start, v.end);
      this.releaseVma(v);
    }
    this.vmas.length = 0;
    for (const n of this.pt.values()) if (n.table) this.phys.freeTable();
    this.pt.clear();
    this.putHugeZero();
  }

  /** mm_get_huge_zero_folio(): its head PFN, -1 when it cannot be allocated (the fault falls back). */
  private getHugeZero(): number {
    cover(COV_MmStruct.getHugeZero);
    if (this.hugeZero >= 0) return this.hugeZero;
    let hz = hugeZeroFolios.get(this.phys);
    if (hz === undefined) {
      const head = this.phys.allocFolio(PMD_ORDER);
      if (head < 0) return -1;
      this.phys.mapHuge(head);
      hz = { head, holders: 0 };
      hugeZeroFolios.set(this.phys, hz);
    }
    hz.holders++;
    this.hugeZero = hz.head;
    return hz.head;
  }

  /** mm_put_huge_zero_folio() at exit. */
  private putHugeZero(): void {
    cover(COV_MmStruct.putHugeZero);
    if (this.hugeZero < 0) return;
    const hz = hugeZeroFolios.get(this.phys);
    this.hugeZero = -1;
    if (hz === undefined || --hz.holders > 0) return;
    hugeZeroFolios.delete(this.phys);
    this.phys.unmapHuge(hz.head);
  }

  /** Head PFN of the huge zero folio this mm holds, -1 if it never mapped it. */
  get hugeZeroFolio(): number {
    return this.hugeZero;
  }

  /** The node maps the huge zero folio (is_huge_zero_pmd()). */
  private isHugeZero(n: PtNode): boolean {
    cover(COV_MmStruct.isHugeZero);
    return this.hugeZero >= 0 && n.huge - 1 === this.hugeZero;
  }

  // ---------------------------------------------------------------------------
  // VMA list

  /** Index of the first VMA ending above `vpn` (find_vma), vmas.length if none. */
  findIdx(vpn: number): number {
    const v = this.vmas;
    let lo = 0;
    let hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v[mid].end <= vpn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The VMA containing page `vpn`. */
  findVma(vpn: number): Vma | undefined {
    const v = this.vmas[this.findIdx(vpn)];
    return v !== undefined && v.start <= vpn ? v : undefined;
  }

  /**
   * The VMA containing page `vpn` for an access (GUP, user copies): on a miss,
   * the backing may first add the mappings it knows.
   */
  findVmaForAccess(vpn: number): Vma | undefined {
    cover(COV_MmStruct.findVmaForAccess);
    const v = this.findVma(vpn);
    if (v !== undefined || this.backing?.vmaMiss === undefined) return v;
    return this.backing.vmaMiss(this, vpn) ? this.findVma(vpn) : undefined;
  }

  /** The VMA containing `addr`. */
  vmaAt(addr: bigint): Vma | undefined {
    if (addr < 0n || addr >= TASK_SIZE) return undefined;
    return this.findVma(Number(addr / PAGE_N));
  }

  private isFree(s: number, e: number): boolean {
    const i = this.findIdx(s);
    return i === this.vmas.length || this.vmas[i].start >= e;
  }

  /** A hint [s, e) is taken as it is: free, and clear of the guard gap below a stack (vm_start_gap). */
  private hintFits(s: number, e: number): boolean {
    cover(COV_MmStruct.hintFits);
    const i = this.findIdx(s);
    return i === this.vmas.length || startGap(this.vmas[i]) >= e;
  }

  private attach(v: Vma): void {
    cover(COV_MmStruct.attach);
    if (v.file) {
      v.file.get();
      v.file.vmas.add(v);
    }
  }

  private insertVma(v: Vma): number {
    cover(COV_MmStruct.insertVma);
    const i = this.findIdx(v.start);
    this.vmas.splice(i, 0, v);
    this.attach(v);
    return i;
  }

  /** Undo what a VMA holds besides its pages (reservations, mlock, file). */
  private releaseVma(v: Vma): void {
    cover(COV_MmStruct.releaseVma);
    v.ops?.close?.();
    if (v.flags & VM_LOCKED) this.lockedVm -= v.pages;
    if (v.resv) {
      let n = 0;
      for (const b of v.resv) n += b;
      if (n) this.phys.hugetlbUnreserve(v.hugeOrder, n);
      v.resv = null;
    }
    if (v.file) {
      v.file.vmas.delete(v);
      v.file.put();
    }
  }

  /**
   * __split_vma(): cut vmas[i] at page `at` (strictly inside). Hugetlb VMAs
   * only split at huge-page boundaries (-EINVAL); a THP mapped across the cut
   * is split to PTEs first.
   */
  private splitVma(i: number, at: number): number {
    cover(COV_MmStruct.splitVma);
    const v = this.vmas[i];
    if (v.hugeOrder && at % 2 ** v.hugeOrder !== 0) return -EINVAL;
    // vm_ops->may_split: special_mapping_split() refuses every cut
    if (v.special !== undefined) return -EINVAL;
    if (this.vmas.length >= this.opts.maxMapCount) return -ENOMEM;
    if (!v.hugeOrder && at % PT_SPAN !== 0) {
      const node = this.pt.get(Math.floor(at / PT_SPAN));
      if (node && node.huge !== 0) this.splitHugePmd(node);
    }
    const t = this.dupVma(v, at, v.end, v.pgoff + (at - v.start), at - v.start);
    if (v.resv) {
      const cut = (at - v.start) / 2 ** v.hugeOrder;
      t.resv = v.resv.slice(cut);
      v.resv = v.resv.slice(0, cut);
      t.resvMap = v.resvMap;
    }
    v.end = at;
    this.vmas.splice(i + 1, 0, t);
    this.attach(t);
    return 0;
  }

  /** vm_area_dup(): a copy of `v` over pages [start, end) at file offset `pgoff`, `off` pages into it (its vm_ops opened). */
  private dupVma(v: Vma, start: number, end: number, pgoff: number, off: number): Vma {
    const t = new Vma(this, start, end, v.flags, v.file, pgoff, v.hugeOrder, v.pfnBase + off);
    t.name = v.name;
    t.special = v.special;
    t.anonVma = v.anonVma;
    t.forkChild = v.forkChild;
    t.ops = v.ops;
    t.ops?.open?.();
    return t;
  }

  /**
   * `a` and `b` (adjacent) may merge. `src` is the one being changed or made
   * (the other stays: the kernel's target), for is_mergeable_anon_vma(): with
   * an anon_vma on one side only, the side that has it must not be a fork
   * child's (7.x vma_is_fork_child(); 6.12 asks the target's chain to be
   * singular), and on 6.12 the target must be that side (an empty chain is
   * not singular: a changed VMA with an anon_vma merges into no neighbour
   * without one).
   */
  private canMerge(a: Vma, b: Vma, src: Vma = b): boolean {
    cover(COV_MmStruct.canMerge);
    if (!a.anonVma !== !b.anonVma) {
      const withAnon = a.anonVma ? a : b;
      if (withAnon.forkChild) return false;
      if (this.opts.anonMergeSrcWithout === false && withAnon === src) return false;
    }
    return (
      a.end === b.start &&
      // VMA_STICKY_FLAGS: VM_MAYBE_GUARD on one side does not keep the two apart (the merged VMA has it)
      ((a.flags ^ b.flags) & ~VM_MAYBE_GUARD) === 0 &&
      a.file === b.file &&
      a.name === b.name &&
      a.hugeOrder === b.hugeOrder &&
      (a.flags & VM_SPECIAL) === 0 &&
      // the offsets follow on, anonymous ones too (a VMA mremap moved keeps its old one)
      a.pgoff + a.pages === b.pgoff &&
      (a.resv === null) === (b.resv === null) &&
      // is_mergeable_anon_vma(): not two different anon_vmas
      (!a.anonVma || !b.anonVma || a.anonVma === b.anonVma)
    );
  }

  /**
   * anon_vma_prepare() of `v`: nothing when it has one; else the anon_vma of
   * a neighbour it could merge with but for protection (anon_vma_compatible():
   * adjacent, same file and flags but the access bits, offsets following on),
   * as find_mergeable_anon_vma() reuses it; else a new one.
   */
  private anonVmaPrepare(v: Vma): number {
    if (v.anonVma) return 0;
    // __anon_vma_prepare(): the chain's slab allocation first, then a new anon_vma's unless a neighbour's is
    // reused: each a fault point, -ENOMEM (VM_FAULT_OOM) when it fails.
    const faults = this.phys.faults;
    if (faults?.shouldFail(FP_ANON_VMA_CHAIN)) return -ENOMEM;
    let i = this.findIdx(v.start);
    if (this.vmas[i] !== v) i = -1;
    const compatible = (a: Vma | undefined, b: Vma | undefined): boolean =>
      a !== undefined && b !== undefined && a.end === b.start && a.file === b.file && ((a.flags ^ b.flags) & ~(VM_ACCESS_FLAGS | VM_MAYBE_GUARD)) === 0 && a.pgoff + a.pages === b.pgoff;
    const next = i >= 0 ? this.vmas[i + 1] : undefined;
    const prev = i > 0 ? this.vmas[i - 1] : undefined;
    // reusable_anon_vma(): only an anon_vma whose chain is the neighbour's own
    if (next?.anonVma && !next.forkChild && compatible(v, next)) v.anonVma = next.anonVma;
    else if (prev?.anonVma && !prev.forkChild && compatible(prev, v)) v.anonVma = prev.anonVma;
    else if (faults?.shouldFail(FP_ANON_VMA)) return -ENOMEM;
    else v.anonVma = newAnonVma();
    return 0;
  }

  /**
   * After a change of VMA flags failed at VMA i of those from `first`: the VMAs changed before it
   * merge as the kernel merged each one as it changed it (with its neighbours, VMA i as it was among
   * them); VMA i is as the failure left it, split at the range's start when that split succeeded and
   * the one at its end did not (vma_modify() merges nothing then).
   */
  private mergeBeforeFailure(first: number, i: number): void {
    if (i > first) this.mergeRange(first, i - 1);
  }

  /**
   * vma_merge() over the neighbourhood of vmas[lo..hi], the VMAs a call
   * changed or made: each merges with the one before it (already dealt with)
   * and the last with the one after it, those two staying as the targets.
   */
  private mergeRange(lo: number, hi: number): void {
    cover(COV_MmStruct.mergeRange);
    const v = this.vmas;
    // the changed VMAs are v[cLo..cHi] (a merge with a changed one makes the merged one changed)
    let cLo = lo;
    let cHi = hi;
    let i = Math.max(0, lo - 1);
    let last = Math.min(v.length - 1, hi + 1);
    while (i < last) {
      const a = v[i];
      const b = v[i + 1];
      const aChanged = i >= cLo && i <= cHi;
      const bChanged = i + 1 >= cLo && i + 1 <= cHi;
      // the target stays: the earlier one, unless only the earlier one was changed
      const src = bChanged || !aChanged ? b : a;
      if (this.canMerge(a, b, src)) {
        // the chain the merged VMA keeps: the one that had an anon_vma (the rule above leaves no fork child's
        // beside a VMA without one), or both's when they share it
        a.forkChild = a.anonVma ? a.forkChild || (b.anonVma === a.anonVma && b.forkChild) : b.forkChild;
        if (bChanged) {
          if (!aChanged) cLo = i;
          cHi--;
        }
        a.end = b.end;
        a.flags |= b.flags & VM_MAYBE_GUARD;
        a.anonVma ||= b.anonVma;
        if (a.resv && b.resv) {
          const r = new Uint8Array(a.resv.length + b.resv.length);
          r.set(a.resv, 0);
          r.set(b.resv, a.resv.length);
          a.resv = r;
        }
        b.resv = null;
        v.splice(i + 1, 1);
        if (b.file) {
          b.file.vmas.delete(b);
          b.file.put();
        }
        last--;
      } else i++;
    }
  }

  // ---------------------------------------------------------------------------
  // page tables

  /** The entry (pfn + 1, 0 if none) mapping page `vpn`; its flags land in lastFlags. */
  lookupEntry(vpn: number): number {
    const node = this.pt.get(Math.floor(vpn / PT_SPAN));
    if (node === undefined) return 0;
    if (node.huge !== 0) {
      this.lf = node.hugeFlags;
      return node.huge + (vpn & (PT_SPAN - 1));
    }
    if (node.pfns === null) return 0;
    const e = node.pfns[vpn & (PT_SPAN - 1)];
    if (e !== 0) this.lf = node.flags![vpn & (PT_SPAN - 1)];
    return e;
  }

  /** Page `vpn` holds a guard marker (no page: a fault there is SIGSEGV). */
  isGuard(vpn: number): boolean {
    const n = this.pt.get(Math.floor(vpn / PT_SPAN));
    if (n === undefined || n.markers === 0) return false;
    return (n.flags![vpn & (PT_SPAN - 1)] & PTE_GUARD) !== 0;
  }

  /** Page `vpn` is mapped by a PMD-size entry (a THP, a hugetlb folio's slice, the huge zero folio). */
  isPmdMapped(vpn: number): boolean {
    return (this.pt.get(Math.floor(vpn / PT_SPAN))?.huge ?? 0) !== 0;
  }

  /** PTE flags of the entry returned by the last lookupEntry(). */
  get lastFlags(): number {
    return this.lf;
  }

  /** The PFN mapped at `va` without faulting, -1 if none (follow_page without FOLL_GET). */
  lookupPfn(va: bigint): number {
    if (va < 0n || va >= TASK_SIZE) return -1;
    return this.lookupPagePfn(Number(va / PAGE_N));
  }

  /** lookupPfn() of the page numbered `vpn` (no bigint made: the inspectors read page after page). */
  lookupPagePfn(vpn: number): number {
    if (!(vpn >= 0 && vpn < TASK_PAGES)) return -1;
    const v = this.findVma(vpn);
    if (v && v.flags & VM_PFNMAP) return v.pfnBase + (vpn - v.start);
    return this.lookupEntry(vpn) - 1;
  }

  /**
   * lookupPagePfn() of the pages `vpn` .. `vpn + n - 1` into `out` (index 0
   * for `vpn`), skipping the indexes where `skip` is nonzero: one VMA search
   * per VMA met rather than per page.
   */
  lookupPagePfns(vpn: number, n: number, out: Float64Array, skip?: Uint8Array): void {
    let v: Vma | undefined;
    for (let i = 0; i < n; i++) {
      if (skip !== undefined && skip[i] !== 0) continue;
      const page = vpn + i;
      if (!(page >= 0 && page < TASK_PAGES)) {
        out[i] = -1;
        continue;
      }
      if (v === undefined || page < v.start || page >= v.end) v = this.findVma(page);
      out[i] = v !== undefined && v.flags & VM_PFNMAP ? v.pfnBase + (page - v.start) : this.lookupEntry(page) - 1;
    }
  }

  /**
   * The node of slice `key`, made if missing; a made one with `table` takes the
   * page-table page its fault took (heldTable), or one counted anyway.
   */
  private node(key: number, table: boolean): PtNode {
    let n = this.pt.get(key);
    if (n === undefined) {
      n = new PtNode();
      this.pt.set(key, n);
      if (table) {
        if (this.heldTable) this.heldTable = false;
        else this.phys.allocTable(true);
        n.table = true;
      }
    }
    return n;
  }

  /** Drop an emptied node and free its page-table page (free_pgtables() of the slice). */
  private dropNode(key: number, n: PtNode): void {
    this.pt.delete(key);
    if (n.table) this.phys.freeTable();
  }

  /** Give back a page-table page taken for a node that was not made. */
  private releaseHeldTable(): void {
    if (!this.heldTable) return;
    this.heldTable = false;
    this.phys.freeTable();
  }

  private mapPte(key: number, idx: number, pfn: number, flags: number): void {
    this.framesMapped++;
    const n = this.node(key, true);
    if (n.pfns === null) {
      n.pfns = new Uint32Array(PT_SPAN);
      n.flags = new Uint8Array(PT_SPAN);
    } else this.ownPtes(n);
    n.pfns[idx] = pfn + 1;
    n.flags![idx] = flags;
    n.count++;
    this.phys.getFrame(pfn);
  }

  /** A guard marker at entry `idx` of slice `key` (its table made as needed). */
  private setGuard(key: number, idx: number): void {
    const n = this.node(key, true);
    if (n.pfns === null) {
      n.pfns = new Uint32Array(PT_SPAN);
      n.flags = new Uint8Array(PT_SPAN);
    } else this.ownPtes(n);
    if (n.flags![idx] & PTE_GUARD) return;
    n.flags![idx] = PTE_GUARD;
    n.markers++;
  }

  private setHuge(key: number, pfn: number, flags: number, order: number, table = true): void {
    cover(COV_MmStruct.setHuge);
    this.framesMapped++;
    const n = this.node(key, table);
    this.opts.warn?.on(n.count !== 0, 'set_huge.pte_table_not_empty');
    n.pfns = null;
    n.flags = null;
    n.count = 0;
    n.huge = pfn + 1;
    n.hugeFlags = flags;
    n.hugeOrder = order;
    this.phys.mapHuge(pfn);
  }

  /** __split_huge_pmd(): replace a PMD-mapped THP by 512 PTEs (anon exclusivity carries over). */
  private splitHugePmd(n: PtNode): void {
    cover(COV_MmStruct.splitHugePmd);
    if (n.hugeOrder !== PMD_ORDER) return;
    const base = n.huge - 1;
    if (this.isHugeZero(n)) {
      // __split_huge_zero_page_pmd(): 512 PTEs of the small zero page
      n.pfns = new Uint32Array(PT_SPAN).fill(this.phys.zeroPfn + 1);
      n.flags = new Uint8Array(PT_SPAN);
      n.count = PT_SPAN;
      n.huge = 0;
      n.hugeFlags = 0;
      n.hugeOrder = 0;
      this.phys.unmapHuge(base);
      return;
    }
    const pfns = new Uint32Array(PT_SPAN);
    for (let i = 0; i < PT_SPAN; i++) pfns[i] = base + i + 1;
    n.pfns = pfns;
    n.flags = new Uint8Array(PT_SPAN).fill(n.hugeFlags);
    n.count = PT_SPAN;
    n.huge = 0;
    n.hugeFlags = 0;
    n.hugeOrder = 0;
    this.phys.grabRange(base, PT_SPAN, false);
    this.phys.unmapHuge(base);
  }

  /** Page-table keys present in [k0, k1] (walks the table, not the range, when the range is sparse). */
  private keysIn(k0: number, k1: number): Iterable<number> {
    if (k1 - k0 < 4 * this.pt.size + 64) {
      const out: number[] = [];
      for (let k = k0; k <= k1; k++) if (this.pt.has(k)) out.push(k);
      return out;
    }
    const out: number[] = [];
    for (const k of this.pt.keys()) if (k >= k0 && k <= k1) out.push(k);
    return out.sort((a, b) => a - b);
  }

  /**
   * zap_page_range_single(): drop every mapping of pages [s, e) of `v`
   * (`keepAnon`: only page-cache pages, leaving private COW copies). Guard
   * markers stay unless `dropMarkers` (unmap_vmas()' ZAP_FLAG_DROP_MARKER).
   */
  zapRange(v: Vma, s: number, e: number, keepAnon = false, reclaim = false, dropMarkers = false): void {
    cover(COV_MmStruct.zapRange);
    if (mixedSpecial(v)) {
      for (let vpn = s; vpn < e; vpn++) v.special!.present! &= ~(1 << (v.pgoff + vpn - v.start));
      return;
    }
    if (v.flags & VM_PFNMAP) return;
    for (const key of this.keysIn(Math.floor(s / PT_SPAN), Math.floor((e - 1) / PT_SPAN))) {
      const n = this.pt.get(key);
      if (n === undefined) continue;
      const lo = Math.max(s, key * PT_SPAN);
      const hi = Math.min(e, (key + 1) * PT_SPAN);
      if (n.huge !== 0) {
        if (keepAnon && n.hugeFlags & PTE_ANON) continue;
        if (lo === key * PT_SPAN && hi === (key + 1) * PT_SPAN) {
          if (v.resv !== null && n.hugeFlags & PTE_ANON) this.restoreHugeReserve(v, key, n.huge - 1);
          this.phys.unmapHuge(n.huge - 1);
          this.dropNode(key, n);
          continue;
        }
        if (n.hugeOrder !== PMD_ORDER) {
          this.opts.warn?.warn('zap.partial_hugetlb', `vpn ${lo}`);
          continue;
        }
        this.splitHugePmd(n);
      }
      const whole = lo === key * PT_SPAN && hi === (key + 1) * PT_SPAN;
      if (n.pfns === this.zeroPtes) {
        // zero page PTEs hold no reference
        if (whole) {
          this.emptyTable(key, n, reclaim);
          continue;
        }
        this.ownPtes(n);
      }
      const pfns = n.pfns;
      if (pfns === null) continue;
      const fl = n.flags!;
      for (let vpn = lo; vpn < hi; vpn++) {
        const i = vpn & (PT_SPAN - 1);
        const ent = pfns[i];
        if (ent === 0) {
          if (dropMarkers && fl[i] & PTE_GUARD) {
            fl[i] = 0;
            n.markers--;
          }
          continue;
        }
        if (keepAnon && fl[i] & PTE_ANON) continue;
        pfns[i] = 0;
        fl[i] = 0;
        n.count--;
        this.phys.putFrame(ent - 1);
      }
      if (n.count === 0) this.emptyTable(key, n, reclaim && whole);
    }
  }

  /**
   * __unmap_hugepage_range() in the VMA owning a private reservation: the
   * zap of the last mapping of an anonymous hugetlb folio (the slice at
   * `pfn`, mapped at node `key`; a 1 GiB folio is gone with its last slice)
   * gives its huge page back the reservation it consumed, in the VMA's map
   * at once and in the pool's count when the folio is freed, which a pin
   * puts off: until then resv_huge_pages is short by one.
   */
  private restoreHugeReserve(v: Vma, key: number, pfn: number): void {
    const np = 2 ** v.hugeOrder;
    const head = pfn - (pfn % np);
    if (pfn - head !== np - PT_SPAN || this.phys.hugeMapcount(pfn) !== 1) return;
    this.phys.hugetlbRestoreReserve(head, v.hugeOrder);
    const ri = Math.floor((key * PT_SPAN - v.start) / np);
    if (v.resv![ri] === 0) v.resv![ri] = 1;
  }

  /**
   * A node whose last PTE went: the page table stays, empty (zap_pte_range()
   * frees no table; a later fault there finds the PMD populated and maps
   * 4 KiB), until munmap frees it (freePgtables()), or at once when `reclaim`
   * (CONFIG_PT_RECLAIM's MADV_DONTNEED of the whole slice).
   */
  private emptyTable(key: number, n: PtNode, reclaim: boolean): void {
    // guard markers keep the table and its entries (a PT reclaim frees only a table of none entries)
    if (n.markers !== 0) return;
    if (reclaim) {
      this.dropNode(key, n);
      return;
    }
    n.pfns = null;
    n.flags = null;
    n.count = 0;
  }

  /**
   * free_pgtables() after munmap of pages [s, e): the empty tables of slices no
   * VMA reaches any more.
   */
  private freePgtables(s: number, e: number): void {
    for (const key of this.keysIn(Math.floor(s / PT_SPAN), Math.floor((e - 1) / PT_SPAN))) {
      const n = this.pt.get(key);
      if (n === undefined || n.count !== 0 || n.markers !== 0 || n.huge !== 0) continue;
      const i = this.findIdx(key * PT_SPAN);
      if (i < this.vmas.length && this.vmas[i].start < (key + 1) * PT_SPAN) continue;
      this.dropNode(key, n);
    }
  }

  // ---------------------------------------------------------------------------
  // faults

  private thpEligible(v: Vma, key: number): boolean {
    cover(COV_MmStruct.thpEligible);
    return this.thpAllowed(v) && key * PT_SPAN >= v.start && (key + 1) * PT_SPAN <= v.end;
  }

  /**
   * thp_vma_allowable_order(vma, PMD_ORDER) before the size check: a private
   * anonymous VMA, THP `always` or `madvise` with MADV_HUGEPAGE, not
   * MADV_NOHUGEPAGE.
   */
  thpAllowed(v: Vma): boolean {
    if (v.file !== null || v.flags & (VM_MAYSHARE | VM_PFNMAP | VM_HUGETLB)) return false;
    const mode = this.opts.thp;
    if (mode === 'never' || this.thpDisabled(v, false)) return false;
    return mode !== 'madvise' || (v.flags & VM_HUGEPAGE) !== 0;
  }

  /**
   * vma_thp_disabled(): MADV_NOHUGEPAGE, or the process's PR_SET_THP_DISABLE (all of
   * its VMAs, or with PR_THP_DISABLE_EXCEPT_ADVISED those neither MADV_HUGEPAGE nor
   * being collapsed by MADV_COLLAPSE, `forced`).
   */
  thpDisabled(v: Vma, forced: boolean): boolean {
    if (v.flags & VM_NOHUGEPAGE || this.thpDisable === THP_DISABLE_ALL) return true;
    return this.thpDisable === THP_DISABLE_EXCEPT_ADVISED && !(v.flags & VM_HUGEPAGE) && !forced;
  }

  /**
   * prctl(PR_SET_THP_DISABLE, disable, flags, arg4, arg5): 0 or -errno. 7.x's prctl_set_thp_disable();
   * 6.12's is inline in kernel/sys.c's prctl, arg3-arg5 all refused when nonzero, any nonzero disable sets it.
   */
  setThpDisable(disable: bigint, flags: bigint, arg4: bigint, arg5: bigint): number {
    if (arg4 !== 0n || arg5 !== 0n) return -EINVAL;
    if (!this.opts.thpDisableExceptAdvised) {
      // 6.12: arg3 is one more argument that must be 0
      if (flags !== 0n) return -EINVAL;
    } else if ((disable === 0n && flags !== 0n) || (flags & ~PR_THP_DISABLE_EXCEPT_ADVISED) !== 0n) return -EINVAL;
    this.thpDisable = disable === 0n ? 0 : flags !== 0n ? THP_DISABLE_EXCEPT_ADVISED : THP_DISABLE_ALL;
    return 0;
  }

  /** prctl(PR_GET_THP_DISABLE, ...) (prctl_get_thp_disable(); 6.12 inline in prctl): `1 | flags`, 0, or -EINVAL for a nonzero argument. */
  getThpDisable(arg2: bigint, arg3: bigint, arg4: bigint, arg5: bigint): number {
    if (arg2 !== 0n || arg3 !== 0n || arg4 !== 0n || arg5 !== 0n) return -EINVAL;
    return this.thpDisable;
  }

  /** The page cache page behind file-backed page `vpn` of `v` (head pfn or -errno). */
  private filePage(v: Vma, vpn: number): number {
    cover(COV_MmStruct.filePage);
    return v.file!.getFolio(v.pgoff + (vpn - v.start));
  }

  /**
   * handle_mm_fault(): make page `vpn` of `v` present for `mode`. Afterwards a
   * READ finds any page, a WRITE or UNSHARE in a private mapping finds an
   * exclusive anon page. Returns 0, -ENOMEM (allocation failed) or -EFAULT
   * (SIGBUS: past end of file, no hugetlb page; SIGSEGV: a guard marker).
   */
  fault(v: Vma, vpn: number, mode: number): number {
    const fl = v.flags;
    if (fl & VM_PFNMAP) return -EFAULT;
    if (fl & VM_HUGETLB) return this.hugetlbFault(v, vpn, mode);
    if (this.isGuard(vpn)) return -EFAULT;
    // An anonymous fault takes its page table first (do_anonymous_page()'s
    // pte_alloc(), the huge zero PMD's deposit): none is VM_FAULT_OOM. A file
    // fault finds its page first (__do_fault() before finish_fault()), which
    // holds RAM, so its table is counted without a check.
    if (v.file !== null || this.pt.has(Math.floor(vpn / PT_SPAN))) return this.faultIn(v, vpn, mode);
    if (!this.phys.allocTable()) return -ENOMEM;
    this.heldTable = true;
    const rc = this.faultIn(v, vpn, mode);
    this.releaseHeldTable();
    return rc;
  }

  private faultIn(v: Vma, vpn: number, mode: number): number {
    const fl = v.flags;
    const key = Math.floor(vpn / PT_SPAN);
    const idx = vpn & (PT_SPAN - 1);
    const shared = (fl & VM_MAYSHARE) !== 0;
    let n = this.pt.get(key);
    // vmf_anon_prepare(): a write or unshare fault of a private mapping, or a read fault the huge page path takes
    if (!shared && (mode !== FAULT_READ || (n === undefined && v.file === null && this.thpEligible(v, key)))) {
      const rc = this.anonVmaPrepare(v);
      if (rc) return rc;
    }
    if (n !== undefined && n.huge !== 0) {
      if (mode === FAULT_READ || shared || n.hugeFlags & PTE_EXCL) return 0;
      if (this.opts.hugeZeroWpThp && this.isHugeZero(n)) {
        // 7.x do_huge_zero_wp_pmd(): a THP in its place, split only when none can be had
        const head = this.phys.allocFolio(PMD_ORDER);
        if (head >= 0) {
          this.phys.unmapHuge(n.huge - 1);
          n.huge = 0;
          this.setHuge(key, head, PTE_ANON_EXCL, PMD_ORDER);
          return 0;
        }
      }
      if (n.hugeFlags & PTE_ANON && this.phys.folioRefcount(n.huge - 1) === 1) {
        n.hugeFlags |= PTE_EXCL;
        return 0;
      }
      this.splitHugePmd(n);
    }
    const ent = n?.pfns ? n.pfns[idx] : 0;
    if (ent === 0) {
      if (shared) {
        const fp = this.filePage(v, vpn);
        if (fp < 0) return fp;
        this.mapPte(key, idx, fp, 0);
        return 0;
      }
      if (v.file === null) {
        if (n === undefined && this.thpEligible(v, key)) {
          // do_huge_pmd_anonymous_page(): a read maps the huge zero folio (use_zero_page). An
          // unshare reaches a missing page only after GUP's first, plain read fault
          // (faultin_page() sets FAULT_FLAG_UNSHARE on the retry after follow_page_mask()'s
          // -EMLINK), so it meets the huge zero PMD: do_huge_pmd_wp_page() above then splits it
          // (6.12) or puts a THP in its place (7.x)
          this.khugepagedEnter();
          const head = mode === FAULT_WRITE ? this.phys.allocFolio(PMD_ORDER) : this.getHugeZero();
          if (head >= 0) {
            this.setHuge(key, head, mode === FAULT_WRITE ? PTE_ANON_EXCL : 0, PMD_ORDER);
            return mode === FAULT_UNSHARE ? this.fault(v, vpn, mode) : 0;
          }
        }
        if (mode === FAULT_READ) {
          this.mapPte(key, idx, this.phys.zeroPfn, 0);
          return 0;
        }
        const pfn = this.phys.allocFolio(0);
        if (pfn < 0) return -ENOMEM;
        this.mapPte(key, idx, pfn, mode === FAULT_UNSHARE ? PTE_ANON_EXCL | PTE_RDONLY : PTE_ANON_EXCL);
        return 0;
      }
      const fp = this.filePage(v, vpn);
      if (fp < 0) return fp;
      if (mode === FAULT_READ) {
        this.mapPte(key, idx, fp, 0);
        return 0;
      }
      const pfn = this.phys.allocFolio(0);
      if (pfn < 0) return -ENOMEM;
      this.phys.copyFrame(pfn, fp);
      this.mapPte(key, idx, pfn, mode === FAULT_UNSHARE ? PTE_ANON_EXCL | PTE_RDONLY : PTE_ANON_EXCL);
      this.backing?.copiedFile?.(this, vpn, vpn + 1);
      return 0;
    }
    if (mode === FAULT_READ || shared) return 0;
    n = n!;
    const f = n.flags![idx];
    // (an unshare leaves the entry read-only: a later write fault reuses the page and makes it writable)
    const ro = mode === FAULT_UNSHARE ? PTE_RDONLY : 0;
    if ((f & PTE_ANON_EXCL) === PTE_ANON_EXCL) {
      if (mode === FAULT_WRITE && f & PTE_RDONLY) n.flags![idx] = f & ~PTE_RDONLY;
      return 0;
    }
    const pfn = ent - 1;
    if (f & PTE_ANON && this.phys.folioOrder(pfn) === 0 && this.phys.refcount(pfn) === 1) {
      this.ownPtes(n);
      n.flags![idx] = (f & ~PTE_RDONLY) | PTE_EXCL | ro;
      return 0;
    }
    const npfn = this.phys.allocFolio(0);
    if (npfn < 0) return -ENOMEM;
    this.phys.copyFrame(npfn, pfn);
    this.ownPtes(n);
    this.framesMapped++;
    n.pfns![idx] = npfn + 1;
    n.flags![idx] = PTE_ANON_EXCL | ro;
    this.phys.getFrame(npfn);
    this.phys.putFrame(pfn);
    if (!(f & PTE_ANON)) this.backing?.copiedFile?.(this, vpn, vpn + 1);
    return 0;
  }

  private hugetlbFault(v: Vma, vpn: number, mode: number): number {
    cover(COV_MmStruct.hugetlbFault);
    const order = v.hugeOrder;
    const np = 2 ** order;
    const hvpn = vpn - (vpn % np);
    const nnodes = np / PT_SPAN;
    const key0 = hvpn / PT_SPAN;
    const n0 = this.pt.get(key0);
    const shared = (v.flags & VM_MAYSHARE) !== 0;
    // hugetlb_no_page() / hugetlb_wp(): vmf_anon_prepare() for a private mapping, a read too
    if (!shared) {
      const rc = this.anonVmaPrepare(v);
      if (rc) return rc;
    }
    const ri = (hvpn - v.start) / np;
    if (n0 === undefined || n0.huge === 0) {
      let head: number;
      let fl = 0;
      const file = v.file!;
      const index = (v.pgoff + (hvpn - v.start)) / np;
      if (shared) {
        head = file.getFolio(index);
        if (head < 0) return head;
      } else {
        // hugetlb_no_page(): a private mapping maps the file's folio where the page cache has one
        // (read-only: a write copies it below, hugetlb_wp()); past i_size it is SIGBUS; else a new
        // anonymous folio (an anonymous MAP_HUGETLB's file never caches one)
        head = file.lookup(index);
        if (head < 0) {
          if (index >= file.nfolios) return -EFAULT;
          const reserved = v.resv !== null && v.resv[ri] === 1;
          if (!this.resvRegionEntry(v)) return -ENOMEM;
          head = this.phys.allocFolio(order, { hugetlb: true, reserved });
          if (head < 0) return -EFAULT;
          if (reserved) this.resvConsume(v, ri);
          // hugetlb_no_page(): a write fault of a private mapping asks the reserve map again before it maps
          // (vma_needs_reservation(), the index now in a region: one entry still wanted in the cache)
          if (mode === FAULT_WRITE && !this.resvRegionEntry(v)) {
            // restore_reserve_on_error() asks the map once more (an entry made when the cache is still empty),
            // then gives the reservation back with the folio (region_del()); without that entry the
            // reservation stays consumed
            if (this.resvRegionEntry(v) && reserved) {
              this.phys.hugetlbRestoreReserve(head, order);
              v.resv![ri] = 1;
            }
            // (a fresh folio holds no reference until it is mapped: taken and dropped, it goes back)
            this.phys.getFrame(head);
            this.phys.putFrame(head);
            return -ENOMEM;
          }
          fl = PTE_ANON_EXCL;
        }
      }
      for (let k = 0; k < nnodes; k++) this.setHuge(key0 + k, head + k * PT_SPAN, fl, order, false);
      if (shared || fl !== 0 || mode === FAULT_READ) return 0;
    }
    const n = this.pt.get(key0)!;
    if (mode === FAULT_READ || shared || n.hugeFlags & PTE_EXCL) return 0;
    const head = n.huge - 1;
    if (n.hugeFlags & PTE_ANON && this.phys.hugeMapcount(head) === 1) {
      for (let k = 0; k < nnodes; k++) this.pt.get(key0 + k)!.hugeFlags |= PTE_EXCL;
      return 0;
    }
    // the copy takes the mapping's reservation while it has one (a page-cache folio's first write); its
    // entry is asked for once before it (hugetlb_no_page()'s write check, then hugetlb_wp()'s
    // alloc_hugetlb_folio() finds it cached)
    const reserved = v.resv !== null && v.resv[ri] === 1;
    if (!this.resvRegionEntry(v)) return -ENOMEM;
    const nh = this.phys.allocFolio(order, { hugetlb: true, reserved });
    if (nh < 0) return -EFAULT;
    if (reserved) this.resvConsume(v, ri);
    for (let k = 0; k < np; k++) this.phys.copyFrame(nh + k, head + k);
    this.framesMapped++;
    const fromFile = !(n.hugeFlags & PTE_ANON);
    for (let k = 0; k < nnodes; k++) {
      const n = this.pt.get(key0 + k)!;
      const old = n.huge - 1;
      n.huge = nh + k * PT_SPAN + 1;
      n.hugeFlags = PTE_ANON_EXCL;
      this.phys.mapHuge(nh + k * PT_SPAN);
      this.phys.unmapHuge(old);
    }
    if (fromFile) this.backing?.copiedFile?.(this, key0 * PT_SPAN, (key0 + nnodes) * PT_SPAN);
    return 0;
  }

  /**
   * Read faults of pages [s, e) of slice `key`, which has no table and no THP
   * (do_anonymous_page() without FAULT_FLAG_WRITE): one table, every entry the
   * zero page. A whole slice shares the mm's table of zero PTEs until a write
   * to it (ownPtes()), so populating a large range costs no memory per slice
   * beyond the RAM its table is counted against. A fork copies such a slice
   * whole the same way (copy_pte_range() of zero page PTEs).
   */
  private zeroSlice(key: number, s: number, e: number): number {
    if (!this.heldTable) {
      if (!this.phys.allocTable()) return -ENOMEM;
      this.heldTable = true;
    }
    const n = this.node(key, true);
    const base = key * PT_SPAN;
    if (e - s === PT_SPAN) {
      this.zeroPtes ??= new Uint32Array(PT_SPAN).fill(this.phys.zeroPfn + 1);
      this.zeroFlags ??= new Uint8Array(PT_SPAN);
      n.pfns = this.zeroPtes;
      n.flags = this.zeroFlags;
    } else {
      n.pfns = new Uint32Array(PT_SPAN).fill(this.phys.zeroPfn + 1, s - base, e - base);
      n.flags = new Uint8Array(PT_SPAN);
    }
    n.count = e - s;
    return 0;
  }

  /** Give node `n` a PTE table of its own before one of its entries changes (zeroSlice()). */
  private ownPtes(n: PtNode): void {
    if (n.pfns === null || n.pfns !== this.zeroPtes) return;
    n.pfns = n.pfns.slice();
    n.flags = n.flags!.slice();
  }

  /** Fault in pages [s, e) the way populate_vma_page_range() does; stops at the first error. */
  private populate(s: number, e: number, write?: boolean): number {
    cover(COV_MmStruct.populate);
    let i = this.findIdx(s);
    while (i < this.vmas.length && this.vmas[i].start < e) {
      const v = this.vmas[i++];
      if (!(v.flags & VM_ACCESS_FLAGS) || v.flags & (VM_PFNMAP | VM_IO)) continue;
      const w = write ?? (v.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
      const mode = w ? FAULT_WRITE : FAULT_READ;
      const hi = Math.min(e, v.end);
      const zeroReads = !w && v.file === null && !(v.flags & (VM_MAYSHARE | VM_HUGETLB));
      const first = Math.max(s, v.start);
      for (let vpn = first; vpn < hi; vpn++) {
        // read faults of a private anonymous slice with no table all map the zero page
        if (zeroReads && (vpn === first || (vpn & (PT_SPAN - 1)) === 0)) {
          const key = Math.floor(vpn / PT_SPAN);
          if (!this.pt.has(key) && !this.thpEligible(v, key)) {
            const end = Math.min(hi, (key + 1) * PT_SPAN);
            const rc = this.zeroSlice(key, vpn, end);
            if (rc < 0) return rc;
            vpn = end - 1;
            continue;
          }
        }
        const ent = this.lookupEntry(vpn);
        if (ent !== 0 && (!w || v.flags & VM_MAYSHARE || ((this.lf & PTE_ANON_EXCL) === PTE_ANON_EXCL && !(this.lf & PTE_RDONLY)))) {
          // a PMD entry answers the same for the rest of its slice
          if (this.isPmdMapped(vpn)) vpn = Math.min(hi, (Math.floor(vpn / PT_SPAN) + 1) * PT_SPAN) - 1;
          continue;
        }
        const rc = this.fault(v, vpn, mode);
        if (rc < 0) return rc;
      }
    }
    return 0;
  }

  // ---------------------------------------------------------------------------
  // address choice

  private topdown(npages: number, align: number, low: number, high: number): number {
    cover(COV_MmStruct.topdown);
    const v = this.vmas;
    for (let k = v.length - 1; k >= -1; k--) {
      const gs = Math.max(k >= 0 ? v[k].end : 0, low);
      const ge = Math.min(k + 1 < v.length ? startGap(v[k + 1]) : Number.POSITIVE_INFINITY, high);
      if (ge - gs < npages) continue;
      const cand = ge - npages - ((ge - npages) % align);
      if (cand >= gs) return cand;
    }
    return -1;
  }

  private bottomup(npages: number, align: number, low: number, high: number): number {
    cover(COV_MmStruct.bottomup);
    const v = this.vmas;
    for (let k = -1; k < v.length; k++) {
      const gs = Math.max(k >= 0 ? v[k].end : 0, low);
      const ge = Math.min(k + 1 < v.length ? startGap(v[k + 1]) : Number.POSITIVE_INFINITY, high);
      const cand = Math.ceil(gs / align) * align;
      if (cand + npages <= ge) return cand;
    }
    return -1;
  }

  /** vm_unmapped_area() top-down, then the bottom-up fallback. */
  private searchArea(npages: number, align: number): number {
    cover(COV_MmStruct.searchArea);
    let r = this.topdown(npages, align, 1, this.mmapBase);
    if (r < 0) r = this.bottomup(npages, align, this.mmapLegacyBase, TASK_PAGES);
    return r;
  }

  /**
   * __get_unmapped_area() for a page count and a page hint (already
   * PAGE_MASKed; 0 = none). Returns a page number or -errno.
   */
  private getUnmappedArea(hint: number, npages: number, flags: number, hugeOrder: number, anonPrivate: boolean): number {
    cover(COV_MmStruct.getUnmappedArea);
    if (npages > TASK_PAGES) return -ENOMEM;
    const align = hugeOrder ? 2 ** hugeOrder : 1;
    if (flags & MAP_FIXED) {
      if (hugeOrder && hint % align !== 0) return -EINVAL;
      return hint;
    }
    // MAP_32BIT on x86-64: arch_get_unmapped_area_topdown() goes to the bottom-up
    // arch_get_unmapped_area() over find_start_end()'s [1 GiB, 2 GiB) (not randomized here),
    // with no fallback; hugetlb_get_unmapped_area() goes there too, aligned to the huge page
    const low32 = (flags & MAP_32BIT) !== 0;
    const limit = low32 ? LOW32_END : TASK_PAGES;
    if (npages > limit) return -ENOMEM;
    if (hint) {
      // a hugetlb hint: ALIGN() up (7.x), or masked down by x86's own hugetlb_get_unmapped_area() (6.12)
      const h = hugeOrder && this.opts.hugetlbHintDown ? Math.floor(hint / align) * align : Math.ceil(hint / align) * align;
      if (h > 0 && h + npages <= limit && this.hintFits(h, h + npages)) return h;
    }
    const search = low32 ? (n: number, al: number) => this.bottomup(n, al, LOW32_BEGIN, LOW32_END) : (n: number, al: number) => this.searchArea(n, al);
    // thp_get_unmapped_area(): a whole number of PMDs of anonymous memory is searched one PMD
    // longer and aligned up (a PMD up when already aligned: the mm searches top-down)
    if (!hugeOrder && anonPrivate && this.opts.thpAlignAnon && !hint && npages % PT_SPAN === 0) {
      const r = search(npages + PT_SPAN, 1);
      if (r >= 0) {
        const sub = (PT_SPAN - (r % PT_SPAN)) % PT_SPAN;
        return sub === 0 ? r + PT_SPAN : r + sub;
      }
    }
    const r = search(npages, align);
    return r < 0 ? -ENOMEM : r;
  }

  // ---------------------------------------------------------------------------
  // exec

  /**
   * mmap_base() of arch/x86/mm/mmap.c with randomization off: the top-down
   * search starts below a gap of RLIMIT_STACK plus stack_guard_gap, at least
   * 128 MiB and at most 5/6 of TASK_SIZE (an unlimited stack takes the most).
   */
  setMmapBase(stackRlimit: bigint): void {
    cover(COV_MmStruct.setMmapBase);
    const task = TASK_SIZE;
    let gap = BigInt.asUintN(64, stackRlimit);
    if (gap + STACK_GUARD_GAP <= U64_MAX) gap += STACK_GUARD_GAP;
    const min = 128n * 1024n * 1024n;
    const max = (task / 6n) * 5n;
    if (gap < min) gap = min;
    else if (gap > max) gap = max;
    this.mmapBase = Number((task - gap + PAGE_N - 1n) / PAGE_N);
  }

  /**
   * What exec leaves in a fresh x86-64 address space with randomization off
   * (randomize_va_space = 0, `setarch -R`): mmap_base from RLIMIT_STACK, the
   * [stack] VMA ending at STACK_TOP (setup_arg_pages: growsdown, read-write,
   * its guard gap kept free by later searches), then map_vdso(): one
   * top-down get_unmapped_area() for [vvar], [vvar_vclock] and [vdso], in
   * that order upwards, right below mmap_base. [vvar]/[vvar_vclock] are
   * VM_IO data pages (GUP: -EFAULT; 7.2's [vvar] is VM_MIXEDMAP where the
   * model keeps raw PFNs, which answers the same); [vdso] is a private
   * read/exec mapping of the image, with VM_MAYWRITE so that it can be made
   * writable and copied on write, as the kernel allows for debuggers.
   * Returns 0 or -errno (-ENOMEM: no room).
   */
  setupExec(l: ExecLayout): number {
    cover(COV_MmStruct.setupExec);
    this.setMmapBase(l.stackRlimit);
    this.stackRlimit = BigInt.asUintN(64, l.stackRlimit);
    if (l.image !== false) this.mapExecImage(l.imageLayout ?? DEFAULT_EXEC_IMAGE);
    const top = Number(STACK_TOP / PAGE_N);
    const sstart = top - l.stackPages;
    if (!this.isFree(sstart, top)) return -ENOMEM;
    // VM_STACK_FLAGS (VM_ACCOUNT among them)
    const stack = new Vma(this, sstart, top, VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_GROWSDOWN | VM_ACCOUNT, null, sstart, 0);
    stack.name = '[stack]';
    this.insertVma(stack);
    if (l.vdso === null) return 0;
    const text = l.vdso.nfolios;
    const data = l.vvarPages + l.vclockPages;
    const at = this.getUnmappedArea(0, data + text, 0, 0, false);
    if (at < 0) return at;
    const dataFlags = VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP | VM_DONTEXPAND;
    const present = l.vvarPresent ?? (l.vclockPages > 0 ? [0, 2] : [0]);
    let sigbus = (2 ** l.vvarPages - 1) >>> 0;
    for (const pg of present) sigbus &= ~(1 << pg);
    const vvar = new Vma(this, at, at + l.vvarPages, dataFlags, null, 0, 0, l.vvarPfn);
    vvar.name = '[vvar]';
    vvar.special = this.opts.vvarMixed ? { sigbus, present: 0 } : { sigbus };
    this.insertVma(vvar);
    if (l.vclockPages > 0) {
      const vclock = new Vma(this, at + l.vvarPages, at + data, dataFlags, null, 0, 0, l.vvarPfn + l.vvarPages);
      vclock.name = '[vvar_vclock]';
      vclock.special = { sigbus: (2 ** l.vclockPages - 1) >>> 0 };
      this.insertVma(vclock);
    }
    this.mapVdsoText(at + data, l.vdso);
    return 0;
  }

  /**
   * map_vdso()'s text: a private read/exec special mapping of the image from
   * page `start`, with VM_MAYWRITE (debuggers make it writable and copy it on
   * write; a long-term read pin unshares it the same way): 0, or -EEXIST where something is mapped already.
   */
  mapVdsoText(start: number, image: MemFile): number {
    if (!this.isFree(start, start + image.nfolios)) return -EEXIST;
    const vdso = new Vma(this, start, start + image.nfolios, VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_DONTEXPAND, image, 0, 0);
    vdso.name = '[vdso]';
    vdso.special = { sigbus: 0 };
    this.insertVma(vdso);
    return 0;
  }

  /**
   * load_elf_binary() of a static program (EXEC_IMAGE or another image):
   * private file mappings of its segments (a private mapping may be made
   * writable: VM_MAYWRITE), the anonymous bss and the brk heap. The file
   * holds the image's bytes when it has them, else an ELF header and zeros.
   */
  private mapExecImage(image: ExecImage): void {
    cover(COV_MmStruct.mapExecImage);
    let contents = image.contents;
    if (contents === undefined) {
      contents = new Uint8Array(64);
      contents.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    }
    const file = new MemFile(this.phys, 'file', BigInt(image.fileBytes), { name: EXEC_IMAGE_PATH, contents });
    for (const m of image.mappings) {
      const s = m.start / PAGE_SIZE;
      const e = m.end / PAGE_SIZE;
      const flags = calcVmProt(m.prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | (m.accounted ? VM_ACCOUNT : 0);
      const v = m.offset === null ? new Vma(this, s, e, flags, null, s, 0) : new Vma(this, s, e, flags, file, m.offset / PAGE_SIZE, 0);
      if (m.name !== undefined) v.name = m.name;
      this.insertVma(v);
    }
  }

  // ---------------------------------------------------------------------------
  // system calls

  /**
   * mmap(2) (ksys_mmap_pgoff + do_mmap + mmap_region). Returns the address or
   * a negative errno, as bigints.
   */
  mmap(addr: bigint, length: bigint, prot: number, flags: number, opts: MmapOptions = {}): bigint {
    cover(COV_MmStruct.mmap);
    addr = BigInt.asUintN(64, addr);
    let len = BigInt.asUintN(64, length);
    const offset = BigInt.asUintN(64, opts.offset ?? 0n);
    if (offset % PAGE_N !== 0n) return BigInt(-EINVAL);
    const pgoff = offset / PAGE_N;
    let file: MemFile | null = null;
    let fileMode = opts.fileMode ?? 2;
    let ownFile = false;
    let hugeOrder = 0;
    if (!(flags & MAP_ANONYMOUS) && opts.device !== undefined) {
      if (flags & MAP_HUGETLB) return BigInt(-EINVAL);
      return this.doMmap(addr, len, prot, flags, null, fileMode, pgoff, 0, opts.task, opts.device, fileAttrs(opts));
    }
    if (!(flags & MAP_ANONYMOUS)) {
      file = opts.file ?? null;
      if (file === null) return BigInt(-EBADF);
      if (file.kind === 'hugetlb') {
        hugeOrder = file.order;
        len = BigInt.asUintN(64, len + BigInt(file.folioBytes) - 1n) & ~(BigInt(file.folioBytes) - 1n);
      } else if (flags & MAP_HUGETLB) return BigInt(-EINVAL);
    } else if (flags & MAP_HUGETLB) {
      hugeOrder = hugeOrderFromFlags(flags);
      // ksys_mmap_pgoff(): hstate_sizelog() finds no hstate of that size
      if (hugeOrder < 0 || !this.phys.hasHstate(hugeOrder)) return BigInt(-EINVAL);
      const hs = BigInt(PAGE_SIZE * 2 ** hugeOrder);
      len = BigInt.asUintN(64, len + hs - 1n) & ~(hs - 1n);
      // hugetlb_file_setup(): an unlinked hugetlbfs file, reserved up front unless MAP_NORESERVE
      const size = len > TASK_SIZE ? TASK_SIZE + PAGE_N : len;
      file = new MemFile(this.phys, 'hugetlb', size, { order: hugeOrder, name: 'anon_hugepage' });
      file.get();
      ownFile = true;
      fileMode = 2;
      if ((flags & MAP_TYPE) === MAP_SHARED && !(flags & MAP_NORESERVE)) {
        if (len > TASK_SIZE || !file.reserve(0, file.nfolios)) {
          file.put();
          return BigInt(-ENOMEM);
        }
      }
    }
    try {
      return this.doMmap(addr, len, prot, flags, file, fileMode, pgoff, hugeOrder, opts.task, undefined, fileAttrs(opts));
    } finally {
      if (ownFile) file!.put();
    }
  }

  private doMmap(addr: bigint, len: bigint, prot: number, flags: number, file: MemFile | null, fileMode: number, pgoff: bigint, hugeOrder: number, task: MmCaller | undefined, device?: DeviceMmap, attrs = 0): bigint {
    cover(COV_MmStruct.doMmap);
    if (len === 0n) return BigInt(-EINVAL);
    // do_mmap(): MAP_FIXED_NOREPLACE is MAP_FIXED before the hint is rounded, so its address is never moved
    if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
    if (!(flags & MAP_FIXED)) {
      addr &= ~(PAGE_N - 1n);
      if (addr !== 0n && addr < MMAP_MIN_ADDR) addr = MMAP_MIN_ADDR;
    }
    len = BigInt.asUintN(64, len + PAGE_N - 1n) & ~(PAGE_N - 1n);
    if (len === 0n) return BigInt(-ENOMEM);
    if (pgoff + len / PAGE_N > U64_MAX) return BigInt(-EOVERFLOW);
    if (this.vmas.length > this.opts.maxMapCount) return BigInt(-ENOMEM);
    // __get_unmapped_area
    if (len > TASK_SIZE) return BigInt(-ENOMEM);
    const npages = Number(len / PAGE_N);
    if (flags & MAP_FIXED) {
      // The arch code hands a fixed address back unchecked, and __get_unmapped_area() passes on one in the
      // top 4095 bytes as if it were an error (IS_ERR_VALUE()): mmap returns it, which user space reads as
      // errno -addr (hugetlb_get_unmapped_area() refuses it unaligned first)
      if (!hugeOrder && addr > U64_MAX - 4095n) return BigInt.asIntN(64, addr);
      if (addr % PAGE_N !== 0n) {
        if (hugeOrder) return BigInt(-EINVAL);
        // arch code returns the fixed address unchecked; the generic check then fails it
        if (addr > TASK_SIZE - len) return BigInt(-ENOMEM);
        return BigInt(-EINVAL);
      }
      if (addr > TASK_SIZE - len) {
        if (hugeOrder && addr % BigInt(PAGE_SIZE * 2 ** hugeOrder) !== 0n) return BigInt(-EINVAL);
        return BigInt(-ENOMEM);
      }
    }
    const hint = addr > TASK_SIZE ? 0 : Number(addr / PAGE_N);
    const anonPrivate = file === null && (flags & MAP_TYPE) === MAP_PRIVATE;
    const start = this.getUnmappedArea(hint, npages, flags, hugeOrder, anonPrivate);
    if (start < 0) return BigInt(start);
    if (start + npages > TASK_PAGES) return BigInt(-ENOMEM);
    if (start < MIN_ADDR_PAGES && !task?.capable('CAP_SYS_RAWIO')) return BigInt(-EPERM);
    const end = start + npages;
    if (flags & MAP_FIXED_NOREPLACE && !this.isFree(start, end)) return BigInt(-EEXIST);
    let vmFlags = calcVmProt(prot) | this.defFlags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
    // calc_vm_flag_bits(): MAP_GROWSDOWN → VM_GROWSDOWN, MAP_STACK → VM_NOHUGEPAGE (v6.7+)
    if (flags & MAP_GROWSDOWN) vmFlags |= VM_GROWSDOWN;
    if (flags & MAP_STACK && this.opts.mapStackNoHugepage) vmFlags |= VM_NOHUGEPAGE;
    if (flags & MAP_LOCKED) {
      if (task && task.rlimitMemlock === 0n && !task.capable('CAP_IPC_LOCK')) return BigInt(-EPERM);
      vmFlags |= VM_LOCKED;
    }
    // mlock_future_ok(): MAP_LOCKED's or mlockall(MCL_FUTURE)'s VM_LOCKED within RLIMIT_MEMLOCK
    if (vmFlags & VM_LOCKED && task && !task.capable('CAP_IPC_LOCK') && BigInt(npages + this.lockedVm) > task.rlimitMemlock / PAGE_N) return BigInt(-EAGAIN);
    if (file !== null || device !== undefined) {
      const readable = fmodeReads(fileMode);
      const writable = fmodeWrites(fileMode);
      const type = flags & MAP_TYPE;
      if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
        if (type === MAP_SHARED) flags &= LEGACY_MAP_MASK;
        else if (flags & ~LEGACY_MAP_MASK) return BigInt(-EOPNOTSUPP);
        if (prot & PROT_WRITE && !writable) return BigInt(-EACCES);
        vmFlags |= VM_SHARED | VM_MAYSHARE;
        if (!writable) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
      } else if (type !== MAP_PRIVATE) return BigInt(-EINVAL);
      if (!readable) return BigInt(-EACCES);
      if (attrs & FILE_NOEXEC) {
        if (vmFlags & VM_EXEC) return BigInt(-EPERM);
        vmFlags &= ~VM_MAYEXEC;
      }
      if (attrs & FILE_NO_MMAP) return BigInt(-ENODEV);
      // do_mmap(): a file mapping cannot grow down
      if (vmFlags & VM_GROWSDOWN) return BigInt(-EINVAL);
      // memfd_check_seals_mmap(): a write-sealed file refuses a new shared writable mapping, and its
      // shared read-only ones may not become writable
      if (file !== null && file.seals & F_SEALS_WRITE && vmFlags & VM_SHARED) {
        if (vmFlags & VM_WRITE) return BigInt(-EPERM);
        vmFlags &= ~VM_MAYWRITE;
      }
    } else {
      switch (flags & MAP_TYPE) {
        case MAP_SHARED:
          if (vmFlags & VM_GROWSDOWN) return BigInt(-EINVAL);
          vmFlags |= VM_SHARED | VM_MAYSHARE;
          break;
        case MAP_PRIVATE:
          break;
        default:
          return BigInt(-EINVAL);
      }
    }
    if (flags & MAP_NORESERVE) vmFlags |= VM_NORESERVE;
    if (device !== undefined) return this.mmapDevice(start, end, vmFlags, flags, pgoff, device);
    return this.mmapRegion(start, end, vmFlags, flags, file, Number(pgoff), hugeOrder);
  }

  /**
   * mmap_region() for a device file: its mmap decides (an error leaves the
   * address space as it was: a MAP_FIXED range is only replaced on success,
   * as the kernel restores the gathered VMAs on failure), then the VMA is
   * VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP (remap_pfn_range).
   */
  private mmapDevice(start: number, end: number, vmFlags: number, flags: number, pgoff: bigint, device: DeviceMmap): bigint {
    cover(COV_MmStruct.mmapDevice);
    // (the file's answer first: it also stands for do_mmap()'s checks of a host file, which come before
    // __mmap_setup() gathers what a MAP_FIXED mapping replaces; a sealed VMA there is -EPERM below)
    const m = device(vmFlags, pgoff, end - start);
    if (typeof m === 'number') return BigInt(m);
    if (flags & MAP_FIXED) {
      const rc = this.doMunmap(start, end);
      if (rc < 0) {
        m.close?.();
        return BigInt(rc);
      }
    }
    const v = new Vma(this, start, end, (vmFlags & ~VM_LOCKED_MASK) | VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP, null, 0, 0, m.pfn);
    v.ops = m;
    this.insertVma(v);
    return BigInt(start) * PAGE_N;
  }

  private mmapRegion(start: number, end: number, vmFlags: number, flags: number, file: MemFile | null, pgoff: number, hugeOrder: number): bigint {
    cover(COV_MmStruct.mmapRegion);
    // __mmap_setup(): what the mapping replaces is gathered (split, a sealed VMA -EPERM) before any charge
    if (flags & MAP_FIXED) {
      const g = this.munmapGather(start, end);
      if (g < 0) return BigInt(g);
    }
    // __mmap_setup(): a private writable mapping is charged (accountable_mapping()), less what the
    // VMAs it replaces were charged; shmem_zero_setup() charges a shared anonymous one
    // (shmem_acct_size()). Both ask __vm_enough_memory(); a failure leaves the replaced VMAs.
    if (!hugeOrder && (vmFlags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE) {
      const charged = end - start - (flags & MAP_FIXED ? this.accountedIn(start, end) : 0);
      if (charged > 0 && !this.enoughMemory(charged)) return BigInt(-ENOMEM);
      vmFlags |= VM_ACCOUNT;
    } else if (!hugeOrder && file === null && vmFlags & VM_MAYSHARE && !(vmFlags & VM_NORESERVE) && !this.enoughMemory(end - start)) return BigInt(-ENOMEM);
    if (flags & MAP_FIXED) {
      const rc = this.doMunmap(start, end);
      if (rc < 0) return BigInt(rc);
    }
    if (file === null && vmFlags & VM_MAYSHARE) {
      file = new MemFile(this.phys, 'shmem', BigInt(end - start) * PAGE_N, { name: 'dev/zero' });
      pgoff = 0;
    } else if (file === null) pgoff = start;
    if (hugeOrder) {
      vmFlags |= VM_HUGETLB | VM_DONTEXPAND;
      const np = 2 ** hugeOrder;
      if (pgoff % np !== 0) return BigInt(-EINVAL);
      const f = file!;
      if (!(vmFlags & VM_NORESERVE)) {
        if (vmFlags & VM_MAYSHARE) {
          if (!f.reserve(pgoff / np, (pgoff + end - start) / np)) return BigInt(-ENOMEM);
        } else if (!this.phys.hugetlbReserve(hugeOrder, (end - start) / np)) return BigInt(-ENOMEM);
      }
      // hugetlbfs_file_mmap(): the file grows to cover a writable mapping only; a read-only one of a
      // shorter file keeps its size, and a fault past it is SIGBUS (hugetlb_no_page())
      const need = BigInt(pgoff + end - start) * PAGE_N;
      if (vmFlags & VM_WRITE && f.size < need) f.size = need;
    }
    if (vmFlags & VM_LOCKED && (hugeOrder || vmFlags & VM_SPECIAL)) vmFlags &= ~VM_LOCKED_MASK;
    const v = new Vma(this, start, end, vmFlags, file, pgoff, hugeOrder);
    if (hugeOrder && !(vmFlags & (VM_MAYSHARE | VM_NORESERVE))) {
      v.resv = new Uint8Array((end - start) / 2 ** hugeOrder).fill(1);
      v.resvMap = { cache: 1 };
    }
    if (vmFlags & VM_LOCKED) this.lockedVm += end - start;
    const i = this.insertVma(v);
    this.mergeRange(i, i);
    if (vmFlags & VM_LOCKED || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE) this.mmPopulate(start, end, true);
    return BigInt(start) * PAGE_N;
  }

  /**
   * __vm_enough_memory() under the default overcommit heuristic
   * (OVERCOMMIT_GUESS): a single charge of more pages than RAM plus swap
   * (the machine has none) is refused; anything smaller is allowed.
   */
  private enoughMemory(pages: number): boolean {
    return pages <= this.phys.totalFrames;
  }

  /** Pages of [s, e) in VMAs that carry VM_ACCOUNT (vms->nr_accounted of a MAP_FIXED replacement). */
  private accountedIn(s: number, e: number): number {
    let n = 0;
    for (let i = this.findIdx(s); i < this.vmas.length && this.vmas[i].start < e; i++) {
      const v = this.vmas[i];
      if (v.flags & VM_ACCOUNT) n += Math.min(v.end, e) - Math.max(v.start, s);
    }
    return n;
  }

  /**
   * A VM_IO | VM_PFNMAP mapping of `length` bytes of raw PFNs from `basePfn`
   * (remap_pfn_range), for tests: GUP refuses it. Frames inside RAM are read
   * and written by user access without refcounts; others read as zeros.
   */
  mmapPfnmap(addr: bigint, length: bigint, prot: number, basePfn: number): bigint {
    cover(COV_MmStruct.mmapPfnmap);
    const len = (BigInt.asUintN(64, length) + PAGE_N - 1n) & ~(PAGE_N - 1n);
    if (len === 0n || len > TASK_SIZE) return BigInt(-EINVAL);
    const npages = Number(len / PAGE_N);
    const start = this.getUnmappedArea(addr === 0n ? 0 : Number(BigInt.asUintN(64, addr) / PAGE_N), npages, addr === 0n ? 0 : MAP_FIXED, 0, false);
    if (start < 0) return BigInt(start);
    if (addr !== 0n) {
      const rc = this.doMunmap(start, start + npages);
      if (rc < 0) return BigInt(rc);
    }
    const v = new Vma(this, start, start + npages, calcVmProt(prot) | VM_MAYREAD | VM_MAYWRITE | VM_SHARED | VM_MAYSHARE | VM_IO | VM_PFNMAP | VM_DONTEXPAND, null, 0, 0, basePfn);
    this.insertVma(v);
    return BigInt(start) * PAGE_N;
  }

  /** munmap(2). */
  munmap(addr: bigint, length: bigint): number {
    cover(COV_MmStruct.munmap);
    addr = BigInt.asUintN(64, addr);
    const len = BigInt.asUintN(64, length);
    if (addr % PAGE_N !== 0n || addr > TASK_SIZE || len > TASK_SIZE - addr) return -EINVAL;
    const alen = (len + PAGE_N - 1n) & ~(PAGE_N - 1n);
    if (alen === 0n) return -EINVAL;
    const s = Number(addr / PAGE_N);
    return this.doMunmap(s, s + Number(alen / PAGE_N));
  }

  /**
   * mseal(2) (do_mseal()): flags must be 0, the start page-aligned, the
   * length rounded up to pages without wrapping (-EINVAL); an empty range is
   * 0; a range with a hole is -ENOMEM before anything changes; then
   * VM_SEALED on every VMA of the range (split and merged as any flag
   * change; a split refused at the map count ends it with -ENOMEM, the VMAs
   * before already sealed). Sealing is one-way: nothing clears it.
   */
  mseal(addr: bigint, length: bigint, flags: bigint): number {
    cover(COV_MmStruct.mseal);
    if (BigInt.asUintN(64, flags) !== 0n) return -EINVAL;
    addr = BigInt.asUintN(64, addr);
    if (addr % PAGE_N !== 0n) return -EINVAL;
    const len0 = BigInt.asUintN(64, length);
    const len = BigInt.asUintN(64, len0 + PAGE_N - 1n) & ~(PAGE_N - 1n);
    if (len0 !== 0n && len === 0n) return -EINVAL;
    const endB = addr + len;
    if (endB > U64_MAX) return -EINVAL;
    if (endB === addr) return 0;
    // range_contains_unmapped(): no VMA lies at or above TASK_SIZE
    if (endB > TASK_SIZE) return -ENOMEM;
    const s = Number(addr / PAGE_N);
    const e = Number(endB / PAGE_N);
    const first = this.findIdx(s);
    let i = first;
    for (let cur = s; cur < e; i++) {
      if (i >= this.vmas.length || this.vmas[i].start > cur) return -ENOMEM;
      cur = this.vmas[i].end;
    }
    i = first;
    for (let cur = s; cur < e; i++) {
      const v = this.vmas[i];
      const hi = Math.min(v.end, e);
      if (!(v.flags & VM_SEALED)) {
        const k = this.setFlags(i, Math.max(cur, v.start), hi, v.flags | VM_SEALED);
        if (k < 0) {
          this.mergeBeforeFailure(first, i);
          return k;
        }
        i = k;
      }
      cur = hi;
    }
    this.mergeRange(first, i);
    return 0;
  }

  /**
   * vms_gather_munmap_vmas() over pages [s, e): the VMA the range starts in
   * split off (a hole punched at the map count limit is -ENOMEM first), then
   * every VMA of the range looked at (a sealed one is -EPERM, the split
   * made stays), then the last one split at the end. The index of the
   * range's first VMA, or -errno.
   */
  private munmapGather(s: number, e: number, seals = true): number {
    const sealed = seals ? VM_SEALED : 0;
    let i = this.findIdx(s);
    if (i >= this.vmas.length || this.vmas[i].start >= e) return i;
    const v0 = this.vmas[i];
    if (v0.start < s) {
      if (e < v0.end && this.vmas.length >= this.opts.maxMapCount) return -ENOMEM;
      if (v0.flags & sealed) return -EPERM;
      const rc = this.splitVma(i, s);
      if (rc) return rc;
      i++;
    }
    let j = i;
    for (; j < this.vmas.length && this.vmas[j].start < e; j++) if (this.vmas[j].flags & sealed) return -EPERM;
    if (j > i && this.vmas[j - 1].end > e) {
      const rc = this.splitVma(j - 1, e);
      if (rc) return rc;
    }
    return i;
  }

  /** do_vmi_munmap() on pages [s, e); `seals` false: what the real kernel already replaced under exec goes whatever it is. */
  private doMunmap(s: number, e: number, seals = true): number {
    cover(COV_MmStruct.doMunmap);
    const i = this.munmapGather(s, e, seals);
    if (i < 0) return i;
    let lo = -1;
    let hi = -1;
    while (i < this.vmas.length && this.vmas[i].start < e) {
      const v = this.vmas[i];
      if (lo < 0) lo = v.start;
      hi = v.end;
      this.zapRange(v, v.start, v.end, false, false, true);
      this.vmas.splice(i, 1);
      this.releaseVma(v);
    }
    if (lo >= 0) this.freePgtables(lo, hi);
    return 0;
  }

  /** Give vmas[i]'s pages [s, e) the flags `nf`, splitting as needed. Returns the VMA's index or -errno. */
  private setFlags(i: number, s: number, e: number, nf: number): number {
    cover(COV_MmStruct.setFlags);
    const v0 = this.vmas[i];
    if (v0.flags === nf) return i;
    if (v0.start < s) {
      const rc = this.splitVma(i, s);
      if (rc) return rc;
      i++;
    }
    const v = this.vmas[i];
    if (v.end > e) {
      const rc = this.splitVma(i, e);
      if (rc) return rc;
    }
    if ((v.flags ^ nf) & VM_LOCKED) this.lockedVm += nf & VM_LOCKED ? v.pages : -v.pages;
    v.flags = nf;
    return i;
  }

  /**
   * mlock(2) / mlock2(2) (do_mlock()): -EPERM without RLIMIT_MEMLOCK or
   * CAP_IPC_LOCK (can_do_mlock()); the range widened to whole pages; without
   * CAP_IPC_LOCK the pages to lock (those already locked in the range not
   * counted twice) plus locked_vm must fit RLIMIT_MEMLOCK (-ENOMEM); then
   * VM_LOCKED (and VM_LOCKONFAULT for `onFault`) on every VMA of the range
   * (apply_vma_lock_flags(): -ENOMEM at a hole, with the VMAs before it
   * already changed), and the range faulted in (__mm_populate(): an
   * inaccessible VMA or a fault that fails is -ENOMEM, no memory -EAGAIN).
   */
  mlock(addr: bigint, length: bigint, onFault: boolean, task: MmCaller): number {
    cover(COV_MmStruct.mlock);
    const cap = task.capable('CAP_IPC_LOCK');
    if (task.rlimitMemlock === 0n && !cap) return -EPERM;
    const [start, len] = lockRange(addr, length);
    const limit = BigInt.asUintN(64, task.rlimitMemlock) / PAGE_N;
    let locked = len / PAGE_N + BigInt(this.lockedVm);
    if (locked > limit && !cap) locked -= BigInt(this.lockedPagesIn(start, len));
    if (locked > limit && !cap) return -ENOMEM;
    const rc = this.applyLockFlags(start, len, VM_LOCKED | (onFault ? VM_LOCKONFAULT : 0));
    if (rc) return rc;
    const [s, e] = pageSpan(start, start + len);
    const p = this.mmPopulate(s, e, false);
    // __mlock_posix_error_return()
    return p === -EFAULT ? -ENOMEM : p === -ENOMEM ? -EAGAIN : p;
  }

  /** munlock(2): VM_LOCKED and VM_LOCKONFAULT off over the range (apply_vma_lock_flags(), its -ENOMEM at a hole). */
  munlock(addr: bigint, length: bigint): number {
    cover(COV_MmStruct.munlock);
    const [start, len] = lockRange(addr, length);
    return this.applyLockFlags(start, len, 0);
  }

  /**
   * mlockall(2): EINVAL for no flag, an unknown one or MCL_ONFAULT alone;
   * EPERM as mlock; MCL_CURRENT without CAP_IPC_LOCK needs the whole address
   * space (total_vm) within RLIMIT_MEMLOCK (ENOMEM). MCL_FUTURE makes every
   * later mapping locked (def_flags); MCL_CURRENT locks every VMA that can
   * be (apply_mlockall_flags()) and faults the address space in, errors
   * ignored (mm_populate()).
   */
  mlockall(flags: number, task: MmCaller): number {
    cover(COV_MmStruct.mlockall);
    if (!flags || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) return -EINVAL;
    const cap = task.capable('CAP_IPC_LOCK');
    if (task.rlimitMemlock === 0n && !cap) return -EPERM;
    if (flags & MCL_CURRENT && !cap) {
      let total = 0;
      for (const v of this.vmas) total += v.pages;
      if (BigInt(total) > BigInt.asUintN(64, task.rlimitMemlock) / PAGE_N) return -ENOMEM;
    }
    this.applyMlockallFlags(flags);
    if (flags & MCL_CURRENT) this.mmPopulate(0, TASK_PAGES + 1, true);
    return 0;
  }

  /** munlockall(2): no VMA locked, no later mapping either (apply_mlockall_flags(0)). */
  munlockall(): number {
    this.applyMlockallFlags(0);
    return 0;
  }

  private applyMlockallFlags(flags: number): void {
    const onFault = flags & MCL_ONFAULT ? VM_LOCKONFAULT : 0;
    this.defFlags = flags & MCL_FUTURE ? VM_LOCKED | onFault : 0;
    if (flags & MCL_FUTURE && !(flags & MCL_CURRENT)) return;
    const add = flags & MCL_CURRENT ? VM_LOCKED | onFault : 0;
    for (let i = 0; i < this.vmas.length; i++) {
      const v = this.vmas[i];
      const nf = (v.flags & ~VM_LOCKED_MASK) | add;
      if (nf !== v.flags && !(v.flags & (VM_SPECIAL | VM_HUGETLB))) this.setFlags(i, v.start, v.end, nf);
    }
    this.mergeRange(0, this.vmas.length - 1);
  }

  /** count_mm_mlocked_page_nr(): pages of VM_LOCKED VMAs within [start, start + len). */
  private lockedPagesIn(start: bigint, len: bigint): number {
    const [s, e] = pageSpan(start, start + len);
    let n = 0;
    for (let i = this.findIdx(s); i < this.vmas.length && this.vmas[i].start < e; i++) {
      const v = this.vmas[i];
      if (v.flags & VM_LOCKED) n += Math.min(v.end, e) - Math.max(v.start, s);
    }
    return n;
  }

  /**
   * apply_vma_lock_flags(): the VM_LOCKED_MASK bits `lockFlags` on every VMA
   * of [start, start + len), which must hold no hole (-ENOMEM, the VMAs before
   * it changed); a VMA that cannot be mlocked (VM_SPECIAL, hugetlb) is left as
   * it is (mlock_fixup()), each change moves locked_vm by its pages.
   */
  private applyLockFlags(start: bigint, len: bigint, lockFlags: number): number {
    cover(COV_MmStruct.applyLockFlags);
    const end = start + len;
    if (end > U64_MAX) return -EINVAL;
    if (len === 0n) return 0;
    if (start >= TASK_SIZE) return -ENOMEM;
    const [s, e] = pageSpan(start, end);
    let i = this.findIdx(s);
    if (i >= this.vmas.length || this.vmas[i].start > s) return -ENOMEM;
    const first = i;
    let cur = s;
    let rc = 0;
    for (;;) {
      const v = this.vmas[i];
      const hi = Math.min(v.end, e);
      const nf = (v.flags & ~VM_LOCKED_MASK) | lockFlags;
      if (nf !== v.flags && !(v.flags & (VM_SPECIAL | VM_HUGETLB))) {
        const k = this.setFlags(i, cur, hi, nf);
        if (k < 0) {
          rc = k;
          break;
        }
        i = k;
      }
      i++;
      cur = hi;
      if (cur >= e) break;
      if (i >= this.vmas.length || this.vmas[i].start !== cur) {
        rc = -ENOMEM;
        break;
      }
    }
    if (rc < 0) this.mergeBeforeFailure(first, i);
    else this.mergeRange(first, Math.min(i, this.vmas.length - 1));
    return rc;
  }

  /**
   * __mm_populate(): fault in the VMAs of pages [s, e) but VM_IO / VM_PFNMAP
   * ones (populate_vma_page_range(): nothing for VM_LOCKONFAULT, -EFAULT for an
   * inaccessible VMA, a write fault for a private writable one). The first
   * error ends it, or with `ignoreErrors` (mm_populate()) only that VMA.
   */
  private mmPopulate(s: number, e: number, ignoreErrors: boolean): number {
    // __mm_populate(): nothing to do for an empty range, whatever VMA its start lies in (mlock of 0 bytes
    // inside a PROT_NONE mapping is 0; the model said ENOMEM, 6.12 generated program of seed 77022)
    if (s >= e) return 0;
    for (let i = this.findIdx(s); i < this.vmas.length && this.vmas[i].start < e; i++) {
      const v = this.vmas[i];
      if (v.flags & (VM_IO | VM_PFNMAP | VM_LOCKONFAULT)) continue;
      const rc = v.flags & VM_ACCESS_FLAGS ? this.populate(Math.max(s, v.start), Math.min(e, v.end)) : -EFAULT;
      if (rc < 0 && !ignoreErrors) return rc;
    }
    return 0;
  }

  /** mprotect(2). */
  mprotect(addr: bigint, length: bigint, prot: number): number {
    cover(COV_MmStruct.mprotect);
    addr = BigInt.asUintN(64, addr);
    const len0 = BigInt.asUintN(64, length);
    // do_mprotect_pkey(): both grow directions is EINVAL before the address and the length are looked at
    const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
    if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL;
    if (addr % PAGE_N !== 0n) return -EINVAL;
    if (len0 === 0n) return 0;
    const len = BigInt.asUintN(64, len0 + PAGE_N - 1n) & ~(PAGE_N - 1n);
    const endB = addr + len;
    if (len === 0n || endB > U64_MAX) return -ENOMEM;
    prot &= ~grows;
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) return -EINVAL;
    if (addr >= TASK_SIZE) return -ENOMEM;
    const s = Number(addr / PAGE_N);
    const e = endB > TASK_SIZE ? TASK_PAGES + 1 : Number(endB / PAGE_N);
    let i = this.findIdx(s);
    if (i >= this.vmas.length || this.vmas[i].start > s) return -ENOMEM;
    if (grows & PROT_GROWSDOWN) return -EINVAL;
    const first = i;
    let cur = s;
    let rc = 0;
    for (;;) {
      const v = this.vmas[i];
      let nf = (v.flags & ~VM_ACCESS_FLAGS) | calcVmProt(prot);
      if (nf & ~(nf >> 4) & VM_ACCESS_FLAGS) {
        rc = -EACCES;
        break;
      }
      // mprotect_fixup(): a sealed VMA is not changed, even to the flags it has
      if (v.flags & VM_SEALED) {
        rc = -EPERM;
        break;
      }
      const hi = Math.min(v.end, e);
      // mprotect_fixup(): making writable a private mapping never charged charges it now; making
      // an anonymous one (no vm_ops) read-only before any page made its anon_vma uncharges it
      if (nf & VM_WRITE && !(v.flags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) {
        if (!this.enoughMemory(hi - cur)) {
          rc = -ENOMEM;
          break;
        }
        nf |= VM_ACCOUNT;
      } else if (!(nf & VM_WRITE) && v.flags & VM_ACCOUNT && v.file === null && v.special === undefined && v.ops === undefined && !v.anonVma) nf &= ~VM_ACCOUNT;
      // change_protection() with MM_CP_TRY_CHANGE_WRITABLE: an exclusive anonymous page of a private
      // writable mapping becomes writable (can_change_pte_writable()), the ones an unshare left read-only too
      if (nf !== v.flags && nf & VM_WRITE && !(nf & VM_SHARED)) this.clearRdonly(cur, hi);
      const k = this.setFlags(i, cur, hi, nf);
      if (k < 0) {
        rc = k;
        break;
      }
      i = k + 1;
      cur = hi;
      if (cur >= e) break;
      if (i >= this.vmas.length || this.vmas[i].start !== cur) {
        rc = -ENOMEM;
        break;
      }
    }
    if (rc < 0) this.mergeBeforeFailure(first, i);
    else this.mergeRange(first, i);
    return rc;
  }

  /** PTE_RDONLY off for the PTEs of pages [s, e). */
  private clearRdonly(s: number, e: number): void {
    for (const key of this.keysIn(Math.floor(s / PT_SPAN), Math.floor((e - 1) / PT_SPAN))) {
      const n = this.pt.get(key);
      const fl = n?.flags;
      if (n === undefined || fl == null || n.pfns === this.zeroPtes) continue;
      const hi = Math.min(e, (key + 1) * PT_SPAN);
      for (let vpn = Math.max(s, key * PT_SPAN); vpn < hi; vpn++) fl[vpn & (PT_SPAN - 1)] &= ~PTE_RDONLY;
    }
  }

  // ---------------------------------------------------------------------------
  // mremap

  /**
   * mremap(2): the range's address after the call, or -errno. Pages move
   * with their page table entries (a pin taken at the old address holds the
   * same pages at the new one). `place` is for the bridge, whose real kernel
   * chooses where a range goes: `check` answers 0 where the call would go
   * ahead, before anything changes; `at` follows a call the real kernel put
   * there (in place when `at` is `addr`).
   */
  mremap(addr: bigint, oldLen: bigint, newLen: bigint, flags: number, newAddr: bigint, task?: MmCaller, place: MremapPlace = {}): bigint {
    cover(COV_MmStruct.mremap);
    const r: Remap = { addr: BigInt.asUintN(64, addr), oldLen: BigInt.asUintN(64, oldLen), newLen: BigInt.asUintN(64, newLen), flags, newAddr: BigInt.asUintN(64, newAddr), task, place };
    return this.opts.mremapMulti ? this.mremapChecked(r) : this.mremapLegacy(r);
  }

  /** 6.12's SYSCALL_DEFINE5(mremap): flags, the address, then the VMA, then what the kind of call needs. */
  private mremapLegacy(r: Remap): bigint {
    const f = r.flags;
    if (f & ~MREMAP_ALL) return BigInt(-EINVAL);
    if (f & MREMAP_FIXED && !(f & MREMAP_MAYMOVE)) return BigInt(-EINVAL);
    // the lengths compared as given, before PAGE_ALIGN()
    if (f & MREMAP_DONTUNMAP && (!(f & MREMAP_MAYMOVE) || r.oldLen !== r.newLen)) return BigInt(-EINVAL);
    if (r.addr % PAGE_N !== 0n) return BigInt(-EINVAL);
    r.oldLen = pageAlign(r.oldLen);
    r.newLen = pageAlign(r.newLen);
    if (r.newLen === 0n) return BigInt(-EINVAL);
    const v = this.vmaAt(r.addr);
    if (v === undefined) return BigInt(-EFAULT);
    // can_modify_vma(): a sealed VMA is not remapped
    if (v.flags & VM_SEALED) return BigInt(-EPERM);
    if (v.hugeOrder && !this.alignHugetlbRemap(r, v)) return BigInt(-EINVAL);
    if (f & (MREMAP_FIXED | MREMAP_DONTUNMAP)) return this.mremapToLegacy(r);
    if (r.oldLen >= r.newLen) {
      if (r.place.check) return this.remapChecked(r, false);
      if (r.oldLen === r.newLen) return r.addr;
      const rc = this.remapUnmap(r, r.addr + r.newLen, r.oldLen - r.newLen);
      return rc ? BigInt(rc) : r.addr;
    }
    const e = this.vmaToResize(r);
    if (e) return BigInt(e);
    return this.expandVma(r, this.vmaAt(r.addr)!);
  }

  /** 6.12's mremap_to(): MREMAP_FIXED or MREMAP_DONTUNMAP. */
  private mremapToLegacy(r: Remap): bigint {
    if (r.newAddr % PAGE_N !== 0n) return BigInt(-EINVAL);
    if (r.newLen > TASK_SIZE || r.newAddr > TASK_SIZE - r.newLen) return BigInt(-EINVAL);
    if (this.remapOverlaps(r)) return BigInt(-EINVAL);
    if (this.vmas.length + 2 >= this.opts.maxMapCount - 3) return BigInt(-ENOMEM);
    if (r.flags & MREMAP_FIXED) {
      const rc = this.remapUnmap(r, r.newAddr, r.newLen);
      if (rc) return BigInt(rc);
    }
    if (r.oldLen > r.newLen) {
      const rc = this.remapUnmap(r, r.addr + r.newLen, r.oldLen - r.newLen);
      if (rc) return BigInt(rc);
      r.oldLen = r.newLen;
    }
    const e = this.vmaToResize(r);
    if (e) return BigInt(e);
    const v = this.vmaAt(r.addr)!;
    const to = this.remapArea(r, v, r.newAddr);
    if (to < 0n) return to;
    r.newAddr = to;
    return this.moveVma(r, v);
  }

  /** A `check` that went through: 0, and what the call would do (MremapPlace.checked). */
  private remapChecked(r: Remap, move: boolean): bigint {
    r.place.checked = move ? { move, oldLen: r.oldLen, newLen: r.newLen, to: r.newAddr } : { move, oldLen: r.oldLen, newLen: r.newLen };
    return 0n;
  }

  /** munmap() of part of an mremap, noted among its effects. */
  private remapUnmap(r: Remap, addr: bigint, len: bigint): number {
    const rc = this.munmap(addr, len);
    if (rc === 0) r.place.effects?.push({ kind: 'unmap', addr, len });
    return rc;
  }

  /** 6.12's vma_to_resize(): what a growing or moving range must meet; 0 or -errno. */
  private vmaToResize(r: Remap): number {
    const v = this.vmaAt(r.addr);
    if (v === undefined) return -EFAULT;
    // duplicating a private mapping (an old length of 0) is refused
    if (r.oldLen === 0n && !(v.flags & (VM_SHARED | VM_MAYSHARE))) return -EINVAL;
    if (r.flags & MREMAP_DONTUNMAP && v.flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EINVAL;
    if (r.oldLen > v.endAddr - r.addr) return -EFAULT;
    if (r.newLen === r.oldLen) return 0;
    return this.growthRefused(r, v);
  }

  /** The checks a range that grows meets in both versions: pgoff wrap, VM_DONTEXPAND, mlock_future_ok(). */
  private growthRefused(r: Remap, v: Vma): number {
    const pgoff = BigInt(v.pgoff) + (r.addr - v.startAddr) / PAGE_N;
    if (pgoff + r.newLen / PAGE_N > U64_MAX) return -EINVAL;
    if (v.flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EFAULT;
    const grow = r.newLen > r.oldLen ? r.newLen - r.oldLen : r.oldLen - r.newLen;
    if (v.flags & VM_LOCKED && r.task && !r.task.capable('CAP_IPC_LOCK') && grow / PAGE_N + BigInt(this.lockedVm) > BigInt.asUintN(64, r.task.rlimitMemlock) / PAGE_N) return -EAGAIN;
    return 0;
  }

  /** The old and the new range meet. */
  private remapOverlaps(r: Remap): boolean {
    return r.addr + r.oldLen > r.newAddr && r.newAddr + r.newLen > r.addr;
  }

  /** A hugetlb VMA: lengths rounded to its page, both addresses aligned to it, no growth (align_hugetlb()). */
  private alignHugetlbRemap(r: Remap, v: Vma): boolean {
    const hs = PAGE_N << BigInt(v.hugeOrder);
    r.oldLen = BigInt.asUintN(64, r.oldLen + hs - 1n) & ~(hs - 1n);
    r.newLen = BigInt.asUintN(64, r.newLen + hs - 1n) & ~(hs - 1n);
    return r.addr % hs === 0n && r.newAddr % hs === 0n && r.newLen <= r.oldLen;
  }

  /** 7.x's do_mremap(): check_mremap_params() first, then the VMA (check_prep_vma()). */
  private mremapChecked(r: Remap): bigint {
    const f = r.flags;
    r.oldLen = pageAlign(r.oldLen);
    r.newLen = pageAlign(r.newLen);
    if (f & ~MREMAP_ALL) return BigInt(-EINVAL);
    if (r.addr % PAGE_N !== 0n) return BigInt(-EINVAL);
    if (r.newLen === 0n || r.newLen > TASK_SIZE) return BigInt(-EINVAL);
    const implied = (f & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
    if (implied) {
      if (r.newAddr > TASK_SIZE - r.newLen || r.newAddr % PAGE_N !== 0n) return BigInt(-EINVAL);
      if (!(f & MREMAP_MAYMOVE)) return BigInt(-EINVAL);
      if (f & MREMAP_DONTUNMAP && r.oldLen !== r.newLen) return BigInt(-EINVAL);
      if (this.remapOverlaps(r)) return BigInt(-EINVAL);
    }
    // check_map_count_against_split_early(): two unmaps and the move may each add a VMA
    if (this.vmas.length + 4 + (f & MREMAP_DONTUNMAP ? 1 : 0) > this.opts.maxMapCount) return BigInt(-ENOMEM);
    if (f & MREMAP_FIXED && r.oldLen === r.newLen) return this.remapMove(r);
    const v = this.vmaAt(r.addr);
    const e = this.checkPrepVma(r, v);
    if (e) return BigInt(e);
    return implied ? this.mremapToChecked(r) : this.mremapAt(r, v!);
  }

  /** 7.x's check_prep_vma(); 0 or -errno. */
  private checkPrepVma(r: Remap, v: Vma | undefined): number {
    if (v === undefined) return -EFAULT;
    if (v.flags & VM_SEALED) return -EPERM;
    if (v.hugeOrder && !this.alignHugetlbRemap(r, v)) return -EINVAL;
    const implied = (r.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
    if (!implied) r.newAddr = r.addr;
    // only a range that grows or moves maps anything new
    if (r.newLen <= r.oldLen && !implied) return 0;
    if (r.oldLen === 0n && !(v.flags & (VM_SHARED | VM_MAYSHARE))) return -EINVAL;
    if (r.flags & MREMAP_DONTUNMAP && v.flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EINVAL;
    // the part a shrink unmaps may cross VMAs
    const span = r.newLen < r.oldLen ? r.newLen : r.oldLen;
    if (span > v.endAddr - r.addr) return -EFAULT;
    if (r.newLen === span) return 0;
    return this.growthRefused(r, v);
  }

  /** 7.x's mremap_at(): no new address asked for. */
  private mremapAt(r: Remap, v: Vma): bigint {
    if (r.place.check && r.newLen <= r.oldLen) return this.remapChecked(r, false);
    if (r.newLen === r.oldLen) return r.addr;
    if (r.newLen < r.oldLen) {
      const rc = this.remapUnmap(r, r.addr + r.newLen, r.oldLen - r.newLen);
      return rc ? BigInt(rc) : r.addr;
    }
    return this.expandVma(r, v);
  }

  /** 7.x's mremap_to(). */
  private mremapToChecked(r: Remap): bigint {
    let v = this.vmaAt(r.addr);
    if (r.flags & MREMAP_FIXED) {
      const rc = this.remapUnmap(r, r.newAddr, r.newLen);
      if (rc) return BigInt(rc);
      v = this.vmaAt(r.addr);
      if (v === undefined) return BigInt(-EFAULT);
    }
    if (r.newLen < r.oldLen) {
      const rc = this.remapUnmap(r, r.addr + r.newLen, r.oldLen - r.newLen);
      if (rc) return BigInt(rc);
      v = this.vmaAt(r.addr);
      if (v === undefined) return BigInt(-EFAULT);
      r.oldLen = r.newLen;
    }
    const to = this.remapArea(r, v!, r.newAddr);
    if (to < 0n) return to;
    r.newAddr = to;
    return this.moveVma(r, v!);
  }

  /** 7.x's remap_move(): each VMA of the range moved on its own, the gaps between them kept. */
  private remapMove(r: Remap): bigint {
    cover(COV_MmStruct.remapMove);
    const startPage = Number(r.addr / PAGE_N);
    const endPage = startPage + Number(r.oldLen / PAGE_N);
    let res = BigInt(-EFAULT);
    let seen = false;
    let lastEnd = 0;
    let target = r.newAddr;
    let cursor = startPage;
    // the VMAs from the cursor on: a source MREMAP_DONTUNMAP keeps is not visited again
    while (cursor < endPage) {
      const i = this.findIdx(cursor);
      const v = this.vmas[i];
      if (v === undefined || v.start >= endPage) break;
      if (!seen && startPage < v.start) return BigInt(-EFAULT);
      const a = Math.max(v.start, cursor);
      const len = BigInt(Math.min(endPage, v.end) - a) * PAGE_N;
      const offset = seen ? BigInt(v.start - lastEnd) * PAGE_N : 0n;
      lastEnd = v.end;
      // every VMA the model maps allows it (vma_multi_allowed(): anonymous, shmem, hugetlb, no file operation of its own)
      const sub: Remap = { ...r, addr: BigInt(a) * PAGE_N, newAddr: target + offset, oldLen: len, newLen: len };
      const e = this.checkPrepVma(sub, v);
      if (e) return BigInt(e);
      const got = this.mremapToChecked(sub);
      if (got < 0n) return got;
      if (!seen) res = got;
      seen = true;
      target = got + sub.newLen;
      cursor = a + Number(len / PAGE_N);
    }
    return res;
  }

  /** get_unmapped_area() for the moved range: the real kernel's choice (place.at), the fixed address, or a search from `hint`. */
  private remapArea(r: Remap, v: Vma, hint: bigint): bigint {
    if (r.place.at !== undefined) return r.place.at;
    const npages = Number(r.newLen / PAGE_N);
    const fixed = (r.flags & MREMAP_FIXED) !== 0;
    const anonPrivate = v.file === null && !(v.flags & VM_MAYSHARE);
    const h = hint > TASK_SIZE ? 0 : Number(hint / PAGE_N);
    const s = this.getUnmappedArea(h, npages, fixed ? MAP_FIXED : 0, v.hugeOrder, anonPrivate && !fixed && hint === 0n);
    if (s < 0) return BigInt(s);
    // security_mmap_addr() (cap_mmap_addr()): below mmap_min_addr only with CAP_SYS_RAWIO
    if (s < MIN_ADDR_PAGES && !r.task?.capable('CAP_SYS_RAWIO')) return BigInt(-EPERM);
    return BigInt(s) * PAGE_N;
  }

  /** Grow in place where the VMA ends at the range's end and nothing follows, else move (MREMAP_MAYMOVE) or -ENOMEM. */
  private expandVma(r: Remap, v: Vma): bigint {
    const delta = r.newLen - r.oldLen;
    const inPlace = r.place.at !== undefined ? r.place.at === r.addr : r.oldLen === v.endAddr - r.addr && this.expandable(v, delta);
    if (inPlace) return this.expandInPlace(r, v, delta);
    if (!(r.flags & MREMAP_MAYMOVE)) return BigInt(-ENOMEM);
    const to = this.remapArea(r, v, 0n);
    if (to < 0n) return to;
    r.newAddr = to;
    return this.moveVma(r, v);
  }

  /** vma_expandable(): nothing mapped in the `delta` bytes after the VMA, and they end inside TASK_SIZE. */
  private expandable(v: Vma, delta: bigint): boolean {
    const end = v.endAddr + delta;
    return end <= TASK_SIZE && this.isFree(v.end, Number(end / PAGE_N));
  }

  /** The VMA grows by `delta` bytes (vma_merge_extend()); a locked one counts and faults in the new pages. */
  private expandInPlace(r: Remap, v: Vma, delta: bigint): bigint {
    cover(COV_MmStruct.expandInPlace);
    const pages = Number(delta / PAGE_N);
    if (v.flags & VM_ACCOUNT && !this.enoughMemory(pages)) return BigInt(-ENOMEM);
    if (r.place.check) return this.remapChecked(r, false);
    const end = v.end + pages;
    // the real kernel grew it: whatever the model still had there is stale
    if (!this.isFree(v.end, end)) this.doMunmap(v.end, end, false);
    const old = v.end;
    v.end = end;
    if (v.flags & VM_LOCKED) this.lockedVm += pages;
    const i = this.findIdx(v.start);
    this.mergeRange(i, i);
    if (v.flags & VM_LOCKED) this.mmPopulate(old, end, true);
    r.place.effects?.push({ kind: 'grow', addr: r.addr, oldLen: r.oldLen, newLen: r.newLen });
    return r.addr;
  }

  /**
   * move_vma(): a copy of the VMA at the new address (merged with its
   * neighbours where it can be), the page table entries moved to it, then the
   * old range unmapped (MREMAP_DONTUNMAP: kept, empty, no longer locked).
   */
  private moveVma(r: Remap, v: Vma): bigint {
    cover(COV_MmStruct.moveVma);
    const multi = this.opts.mremapMulti;
    const dontUnmap = (r.flags & MREMAP_DONTUNMAP) !== 0;
    const oldS = Number(r.addr / PAGE_N);
    const oldPages = Number(r.oldLen / PAGE_N);
    const newS = Number(r.newAddr / PAGE_N);
    const newPages = Number(r.newLen / PAGE_N);
    const preSplit = multi && dontUnmap && (v.flags & VM_LOCKED) !== 0;
    if (multi ? this.vmas.length + 2 + (preSplit ? 1 : 0) > this.opts.maxMapCount : this.vmas.length >= this.opts.maxMapCount - 3) return BigInt(-ENOMEM);
    // vm_ops->may_split: special_mapping_split() refuses every cut
    if (v.special !== undefined && (v.start !== oldS || v.end !== oldS + oldPages)) return BigInt(-EINVAL);
    if (v.flags & VM_ACCOUNT && !this.enoughMemory(dontUnmap ? newPages : newPages - oldPages)) return BigInt(-ENOMEM);
    if (r.place.check) return this.remapChecked(r, true);
    if (preSplit) {
      let i = this.findIdx(oldS);
      if (v.start < oldS) {
        const rc = this.splitVma(i, oldS);
        if (rc) return BigInt(rc);
        i++;
      }
      if (this.vmas[i].end > oldS + oldPages) {
        const rc = this.splitVma(i, oldS + oldPages);
        if (rc) return BigInt(rc);
      }
      v = this.vmas[i];
    }
    // the real kernel moved over what the model still had at the new address: stale
    if (!this.isFree(newS, newS + newPages)) this.doMunmap(newS, newS + newPages, false);
    const off = oldS - v.start;
    // copy_vma(): an anonymous VMA never faulted takes the new address as its offset
    const anon = v.file === null && v.ops === undefined && v.special === undefined && !(v.flags & VM_PFNMAP);
    const nv = this.dupVma(v, newS, newS + newPages, anon && !v.anonVma ? newS : v.pgoff + off, off);
    if (v.resv) {
      // the moved huge pages keep their reservations (clear_vma_resv_huge_pages() of the source)
      const hp = 2 ** v.hugeOrder;
      nv.resv = v.resv.slice(off / hp, (off + newPages) / hp);
      nv.resvMap = v.resvMap;
      v.resv.fill(0, off / hp, (off + oldPages) / hp);
    }
    const ni = this.insertVma(nv);
    const moved = this.moveTables(oldS, newS, oldPages, v.hugeOrder !== 0);
    if (moved < oldPages) {
      // move_vma(): the entries go back into the tables still there and the new VMA is unmapped instead
      this.moveTables(newS, oldS, moved, v.hugeOrder !== 0, true);
      if (v.resv && nv.resv) {
        v.resv.set(nv.resv, off / 2 ** v.hugeOrder);
        nv.resv = null;
      }
      // counted as the kernel counts it (vrm_stat_account()) before the unmap takes it off again
      if (nv.flags & VM_LOCKED) this.lockedVm += newPages;
      this.doMunmap(newS, newS + newPages);
      return BigInt(-ENOMEM);
    }
    if (nv.flags & VM_LOCKED && !dontUnmap) this.lockedVm += newPages;
    this.mergeRange(ni, ni);
    if (dontUnmap) {
      const src = this.vmas[this.findIdx(oldS)];
      if (src.flags & VM_LOCKED) {
        // the source keeps the count of what moved; 6.12 unlocks all of it and leaves locked_vm alone
        if (!multi) this.lockedVmOrphaned += src.pages - oldPages;
        src.flags &= ~VM_LOCKED_MASK;
      }
      if (src.start === oldS && src.end === oldS + oldPages) {
        src.anonVma = 0;
        src.forkChild = false;
        if (multi && src.file === null && src.ops === undefined && src.special === undefined) src.pgoff = src.start;
      }
    } else this.doMunmap(oldS, oldS + oldPages);
    if (nv.flags & VM_LOCKED && newPages > oldPages) this.mmPopulate(newS + oldPages, newS + newPages, true);
    r.place.effects?.push({ kind: 'move', from: r.addr, oldLen: r.oldLen, to: r.newAddr, newLen: r.newLen, dontUnmap });
    return r.newAddr;
  }

  /**
   * move_page_tables(): the entries of `n` pages from page `from` to page
   * `to`. A whole aligned 2 MiB slice moves as it is (a THP or hugetlb PMD,
   * or the PTE table: move_normal_pmd()) where nothing is there yet; a THP
   * cut by the range is split first; the rest entry by entry. A hugetlb
   * range is aligned to its pages: each slice moves whole
   * (move_hugetlb_page_tables()). The pages moved: fewer than `n` when a
   * new PTE table could not be had (pte_alloc() under fail_page_alloc),
   * unless `mustMove` (the way back, into tables still there).
   */
  private moveTables(from: number, to: number, n: number, hugetlb: boolean, mustMove = false): number {
    cover(COV_MmStruct.moveTables);
    this.framesMapped++;
    let done = 0;
    while (done < n) {
      const s = from + done;
      const d = to + done;
      const sk = Math.floor(s / PT_SPAN);
      const dk = Math.floor(d / PT_SPAN);
      const ext = Math.min(PT_SPAN - (s % PT_SPAN), PT_SPAN - (d % PT_SPAN), n - done);
      done += ext;
      const node = this.pt.get(sk);
      if (node === undefined) continue;
      if (hugetlb && ext === PT_SPAN) {
        const there = this.pt.get(dk);
        if (there !== undefined) this.dropNode(dk, there);
      }
      const whole = ext === PT_SPAN && !this.pt.has(dk);
      if (whole && (node.huge !== 0 || node.count !== 0 || node.markers !== 0)) {
        this.pt.delete(sk);
        this.pt.set(dk, node);
        continue;
      }
      if (node.huge !== 0) {
        if (node.hugeOrder !== PMD_ORDER) {
          this.opts.warn?.warn('mremap.partial_hugetlb', `vpn ${s}`);
          continue;
        }
        this.splitHugePmd(node);
      }
      if (node.pfns === null || (node.count === 0 && node.markers === 0)) continue;
      if (!mustMove && !this.pt.has(dk)) {
        if (!this.phys.allocTable()) return done - ext;
        this.heldTable = true;
      }
      this.ownPtes(node);
      const sp = node.pfns;
      const sf = node.flags!;
      for (let k = 0; k < ext; k++) {
        const si = (s + k) & (PT_SPAN - 1);
        const ent = sp[si];
        // (a guard marker moves with the entries: move_ptes() moves what the PTE holds)
        const marker = ent === 0 && (sf[si] & PTE_GUARD) !== 0;
        if (ent === 0 && !marker) continue;
        const dn = this.node(dk, true);
        if (dn.pfns === null) {
          dn.pfns = new Uint32Array(PT_SPAN);
          dn.flags = new Uint8Array(PT_SPAN);
        } else this.ownPtes(dn);
        const di = (d + k) & (PT_SPAN - 1);
        dn.pfns[di] = ent;
        dn.flags![di] = sf[si];
        sp[si] = 0;
        sf[si] = 0;
        if (marker) {
          dn.markers++;
          node.markers--;
        } else {
          dn.count++;
          node.count--;
        }
      }
      // a table taken for a part of the slice that had no entries to move
      this.releaseHeldTable();
      if (node.count === 0) this.emptyTable(sk, node, false);
    }
    return n;
  }

  /** madvise(2). */
  madvise(addr: bigint, length: bigint, advice: number, _task?: MmCaller): number {
    cover(COV_MmStruct.madvise);
    if (!validAdvice(advice, this.opts.guardRegions)) return -EINVAL;
    addr = BigInt.asUintN(64, addr);
    const len0 = BigInt.asUintN(64, length);
    if (addr % PAGE_N !== 0n) return -EINVAL;
    const len = BigInt.asUintN(64, len0 + PAGE_N - 1n) & ~(PAGE_N - 1n);
    if (len0 !== 0n && len === 0n) return -EINVAL;
    const endB = addr + len;
    if (endB > U64_MAX) return -EINVAL;
    if (endB === addr) return 0;
    if (addr >= TASK_SIZE) return -ENOMEM;
    const s = Number(addr / PAGE_N);
    const e = endB > TASK_SIZE ? TASK_PAGES + 1 : Number(endB / PAGE_N);
    let i = this.findIdx(s);
    const first = i;
    let cur = s;
    let unmapped = 0;
    while (cur < e) {
      if (i >= this.vmas.length || this.vmas[i].start >= e) {
        unmapped = -ENOMEM;
        break;
      }
      const v = this.vmas[i];
      if (v.start > cur) {
        // madvise_populate() faults the range in address order (__get_user_pages() with
        // FOLL_MADV_POPULATE): a hole ends it with -ENOMEM before any later VMA is looked at
        if (advice === MADV_POPULATE_READ || advice === MADV_POPULATE_WRITE) {
          this.mergeRange(first, i);
          return -ENOMEM;
        }
        unmapped = -ENOMEM;
        cur = v.start;
      }
      const hi = Math.min(v.end, e);
      const k = this.madviseVma(i, cur, hi, advice);
      if (k < 0) {
        this.mergeBeforeFailure(first, i);
        return k;
      }
      i = k + 1;
      cur = hi;
    }
    this.mergeRange(first, i);
    return unmapped;
  }

  /**
   * can_madvise_modify() of a sealed VMA: advice that discards data
   * (6.12's is_madv_discard(), 7.x's is_discard(), which adds
   * MADV_GUARD_INSTALL) is refused on a read-only anonymous VMA, whose data
   * the user could not change otherwise (profile msealAnonByVmOps says which
   * VMA is anonymous).
   */
  private sealedMayDiscard(v: Vma, advice: number): boolean {
    switch (advice) {
      case MADV_FREE:
      case MADV_DONTNEED:
      case MADV_DONTNEED_LOCKED:
      case MADV_REMOVE:
      case MADV_DONTFORK:
      case MADV_WIPEONFORK:
      case MADV_GUARD_INSTALL:
        break;
      default:
        return true;
    }
    const anon = this.opts.msealAnonByVmOps ? v.file === null && v.special === undefined && v.ops === undefined : (v.file === null || v.special !== undefined) && !(v.flags & VM_SHARED);
    return !anon || (v.flags & VM_WRITE) !== 0;
  }

  /**
   * madvise_update_vma(): the advice's VMA flags over [s, e) of VMA i. A split that fails for want of
   * resources (the map count: -ENOMEM) is -EAGAIN from madvise (madvise_vma_behavior()).
   */
  private madviseUpdate(i: number, s: number, e: number, nf: number): number {
    const rc = this.setFlags(i, s, e, nf);
    return rc === -ENOMEM ? -EAGAIN : rc;
  }

  private madviseVma(i: number, s: number, e: number, advice: number): number {
    cover(COV_MmStruct.madviseVma);
    const v = this.vmas[i];
    const f = v.flags;
    if (f & VM_SEALED && !this.sealedMayDiscard(v, advice)) return -EPERM;
    switch (advice) {
      case MADV_HUGEPAGE:
        return this.madviseUpdate(i, s, e, (f & ~VM_NOHUGEPAGE) | VM_HUGEPAGE);
      case MADV_NOHUGEPAGE:
        return this.madviseUpdate(i, s, e, (f & ~VM_HUGEPAGE) | VM_NOHUGEPAGE);
      case MADV_DONTFORK:
        return this.madviseUpdate(i, s, e, f | VM_DONTCOPY);
      case MADV_DOFORK:
        // 7.x refuses every VM_SPECIAL mapping (a hugetlb one is VM_DONTEXPAND too); 6.12 only VM_IO
        if (f & (this.opts.doforkRefusesSpecial ? VM_SPECIAL : VM_IO)) return -EINVAL;
        return this.madviseUpdate(i, s, e, f & ~VM_DONTCOPY);
      case MADV_WIPEONFORK:
        // vma->vm_file: a special mapping ([vdso], whose image the model keeps as a file) has none
        if ((v.file !== null && v.special === undefined) || f & VM_SHARED) return -EINVAL;
        return this.madviseUpdate(i, s, e, f | VM_WIPEONFORK);
      case MADV_KEEPONFORK:
        return this.madviseUpdate(i, s, e, f & ~VM_WIPEONFORK);
      case MADV_DONTNEED:
      case MADV_DONTNEED_LOCKED: {
        if (v.hugeOrder) {
          const np = 2 ** v.hugeOrder;
          if (s % np !== 0) return -EINVAL;
          e -= e % np;
        } else if ((f & VM_PFNMAP && !mixedSpecial(v)) || (advice === MADV_DONTNEED && f & VM_LOCKED)) return -EINVAL;
        if (s < e) this.zapRange(v, s, e, false, this.opts.ptReclaim);
        return i;
      }
      case MADV_FREE:
        if (v.file !== null || f & (VM_SHARED | VM_PFNMAP | VM_LOCKED)) return -EINVAL;
        if (this.opts.lazyfree) this.lazyfreeRange(s, e);
        return i;
      case MADV_REMOVE: {
        if (f & VM_LOCKED) return -EINVAL;
        if (v.file === null) return -EINVAL;
        // vma_is_shared_maywrite(): a shared mapping of a file open for writing, whatever its protection now
        // (a regular file has a mapping and a host: the exec image's private mappings are EACCES here)
        if ((f & (VM_SHARED | VM_MAYWRITE)) !== (VM_SHARED | VM_MAYWRITE)) return -EACCES;
        if (v.file.kind === 'file') return -EINVAL;
        v.file.punchHole(v.pgoff + (s - v.start), v.pgoff + (e - v.start) - 1);
        return i;
      }
      case MADV_POPULATE_READ:
      case MADV_POPULATE_WRITE: {
        const w = advice === MADV_POPULATE_WRITE;
        if (f & (VM_IO | VM_PFNMAP)) return -EINVAL;
        if (w ? !(f & VM_WRITE) : !(f & PROT_READ)) return -EINVAL;
        const rc = this.populate(s, e, w);
        return rc < 0 ? rc : i;
      }
      case MADV_COLLAPSE: {
        const rc = this.madviseCollapse(v, s, e);
        return rc < 0 ? rc : i;
      }
      case MADV_GUARD_INSTALL: {
        const rc = this.guardInstall(v, s, e);
        return rc < 0 ? rc : i;
      }
      case MADV_GUARD_REMOVE:
        // is_valid_guard_vma(allow_locked): taking markers out destroys nothing, so a locked VMA may
        if (f & (VM_SPECIAL | VM_HUGETLB)) return -EINVAL;
        this.guardRemove(s, e);
        return i;
      case MADV_WILLNEED:
        // madvise_willneed() on a machine without swap (no CONFIG_SWAP, as in both oracle kernels): a VMA
        // without a vm_file (anonymous, or a special mapping) is EBADF; a file's is read-ahead advice
        // (vfs_fadvise(): nothing the model keeps), a device mapping's included
        if (v.file === null && v.ops === undefined) return -EBADF;
        return i;
      case MADV_COLD:
      case MADV_PAGEOUT:
        // can_madv_lru_vma() in madvise_cold() / madvise_pageout(): a locked, hugetlb or PFN mapping is EINVAL.
        // Otherwise LRU advice with no model effect (no swap: anonymous pages stay, and so do the shmem ones).
        if (f & (VM_LOCKED | VM_HUGETLB) || (f & VM_PFNMAP && !mixedSpecial(v))) return -EINVAL;
        // (anonymous folios only: a THP is only ever anonymous here, and MADV_FREE refuses every file VMA)
        if (v.file === null) this.coldOrPageout(s, e, advice === MADV_PAGEOUT);
        return i;
      // The read-ahead hints and the core-dump flag have no effect here but the VMA flags they set,
      // which split a VMA and keep it from merging with neighbours that do not share them.
      case MADV_NORMAL:
        return this.madviseUpdate(i, s, e, f & ~(VM_RAND_READ | VM_SEQ_READ));
      case MADV_SEQUENTIAL:
        return this.madviseUpdate(i, s, e, (f & ~VM_RAND_READ) | VM_SEQ_READ);
      case MADV_RANDOM:
        return this.madviseUpdate(i, s, e, (f & ~VM_SEQ_READ) | VM_RAND_READ);
      case MADV_DONTDUMP:
        return this.madviseUpdate(i, s, e, f | VM_DONTDUMP);
      case MADV_DODUMP:
        // madvise_vma_behavior(): a special mapping (a PFN map, [vvar], [vdso]) stays out of core dumps,
        // unless it is hugetlb (VM_DONTEXPAND)
        if (f & VM_SPECIAL && !(f & VM_HUGETLB)) return -EINVAL;
        return this.madviseUpdate(i, s, e, f & ~VM_DONTDUMP);
      default:
        return i;
    }
  }

  /**
   * madvise_guard_install() on pages [s, e) of `v`: refused (EINVAL) on a
   * special, hugetlb or locked VMA; the VMA is marked VM_MAYBE_GUARD (whole,
   * no split) and given an anon_vma when anonymous; whatever is mapped there
   * is zapped (a THP cut by the range split first; the markers already there
   * stay) and every entry becomes a guard marker, its page table made as
   * needed. 0 or -errno.
   */
  private guardInstall(v: Vma, s: number, e: number): number {
    cover(COV_MmStruct.guardInstall);
    if (v.flags & (VM_SPECIAL | VM_HUGETLB | VM_LOCKED)) return -EINVAL;
    v.flags |= VM_MAYBE_GUARD;
    if (v.file === null && v.ops === undefined && v.special === undefined) {
      const rc = this.anonVmaPrepare(v);
      if (rc) return rc;
    }
    this.zapRange(v, s, e);
    for (let key = Math.floor(s / PT_SPAN); key * PT_SPAN < e; key++) {
      const lo = Math.max(s, key * PT_SPAN);
      const hi = Math.min(e, (key + 1) * PT_SPAN);
      for (let vpn = lo; vpn < hi; vpn++) this.setGuard(key, vpn & (PT_SPAN - 1));
    }
    return 0;
  }

  /** madvise_guard_remove() on pages [s, e): the guard markers there go (the page tables and VM_MAYBE_GUARD stay). */
  private guardRemove(s: number, e: number): void {
    cover(COV_MmStruct.guardRemove);
    for (const key of this.keysIn(Math.floor(s / PT_SPAN), Math.floor((e - 1) / PT_SPAN))) {
      const n = this.pt.get(key);
      if (n === undefined || n.markers === 0) continue;
      const fl = n.flags!;
      const lo = Math.max(s, key * PT_SPAN);
      const hi = Math.min(e, (key + 1) * PT_SPAN);
      for (let vpn = lo; vpn < hi; vpn++) {
        const i = vpn & (PT_SPAN - 1);
        if (!(fl[i] & PTE_GUARD)) continue;
        fl[i] = 0;
        n.markers--;
      }
      if (n.count === 0 && n.markers === 0) this.emptyTable(key, n, false);
    }
  }

  /**
   * The head of the anonymous THP node `n` maps in place by 512 PTEs (as a
   * PMD split leaves it: each PTE the page of the folio at its index, this mm
   * owning each), or -1.
   */
  private ptesMappedThp(n: PtNode): number {
    const pfns = n.pfns;
    if (pfns === null || pfns === this.zeroPtes || n.count !== PT_SPAN) return -1;
    const head = pfns[0] - 1;
    if (head % PT_SPAN !== 0 || this.phys.folioOrder(head) !== PMD_ORDER) return -1;
    const fl = n.flags!;
    for (let i = 0; i < PT_SPAN; i++) if (pfns[i] !== head + i + 1 || (fl[i] & PTE_ANON_EXCL) !== PTE_ANON_EXCL) return -1;
    return head;
  }

  /**
   * split_folio() of the anonymous THP that node `n` maps (by its PMD, or in
   * place by PTEs) when this mm alone maps it and nothing else references it
   * (can_split_folio(): no pin, no GUP reference): the PMD becomes PTEs and
   * the folio 512 small ones. False, changing nothing, when it cannot.
   */
  private splitThp(key: number, n: PtNode): boolean {
    const phys = this.phys;
    let head: number;
    if (n.huge !== 0) {
      if (n.hugeOrder !== PMD_ORDER || this.isHugeZero(n) || (n.hugeFlags & PTE_ANON_EXCL) !== PTE_ANON_EXCL) return false;
      head = n.huge - 1;
      if (phys.folioRefcount(head) !== 1 || phys.folioPincount(head) !== 0) return false;
      this.splitHugePmd(n);
    } else {
      head = this.ptesMappedThp(n);
      if (head < 0 || phys.folioRefcount(head) !== PT_SPAN || phys.folioPincount(head) !== 0) return false;
    }
    if (!phys.splitFolio(head)) return false;
    // remap_page() with TTU_USE_SHARED_ZEROPAGE (6.12: RMP_USE_SHARED_ZEROPAGE): each page that holds only
    // zeros is mapped to the shared zero page and freed (try_to_map_unused_to_zeropage()), except in a VM_LOCKED VMA (an mlocked page)
    const pfns = n.pfns!;
    const fl = n.flags!;
    for (let i = 0; i < PT_SPAN; i++) {
      const pfn = pfns[i] - 1;
      if (pfn < 0 || pfn === phys.zeroPfn) continue;
      const v = this.findVma(key * PT_SPAN + i);
      if (v === undefined || v.flags & VM_LOCKED || !phys.isZeroFilled(pfn)) continue;
      pfns[i] = phys.zeroPfn + 1;
      fl[i] = 0;
      phys.putFrame(pfn);
    }
    return true;
  }

  /**
   * The anonymous folios of pages [s, e) that this mm alone maps, for
   * MADV_FREE, MADV_COLD and MADV_PAGEOUT: `whole` for each THP the range
   * covers whole (PMD-mapped, or in place by PTEs), `small` for each PTE of
   * a small folio (not the zero page). A THP the range covers in part is
   * split first (madvise_free_huge_pmd(), madvise_cold_or_pageout_pte_range()
   * and madvise_free_pte_range() call split_folio()), and its pages in the
   * range go to `small`; one that cannot be split is left. A THP a fork
   * shares (folio_maybe_mapped_shared()) is left, and so is a page of a large
   * folio mapped otherwise (moved by mremap). A node whose PTEs `small`
   * emptied keeps its table.
   */
  private eachAnonFolio(s: number, e: number, whole: ((key: number, n: PtNode, head: number) => void) | undefined, small: ((n: PtNode, i: number, pfn: number) => void) | undefined): void {
    const phys = this.phys;
    for (const key of this.keysIn(Math.floor(s / PT_SPAN), Math.floor((e - 1) / PT_SPAN))) {
      const n = this.pt.get(key);
      if (n === undefined) continue;
      const lo = Math.max(s, key * PT_SPAN);
      const hi = Math.min(e, (key + 1) * PT_SPAN);
      const covered = lo === key * PT_SPAN && hi === (key + 1) * PT_SPAN;
      if (n.huge !== 0) {
        if (n.hugeOrder !== PMD_ORDER || this.isHugeZero(n) || !(n.hugeFlags & PTE_EXCL)) continue;
        if (covered) {
          whole?.(key, n, n.huge - 1);
          continue;
        }
        if (!this.splitThp(key, n)) continue;
      } else if (n.pfns !== null && n.pfns !== this.zeroPtes) {
        const head = this.ptesMappedThp(n);
        if (head >= 0 && covered) {
          whole?.(key, n, head);
          continue;
        }
        if (head >= 0) this.splitThp(key, n);
      }
      const pfns = n.pfns;
      if (small === undefined || pfns === null || pfns === this.zeroPtes) continue;
      const fl = n.flags!;
      for (let vpn = lo; vpn < hi; vpn++) {
        const i = vpn & (PT_SPAN - 1);
        const ent = pfns[i];
        if (ent !== 0 && fl[i] & PTE_ANON && phys.folioOrder(ent - 1) === 0) small(n, i, ent - 1);
      }
      if (n.count === 0) this.emptyTable(key, n, false);
    }
  }

  /**
   * MADV_FREE of pages [s, e) of a private anonymous VMA
   * (madvise_free_pte_range(), madvise_free_huge_pmd()): each anonymous
   * folio there (eachAnonFolio()) is cleaned and marked lazily freeable
   * (folio_mark_lazyfree()), but a dirty one mapped elsewhere too (after
   * fork: folio_mapcount() != folio_nr_pages()).
   */
  private lazyfreeRange(s: number, e: number): void {
    const phys = this.phys;
    this.eachAnonFolio(
      s,
      e,
      (_key, _n, head) => {
        for (let k = 0; k < PT_SPAN; k++) phys.setDirty(head + k, false);
        phys.setLazyfree(head, true);
      },
      (n, i, pfn) => {
        if (phys.isDirty(pfn) && !(n.flags![i] & PTE_EXCL) && phys.refcount(pfn) - phys.pincount(pfn) > 1) return;
        phys.setDirty(pfn, false);
        phys.setLazyfree(pfn, true);
      },
    );
  }

  /**
   * What MADV_COLD and MADV_PAGEOUT do to the anonymous folios of pages
   * [s, e) on a machine without swap (madvise_cold_or_pageout_pte_range(),
   * then for PAGEOUT reclaim_pages() → shrink_folio_list()): a THP the range
   * covers in part is split (both). PAGEOUT then: a lazily freed folio this
   * mm alone maps, still clean and with no reference but its mappings (no
   * pin, no GUP reference) is discarded (try_to_unmap_one(),
   * __discard_anon_folio_pmd_locked()), so its pages read as zero again; one
   * written since is made swap-backed again, and so is a referenced one on
   * 6.12 (a THP then mapped by PTEs: TTU_SPLIT_HUGE_PMD), which 7.x leaves
   * lazily freed and mapped as it was (lazyfreeKeepsReferenced). A
   * swap-backed THP nothing pins is split when its swap allocation fails
   * (split_folio_to_list(), THP_SWPOUT_FALLBACK); small swap-backed folios
   * stay.
   */
  private coldOrPageout(s: number, e: number, pageout: boolean): void {
    const phys = this.phys;
    const keepsReferenced = this.opts.lazyfreeKeepsReferenced;
    const lazy = this.opts.lazyfree;
    if (!pageout) {
      this.eachAnonFolio(s, e, undefined, undefined);
      return;
    }
    this.eachAnonFolio(
      s,
      e,
      (key, n, head) => {
        const pmd = n.huge !== 0;
        const refs = phys.folioRefcount(head);
        const pinned = phys.folioPincount(head) !== 0;
        if (!lazy || !phys.isLazyfree(head)) {
          // shrink_folio_list(): a pinned folio is kept, one with other references activated; the rest split
          if (!pinned && refs === (pmd ? 1 : PT_SPAN)) this.splitThp(key, n);
          return;
        }
        let dirty = false;
        for (let k = 0; k < PT_SPAN && !dirty; k++) dirty = phys.isDirty(head + k);
        if (!dirty && !pinned && refs === (pmd ? 1 : PT_SPAN)) {
          if (pmd) {
            phys.unmapHuge(head);
            this.dropNode(key, n);
          } else {
            const pfns = n.pfns!;
            const fl = n.flags!;
            for (let i = 0; i < PT_SPAN; i++) {
              pfns[i] = 0;
              fl[i] = 0;
              phys.putFrame(head + i);
            }
            n.count = 0;
            this.emptyTable(key, n, false);
          }
        } else if (dirty || !keepsReferenced) {
          // 6.12: try_to_unmap_one() splits the PMD (TTU_SPLIT_HUGE_PMD) before its first PTE finds the folio kept
          if (pmd && !keepsReferenced) this.splitHugePmd(n);
          phys.setLazyfree(head, false);
        }
      },
      (n, i, pfn) => {
        if (!lazy || !phys.isLazyfree(pfn)) return;
        const refs = phys.refcount(pfn);
        const pins = phys.pincount(pfn);
        // a folio mapped elsewhere too is not isolated
        if (!(n.flags![i] & PTE_EXCL) && refs - pins > 1) return;
        const dirty = phys.isDirty(pfn);
        if (!dirty && refs === 1 && pins === 0) {
          n.pfns![i] = 0;
          n.flags![i] = 0;
          n.count--;
          phys.putFrame(pfn);
        } else if (dirty || !keepsReferenced) phys.setLazyfree(pfn, false);
      },
    );
  }

  /**
   * madvise_collapse() (mm/khugepaged.c) on pages [s, e) of `v`: every whole
   * aligned 2 MiB block becomes a PMD-mapped THP (contents copied, missing
   * and zero pages zero-filled), whatever the THP sysfs mode. Anonymous
   * private VMAs only: the page-cache collapse of shmem is not modelled
   * (EINVAL, as for every other file VMA). Returns 0 or -errno.
   */
  private madviseCollapse(v: Vma, s: number, e: number): number {
    cover(COV_MmStruct.madviseCollapse);
    if (v.file?.kind === 'shmem') return this.madviseCollapseShmem(v, s, e);
    // thp_vma_allowable_order(vma, vm_flags, TVA_FORCED_COLLAPSE, PMD_ORDER): no sysfs enforcement
    if (v.file !== null || v.flags & (VM_SPECIAL | VM_HUGETLB) || this.thpDisabled(v, true)) return -EINVAL;
    // thp_vma_suitable_order() at vm_end - 2 MiB: the VMA holds a whole aligned block
    if (v.end - PT_SPAN < v.start || Math.floor((v.end - PT_SPAN) / PT_SPAN) * PT_SPAN < v.start) return -EINVAL;
    if (!v.anonVma) return -EINVAL;
    const hstart = Math.ceil(s / PT_SPAN) * PT_SPAN;
    const hend = Math.floor(e / PT_SPAN) * PT_SPAN;
    // 7.x: hstart >= hend is 0. 6.12: (hend - hstart) >> HPAGE_PMD_SHIFT in unsigned long,
    // so a range inside one block not starting at its boundary asks for 2^43 - 1
    // collapses and gets SCAN_FAIL's EINVAL
    if (hend < hstart) return this.opts.collapseAnyPte ? 0 : -EINVAL;
    const total = (hend - hstart) / PT_SPAN;
    let thps = 0;
    let lastFail = -EINVAL;
    for (let b = hstart; b < hend; b += PT_SPAN) {
      const r = this.collapseBlock(v, b);
      if (r === 0) thps++;
      else if (r === COLLAPSE_SKIPPED_EINVAL || r === COLLAPSE_SKIPPED_EAGAIN) lastFail = r === COLLAPSE_SKIPPED_EAGAIN ? -EAGAIN : -EINVAL;
      else {
        lastFail = r;
        break;
      }
    }
    return thps === total ? 0 : lastFail;
  }

  /**
   * madvise_collapse() of a shmem VMA (shared anonymous memory, a memfd): the
   * forced collapse ignores the shmem sysfs settings (shmem_allowable_huge_orders()
   * with shmem_huge_force; 6.12 through huge_shmem_orders_inherit, which is the
   * PMD order by default), so the VMA is refused (EINVAL) only for its flags or
   * when it cannot hold an aligned block at its end (thp_vma_suitable_order():
   * for a file VMA the file offset must be block-aligned too). A range holding
   * no whole block is 0 (7.x: hstart >= hend; 6.12 only when hstart == hend:
   * below that its unsigned count is SCAN_FAIL, EINVAL). The page-cache
   * collapse of whole blocks (collapse_file()) is not modelled: EINVAL.
   */
  private madviseCollapseShmem(v: Vma, s: number, e: number): number {
    cover(COV_MmStruct.madviseCollapseShmem);
    if (v.flags & (VM_SPECIAL | VM_HUGETLB) || this.thpDisabled(v, true)) return -EINVAL;
    if ((v.start - v.pgoff) % PT_SPAN !== 0) return -EINVAL;
    if (v.end - PT_SPAN < v.start || Math.floor((v.end - PT_SPAN) / PT_SPAN) * PT_SPAN < v.start) return -EINVAL;
    const hstart = Math.ceil(s / PT_SPAN) * PT_SPAN;
    const hend = Math.floor(e / PT_SPAN) * PT_SPAN;
    if (hstart === hend || (hend < hstart && this.opts.collapseAnyPte)) return 0;
    return -EINVAL;
  }

  /**
   * hpage_collapse_scan_pmd() and collapse_huge_page() on the block at page
   * `b`: 0 collapsed or already a THP (SCAN_SUCCEED, SCAN_PMD_MAPPED);
   * COLLAPSE_SKIPPED_* for the results madvise_collapse() goes on after
   * (SCAN_PMD_NULL, SCAN_PAGE_RO: EINVAL; SCAN_PAGE_COUNT: EAGAIN); else the
   * -errno that ends it (SCAN_PMD_NONE, SCAN_PAGE_ANON: EINVAL; no THP: ENOMEM).
   */
  private collapseBlock(v: Vma, b: number): number {
    cover(COV_MmStruct.collapseBlock);
    const key = b / PT_SPAN;
    const n = this.pt.get(key);
    if (n === undefined) {
      // 7.x: SCAN_NO_PTE_TABLE either way (skipped)
      if (this.opts.collapseAnyPte) return COLLAPSE_SKIPPED_EINVAL;
      // find_pmd_or_thp_or_none(): no PMD table (nothing mapped in the 1 GiB around) is
      // SCAN_PMD_NULL, an empty PMD entry under a present table SCAN_PMD_NONE
      const k0 = Math.floor(key / PT_SPAN) * PT_SPAN;
      for (const k of this.keysIn(k0, k0 + PT_SPAN - 1)) if (k !== key) return -EINVAL;
      return COLLAPSE_SKIPPED_EINVAL;
    }
    if (n.huge !== 0) return 0;
    const pfns = n.pfns;
    const fl = n.flags;
    let writable = false;
    if (pfns !== null && fl !== null) {
      const zero = this.phys.zeroPfn;
      for (let i = 0; i < PT_SPAN; i++) {
        const ent = pfns[i];
        if (ent === 0 || ent - 1 === zero) continue;
        if (v.flags & VM_WRITE && (fl[i] & PTE_ANON_EXCL) === PTE_ANON_EXCL && !(fl[i] & PTE_RDONLY)) writable = true;
        if (!(fl[i] & PTE_ANON)) return -EINVAL;
        // is_refcount_suitable(): a GUP pin holds references no mapping explains
        const pfn = ent - 1;
        const pinned = this.phys.folioOrder(pfn) === 0 ? this.phys.pincount(pfn) : this.phys.folioPincount(this.phys.folioHead(pfn));
        if (pinned > 0) return COLLAPSE_SKIPPED_EAGAIN;
      }
    }
    // 6.12: SCAN_PAGE_RO (skipped); 7.x collapses read-only and empty tables too
    if (!writable && !this.opts.collapseAnyPte) return COLLAPSE_SKIPPED_EINVAL;
    const head = this.phys.allocFolio(PMD_ORDER);
    if (head < 0) return -ENOMEM;
    if (n.markers !== 0) {
      // __collapse_huge_page_swapin(): a guard marker is a non-present entry the scan let through, and
      // its "swap-in" (do_swap_page() → handle_pte_marker()) is SIGSEGV: SCAN_FAIL, which ends the collapse
      this.phys.getFrame(head);
      this.phys.putFrame(head);
      return -EINVAL;
    }
    // (an emptied table, kept by zap: a THP of zeros)
    if (pfns !== null)
      for (let i = 0; i < PT_SPAN; i++) {
        const ent = pfns[i];
        if (ent !== 0) this.phys.copyFrame(head + i, ent - 1);
      }
    this.zapRange(v, b, b + PT_SPAN);
    this.setHuge(key, head, PTE_ANON_EXCL, PMD_ORDER);
    return 0;
  }

  // ---------------------------------------------------------------------------
  // fork / exit

  /**
   * dup_mmap(): the child's address space. Returns -ENOMEM when a page that
   * must be copied eagerly (pinned) cannot be allocated.
   */
  fork(): MmStruct | number {
    cover(COV_MmStruct.fork);
    const child = new MmStruct(this.phys, this.opts);
    child.mmapBase = this.mmapBase;
    child.mmapLegacyBase = this.mmapLegacyBase;
    child.stackRlimit = this.stackRlimit;
    child.thpDisable = this.thpDisable;
    for (const v of this.vmas) {
      if (v.flags & VM_DONTCOPY) continue;
      const c = new Vma(child, v.start, v.end, v.flags & ~VM_LOCKED_MASK, v.file, v.pgoff, v.hugeOrder, v.pfnBase);
      c.name = v.name;
      // copy_page_range() copies a VM_MIXEDMAP mapping's entries: the child's [vvar] pages are present as the parent's
      c.special = v.special?.present !== undefined ? { ...v.special } : v.special;
      // anon_vma_fork(); a VM_WIPEONFORK child starts without one
      c.anonVma = v.anonVma && !(v.flags & VM_WIPEONFORK) ? newAnonVma() : 0;
      c.forkChild = c.anonVma !== 0;
      c.ops = v.ops;
      c.ops?.open?.();
      child.vmas.push(c);
      child.attach(c);
      if (v.flags & (VM_PFNMAP | VM_WIPEONFORK)) continue;
      // vma_needs_copy(): a VMA that never had an anonymous page is left to refault in
      // the child (its zero page and page cache PTEs are not copied), unless it may hold
      // guard markers (VM_COPY_ON_FORK), which no fault could make again
      if (!(v.flags & VM_MAYBE_GUARD) && (v.flags & VM_MAYSHARE || !v.anonVma)) continue;
      const rc = this.copyPages(child, v);
      if (rc < 0) {
        child.mmput();
        return rc;
      }
    }
    return child;
  }

  private copyPages(child: MmStruct, v: Vma): number {
    cover(COV_MmStruct.copyPages);
    for (const key of this.keysIn(Math.floor(v.start / PT_SPAN), Math.floor((v.end - 1) / PT_SPAN))) {
      const n = this.pt.get(key);
      if (n === undefined) continue;
      // copy_pte_range() / copy_huge_pmd(): the child's table first, -ENOMEM without one
      if (n.table && !child.pt.has(key)) {
        if (!this.phys.allocTable()) return -ENOMEM;
        child.heldTable = true;
      }
      const rc = this.copySlice(child, v, key, n);
      child.releaseHeldTable();
      if (rc < 0) return rc;
    }
    return 0;
  }

  /** copyPages() of the 2 MiB slice `key` (the part of it in `v`). */
  private copySlice(child: MmStruct, v: Vma, key: number, n: PtNode): number {
    const phys = this.phys;
    if (n.huge !== 0) {
      const order = n.hugeOrder;
      const nnodes = 2 ** order / PT_SPAN;
      const head = phys.folioHead(n.huge - 1);
      const pinned = (n.hugeFlags & PTE_ANON_EXCL) === PTE_ANON_EXCL && phys.folioPincount(head) > 0;
      if (order === PMD_ORDER && !(v.flags & VM_HUGETLB)) {
        if (this.isHugeZero(n)) {
          // copy_huge_pmd(): the child takes its own hold on the huge zero folio
          child.getHugeZero();
          child.setHuge(key, n.huge - 1, 0, order);
          return 0;
        }
        if (!pinned) {
          n.hugeFlags &= ~PTE_EXCL;
          child.setHuge(key, n.huge - 1, n.hugeFlags, order);
          return 0;
        }
        this.splitHugePmd(n);
      } else {
        if (key % nnodes !== 0) return 0;
        if (pinned) {
          const nh = phys.allocFolio(order, { hugetlb: true });
          if (nh < 0) return -ENOMEM;
          for (let p = 0; p < 2 ** order; p++) phys.copyFrame(nh + p, head + p);
          for (let k = 0; k < nnodes; k++) child.setHuge(key + k, nh + k * PT_SPAN, PTE_ANON_EXCL, order, false);
        } else {
          for (let k = 0; k < nnodes; k++) {
            const m = this.pt.get(key + k)!;
            m.hugeFlags &= ~PTE_EXCL;
            child.setHuge(key + k, m.huge - 1, m.hugeFlags, order, false);
          }
        }
        return 0;
      }
    }
    const pfns = n.pfns;
    const lo = Math.max(v.start, key * PT_SPAN) & (PT_SPAN - 1);
    const hi = Math.min(v.end, (key + 1) * PT_SPAN) - key * PT_SPAN;
    if (pfns === this.zeroPtes && lo === 0 && hi === PT_SPAN && !child.pt.has(key)) return child.zeroSlice(key, key * PT_SPAN, (key + 1) * PT_SPAN);
    // copy_pte_range(): the child's table first, even for a parent's table with nothing in this VMA's part
    child.node(key, true);
    if (pfns === null) return 0;
    const zero = phys.zeroPfn;
    const fl = n.flags!;
    let lastHead = -1;
    let lastPinned = false;
    for (let i = lo; i < hi; i++) {
      const ent = pfns[i];
      if (ent === 0) {
        // copy_nonpresent_pte() → copy_pte_marker(): the child keeps the guard markers
        if (fl[i] & PTE_GUARD) child.setGuard(key, i);
        continue;
      }
      const pfn = ent - 1;
      const f = fl[i];
      if (pfn === zero || !(f & PTE_ANON)) {
        child.mapPte(key, i, pfn, f);
        continue;
      }
      if (f & PTE_EXCL) {
        const head = phys.folioHead(pfn);
        if (head !== lastHead) {
          lastHead = head;
          lastPinned = phys.folioPincount(head) > 0;
        }
        if (lastPinned) {
          const np = phys.allocFolio(0);
          if (np < 0) return -ENOMEM;
          phys.copyFrame(np, pfn);
          child.mapPte(key, i, np, PTE_ANON_EXCL);
          continue;
        }
        fl[i] = PTE_ANON;
      }
      child.mapPte(key, i, pfn, PTE_ANON);
    }
    return 0;
  }

  // ---------------------------------------------------------------------------
  // user memory access

  /**
   * The frame behind page `vpn` for a user access, faulting it in; -1 when the
   * access would SIGSEGV/SIGBUS. PFNMAP frames come back raw.
   */
  private userPage(vpn: number, write: boolean, retryOom = this.cpuAccess): number {
    const v = this.findVmaForAccess(vpn) ?? this.expandStack(vpn);
    if (v === undefined) return -1;
    if (write ? !(v.flags & VM_WRITE) : !(v.flags & VM_ACCESS_FLAGS)) return -1;
    if (v.special !== undefined) {
      if ((v.special.sigbus >>> (v.pgoff + vpn - v.start)) & 1) return -1;
      if (!write) this.specialReads++;
      if (v.special.present !== undefined) v.special.present |= 1 << (v.pgoff + vpn - v.start);
    }
    if (v.flags & VM_PFNMAP) return v.pfnBase + (vpn - v.start);
    let ent = this.lookupEntry(vpn);
    if (ent === 0 || (write && !(v.flags & VM_MAYSHARE) && ((this.lf & PTE_ANON_EXCL) !== PTE_ANON_EXCL || this.lf & PTE_RDONLY))) {
      let rc = this.fault(v, vpn, write ? FAULT_WRITE : FAULT_READ);
      // Out of memory (VM_FAULT_OOM), the fault is taken again by the CPU's own access (pagefault_out_of_memory()
      // returns, the instruction runs again) and by a kernel copy with 8 bytes or more left (see userCopy()).
      if (rc === -ENOMEM && retryOom) rc = this.fault(v, vpn, write ? FAULT_WRITE : FAULT_READ);
      if (rc < 0) return -1;
      ent = this.lookupEntry(vpn);
    }
    return ent - 1;
  }

  /**
   * alloc_hugetlb_folio()'s vma_needs_reservation() on an owner's private reserve map: region_chg()
   * of one index wants one file_region entry in the map's cache beyond the adds in progress (none
   * between faults), and makes it when the cache is empty (allocate_file_region_entries(): a
   * kmalloc, -ENOMEM when it fails). True when the entry is there; a map-less VMA (shared, NORESERVE,
   * a fork child's) asks nothing.
   */
  private resvRegionEntry(v: Vma): boolean {
    const map = v.resvMap;
    if (map === null || map.cache > 0) return true;
    if (this.phys.faults?.shouldFail(FP_FILE_REGION)) return false;
    map.cache = 1;
    return true;
  }

  /** vma_commit_reservation() of a private fault that used the reservation: region_add() takes an entry from the cache for the index's new region. */
  private resvConsume(v: Vma, ri: number): void {
    v.resv![ri] = 0;
    if (v.resvMap !== null) v.resvMap.cache--;
  }

  /** MMF_VM_HUGEPAGE: the mm is in khugepaged's list. */
  private khugepaged = false;

  /**
   * khugepaged_enter_vma() from a THP fault (do_huge_pmd_anonymous_page(), after the anon_vma): the mm's
   * first enters khugepaged's list, a slab allocation whose failure the fault ignores.
   */
  private khugepagedEnter(): void {
    if (this.khugepaged) return;
    if (!this.opts.khugepagedSlotFirst) this.khugepaged = true;
    if (this.phys.faults?.shouldFail(FP_KHUGEPAGED_SLOT)) return;
    this.khugepaged = true;
  }

  /** userCopy() is the process's own CPU access (cpuRead(), cpuWrite()), not a kernel's copy. */
  private cpuAccess = false;

  /**
   * A user access (the CPU's, or the kernel's copy to or from user memory) to
   * a page below a VM_GROWSDOWN VMA grows it down to that page
   * (lock_mm_and_find_vma() → expand_downwards() → acct_stack_growth()):
   * not below mmap_min_addr, not within stack_guard_gap of an accessible
   * VMA below, the whole stack within RLIMIT_STACK, and the growth charged
   * like any accounted memory (overcommit). The grown VMA, or undefined
   * (SIGSEGV). GUP never grows a stack (gup_vma_lookup()). A VM_LOCKED
   * stack grows within the owner's RLIMIT_MEMLOCK (mlock_future_ok(), unless
   * CAP_IPC_LOCK) and the growth is added to locked_vm (expand_downwards()).
   */
  private expandStack(vpn: number): Vma | undefined {
    const i = this.findIdx(vpn);
    const v = this.vmas[i];
    if (v === undefined || !(v.flags & VM_GROWSDOWN) || vpn < MIN_ADDR_PAGES) return undefined;
    const prev = this.vmas[i - 1];
    if (prev !== undefined && !(prev.flags & VM_GROWSDOWN) && prev.flags & VM_ACCESS_FLAGS && vpn - prev.end < GUARD_GAP_PAGES) return undefined;
    const grow = v.start - vpn;
    if (grow > v.pgoff) return undefined;
    if (BigInt(v.end - vpn) * PAGE_N > this.stackRlimit) return undefined;
    if (v.flags & VM_LOCKED) {
      const o = this.owner;
      if (o === undefined) return undefined;
      if (!o.capable('CAP_IPC_LOCK') && BigInt(grow + this.lockedVm) > o.rlimitMemlock / PAGE_N) return undefined;
    }
    if (v.flags & VM_ACCOUNT && !this.enoughMemory(grow)) return undefined;
    cover(COV_MmStruct.expandStack);
    v.start = vpn;
    v.pgoff -= grow;
    if (v.flags & VM_LOCKED) this.lockedVm += grow;
    return v;
  }

  private userCopy(va: bigint, buf: Uint8Array, write: boolean): number {
    const len = buf.length;
    if (len === 0) return 0;
    if (va < 0n || va + BigInt(len) > TASK_SIZE) return -EFAULT;
    let a = Number(va);
    let off = 0;
    const phys = this.phys;
    if (this.backing !== undefined) return this.backedCopy(a, buf, write);
    while (off < len) {
      const vpn = Math.floor(a / PAGE_SIZE);
      const po = a - vpn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - po, len - off);
      const pfn = this.userPage(vpn, write, this.cpuAccess || len - off >= COPY_TAIL_RETRY);
      if (pfn < 0) return -EFAULT;
      if (pfn >= phys.totalFrames && pfn !== phys.zeroPfn) {
        // past RAM: zeros, or kernel data (setKernelPage); writes go nowhere
        if (!write) phys.read(pfn, po, buf, off, n);
      } else if (write) phys.write(pfn, po, buf, off, n);
      else phys.read(pfn, po, buf, off, n);
      off += n;
      a += n;
    }
    return 0;
  }

  /**
   * userCopy with a backing: the page walk (faults, COW, EFAULT) first, then
   * the bytes of the pages it reached move through the backing in one call.
   */
  private backedCopy(a: number, buf: Uint8Array, write: boolean): number {
    cover(COV_MmStruct.backedCopy);
    const len = buf.length;
    this.backing!.touch?.(this, Math.floor(a / PAGE_SIZE), Math.ceil((a + len) / PAGE_SIZE));
    let ok = 0;
    while (ok < len) {
      const vpn = Math.floor((a + ok) / PAGE_SIZE);
      if (this.userPage(vpn, write, this.cpuAccess || len - ok >= COPY_TAIL_RETRY) < 0) break;
      ok = Math.min(len, (vpn + 1) * PAGE_SIZE - a);
    }
    if (ok > 0 && !this.backing!.copy(a, buf, 0, ok, write)) return -EFAULT;
    return ok === len ? 0 : -EFAULT;
  }

  /** copy_from_user(dst, va): 0 or -EFAULT (faults pages in; bytes before the bad page are copied). */
  readUser(va: bigint, dst: Uint8Array): number {
    return this.userCopy(va, dst, false);
  }

  /** copy_to_user(va, src): 0 or -EFAULT (write faults, COW; PROT_READ gives -EFAULT). */
  writeUser(va: bigint, src: Uint8Array): number {
    return this.userCopy(va, src, true);
  }

  /**
   * The process's own loads and stores (readUser(), writeUser() as the CPU
   * makes them): a fault that runs out of memory is taken again, as
   * returning from pagefault_out_of_memory() retries the instruction.
   */
  cpuRead(va: bigint, dst: Uint8Array): number {
    return this.asCpu(va, dst, false);
  }

  cpuWrite(va: bigint, src: Uint8Array): number {
    return this.asCpu(va, src, true);
  }

  private asCpu(va: bigint, buf: Uint8Array, write: boolean): number {
    const prev = this.cpuAccess;
    this.cpuAccess = true;
    try {
      return this.userCopy(va, buf, write);
    } finally {
      this.cpuAccess = prev;
    }
  }

  // ---------------------------------------------------------------------------
  // introspection

  /** Present 4 KiB pages (huge entries count all their pages): the RSS. */
  residentPages(): number {
    let n = 0;
    for (const node of this.pt.values()) n += node.huge !== 0 ? PT_SPAN : node.count;
    return n;
  }

  /**
   * Every present mapping: cb(vpn, pfn, flags, huge) per PTE, and per huge
   * entry once with huge=true (vpn and pfn of the 2 MiB slice).
   */
  forEachMapping(cb: (vpn: number, pfn: number, flags: number, huge: boolean) => void): void {
    for (const [key, node] of this.pt) {
      if (node.huge !== 0) {
        cb(key * PT_SPAN, node.huge - 1, node.hugeFlags, true);
        continue;
      }
      const pfns = node.pfns;
      if (pfns === null) continue;
      for (let i = 0; i < PT_SPAN; i++) if (pfns[i] !== 0) cb(key * PT_SPAN + i, pfns[i] - 1, node.flags![i], false);
    }
  }

  /** Page-table pages this address space holds (its nodes counted against RAM). */
  tablePages(): number {
    let n = 0;
    for (const node of this.pt.values()) if (node.table) n++;
    return n;
  }

  /** Bytes held by page-table typed arrays (for the heap bench). */
  pageTableBytes(): number {
    cover(COV_MmStruct.pageTableBytes);
    let b = 0;
    for (const node of this.pt.values()) if (node.pfns && node.pfns !== this.zeroPtes) b += node.pfns.byteLength + node.flags!.byteLength;
    // the shared table of zero PTEs, once
    if (this.zeroPtes !== null) b += this.zeroPtes.byteLength + this.zeroFlags!.byteLength;
    return b;
  }
}
