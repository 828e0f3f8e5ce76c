// SPDX-License-Identifier: GPL-2.0-only
/**
 * The 6.6-6.12 HWPT commands: IOMMU_HWPT_ALLOC (paging, NEST_PARENT,
 * DIRTY_TRACKING, nested on a parent with the selftest data, fault_id),
 * IOMMU_GET_HW_INFO, IOMMU_HWPT_SET_DIRTY_TRACKING,
 * IOMMU_HWPT_GET_DIRTY_BITMAP and IOMMU_HWPT_INVALIDATE (an entry array).
 * User-memory arrays (nested data, hw_info data, bitmaps, invalidation
 * entries) go through the process's client scratch, as the C export's do.
 */
import * as U from '../../iommufd/uapi.js';
import type { Call } from '../program.js';
import { enumField, fdField, flags, req, sizeWord, toHex, u32, u64, withCmd } from './spec.js';
import type { ExecCtx, GenCtx, OpModule, Outputs } from './types.js';
import { M2, baseHandle, interestingLength, num } from './values.js';

export const HWPT_ALLOC_FLAGS = {
  NEST_PARENT: U.IOMMU_HWPT_ALLOC_NEST_PARENT,
  DIRTY_TRACKING: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
  FAULT_ID_VALID: U.IOMMU_HWPT_FAULT_ID_VALID,
  PASID: U.IOMMU_HWPT_ALLOC_PASID,
} as const;
export const HWPT_DATA_TYPES = { NONE: U.IOMMU_HWPT_DATA_NONE, VTD_S1: U.IOMMU_HWPT_DATA_VTD_S1, ARM_SMMUV3: U.IOMMU_HWPT_DATA_ARM_SMMUV3, SELFTEST: U.IOMMU_HWPT_DATA_SELFTEST } as const;
export const INVALIDATE_DATA_TYPES = { SELFTEST: U.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, SELFTEST_INVALID: U.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID, VTD_S1: 0, ARM_SMMUV3_CMDQ: 1 } as const;
export const DIRTY_TRACKING_FLAGS = { ENABLE: U.IOMMU_HWPT_DIRTY_TRACKING_ENABLE } as const;
export const DIRTY_BITMAP_FLAGS = { NO_CLEAR: U.IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR } as const;
export const INVALIDATE_ENTRY_FLAGS = { ALL: U.IOMMU_TEST_INVALIDATE_FLAG_ALL } as const;

/** Largest user array an op builds in the client scratch (bigger ones are cut; explicit addresses are not). */
const ARRAY_MAX = 1 << 20;
/** Bytes of an output array shown as hex. */
const HEX_MAX = 256;

function le32(v: number, bytes: Uint8Array, at: number): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, v >>> 0, true);
}

/** Set while an op that needs a NEST_PARENT HWPT (a vIOMMU) has one made as its producer. */
let wantNestParent = false;

/** Make a NEST_PARENT paging HWPT first (for a vIOMMU, whose driver needs one). */
export function emitNestParent(g: GenCtx): void {
  wantNestParent = true;
  try {
    g.emit('hwpt_alloc');
  } finally {
    wantNestParent = false;
  }
}

