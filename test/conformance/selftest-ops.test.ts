// SPDX-License-Identifier: GPL-2.0-only
/**
 * IOMMU_TEST_CMD op by op (selftest.c): IDs, write-backs and every errno
 * path, in the kernel's check order, through the syscall surface. Each test
 * ends with the audit, the teardown ref check and exit() leaving nothing
 * pinned, locked or charged.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EADDRINUSE,
  EBADFD,
  EBUSY,
  EFAULT,
  EINVAL,
  EIO,
  ENOENT,
  ENOMEM,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
} from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { iommufdCtxOf, iommufdEnvOf } from '../../src/machine/iommufd-node.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import {
  BUFFER_SIZE,
  MOCK_APERTURE_START,
  PS,
  type Sim,
  accessReplaceIoas,
  auditFd,
  checkMapRc,
  checkRefsRc,
  expectNothingLeft,
  mockDomainFlags,
  mockDomainReplace,
  newSim,
  teardownIommufd,
  testLayout,
} from './mock-fixture.js';

const EBADE = 52;
const U64_MAX = (1n << 64n) - 1n;

let sim: Sim;
let c: IommufdClient;

beforeEach(() => {
  sim = newSim();
  c = IommufdClient.open(sim.proc);
});

afterEach(() => {
  teardownIommufd(sim, c);
  expectNothingLeft(sim);
});

function tc(op: number, id: number, fields: Record<string, number | bigint> = {}) {
  return c.testCmd(op, id, fields);
}

function accessPagesRc(fd: number, iova: bigint, length: bigint | number, uptr: bigint, flags = 0) {
  return tc(U.IOMMU_TEST_OP_ACCESS_PAGES, fd, {
    'access_pages.iova': iova,
    'access_pages.length': BigInt(length),
    'access_pages.uptr': uptr,
    'access_pages.flags': flags,
  });
}

function accessRwRc(fd: number, iova: bigint, length: bigint | number, uptr: bigint, flags = 0): number {
  return tc(U.IOMMU_TEST_OP_ACCESS_RW, fd, {
    'access_rw.iova': iova,
    'access_rw.length': BigInt(length),
    'access_rw.uptr': uptr,
    'access_rw.flags': flags,
  }).rc;
}

/** A user page holding `bytes`, made read-only: copy-in works, the write-back faults. */
function readOnlyArg(bytes: Uint8Array): bigint {
  const va = sim.proc.mmap(0n, BigInt(PS), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(sim.proc.writeMemory(va, bytes)).toBe(0);
  expect(sim.proc.mprotect(va, BigInt(PS), PROT_READ)).toBe(0);
  return va;
}

function encodeTest(fields: Record<string, number | bigint>): Uint8Array {
  const layout = testLayout(sim.proc);
  const b = new Uint8Array(layout.size);
  layout.encode({ size: layout.size, ...fields }, b);
  return b;
}

describe('unknown ops', () => {
  it('op 0 and op numbers past the last give EOPNOTSUPP; the 7.2 ops exist', () => {
    const ioas = c.ioasAlloc();
    // DEV_CHECK_CACHE, TRIGGER_VEVENT (dev_id 0) and the PASID ops exist (an IOAS is not a device or selftest object: ENOENT)
    for (const op of [
      U.IOMMU_TEST_OP_DEV_CHECK_CACHE,
      U.IOMMU_TEST_OP_TRIGGER_VEVENT,
      U.IOMMU_TEST_OP_PASID_ATTACH,
      U.IOMMU_TEST_OP_PASID_REPLACE,
      U.IOMMU_TEST_OP_PASID_DETACH,
      U.IOMMU_TEST_OP_PASID_CHECK_HWPT,
    ]) {
      expect(tc(op, ioas).rc).toBe(-ENOENT);
    }
    for (const op of [0, 24, 0xffffffff]) {
      expect(tc(op, ioas).rc).toBe(-EOPNOTSUPP);
    }
  });

  it('v6.5: the 6.6+ ops do not exist in the 56-byte layout', () => {
    sim.proc.exit();
    sim = newSim({ profile: 'v6.5' });
    c = IommufdClient.open(sim.proc);
    const ioas = c.ioasAlloc();
    expect(testLayout(sim.proc).size).toBe(56);
    for (const op of [U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, U.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS]) {
      expect(tc(op, ioas).rc).toBe(-EOPNOTSUPP);
    }
    expect(c.ioasAlloc()).toBe(2);
  });
});

describe('ADD_RESERVED', () => {
  it('ENOENT for a missing IOAS or another object type', () => {
    expect(tc(U.IOMMU_TEST_OP_ADD_RESERVED, 1, { 'add_reserved.start': 0n, 'add_reserved.length': 1n }).rc).toBe(-ENOENT);
    const ioas = c.ioasAlloc();
    const { stdevId } = c.mockDomain(ioas);
    expect(tc(U.IOMMU_TEST_OP_ADD_RESERVED, stdevId, { 'add_reserved.start': 0n, 'add_reserved.length': 1n }).rc).toBe(-ENOENT);
  });

  it('reserves a range that IOVA_RANGES leaves out; overlapping other reservations is fine', () => {
    const ioas = c.ioasAlloc();
    c.addReserved(ioas, PS, PS);
    c.addReserved(ioas, PS, 2 * PS);
    expect(c.iovaRanges(ioas).ranges).toEqual([
      { start: 0n, last: BigInt(PS - 1) },
      { start: BigInt(3 * PS), last: U64_MAX },
    ]);
  });

  it('EADDRINUSE over an area or an allowed range', () => {
    const ioas = c.ioasAlloc();
    c.ioasMap({ ioas, userVa: sim.buffer, length: PS, iova: 8 * PS });
    expect(tc(U.IOMMU_TEST_OP_ADD_RESERVED, ioas, { 'add_reserved.start': BigInt(8 * PS + 100), 'add_reserved.length': 1n }).rc).toBe(-EADDRINUSE);
    c.allowIovas(ioas, [{ start: 0x100000n, last: 0x1fffffn }]);
    expect(tc(U.IOMMU_TEST_OP_ADD_RESERVED, ioas, { 'add_reserved.start': 0x1ff000n, 'add_reserved.length': 0x2000n }).rc).toBe(-EADDRINUSE);
    c.addReserved(ioas, 0x200000n, PS);
  });

  it('length 0 is EINVAL and a wrapping range EOVERFLOW, both before the IOAS lookup (6.12.95, 7.2)', () => {
    const ioas = c.ioasAlloc();
    expect(tc(U.IOMMU_TEST_OP_ADD_RESERVED, ioas, { 'add_reserved.start': 0x5000n, 'add_reserved.length': 0n }).rc).toBe(-EINVAL);
    expect(tc(U.IOMMU_TEST_OP_ADD_RESERVED, 999, { 'add_reserved.start': 0x5000n, 'add_reserved.length': 0n }).rc).toBe(-EINVAL);
    expect(tc(U.IOMMU_TEST_OP_ADD_RESERVED, ioas, { 'add_reserved.start': U64_MAX, 'add_reserved.length': 2n }).rc).toBe(-EOVERFLOW);
    expect(tc(U.IOMMU_TEST_OP_ADD_RESERVED, 999, { 'add_reserved.start': U64_MAX, 'add_reserved.length': 2n }).rc).toBe(-EOVERFLOW);
    // The last IOVA itself (start + length - 1 = 2^64 - 1) does not wrap.
    expect(tc(U.IOMMU_TEST_OP_ADD_RESERVED, ioas, { 'add_reserved.start': U64_MAX, 'add_reserved.length': 1n }).rc).toBe(0);
    expect(tc(U.IOMMU_TEST_OP_ADD_RESERVED, 999, { 'add_reserved.start': 0x5000n, 'add_reserved.length': 1n }).rc).toBe(-ENOENT);
    const { ranges } = c.iovaRanges(ioas);
    expect(ranges[ranges.length - 1].last).toBe(U64_MAX - 1n);
  });

  it('v6.5: length 0 is not validated (a degenerate range)', () => {
    const old = newSim({ profile: 'v6.5' });
    const c = IommufdClient.open(old.proc);
    const ioas = c.ioasAlloc();
    c.addReserved(ioas, 0x5000n, 0n);
    // The inverted range [0x5000, 0x4fff] covers no IOVA: the usable ranges still span everything...
    const { ranges } = c.iovaRanges(ioas);
    expect(ranges[0].start).toBe(0n);
    expect(ranges[ranges.length - 1].last).toBe(U64_MAX);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i].start).toBe(ranges[i - 1].last + 1n);
    // ...but an interval query across 0x4fff/0x5000 still meets it (iopt_check_iova: EINVAL).
    expect(c.ioasMapRaw({ ioas, userVa: old.buffer, length: 2 * PS, iova: 0x4000n }).rc).toBe(-EINVAL);
    c.ioasMap({ ioas, userVa: old.buffer, length: 2 * PS, iova: 0x6000n });
    teardownIommufd(old, c);
    expectNothingLeft(old);
  });
});

