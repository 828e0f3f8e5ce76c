// SPDX-License-Identifier: GPL-2.0-only
/**
 * iommufd_fail_nth.c, fixture `basic_fail_nth` (selftests-catalogue.md §13):
 * each scenario is run once with nothing armed, then again with fail-nth
 * armed at 1, 2, 3, ... from the scenario's fail_nth_enable() point, until a
 * run ends with the armed point never reached; that last run must succeed.
 *
 * After every iteration: the failed call returned a plain -errno (a WARN
 * would throw, the machine panics on warn), the whole-state audit over every
 * IOAS of the context holds with exact pin counts, closing the access and
 * iommufd fds succeeds, a fresh context's MD_CHECK_REFS over the buffer sees
 * no pin, and exit() leaves nothing pinned, locked or charged.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { iommufdCtxOf } from '../../src/machine/iommufd-node.js';
import { O_RDWR } from '../../src/machine/index.js';
import { MAP_ANONYMOUS, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { mapFile, memfdMmap } from '../iommufd/map-file-sim.js';
import { MOCK_APERTURE_START, PS, type ProfileName, type Sim, checkRefsRc, expectNothingLeft, mockDomainReplace, newSim } from './mock-fixture.js';

/** BUFFER_SIZE of iommufd_fail_nth.c. */
const BUFFER_SIZE = 2 * 1024 * 1024;
const RW = U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE;
/** fail_nth_next()'s iteration bound in current kernels. */
const MAX_ITERATIONS = 1000;

interface Self {
  readonly sim: Sim;
  fd: number;
  accessFd: number;
  /** A fault queue fd the scenario opened (closed before the iommufd). */
  faultFd?: number;
  c: IommufdClient | undefined;
  /** The 7.2 binary's global `mfd` (memfd_mmap(BUFFER_SIZE) in its constructor); -1 where the scenario needs none. */
  readonly mfd: number;
}

/** FIXTURE_SETUP(basic_fail_nth): nothing open. A fresh machine per iteration keeps runs independent. */
function setup(profile: ProfileName, memfd = false): Self {
  // The global buffer: 2 MiB MAP_SHARED|MAP_ANONYMOUS, alignment not controlled.
  const sim = newSim({ profile, bufferSize: BUFFER_SIZE, bufferAlign: PS, memory: '512M' });
  // setup_buffer() also makes a BUFFER_SIZE memfd mapped MAP_SHARED, before any fail_nth; it lives until exit.
  const mfd = memfd ? memfdMmap(sim.proc, BUFFER_SIZE).fd : -1;
  return { sim, fd: -1, accessFd: 0, c: undefined, mfd };
}

/** FIXTURE_TEARDOWN(basic_fail_nth) plus the model's end checks. */
function teardown(self: Self): void {
  const { sim } = self;
  if (self.accessFd) expect(sim.proc.close(self.accessFd)).toBe(0);
  if (self.faultFd) expect(sim.proc.close(self.faultFd)).toBe(0);
  if (self.fd !== -1) {
    expect(sim.proc.close(self.fd)).toBe(0);
    const t = IommufdClient.open(sim.proc);
    expect(checkRefsRc(t, sim.buffer, BUFFER_SIZE, 0)).toBe(0);
    t.close();
  }
  expectNothingLeft(sim);
}

/** The body's view: raw calls that return 0 or -errno, like the C helpers' return codes. */
class Body {
  constructor(readonly self: Self) {}

  get c(): IommufdClient {
    return this.self.c!;
  }

  open(): number {
    const fd = this.self.sim.proc.open('/dev/iommu', O_RDWR);
    if (fd < 0) return fd;
    this.self.fd = fd;
    this.self.c = new IommufdClient(this.self.sim.proc, fd);
    return 0;
  }

  ioasAlloc(out: { id: number }): number {
    const r = this.c.raw(U.IOMMU_IOAS_ALLOC, U.iommu_ioas_alloc, {});
    out.id = r.out.out_ioas_id as number;
    return r.rc;
  }

  setTempMemoryLimit(limit: number): number {
    return this.c.testCmd(U.IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 0, { 'memory_limit.limit': limit }).rc;
  }

  map(ioas: number, va: bigint, length: number, out: { iova: bigint }, flags = RW, iova = 0n): number {
    const r = this.c.raw(U.IOMMU_IOAS_MAP, U.iommu_ioas_map, { flags, ioas_id: ioas, user_va: va, length: BigInt(length), iova });
    out.iova = r.out.iova as bigint;
    return r.rc;
  }

