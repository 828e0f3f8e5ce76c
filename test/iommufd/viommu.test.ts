// SPDX-License-Identifier: GPL-2.0-only
// vIOMMU and vDEVICE (7.2 viommu.c and the selftest driver's mock vIOMMU) on `latest`, following
// the 7.2 selftest fixture iommufd_viommu (mock_viommu variant): a mock device on an IOAS, a
// NEST_PARENT HWPT, a vIOMMU of IOMMU_VIOMMU_TYPE_SELFTEST and a nested HWPT on the vIOMMU.
import { describe, expect, it } from 'vitest';
import { EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOTTY, EOPNOTSUPP } from '../../src/base/errno.js';
import type { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { type World, ctxOf, expectRc, finish, teardownIommufd, world, auditEachWorld } from '../client/harness.js';

const audited = auditEachWorld();

interface Fixture {
  w: World;
  c: IommufdClient;
  ioas: number;
  stdev: number;
  idev: number;
  hwpt: number;
  viommu: number;
  nested: number;
  page: bigint;
}

function putWords(w: World, va: bigint, ws: number[]): void {
  const b = new Uint8Array(ws.length * 4);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < ws.length; i++) dv.setUint32(i * 4, ws[i] >>> 0, true);
  expect(w.proc.writeMemory(va, b)).toBe(0);
}

/** FIXTURE_SETUP(iommufd_viommu), variant mock_viommu (the 7.2 selftest, with its DEV_CHECK_CACHE). */
function setup(): Fixture {
  const w = world({ profile: 'latest' });
  audited.current = w;
  const c = w.c;
  const ioas = c.ioasAlloc();
  const { stdevId: stdev, idevId: idev } = c.mockDomain(ioas);
  c.checkDevCacheAll(idev, U.IOMMU_TEST_DEV_CACHE_DEFAULT);
  const hwpt = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  const viommu = c.viommuAlloc(idev, hwpt);
  const page = w.proc.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  // struct iommu_hwpt_selftest {iotlb, pagetable_type}, 8 bytes as 7.2 has it
  putWords(w, page, [U.IOMMU_TEST_IOTLB_DEFAULT, 0]);
  const nested = c.hwptAlloc({ devId: idev, ptId: viommu, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr: page });
  expect([ioas, stdev, idev, hwpt, viommu, nested]).toEqual([1, 2, 3, 5, 6, 7]);
  return { w, c, ioas, stdev, idev, hwpt, viommu, nested, page };
}

function replaceRc(c: IommufdClient, stdev: number, ptId: number): number {
  return c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev, { 'mock_domain_replace.pt_id': ptId }).rc;
}

