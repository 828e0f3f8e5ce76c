// SPDX-License-Identifier: GPL-2.0-only
/**
 * The other 7.x commands and test ops the model builds: IOMMU_IOAS_MAP_FILE,
 * IOMMU_IOAS_CHANGE_PROCESS, IOMMU_VEVENTQ_ALLOC, IOMMU_HW_QUEUE_ALLOC, and
 * the test ops TRIGGER_VEVENT, PASID_ATTACH / REPLACE / DETACH / CHECK_HWPT,
 * DMABUF_GET / REVOKE.
 */
import * as U from '../../iommufd/uapi.js';
import { IOAS_MAP_FLAGS, enumField, fdField, flags, req, sizeWord, testFields, u32, u64, withCmd, withTestOp, fileFd } from './spec.js';
import { mapFlagsFor } from './ioas.js';
import type { OpModule, Res } from './types.js';
import { K4, M2, baseHandle, interestingLength, literal, num, pickW } from './values.js';

/** Set while an op has a MAP_FILE of this file made first (DMABUF_REVOKE: a dma-buf that is mapped). */
let mapThis: Res | undefined;

export const ioas_map_file: OpModule = {
  name: 'ioas_map_file',
  spec: {
    doc: 'IOMMU_IOAS_MAP_FILE: map [start, start+length) of the memfd `file`; `as` binds the IOVA. Default flags: READABLE|WRITEABLE, plus FIXED_IOVA when `iova` is given',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_MAP_FILE',
    since: '6.14',
    fields: {
      fd: fdField(),
      ioas: req(u32('IOAS ID', { handle: 'ioas' })),
      file: fileFd('the memfd to map'),
      start: u64('file offset', { default: 0 }),
      length: req(u64('length')),
      iova: u64('IOVA (with FIXED_IOVA) or hint', { handle: 'iova' }),
      flags: flags(IOAS_MAP_FLAGS, 'IOMMU_IOAS_MAP_* flags'),
      size: sizeWord,
    },
    primary: 'iova',
    outputs: { iova: 'iova' },
  },
  weight: 1.5,
  newUapi: true,
  available: withCmd(U.IOMMU_IOAS_MAP_FILE),
  cStructs: [U.iommu_ioas_map_file],
  cIoctls: [['IOMMU_IOAS_MAP_FILE', U.IOMMU_IOAS_MAP_FILE]],
  execute(x) {
    const fl = x.has('flags') ? x.n32('flags') : U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE | (x.has('iova') ? U.IOMMU_IOAS_MAP_FIXED_IOVA : 0);
    return x.struct(U.IOMMU_IOAS_MAP_FILE, U.iommu_ioas_map_file, { flags: fl, ioas_id: x.n32('ioas'), fd: x.s32('file'), start: x.v('start'), length: x.v('length'), iova: x.v('iova') }, ['iova']);
  },
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    // A dma-buf (its length known from DMABUF_GET) or a memfd given a size first, mostly.
    const dmabufs = (): Res[] => g.ofKind('memfd').filter((r) => r.len !== undefined);
    const asked = mapThis;
    mapThis = undefined;
    if (g.profile && dmabuf_get.available?.(g.profile) !== false && dmabufs().length === 0 && rng.bool(0.3)) g.emit('dmabuf_get');
    let f: Res | undefined = asked ?? (dmabufs().length > 0 && rng.bool(0.5) ? rng.pick(dmabufs()) : undefined);
    if (!f) {
      const memfds = g.ofKind('memfd').filter((r) => r.len === undefined);
      if (memfds.length === 0 || rng.bool(0.3)) {
        if (memfds.length === 0) g.emit('memfd_create');
        g.emit('ftruncate');
      }
      f = g.need(['memfd']);
    }
    c.as = g.fresh();
    c.ioas = g.id(['ioas']);
    c.file = f ? f.name : rng.pick([-1, 0, 3]);
    const size = f?.len;
    if (size !== undefined && size > 0n && rng.bool(0.8)) {
      // Inside the dma-buf mostly: a page-aligned start and what is left after it, or less.
      const start = rng.bool(0.6) ? 0n : K4 * BigInt(rng.below(Number(size / K4)));
      c.start = num(start);
      c.length = num(rng.bool(0.6) ? size - start : K4 * BigInt(rng.int(1, Math.max(1, Number((size - start) / K4)))));
    } else {
      c.start = num(rng.pick([0n, 0n, K4, M2, 1n]));
      c.length = num(interestingLength(rng, rng.bool(0.5) ? M2 : undefined));
    }
    if (rng.bool(0.3)) c.iova = g.iova(typeof c.ioas === 'string' ? c.ioas : undefined).expr;
    // read-only file mappings too (no FOLL_WRITE: a write-sealed memfd maps)
    if (rng.bool(0.25)) c.flags = mapFlagsFor(g, c.iova !== undefined);
    return c;
  },
  scope(c, as, add) {
    add({ kind: 'area', name: as, ioas: baseHandle(c.ioas), len: literal(c.length) });
  },
  emitC(e) {
    const { v, has } = e;
    const fl = has('flags') ? `(uint32_t)${v('flags')}` : `${U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE | (has('iova') ? U.IOMMU_IOAS_MAP_FIXED_IOVA : 0)}`;
    e.structCmd('iommu_ioas_map_file', 'IOMMU_IOAS_MAP_FILE', { flags: fl, ioas_id: `(uint32_t)${v('ioas')}`, fd: `(int32_t)${v('file')}`, start: v('start'), length: v('length'), iova: v('iova') });
    e.outs.iova = 'cmd.iova';
  },
};

