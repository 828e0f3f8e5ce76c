// SPDX-License-Identifier: GPL-2.0-only
// Fixture `iommufd_dirty_tracking` of tools/testing/selftests/iommu/iommufd.c (selftests-catalogue.md):
// a mock device on an IOAS, a 2 MiB-aligned buffer of the variant's size (MAP_HUGETLB |
// MAP_POPULATE for the _huge ones) and a page-aligned bitmap with a spare page for the misaligned
// cases. Each profile runs its kernel's fixture: 6.12 gives the hugepage variants a HUGE_IOVA
// device; 7.2 sets IOMMU_OPTION_HUGE_PAGES=0 on the IOAS of the others and allocates the dirty
// HWPT with the iommupt page-table type (DEFAULT / HUGE). All six scenarios under the nine
// variants, on `v6.12` and `latest` (pasid_set_dirty_tracking, a 7.x scenario, on `latest` only);
// the 64 and 128 MiB buffers must stay well under a second per test.
import { describe, expect, it } from 'vitest';
import { EFAULT, EINVAL, ENOENT, ENOMEM, EOPNOTSUPP, EOVERFLOW } from '../../src/base/errno.js';
import type { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_HUGETLB, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_NONE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { HUGEPAGE_SIZE, MOCK_APERTURE_START, MOCK_PAGE_SIZE, PAGE_SIZE, type World, expectErrno, expectRc, world, auditEachWorld } from '../client/harness.js';

type Profile = 'latest' | 'v6.12';
const PROFILES: readonly Profile[] = ['v6.12', 'latest'];
const MOCK_HUGE_PAGE_SIZE = 512 * MOCK_PAGE_SIZE;
/** enum mock_iommupt_type (7.2 iommufd_test.h): struct iommu_hwpt_selftest.pagetable_type. */
const MOCK_IOMMUPT_DEFAULT = 0;
const MOCK_IOMMUPT_HUGE = 1;

interface Variant {
  readonly name: string;
  readonly bufferSize: number;
  readonly hugepages: boolean;
}

const KiB = 1024;
const MiB = 1024 * 1024;
const VARIANTS: readonly Variant[] = [
  { name: 'domain_dirty8k', bufferSize: 8 * KiB, hugepages: false },
  { name: 'domain_dirty16k', bufferSize: 16 * KiB, hugepages: false },
  { name: 'domain_dirty64k', bufferSize: 64 * KiB, hugepages: false },
  { name: 'domain_dirty128k', bufferSize: 128 * KiB, hugepages: false },
  { name: 'domain_dirty320k', bufferSize: 320 * KiB, hugepages: false },
  { name: 'domain_dirty64M', bufferSize: 64 * MiB, hugepages: false },
  { name: 'domain_dirty64M_huge', bufferSize: 64 * MiB, hugepages: true },
  { name: 'domain_dirty128M', bufferSize: 128 * MiB, hugepages: false },
  { name: 'domain_dirty128M_huge', bufferSize: 128 * MiB, hugepages: true },
];

interface Self {
  readonly w: World;
  readonly c: IommufdClient;
  readonly ioasId: number;
  readonly hwptId: number;
  readonly stdevId: number;
  readonly idevId: number;
  readonly pageSize: number;
  readonly bitmapSize: number;
  readonly bitmap: bigint;
  readonly buffer: bigint;
  readonly variant: Variant;
  readonly profile: Profile;
}

const audited = auditEachWorld();

/** posix_memalign(align, len) stand-in: a PROT_NONE reservation cut to an aligned address, then MAP_FIXED. */
function mmapAligned(w: World, len: number, align: number, flags: number): bigint {
  const span = BigInt(len + align);
  const raw = w.proc.mmap(0n, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(raw > 0n).toBe(true);
  const va = (raw + BigInt(align) - 1n) & ~(BigInt(align) - 1n);
  expect(w.proc.munmap(raw, span)).toBe(0);
  expect(w.proc.mmap(va, BigInt(len), PROT_READ | PROT_WRITE, flags | MAP_FIXED)).toBe(va);
  return va;
}

/** FIXTURE_SETUP(iommufd_dirty_tracking) */
function setup(v: Variant, profile: Profile): Self {
  const w = world({ profile, memory: '1G', hugetlb2M: 64 });
  audited.current = w;
  const c = w.c;
  let flags = MAP_SHARED | MAP_ANONYMOUS;
  let mmapSize = v.bufferSize;
  if (v.hugepages) {
    flags |= MAP_HUGETLB | MAP_POPULATE;
    mmapSize = Math.max(mmapSize, HUGEPAGE_SIZE);
  }
  const buffer = mmapAligned(w, mmapSize, HUGEPAGE_SIZE, flags);
  const pageSize = MOCK_PAGE_SIZE;
  const bitmapSize = v.bufferSize / pageSize;
  const bitmap = mmapAligned(w, Math.ceil(bitmapSize / 8) + PAGE_SIZE, PAGE_SIZE, MAP_PRIVATE | MAP_ANONYMOUS);
  const ioasId = c.ioasAlloc();
  let ids: { stdevId: number; hwptId: number; idevId: number };
  if (profile === 'latest') {
    // 7.2: the IO page size fed to the page table must be the one the dirty logic expects
    if (!v.hugepages) c.option({ optionId: U.IOMMU_OPTION_HUGE_PAGES, op: U.IOMMU_OPTION_OP_SET, objectId: ioasId, val64: 0 });
    ids = c.mockDomain(ioasId);
  } else if (v.hugepages) {
    const r = c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ioasId, { 'mock_domain_flags.dev_flags': U.MOCK_FLAGS_DEVICE_HUGE_IOVA });
    expectRc(0, r.rc);
    ids = { stdevId: r.out['mock_domain.out_stdev_id'] as number, hwptId: r.out['mock_domain.out_hwpt_id'] as number, idevId: r.out['mock_domain.out_idev_id'] as number };
  } else ids = c.mockDomain(ioasId);
  return { w, c, ioasId, ...ids, pageSize, bitmapSize, bitmap, buffer, variant: v, profile };
}

function mockDomainFlagsRc(c: IommufdClient, ptId: number, devFlags: number): { rc: number; stdevId: number } {
  const r = c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ptId, { 'mock_domain_flags.dev_flags': devFlags });
  return { rc: r.rc, stdevId: r.out['mock_domain.out_stdev_id'] as number };
}

