// SPDX-License-Identifier: GPL-2.0-only
/**
 * The user-visible ABI of /dev/iommu: ioctl numbers, flag values and the byte
 * layout of every command struct (include/uapi/linux/iommufd.h, the test-only
 * drivers/iommu/iommufd/iommufd_test.h, and the VFIO type1 part of
 * include/uapi/linux/vfio.h), for x86-64 little-endian.
 *
 * Layouts are declared as field lists and laid out with the C rules of the
 * platform: every scalar is naturally aligned (a plain __u64 is 8-aligned on
 * x86-64, so __u64 and __aligned_u64 are the same here), a union starts at its
 * widest alignment, and sizeof rounds up to the struct alignment.
 *
 * `minSize` is the kernel's IOCTL_OP rule: offsetofend(struct, last field of
 * the first version). Structs are defined at their newest upstream layout;
 * `since` on each ioctl op tells which release added the command.
 *
 * Decoded values: u64 fields (IOVAs, lengths, user pointers) are bigint, the
 * narrower ones are number. Union members are flattened into dotted names
 * (`check_map.iova`), which overlap in the buffer as they do in C.
 */

// ---------------------------------------------------------------------------
// ioctl number encoding (asm-generic/ioctl.h)

export const IOC_NONE = 0;
export const IOC_WRITE = 1;
export const IOC_READ = 2;

/** _IOC(dir, type, nr, size) as an unsigned 32-bit number. */
export function ioc(dir: number, type: number, nr: number, size: number): number {
  return ((dir << 30) | ((size & 0x3fff) << 16) | ((type & 0xff) << 8) | (nr & 0xff)) >>> 0;
}
/** _IO(type, nr): no direction, no size. Every iommufd and VFIO command uses it. */
export function IO(type: number, nr: number): number {
  return ioc(IOC_NONE, type, nr, 0);
}
export function IOW(type: number, nr: number, size: number): number {
  return ioc(IOC_WRITE, type, nr, size);
}
export function IOR(type: number, nr: number, size: number): number {
  return ioc(IOC_READ, type, nr, size);
}
export function IOWR(type: number, nr: number, size: number): number {
  return ioc(IOC_READ | IOC_WRITE, type, nr, size);
}
/** _IOC_NR */
export function iocNr(cmd: number): number {
  return cmd & 0xff;
}
/** _IOC_TYPE */
export function iocType(cmd: number): number {
  return (cmd >>> 8) & 0xff;
}
/** _IOC_SIZE */
export function iocSize(cmd: number): number {
  return (cmd >>> 16) & 0x3fff;
}
/** _IOC_DIR */
export function iocDir(cmd: number): number {
  return cmd >>> 30;
}

// ---------------------------------------------------------------------------
// iommufd command numbers

/** ';' */
export const IOMMUFD_TYPE = 0x3b;
export const IOMMUFD_CMD_BASE = 0x80;

export const IOMMUFD_CMD_DESTROY = 0x80;
export const IOMMUFD_CMD_IOAS_ALLOC = 0x81;
export const IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82;
export const IOMMUFD_CMD_IOAS_COPY = 0x83;
export const IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84;
export const IOMMUFD_CMD_IOAS_MAP = 0x85;
export const IOMMUFD_CMD_IOAS_UNMAP = 0x86;
export const IOMMUFD_CMD_OPTION = 0x87;
export const IOMMUFD_CMD_VFIO_IOAS = 0x88;
export const IOMMUFD_CMD_HWPT_ALLOC = 0x89;
export const IOMMUFD_CMD_GET_HW_INFO = 0x8a;
export const IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b;
export const IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c;
export const IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d;
export const IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e;
export const IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f;
export const IOMMUFD_CMD_VIOMMU_ALLOC = 0x90;
export const IOMMUFD_CMD_VDEVICE_ALLOC = 0x91;
export const IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92;
export const IOMMUFD_CMD_VEVENTQ_ALLOC = 0x93;
export const IOMMUFD_CMD_HW_QUEUE_ALLOC = 0x94;
/** The selftest command sits 32 slots above the base (iommufd_test.h). */
export const IOMMUFD_CMD_TEST = IOMMUFD_CMD_BASE + 32;

export const IOMMU_DESTROY = IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY);
export const IOMMU_IOAS_ALLOC = IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC);
export const IOMMU_IOAS_ALLOW_IOVAS = IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS);
export const IOMMU_IOAS_COPY = IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY);
export const IOMMU_IOAS_IOVA_RANGES = IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES);
export const IOMMU_IOAS_MAP = IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP);
export const IOMMU_IOAS_UNMAP = IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP);
export const IOMMU_OPTION = IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION);
export const IOMMU_VFIO_IOAS = IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS);
export const IOMMU_HWPT_ALLOC = IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC);
export const IOMMU_GET_HW_INFO = IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO);
export const IOMMU_HWPT_SET_DIRTY_TRACKING = IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING);
export const IOMMU_HWPT_GET_DIRTY_BITMAP = IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP);
export const IOMMU_HWPT_INVALIDATE = IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE);
export const IOMMU_FAULT_QUEUE_ALLOC = IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC);
export const IOMMU_IOAS_MAP_FILE = IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE);
export const IOMMU_VIOMMU_ALLOC = IO(IOMMUFD_TYPE, IOMMUFD_CMD_VIOMMU_ALLOC);
export const IOMMU_VDEVICE_ALLOC = IO(IOMMUFD_TYPE, IOMMUFD_CMD_VDEVICE_ALLOC);
export const IOMMU_IOAS_CHANGE_PROCESS = IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS);
export const IOMMU_VEVENTQ_ALLOC = IO(IOMMUFD_TYPE, IOMMUFD_CMD_VEVENTQ_ALLOC);
export const IOMMU_HW_QUEUE_ALLOC = IO(IOMMUFD_TYPE, IOMMUFD_CMD_HW_QUEUE_ALLOC);
export const IOMMU_TEST_CMD = IO(IOMMUFD_TYPE, IOMMUFD_CMD_TEST);