describe('MOCK_DOMAIN', () => {
  it('IDs: selftest object, device, then the auto HWPT; a second device shares the HWPT', () => {
    const ioas = c.ioasAlloc();
    expect(ioas).toBe(1);
    expect(c.mockDomain(ioas)).toEqual({ stdevId: 2, hwptId: 4, idevId: 3 });
    expect(c.mockDomain(ioas)).toEqual({ stdevId: 5, hwptId: 4, idevId: 6 });
    expect(c.iovaRanges(ioas)).toEqual({ ranges: [{ start: MOCK_APERTURE_START, last: BigInt(U.MOCK_APERTURE_LAST) }], alignment: 2048n });
  });

  it('ENOENT for a missing pt_id, EINVAL for a non-IOAS/HWPT object; nothing is left and the IDs are free', () => {
    const ioas = c.ioasAlloc();
    expect(tc(U.IOMMU_TEST_OP_MOCK_DOMAIN, 9).rc).toBe(-ENOENT);
    const { stdevId, idevId } = c.mockDomain(ioas);
    expect(tc(U.IOMMU_TEST_OP_MOCK_DOMAIN, idevId).rc).toBe(-EINVAL);
    expect(tc(U.IOMMU_TEST_OP_MOCK_DOMAIN, stdevId).rc).toBe(-EINVAL);
    // The failed attempts consumed no ID.
    expect(c.ioasAlloc()).toBe(5);
  });

  it('attaches to an HWPT directly; the device, HWPT and IOAS are busy while it lives', () => {
    const ioas = c.ioasAlloc();
    const a = c.mockDomain(ioas);
    const b = c.mockDomain(a.hwptId);
    expect(b.hwptId).toBe(a.hwptId);
    for (const id of [a.idevId, a.hwptId, ioas, b.idevId]) expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id }).rc).toBe(-EBUSY);
    c.destroy(a.stdevId);
    // The HWPT lives on with device b; the IDs of a's objects are gone.
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: a.idevId }).rc).toBe(-ENOENT);
    expect(checkMapRc(c, a.hwptId, MOCK_APERTURE_START, 0n, 0n)).toBe(0);
    c.destroy(b.stdevId);
    // The auto HWPT went with its last device.
    expect(checkMapRc(c, a.hwptId, MOCK_APERTURE_START, 0n, 0n)).toBe(-ENOENT);
    c.destroy(ioas);
  });

  it('a write-back fault undoes everything (EFAULT)', () => {
    const ioas = c.ioasAlloc();
    const va = readOnlyArg(encodeTest({ op: U.IOMMU_TEST_OP_MOCK_DOMAIN, id: ioas }));
    expect(sim.proc.ioctl(c.fd, U.IOMMU_TEST_CMD, va)).toBe(-EFAULT);
    expect(c.iovaRanges(ioas).alignment).toBe(1n);
    expect(c.mockDomain(ioas)).toEqual({ stdevId: 2, hwptId: 4, idevId: 3 });
  });

  it('the new domain is filled from existing areas, and EFAULT when they cannot be pinned', () => {
    const ioas = c.ioasAlloc();
    const iova = c.ioasMap({ ioas, userVa: sim.buffer, length: BUFFER_SIZE, iova: MOCK_APERTURE_START });
    const { hwptId } = c.mockDomain(ioas);
    c.mdCheckMap(hwptId, iova, BUFFER_SIZE, sim.buffer);
    c.mdCheckRefs(sim.buffer, BUFFER_SIZE, 1);
    const ioas2 = c.ioasAlloc();
    c.ioasMap({ ioas: ioas2, userVa: 0x7000_0000_0000n, length: PS, iova: MOCK_APERTURE_START });
    expect(tc(U.IOMMU_TEST_OP_MOCK_DOMAIN, ioas2).rc).toBe(-EFAULT);
    expect(auditFd(sim.proc, c.fd)).toBe(0);
  });

  it('EADDRINUSE when an area lies outside the aperture', () => {
    const ioas = c.ioasAlloc();
    c.ioasMap({ ioas, userVa: sim.buffer, length: PS, iova: 0x1000n });
    expect(tc(U.IOMMU_TEST_OP_MOCK_DOMAIN, ioas).rc).toBe(-EADDRINUSE);
    expect(c.ioasAlloc()).toBe(2);
  });
});

