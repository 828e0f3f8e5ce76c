// SPDX-License-Identifier: GPL-2.0-only
/**
 * Scenario programs (architecture.md, "Scenario programs"): a list of system
 * calls with symbolic names for their results, written as JSON or YAML.
 *
 *   { "profile": "latest", "memory": "1G", "memlock": "unlimited",
 *     "calls": [
 *       { "op": "mmap", "as": "$buf", "length": "2M" },
 *       { "op": "open", "path": "/dev/iommu", "as": "$fd" },
 *       { "op": "ioas_alloc", "as": "$ioas" },
 *       { "op": "ioas_map", "ioas": "$ioas", "user_va": "$buf", "length": "2M",
 *         "iova": "0x1000000", "expect": "ok" } ] }
 *
 * Values. Every integer field takes a number, or a string made of terms
 * joined by `+` / `-`: a size (`4096`, `0x1000`, `4K`, `2M`, `1G`), a named
 * constant (CONSTANTS: `U64_MAX`, `PAGE_SIZE`, ...), or a handle (`$buf`,
 * `$dev.hwpt_id`). Flag fields take a list of names (or numbers), enum fields a
 * name or a number.
 *
 * Handles. `"as": "$x"` binds the call's main result (the mmap address, the
 * new fd, the IOAS ID, ...); every other output `o` of the call is bound as
 * `$x.o`. `$main` is the first process. A failed call binds its results as
 * they came back (0 for an address, -1 for an fd).
 *
 * Meta keys of a call: `op`, `as`, `expect`, `expectOn` (per-profile
 * expectations overriding `expect`), `proc` (the process making the call,
 * default `$main`), `comment`.
 *
 * Expectations: `ok` (the call succeeded), `any`, an errno name (`EINVAL`),
 * or an object of output values (`{ "iova": "0x1000000" }`, which implies
 * success unless it names `errno`; `ret` compares the return value).
 *
 * fd fields of iommufd, VFIO and test ops default to the last /dev/iommu or
 * /dev/vfio/vfio the calling process opened.
 */
import { LineCounter, type Node as YamlNode, isMap, isPair, isScalar, isSeq, parseDocument, Document as YamlDocument } from 'yaml';
import { errnoNumber } from '../base/errno.js';
import { PROFILE_NAMES, type ProfileName } from '../base/profile.js';
import * as U from '../iommufd/uapi.js';
import { CAPABILITIES } from '../mm/task.js';

export type { ProfileName } from '../base/profile.js';

// ---------------------------------------------------------------------------
// The binding contract

export interface Call {
  op: string;
  as?: string;
  expect?: string | Record<string, unknown>;
  [field: string]: unknown;
}

export interface Program {
  profile?: ProfileName;
  memory?: string;
  memlock?: string;
  caps?: string[];
  calls: Call[];
  /** Optional extras (see TOP_LEVEL_KEYS). */
  [key: string]: unknown;
}

export type ParseResult = { ok: true; program: Program } | { ok: false; error: string };

// ---------------------------------------------------------------------------
// Op specifications

/** What a field holds. */
export type FieldKind =
  /** An integer expression (u8..u64 or s32, see `width`). */
  | 'int'
  /** A list of flag names or numbers OR-ed together (or one integer expression). */
  | 'flags'
  /** One name of `values`, or an integer expression. */
  | 'enum'
  | 'bool'
  | 'string'
  /** Hex bytes: "0a0b0c" (spaces and 0x prefix allowed). */
  | 'hex'
  /** A list of [start, last] pairs of integer expressions. */
  | 'ranges';

/** Kinds of handle a field takes or a call produces (for the generator). */
export type HandleKind =
  | 'addr'
  | 'fd'
  | 'iommufd'
  | 'ioas'
  | 'hwpt'
  | 'stdev'
  | 'idev'
  | 'access'
  | 'access_pages'
  | 'proc'
  | 'iova'
  | 'value';

export type Width = 'u8' | 'u16' | 'u32' | 's32' | 'u64';

export interface FieldSpec {
  readonly kind: FieldKind;
  /** C width of the value (int, flags, enum). */
  readonly width?: Width;
  readonly required?: boolean;
  /** Value used when the field is absent (in program syntax). */
  readonly default?: string | number | boolean | readonly string[];
  /** fd fields: absent means the last iommufd the calling process opened. */
  readonly defaultIommufd?: boolean;
  /** Flag bits or enum values by name. */
  readonly values?: Readonly<Record<string, number>>;
  /** The handle kind usually passed here (generator hint). */
  readonly handle?: HandleKind;
  readonly doc: string;
}

export interface OpSpec {
  readonly doc: string;
  /** `meta` ops make no system call (the generator may skip them). */
  readonly group: 'mm' | 'process' | 'iommufd' | 'test' | 'vfio' | 'raw' | 'meta';
  readonly fields: Readonly<Record<string, FieldSpec>>;
  /** The output `as` binds (absent: `as` binds the return value). */
  readonly primary?: string;
  /** Outputs reported in CallResult.outputs, with the kind of handle each is. */
  readonly outputs: Readonly<Record<string, HandleKind>>;
  /** The ioctl (uapi.ts name) for ioctl-backed ops. */
  readonly ioctl?: string;
  /** IOMMU_TEST_CMD op name for test ops. */
  readonly testOp?: string;
  /** First kernel release with the op. */
  readonly since?: string;
}

// --- flag and enum tables -------------------------------------------------

export const PROT_FLAGS = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MAP_FLAGS = {
  SHARED: 0x01,
  PRIVATE: 0x02,
  SHARED_VALIDATE: 0x03,
  FIXED: 0x10,
  ANONYMOUS: 0x20,
  LOCKED: 0x2000,
  NORESERVE: 0x4000,
  POPULATE: 0x8000,
  HUGETLB: 0x40000,
  FIXED_NOREPLACE: 0x100000,
  HUGE_2MB: 21 << 26,
  HUGE_1GB: 30 << 26,
} as const;
export const MADV_ADVICE = {
  NORMAL: 0,
  RANDOM: 1,
  SEQUENTIAL: 2,
  WILLNEED: 3,
  DONTNEED: 4,
  FREE: 8,
  REMOVE: 9,
  DONTFORK: 10,
  DOFORK: 11,
  HUGEPAGE: 14,
  NOHUGEPAGE: 15,
  WIPEONFORK: 18,
  KEEPONFORK: 19,
  POPULATE_READ: 22,
  POPULATE_WRITE: 23,
  COLLAPSE: 25,
} as const;
export const MFD_FLAGS = { CLOEXEC: 1, ALLOW_SEALING: 2, HUGETLB: 4, HUGE_2MB: 21 << 26, HUGE_1GB: 30 << 26 } as const;
export const OPEN_FLAGS = { RDONLY: 0, WRONLY: 1, RDWR: 2, NONBLOCK: 0o4000, CLOEXEC: 0o2000000 } as const;
export const IOAS_MAP_FLAGS = { FIXED_IOVA: 1, WRITEABLE: 2, READABLE: 4 } as const;
export const OPTION_IDS = { RLIMIT_MODE: 0, HUGE_PAGES: 1 } as const;
export const OPTION_OPS = { SET: 0, GET: 1 } as const;
export const VFIO_IOAS_OPS = { GET: 0, SET: 1, CLEAR: 2 } as const;
export const MOCK_DEV_FLAGS = { NO_DIRTY: 1, HUGE_IOVA: 2, PASID: 4 } as const;
export const CREATE_ACCESS_FLAGS = { NEEDS_PIN_PAGES: 1 } as const;
export const ACCESS_PAGES_FLAGS = { WRITE: 1, SYZ: 1 << 16 } as const;
export const ACCESS_RW_FLAGS = { WRITE: 1, SLOW_PATH: 4, SYZ: 1 << 16 } as const;
export const VFIO_EXTENSIONS = {
  TYPE1_IOMMU: 1,
  SPAPR_TCE_IOMMU: 2,
  TYPE1v2_IOMMU: 3,
  DMA_CC_IOMMU: 4,
  EEH: 5,
  TYPE1_NESTING_IOMMU: 6,
  SPAPR_TCE_v2_IOMMU: 7,
  NOIOMMU_IOMMU: 8,
  UNMAP_ALL: 9,
  UPDATE_VADDR: 10,
} as const;
export const VFIO_MAP_FLAGS = { READ: 1, WRITE: 2, VADDR: 4 } as const;
export const VFIO_UNMAP_FLAGS = { GET_DIRTY_BITMAP: 1, ALL: 2, VADDR: 4 } as const;

