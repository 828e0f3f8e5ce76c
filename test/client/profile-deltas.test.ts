// SPDX-License-Identifier: GPL-2.0-only
// Where the v6.5 profile and the current kernel answer the same uAPI call differently
// (uapi-spec.md §9), checked side by side through the syscall surface.
import { afterEach, describe, expect, it } from 'vitest';
import { EINVAL, ENOENT } from '../../src/base/errno.js';
import { VfioContainerClient, type VfioIovaRangeCap, parseVfioCaps } from '../../src/client/vfio.js';
import * as U from '../../src/iommufd/uapi.js';
import { BUFFER_SIZE, HUGEPAGE_SIZE, MOCK_APERTURE_LAST, MOCK_APERTURE_START, PS, type World, alignedShared, expectRc, finish, teardownIommufd, world } from './harness.js';

let w: World | undefined;

afterEach(() => {
  if (!w) return;
  const cur = w;
  w = undefined;
  teardownIommufd(cur);
  finish(cur);
});

for (const profile of ['latest', 'v6.5'] as const) {
  const latest = profile === 'latest';

  describe(`profile ${profile}`, () => {
    it('MAP and COPY without READABLE or WRITEABLE', () => {
      w = world({ profile });
      const { c, buffer } = w;
      const ioas = c.ioasAlloc();
      const map = c.ioasMapRaw({ ioas, userVa: buffer, length: PS, iova: PS, flags: U.IOMMU_IOAS_MAP_FIXED_IOVA });
      if (latest) {
        expectRc(EINVAL, map.rc);
        c.ioasMap({ ioas, userVa: buffer, length: PS, iova: PS });
      } else {
        // v6.5 makes an area with no access rights
        expect(map.rc).toBe(0);
        expect(w.machine.profile.mapNeedsReadOrWrite).toBe(false);
      }
      const copy = c.ioasCopyRaw({ dstIoas: ioas, srcIoas: ioas, srcIova: PS, dstIova: 4n * PS, length: PS, flags: U.IOMMU_IOAS_MAP_FIXED_IOVA });
      if (latest) expectRc(EINVAL, copy.rc);
      else expect(copy.rc).toBe(0);
    });

    it('unmap of an empty range: IOAS_UNMAP always ENOENT, VFIO UNMAP_DMA only in v6.5', () => {
      w = world({ profile });
      const { c } = w;
      const ioas = c.ioasAlloc();
      c.mockDomain(ioas);
      c.vfioIoasSet(ioas);
      expectRc(ENOENT, c.raw(U.IOMMU_IOAS_UNMAP, U.iommu_ioas_unmap, { ioas_id: ioas, iova: MOCK_APERTURE_START, length: PS }).rc);
      const vfio = new VfioContainerClient(w.proc, c.fd);
      vfio.setIommu(U.VFIO_TYPE1v2_IOMMU);
      const r = vfio.unmapDmaRaw({ iova: MOCK_APERTURE_START, size: PS });
      if (latest) expect(r.rc).toBe(0);
      else expectRc(ENOENT, r.rc);
      // the size is written back either way
      expect(r.out.size).toBe(0n);
    });

    it('VFIO GET_INFO capability chain: 8-byte aligned since v6.6', () => {
      w = world({ profile });
      const { c } = w;
      const ioas = c.ioasAlloc();
      c.mockDomain(ioas);
      c.vfioIoasSet(ioas);
      const info = new VfioContainerClient(w.proc, c.fd).getInfo();
      const iovaAt = latest ? 40 : 36;
      expect(info.argsz).toBe(iovaAt + 32);
      expect(info.capOffset).toBe(24);
      const caps = parseVfioCaps(info.bytes.subarray(0, info.argsz), info.capOffset);
      expect(caps.map((cap) => [cap.id, cap.offset, cap.next])).toEqual([
        [U.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 24, iovaAt],
        [U.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, iovaAt, 0],
      ]);
      expect((caps[1] as VfioIovaRangeCap).ranges).toEqual([{ start: MOCK_APERTURE_START, end: MOCK_APERTURE_LAST }]);
    });

    it('automatic IOVA alignment is capped at 2 MiB since v6.11', () => {
      w = world({ profile });
      const { c, proc } = w;
      const ioas = c.ioasAlloc();
      const big = alignedShared(proc, 4 * HUGEPAGE_SIZE, 4 * HUGEPAGE_SIZE);
      const iova = c.ioasMap({ ioas, userVa: big, length: 4 * HUGEPAGE_SIZE });
      expect(iova).toBe(latest ? BigInt(HUGEPAGE_SIZE) : BigInt(4 * HUGEPAGE_SIZE));
    });

    it('IOMMU_TEST_CMD struct size: 72 (min 68) now, 56 (min 52) in v6.5', () => {
      w = world({ profile });
      const { c } = w;
      const limit = { op: U.IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 'memory_limit.limit': 65536 };
      const r56 = c.raw(U.IOMMU_TEST_CMD, U.iommu_test_cmd, limit, { size: 56 });
      if (latest) expectRc(EINVAL, r56.rc);
      else expect(r56.rc).toBe(0);
      expect(c.raw(U.IOMMU_TEST_CMD, U.iommu_test_cmd, limit, { size: 72 }).rc).toBe(0);
      expect(BUFFER_SIZE).toBe(65536);
    });
  });
}
