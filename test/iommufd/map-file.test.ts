// SPDX-License-Identifier: GPL-2.0-only
/**
 * IOMMU_IOAS_MAP_FILE on memfds (7.2 iommufd_ioas_map_file /
 * iopt_map_file_pages / pin_memfd_pages): errno order, file-backed pages
 * pinned per page through the page cache, accounting, huge folios, COPY,
 * accesses, truncation while pinned, files that cannot be pinned.
 */
import { describe, expect, it } from 'vitest';
import { EBADF, EBUSY, EEXIST, EINVAL, ENOENT, EOPNOTSUPP, EOVERFLOW, EPERM } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../../src/iommu/domain.js';
import { coreFixture } from './fixture.js';
import * as U from '../../src/iommufd/uapi.js';
import { Machine } from '../../src/machine/index.js';
import { O_RDONLY } from '../../src/machine/device.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, MFD_HUGETLB, MFD_HUGE_1GB, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { iommufdCtxOf } from '../../src/machine/iommufd-node.js';
import { auditEachWorld, ctxOf, world, type World } from '../client/harness.js';
import { mapFile, memfdMmap } from './map-file-sim.js';

const PS = 4096;
const HP = 2 * 1024 * 1024;
const RW = U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE;
const ULONG_MAX = (1n << 64n) - 1n;
const APERTURE = BigInt(U.MOCK_APERTURE_START);

const audited = auditEachWorld();

function fworld(o: Parameters<typeof world>[0] = {}): World {
  const w = world(o);
  w.c.close();
  const c = IommufdClient.open(w.proc);
  const w2 = { ...w, c };
  audited.current = w2;
  return w2;
}

function ctxOfProc(p: Parameters<typeof iommufdCtxOf>[0], fd: number) {
  const ctx = iommufdCtxOf(p, fd);
  if (!ctx) throw new Error('not an iommufd');
  return ctx;
}

function headOf(w: World, fd: number, index: number): number {
  const f = w.proc.fileOf(fd)?.memfile;
  if (!f) throw new Error('not a memfd');
  return f.lookup(index);
}

describe('IOMMU_IOAS_MAP_FILE argument checks (7.2 order)', () => {
  it('flags, overflow, read/write, IOAS, length, start overflow, fd', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const { fd } = memfdMmap(w.proc, 4 * PS);
    const base = { ioas, fd, start: 0, length: PS };
    expect(mapFile(w.c, { ...base, flags: 1 << 3 }).rc).toBe(-EOPNOTSUPP);
    expect(mapFile(w.c, { ...base, iova: ULONG_MAX, flags: 1 << 3 }).rc).toBe(-EOPNOTSUPP);
    expect(mapFile(w.c, { ...base, iova: ULONG_MAX }).rc).toBe(-EOVERFLOW);
    expect(mapFile(w.c, { ...base, length: ULONG_MAX, flags: 0 }).rc).toBe(-EOVERFLOW);
    expect(mapFile(w.c, { ...base, flags: U.IOMMU_IOAS_MAP_FIXED_IOVA }).rc).toBe(-EINVAL);
    expect(mapFile(w.c, { ...base, ioas: 99 }).rc).toBe(-ENOENT);
    expect(mapFile(w.c, { ...base, length: 0 }).rc).toBe(-EINVAL);
    expect(mapFile(w.c, { ...base, start: ULONG_MAX - 10n, length: 12 }).rc).toBe(-EOVERFLOW);
    expect(mapFile(w.c, { ...base, fd: 77 }).rc).toBe(-EBADF);
    expect(mapFile(w.c, { ...base, fd: -1 }).rc).toBe(-EBADF);
    // iova alignment / fixed collisions come from the common map path
    const m = mapFile(w.c, { ...base, iova: 0x100000, flags: RW | U.IOMMU_IOAS_MAP_FIXED_IOVA });
    expect(m.rc).toBe(0);
    expect(mapFile(w.c, { ...base, iova: 0x100000, flags: RW | U.IOMMU_IOAS_MAP_FIXED_IOVA }).rc).toBe(-EEXIST);
    expect(ctxOf(w).ioasList()[0].ioas.iopt.areas()).toHaveLength(1);
    w.proc.close(fd);
  });

  it('a read-only memfd map refuses WRITEABLE only at the area (iopt_insert_area)', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const { fd } = memfdMmap(w.proc, 4 * PS);
    expect(mapFile(w.c, { ioas, fd, start: 0, length: PS, flags: U.IOMMU_IOAS_MAP_READABLE }).rc).toBe(0);
    const pages = ctxOf(w).ioasList()[0].ioas.iopt.areas()[0].pages!;
    expect(pages.writable).toBe(false);
    expect(pages.type).toBe(1);
    w.proc.close(fd);
  });
});