/** Named constants usable in value expressions. */
export const CONSTANTS: Readonly<Record<string, bigint>> = {
  U64_MAX: (1n << 64n) - 1n,
  U32_MAX: 0xffffffffn,
  PAGE_SIZE: 4096n,
  HPAGE_SIZE: 2n << 20n,
  MOCK_PAGE_SIZE: 2048n,
  MOCK_APERTURE_START: 1n << 24n,
  MOCK_APERTURE_LAST: (1n << 31n) - 1n,
};

// --- field helpers ----------------------------------------------------------

const fdField = (doc = 'iommufd file descriptor (default: the last one this process opened)'): FieldSpec => ({
  kind: 'int',
  width: 's32',
  defaultIommufd: true,
  handle: 'iommufd',
  doc,
});
const u64 = (doc: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({ kind: 'int', width: 'u64', doc, ...extra });
const u32 = (doc: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({ kind: 'int', width: 'u32', doc, ...extra });
const req = (f: FieldSpec): FieldSpec => ({ ...f, required: true });
const flags = (values: Record<string, number>, doc: string, def?: readonly string[], width: Width = 'u32'): FieldSpec => ({
  kind: 'flags',
  width,
  values,
  doc,
  ...(def ? { default: def } : {}),
});
const enumField = (values: Record<string, number>, doc: string, def?: string, width: Width = 'u32'): FieldSpec => ({
  kind: 'enum',
  width,
  values,
  doc,
  ...(def !== undefined ? { default: def } : {}),
});
const sizeWord: FieldSpec = u32('the struct size word (default: sizeof the struct)');

function testFields(fields: Record<string, FieldSpec>): Record<string, FieldSpec> {
  return { fd: fdField(), ...fields, size: sizeWord };
}

const MOCK_OUTPUTS = { stdev_id: 'stdev', hwpt_id: 'hwpt', idev_id: 'idev' } as const;

/** Every op with its fields, types and defaults (the fuzzer generates from this). */
export const OPS: Readonly<Record<string, OpSpec>> = {
  // --- memory -----------------------------------------------------------------
  mmap: {
    doc: 'mmap(2); `as` binds the address. `thp: true` adds madvise(MADV_HUGEPAGE) on the new range.',
    group: 'mm',
    fields: {
      addr: u64('hint or fixed address', { default: 0, handle: 'addr' }),
      length: req(u64('length in bytes')),
      prot: flags(PROT_FLAGS, 'PROT_* bits', ['READ', 'WRITE']),
      flags: flags(MAP_FLAGS, 'MAP_* bits', ['PRIVATE', 'ANONYMOUS']),
      fd: { kind: 'int', width: 's32', default: -1, handle: 'fd', doc: 'file to map (-1 for anonymous memory)' },
      offset: u64('file offset', { default: 0 }),
      thp: { kind: 'bool', default: false, doc: 'madvise(MADV_HUGEPAGE) the new mapping' },
    },
    primary: 'addr',
    outputs: { addr: 'addr' },
  },
  munmap: {
    doc: 'munmap(2)',
    group: 'mm',
    fields: { addr: req(u64('start', { handle: 'addr' })), length: req(u64('length')) },
    outputs: {},
  },
  mprotect: {
    doc: 'mprotect(2)',
    group: 'mm',
    fields: { addr: req(u64('start', { handle: 'addr' })), length: req(u64('length')), prot: flags(PROT_FLAGS, 'PROT_* bits', ['READ', 'WRITE']) },
    outputs: {},
  },
  madvise: {
    doc: 'madvise(2)',
    group: 'mm',
    fields: { addr: req(u64('start', { handle: 'addr' })), length: req(u64('length')), advice: { ...enumField(MADV_ADVICE, 'MADV_* advice', undefined, 's32'), required: true } },
    outputs: {},
  },
  write_memory: {
    doc: 'the process writes its own memory: `data` (hex bytes), or `length` bytes of `fill`',
    group: 'mm',
    fields: {
      addr: req(u64('destination', { handle: 'addr' })),
      data: { kind: 'hex', doc: 'bytes to write' },
      fill: { kind: 'int', width: 'u8', doc: 'byte value to write `length` times' },
      length: u64('number of fill bytes'),
    },
    outputs: {},
  },
  read_memory: {
    doc: 'the process reads its own memory; outputs `data` (hex, up to 4 KiB) and `fill` (the byte every byte equals, or -1)',
    group: 'mm',
    fields: { addr: req(u64('source', { handle: 'addr' })), length: req(u64('bytes to read')) },
    outputs: { data: 'value', fill: 'value' },
  },
  memfd_create: {
    doc: 'memfd_create(2); `as` binds the fd',
    group: 'mm',
    fields: { name: { kind: 'string', default: 'sim', doc: 'name' }, flags: flags(MFD_FLAGS, 'MFD_* bits', []) },
    primary: 'fd',
    outputs: { fd: 'fd' },
  },
  ftruncate: {
    doc: 'ftruncate(2)',
    group: 'mm',
    fields: { fd: req({ kind: 'int', width: 's32', handle: 'fd', doc: 'file' }), length: req(u64('new size')) },
    outputs: {},
  },
  // --- processes -------------------------------------------------------------
  fork: {
    doc: 'fork(2) of the calling process; `as` binds the child, which later calls name with `proc`',
    group: 'process',
    fields: {},
    primary: 'pid',
    outputs: { pid: 'proc' },
  },
  exit: {
    doc: 'exit(2) of the calling process (`proc`): closes its files and drops its memory',
    group: 'process',
    fields: {},
    outputs: {},
  },
  fail_nth: {
    doc: 'arm fail-nth for the next call of this process: its `nth` fault point fails (disarmed after that call)',
    group: 'process',
    fields: { nth: req({ kind: 'int', width: 'u32', doc: 'which fault point to fail (1 = the first)' }) },
    outputs: {},
  },
  // --- files -------------------------------------------------------------------
  open: {
    doc: 'open(2); `as` binds the fd. Opening /dev/iommu or /dev/vfio/vfio makes it the default fd of later iommufd calls',
    group: 'iommufd',
    fields: {
      path: { kind: 'string', default: '/dev/iommu', doc: 'path (/dev/iommu, /dev/vfio/vfio)' },
      flags: flags(OPEN_FLAGS, 'O_* flags', ['RDWR']),
    },
    primary: 'fd',
    outputs: { fd: 'iommufd' },
  },
  close: {
    doc: 'close(2)',
    group: 'iommufd',
    fields: { fd: req({ kind: 'int', width: 's32', handle: 'fd', doc: 'descriptor to close' }) },
    outputs: {},
  },
  // --- iommufd ioctls (the v6.5 set) -------------------------------------------
  destroy: {
    doc: 'IOMMU_DESTROY',
    group: 'iommufd',
    ioctl: 'IOMMU_DESTROY',
    fields: { fd: fdField(), id: req(u32('object ID', { handle: 'ioas' })), size: sizeWord },
    outputs: {},
  },
  ioas_alloc: {
    doc: 'IOMMU_IOAS_ALLOC; `as` binds the IOAS ID',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_ALLOC',
    fields: { fd: fdField(), flags: u32('must be 0', { default: 0 }), size: sizeWord },
    primary: 'ioas_id',
    outputs: { ioas_id: 'ioas' },
  },
  ioas_allow_iovas: {
    doc: 'IOMMU_IOAS_ALLOW_IOVAS with the given [start, last] ranges (an empty list clears)',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_ALLOW_IOVAS',
    fields: {
      fd: fdField(),
      ioas: req(u32('IOAS ID', { handle: 'ioas' })),
      ranges: { kind: 'ranges', default: [], doc: 'list of [start, last] (inclusive)' },
      size: sizeWord,
    },
    outputs: {},
  },
  ioas_iova_ranges: {
    doc: 'IOMMU_IOAS_IOVA_RANGES; outputs the count, the alignment and the ranges ("start-last,...")',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_IOVA_RANGES',
    fields: { fd: fdField(), ioas: req(u32('IOAS ID', { handle: 'ioas' })), num_iovas: u32('room for this many ranges', { default: 16 }), size: sizeWord },
    outputs: { num_iovas: 'value', out_iova_alignment: 'value', ranges: 'value' },
  },
  ioas_map: {
    doc: 'IOMMU_IOAS_MAP; `as` binds the IOVA. Default flags: READABLE|WRITEABLE, plus FIXED_IOVA when `iova` is given',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_MAP',
    fields: {
      fd: fdField(),
      ioas: req(u32('IOAS ID', { handle: 'ioas' })),
      user_va: req(u64('user address', { handle: 'addr' })),
      length: req(u64('length')),
      iova: u64('IOVA (with FIXED_IOVA) or hint', { handle: 'iova' }),
      flags: flags(IOAS_MAP_FLAGS, 'IOMMU_IOAS_MAP_* flags'),
      size: sizeWord,
    },
    primary: 'iova',
    outputs: { iova: 'iova' },
  },
  ioas_copy: {
    doc: 'IOMMU_IOAS_COPY; `as` binds the destination IOVA. Default flags as for ioas_map (FIXED_IOVA with dst_iova)',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_COPY',
    fields: {
      fd: fdField(),
      dst_ioas: req(u32('destination IOAS', { handle: 'ioas' })),
      src_ioas: req(u32('source IOAS', { handle: 'ioas' })),
      src_iova: req(u64('source IOVA', { handle: 'iova' })),
      length: req(u64('length')),
      dst_iova: u64('destination IOVA', { handle: 'iova' }),
      flags: flags(IOAS_MAP_FLAGS, 'IOMMU_IOAS_MAP_* flags'),
      size: sizeWord,
    },
    primary: 'dst_iova',
    outputs: { dst_iova: 'iova' },
  },
  ioas_unmap: {
    doc: 'IOMMU_IOAS_UNMAP (iova 0 + length U64_MAX unmaps everything); outputs the bytes unmapped',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_UNMAP',
    fields: { fd: fdField(), ioas: req(u32('IOAS ID', { handle: 'ioas' })), iova: req(u64('IOVA', { handle: 'iova' })), length: req(u64('length')), size: sizeWord },
    primary: 'length',
    outputs: { length: 'value' },
  },
  option: {
    doc: 'IOMMU_OPTION; outputs val64',
    group: 'iommufd',
    ioctl: 'IOMMU_OPTION',
    fields: {
      fd: fdField(),
      option_id: { ...enumField(OPTION_IDS, 'IOMMU_OPTION_*'), required: true },
      operation: enumField(OPTION_OPS, 'IOMMU_OPTION_OP_*', 'GET', 'u16'),
      object_id: u32('object (IOAS for HUGE_PAGES)', { default: 0, handle: 'ioas' }),
      val64: u64('value to set', { default: 0 }),
      size: sizeWord,
    },
    primary: 'val64',
    outputs: { val64: 'value' },
  },
  vfio_ioas: {
    doc: 'IOMMU_VFIO_IOAS: get, set or clear the IOAS the VFIO compat ioctls use',
    group: 'iommufd',
    ioctl: 'IOMMU_VFIO_IOAS',
    fields: {
      fd: fdField(),
      ioas: u32('IOAS ID (SET)', { default: 0, handle: 'ioas' }),
      operation: enumField(VFIO_IOAS_OPS, 'IOMMU_VFIO_IOAS_*', 'SET', 'u16'),
      size: sizeWord,
    },
    primary: 'ioas_id',
    outputs: { ioas_id: 'ioas' },
  },
  // --- IOMMU_TEST_CMD ------------------------------------------------------------
  add_reserved: {
    doc: 'IOMMU_TEST_OP_ADD_RESERVED: reserve [start, start+length-1] in the IOAS',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'ADD_RESERVED',
    fields: testFields({ ioas: req(u32('IOAS ID', { handle: 'ioas' })), start: req(u64('first IOVA', { handle: 'iova' })), length: req(u64('length')) }),
    outputs: {},
  },
  mock_domain: {
    doc: 'IOMMU_TEST_OP_MOCK_DOMAIN: a mock device attached to `pt`; `as` binds the selftest device ID, `.hwpt_id` and `.idev_id` the others',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'MOCK_DOMAIN',
    fields: testFields({ pt: req(u32('IOAS or HWPT ID', { handle: 'ioas' })) }),
    primary: 'stdev_id',
    outputs: MOCK_OUTPUTS,
  },
  mock_domain_flags: {
    doc: 'IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS: mock_domain with device flags',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'MOCK_DOMAIN_FLAGS',
    since: '6.7',
    fields: testFields({ pt: req(u32('IOAS or HWPT ID', { handle: 'ioas' })), dev_flags: flags(MOCK_DEV_FLAGS, 'MOCK_FLAGS_DEVICE_*', []) }),
    primary: 'stdev_id',
    outputs: MOCK_OUTPUTS,
  },
  mock_domain_replace: {
    doc: 'IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: move a mock device to another IOAS/HWPT; outputs the HWPT now used',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'MOCK_DOMAIN_REPLACE',
    since: '6.6',
    fields: testFields({ stdev: req(u32('selftest device ID', { handle: 'stdev' })), pt: req(u32('IOAS or HWPT ID', { handle: 'ioas' })) }),
    primary: 'pt_id',
    outputs: { pt_id: 'hwpt' },
  },
  md_check_map: {
    doc: 'IOMMU_TEST_OP_MD_CHECK_MAP: the mock domain maps [iova, iova+length) to the memory behind uptr',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'MD_CHECK_MAP',
    fields: testFields({
      hwpt: req(u32('mock HWPT ID', { handle: 'hwpt' })),
      iova: req(u64('IOVA', { handle: 'iova' })),
      length: req(u64('length')),
      uptr: req(u64('user address', { handle: 'addr' })),
    }),
    outputs: {},
  },
  md_check_refs: {
    doc: 'IOMMU_TEST_OP_MD_CHECK_REFS: every page of [uptr, uptr+length) has pin count `refs` (EIO otherwise). Like the kernel\'s test op it skips pages of compound folios, so on THP or hugetlb memory it passes whatever the count: use check_state to assert pins there',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'MD_CHECK_REFS',
    fields: testFields({ uptr: req(u64('user address', { handle: 'addr' })), length: req(u64('length')), refs: req(u32('expected pin count')) }),
    outputs: {},
  },
  create_access: {
    doc: 'IOMMU_TEST_OP_CREATE_ACCESS: an in-kernel access (mdev-like) on the IOAS; `as` binds its fd',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'CREATE_ACCESS',
    fields: testFields({ ioas: req(u32('IOAS ID', { handle: 'ioas' })), flags: flags(CREATE_ACCESS_FLAGS, 'MOCK_FLAGS_ACCESS_CREATE_*', []) }),
    primary: 'access_fd',
    outputs: { access_fd: 'access' },
  },
  access_replace_ioas: {
    doc: 'IOMMU_TEST_OP_ACCESS_REPLACE_IOAS: move the access to another IOAS',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'ACCESS_REPLACE_IOAS',
    since: '6.6',
    fields: testFields({ access: req(u32('access fd', { handle: 'access' })), ioas: req(u32('IOAS ID', { handle: 'ioas' })) }),
    outputs: {},
  },
  access_pages: {
    doc: 'IOMMU_TEST_OP_ACCESS_PAGES: pin [iova, iova+length) through the access; `as` binds the item ID',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'ACCESS_PAGES',
    fields: testFields({
      access: req(u32('access fd', { handle: 'access' })),
      iova: req(u64('IOVA', { handle: 'iova' })),
      length: req(u64('length')),
      uptr: u64('user address the pages must match (0: no check)', { default: 0, handle: 'addr' }),
      flags: flags(ACCESS_PAGES_FLAGS, 'MOCK_FLAGS_ACCESS_*', []),
    }),
    primary: 'access_pages_id',
    outputs: { access_pages_id: 'access_pages' },
  },
  destroy_access_pages: {
    doc: 'IOMMU_TEST_OP_DESTROY_ACCESS_PAGES: unpin an access_pages item',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'DESTROY_ACCESS_PAGES',
    fields: testFields({ access: req(u32('access fd', { handle: 'access' })), access_pages_id: req(u32('item ID', { handle: 'access_pages' })) }),
    outputs: {},
  },
  access_rw: {
    doc: 'IOMMU_TEST_OP_ACCESS_RW: the access reads (or with WRITE writes) [iova, iova+length) from/to uptr',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'ACCESS_RW',
    fields: testFields({
      access: req(u32('access fd', { handle: 'access' })),
      iova: req(u64('IOVA', { handle: 'iova' })),
      length: req(u64('length')),
      uptr: req(u64('user buffer', { handle: 'addr' })),
      flags: flags(ACCESS_RW_FLAGS, 'MOCK_ACCESS_RW_*', []),
    }),
    outputs: {},
  },
  set_temp_memory_limit: {
    doc: 'IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT: the size of the temporary batch buffers (default 65536)',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'SET_TEMP_MEMORY_LIMIT',
    fields: testFields({ limit: req(u32('bytes')) }),
    outputs: {},
  },
  // --- VFIO type1 compat ------------------------------------------------------------
  vfio_get_api_version: {
    doc: 'VFIO_GET_API_VERSION',
    group: 'vfio',
    ioctl: 'VFIO_GET_API_VERSION',
    fields: { fd: fdField() },
    outputs: {},
  },
  vfio_check_extension: {
    doc: 'VFIO_CHECK_EXTENSION; the return value is the answer',
    group: 'vfio',
    ioctl: 'VFIO_CHECK_EXTENSION',
    fields: { fd: fdField(), extension: { ...enumField(VFIO_EXTENSIONS, 'VFIO_* extension'), required: true } },
    outputs: {},
  },
  vfio_set_iommu: {
    doc: 'VFIO_SET_IOMMU',
    group: 'vfio',
    ioctl: 'VFIO_SET_IOMMU',
    fields: { fd: fdField(), type: { ...enumField(VFIO_EXTENSIONS, 'IOMMU type'), required: true } },
    outputs: {},
  },
  vfio_iommu_get_info: {
    doc: 'VFIO_IOMMU_GET_INFO into a buffer of `argsz` bytes; outputs the header fields and the IOVA ranges capability',
    group: 'vfio',
    ioctl: 'VFIO_IOMMU_GET_INFO',
    fields: { fd: fdField(), argsz: u32('buffer size', { default: 512 }) },
    outputs: { argsz: 'value', flags: 'value', iova_pgsizes: 'value', cap_offset: 'value', ranges: 'value' },
  },
  vfio_map_dma: {
    doc: 'VFIO_IOMMU_MAP_DMA',
    group: 'vfio',
    ioctl: 'VFIO_IOMMU_MAP_DMA',
    fields: {
      fd: fdField(),
      vaddr: req(u64('user address', { handle: 'addr' })),
      iova: req(u64('IOVA', { handle: 'iova' })),
      size: req(u64('length')),
      flags: flags(VFIO_MAP_FLAGS, 'VFIO_DMA_MAP_FLAG_*', ['READ', 'WRITE']),
      argsz: u32('argsz (default 32)'),
    },
    outputs: {},
  },
  vfio_unmap_dma: {
    doc: 'VFIO_IOMMU_UNMAP_DMA; outputs the bytes unmapped',
    group: 'vfio',
    ioctl: 'VFIO_IOMMU_UNMAP_DMA',
    fields: {
      fd: fdField(),
      iova: u64('IOVA', { default: 0, handle: 'iova' }),
      size: u64('length', { default: 0 }),
      flags: flags(VFIO_UNMAP_FLAGS, 'VFIO_DMA_UNMAP_FLAG_*', []),
      argsz: u32('argsz (default 24)'),
    },
    primary: 'size',
    outputs: { size: 'value' },
  },
  // --- no system call ------------------------------------------------------------------
  check_state: {
    doc:
      'no system call: what the kernel keeps about memory the calling process pinned, as outputs to compare with `expect` — the FOLL_PIN count of every page of [uptr, uptr+length) (THP and hugetlb pages included), the process\'s locked_vm, its user\'s locked_vm, pinned_vm and memcg charge (all in bytes), and the npinned of the pages object under `iova` in `ioas` (in pages). Example: expect: { pins: 1, pinned_vm: 64M }',
    group: 'meta',
    fields: {
      fd: fdField('iommufd whose IOAS `ioas` is (default: the last one this process opened)'),
      uptr: u64('start of the user range whose pins are counted', { handle: 'addr' }),
      length: u64('length of that range (default: one page)'),
      ioas: u32('IOAS whose area under `iova` names the pages object for `npinned`', { handle: 'ioas' }),
      iova: u64('an IOVA inside that area', { handle: 'iova' }),
    },
    outputs: {
      pins: 'value',
      pins_min: 'value',
      pins_max: 'value',
      unmapped: 'value',
      locked_vm: 'value',
      user_locked_vm: 'value',
      pinned_vm: 'value',
      memcg: 'value',
      npinned: 'value',
    },
  },
  report: {
    doc: 'no system call: the `run` command prints the iommufd state (areas, pages, domains, accesses, accounting) at this point',
    group: 'meta',
    fields: { title: { kind: 'string', doc: 'heading of the report' } },
    outputs: {},
  },
  // --- anything else ---------------------------------------------------------------------
  ioctl: {
    doc: 'a raw ioctl: `cmd` (number or uapi name) with `data` (hex struct bytes, passed by pointer and read back) or a plain `arg`',
    group: 'raw',
    fields: {
      fd: fdField(),
      cmd: req({ kind: 'enum', width: 'u32', values: {}, doc: 'ioctl number, or a name like IOMMU_IOAS_MAP' }),
      data: { kind: 'hex', doc: 'struct bytes' },
      arg: u64('the argument when there is no `data`', { default: 0 }),
    },
    outputs: { data: 'value' },
  },
};

/** Keys every call may carry besides its op's fields. */
export const META_KEYS = ['op', 'as', 'expect', 'expectOn', 'proc', 'comment'] as const;

/** Top-level keys of a program. */
export const TOP_LEVEL_KEYS = [
  'name',
  'description',
  'profile',
  /** Profiles the regression tests replay the program on (default: [profile]). */
  'profiles',
  'memory',
  'memlock',
  'caps',
  'seed',
  'thp',
  'hugetlb_pages',
  /** Physical placement of frames: 'scattered' (default) or 'linear' (consecutive faults get consecutive PFNs). */
  'phys_layout',
  /** A WARN the program must trip: an assertion name, or one per profile ({ "v6.2": "name" }). */
  'expectWarning',
  'calls',
] as const;

export const THP_MODES = ['always', 'madvise', 'never'] as const;
export const PHYS_LAYOUTS = ['scattered', 'linear'] as const;

// ---------------------------------------------------------------------------
// Value expressions

export interface Term {
  readonly sign: 1 | -1;
  /** A handle name with its `$` (`$buf`, `$dev.hwpt_id`). */
  readonly handle?: string;
  readonly value?: bigint;
}

export type Expr = readonly Term[];

const HANDLE_RE = /^\$[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
const AS_RE = /^\$[A-Za-z_][A-Za-z0-9_]*$/;

export function isHandleName(s: string): boolean {
  return AS_RE.test(s);
}

/** Parse "4K", "$buf+4K", "U64_MAX-1", 42, 42n into terms; a string error when malformed. */
export function parseExpr(raw: unknown): Expr | string {
  if (typeof raw === 'bigint') return [{ sign: 1, value: raw }];
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw)) return `${raw} is not an integer`;
    return [{ sign: raw < 0 ? -1 : 1, value: BigInt(Math.abs(raw)) }];
  }
  if (typeof raw === 'boolean') return [{ sign: 1, value: raw ? 1n : 0n }];
  if (typeof raw !== 'string') return `expected a number or a string, got ${describe(raw)}`;
  const s = raw.replace(/\s+/g, '');
  if (s === '') return 'empty value';
  const terms: Term[] = [];
  let i = 0;
  let sign: 1 | -1 = 1;
  if (s[0] === '-') {
    sign = -1;
    i = 1;
  } else if (s[0] === '+') i = 1;
  while (i <= s.length) {
    let j = i;
    while (j < s.length && s[j] !== '+' && s[j] !== '-') j++;
    const tok = s.slice(i, j);
    if (tok === '') return `malformed value ${JSON.stringify(raw)}`;
    if (tok.startsWith('$')) {
      if (!HANDLE_RE.test(tok)) return `bad handle ${JSON.stringify(tok)}`;
      terms.push({ sign, handle: tok });
    } else if (Object.hasOwn(CONSTANTS, tok)) {
      terms.push({ sign, value: CONSTANTS[tok] });
    } else {
      const v = parseSizeLiteral(tok);
      if (v === undefined) return `not a number, size or handle: ${JSON.stringify(tok)}`;
      terms.push({ sign, value: v });
    }
    if (j >= s.length) break;
    sign = s[j] === '-' ? -1 : 1;
    i = j + 1;
    if (i >= s.length) return `malformed value ${JSON.stringify(raw)}`;
  }
  return terms;
}