/** A paging HWPT, nested HWPT or IOAS ID and a device: the HWPT_ALLOC shapes the selftests use. */
function genHwptAlloc(g: GenCtx, c: Call): Call {
  if (wantNestParent) {
    wantNestParent = false;
    g.needIommufd();
    const d = g.need(['idev']);
    c.as = g.fresh();
    c.dev_id = d ? d.name : g.id(['idev']);
    c.pt_id = d?.ioas ?? g.id(['ioas']);
    c.flags = g.rng.bool(0.2) ? ['NEST_PARENT', 'DIRTY_TRACKING'] : ['NEST_PARENT'];
    return c;
  }
  const rng = g.rng;
  g.needIommufd();
  const dev = g.need(['idev']);
  c.as = g.fresh();
  c.dev_id = dev ? dev.name : g.id(['idev']);
  const parents = g.ofKind('hwpt').filter((h) => h.nestParent);
  if (parents.length > 0 && rng.bool(0.45)) {
    // nested on a NEST_PARENT HWPT with the selftest data
    c.pt_id = rng.pick(parents).name;
    c.iotlb = rng.pick([0, 1, 0xbadbeef, 0xffffffff]);
    if (rng.bool(0.1)) c.data_len = rng.pick([0, 2, 8, 16]);
    if (rng.bool(0.05)) c.data_type = rng.pick(['NONE', 'VTD_S1', 'ARM_SMMUV3']);
  } else {
    c.pt_id = rng.bool(0.85) && dev?.ioas !== undefined ? dev.ioas : g.id(['ioas', 'hwpt']);
    const fl = ['NEST_PARENT', 'DIRTY_TRACKING'].filter(() => rng.bool(0.4));
    if (rng.bool(0.05)) fl.push('PASID');
    if (fl.length > 0) c.flags = fl;
  }
  if (rng.bool(0.15)) {
    const f = g.need(['fault']);
    c.fault_id = f ? f.name : rng.int(0, 4);
    c.flags = [...((c.flags as string[] | undefined) ?? []), 'FAULT_ID_VALID'];
  }
  return c;
}

export const hwpt_alloc: OpModule = {
  name: 'hwpt_alloc',
  spec: {
    doc: 'IOMMU_HWPT_ALLOC; `as` binds the HWPT ID. `iotlb` places struct iommu_hwpt_selftest { iotlb } in user memory for a nested HWPT on a NEST_PARENT `pt_id` (data_type SELFTEST, data_len 4 unless given)',
    group: 'iommufd',
    ioctl: 'IOMMU_HWPT_ALLOC',
    since: '6.6',
    fields: {
      fd: fdField(),
      flags: flags(HWPT_ALLOC_FLAGS, 'IOMMU_HWPT_ALLOC_* / IOMMU_HWPT_FAULT_ID_VALID', []),
      dev_id: req(u32('device ID (a mock device `.idev_id`)', { handle: 'idev' })),
      pt_id: req(u32('IOAS, or parent HWPT for a nested one', { handle: 'ioas' })),
      data_type: enumField(HWPT_DATA_TYPES, 'IOMMU_HWPT_DATA_* (default NONE, SELFTEST with iotlb)'),
      iotlb: u32('nested selftest data: the initial IOTLB value of every entry'),
      data_len: u32('driver data length (default 0, 4 with iotlb)'),
      data_uptr: u64('driver data address (default: the iotlb data, else 0)', { handle: 'addr' }),
      fault_id: u32('FAULT object ID (with FAULT_ID_VALID)', { default: 0, handle: 'fault' }),
      size: sizeWord,
    },
    primary: 'hwpt_id',
    outputs: { hwpt_id: 'hwpt' },
  },
  weight: 3,
  newUapi: true,
  available: withCmd(U.IOMMU_HWPT_ALLOC),
  clientScratch: true,
  produces: ['hwpt'],
  cStructs: [U.iommu_hwpt_alloc],
  cIoctls: [['IOMMU_HWPT_ALLOC', U.IOMMU_HWPT_ALLOC]],
  execute(x) {
    const nested = x.has('iotlb');
    let uptr = x.v('data_uptr');
    if (nested && !x.has('data_uptr')) {
      const data = new Uint8Array(8);
      le32(x.n32('iotlb'), data, 0);
      uptr = x.userBuffer(data);
    }
    const fields = {
      flags: x.n32('flags'),
      dev_id: x.n32('dev_id'),
      pt_id: x.n32('pt_id'),
      data_type: x.has('data_type') ? x.n32('data_type') : nested ? U.IOMMU_HWPT_DATA_SELFTEST : U.IOMMU_HWPT_DATA_NONE,
      data_len: x.has('data_len') ? x.n32('data_len') : nested ? 4 : 0,
      data_uptr: uptr,
      fault_id: x.n32('fault_id'),
    };
    return x.struct(U.IOMMU_HWPT_ALLOC, U.iommu_hwpt_alloc, fields, ['hwpt_id:out_hwpt_id']);
  },
  generate: genHwptAlloc,
  scope(c, as, add) {
    const fl = Array.isArray(c.flags) ? c.flags : [];
    const nested = c.iotlb !== undefined;
    add({ kind: 'hwpt', name: as, ioas: nested ? undefined : baseHandle(c.pt_id), hwpt: nested ? 'nested' : 'paging', nestParent: fl.includes('NEST_PARENT'), dirty: fl.includes('DIRTY_TRACKING') });
  },
  emitC(e) {
    const { L, v, has } = e;
    const nested = has('iotlb');
    if (nested && !has('data_uptr')) {
      L('uint32_t *data = client_scratch(8);');
      L(`data[0] = (uint32_t)${v('iotlb')};`);
    }
    e.structCmd('iommu_hwpt_alloc', 'IOMMU_HWPT_ALLOC', {
      flags: `(uint32_t)${v('flags')}`,
      dev_id: `(uint32_t)${v('dev_id')}`,
      pt_id: `(uint32_t)${v('pt_id')}`,
      data_type: has('data_type') ? `(uint32_t)${v('data_type')}` : nested ? `${U.IOMMU_HWPT_DATA_SELFTEST}` : '0',
      data_len: has('data_len') ? `(uint32_t)${v('data_len')}` : nested ? '4' : '0',
      data_uptr: nested && !has('data_uptr') ? '(uint64_t)(uintptr_t)data' : v('data_uptr'),
      fault_id: `(uint32_t)${v('fault_id')}`,
    });
    e.outs.hwpt_id = 'cmd.out_hwpt_id';
  },
};

