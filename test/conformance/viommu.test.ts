// SPDX-License-Identifier: GPL-2.0-only
/**
 * FIXTURE(iommufd_viommu) of the 7.2 selftest (selftests-catalogue.md), on
 * `latest`: variants no_viommu (no device, IDs 0) and mock_viommu (a mock
 * device, a NEST_PARENT HWPT, a vIOMMU of IOMMU_VIOMMU_TYPE_SELFTEST and a
 * nested HWPT on it). The 7.2 fixture setup checks the mock device's cache
 * defaults. For no_viommu the kernel SKIPs viommu_alloc_nested_iopf,
 * viommu_alloc_with_data, vdevice_cache, hw_queue and vdevice_tombstone: the
 * set-up made no device and no vIOMMU, so the body finds its device or vIOMMU
 * ID 0 before doing anything and SKIPs. Those instances here assert exactly
 * that skip condition on the model's state after the verbatim set-up (only
 * IOAS 1 exists) and end where the kernel's body ends.
 */
import { describe, expect, it } from 'vitest';
import { EBUSY, EEXIST, EINVAL, EIO, ENOENT, ENXIO, EOPNOTSUPP, EOVERFLOW } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import { snapshotMachine } from '../../src/inspect/index.js';
import * as U from '../../src/iommufd/uapi.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { type Sim, auditFd, mockDomainReplace, newSim, teardownEach, } from './mock-fixture.js';

interface Self {
  sim: Sim;
  c: IommufdClient;
  ioasId: number;
  stdevId: number;
  deviceId: number;
  hwptId: number;
  viommuId: number;
  nestedHwptId: number;
  /** A user page for structs passed by pointer. */
  page: bigint;
}

const fixture = teardownEach();

function put32(self: Self, va: bigint, ws: number[]): void {
  const b = new Uint8Array(ws.length * 4);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < ws.length; i++) dv.setUint32(i * 4, ws[i] >>> 0, true);
  expect(self.sim.proc.writeMemory(va, b)).toBe(0);
}

/** FIXTURE_SETUP(iommufd_viommu) */
function setup(viommu: boolean): Self {
  const sim = newSim({ profile: 'latest' });
  const c = IommufdClient.open(sim.proc);
  const page = sim.proc.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const self: Self = { sim, c, ioasId: c.ioasAlloc(), stdevId: 0, deviceId: 0, hwptId: 0, viommuId: 0, nestedHwptId: 0, page };
  fixture.current = self;
  c.setDefaultMemoryLimit();
  if (viommu) {
    const d = c.mockDomain(self.ioasId);
    self.stdevId = d.stdevId;
    self.deviceId = d.idevId;
    c.checkDevCacheAll(self.deviceId, U.IOMMU_TEST_DEV_CACHE_DEFAULT);
    self.hwptId = c.hwptAlloc({ devId: self.deviceId, ptId: self.ioasId, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    self.viommuId = c.viommuAlloc(self.deviceId, self.hwptId);
    // struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT } (8 bytes in 7.2)
    put32(self, page, [U.IOMMU_TEST_IOTLB_DEFAULT, 0]);
    self.nestedHwptId = c.hwptAlloc({ devId: self.deviceId, ptId: self.viommuId, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr: page });
  }
  return self;
}

function destroyRc(self: Self, id: number): number {
  return self.c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id }).rc;
}

function viommuNegativeTests(self: Self): void {
  const { c } = self;
  if (self.deviceId) {
    expect(c.viommuAllocRaw({ devId: self.deviceId, hwptId: 0 }).rc).toBe(-ENOENT);
    const hwpt = c.hwptAlloc({ devId: self.deviceId, ptId: self.ioasId });
    expect(c.viommuAllocRaw({ devId: self.deviceId, hwptId: hwpt }).rc).toBe(-EINVAL);
    c.destroy(hwpt);
    expect(c.viommuAllocRaw({ devId: self.deviceId, hwptId: self.hwptId, type: 0xdead }).rc).toBe(-EOPNOTSUPP);
    expect(destroyRc(self, self.hwptId)).toBe(-EBUSY);
    expect(destroyRc(self, self.viommuId)).toBe(-EBUSY);
  } else {
    expect(c.viommuAllocRaw({ devId: self.deviceId, hwptId: self.hwptId }).rc).toBe(-ENOENT);
  }
}

