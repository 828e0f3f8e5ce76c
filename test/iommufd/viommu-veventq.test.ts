// SPDX-License-Identifier: GPL-2.0-only
// The vEVENTQ (7.2 eventq.c, veventq.ts) below the syscall layer: the read op's own answers (a zero
// count included, which Process.read does not pass down), sequence numbers, the LOST_EVENTS header's
// life, poll, and the failure paths of read; plus IOMMU_VEVENTQ_ALLOC's checks in the kernel's order.
import { describe, expect, it } from 'vitest';
import { EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOMEM, ENOTTY, EOPNOTSUPP } from '../../src/base/errno.js';
import * as U from '../../src/iommufd/uapi.js';
import type { UserMemory } from '../../src/iommufd/ucmd.js';
import { IOMMU_VEVENTQ_FLAG_LOST_EVENTS, VeventqObject } from '../../src/iommufd/veventq.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { type World, auditEachWorld, ctxOf, world } from '../client/harness.js';

const audited = auditEachWorld();

/** A flat user memory for the read op: `size` bytes at 0x1000, faulting elsewhere. */
function flatMemory(size: number): UserMemory & { bytes: Uint8Array } {
  const bytes = new Uint8Array(size);
  const inRange = (va: bigint, n: number) => va >= 0x1000n && va + BigInt(n) <= 0x1000n + BigInt(size);
  return {
    bytes,
    read(va, dst) {
      if (!inRange(va, dst.length)) return -EFAULT;
      dst.set(bytes.subarray(Number(va - 0x1000n), Number(va - 0x1000n) + dst.length));
      return 0;
    },
    write(va, src) {
      if (!inRange(va, src.length)) return -EFAULT;
      bytes.set(src, Number(va - 0x1000n));
      return 0;
    },
  };
}

interface Fx {
  w: World;
  idev: number;
  stdev: number;
  viommu: number;
  nested: number;
  ioas: number;
}

/** A device on a nested HWPT of a vIOMMU, with a vDEVICE at virt_id 0x42. */
function setup(): Fx {
  const w = world({ profile: 'latest' });
  audited.current = w;
  const c = w.c;
  const ioas = c.ioasAlloc();
  const { stdevId: stdev, idevId: idev } = c.mockDomain(ioas);
  const hwpt = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  const viommu = c.viommuAlloc(idev, hwpt);
  const page = w.proc.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(w.proc.writeMemory(page, new Uint8Array(new Uint32Array([U.IOMMU_TEST_IOTLB_DEFAULT, 0]).buffer))).toBe(0);
  const nested = c.hwptAlloc({ devId: idev, ptId: viommu, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr: page });
  c.vdeviceAlloc(viommu, idev, 0x42);
  expect(c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev, { 'mock_domain_replace.pt_id': nested }).rc).toBe(0);
  return { w, idev, stdev, viommu, nested, ioas };
}

function alloc(w: World, viommuId: number, depth: number, fields: Record<string, number> = {}) {
  const r = w.c.raw(U.IOMMU_VEVENTQ_ALLOC, U.iommu_veventq_alloc, { viommu_id: viommuId, type: U.IOMMU_VEVENTQ_TYPE_SELFTEST, veventq_depth: depth, ...fields });
  return { rc: r.rc, id: r.out.out_veventq_id as number, fd: r.out.out_veventq_fd as number };
}

function trigger(fx: Fx): number {
  return fx.w.c.testCmd(U.IOMMU_TEST_OP_TRIGGER_VEVENT, 0, { 'trigger_vevent.dev_id': fx.idev }).rc;
}

function queueOf(fx: Fx, id: number): VeventqObject {
  const e = ctxOf(fx.w).objects.live().find((x) => x.id === id);
  if (!(e?.obj instanceof VeventqObject)) throw new Error(`no vEVENTQ ${id}`);
  return e.obj;
}

