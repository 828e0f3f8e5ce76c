// SPDX-License-Identifier: GPL-2.0-only
/**
 * Fault queues (6.11-6.12): IOMMU_FAULT_QUEUE_ALLOC and its fd — read(2) of
 * whole groups of struct iommu_hwpt_pgfault records, write(2) of struct
 * iommu_hwpt_page_response, poll(2) — and the test op TRIGGER_IOPF that
 * queues a fault.
 */
import * as U from '../../iommufd/uapi.js';
import { enumField, fdField, flags, hasTestOp, req, sizeWord, testFields, u32, u64, withCmd, fileFd } from './spec.js';
import type { OpModule, Outputs } from './types.js';

/** Bytes of one fault record / one page response. */
const PGFAULT_SIZE = U.iommu_hwpt_pgfault.size;
const RESPONSE_SIZE = U.iommu_hwpt_page_response.size;
/** Largest read / write the ops build. */
const IO_MAX = 64 * 1024;

export const POLL_EVENTS = { IN: 0x1, PRI: 0x2, OUT: 0x4, ERR: 0x8, HUP: 0x10, RDNORM: 0x40, WRNORM: 0x100 } as const;
export const PAGE_RESPONSE_CODES = { SUCCESS: U.IOMMUFD_PAGE_RESP_SUCCESS, INVALID: U.IOMMUFD_PAGE_RESP_INVALID } as const;
export const PGFAULT_PERMS = { READ: U.IOMMU_PGFAULT_PERM_READ, WRITE: U.IOMMU_PGFAULT_PERM_WRITE, EXEC: U.IOMMU_PGFAULT_PERM_EXEC, PRIV: U.IOMMU_PGFAULT_PERM_PRIV } as const;


export const fault_queue_alloc: OpModule = {
  name: 'fault_queue_alloc',
  spec: {
    doc: 'IOMMU_FAULT_QUEUE_ALLOC; `as` binds the FAULT object ID, `.fault_fd` its file descriptor',
    group: 'iommufd',
    ioctl: 'IOMMU_FAULT_QUEUE_ALLOC',
    since: '6.11',
    fields: { fd: fdField(), flags: u32('must be 0', { default: 0 }), size: sizeWord },
    primary: 'fault_id',
    outputs: { fault_id: 'fault', fault_fd: 'fd' },
  },
  weight: 0.5,
  newUapi: true,
  available: withCmd(U.IOMMU_FAULT_QUEUE_ALLOC),
  produces: ['fault'],
  cStructs: [U.iommu_fault_alloc],
  cIoctls: [['IOMMU_FAULT_QUEUE_ALLOC', U.IOMMU_FAULT_QUEUE_ALLOC]],
  execute(x) {
    const r = x.struct(U.IOMMU_FAULT_QUEUE_ALLOC, U.iommu_fault_alloc, { flags: x.n32('flags') }, ['fault_id:out_fault_id', 'fault_fd:out_fault_fd']);
    if (Number(r.ret) < 0) r.outputs.fault_fd = -1;
    return r;
  },
  generate(g, c) {
    g.needIommufd();
    c.as = g.fresh();
    if (g.rng.bool(0.05)) c.flags = 1;
    return c;
  },
  scope(_c, as, add) {
    add({ kind: 'fault', name: as, fd: `${as}.fault_fd` });
  },
  emitC(e) {
    e.structCmd('iommu_fault_alloc', 'IOMMU_FAULT_QUEUE_ALLOC', { flags: `(uint32_t)${e.v('flags')}` });
    e.outs.fault_id = 'cmd.out_fault_id';
    e.outs.fault_fd = '(uint64_t)(rc < 0 ? (int64_t)-1 : (int64_t)cmd.out_fault_fd)';
  },
};

/** The first fault record's outputs. */
const RECORD_OUTPUTS = ['flags', 'dev_id', 'pasid', 'grpid', 'perm', 'addr', 'length', 'cookie'] as const;

