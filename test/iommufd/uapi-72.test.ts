// SPDX-License-Identifier: GPL-2.0-only
// The 7.2 uAPI on `latest` beside the 6.12 answers (Linux 7.2.13 source: device.c
// iommufd_get_hw_info, hw_pagetable.c iommufd_hwpt_paging_alloc / iommufd_hwpt_invalidate,
// selftest.c mock_dev_create / iommufd_test_dev_check_cache).
import { describe, expect, it } from 'vitest';
import { EINVAL, ENOENT, EOPNOTSUPP } from '../../src/base/errno.js';
import type { ProfileName } from '../../src/base/profile.js';
import type { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { type World, ctxOf, expectRc, world, auditEachWorld } from '../client/harness.js';

const audited = auditEachWorld();

function setup(profile: ProfileName, devFlags = 0): { w: World; c: IommufdClient; ioas: number; stdev: number; idev: number } {
  const w = world({ profile });
  audited.current = w;
  const c = w.c;
  const ioas = c.ioasAlloc();
  const r = c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ioas, { 'mock_domain_flags.dev_flags': devFlags });
  expectRc(0, r.rc);
  return { w, c, ioas, stdev: r.out['mock_domain_flags.out_stdev_id'] as number, idev: r.out['mock_domain_flags.out_idev_id'] as number };
}

function putWords(w: World, va: bigint, ws: number[]): void {
  const b = new Uint8Array(ws.length * 4);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < ws.length; i++) dv.setUint32(i * 4, ws[i] >>> 0, true);
  expect(w.proc.writeMemory(va, b)).toBe(0);
}

