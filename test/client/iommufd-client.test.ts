// SPDX-License-Identifier: GPL-2.0-only
// The typed clients, and the IOAS / option / VFIO error paths of uapi-spec.md §4-§5 that the
// kernel selftests do not reach.
import { afterEach, describe, expect, it } from 'vitest';
import {
  EADDRINUSE,
  EBUSY,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOENT,
  ENOMEM,
  ENOTTY,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
  ErrnoError,
} from '../../src/base/errno.js';
import { errnoOf } from '../../src/client/iommufd.js';
import { VfioContainerClient } from '../../src/client/vfio.js';
import * as U from '../../src/iommufd/uapi.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/machine/index.js';
import { BUFFER_SIZE, MOCK_APERTURE_START, PS, U64_MAX, type World, ctxOf, expectErrno, expectRc, finish, teardownIommufd, world } from './harness.js';

let w: World | undefined;

function open(o: Parameters<typeof world>[0] = {}): World {
  w = world(o);
  return w;
}

afterEach(() => {
  if (!w) return;
  const cur = w;
  w = undefined;
  teardownIommufd(cur);
  finish(cur);
});

describe('IommufdClient', () => {
  it('throws ErrnoError with the errno name, number and the command', () => {
    const { c } = open();
    let err: unknown;
    try {
      c.destroy(0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrnoError);
    const e = err as ErrnoError;
    expect([e.code, e.errno]).toEqual(['ENOENT', ENOENT]);
    expect(e.message).toContain('IOMMU_DESTROY');
    expect(errnoOf(() => c.ioasAlloc())).toBe(0);
  });

  it('maps with a chosen or a fixed IOVA and reports unmapped bytes', () => {
    const { c, buffer } = open();
    const ioas = c.ioasAlloc();
    const auto = c.ioasMap({ ioas, userVa: buffer, length: BUFFER_SIZE });
    // lowest fit: PAGE_SIZE aligned up to the buffer's 64 KiB length
    expect(auto).toBe(BigInt(BUFFER_SIZE));
    expect(c.ioasMap({ ioas, userVa: buffer, length: PS, iova: 0x100000n })).toBe(0x100000n);
    expect(c.ioasCopy({ dstIoas: ioas, srcIoas: ioas, srcIova: 0x100000n, length: PS })).toBe(0x1000n);
    expect(c.ioasUnmapAll(ioas)).toBe(BigInt(BUFFER_SIZE) + 2n * PS);
  });

  it('iovaRanges grows its array on EMSGSIZE; allowIovas round-trips', () => {
    const { c } = open();
    const ioas = c.ioasAlloc();
    for (let i = 1n; i <= 40n; i++) c.addReserved(ioas, i * 2n * PS, PS);
    const r = c.iovaRanges(ioas, 2);
    expect(r.ranges.length).toBe(41);
    expect(r.ranges[0]).toEqual({ start: 0n, last: 2n * PS - 1n });
    expect(r.ranges[40]).toEqual({ start: 81n * PS, last: U64_MAX });
    expect(r.alignment).toBe(1n);
    c.allowIovas(ioas, [{ start: 0x100000000n, last: 0x1ffffffffn }]);
    expectErrno(EADDRINUSE, () => c.addReserved(ioas, 0x100000000n, PS));
    c.allowIovas(ioas, []);
    c.addReserved(ioas, 0x100000000n, PS);
  });

  it('encodes IOMMU_TEST_CMD with the layout of the machine profile', () => {
    const latest = open();
    expect(latest.c.testCmdLayout.size).toBe(72);
    finish(latest);
    w = undefined;
    const old = open({ profile: 'v6.5' });
    expect(old.c.testCmdLayout.size).toBe(56);
    // a 72-byte command with a zero tail still works on the 56-byte kernel
    const r = old.c.raw(U.IOMMU_TEST_CMD, U.iommu_test_cmd, { op: U.IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 'memory_limit.limit': 65536 });
    expect(r.rc).toBe(0);
  });
});

describe('IOAS ioctl error paths', () => {
  it('reserved fields and unknown flags are EOPNOTSUPP, before any lookup', () => {
    const { c } = open();
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_IOAS_ALLOC, U.iommu_ioas_alloc, { flags: 1 }).rc);
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_IOAS_MAP, U.iommu_ioas_map, { flags: 8 | 6, ioas_id: 99 }).rc);
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_IOAS_MAP, U.iommu_ioas_map, { flags: 6, __reserved: 1, ioas_id: 99 }).rc);
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_IOAS_COPY, U.iommu_ioas_copy, { flags: 1 << 5 }).rc);
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_IOAS_IOVA_RANGES, U.iommu_ioas_iova_ranges, { __reserved: 1, ioas_id: 99 }).rc);
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_IOAS_ALLOW_IOVAS, U.iommu_ioas_allow_iovas, { __reserved: 1, ioas_id: 99 }).rc);
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_OPTION, U.iommu_option, { __reserved: 1 }).rc);
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_OPTION, U.iommu_option, { option_id: 7 }).rc);
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_VFIO_IOAS, U.iommu_vfio_ioas, { __reserved: 1 }).rc);
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_VFIO_IOAS, U.iommu_vfio_ioas, { op: 3 }).rc);
    // the number after the last command is a hole (ENOTTY); MAP_FILE reads its struct first
    // (EFAULT), checks flags, then wants READABLE or WRITEABLE (iommufd_ioas_map_file)
    expectRc(ENOTTY, c.raw(U.IO(U.IOMMUFD_TYPE, U.IOMMUFD_CMD_HW_QUEUE_ALLOC + 1), U.iommu_ioas_map_file, {}).rc);
    expectRc(EFAULT, w!.proc.ioctl(c.fd, U.IOMMU_IOAS_MAP_FILE, 0n));
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_IOAS_MAP_FILE, U.iommu_ioas_map_file, { flags: 8 }).rc);
    expectRc(EINVAL, c.raw(U.IOMMU_IOAS_MAP_FILE, U.iommu_ioas_map_file, {}).rc);
    expect(ctxOf(w!).objects.xaEmpty()).toBe(true);
  });

  it('MAP: EOVERFLOW, then EINVAL without READ/WRITE, then the IOAS lookup', () => {
    const { c, buffer } = open();
    const ioas = c.ioasAlloc();
    const map = (f: Partial<U.StructValue>) => c.raw(U.IOMMU_IOAS_MAP, U.iommu_ioas_map, { flags: 6, ioas_id: ioas, user_va: buffer, length: PS, ...f }).rc;
    expectRc(EOVERFLOW, map({ iova: U64_MAX, ioas_id: 99 }));
    expectRc(EOVERFLOW, map({ length: U64_MAX, ioas_id: 99 }));
    expectRc(EINVAL, map({ flags: U.IOMMU_IOAS_MAP_FIXED_IOVA, ioas_id: 99 }));
    expectRc(ENOENT, map({ ioas_id: 99 }));
    expectRc(EINVAL, map({ length: 0 }));
    expectRc(EOVERFLOW, map({ user_va: U64_MAX - 10n }));
    // A length past SIZE_MAX - PAGE_SIZE that also wraps uptr: 7.2 checks the wrap first (iopt_alloc_user_pages()).
    expectRc(EOVERFLOW, map({ length: U64_MAX - 4000n }));
    expectRc(EINVAL, map({ user_va: 0n, length: U64_MAX - 4000n }));
    // the IOAS is alive: an OPTION on an existing IOAS with a bad op
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_OPTION, U.iommu_option, { option_id: U.IOMMU_OPTION_HUGE_PAGES, op: 9, object_id: ioas }).rc);
  });

  it('MAP and COPY keep their mapping when the write-back faults; IOAS_ALLOC drops its IOAS', () => {
    const { c, proc, buffer } = open();
    const ioas = c.ioasAlloc();
    const ro = proc.mmap(0n, PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const put = (layout: U.StructLayout, f: Partial<U.StructValue>) => {
      expect(proc.mprotect(ro, PS, PROT_READ | PROT_WRITE)).toBe(0);
      expect(proc.writeMemory(ro, layout.encode({ size: layout.size, ...f }))).toBe(0);
      expect(proc.mprotect(ro, PS, PROT_READ)).toBe(0);
    };
    put(U.iommu_ioas_map, { flags: 6, ioas_id: ioas, user_va: buffer, length: PS });
    expectRc(EFAULT, proc.ioctl(c.fd, U.IOMMU_IOAS_MAP, ro));
    expect(ctxOf(w!).ioasList()[0].ioas.iopt.areas().length).toBe(1);
    put(U.iommu_ioas_copy, { flags: 6, dst_ioas_id: ioas, src_ioas_id: ioas, src_iova: PS, length: PS });
    expectRc(EFAULT, proc.ioctl(c.fd, U.IOMMU_IOAS_COPY, ro));
    expect(ctxOf(w!).ioasList()[0].ioas.iopt.areas().length).toBe(2);
    put(U.iommu_ioas_alloc, {});
    expectRc(EFAULT, proc.ioctl(c.fd, U.IOMMU_IOAS_ALLOC, ro));
    // the ID it had is free again
    expect(c.ioasAlloc()).toBe(2);
    // UNMAP: the areas are gone even though the length could not be written back
    put(U.iommu_ioas_unmap, { ioas_id: ioas, iova: 0n, length: U64_MAX });
    expectRc(EFAULT, proc.ioctl(c.fd, U.IOMMU_IOAS_UNMAP, ro));
    expect(ctxOf(w!).ioasList()[0].ioas.iopt.areas().length).toBe(0);
  });

  it('UNMAP: lookup first, then EOVERFLOW / EINVAL, then whole areas only', () => {
    const { c, buffer } = open();
    const ioas = c.ioasAlloc();
    const unmap = (ioasId: number, iova: bigint, length: bigint) => c.raw(U.IOMMU_IOAS_UNMAP, U.iommu_ioas_unmap, { ioas_id: ioasId, iova, length });
    expectRc(ENOENT, unmap(99, U64_MAX, 0n).rc);
    expectRc(EOVERFLOW, unmap(ioas, U64_MAX, 1n).rc);
    expectRc(EOVERFLOW, unmap(ioas, 1n, U64_MAX).rc);
    expectRc(EINVAL, unmap(ioas, PS, 0n).rc);
    expectRc(EOVERFLOW, unmap(ioas, U64_MAX - 1n, 3n).rc);
    c.ioasMap({ ioas, userVa: buffer, length: PS, iova: PS });
    c.ioasMap({ ioas, userVa: buffer, length: 2n * PS, iova: 3n * PS });
    // the first area goes, the second sticks out: ENOENT, and nothing is written back
    const r = unmap(ioas, 0n, 4n * PS);
    expectRc(ENOENT, r.rc);
    expect(r.out.length).toBe(4n * PS);
    expect(ctxOf(w!).ioasList()[0].ioas.iopt.areas().map((a) => a.iova)).toEqual([3n * PS]);
  });

  it('ALLOW_IOVAS: EFAULT, single-byte and overlapping ranges are refused, the old list stays', () => {
    const { c, proc } = open();
    const ioas = c.ioasAlloc();
    const arr = proc.mmap(0n, 2n * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    // a hole right after the array's page
    expect(proc.munmap(arr + PS, PS)).toBe(0);
    const allow = (ranges: Array<[bigint, bigint]>, num = ranges.length, ptr = arr) => {
      const raw = new Uint8Array(Math.max(16, ranges.length * 16));
      ranges.forEach(([s, l], i) => {
        U.iommu_iova_range.encode({ start: s, last: l }, raw.subarray(i * 16));
      });
      expect(proc.writeMemory(arr, raw)).toBe(0);
      return c.raw(U.IOMMU_IOAS_ALLOW_IOVAS, U.iommu_ioas_allow_iovas, { ioas_id: ioas, num_iovas: num, allowed_iovas: ptr }).rc;
    };
    expect(allow([[PS, 2n * PS - 1n]])).toBe(0);
    const usage = proc.task.memcg.usage;
    expectRc(EINVAL, allow([[5n, 5n]]));
    expectRc(EINVAL, allow([[0n, 100n], [100n, 200n]]));
    expectRc(EFAULT, allow([[0n, 100n]], 1, 0n));
    // a whole page of good ranges, then the next element lies past the mapping
    const page: Array<[bigint, bigint]> = [];
    for (let i = 0n; i < 256n; i++) page.push([i * 16n, i * 16n + 1n]);
    expectRc(EFAULT, allow(page, 257));
    const allowed = [...ctxOf(w!).ioasList()[0].ioas.iopt.allowedItree].map((n) => [n.start, n.last]);
    expect(allowed).toEqual([[PS, 2n * PS - 1n]]);
    // failed loads give their memory back
    expect(proc.task.memcg.usage).toBe(usage);
    expect(allow(page)).toBe(0);
    expect(proc.task.memcg.usage).toBeGreaterThan(usage);
  });

  it('IOVA_RANGES: EFAULT on the array, before anything is written back', () => {
    const { c } = open();
    const ioas = c.ioasAlloc();
    const r = c.raw(U.IOMMU_IOAS_IOVA_RANGES, U.iommu_ioas_iova_ranges, { ioas_id: ioas, num_iovas: 1, allowed_iovas: 16n });
    expectRc(EFAULT, r.rc);
    expect(r.out.out_iova_alignment).toBe(0n);
  });

  it('COPY: EOVERFLOW, ENOENT for a gap or a missing IOAS, EPERM for WRITE on read-only pages', () => {
    const { c, buffer } = open();
    const ioas = c.ioasAlloc();
    const copy = (f: Partial<U.StructValue>) =>
      c.raw(U.IOMMU_IOAS_COPY, U.iommu_ioas_copy, { flags: 6, dst_ioas_id: ioas, src_ioas_id: ioas, src_iova: PS, length: PS, ...f }).rc;
    c.ioasMap({ ioas, userVa: buffer, length: PS, iova: PS, flags: U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_FIXED_IOVA });
    expectRc(EOVERFLOW, copy({ dst_iova: U64_MAX }));
    expectRc(ENOENT, copy({ src_ioas_id: 99 }));
    expectRc(ENOENT, copy({ length: 2n * PS }));
    expectRc(EINVAL, copy({ length: 0n }));
    expectRc(ENOENT, copy({ dst_ioas_id: 99 }));
    expectRc(EPERM, copy({}));
    expect(copy({ flags: U.IOMMU_IOAS_MAP_READABLE })).toBe(0);
    // the source pages are shared: still one pages object
    const areas = ctxOf(w!).ioasList()[0].ioas.iopt.areas();
    expect(areas.length).toBe(2);
    expect(areas[0].pages).toBe(areas[1].pages);
  });

  it('COPY with MOCK_FLAGS_ACCESS_SYZ takes the nth area plus an offset as the source', () => {
    const { c, buffer } = open();
    const ioas = c.ioasAlloc();
    c.ioasMap({ ioas, userVa: buffer, length: 4n * PS, iova: 0x10000n });
    c.ioasMap({ ioas, userVa: buffer, length: 4n * PS, iova: 0x20000n });
    const r = c.raw(U.IOMMU_IOAS_COPY, U.iommu_ioas_copy, {
      flags: 6 | U.MOCK_FLAGS_ACCESS_SYZ,
      dst_ioas_id: ioas,
      src_ioas_id: ioas,
      src_iova: (PS << 32n) | 1n,
      length: PS,
    });
    expect(r.rc).toBe(0);
    expect(r.out.src_iova).toBe(0x21000n);
    expect(r.out.flags).toBe(6);
  });

  it('OPTION RLIMIT_MODE: EOPNOTSUPP for an object, EPERM without CAP_SYS_RESOURCE, EBUSY once objects exist', () => {
    const { c } = open({ caps: [] });
    const set = (val: bigint, objectId = 0) =>
      c.raw(U.IOMMU_OPTION, U.iommu_option, { option_id: U.IOMMU_OPTION_RLIMIT_MODE, op: U.IOMMU_OPTION_OP_SET, val64: val, object_id: objectId }).rc;
    expectRc(EOPNOTSUPP, set(1n, 1));
    expectRc(EPERM, set(1n));
    w!.proc.task.caps.add('CAP_SYS_RESOURCE');
    expect(set(1n)).toBe(0);
    c.ioasAlloc();
    expectRc(EBUSY, set(0n));
    expectRc(EOPNOTSUPP, c.raw(U.IOMMU_OPTION, U.iommu_option, { option_id: U.IOMMU_OPTION_RLIMIT_MODE, op: 2 }).rc);
    expect(c.getRlimitMode()).toBe(1);
  });

  it('RLIMIT_MEMLOCK: a map over the limit is ENOMEM and leaves nothing behind', () => {
    const { c, proc, buffer } = open({ memlock: String(8 * 4096) });
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    c.ioasMap({ ioas, userVa: buffer, length: 8n * PS, iova: MOCK_APERTURE_START });
    expect(proc.task.user.lockedVm).toBe(8);
    expectErrno(ENOMEM, () => c.ioasMap({ ioas, userVa: buffer + 8n * PS, length: PS, iova: MOCK_APERTURE_START + 8n * PS }));
    expect(proc.task.user.lockedVm).toBe(8);
    expect(ctxOf(w!).ioasList()[0].ioas.iopt.areas().length).toBe(1);
    c.mdCheckRefs(buffer + 8n * PS, PS, 0);
  });
});

