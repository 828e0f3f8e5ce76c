// SPDX-License-Identifier: GPL-2.0-only
/**
 * fail_nth sweeps (as iommufd_fail_nth.c runs them, see fail-nth.test.ts) of
 * the 7.2 vIOMMU family on `latest`: a vIOMMU with a vEVENTQ taking events
 * past its depth and read back, two dependent HW queues on one pinned page,
 * and PASID attach / replace / detach with a fault routed through a PASID. Each scenario runs unarmed, then with
 * fail-nth armed at 1, 2, 3, ... until the armed point is never reached.
 *
 * After every iteration: the failed call returned a plain -errno (a WARN
 * throws: the machine panics on warn), the whole-state audit (PASID links,
 * vEVENTQ queues, users) holds with exact pins, closing every fd succeeds, a
 * fresh context sees no pin over the buffer, and exit() leaves nothing.
 */
import { describe, expect, it } from 'vitest';
import { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { iommufdCtxOf } from '../../src/machine/iommufd-node.js';
import { O_RDWR } from '../../src/machine/index.js';
import { MOCK_APERTURE_START, PS, type Sim, checkRefsRc, expectNothingLeft, mockDomainFlags, mockDomainReplace, newSim } from './mock-fixture.js';

const BUFFER_SIZE = 2 * 1024 * 1024;
const RW = U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE;
const MAX_ITERATIONS = 1000;

interface Run {
  readonly sim: Sim;
  fd: number;
  /** Extra fds (fault queue, vEVENTQ) to close before the iommufd. */
  readonly fds: number[];
  c: IommufdClient | undefined;
}

type Scenario = (r: Run, enable: () => void) => number;

function open(r: Run): number {
  const fd = r.sim.proc.open('/dev/iommu', O_RDWR);
  if (fd < 0) return fd;
  r.fd = fd;
  r.c = new IommufdClient(r.sim.proc, fd);
  return 0;
}

/** An IOAS with the first buffer page at MOCK_APERTURE_START. */
function ioasWithPage(r: Run, out: { ioas: number }): number {
  const a = r.c!.raw(U.IOMMU_IOAS_ALLOC, U.iommu_ioas_alloc, {});
  if (a.rc) return a.rc;
  out.ioas = a.out.out_ioas_id as number;
  const fixed = RW | U.IOMMU_IOAS_MAP_FIXED_IOVA;
  return r.c!.raw(U.IOMMU_IOAS_MAP, U.iommu_ioas_map, { flags: fixed, ioas_id: out.ioas, user_va: r.sim.buffer, length: BigInt(PS), iova: MOCK_APERTURE_START }).rc;
}

function destroy(r: Run, id: number): number {
  return r.c!.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id }).rc;
}

function close(r: Run, fd: number): number {
  const k = r.fds.indexOf(fd);
  if (k >= 0) r.fds.splice(k, 1);
  return r.sim.proc.close(fd);
}

/** struct iommu_hwpt_selftest {iotlb, pagetable_type} at buffer + 4 KiB. */
function selftestData(r: Run): bigint {
  const va = r.sim.buffer + 4096n;
  expect(r.sim.proc.writeMemory(va, new Uint8Array(new Uint32Array([U.IOMMU_TEST_IOTLB_DEFAULT, 0]).buffer))).toBe(0);
  return va;
}

/**
 * A vIOMMU, a nested HWPT on it, a vDEVICE and the device on the nested
 * HWPT; a vEVENTQ of depth 2 gets three events (one lost), the reader takes
 * two events and the LOST_EVENTS header, then one more event; the queue is
 * closed and destroyed, then the vIOMMU's users go.
 */
