// SPDX-License-Identifier: GPL-2.0-only
/**
 * The snapshot of a machine as plain data: what /proc, debugfs and a crash
 * dump would show of iommufd, typed and JSON-ready (no bigint, no class
 * instances, no cycles). u64 values (IOVA, user VA, lengths, RLIMIT_MEMLOCK)
 * are `0x…` strings; page indexes, PFNs, counts and IOVAs inside a domain
 * aperture are numbers.
 *
 * Objects link to each other by key: an iommufd object by (ctx, id), a pages
 * object by its `key`. Object types this layer does not know yet still
 * appear in `objects` with their type, ID and users; new kinds get their own
 * list beside the others.
 */

/** A u64 as "0x…" (lower-case hex). */
export type U64 = string;

/** An inclusive range of u64 values. */
export interface U64Range {
  first: U64;
  last: U64;
}

export interface ProcessSnap {
  pid: number;
  ppid: number;
  uid: number;
  caps: string[];
  rlimitMemlock: U64;
  /** Index into `accounting.mms`. */
  mm: number;
  /** Index into `accounting.memcgs`. */
  memcg: number;
  fds: FdSnap[];
}

export interface FdSnap {
  fd: number;
  /** 'iommufd' (an open of /dev/iommu or /dev/vfio/vfio), 'access' (a selftest access fd), or the class of other files. */
  kind: string;
  /** The context this fd opens or belongs to (index into `contexts`). */
  ctx?: number;
  /** An access fd: its ACCESS object ID. */
  access?: number;
}

export interface ContextSnap {
  /** Index in `contexts` (stable across snapshots taken by one Inspector). */
  index: number;
  /** Pid of the task that opened it. */
  openerPid: number;
  /** IOMMU_OPTION_RLIMIT_MODE: 'user' or 'mm'. */
  accountMode: string;
  /** The IOAS the VFIO compat ioctls use, if set. */
  vfioIoas?: number;
}

/** One live object of a context, whatever its type. */
export interface ObjectSnap {
  ctx: number;
  id: number;
  type: string;
  /** Users on the object (its refcount: 1 is the table's own reference, as the kernel counts; DESTROY needs exactly 1). */
  users: number;
  /** The objects it points at, by role: `{ ioas: 1 }`, `{ hwpt: 4, ioas: 1 }`. */
  links: Record<string, number>;
}

export interface IoasSnap {
  ctx: number;
  id: number;
  iovaAlignment: number;
  disableLargePages: boolean;
  areas: AreaSnap[];
  /** IOMMU_IOAS_ALLOW_IOVAS ranges (empty: everything allowed). */
  allowed: U64Range[];
  reserved: ReservedSnap[];
  /** HWPT IDs whose domain is attached to the IOAS's page table, in domain order. */
  domains: number[];
  /** ACCESS object IDs attached. */
  accesses: number[];
}

export interface AreaSnap {
  iova: U64;
  last: U64;
  length: U64;
  /** Key of the pages object (`pages[].key`), or -1 while there is none. */
  pages: number;
  /** First and last page index in the pages object. */
  firstIndex: number;
  lastIndex: number;
  /** Byte offset of `iova` in its first page. */
  pageOffset: number;
  /** 'rw', 'r-', '-w', '--'. */
  prot: string;
  numAccesses: number;
  preventAccess: boolean;
  /** HWPT ID of the domain holding the area's PFNs (storage_domain), or -1. */
  storageDomain: number;
}

export interface ReservedSnap extends U64Range {
  /** 'aperture' (outside an attached domain's aperture), 'selftest' (IOMMU_TEST_OP_ADD_RESERVED) or 'other'. */
  owner: string;
}

/** The tier holding one page of a pages object. */
export type Tier = 'xarray' | 'domain' | 'both' | 'user';

/** A run of page indexes with the same storage. */
export interface TierRun {
  first: number;
  last: number;
  /** pinned_pfns xarray holds the PFN (an access pinned it). */
  xarray: boolean;
  /** An area in domains_itree covers it (its PFN lives in a domain). */
  domain: boolean;
  /** Access pin users over these pages (sum of the iopt_pages_access users). */
  accessUsers: number;
}

/** Page indexes [index, index + n) map to PFNs [pfn, pfn + n). pfn -1: not mapped anywhere. */
export interface PfnRun {
  index: number;
  pfn: number;
  n: number;
}

/** Where a pages object's PFNs come from (enum iopt_address_type). */
export type PagesSource = 'user' | 'file' | 'dmabuf';

