// SPDX-License-Identifier: GPL-2.0-only
// Fixture `vfio_compat_mock_domain` of tools/testing/selftests/iommu/iommufd.c
// (selftests-catalogue.md §10): an IOAS with one mock device, made the VFIO compat IOAS, then
// VFIO_SET_IOMMU with the variant's type (Ver1v2 = VFIO_TYPE1v2_IOMMU, Ver1v0 = VFIO_TYPE1_IOMMU).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EINVAL, ENOENT } from '../../src/base/errno.js';
import { Prng } from '../../src/base/prng.js';
import { VfioContainerClient, type VfioDmaAvailCap, type VfioIovaRangeCap, parseVfioCaps } from '../../src/client/vfio.js';
import * as U from '../../src/iommufd/uapi.js';
import {
  BUFFER_SIZE,
  HUGEPAGE_SIZE,
  MOCK_APERTURE_LAST,
  MOCK_APERTURE_START,
  PAGE_SIZE,
  PS,
  type World,
  ctxOf,
  expectRc,
  finish,
  hugetlbBuffer,
  teardownIommufd,
  world,
} from '../client/harness.js';

interface Variant {
  readonly name: string;
  readonly version: number;
}

const VARIANTS: readonly Variant[] = [
  { name: 'Ver1v2', version: U.VFIO_TYPE1v2_IOMMU },
  { name: 'Ver1v0', version: U.VFIO_TYPE1_IOMMU },
];

interface Self {
  readonly w: World;
  readonly vfio: VfioContainerClient;
  readonly ioasId: number;
  readonly hwptId: number;
  readonly variant: Variant;
}

let current: Self | undefined;

/** The profile the scenario being run was defined under. */
let profile: 'latest' | 'v6.12' = 'latest';

function setup(variant: Variant): Self {
  const w = world({ profile });
  const ioasId = w.c.ioasAlloc();
  // what VFIO would call a group with a domain
  const { hwptId } = w.c.mockDomain(ioasId);
  w.c.vfioIoasSet(ioasId);
  const vfio = new VfioContainerClient(w.proc, w.c.fd);
  vfio.setIommu(variant.version);
  current = { w, vfio, ioasId, hwptId, variant };
  return current;
}

afterEach(() => {
  const self = current;
  current = undefined;
  if (!self) return;
  expect(ctxOf(self.w).audit({ exactPins: true })).toBe(0);
  teardownIommufd(self.w);
  finish(self.w);
});

/** Fisher-Yates as the selftest's shuffle_array does it, with a seeded PRNG. */
function shuffle<T>(items: T[], prng: Prng): T[] {
  for (let i = 0; i < items.length; i++) {
    const other = prng.below(items.length - i);
    const tmp = items[i];
    items[i] = items[other];
    items[other] = tmp;
  }
  return items;
}