function viommuAllocNestedIopf(self: Self): void {
  const { c, sim } = self;
  const { faultId, faultFd } = c.faultQueueAlloc();
  const nested = (faultIdArg: number, flags: number) =>
    c.hwptAllocRaw({ devId: self.deviceId, ptId: self.viommuId, flags, faultId: faultIdArg, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr: self.page });
  expect(nested(0xffffffff, U.IOMMU_HWPT_FAULT_ID_VALID).rc).toBe(-ENOENT);
  expect(nested(faultId, U.IOMMU_HWPT_FAULT_ID_VALID | (1 << 31)).rc).toBe(-EOPNOTSUPP);
  const iopf = nested(faultId, U.IOMMU_HWPT_FAULT_ID_VALID);
  expect(iopf.rc).toBe(0);
  // a vDEVICE first, then the device may attach to the vIOMMU's nested HWPT
  expect(mockDomainReplace(c, self.stdevId, iopf.hwptId).rc).toBe(-ENOENT);
  c.vdeviceAlloc(self.viommuId, self.deviceId, 0x99);
  expect(mockDomainReplace(c, self.stdevId, iopf.hwptId).rc).toBe(0);
  expect(destroyRc(self, iopf.hwptId)).toBe(-EBUSY);
  // test_cmd_trigger_iopf(): one fault record reaches the queue and is answered
  expect(c.triggerIopfRc(self.deviceId, { pasid: 1, grpid: 2, perm: 3, addr: 0xdeadbeafn })).toBe(0);
  const buf = self.page + 1024n;
  expect(sim.proc.read(faultFd, buf, 40)).toBe(40);
  const rec = new Uint8Array(40);
  expect(sim.proc.readMemory(buf, rec)).toBe(0);
  const dv = new DataView(rec.buffer);
  expect([dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true)]).toEqual([3, self.deviceId, 1]);
  put32(self, buf + 64n, [dv.getUint32(36, true), 0]);
  expect(sim.proc.write(faultFd, buf + 64n, 8)).toBe(8);
  expect(mockDomainReplace(c, self.stdevId, self.ioasId).rc).toBe(0);
  c.destroy(iopf.hwptId);
  expect(sim.proc.close(faultFd)).toBe(0);
  c.destroy(faultId);
}

function vdeviceCache(self: Self): void {
  const { c } = self;
  const dev = self.deviceId;
  const D = U.IOMMU_TEST_DEV_CACHE_DEFAULT;
  const T = U.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST;
  c.vdeviceAlloc(self.viommuId, dev, 0x99);
  c.checkDevCacheAll(dev, D);
  // struct iommu_viommu_invalidate_selftest inv_reqs[2]: {flags, vdev_id, cache_id} each
  const reqs = self.page + 2048n;
  const inv = (r: number[][], type: number, len: number, num: number, uptr = reqs) => {
    put32(self, reqs, r.flat());
    return c.hwptInvalidateRaw(self.viommuId, uptr, type, len, num);
  };
  const z = [
    [0, 0, 0],
    [0, 0, 0],
  ];
  const expectCaches = (want: number[]) => {
    for (const [k, v] of want.entries()) expect(c.checkDevCacheRc(dev, k, v)).toBe(0);
  };
  expect(inv(z, T, 12, 0)).toEqual({ rc: 0, entryNum: 0 });
  expect(inv(z, U.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID, 12, 1)).toEqual({ rc: -EINVAL, entryNum: 0 });
  expect(inv(z, T, 13, 1)).toEqual({ rc: -EINVAL, entryNum: 0 });
  expect(inv(z, T, 1, 1)).toEqual({ rc: -EINVAL, entryNum: 0 });
  expect(inv([[0xffffffff, 0x99, 0], [0, 0, 0]], T, 12, 1)).toEqual({ rc: -EOPNOTSUPP, entryNum: 0 });
  expect(inv([[0, 0x99, 0], [0, 0, 0]], T, 12, 1, 0n)).toEqual({ rc: -EINVAL, entryNum: 0 });
  expect(inv([[0, 0x99, 0], [0, 0, 0]], T, 0, 1)).toEqual({ rc: -EINVAL, entryNum: 0 });
  expect(inv([[0, 0x99, U.MOCK_DEV_CACHE_ID_MAX + 1], [0, 0, 0]], T, 12, 1)).toEqual({ rc: -EINVAL, entryNum: 0 });
  expect(inv([[0, 0x9, 0], [0, 0, 0]], T, 12, 1)).toEqual({ rc: -EINVAL, entryNum: 0 });
  expect(inv([[0, 0x99, 0], [0xffffffff, 0x99, 1]], T, 12, 2)).toEqual({ rc: -EOPNOTSUPP, entryNum: 1 });
  expectCaches([0, D, D, D]);
  expect(inv([[0, 0x99, 0], [0, 0x99, U.MOCK_DEV_CACHE_ID_MAX + 1]], T, 12, 2)).toEqual({ rc: -EINVAL, entryNum: 1 });
  expectCaches([0, D, D, D]);
  expect(inv([[0, 0x99, 1], [0, 0, 0]], T, 12, 1)).toEqual({ rc: 0, entryNum: 1 });
  expectCaches([0, 0, D, D]);
  expect(inv([[0, 0x99, 2], [0, 0x99, 3]], T, 12, 2)).toEqual({ rc: 0, entryNum: 2 });
  expectCaches([0, 0, 0, 0]);
  // invalidate all (cache_id ignored once in range)
  c.checkDevCacheAll(dev, 0);
  expect(inv([[U.IOMMU_TEST_INVALIDATE_FLAG_ALL, 0x99, 0], [0, 0, 0]], T, 12, 1)).toEqual({ rc: 0, entryNum: 1 });
  c.checkDevCacheAll(dev, 0);
}