export const ioas_change_process: OpModule = {
  name: 'ioas_change_process',
  spec: {
    doc: "IOMMU_IOAS_CHANGE_PROCESS: move the pins and accounting of every IOAS's file-less mappings to the calling process",
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_CHANGE_PROCESS',
    since: '6.14',
    fields: { fd: fdField(), __reserved: u32('must be 0', { default: 0 }), size: sizeWord },
    outputs: {},
  },
  weight: 0.4,
  newUapi: true,
  available: withCmd(U.IOMMU_IOAS_CHANGE_PROCESS),
  // Picked where areas exist (what it moves), often from a forked child.
  consumes: ['area', 'proc'],
  cStructs: [U.iommu_ioas_change_process],
  cIoctls: [['IOMMU_IOAS_CHANGE_PROCESS', U.IOMMU_IOAS_CHANGE_PROCESS]],
  execute: (x) => x.struct(U.IOMMU_IOAS_CHANGE_PROCESS, U.iommu_ioas_change_process, { __reserved: x.n32('__reserved') }, []),
  generate(g, c) {
    g.needIommufd();
    // From another process than the one that mapped, often (what the command is for).
    if (g.procs().length === 0 && g.rng.bool(0.3)) g.emit('fork');
    const procs = g.procs();
    if (procs.length > 0 && g.rng.bool(0.6)) c.proc = g.rng.pick(procs);
    else g.maybeProc(c);
    if (g.rng.bool(0.03)) c.__reserved = 1;
    return c;
  },
  emitC(e) {
    e.structCmd('iommu_ioas_change_process', 'IOMMU_IOAS_CHANGE_PROCESS', { __reserved: `(uint32_t)${e.v('__reserved')}` });
  },
};