export const get_hw_info: OpModule = {
  name: 'get_hw_info',
  spec: {
    doc: 'IOMMU_GET_HW_INFO into a `data_len`-byte buffer filled with 0xff first; outputs the header fields and `data` (hex of the buffer after the call, up to 256 bytes)',
    group: 'iommufd',
    ioctl: 'IOMMU_GET_HW_INFO',
    since: '6.7',
    fields: {
      fd: fdField(),
      flags: u32('flags (7.x: IOMMU_HW_INFO_FLAG_INPUT_TYPE)', { default: 0 }),
      dev_id: req(u32('device ID', { handle: 'idev' })),
      data_len: u32('buffer length (default 8, sizeof struct iommu_test_hw_info)', { default: 8 }),
      data_uptr: u64('buffer address (default: a buffer of data_len bytes)', { handle: 'addr' }),
      in_data_type: u32('wanted data type (with INPUT_TYPE)', { default: 0 }),
      size: sizeWord,
    },
    outputs: { out_data_type: 'value', data_len: 'value', out_capabilities: 'value', out_max_pasid_log2: 'value', data: 'value' },
  },
  weight: 0.5,
  newUapi: true,
  available: withCmd(U.IOMMU_GET_HW_INFO),
  clientScratch: true,
  cStructs: [U.iommu_hw_info],
  cIoctls: [['IOMMU_GET_HW_INFO', U.IOMMU_GET_HW_INFO]],
  execute(x) {
    const len = x.n32('data_len');
    const room = Math.min(len, ARRAY_MAX);
    const own = !x.has('data_uptr');
    const uptr = own ? x.userBuffer(new Uint8Array(Math.max(room, 8)).fill(0xff)) : x.v('data_uptr');
    const r = x.struct(U.IOMMU_GET_HW_INFO, U.iommu_hw_info, { flags: x.n32('flags'), dev_id: x.n32('dev_id'), data_len: len, data_uptr: uptr, in_data_type: x.n32('in_data_type') }, [
      'out_data_type',
      'data_len',
      'out_capabilities',
      'out_max_pasid_log2',
    ]);
    if (own) r.outputs.data = toHex(x.readUser(uptr, Math.min(room, HEX_MAX)) ?? new Uint8Array(0));
    return r;
  },
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    const dev = g.need(['idev']);
    c.dev_id = dev ? dev.name : g.id(['idev']);
    if (rng.bool(0.4)) c.data_len = rng.pick([0, 4, 7, 8, 12, 16, 64]);
    if (rng.bool(0.1)) c.flags = rng.pick([1, 2]);
    if (rng.bool(0.05)) c.data_uptr = rng.pick([0, 4096]);
    return c;
  },
  emitC(e) {
    const { L, v, has } = e;
    const own = !has('data_uptr');
    L(`uint32_t len = (uint32_t)${v('data_len')};`);
    if (own) {
      L(`size_t room = len > ${ARRAY_MAX} ? ${ARRAY_MAX} : len;`);
      L('char text[2 * 256 + 1] = "";');
      L('unsigned char *data = client_scratch(room < 8 ? 8 : room);');
      L('');
      L('memset(data, 0xff, room < 8 ? 8 : room);');
    } else L('');
    e.structCmd('iommu_hw_info', 'IOMMU_GET_HW_INFO', {
      flags: `(uint32_t)${v('flags')}`,
      dev_id: `(uint32_t)${v('dev_id')}`,
      data_len: 'len',
      data_uptr: own ? '(uint64_t)(uintptr_t)data' : v('data_uptr'),
      in_data_type: `(uint32_t)${v('in_data_type')}`,
    });
    if (own) L(`hexify(data, room < ${HEX_MAX} ? room : ${HEX_MAX}, text);`);
    e.outs.out_data_type = 'cmd.out_data_type';
    e.outs.data_len = 'cmd.data_len';
    e.outs.out_capabilities = 'cmd.out_capabilities';
    e.outs.out_max_pasid_log2 = 'cmd.out_max_pasid_log2';
    if (own) e.outs.data = 'text';
  },
};

