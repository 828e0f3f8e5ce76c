// SPDX-License-Identifier: GPL-2.0-only
/**
 * mmap of the iommufd file (iommufd_fops_mmap, 7.2): the mock vIOMMU's
 * region at its exact offset and length, shared and not executable; the
 * mapping is VM_IO | VM_PFNMAP (GUP: EFAULT) and holds the vIOMMU (destroy:
 * EBUSY) and the file until its last VMA goes (munmap, exit, fork's copy).
 * 6.12 has no mmap for the file (ENODEV).
 */
import { describe, expect, it } from 'vitest';
import { EACCES, EBUSY, EFAULT, EINVAL, ENODEV, ENXIO, EPERM } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { Machine, O_RDONLY } from '../../src/machine/index.js';
import { iommufdCtxOf } from '../../src/machine/iommufd-node.js';
import { FOLL_LONGTERM, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE, VM_DONTEXPAND, VM_IO, VM_PFNMAP } from '../../src/mm/constants.js';
import { pinUserPages } from '../../src/mm/gup.js';

const RW = PROT_READ | PROT_WRITE;
const PG = 4096n;

function setup(profile = 'latest') {
  const m = new Machine({ memory: '128M', profile, panicOnWarn: true, checks: true });
  const p = m.spawn({ memlock: 'unlimited' });
  const c = IommufdClient.open(p, '/dev/iommu');
  const ioas = c.ioasAlloc();
  const { idevId } = c.mockDomain(ioas);
  const hwpt = c.hwptAlloc({ devId: idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
  const v = c.viommuAllocRaw({ devId: idevId, hwptId: hwpt, inData: 0xbeef });
  expect(v.rc).toBe(0);
  expect([v.mmapOffset, v.mmapLength]).toEqual([4096n, 8192n]);
  return { m, p, c, fd: c.fd, viommu: v.viommuId, off: v.mmapOffset!, len: v.mmapLength! };
}

describe('mmap of the iommufd file', () => {
  it('the exact region, shared, maps VM_IO | VM_PFNMAP pages; every other offset or length is ENXIO (selftest viommu_alloc)', () => {
    const { p, fd, off, len } = setup();
    expect(p.mmap(0n, len, RW, MAP_SHARED, fd, off + PG)).toBe(BigInt(-ENXIO));
    expect(p.mmap(0n, len, RW, MAP_SHARED, fd, off + 2n * PG)).toBe(BigInt(-ENXIO));
    expect(p.mmap(0n, len / 2n, RW, MAP_SHARED, fd, off)).toBe(BigInt(-ENXIO));
    expect(p.mmap(0n, len * 2n, RW, MAP_SHARED, fd, off)).toBe(BigInt(-ENXIO));
    expect(p.mmap(0n, len, RW, MAP_SHARED, fd, 0n)).toBe(BigInt(-ENXIO));
    expect(p.mmap(0n, len, RW, MAP_SHARED, fd, 1n << 40n)).toBe(BigInt(-ENXIO));
    // VM_SHARED first, then VM_EXEC
    expect(p.mmap(0n, len, RW, MAP_PRIVATE, fd, off + PG)).toBe(BigInt(-EINVAL));
    expect(p.mmap(0n, len, RW | PROT_EXEC, MAP_SHARED, fd, off + PG)).toBe(BigInt(-EPERM));
    const before = p.mm.vmas.length;
    const va = p.mmap(0n, len, RW, MAP_SHARED, fd, off);
    expect(va > 0n).toBe(true);
    const v = p.mm.vmaAt(va)!;
    expect(v.flags & (VM_IO | VM_PFNMAP | VM_DONTEXPAND)).toBe(VM_IO | VM_PFNMAP | VM_DONTEXPAND);
    expect(v.endAddr - v.startAddr).toBe(len);
    expect(p.mm.vmas.length).toBe(before + 1);
    // the pages are not struct-page memory: GUP refuses them, the CPU reads and writes them
    expect(pinUserPages(p.mm, va, 1, FOLL_LONGTERM, new Uint32Array(1), 0)).toBe(-EFAULT);
    expect(p.writeMemory(va, new Uint8Array([1, 2]))).toBe(0);
    expect(p.munmap(va, len)).toBe(0);
  });

  it('a failed MAP_FIXED leaves the mapping it would have replaced', () => {
    const { p, fd, off, len } = setup();
    const keep = p.mmap(0n, len, RW, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(p.writeMemory(keep, new Uint8Array([7]))).toBe(0);
    expect(p.mmap(keep, len, RW, MAP_SHARED | MAP_FIXED, fd, off + PG)).toBe(BigInt(-ENXIO));
    const b = new Uint8Array(1);
    expect(p.readMemory(keep, b)).toBe(0);
    expect(b[0]).toBe(7);
    expect(p.mmap(keep, len, RW, MAP_SHARED | MAP_FIXED, fd, off)).toBe(keep);
    expect(p.mm.vmaAt(keep)!.flags & VM_PFNMAP).toBe(VM_PFNMAP);
  });

  it('the mapping holds the vIOMMU: destroy is EBUSY until the last VMA goes (split, fork and exit included)', () => {
    const { m, p, c, fd, viommu, off, len } = setup();
    const ctx = iommufdCtxOf(p, fd)!;
    const obj = ctx.objects.get(viommu);
    expect(typeof obj).toBe('object');
    ctx.objects.put(obj as never);
    const users = () => ctx.objects.usersOf(obj as never);
    const base = users();
    const va = p.mmap(0n, len, RW, MAP_SHARED, fd, off);
    expect(users()).toBe(base + 1);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: viommu }).rc).toBe(-EBUSY);
    // munmap of one page splits the VMA: one VMA (and one reference) stays
    expect(p.munmap(va + PG, PG)).toBe(0);
    expect(users()).toBe(base + 1);
    const child = p.fork();
    expect(users()).toBe(base + 2);
    child.exit();
    expect(users()).toBe(base + 1);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: viommu }).rc).toBe(-EBUSY);
    expect(p.munmap(va, PG)).toBe(0);
    expect(users()).toBe(base);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: viommu }).rc).toBe(0);
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  it('the mapping keeps the file open: close(fd) then munmap releases the context last', () => {
    const { p, fd, off, len } = setup();
    const ctx = iommufdCtxOf(p, fd)!;
    const va = p.mmap(0n, len, RW, MAP_SHARED, fd, off);
    expect(p.close(fd)).toBe(0);
    expect(ctx.alive).toBe(true);
    expect(p.munmap(va, len)).toBe(0);
    expect(ctx.alive).toBe(false);
  });

  it('a read-only iommufd file cannot be mapped shared-writable (EACCES) and its shared read mapping lacks VM_SHARED (EINVAL)', () => {
    const { p, off, len } = setup();
    const ro = p.open('/dev/iommu', O_RDONLY);
    expect(ro).toBeGreaterThan(0);
    expect(p.mmap(0n, len, RW, MAP_SHARED, ro, off)).toBe(BigInt(-EACCES));
    expect(p.mmap(0n, len, PROT_READ, MAP_SHARED, ro, off)).toBe(BigInt(-EINVAL));
  });

  it('6.12: the iommufd file has no mmap (ENODEV)', () => {
    const m = new Machine({ memory: '16M', profile: 'v6.12' });
    const p = m.spawn();
    const fd = p.open('/dev/iommu', 2);
    expect(p.mmap(0n, 2n * PG, RW, MAP_SHARED, fd, PG)).toBe(BigInt(-ENODEV));
  });
});