describe('IOMMU_VIOMMU_ALLOC', () => {
  it('errno in the kernel order; the vIOMMU holds its HWPT; nested HWPTs on it hold it', () => {
    const { c, ioas, idev, hwpt, viommu, nested } = setup();
    const T = U.IOMMU_VIOMMU_TYPE_SELFTEST;
    expectRc(EOPNOTSUPP, c.viommuAllocRaw({ devId: 999, hwptId: 999, flags: 1 }).rc);
    expectRc(EOPNOTSUPP, c.viommuAllocRaw({ devId: 999, hwptId: 999, type: 0 }).rc);
    expectRc(ENOENT, c.viommuAllocRaw({ devId: 999, hwptId: 999, type: T }).rc);
    expectRc(EOPNOTSUPP, c.viommuAllocRaw({ devId: idev, hwptId: 999, type: T + 1 }).rc);
    expectRc(ENOENT, c.viommuAllocRaw({ devId: idev, hwptId: ioas }).rc);
    const plain = c.hwptAlloc({ devId: idev, ptId: ioas });
    expectRc(EINVAL, c.viommuAllocRaw({ devId: idev, hwptId: plain }).rc);
    c.destroy(plain);
    // the HWPT and the vIOMMU are busy while something is built on them
    expectRc(EBUSY, c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: hwpt }).rc);
    expectRc(EBUSY, c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: viommu }).rc);
    // nested on a vIOMMU: flags beyond FAULT_ID_VALID | PASID, or no data, are EOPNOTSUPP
    expectRc(EOPNOTSUPP, c.hwptAllocRaw({ devId: idev, ptId: viommu, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr: 0n }).rc);
    expectRc(EOPNOTSUPP, c.hwptAllocRaw({ devId: idev, ptId: viommu, dataType: 0xbad, dataLen: 8, dataUptr: 0n }).rc);
    expectRc(0, c.checkIotlbRc(nested, 0, U.IOMMU_TEST_IOTLB_DEFAULT));
    c.destroy(nested);
    c.destroy(viommu);
    c.destroy(hwpt);
  });

  it('with data: out_data loops in_data back; an mmap region of two pages at the lowest free offset from 4 KiB', () => {
    const { c, idev, hwpt } = setup();
    const a = c.viommuAllocRaw({ devId: idev, hwptId: hwpt, inData: 0xbeef });
    expectRc(0, a.rc);
    expect([a.outData, a.mmapOffset, a.mmapLength]).toEqual([0xbeef, 4096n, 8192n]);
    const b = c.viommuAllocRaw({ devId: idev, hwptId: hwpt, inData: 1 });
    expect([b.rc, b.mmapOffset]).toEqual([0, 12288n]);
    c.destroy(a.viommuId);
    const d = c.viommuAllocRaw({ devId: idev, hwptId: hwpt, inData: 2 });
    expect([d.rc, d.mmapOffset]).toEqual([0, 4096n]);
    // struct iommu_viommu_selftest: at least up to out_data (8 bytes), at most its 24 bytes
    expectRc(EINVAL, c.viommuAllocRaw({ devId: idev, hwptId: hwpt, inData: 3, dataLen: 4 }).rc);
    expectRc(EINVAL, c.viommuAllocRaw({ devId: idev, hwptId: hwpt, inData: 3, dataLen: 32 }).rc);
    // a short struct gets only out_data back
    const e = c.viommuAllocRaw({ devId: idev, hwptId: hwpt, inData: 4, dataLen: 8 });
    expect([e.rc, e.outData, e.mmapOffset]).toEqual([0, 4, 0n]);
    // unreadable user data: nothing is left behind
    expectRc(EFAULT, c.viommuAllocRaw({ devId: idev, hwptId: hwpt, dataLen: 24, dataUptr: 8n }).rc);
  });

  it('v6.12 has no vIOMMU: ENOTTY; HWPT_INVALIDATE of a non-nested object is ENOENT there, EINVAL on 7.2', () => {
    const { c, hwpt } = setup();
    expectRc(EINVAL, c.hwptInvalidateRaw(hwpt, 0n, U.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 12, 0).rc);
    expectRc(ENOENT, c.hwptInvalidateRaw(999, 0n, U.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 12, 0).rc);
    teardownIommufd(audited.current!);
    finish(audited.current!);
    const w = world({ profile: 'v6.12' });
    audited.current = w;
    const ioas = w.c.ioasAlloc();
    const { idevId } = w.c.mockDomain(ioas);
    const parent = w.c.hwptAlloc({ devId: idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    expectRc(ENOTTY, w.c.viommuAllocRaw({ devId: idevId, hwptId: parent }).rc);
    expectRc(ENOTTY, w.c.vdeviceAllocRaw(1, idevId, 0x99).rc);
    expectRc(ENOENT, w.c.hwptInvalidateRaw(parent, 0n, U.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 12, 0).rc);
    w.c.destroy(parent);
  });
});