const veventq: Scenario = (r, enable) => {
  let rc = open(r);
  const s = { ioas: 0 };
  if (rc || (rc = ioasWithPage(r, s))) return rc;
  const data = selftestData(r);
  const c = r.c!;
  enable();
  const d = mockDomainFlags(c, s.ioas, 0);
  if (d.rc) return d.rc;
  const parent = c.hwptAllocRaw({ devId: d.idevId, ptId: s.ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  if (parent.rc) return parent.rc;
  const v = c.viommuAllocRaw({ devId: d.idevId, hwptId: parent.hwptId });
  if (v.rc) return v.rc;
  const nested = c.hwptAllocRaw({ devId: d.idevId, ptId: v.viommuId, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr: data });
  if (nested.rc) return nested.rc;
  const vd = c.vdeviceAllocRaw(v.viommuId, d.idevId, 0x99);
  if (vd.rc) return vd.rc;
  if ((rc = mockDomainReplace(c, d.stdevId, nested.hwptId).rc)) return rc;
  const q = c.raw(U.IOMMU_VEVENTQ_ALLOC, U.iommu_veventq_alloc, { viommu_id: v.viommuId, type: U.IOMMU_VEVENTQ_TYPE_SELFTEST, veventq_depth: 2 });
  if (q.rc) return q.rc;
  const qfd = q.out.out_veventq_fd as number;
  r.fds.push(qfd);
  const trigger = () => c.testCmd(U.IOMMU_TEST_OP_TRIGGER_VEVENT, 0, { 'trigger_vevent.dev_id': d.idevId }).rc;
  for (let k = 0; k < 3; k++) if ((rc = trigger())) return rc;
  const buf = r.sim.buffer + 8192n;
  const n = r.sim.proc.read(qfd, buf, 64);
  if (n < 0) return n;
  // Two events of 12 bytes and the 8-byte LOST_EVENTS header (or less, had an event been lost to an allocation)
  expect(n).toBeLessThanOrEqual(32);
  if ((rc = trigger())) return rc;
  const m = r.sim.proc.read(qfd, buf, 64);
  if (m < 0) return m;
  if ((rc = destroy(r, v.viommuId)) !== -16) return rc === 0 ? -1 : rc; // EBUSY: the queue holds it
  if ((rc = close(r, qfd))) return rc;
  if ((rc = destroy(r, q.out.out_veventq_id as number))) return rc;
  if ((rc = mockDomainReplace(c, d.stdevId, s.ioas).rc)) return rc;
  return destroy(r, d.stdevId);
};

/**
 * A PASID-capable device on a PASID-compatible HWPT; PASID 100 attached then
 * replaced onto a nested HWPT, PASID 2048 on a fault-capable nested HWPT
 * taking a fault that is read and answered; both detached, the device gone.
 */
const pasid: Scenario = (r, enable) => {
  let rc = open(r);
  const s = { ioas: 0 };
  if (rc || (rc = ioasWithPage(r, s))) return rc;
  const data = selftestData(r);
  const c = r.c!;
  enable();
  const d = mockDomainFlags(c, s.ioas, U.MOCK_FLAGS_DEVICE_PASID);
  if (d.rc) return d.rc;
  const s2 = c.hwptAllocRaw({ devId: d.idevId, ptId: s.ioas, flags: U.IOMMU_HWPT_ALLOC_PASID });
  if (s2.rc) return s2.rc;
  if ((rc = mockDomainReplace(c, d.stdevId, s2.hwptId).rc)) return rc;
  const parent = c.hwptAllocRaw({ devId: d.idevId, ptId: s.ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  if (parent.rc) return parent.rc;
  const nested = c.hwptAllocRaw({ devId: d.idevId, ptId: parent.hwptId, flags: U.IOMMU_HWPT_ALLOC_PASID, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr: data });
  if (nested.rc) return nested.rc;
  const fq = c.faultQueueAllocRaw();
  if (fq.rc) return fq.rc;
  r.fds.push(fq.faultFd);
  const iopf = c.hwptAllocRaw({
    devId: d.idevId,
    ptId: parent.hwptId,
    flags: U.IOMMU_HWPT_FAULT_ID_VALID | U.IOMMU_HWPT_ALLOC_PASID,
    faultId: fq.faultId,
    dataType: U.IOMMU_HWPT_DATA_SELFTEST,
    dataLen: 8,
    dataUptr: data,
  });
  if (iopf.rc) return iopf.rc;
  const op = (o: number, fields: Record<string, number>) => c.testCmd(o, d.stdevId, fields).rc;
  // Detach both PASIDs however far the body got (PASID_DETACH of an unattached PASID is a no-op):
  // the selftest object's destroy detaches only the RID, and unbinding a device with a PASID still
  // attached WARNs on 7.2 as well (iommufd_object_destroy_user -EBUSY), so a careful caller detaches.
  const body = (): number => {
    let rc2 = op(U.IOMMU_TEST_OP_PASID_ATTACH, { 'pasid_attach.pasid': 100, 'pasid_attach.pt_id': s2.hwptId });
    if (rc2) return rc2;
    if ((rc2 = op(U.IOMMU_TEST_OP_PASID_REPLACE, { 'pasid_replace.pasid': 100, 'pasid_replace.pt_id': nested.hwptId }))) return rc2;
    if ((rc2 = op(U.IOMMU_TEST_OP_PASID_ATTACH, { 'pasid_attach.pasid': 2048, 'pasid_attach.pt_id': iopf.hwptId }))) return rc2;
    const perm = U.IOMMU_PGFAULT_PERM_READ;
    if ((rc2 = c.triggerIopfRc(d.idevId, { pasid: 2048, grpid: 1, perm, addr: 0x1000 }))) return rc2;
    // A failed iopf_group allocation drops the fault at the driver: nothing to read (0).
    const n = r.sim.proc.read(fq.faultFd, r.sim.buffer + 8192n, 40);
    return n < 0 ? n : 0;
  };
  rc = body();
  for (const p of [2048, 100]) {
    // The armed point may be the detach's own object lookup (-ENOENT): then the retry detaches.
    const first = op(U.IOMMU_TEST_OP_PASID_DETACH, { 'pasid_detach.pasid': p });
    if (first) {
      expect(op(U.IOMMU_TEST_OP_PASID_DETACH, { 'pasid_detach.pasid': p })).toBe(0);
      if (!rc) rc = first;
    }
  }
  if (rc) return rc;
  if ((rc = close(r, fq.faultFd))) return rc;
  return destroy(r, d.stdevId);
};

/**
 * A vIOMMU with two HW queues on the first buffer page (index 0, then index 1
 * on its second half, depending on 0), destroyed in order, then the page
 * unmapped.
 */
const hwQueue: Scenario = (r, enable) => {
  let rc = open(r);
  const s = { ioas: 0 };
  if (rc || (rc = ioasWithPage(r, s))) return rc;
  const c = r.c!;
  enable();
  const d = mockDomainFlags(c, s.ioas, 0);
  if (d.rc) return d.rc;
  const parent = c.hwptAllocRaw({ devId: d.idevId, ptId: s.ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  if (parent.rc) return parent.rc;
  const v = c.viommuAllocRaw({ devId: d.idevId, hwptId: parent.hwptId });
  if (v.rc) return v.rc;
  const q = (index: number, iova: bigint, length: bigint) =>
    c.raw(U.IOMMU_HW_QUEUE_ALLOC, U.iommu_hw_queue_alloc, { viommu_id: v.viommuId, type: U.IOMMU_HW_QUEUE_TYPE_SELFTEST, index, nesting_parent_iova: iova, length });
  const q0 = q(0, MOCK_APERTURE_START, BigInt(PS));
  if (q0.rc) return q0.rc;
  const q1 = q(1, MOCK_APERTURE_START + BigInt(PS / 2), BigInt(PS / 2));
  if (q1.rc) return q1.rc;
  if ((rc = destroy(r, q1.out.out_hw_queue_id as number))) return rc;
  if ((rc = destroy(r, q0.out.out_hw_queue_id as number))) return rc;
  if ((rc = destroy(r, v.viommuId))) return rc;
  return r.c!.raw(U.IOMMU_IOAS_UNMAP, U.iommu_ioas_unmap, { ioas_id: s.ioas, iova: MOCK_APERTURE_START, length: BigInt(PS) }).rc;
};

/** TEST_FAIL_NTH's sweep: the number of armed iterations run (the last reached no armed point). */
function sweep(body: Scenario): { iterations: number; failures: Map<number, number> } {
  const failures = new Map<number, number>();
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    const sim = newSim({ profile: 'latest', bufferSize: BUFFER_SIZE, bufferAlign: PS, memory: '512M' });
    const r: Run = { sim, fd: -1, fds: [], c: undefined };
    const proc = sim.proc;
    const rc = body(r, () => {
      if (iteration > 0) proc.setFailNth(iteration);
    });
    const injected = iteration > 0 && proc.getFailNth() === 0;
    proc.setFailNth(0);
    if (r.fd !== -1) expect(iommufdCtxOf(proc, r.fd)?.audit({ exactPins: true }) ?? 0).toBe(0);
    for (const fd of r.fds) expect(proc.close(fd)).toBe(0);
    if (r.fd !== -1) {
      expect(proc.close(r.fd)).toBe(0);
      const t = IommufdClient.open(proc);
      expect(checkRefsRc(t, sim.buffer, BUFFER_SIZE, 0)).toBe(0);
      t.close();
    }
    expectNothingLeft(sim);
    if (iteration === 0 || !injected) {
      expect(rc).toBe(0);
      if (iteration > 0) return { iterations: iteration, failures };
      continue;
    }
    // Some failures are absorbed by design (a fault dropped at the driver, a lost event): rc 0.
    expect(rc).toBeLessThanOrEqual(0);
    failures.set(rc, (failures.get(rc) ?? 0) + 1);
  }
  throw new Error(`fail_nth did not converge in ${MAX_ITERATIONS} iterations`);
}

/**
 * What injected failures come back as: -ENOMEM (allocations), -ENOENT (object
 * lookups), -EINVAL (HWPT_ALLOC's failed pt_id lookup), -EFAULT (a user copy),
 * -ENODEV (the mock device probed without a group), -EMFILE (no fd), or 0
 * where the kernel absorbs the failure (a dropped fault or vEVENT).
 */
const FAILURES = new Set([0, -12, -2, -22, -14, -19, -24]);

describe('7.2 vIOMMU family fail_nth sweeps (latest)', () => {
  it('basic_fail_nth.default.veventq', () => {
    const r = sweep(veventq);
    expect(r.iterations).toBeGreaterThan(20);
    expect([...r.failures.keys()].filter((e) => !FAILURES.has(e))).toEqual([]);
    expect(r.failures.get(-12)).toBeGreaterThan(10);
  });

  it('basic_fail_nth.default.hw_queue', () => {
    const r = sweep(hwQueue);
    expect(r.iterations).toBeGreaterThan(20);
    expect([...r.failures.keys()].filter((e) => !FAILURES.has(e))).toEqual([]);
    expect(r.failures.get(-12)).toBeGreaterThan(10);
  });

  it('basic_fail_nth.default.pasid', () => {
    const r = sweep(pasid);
    expect(r.iterations).toBeGreaterThan(20);
    expect([...r.failures.keys()].filter((e) => !FAILURES.has(e))).toEqual([]);
    expect(r.failures.get(-12)).toBeGreaterThan(10);
  });
});