export const veventq_alloc: OpModule = {
  name: 'veventq_alloc',
  spec: {
    doc: 'IOMMU_VEVENTQ_ALLOC on a vIOMMU; `as` binds the vEVENTQ ID, `.veventq_fd` its fd',
    group: 'iommufd',
    ioctl: 'IOMMU_VEVENTQ_ALLOC',
    since: '6.15',
    fields: {
      fd: fdField(),
      flags: u32('must be 0', { default: 0 }),
      viommu_id: req(u32('vIOMMU ID', { handle: 'viommu' })),
      type: enumField({ SELFTEST: U.IOMMU_VEVENTQ_TYPE_SELFTEST, DEFAULT: 0 }, 'IOMMU_VEVENTQ_TYPE_*', 'SELFTEST'),
      veventq_depth: u32('queue depth', { default: 2 }),
      size: sizeWord,
    },
    primary: 'veventq_id',
    outputs: { veventq_id: 'value', veventq_fd: 'fd' },
  },
  weight: 0.3,
  newUapi: true,
  available: withCmd(U.IOMMU_VEVENTQ_ALLOC),
  cStructs: [U.iommu_veventq_alloc],
  cIoctls: [['IOMMU_VEVENTQ_ALLOC', U.IOMMU_VEVENTQ_ALLOC]],
  execute(x) {
    const r = x.struct(
      U.IOMMU_VEVENTQ_ALLOC,
      U.iommu_veventq_alloc,
      { flags: x.n32('flags'), viommu_id: x.n32('viommu_id'), type: x.n32('type'), veventq_depth: x.n32('veventq_depth') },
      ['veventq_id:out_veventq_id', 'veventq_fd:out_veventq_fd'],
    );
    if (Number(r.ret) < 0) r.outputs.veventq_fd = -1;
    return r;
  },
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    c.as = g.fresh();
    c.viommu_id = g.id(['viommu']);
    if (rng.bool(0.2)) c.veventq_depth = rng.pick([0, 1, 0x80000]);
    return c;
  },
  emitC(e) {
    const { v } = e;
    e.structCmd('iommu_veventq_alloc', 'IOMMU_VEVENTQ_ALLOC', {
      flags: `(uint32_t)${v('flags')}`,
      viommu_id: `(uint32_t)${v('viommu_id')}`,
      type: `(uint32_t)${v('type')}`,
      veventq_depth: `(uint32_t)${v('veventq_depth')}`,
    });
    e.outs.veventq_id = 'cmd.out_veventq_id';
    e.outs.veventq_fd = '(uint64_t)(rc < 0 ? (int64_t)-1 : (int64_t)cmd.out_veventq_fd)';
  },
};