/** 4096, 0x1000, 0b101, 4K, 4KiB, 2M, 1G, 1T. */
export function parseSizeLiteral(tok: string): bigint | undefined {
  const m = /^(0x[0-9a-fA-F_]+|0b[01_]+|\d[\d_]*)([KMGTP](?:i?B)?)?$/i.exec(tok);
  if (!m) return undefined;
  const base = BigInt(m[1].replaceAll('_', ''));
  const unit = (m[2] ?? '').toUpperCase()[0];
  const shift = unit ? ({ K: 10n, M: 20n, G: 30n, T: 40n, P: 50n } as Record<string, bigint>)[unit] : 0n;
  return base << shift;
}

/** The handles an expression reads. */
export function exprHandles(e: Expr): string[] {
  return e.filter((t) => t.handle !== undefined).map((t) => t.handle!);
}

/** Evaluate with `lookup` for handles (mod 2^64 arithmetic, like C u64). */
export function evalExpr(e: Expr, lookup: (h: string) => bigint | undefined): bigint | string {
  let v = 0n;
  for (const t of e) {
    let x: bigint;
    if (t.handle !== undefined) {
      const h = lookup(t.handle);
      if (h === undefined) return `unknown handle ${t.handle}`;
      x = h;
    } else x = t.value!;
    v = t.sign > 0 ? v + x : v - x;
  }
  return v;
}

