// SPDX-License-Identifier: GPL-2.0-only
/** IOMMU_TEST_CMD ops of the v6.5-v6.7 selftest: reserved ranges, mock devices, domain checks, accesses. */
import * as U from '../../iommufd/uapi.js';
import { ACCESS_PAGES_FLAGS, ACCESS_RW_FLAGS, CREATE_ACCESS_FLAGS, MOCK_DEV_FLAGS, MOCK_OUTPUTS, flags, hasTestOp, req, testFields, u32, u64 } from './spec.js';
import type { Call } from '../program.js';
import type { GenCtx, OpModule, Res } from './types.js';
import { K2, K4, TEMP_LIMITS, baseHandle, interestingLength, literal, num, pickW, rel } from './values.js';

const mockOuts = (m: string): string[] => [`stdev_id:${m}.out_stdev_id`, `hwpt_id:${m}.out_hwpt_id`, `idev_id:${m}.out_idev_id`];

export const add_reserved: OpModule = {
  name: 'add_reserved',
  spec: {
    doc: 'IOMMU_TEST_OP_ADD_RESERVED: reserve [start, start+length-1] in the IOAS',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'ADD_RESERVED',
    fields: testFields({ ioas: req(u32('IOAS ID', { handle: 'ioas' })), start: req(u64('first IOVA', { handle: 'iova' })), length: req(u64('length')) }),
    outputs: {},
  },
  weight: 1,
  execute: (x) => x.test('ADD_RESERVED', x.n32('ioas'), { 'add_reserved.start': x.v('start'), 'add_reserved.length': x.v('length') }, []),
  generate(g, c) {
    g.needIommufd();
    const rng = g.rng;
    c.ioas = g.id(['ioas']);
    const v = g.iova(typeof c.ioas === 'string' ? c.ioas : undefined);
    c.start = v.expr;
    c.length = num(interestingLength(rng, v.room));
    // Often beside an area rather than over it (a reservation over an area is refused): from the
    // byte after its end, or ending on the byte before its start.
    const a = v.area;
    if (a !== undefined && rng.bool(0.5)) {
      const len = pickW<bigint>(rng, [
        [3, K4],
        [2, 4n * K4],
        [1, K2],
        [1, 1n],
      ]);
      c.length = num(len);
      if (a.len !== undefined && a.len < 1n << 62n && rng.bool(0.6)) c.start = rel(a.name, a.len + pickW<bigint>(rng, [[4, 0n], [1, K4]]));
      else c.start = rel(a.name, -len - pickW<bigint>(rng, [[4, 0n], [1, K4]]));
    }
    return c;
  },
  emitC(e) {
    e.testCmd('ADD_RESERVED', e.v('ioas'), { 'add_reserved.start': e.v('start'), 'add_reserved.length': e.v('length') });
  },
};

export const mock_domain: OpModule = {
  name: 'mock_domain',
  spec: {
    doc: 'IOMMU_TEST_OP_MOCK_DOMAIN: a mock device attached to `pt`; `as` binds the selftest device ID, `.hwpt_id` and `.idev_id` the others',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'MOCK_DOMAIN',
    fields: testFields({ pt: req(u32('IOAS or HWPT ID', { handle: 'ioas' })) }),
    primary: 'stdev_id',
    outputs: MOCK_OUTPUTS,
  },
  weight: 5,
  consumes: ['hwpt'],
  produces: ['stdev', 'hwpt', 'idev'],
  execute: (x) => x.test('MOCK_DOMAIN', x.n32('pt'), {}, mockOuts('mock_domain')),
  generate(g, c) {
    g.needIommufd();
    c.as = g.fresh();
    c.pt = g.rng.bool(0.85) ? g.id(['ioas']) : g.id(['hwpt']);
    return c;
  },
  scope: mockScope,
  emitC(e) {
    e.testCmd('MOCK_DOMAIN', e.v('pt'), {});
    mockOutsC(e.outs, 'mock_domain');
  },
};

