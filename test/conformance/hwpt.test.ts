// SPDX-License-Identifier: GPL-2.0-only
// The 6.12 HWPT scenarios of tools/testing/selftests/iommu/iommufd.c (selftests-catalogue.md §7, §8):
// iommufd_ioas.{alloc_hwpt_nested, get_hw_info} under the four iommufd_ioas variants and
// iommufd_mock_domain.alloc_hwpt under the four mmap variants, with the 6.12 fixture set-ups
// (the oracle's compat patch: no PASID-capable mock device). Each runs under `v6.12` and `latest`.
import { afterEach, describe, expect, it } from 'vitest';
import { EBUSY, EFAULT, EINVAL, ENOENT, ENOTTY, EOPNOTSUPP } from '../../src/base/errno.js';
import type { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/machine/index.js';
import { MOCK_APERTURE_START, type World, ctxOf, expectErrno, expectRc, finish, teardownIommufd, world } from '../client/harness.js';

type Profile = 'latest' | 'v6.12';
const PROFILES: readonly Profile[] = ['v6.12', 'latest'];

let current: World | undefined;

afterEach(() => {
  const w = current;
  current = undefined;
  if (!w) return;
  if (!w.proc.exited) {
    expect(ctxOf(w).audit({ exactPins: true })).toBe(0);
    expect(w.machine.audit()).toBe(0);
    w.c.setDefaultMemoryLimit();
  }
  teardownIommufd(w);
  finish(w);
});

/** A page of scratch user memory for the data the commands point at. */
function userPage(w: World): bigint {
  const va = w.proc.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(va > 0n).toBe(true);
  return va;
}

function put32(w: World, va: bigint, words: number[]): void {
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < words.length; i++) dv.setUint32(i * 4, words[i] >>> 0, true);
  expect(w.proc.writeMemory(va, b)).toBe(0);
}

function get32(w: World, va: bigint, n: number): number[] {
  const b = new Uint8Array(n * 4);
  expect(w.proc.readMemory(va, b)).toBe(0);
  const dv = new DataView(b.buffer);
  return Array.from({ length: n }, (_, i) => dv.getUint32(i * 4, true));
}

/** test_cmd_mock_domain_replace / test_err_mock_domain_replace */
function replaceRc(c: IommufdClient, stdevId: number, ptId: number): number {
  return c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdevId, { 'mock_domain_replace.pt_id': ptId }).rc;
}

/** _test_cmd_hwpt_alloc with user data at `data` (0 for NULL). */
function hwptAllocRc(c: IommufdClient, devId: number, ptId: number, flags: number, dataType = U.IOMMU_HWPT_DATA_NONE, data: bigint = 0n, dataLen = 0, faultId = 0) {
  return c.hwptAllocRaw({ devId, ptId, flags, dataType, dataUptr: data, dataLen, faultId });
}

interface IoasVariant {
  readonly name: string;
  readonly mockDomains: number;
  readonly memoryLimit: number;
}

const IOAS_VARIANTS: readonly IoasVariant[] = [
  { name: 'no_domain', mockDomains: 0, memoryLimit: 0 },
  // 6.12 fixture: the mock kernel driver has no PASID-capable devices (MOCK_FLAGS_DEVICE_PASID is 7.x).
  { name: 'mock_domain', mockDomains: 1, memoryLimit: 0 },
  { name: 'two_mock_domain', mockDomains: 2, memoryLimit: 0 },
  { name: 'mock_domain_limit', mockDomains: 1, memoryLimit: 16 },
];

interface IoasSelf {
  readonly w: World;
  readonly c: IommufdClient;
  readonly ioasId: number;
  stdevId: number;
  hwptId: number;
  deviceId: number;
}