// ---------------------------------------------------------------------------
// iommufd flag and enum values

/** enum iommufd_ioas_map_flags (IOAS_MAP, IOAS_MAP_FILE and IOAS_COPY). */
export const IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0;
export const IOMMU_IOAS_MAP_WRITEABLE = 1 << 1;
export const IOMMU_IOAS_MAP_READABLE = 1 << 2;

/** enum iommufd_option */
export const IOMMU_OPTION_RLIMIT_MODE = 0;
export const IOMMU_OPTION_HUGE_PAGES = 1;
/** enum iommufd_option_ops */
export const IOMMU_OPTION_OP_SET = 0;
export const IOMMU_OPTION_OP_GET = 1;

/** enum iommufd_vfio_ioas_op */
export const IOMMU_VFIO_IOAS_GET = 0;
export const IOMMU_VFIO_IOAS_SET = 1;
export const IOMMU_VFIO_IOAS_CLEAR = 2;

/** enum iommufd_hwpt_alloc_flags */
export const IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0;
export const IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
export const IOMMU_HWPT_FAULT_ID_VALID = 1 << 2;
export const IOMMU_HWPT_ALLOC_PASID = 1 << 3;

/** enum iommu_hwpt_data_type */
export const IOMMU_HWPT_DATA_NONE = 0;
export const IOMMU_HWPT_DATA_VTD_S1 = 1;
export const IOMMU_HWPT_DATA_ARM_SMMUV3 = 2;

/** enum iommu_hw_info_type */
export const IOMMU_HW_INFO_TYPE_NONE = 0;
export const IOMMU_HW_INFO_TYPE_DEFAULT = 0;
export const IOMMU_HW_INFO_TYPE_INTEL_VTD = 1;
export const IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2;
export const IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV = 3;
/** enum iommufd_hw_info_flags */
export const IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0;
/** enum iommufd_hw_capabilities */
export const IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0;
export const IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1;
export const IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2;
export const IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = 1 << 3;

export const IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1;
export const IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1;

// ---------------------------------------------------------------------------
// IOMMU_TEST_CMD ops and selftest constants (iommufd_test.h)

export const IOMMU_TEST_OP_ADD_RESERVED = 1;
export const IOMMU_TEST_OP_MOCK_DOMAIN = 2;
export const IOMMU_TEST_OP_MD_CHECK_MAP = 3;
export const IOMMU_TEST_OP_MD_CHECK_REFS = 4;
export const IOMMU_TEST_OP_CREATE_ACCESS = 5;
export const IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = 6;
export const IOMMU_TEST_OP_ACCESS_PAGES = 7;
export const IOMMU_TEST_OP_ACCESS_RW = 8;
export const IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9;
export const IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10;
export const IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = 11;
export const IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12;
export const IOMMU_TEST_OP_DIRTY = 13;
export const IOMMU_TEST_OP_MD_CHECK_IOTLB = 14;
export const IOMMU_TEST_OP_TRIGGER_IOPF = 15;
export const IOMMU_TEST_OP_DEV_CHECK_CACHE = 16;
export const IOMMU_TEST_OP_TRIGGER_VEVENT = 17;
export const IOMMU_TEST_OP_PASID_ATTACH = 18;
export const IOMMU_TEST_OP_PASID_REPLACE = 19;
export const IOMMU_TEST_OP_PASID_DETACH = 20;
export const IOMMU_TEST_OP_PASID_CHECK_HWPT = 21;
export const IOMMU_TEST_OP_DMABUF_GET = 22;
export const IOMMU_TEST_OP_DMABUF_REVOKE = 23;

export const MOCK_APERTURE_START = 1 << 24;
export const MOCK_APERTURE_LAST = 2 ** 31 - 1;

/** access_pages.flags */
export const MOCK_FLAGS_ACCESS_WRITE = 1 << 0;
export const MOCK_FLAGS_ACCESS_SYZ = 1 << 16;
/** access_rw.flags */
export const MOCK_ACCESS_RW_WRITE = 1 << 0;
export const MOCK_ACCESS_RW_SLOW_PATH = 1 << 2;
/** create_access.flags */
export const MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0;
/** mock_domain_flags.dev_flags */
export const MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0;
/** Present from ~6.8 until the generic-page-table rework dropped it. */
export const MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1;
export const MOCK_FLAGS_DEVICE_PASID = 1 << 2;

export const MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3;
export const MOCK_NESTED_DOMAIN_IOTLB_NUM = 4;
export const MOCK_DEV_CACHE_ID_MAX = 3;
export const MOCK_DEV_CACHE_NUM = 4;
export const MOCK_PASID_WIDTH = 20;
export const IOMMU_TEST_PASID_RESERVED = 1024;

export const IOMMU_HW_INFO_TYPE_SELFTEST = 0xfeedbeef;
export const IOMMU_HW_INFO_SELFTEST_REGVAL = 0xdeadbeef;
export const IOMMU_HWPT_DATA_SELFTEST = 0xdead;
export const IOMMU_TEST_IOTLB_DEFAULT = 0xbadbeef;
export const IOMMU_TEST_DEV_CACHE_DEFAULT = 0xbaddad;
export const IOMMU_HWPT_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
export const IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID = 0xdadbeef;
export const IOMMU_TEST_INVALIDATE_FLAG_ALL = 1 << 0;
export const IOMMU_VIOMMU_TYPE_SELFTEST = 0xdeadbeef;
/** IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST / _INVALID (iommufd_test.h) */
export const IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
export const IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID = 0xdadbeef;
/** IOMMU_VIOMMU_TYPE_DEFAULT: reserved, no driver's type */
export const IOMMU_VIOMMU_TYPE_DEFAULT = 0;
export const IOMMU_VEVENTQ_TYPE_SELFTEST = 0xbeefbeef;
export const IOMMU_HW_QUEUE_TYPE_SELFTEST = 0xdeadbeef;