describe('MOCK_DOMAIN_FLAGS', () => {
  it('EINVAL for unknown device flags (HUGE_IOVA too on 7.2); NO_DIRTY and PASID devices attach', () => {
    const ioas = c.ioasAlloc();
    expect(mockDomainFlags(c, ioas, 1 << 3).rc).toBe(-EINVAL);
    // 7.2's mock_dev_create: the MOCK_IOMMUPT_HUGE page-table type replaced HUGE_IOVA
    expect(mockDomainFlags(c, ioas, U.MOCK_FLAGS_DEVICE_HUGE_IOVA).rc).toBe(-EINVAL);
    const nd = mockDomainFlags(c, ioas, U.MOCK_FLAGS_DEVICE_NO_DIRTY);
    expect(nd).toEqual({ rc: 0, stdevId: 2, hwptId: 4, idevId: 3 });
    expect(c.getHwInfo(nd.idevId).maxPasidLog2).toBe(0);
    c.destroy(nd.stdevId);
    // 7.2 (latest) takes MOCK_FLAGS_DEVICE_PASID: a device with 2^20 PASIDs (6.12: EINVAL, hwpt-612.test.ts)
    const pd = mockDomainFlags(c, ioas, U.MOCK_FLAGS_DEVICE_PASID);
    expect(pd).toEqual({ rc: 0, stdevId: 2, hwptId: 4, idevId: 3 });
    expect(c.getHwInfo(pd.idevId).maxPasidLog2).toBe(20);
    c.destroy(pd.stdevId);
  });

  it('v6.12: a HUGE_IOVA device gets a domain with 1 MiB pages (2 KiB IOVA alignment still)', () => {
    sim.proc.exit();
    sim = newSim({ profile: 'v6.12' });
    c = IommufdClient.open(sim.proc);
    const ioas = c.ioasAlloc();
    const h = mockDomainFlags(c, ioas, U.MOCK_FLAGS_DEVICE_HUGE_IOVA);
    expect(h.rc).toBe(0);
    expect(c.iovaRanges(ioas).alignment).toBe(2048n);
    const big = sim.proc.mmap(0n, 4n << 20n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const va = (big + 0x1fffffn) & ~0x1fffffn;
    const iova = c.ioasMap({ ioas, userVa: va, length: 2 << 20, iova: MOCK_APERTURE_START });
    c.mdCheckMap(h.hwptId, iova, 2 << 20, va);
    const ctx = iommufdCtxOf(sim.proc, c.fd)!;
    const dom = ctx.iopts()[0].domains[0];
    expect(dom.pgsizeBitmap).toBe(2048 + (1 << 20));
    c.ioasUnmapAll(ioas);
  });
});

describe('MOCK_DOMAIN_REPLACE', () => {
  it('ENOENT for a missing or non-selftest stdev, or a missing pt_id; EINVAL for another object type', () => {
    const ioas = c.ioasAlloc();
    const a = c.mockDomain(ioas);
    expect(mockDomainReplace(c, 99, ioas).rc).toBe(-ENOENT);
    expect(mockDomainReplace(c, a.idevId, ioas).rc).toBe(-ENOENT);
    expect(mockDomainReplace(c, a.stdevId, 99).rc).toBe(-ENOENT);
    expect(mockDomainReplace(c, a.stdevId, a.idevId).rc).toBe(-EINVAL);
  });

  it('moves the device to another IOAS: a new auto HWPT, the old one is freed', () => {
    const ioas = c.ioasAlloc();
    const a = c.mockDomain(ioas);
    const ioas2 = c.ioasAlloc();
    const r = mockDomainReplace(c, a.stdevId, ioas2);
    // The new HWPT takes an ID while the old one (4) still holds its own.
    expect(r).toEqual({ rc: 0, ptId: 6 });
    expect(checkMapRc(c, a.hwptId, MOCK_APERTURE_START, 0n, 0n)).toBe(-ENOENT);
    expect(c.iovaRanges(ioas).alignment).toBe(1n);
    expect(c.iovaRanges(ioas2).alignment).toBe(2048n);
    // Same HWPT again: a no-op.
    expect(mockDomainReplace(c, a.stdevId, r.ptId)).toEqual({ rc: 0, ptId: 6 });
    // Back to the first IOAS by its ID: a new auto HWPT takes the freed ID 4.
    expect(mockDomainReplace(c, a.stdevId, ioas)).toEqual({ rc: 0, ptId: 4 });
    expect(mockDomainReplace(c, a.stdevId, ioas2)).toEqual({ rc: 0, ptId: 6 });
    c.destroy(ioas);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: ioas2 }).rc).toBe(-EBUSY);
  });

  it('the new domain is filled before the switch; a pin failure leaves the device where it was', () => {
    const ioas = c.ioasAlloc();
    const a = c.mockDomain(ioas);
    const ioas2 = c.ioasAlloc();
    c.ioasMap({ ioas: ioas2, userVa: 0x7000_0000_0000n, length: PS, iova: MOCK_APERTURE_START });
    expect(mockDomainReplace(c, a.stdevId, ioas2).rc).toBe(-EFAULT);
    expect(c.iovaRanges(ioas).alignment).toBe(2048n);
    expect(checkMapRc(c, a.hwptId, MOCK_APERTURE_START, 0n, 0n)).toBe(0);
  });
});