describe('file-backed pages', () => {
  it('pins each page once through the page cache and maps the cached folios', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const dom = w.c.mockDomain(ioas);
    const { fd, va } = memfdMmap(w.proc, 16 * PS);
    const m = mapFile(w.c, { ioas, fd, start: 0, length: 16 * PS });
    expect(m.rc).toBe(0);
    // the user mapping of the memfd sees the same pages
    w.c.mdCheckMap(dom.hwptId, m.iova, 16 * PS, va);
    for (let i = 0; i < 16; i++) expect(w.machine.phys.pincount(headOf(w, fd, i))).toBe(1);
    expect(w.proc.task.user.lockedVm).toBe(16);
    expect(w.proc.mm.pinnedVm).toBe(16);
    // a second map of the same file pins again: a separate pages object
    const m2 = mapFile(w.c, { ioas, fd, start: 4 * PS, length: 4 * PS });
    expect(m2.rc).toBe(0);
    expect(w.machine.phys.pincount(headOf(w, fd, 5))).toBe(2);
    expect(w.proc.task.user.lockedVm).toBe(20);
    w.c.ioasUnmap({ ioas, iova: m2.iova, length: 4 * PS });
    w.c.ioasUnmap({ ioas, iova: m.iova, length: 16 * PS });
    for (let i = 0; i < 16; i++) expect(w.machine.phys.pincount(headOf(w, fd, i))).toBe(0);
    expect(w.proc.task.user.lockedVm).toBe(0);
    w.proc.close(fd);
  });

  it('allocates page-cache folios the file never had, without a user mapping', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    w.c.mockDomain(ioas);
    const fd = w.proc.memfdCreate('nomap');
    expect(w.proc.ftruncate(fd, 8 * PS)).toBe(0);
    expect(headOf(w, fd, 3)).toBe(-1);
    const m = mapFile(w.c, { ioas, fd, start: 2 * PS + 2048, length: 3 * PS });
    expect(m.rc).toBe(0);
    // sub-page start: the IOVA keeps the offset within the page
    expect(Number(m.iova % BigInt(PS))).toBe(2048);
    for (const i of [2, 3, 4, 5]) expect(w.machine.phys.pincount(headOf(w, fd, i))).toBe(1);
    expect(headOf(w, fd, 1)).toBe(-1);
    const pages = ctxOf(w).ioasList()[0].ioas.iopt.areas()[0].pages!;
    expect(pages.npages).toBe(4);
    expect(pages.fileStart).toBe(2n * BigInt(PS));
    // closing the fd keeps the file: the pages hold it
    expect(w.proc.close(fd)).toBe(0);
    w.c.ioasUnmap({ ioas, iova: m.iova, length: 3 * PS });
  });

  it('past i_size: lazy without a domain, EINVAL when pinned (memfd_pin_folios)', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const { fd } = memfdMmap(w.proc, 8 * PS);
    // no domain: nothing is pinned, so nothing is checked
    const lazy = mapFile(w.c, { ioas, fd, start: 0, length: 8 * PS + 1 });
    expect(lazy.rc).toBe(0);
    w.c.ioasUnmap({ ioas, iova: lazy.iova, length: 8 * PS + 1 });
    w.c.mockDomain(ioas);
    expect(mapFile(w.c, { ioas, fd, start: 0, length: 8 * PS + 1 }).rc).toBe(-EINVAL);
    expect(mapFile(w.c, { ioas, fd, start: 8 * PS, length: PS }).rc).toBe(-EINVAL);
    expect(w.proc.ftruncate(fd, 0)).toBe(0);
    expect(mapFile(w.c, { ioas, fd, start: 0, length: 8 * PS }).rc).toBe(-EINVAL);
    expect(w.proc.task.user.lockedVm).toBe(0);
    expect(ctxOf(w).ioasList()[0].ioas.iopt.areas()).toHaveLength(0);
    w.proc.close(fd);
  });

  it('attaching a domain to an IOAS with a lazy map past i_size fails and changes nothing', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const { fd } = memfdMmap(w.proc, 4 * PS);
    const fixed = RW | U.IOMMU_IOAS_MAP_FIXED_IOVA;
    const ok = mapFile(w.c, { ioas, fd, start: 0, length: 4 * PS, iova: APERTURE, flags: fixed });
    const bad = mapFile(w.c, { ioas, fd, start: 0, length: 5 * PS, iova: APERTURE + 0x100000n, flags: fixed });
    expect(ok.rc).toBe(0);
    expect(bad.rc).toBe(0);
    const r = w.c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN, ioas);
    expect(r.rc).toBe(-EINVAL);
    expect(w.machine.phys.pincount(headOf(w, fd, 0))).toBe(0);
    expect(w.proc.task.user.lockedVm).toBe(0);
    w.c.ioasUnmap({ ioas, iova: bad.iova, length: 5 * PS });
    const dom = w.c.mockDomain(ioas);
    expect(w.machine.phys.pincount(headOf(w, fd, 0))).toBe(1);
    w.c.destroy(dom.stdevId);
    w.proc.close(fd);
  });

  it('a file without a page cache maps lazily and fails to pin', () => {
    const w = fworld();
    w.machine.registerFile('/bin/prog', new Uint8Array(3 * PS).fill(7));
    const ioas = w.c.ioasAlloc();
    const rofd = w.proc.open('/bin/prog', O_RDONLY);
    expect(rofd).toBeGreaterThan(0);
    const fixed = U.IOMMU_IOAS_MAP_FIXED_IOVA;
    const m = mapFile(w.c, { ioas, fd: rofd, start: 0, length: PS, iova: APERTURE, flags: fixed | U.IOMMU_IOAS_MAP_READABLE });
    expect(m.rc).toBe(0);
    // the iommufd fd itself is a file too
    const m2 = mapFile(w.c, { ioas, fd: w.c.fd, start: 0, length: PS, iova: APERTURE + 0x10000n, flags: fixed | RW });
    expect(m2.rc).toBe(0);
    expect(w.c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN, ioas).rc).toBe(-EINVAL);
    w.c.ioasUnmapAll(ioas);
    const dom = w.c.mockDomain(ioas);
    expect(mapFile(w.c, { ioas, fd: rofd, start: 0, length: PS, flags: U.IOMMU_IOAS_MAP_READABLE }).rc).toBe(-EINVAL);
    w.c.destroy(dom.stdevId);
    w.proc.close(rofd);
  });

  // test/fuzz/kernel-findings/v7.2-map-file-own-context-cycle.yaml: a 7.2.13 kernel finding, checked there
  it("the map holds the file (get_file()): the context's own fd mapped keeps the context open after the process exits, a fault fd too; unmapping first ends the cycle", () => {
    for (const which of ['iommufd', 'fault', 'unmapped'] as const) {
      const m = new Machine({ memory: '256M', seed: 3 });
      const p = m.spawn({ memlock: '64M' });
      const c = IommufdClient.open(p);
      const ctx = iommufdCtxOf(p, c.fd)!;
      const ioas = c.ioasAlloc();
      c.mockDomain(ioas);
      const va = p.mmap(0n, 6n << 20n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      c.ioasMap({ ioas, userVa: va, length: 6n << 20n });
      const other = c.ioasAlloc();
      let fd = c.fd;
      if (which === 'fault') fd = c.faultQueueAlloc().faultFd;
      const r = mapFile(c, { ioas: other, fd, start: 0, length: 2 * PS, flags: RW });
      expect(r.rc).toBe(0);
      if (which === 'unmapped') c.ioasUnmapAll(other);
      p.exit();
      const leaked = which !== 'unmapped';
      expect(ctx.alive).toBe(leaked);
      expect(m.users.get(1000)!.lockedVm).toBe(leaked ? 1536 : 0);
      expect(m.phys.framesInUse()).toBe(leaked ? 1536 : 0);
    }
  });

  it('hugetlbfs memfd: 2 MiB folios pinned page by page, mapped as 2 MiB runs', () => {
    const w = fworld({ hugetlb2M: 8 });
    const ioas = w.c.ioasAlloc();
    const dom = w.c.mockDomain(ioas);
    const { fd, va } = memfdMmap(w.proc, 2 * HP, true);
    const m = mapFile(w.c, { ioas, fd, start: 0, length: 2 * HP });
    expect(m.rc).toBe(0);
    expect(m.iova % BigInt(HP)).toBe(0n);
    w.c.mdCheckMap(dom.hwptId, m.iova, 2 * HP, va);
    const head = headOf(w, fd, 1);
    expect(w.machine.phys.folioOrder(head)).toBe(9);
    expect(w.machine.phys.folioPincount(head)).toBe(512);
    expect(w.proc.task.user.lockedVm).toBe(1024);
    // a slice in the middle of a folio
    const s = mapFile(w.c, { ioas, fd, start: HP + 5 * PS, length: 3 * PS });
    expect(s.rc).toBe(0);
    expect(w.machine.phys.pincount(head + 5)).toBe(2);
    expect(w.machine.phys.pincount(head + 8)).toBe(1);
    w.c.mdCheckMap(dom.hwptId, s.iova, 3 * PS, va + BigInt(HP + 5 * PS));
    w.c.ioasUnmapAll(ioas);
    expect(w.machine.phys.folioPincount(head)).toBe(0);
    w.proc.close(fd);
  });

  it('hugetlbfs memfd with no pool left: ENOMEM allocating the folio', () => {
    const w = fworld({ hugetlb2M: 1 });
    const ioas = w.c.ioasAlloc();
    w.c.mockDomain(ioas);
    const fd = w.proc.memfdCreate('h', 0x4);
    expect(w.proc.ftruncate(fd, 2 * HP)).toBe(0);
    expect(mapFile(w.c, { ioas, fd, start: 0, length: 2 * HP }).rc).toBe(-12);
    expect(w.machine.phys.hugetlbStats(9).reserved).toBe(0);
    expect(mapFile(w.c, { ioas, fd, start: 0, length: HP }).rc).toBe(0);
    w.c.ioasUnmapAll(ioas);
    w.proc.close(fd);
  });

  it('truncation while pinned: the pins keep the old folios, unmap frees them', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const dom = w.c.mockDomain(ioas);
    const { fd, va } = memfdMmap(w.proc, 4 * PS);
    const m = mapFile(w.c, { ioas, fd, start: 0, length: 4 * PS });
    expect(m.rc).toBe(0);
    const old = headOf(w, fd, 2);
    const inUse = w.machine.phys.framesInUse();
    expect(w.proc.ftruncate(fd, 0)).toBe(0);
    expect(headOf(w, fd, 2)).toBe(-1);
    expect(w.machine.phys.isAllocated(old)).toBe(true);
    expect(w.machine.phys.pincount(old)).toBe(1);
    expect(w.machine.phys.framesInUse()).toBe(inUse);
    // growing the file again gives new pages; the domain still maps the old ones
    expect(w.proc.ftruncate(fd, 4 * PS)).toBe(0);
    w.proc.writeMemory(va + 2n * BigInt(PS), new Uint8Array([1]));
    expect(headOf(w, fd, 2)).not.toBe(old);
    expect(ctxOf(w).ioasList()[0].ioas.iopt.domains[0].peekPhys(Number(m.iova) + 2 * PS)).toBe(old * PS);
    expect(dom.hwptId).toBeGreaterThan(0);
    w.c.ioasUnmap({ ioas, iova: m.iova, length: 4 * PS });
    expect(w.machine.phys.isAllocated(old)).toBe(false);
    w.proc.close(fd);
  });

  it('IOAS_COPY of a file area, accesses and rw through the pins', () => {
    const w = fworld();
    const src = w.c.ioasAlloc();
    const dst = w.c.ioasAlloc();
    const dom = w.c.mockDomain(dst);
    const { fd, va } = memfdMmap(w.proc, 8 * PS);
    w.proc.writeMemory(va + BigInt(PS), new Uint8Array([0xaa, 0xbb]));
    const m = mapFile(w.c, { ioas: src, fd, start: 0, length: 8 * PS });
    expect(m.rc).toBe(0);
    expect(w.proc.task.user.lockedVm).toBe(0);
    const access = w.c.createAccess(src, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
    const pid = w.c.accessPages(access, { iova: m.iova, length: 8 * PS, uptr: va });
    expect(w.proc.task.user.lockedVm).toBe(8);
    const dstIova = w.c.ioasCopy({ srcIoas: src, dstIoas: dst, srcIova: m.iova, length: 8 * PS, flags: RW });
    w.c.mdCheckMap(dom.hwptId, dstIova, 8 * PS, va);
    // one pages object, pinned once
    expect(w.machine.phys.pincount(headOf(w, fd, 1))).toBe(1);
    expect(w.proc.task.user.lockedVm).toBe(8);
    // access rw on a file goes through the pins (no user mapping to copy through)
    const buf = w.proc.mmap(0n, BigInt(PS), 3, 0x22);
    w.c.accessRw(access, { iova: m.iova + BigInt(PS), length: 2, uptr: buf });
    const got = new Uint8Array(2);
    w.proc.readMemory(buf, got);
    expect([...got]).toEqual([0xaa, 0xbb]);
    w.proc.writeMemory(buf, new Uint8Array([5, 6]));
    w.c.accessRw(access, { iova: m.iova + 3n * BigInt(PS), length: 2, uptr: buf, flags: U.MOCK_ACCESS_RW_WRITE });
    const back = new Uint8Array(2);
    w.proc.readMemory(va + 3n * BigInt(PS), back);
    expect([...back]).toEqual([5, 6]);
    w.c.destroyAccessPages(access, pid);
    w.c.destroyAccess(access);
    w.c.ioasUnmapAll(src);
    w.c.ioasUnmapAll(dst);
    expect(w.proc.task.user.lockedVm).toBe(0);
    w.proc.close(fd);
  });

  it('a read-only file map cannot take a write access (EPERM)', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const { fd, va } = memfdMmap(w.proc, 2 * PS);
    const m = mapFile(w.c, { ioas, fd, start: 0, length: 2 * PS, flags: U.IOMMU_IOAS_MAP_READABLE });
    expect(m.rc).toBe(0);
    const access = w.c.createAccess(ioas, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
    const r = w.c.testCmd(U.IOMMU_TEST_OP_ACCESS_PAGES, access, {
      'access_pages.flags': U.MOCK_FLAGS_ACCESS_WRITE,
      'access_pages.iova': m.iova,
      'access_pages.length': BigInt(PS),
      'access_pages.uptr': va,
    });
    expect(r.rc).toBe(-EPERM);
    w.c.destroyAccess(access);
    w.proc.close(fd);
  });

  it('the memfd mapping read-only in the process does not matter: the file is pinned', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    w.c.mockDomain(ioas);
    const fd = w.proc.memfdCreate('ro');
    expect(w.proc.ftruncate(fd, 2 * PS)).toBe(0);
    expect(w.proc.mmap(0n, BigInt(2 * PS), PROT_READ, MAP_SHARED, fd, 0n)).toBeGreaterThan(0n);
    expect(mapFile(w.c, { ioas, fd, start: 0, length: 2 * PS }).rc).toBe(0);
    w.c.ioasUnmapAll(ioas);
    w.proc.close(fd);
  });
});