export const hw_queue_alloc: OpModule = {
  name: 'hw_queue_alloc',
  spec: {
    doc: 'IOMMU_HW_QUEUE_ALLOC: a guest queue of `length` bytes at `nesting_parent_iova` (in the vIOMMU\'s nesting parent); `as` binds its ID',
    group: 'iommufd',
    ioctl: 'IOMMU_HW_QUEUE_ALLOC',
    since: '6.17',
    fields: {
      fd: fdField(),
      flags: u32('must be 0', { default: 0 }),
      viommu_id: req(u32('vIOMMU ID', { handle: 'viommu' })),
      type: enumField({ SELFTEST: U.IOMMU_HW_QUEUE_TYPE_SELFTEST, DEFAULT: 0 }, 'IOMMU_HW_QUEUE_TYPE_*', 'SELFTEST'),
      index: u32('queue index', { default: 0 }),
      nesting_parent_iova: req(u64('IOVA of the queue in the nesting parent', { handle: 'iova' })),
      length: req(u64('queue length')),
      size: sizeWord,
    },
    primary: 'hw_queue_id',
    outputs: { hw_queue_id: 'value' },
  },
  weight: 0.6,
  newUapi: true,
  available: withCmd(U.IOMMU_HW_QUEUE_ALLOC),
  cStructs: [U.iommu_hw_queue_alloc],
  cIoctls: [['IOMMU_HW_QUEUE_ALLOC', U.IOMMU_HW_QUEUE_ALLOC]],
  execute: (x) =>
    x.struct(
      U.IOMMU_HW_QUEUE_ALLOC,
      U.iommu_hw_queue_alloc,
      { flags: x.n32('flags'), viommu_id: x.n32('viommu_id'), type: x.n32('type'), index: x.n32('index'), nesting_parent_iova: x.v('nesting_parent_iova'), length: x.v('length') },
      ['hw_queue_id:out_hw_queue_id'],
    ),
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    c.viommu_id = g.id(['viommu']);
    c.as = g.fresh();
    // An IOVA mapped in the nesting parent's IOAS (a vIOMMU's parent is a NEST_PARENT HWPT), mostly.
    const parents = g.ofKind('hwpt').filter((h) => h.nestParent && h.ioas !== undefined);
    const ioas = parents.length > 0 && rng.bool(0.9) ? rng.pick(parents).ioas : undefined;
    // Often a fresh map first (earlier ones may have failed or gone): the newest area of that IOAS.
    if (rng.bool(0.5)) g.emit('ioas_map');
    const fresh = g.ofKind('area').filter((a) => a.ioas === ioas);
    const v = g.iova(ioas);
    // The area's start mostly (the queue must lie inside what is mapped there), else what iova() chose.
    c.nesting_parent_iova = fresh.length > 0 && rng.bool(0.6) ? fresh[fresh.length - 1].name : v.area && rng.bool(0.6) ? v.area.name : v.expr;
    c.length = num(pickW(rng, [
      [6, () => K4],
      [2, () => 2n * K4],
      [1, () => 0n],
      [2, () => interestingLength(rng, v.room)],
    ] as const)());
    if (rng.bool(0.3)) c.index = rng.int(0, 2);
    return c;
  },
  emitC(e) {
    const { v } = e;
    e.structCmd('iommu_hw_queue_alloc', 'IOMMU_HW_QUEUE_ALLOC', {
      flags: `(uint32_t)${v('flags')}`,
      viommu_id: `(uint32_t)${v('viommu_id')}`,
      type: `(uint32_t)${v('type')}`,
      index: `(uint32_t)${v('index')}`,
      nesting_parent_iova: v('nesting_parent_iova'),
      length: v('length'),
    });
    e.outs.hw_queue_id = 'cmd.out_hw_queue_id';
  },
};

export const trigger_vevent: OpModule = {
  name: 'trigger_vevent',
  spec: {
    doc: 'IOMMU_TEST_OP_TRIGGER_VEVENT: the mock device `dev_id` reports an event to its vIOMMU\'s vEVENTQ',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'TRIGGER_VEVENT',
    since: '6.15',
    fields: testFields({ dev_id: req(u32('device ID', { handle: 'idev' })) }),
    outputs: {},
  },
  weight: 0.2,
  newUapi: true,
  available: withTestOp(U.IOMMU_TEST_OP_TRIGGER_VEVENT),
  execute: (x) => x.test('TRIGGER_VEVENT', 0, { 'trigger_vevent.dev_id': x.n32('dev_id') }, []),
  generate(g, c) {
    g.needIommufd();
    c.dev_id = g.id(['idev']);
    return c;
  },
  emitC(e) {
    e.testCmd('TRIGGER_VEVENT', '0', { 'trigger_vevent.dev_id': `(uint32_t)${e.v('dev_id')}` });
  },
};

/** PASID_ATTACH / PASID_REPLACE: a PASID of the selftest device onto an IOAS or HWPT. */
function pasidPt(name: 'pasid_attach' | 'pasid_replace', op: 'PASID_ATTACH' | 'PASID_REPLACE', opNum: number, doc: string): OpModule {
  return {
    name,
    spec: {
      doc,
      group: 'test',
      ioctl: 'IOMMU_TEST_CMD',
      testOp: op,
      since: '6.15',
      fields: testFields({ stdev: req(u32('selftest device ID (a mock_domain_flags with PASID)', { handle: 'stdev' })), pasid: req(u32('PASID')), pt: req(u32('IOAS or HWPT ID', { handle: 'hwpt' })) }),
      outputs: {},
    },
    weight: 0.3,
    newUapi: true,
    available: withTestOp(opNum),
    execute: (x) => x.test(op, x.n32('stdev'), { [`${name}.pasid`]: x.n32('pasid'), [`${name}.pt_id`]: x.n32('pt') }, []),
    generate(g, c) {
      const rng = g.rng;
      g.needIommufd();
      c.stdev = g.id(['stdev']);
      c.pasid = rng.pick([0, 1, 2, 0x100000]);
      c.pt = rng.bool(0.7) ? g.id(['hwpt']) : g.id(['ioas']);
      return c;
    },
    emitC(e) {
      e.testCmd(op, e.v('stdev'), { [`${name}.pasid`]: `(uint32_t)${e.v('pasid')}`, [`${name}.pt_id`]: `(uint32_t)${e.v('pt')}` });
    },
  };
}