describe('MD_CHECK_MAP', () => {
  it('EINVAL for unaligned iova/length/uptr or uptr + length overflow; ENOENT / EINVAL for the object', () => {
    const ioas = c.ioasAlloc();
    const { hwptId, idevId } = c.mockDomain(ioas);
    const iova = c.ioasMap({ ioas, userVa: sim.buffer, length: BUFFER_SIZE });
    expect(checkMapRc(c, hwptId, iova + 1n, 2048, sim.buffer)).toBe(-EINVAL);
    expect(checkMapRc(c, hwptId, iova, 2047, sim.buffer)).toBe(-EINVAL);
    expect(checkMapRc(c, hwptId, iova, 2048, sim.buffer + 1024n)).toBe(-EINVAL);
    expect(checkMapRc(c, hwptId, iova, 4096, U64_MAX - 2047n)).toBe(-EINVAL);
    expect(checkMapRc(c, 99, iova, 2048, sim.buffer)).toBe(-ENOENT);
    expect(checkMapRc(c, ioas, iova, 2048, sim.buffer)).toBe(-ENOENT);
    expect(checkMapRc(c, idevId, iova, 2048, sim.buffer)).toBe(-ENOENT);
  });

  it('EINVAL for a hole or another page, the GUP errno for an unmapped user VA, 2 KiB granular', () => {
    const ioas = c.ioasAlloc();
    const { hwptId } = c.mockDomain(ioas);
    const iova = c.ioasMap({ ioas, userVa: sim.buffer + 2048n, length: 4 * PS });
    c.mdCheckMap(hwptId, iova, 4 * PS, sim.buffer + 2048n);
    expect(checkMapRc(c, hwptId, iova, 2048, sim.buffer)).toBe(-EINVAL);
    expect(checkMapRc(c, hwptId, iova + BigInt(4 * PS), 2048, sim.buffer)).toBe(-EINVAL);
    expect(checkMapRc(c, hwptId, iova, 2048, 0x7000_0000_0000n)).toBe(-EFAULT);
  });
});