/** memset(bitmap, 0, n) */
function zero(w: World, va: bigint, n: number): void {
  expect(w.proc.writeMemory(va, new Uint8Array(n))).toBe(0);
}

/** _test_mock_dirty_bitmaps(): mark every pteset-th IOPTE dirty, read the bitmap twice. */
function mockDirtyBitmaps(self: Self, hwptId: number, pteSize: number, bitmap: bigint, flags: number): void {
  const { w, c } = self;
  const length = self.variant.bufferSize;
  const pageSize = self.pageSize;
  const nbits = self.bitmapSize;
  const npte = pteSize / pageSize;
  const pteset = 2 * npte;
  const nr = Math.floor(nbits / pteset) || 1;
  const bytes = Math.ceil(nbits / 8);

  const marks = new Uint8Array(bytes);
  for (let i = 0; i < nbits; i += pteset) marks[i >>> 3] |= 1 << (i & 7);
  expect(w.proc.writeMemory(bitmap, marks)).toBe(0);
  expect(c.mockDomainSetDirty(hwptId, MOCK_APERTURE_START, length, pageSize, bitmap)).toBe(BigInt(nr));

  const want = new Uint8Array(bytes);
  for (let i = 0; i < nbits; i += pteset) for (let j = 0; j < npte && i + j < nbits; j++) want[(i + j) >>> 3] |= 1 << ((i + j) & 7);
  const got = new Uint8Array(bytes);
  zero(w, bitmap, bytes);
  c.getDirtyBitmap({ hwptId, iova: MOCK_APERTURE_START, length, pageSize, data: bitmap, flags });
  expect(w.proc.readMemory(bitmap, got)).toBe(0);
  expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);

  zero(w, bitmap, bytes);
  c.getDirtyBitmap({ hwptId, iova: MOCK_APERTURE_START, length, pageSize, data: bitmap, flags });
  expect(w.proc.readMemory(bitmap, got)).toBe(0);
  const again = flags & U.IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR ? want : new Uint8Array(bytes);
  expect(Buffer.from(got).equals(Buffer.from(again))).toBe(true);
}

