// SPDX-License-Identifier: GPL-2.0-only
/**
 * The selftest dma-buf and IOMMU_IOAS_MAP_FILE of a dma-buf (7.2 selftest.c
 * iommufd_test_dmabuf_get/revoke, pages.c iopt_alloc_dmabuf_pages,
 * pfn_reader_fill_dmabuf, iopt_revoke_notify): the physical range mapped as
 * MMIO with nothing pinned or charged, revoke dropping the domain entries
 * but keeping the area, accesses refused.
 */
import { describe, expect, it } from 'vitest';
import { EBADF, EINVAL, EMFILE, ENODEV } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import { DmaBuf } from '../../src/iommufd/dmabuf.js';
import * as U from '../../src/iommufd/uapi.js';
import { IommufdFileHandle } from '../../src/machine/iommufd-node.js';
import { auditDmabufArea, auditFilePages } from '../../src/iommufd/pages-audit.js';
import { auditEachWorld, ctxOf, world, type World } from '../client/harness.js';
import { dmabufGet, dmabufRevoke, mapFile, memfdMmap } from './map-file-sim.js';

const PS = 4096;
const RW = U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE;
const FIXED = RW | U.IOMMU_IOAS_MAP_FIXED_IOVA;
const audited = auditEachWorld();

function fworld(): World {
  const w = world();
  w.c.close();
  const w2 = { ...w, c: IommufdClient.open(w.proc) };
  audited.current = w2;
  return w2;
}

function dmabufOf(w: World, fd: number): DmaBuf {
  const f = w.proc.fileOf(fd);
  if (!(f instanceof IommufdFileHandle) || !(f.inner instanceof DmaBuf)) throw new Error('not a dma-buf');
  return f.inner;
}

function physOf(w: World, ioasIndex: number, domain: number, iova: bigint): number {
  return ctxOf(w).ioasList()[ioasIndex].ioas.iopt.domains[domain].peekPhys(Number(iova));
}

describe('IOMMU_TEST_OP_DMABUF_GET', () => {
  it('rounds the length up to pages, at most 2 MiB, and returns the fd', () => {
    const w = fworld();
    expect(dmabufGet(w.c, 0)).toBe(-EINVAL);
    expect(dmabufGet(w.c, 512 * PS + 1)).toBe(-EINVAL);
    expect(dmabufGet(w.c, 0xffff_ffff)).toBe(-EINVAL);
    const before = w.machine.phys.framesInUse();
    const fd = dmabufGet(w.c, 100);
    expect(fd).toBeGreaterThan(w.c.fd);
    expect(dmabufOf(w, fd).size).toBe(PS);
    const big = dmabufGet(w.c, 512 * PS);
    expect(dmabufOf(w, big).size).toBe(512 * PS);
    expect(w.machine.phys.framesInUse()).toBeGreaterThan(before);
    w.proc.close(fd);
    w.proc.close(big);
    expect(w.machine.phys.framesInUse()).toBe(before);
  });

  it('a full descriptor table: EMFILE, and the buffer does not stay behind', () => {
    const w = fworld();
    const dups: number[] = [];
    for (;;) {
      const fd = w.proc.dup(w.c.fd);
      if (fd < 0) break;
      dups.push(fd);
    }
    // (the client's struct scratch page is made by its first call)
    expect(dmabufGet(w.c, 0)).toBe(-EINVAL);
    const before = w.machine.phys.framesInUse();
    expect(dmabufGet(w.c, PS)).toBe(-EMFILE);
    expect(w.machine.phys.framesInUse()).toBe(before);
    for (const fd of dups) w.proc.close(fd);
  });

  it('DMABUF_REVOKE needs a dma-buf fd', () => {
    const w = fworld();
    expect(dmabufRevoke(w.c, 99, true)).toBe(-EBADF);
    expect(dmabufRevoke(w.c, w.c.fd, true)).toBe(-EINVAL);
    const { fd } = memfdMmap(w.proc, PS);
    expect(dmabufRevoke(w.c, fd, true)).toBe(-EINVAL);
    w.proc.close(fd);
  });
});