/** FIXTURE_SETUP(iommufd_ioas) */
function ioasSetup(v: IoasVariant, profile: Profile): IoasSelf {
  const w = world({ profile });
  current = w;
  const c = w.c;
  const self: IoasSelf = { w, c, ioasId: c.ioasAlloc(), stdevId: 0, hwptId: 0, deviceId: 0 };
  if (!v.memoryLimit) c.setDefaultMemoryLimit();
  else c.setTempMemoryLimit(v.memoryLimit);
  for (let i = 0; i < v.mockDomains; i++) {
    const ids = c.mockDomain(self.ioasId);
    self.stdevId = ids.stdevId;
    self.hwptId = ids.hwptId;
    self.deviceId = ids.idevId;
  }
  return self;
}

const SELFTEST = U.IOMMU_HWPT_DATA_SELFTEST;
const INV = U.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;

/** TEST_F(iommufd_ioas, alloc_hwpt_nested) */
function allocHwptNested(self: IoasSelf): void {
  const { w, c } = self;
  const page = userPage(w);
  const data = page; // struct iommu_hwpt_selftest { .iotlb = IOMMU_TEST_IOTLB_DEFAULT }
  put32(w, data, [U.IOMMU_TEST_IOTLB_DEFAULT]);
  const inv = page + 64n; // struct iommu_hwpt_invalidate_selftest inv_reqs[2]
  const setInv = (reqs: Array<[number, number]>) => put32(w, inv, reqs.flat());
  const invalidate = (hwpt: number, reqs: bigint, type: number, len: number, num: number) => c.hwptInvalidateRaw(hwpt, reqs, type, len, num);
  const checkIotlb = (hwpt: number, id: number, want: number) => expectRc(0, c.checkIotlbRc(hwpt, id, want));
  const checkAll = (hwpt: number, want: number) => {
    for (let i = 0; i <= U.MOCK_NESTED_DOMAIN_IOTLB_ID_MAX; i++) checkIotlb(hwpt, i, want);
  };
  const nested: number[] = [0, 0];
  if (self.deviceId) {
    const dev = self.deviceId;
    expectRc(ENOENT, hwptAllocRc(c, self.ioasId, dev, 0).rc);
    expectRc(EINVAL, hwptAllocRc(c, dev, dev, 0).rc);
    expectRc(EOPNOTSUPP, hwptAllocRc(c, dev, self.ioasId, U.IOMMU_HWPT_ALLOC_NEST_PARENT | U.IOMMU_HWPT_FAULT_ID_VALID).rc);
    const parent = c.hwptAlloc({ devId: dev, ptId: self.ioasId, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const parentNotWork = c.hwptAlloc({ devId: dev, ptId: self.ioasId });

    // negative nested tests
    expectRc(EINVAL, hwptAllocRc(c, dev, parent, 0, U.IOMMU_HWPT_DATA_NONE, data, 4).rc);
    expectRc(EOPNOTSUPP, hwptAllocRc(c, dev, parent, 0, SELFTEST + 1, data, 4).rc);
    expectRc(EINVAL, hwptAllocRc(c, dev, parent, 0, SELFTEST, data, 3).rc);
    expectRc(EFAULT, hwptAllocRc(c, dev, parent, 0, SELFTEST, 0n, 4).rc);
    expectRc(EOPNOTSUPP, hwptAllocRc(c, dev, parent, U.IOMMU_HWPT_ALLOC_NEST_PARENT, SELFTEST, data, 4).rc);
    expectRc(EINVAL, hwptAllocRc(c, dev, parentNotWork, 0, SELFTEST, data, 4).rc);

    // two nested HWPTs sharing one parent, and one reporting faults
    const { faultId, faultFd } = c.faultQueueAlloc();
    expect(faultId).not.toBe(0);
    expect(faultFd).not.toBe(0);
    nested[0] = c.hwptAllocNested(dev, parent, U.IOMMU_TEST_IOTLB_DEFAULT);
    nested[1] = c.hwptAllocNested(dev, parent, U.IOMMU_TEST_IOTLB_DEFAULT);
    expectRc(ENOENT, hwptAllocRc(c, dev, parent, U.IOMMU_HWPT_FAULT_ID_VALID, SELFTEST, data, 4, 0xffffffff).rc);
    const iopfHwpt = c.hwptAllocNested(dev, parent, U.IOMMU_TEST_IOTLB_DEFAULT, U.IOMMU_HWPT_FAULT_ID_VALID, faultId);
    checkAll(nested[0], U.IOMMU_TEST_IOTLB_DEFAULT);
    checkAll(nested[1], U.IOMMU_TEST_IOTLB_DEFAULT);

    // a nested HWPT on a nested HWPT; the parent cannot be freed now
    expectRc(EINVAL, hwptAllocRc(c, dev, nested[0], 0, SELFTEST, data, 4).rc);
    expectErrno(EBUSY, () => c.destroy(parent));

    // invalidation takes only nested HWPTs (and on 7.2 vIOMMUs): 6.12 looks up a nested HWPT
    // (ENOENT), 7.2 any object and refuses the wrong type (EINVAL)
    let r = invalidate(parent, inv, INV, 8, 1);
    expectRc(self.w.machine.profile.invalidateTakesViommu ? EINVAL : ENOENT, r.rc);
    expect(r.entryNum).toBe(0);
    // a zero-length array probes the data type
    r = invalidate(nested[0], inv, INV, 8, 0);
    expectRc(0, r.rc);
    expect(r.entryNum).toBe(0);
    r = invalidate(nested[0], inv, U.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID, 8, 1);
    expectRc(EINVAL, r.rc);
    expect(r.entryNum).toBe(0);
    setInv([
      [0, 0],
      [0, 0],
    ]);
    for (const len of [9, 1]) {
      r = invalidate(nested[0], inv, INV, len, 1);
      expectRc(EINVAL, r.rc);
      expect(r.entryNum).toBe(0);
    }
    setInv([[0xffffffff, 0]]);
    r = invalidate(nested[0], inv, INV, 8, 1);
    expectRc(EOPNOTSUPP, r.rc);
    expect(r.entryNum).toBe(0);
    setInv([[0, 0]]);
    r = invalidate(nested[0], 0n, INV, 8, 1);
    expectRc(EINVAL, r.rc);
    expect(r.entryNum).toBe(0);
    r = invalidate(nested[0], inv, INV, 0, 1);
    expectRc(EINVAL, r.rc);
    expect(r.entryNum).toBe(0);
    setInv([[0, U.MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1]]);
    r = invalidate(nested[0], inv, INV, 8, 1);
    expectRc(EINVAL, r.rc);
    expect(r.entryNum).toBe(0);

    // the first entry is done, the second refused: entry_num says 1
    setInv([
      [0, 0],
      [0xffffffff, 1],
    ]);
    r = invalidate(nested[0], inv, INV, 8, 2);
    expectRc(EOPNOTSUPP, r.rc);
    expect(r.entryNum).toBe(1);
    checkIotlb(nested[0], 0, 0);
    for (const i of [1, 2, 3]) checkIotlb(nested[0], i, U.IOMMU_TEST_IOTLB_DEFAULT);
    setInv([
      [0, 0],
      [0, U.MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1],
    ]);
    r = invalidate(nested[0], inv, INV, 8, 2);
    expectRc(EINVAL, r.rc);
    expect(r.entryNum).toBe(1);
    checkIotlb(nested[0], 0, 0);
    for (const i of [1, 2, 3]) checkIotlb(nested[0], i, U.IOMMU_TEST_IOTLB_DEFAULT);

    setInv([[0, 1]]);
    r = invalidate(nested[0], inv, INV, 8, 1);
    expectRc(0, r.rc);
    expect(r.entryNum).toBe(1);
    checkIotlb(nested[0], 0, 0);
    checkIotlb(nested[0], 1, 0);
    for (const i of [2, 3]) checkIotlb(nested[0], i, U.IOMMU_TEST_IOTLB_DEFAULT);
    setInv([
      [0, 2],
      [0, 3],
    ]);
    r = invalidate(nested[0], inv, INV, 8, 2);
    expectRc(0, r.rc);
    expect(r.entryNum).toBe(2);
    checkAll(nested[0], 0);
    setInv([[U.IOMMU_TEST_INVALIDATE_FLAG_ALL, 0]]);
    r = invalidate(nested[1], inv, INV, 8, 1);
    expectRc(0, r.rc);
    expect(r.entryNum).toBe(1);
    checkAll(nested[1], 0);

    // attach the device to the nested HWPTs in turn
    expectRc(0, replaceRc(c, self.stdevId, nested[0]));
    expectErrno(EBUSY, () => c.destroy(nested[0]));
    expectRc(0, replaceRc(c, self.stdevId, nested[1]));
    expectErrno(EBUSY, () => c.destroy(nested[1]));
    c.destroy(nested[0]);
    expectRc(0, replaceRc(c, self.stdevId, iopfHwpt));
    expectErrno(EBUSY, () => c.destroy(iopfHwpt));
    triggerIopf(self, faultFd);

    expectRc(0, replaceRc(c, self.stdevId, parent));
    c.destroy(nested[1]);
    c.destroy(iopfHwpt);
    expectRc(0, replaceRc(c, self.stdevId, self.ioasId));
    c.destroy(parent);
    c.destroy(parentNotWork);
    expect(w.proc.close(faultFd)).toBe(0);
    c.destroy(faultId);
  } else {
    expectRc(ENOENT, hwptAllocRc(c, self.deviceId, self.ioasId, 0).rc);
    expectRc(ENOENT, hwptAllocRc(c, self.deviceId, 0, 0, SELFTEST, data, 4).rc);
    expectRc(ENOENT, hwptAllocRc(c, self.deviceId, 0, 0, SELFTEST, data, 4).rc);
    expectRc(ENOENT, replaceRc(c, self.stdevId, nested[0]));
    expectRc(ENOENT, replaceRc(c, self.stdevId, nested[1]));
  }
}

/** _test_cmd_trigger_iopf(): trigger, read one fault record, answer it by its cookie. */
function triggerIopf(self: IoasSelf, faultFd: number): void {
  const { w, c } = self;
  const perm = 3; // IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE
  expectRc(0, c.triggerIopfRc(self.deviceId, { pasid: 1, grpid: 2, perm, addr: 0xdeadbeafn }));
  const buf = userPage(w);
  expect(w.proc.poll(faultFd, 0x1)).toBe(0x1);
  const n = w.proc.read(faultFd, buf, 40);
  expect(n).toBe(40);
  const rec = get32(w, buf, 10);
  // flags PASID_VALID | LAST_PAGE, dev_id, pasid, grpid, perm, addr, length 0, cookie 1
  expect(rec.slice(0, 5)).toEqual([3, self.deviceId, 1, 2, perm]);
  expect(rec[6] + rec[7] * 2 ** 32).toBe(0xdeadbeaf);
  expect(rec[8]).toBe(0);
  expect(rec[9]).toBe(1);
  expect(w.proc.poll(faultFd, 0x1)).toBe(0);
  put32(w, buf + 64n, [rec[9], 0]);
  expect(w.proc.write(faultFd, buf + 64n, 8)).toBe(8);
  // the cookie is used up
  expect(w.proc.write(faultFd, buf + 64n, 8)).toBe(-EINVAL);
}

/** struct iommu_test_hw_info as _test_cmd_get_hw_info checks it. */
function getHwInfoChecked(self: IoasSelf, devId: number, dataType: number, data: bigint, dataLen: number): number {
  const { w, c } = self;
  const fields = dataType !== U.IOMMU_HW_INFO_TYPE_DEFAULT ? { flags: U.IOMMU_HW_INFO_FLAG_INPUT_TYPE, in_data_type: dataType } : {};
  const r = c.getHwInfoRaw(devId, data, dataLen, fields);
  if (r.rc) return r.rc;
  expect(r.out.out_data_type).toBe(U.IOMMU_HW_INFO_TYPE_SELFTEST);
  expect(r.out.data_len).toBe(8);
  if (data) {
    const got = new Uint8Array(dataLen);
    expect(w.proc.readMemory(data, got)).toBe(0);
    const dv = new DataView(got.buffer);
    for (let i = 8; i < dataLen; i++) expect(got[i]).toBe(0);
    if (dataLen >= 8) expect(dv.getUint32(4, true)).toBe(U.IOMMU_HW_INFO_SELFTEST_REGVAL);
    if (dataLen >= 4) expect(dv.getUint32(0, true)).toBe(0);
  }
  return 0;
}

/** TEST_F(iommufd_ioas, get_hw_info): the 6.12 form, plus the in_data_type checks of later kernels on `latest`. */
function getHwInfo(self: IoasSelf, profile: Profile): void {
  const { w, c } = self;
  const page = userPage(w);
  const fill = () => expect(w.proc.writeMemory(page, new Uint8Array(16).fill(0xa5))).toBe(0);
  const D = U.IOMMU_HW_INFO_TYPE_DEFAULT;
  if (self.deviceId) {
    expectRc(0, getHwInfoChecked(self, self.deviceId, D, 0n, 0));
    fill();
    expectRc(0, getHwInfoChecked(self, self.deviceId, D, page, 8));
    if (profile === 'latest') {
      expectRc(EOPNOTSUPP, getHwInfoChecked(self, self.deviceId, U.IOMMU_HW_INFO_TYPE_SELFTEST + 1, page, 8));
      expectRc(0, getHwInfoChecked(self, self.deviceId, U.IOMMU_HW_INFO_TYPE_SELFTEST, page, 8));
    }
    fill();
    expectRc(0, getHwInfoChecked(self, self.deviceId, D, page, 16));
    fill();
    expectRc(0, getHwInfoChecked(self, self.deviceId, D, page, 4));
    // only the first 4 bytes were written
    expect(get32(w, page, 2)[1]).toBe(0xa5a5a5a5);
    const info = c.getHwInfo(self.deviceId);
    expect(info.maxPasidLog2).toBe(0);
    // 7.2 also reports that the mock device cannot use ATS (it never claims IOMMU_CAP_PCI_ATS_SUPPORTED)
    const ats = profile === 'latest' ? U.IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED : 0;
    expect(info.capabilities).toBe(BigInt(U.IOMMU_HW_CAP_DIRTY_TRACKING | ats));
    // 6.12 has no IOMMU_HW_INFO_FLAG_INPUT_TYPE: any flag is EOPNOTSUPP there
    const typed = c.getHwInfoRaw(self.deviceId, 0n, 0, { flags: U.IOMMU_HW_INFO_FLAG_INPUT_TYPE, in_data_type: U.IOMMU_HW_INFO_TYPE_SELFTEST });
    expectRc(profile === 'latest' ? 0 : EOPNOTSUPP, typed.rc);
    // both refuse reserved bytes and unknown flags
    expectRc(EOPNOTSUPP, c.getHwInfoRaw(self.deviceId, 0n, 0, { '__reserved[1]': 1 }).rc);
    expectRc(EOPNOTSUPP, c.getHwInfoRaw(self.deviceId, 0n, 0, { flags: 2 }).rc);
    // a user buffer that cannot be written
    expectRc(EFAULT, c.getHwInfoRaw(self.deviceId, 8n, 8).rc);
  } else {
    expectRc(ENOENT, getHwInfoChecked(self, self.deviceId, D, page, 8));
    expectRc(ENOENT, getHwInfoChecked(self, self.deviceId, D, page, 16));
  }
}

for (const profile of PROFILES) {
  describe(`profile ${profile}`, () => {
    for (const v of IOAS_VARIANTS) {
      const name = (s: string) => `iommufd_ioas.${v.name}.${s}`;
      it(name('alloc_hwpt_nested'), () => allocHwptNested(ioasSetup(v, profile)));
      it(name('get_hw_info'), () => getHwInfo(ioasSetup(v, profile), profile));
    }

    for (const v of [
      { name: 'one_domain', n: 1, huge: false },
      { name: 'two_domains', n: 2, huge: false },
      { name: 'one_domain_hugepage', n: 1, huge: true },
      { name: 'two_domains_hugepage', n: 2, huge: true },
    ]) {
      // TEST_F(iommufd_mock_domain, alloc_hwpt); the buffers of the fixture are not used by it
      it(`iommufd_mock_domain.${v.name}.alloc_hwpt`, () => {
        const w = world({ profile });
        current = w;
        const c = w.c;
        const ioasId = c.ioasAlloc();
        const ids = Array.from({ length: v.n }, () => c.mockDomain(ioasId));
        for (const { stdevId, idevId } of ids) {
          expectRc(EOPNOTSUPP, hwptAllocRc(c, idevId, ioasId, ~U.IOMMU_HWPT_ALLOC_NEST_PARENT).rc);
          const h0 = c.hwptAlloc({ devId: idevId, ptId: ioasId });
          const h1 = c.hwptAlloc({ devId: idevId, ptId: ioasId, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
          expectRc(0, replaceRc(c, stdevId, h0));
          expectErrno(EBUSY, () => c.destroy(h0));
          expectRc(0, replaceRc(c, stdevId, h1));
          expectErrno(EBUSY, () => c.destroy(h1));
          expectRc(0, replaceRc(c, stdevId, ioasId));
          c.destroy(h1);
          const s = c.mockDomain(h0);
          expect(s.hwptId).toBe(h0);
          c.destroy(s.stdevId);
          // a manual HWPT is not freed by its last device leaving
          expect(ctxOf(w).objects.slotState(h0)).toBe('live');
          c.destroy(h0);
        }
        expect(MOCK_APERTURE_START).toBe(1n << 24n);
      });
    }
  });
}

describe('uAPI per profile', () => {
  const cases: Array<[string, number, number]> = [
    // profile, IOMMU_HWPT_ALLOC errno, IOMMU_TEST_OP_MD_CHECK_IOTLB errno (with an unknown HWPT)
    ['v6.2', ENOTTY, EOPNOTSUPP],
    ['v6.5', ENOTTY, EOPNOTSUPP],
    ['v6.12', ENOENT, ENOENT],
    ['latest', ENOENT, ENOENT],
  ];
  for (const [profile, hwptErr, opErr] of cases) {
    it(`${profile}: commands up to lastIommufdCmd, test ops up to lastTestOp`, () => {
      const w = world({ profile: profile as 'latest' });
      current = w;
      const c = w.c;
      expectRc(hwptErr, hwptAllocRc(c, 99, 99, 0).rc);
      expectRc(hwptErr === ENOTTY ? ENOTTY : EOPNOTSUPP, c.faultQueueAllocRaw(1).rc);
      // past 6.12: ENOTTY; 7.2 has it (flags 0, type DEFAULT: EOPNOTSUPP)
      expectRc(profile === 'latest' ? EOPNOTSUPP : ENOTTY, c.raw(U.IOMMU_VIOMMU_ALLOC, U.iommu_viommu_alloc, {}).rc);
      expectRc(opErr, c.testCmd(U.IOMMU_TEST_OP_MD_CHECK_IOTLB, 99).rc);
      // DEV_CHECK_CACHE (16) is past 6.12's last op; 7.2 looks the device up (ENOENT)
      expectRc(profile === 'latest' ? ENOENT : EOPNOTSUPP, c.testCmd(U.IOMMU_TEST_OP_DEV_CHECK_CACHE, 99).rc);
    });
  }
});
