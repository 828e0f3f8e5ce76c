// SPDX-License-Identifier: GPL-2.0-only
// The client's methods for the commands and test ops after 6.12 (PASID, vEVENTQ, HW queue,
// MAP_FILE, CHANGE_PROCESS, the selftest dma-buf): each checked form against its Raw form,
// with the kernel's errno and the state the call leaves.
import { afterEach, describe, expect, it } from 'vitest';
import { EBADF, EBUSY, EEXIST, EINVAL, ENOENT, EOPNOTSUPP, ErrnoError } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { memfdMmap } from '../iommufd/map-file-sim.js';
import { PS, type World, ctxOf, expectErrno, finish, teardownIommufd, world } from './harness.js';

let w: World | undefined;

function open(fget = false): World {
  const w0 = world({ profile: 'latest' });
  if (!fget) {
    w = w0;
    return w;
  }
  w0.c.close();
  w = { ...w0, c: IommufdClient.open(w0.proc) };
  return w;
}

afterEach(() => {
  if (!w) return;
  const cur = w;
  w = undefined;
  expect(ctxOf(cur).audit({ exactPins: true })).toBe(0);
  expect(cur.machine.audit()).toBe(0);
  teardownIommufd(cur);
  finish(cur);
});

function destroyRc(c: IommufdClient, id: number): number {
  return c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id }).rc;
}