describe('MD_CHECK_REFS', () => {
  it('EINVAL for unaligned or overflowing ranges, EIO on a count mismatch, EFAULT on a hole', () => {
    expect(checkRefsRc(c, sim.buffer + 1n, PS, 0)).toBe(-EINVAL);
    expect(checkRefsRc(c, sim.buffer, PS + 1, 0)).toBe(-EINVAL);
    expect(checkRefsRc(c, U64_MAX - 4095n, 2 * PS, 0)).toBe(-EINVAL);
    expect(checkRefsRc(c, sim.buffer, PS, 1)).toBe(-EIO);
    expect(checkRefsRc(c, 0x7000_0000_0000n, PS, 0)).toBe(-EFAULT);
    expect(checkRefsRc(c, sim.buffer, 0, 7)).toBe(0);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    c.ioasMap({ ioas, userVa: sim.buffer, length: 2 * PS });
    c.mdCheckRefs(sim.buffer, 2 * PS, 1);
    expect(checkRefsRc(c, sim.buffer, 3 * PS, 1)).toBe(-EIO);
    // One pin per page per pages object, however many domains.
    const ioas2 = c.ioasAlloc();
    c.mockDomain(ioas2);
    c.ioasMap({ ioas: ioas2, userVa: sim.buffer, length: PS });
    c.mdCheckRefs(sim.buffer, PS, 2);
  });

  it('compound pages are skipped', () => {
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    const huge = sim.proc.mmap(0n, 2n << 20n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | 0x40000);
    c.ioasMap({ ioas, userVa: huge, length: PS });
    c.mdCheckRefs(huge, 2 << 20, 0);
    c.mdCheckRefs(huge, 2 << 20, 5);
  });
});