export const read_fault: OpModule = {
  name: 'read_fault',
  spec: {
    doc: 'read(2) of `count` bytes from a fault queue fd (whole groups of 40-byte struct iommu_hwpt_pgfault); the return is the bytes read; outputs `records` and the first record\'s fields (cookie: what write_response answers)',
    group: 'iommufd',
    since: '6.11',
    fields: { fd: fileFd('fault queue fd (`$fault.fault_fd`)'), count: u32('bytes to read (default 4096)', { default: 4096 }) },
    outputs: { records: 'value', flags: 'value', dev_id: 'value', pasid: 'value', grpid: 'value', perm: 'value', addr: 'value', length: 'value', cookie: 'value' },
  },
  weight: 0.5,
  newUapi: true,
  available: withCmd(U.IOMMU_FAULT_QUEUE_ALLOC),
  clientScratch: true,
  cStructs: [U.iommu_hwpt_pgfault],
  execute(x) {
    const count = x.n32('count');
    const room = Math.min(count, IO_MAX);
    const va = x.userBuffer(new Uint8Array(Math.max(room, 16)));
    const rc = x.proc.read(x.s32('fd'), va, count);
    const outputs: Outputs = {};
    if (rc >= 0) {
      outputs.records = Math.floor(rc / PGFAULT_SIZE);
      if (rc >= PGFAULT_SIZE) {
        const b = x.readUser(va, PGFAULT_SIZE);
        if (b) {
          const rec = U.iommu_hwpt_pgfault.decode(b);
          for (const k of RECORD_OUTPUTS) outputs[k] = rec[k];
        }
      }
    }
    return { ret: rc, outputs };
  },
  generate(g, c) {
    const rng = g.rng;
    const f = g.need(['fault']);
    c.fd = f?.fd ?? g.id(['fault']);
    if (rng.bool(0.2)) c.count = rng.pick([0, 8, 39, 40, 80, 41]);
    return c;
  },
  emitC(e) {
    const { L } = e;
    L(`uint32_t count = (uint32_t)${e.v('count')};`);
    L(`size_t room = count > ${IO_MAX} ? ${IO_MAX} : count;`);
    L('struct iommu_hwpt_pgfault *recs = client_scratch(room < 16 ? 16 : room);');
    L('');
    L(`rc = sys_rc(read((int)${e.v('fd')}, recs, count));`);
    e.outs.records = `(uint64_t)(rc < 0 ? 0 : rc / ${PGFAULT_SIZE})`;
    for (const k of RECORD_OUTPUTS) e.outs[k] = `(uint64_t)recs[0].${k}`;
  },
};

export const write_response: OpModule = {
  name: 'write_response',
  spec: {
    doc: 'write(2) of a page response (struct iommu_hwpt_page_response { cookie, code }) to a fault queue fd, `count` bytes (default 8; the response repeats); the return is the bytes written',
    group: 'iommufd',
    since: '6.11',
    fields: {
      fd: fileFd('fault queue fd (`$fault.fault_fd`)'),
      cookie: req(u32('the cookie of the group answered (read_fault `.cookie`)')),
      code: enumField(PAGE_RESPONSE_CODES, 'IOMMUFD_PAGE_RESP_*', 'SUCCESS'),
      count: u32('bytes to write (default 8)', { default: 8 }),
    },
    outputs: {},
  },
  weight: 0.4,
  newUapi: true,
  available: withCmd(U.IOMMU_FAULT_QUEUE_ALLOC),
  clientScratch: true,
  cStructs: [U.iommu_hwpt_page_response],
  execute(x) {
    const count = x.n32('count');
    const room = Math.max(RESPONSE_SIZE, Math.min(count, IO_MAX));
    const bytes = new Uint8Array(room);
    const dv = new DataView(bytes.buffer);
    for (let at = 0; at + RESPONSE_SIZE <= room; at += RESPONSE_SIZE) {
      dv.setUint32(at, x.n32('cookie'), true);
      dv.setUint32(at + 4, x.n32('code'), true);
    }
    const va = x.userBuffer(bytes);
    return { ret: x.proc.write(x.s32('fd'), va, count), outputs: {} };
  },
  generate(g, c) {
    const rng = g.rng;
    const f = g.need(['fault']);
    c.fd = f?.fd ?? g.id(['fault']);
    c.cookie = rng.pick([0, 1, 1, 2, 3]);
    if (rng.bool(0.3)) c.code = rng.pick(['INVALID', 2]);
    if (rng.bool(0.15)) c.count = rng.pick([0, 4, 16, 9]);
    return c;
  },
  emitC(e) {
    const { L } = e;
    L(`uint32_t count = (uint32_t)${e.v('count')};`);
    L(`size_t room = count > ${IO_MAX} ? ${IO_MAX} : count < ${RESPONSE_SIZE} ? ${RESPONSE_SIZE} : count, k;`);
    L('struct iommu_hwpt_page_response *resp = client_scratch(room);');
    L('');
    L(`for (k = 0; k < room / ${RESPONSE_SIZE}; k++) {`);
    L(`\tresp[k].cookie = (uint32_t)${e.v('cookie')};`);
    L(`\tresp[k].code = (uint32_t)${e.v('code')};`);
    L('}');
    L(`rc = sys_rc(write((int)${e.v('fd')}, resp, count));`);
  },
};

