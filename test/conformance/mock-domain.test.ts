// SPDX-License-Identifier: GPL-2.0-only
/**
 * Fixture `iommufd_mock_domain` (selftests-catalogue.md §8): an IOAS with one
 * or two mock devices (sharing one auto HWPT), and test buffers of 8 pages
 * (MAP_SHARED|MAP_ANONYMOUS) or of two huge pages (MAP_HUGETLB|MAP_POPULATE).
 *
 * Every scenario of the model's feature set runs under the `latest` profile;
 * those inside v6.5 scope run under `v6.5` too (user_copy with its v6.5
 * ending). Each ends with teardown_iommufd's ref check, then exit() must leave
 * nothing pinned, locked or charged.
 */
import { describe, expect, it } from 'vitest';
import { EBUSY, EFAULT, EINVAL, ENOENT, EOPNOTSUPP } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { O_RDONLY } from '../../src/machine/index.js';
import { MAP_ANONYMOUS, MAP_HUGETLB, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import {
  BUFFER_SIZE,
  HUGEPAGE_SIZE,
  MOCK_APERTURE_START,
  MOCK_PAGE_SIZE,
  PS,
  type ProfileName,
  type Sim,
  accessReplaceIoas,
  auditFd,
  checkMapRc,
  expectNothingLeft,
  mockDomainReplace,
  newSim,
  teardownIommufd,
} from './mock-fixture.js';
import { mapFile, memfdMmap } from '../iommufd/map-file-sim.js';

interface Variant {
  readonly name: string;
  readonly mockDomains: number;
  readonly hugepages: boolean;
  /** The buffers are memfds mapped with IOMMU_IOAS_MAP_FILE (6.13+: `latest` only). */
  readonly file: boolean;
}

const VARIANTS: readonly Variant[] = [
  { name: 'one_domain', mockDomains: 1, hugepages: false, file: false },
  { name: 'two_domains', mockDomains: 2, hugepages: false, file: false },
  { name: 'one_domain_hugepage', mockDomains: 1, hugepages: true, file: false },
  { name: 'two_domains_hugepage', mockDomains: 2, hugepages: true, file: false },
  { name: 'one_domain_file', mockDomains: 1, hugepages: false, file: true },
  { name: 'one_domain_file_hugepage', mockDomains: 1, hugepages: true, file: true },
];

interface Self {
  readonly sim: Sim;
  readonly c: IommufdClient;
  readonly ioasId: number;
  readonly hwptIds: number[];
  readonly stdevIds: number[];
  readonly idevIds: number[];
  hwptId: number;
  readonly mmapFlags: number;
  readonly mmapBufSize: number;
  readonly profile: ProfileName;
  /** The selftests' global `mfd` and `mfd_buffer` (memfd_mmap(BUFFER_SIZE, ..., MAP_SHARED)). */
  readonly mfd: number;
  readonly mfdBuffer: bigint;
}

function setup(v: Variant, profile: ProfileName): Self {
  const sim = newSim({ profile });
  const mfd = v.file ? memfdMmap(sim.proc, BUFFER_SIZE) : { fd: -1, va: 0n };
  const c = IommufdClient.open(sim.proc);
  const ioasId = c.ioasAlloc();
  const hwptIds = [0, 0];
  const stdevIds = [0, 0];
  const idevIds = [0, 0];
  for (let i = 0; i < v.mockDomains; i++) {
    const ids = c.mockDomain(ioasId);
    stdevIds[i] = ids.stdevId;
    hwptIds[i] = ids.hwptId;
    idevIds[i] = ids.idevId;
  }
  let mmapFlags = MAP_SHARED | MAP_ANONYMOUS;
  let mmapBufSize = PS * 8;
  if (v.hugepages) {
    mmapFlags |= MAP_HUGETLB | MAP_POPULATE;
    mmapBufSize = HUGEPAGE_SIZE * 2;
  }
  return { sim, c, ioasId, hwptIds, stdevIds, idevIds, hwptId: hwptIds[0], mmapFlags, mmapBufSize, profile, mfd: mfd.fd, mfdBuffer: mfd.va };
}

function teardown(self: Self): void {
  teardownIommufd(self.sim, self.c);
  expectNothingLeft(self.sim);
}

/** check_mock_iova(): MD_CHECK_MAP on hwpt_id, and on hwpt_ids[1] when set. */
function checkMockIova(self: Self, ptr: bigint, iova: bigint, length: number | bigint): void {
  expect(checkMapRc(self.c, self.hwptId, iova, length, ptr)).toBe(0);
  if (self.hwptIds[1]) expect(checkMapRc(self.c, self.hwptIds[1], iova, length, ptr)).toBe(0);
}

function mmapBuf(self: Self): bigint {
  const buf = self.sim.proc.mmap(0n, BigInt(self.mmapBufSize), PROT_READ | PROT_WRITE, self.mmapFlags);
  expect(buf > 0n).toBe(true);
  return buf;
}

/** IOAS_COPY flags of the profile's selftest: FIXED_IOVA, plus WRITEABLE once maps need a direction. */
function copyFlags(self: Self): number {
  const f = U.IOMMU_IOAS_MAP_FIXED_IOVA;
  return self.sim.proc.machine.profile.mapNeedsReadOrWrite ? f | U.IOMMU_IOAS_MAP_WRITEABLE : f;
}

type Scenario = (self: Self, v: Variant) => void;

/** _test_ioctl_ioas_map_file() with READABLE | WRITEABLE: rc and the IOVA written back. */
function mapFileRc(self: Self, mfd: number, start: number, length: number, ioas = self.ioasId): { rc: number; iova: bigint } {
  return mapFile(self.c, { ioas, fd: mfd, start, length });
}

/** test_ioctl_ioas_map_file() */
function mapFileOk(self: Self, mfd: number, start: number, length: number, ioas = self.ioasId): bigint {
  const r = mapFileRc(self, mfd, start, length, ioas);
  expect(r.rc).toBe(0);
  return r.iova;
}

/** test_basic_file() */
function basicFile(self: Self): void {
  const { sim } = self;
  const bufSize = self.mmapBufSize;
  // Simple one page map
  const iova = mapFileOk(self, self.mfd, 0, PS);
  checkMockIova(self, self.mfdBuffer, iova, PS);
  const tmp = memfdMmap(sim.proc, bufSize);
  expect(mapFileRc(self, tmp.fd, 0, bufSize + 1).rc).toBe(-EINVAL);
  expect(sim.proc.ftruncate(tmp.fd, 0)).toBe(0);
  expect(mapFileRc(self, tmp.fd, 0, bufSize).rc).toBe(-EINVAL);
  expect(sim.proc.close(tmp.fd)).toBe(0);
}

const basic: Scenario = (self, v) => {
  if (v.file) return basicFile(self);
  const { c, sim } = self;
  const iova = c.ioasMap({ ioas: self.ioasId, userVa: sim.buffer, length: PS });
  checkMockIova(self, sim.buffer, iova, PS);

  const bufSize = BigInt(self.mmapBufSize);
  const buf = mmapBuf(self);
  // EFAULT half way through mapping
  expect(sim.proc.munmap(buf + bufSize / 2n, bufSize / 2n)).toBe(0);
  expect(c.ioasMapRaw({ ioas: self.ioasId, userVa: buf, length: bufSize }).rc).toBe(-EFAULT);
  // EFAULT on the first page
  expect(sim.proc.munmap(buf, bufSize / 2n)).toBe(0);
  expect(c.ioasMapRaw({ ioas: self.ioasId, userVa: buf, length: bufSize }).rc).toBe(-EFAULT);
  expect(auditFd(sim.proc, c.fd)).toBe(0);
};

const roUnshare: Scenario = (self) => {
  const { c, sim } = self;
  const exe = new Uint8Array(4 * PS);
  for (let i = 0; i < exe.length; i++) exe[i] = (i * 7 + 3) & 0xff;
  const exeFile = sim.machine.registerFile('/proc/self/exe', exe);
  const fd = sim.proc.open('/proc/self/exe', O_RDONLY);
  expect(fd).toBeGreaterThanOrEqual(0);
  const buf = sim.proc.mmap(0n, BigInt(PS), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0n);
  expect(buf > 0n).toBe(true);
  expect(sim.proc.close(fd)).toBe(0);
  // A read-only long-term pin must unshare the COW page at once, so the
  // later write by the owner lands in the page the domain holds.
  const r = c.ioasMapRaw({ ioas: self.ioasId, userVa: buf, length: PS, flags: U.IOMMU_IOAS_MAP_READABLE });
  expect(r.rc).toBe(0);
  const iova = r.out.iova as bigint;
  checkMockIova(self, buf, iova, PS);
  expect(sim.proc.writeMemory(buf, new Uint8Array(PS).fill(1))).toBe(0);
  checkMockIova(self, buf, iova, PS);
  expect(sim.proc.munmap(buf, BigInt(PS))).toBe(0);
  sim.machine.unregisterDevice('/proc/self/exe');
  // Drop the page cache with the file, so exit() can find every frame free.
  exeFile.put();
};

/** The all_aligns loop body: map buf+start..end, run `inner`, unmap. */
function allAlignsLoop(self: Self, v: Variant, inner: (buf: bigint, start: number, end: number, iova: bigint) => void): number {
  const { c } = self;
  const testStep = v.hugepages ? self.mmapBufSize / 16 : MOCK_PAGE_SIZE;
  const bufSize = self.mmapBufSize;
  // the file variants map a shmem memfd of the same size (MAP_SHARED, never MAP_HUGETLB)
  const mfd = v.file ? memfdMmap(self.sim.proc, bufSize) : undefined;
  const buf = mfd ? mfd.va : mmapBuf(self);
  c.mdCheckRefs(buf, bufSize, 0);
  let maps = 0;
  for (let start = 0; start < bufSize; start += testStep) {
    // In the hugepage variants `end` starts at the buffer size: the inner loop never runs.
    for (let end = v.hugepages ? bufSize : start + MOCK_PAGE_SIZE; end < bufSize; end += MOCK_PAGE_SIZE) {
      const length = end - start;
      const iova = mfd ? mapFileOk(self, mfd.fd, start, length) : c.ioasMap({ ioas: self.ioasId, userVa: buf + BigInt(start), length });
      inner(buf, start, end, iova);
      c.ioasUnmap({ ioas: self.ioasId, iova, length });
      maps++;
    }
  }
  c.mdCheckRefs(buf, bufSize, 0);
  expect(self.sim.proc.munmap(buf, BigInt(bufSize))).toBe(0);
  if (mfd) expect(self.sim.proc.close(mfd.fd)).toBe(0);
  return maps;
}

function pageRange(buf: bigint, start: number, end: number): [bigint, number] {
  const first = Math.floor(start / PS) * PS;
  const last = Math.floor(end / PS) * PS;
  return [buf + BigInt(first), last - first];
}

const allAligns: Scenario = (self, v) => {
  const maps = allAlignsLoop(self, v, (buf, start, end, iova) => {
    checkMockIova(self, buf + BigInt(start), iova, end - start);
    const [p, len] = pageRange(buf, start, end);
    self.c.mdCheckRefs(p, len, 1);
  });
  // 16 starts with 15, 14, ... 1 lengths each; none in the hugepage variants.
  expect(maps).toBe(v.hugepages ? 0 : 120);
};

const allAlignsCopy: Scenario = (self, v) => {
  const { c } = self;
  const maps = allAlignsLoop(self, v, (buf, start, end, iova) => {
    // Add and destroy a device while the area exists.
    const oldId = self.hwptIds[1];
    const ids = c.mockDomain(self.ioasId);
    self.hwptIds[1] = ids.hwptId;
    // In >= v6.4 the new device shares the auto domain.
    expect(ids.hwptId).toBe(self.hwptId);
    checkMockIova(self, buf + BigInt(start), iova, end - start);
    const [p, len] = pageRange(buf, start, end);
    c.mdCheckRefs(p, len, 1);
    c.destroy(ids.stdevId);
    self.hwptIds[1] = oldId;
  });
  expect(maps).toBe(v.hugepages ? 0 : 120);
};

const userCopy: Scenario = (self, v) => {
  const { c, sim } = self;
  const fullKernel = self.profile !== 'v6.5';
  const buf = v.file ? self.mfdBuffer : sim.buffer;
  const mapSrc = (ioas: number) => (v.file ? mapFileOk(self, self.mfd, 0, BUFFER_SIZE, ioas) : c.ioasMap({ ioas, userVa: buf, length: BUFFER_SIZE }));
  // Pin the pages in an IOAS with no domain, then copy to the IOAS with one.
  const ioasId = c.ioasAlloc();
  let srcIova = mapSrc(ioasId);
  const accessFd = c.createAccess(ioasId, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
  let item = c.accessPages(accessFd, { iova: srcIova, length: BUFFER_SIZE, uptr: buf });
  c.ioasCopy({ dstIoas: self.ioasId, srcIoas: ioasId, srcIova, dstIova: MOCK_APERTURE_START, length: BUFFER_SIZE, flags: copyFlags(self) });
  checkMockIova(self, buf, MOCK_APERTURE_START, BUFFER_SIZE);
  expect(auditFd(sim.proc, c.fd)).toBe(0);

  if (!fullKernel) {
    // v6.5 ending.
    c.destroyAccessPages(accessFd, item);
    c.destroyAccess(accessFd);
    c.destroy(ioasId);
    return;
  }
  // Replace the access's IOAS with a new one.
  const newIoasId = c.ioasAlloc();
  srcIova = mapSrc(newIoasId);
  expect(accessReplaceIoas(c, accessFd, newIoasId)).toBe(0);
  // The replace dropped the access's pins: the item is gone.
  expect(c.testCmd(U.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, accessFd, { 'destroy_access_pages.access_pages_id': item }).rc).toBe(-ENOENT);
  // Destroy the old IOAS and the copied mapping.
  c.ioasUnmap({ ioas: self.ioasId, iova: MOCK_APERTURE_START, length: BUFFER_SIZE });
  c.destroy(ioasId);
  // The same again with the new IOAS.
  item = c.accessPages(accessFd, { iova: srcIova, length: BUFFER_SIZE, uptr: buf });
  c.ioasCopy({ dstIoas: self.ioasId, srcIoas: newIoasId, srcIova, dstIova: MOCK_APERTURE_START, length: BUFFER_SIZE, flags: copyFlags(self) });
  checkMockIova(self, buf, MOCK_APERTURE_START, BUFFER_SIZE);
  c.destroyAccessPages(accessFd, item);
  c.destroyAccess(accessFd);
  c.destroy(newIoasId);
};

const replace: Scenario = (self, v) => {
  const { c } = self;
  const ioasId = c.ioasAlloc();
  expect(mockDomainReplace(c, self.stdevIds[0], ioasId).rc).toBe(0);
  // Replacing away frees the prior auto HWPT when it was its only device.
  if (v.mockDomains === 1) expect(mockDomainReplace(c, self.stdevIds[0], self.hwptIds[0]).rc).toBe(-ENOENT);
  expect(mockDomainReplace(c, self.stdevIds[0], ioasId).rc).toBe(0);
  if (v.mockDomains >= 2) {
    expect(mockDomainReplace(c, self.stdevIds[0], self.hwptIds[1]).rc).toBe(0);
    expect(mockDomainReplace(c, self.stdevIds[0], self.hwptIds[1]).rc).toBe(0);
    // Still alive: device 1 holds it.
    expect(mockDomainReplace(c, self.stdevIds[0], self.hwptIds[0]).rc).toBe(0);
  }
  expect(mockDomainReplace(c, self.stdevIds[0], self.ioasId).rc).toBe(0);
  c.destroy(ioasId);
};

/** TEST_F(iommufd_mock_domain, alloc_hwpt) (the mmap variants run in hwpt.test.ts; the buffers are not used). */
const allocHwpt: Scenario = (self, v) => {
  const { c } = self;
  for (let i = 0; i < v.mockDomains; i++) {
    const idev = self.idevIds[i];
    const stdev = self.stdevIds[i];
    const bad = c.raw(U.IOMMU_HWPT_ALLOC, U.iommu_hwpt_alloc, { flags: ~U.IOMMU_HWPT_ALLOC_NEST_PARENT >>> 0, dev_id: idev, pt_id: self.ioasId });
    expect(bad.rc).toBe(-EOPNOTSUPP);
    const h0 = c.hwptAlloc({ devId: idev, ptId: self.ioasId });
    const h1 = c.hwptAlloc({ devId: idev, ptId: self.ioasId, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    // a hw_pagetable rotation
    expect(mockDomainReplace(c, stdev, h0).rc).toBe(0);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: h0 }).rc).toBe(-EBUSY);
    expect(mockDomainReplace(c, stdev, h1).rc).toBe(0);
    expect(c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id: h1 }).rc).toBe(-EBUSY);
    expect(mockDomainReplace(c, stdev, self.ioasId).rc).toBe(0);
    c.destroy(h1);
    const d = c.mockDomain(h0);
    c.destroy(d.stdevId);
    c.destroy(h0);
  }
};