// ---------------------------------------------------------------------------
// VFIO type1 (include/uapi/linux/vfio.h)

export const VFIO_API_VERSION = 0;
/** Extensions (VFIO_CHECK_EXTENSION argument, VFIO_SET_IOMMU type). */
export const VFIO_TYPE1_IOMMU = 1;
export const VFIO_SPAPR_TCE_IOMMU = 2;
export const VFIO_TYPE1v2_IOMMU = 3;
export const VFIO_DMA_CC_IOMMU = 4;
export const VFIO_EEH = 5;
/** Was VFIO_TYPE1_NESTING_IOMMU; renamed __VFIO_RESERVED_TYPE1_NESTING_IOMMU upstream. */
export const VFIO_TYPE1_NESTING_IOMMU = 6;
export const VFIO_SPAPR_TCE_v2_IOMMU = 7;
export const VFIO_NOIOMMU_IOMMU = 8;
export const VFIO_UNMAP_ALL = 9;
export const VFIO_UPDATE_VADDR = 10;

/** ';', shared with iommufd: the two number spaces are told apart by nr (< 0x80 is VFIO). */
export const VFIO_TYPE = 0x3b;
export const VFIO_BASE = 100;

export const VFIO_GET_API_VERSION = IO(VFIO_TYPE, VFIO_BASE + 0);
export const VFIO_CHECK_EXTENSION = IO(VFIO_TYPE, VFIO_BASE + 1);
export const VFIO_SET_IOMMU = IO(VFIO_TYPE, VFIO_BASE + 2);
export const VFIO_IOMMU_GET_INFO = IO(VFIO_TYPE, VFIO_BASE + 12);
export const VFIO_IOMMU_MAP_DMA = IO(VFIO_TYPE, VFIO_BASE + 13);
export const VFIO_IOMMU_UNMAP_DMA = IO(VFIO_TYPE, VFIO_BASE + 14);
export const VFIO_IOMMU_ENABLE = IO(VFIO_TYPE, VFIO_BASE + 15);
export const VFIO_IOMMU_DISABLE = IO(VFIO_TYPE, VFIO_BASE + 16);
export const VFIO_IOMMU_DIRTY_PAGES = IO(VFIO_TYPE, VFIO_BASE + 17);

/** vfio_iommu_type1_info.flags */
export const VFIO_IOMMU_INFO_PGSIZES = 1 << 0;
export const VFIO_IOMMU_INFO_CAPS = 1 << 1;
/** Capability ids of the type1 info chain. */
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
export const VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2;
export const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;

/** vfio_iommu_type1_dma_map.flags */
export const VFIO_DMA_MAP_FLAG_READ = 1 << 0;
export const VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;
export const VFIO_DMA_MAP_FLAG_VADDR = 1 << 2;
/** vfio_iommu_type1_dma_unmap.flags */
export const VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0;
export const VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1;
export const VFIO_DMA_UNMAP_FLAG_VADDR = 1 << 2;

/** vfio_iommu_type1_dirty_bitmap.flags */
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_START = 1 << 0;
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP = 1 << 1;
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP = 1 << 2;

// ---------------------------------------------------------------------------
// Declarative struct layouts

export type ScalarType = 'u8' | 'u16' | 'u32' | 's32' | 'u64';

/** [name, type] or [name, type, count] for a fixed array (expanded to name[0], name[1], …). */
export type FieldSpec = readonly [name: string, type: ScalarType] | readonly [name: string, type: ScalarType, count: number];

/** A C union: each member is a list of fields; a null member name keeps the fields unprefixed (anonymous struct). */
export interface UnionSpec {
  readonly union: ReadonlyArray<readonly [member: string | null, fields: ReadonlyArray<FieldSpec>]>;
}

export type MemberSpec = FieldSpec | UnionSpec;

export interface StructOptions {
  /** The field named in IOCTL_OP (or the VFIO handler's minsz); minSize = offsetofend of it. Default: the last member. */
  readonly minLast?: string;
}

export interface FieldInfo {
  readonly name: string;
  readonly type: ScalarType;
  readonly offset: number;
  readonly size: number;
  /** offset + size (offsetofend). */
  readonly end: number;
}

export type StructValue = Record<string, number | bigint>;

const SCALAR_SIZE: Readonly<Record<ScalarType, number>> = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8 };

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

function isUnion(m: MemberSpec): m is UnionSpec {
  return !Array.isArray(m);
}

/** Lay out a field list starting at `base`; returns [end, max alignment]. */
function layoutFields(specs: ReadonlyArray<MemberSpec>, base: number, prefix: string, out: FieldInfo[]): [number, number] {
  let off = base;
  let maxAlign = 1;
  for (const m of specs) {
    if (isUnion(m)) {
      // Alignment of the union is the widest of its members: compute it first.
      let ualign = 1;
      for (const [, fields] of m.union) {
        for (const f of fields) ualign = Math.max(ualign, SCALAR_SIZE[f[1]]);
      }
      const ustart = alignUp(off, ualign);
      let uend = ustart;
      for (const [member, fields] of m.union) {
        const p = member === null ? prefix : `${prefix}${member}.`;
        const [end] = layoutFields(fields, ustart, p, out);
        uend = Math.max(uend, end);
      }
      off = ustart + alignUp(uend - ustart, ualign);
      maxAlign = Math.max(maxAlign, ualign);
      continue;
    }
    const [name, type] = m;
    const count = m.length === 3 ? m[2] : 1;
    const sz = SCALAR_SIZE[type];
    off = alignUp(off, sz);
    maxAlign = Math.max(maxAlign, sz);
    for (let i = 0; i < count; i++) {
      const fname = m.length === 3 ? `${prefix}${name}[${i}]` : `${prefix}${name}`;
      out.push({ name: fname, type, offset: off, size: sz, end: off + sz });
      off += sz;
    }
  }
  return [off, maxAlign];
}