export const hwpt_set_dirty_tracking: OpModule = {
  name: 'hwpt_set_dirty_tracking',
  spec: {
    doc: 'IOMMU_HWPT_SET_DIRTY_TRACKING: turn dirty tracking of a paging HWPT on (flags ENABLE, the default) or off (flags [])',
    group: 'iommufd',
    ioctl: 'IOMMU_HWPT_SET_DIRTY_TRACKING',
    since: '6.7',
    fields: { fd: fdField(), hwpt_id: req(u32('HWPT ID', { handle: 'hwpt' })), flags: flags(DIRTY_TRACKING_FLAGS, 'IOMMU_HWPT_DIRTY_TRACKING_*', ['ENABLE']), size: sizeWord },
    outputs: {},
  },
  weight: 1,
  newUapi: true,
  available: withCmd(U.IOMMU_HWPT_SET_DIRTY_TRACKING),
  cStructs: [U.iommu_hwpt_set_dirty_tracking],
  cIoctls: [['IOMMU_HWPT_SET_DIRTY_TRACKING', U.IOMMU_HWPT_SET_DIRTY_TRACKING]],
  execute: (x) => x.struct(U.IOMMU_HWPT_SET_DIRTY_TRACKING, U.iommu_hwpt_set_dirty_tracking, { flags: x.n32('flags'), hwpt_id: x.n32('hwpt_id') }, []),
  generate(g, c) {
    g.needIommufd();
    c.hwpt_id = pickHwpt(g, true);
    if (g.rng.bool(0.25)) c.flags = g.rng.bool(0.8) ? [] : 2;
    return c;
  },
  emitC(e) {
    e.structCmd('iommu_hwpt_set_dirty_tracking', 'IOMMU_HWPT_SET_DIRTY_TRACKING', { flags: `(uint32_t)${e.v('flags')}`, hwpt_id: `(uint32_t)${e.v('hwpt_id')}` });
  },
};

/** A HWPT handle, preferring dirty-tracking ones when `dirty`. */
function pickHwpt(g: GenCtx, dirty: boolean): string | number {
  const rng = g.rng;
  if (dirty) {
    const d = g.ofKind('hwpt').filter((h) => h.dirty);
    if (d.length > 0 && rng.bool(0.8)) return d[d.length - 1 - Math.min(d.length - 1, Math.floor(rng.next() ** 2 * d.length))].name;
  }
  return g.id(['hwpt']);
}