export const poll: OpModule = {
  name: 'poll',
  spec: {
    doc: 'poll(2) of one descriptor with a zero timeout; the return is its revents (POLLERR / POLLHUP always reported)',
    group: 'process',
    fields: { fd: fileFd('descriptor'), events: flags(POLL_EVENTS, 'POLL* events', ['IN'], 'u16') },
    outputs: {},
  },
  weight: 0.2,
  newUapi: true,
  available: withCmd(U.IOMMU_FAULT_QUEUE_ALLOC),
  cIncludes: ['poll.h'],
  execute: (x) => ({ ret: x.proc.poll(x.s32('fd'), x.n32('events') & 0xffff), outputs: {} }),
  generate(g, c) {
    const rng = g.rng;
    const fds = g.ofKind('fault', 'iommufd', 'access').map((r) => r.fd ?? r.name);
    c.fd = fds.length > 0 && rng.bool(0.9) ? rng.pick(fds) : rng.pick([-1, 0, 100]);
    if (rng.bool(0.3)) c.events = rng.pick([['IN', 'OUT'], ['OUT'], ['IN', 'RDNORM']]);
    return c;
  },
  emitC(e) {
    const { L } = e;
    L(`struct pollfd pfd = { .fd = (int)${e.v('fd')}, .events = (short)${e.v('events')} };`);
    L('');
    L('rc = sys_rc(poll(&pfd, 1, 0));');
    L('if (rc >= 0)');
    L('\trc = (unsigned short)pfd.revents;');
  },
};

export const trigger_iopf: OpModule = {
  name: 'trigger_iopf',
  spec: {
    doc: 'IOMMU_TEST_OP_TRIGGER_IOPF: the mock device `dev_id` faults at `addr` (a group of one fault, LAST_PAGE set) into the fault queue of the HWPT it is attached to',
    group: 'test',
    ioctl: 'IOMMU_TEST_CMD',
    testOp: 'TRIGGER_IOPF',
    since: '6.11',
    fields: testFields({
      dev_id: req(u32('device ID (a mock device `.idev_id`)', { handle: 'idev' })),
      pasid: u32('PASID', { default: 0 }),
      grpid: u32('group ID', { default: 0 }),
      perm: flags(PGFAULT_PERMS, 'IOMMU_PGFAULT_PERM_*', ['READ', 'WRITE']),
      addr: u64('faulting address', { default: 0, handle: 'iova' }),
    }),
    outputs: {},
  },
  weight: 0.5,
  newUapi: true,
  available: (p) => hasTestOp(p, U.IOMMU_TEST_OP_TRIGGER_IOPF),
  execute: (x) =>
    x.test(
      'TRIGGER_IOPF',
      0,
      { 'trigger_iopf.dev_id': x.n32('dev_id'), 'trigger_iopf.pasid': x.n32('pasid'), 'trigger_iopf.grpid': x.n32('grpid'), 'trigger_iopf.perm': x.n32('perm'), 'trigger_iopf.addr': x.v('addr') },
      [],
    ),
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    const dev = g.need(['idev']);
    c.dev_id = dev ? dev.name : g.id(['idev']);
    c.grpid = rng.int(0, 3);
    if (rng.bool(0.2)) c.pasid = rng.pick([1, 0x100000]);
    c.addr = g.iova(dev?.ioas).expr;
    if (rng.bool(0.2)) c.perm = ['READ'];
    return c;
  },
  emitC(e) {
    const { v } = e;
    e.testCmd('TRIGGER_IOPF', '0', {
      'trigger_iopf.dev_id': `(uint32_t)${v('dev_id')}`,
      'trigger_iopf.pasid': `(uint32_t)${v('pasid')}`,
      'trigger_iopf.grpid': `(uint32_t)${v('grpid')}`,
      'trigger_iopf.perm': `(uint32_t)${v('perm')}`,
      'trigger_iopf.addr': v('addr'),
    });
  },
};

export const FAULT_OPS: readonly OpModule[] = [fault_queue_alloc, read_fault, write_response, poll, trigger_iopf];
