// SPDX-License-Identifier: GPL-2.0-only
/** IOMMU_TEST_CMD ops of the HWPT era (6.7-6.12): DIRTY, MD_CHECK_IOTLB and DEV_CHECK_CACHE. */
import * as U from '../../iommufd/uapi.js';
import { cBytes, parseHex, req, testFields, u32, u64, withTestOp } from './spec.js';
import type { OpModule } from './types.js';
import { interestingLength, num } from './values.js';

/** Largest bitmap the DIRTY op builds. */
const BITMAP_MAX = 1 << 20;

/** Bytes of a bitmap of one bit per page_size page of `length` (u64 words; at least one). */
function dirtyBitmapBytes(length: bigint, pageSize: bigint): number {
  if (pageSize === 0n) return 8;
  const bits = (length + pageSize - 1n) / pageSize;
  const bytes = ((bits + 63n) / 64n) * 8n;
  return Number(bytes > BigInt(BITMAP_MAX) ? BigInt(BITMAP_MAX) : bytes < 8n ? 8n : bytes);
}

export const dirty: OpModule = {
  name: 'dirty',
  spec: {
    doc: 'IOMMU_TEST_OP_DIRTY: the mock domain of `hwpt` marks dirty the IOPTEs of [iova, iova+length) whose bit is set in `bitmap` (hex bytes, one bit per page_size; default all ones), or in the bitmap at `uptr`; outputs nr_dirty',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'DIRTY',
    since: '6.7',
    fields: testFields({
      hwpt: req(u32('HWPT ID (a paging mock domain)', { handle: 'hwpt' })),
      iova: req(u64('first IOVA', { handle: 'iova' })),
      length: req(u64('length')),
      page_size: u64('bitmap granule', { default: 4096 }),
      bitmap: { kind: 'hex', doc: 'bitmap bytes (default: all ones)' },
      uptr: u64('bitmap address (instead of `bitmap`)', { handle: 'addr' }),
      flags: u32('dirty.flags', { default: 0 }),
    }),
    primary: 'nr_dirty',
    outputs: { nr_dirty: 'value' },
  },
  weight: 0.7,
  newUapi: true,
  available: withTestOp(U.IOMMU_TEST_OP_DIRTY),
  clientScratch: true,
  execute(x) {
    let uptr: bigint;
    if (x.has('uptr')) uptr = x.v('uptr');
    else {
      const given = x.has('bitmap') ? parseHex(x.call.bitmap) : undefined;
      if (typeof given === 'string') x.fail(`dirty.bitmap: ${given}`);
      const bytes = (given as Uint8Array | undefined) ?? new Uint8Array(dirtyBitmapBytes(x.v('length'), x.v('page_size'))).fill(0xff);
      uptr = x.userBuffer(bytes.length > 0 ? bytes : new Uint8Array(8));
    }
    return x.test(
      'DIRTY',
      x.n32('hwpt'),
      { 'dirty.flags': x.n32('flags'), 'dirty.iova': x.v('iova'), 'dirty.length': x.v('length'), 'dirty.page_size': x.v('page_size'), 'dirty.uptr': uptr },
      ['nr_dirty:dirty.out_nr_dirty'],
    );
  },
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    const ds = g.ofKind('hwpt').filter((h) => h.dirty);
    const h = ds.length > 0 && rng.bool(0.8) ? rng.pick(ds) : g.need(['hwpt']);
    c.hwpt = h ? h.name : g.id(['hwpt']);
    const v = g.iova(h?.ioas);
    c.iova = v.expr;
    c.length = num(interestingLength(rng, v.room));
    if (rng.bool(0.3)) c.page_size = rng.pick([0, 2048, 4096, 8192, 2 << 20]);
    if (rng.bool(0.3)) c.bitmap = rng.pick(['55', 'aa', '01', '80', '0f00', 'ff00ff00ff00ff00']);
    return c;
  },
  emitC(e) {
    const { L, v, has } = e;
    if (has('uptr')) L('');
    else if (has('bitmap')) {
      const b = parseHex(e.c.bitmap);
      const arr = typeof b === 'string' || b.length === 0 ? new Uint8Array(8) : b;
      L(`static const unsigned char init[${arr.length}] = { ${cBytes(arr)} };`);
      L(`unsigned char *bits = client_scratch(${arr.length});`);
      L('');
      L(`memcpy(bits, init, ${arr.length});`);
    } else {
      L(`uint64_t length = ${v('length')}, page_size = ${v('page_size')};`);
      L('uint64_t nbits = page_size ? length / page_size + (length % page_size != 0) : 0;');
      L(`size_t room = !page_size ? 8 : (nbits + 63) / 64 * 8 > ${BITMAP_MAX} ? ${BITMAP_MAX} : (nbits + 63) / 64 * 8 < 8 ? 8 : (size_t)((nbits + 63) / 64 * 8);`);
      L('unsigned char *bits = client_scratch(room);');
      L('');
      L('memset(bits, 0xff, room);');
    }
    e.testCmd('DIRTY', v('hwpt'), {
      'dirty.flags': `(uint32_t)${v('flags')}`,
      'dirty.iova': v('iova'),
      'dirty.length': v('length'),
      'dirty.page_size': v('page_size'),
      'dirty.uptr': has('uptr') ? v('uptr') : '(uint64_t)(uintptr_t)bits',
    });
    e.outs.nr_dirty = 'cmd.dirty.out_nr_dirty';
  },
};