describe('CREATE_ACCESS', () => {
  it('EOPNOTSUPP for unknown flags; ENOENT for a missing IOAS with no fd and no ID left', () => {
    const ioas = c.ioasAlloc();
    expect(tc(U.IOMMU_TEST_OP_CREATE_ACCESS, ioas, { 'create_access.flags': 2 }).rc).toBe(-EOPNOTSUPP);
    const before = sim.proc.openFds();
    expect(tc(U.IOMMU_TEST_OP_CREATE_ACCESS, 77).rc).toBe(-ENOENT);
    expect(sim.proc.openFds()).toEqual(before);
    expect(c.ioasAlloc()).toBe(2);
  });

  it('takes an ID and returns a new fd; the access holds the IOAS and cannot be destroyed', () => {
    const ioas = c.ioasAlloc();
    const fd = c.createAccess(ioas);
    expect(fd).toBe(c.fd + 1);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: 2 }).rc).toBe(-EBUSY);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: ioas }).rc).toBe(-EBUSY);
    c.destroyAccess(fd);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: 2 }).rc).toBe(-ENOENT);
    c.destroy(ioas);
  });

  it('EADDRINUSE when NEEDS_PIN_PAGES raises the alignment over a misaligned area', () => {
    const ioas = c.ioasAlloc();
    c.ioasMap({ ioas, userVa: sim.buffer, length: 2048, iova: 0x10000n });
    expect(tc(U.IOMMU_TEST_OP_CREATE_ACCESS, ioas, { 'create_access.flags': U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES }).rc).toBe(-EADDRINUSE);
    const fd = c.createAccess(ioas);
    c.destroyAccess(fd);
  });

  it('the access fd keeps the context alive after the iommufd fd is closed', () => {
    const ioas = c.ioasAlloc();
    c.ioasMap({ ioas, userVa: sim.buffer, length: BUFFER_SIZE, iova: 0x100000n });
    const fd = c.createAccess(ioas, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
    c.accessPages(fd, { iova: 0x100000n, length: BUFFER_SIZE, uptr: sim.buffer });
    const ctx = iommufdCtxOf(sim.proc, c.fd)!;
    expect(sim.proc.close(c.fd)).toBe(0);
    expect(ctx.alive).toBe(true);
    c = IommufdClient.open(sim.proc);
    c.mdCheckRefs(sim.buffer, BUFFER_SIZE, 1);
    expect(sim.proc.close(fd)).toBe(0);
    expect(ctx.alive).toBe(false);
    c.mdCheckRefs(sim.buffer, BUFFER_SIZE, 0);
  });

  it('a write-back fault gives EFAULT and creates nothing', () => {
    const ioas = c.ioasAlloc();
    const va = readOnlyArg(encodeTest({ op: U.IOMMU_TEST_OP_CREATE_ACCESS, id: ioas }));
    const fds = sim.proc.openFds();
    expect(sim.proc.ioctl(c.fd, U.IOMMU_TEST_CMD, va)).toBe(-EFAULT);
    expect(sim.proc.openFds()).toEqual(fds);
    expect(c.ioasAlloc()).toBe(2);
    c.destroy(ioas);
  });
});

