// SPDX-License-Identifier: GPL-2.0-only
/**
 * IOMMU_HW_QUEUE_ALLOC (7.2 viommu.c, the mock's hw_queue_init_phys) beyond
 * the selftest's hw_queue scenario (viommu.test.ts): the length checks
 * (-EOVERFLOW, -ERANGE), physically contiguous guest queues only (-EFAULT),
 * the internal access taking an object ID and pinning the queue's pages,
 * nothing left after a failed allocation, and v6.12 without the command.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EFAULT, ENOENT, ENOMEM, ENOTTY, EOPNOTSUPP, EOVERFLOW, ERANGE } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { iommufdCtxOf } from '../../src/machine/iommufd-node.js';
import { PS, type Sim, auditFd, checkRefsRc, expectNothingLeft, newSim, teardownIommufd } from './mock-fixture.js';

let current: { sim: Sim; c: IommufdClient } | undefined;

afterEach(() => {
  const s = current;
  current = undefined;
  if (!s) return;
  teardownIommufd(s.sim, s.c);
  expectNothingLeft(s.sim);
});

function setup() {
  const sim = newSim({ profile: 'latest' });
  const c = IommufdClient.open(sim.proc);
  current = { sim, c };
  const ioas = c.ioasAlloc();
  const d = c.mockDomain(ioas);
  const hwpt = c.hwptAlloc({ devId: d.idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  const viommu = c.viommuAlloc(d.idevId, hwpt);
  return { sim, c, ioas, viommu };
}

function hwQueueRaw(c: IommufdClient, viommu: number, index: number, iova: bigint, length: bigint, type: number = U.IOMMU_HW_QUEUE_TYPE_SELFTEST) {
  const r = c.raw(U.IOMMU_HW_QUEUE_ALLOC, U.iommu_hw_queue_alloc, { viommu_id: viommu, type, index, nesting_parent_iova: iova, length });
  return { rc: r.rc, id: r.out.out_hw_queue_id as number };
}

describe('IOMMU_HW_QUEUE_ALLOC', () => {
  it('checks in the kernel order: flags/type, length, wrap, the vIOMMU, the driver type, then the pages', () => {
    const { c, viommu, ioas } = setup();
    expect(c.raw(U.IOMMU_HW_QUEUE_ALLOC, U.iommu_hw_queue_alloc, { flags: 1, viommu_id: 99, type: 1, length: 0n }).rc).toBe(-EOPNOTSUPP);
    expect(hwQueueRaw(c, 99, 0, 0n, 0n).rc).toBe(-22);
    expect(hwQueueRaw(c, 99, 0, 3n, (1n << 64n) - 2n).rc).toBe(-EOVERFLOW);
    expect(hwQueueRaw(c, 99, 0, 0n, 4096n).rc).toBe(-ENOENT);
    expect(hwQueueRaw(c, ioas, 0, 0n, 4096n).rc).toBe(-ENOENT);
    expect(hwQueueRaw(c, viommu, 0, 0n, 4096n, 7).rc).toBe(-EOPNOTSUPP);
    // base 0 with a length of 2^64 - 1 does not wrap, but its page count does.
    expect(hwQueueRaw(c, viommu, 0, 0n, (1n << 64n) - 1n).rc).toBe(-ERANGE);
  });

  it('a page-pointer array kvzalloc cannot give is ENOMEM before anything is pinned; one it can give reaches the pin', () => {
    const { sim, c, viommu } = setup();
    const base = BigInt(U.MOCK_APERTURE_START);
    // 2^28 pages: 2 GiB of pointers, over kvmalloc's INT_MAX bytes
    expect(hwQueueRaw(c, viommu, 0, base, 1n << 40n).rc).toBe(-ENOMEM);
    // 2^27 pages: 1 GiB of pointers, under INT_MAX but more than the 1 GiB machine has free for vmalloc
    expect(sim.machine.phys.freeFrames() * PS).toBeLessThan(1024 * 1024 * 1024);
    expect(hwQueueRaw(c, viommu, 0, base, 1n << 39n).rc).toBe(-ENOMEM);
    // 2^18 pages (2 MiB of pointers) fit: the pin of the unmapped range is what fails
    expect(hwQueueRaw(c, viommu, 0, base, 1n << 30n).rc).toBe(-ENOENT);
    expect(auditFd(sim.proc, c.fd)).toBe(0);
  });

  it('a guest queue over pages that are not physically contiguous is EFAULT, and leaves nothing pinned', () => {
    const { sim, c, ioas, viommu } = setup();
    const base = BigInt(U.MOCK_APERTURE_START);
    const fixed = U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE | U.IOMMU_IOAS_MAP_FIXED_IOVA;
    // Buffer pages 0 and 2 at consecutive IOVAs
    c.ioasMap({ ioas, userVa: sim.buffer, length: BigInt(PS), iova: base, flags: fixed });
    c.ioasMap({ ioas, userVa: sim.buffer + 2n * BigInt(PS), length: BigInt(PS), iova: base + BigInt(PS), flags: fixed });
    expect(hwQueueRaw(c, viommu, 0, base, 2n * BigInt(PS)).rc).toBe(-EFAULT);
    // Only the domains' pins remain (the access's pin of both pages was undone).
    expect(checkRefsRc(c, sim.buffer, PS, 1)).toBe(0);
    expect(checkRefsRc(c, sim.buffer + BigInt(PS), PS, 0)).toBe(0);
    expect(auditFd(sim.proc, c.fd)).toBe(0);
    const ctx = iommufdCtxOf(sim.proc, c.fd)!;
    const live = () => ctx.objects.live().map((e) => `${e.id}:${e.obj.type}`);
    const before = live();
    // One page is contiguous with itself: the queue pins it through an internal access with its own ID.
    const q = hwQueueRaw(c, viommu, 0, base + 2048n, 2048n);
    expect(q.rc).toBe(0);
    expect(live()).toEqual([...before, `${q.id}:HW_QUEUE`, `${q.id + 1}:ACCESS`]);
    c.destroy(q.id);
    expect(live()).toEqual(before);
    // Nothing holds the IOVA any more.
    c.ioasUnmap({ ioas, iova: base, length: 2n * BigInt(PS) });
    expect(checkRefsRc(c, sim.buffer, 4 * PS, 0)).toBe(0);
  });

  it('v6.12 has no IOMMU_HW_QUEUE_ALLOC', () => {
    const sim = newSim({ profile: 'v6.12' });
    const c = IommufdClient.open(sim.proc);
    current = { sim, c };
    expect(hwQueueRaw(c, 1, 0, 0n, 4096n).rc).toBe(-ENOTTY);
  });

  it('exit with a vEVENTQ holding events and two dependent HW queues alive leaves nothing (objects torn down leaf first)', () => {
    const sim = newSim({ profile: 'latest' });
    const c = IommufdClient.open(sim.proc);
    const ioas = c.ioasAlloc();
    const d = c.mockDomain(ioas);
    const parent = c.hwptAlloc({ devId: d.idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const v = c.viommuAlloc(d.idevId, parent);
    const page = sim.buffer + 8192n;
    expect(sim.proc.writeMemory(page, new Uint8Array(new Uint32Array([U.IOMMU_TEST_IOTLB_DEFAULT, 0]).buffer))).toBe(0);
    const nested = c.hwptAlloc({ devId: d.idevId, ptId: v, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr: page });
    c.vdeviceAlloc(v, d.idevId, 7);
    expect(c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, d.stdevId, { 'mock_domain_replace.pt_id': nested }).rc).toBe(0);
    const q = c.raw(U.IOMMU_VEVENTQ_ALLOC, U.iommu_veventq_alloc, { viommu_id: v, type: U.IOMMU_VEVENTQ_TYPE_SELFTEST, veventq_depth: 2 });
    expect(q.rc).toBe(0);
    for (let k = 0; k < 3; k++) expect(c.testCmd(U.IOMMU_TEST_OP_TRIGGER_VEVENT, 0, { 'trigger_vevent.dev_id': d.idevId }).rc).toBe(0);
    const iova = c.ioasMap({ ioas, userVa: sim.buffer, length: 4096n });
    for (const [index, off, len] of [[0, 0n, 4096n], [1, 2048n, 2048n]] as const) {
      const h = c.raw(U.IOMMU_HW_QUEUE_ALLOC, U.iommu_hw_queue_alloc, { viommu_id: v, type: U.IOMMU_HW_QUEUE_TYPE_SELFTEST, index, nesting_parent_iova: iova + off, length: len });
      expect(h.rc).toBe(0);
    }
    expectNothingLeft(sim);
  });
});