describe('VfioContainerClient', () => {
  it('a /dev/vfio/vfio open accounts to the mm, like VFIO type1', () => {
    const { proc, buffer } = open({ path: '/dev/vfio/vfio' });
    const c = w!.c;
    expect(c.getRlimitMode()).toBe(1);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    const vfio = new VfioContainerClient(proc, c.fd);
    expectErrno(ENODEV, () => vfio.setIommu(U.VFIO_TYPE1v2_IOMMU));
    expectErrno(ENODEV, () => vfio.checkExtension(U.VFIO_DMA_CC_IOMMU));
    c.vfioIoasSet(ioas);
    expectErrno(EINVAL, () => vfio.setIommu(U.VFIO_NOIOMMU_IOMMU));
    vfio.setIommu(U.VFIO_TYPE1v2_IOMMU);
    expect(vfio.getApiVersion()).toBe(0);
    expect([1, 3, 9, 4, 6, 8, 10, 77].map((e) => vfio.checkExtension(e))).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
    vfio.mapDma({ vaddr: buffer, iova: MOCK_APERTURE_START, size: BUFFER_SIZE });
    expect(proc.mm.lockedVm).toBe(BUFFER_SIZE / 4096);
    expect(proc.task.user.lockedVm).toBe(0);
    const info = vfio.getInfo();
    // the AMDv1 mock's 2 KiB .. 64 GiB page sizes, the sub-page ones reported as PAGE_SIZE
    expect(info.iovaPgsizes).toBe(0x1ffffff000n);
    expect(info.caps.length).toBe(2);
    // ENOTTY for anything else, the dirty-page ioctl included
    expectRc(ENOTTY, proc.ioctl(c.fd, U.VFIO_IOMMU_DIRTY_PAGES, 0n));
    // unmap flags other than ALL are refused
    expectRc(EINVAL, vfio.unmapDmaRaw({ iova: MOCK_APERTURE_START, size: PS, flags: U.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP }).rc);
    expectRc(EINVAL, vfio.mapDmaRaw({ vaddr: buffer, iova: 0n, size: PS, flags: U.VFIO_DMA_MAP_FLAG_VADDR }).rc);
    expect(vfio.unmapAll()).toBe(BigInt(BUFFER_SIZE));
    expect(proc.mm.lockedVm).toBe(0);
  });

  it('without domains the page sizes are everything from PAGE_SIZE up; DMA_CC is 1', () => {
    const { c, proc } = open();
    const ioas = c.ioasAlloc();
    c.vfioIoasSet(ioas);
    const vfio = new VfioContainerClient(proc, c.fd);
    expect(vfio.checkExtension(U.VFIO_DMA_CC_IOMMU)).toBe(1);
    expect(vfio.getInfo().iovaPgsizes).toBe(0xffff_ffff_ffff_f000n);
    // destroying the compat IOAS clears it
    c.destroy(ioas);
    expectErrno(ENODEV, () => c.vfioIoasGet());
  });
});