function thrown(fn: () => unknown): ErrnoError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ErrnoError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('IommufdClient, 7.x test ops and commands', () => {
  it('PASID attach / replace / detach / check on a PASID-capable mock device', () => {
    const { c } = open();
    const ioas = c.ioasAlloc();
    const d = c.mockDomainFlags(ioas, U.MOCK_FLAGS_DEVICE_PASID);
    expect(d.stdevId).toBeGreaterThan(0);
    const sid = d.stdevId;
    const s2 = c.hwptAlloc({ devId: d.idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_PASID });
    const s3 = c.hwptAlloc({ devId: d.idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_PASID });
    // MOCK_DOMAIN_REPLACE writes back the HWPT now attached.
    expect(c.mockDomainReplace(sid, s2)).toBe(s2);
    // hwpt_id 0 checks that nothing is attached.
    c.pasidCheckHwpt(sid, 100, 0);
    // An IOAS is no PASID-compatible domain.
    const e = thrown(() => c.pasidAttach(sid, 100, ioas));
    expect([e.errno, e.message.includes('IOMMU_TEST_OP_PASID_ATTACH')]).toEqual([EINVAL, true]);
    c.pasidAttach(sid, 100, s2);
    c.pasidCheckHwpt(sid, 100, s2);
    expect(c.pasidCheckHwptRaw(sid, 100, 0)).toBe(-EINVAL);
    expect(c.pasidCheckHwptRaw(sid, 100, s3)).toBe(-EINVAL);
    // Attach does not overwrite, replace does.
    expect(c.pasidAttachRaw(sid, 100, s3)).toBe(-EBUSY);
    c.pasidReplace(sid, 100, s3);
    c.pasidCheckHwpt(sid, 100, s3);
    expect(c.pasidReplaceRaw(sid, 100, ioas)).toBe(-EINVAL);
    c.pasidCheckHwpt(sid, 100, s3);
    // The attachment holds its HWPT.
    expect(destroyRc(c, s3)).toBe(-EBUSY);
    c.pasidDetach(sid, 100);
    c.pasidCheckHwpt(sid, 100, 0);
    expect(c.pasidDetachRaw(sid, 100)).toBe(0);
    // A device that is no mock device
    expect(c.pasidAttachRaw(ioas, 100, s2)).toBe(-ENOENT);
    c.destroy(s3);
    // Back on the IOAS: a new automatic domain, under the lowest free ID (the first one's).
    expect(c.mockDomainReplace(sid, ioas)).toBe(d.hwptId);
    c.destroy(s2);
  });

  it('ACCESS_REPLACE_IOAS moves an access: its pins are dropped through the unmap callback first', () => {
    const { c, buffer } = open();
    const ioas1 = c.ioasAlloc();
    const ioas2 = c.ioasAlloc();
    const iova = c.ioasMap({ ioas: ioas1, userVa: buffer, length: 4n * PS });
    const afd = c.createAccess(ioas1, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
    c.accessPages(afd, { iova, length: PS, uptr: buffer });
    c.mdCheckRefs(buffer, PS, 1);
    expectErrno(ENOENT, () => c.accessReplaceIoas(afd, 99));
    c.accessReplaceIoas(afd, ioas2);
    c.mdCheckRefs(buffer, PS, 0);
    // Nothing is mapped in the new IOAS.
    expect(c.testCmd(U.IOMMU_TEST_OP_ACCESS_PAGES, afd, { 'access_pages.iova': iova, 'access_pages.length': PS }).rc).toBe(-ENOENT);
    c.destroyAccess(afd);
  });

  it('vEVENTQ alloc, TRIGGER_VEVENT through a vDEVICE, and a HW queue locking its page', () => {
    const { c, proc, buffer } = open();
    const ioas = c.ioasAlloc();
    const d = c.mockDomain(ioas);
    const parent = c.hwptAlloc({ devId: d.idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const viommu = c.viommuAlloc(d.idevId, parent);
    const T = U.IOMMU_VEVENTQ_TYPE_SELFTEST;
    expectErrno(EINVAL, () => c.veventqAlloc(viommu, T, 0));
    const q = c.veventqAlloc(viommu, T, 2);
    expect(q.id).toBeGreaterThan(viommu);
    expect(proc.fileOf(q.fd)).toBeDefined();
    expect(c.veventqAllocRaw(viommu, T, 2).rc).toBe(-EEXIST);
    const vdev = c.vdeviceAlloc(viommu, d.idevId, 0x99);
    const nested = c.hwptAllocNested(d.idevId, viommu, U.IOMMU_TEST_IOTLB_DEFAULT);
    expect(c.mockDomainReplace(d.stdevId, nested)).toBe(nested);
    c.triggerVevent(d.idevId);
    // One record: struct iommufd_vevent_header {flags, sequence} + {virt_id}.
    const rec = buffer + 8n * PS;
    expect(proc.read(q.fd, rec, 12)).toBe(12);
    const b = new Uint8Array(12);
    expect(proc.readMemory(rec, b)).toBe(0);
    const dv = new DataView(b.buffer);
    expect([dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true)]).toEqual([0, 0, 0x99]);
    expect(c.triggerVeventRaw(0)).toBe(-ENOENT);

    // HW queue over the first page of a two-page map.
    const iova = c.ioasMap({ ioas, userVa: buffer, length: 2n * PS });
    const q0 = c.hwQueueAlloc({ viommuId: viommu, index: 0, iova, length: PS });
    expect(c.hwQueueAllocRaw({ viommuId: viommu, index: 0, iova, length: PS }).rc).toBe(-EEXIST);
    expect(c.ioasUnmapRaw({ ioas, iova, length: 2n * PS }).rc).toBe(-EBUSY);
    expectErrno(EBUSY, () => c.ioasUnmap({ ioas, iova, length: 2n * PS }));
    expect(destroyRc(c, viommu)).toBe(-EBUSY);
    c.destroy(q0);
    expect(c.ioasUnmapRaw({ ioas, iova, length: 2n * PS })).toEqual({ rc: 0, length: 2n * PS });

    expect(proc.close(q.fd)).toBe(0);
    expect(c.mockDomainReplace(d.stdevId, ioas)).toBe(d.hwptId);
    c.destroy(nested);
    c.destroy(vdev);
    c.destroy(q.id);
    c.destroy(viommu);
    c.destroy(parent);
  });

  it('MAP_FILE of a memfd and a dma-buf, CHANGE_PROCESS to a child, dma-buf revoke', () => {
    const { c, proc } = open(true);
    const ioas = c.ioasAlloc();
    const d = c.mockDomain(ioas);
    const { fd, va } = memfdMmap(proc, 4 * 4096);
    const iova = c.ioasMapFile({ ioas, fd, start: PS, length: 2n * PS });
    c.mdCheckMap(d.hwptId, iova, 2n * PS, va + PS);
    expect(c.ioasMapFileRaw({ ioas, fd: 1000, length: PS }).rc).toBe(-EBADF);
    expect(proc.mm.pinnedVm).toBe(2);
    const child = proc.fork();
    c.changeProcess();
    expect(proc.mm.pinnedVm).toBe(2);
    const cc = new IommufdClient(child, c.fd);
    cc.changeProcess();
    expect([proc.mm.pinnedVm, child.mm.pinnedVm]).toEqual([0, 2]);
    expect(c.changeProcessRaw(1)).toBe(-EOPNOTSUPP);
    c.changeProcess();
    expect([proc.mm.pinnedVm, child.mm.pinnedVm]).toEqual([2, 0]);
    expect(c.ioasUnmap({ ioas, iova, length: 2n * PS })).toBe(2n * PS);

    const dfd = c.dmabufGet(2 * 4096);
    expect(proc.fileOf(dfd)).toBeDefined();
    expectErrno(EINVAL, () => c.dmabufGet(0));
    const diova = c.ioasMapFile({ ioas, fd: dfd, length: 2n * PS });
    c.dmabufRevoke(dfd, true);
    // dma_buf_get(): a file that is no dma-buf
    expect(c.dmabufRevokeRaw(fd, true)).toBe(-EINVAL);
    expect(c.dmabufRevokeRaw(1000, true)).toBe(-EBADF);
    c.dmabufRevoke(dfd, false);
    expect(c.ioasUnmap({ ioas, iova: diova, length: 2n * PS })).toBe(2n * PS);
    expect(proc.close(dfd)).toBe(0);
    expect(proc.close(fd)).toBe(0);
  });
});