describe('MAP_FILE of a dma-buf', () => {
  it('dmabuf_simple: offset and length inside the buffer', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const size = 4 * PS;
    const dfd = dmabufGet(w.c, size);
    expect(mapFile(w.c, { ioas, fd: dfd, start: 0, length: 0 }).rc).toBe(-EINVAL);
    expect(mapFile(w.c, { ioas, fd: dfd, start: size, length: size }).rc).toBe(-EINVAL);
    expect(mapFile(w.c, { ioas, fd: dfd, start: 0, length: size + 1 }).rc).toBe(-EINVAL);
    expect(mapFile(w.c, { ioas, fd: dfd, start: 0, length: size }).rc).toBe(0);
    const pages = ctxOf(w).ioasList()[0].ioas.iopt.areas()[0].pages!;
    expect(pages.type).toBe(2);
    expect(pages.accountMode).toBe(0);
    w.proc.close(dfd);
  });

  it('maps the physical range into every domain, pinning and charging nothing', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const dom = w.c.mockDomain(ioas);
    const dfd = dmabufGet(w.c, 8 * PS);
    const pfn = (dmabufOf(w, dfd) as DmaBuf).ops.iommufdMap(dmabufOf(w, dfd));
    if (typeof pfn === 'number') throw new Error('map');
    const m = mapFile(w.c, { ioas, fd: dfd, start: 2 * PS, length: 4 * PS });
    expect(m.rc).toBe(0);
    for (let i = 0; i < 4; i++) expect(physOf(w, 0, 0, m.iova + BigInt(i * PS))).toBe(pfn.paddr + (2 + i) * PS);
    expect(w.machine.phys.pincount(pfn.paddr / PS + 2)).toBe(0);
    expect(w.proc.task.user.lockedVm).toBe(0);
    expect(w.proc.mm.pinnedVm).toBe(0);
    const pages = ctxOf(w).ioasList()[0].ioas.iopt.areas()[0].pages!;
    expect(pages.npinned).toBe(0);
    expect(pages.dmabuf!.tracker).toHaveLength(1);
    // a second domain is filled and tracked; its removal untracks
    const hwpt2 = w.c.hwptAlloc({ devId: dom.idevId, ptId: ioas });
    expect(physOf(w, 0, 1, m.iova + BigInt(PS))).toBe(pfn.paddr + 3 * PS);
    expect(pages.dmabuf!.tracker).toHaveLength(2);
    w.c.destroy(hwpt2);
    expect(pages.dmabuf!.tracker).toHaveLength(1);
    // the fd may go: the pages hold the dma-buf
    const before = w.machine.phys.framesInUse();
    w.proc.close(dfd);
    expect(w.machine.phys.framesInUse()).toBe(before);
    w.c.ioasUnmapAll(ioas);
    expect(w.machine.phys.framesInUse()).toBeLessThan(before);
  });

  it('dmabuf_revoke: domain entries go, the area stays revoked for good, new maps follow the flag', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const dom = w.c.mockDomain(ioas);
    const size = 4 * PS;
    const dfd = dmabufGet(w.c, size);
    const m = mapFile(w.c, { ioas, fd: dfd, start: 0, length: size });
    expect(m.rc).toBe(0);
    expect(physOf(w, 0, 0, m.iova)).toBeGreaterThan(0);
    expect(dmabufRevoke(w.c, dfd, true)).toBe(0);
    expect(physOf(w, 0, 0, m.iova)).toBe(-1);
    expect(ctxOf(w).ioasList()[0].ioas.iopt.areas()).toHaveLength(1);
    // a new domain on the IOAS gets nothing for the revoked area
    const hwpt = w.c.hwptAlloc({ devId: dom.idevId, ptId: ioas });
    expect(mapFile(w.c, { ioas, fd: dfd, start: 0, length: size }).rc).toBe(-ENODEV);
    expect(dmabufRevoke(w.c, dfd, false)).toBe(0);
    const m2 = mapFile(w.c, { ioas, fd: dfd, start: 0, length: size });
    expect(m2.rc).toBe(0);
    expect(physOf(w, 0, 0, m2.iova)).toBeGreaterThan(0);
    // un-revoking did not bring the old area back
    expect(physOf(w, 0, 0, m.iova)).toBe(-1);
    w.c.ioasUnmap({ ioas, iova: m.iova, length: size });
    expect(mapFile(w.c, { ioas, fd: dfd, start: 0, length: size, iova: m.iova, flags: FIXED }).rc).toBe(0);
    expect(physOf(w, 0, 0, m.iova)).toBe(physOf(w, 0, 0, m2.iova));
    // clearing the flag again still invalidates every live importer
    expect(dmabufRevoke(w.c, dfd, false)).toBe(0);
    expect(physOf(w, 0, 0, m2.iova)).toBe(-1);
    w.c.destroy(hwpt);
    // (the generic audit of audit.ts does not know revoked areas yet)
    w.c.ioasUnmapAll(ioas);
    w.proc.close(dfd);
  });

  it('accesses cannot pin or copy a dma-buf (EINVAL)', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const dfd = dmabufGet(w.c, 4 * PS);
    const m = mapFile(w.c, { ioas, fd: dfd, start: 0, length: 4 * PS });
    const access = w.c.createAccess(ioas, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
    const r = w.c.testCmd(U.IOMMU_TEST_OP_ACCESS_PAGES, access, { 'access_pages.iova': m.iova, 'access_pages.length': BigInt(PS), 'access_pages.uptr': w.buffer });
    expect(r.rc).toBe(-EINVAL);
    const rw = w.c.testCmd(U.IOMMU_TEST_OP_ACCESS_RW, access, { 'access_rw.iova': m.iova, 'access_rw.length': 8n, 'access_rw.uptr': w.buffer });
    expect(rw.rc).toBe(-EINVAL);
    w.c.destroyAccess(access);
    w.proc.close(dfd);
  });

  it('IOAS_COPY of a dma-buf area maps the same physical range', () => {
    const w = fworld();
    const src = w.c.ioasAlloc();
    const dst = w.c.ioasAlloc();
    w.c.mockDomain(dst);
    const dfd = dmabufGet(w.c, 4 * PS);
    const m = mapFile(w.c, { ioas: src, fd: dfd, start: 0, length: 4 * PS });
    const d = w.c.ioasCopy({ srcIoas: src, dstIoas: dst, srcIova: m.iova, length: 4 * PS, flags: RW });
    const phys = dmabufOf(w, dfd).ops.iommufdMap(dmabufOf(w, dfd));
    if (typeof phys === 'number') throw new Error('map');
    expect(physOf(w, 1, 0, d + BigInt(PS))).toBe(phys.paddr + PS);
    expect(dmabufRevoke(w.c, dfd, true)).toBe(0);
    expect(physOf(w, 1, 0, d + BigInt(PS))).toBe(-1);
    w.c.ioasUnmapAll(src);
    w.c.ioasUnmapAll(dst);
    w.proc.close(dfd);
  });
});