/** Resolve a flags value (list of names/numbers, one name, or an expression) to its expressions. */
export function parseFlags(raw: unknown, values: Readonly<Record<string, number>>): Expr | string {
  const items = Array.isArray(raw) ? raw : [raw];
  const terms: Term[] = [];
  let bits = 0n;
  for (const it of items) {
    if (typeof it === 'string' && Object.hasOwn(values, it)) {
      bits |= BigInt(values[it]);
      continue;
    }
    if (typeof it === 'string' && /^[A-Z][A-Z0-9_]*$/.test(it) && !Object.hasOwn(CONSTANTS, it)) {
      return `unknown flag ${it} (known: ${Object.keys(values).join(', ') || 'none'})`;
    }
    const e = parseExpr(it);
    if (typeof e === 'string') return e;
    if (e.length === 1 && e[0].value !== undefined && e[0].sign > 0) bits |= e[0].value;
    else terms.push(...e);
  }
  // Flags OR together; handle terms (rare) are added.
  return [{ sign: 1, value: bits }, ...terms];
}

/** An enum value: a name of `values`, or an expression. */
export function parseEnum(raw: unknown, values: Readonly<Record<string, number>>, extraNames?: (name: string) => number | undefined): Expr | string {
  if (typeof raw === 'string' && Object.hasOwn(values, raw)) return [{ sign: 1, value: BigInt(values[raw]) }];
  if (typeof raw === 'string' && extraNames) {
    const v = extraNames(raw);
    if (v !== undefined) return [{ sign: 1, value: BigInt(v >>> 0) }];
  }
  if (typeof raw === 'string' && /^[A-Z][A-Za-z0-9_]*$/.test(raw) && !Object.hasOwn(CONSTANTS, raw)) {
    const known = Object.keys(values);
    return `unknown name ${raw}${known.length ? ` (known: ${known.join(', ')})` : ''}`;
  }
  return parseExpr(raw);
}