export const pasid_attach = pasidPt('pasid_attach', 'PASID_ATTACH', U.IOMMU_TEST_OP_PASID_ATTACH, 'IOMMU_TEST_OP_PASID_ATTACH: attach `pasid` of the selftest device to `pt`');
export const pasid_replace = pasidPt('pasid_replace', 'PASID_REPLACE', U.IOMMU_TEST_OP_PASID_REPLACE, 'IOMMU_TEST_OP_PASID_REPLACE: move `pasid` of the selftest device to `pt`');

export const pasid_detach: OpModule = {
  name: 'pasid_detach',
  spec: {
    doc: 'IOMMU_TEST_OP_PASID_DETACH: detach `pasid` of the selftest device',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'PASID_DETACH',
    since: '6.15',
    fields: testFields({ stdev: req(u32('selftest device ID', { handle: 'stdev' })), pasid: req(u32('PASID')) }),
    outputs: {},
  },
  weight: 0.2,
  newUapi: true,
  available: withTestOp(U.IOMMU_TEST_OP_PASID_DETACH),
  execute: (x) => x.test('PASID_DETACH', x.n32('stdev'), { 'pasid_detach.pasid': x.n32('pasid') }, []),
  generate(g, c) {
    g.needIommufd();
    c.stdev = g.id(['stdev']);
    c.pasid = g.rng.pick([0, 1, 2]);
    return c;
  },
  emitC(e) {
    e.testCmd('PASID_DETACH', e.v('stdev'), { 'pasid_detach.pasid': `(uint32_t)${e.v('pasid')}` });
  },
};

export const pasid_check_hwpt: OpModule = {
  name: 'pasid_check_hwpt',
  spec: {
    doc: 'IOMMU_TEST_OP_PASID_CHECK_HWPT: `pasid` of the selftest device is attached to `hwpt` (0: to nothing); EINVAL otherwise',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'PASID_CHECK_HWPT',
    since: '6.15',
    fields: testFields({ stdev: req(u32('selftest device ID', { handle: 'stdev' })), pasid: req(u32('PASID')), hwpt: req(u32('HWPT ID (0: none)', { handle: 'hwpt' })) }),
    outputs: {},
  },
  weight: 0.2,
  newUapi: true,
  available: withTestOp(U.IOMMU_TEST_OP_PASID_CHECK_HWPT),
  execute: (x) => x.test('PASID_CHECK_HWPT', x.n32('stdev'), { 'pasid_check.pasid': x.n32('pasid'), 'pasid_check.hwpt_id': x.n32('hwpt') }, []),
  generate(g, c) {
    g.needIommufd();
    c.stdev = g.id(['stdev']);
    c.pasid = g.rng.pick([0, 1, 2]);
    c.hwpt = g.rng.bool(0.8) ? g.id(['hwpt']) : 0;
    return c;
  },
  emitC(e) {
    e.testCmd('PASID_CHECK_HWPT', e.v('stdev'), { 'pasid_check.pasid': `(uint32_t)${e.v('pasid')}`, 'pasid_check.hwpt_id': `(uint32_t)${e.v('hwpt')}` });
  },
};

