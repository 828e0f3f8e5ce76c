// SPDX-License-Identifier: GPL-2.0-only
/**
 * FIXTURE(iommufd_device_pasid) of the 7.2 selftest, on `latest`: variants
 * has_pasid (one PASID-capable mock device on an IOAS) and no_pasid (plus a
 * second mock device without PASID). The pasid_attach scenario is the
 * kernel's, call for call: PASID attach, replace and detach on PASID-capable
 * HWPTs (paging, nested, on a vIOMMU, fault-capable), the RID rules while
 * PASIDs are attached, the mock's fake failure of the second set_dev_pasid
 * of PASID 1024, and a page fault routed through a PASID's attach handle.
 *
 * Beyond the scenario: GET_HW_INFO's max_pasid_log2, the PASID range, attach
 * of the RID through the PASID op, the users each attachment holds, and the
 * ops on v6.12 (which has none of them).
 */
import { describe, expect, it } from 'vitest';
import { EBUSY, EINVAL, ENOENT, ENOMEM, EOPNOTSUPP } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import { iommufdCtxOf } from '../../src/machine/iommufd-node.js';
import * as U from '../../src/iommufd/uapi.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { type Sim, auditFd, expectNothingLeft, mockDomainFlags, mockDomainReplace, newSim, teardownEach, teardownIommufd } from './mock-fixture.js';

interface Self {
  sim: Sim;
  c: IommufdClient;
  ioasId: number;
  hwptId: number;
  stdevId: number;
  deviceId: number;
  noPasidStdevId: number;
  noPasidDeviceId: number;
  page: bigint;
}

const fixture = teardownEach();

// ---------------------------------------------------------------------------
// The client's unchecked PASID test ops

function pasidAttachRc(c: IommufdClient, stdevId: number, pasid: number, ptId: number): number {
  return c.pasidAttachRaw(stdevId, pasid, ptId);
}

function pasidReplaceRc(c: IommufdClient, stdevId: number, pasid: number, ptId: number): number {
  return c.pasidReplaceRaw(stdevId, pasid, ptId);
}

function pasidDetachRc(c: IommufdClient, stdevId: number, pasid: number): number {
  return c.pasidDetachRaw(stdevId, pasid);
}

function pasidCheckHwptRc(c: IommufdClient, stdevId: number, pasid: number, hwptId: number): number {
  return c.pasidCheckHwptRaw(stdevId, pasid, hwptId);
}

/** struct iommu_hwpt_selftest { .iotlb = IOMMU_TEST_IOTLB_DEFAULT } (8 bytes in 7.2), at self.page. */
function selftestData(self: Self): bigint {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, U.IOMMU_TEST_IOTLB_DEFAULT, true);
  expect(self.sim.proc.writeMemory(self.page, b)).toBe(0);
  return self.page;
}

function hwptAllocNested(self: Self, ptId: number, flags: number, faultId = 0): number {
  const dataUptr = selftestData(self);
  return self.c.hwptAlloc({ devId: self.deviceId, ptId, flags, faultId, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr });
}

/** _test_cmd_trigger_iopf(): trigger, read the one fault record, answer it SUCCESS. */
function triggerIopf(self: Self, devId: number, pasid: number, faultFd: number): void {
  const { c, sim } = self;
  const perm = U.IOMMU_PGFAULT_PERM_READ | U.IOMMU_PGFAULT_PERM_WRITE;
  expect(c.triggerIopfRc(devId, { pasid, grpid: 2, perm, addr: 0xdeadbeafn })).toBe(0);
  const buf = self.page + 512n;
  expect(sim.proc.read(faultFd, buf, 40)).toBe(40);
  const rec = new Uint8Array(40);
  expect(sim.proc.readMemory(buf, rec)).toBe(0);
  const dv = new DataView(rec.buffer);
  expect(dv.getUint32(4, true)).toBe(devId);
  expect(dv.getUint32(8, true)).toBe(pasid);
  const resp = new Uint8Array(8);
  const rv = new DataView(resp.buffer);
  rv.setUint32(0, dv.getUint32(36, true), true);
  rv.setUint32(4, U.IOMMUFD_PAGE_RESP_SUCCESS, true);
  expect(sim.proc.writeMemory(buf + 64n, resp)).toBe(0);
  expect(sim.proc.write(faultFd, buf + 64n, 8)).toBe(8);
}

