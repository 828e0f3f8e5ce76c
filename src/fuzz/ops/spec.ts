// SPDX-License-Identifier: GPL-2.0-only
/**
 * The vocabulary op modules write their specs with: flag and enum tables,
 * named constants of value expressions, field constructors, hex byte
 * helpers, and the capability tests that gate an op on a profile (which
 * commands and test ops its kernel has, never a version comparison).
 */
import type { Profile } from '../../base/profile.js';
import { describe } from './expr.js';
import type { FieldSpec, Width } from './types.js';

// --- flag and enum tables -------------------------------------------------

export const PROT_FLAGS = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MAP_FLAGS = {
  SHARED: 0x01,
  PRIVATE: 0x02,
  SHARED_VALIDATE: 0x03,
  FIXED: 0x10,
  ANONYMOUS: 0x20,
  '32BIT': 0x40,
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
  DONTDUMP: 16,
  DODUMP: 17,
  WIPEONFORK: 18,
  KEEPONFORK: 19,
  COLD: 20,
  PAGEOUT: 21,
  POPULATE_READ: 22,
  POPULATE_WRITE: 23,
  DONTNEED_LOCKED: 24,
  COLLAPSE: 25,
  GUARD_INSTALL: 102,
  GUARD_REMOVE: 103,
} as const;
export const MREMAP_FLAGS = { MAYMOVE: 1, FIXED: 2, DONTUNMAP: 4 } as const;
export const MFD_FLAGS = { CLOEXEC: 1, ALLOW_SEALING: 2, HUGETLB: 4, NOEXEC_SEAL: 8, EXEC: 0x10, HUGE_2MB: 21 << 26, HUGE_1GB: 30 << 26 } as const;
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

export { CONSTANTS } from './expr.js';

// --- field constructors -----------------------------------------------------

export const fdField = (doc = 'iommufd file descriptor (default: the last one this process opened)'): FieldSpec => ({
  kind: 'int',
  width: 's32',
  defaultIommufd: true,
  handle: 'iommufd',
  doc,
});
export const u64 = (doc: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({ kind: 'int', width: 'u64', doc, ...extra });
export const u32 = (doc: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({ kind: 'int', width: 'u32', doc, ...extra });
export const req = (f: FieldSpec): FieldSpec => ({ ...f, required: true });
/** A required file descriptor (an s32 the program names with a handle). */
export const fileFd = (doc: string): FieldSpec => req({ kind: 'int', width: 's32', handle: 'fd', doc });
export const flags = (values: Record<string, number>, doc: string, def?: readonly string[], width: Width = 'u32'): FieldSpec => ({
  kind: 'flags',
  width,
  values,
  doc,
  ...(def ? { default: def } : {}),
});
export const enumField = (values: Record<string, number>, doc: string, def?: string, width: Width = 'u32'): FieldSpec => ({
  kind: 'enum',
  width,
  values,
  doc,
  ...(def !== undefined ? { default: def } : {}),
});
export const sizeWord: FieldSpec = u32('the struct size word (default: sizeof the struct)');

/** The fields of an IOMMU_TEST_CMD op: fd first, the size word last. */
export function testFields(fields: Record<string, FieldSpec>): Record<string, FieldSpec> {
  return { fd: fdField(), ...fields, size: sizeWord };
}

export const MOCK_OUTPUTS = { stdev_id: 'stdev', hwpt_id: 'hwpt', idev_id: 'idev' } as const;

// --- hex bytes ----------------------------------------------------------------

/** Hex bytes ("0a 0b", "0x0a0b") → Uint8Array, or an error string. */
export function parseHex(raw: unknown): Uint8Array | string {
  if (typeof raw !== 'string') return `expected a hex string, got ${describe(raw)}`;
  // The generator's form (plain digits) decoded in one pass; anything else is normalised first.
  const plain = hexBytes(raw);
  if (plain) return plain;
  const s = raw.replace(/0x/gi, '').replace(/[\s_:,]+/g, '');
  return hexBytes(s) ?? `not hex bytes: ${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw)}`;
}

/** `s` as bytes when it is an even number of hex digits and nothing else; else undefined. */
function hexBytes(s: string): Uint8Array | undefined {
  if (s.length % 2 !== 0) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexDigit(s.charCodeAt(2 * i));
    const lo = hexDigit(s.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** C array initializer of bytes (`0x0a, 0x0b`, or `0` when empty). */
export function cBytes(b: Uint8Array): string {
  return [...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`).join(', ') || '0';
}

// --- capabilities -------------------------------------------------------------

/** The profile's kernel has iommufd command `cmd` (an IOMMU_* ioctl number). */
export function hasIommufdCmd(p: Profile, cmd: number): boolean {
  return (cmd & 0xff) <= p.lastIommufdCmd;
}

/** The profile's selftest driver has IOMMU_TEST_OP `op`. */
export function hasTestOp(p: Profile, op: number): boolean {
  return op <= p.lastTestOp;
}

/** An `available` test for an iommufd command. */
export const withCmd =
  (cmd: number) =>
  (p: Profile): boolean =>
    hasIommufdCmd(p, cmd);

/** An `available` test for a test op. */
export const withTestOp =
  (op: number) =>
  (p: Profile): boolean =>
    hasTestOp(p, op);