/** Records of a read: [flags, sequence, virt_id or -1 for a header alone]. */
function records(mem: { bytes: Uint8Array }, n: number): number[][] {
  const dv = new DataView(mem.bytes.buffer);
  const out: number[][] = [];
  for (let at = 0; at < n; ) {
    const flags = dv.getUint32(at, true);
    const seq = dv.getUint32(at + 4, true);
    if (flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS) {
      out.push([flags, seq, -1]);
      at += 8;
    } else {
      out.push([flags, seq, dv.getUint32(at + 8, true)]);
      at += 12;
    }
  }
  return out;
}

describe('IOMMU_VEVENTQ_ALLOC', () => {
  it('checks flags, reserved and type, then depth, then the vIOMMU, then one queue per type', () => {
    const fx = setup();
    const { w } = fx;
    expect(alloc(w, 999, 0, { flags: 1 }).rc).toBe(-EOPNOTSUPP);
    expect(alloc(w, 999, 0, { __reserved: 1 }).rc).toBe(-EOPNOTSUPP);
    expect(alloc(w, 999, 0, { type: 0 }).rc).toBe(-EOPNOTSUPP);
    expect(alloc(w, 999, 0).rc).toBe(-EINVAL);
    expect(alloc(w, 999, 1).rc).toBe(-ENOENT);
    expect(alloc(w, fx.nested, 1).rc).toBe(-ENOENT);
    const q = alloc(w, fx.viommu, 1);
    expect(q.rc).toBe(0);
    expect(alloc(w, fx.viommu, 1).rc).toBe(-EEXIST);
    // Another type is another queue (the mock only reports the selftest type).
    const q2 = alloc(w, fx.viommu, 1, { type: 7 });
    expect(q2.rc).toBe(0);
    // The vIOMMU is busy while queues hold it; the queue while its fd is open.
    expect(w.c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: fx.viommu }).rc).toBe(-EBUSY);
    expect(w.c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: q.id }).rc).toBe(-EBUSY);
    expect(w.proc.close(q.fd)).toBe(0);
    expect(w.proc.close(q2.fd)).toBe(0);
    w.c.destroy(q.id);
    w.c.destroy(q2.id);
  });

  it('v6.12 has no IOMMU_VEVENTQ_ALLOC and no TRIGGER_VEVENT', () => {
    const w = world({ profile: 'v6.12' });
    audited.current = w;
    expect(alloc(w, 1, 1).rc).toBe(-ENOTTY);
    expect(w.c.testCmd(U.IOMMU_TEST_OP_TRIGGER_VEVENT, 0, { 'trigger_vevent.dev_id': 1 }).rc).toBe(-EOPNOTSUPP);
  });
});