describe('MAP_FILE of a 1 GiB hugetlbfs memfd', () => {
  it('pins across the 2 MiB blocks of one order-18 folio', () => {
    const m = new Machine({ memory: '2G', profile: 'latest', panicOnWarn: true, checks: true, gbpages: true, hugetlbPages: { '1G': 1 } });
    const p = m.spawn({ memlock: 'unlimited', caps: ['CAP_SYS_RESOURCE'] });
    const c = IommufdClient.open(p);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    const fd = p.memfdCreate('giga', MFD_HUGETLB | MFD_HUGE_1GB);
    expect(p.ftruncate(fd, 1 << 30)).toBe(0);
    // 8 KiB before and after the first 2 MiB boundary
    const r = mapFile(c, { ioas, fd, start: HP - 2 * PS, length: 4 * PS });
    expect(r.rc).toBe(0);
    const head = p.fileOf(fd)!.memfile!.lookup(0);
    expect(m.phys.folioOrder(head)).toBe(18);
    for (let i = 510; i < 514; i++) expect(m.phys.pincount(head + i)).toBe(1);
    expect(m.phys.pincount(head + 509)).toBe(0);
    expect(m.phys.folioPincount(head)).toBe(4);
    const dom = ctxOfProc(p, c.fd).ioasList()[0].ioas.iopt.domains[0];
    for (let i = 0; i < 4; i++) expect(dom.peekPhys(Number(r.iova) + i * PS)).toBe((head + 510 + i) * PS);
    expect(ctxOfProc(p, c.fd).audit({ exactPins: true })).toBe(0);
    c.ioasUnmapAll(ioas);
    expect(m.phys.folioPincount(head)).toBe(0);
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
    expect(m.warnings).toEqual([]);
  });
});