function veventqAllocRaw(self: Self, viommuId: number, type: number, depth: number): { rc: number; id: number; fd: number } {
  return self.c.veventqAllocRaw(viommuId, type, depth);
}

function triggerVevents(self: Self, devId: number, n: number): void {
  for (let k = 0; k < n; k++) self.c.triggerVevent(devId);
}

const HDR = 8;
const EVENT = 4;
const LOST_EVENTS = 1;

/**
 * _test_cmd_read_vevents(): poll, read nvevents records at once, and check
 * each header (no LOST_EVENTS, no sequence gap) and the first event's
 * virt_id, as the selftest helper does. 0, or the errno it would set.
 */
function readVevents(self: Self, fd: number, n: number, virtId: number, prev: { seq: number }): number {
  const { sim } = self;
  expect(sim.proc.poll(fd, 1) & 1).toBe(1);
  const buf = self.page + 3072n;
  const bytes = sim.proc.read(fd, buf, n * (HDR + EVENT));
  if (bytes <= 0) return 14; // EFAULT
  const data = new Uint8Array(n * (HDR + EVENT));
  expect(sim.proc.readMemory(buf, data)).toBe(0);
  const dv = new DataView(data.buffer);
  for (let i = 0; i < n; i++) {
    const flags = dv.getUint32(i * (HDR + EVENT), true);
    const seq = dv.getUint32(i * (HDR + EVENT) + 4, true);
    if (flags & LOST_EVENTS || ((seq - prev.seq) >>> 0) > 1) {
      prev.seq = seq;
      return 75; // EOVERFLOW
    }
    prev.seq = seq;
    if (dv.getUint32(HDR, true) !== virtId) return 22; // EINVAL
  }
  return 0;
}

/** TEST_F(iommufd_viommu, vdevice_alloc) */
function vdeviceAlloc(self: Self): void {
  const { c, sim } = self;
  const viommuId = self.viommuId;
  const devId = self.deviceId;
  if (!devId) {
    expect(c.vdeviceAllocRaw(viommuId, devId, 0x99).rc).toBe(-ENOENT);
    return;
  }
  const T = U.IOMMU_VEVENTQ_TYPE_SELFTEST;
  const prev = { seq: -1 };
  // A vDEVICE is needed before attaching to a nested HWPT on the vIOMMU.
  expect(mockDomainReplace(c, self.stdevId, self.nestedHwptId).rc).toBe(-ENOENT);
  // Depth bounds
  expect(veventqAllocRaw(self, viommuId, T, 0).rc).toBe(-EINVAL);
  expect(veventqAllocRaw(self, viommuId, T, (1 << 19) + 1).rc).toBe(-EINVAL);
  let q = veventqAllocRaw(self, viommuId, T, 1 << 19);
  expect(q.rc).toBe(0);
  expect(sim.proc.close(q.fd)).toBe(0);
  c.destroy(q.id);
  // depth 2
  q = veventqAllocRaw(self, viommuId, T, 2);
  expect(q.rc).toBe(0);
  expect(veventqAllocRaw(self, viommuId, T, 2).rc).toBe(-EEXIST);
  const vbuf = self.page + 3072n;
  // Invalid read counts on an empty queue
  expect(sim.proc.read(q.fd, vbuf, 0)).toBe(-EINVAL);
  expect(sim.proc.read(q.fd, vbuf, HDR - 1)).toBe(-EINVAL);
  // vdev_id 0x99, unset, then 0x88
  let vdev = c.vdeviceAlloc(viommuId, devId, 0x99);
  expect(mockDomainReplace(c, self.stdevId, self.nestedHwptId).rc).toBe(0);
  triggerVevents(self, devId, 1);
  // Invalid read counts on a non-empty queue: none, or the header fits and the payload does not.
  expect(sim.proc.read(q.fd, vbuf, 0)).toBe(-EINVAL);
  expect(sim.proc.read(q.fd, vbuf, HDR)).toBe(-EINVAL);
  expect(readVevents(self, q.fd, 1, 0x99, prev)).toBe(0);
  expect(c.vdeviceAllocRaw(viommuId, devId, 0x99).rc).toBe(-EEXIST);
  expect(mockDomainReplace(c, self.stdevId, self.ioasId).rc).toBe(0);
  c.destroy(vdev);
  vdev = c.vdeviceAlloc(viommuId, devId, 0x88);
  expect(mockDomainReplace(c, self.stdevId, self.nestedHwptId).rc).toBe(0);
  // Three events on a queue of depth 2: an overflow
  triggerVevents(self, devId, 3);
  expect(readVevents(self, q.fd, 3, 0x88, prev)).toBe(75);
  // The overflow is gone after that read.
  triggerVevents(self, devId, 1);
  expect(readVevents(self, q.fd, 1, 0x88, prev)).toBe(0);
  expect(sim.proc.close(q.fd)).toBe(0);
  expect(mockDomainReplace(c, self.stdevId, self.ioasId).rc).toBe(0);
  c.destroy(vdev);
  c.destroy(q.id);
}