describe('IOMMU_VDEVICE_ALLOC', () => {
  it('one vDEVICE per device and per virt_id; attaching to the vIOMMU-nested HWPT needs it (ENOENT before)', () => {
    const { c, ioas, stdev, idev, viommu, nested } = setup();
    expectRc(ENOENT, replaceRc(c, stdev, nested));
    expectRc(ENOENT, c.vdeviceAllocRaw(999, idev, 0x99).rc);
    expectRc(ENOENT, c.vdeviceAllocRaw(viommu, 999, 0x99).rc);
    const vdev = c.vdeviceAlloc(viommu, idev, 0x99);
    expect(vdev).toBe(8);
    expectRc(EEXIST, c.vdeviceAllocRaw(viommu, idev, 0x88).rc);
    // another device at the same virt_id
    const other = c.mockDomain(ioas);
    expectRc(EEXIST, c.vdeviceAllocRaw(viommu, other.idevId, 0x99).rc);
    const vdev2 = c.vdeviceAlloc(viommu, other.idevId, 2n ** 64n - 1n);
    expectRc(0, replaceRc(c, stdev, nested));
    expectRc(EBUSY, c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: viommu }).rc);
    expectRc(0, replaceRc(c, stdev, ioas));
    c.destroy(vdev);
    // the virt_id and the device are free again
    const again = c.vdeviceAlloc(viommu, idev, 0x88);
    c.destroy(again);
    c.destroy(vdev2);
    c.destroy(other.stdevId);
  });

  it('vdevice_tombstone: unbinding the device destroys its vDEVICE and leaves the ID unusable', () => {
    const { c, stdev, idev, viommu } = setup();
    expect(idev).toBe(3);
    const vdev = c.vdeviceAlloc(viommu, idev, 0x99);
    c.destroy(stdev);
    expectRc(ENOENT, c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: vdev }).rc);
    const objects = ctxOf(audited.current!).objects;
    expect(objects.slotState(vdev)).toBe('tombstone');
    expect(objects.slotState(idev)).toBe('free');
    // the vIOMMU lost its vDEVICE user (the audit counts them): only the nested HWPT holds it
    expect(ctxOf(audited.current!).audit()).toBe(0);
    // a new object skips the tombstone
    expect(c.ioasAlloc()).toBe(2);
    expect(c.ioasAlloc()).toBe(3);
    expect(c.ioasAlloc()).toBe(4);
    expect(c.ioasAlloc()).toBe(9);
  });
});

describe('HWPT_INVALIDATE on a vIOMMU (vdevice_cache)', () => {
  it('clears the device cache entries DEV_CHECK_CACHE reads; errors stop the batch with entry_num done', () => {
    const { w, c, idev, viommu, page } = setup();
    c.vdeviceAlloc(viommu, idev, 0x99);
    const D = U.IOMMU_TEST_DEV_CACHE_DEFAULT;
    const T = U.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST;
    const reqs = page + 1024n;
    const inv = (entries: number[][], type = T, len = 12, n = entries.length, uptr = reqs) => {
      putWords(w, reqs, [...entries.flat(), 0, 0, 0]);
      return c.hwptInvalidateRaw(viommu, uptr, type, len, n);
    };
    const caches = () => [0, 1, 2, 3].map((k) => (c.checkDevCacheRc(idev, k, D) === 0 ? D : c.checkDevCacheRc(idev, k, 0) === 0 ? 0 : -1));
    expect(inv([], T, 12, 0)).toEqual({ rc: 0, entryNum: 0 });
    expect(inv([[0, 0, 0]], U.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID)).toEqual({ rc: -EINVAL, entryNum: 0 });
    // entry_len 13 and 1 copy, then find vdev_id 0 missing
    expect(inv([[0, 0, 0]], T, 13)).toEqual({ rc: -EINVAL, entryNum: 0 });
    expect(inv([[0, 0x99, 0]], T, 1)).toEqual({ rc: -EINVAL, entryNum: 0 });
    expect(inv([[0xffffffff, 0x99, 0]])).toEqual({ rc: -EOPNOTSUPP, entryNum: 0 });
    expect(inv([[0, 0x99, 0]], T, 12, 1, 0n)).toEqual({ rc: -EINVAL, entryNum: 0 });
    expect(inv([[0, 0x99, 0]], T, 0)).toEqual({ rc: -EINVAL, entryNum: 0 });
    expect(inv([[0, 0x99, U.MOCK_DEV_CACHE_NUM]])).toEqual({ rc: -EINVAL, entryNum: 0 });
    expect(inv([[0, 0x9, 0]])).toEqual({ rc: -EINVAL, entryNum: 0 });
    expect(caches()).toEqual([D, D, D, D]);
    expect(inv([[0, 0x99, 0], [0xffffffff, 0x99, 1]])).toEqual({ rc: -EOPNOTSUPP, entryNum: 1 });
    expect(caches()).toEqual([0, D, D, D]);
    expect(inv([[0, 0x99, 1]])).toEqual({ rc: 0, entryNum: 1 });
    expect(caches()).toEqual([0, 0, D, D]);
    // FLAG_ALL clears every entry, yet cache_id is still range-checked first
    expect(inv([[1, 0x99, 7]])).toEqual({ rc: -EINVAL, entryNum: 0 });
    expect(inv([[1, 0x99, 2]])).toEqual({ rc: 0, entryNum: 1 });
    expect(caches()).toEqual([0, 0, 0, 0]);
  });
});