function readScalar(dv: DataView, type: ScalarType, off: number): number | bigint {
  switch (type) {
    case 'u8':
      return dv.getUint8(off);
    case 'u16':
      return dv.getUint16(off, true);
    case 'u32':
      return dv.getUint32(off, true);
    case 's32':
      return dv.getInt32(off, true);
    case 'u64':
      return dv.getBigUint64(off, true);
  }
}

function writeScalar(dv: DataView, type: ScalarType, off: number, value: number | bigint): void {
  switch (type) {
    case 'u8':
      dv.setUint8(off, Number(typeof value === 'bigint' ? BigInt.asUintN(8, value) : value & 0xff));
      return;
    case 'u16':
      dv.setUint16(off, Number(typeof value === 'bigint' ? BigInt.asUintN(16, value) : value & 0xffff), true);
      return;
    case 'u32':
      dv.setUint32(off, typeof value === 'bigint' ? Number(BigInt.asUintN(32, value)) : value >>> 0, true);
      return;
    case 's32':
      dv.setInt32(off, typeof value === 'bigint' ? Number(BigInt.asIntN(32, value)) : value | 0, true);
      return;
    case 'u64':
      dv.setBigUint64(off, BigInt.asUintN(64, typeof value === 'bigint' ? value : BigInt(value)), true);
      return;
  }
}

/**
 * The last two views made, and their bytes: a call reads and writes one struct's fields in a row,
 * the caller's copy and the kernel's in turn.
 */
let lastBytes: Uint8Array | undefined;
let lastView: DataView | undefined;
let prevBytes: Uint8Array | undefined;
let prevView: DataView | undefined;

function viewOf(bytes: Uint8Array): DataView {
  // A typed array's buffer, offset and length never change (nothing here transfers a buffer).
  if (bytes === lastBytes && lastView !== undefined) return lastView;
  let v: DataView;
  if (bytes === prevBytes && prevView !== undefined) v = prevView;
  else v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  prevBytes = lastBytes;
  prevView = lastView;
  lastBytes = bytes;
  lastView = v;
  return v;
}

export class StructLayout {
  readonly name: string;
  /** sizeof(struct) */
  readonly size: number;
  /** offsetofend(struct, minLast) */
  readonly minSize: number;
  readonly align: number;
  /** Every scalar, in declaration order (union members overlap). */
  readonly fields: readonly FieldInfo[];
  private readonly byName: ReadonlyMap<string, FieldInfo>;