function mockScope(c: Call, as: string, add: (r: Omit<Res, 'call'>) => void): void {
  const ioas = baseHandle(c.pt);
  add({ kind: 'stdev', name: as, ioas });
  add({ kind: 'hwpt', name: `${as}.hwpt_id`, ioas, hwpt: 'auto' });
  add({ kind: 'idev', name: `${as}.idev_id`, ioas });
}

function mockOutsC(outs: Record<string, string>, m: string): void {
  outs.stdev_id = `cmd.${m}.out_stdev_id`;
  outs.hwpt_id = `cmd.${m}.out_hwpt_id`;
  outs.idev_id = `cmd.${m}.out_idev_id`;
}

export const mock_domain_flags: OpModule = {
  name: 'mock_domain_flags',
  spec: {
    doc: 'IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS: mock_domain with device flags (NO_DIRTY: no dirty tracking; HUGE_IOVA: 6.12 only; PASID: 7.x)',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'MOCK_DOMAIN_FLAGS',
    since: '6.7',
    fields: testFields({ pt: req(u32('IOAS or HWPT ID', { handle: 'ioas' })), dev_flags: flags(MOCK_DEV_FLAGS, 'MOCK_FLAGS_DEVICE_*', []) }),
    primary: 'stdev_id',
    outputs: MOCK_OUTPUTS,
  },
  weight: 1,
  consumes: ['hwpt'],
  // The op came with the 6.7 test command layout (its union has mock_domain_flags).
  available: (p) => hasTestOp(p, U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS) && p.testCmdDirtyUnion,
  execute: (x) => x.test('MOCK_DOMAIN_FLAGS', x.n32('pt'), { 'mock_domain_flags.dev_flags': x.n32('dev_flags') }, mockOuts('mock_domain_flags')),
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    c.as = g.fresh();
    c.pt = rng.bool(0.85) ? g.id(['ioas']) : g.id(['hwpt']);
    if (!g.newOps) {
      c.dev_flags = ['NO_DIRTY', 'HUGE_IOVA'].filter(() => rng.bool(0.5));
      return c;
    }
    const valid = g.profile?.mockDevValidFlags ?? 0x3;
    // Mostly the flags this kernel's mock takes; now and then one it refuses.
    const names = (Object.keys(MOCK_DEV_FLAGS) as Array<keyof typeof MOCK_DEV_FLAGS>).filter((n) => valid === 0x3 ? n !== 'PASID' : (MOCK_DEV_FLAGS[n] & valid) !== 0 || rng.bool(0.1));
    c.dev_flags = names.filter(() => rng.bool(0.5));
    return c;
  },
  scope: mockScope,
  emitC(e) {
    e.testCmd('MOCK_DOMAIN_FLAGS', e.v('pt'), { 'mock_domain_flags.dev_flags': `(uint32_t)${e.v('dev_flags')}` });
    mockOutsC(e.outs, 'mock_domain_flags');
  },
};

export const mock_domain_replace: OpModule = {
  name: 'mock_domain_replace',
  spec: {
    doc: 'IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: move a mock device to another IOAS/HWPT; outputs the HWPT now used',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'MOCK_DOMAIN_REPLACE',
    since: '6.6',
    fields: testFields({ stdev: req(u32('selftest device ID', { handle: 'stdev' })), pt: req(u32('IOAS or HWPT ID', { handle: 'ioas' })) }),
    primary: 'pt_id',
    outputs: { pt_id: 'hwpt' },
  },
  weight: 1,
  consumes: ['hwpt'],
  available: (p) => hasTestOp(p, U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE) && p.accessReplace,
  execute: (x) => x.test('MOCK_DOMAIN_REPLACE', x.n32('stdev'), { 'mock_domain_replace.pt_id': x.n32('pt') }, ['pt_id:mock_domain_replace.pt_id']),
  generate(g, c) {
    g.needIommufd();
    c.as = g.fresh();
    c.stdev = g.id(['stdev']);
    c.pt = g.rng.bool(0.6) ? g.id(['ioas']) : g.id(['hwpt']);
    return c;
  },
  scope(_c, as, add) {
    add({ kind: 'hwpt', name: as });
  },
  emitC(e) {
    e.testCmd('MOCK_DOMAIN_REPLACE', e.v('stdev'), { 'mock_domain_replace.pt_id': `(uint32_t)${e.v('pt')}` });
    e.outs.pt_id = 'cmd.mock_domain_replace.pt_id';
  },
};