describe('7.2 switches on latest', () => {
  it('GET_HW_INFO: INPUT_TYPE taken (DEFAULT or SELFTEST, else EOPNOTSUPP), ATS_NOT_SUPPORTED reported, PASID width 20', () => {
    const { c, idev } = setup('latest', U.MOCK_FLAGS_DEVICE_PASID);
    const F = U.IOMMU_HW_INFO_FLAG_INPUT_TYPE;
    const ok = c.getHwInfoRaw(idev, 0n, 0, { flags: F, in_data_type: U.IOMMU_HW_INFO_TYPE_SELFTEST });
    expectRc(0, ok.rc);
    expect(ok.out.out_data_type).toBe(U.IOMMU_HW_INFO_TYPE_SELFTEST);
    expect(ok.out.out_max_pasid_log2).toBe(20);
    expect(ok.out.out_capabilities).toBe(BigInt(U.IOMMU_HW_CAP_DIRTY_TRACKING | U.IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED));
    expectRc(0, c.getHwInfoRaw(idev, 0n, 0, { flags: F, in_data_type: U.IOMMU_HW_INFO_TYPE_DEFAULT }).rc);
    expectRc(EOPNOTSUPP, c.getHwInfoRaw(idev, 0n, 0, { flags: F, in_data_type: U.IOMMU_HW_INFO_TYPE_SELFTEST + 1 }).rc);
    // without the flag the input type is ignored
    expectRc(0, c.getHwInfoRaw(idev, 0n, 0, { in_data_type: 7 }).rc);
    expectRc(EOPNOTSUPP, c.getHwInfoRaw(idev, 0n, 0, { flags: 2 }).rc);
    // the device lookup comes after the flag checks
    expectRc(ENOENT, c.getHwInfoRaw(999, 0n, 0, { flags: F, in_data_type: 7 }).rc);
  });

  it('HWPT_ALLOC: ALLOC_PASID on paging and nested HWPTs, FAULT_ID_VALID on a paging HWPT', () => {
    const { c, ioas, idev } = setup('latest', U.MOCK_FLAGS_DEVICE_PASID);
    const paging = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_PASID | U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const nested = c.hwptAllocNested(idev, paging, U.IOMMU_TEST_IOTLB_DEFAULT, U.IOMMU_HWPT_ALLOC_PASID);
    const objects = ctxOf(audited.current!).objects;
    for (const id of [paging, nested]) {
      const o = objects.get(id);
      expect(o).toMatchObject({ pasidCompat: true });
      if (typeof o !== 'number') objects.put(o);
    }
    const { faultId, faultFd } = c.faultQueueAlloc();
    // a fault queue on a paging HWPT; with NEST_PARENT it is still refused
    expectRc(EOPNOTSUPP, c.hwptAllocRaw({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_FAULT_ID_VALID | U.IOMMU_HWPT_ALLOC_NEST_PARENT, faultId }).rc);
    expectRc(ENOENT, c.hwptAllocRaw({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_FAULT_ID_VALID, faultId: 999 }).rc);
    const iopf = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_FAULT_ID_VALID, faultId });
    c.destroy(iopf);
    c.destroy(nested);
    c.destroy(paging);
    // the queue's fd holds the fault object until it is closed
    expect(audited.current!.proc.close(faultFd)).toBe(0);
    c.destroy(faultId);
  });

  for (const profile of ['latest', 'v6.12'] as const) {
    it(`HWPT_INVALIDATE on ${profile}: entry_num above 2^19 is EINVAL on 7.2 before the HWPT is looked at; 6.12.95 runs the entries`, () => {
      const { w, c, ioas, idev } = setup(profile);
      const parent = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
      const nested = c.hwptAllocNested(idev, parent, U.IOMMU_TEST_IOTLB_DEFAULT);
      const page = w.proc.mmap(0n, 8192n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      putWords(w, page + 8n, [0xffffffff, 0]);
      const r = c.hwptInvalidateRaw(nested, page, U.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, 2 ** 19 + 1);
      expectRc(profile === 'latest' ? EINVAL : EOPNOTSUPP, r.rc);
      expect(r.entryNum).toBe(profile === 'latest' ? 0 : 1);
      c.destroy(nested);
      c.destroy(parent);
    });
  }

  it('DEV_CHECK_CACHE: four entries at IOMMU_TEST_DEV_CACHE_DEFAULT; a wrong value or id is EINVAL, a non-device ENOENT', () => {
    const { c, ioas, stdev, idev } = setup('latest');
    const check = (id: number, cacheId: number, cache: number) =>
      c.testCmd(U.IOMMU_TEST_OP_DEV_CHECK_CACHE, id, { 'check_dev_cache.id': cacheId, 'check_dev_cache.cache': cache }).rc;
    for (let k = 0; k <= U.MOCK_DEV_CACHE_ID_MAX; k++) expectRc(0, check(idev, k, U.IOMMU_TEST_DEV_CACHE_DEFAULT));
    c.checkDevCacheAll(idev, U.IOMMU_TEST_DEV_CACHE_DEFAULT);
    expectRc(EINVAL, c.checkDevCacheRc(idev, 3, 0));
    expectRc(EINVAL, check(idev, 0, 0));
    expectRc(EINVAL, check(idev, U.MOCK_DEV_CACHE_NUM, U.IOMMU_TEST_DEV_CACHE_DEFAULT));
    // the lookup comes first: an IOAS or the selftest object is not a device, whatever the arguments
    expectRc(ENOENT, check(ioas, 9, 0));
    expectRc(ENOENT, check(stdev, 0, U.IOMMU_TEST_DEV_CACHE_DEFAULT));
    expectRc(ENOENT, check(0, 0, U.IOMMU_TEST_DEV_CACHE_DEFAULT));
  });

  for (const profile of ['latest', 'v6.12'] as const) {
    it(`nested HWPT data: struct iommu_hwpt_selftest is ${profile === 'latest' ? '8 bytes (iotlb, pagetable_type)' : '4 bytes'} on ${profile}`, () => {
      const { w, c, ioas, idev } = setup(profile);
      const parent = c.hwptAlloc({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
      const page = w.proc.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      putWords(w, page, [U.IOMMU_TEST_IOTLB_DEFAULT, 0, 0]);
      const alloc = (dataLen: number) =>
        c.hwptAllocRaw({ devId: idev, ptId: parent, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen, dataUptr: page });
      const r8 = alloc(8);
      expectRc(profile === 'latest' ? 0 : EINVAL, r8.rc);
      expectRc(EINVAL, alloc(12).rc);
      expectRc(EINVAL, alloc(3).rc);
      if (r8.rc === 0) {
        expectRc(0, c.checkIotlbRc(r8.hwptId, 3, U.IOMMU_TEST_IOTLB_DEFAULT));
        c.destroy(r8.hwptId);
      }
      c.destroy(parent);
    });
  }

  for (const profile of ['latest', 'v6.12'] as const) {
    it(`paging HWPT data (struct iommu_hwpt_selftest pagetable_type) on ${profile}`, () => {
      const { w, c, ioas, idev } = setup(profile);
      const page = w.proc.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      const alloc = (ptType: number, flags = 0) => {
        putWords(w, page, [0, ptType]);
        return c.hwptAllocRaw({ devId: idev, ptId: ioas, flags, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 8, dataUptr: page });
      };
      if (profile === 'v6.12') {
        expectRc(EOPNOTSUPP, alloc(0).rc);
        return;
      }
      const def = alloc(0, U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
      expectRc(0, def.rc);
      const huge = alloc(1);
      expectRc(0, huge.rc);
      const pgsizes = (id: number) => {
        const o = ctxOf(w).objects.get(id);
        const d = typeof o === 'number' ? undefined : (o as unknown as { domain: { pgsizeBitmap: number } }).domain;
        if (typeof o !== 'number') ctxOf(w).objects.put(o);
        return d?.pgsizeBitmap;
      };
      // mock_domain_alloc_pgtable(): the AMDv1 table's 2 KiB .. 64 GiB; MOCK_IOMMUPT_HUGE: 1 MiB | PAGE_SIZE
      expect(pgsizes(def.hwptId)).toBe(0x1ffffff800);
      expect(pgsizes(huge.hwptId)).toBe((1 << 20) | 4096);
      expectRc(EOPNOTSUPP, alloc(2).rc);
      c.destroy(def.hwptId);
      c.destroy(huge.hwptId);
    });
  }

  it('6.12 refuses every 7.2 addition', () => {
    const w = world({ profile: 'v6.12' });
    audited.current = w;
    const c = w.c;
    const ioas = c.ioasAlloc();
    expectRc(EINVAL, c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ioas, { 'mock_domain_flags.dev_flags': U.MOCK_FLAGS_DEVICE_PASID }).rc);
    const idev = c.mockDomain(ioas).idevId;
    expectRc(EOPNOTSUPP, c.getHwInfoRaw(idev, 0n, 0, { flags: U.IOMMU_HW_INFO_FLAG_INPUT_TYPE }).rc);
    expectRc(EOPNOTSUPP, c.hwptAllocRaw({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_PASID }).rc);
    expectRc(EOPNOTSUPP, c.hwptAllocRaw({ devId: idev, ptId: ioas, flags: U.IOMMU_HWPT_FAULT_ID_VALID }).rc);
    expectRc(EOPNOTSUPP, c.testCmd(U.IOMMU_TEST_OP_DEV_CHECK_CACHE, idev, { 'check_dev_cache.id': 0, 'check_dev_cache.cache': U.IOMMU_TEST_DEV_CACHE_DEFAULT }).rc);
  });
});
