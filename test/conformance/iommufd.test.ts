// SPDX-License-Identifier: GPL-2.0-only
// Fixture `iommufd` of tools/testing/selftests/iommu/iommufd.c (selftests-catalogue.md §5):
// a bare /dev/iommu file, no IOAS unless the scenario makes one.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { E2BIG, EBUSY, EFAULT, EINVAL, ENODEV, ENOENT, ENOTTY } from '../../src/base/errno.js';
import * as U from '../../src/iommufd/uapi.js';
import { BUFFER_SIZE, MOCK_APERTURE_START, PS, type World, ctxOf, expectErrno, expectRc, finish, teardownIommufd, world } from '../client/harness.js';

let w: World;

afterEach(() => {
  teardownIommufd(w);
  finish(w);
});

for (const p of ['latest', 'v6.12'] as const)
describe(`profile ${p} iommufd`, () => {
  beforeEach(() => {
    w = world({ profile: p });
  });

  it('iommufd.default.simple_close', () => {
    expect(ctxOf(w).objects.live()).toEqual([]);
  });

  it('iommufd.default.cmd_fail', () => {
    // object id is invalid
    expectRc(ENOENT, w.c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: 0 }).rc);
    // bad pointer: the size word cannot be read
    expectRc(EFAULT, w.proc.ioctl(w.c.fd, U.IOMMU_DESTROY, 0n));
    // IOMMUFD_CMD_BASE - 1 is not an iommufd command (and not a VFIO one)
    expectRc(ENOTTY, w.c.raw(U.IO(U.IOMMUFD_TYPE, U.IOMMUFD_CMD_BASE - 1), U.iommu_destroy, { id: 0 }).rc);
  });

  it('iommufd.default.cmd_length', () => {
    // [struct, ioctl, result at exactly sizeof with every field zero]
    const cases: Array<[U.StructLayout, number, number]> = [
      [U.iommu_destroy, U.IOMMU_DESTROY, -ENOENT],
      [U.iommu_ioas_alloc, U.IOMMU_IOAS_ALLOC, 0],
      [U.iommu_ioas_iova_ranges, U.IOMMU_IOAS_IOVA_RANGES, -ENOENT],
      [U.iommu_ioas_allow_iovas, U.IOMMU_IOAS_ALLOW_IOVAS, -ENOENT],
      // flags 0: neither READABLE nor WRITEABLE (6.11+)
      [U.iommu_ioas_map, U.IOMMU_IOAS_MAP, -EINVAL],
      [U.iommu_ioas_copy, U.IOMMU_IOAS_COPY, -EINVAL],
      [U.iommu_ioas_unmap, U.IOMMU_IOAS_UNMAP, -ENOENT],
      // SET RLIMIT_MODE 0 while the IOAS made above exist
      [U.iommu_option, U.IOMMU_OPTION, -EBUSY],
      // GET without a compat IOAS
      [U.iommu_vfio_ioas, U.IOMMU_VFIO_IOAS, -ENODEV],
    ];
    const ff = new Uint8Array([0xff]);
    const zero = new Uint8Array([0]);
    let ioasMade = 0;
    for (const [layout, cmd, want] of cases) {
      const minSize = layout.minSize;
      expect(minSize, layout.name).toBe(layout.size);
      expectRc(EINVAL, w.c.raw(cmd, layout, {}, { size: minSize - 1, trailing: ff }).rc);
      expectRc(E2BIG, w.c.raw(cmd, layout, {}, { size: layout.size + 1, trailing: ff }).rc);
      const exact = w.c.raw(cmd, layout, {}, { size: layout.size, trailing: ff });
      expect(exact.rc, layout.name).toBe(want);
      // A zero trailing byte is transparent.
      const longer = w.c.raw(cmd, layout, {}, { size: layout.size + 1, trailing: zero });
      expect(longer.rc, layout.name).toBe(exact.rc);
      if (cmd === U.IOMMU_IOAS_ALLOC) {
        // Each success made an IOAS; the one-byte-longer call wrote back only sizeof bytes.
        expect(exact.out.out_ioas_id).toBe(++ioasMade);
        expect(longer.out.out_ioas_id).toBe(++ioasMade);
        expect(longer.bytes[layout.size]).toBe(0);
      }
    }
    expect(ctxOf(w).ioasList().map((e) => e.id)).toEqual([1, 2]);
  });

  it('iommufd.default.cmd_ex_fail', () => {
    const future = (v: number) => {
      const t = new Uint8Array(8);
      t[0] = v;
      return t;
    };
    // object id is invalid and the command is longer
    expectRc(ENOENT, w.c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: 0 }, { size: 16, trailing: future(0) }).rc);
    // future area is non-zero
    expectRc(E2BIG, w.c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: 0 }, { size: 16, trailing: future(1) }).rc);
    // the original command "works"
    expectRc(ENOENT, w.c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: 0 }, { size: 8, trailing: future(1) }).rc);
    // short command fails
    expectRc(EINVAL, w.c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: 0 }, { size: 7, trailing: future(1) }).rc);
  });

  it('iommufd.default.global_options', () => {
    const opt = (op: number, optionId: number, val64: bigint) =>
      w.c.raw(U.IOMMU_OPTION, U.iommu_option, { option_id: optionId, op, val64 });
    let r = opt(U.IOMMU_OPTION_OP_GET, U.IOMMU_OPTION_RLIMIT_MODE, 1n);
    expect(r.rc).toBe(0);
    expect(r.out.val64).toBe(0n);
    // needs CAP_SYS_RESOURCE, which the fixture process has
    expect(opt(U.IOMMU_OPTION_OP_SET, U.IOMMU_OPTION_RLIMIT_MODE, 1n).rc).toBe(0);
    expectRc(EINVAL, opt(U.IOMMU_OPTION_OP_SET, U.IOMMU_OPTION_RLIMIT_MODE, 2n).rc);
    r = opt(U.IOMMU_OPTION_OP_GET, U.IOMMU_OPTION_RLIMIT_MODE, 2n);
    expect(r.rc).toBe(0);
    expect(r.out.val64).toBe(1n);
    expect(opt(U.IOMMU_OPTION_OP_SET, U.IOMMU_OPTION_RLIMIT_MODE, 0n).rc).toBe(0);
    expect(w.c.getRlimitMode()).toBe(0);
    // HUGE_PAGES is per IOAS: object 0 does not exist, for GET and SET alike
    expectRc(ENOENT, opt(U.IOMMU_OPTION_OP_GET, U.IOMMU_OPTION_HUGE_PAGES, 0n).rc);
    expectRc(ENOENT, opt(U.IOMMU_OPTION_OP_SET, U.IOMMU_OPTION_HUGE_PAGES, 0n).rc);
  });

  it('iommufd.default.simple_ioctls', () => {
    expect(w.proc.ioctl(w.c.fd, U.VFIO_GET_API_VERSION, 0n)).toBe(U.VFIO_API_VERSION);
    expect(w.proc.ioctl(w.c.fd, U.VFIO_CHECK_EXTENSION, BigInt(U.VFIO_TYPE1v2_IOMMU))).toBe(1);
  });

  it('iommufd.default.unmap_cmd', () => {
    const unmap = (argsz: number, flags: number) =>
      w.c.raw(U.VFIO_IOMMU_UNMAP_DMA, U.vfio_iommu_type1_dma_unmap, { argsz, flags, iova: MOCK_APERTURE_START, size: PS }, {});
    expectRc(EINVAL, unmap(1, 0).rc);
    expectRc(EINVAL, unmap(U.vfio_iommu_type1_dma_unmap.size, 1 << 31).rc);
    const r = unmap(U.vfio_iommu_type1_dma_unmap.size, 0);
    expectRc(ENODEV, r.rc);
    // nothing written back before the compat IOAS check
    expect(r.out.size).toBe(PS);
  });

  it('iommufd.default.map_cmd', () => {
    const map = (argsz: number, flags: number) =>
      w.c.raw(U.VFIO_IOMMU_MAP_DMA, U.vfio_iommu_type1_dma_map, { argsz, flags, vaddr: w.buffer, iova: MOCK_APERTURE_START, size: PS });
    expectRc(EINVAL, map(1, 0).rc);
    expectRc(EINVAL, map(U.vfio_iommu_type1_dma_map.size, 1 << 31).rc);
    // requires a compat IOAS
    expectRc(ENODEV, map(U.vfio_iommu_type1_dma_map.size, U.VFIO_DMA_MAP_FLAG_READ | U.VFIO_DMA_MAP_FLAG_WRITE).rc);
    expect(w.proc.task.user.lockedVm).toBe(0);
    expect(BUFFER_SIZE).toBe(16 * 4096);
  });

  it('iommufd.default.info_cmd', () => {
    const info = (argsz: number) => w.c.raw(U.VFIO_IOMMU_GET_INFO, U.vfio_iommu_type1_info, { argsz });
    expectRc(EINVAL, info(1).rc);
    const r = info(U.vfio_iommu_type1_info.size);
    expectRc(ENODEV, r.rc);
    expect(r.out.flags).toBe(0);
  });

  it('iommufd.default.set_iommu_cmd', () => {
    // requires a compat IOAS
    expectRc(ENODEV, w.proc.ioctl(w.c.fd, U.VFIO_SET_IOMMU, BigInt(U.VFIO_TYPE1v2_IOMMU)));
    expectRc(ENODEV, w.proc.ioctl(w.c.fd, U.VFIO_SET_IOMMU, BigInt(U.VFIO_TYPE1_IOMMU)));
  });

  it('iommufd.default.vfio_ioas', () => {
    const vfioIoas = (op: number, ioasId: number) => w.c.raw(U.IOMMU_VFIO_IOAS, U.iommu_vfio_ioas, { op, ioas_id: ioasId });
    // ENODEV if there is no compat IOAS
    expectRc(ENODEV, vfioIoas(U.IOMMU_VFIO_IOAS_GET, 0).rc);
    // invalid id for SET
    expectRc(ENOENT, vfioIoas(U.IOMMU_VFIO_IOAS_SET, 0).rc);
    const ioas = w.c.ioasAlloc();
    expect(vfioIoas(U.IOMMU_VFIO_IOAS_SET, ioas).rc).toBe(0);
    // the same id comes back from GET
    const r = vfioIoas(U.IOMMU_VFIO_IOAS_GET, 0);
    expect(r.rc).toBe(0);
    expect(r.out.ioas_id).toBe(ioas);
    expect(vfioIoas(U.IOMMU_VFIO_IOAS_CLEAR, 0).rc).toBe(0);
    expectErrno(ENODEV, () => w.c.vfioIoasGet());
    // CLEAR does not destroy the IOAS
    expect(ctxOf(w).ioasList().map((e) => e.id)).toEqual([ioas]);
  });
});