for (const p of ['latest', 'v6.12'] as const)
for (const variant of VARIANTS) {
  const name = (scenario: string) => `vfio_compat_mock_domain.${variant.name}.${scenario}`;
  const v1 = variant.version === U.VFIO_TYPE1_IOMMU;

  describe(`profile ${p} vfio_compat_mock_domain.${variant.name}`, () => {
    beforeEach(() => {
      profile = p;
    });

    it(name('simple_close'), () => {
      const self = setup(variant);
      expect(self.w.c.vfioIoasGet()).toBe(self.ioasId);
    });

    it(name('option_huge_pages'), () => {
      const self = setup(variant);
      const r = self.w.c.raw(U.IOMMU_OPTION, U.iommu_option, {
        option_id: U.IOMMU_OPTION_HUGE_PAGES,
        op: U.IOMMU_OPTION_OP_GET,
        val64: 3n,
        object_id: self.ioasId,
      });
      expect(r.rc).toBe(0);
      // type1 (v1) mode disables large pages
      expect(r.out.val64).toBe(v1 ? 0n : 1n);
    });

    it(name('get_info'), () => {
      const self = setup(variant);
      const { proc } = self.w;
      const buffer = self.w.buffer;
      /** ioctl_check_buf(): the command at the start of `buffer`, 0xAA after argsz, which must survive. */
      const getInfo = (argsz: number) => {
        const head = U.vfio_iommu_type1_info.encode({ argsz });
        const fill = new Uint8Array(BUFFER_SIZE - argsz).fill(0xaa);
        expect(proc.writeMemory(buffer, head)).toBe(0);
        expect(proc.writeMemory(buffer + BigInt(argsz), fill)).toBe(0);
        expect(proc.ioctl(self.w.c.fd, U.VFIO_IOMMU_GET_INFO, buffer)).toBe(0);
        const all = new Uint8Array(BUFFER_SIZE);
        expect(proc.readMemory(buffer, all)).toBe(0);
        expect(all.subarray(argsz).every((b) => b === 0xaa)).toBe(true);
        return { info: U.vfio_iommu_type1_info.decode(all, Math.min(argsz, 24)), all };
      };
      const flags = U.VFIO_IOMMU_INFO_PGSIZES | U.VFIO_IOMMU_INFO_CAPS;
      // pre-capability ABI
      let { info } = getInfo(U.vfio_iommu_type1_info.offsetOf('cap_offset'));
      expect(info.iova_pgsizes).not.toBe(0n);
      // the mock's 2 KiB page is reported as PAGE_SIZE; 7.2's AMDv1 mock adds 8 KiB .. 64 GiB (iommufd_get_pagesizes)
      const pgsizes = profile === 'latest' ? 0x1ffffff000n : PS;
      expect(info.iova_pgsizes).toBe(pgsizes);
      expect(info.flags).toBe(flags);
      // the size of the capability chain
      ({ info } = getInfo(U.vfio_iommu_type1_info.size));
      expect(info.iova_pgsizes).toBe(pgsizes);
      expect(info.flags).toBe(flags);
      expect(info.cap_offset).toBe(0);
      const caplen = info.argsz as number;
      expect(caplen).toBeGreaterThan(U.vfio_iommu_type1_info.size);
      // DMA_AVAIL (12 bytes, rounded to 16) then IOVA_RANGE with one range (16 + 16)
      expect(caplen).toBe(24 + 16 + 32);
      // every shorter buffer: no overflow, no corrupted chain
      for (let i = U.vfio_iommu_type1_info.size; i < caplen; i++) {
        const r = getInfo(i);
        expect(r.info.flags).toBe(flags);
        expect(r.info.argsz).toBe(caplen);
        if (!r.info.cap_offset) continue;
        checkChain(r.all, r.info.cap_offset as number, i);
      }
      // a buffer big enough for all of it
      const r = getInfo(caplen);
      expect(r.info.cap_offset).toBe(24);
      const caps = checkChain(r.all, 24, caplen);
      expect(caps.map((cap) => [cap.id, cap.offset, cap.next])).toEqual([
        [U.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 24, 40],
        [U.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 40, 0],
      ]);
      expect((caps[0] as VfioDmaAvailCap).avail).toBe(0xffff_ffff);
      // the client walks the same chain
      const viaClient = self.vfio.getInfo();
      expect(viaClient.caps.map((cap) => cap.id)).toEqual([U.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, U.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE]);
    });

    it(name('map'), () => {
      const self = setup(variant);
      const { vfio, w } = self;
      const map = { vaddr: w.buffer, size: BUFFER_SIZE, iova: MOCK_APERTURE_START };
      // simple map/unmap
      vfio.mapDma(map);
      w.c.mdCheckMap(self.hwptId, MOCK_APERTURE_START, BUFFER_SIZE, w.buffer);
      w.c.mdCheckRefs(w.buffer, BUFFER_SIZE, 1);
      expect(w.proc.task.user.lockedVm).toBe(BUFFER_SIZE / PAGE_SIZE);
      expect(ctxOf(w).audit({ exactPins: true })).toBe(0);
      expect(vfio.unmapDma({ iova: MOCK_APERTURE_START, size: BUFFER_SIZE })).toBe(BigInt(BUFFER_SIZE));
      w.c.mdCheckRefs(w.buffer, BUFFER_SIZE, 0);
      // an empty range: success with nothing unmapped (current kernels; ENOENT in v6.5)
      const empty = vfio.unmapDmaRaw({ iova: MOCK_APERTURE_START, size: BUFFER_SIZE });
      expect(empty.rc).toBe(0);
      expect(empty.out.size).toBe(0n);
      // UNMAP_FLAG_ALL requires iova and size 0
      vfio.mapDma(map);
      const bad = vfio.unmapDmaRaw({ iova: MOCK_APERTURE_START, size: BUFFER_SIZE, flags: U.VFIO_DMA_UNMAP_FLAG_ALL });
      expectRc(EINVAL, bad.rc);
      // no write-back on that error
      expect(bad.out.size).toBe(BigInt(BUFFER_SIZE));
      expect(vfio.unmapAll()).toBe(BigInt(BUFFER_SIZE));
      // small pages, unmapped one by one in random order
      const pages: bigint[] = [];
      for (let i = 0n; i < BigInt(BUFFER_SIZE / PAGE_SIZE); i++) {
        pages.push(MOCK_APERTURE_START + i * PS);
        vfio.mapDma({ vaddr: w.buffer + i * PS, iova: MOCK_APERTURE_START + i * PS, size: PS });
      }
      w.c.mdCheckMap(self.hwptId, MOCK_APERTURE_START, BUFFER_SIZE, w.buffer);
      for (const iova of shuffle(pages, new Prng(11))) expect(vfio.unmapDma({ iova, size: PS })).toBe(PS);
      expect(ctxOf(w).ioasList()[0].ioas.iopt.areas()).toEqual([]);
      expect(w.proc.task.user.lockedVm).toBe(0);
    });

    it(name('huge_map'), () => {
      const self = setup(variant);
      const { vfio, w } = self;
      const bufSize = 2 * HUGEPAGE_SIZE;
      const buf = hugetlbBuffer(w.proc, bufSize);
      vfio.mapDma({ vaddr: buf, size: bufSize, iova: MOCK_APERTURE_START });
      w.c.mdCheckMap(self.hwptId, MOCK_APERTURE_START, bufSize, buf);
      const chunk = BigInt(bufSize / 16);
      const iovas: bigint[] = [];
      for (let i = 0n; i < 16n; i++) iovas.push(MOCK_APERTURE_START + i * chunk);
      // type1 (v1) cuts larger mappings; type1v2 never does
      let n = 0;
      for (const iova of shuffle(iovas, new Prng(12))) {
        // half way through, the cut areas still agree with the domain and the pins
        if (n++ === 8) expect(ctxOf(w).audit({ exactPins: true })).toBe(0);
        const r = vfio.unmapDmaRaw({ iova, size: chunk });
        if (v1) {
          expect(r.rc).toBe(0);
          expect(r.out.size).toBe(chunk);
        } else {
          expectRc(ENOENT, r.rc);
          // the size is written back even on failure
          expect(r.out.size).toBe(0n);
        }
      }
      const areas = ctxOf(w).ioasList()[0].ioas.iopt.areas();
      if (v1) {
        expect(areas).toEqual([]);
        expect(w.proc.task.user.lockedVm).toBe(0);
      } else {
        expect(areas.length).toBe(1);
        w.c.mdCheckMap(self.hwptId, MOCK_APERTURE_START, bufSize, buf);
        expect(vfio.unmapAll()).toBe(BigInt(bufSize));
      }
      expect(w.proc.munmap(buf, BigInt(bufSize))).toBe(0);
    });
  });
}

/** check_vfio_info_cap_chain(): every header inside argsz, next never going back, known caps only. */
function checkChain(all: Uint8Array, capOffset: number, argsz: number) {
  expect(argsz).toBeGreaterThanOrEqual(capOffset + 8);
  const caps = parseVfioCaps(all.subarray(0, argsz), capOffset);
  for (const cap of caps) {
    const size = (cap.next || argsz) - cap.offset;
    expect(cap.version).toBe(1);
    if (cap.id === U.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
      const c = cap as VfioIovaRangeCap;
      expect(c.nrIovas).toBe(1);
      expect(c.ranges[0]).toEqual({ start: MOCK_APERTURE_START, end: MOCK_APERTURE_LAST });
    } else if (cap.id === U.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
      // 12 bytes of struct, padded to 8 since v6.6
      expect(size).toBe(16);
    } else {
      expect.unreachable(`unknown cap ${cap.id}`);
    }
    if (cap.next) {
      expect(argsz).toBeGreaterThanOrEqual(cap.next + 8);
      expect(cap.next).toBeGreaterThan(cap.offset);
    }
  }
  return caps;
}