/** The bitmap bytes GET_DIRTY_BITMAP / test op DIRTY cover: one bit per page_size page, in u64 words. */
function bitmapBytes(length: bigint, pageSize: bigint): number {
  if (pageSize === 0n) return 8;
  const bits = (length + pageSize - 1n) / pageSize;
  const bytes = ((bits + 63n) / 64n) * 8n;
  return Number(bytes > BigInt(ARRAY_MAX) ? BigInt(ARRAY_MAX) : bytes < 8n ? 8n : bytes);
}

/** Count the set bits of `b`. */
function popcount(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    let x = b[i];
    while (x) {
      x &= x - 1;
      n++;
    }
  }
  return n;
}

/**
 * C lines: count the set bits of the `room` bytes at `bits` into `dirty`, hex
 * of the first 256 into `text`. The C side of bitmapOutputs(): the bitmap is read back as the model's
 * process reads it (readUser: a copy that faults gives no outputs), through
 * the export's fault-safe user_read(), never by dereferencing `bits`: with
 * nothing dirty the kernel never touches a `data` the program cannot read
 * (6.12 corpus seed 31138: data past the mapping, the call ok).
 */
function bitmapOutputsC(L: (s?: string) => void): void {
  // in page-sized pieces on the stack: no heap, which the program may have unmapped
  L('unsigned char piece[4096];');
  L('for (k = 0; k < room; k += sizeof(piece)) {');
  L('\tsize_t n = room - k < sizeof(piece) ? room - k : sizeof(piece), j;');
  L('\tif (user_read((uint64_t)(uintptr_t)bits + k, piece, n)) {');
  L('\t\tdirty = 0;');
  L('\t\ttext[0] = 0;');
  L('\t\tbreak;');
  L('\t}');
  L('\tfor (j = 0; j < n; j++)');
  L('\t\tdirty += (uint64_t)__builtin_popcount(piece[j]);');
  L('\tif (!k)');
  L(`\t\thexify(piece, n < ${HEX_MAX} ? n : ${HEX_MAX}, text);`);
  L('}');
}

function bitmapOutputs(x: ExecCtx, va: bigint, room: number, out: Outputs): void {
  const b = x.readUser(va, room);
  if (!b) return;
  out.dirty = popcount(b);
  out.data = toHex(b.subarray(0, Math.min(room, HEX_MAX)));
}