describe('ACCESS_PAGES / DESTROY_ACCESS_PAGES', () => {
  function setupPin(needsPin = true) {
    const ioas = c.ioasAlloc();
    const iova = 0x100000n;
    c.ioasMap({ ioas, userVa: sim.buffer, length: BUFFER_SIZE, iova });
    const fd = c.createAccess(ioas, needsPin ? U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES : 0);
    return { ioas, iova, fd };
  }

  it('checks in order: ENOMEM for > 16 MiB, EOPNOTSUPP flags, EBADFD, EOPNOTSUPP without NEEDS_PIN_PAGES', () => {
    const { iova, fd } = setupPin(false);
    expect(accessPagesRc(c.fd, iova, (16 << 20) + 1, 0n, 1 << 5).rc).toBe(-ENOMEM);
    expect(accessPagesRc(c.fd, iova, PS, 0n, 1 << 5).rc).toBe(-EOPNOTSUPP);
    expect(accessPagesRc(c.fd, iova, PS, 0n).rc).toBe(-EBADFD);
    expect(accessPagesRc(99, iova, PS, 0n).rc).toBe(-EBADFD);
    expect(accessPagesRc(fd, iova, PS, 0n).rc).toBe(-EOPNOTSUPP);
  });

  it('EINVAL for length 0, EOVERFLOW, ENOENT for a gap, EINVAL unaligned, EPERM by protection, EBADE on a mismatch', () => {
    const { ioas, iova, fd } = setupPin();
    expect(accessPagesRc(fd, iova, 0, 0n).rc).toBe(-EINVAL);
    expect(accessPagesRc(fd, U64_MAX - 10n, PS, 0n).rc).toBe(-EOVERFLOW);
    expect(accessPagesRc(fd, iova + BigInt(BUFFER_SIZE), PS, 0n).rc).toBe(-ENOENT);
    expect(accessPagesRc(fd, iova + BigInt(BUFFER_SIZE - PS), 2 * PS, 0n).rc).toBe(-ENOENT);
    expect(accessPagesRc(fd, iova + 100n, PS, 0n).rc).toBe(-EINVAL);
    c.ioasMap({ ioas, userVa: sim.buffer, length: PS, iova: 0x200000n, flags: U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_FIXED_IOVA });
    expect(accessPagesRc(fd, 0x200000n, PS, 0n, U.MOCK_FLAGS_ACCESS_WRITE).rc).toBe(-EPERM);
    expect(accessPagesRc(fd, 0x200000n, PS, 0n).rc).toBe(0);
    expect(accessPagesRc(fd, iova, PS, sim.buffer + BigInt(PS)).rc).toBe(-EBADE);
    expect(auditFd(sim.proc, c.fd)).toBe(0);
    // Closing the access fd drops its remaining item.
    c.destroyAccess(fd);
  });

  it('item IDs count from 0 per access; the pins show in MD_CHECK_REFS until destroyed', () => {
    const { iova, fd } = setupPin();
    const a = accessPagesRc(fd, iova, 2 * PS, sim.buffer);
    expect(a.rc).toBe(0);
    expect(a.out['access_pages.out_access_pages_id']).toBe(0);
    expect(c.accessPages(fd, { iova, length: 2 * PS, uptr: sim.buffer })).toBe(1);
    // A failed pin does not consume an item ID.
    expect(accessPagesRc(fd, iova, 2 * PS, sim.buffer + BigInt(PS)).rc).toBe(-EBADE);
    expect(c.accessPages(fd, { iova: iova + BigInt(4 * PS), length: PS, uptr: sim.buffer + BigInt(4 * PS) })).toBe(2);
    c.mdCheckRefs(sim.buffer, 2 * PS, 1);
    c.destroyAccessPages(fd, 1);
    c.mdCheckRefs(sim.buffer, 2 * PS, 1);
    c.destroyAccessPages(fd, 0);
    c.mdCheckRefs(sim.buffer, 2 * PS, 0);
    expect(tc(U.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, fd, { 'destroy_access_pages.access_pages_id': 0 }).rc).toBe(-ENOENT);
    expect(tc(U.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, c.fd, { 'destroy_access_pages.access_pages_id': 2 }).rc).toBe(-EBADFD);
    c.destroyAccessPages(fd, 2);
  });

  it('an IOAS unmap drops overlapping items through the unmap callback', () => {
    const { ioas, iova, fd } = setupPin();
    const x = c.accessPages(fd, { iova, length: BUFFER_SIZE, uptr: sim.buffer });
    c.ioasUnmap({ ioas, iova, length: BUFFER_SIZE });
    expect(tc(U.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, fd, { 'destroy_access_pages.access_pages_id': x }).rc).toBe(-ENOENT);
    c.mdCheckRefs(sim.buffer, BUFFER_SIZE, 0);
  });

  it('syzkaller mode turns {nth area, offset} into an IOVA', () => {
    const { ioas, iova, fd } = setupPin();
    c.ioasMap({ ioas, userVa: sim.buffer, length: 2 * PS, iova: 0x300000n });
    const syz = (1n << 32n) * BigInt(PS) + 1n;
    const r = accessPagesRc(fd, syz, PS, sim.buffer + BigInt(PS), U.MOCK_FLAGS_ACCESS_SYZ);
    expect(r.rc).toBe(0);
    c.destroyAccessPages(fd, r.out['access_pages.out_access_pages_id'] as number);
    expect(accessPagesRc(fd, 7n, PS, 0n, U.MOCK_FLAGS_ACCESS_SYZ).rc).toBe(-ENOENT);
    expect(iova).toBe(0x100000n);
  });
});

