// SPDX-License-Identifier: GPL-2.0-only
/**
 * IOMMU_IOAS_CHANGE_PROCESS (7.2 iommufd_ioas_change_process): only with
 * file-backed maps, the charge moves to the caller's mm/user in the pages'
 * account mode, all or nothing.
 */
import { describe, expect, it } from 'vitest';
import { EINVAL, ENOMEM, EOPNOTSUPP } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { Machine } from '../../src/machine/index.js';
import { auditEachWorld, ctxOf, world, type World } from '../client/harness.js';
import { changeProcess, dmabufGet, mapFile, memfdMmap } from './map-file-sim.js';

const PS = 4096;
const audited = auditEachWorld();

function fworld(o: Parameters<typeof world>[0] = {}): World {
  const w = world(o);
  w.c.close();
  const w2 = { ...w, c: IommufdClient.open(w.proc) };
  audited.current = w2;
  return w2;
}

for (const variant of ['account_none', 'account_user', 'account_mm'] as const) {
  describe(`change_process.basic (${variant})`, () => {
    it('moves pinned (and mm locked) pages to the child that asks', () => {
      const w = fworld();
      if (variant !== 'account_none') w.c.setRlimitMode(variant === 'account_mm' ? 1 : 0);
      const ioas = w.c.ioasAlloc();
      w.c.mockDomain(ioas);
      // non-file maps refuse
      const iova = w.c.ioasMap({ ioas, userVa: w.buffer, length: PS });
      expect(changeProcess(w.c)).toBe(-EINVAL);
      w.c.ioasUnmap({ ioas, iova, length: PS });
      const { fd } = memfdMmap(w.proc, 16 * PS);
      expect(mapFile(w.c, { ioas, fd, start: 0, length: PS }).rc).toBe(0);
      expect(changeProcess(w.c)).toBe(0);
      const parent = w.proc;
      const user = parent.task.user;
      expect(parent.mm.pinnedVm).toBe(1);
      expect(parent.mm.lockedVm).toBe(variant === 'account_mm' ? 1 : 0);
      expect(user.lockedVm).toBe(variant === 'account_mm' ? 0 : 1);
      const child = parent.fork();
      expect(child.mm.pinnedVm).toBe(0);
      expect(child.mm.lockedVm).toBe(0);
      const cc = new IommufdClient(child, w.c.fd);
      expect(changeProcess(cc)).toBe(0);
      expect(parent.mm.pinnedVm).toBe(0);
      expect(parent.mm.lockedVm).toBe(0);
      expect(child.mm.pinnedVm).toBe(1);
      expect(child.mm.lockedVm).toBe(variant === 'account_mm' ? 1 : 0);
      expect(user.lockedVm).toBe(variant === 'account_mm' ? 0 : 1);
      const pages = ctxOf(w).ioasList()[0].ioas.iopt.areas()[0].pages!;
      expect(pages.sourceMm).toBe(child.mm);
      expect(pages.sourceTask).toBe(child.task);
      // and back to the parent while the child lives
      expect(changeProcess(w.c)).toBe(0);
      expect(parent.mm.pinnedVm).toBe(1);
      expect(child.mm.pinnedVm).toBe(0);
      child.exit();
      w.proc.close(fd);
    });
  });
}