describe('area locks of internal accesses (7.x num_locks)', () => {
  it('IOAS_UNMAP of an area an internal access pins is EBUSY until it unpins', () => {
    const f = coreFixture({ layout: 'linear' });
    const iopt = f.newIopt();
    const va = f.buffer(8 * PS);
    const RWC = IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE;
    expect(iopt.mapUserPages(false, { value: 0x1000000n }, va, BigInt(8 * PS), RWC, 0)).toBe(0);
    expect(iopt.mapUserPages(false, { value: 0x2000000n }, va, BigInt(2 * PS), RWC, 0)).toBe(0);
    const internal = f.access();
    internal.lockArea = true;
    expect(internal.attach(iopt)).toBe(0);
    const out = new Uint32Array(2);
    expect(internal.pinPages(0x1000000n + BigInt(2 * PS), BigInt(2 * PS), out, 0)).toBe(0);
    // twice on the same range: two locks
    expect(internal.pinPages(0x1000000n + BigInt(2 * PS), BigInt(2 * PS), out, 0)).toBe(0);
    const area = iopt.areas()[0];
    expect(area.numLocks).toBe(2);
    const u = { value: 0n };
    expect(iopt.unmapIova(0x1000000n, BigInt(8 * PS), u)).toBe(-EBUSY);
    expect(u.value).toBe(0n);
    // unmap of everything stops at the locked area, after the areas before it
    expect(iopt.unmapAll(u)).toBe(-EBUSY);
    expect(iopt.areas()).toHaveLength(2);
    internal.unpinPages(0x1000000n + BigInt(2 * PS), BigInt(2 * PS));
    expect(area.numLocks).toBe(1);
    expect(iopt.unmapIova(0x1000000n, BigInt(8 * PS), u)).toBe(-EBUSY);
    internal.unpinPages(0x1000000n + BigInt(2 * PS), BigInt(2 * PS));
    expect(area.numLocks).toBe(0);
    // (the fixture's callback would give back what the test unpinned by hand)
    internal.pins.length = 0;
    expect(f.audit()).toBe(0);
    // a plain access does not lock: its unmap callback gives the pins back
    const plain = f.access();
    expect(plain.attach(iopt)).toBe(0);
    expect(plain.pinPages(0x1000000n, BigInt(PS), out, 0)).toBe(0);
    expect(iopt.unmapAll(u)).toBe(0);
    expect(u.value).toBe(BigInt(10 * PS));
    internal.detach();
    plain.detach();
    expect(f.pincount(f.pfnOf(va))).toBe(0);
  });
});

describe('MAP_FILE on 6.12', () => {
  it('is an unknown command', () => {
    const m = new Machine({ memory: '64M', profile: 'v6.12', panicOnWarn: true });
    const p = m.spawn({ memlock: 'unlimited' });
    const c = IommufdClient.open(p);
    const ioas = c.ioasAlloc();
    const fd = p.memfdCreate('x');
    p.ftruncate(fd, PS);
    expect(mapFile(c, { ioas, fd, start: 0, length: PS }).rc).toBe(-25);
    p.exit();
  });
});