export const dmabuf_get: OpModule = {
  name: 'dmabuf_get',
  spec: {
    doc: 'IOMMU_TEST_OP_DMABUF_GET: a selftest dma-buf of `length` bytes; the return (and `as`) is its fd',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'DMABUF_GET',
    since: '6.19',
    fields: testFields({ length: req(u32('bytes')), open_flags: u32('O_* flags of the fd', { default: 0 }) }),
    outputs: {},
  },
  weight: 0.5,
  newUapi: true,
  localRet: true,
  available: withTestOp(U.IOMMU_TEST_OP_DMABUF_GET),
  produces: ['memfd'],
  execute: (x) => x.test('DMABUF_GET', 0, { 'dmabuf_get.length': x.n32('length'), 'dmabuf_get.open_flags': x.n32('open_flags') }, []),
  generate(g, c) {
    g.needIommufd();
    c.as = g.fresh();
    c.length = g.rng.pick([4096, 8192, 16384, 2 << 20, 0, 4095]);
    return c;
  },
  scope(c, as, add) {
    // A dma-buf is a 'memfd' (a file MAP_FILE takes) whose length is known: MAP_FILE and DMABUF_REVOKE look for one.
    const len = literal(c.length);
    add({ kind: 'memfd', name: as, len: len !== undefined ? (len + K4 - 1n) & ~(K4 - 1n) : 0n });
  },
  emitC(e) {
    e.testCmd('DMABUF_GET', '0', { 'dmabuf_get.length': `(uint32_t)${e.v('length')}`, 'dmabuf_get.open_flags': `(uint32_t)${e.v('open_flags')}` });
  },
};

export const dmabuf_revoke: OpModule = {
  name: 'dmabuf_revoke',
  spec: {
    doc: 'IOMMU_TEST_OP_DMABUF_REVOKE: revoke (or with revoked 0 restore) the selftest dma-buf `dmabuf_fd`',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'DMABUF_REVOKE',
    since: '6.19',
    fields: testFields({ dmabuf_fd: fileFd('the dma-buf fd'), revoked: u32('1: revoke, 0: restore', { default: 1 }) }),
    outputs: {},
  },
  weight: 0.4,
  newUapi: true,
  available: withTestOp(U.IOMMU_TEST_OP_DMABUF_REVOKE),
  execute: (x) => x.test('DMABUF_REVOKE', 0, { 'dmabuf_revoke.dmabuf_fd': x.s32('dmabuf_fd'), 'dmabuf_revoke.revoked': x.n32('revoked') }, []),
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    // A dma-buf mostly (a memfd is EINVAL: dma_buf_get() refuses it).
    let bufs = g.ofKind('memfd').filter((r) => r.len !== undefined);
    if (bufs.length === 0 && rng.bool(0.8)) {
      g.emit('dmabuf_get');
      bufs = g.ofKind('memfd').filter((r) => r.len !== undefined);
    }
    const f = bufs.length > 0 && rng.bool(0.9) ? rng.pick(bufs) : g.need(['memfd']);
    // Often mapped first, so the revoke has domain entries to drop.
    if (f && rng.bool(0.5)) {
      mapThis = f;
      try {
        g.emit('ioas_map_file');
      } finally {
        mapThis = undefined;
      }
    }
    c.dmabuf_fd = f ? f.name : -1;
    if (rng.bool(0.3)) c.revoked = 0;
    return c;
  },
  emitC(e) {
    e.testCmd('DMABUF_REVOKE', '0', { 'dmabuf_revoke.dmabuf_fd': `(int32_t)${e.v('dmabuf_fd')}`, 'dmabuf_revoke.revoked': `(uint32_t)${e.v('revoked')}` });
  },
};

export const V7_OPS: readonly OpModule[] = [
  ioas_map_file,
  ioas_change_process,
  veventq_alloc,
  hw_queue_alloc,
  trigger_vevent,
  pasid_attach,
  pasid_replace,
  pasid_detach,
  pasid_check_hwpt,
  dmabuf_get,
  dmabuf_revoke,
];