export const md_check_map: OpModule = {
  name: 'md_check_map',
  spec: {
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
  weight: 0.5,
  execute: (x) => x.test('MD_CHECK_MAP', x.n32('hwpt'), { 'check_map.iova': x.v('iova'), 'check_map.length': x.v('length'), 'check_map.uptr': x.v('uptr') }, []),
  generate(g, c) {
    g.needIommufd();
    const h = g.need(['hwpt']);
    c.hwpt = h ? h.name : g.id(['hwpt']);
    const v = g.iova(h?.ioas);
    c.iova = v.expr;
    c.length = num(walkLength(interestingLength(g.rng, v.room)));
    c.uptr = g.addr().expr;
    return c;
  },
  emitC(e) {
    e.testCmd('MD_CHECK_MAP', e.v('hwpt'), { 'check_map.iova': e.v('iova'), 'check_map.length': e.v('length'), 'check_map.uptr': e.v('uptr') });
  },
};

/** Longest page-by-page walk the generator asks of MD_CHECK_MAP / MD_CHECK_REFS. */
const WALK_CAP = 256n << 20n;

/**
 * A length for a test op that walks page by page: runs over a huge buffer are
 * cut to 256 MiB (the kernel's loop costs ~0.1 µs a page, the model's a few
 * µs; a 2 TiB walk stalls a campaign for hours). Unaligned lengths and
 * those near 2^64 stay: they fail before the walk.
 */
function walkLength(len: bigint): bigint {
  return len > WALK_CAP && len % 4096n === 0n && len <= 1n << 63n ? WALK_CAP : len;
}

export const md_check_refs: OpModule = {
  name: 'md_check_refs',
  spec: {
    doc: "IOMMU_TEST_OP_MD_CHECK_REFS: every page of [uptr, uptr+length) has pin count `refs` (EIO otherwise). Like the kernel's test op it skips pages of compound folios, so on THP or hugetlb memory it passes whatever the count: use check_state to assert pins there",
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'MD_CHECK_REFS',
    fields: testFields({ uptr: req(u64('user address', { handle: 'addr' })), length: req(u64('length')), refs: req(u32('expected pin count')) }),
    outputs: {},
  },
  weight: 0.5,
  execute: (x) => x.test('MD_CHECK_REFS', 0, { 'check_refs.length': x.v('length'), 'check_refs.uptr': x.v('uptr'), 'check_refs.refs': x.n32('refs') }, []),
  generate(g, c) {
    g.needIommufd();
    const a = g.addr();
    c.uptr = a.expr;
    c.length = num(walkLength(interestingLength(g.rng, a.room)));
    c.refs = g.rng.int(0, 2);
    return c;
  },
  emitC(e) {
    e.testCmd('MD_CHECK_REFS', '0', { 'check_refs.length': e.v('length'), 'check_refs.uptr': e.v('uptr'), 'check_refs.refs': `(uint32_t)${e.v('refs')}` });
  },
};

export const create_access: OpModule = {
  name: 'create_access',
  spec: {
    doc: 'IOMMU_TEST_OP_CREATE_ACCESS: an in-kernel access (mdev-like) on the IOAS; `as` binds its fd',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'CREATE_ACCESS',
    fields: testFields({ ioas: req(u32('IOAS ID', { handle: 'ioas' })), flags: flags(CREATE_ACCESS_FLAGS, 'MOCK_FLAGS_ACCESS_CREATE_*', []) }),
    primary: 'access_fd',
    outputs: { access_fd: 'access' },
  },
  weight: 3,
  localRet: true,
  produces: ['access'],
  execute: (x) =>
    x.test('CREATE_ACCESS', x.n32('ioas'), { 'create_access.flags': x.n32('flags') }, ['access_fd:create_access.out_access_fd'], (rc, out) => {
      if (rc < 0) out.access_fd = -1;
    }),
  generate(g, c) {
    g.needIommufd();
    c.as = g.fresh();
    c.ioas = g.id(['ioas']);
    c.flags = g.rng.bool(0.85) ? ['NEEDS_PIN_PAGES'] : [];
    return c;
  },
  scope(c, as, add) {
    add({ kind: 'access', name: as, ioas: baseHandle(c.ioas) });
  },
  emitC(e) {
    e.testCmd('CREATE_ACCESS', e.v('ioas'), { 'create_access.flags': `(uint32_t)${e.v('flags')}` });
    e.outs.access_fd = '(uint64_t)(rc < 0 ? (int64_t)-1 : (int64_t)cmd.create_access.out_access_fd)';
  },
};

export const access_replace_ioas: OpModule = {
  name: 'access_replace_ioas',
  spec: {
    doc: 'IOMMU_TEST_OP_ACCESS_REPLACE_IOAS: move the access to another IOAS',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'ACCESS_REPLACE_IOAS',
    since: '6.6',
    fields: testFields({ access: req(u32('access fd', { handle: 'access' })), ioas: req(u32('IOAS ID', { handle: 'ioas' })) }),
    outputs: {},
  },
  weight: 1,
  available: (p) => hasTestOp(p, U.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS) && p.accessReplace,
  execute: (x) => x.test('ACCESS_REPLACE_IOAS', x.n32('access'), { 'access_replace_ioas.ioas_id': x.n32('ioas') }, []),
  generate(g, c) {
    g.needIommufd();
    c.access = g.id(['access']);
    c.ioas = g.id(['ioas']);
    return c;
  },
  emitC(e) {
    e.testCmd('ACCESS_REPLACE_IOAS', e.v('access'), { 'access_replace_ioas.ioas_id': `(uint32_t)${e.v('ioas')}` });
  },
};

/** access_pages / access_rw: an access and an IOVA range in its IOAS. */
function accessCall(g: GenCtx, c: Call): Call {
  const rng = g.rng;
  g.needIommufd();
  const acc = g.need(['access']);
  c.access = acc ? acc.name : g.id(['access']);
  const v = g.iova(acc?.ioas);
  c.iova = v.expr;
  c.length = num(c.op === 'access_rw' && rng.bool(0.5) ? BigInt(rng.pick([1, 2, 7, 64, 4095, 4096, 4097, 8192])) : interestingLength(rng, v.room));
  if (v.area?.len !== undefined && v.area.len > K4 && rng.bool(0.2)) {
    // Across the end of an area, into whatever follows it (often the next area).
    const before = c.op === 'access_rw' ? pickW<bigint>(rng, [[1, 1n], [1, 7n], [2, K2], [3, K4]]) : K4;
    c.iova = rel(v.area.name, v.area.len - before);
    c.length = num(before + pickW<bigint>(rng, [[1, 1n], [1, K2], [3, K4], [2, 2n * K4]]));
  }
  if (c.op === 'access_pages') {
    c.as = g.fresh();
    if (rng.bool(0.5)) c.flags = ['WRITE'];
  } else {
    c.uptr = g.addr().expr;
    c.flags = ['WRITE', 'SLOW_PATH'].filter(() => rng.bool(0.5));
  }
  return c;
}

export const access_pages: OpModule = {
  name: 'access_pages',
  spec: {
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
  weight: 6,
  produces: ['access_pages'],
  execute: (x) =>
    x.test(
      'ACCESS_PAGES',
      x.n32('access'),
      { 'access_pages.flags': x.n32('flags'), 'access_pages.iova': x.v('iova'), 'access_pages.length': x.v('length'), 'access_pages.uptr': x.v('uptr') },
      ['access_pages_id:access_pages.out_access_pages_id'],
    ),
  generate: accessCall,
  scope(c, as, add) {
    add({ kind: 'access_pages', name: as, access: baseHandle(c.access), len: literal(c.length) });
  },
  emitC(e) {
    const { v } = e;
    e.testCmd('ACCESS_PAGES', v('access'), {
      'access_pages.flags': `(uint32_t)${v('flags')}`,
      'access_pages.iova': v('iova'),
      'access_pages.length': v('length'),
      'access_pages.uptr': v('uptr'),
    });
    e.outs.access_pages_id = 'cmd.access_pages.out_access_pages_id';
  },
};

export const destroy_access_pages: OpModule = {
  name: 'destroy_access_pages',
  spec: {
    doc: 'IOMMU_TEST_OP_DESTROY_ACCESS_PAGES: unpin an access_pages item',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'DESTROY_ACCESS_PAGES',
    fields: testFields({ access: req(u32('access fd', { handle: 'access' })), access_pages_id: req(u32('item ID', { handle: 'access_pages' })) }),
    outputs: {},
  },
  weight: 2,
  execute: (x) => x.test('DESTROY_ACCESS_PAGES', x.n32('access'), { 'destroy_access_pages.access_pages_id': x.n32('access_pages_id') }, []),
  generate(g, c) {
    g.needIommufd();
    const it = g.need(['access_pages']);
    c.access = it?.access ?? g.id(['access']);
    c.access_pages_id = it ? it.name : g.rng.int(0, 4);
    return c;
  },
  emitC(e) {
    e.testCmd('DESTROY_ACCESS_PAGES', e.v('access'), { 'destroy_access_pages.access_pages_id': `(uint32_t)${e.v('access_pages_id')}` });
  },
};

export const access_rw: OpModule = {
  name: 'access_rw',
  spec: {
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
  weight: 3,
  execute: (x) =>
    x.test('ACCESS_RW', x.n32('access'), { 'access_rw.iova': x.v('iova'), 'access_rw.length': x.v('length'), 'access_rw.uptr': x.v('uptr'), 'access_rw.flags': x.n32('flags') }, []),
  generate: accessCall,
  emitC(e) {
    const { v } = e;
    e.testCmd('ACCESS_RW', v('access'), { 'access_rw.iova': v('iova'), 'access_rw.length': v('length'), 'access_rw.uptr': v('uptr'), 'access_rw.flags': `(uint32_t)${v('flags')}` });
  },
};

export const set_temp_memory_limit: OpModule = {
  name: 'set_temp_memory_limit',
  spec: {
    doc: 'IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT: the size of the temporary batch buffers (default 65536)',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'SET_TEMP_MEMORY_LIMIT',
    fields: testFields({ limit: req(u32('bytes')) }),
    outputs: {},
  },
  weight: 1,
  execute: (x) => x.test('SET_TEMP_MEMORY_LIMIT', 0, { 'memory_limit.limit': x.n32('limit') }, []),
  generate(g, c) {
    g.needIommufd();
    c.limit = g.rng.pick(TEMP_LIMITS);
    return c;
  },
  emitC(e) {
    e.testCmd('SET_TEMP_MEMORY_LIMIT', '0', { 'memory_limit.limit': `(uint32_t)${e.v('limit')}` });
  },
};

export const SELFTEST_OPS: readonly OpModule[] = [
  add_reserved,
  mock_domain,
  mock_domain_flags,
  mock_domain_replace,
  md_check_map,
  md_check_refs,
  create_access,
  access_replace_ioas,
  access_pages,
  destroy_access_pages,
  access_rw,
  set_temp_memory_limit,
];