describe('vEVENTQ records', () => {
  it('TRIGGER_VEVENT: ENOENT without a device on a vIOMMU, EOPNOTSUPP without a queue', () => {
    const fx = setup();
    expect(fx.w.c.testCmd(U.IOMMU_TEST_OP_TRIGGER_VEVENT, 0, { 'trigger_vevent.dev_id': fx.ioas }).rc).toBe(-ENOENT);
    expect(trigger(fx)).toBe(-EOPNOTSUPP);
    expect(fx.w.c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, fx.stdev, { 'mock_domain_replace.pt_id': fx.ioas }).rc).toBe(0);
    expect(trigger(fx)).toBe(-ENOENT);
  });

  it('sequence numbers, the LOST_EVENTS header kept last and replaced by the next event, read sizes', () => {
    const fx = setup();
    const q = alloc(fx.w, fx.viommu, 2);
    const vq = queueOf(fx, q.id);
    const mem = flatMemory(256);
    // The op itself: a zero count, and less than a header, are EINVAL; an empty queue reads 0.
    expect(vq.read(mem, 0x1000n, 0)).toBe(-EINVAL);
    expect(vq.read(mem, 0x1000n, 7)).toBe(-EINVAL);
    expect(vq.read(mem, 0x1000n, 8)).toBe(0);
    expect(vq.poll()).toBe(0);
    for (let k = 0; k < 4; k++) expect(trigger(fx)).toBe(0);
    // Two events (seq 0, 1), then the header with the last lost sequence (3).
    expect(vq.deliver.length).toBe(3);
    expect(vq.poll()).toBe(0x41);
    // A header's room but not the event's: EINVAL, nothing consumed.
    expect(vq.read(mem, 0x1000n, 11)).toBe(-EINVAL);
    // One event fits, the second does not: a short read.
    expect(vq.read(mem, 0x1000n, 20)).toBe(12);
    expect(records(mem, 12)).toEqual([[0, 0, 0x42]]);
    // A new event takes the header's place at the tail (its sequence shows the gap).
    expect(trigger(fx)).toBe(0);
    mem.bytes.fill(0);
    expect(vq.read(mem, 0x1000n, 256)).toBe(24);
    expect(records(mem, 24)).toEqual([
      [0, 1, 0x42],
      [0, 4, 0x42],
    ]);
    // Overflow again: 2 events and the header; a read takes all three.
    for (let k = 0; k < 3; k++) expect(trigger(fx)).toBe(0);
    mem.bytes.fill(0);
    expect(vq.read(mem, 0x1000n, 256)).toBe(32);
    expect(records(mem, 32)).toEqual([
      [0, 5, 0x42],
      [0, 6, 0x42],
      [IOMMU_VEVENTQ_FLAG_LOST_EVENTS, 7, -1],
    ]);
    expect(vq.deliver.length).toBe(0);
    expect(vq.numEvents).toBe(0);
    expect(fx.w.proc.close(q.fd)).toBe(0);
    fx.w.c.destroy(q.id);
    expect(fx.w.c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, fx.stdev, { 'mock_domain_replace.pt_id': fx.ioas }).rc).toBe(0);
  });

  it('a failed event allocation logs LOST_EVENTS (-ENOMEM); a failed header copy or a fault leaves the record queued', () => {
    const fx = setup();
    const q = alloc(fx.w, fx.viommu, 4);
    const vq = queueOf(fx, q.id);
    const mem = flatMemory(64);
    // fail-nth 2: past the device lookup, the event's kzalloc (FP_VEVENT_ALLOC).
    fx.w.proc.setFailNth(2);
    expect(trigger(fx)).toBe(-ENOMEM);
    expect(fx.w.proc.getFailNth()).toBe(0);
    expect(vq.deliver).toEqual([vq.lostHeader]);
    expect(vq.numEvents).toBe(0);
    // The header's copy cannot be made (FP_VEVENT_LOST_COPY, the read's first point): nothing read, the header stays.
    fx.w.proc.setFailNth(1);
    expect(fx.w.proc.read(q.fd, 0x10n, 64)).toBe(-ENOMEM);
    expect(vq.deliver).toEqual([vq.lostHeader]);
    // A fault copying the header: -EFAULT, the header goes back.
    expect(vq.read(mem, 0x10n, 64)).toBe(-EFAULT);
    expect(vq.deliver).toEqual([vq.lostHeader]);
    expect(vq.read(mem, 0x1000n, 64)).toBe(8);
    expect(records(mem, 8)).toEqual([[IOMMU_VEVENTQ_FLAG_LOST_EVENTS, 0, -1]]);
    // A fault on the event's payload: the event goes back, whole.
    expect(trigger(fx)).toBe(0);
    expect(vq.read(mem, 0x1000n + 56n, 12)).toBe(-EFAULT);
    expect(vq.numEvents).toBe(1);
    expect(vq.read(mem, 0x1000n, 12)).toBe(12);
    expect(records(mem, 12)).toEqual([[0, 1, 0x42]]);
    expect(fx.w.proc.close(q.fd)).toBe(0);
    fx.w.c.destroy(q.id);
    expect(fx.w.c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, fx.stdev, { 'mock_domain_replace.pt_id': fx.ioas }).rc).toBe(0);
  });
});
