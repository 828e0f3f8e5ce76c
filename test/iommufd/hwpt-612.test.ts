// SPDX-License-Identifier: GPL-2.0-only
// 6.12 HWPT, fault-queue and dirty-bitmap rules checked against the oracle kernel (Linux 6.12.95
// under QEMU, a static probe of every call below): the same calls on the model give the same
// results. Where 6.12.95 differs from the 6.12 source the model follows (a stable fix), the test
// says so.
import { describe, expect, it } from 'vitest';
import { EBUSY, EINVAL, ENOTTY, EOPNOTSUPP, ESPIPE } from '../../src/base/errno.js';
import type { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { MOCK_APERTURE_START, type World, expectErrno, expectRc, finish, world, auditEachWorld } from '../client/harness.js';

const audited = auditEachWorld();

function setup(): { w: World; c: IommufdClient; ioas: number; stdev: number; idev: number } {
  const w = world({ profile: 'v6.12' });
  audited.current = w;
  const c = w.c;
  const ioas = c.ioasAlloc();
  const ids = c.mockDomain(ioas);
  expect([ioas, ids.stdevId, ids.hwptId, ids.idevId]).toEqual([1, 2, 4, 3]);
  return { w, c, ioas, stdev: ids.stdevId, idev: ids.idevId };
}

function anon(w: World, len: number, prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS): bigint {
  const va = w.proc.mmap(0n, BigInt(len), prot, flags);
  expect(va > 0n).toBe(true);
  return va;
}

function words(w: World, va: bigint, n: number): number[] {
  const b = new Uint8Array(n * 4);
  expect(w.proc.readMemory(va, b)).toBe(0);
  const dv = new DataView(b.buffer);
  return Array.from({ length: n }, (_, i) => dv.getUint32(i * 4, true));
}

function putWords(w: World, va: bigint, ws: number[]): void {
  const b = new Uint8Array(ws.length * 4);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < ws.length; i++) dv.setUint32(i * 4, ws[i] >>> 0, true);
  expect(w.proc.writeMemory(va, b)).toBe(0);
}