/** Hex bytes ("0a 0b", "0x0a0b") → Uint8Array, or an error string. */
export function parseHex(raw: unknown): Uint8Array | string {
  if (typeof raw !== 'string') return `expected a hex string, got ${describe(raw)}`;
  const s = raw.replace(/0x/gi, '').replace(/[\s_:,]+/g, '');
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return `not hex bytes: ${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw)}`;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(String(v))}`;
}

/** The ioctl number of a uapi name (IOMMU_IOAS_MAP, VFIO_IOMMU_MAP_DMA, ...), for the raw `ioctl` op. */
export function ioctlNumberByName(name: string): number | undefined {
  const op = U.IOMMUFD_IOCTL_OPS.find((o) => o.name === name);
  if (op) return op.cmd;
  return Object.hasOwn(VFIO_IOCTLS, name) ? VFIO_IOCTLS[name] : undefined;
}
const ioctlNames = ioctlNumberByName;

/** The VFIO container ioctls by name. */
export const VFIO_IOCTLS: Readonly<Record<string, number>> = {
  VFIO_GET_API_VERSION: U.VFIO_GET_API_VERSION,
  VFIO_CHECK_EXTENSION: U.VFIO_CHECK_EXTENSION,
  VFIO_SET_IOMMU: U.VFIO_SET_IOMMU,
  VFIO_IOMMU_GET_INFO: U.VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_MAP_DMA: U.VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA: U.VFIO_IOMMU_UNMAP_DMA,
  VFIO_IOMMU_ENABLE: U.VFIO_IOMMU_ENABLE,
  VFIO_IOMMU_DISABLE: U.VFIO_IOMMU_DISABLE,
  VFIO_IOMMU_DIRTY_PAGES: U.VFIO_IOMMU_DIRTY_PAGES,
};

// ---------------------------------------------------------------------------
// Expectations

export type Expectation =
  | { kind: 'any' }
  | { kind: 'ok' }
  | { kind: 'errno'; errno: string }
  | { kind: 'values'; values: Record<string, unknown>; errno?: string };

export function parseExpectation(raw: unknown): Expectation | string {
  if (raw === undefined || raw === null || raw === 'any') return { kind: 'any' };
  if (raw === 'ok' || raw === 0) return { kind: 'ok' };
  if (typeof raw === 'string') {
    const name = raw === 'EDEADLOCK' ? 'EDEADLK' : raw;
    if (errnoNumber(name) === undefined) return `expected "ok", "any", an errno name or an object of outputs, got ${JSON.stringify(raw)}`;
    return { kind: 'errno', errno: name };
  }
  if (typeof raw === 'object' && !Array.isArray(raw)) {
    const values = { ...(raw as Record<string, unknown>) };
    let errno: string | undefined;
    if ('errno' in values) {
      const e = values.errno;
      delete values.errno;
      if (typeof e !== 'string' || errnoNumber(e) === undefined) return `errno must be an errno name, got ${describe(e)}`;
      errno = e === 'EDEADLOCK' ? 'EDEADLK' : e;
    }
    return { kind: 'values', values, ...(errno ? { errno } : {}) };
  }
  return `expected "ok", "any", an errno name or an object of outputs, got ${describe(raw)}`;
}

/** The expectation of a call under a profile (expectOn wins over expect). */
export function expectationFor(call: Call, profile: ProfileName): unknown {
  const on = call.expectOn;
  if (on && typeof on === 'object' && !Array.isArray(on) && Object.hasOwn(on, profile)) return (on as Record<string, unknown>)[profile];
  return call.expect;
}

/** The expected WARN of a program under a profile (undefined: none). */
export function expectedWarning(p: Program, profile: ProfileName): string | undefined {
  const w = p.expectWarning;
  if (typeof w === 'string') return w;
  if (w && typeof w === 'object' && !Array.isArray(w)) {
    const v = (w as Record<string, unknown>)[profile];
    return typeof v === 'string' ? v : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Validation

/** A path into the program: ['calls', 3, 'length']. */
export type Path = ReadonlyArray<string | number>;

export interface ProgramIssue {
  readonly path: Path;
  readonly message: string;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The largest value a term may have: every number must fit in u64 (sums may still wrap, as C's do). */
const U64_MAX = (1n << 64n) - 1n;

/** An error when a term of `e` does not fit in 64 bits. */
function termsFit(e: Expr | string): string | undefined {
  if (typeof e === 'string') return e;
  for (const t of e) if (t.value !== undefined && t.value > U64_MAX) return `${t.sign < 0 ? '-' : ''}0x${t.value.toString(16)} does not fit in 64 bits`;
  return undefined;
}

/** Numeric fields take numbers or value strings, never true/false (YAML's `yes`, a typo for a flag list). */
function notBool(raw: unknown): string | undefined {
  return typeof raw === 'boolean' ? `expected a number, got ${raw}` : undefined;
}

/** Check one field value against its spec; an error message or undefined. */
export function checkFieldValue(spec: FieldSpec, raw: unknown): string | undefined {
  switch (spec.kind) {
    case 'int':
      return notBool(raw) ?? termsFit(parseExpr(raw));
    case 'flags':
      return (Array.isArray(raw) ? raw.map(notBool).find((x) => x) : notBool(raw)) ?? termsFit(parseFlags(raw, spec.values ?? {}));
    case 'enum':
      return notBool(raw) ?? termsFit(parseEnum(raw, spec.values ?? {}, ioctlNames));
    case 'bool':
      return typeof raw === 'boolean' ? undefined : `expected true or false, got ${describe(raw)}`;
    case 'string':
      return typeof raw === 'string' ? undefined : `expected a string, got ${describe(raw)}`;
    case 'hex': {
      const h = parseHex(raw);
      return typeof h === 'string' ? h : undefined;
    }
    case 'ranges': {
      if (!Array.isArray(raw)) return 'expected a list of [start, last] pairs';
      for (const r of raw) {
        if (!Array.isArray(r) || r.length !== 2) return 'each range must be [start, last]';
        for (const x of r) {
          const bad = notBool(x) ?? termsFit(parseExpr(x));
          if (bad) return bad;
        }
      }
      return undefined;
    }
  }
}

/** Handles read by a field value. */
function fieldHandles(spec: FieldSpec, raw: unknown): string[] {
  const out: string[] = [];
  const add = (e: Expr | string) => {
    if (typeof e !== 'string') out.push(...exprHandles(e));
  };
  if (spec.kind === 'int') add(parseExpr(raw));
  else if (spec.kind === 'flags') add(parseFlags(raw, spec.values ?? {}));
  else if (spec.kind === 'enum') add(parseEnum(raw, spec.values ?? {}, ioctlNames));
  else if (spec.kind === 'ranges' && Array.isArray(raw)) for (const r of raw) if (Array.isArray(r)) for (const x of r) add(parseExpr(x));
  return out;
}

/** Every problem of a program (empty when it is valid). */
export function validateProgram(p: unknown): ProgramIssue[] {
  const issues: ProgramIssue[] = [];
  const bad = (path: Path, message: string) => issues.push({ path, message });
  if (!isObj(p)) {
    bad([], 'a program is an object with a "calls" list');
    return issues;
  }
  for (const k of Object.keys(p)) if (!(TOP_LEVEL_KEYS as readonly string[]).includes(k)) bad([k], `unknown top-level key "${k}" (known: ${TOP_LEVEL_KEYS.join(', ')})`);
  if (p.profile !== undefined && !(PROFILE_NAMES as readonly unknown[]).includes(p.profile)) bad(['profile'], `unknown profile ${JSON.stringify(p.profile)} (known: ${PROFILE_NAMES.join(', ')})`);
  if (p.profiles !== undefined) {
    if (!Array.isArray(p.profiles) || p.profiles.length === 0) bad(['profiles'], 'expected a non-empty list of profile names');
    else
      p.profiles.forEach((x, i) => {
        if (!(PROFILE_NAMES as readonly unknown[]).includes(x)) bad(['profiles', i], `unknown profile ${JSON.stringify(x)}`);
      });
  }
  for (const k of ['name', 'description'] as const) if (p[k] !== undefined && typeof p[k] !== 'string') bad([k], 'expected a string');
  if (p.memory !== undefined) {
    const v = typeof p.memory === 'string' || typeof p.memory === 'number' ? parseExpr(p.memory) : 'expected a size like "1G"';
    if (typeof v === 'string' || v.some((t) => t.handle || t.sign < 0)) bad(['memory'], typeof v === 'string' ? v : 'expected a size like "1G"');
  }
  if (p.memlock !== undefined) {
    const ok = (typeof p.memlock === 'string' && /^(unlimited|infinity)$/i.test(p.memlock)) || (() => {
      const v = parseExpr(p.memlock);
      return typeof v !== 'string' && v.every((t) => !t.handle);
    })();
    if (!ok) bad(['memlock'], 'expected a size like "8M" or "unlimited"');
  }
  if (p.caps !== undefined) {
    if (!Array.isArray(p.caps)) bad(['caps'], 'expected a list of capability names');
    else
      p.caps.forEach((c, i) => {
        if (!CAPABILITIES.includes(c as string)) bad(['caps', i], `unknown capability ${JSON.stringify(c)}`);
      });
  }
  if (p.seed !== undefined && !(typeof p.seed === 'number' && Number.isSafeInteger(p.seed))) bad(['seed'], 'expected an integer');
  if (p.thp !== undefined && !(THP_MODES as readonly unknown[]).includes(p.thp)) bad(['thp'], `expected one of ${THP_MODES.join(', ')}`);
  if (p.phys_layout !== undefined && !(PHYS_LAYOUTS as readonly unknown[]).includes(p.phys_layout)) bad(['phys_layout'], `expected one of ${PHYS_LAYOUTS.join(', ')}`);
  if (p.hugetlb_pages !== undefined) {
    if (!isObj(p.hugetlb_pages)) bad(['hugetlb_pages'], 'expected { "2M": n, "1G": n }');
    else
      for (const [k, v] of Object.entries(p.hugetlb_pages)) {
        if (k !== '2M' && k !== '1G') bad(['hugetlb_pages', k], 'expected the key 2M or 1G');
        else if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) bad(['hugetlb_pages', k], 'expected a page count');
      }
  }
  if (p.expectWarning !== undefined) {
    const w = p.expectWarning;
    if (isObj(w)) {
      for (const [k, v] of Object.entries(w)) {
        if (!(PROFILE_NAMES as readonly string[]).includes(k)) bad(['expectWarning', k], `unknown profile ${JSON.stringify(k)}`);
        else if (v !== null && typeof v !== 'string') bad(['expectWarning', k], 'expected a WARN assertion name or null');
      }
    } else if (typeof w !== 'string') bad(['expectWarning'], 'expected a WARN assertion name, or an object of them per profile');
  }
  if (!Array.isArray(p.calls)) {
    bad(['calls'], 'a program needs a "calls" list');
    return issues;
  }
  // Handles bound so far: name → the op that bound it.
  const bound = new Map<string, string>([['$main', 'fork']]);
  const known = (h: string): boolean => {
    const dot = h.indexOf('.');
    if (dot < 0) return bound.has(h);
    const base = h.slice(0, dot);
    const op = bound.get(base);
    if (op === undefined) return false;
    return Object.hasOwn(OPS[op].outputs, h.slice(dot + 1));
  };
  p.calls.forEach((c, i) => {
    const at = (...rest: Array<string | number>): Path => ['calls', i, ...rest];
    if (!isObj(c)) {
      bad(at(), 'each call is an object with an "op"');
      return;
    }
    if (typeof c.op !== 'string' || !Object.hasOwn(OPS, c.op)) {
      bad(at('op'), c.op === undefined ? 'missing "op"' : `unknown op ${JSON.stringify(c.op)}`);
      return;
    }
    const spec = OPS[c.op];
    for (const [k, v] of Object.entries(c)) {
      if ((META_KEYS as readonly string[]).includes(k)) continue;
      const f = spec.fields[k];
      if (!f) {
        bad(at(k), `${c.op} has no field "${k}" (fields: ${Object.keys(spec.fields).join(', ') || 'none'})`);
        continue;
      }
      const err = checkFieldValue(f, v);
      if (err) {
        bad(at(k), err);
        continue;
      }
      for (const h of fieldHandles(f, v)) if (!known(h)) bad(at(k), `unknown handle ${h} (bind it first with "as")`);
    }
    for (const [k, f] of Object.entries(spec.fields)) if (f.required && c[k] === undefined) bad(at(k), `${c.op} needs "${k}"`);
    if (c.op === 'write_memory' && c.data === undefined && (c.fill === undefined || c.length === undefined)) bad(at('data'), 'write_memory needs "data", or "fill" and "length"');
    if (c.op === 'write_memory' && c.data !== undefined && c.fill !== undefined) bad(at('fill'), 'give either "data" or "fill"');
    if (c.proc !== undefined) {
      if (typeof c.proc !== 'string' || !HANDLE_RE.test(c.proc)) bad(at('proc'), 'expected a process handle like "$child"');
      else if (!known(c.proc)) bad(at('proc'), `unknown handle ${c.proc}`);
    }
    if (c.comment !== undefined && typeof c.comment !== 'string') bad(at('comment'), 'expected a string');
    const ex = parseExpectation(c.expect);
    if (typeof ex === 'string') bad(at('expect'), ex);
    else if (ex.kind === 'values') checkExpectValues(ex.values, spec, at('expect'), bad, known);
    if (c.expectOn !== undefined) {
      if (!isObj(c.expectOn)) bad(at('expectOn'), 'expected an object of expectations per profile');
      else
        for (const [k, v] of Object.entries(c.expectOn)) {
          if (!(PROFILE_NAMES as readonly string[]).includes(k)) bad(at('expectOn', k), `unknown profile ${JSON.stringify(k)}`);
          const e = parseExpectation(v);
          if (typeof e === 'string') bad(at('expectOn', k), e);
          else if (e.kind === 'values') checkExpectValues(e.values, spec, at('expectOn', k), bad, known);
        }
    }
    if (c.as !== undefined) {
      if (typeof c.as !== 'string' || !AS_RE.test(c.as)) bad(at('as'), 'expected a handle name like "$buf"');
      else if (c.as === '$main') bad(at('as'), '$main is the first process');
      else bound.set(c.as, c.op);
    }
  });
  return issues;
}

function checkExpectValues(values: Record<string, unknown>, spec: OpSpec, path: Path, bad: (p: Path, m: string) => void, known: (h: string) => boolean): void {
  for (const [k, v] of Object.entries(values)) {
    if (k !== 'ret' && k !== 'fault_injected' && !Object.hasOwn(spec.outputs, k)) {
      bad([...path, k], `no output "${k}" (outputs: ${['ret', ...Object.keys(spec.outputs)].join(', ')})`);
      continue;
    }
    if (k === 'data' || k === 'ranges') {
      if (typeof v !== 'string') bad([...path, k], 'expected a string');
      continue;
    }
    const e = parseExpr(v);
    const wrong = k === 'fault_injected' ? undefined : notBool(v) ?? termsFit(e);
    if (typeof e === 'string') bad([...path, k], e);
    else if (wrong) bad([...path, k], wrong);
    else for (const h of exprHandles(e)) if (!known(h)) bad([...path, k], `unknown handle ${h}`);
  }
}

// ---------------------------------------------------------------------------
// Parsing with line numbers

function toPlain(v: unknown, seen: Set<unknown> = new Set()): unknown {
  // Big integers become hex text, whole: one that does not fit in 64 bits is then reported, never wrapped.
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
  if (typeof v !== 'object' || v === null) return v;
  // Aliases can make cycles (&a [*a]): cut them.
  if (seen.has(v)) return null;
  seen.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => toPlain(x, seen));
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = toPlain(x, seen);
    return o;
  } finally {
    seen.delete(v);
  }
}

/** The node at `path` in a parsed document (or the deepest ancestor that exists). */
function nodeAt(doc: YamlDocument, path: Path): { node: YamlNode | undefined; keyNode: YamlNode | undefined } {
  let node = doc.contents as YamlNode | null | undefined;
  let keyNode: YamlNode | undefined;
  for (const seg of path) {
    if (node && isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) break;
      keyNode = pair.key as YamlNode;
      node = pair.value as YamlNode | null;
      if (!node) {
        node = keyNode;
        break;
      }
    } else if (node && isSeq(node) && typeof seg === 'number') {
      const it = node.items[seg] as YamlNode | undefined;
      if (!it) break;
      node = it;
      keyNode = undefined;
    } else break;
  }
  return { node: node ?? undefined, keyNode };
}

function pathText(path: Path, program: unknown): string {
  let s = '';
  let cur: unknown = program;
  for (const seg of path) {
    if (typeof seg === 'number') {
      s += `[${seg}]`;
      const arr = Array.isArray(cur) ? cur : [];
      cur = arr[seg];
      if (isObj(cur) && typeof cur.op === 'string') s += ` (${cur.op})`;
    } else {
      s += s ? `.${seg}` : seg;
      cur = isObj(cur) ? cur[seg] : undefined;
    }
  }
  return s;
}

function parseProgramUnguarded(text: string, fileName: string): ParseResult {
  const lc = new LineCounter();
  let doc: YamlDocument;
  try {
    doc = parseDocument(text, { lineCounter: lc, intAsBigInt: true, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    return { ok: false, error: `${fileName}: ${(e as Error).message}` };
  }
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lc.linePos(e.pos[0]);
    const msg = e.message.split('\n')[0];
    return { ok: false, error: `${fileName}:${pos.line}:${pos.col}: syntax error: ${msg}` };
  }
  const value = toPlain(doc.toJS({ maxAliasCount: 100 }));
  const issues = validateProgram(value);
  if (issues.length > 0) {
    const lines = issues.slice(0, 10).map((is) => {
      const { node, keyNode } = nodeAt(doc, is.path);
      const r = (keyNode ?? node)?.range;
      const pos = r ? lc.linePos(r[0]) : { line: 1, col: 1 };
      const where = is.path.length ? `${pathText(is.path, value)}: ` : '';
      return `${fileName}:${pos.line}:${pos.col}: ${where}${is.message}`;
    });
    if (issues.length > 10) lines.push(`... and ${issues.length - 10} more`);
    return { ok: false, error: lines.join('\n') };
  }
  return { ok: true, program: value as Program };
}

/** Parse a program from JSON or YAML text; errors name the line and the field. Never throws. */
export function parseProgram(text: string, fileName = '<program>'): ParseResult {
  try {
    return parseProgramUnguarded(text, fileName);
  } catch (e) {
    return { ok: false, error: `${fileName}: cannot read the program: ${(e as Error)?.message ?? String(e)}` };
  }
}

// ---------------------------------------------------------------------------
// Formatting

function plainForOutput(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `0x${BigInt.asUintN(64, v).toString(16)}`;
  if (Array.isArray(v)) return v.map(plainForOutput);
  if (isObj(v)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = plainForOutput(x);
    return o;
  }
  return v;
}

/** Order a call's keys: op, as, fields in spec order, then expectations and the rest. */
function orderCall(c: Call): Record<string, unknown> {
  const o: Record<string, unknown> = { op: c.op };
  if (c.as !== undefined) o.as = c.as;
  if (c.proc !== undefined) o.proc = c.proc;
  const spec = OPS[c.op];
  if (spec) for (const k of Object.keys(spec.fields)) if (c[k] !== undefined) o[k] = c[k];
  for (const [k, v] of Object.entries(c)) if (!(k in o) && k !== 'expect' && k !== 'expectOn' && k !== 'comment' && v !== undefined) o[k] = v;
  if (c.expect !== undefined) o.expect = c.expect;
  if (c.expectOn !== undefined) o.expectOn = c.expectOn;
  if (c.comment !== undefined) o.comment = c.comment;
  return plainForOutput(o) as Record<string, unknown>;
}

/** Write a program as JSON (one call per line) or YAML (one flow mapping per call). */
export function formatProgram(p: Program, as: 'json' | 'yaml'): string {
  const top: Record<string, unknown> = {};
  for (const k of TOP_LEVEL_KEYS) if (k !== 'calls' && p[k] !== undefined) top[k] = plainForOutput(p[k]);
  for (const [k, v] of Object.entries(p)) if (!(k in top) && k !== 'calls' && v !== undefined) top[k] = plainForOutput(v);
  const calls = p.calls.map(orderCall);
  if (as === 'json') {
    const head = Object.entries(top).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
    const body = calls.map((c, i) => `    ${JSON.stringify(c)}${i < calls.length - 1 ? ',' : ''}`);
    return `{\n${head.join('\n')}${head.length ? '\n' : ''}  "calls": [\n${body.join('\n')}\n  ]\n}\n`;
  }
  const doc = new YamlDocument({ ...top, calls });
  const seq = doc.get('calls', true);
  if (isSeq(seq)) for (const it of seq.items) if (isMap(it)) it.flow = true;
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}

/** The expression a call field's raw value stands for, read by the field's kind. */
export function fieldExpr(f: FieldSpec, raw: unknown): Expr | string {
  switch (f.kind) {
    case 'flags':
      return parseFlags(raw, f.values ?? {});
    case 'enum':
      return parseEnum(raw, f.values ?? {}, ioctlNumberByName);
    case 'bool':
      return [{ sign: 1, value: raw === true ? 1n : 0n }];
    default:
      return parseExpr(raw);
  }
}