export const md_check_iotlb: OpModule = {
  name: 'md_check_iotlb',
  spec: {
    doc: 'IOMMU_TEST_OP_MD_CHECK_IOTLB: entry `iotlb_id` of the nested mock domain `hwpt` holds `iotlb` (EINVAL otherwise)',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'MD_CHECK_IOTLB',
    since: '6.8',
    fields: testFields({ hwpt: req(u32('nested HWPT ID', { handle: 'hwpt' })), iotlb_id: req(u32('IOTLB entry (0-3)')), iotlb: req(u32('expected value')) }),
    outputs: {},
  },
  weight: 0.5,
  newUapi: true,
  available: withTestOp(U.IOMMU_TEST_OP_MD_CHECK_IOTLB),
  execute: (x) => x.test('MD_CHECK_IOTLB', x.n32('hwpt'), { 'check_iotlb.id': x.n32('iotlb_id'), 'check_iotlb.iotlb': x.n32('iotlb') }, []),
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    const nested = g.ofKind('hwpt').filter((h) => h.hwpt === 'nested');
    c.hwpt = nested.length > 0 && rng.bool(0.9) ? rng.pick(nested).name : g.id(['hwpt']);
    c.iotlb_id = rng.int(0, 4);
    c.iotlb = rng.pick([0, 1, 0xbadbeef, 0xffffffff]);
    return c;
  },
  emitC(e) {
    e.testCmd('MD_CHECK_IOTLB', e.v('hwpt'), { 'check_iotlb.id': `(uint32_t)${e.v('iotlb_id')}`, 'check_iotlb.iotlb': `(uint32_t)${e.v('iotlb')}` });
  },
};

export const dev_check_cache: OpModule = {
  name: 'dev_check_cache',
  spec: {
    doc: "IOMMU_TEST_OP_DEV_CHECK_CACHE: entry `cache_id` of the mock device's cache holds `cache` (EINVAL otherwise)",
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'DEV_CHECK_CACHE',
    since: '6.13',
    fields: testFields({ dev_id: req(u32('device ID (a mock device `.idev_id`)', { handle: 'idev' })), cache_id: req(u32('cache entry (0-3)')), cache: req(u32('expected value')) }),
    outputs: {},
  },
  weight: 0.3,
  newUapi: true,
  available: withTestOp(U.IOMMU_TEST_OP_DEV_CHECK_CACHE),
  execute: (x) => x.test('DEV_CHECK_CACHE', x.n32('dev_id'), { 'check_dev_cache.id': x.n32('cache_id'), 'check_dev_cache.cache': x.n32('cache') }, []),
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    c.dev_id = g.id(['idev']);
    c.cache_id = rng.int(0, 4);
    c.cache = rng.pick([0, 1, 0xbadbeef]);
    return c;
  },
  emitC(e) {
    e.testCmd('DEV_CHECK_CACHE', e.v('dev_id'), { 'check_dev_cache.id': `(uint32_t)${e.v('cache_id')}`, 'check_dev_cache.cache': `(uint32_t)${e.v('cache')}` });
  },
};

export const SELFTEST_HWPT_OPS: readonly OpModule[] = [dirty, md_check_iotlb, dev_check_cache];