describe('IOMMU_IOAS_CHANGE_PROCESS', () => {
  it('__reserved must be 0', () => {
    const w = fworld();
    expect(changeProcess(w.c, 1)).toBe(-EOPNOTSUPP);
    // no IOAS, no areas: nothing to move
    expect(changeProcess(w.c)).toBe(0);
  });

  it('over the caller RLIMIT_MEMLOCK: ENOMEM, nothing moves', () => {
    const w = fworld();
    w.c.setRlimitMode(1);
    const ioas = w.c.ioasAlloc();
    w.c.mockDomain(ioas);
    const { fd } = memfdMmap(w.proc, 8 * PS);
    expect(mapFile(w.c, { ioas, fd, start: 0, length: 8 * PS }).rc).toBe(0);
    const child = w.proc.fork();
    child.task.rlimitMemlock = BigInt(7 * PS);
    const cc = new IommufdClient(child, w.c.fd);
    expect(changeProcess(cc)).toBe(-ENOMEM);
    expect(w.proc.mm.pinnedVm).toBe(8);
    expect(w.proc.mm.lockedVm).toBe(8);
    expect(child.mm.pinnedVm).toBe(0);
    expect(child.mm.lockedVm).toBe(0);
    const pages = ctxOf(w).ioasList()[0].ioas.iopt.areas()[0].pages!;
    expect(pages.sourceMm).toBe(w.proc.mm);
    expect(pages.lastNpinned).toBe(8);
    child.task.rlimitMemlock = BigInt(8 * PS);
    expect(changeProcess(cc)).toBe(0);
    expect(child.mm.lockedVm).toBe(8);
    child.exit();
    w.proc.close(fd);
  });

  it('USER mode charges the same user twice for a moment: the limit must hold both', () => {
    const w = fworld({ memlock: BigInt(6 * PS) });
    const ioas = w.c.ioasAlloc();
    w.c.mockDomain(ioas);
    const { fd } = memfdMmap(w.proc, 4 * PS);
    expect(mapFile(w.c, { ioas, fd, start: 0, length: 4 * PS }).rc).toBe(0);
    const child = w.proc.fork();
    const cc = new IommufdClient(child, w.c.fd);
    expect(changeProcess(cc)).toBe(-ENOMEM);
    expect(w.proc.task.user.lockedVm).toBe(4);
    w.c.ioasUnmapAll(ioas);
    expect(mapFile(w.c, { ioas, fd, start: 0, length: 3 * PS }).rc).toBe(0);
    expect(changeProcess(cc)).toBe(0);
    expect(w.proc.task.user.lockedVm).toBe(3);
    expect(child.mm.pinnedVm).toBe(3);
    child.exit();
    w.proc.close(fd);
  });

  it('pages shared by COPY across IOAS count once; areas without domains move nothing pinned', () => {
    const w = fworld();
    w.c.setRlimitMode(1);
    const a = w.c.ioasAlloc();
    const b = w.c.ioasAlloc();
    const lazy = w.c.ioasAlloc();
    w.c.mockDomain(a);
    w.c.mockDomain(b);
    const { fd } = memfdMmap(w.proc, 8 * PS);
    const m = mapFile(w.c, { ioas: a, fd, start: 0, length: 8 * PS });
    w.c.ioasCopy({ srcIoas: a, dstIoas: b, srcIova: m.iova, length: 8 * PS, flags: U.IOMMU_IOAS_MAP_READABLE });
    expect(mapFile(w.c, { ioas: lazy, fd, start: 0, length: 2 * PS }).rc).toBe(0);
    expect(w.proc.mm.lockedVm).toBe(8);
    const child = w.proc.fork();
    const cc = new IommufdClient(child, w.c.fd);
    expect(changeProcess(cc)).toBe(0);
    expect(child.mm.lockedVm).toBe(8);
    expect(child.mm.pinnedVm).toBe(8);
    expect(w.proc.mm.lockedVm).toBe(0);
    for (const { ioas } of ctxOf(w).ioasList()) for (const area of ioas.iopt.areas()) expect(area.pages!.sourceMm).toBe(child.mm);
    child.exit();
    w.proc.close(fd);
  });

  it('CAP_IPC_LOCK pages (not accounted): the owner changes but pinned_vm stays behind (need_charge_update)', () => {
    const w = fworld({ caps: ['CAP_SYS_RESOURCE', 'CAP_IPC_LOCK'] });
    const ioas = w.c.ioasAlloc();
    w.c.mockDomain(ioas);
    const { fd } = memfdMmap(w.proc, 2 * PS);
    expect(mapFile(w.c, { ioas, fd, start: 0, length: 2 * PS }).rc).toBe(0);
    expect(w.proc.task.user.lockedVm).toBe(0);
    expect(w.proc.mm.pinnedVm).toBe(2);
    const child = w.proc.fork();
    expect(changeProcess(new IommufdClient(child, w.c.fd))).toBe(0);
    const pages = ctxOf(w).ioasList()[0].ioas.iopt.areas()[0].pages!;
    expect(pages.sourceMm).toBe(child.mm);
    expect(w.proc.mm.pinnedVm).toBe(2);
    expect(child.mm.pinnedVm).toBe(0);
    // moving back puts the counters in agreement again
    expect(changeProcess(w.c)).toBe(0);
    expect(pages.sourceMm).toBe(w.proc.mm);
    child.exit();
    w.proc.close(fd);
  });

  it('MM mode, back to a process after the previous owner exited: WARN and -EINVAL, the owner changes anyway', () => {
    const m = new Machine({ memory: '256M', profile: 'latest', checks: true });
    const p = m.spawn({ memlock: 'unlimited', caps: ['CAP_SYS_RESOURCE'] });
    const c = IommufdClient.open(p);
    c.setRlimitMode(1);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    const { fd } = memfdMmap(p, PS);
    expect(mapFile(c, { ioas, fd, start: 0, length: PS }).rc).toBe(0);
    const child = p.fork();
    expect(changeProcess(new IommufdClient(child, c.fd))).toBe(0);
    child.exit();
    // update_mm_locked_vm() cannot mmget the dead mm to uncharge it
    expect(changeProcess(c)).toBe(-EINVAL);
    expect(m.warnings.map((x) => x.assertion)).toEqual(['iommufd_ioas_change_process.uncharge']);
    expect(p.mm.lockedVm).toBe(1);
    expect(p.mm.pinnedVm).toBe(1);
    expect(child.mm.lockedVm).toBe(1);
    p.exit();
  });

  it('a dma-buf map is not a file map: EINVAL', () => {
    const w = fworld();
    const ioas = w.c.ioasAlloc();
    const dfd = dmabufGet(w.c, 4 * PS);
    expect(dfd).toBeGreaterThan(0);
    expect(mapFile(w.c, { ioas, fd: dfd, start: 0, length: 4 * PS }).rc).toBe(0);
    expect(changeProcess(w.c)).toBe(-EINVAL);
    w.c.ioasUnmapAll(ioas);
    w.proc.close(dfd);
  });

  it('is an unknown command on 6.12', () => {
    const m = new Machine({ memory: '64M', profile: 'v6.12', panicOnWarn: true });
    const p = m.spawn({ memlock: 'unlimited' });
    expect(changeProcess(IommufdClient.open(p))).toBe(-25);
    p.exit();
  });
});