describe('file and dma-buf pages audit (pages-audit.ts)', () => {
  it('passes on mapped, revoked and file states and finds a broken domain entry', () => {
    const w = fworld();
    const env = ctxOf(w).env;
    const ioas = w.c.ioasAlloc();
    w.c.mockDomain(ioas);
    const dfd = dmabufGet(w.c, 4 * PS);
    const { fd } = memfdMmap(w.proc, 4 * PS);
    const a = mapFile(w.c, { ioas, fd: dfd, start: 0, length: 4 * PS });
    const b = mapFile(w.c, { ioas, fd: dfd, start: PS, length: 2 * PS });
    expect(mapFile(w.c, { ioas, fd, start: 0, length: 4 * PS }).rc).toBe(0);
    const iopt = ctxOf(w).ioasList()[0].ioas.iopt;
    const check = (): number => {
      let n = 0;
      for (const area of iopt.areas()) n += auditDmabufArea(env, iopt, area) + auditFilePages(env, area.pages!);
      return n;
    };
    expect(check()).toBe(0);
    expect(dmabufRevoke(w.c, dfd, true)).toBe(0);
    expect(check()).toBe(0);
    // a revoked area mapped again is what the audit exists to catch
    const area = iopt.areas().find((x) => x.iova === b.iova)!;
    w.machine.warn.panicOnWarn = false;
    expect(iopt.domains[0].map(Number(b.iova), 0, PS, 3)).toBe(0);
    expect(auditDmabufArea(env, iopt, area)).toBe(1);
    expect(w.machine.warnings.map((x) => x.assertion)).toEqual(['audit.dmabuf_domain']);
    iopt.domains[0].unmap(Number(b.iova), PS);
    w.machine.warn.warnings.length = 0;
    w.machine.warn.panicOnWarn = true;
    expect(a.rc).toBe(0);
    w.c.ioasUnmapAll(ioas);
    w.proc.close(dfd);
    w.proc.close(fd);
  });
});