interface ScenarioDef {
  readonly name: string;
  readonly run: Scenario;
  /** Profiles to run under; v6.5-scope scenarios run under both. */
  readonly profiles: readonly ProfileName[];
  /** Run only for the file variants (the others run elsewhere). */
  readonly fileOnly?: boolean;
}

const SCENARIOS: readonly ScenarioDef[] = [
  { name: 'basic', run: basic, profiles: ['latest', 'v6.12', 'v6.5'] },
  { name: 'ro_unshare', run: roUnshare, profiles: ['latest', 'v6.12', 'v6.5'] },
  { name: 'all_aligns', run: allAligns, profiles: ['latest', 'v6.12', 'v6.5'] },
  { name: 'all_aligns_copy', run: allAlignsCopy, profiles: ['latest', 'v6.12', 'v6.5'] },
  { name: 'user_copy', run: userCopy, profiles: ['latest', 'v6.12', 'v6.5'] },
  { name: 'replace', run: replace, profiles: ['latest', 'v6.12'] },
  { name: 'alloc_hwpt', run: allocHwpt, profiles: ['latest'], fileOnly: true },
];

for (const profile of ['latest', 'v6.12', 'v6.5'] as const) {
  describe(`profile ${profile}`, () => {
    for (const v of VARIANTS) {
      for (const s of SCENARIOS) {
        if (!s.profiles.includes(profile)) continue;
        if (v.file && profile !== 'latest') continue;
        if (s.fileOnly && !v.file) continue;
        it(`iommufd_mock_domain.${v.name}.${s.name}`, () => {
          const self = setup(v, profile);
          s.run(self, v);
          teardown(self);
        });
      }
    }
  });
}