export interface PagesSnap {
  /** Identity of the object across snapshots of one Inspector (order of first sight). */
  key: number;
  source: PagesSource;
  /** User VA of index 0 ('user' pages; 0 for the others). */
  uptr: U64;
  /** 'file' pages: the memfd (name, shmem or hugetlb), the file offset of index 0 and i_size in bytes. */
  file?: { name: string; kind: string; start: U64; size: U64 };
  /** 'dmabuf' pages: the exporter's range (empty once revoked) and the (area, domain) pairs a revoke unmaps. */
  dmabuf?: { start: number; paddr: number; length: number; revoked: boolean; tracked: number };
  npages: number;
  writable: boolean;
  /** 'none', 'user' or 'mm'. */
  account: string;
  npinned: number;
  /** Pages charged to RLIMIT_MEMLOCK / pinned_vm (last_npinned). */
  charged: number;
  /** The task whose mm the pages come from. */
  sourcePid: number;
  sourceUid: number;
  /** Areas referencing it: [ctx, ioas, iova]. */
  areas: Array<{ ctx: number; ioas: number; iova: U64 }>;
  /** Entries in pinned_pfns. */
  xarrayEntries: number;
  /** Distinct domains holding some of its pages. */
  domains: number;
  accessRanges: Array<{ first: number; last: number; users: number }>;
  tiers: TierRun[];
  pfns: PfnRun[];
}

/** IOVA [iova, iova + length) maps to physical [paddr, paddr + length) with IOPTEs of `pgsize` bytes. */
export interface DomainRun {
  iova: number;
  length: number;
  paddr: number;
  pgsize: number;
  dirty: boolean;
}

export interface DomainSnap {
  ctx: number;
  /** The HWPT object. */
  hwpt: number;
  /** The IOAS it is built on. */
  ioas: number;
  /** Driver: 'mock', 'mock-huge' (xarray mock), 'mock-amdv1', 'mock-amdv1-huge' (7.2's generic-pt mock), or the domain's class name. */
  driver: string;
  pgsizes: readonly number[];
  apertureStart: number;
  apertureEnd: number;
  /** DEVICE object IDs attached through it. */
  devices: number[];
  autoDomain: boolean;
  /** Allocated with IOMMU_HWPT_ALLOC_NEST_PARENT. */
  nestParent: boolean;
  /** The domain has dirty tracking ops (IOMMU_HWPT_ALLOC_DIRTY_TRACKING). Run dirty bits are read only while tracking is on. */
  dirtyOps: boolean;
  mapCalls: number;
  unmapCalls: number;
  mappedBytes: number;
  /** Mapped bytes the walk over the IOAS's areas did not meet (entries outside every area). */
  strayBytes: number;
  runs: DomainRun[];
}

export interface DeviceSnap {
  ctx: number;
  id: number;
  /** The attached paging HWPT, or -1 (blocked). */
  hwpt: number;
  /** MOCK_FLAGS_DEVICE_* */
  mockFlags: number;
  /** The selftest object owning the mock device, or -1. */
  selftest: number;
}

export interface AccessSnap {
  ctx: number;
  id: number;
  /** The IOAS attached, or -1. */
  ioas: number;
  /** "pid:fd" of the access fd, or "-". */
  fd: string;
  needsPinPages: boolean;
  /** The driver's pinned ranges (selftest access_pages items). */
  items: Array<{ id: number; iova: U64; length: U64 }>;
}

/** Frames [pfn, pfn + n) each with this refcount and pincount. */
export interface FrameRun {
  pfn: number;
  n: number;
  ref: number;
  pin: number;
}

export interface Accounting {
  users: Array<{ uid: number; lockedVm: number; processes: number }>;
  /** Each mm and memcg has a `key` that stays while it lives (across snapshots of one Inspector), as pages objects do. */
  mms: Array<{ key: number; pids: number[]; lockedVm: number; pinnedVm: number }>;
  memcgs: Array<{ key: number; name: string; pids: number[]; usage: number; limit: number | null; peak: number; failcnt: number }>;
}

export interface MachineSnapshot {
  /** Format version of this structure. */
  version: 1;
  profile: string;
  totalFrames: number;
  framesInUse: number;
  /** Pages of RAM in user page tables (PhysicalMemory.tablePages()). */
  tablePages: number;
  warnings: number;
  processes: ProcessSnap[];
  contexts: ContextSnap[];
  objects: ObjectSnap[];
  ioas: IoasSnap[];
  pages: PagesSnap[];
  domains: DomainSnap[];
  devices: DeviceSnap[];
  accesses: AccessSnap[];
  /** Every frame reached from a pages object (its pages' PFNs), with counts. */
  frames: FrameRun[];
  accounting: Accounting;
}