/** get_dirty_bitmap and get_dirty_bitmap_no_clear: three bitmaps (aligned, page-misaligned, u64-misaligned). */
function getDirtyBitmap(self: Self, flags: number): void {
  const { c } = self;
  const pteSize = self.variant.hugepages ? MOCK_HUGE_PAGE_SIZE : MOCK_PAGE_SIZE;
  // 6.12 maps into a new IOAS, 7.2 into the fixture's
  const ioasId = self.profile === 'latest' ? self.ioasId : c.ioasAlloc();
  c.ioasMap({ ioas: ioasId, userVa: self.buffer, length: self.variant.bufferSize, iova: MOCK_APERTURE_START });
  let hwptId: number;
  if (self.profile === 'latest') {
    // test_cmd_hwpt_alloc_iommupt(): struct iommu_hwpt_selftest { iotlb, pagetable_type }
    const data = new Uint8Array(8);
    new DataView(data.buffer).setUint32(4, self.variant.hugepages ? MOCK_IOMMUPT_HUGE : MOCK_IOMMUPT_DEFAULT, true);
    const dataUptr = self.w.proc.mmap(0n, BigInt(PAGE_SIZE), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(self.w.proc.writeMemory(dataUptr, data)).toBe(0);
    hwptId = c.hwptAlloc({ devId: self.idevId, ptId: ioasId, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr });
  } else hwptId = c.hwptAlloc({ devId: self.idevId, ptId: ioasId, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
  c.setDirtyTracking(hwptId, true);
  mockDirtyBitmaps(self, hwptId, pteSize, self.bitmap, flags);
  mockDirtyBitmaps(self, hwptId, pteSize, self.bitmap + BigInt(MOCK_PAGE_SIZE), flags);
  mockDirtyBitmaps(self, hwptId, pteSize, self.bitmap + 0xff1n, flags);
  c.destroy(hwptId);
}

for (const profile of PROFILES) {
  describe(`profile ${profile}`, () => {
    for (const v of VARIANTS) {
      const name = (s: string) => `iommufd_dirty_tracking.${v.name}.${s}`;

      it(name('enforce_dirty'), () => {
        const self = setup(v, profile);
        const { c } = self;
        const devFlags = U.MOCK_FLAGS_DEVICE_NO_DIRTY;
        const hwptId = c.hwptAlloc({ devId: self.idevId, ptId: self.ioasId, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
        const s = c.mockDomain(hwptId);
        // a NO_DIRTY device cannot join a domain with dirty tracking
        expectRc(EINVAL, mockDomainFlagsRc(c, hwptId, devFlags).rc);
        c.destroy(s.stdevId);
        c.destroy(hwptId);
        // an IOMMU device without dirty tracking support
        const ioasId = c.ioasAlloc();
        const r = c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ioasId, { 'mock_domain_flags.dev_flags': devFlags });
        expectRc(0, r.rc);
        const idev = r.out['mock_domain.out_idev_id'] as number;
        expectRc(EOPNOTSUPP, c.hwptAllocRaw({ devId: idev, ptId: ioasId, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING }).rc);
        c.destroy(r.out['mock_domain.out_stdev_id'] as number);
      });

      it(name('set_dirty_tracking'), () => {
        const self = setup(v, profile);
        const { c } = self;
        const hwptId = c.hwptAlloc({ devId: self.idevId, ptId: self.ioasId, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
        const s = c.mockDomain(hwptId);
        c.setDirtyTracking(hwptId, true);
        c.setDirtyTracking(hwptId, false);
        c.destroy(s.stdevId);
        c.destroy(hwptId);
      });

      // A 7.x scenario (PASID attach): latest only.
      if (profile === 'latest') {
        it(name('pasid_set_dirty_tracking'), () => {
          const self = setup(v, profile);
          const { c } = self;
          const pasid = 100;
          const pasidOp = (op: number, stdev: number, fields: Record<string, number>) => c.testCmd(op, stdev, fields).rc;
          let devFlags = U.MOCK_FLAGS_DEVICE_PASID;
          const hwptId = c.hwptAlloc({ devId: self.idevId, ptId: self.ioasId, flags: U.IOMMU_HWPT_ALLOC_PASID | U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
          let r = mockDomainFlagsRc(c, hwptId, devFlags);
          expectRc(0, r.rc);
          let stdev = r.stdevId;
          expectRc(0, pasidOp(U.IOMMU_TEST_OP_PASID_ATTACH, stdev, { 'pasid_attach.pasid': pasid, 'pasid_attach.pt_id': hwptId }));
          c.setDirtyTracking(hwptId, true);
          c.setDirtyTracking(hwptId, false);
          expectRc(0, pasidOp(U.IOMMU_TEST_OP_PASID_DETACH, stdev, { 'pasid_detach.pasid': pasid }));
          c.destroy(stdev);
          // An IOMMU device without dirty tracking: its RID sits on a non-PASID auto domain.
          devFlags |= U.MOCK_FLAGS_DEVICE_NO_DIRTY;
          const ioasId = c.ioasAlloc();
          r = mockDomainFlagsRc(c, ioasId, devFlags);
          expectRc(0, r.rc);
          stdev = r.stdevId;
          expectRc(EINVAL, pasidOp(U.IOMMU_TEST_OP_PASID_ATTACH, stdev, { 'pasid_attach.pasid': pasid, 'pasid_attach.pt_id': hwptId }));
          c.destroy(stdev);
          c.destroy(hwptId);
        });
      }

      it(name('device_dirty_capability'), () => {
        const self = setup(v, profile);
        const { c } = self;
        const hwptId = c.hwptAlloc({ devId: self.idevId, ptId: self.ioasId });
        const s = c.mockDomain(hwptId);
        const info = c.getHwInfo(self.idevId);
        expect(info.capabilities & BigInt(U.IOMMU_HW_CAP_DIRTY_TRACKING)).toBe(BigInt(U.IOMMU_HW_CAP_DIRTY_TRACKING));
        c.destroy(s.stdevId);
        c.destroy(hwptId);
      });

      it(name('get_dirty_bitmap'), () => getDirtyBitmap(setup(v, profile), 0));
      it(name('get_dirty_bitmap_no_clear'), () => getDirtyBitmap(setup(v, profile), U.IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
    }
  });
}

describe('IOMMU_TEST_OP_DIRTY length cap (7.2)', () => {
  it('refuses more than 16 MiB of bitmap with EOVERFLOW before the HWPT lookup; 6.12 looks it up first', () => {
    for (const [profile, want] of [
      ['latest', EOVERFLOW],
      ['v6.12', ENOENT],
    ] as const) {
      const self = setup(VARIANTS[2], profile);
      expectErrno(want, () => self.c.mockDomainSetDirty(100000, 0, 2n ** 28n, 1, self.bitmap));
      expectErrno(want, () => self.c.mockDomainSetDirty(100000, 0, 2n ** 27n + 4096n, 1, self.bitmap));
      expectErrno(ENOENT, () => self.c.mockDomainSetDirty(100000, 0, 2n ** 27n, 1, self.bitmap));
    }
  });
});

describe('dirty tracking error paths (6.12 rules)', () => {
  it('GET_DIRTY_BITMAP range checks, SET flags, DIRTY op limits, tracking needed for DIRTY', () => {
    const self = setup(VARIANTS[2], 'v6.12');
    const { c, w } = self;
    const len = self.variant.bufferSize;
    const ioasId = c.ioasAlloc();
    c.ioasMap({ ioas: ioasId, userVa: self.buffer, length: len, iova: MOCK_APERTURE_START });
    const plain = c.hwptAlloc({ devId: self.idevId, ptId: ioasId });
    const hwptId = c.hwptAlloc({ devId: self.idevId, ptId: ioasId, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
    const get = (f: Partial<{ iova: bigint; length: bigint; pageSize: bigint; flags: number; hwptId: number }>) =>
      c.getDirtyBitmapRaw({ hwptId, iova: MOCK_APERTURE_START, length: BigInt(len), pageSize: 2048n, data: self.bitmap, ...f });
    // a domain without dirty ops
    expectRc(EOPNOTSUPP, c.setDirtyTrackingRaw(plain, U.IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    expectRc(EOPNOTSUPP, get({ hwptId: plain }));
    expectRc(EOPNOTSUPP, c.setDirtyTrackingRaw(hwptId, 2));
    expectRc(EOPNOTSUPP, get({ flags: 2 }));
    // iova + (length - 1) in u64: length 0 overflows above IOVA 0 (iommufd_check_iova_range, as both oracle kernels answer)
    expectRc(EOVERFLOW, get({ length: 0n }));
    expectRc(EOVERFLOW, get({ iova: (1n << 64n) - 4096n, length: 8192n }));
    expectRc(EINVAL, get({ iova: MOCK_APERTURE_START + 1024n }));
    expectRc(EINVAL, get({ pageSize: 0n }));
    // page_size is checked as a mask (page_size - 1): 12 KiB passes here, 96 KiB does not
    expectRc(0, get({ pageSize: 3n * 4096n }));
    expectRc(EINVAL, get({ pageSize: 3n * 32768n }));
    // the DIRTY op needs tracking on
    expectErrno(EINVAL, () => c.mockDomainSetDirty(hwptId, MOCK_APERTURE_START, len, 2048, self.bitmap));
    c.setDirtyTracking(hwptId, true);
    expectErrno(EINVAL, () => c.mockDomainSetDirty(hwptId, MOCK_APERTURE_START, len, 2048, 0n));
    // 6.12 has no 16 MiB cap (7.2's EOVERFLOW): a 2^40-bit bitmap is past kvmalloc's INT_MAX bytes (ENOMEM,
    // checked on 6.12.95), a 2^28-bit one is allocated and the copy from the short user bitmap faults
    expectErrno(ENOMEM, () => c.mockDomainSetDirty(hwptId, 0, 2n ** 40n, 1, self.bitmap));
    expectErrno(EFAULT, () => c.mockDomainSetDirty(hwptId, 0, 2n ** 28n, 1, self.bitmap));
    // 6.12 drops the walk's result: tracking off, or a range with holes, still answers 0 and sets nothing
    const marks = new Uint8Array(Math.ceil(self.bitmapSize / 8)).fill(0xff);
    expect(w.proc.writeMemory(self.bitmap, marks)).toBe(0);
    expect(c.mockDomainSetDirty(hwptId, MOCK_APERTURE_START, len, 2048, self.bitmap)).toBe(BigInt(self.bitmapSize));
    c.setDirtyTracking(hwptId, false);
    zero(w, self.bitmap, marks.length);
    expectRc(0, get({}));
    const got = new Uint8Array(marks.length);
    expect(w.proc.readMemory(self.bitmap, got)).toBe(0);
    expect(got.every((b) => b === 0)).toBe(true);
    // enabling clears what was dirty before
    c.setDirtyTracking(hwptId, true);
    expectRc(0, get({ length: BigInt(len) + 65536n }));
    expect(w.proc.readMemory(self.bitmap, got)).toBe(0);
    expect(got.every((b) => b === 0)).toBe(true);
    c.destroy(hwptId);
    c.destroy(plain);
  });
});

describe('dirty tracking (7.2 rules)', () => {
  it('the DIRTY op sets dirty at iova + i * page_size, for any page_size, and counts every bit', () => {
    const self = setup(VARIANTS[2], 'latest');
    const { c, w } = self;
    const len = self.variant.bufferSize;
    c.ioasMap({ ioas: self.ioasId, userVa: self.buffer, length: len, iova: MOCK_APERTURE_START });
    const hwptId = c.hwptAlloc({ devId: self.idevId, ptId: self.ioasId, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
    c.setDirtyTracking(hwptId, true);
    // 4 KiB pages 1 and 5 of 16
    expect(w.proc.writeMemory(self.bitmap, Uint8Array.of(0x22, 0))).toBe(0);
    expect(c.mockDomainSetDirty(hwptId, MOCK_APERTURE_START, len, PAGE_SIZE, self.bitmap)).toBe(2n);
    zero(w, self.bitmap, 2);
    c.getDirtyBitmap({ hwptId, iova: MOCK_APERTURE_START, length: len, pageSize: PAGE_SIZE, data: self.bitmap, flags: 0 });
    const got = new Uint8Array(2);
    expect(w.proc.readMemory(self.bitmap, got)).toBe(0);
    expect([...got]).toEqual([0x22, 0]);
    c.destroy(hwptId);
  });
});
