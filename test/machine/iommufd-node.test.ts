// SPDX-License-Identifier: GPL-2.0-only
// /dev/iommu and /dev/vfio/vfio on the machine: one environment per machine, one context per
// open, file lifetime across fork and access fds, and Process.ioctlStruct.
import { describe, expect, it } from 'vitest';
import { EBADF, ENOENT, ENOMEM, ESRCH } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import { IOPT_PAGES_ACCOUNT_MM, IOPT_PAGES_ACCOUNT_USER } from '../../src/iommufd/pages.js';
import * as U from '../../src/iommufd/uapi.js';
import { DEV_IOMMU, DEV_VFIO, iommufdCtxOf, iommufdEnvOf } from '../../src/machine/iommufd-node.js';
import { MAP_ANONYMOUS, MAP_SHARED, Machine, O_RDWR, PROT_READ, PROT_WRITE } from '../../src/machine/index.js';

function machine() {
  const m = new Machine({ memory: '64M', panicOnWarn: true, checks: true });
  const p = m.spawn({ memlock: 'unlimited', caps: ['CAP_SYS_RESOURCE'] });
  return { m, p };
}

function buffer(p: ReturnType<typeof machine>['p'], pages: number): bigint {
  const va = p.mmap(0n, BigInt(pages * 4096), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  expect(va > 0n).toBe(true);
  return va;
}

function expectClean(m: Machine) {
  for (const p of [...m.processes.values()]) p.exit();
  expect(m.phys.framesInUse()).toBe(0);
  expect(m.warnings).toEqual([]);
}

describe('iommufd device nodes', () => {
  it('both nodes open into contexts sharing one environment; vfio defaults to mm accounting', () => {
    const { m, p } = machine();
    const a = p.open(DEV_IOMMU, O_RDWR);
    const b = p.open(DEV_VFIO, O_RDWR);
    const ca = iommufdCtxOf(p, a)!;
    const cb = iommufdCtxOf(p, b)!;
    expect(ca).not.toBe(cb);
    expect(ca.env).toBe(cb.env);
    expect(ca.env).toBe(iommufdEnvOf(m));
    expect(ca.task).toBe(p.task);
    expect(ca.accountMode).toBe(IOPT_PAGES_ACCOUNT_USER);
    expect(cb.accountMode).toBe(IOPT_PAGES_ACCOUNT_MM);
    // IDs are per context
    expect(new IommufdClient(p, a).ioasAlloc()).toBe(1);
    expect(new IommufdClient(p, b).ioasAlloc()).toBe(1);
    // the machine-wide test knob is shared
    new IommufdClient(p, a).setTempMemoryLimit(16);
    expect(cb.env.tempMemoryLimit).toBe(16);
    expect(m.currentProcess).toBeUndefined();
    expectClean(m);
  });

  it('open fails with ENOMEM when the context allocation fails', () => {
    const { m, p } = machine();
    p.setFailNth(1);
    expect(p.open(DEV_IOMMU, O_RDWR)).toBe(-ENOMEM);
    expect(p.openFds()).toEqual([]);
    expect(p.open(DEV_IOMMU, O_RDWR)).toBe(3);
    expectClean(m);
  });

  it('a forked child shares the context; release waits for the last descriptor', () => {
    const { m, p } = machine();
    const c = IommufdClient.open(p);
    const ioas = c.ioasAlloc();
    const buf = buffer(p, 4);
    const child = p.fork();
    // the child maps through the shared fd; the pages remember the child's mm
    new IommufdClient(child, c.fd).ioasMap({ ioas, userVa: buf, length: 4 * 4096, iova: 0x10000 });
    const ctx = iommufdCtxOf(p, c.fd)!;
    const area = ctx.ioasList()[0].ioas.iopt.areas()[0];
    expect(area.pages!.sourceTask).toBe(child.task);
    c.close();
    expect(ctx.alive).toBe(true);
    expect(ctx.ioasList().length).toBe(1);
    child.exit();
    expect(ctx.alive).toBe(false);
    expect(ctx.objects.live()).toEqual([]);
    expectClean(m);
  });

  it('an access fd keeps the context alive after its fd is closed', () => {
    const { m, p } = machine();
    const c = IommufdClient.open(p);
    const ioas = c.ioasAlloc();
    const buf = buffer(p, 4);
    c.ioasMap({ ioas, userVa: buf, length: 4 * 4096, iova: 0x10000 });
    const access = c.createAccess(ioas, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
    expect(access).toBe(4);
    c.accessPages(access, { iova: 0x10000, length: 4096, uptr: buf });
    expect(p.task.user.lockedVm).toBe(1);
    const ctx = iommufdCtxOf(p, c.fd)!;
    c.close();
    expect(ctx.alive).toBe(true);
    expect(p.task.user.lockedVm).toBe(1);
    expect(p.close(access)).toBe(0);
    expect(ctx.alive).toBe(false);
    expect(p.task.user.lockedVm).toBe(0);
    expect(p.mm.pinnedVm).toBe(0);
    expectClean(m);
  });

  it('ioctlStruct copies the struct in and out, and its copies pass no fault point', () => {
    const { m, p } = machine();
    const fd = p.open(DEV_IOMMU, O_RDWR);
    const bytes = U.iommu_ioas_alloc.encode({ size: 12 });
    // the first fault point armed is the IOAS kzalloc inside the ioctl, not the scratch setup
    p.setFailNth(1);
    expect(p.ioctlStruct(fd, U.IOMMU_IOAS_ALLOC, bytes)).toBe(-ENOMEM);
    expect(p.getFailNth()).toBe(0);
    expect(p.ioctlStruct(fd, U.IOMMU_IOAS_ALLOC, bytes)).toBe(0);
    expect(U.iommu_ioas_alloc.decode(bytes).out_ioas_id).toBe(1);
    // a bigger struct grows the scratch
    const big = new Uint8Array(3 * 4096);
    U.iommu_destroy.encode({ size: 8, id: 7 }, big);
    expect(p.ioctlStruct(fd, U.IOMMU_DESTROY, big)).toBe(-ENOENT);
    expect(p.ioctlStruct(99, U.IOMMU_DESTROY, big)).toBe(-EBADF);
    p.exit();
    expect(p.ioctlStruct(fd, U.IOMMU_DESTROY, big)).toBe(-ESRCH);
    expectClean(m);
  });

  it('the VFIO number space reaches the compat handler on /dev/iommu too', () => {
    const { m, p } = machine();
    const fd = p.open(DEV_IOMMU, O_RDWR);
    expect(p.ioctl(fd, U.VFIO_GET_API_VERSION, 0n)).toBe(0);
    expect(p.ioctl(fd, U.VFIO_CHECK_EXTENSION, BigInt(U.VFIO_UNMAP_ALL))).toBe(1);
    expectClean(m);
  });
});