  constructor(name: string, specs: ReadonlyArray<MemberSpec>, opts: StructOptions = {}) {
    const fields: FieldInfo[] = [];
    const [end, align] = layoutFields(specs, 0, '', fields);
    this.name = name;
    this.align = align;
    this.size = alignUp(end, align);
    this.fields = fields;
    const map = new Map<string, FieldInfo>();
    for (const f of fields) {
      if (map.has(f.name)) throw new Error(`${name}: duplicate field ${f.name}`);
      map.set(f.name, f);
    }
    this.byName = map;
    if (opts.minLast !== undefined) {
      this.minSize = this.field(opts.minLast).end;
    } else {
      this.minSize = end;
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  field(name: string): FieldInfo {
    const f = this.byName.get(name);
    if (!f) throw new Error(`${this.name} has no field ${name}`);
    return f;
  }

  offsetOf(name: string): number {
    return this.field(name).offset;
  }

  /** offsetofend(struct, name) */
  offsetOfEnd(name: string): number {
    return this.field(name).end;
  }

  /**
   * Decode every field from the first `len` valid bytes; bytes past `len` read
   * as zero (what copy_struct_from_user leaves in the kernel copy).
   */
  decode(bytes: Uint8Array, len: number = bytes.length): StructValue {
    const out: StructValue = {};
    this.decodeInto(bytes, len, out);
    return out;
  }

  /** decode() into an existing object (keys are overwritten in place). */
  decodeInto(bytes: Uint8Array, len: number, out: StructValue): void {
    const valid = Math.max(0, Math.min(len, bytes.length));
    const dv = viewOf(bytes);
    for (const f of this.fields) {
      out[f.name] = f.end <= valid ? readScalar(dv, f.type, f.offset) : readPartial(bytes, f, valid);
    }
  }

  /** decode() of the named fields alone, into `out` (a name the struct lacks is left out, as decode() would). */
  decodeFields(bytes: Uint8Array, names: readonly string[], out: StructValue): void {
    const valid = bytes.length;
    const dv = viewOf(bytes);
    for (const name of names) {
      const f = this.byName.get(name);
      if (f !== undefined) out[name] = f.end <= valid ? readScalar(dv, f.type, f.offset) : readPartial(bytes, f, valid);
    }
  }

  readField(bytes: Uint8Array, name: string, len: number = bytes.length): number | bigint {
    const f = this.field(name);
    const valid = Math.max(0, Math.min(len, bytes.length));
    return f.end <= valid ? readScalar(viewOf(bytes), f.type, f.offset) : readPartial(bytes, f, valid);
  }

  /** Store one field, truncating the value to the field width like a C assignment. */
  writeField(bytes: Uint8Array, name: string, value: number | bigint): void {
    const f = this.field(name);
    writeScalar(viewOf(bytes), f.type, f.offset, value);
  }

  /**
   * Write the fields present in `obj` (other bytes are left alone) into `into`,
   * or into a new zeroed buffer of `size` bytes. Unknown keys throw.
   */
  encode(obj: Readonly<Partial<StructValue>>, into?: Uint8Array): Uint8Array {
    const buf = into ?? new Uint8Array(this.size);
    const dv = viewOf(buf);
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      if (v === undefined) continue;
      const f = this.field(key);
      writeScalar(dv, f.type, f.offset, v);
    }
    return buf;
  }
}

/** A field straddling or past the valid length: the missing bytes are zero. */
function readPartial(bytes: Uint8Array, f: FieldInfo, valid: number): number | bigint {
  let v = 0n;
  for (let i = f.size - 1; i >= 0; i--) {
    const at = f.offset + i;
    v = (v << 8n) | BigInt(at < valid ? (bytes[at] ?? 0) : 0);
  }
  if (f.type === 'u64') return v;
  if (f.type === 's32') return Number(BigInt.asIntN(32, v));
  return Number(v);
}

export function defineStruct(name: string, specs: ReadonlyArray<MemberSpec>, opts?: StructOptions): StructLayout {
  return new StructLayout(name, specs, opts);
}

// ---------------------------------------------------------------------------
// iommufd structs (newest upstream layout)

export const iommu_destroy = defineStruct('iommu_destroy', [
  ['size', 'u32'],
  ['id', 'u32'],
]);

export const iommu_ioas_alloc = defineStruct('iommu_ioas_alloc', [
  ['size', 'u32'],
  ['flags', 'u32'],
  ['out_ioas_id', 'u32'],
]);

export const iommu_iova_range = defineStruct('iommu_iova_range', [
  ['start', 'u64'],
  ['last', 'u64'],
]);

export const iommu_ioas_iova_ranges = defineStruct('iommu_ioas_iova_ranges', [
  ['size', 'u32'],
  ['ioas_id', 'u32'],
  ['num_iovas', 'u32'],
  ['__reserved', 'u32'],
  ['allowed_iovas', 'u64'],
  ['out_iova_alignment', 'u64'],
]);

export const iommu_ioas_allow_iovas = defineStruct('iommu_ioas_allow_iovas', [
  ['size', 'u32'],
  ['ioas_id', 'u32'],
  ['num_iovas', 'u32'],
  ['__reserved', 'u32'],
  ['allowed_iovas', 'u64'],
]);

export const iommu_ioas_map = defineStruct('iommu_ioas_map', [
  ['size', 'u32'],
  ['flags', 'u32'],
  ['ioas_id', 'u32'],
  ['__reserved', 'u32'],
  ['user_va', 'u64'],
  ['length', 'u64'],
  ['iova', 'u64'],
]);

export const iommu_ioas_map_file = defineStruct('iommu_ioas_map_file', [
  ['size', 'u32'],
  ['flags', 'u32'],
  ['ioas_id', 'u32'],
  ['fd', 's32'],
  ['start', 'u64'],
  ['length', 'u64'],
  ['iova', 'u64'],
]);

export const iommu_ioas_copy = defineStruct('iommu_ioas_copy', [
  ['size', 'u32'],
  ['flags', 'u32'],
  ['dst_ioas_id', 'u32'],
  ['src_ioas_id', 'u32'],
  ['length', 'u64'],
  ['dst_iova', 'u64'],
  ['src_iova', 'u64'],
]);

export const iommu_ioas_unmap = defineStruct('iommu_ioas_unmap', [
  ['size', 'u32'],
  ['ioas_id', 'u32'],
  ['iova', 'u64'],
  ['length', 'u64'],
]);

export const iommu_option = defineStruct('iommu_option', [
  ['size', 'u32'],
  ['option_id', 'u32'],
  ['op', 'u16'],
  ['__reserved', 'u16'],
  ['object_id', 'u32'],
  ['val64', 'u64'],
]);

export const iommu_vfio_ioas = defineStruct('iommu_vfio_ioas', [
  ['size', 'u32'],
  ['ioas_id', 'u32'],
  ['op', 'u16'],
  ['__reserved', 'u16'],
]);

export const iommu_hwpt_alloc = defineStruct(
  'iommu_hwpt_alloc',
  [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['dev_id', 'u32'],
    ['pt_id', 'u32'],
    ['out_hwpt_id', 'u32'],
    ['__reserved', 'u32'],
    ['data_type', 'u32'],
    ['data_len', 'u32'],
    ['data_uptr', 'u64'],
    ['fault_id', 'u32'],
    ['__reserved2', 'u32'],
  ],
  { minLast: '__reserved' },
);

export const iommu_hw_info = defineStruct(
  'iommu_hw_info',
  [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['dev_id', 'u32'],
    ['data_len', 'u32'],
    ['data_uptr', 'u64'],
    {
      union: [
        [null, [['in_data_type', 'u32']]],
        [null, [['out_data_type', 'u32']]],
      ],
    },
    ['out_max_pasid_log2', 'u8'],
    ['__reserved', 'u8', 3],
    ['out_capabilities', 'u64'],
  ],
  { minLast: '__reserved[2]' },
);

export const iommu_hwpt_set_dirty_tracking = defineStruct('iommu_hwpt_set_dirty_tracking', [
  ['size', 'u32'],
  ['flags', 'u32'],
  ['hwpt_id', 'u32'],
  ['__reserved', 'u32'],
]);

export const iommu_hwpt_get_dirty_bitmap = defineStruct('iommu_hwpt_get_dirty_bitmap', [
  ['size', 'u32'],
  ['hwpt_id', 'u32'],
  ['flags', 'u32'],
  ['__reserved', 'u32'],
  ['iova', 'u64'],
  ['length', 'u64'],
  ['page_size', 'u64'],
  ['data', 'u64'],
]);

export const iommu_hwpt_invalidate = defineStruct('iommu_hwpt_invalidate', [
  ['size', 'u32'],
  ['hwpt_id', 'u32'],
  ['data_uptr', 'u64'],
  ['data_type', 'u32'],
  ['entry_len', 'u32'],
  ['entry_num', 'u32'],
  ['__reserved', 'u32'],
]);

export const iommu_fault_alloc = defineStruct('iommu_fault_alloc', [
  ['size', 'u32'],
  ['flags', 'u32'],
  ['out_fault_id', 'u32'],
  ['out_fault_fd', 'u32'],
]);

/** One fault record read from a fault queue fd (40 bytes). */
export const iommu_hwpt_pgfault = defineStruct('iommu_hwpt_pgfault', [
  ['flags', 'u32'],
  ['dev_id', 'u32'],
  ['pasid', 'u32'],
  ['grpid', 'u32'],
  ['perm', 'u32'],
  ['__reserved', 'u32'],
  ['addr', 'u64'],
  ['length', 'u32'],
  ['cookie', 'u32'],
]);

/** One page response written to a fault queue fd (8 bytes). */
export const iommu_hwpt_page_response = defineStruct('iommu_hwpt_page_response', [
  ['cookie', 'u32'],
  ['code', 'u32'],
]);

/** enum iommu_hwpt_pgfault_flags / perm, enum iommufd_page_response_code */
export const IOMMU_PGFAULT_FLAGS_PASID_VALID = 1 << 0;
export const IOMMU_PGFAULT_FLAGS_LAST_PAGE = 1 << 1;
export const IOMMU_PGFAULT_PERM_READ = 1 << 0;
export const IOMMU_PGFAULT_PERM_WRITE = 1 << 1;
export const IOMMU_PGFAULT_PERM_EXEC = 1 << 2;
export const IOMMU_PGFAULT_PERM_PRIV = 1 << 3;
export const IOMMUFD_PAGE_RESP_SUCCESS = 0;
export const IOMMUFD_PAGE_RESP_INVALID = 1;

/** The selftest driver's structs (iommufd_test.h): hw_info data, nested HWPT data, invalidation entry. */
export const iommu_test_hw_info = defineStruct('iommu_test_hw_info', [
  ['flags', 'u32'],
  ['test_reg', 'u32'],
]);
export const iommu_hwpt_selftest = defineStruct('iommu_hwpt_selftest', [['iotlb', 'u32']]);
export const iommu_hwpt_invalidate_selftest = defineStruct('iommu_hwpt_invalidate_selftest', [
  ['flags', 'u32'],
  ['iotlb_id', 'u32'],
]);

export const iommu_viommu_alloc = defineStruct(
  'iommu_viommu_alloc',
  [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['type', 'u32'],
    ['dev_id', 'u32'],
    ['hwpt_id', 'u32'],
    ['out_viommu_id', 'u32'],
    ['data_len', 'u32'],
    ['__reserved', 'u32'],
    ['data_uptr', 'u64'],
  ],
  { minLast: 'out_viommu_id' },
);

export const iommu_vdevice_alloc = defineStruct('iommu_vdevice_alloc', [
  ['size', 'u32'],
  ['viommu_id', 'u32'],
  ['dev_id', 'u32'],
  ['out_vdevice_id', 'u32'],
  ['virt_id', 'u64'],
]);

export const iommu_ioas_change_process = defineStruct('iommu_ioas_change_process', [
  ['size', 'u32'],
  ['__reserved', 'u32'],
]);

export const iommu_veventq_alloc = defineStruct(
  'iommu_veventq_alloc',
  [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['viommu_id', 'u32'],
    ['type', 'u32'],
    ['veventq_depth', 'u32'],
    ['out_veventq_id', 'u32'],
    ['out_veventq_fd', 'u32'],
    ['__reserved', 'u32'],
  ],
  { minLast: 'out_veventq_fd' },
);

export const iommu_hw_queue_alloc = defineStruct('iommu_hw_queue_alloc', [
  ['size', 'u32'],
  ['flags', 'u32'],
  ['viommu_id', 'u32'],
  ['type', 'u32'],
  ['index', 'u32'],
  ['out_hw_queue_id', 'u32'],
  ['nesting_parent_iova', 'u64'],
  ['length', 'u64'],
]);

// ---------------------------------------------------------------------------
// struct iommu_test_cmd

const TEST_CMD_HEADER: ReadonlyArray<FieldSpec> = [
  ['size', 'u32'],
  ['op', 'u32'],
  ['id', 'u32'],
  ['__reserved', 'u32'],
];

/** Union members present since the v6.4 mock-device rework (the v6.5 set). */
const TEST_CMD_V65_MEMBERS: UnionSpec['union'] = [
  [
    'add_reserved',
    [
      ['start', 'u64'],
      ['length', 'u64'],
    ],
  ],
  [
    'mock_domain',
    [
      ['out_stdev_id', 'u32'],
      ['out_hwpt_id', 'u32'],
      ['out_idev_id', 'u32'],
    ],
  ],
  [
    'check_map',
    [
      ['iova', 'u64'],
      ['length', 'u64'],
      ['uptr', 'u64'],
    ],
  ],
  [
    'check_refs',
    [
      ['length', 'u64'],
      ['uptr', 'u64'],
      ['refs', 'u32'],
    ],
  ],
  [
    'create_access',
    [
      ['out_access_fd', 'u32'],
      ['flags', 'u32'],
    ],
  ],
  ['destroy_access_pages', [['access_pages_id', 'u32']]],
  [
    'access_pages',
    [
      ['flags', 'u32'],
      ['out_access_pages_id', 'u32'],
      ['iova', 'u64'],
      ['length', 'u64'],
      ['uptr', 'u64'],
    ],
  ],
  [
    'access_rw',
    [
      ['iova', 'u64'],
      ['length', 'u64'],
      ['uptr', 'u64'],
      ['flags', 'u32'],
    ],
  ],
  ['memory_limit', [['limit', 'u32']]],
];

const TEST_CMD_LATER_MEMBERS: UnionSpec['union'] = [
  [
    'mock_domain_flags',
    [
      ['out_stdev_id', 'u32'],
      ['out_hwpt_id', 'u32'],
      ['out_idev_id', 'u32'],
      ['dev_flags', 'u32'],
    ],
  ],
  ['mock_domain_replace', [['pt_id', 'u32']]],
  ['access_replace_ioas', [['ioas_id', 'u32']]],
  [
    'dirty',
    [
      ['flags', 'u32'],
      ['iova', 'u64'],
      ['length', 'u64'],
      ['page_size', 'u64'],
      ['uptr', 'u64'],
      ['out_nr_dirty', 'u64'],
    ],
  ],
  [
    'check_iotlb',
    [
      ['id', 'u32'],
      ['iotlb', 'u32'],
    ],
  ],
  [
    'trigger_iopf',
    [
      ['dev_id', 'u32'],
      ['pasid', 'u32'],
      ['grpid', 'u32'],
      ['perm', 'u32'],
      ['addr', 'u64'],
    ],
  ],
  [
    'check_dev_cache',
    [
      ['id', 'u32'],
      ['cache', 'u32'],
    ],
  ],
  ['trigger_vevent', [['dev_id', 'u32']]],
  [
    'pasid_attach',
    [
      ['pasid', 'u32'],
      ['pt_id', 'u32'],
    ],
  ],
  [
    'pasid_replace',
    [
      ['pasid', 'u32'],
      ['pt_id', 'u32'],
    ],
  ],
  ['pasid_detach', [['pasid', 'u32']]],
  [
    'pasid_check',
    [
      ['pasid', 'u32'],
      ['hwpt_id', 'u32'],
    ],
  ],
  [
    'dmabuf_get',
    [
      ['length', 'u32'],
      ['open_flags', 'u32'],
    ],
  ],
  [
    'dmabuf_revoke',
    [
      ['dmabuf_fd', 's32'],
      ['revoked', 'u32'],
    ],
  ],
];

/** Current layout: the union is 48 bytes (the `dirty` member), `last` @64, size 72, min 68. */
export const iommu_test_cmd = defineStruct('iommu_test_cmd', [
  ...TEST_CMD_HEADER,
  { union: [...TEST_CMD_V65_MEMBERS, ...TEST_CMD_LATER_MEMBERS] },
  ['last', 'u32'],
]);

/** The v6.4/v6.5 layout: union of 32 bytes (access_pages), `last` @48, size 56, min 52. */
export const iommu_test_cmd_v6_5 = defineStruct('iommu_test_cmd', [
  ...TEST_CMD_HEADER,
  { union: TEST_CMD_V65_MEMBERS },
  ['last', 'u32'],
]);

// ---------------------------------------------------------------------------
// VFIO type1 structs (minLast = the minsz the iommufd compat handler checks)

export const vfio_info_cap_header = defineStruct('vfio_info_cap_header', [
  ['id', 'u16'],
  ['version', 'u16'],
  ['next', 'u32'],
]);

/** 24 bytes; `pad` is explicit from v6.6 (implicit padding before). */
export const vfio_iommu_type1_info = defineStruct(
  'vfio_iommu_type1_info',
  [
    ['argsz', 'u32'],
    ['flags', 'u32'],
    ['iova_pgsizes', 'u64'],
    ['cap_offset', 'u32'],
    ['pad', 'u32'],
  ],
  { minLast: 'iova_pgsizes' },
);

export const vfio_iova_range = defineStruct('vfio_iova_range', [
  ['start', 'u64'],
  ['end', 'u64'],
]);

/** Header of the IOVA_RANGE capability; `iova_ranges[]` (vfio_iova_range) follows at offset 16. */
export const vfio_iommu_type1_info_cap_iova_range = defineStruct('vfio_iommu_type1_info_cap_iova_range', [
  ['header.id', 'u16'],
  ['header.version', 'u16'],
  ['header.next', 'u32'],
  ['nr_iovas', 'u32'],
  ['reserved', 'u32'],
]);

export const vfio_iommu_type1_info_cap_migration = defineStruct('vfio_iommu_type1_info_cap_migration', [
  ['header.id', 'u16'],
  ['header.version', 'u16'],
  ['header.next', 'u32'],
  ['flags', 'u32'],
  ['pgsize_bitmap', 'u64'],
  ['max_dirty_bitmap_size', 'u64'],
]);

export const vfio_iommu_type1_info_dma_avail = defineStruct('vfio_iommu_type1_info_dma_avail', [
  ['header.id', 'u16'],
  ['header.version', 'u16'],
  ['header.next', 'u32'],
  ['avail', 'u32'],
]);

export const vfio_iommu_type1_dma_map = defineStruct('vfio_iommu_type1_dma_map', [
  ['argsz', 'u32'],
  ['flags', 'u32'],
  ['vaddr', 'u64'],
  ['iova', 'u64'],
  ['size', 'u64'],
]);

export const vfio_bitmap = defineStruct('vfio_bitmap', [
  ['pgsize', 'u64'],
  ['size', 'u64'],
  ['data', 'u64'],
]);

/** 24 bytes; `data[]` (a vfio_bitmap for GET_DIRTY_BITMAP) follows. */
export const vfio_iommu_type1_dma_unmap = defineStruct('vfio_iommu_type1_dma_unmap', [
  ['argsz', 'u32'],
  ['flags', 'u32'],
  ['iova', 'u64'],
  ['size', 'u64'],
]);

// ---------------------------------------------------------------------------
// The ioctl table (main.c iommufd_ioctl_ops)

export interface IoctlOp {
  /** The full ioctl number the table slot matches exactly. */
  readonly cmd: number;
  /** _IOC_NR(cmd); the slot index is nr - IOMMUFD_CMD_BASE. */
  readonly nr: number;
  readonly name: string;
  readonly struct: StructLayout;
  /** offsetofend(struct, IOCTL_OP last field) */
  readonly minSize: number;
  /** sizeof(struct): the kernel copy size (ksize). */
  readonly size: number;
  /** Upstream release that added the command (best estimate after 6.2, see uapi-spec §10). */
  readonly since: string;
  /** Only in CONFIG_IOMMUFD_TEST kernels. */
  readonly testOnly: boolean;
}

function op(cmd: number, name: string, struct: StructLayout, since: string, testOnly = false): IoctlOp {
  return Object.freeze({ cmd, nr: iocNr(cmd), name, struct, minSize: struct.minSize, size: struct.size, since, testOnly });
}

/**
 * Every ioctl op of the newest kernel, in slot order (nr ascending, which is
 * the order of the kernel's array; its source lists them alphabetically).
 */
export const IOMMUFD_IOCTL_OPS: readonly IoctlOp[] = Object.freeze([
  op(IOMMU_DESTROY, 'IOMMU_DESTROY', iommu_destroy, '6.2'),
  op(IOMMU_IOAS_ALLOC, 'IOMMU_IOAS_ALLOC', iommu_ioas_alloc, '6.2'),
  op(IOMMU_IOAS_ALLOW_IOVAS, 'IOMMU_IOAS_ALLOW_IOVAS', iommu_ioas_allow_iovas, '6.2'),
  op(IOMMU_IOAS_COPY, 'IOMMU_IOAS_COPY', iommu_ioas_copy, '6.2'),
  op(IOMMU_IOAS_IOVA_RANGES, 'IOMMU_IOAS_IOVA_RANGES', iommu_ioas_iova_ranges, '6.2'),
  op(IOMMU_IOAS_MAP, 'IOMMU_IOAS_MAP', iommu_ioas_map, '6.2'),
  op(IOMMU_IOAS_UNMAP, 'IOMMU_IOAS_UNMAP', iommu_ioas_unmap, '6.2'),
  op(IOMMU_OPTION, 'IOMMU_OPTION', iommu_option, '6.2'),
  op(IOMMU_VFIO_IOAS, 'IOMMU_VFIO_IOAS', iommu_vfio_ioas, '6.2'),
  op(IOMMU_HWPT_ALLOC, 'IOMMU_HWPT_ALLOC', iommu_hwpt_alloc, '6.6'),
  op(IOMMU_GET_HW_INFO, 'IOMMU_GET_HW_INFO', iommu_hw_info, '6.6'),
  op(IOMMU_HWPT_SET_DIRTY_TRACKING, 'IOMMU_HWPT_SET_DIRTY_TRACKING', iommu_hwpt_set_dirty_tracking, '6.7'),
  op(IOMMU_HWPT_GET_DIRTY_BITMAP, 'IOMMU_HWPT_GET_DIRTY_BITMAP', iommu_hwpt_get_dirty_bitmap, '6.7'),
  op(IOMMU_HWPT_INVALIDATE, 'IOMMU_HWPT_INVALIDATE', iommu_hwpt_invalidate, '6.8'),
  op(IOMMU_FAULT_QUEUE_ALLOC, 'IOMMU_FAULT_QUEUE_ALLOC', iommu_fault_alloc, '6.11'),
  op(IOMMU_IOAS_MAP_FILE, 'IOMMU_IOAS_MAP_FILE', iommu_ioas_map_file, '6.13'),
  op(IOMMU_VIOMMU_ALLOC, 'IOMMU_VIOMMU_ALLOC', iommu_viommu_alloc, '6.13'),
  op(IOMMU_VDEVICE_ALLOC, 'IOMMU_VDEVICE_ALLOC', iommu_vdevice_alloc, '6.13'),
  op(IOMMU_IOAS_CHANGE_PROCESS, 'IOMMU_IOAS_CHANGE_PROCESS', iommu_ioas_change_process, '6.14'),
  op(IOMMU_VEVENTQ_ALLOC, 'IOMMU_VEVENTQ_ALLOC', iommu_veventq_alloc, '6.15'),
  op(IOMMU_HW_QUEUE_ALLOC, 'IOMMU_HW_QUEUE_ALLOC', iommu_hw_queue_alloc, '6.17'),
  op(IOMMU_TEST_CMD, 'IOMMU_TEST_CMD', iommu_test_cmd, '6.2', true),
]);

/** IOMMU_TEST_CMD with the v6.5 struct (min 52, size 56), for the v6.5 profile's table. */
export const IOMMU_TEST_CMD_OP_V6_5: IoctlOp = op(IOMMU_TEST_CMD, 'IOMMU_TEST_CMD', iommu_test_cmd_v6_5, '6.2', true);

/** The nine commands of v6.2–v6.5 (without the test command). */
export const IOMMUFD_V6_5_IOCTL_OPS: readonly IoctlOp[] = Object.freeze(
  IOMMUFD_IOCTL_OPS.filter((o) => o.nr <= IOMMUFD_CMD_VFIO_IOAS),
);

export function ioctlOpByName(name: string): IoctlOp {
  const o = IOMMUFD_IOCTL_OPS.find((x) => x.name === name);
  if (!o) throw new Error(`unknown iommufd ioctl ${name}`);
  return o;
}