  unmap(ioas: number, iova: bigint, length: number): number {
    return this.c.raw(U.IOMMU_IOAS_UNMAP, U.iommu_ioas_unmap, { ioas_id: ioas, iova, length: BigInt(length) }).rc;
  }

  mockDomain(ioas: number, out: { stdev: number; hwpt: number; idev: number }): number {
    const r = this.c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN, ioas);
    out.stdev = r.out['mock_domain.out_stdev_id'] as number;
    out.hwpt = r.out['mock_domain.out_hwpt_id'] as number;
    out.idev = r.out['mock_domain.out_idev_id'] as number;
    return r.rc;
  }

  destroy(id: number): number {
    return this.c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id }).rc;
  }

  createAccess(ioas: number, flags: number): number {
    const r = this.c.testCmd(U.IOMMU_TEST_OP_CREATE_ACCESS, ioas, { 'create_access.flags': flags });
    if (r.rc === 0) this.self.accessFd = r.out['create_access.out_access_fd'] as number;
    return r.rc;
  }

  destroyAccess(): number {
    const rc = this.self.sim.proc.close(this.self.accessFd);
    this.self.accessFd = 0;
    return rc;
  }
}

type Scenario = (b: Body, enable: () => void) => number;

/** Cover ioas.c */
const basic: Scenario = (b, enable) => {
  const { sim } = b.self;
  enable();
  let rc = b.open();
  if (rc) return rc;
  const ioas = { id: 0 };
  if ((rc = b.ioasAlloc(ioas))) return rc;
  // ranges[10] in user memory (the C array on the stack).
  const ranges = sim.proc.mmap(0n, BigInt(PS), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  if (ranges < 0n) return Number(ranges);
  rc = b.c.raw(U.IOMMU_IOAS_IOVA_RANGES, U.iommu_ioas_iova_ranges, { ioas_id: ioas.id, num_iovas: 10, allowed_iovas: ranges }).rc;
  if (rc) return rc;
  const r0 = new Uint8Array(16);
  U.iommu_iova_range.encode({ start: 16n * 1024n, last: BigInt(BUFFER_SIZE + 16 * 1024 * 600 - 1) }, r0);
  if ((rc = sim.proc.writeMemory(ranges, r0))) return rc;
  rc = b.c.raw(U.IOMMU_IOAS_ALLOW_IOVAS, U.iommu_ioas_allow_iovas, { ioas_id: ioas.id, num_iovas: 1, allowed_iovas: ranges }).rc;
  if (rc) return rc;
  const m = { iova: 0n };
  if ((rc = b.map(ioas.id, sim.buffer, BUFFER_SIZE, m))) return rc;
  rc = b.c.raw(U.IOMMU_IOAS_COPY, U.iommu_ioas_copy, {
    flags: RW,
    dst_ioas_id: ioas.id,
    src_ioas_id: ioas.id,
    src_iova: m.iova,
    length: 160n,
  }).rc;
  if (rc) return rc;
  if ((rc = b.unmap(ioas.id, m.iova, BUFFER_SIZE))) return rc;
  // The failure path of nothing left to unmap; its result is ignored.
  b.unmap(ioas.id, m.iova, BUFFER_SIZE);
  return 0;
};

/**
 * iopt_area_fill_domains() and iopt_area_fill_domain(): map 256 KiB with
 * `map` (IOAS_MAP of the buffer, or 7.2's IOAS_MAP_FILE of the global memfd),
 * then a second mock domain fills from the first.
 */
function mapDomainWith(map: (b: Parameters<Scenario>[0], ioas: number) => number): Scenario {
  return (b, enable) => {
    let rc = b.open();
    if (rc) return rc;
    const ioas = { id: 0 };
    if ((rc = b.ioasAlloc(ioas))) return rc;
    if ((rc = b.setTempMemoryLimit(32))) return rc;
    enable();
    const d = { stdev: 0, hwpt: 0, idev: 0 };
    if ((rc = b.mockDomain(ioas.id, d))) return rc;
    if ((rc = map(b, ioas.id))) return rc;
    if ((rc = b.destroy(d.stdev))) return rc;
    if ((rc = b.mockDomain(ioas.id, d))) return rc;
    return 0;
  };
}

const mapDomain = mapDomainWith((b, ioas) => b.map(ioas, b.self.sim.buffer, 262144, { iova: 0n }));
const mapFileDomain = mapDomainWith((b, ioas) => mapFile(b.c, { ioas, fd: b.self.mfd, start: 0, length: 262144 }).rc);

const mapTwoDomains: Scenario = (b, enable) => {
  let rc = b.open();
  if (rc) return rc;
  const ioas = { id: 0 };
  if ((rc = b.ioasAlloc(ioas))) return rc;
  if ((rc = b.setTempMemoryLimit(32))) return rc;
  const d = { stdev: 0, hwpt: 0, idev: 0 };
  const d2 = { stdev: 0, hwpt: 0, idev: 0 };
  if ((rc = b.mockDomain(ioas.id, d))) return rc;
  enable();
  if ((rc = b.mockDomain(ioas.id, d2))) return rc;
  if ((rc = b.map(ioas.id, b.self.sim.buffer, 262144, { iova: 0n }))) return rc;
  if ((rc = b.destroy(d.stdev))) return rc;
  if ((rc = b.destroy(d2.stdev))) return rc;
  if ((rc = b.mockDomain(ioas.id, d))) return rc;
  if ((rc = b.mockDomain(ioas.id, d2))) return rc;
  return 0;
};

const accessRw: Scenario = (b, enable) => {
  const { sim } = b.self;
  let rc = b.open();
  if (rc) return rc;
  const ioas = { id: 0 };
  if ((rc = b.ioasAlloc(ioas))) return rc;
  if ((rc = b.setTempMemoryLimit(32))) return rc;
  const m = { iova: 0n };
  if ((rc = b.map(ioas.id, sim.buffer, 262144, m))) return rc;
  // tmp[32] (u16) and tmp_big[4096] (u64) on the test's stack.
  const stack = sim.proc.mmap(0n, 64n * 1024n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  if (stack < 0n) return Number(stack);
  enable();
  if ((rc = b.createAccess(ioas.id, 0))) return rc;
  const rw = (length: number, uptr: bigint, flags: number) =>
    b.c.testCmd(U.IOMMU_TEST_OP_ACCESS_RW, b.self.accessFd, { 'access_rw.iova': m.iova, 'access_rw.length': BigInt(length), 'access_rw.uptr': uptr, 'access_rw.flags': flags }).rc;
  for (const flags of [0, U.MOCK_ACCESS_RW_WRITE, U.MOCK_ACCESS_RW_SLOW_PATH, U.MOCK_ACCESS_RW_SLOW_PATH | U.MOCK_ACCESS_RW_WRITE]) {
    if ((rc = rw(64, stack, flags))) return rc;
  }
  if ((rc = rw(4096 * 8, stack + 4096n, U.MOCK_ACCESS_RW_SLOW_PATH))) return rc;
  if ((rc = b.destroyAccess())) return rc;
  return 0;
};

/** Pin through the access; the test passes the ACCESS_RW name, but the op field says ACCESS_PAGES. */
function pinAndRelease(b: Body, iova: bigint): number {
  const r = b.c.testCmd(U.IOMMU_TEST_OP_ACCESS_PAGES, b.self.accessFd, {
    'access_pages.iova': iova,
    'access_pages.length': BigInt(BUFFER_SIZE),
    'access_pages.uptr': b.self.sim.buffer,
  });
  if (r.rc) return r.rc;
  const item = r.out['access_pages.out_access_pages_id'] as number;
  let rc = b.c.testCmd(U.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, b.self.accessFd, { 'destroy_access_pages.access_pages_id': item }).rc;
  if (rc) return rc;
  if ((rc = b.destroyAccess())) return rc;
  return 0;
}

/** pages.c access functions */
const accessPin: Scenario = (b, enable) => {
  let rc = b.open();
  if (rc) return rc;
  const ioas = { id: 0 };
  if ((rc = b.ioasAlloc(ioas))) return rc;
  if ((rc = b.setTempMemoryLimit(32))) return rc;
  const m = { iova: 0n };
  if ((rc = b.map(ioas.id, b.self.sim.buffer, BUFFER_SIZE, m))) return rc;
  if ((rc = b.createAccess(ioas.id, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES))) return rc;
  enable();
  return pinAndRelease(b, m.iova);
};

/** iopt_pages_fill_xarray() */
const accessPinDomain: Scenario = (b, enable) => {
  let rc = b.open();
  if (rc) return rc;
  const ioas = { id: 0 };
  if ((rc = b.ioasAlloc(ioas))) return rc;
  if ((rc = b.setTempMemoryLimit(32))) return rc;
  const d = { stdev: 0, hwpt: 0, idev: 0 };
  if ((rc = b.mockDomain(ioas.id, d))) return rc;
  const m = { iova: 0n };
  if ((rc = b.map(ioas.id, b.self.sim.buffer, BUFFER_SIZE, m))) return rc;
  if ((rc = b.createAccess(ioas.id, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES))) return rc;
  enable();
  if ((rc = pinAndRelease(b, m.iova))) return rc;
  if ((rc = b.destroy(d.stdev))) return rc;
  return 0;
};

/** device.c: the v6.5 prefix, a device created on an IOAS holding a mapping. */
function deviceSetup(b: Body): { rc: number; ioas: number; ioas2: number } {
  let rc = b.open();
  const ioas = { id: 0 };
  const ioas2 = { id: 0 };
  if (rc || (rc = b.ioasAlloc(ioas)) || (rc = b.ioasAlloc(ioas2))) return { rc, ioas: 0, ioas2: 0 };
  const fixed = RW | U.IOMMU_IOAS_MAP_FIXED_IOVA;
  rc = b.map(ioas.id, b.self.sim.buffer, PS, { iova: 0n }, fixed, MOCK_APERTURE_START);
  if (!rc) rc = b.map(ioas2.id, b.self.sim.buffer, PS, { iova: 0n }, fixed, MOCK_APERTURE_START);
  return { rc, ioas: ioas.id, ioas2: ioas2.id };
}

const device: Scenario = (b, enable) => {
  const s = deviceSetup(b);
  if (s.rc) return s.rc;
  enable();
  return b.mockDomain(s.ioas, { stdev: 0, hwpt: 0, idev: 0 });
};

/** Model extension of `device`: the device is then replaced onto the second IOAS and back (device.c replace). */
const deviceReplace: Scenario = (b, enable) => {
  const s = deviceSetup(b);
  if (s.rc) return s.rc;
  enable();
  const d = { stdev: 0, hwpt: 0, idev: 0 };
  let rc = b.mockDomain(s.ioas, d);
  if (rc) return rc;
  if ((rc = mockDomainReplace(b.c, d.stdev, s.ioas2).rc)) return rc;
  if ((rc = mockDomainReplace(b.c, d.stdev, s.ioas).rc)) return rc;
  return 0;
};

/** The 6.12 form of `device`: after the device, GET_HW_INFO, HWPT_ALLOC and two replaces (the second onto the new HWPT). */
const device612: Scenario = (b, enable) => {
  const s = deviceSetup(b);
  if (s.rc) return s.rc;
  enable();
  const d = { stdev: 0, hwpt: 0, idev: 0 };
  let rc = b.mockDomain(s.ioas, d);
  if (rc) return rc;
  const info = b.self.sim.buffer;
  if ((rc = b.c.getHwInfoRaw(d.idev, info, 8).rc)) return rc;
  const h = b.c.hwptAllocRaw({ devId: d.idev, ptId: s.ioas });
  if (h.rc) return h.rc;
  if ((rc = mockDomainReplace(b.c, d.stdev, s.ioas2).rc)) return rc;
  if ((rc = mockDomainReplace(b.c, d.stdev, h.hwptId).rc)) return rc;
  return 0;
};

/** Model extension: a nested HWPT on a NEST_PARENT, a device on it, an invalidation. */
const hwptNested: Scenario = (b, enable) => {
  const s = deviceSetup(b);
  if (s.rc) return s.rc;
  const d = { stdev: 0, hwpt: 0, idev: 0 };
  let rc = b.mockDomain(s.ioas, d);
  if (rc) return rc;
  const { proc, buffer } = b.self.sim;
  const data = buffer + 4096n;
  if (proc.writeMemory(data, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0])) !== 0) return -1;
  enable();
  const parent = b.c.hwptAllocRaw({ devId: d.idev, ptId: s.ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  if (parent.rc) return parent.rc;
  const nested = b.c.hwptAllocRaw({ devId: d.idev, ptId: parent.hwptId, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 4, dataUptr: data });
  if (nested.rc) return nested.rc;
  if ((rc = mockDomainReplace(b.c, d.stdev, nested.hwptId).rc)) return rc;
  const inv = b.c.hwptInvalidateRaw(nested.hwptId, data + 4n, U.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 1);
  if (inv.rc) return inv.rc;
  if ((rc = mockDomainReplace(b.c, d.stdev, parent.hwptId).rc)) return rc;
  return b.destroy(nested.hwptId);
};

/** Model extension: dirty tracking on an HWPT over a mapping: enable, mark, read the bitmap. */
const dirtyTracking: Scenario = (b, enable) => {
  const s = deviceSetup(b);
  if (s.rc) return s.rc;
  const d = { stdev: 0, hwpt: 0, idev: 0 };
  const rc = b.mockDomain(s.ioas, d);
  if (rc) return rc;
  const { proc, buffer } = b.self.sim;
  const bitmap = buffer + 8192n;
  if (proc.writeMemory(bitmap, new Uint8Array([0xff])) !== 0) return -1;
  enable();
  const h = b.c.hwptAllocRaw({ devId: d.idev, ptId: s.ioas, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
  if (h.rc) return h.rc;
  let r = b.c.setDirtyTrackingRaw(h.hwptId, U.IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
  if (r) return r;
  r = b.c.testCmd(U.IOMMU_TEST_OP_DIRTY, h.hwptId, { 'dirty.iova': MOCK_APERTURE_START, 'dirty.length': 4096n, 'dirty.page_size': 2048n, 'dirty.uptr': bitmap }).rc;
  if (r) return r;
  r = b.c.getDirtyBitmapRaw({ hwptId: h.hwptId, iova: MOCK_APERTURE_START, length: 4096, pageSize: 2048, data: bitmap + 8n });
  if (r) return r;
  return b.destroy(h.hwptId);
};

/** Model extension: a fault queue, a nested HWPT reporting to it, a fault read and answered. */
const faultQueue: Scenario = (b, enable) => {
  const s = deviceSetup(b);
  if (s.rc) return s.rc;
  const d = { stdev: 0, hwpt: 0, idev: 0 };
  let rc = b.mockDomain(s.ioas, d);
  if (rc) return rc;
  const { proc, buffer } = b.self.sim;
  const data = buffer + 4096n;
  if (proc.writeMemory(data, new Uint8Array([1, 0, 0, 0])) !== 0) return -1;
  enable();
  const parent = b.c.hwptAllocRaw({ devId: d.idev, ptId: s.ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  if (parent.rc) return parent.rc;
  const f = b.c.faultQueueAllocRaw();
  if (f.rc) return f.rc;
  b.self.faultFd = f.faultFd;
  const h = b.c.hwptAllocRaw({
    devId: d.idev,
    ptId: parent.hwptId,
    flags: U.IOMMU_HWPT_FAULT_ID_VALID,
    faultId: f.faultId,
    dataType: U.IOMMU_HWPT_DATA_SELFTEST,
    dataLen: 4,
    dataUptr: data,
  });
  if (h.rc) return h.rc;
  if ((rc = mockDomainReplace(b.c, d.stdev, h.hwptId).rc)) return rc;
  if ((rc = b.c.triggerIopfRc(d.idev, { pasid: 1, grpid: 2, perm: 3, addr: 0x1000 }))) return rc;
  const n = proc.read(f.faultFd, buffer + 8192n, 40);
  if (n < 0) return n;
  if (n !== 40) return -1;
  const cookie = new Uint8Array(4);
  if (proc.readMemory(buffer + 8192n + 36n, cookie) !== 0) return -1;
  if (proc.writeMemory(buffer + 8192n, new Uint8Array([...cookie, 0, 0, 0, 0])) !== 0) return -1;
  const w = proc.write(f.faultFd, buffer + 8192n, 8);
  return w < 0 ? w : 0;
};

/**
 * 7.2 (model extension): a vIOMMU with data (its mmap region), a nested HWPT on it, a vDEVICE, the
 * device on the nested HWPT, a vIOMMU invalidation of the device cache, the device unbound (its
 * vDEVICE tombstoned).
 */
const viommu: Scenario = (b, enable) => {
  const s = deviceSetup(b);
  if (s.rc) return s.rc;
  const d = { stdev: 0, hwpt: 0, idev: 0 };
  let rc = b.mockDomain(s.ioas, d);
  if (rc) return rc;
  const { proc, buffer } = b.self.sim;
  const data = buffer + 4096n;
  // iommu_hwpt_selftest {iotlb, pagetable_type}; iommu_viommu_invalidate_selftest {flags, vdev_id, cache_id}
  const words = new Uint8Array(new Uint32Array([1, 0, 0, 0x99, 2]).buffer);
  if (proc.writeMemory(data, words) !== 0) return -1;
  enable();
  const parent = b.c.hwptAllocRaw({ devId: d.idev, ptId: s.ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  if (parent.rc) return parent.rc;
  const v = b.c.viommuAllocRaw({ devId: d.idev, hwptId: parent.hwptId, inData: 7 });
  if (v.rc) return v.rc;
  const nested = b.c.hwptAllocRaw({ devId: d.idev, ptId: v.viommuId, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr: data });
  if (nested.rc) return nested.rc;
  const vd = b.c.vdeviceAllocRaw(v.viommuId, d.idev, 0x99);
  if (vd.rc) return vd.rc;
  if ((rc = mockDomainReplace(b.c, d.stdev, nested.hwptId).rc)) return rc;
  const inv = b.c.hwptInvalidateRaw(v.viommuId, data + 8n, U.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 12, 1);
  if (inv.rc) return inv.rc;
  if ((rc = b.c.checkDevCacheRc(d.idev, 2, 0))) return rc;
  return b.destroy(d.stdev);
};

interface SweepResult {
  iterations: number;
  failures: Map<number, number>;
}

/** TEST_FAIL_NTH: the sweep. Returns the number of armed iterations run (the last one reached no armed point). */
function sweep(profile: ProfileName, body: Scenario, memfd = false): SweepResult {
  const failures = new Map<number, number>();
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    const self = setup(profile, memfd);
    const b = new Body(self);
    const proc = self.sim.proc;
    const rc = body(b, () => {
      if (iteration > 0) proc.setFailNth(iteration);
    });
    const injected = iteration > 0 && proc.getFailNth() === 0;
    proc.setFailNth(0);
    if (self.fd !== -1) {
      const ctx = iommufdCtxOf(proc, self.fd);
      expect(ctx?.audit({ exactPins: true }) ?? 0).toBe(0);
    }
    teardown(self);
    if (iteration === 0 || !injected) {
      // The unarmed run and the run past the last fault point must succeed.
      expect(rc).toBe(0);
      if (iteration > 0) return { iterations: iteration, failures };
      continue;
    }
    failures.set(rc, (failures.get(rc) ?? 0) + 1);

  }
  throw new Error(`fail_nth did not converge in ${MAX_ITERATIONS} iterations`);
}

interface ScenarioDef {
  readonly name: string;
  readonly run: Scenario;
  readonly profiles: readonly ProfileName[];
  /** The scenario uses the global memfd (MAP_FILE). */
  readonly memfd?: boolean;
}

const SCENARIOS: readonly ScenarioDef[] = [
  { name: 'basic', run: basic, profiles: ['latest', 'v6.12', 'v6.5'] },
  { name: 'map_domain', run: mapDomain, profiles: ['latest', 'v6.12', 'v6.5'] },
  { name: 'map_file_domain', run: mapFileDomain, profiles: ['latest'], memfd: true },
  { name: 'map_two_domains', run: mapTwoDomains, profiles: ['latest', 'v6.12', 'v6.5'] },
  { name: 'access_rw', run: accessRw, profiles: ['latest', 'v6.12', 'v6.5'] },
  { name: 'access_pin', run: accessPin, profiles: ['latest', 'v6.12', 'v6.5'] },
  { name: 'access_pin_domain', run: accessPinDomain, profiles: ['latest', 'v6.12', 'v6.5'] },
  { name: 'device', run: device, profiles: ['v6.5'] },
  { name: 'device', run: device612, profiles: ['latest', 'v6.12'] },
  { name: 'device_replace', run: deviceReplace, profiles: ['latest'] },
  { name: 'hwpt_nested', run: hwptNested, profiles: ['latest', 'v6.12'] },
  { name: 'dirty_tracking', run: dirtyTracking, profiles: ['latest', 'v6.12'] },
  { name: 'fault_queue', run: faultQueue, profiles: ['latest', 'v6.12'] },
  { name: 'viommu', run: viommu, profiles: ['latest'] },
];

/** Figures per scenario, printed once at the end (for the conformance report). */
const figures: string[] = [];

for (const profile of ['latest', 'v6.12', 'v6.5'] as const) {
  describe(`profile ${profile}`, () => {
    for (const s of SCENARIOS) {
      if (!s.profiles.includes(profile)) continue;
      it(`basic_fail_nth.default.${s.name}`, () => {
        const r = sweep(profile, s.run, s.memfd);
        expect(r.iterations).toBeGreaterThan(1);
        const errs = [...r.failures].map(([e, n]) => `${e}:${n}`).join(' ');
        figures.push(`${profile} ${s.name}: ${r.iterations} iterations (${errs})`);
      });
    }
  });
}

afterAll(() => {
  if (process.env.FAIL_NTH_FIGURES) console.log(figures.join('\n'));
});