describe('ACCESS_REPLACE_IOAS', () => {
  it('EBADFD for a non-access fd, ENOENT for a missing IOAS; replace drops every pin', () => {
    const ioas = c.ioasAlloc();
    c.ioasMap({ ioas, userVa: sim.buffer, length: BUFFER_SIZE, iova: 0x100000n });
    const fd = c.createAccess(ioas, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
    c.accessPages(fd, { iova: 0x100000n, length: BUFFER_SIZE, uptr: sim.buffer });
    expect(accessReplaceIoas(c, c.fd, ioas)).toBe(-EBADFD);
    expect(accessReplaceIoas(c, fd, 55)).toBe(-ENOENT);
    expect(accessReplaceIoas(c, fd, ioas)).toBe(0);
    c.mdCheckRefs(sim.buffer, BUFFER_SIZE, 1);
    const ioas2 = c.ioasAlloc();
    expect(accessReplaceIoas(c, fd, ioas2)).toBe(0);
    c.mdCheckRefs(sim.buffer, BUFFER_SIZE, 0);
    c.destroy(ioas);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: ioas2 }).rc).toBe(-EBUSY);
    c.destroyAccess(fd);
    c.destroy(ioas2);
  });
});

describe('ACCESS_RW', () => {
  it('checks in order: ENOMEM, EOPNOTSUPP, EBADFD, EFAULT on the source, then the access errors', () => {
    const ioas = c.ioasAlloc();
    const iova = c.ioasMap({ ioas, userVa: sim.buffer, length: BUFFER_SIZE });
    const fd = c.createAccess(ioas);
    expect(accessRwRc(99, iova, (16 << 20) + 1, 0n, 2)).toBe(-ENOMEM);
    expect(accessRwRc(99, iova, 8, 0n, 2)).toBe(-EOPNOTSUPP);
    expect(accessRwRc(99, iova, 8, 0n)).toBe(-EBADFD);
    expect(accessRwRc(fd, 0n, 8, 0x7000_0000_0000n, U.MOCK_ACCESS_RW_WRITE)).toBe(-EFAULT);
    expect(accessRwRc(fd, iova, 0, sim.buffer)).toBe(-EINVAL);
    expect(accessRwRc(fd, U64_MAX - 3n, 8, sim.buffer)).toBe(-EOVERFLOW);
    expect(accessRwRc(fd, iova + BigInt(BUFFER_SIZE) - 4n, 8, sim.buffer)).toBe(-ENOENT);
    expect(accessRwRc(fd, iova, 8, 0x7000_0000_0000n)).toBe(-EFAULT);
    c.destroyAccess(fd);
  });

  it('moves data both ways across page boundaries, fast and slow path, with or without a domain', () => {
    for (const withDomain of [false, true]) {
      const ioas = c.ioasAlloc();
      if (withDomain) c.mockDomain(ioas);
      const iova = c.ioasMap({ ioas, userVa: sim.buffer, length: BUFFER_SIZE });
      const fd = c.createAccess(ioas);
      const scratch = sim.proc.mmap(0n, BigInt(PS), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      for (const flags of [0, U.MOCK_ACCESS_RW_SLOW_PATH]) {
        const data = new Uint8Array(100).map((_, i) => (i * 13 + flags + 1) & 0xff);
        expect(sim.proc.writeMemory(scratch, data)).toBe(0);
        expect(accessRwRc(fd, iova + BigInt(PS - 50), 100, scratch, flags | U.MOCK_ACCESS_RW_WRITE)).toBe(0);
        const back = new Uint8Array(100);
        expect(sim.proc.readMemory(sim.buffer + BigInt(PS - 50), back)).toBe(0);
        expect(back).toEqual(data);
        expect(sim.proc.writeMemory(scratch, new Uint8Array(100))).toBe(0);
        expect(accessRwRc(fd, iova + BigInt(PS - 50), 100, scratch, flags)).toBe(0);
        expect(sim.proc.readMemory(scratch, back)).toBe(0);
        expect(back).toEqual(data);
      }
      c.destroyAccess(fd);
      expect(sim.proc.close(c.fd)).toBe(0);
      c = IommufdClient.open(sim.proc);
    }
  });
});

describe('SET_TEMP_MEMORY_LIMIT', () => {
  it('EINVAL below 12; the limit is machine-wide', () => {
    expect(tc(U.IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 0, { 'memory_limit.limit': 11 }).rc).toBe(-EINVAL);
    c.setTempMemoryLimit(12);
    const env = iommufdEnvOf(sim.machine);
    expect(env.tempMemoryLimit).toBe(12);
    const other = IommufdClient.open(sim.proc);
    other.setTempMemoryLimit(32);
    expect(env.tempMemoryLimit).toBe(32);
    // Mapping through a domain works with 2-element batches.
    const ioas = c.ioasAlloc();
    const { hwptId } = c.mockDomain(ioas);
    const iova = c.ioasMap({ ioas, userVa: sim.buffer, length: BUFFER_SIZE });
    c.mdCheckMap(hwptId, iova, BUFFER_SIZE, sim.buffer);
    other.close();
    c.setDefaultMemoryLimit();
  });
});