export const hwpt_get_dirty_bitmap: OpModule = {
  name: 'hwpt_get_dirty_bitmap',
  spec: {
    doc: 'IOMMU_HWPT_GET_DIRTY_BITMAP of [iova, iova+length) at page_size granularity into a zeroed bitmap (or `data`); outputs `dirty` (bits set) and `data` (the bitmap in hex, up to 256 bytes)',
    group: 'iommufd',
    ioctl: 'IOMMU_HWPT_GET_DIRTY_BITMAP',
    since: '6.7',
    fields: {
      fd: fdField(),
      hwpt_id: req(u32('HWPT ID', { handle: 'hwpt' })),
      flags: flags(DIRTY_BITMAP_FLAGS, 'IOMMU_HWPT_GET_DIRTY_BITMAP_*', []),
      iova: req(u64('first IOVA', { handle: 'iova' })),
      length: req(u64('length')),
      page_size: u64('bitmap granule', { default: 4096 }),
      data: u64('bitmap address (default: a zeroed buffer of the bitmap size)', { handle: 'addr' }),
      size: sizeWord,
    },
    outputs: { dirty: 'value', data: 'value' },
  },
  weight: 1,
  newUapi: true,
  available: withCmd(U.IOMMU_HWPT_GET_DIRTY_BITMAP),
  clientScratch: true,
  cStructs: [U.iommu_hwpt_get_dirty_bitmap],
  cIoctls: [['IOMMU_HWPT_GET_DIRTY_BITMAP', U.IOMMU_HWPT_GET_DIRTY_BITMAP]],
  execute(x) {
    const room = bitmapBytes(x.v('length'), x.v('page_size'));
    const va = x.has('data') ? x.v('data') : x.userBuffer(new Uint8Array(room));
    const r = x.struct(
      U.IOMMU_HWPT_GET_DIRTY_BITMAP,
      U.iommu_hwpt_get_dirty_bitmap,
      { hwpt_id: x.n32('hwpt_id'), flags: x.n32('flags'), iova: x.v('iova'), length: x.v('length'), page_size: x.v('page_size'), data: va },
      [],
    );
    if (Number(r.ret) === 0) bitmapOutputs(x, va, room, r.outputs);
    return r;
  },
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    const h = pickHwpt(g, true);
    c.hwpt_id = h;
    const v = g.iova(typeof h === 'string' ? g.ofKind('hwpt').find((r) => r.name === h)?.ioas : undefined);
    c.iova = v.expr;
    c.length = num(interestingLength(rng, v.room));
    if (rng.bool(0.3)) c.page_size = rng.pick([0, 2048, 4096, 8192, 65536, Number(M2), 3]);
    if (rng.bool(0.3)) c.flags = ['NO_CLEAR'];
    if (rng.bool(0.05)) c.data = g.addr().expr;
    return c;
  },
  emitC(e) {
    const { L, v, has } = e;
    L(`uint64_t length = ${v('length')}, page_size = ${v('page_size')}, dirty = 0;`);
    L('uint64_t nbits = page_size ? length / page_size + (length % page_size != 0) : 0;');
    L(`size_t room = !page_size ? 8 : (nbits + 63) / 64 * 8 > ${ARRAY_MAX} ? ${ARRAY_MAX} : (nbits + 63) / 64 * 8 < 8 ? 8 : (size_t)((nbits + 63) / 64 * 8), k;`);
    L(`unsigned char *bits = ${has('data') ? `(unsigned char *)(uintptr_t)${v('data')}` : 'client_scratch(room)'};`);
    L('char text[2 * 256 + 1] = "";');
    e.structCmd('iommu_hwpt_get_dirty_bitmap', 'IOMMU_HWPT_GET_DIRTY_BITMAP', {
      hwpt_id: `(uint32_t)${v('hwpt_id')}`,
      flags: `(uint32_t)${v('flags')}`,
      iova: v('iova'),
      length: 'length',
      page_size: 'page_size',
      data: '(uint64_t)(uintptr_t)bits',
    });
    L('if (!rc) {');
    bitmapOutputsC((s = '') => L(s ? `\t${s}` : ''));
    L('}');
    e.outs.dirty = 'dirty';
    e.outs.data = 'text';
  },
};