/** FIXTURE_SETUP(iommufd_device_pasid) */
function setup(pasidCapable: boolean): Self {
  const sim = newSim({ profile: 'latest' });
  const c = IommufdClient.open(sim.proc);
  const page = sim.proc.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const self: Self = { sim, c, ioasId: c.ioasAlloc(), hwptId: 0, stdevId: 0, deviceId: 0, noPasidStdevId: 0, noPasidDeviceId: 0, page };
  fixture.current = self;
  const d = mockDomainFlags(c, self.ioasId, U.MOCK_FLAGS_DEVICE_PASID);
  expect(d.rc).toBe(0);
  self.stdevId = d.stdevId;
  self.hwptId = d.hwptId;
  self.deviceId = d.idevId;
  if (!pasidCapable) {
    const n = mockDomainFlags(c, self.ioasId, 0);
    expect(n.rc).toBe(0);
    self.noPasidStdevId = n.stdevId;
    self.noPasidDeviceId = n.idevId;
  }
  return self;
}

/** TEST_F(iommufd_device_pasid, pasid_attach) */
function pasidAttach(self: Self, pasidCapable: boolean): void {
  const { c } = self;
  const sid = self.stdevId;
  let pasid = 100;
  const attach = (p: number, pt: number) => pasidAttachRc(c, sid, p, pt);
  const replace = (p: number, pt: number) => pasidReplaceRc(c, sid, p, pt);
  const check = (p: number, pt: number) => pasidCheckHwptRc(c, sid, p, pt);

  // Detach of a PASID never attached: not expected, still no failure.
  expect(pasidDetachRc(c, sid, pasid)).toBe(0);

  // Two nested HWPTs on one common parent
  const parent = c.hwptAlloc({ devId: self.deviceId, ptId: self.ioasId, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  const nested0 = hwptAllocNested(self, parent, U.IOMMU_HWPT_ALLOC_PASID);
  const nested1 = hwptAllocNested(self, parent, U.IOMMU_HWPT_ALLOC_PASID);

  // Fault preparation
  const { faultId, faultFd } = c.faultQueueAlloc();
  const iopfHwpt = hwptAllocNested(self, parent, U.IOMMU_HWPT_FAULT_ID_VALID | U.IOMMU_HWPT_ALLOC_PASID, faultId);

  // A nested HWPT on a vIOMMU
  const viommu = c.viommuAlloc(self.deviceId, parent);
  const nested2 = hwptAllocNested(self, viommu, U.IOMMU_HWPT_ALLOC_PASID);
  expect(nested2).toBeGreaterThan(0);

  const s2 = c.hwptAlloc({ devId: self.deviceId, ptId: self.ioasId, flags: U.IOMMU_HWPT_ALLOC_PASID });

  // RID on a non-PASID-compatible domain: no PASID attach
  expect(mockDomainReplace(c, sid, parent).rc).toBe(0);
  expect(attach(pasid, s2)).toBe(-EINVAL);

  // RID on a PASID-compatible domain: PASID attach works, and the RID may
  // then not go to a non-compatible one.
  expect(mockDomainReplace(c, sid, s2).rc).toBe(0);
  expect(attach(pasid, nested0)).toBe(0);
  expect(mockDomainReplace(c, sid, parent).rc).toBe(-EINVAL);
  expect(pasidDetachRc(c, sid, pasid)).toBe(0);
  expect(check(pasid, 0)).toBe(0);

  if (!pasidCapable) {
    // A PASID-compatible domain serves a device without PASID.
    expect(mockDomainReplace(c, self.noPasidStdevId, nested0).rc).toBe(0);
    expect(mockDomainReplace(c, self.noPasidStdevId, self.ioasId).rc).toBe(0);
    // Its PASIDs attach to nothing, compatible or not.
    expect(pasidAttachRc(c, self.noPasidStdevId, pasid, parent)).toBe(-EINVAL);
    expect(pasidAttachRc(c, self.noPasidStdevId, pasid, s2)).toBe(-EINVAL);
  }

  // A non-compatible HWPT: refused, nothing attached
  expect(attach(pasid, parent)).toBe(-EINVAL);
  expect(check(pasid, 0)).toBe(0);

  // An IOAS (auto domain): refused, nothing attached
  expect(attach(pasid, self.ioasId)).toBe(-EINVAL);
  expect(check(pasid, 0)).toBe(0);

  expect(attach(pasid, s2)).toBe(0);
  expect(check(pasid, s2)).toBe(0);

  // Attach does not overwrite: replace does.
  expect(attach(pasid, nested0)).toBe(-EBUSY);

  expect(pasidDetachRc(c, sid, pasid)).toBe(0);
  expect(check(pasid, 0)).toBe(0);

  expect(attach(pasid, nested0)).toBe(0);
  expect(check(pasid, nested0)).toBe(0);
  expect(attach(pasid, nested0)).toBe(-EBUSY);
  expect(pasidDetachRc(c, sid, pasid)).toBe(0);

  // Replace
  pasid = 200;
  expect(replace(pasid, s2)).toBe(-EINVAL);
  expect(attach(pasid, s2)).toBe(0);
  expect(check(pasid, s2)).toBe(0);
  expect(replace(pasid, self.ioasId)).toBe(-EINVAL);
  expect(check(pasid, s2)).toBe(0);
  expect(replace(pasid, nested0)).toBe(0);
  expect(check(pasid, nested0)).toBe(0);
  expect(replace(pasid, nested1)).toBe(0);
  expect(check(pasid, nested1)).toBe(0);
  expect(pasidDetachRc(c, sid, pasid)).toBe(0);

  // PASID 1024: the mock fails the second set_dev_pasid, the old domain stays.
  pasid = 1024;
  expect(attach(pasid, s2)).toBe(0);
  expect(check(pasid, s2)).toBe(0);
  expect(replace(pasid, nested0)).toBe(-ENOMEM);
  expect(check(pasid, s2)).toBe(0);
  expect(pasidDetachRc(c, sid, pasid)).toBe(0);

  // A fault-capable HWPT on PASID 2048: the fault reaches the queue through the PASID's handle.
  pasid = 2048;
  expect(attach(pasid, iopfHwpt)).toBe(0);
  expect(check(pasid, iopfHwpt)).toBe(0);
  triggerIopf(self, self.deviceId, pasid, faultFd);
  expect(replace(pasid, s2)).toBe(0);
  expect(check(pasid, s2)).toBe(0);
  expect(pasidDetachRc(c, sid, pasid)).toBe(0);

  c.destroy(iopfHwpt);
  expect(self.sim.proc.close(faultFd)).toBe(0);
  c.destroy(faultId);

  expect(mockDomainReplace(c, sid, self.ioasId).rc).toBe(0);
  expect(auditFd(self.sim.proc, c.fd)).toBe(0);
}

for (const v of [
  { name: 'no_pasid', pasidCapable: false },
  { name: 'has_pasid', pasidCapable: true },
]) {
  describe(`iommufd_device_pasid.${v.name}`, () => {
    it(`iommufd_device_pasid.${v.name}.pasid_attach`, () => {
      pasidAttach(setup(v.pasidCapable), v.pasidCapable);
    });
  });
}

describe('PASID attach beyond the selftest', () => {
  it('GET_HW_INFO reports max_pasid_log2 20 for a PASID-capable mock device, 0 otherwise', () => {
    const self = setup(false);
    expect(self.c.getHwInfoRaw(self.deviceId, 0, 0).out.out_max_pasid_log2).toBe(20);
    expect(self.c.getHwInfoRaw(self.noPasidDeviceId, 0, 0).out.out_max_pasid_log2).toBe(0);
  });

  it('PASIDs at or past max_pasids are EINVAL; each attachment holds an HWPT user and a device user', () => {
    const self = setup(true);
    const { c, sim } = self;
    const s2 = c.hwptAlloc({ devId: self.deviceId, ptId: self.ioasId, flags: U.IOMMU_HWPT_ALLOC_PASID });
    expect(mockDomainReplace(c, self.stdevId, s2).rc).toBe(0);
    expect(pasidAttachRc(c, self.stdevId, 1 << 20, s2)).toBe(-EINVAL);
    expect(pasidAttachRc(c, self.stdevId, 0xffffffff, s2)).toBe(-EINVAL);
    expect(pasidAttachRc(c, self.stdevId, (1 << 20) - 1, s2)).toBe(0);
    expect(pasidAttachRc(c, self.stdevId, 1, s2)).toBe(0);
    const ctx = iommufdCtxOf(sim.proc, c.fd)!;
    const users = (id: number) => ctx.objects.live().find((e) => e.id === id)?.users;
    // table + RID + two PASIDs
    expect(users(s2)).toBe(4);
    // The HWPT is busy while PASIDs use it, and a PASID-less RID domain is refused.
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: s2 }).rc).toBe(-EBUSY);
    expect(mockDomainReplace(c, self.stdevId, self.ioasId).rc).toBe(-EINVAL);
    expect(pasidDetachRc(c, self.stdevId, 1)).toBe(0);
    expect(pasidDetachRc(c, self.stdevId, (1 << 20) - 1)).toBe(0);
    expect(users(s2)).toBe(2);
    expect(mockDomainReplace(c, self.stdevId, self.ioasId).rc).toBe(0);
    c.destroy(s2);
  });

  it('PASID 0 is the RID: detach, check and re-attach through the PASID ops', () => {
    const self = setup(true);
    const { c } = self;
    expect(pasidCheckHwptRc(c, self.stdevId, 0, self.hwptId)).toBe(0);
    // The RID is attached already: the device is in its device_array.
    expect(pasidAttachRc(c, self.stdevId, 0, self.hwptId)).toBe(-EBUSY);
    expect(pasidDetachRc(c, self.stdevId, 0)).toBe(0);
    expect(pasidCheckHwptRc(c, self.stdevId, 0, 0)).toBe(0);
    // The auto domain went with its last device; a new one is made.
    const r = c.testCmd(U.IOMMU_TEST_OP_PASID_ATTACH, self.stdevId, { 'pasid_attach.pasid': 0, 'pasid_attach.pt_id': self.ioasId });
    expect(r.rc).toBe(0);
    const hwpt = r.out['pasid_attach.pt_id'] as number;
    expect(pasidCheckHwptRc(c, self.stdevId, 0, hwpt)).toBe(0);
    expect(pasidCheckHwptRc(c, self.stdevId, 0, self.ioasId)).toBe(-EINVAL);
    expect(pasidCheckHwptRc(c, self.stdevId, 0, 9999)).toBe(-ENOENT);
    // A detached RID is fine when the selftest object goes.
    expect(pasidDetachRc(c, self.stdevId, 0)).toBe(0);
    c.destroy(self.stdevId);
  });

  it('a device without PASID has max_pasids 1 (pasid-num-bits 0): no PASID attaches, even with its RID on a compatible HWPT', () => {
    const self = setup(false);
    const { c } = self;
    const s2 = c.hwptAlloc({ devId: self.deviceId, ptId: self.ioasId, flags: U.IOMMU_HWPT_ALLOC_PASID });
    expect(mockDomainReplace(c, self.noPasidStdevId, s2).rc).toBe(0);
    expect(pasidAttachRc(c, self.noPasidStdevId, 1, s2)).toBe(-EINVAL);
    expect(pasidAttachRc(c, self.noPasidStdevId, 100, s2)).toBe(-EINVAL);
    expect(pasidCheckHwptRc(c, self.noPasidStdevId, 1, 0)).toBe(0);
    expect(mockDomainReplace(c, self.noPasidStdevId, self.ioasId).rc).toBe(0);
    c.destroy(s2);
  });

  it('the ops look up a selftest object: a device ID is ENOENT', () => {
    const self = setup(true);
    const { c } = self;
    expect(pasidAttachRc(c, self.deviceId, 1, self.hwptId)).toBe(-ENOENT);
    expect(pasidDetachRc(c, self.deviceId, 1)).toBe(-ENOENT);
    expect(pasidCheckHwptRc(c, 0, 1, 0)).toBe(-ENOENT);
  });

  it('v6.12 has none of the PASID ops', () => {
    const sim = newSim({ profile: 'v6.12' });
    const c = IommufdClient.open(sim.proc);
    const ioas = c.ioasAlloc();
    const d = c.mockDomain(ioas);
    for (const op of [U.IOMMU_TEST_OP_PASID_ATTACH, U.IOMMU_TEST_OP_PASID_REPLACE, U.IOMMU_TEST_OP_PASID_DETACH, U.IOMMU_TEST_OP_PASID_CHECK_HWPT]) {
      expect(c.testCmd(op, d.stdevId, {}).rc).toBe(-EOPNOTSUPP);
    }
    teardownIommufd(sim, c);
    expectNothingLeft(sim);
  });
});