describe('6.12 probe facts', () => {
  it('uAPI edges: hw_info flags, PASID device flag, op 16, cmd 0x8f, FAULT_ID on a paging HWPT, missing pt_id', () => {
    const { w, c, ioas, idev } = setup();
    // GET_HW_INFO flags=1 (INPUT_TYPE, a 7.2 flag): 6.12 says EOPNOTSUPP (hwInfoInputType off)
    expectRc(EOPNOTSUPP, c.getHwInfoRaw(idev, 0n, 0, { flags: 1 }).rc);
    expectRc(EOPNOTSUPP, c.getHwInfoRaw(idev, 0n, 0, { flags: 2 }).rc);
    expect(c.getHwInfo(idev).capabilities).toBe(BigInt(U.IOMMU_HW_CAP_DIRTY_TRACKING));
    // IOMMU_HWPT_ALLOC_PASID is a 7.2 flag (hwptAllocPasidFlag off)
    expectRc(EOPNOTSUPP, c.hwptAllocRaw({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_PASID }).rc);
    expectRc(EINVAL, c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ioas, { 'mock_domain_flags.dev_flags': U.MOCK_FLAGS_DEVICE_PASID }).rc);
    expectRc(EOPNOTSUPP, c.testCmd(16, ioas).rc);
    expectRc(ENOTTY, w.proc.ioctlStruct(c.fd, U.IO(U.IOMMUFD_TYPE, 0x8f), new Uint8Array(8)));
    expectRc(EOPNOTSUPP, c.hwptAllocRaw({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_FAULT_ID_VALID }).rc);
    expectRc(EINVAL, c.hwptAllocRaw({ devId: idev, ptId: 999 }).rc);
  });

  it('invalidate: entry_len above the entry size is EINVAL with entry_num 0; entries run until one is refused', () => {
    const { w, c, ioas, idev } = setup();
    const parent = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const nested = c.hwptAllocNested(idev, parent, U.IOMMU_TEST_IOTLB_DEFAULT);
    const page = anon(w, 8192);
    // 512 zero entries, then entry 512 refused for its flags
    putWords(w, page + 4096n, [0xffffffff, 0]);
    let r = c.hwptInvalidateRaw(nested, page, U.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 1000);
    expectRc(EOPNOTSUPP, r.rc);
    expect(r.entryNum).toBe(512);
    for (const len of [4097, 4096]) {
      r = c.hwptInvalidateRaw(nested, page, U.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, len, 1);
      expectRc(EINVAL, r.rc);
      expect(r.entryNum).toBe(0);
    }
    // 2^19 + 1 entries: 6.12.95 has no entry_num cap (invalidateEntryNumCap off), so the entries
    // run: 512 done, then EOPNOTSUPP at the refused one
    r = c.hwptInvalidateRaw(nested, page, U.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 2 ** 19 + 1);
    expectRc(EOPNOTSUPP, r.rc);
    expect(r.entryNum).toBe(512);
    c.destroy(nested);
    c.destroy(parent);
  });

  it('fault fd: read whole records of 40 bytes, cookies from 1, write stops at the first bad response, poll', () => {
    const { w, c, ioas, stdev, idev } = setup();
    const parent = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const { faultId, faultFd } = c.faultQueueAlloc();
    expect([faultId, faultFd]).toEqual([6, 4]);
    const iopf = c.hwptAllocNested(idev, parent, U.IOMMU_TEST_IOTLB_DEFAULT, U.IOMMU_HWPT_FAULT_ID_VALID, faultId);
    const fault = { pasid: 1, grpid: 2, perm: 3, addr: 0xdeadbeafn };
    // not attached: the fault goes nowhere, the op still succeeds
    expectRc(0, c.triggerIopfRc(idev, fault));
    expect(w.proc.poll(faultFd, 0x1 | 0x4)).toBe(0x4);
    expectRc(0, c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev, { 'mock_domain_replace.pt_id': iopf }).rc);
    expectRc(0, c.triggerIopfRc(idev, { ...fault, pasid: 0 }));
    expectRc(0, c.triggerIopfRc(idev, { ...fault, grpid: 5 }));
    expect(w.proc.poll(faultFd, 0x1 | 0x4)).toBe(0x5);
    const buf = anon(w, 4096);
    expect(w.proc.read(faultFd, buf, 39)).toBe(-ESPIPE);
    expect(w.proc.read(faultFd, buf, 0)).toBe(0);
    expect(w.proc.read(faultFd, buf, 40)).toBe(40);
    expect(w.proc.read(faultFd, buf + 40n, 120)).toBe(40);
    const r = words(w, buf, 20);
    // flags LAST_PAGE (| PASID_VALID), dev_id, pasid, grpid, perm, reserved, addr, length, cookie
    expect(r.slice(0, 10)).toEqual([2, idev, 0, 2, 3, 0, 0xdeadbeaf, 0, 0, 1]);
    expect(r.slice(10, 20)).toEqual([3, idev, 1, 5, 3, 0, 0xdeadbeaf, 0, 0, 2]);
    expect(w.proc.read(faultFd, buf + 80n, 40)).toBe(0);
    const resp = buf + 1024n;
    putWords(w, resp, [2, 0, 77, 0]);
    expect(w.proc.write(faultFd, resp, 16)).toBe(8);
    putWords(w, resp, [1, 2]);
    expect(w.proc.write(faultFd, resp, 8)).toBe(-EINVAL);
    expect(w.proc.write(faultFd, resp, 7)).toBe(-ESPIPE);
    expect(w.proc.write(faultFd, resp, 0)).toBe(0);
    // the freed cookie 2 is the lowest free one again
    expectRc(0, c.triggerIopfRc(idev, { ...fault, grpid: 9 }));
    expect(w.proc.read(faultFd, buf + 120n, 40)).toBe(40);
    expect(words(w, buf + 120n, 10)[9]).toBe(2);
    expectErrno(EBUSY, () => c.destroy(faultId));
    expectErrno(EBUSY, () => c.destroy(iopf));
    // Leaving the fault-capable HWPT for one without a queue answers none of the attachment's faults:
    // 6.12's iommufd_hwpt_replace_device() looks for them in the new HWPT's queue (a bug 7.x fixed;
    // profile faultReplaceAnswersNewQueue), so group 10 still waits. The 6.12.95 oracle oopses in
    // iopf_group_response() when such a group is answered or its queue freed (IOPF was turned off
    // under it): the model answers and frees them as if nothing had happened, and says nothing here.
    expectRc(0, c.triggerIopfRc(idev, { ...fault, grpid: 10 }));
    expectRc(0, c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev, { 'mock_domain_replace.pt_id': ioas }).rc);
    expect(w.proc.poll(faultFd, 0x1 | 0x4)).toBe(0x5);
    c.destroy(iopf);
    c.destroy(parent);
    expect(w.proc.close(faultFd)).toBe(0);
    c.destroy(faultId);
  });

  it.each(['v6.12', 'latest'] as const)("%s: replace between nested HWPTs of two fault queues leaves the old queue's faults readable and answerable on 6.12 (6.12.95's iommufd_hwpt_replace_device() answers them in the new HWPT's queue; 7.x in the old one's)", (profile) => {
    const w = world({ profile });
    audited.current = w;
    const c = w.c;
    const ioas = c.ioasAlloc();
    const ids = c.mockDomain(ioas);
    const parent = c.hwptAlloc({ devId: ids.idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const a = c.faultQueueAlloc();
    const b = c.faultQueueAlloc();
    const na = c.hwptAllocNested(ids.idevId, parent, U.IOMMU_TEST_IOTLB_DEFAULT, U.IOMMU_HWPT_FAULT_ID_VALID, a.faultId);
    const nb = c.hwptAllocNested(ids.idevId, parent, U.IOMMU_TEST_IOTLB_DEFAULT, U.IOMMU_HWPT_FAULT_ID_VALID, b.faultId);
    expectRc(0, c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, ids.stdevId, { 'mock_domain_replace.pt_id': na }).rc);
    const fault = { pasid: 0, grpid: 1, perm: 3, addr: 0x1000000n };
    const buf = anon(w, 4096);
    expectRc(0, c.triggerIopfRc(ids.idevId, fault));
    expect(w.proc.read(a.faultFd, buf, 40)).toBe(40);
    expect(words(w, buf, 10)[9]).toBe(1);
    expectRc(0, c.triggerIopfRc(ids.idevId, { ...fault, grpid: 2 }));
    expectRc(0, c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, ids.stdevId, { 'mock_domain_replace.pt_id': nb }).rc);
    const resp = buf + 1024n;
    if (profile === 'v6.12') {
      // (the oracle program: 'A after replace read -> 40 0 g2/ck2', then both responses take 8 bytes)
      expect(w.proc.read(a.faultFd, buf + 40n, 40)).toBe(40);
      expect([words(w, buf + 40n, 10)[3], words(w, buf + 40n, 10)[9]]).toEqual([2, 2]);
      putWords(w, resp, [1, 0]);
      expect(w.proc.write(a.faultFd, resp, 8)).toBe(8);
      putWords(w, resp, [2, 0]);
      expect(w.proc.write(a.faultFd, resp, 8)).toBe(8);
    } else {
      expect(w.proc.read(a.faultFd, buf + 40n, 40)).toBe(0);
      putWords(w, resp, [1, 0]);
      expect(w.proc.write(a.faultFd, resp, 8)).toBe(-EINVAL);
    }
    expect(w.proc.poll(b.faultFd, 0x1 | 0x4)).toBe(0x4);
  });

  it('fault fd through readv/writev: the read per segment (do_loop_readv_writev), an error after bytes answers the bytes', () => {
    const { w, c, ioas, stdev, idev } = setup();
    const parent = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const { faultId, faultFd } = c.faultQueueAlloc();
    const iopf = c.hwptAllocNested(idev, parent, U.IOMMU_TEST_IOTLB_DEFAULT, U.IOMMU_HWPT_FAULT_ID_VALID, faultId);
    expectRc(0, c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev, { 'mock_domain_replace.pt_id': iopf }).rc);
    const fault = { pasid: 1, grpid: 2, perm: 3, addr: 0xdeadbeafn };
    expect(w.proc.pollWakeups(faultFd)).toBe(0);
    for (const grpid of [2, 5, 7, 9]) expectRc(0, c.triggerIopfRc(idev, { ...fault, grpid }));
    // one wake_up_interruptible() per queued group: what an edge-triggered epoll reports
    expect(w.proc.pollWakeups(faultFd)).toBe(4);
    const buf = anon(w, 4096);
    const vec = buf + 2048n;
    const iov = (segs: [bigint, number][]): void => putWords(w, vec, segs.flatMap(([b, l]) => [Number(b & 0xffffffffn), Number(b >> 32n), l, 0]));
    // 40, (empty, skipped), 80, 40: one record, two, then the last one
    iov([[buf, 40], [buf, 0], [buf + 40n, 80], [buf + 120n, 40]]);
    expect(w.proc.readv(faultFd, vec, 4)).toBe(160);
    expect(words(w, buf, 40).filter((_, i) => i % 10 === 3)).toEqual([2, 5, 7, 9]);
    // nothing left: the first segment reads 0, which is short, and the loop stops
    expect(w.proc.readv(faultFd, vec, 4)).toBe(0);
    expectRc(0, c.triggerIopfRc(idev, { ...fault, grpid: 11 }));
    // a record, then a segment that is no whole record: its ESPIPE comes after bytes, so the bytes are the answer
    iov([[buf, 40], [buf + 40n, 39]]);
    expect(w.proc.readv(faultFd, vec, 2)).toBe(40);
    // writev: two answered cookies, then one the queue does not hold
    const resp = buf + 1024n;
    putWords(w, resp, [1, 0, 2, 0, 99, 0]);
    iov([[resp, 8], [resp + 8n, 8], [resp + 16n, 8]]);
    expect(w.proc.writev(faultFd, vec, 3)).toBe(16);
    iov([[resp + 16n, 8]]);
    expect(w.proc.writev(faultFd, vec, 1)).toBe(-EINVAL);
    // positional forms: the anon inode has no FMODE_PREAD; a negative position is EINVAL first
    expect(w.proc.readv(faultFd, vec, 1, 0n)).toBe(-ESPIPE);
    expect(w.proc.readv(faultFd, vec, 1, -1n)).toBe(-EINVAL);
    expect(w.proc.writev(faultFd, vec, 1, 0n)).toBe(-ESPIPE);
    expect(w.proc.readv(faultFd, vec, 1, undefined, 0x8)).toBe(-EOPNOTSUPP);
    expect(w.proc.readv(faultFd, vec, 0, undefined, 0x8)).toBe(0);
    expect(w.proc.readv(faultFd, vec, 2 ** 32 + 1025)).toBe(-EINVAL);
    expect(w.proc.readv(faultFd, vec, 2 ** 32)).toBe(0);
    c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev, { 'mock_domain_replace.pt_id': ioas });
    c.destroy(iopf);
    c.destroy(parent);
    expect(w.proc.close(faultFd)).toBe(0);
    c.destroy(faultId);
  });

  it('dirty bitmap: tracking off reads nothing, enable clears, a hole still answers 0, bad or read-only bitmaps drop the bits but clear', () => {
    const { w, c, idev } = setup();
    const len = 65536;
    const buf = anon(w, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    const ioas = c.ioasAlloc();
    c.ioasMap({ ioas, userVa: buf, length: len, iova: MOCK_APERTURE_START });
    const hwpt = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
    const bm = anon(w, 8192);
    const mark = () => {
      putWords(w, bm, [0xffffffff]);
      expect(c.mockDomainSetDirty(hwpt, MOCK_APERTURE_START, len, 2048, bm)).toBe(32n);
      putWords(w, bm, [0, 0]);
    };
    const get = (o: { length?: number; data?: bigint; flags?: number; pageSize?: number } = {}) =>
      c.getDirtyBitmapRaw({ hwptId: hwpt, iova: MOCK_APERTURE_START, length: o.length ?? len, pageSize: o.pageSize ?? 2048, data: o.data ?? bm, flags: o.flags });
    c.setDirtyTracking(hwpt, true);
    mark();
    c.setDirtyTracking(hwpt, false);
    expectRc(0, get());
    expect(words(w, bm, 1)).toEqual([0]);
    c.setDirtyTracking(hwpt, true);
    expectRc(0, get());
    expect(words(w, bm, 1)).toEqual([0]);
    mark();
    expectRc(0, get({ length: len + 65536 }));
    expect(words(w, bm, 1)).toEqual([0xffffffff]);
    mark();
    expectRc(0, get({ data: 8n }));
    expectRc(0, get({ flags: U.IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR }));
    expect(words(w, bm, 1)).toEqual([0]);
    mark();
    const ro = anon(w, 4096, PROT_READ);
    expectRc(0, get({ data: ro }));
    expect(words(w, ro, 1)).toEqual([0]);
    // 12 KiB pages: bit n covers [n * 4 KiB, ...) (__ffs of the page size)
    mark();
    expectRc(0, get({ pageSize: 12288 }));
    expect(words(w, bm, 1)).toEqual([0xffff]);
    const plain = c.hwptAlloc({ devId: idev, ptId: ioas });
    expectRc(EOPNOTSUPP, c.setDirtyTrackingRaw(plain, U.IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    expectErrno(EINVAL, () => c.mockDomainSetDirty(plain, MOCK_APERTURE_START, len, 2048, bm));
    expectRc(EOPNOTSUPP, c.getDirtyBitmapRaw({ hwptId: plain, iova: MOCK_APERTURE_START, length: len, pageSize: 2048, data: bm }));
    c.destroy(plain);
    c.destroy(hwpt);
  });

  it('a dirty bitmap spanning pages: bits land across the page boundary of a misaligned user bitmap', () => {
    const { w, c, idev } = setup();
    const len = 8 * 1024 * 1024;
    const buf = anon(w, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    const ioas = c.ioasAlloc();
    c.ioasMap({ ioas, userVa: buf, length: len, iova: MOCK_APERTURE_START });
    const hwpt = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
    c.setDirtyTracking(hwpt, true);
    const nbits = len / 2048;
    const area = anon(w, 4 * 4096);
    const bm = area + 4096n - 100n;
    const marks = new Uint8Array(nbits / 8).fill(0x81);
    expect(w.proc.writeMemory(bm, marks)).toBe(0);
    expect(c.mockDomainSetDirty(hwpt, MOCK_APERTURE_START, len, 2048, bm)).toBe(BigInt(nbits / 4));
    expect(w.proc.writeMemory(bm, new Uint8Array(nbits / 8))).toBe(0);
    c.getDirtyBitmap({ hwptId: hwpt, iova: MOCK_APERTURE_START, length: len, pageSize: 2048, data: bm });
    const got = new Uint8Array(nbits / 8);
    expect(w.proc.readMemory(bm, got)).toBe(0);
    expect(got.every((b) => b === 0x81)).toBe(true);
    // nothing stays pinned by the bitmap
    c.mdCheckRefs(area, 4 * 4096, 0);
    c.destroy(hwpt);
  });

  it('a dirty bitmap starting on a page that cannot be pinned for write: those bits drop, the next page gets its own', () => {
    const { w, c, idev } = setup();
    const len = 64 * 2048;
    const buf = anon(w, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    const ioas = c.ioasAlloc();
    c.ioasMap({ ioas, userVa: buf, length: len, iova: MOCK_APERTURE_START });
    const hwpt = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
    c.setDirtyTracking(hwpt, true);
    const marks = anon(w, 4096);
    putWords(w, marks, [0xffffffff, 0xffffffff]);
    expect(c.mockDomainSetDirty(hwpt, MOCK_APERTURE_START, len, 2048, marks)).toBe(64n);
    const two = anon(w, 8192);
    expect(w.proc.mprotect(two, 4096n, PROT_READ)).toBe(0);
    // bits 0-31 on the read-only page, bits 32-63 on the next
    c.getDirtyBitmap({ hwptId: hwpt, iova: MOCK_APERTURE_START, length: len, pageSize: 2048, data: two + 4092n });
    expect(words(w, two + 4092n, 2)).toEqual([0, 0xffffffff]);
    c.destroy(hwpt);
  });

  it('exit with everything open: nested HWPTs on a parent, a device on a fault-capable one with faults read and unread', () => {
    const w = world({ profile: 'v6.12' });
    const c = w.c;
    const ioas = c.ioasAlloc();
    const { stdevId, idevId } = c.mockDomain(ioas);
    const parent = c.hwptAlloc({ devId: idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const { faultId, faultFd } = c.faultQueueAlloc();
    c.hwptAllocNested(idevId, parent, 1);
    const iopf = c.hwptAllocNested(idevId, parent, 2, U.IOMMU_HWPT_FAULT_ID_VALID, faultId);
    expectRc(0, c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdevId, { 'mock_domain_replace.pt_id': iopf }).rc);
    for (const grpid of [1, 2]) expectRc(0, c.triggerIopfRc(idevId, { pasid: 0, grpid, perm: 1, addr: 0x1000 }));
    const buf = anon(w, 4096);
    expect(w.proc.read(faultFd, buf, 40)).toBe(40);
    expect(w.machine.audit()).toBe(0);
    // the iommufd closes first; the fault fd keeps the context until it goes too
    expect(w.proc.close(c.fd)).toBe(0);
    expect(w.machine.audit()).toBe(0);
    finish(w);
  });
});

describe('fault queue read shorter than the first waiting group', () => {
  for (const [profile, rc] of [
    ['v6.12', 0],
    ['latest', -EINVAL],
  ] as const) {
    it(`${profile}: a zero or short read with a fault waiting answers ${rc} and leaves the fault queued`, () => {
      const w = world({ profile });
      audited.current = w;
      const c = w.c;
      const ioas = c.ioasAlloc();
      const { stdevId, idevId } = c.mockDomain(ioas);
      const parent = c.hwptAlloc({ devId: idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
      const { faultId, faultFd } = c.faultQueueAlloc();
      const iopf = c.hwptAllocNested(idevId, parent, U.IOMMU_TEST_IOTLB_DEFAULT, U.IOMMU_HWPT_FAULT_ID_VALID, faultId);
      expectRc(0, c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdevId, { 'mock_domain_replace.pt_id': iopf }).rc);
      expectRc(0, c.triggerIopfRc(idevId, { pasid: 0, grpid: 1, perm: 1, addr: 0x1000n }));
      const buf = anon(w, 4096);
      // vfs_read has no zero-count shortcut: the fault queue's read decides
      expect(w.proc.read(faultFd, buf, 0)).toBe(rc);
      expect(w.proc.read(faultFd, buf, 40)).toBe(40);
      expect(w.proc.read(faultFd, buf, 0)).toBe(0);
    });
  }
});