function hwQueueAllocRaw(self: Self, type: number, index: number, iova: bigint, length: bigint): { rc: number; id: number } {
  return self.c.hwQueueAllocRaw({ viommuId: self.viommuId, type, index, iova, length });
}

/** TEST_F(iommufd_viommu, hw_queue) */
function hwQueue(self: Self): void {
  const { c, sim } = self;
  const PAGE = 4096n;
  const T = U.IOMMU_HW_QUEUE_TYPE_SELFTEST;
  let iova = BigInt(U.MOCK_APERTURE_START);
  expect(hwQueueAllocRaw(self, 0, 0, iova, PAGE).rc).toBe(-EOPNOTSUPP);
  expect(hwQueueAllocRaw(self, T, 0, iova, 0n).rc).toBe(-EINVAL);
  expect(hwQueueAllocRaw(self, T, 0, (1n << 64n) - 1n, PAGE).rc).toBe(-EOVERFLOW);
  // Nothing mapped there yet
  expect(hwQueueAllocRaw(self, T, 0, iova, PAGE).rc).toBe(-ENOENT);
  iova = c.ioasMap({ ioas: self.ioasId, userVa: sim.buffer, length: PAGE });
  const iova2 = c.ioasMap({ ioas: self.ioasId, userVa: sim.buffer + PAGE, length: PAGE });
  // Index 0 first; IOMMU_TEST_HW_QUEUE_MAX is out of range.
  expect(hwQueueAllocRaw(self, T, 1, iova, PAGE).rc).toBe(-EIO);
  expect(hwQueueAllocRaw(self, T, 2, iova, PAGE).rc).toBe(-EINVAL);
  const q0 = hwQueueAllocRaw(self, T, 0, iova, PAGE);
  expect(q0.rc).toBe(0);
  expect(hwQueueAllocRaw(self, T, 0, iova, PAGE).rc).toBe(-EEXIST);
  // The queue's internal access pinned the page and locked its area: no unmap.
  expect(c.ioasUnmapRaw({ ioas: self.ioasId, iova, length: PAGE }).rc).toBe(-EBUSY);
  // The second page is not pinned.
  c.ioasUnmap({ ioas: self.ioasId, iova: iova2, length: PAGE });
  // Index 1 on the second half of the same page
  const q1 = hwQueueAllocRaw(self, T, 1, iova + PAGE / 2n, PAGE / 2n);
  expect(q1.rc).toBe(0);
  // Queue 0 is held by queue 1, and the vIOMMU by both.
  expect(destroyRc(self, q0.id)).toBe(-EBUSY);
  expect(destroyRc(self, self.viommuId)).toBe(-EBUSY);
  expect(auditFd(sim.proc, c.fd)).toBe(0);
  c.destroy(q1.id);
  c.destroy(q0.id);
  c.ioasUnmap({ ioas: self.ioasId, iova, length: PAGE });
}