export const hwpt_invalidate: OpModule = {
  name: 'hwpt_invalidate',
  spec: {
    doc: 'IOMMU_HWPT_INVALIDATE with `entries` ([flags, iotlb_id] pairs, struct iommu_hwpt_invalidate_selftest, one per entry_len bytes); outputs entry_num (the entries handled)',
    group: 'iommufd',
    ioctl: 'IOMMU_HWPT_INVALIDATE',
    since: '6.8',
    fields: {
      fd: fdField(),
      hwpt_id: req(u32('nested HWPT (or 7.x vIOMMU) ID', { handle: 'hwpt' })),
      data_type: enumField(INVALIDATE_DATA_TYPES, 'IOMMU_HWPT_INVALIDATE_DATA_*', 'SELFTEST'),
      entries: { kind: 'ranges', default: [], doc: 'list of [flags, iotlb_id] (flags: 1 = IOMMU_TEST_INVALIDATE_FLAG_ALL)' },
      entry_len: u32('bytes per entry (default 8)', { default: 8 }),
      entry_num: u32('number of entries (default: the length of entries)'),
      data_uptr: u64('entry array address (default: the entries)', { handle: 'addr' }),
      size: sizeWord,
    },
    outputs: { entry_num: 'value' },
  },
  weight: 1,
  newUapi: true,
  available: withCmd(U.IOMMU_HWPT_INVALIDATE),
  clientScratch: true,
  cStructs: [U.iommu_hwpt_invalidate],
  cIoctls: [['IOMMU_HWPT_INVALIDATE', U.IOMMU_HWPT_INVALIDATE]],
  execute(x) {
    const entries = x.ranges('entries');
    const len = x.n32('entry_len');
    const stride = entryStride(len);
    const bytes = new Uint8Array(Math.max(16, Math.min(stride * entries.length, ARRAY_MAX)));
    entries.forEach(([fl, id], i) => {
      if ((i + 1) * stride > bytes.length) return;
      le32(Number(BigInt.asUintN(32, fl)), bytes, i * stride);
      le32(Number(BigInt.asUintN(32, id)), bytes, i * stride + 4);
    });
    const va = x.has('data_uptr') ? x.v('data_uptr') : x.userBuffer(bytes);
    return x.struct(
      U.IOMMU_HWPT_INVALIDATE,
      U.iommu_hwpt_invalidate,
      { hwpt_id: x.n32('hwpt_id'), data_uptr: va, data_type: x.n32('data_type'), entry_len: len, entry_num: x.has('entry_num') ? x.n32('entry_num') : entries.length },
      ['entry_num'],
    );
  },
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    const nested = g.ofKind('hwpt').filter((h) => h.hwpt === 'nested');
    c.hwpt_id = nested.length > 0 && rng.bool(0.85) ? rng.pick(nested).name : g.id(['hwpt']);
    c.entries = invalidateEntries(g);
    if (rng.bool(0.1)) c.entry_len = rng.pick([0, 4, 7, 9, 16, 4097]);
    if (rng.bool(0.1)) c.entry_num = rng.pick([0, 1, 5, 0x10000]);
    if (rng.bool(0.05)) c.data_type = 'SELFTEST_INVALID';
    return c;
  },
  regenerate: (g, _c, name) => (name === 'entries' ? { value: invalidateEntries(g) } : undefined),
  emitC(e) {
    const { L, v, has } = e;
    const entries = Array.isArray(e.c.entries) ? (e.c.entries as unknown[][]) : [];
    L(`uint32_t len = (uint32_t)${v('entry_len')};`);
    L(`size_t stride = len >= 8 && len <= 4096 ? len : 8;`);
    L(`size_t bytes = stride * ${entries.length} < 16 ? 16 : stride * ${entries.length} > ${ARRAY_MAX} ? ${ARRAY_MAX} : stride * ${entries.length};`);
    L('unsigned char *ents = client_scratch(bytes);');
    L('');
    entries.forEach((en, k) => {
      L(`if (${k + 1} * stride <= bytes) {`);
      L(`\tuint32_t w[2] = { (uint32_t)${e.expr(en[0])}, (uint32_t)${e.expr(en[1])} };`);
      L('');
      L(`\tmemcpy(ents + ${k} * stride, w, 8);`);
      L('}');
    });
    e.structCmd('iommu_hwpt_invalidate', 'IOMMU_HWPT_INVALIDATE', {
      hwpt_id: `(uint32_t)${v('hwpt_id')}`,
      data_uptr: has('data_uptr') ? v('data_uptr') : '(uint64_t)(uintptr_t)ents',
      data_type: `(uint32_t)${v('data_type')}`,
      entry_len: 'len',
      entry_num: has('entry_num') ? `(uint32_t)${v('entry_num')}` : `${entries.length}`,
    });
    e.outs.entry_num = 'cmd.entry_num';
  },
};

/** A few selftest invalidation entries: [flags, iotlb_id], mostly valid (iotlb_id 0-3, flags 0 or ALL). */
function invalidateEntries(g: GenCtx): Array<[number, number]> {
  const rng = g.rng;
  const n = rng.pick([0, 1, 1, 2, 3]);
  return Array.from({ length: n }, (): [number, number] => [rng.bool(0.3) ? 1 : rng.bool(0.9) ? 0 : 2, rng.pick([0, 1, 2, 3, 4])]);
}

/** Bytes between invalidation entries in the array the op builds. */
function entryStride(len: number): number {
  return len >= 8 && len <= 4096 ? len : 8;
}

export const HWPT_OPS: readonly OpModule[] = [hwpt_alloc, get_hw_info, hwpt_set_dirty_tracking, hwpt_get_dirty_bitmap, hwpt_invalidate];