/** TEST_F(iommufd_viommu, viommu_alloc_with_data) */
function viommuAllocWithData(self: Self): void {
  const { c, sim } = self;
  const proc = sim.proc;
  const PAGE = 4096n;
  const RW = PROT_READ | PROT_WRITE;
  const a = c.viommuAllocRaw({ devId: self.deviceId, hwptId: self.hwptId, inData: 0xbeef });
  expect(a.rc).toBe(0);
  expect(a.outData).toBe(0xbeef);
  const off = a.mmapOffset!;
  const len = a.mmapLength!;
  // Offset and length cannot be changed.
  expect(proc.mmap(0n, len, RW, MAP_SHARED, c.fd, off + PAGE)).toBe(BigInt(-ENXIO));
  expect(proc.mmap(0n, len, RW, MAP_SHARED, c.fd, off + 2n * PAGE)).toBe(BigInt(-ENXIO));
  expect(proc.mmap(0n, len / 2n, RW, MAP_SHARED, c.fd, off)).toBe(BigInt(-ENXIO));
  expect(proc.mmap(0n, len * 2n, RW, MAP_SHARED, c.fd, off)).toBe(BigInt(-ENXIO));
  // The loopback: the mock wrote in_data to the first word of its page.
  const test = proc.mmap(0n, len, RW, MAP_SHARED, c.fd, off);
  expect(test > 0n).toBe(true);
  const word = new Uint8Array(4);
  expect(proc.readMemory(test, word)).toBe(0);
  expect(new DataView(word.buffer).getUint32(0, true)).toBe(0xbeef);
  // The owner of the mmap region is held.
  expect(destroyRc(self, a.viommuId)).toBe(-EBUSY);
  expect(proc.munmap(test, len)).toBe(0);
  // (The fixture's teardown destroys the vIOMMU with the context; its pages go with it.)
}

function vdeviceTombstone(self: Self): void {
  const vdev = self.c.vdeviceAlloc(self.viommuId, self.deviceId, 0x99);
  self.c.destroy(self.stdevId);
  expect(destroyRc(self, vdev)).toBe(-ENOENT);
}

/**
 * A no_viommu instance the kernel SKIPs: the body's SKIP check reads the
 * fixture's device ID (or, for hw_queue, its vIOMMU ID) and finds 0, since
 * FIXTURE_SETUP(iommufd_viommu) for no_viommu only opened /dev/iommu,
 * allocated the IOAS and set the memory limit. Nothing comes before the check
 * in any of these bodies, so the model's part is the set-up state itself.
 */
function noViommuSkip(self: Self, checks: 'device_id' | 'viommu_id'): void {
  expect(self.ioasId).toBe(1);
  expect([self.stdevId, self.deviceId, self.hwptId, self.viommuId, self.nestedHwptId]).toEqual([0, 0, 0, 0, 0]);
  expect(checks === 'device_id' ? self.deviceId : self.viommuId).toBe(0);
  const objs = snapshotMachine(self.sim.machine).objects.map((o) => ({ id: o.id, type: o.type, users: o.users }));
  // obj->users 1: the IOAS's own reference; no HWPT, vIOMMU or device holds it
  expect(objs).toEqual([{ id: 1, type: 'IOAS', users: 1 }]);
  expect(auditFd(self.sim.proc, self.c.fd)).toBe(0);
}

/** The no_viommu instances the kernel SKIPs, with the fixture field each body's SKIP check reads. */
const NO_VIOMMU_SKIPS = [
  ['viommu_alloc_nested_iopf', 'device_id'],
  ['viommu_alloc_with_data', 'device_id'],
  ['vdevice_cache', 'device_id'],
  ['hw_queue', 'viommu_id'],
  ['vdevice_tombstone', 'device_id'],
] as const;

const VARIANTS = [
  { name: 'no_viommu', viommu: false },
  { name: 'mock_viommu', viommu: true },
] as const;

describe('iommufd_viommu', () => {
  for (const v of VARIANTS) {
    const name = (s: string) => `iommufd_viommu.${v.name}.${s}`;
    it(name('viommu_auto_destroy'), () => {
      setup(v.viommu);
    });
    it(name('viommu_negative_tests'), () => viommuNegativeTests(setup(v.viommu)));
    it(name('vdevice_alloc'), () => vdeviceAlloc(setup(v.viommu)));
    if (!v.viommu) {
      for (const [s, field] of NO_VIOMMU_SKIPS) it(name(s), () => noViommuSkip(setup(false), field));
      continue;
    }
    it(name('viommu_alloc_nested_iopf'), () => viommuAllocNestedIopf(setup(true)));
    it(name('vdevice_cache'), () => vdeviceCache(setup(true)));
    it(name('viommu_alloc_with_data'), () => viommuAllocWithData(setup(true)));
    it(name('vdevice_tombstone'), () => vdeviceTombstone(setup(true)));
    it(name('hw_queue'), () => hwQueue(setup(true)));
  }
});
