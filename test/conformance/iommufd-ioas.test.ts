// SPDX-License-Identifier: GPL-2.0-only
// Fixture `iommufd_ioas` of tools/testing/selftests/iommu/iommufd.c (selftests-catalogue.md §7),
// every v6.5-scope scenario under the four variants no_domain, mock_domain, two_mock_domain and
// mock_domain_limit.
import { afterEach, describe, expect, it as vitestIt } from 'vitest';
import { EADDRINUSE, EBUSY, EEXIST, EFAULT, EINVAL, EMSGSIZE, ENODEV, ENOENT, ENOSPC } from '../../src/base/errno.js';
import { Prng } from '../../src/base/prng.js';
import type { IommufdClient } from '../../src/client/iommufd.js';
import { IommufdClient as Client } from '../../src/client/iommufd.js';
import { auditDmabufArea, auditFilePages } from '../../src/iommufd/pages-audit.js';
import * as U from '../../src/iommufd/uapi.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, type Process } from '../../src/machine/index.js';
import {
  BUFFER_SIZE,
  HUGEPAGE_SIZE,
  MOCK_APERTURE_LAST,
  MOCK_APERTURE_START,
  MOCK_PAGE_SIZE,
  PAGE_SIZE,
  PS,
  U64_MAX,
  type World,
  ctxOf,
  expectErrno,
  expectRc,
  finish,
  hugetlbBuffer,
  lowBit,
  teardownIommufd,
  world,
} from '../client/harness.js';

interface Variant {
  readonly name: string;
  readonly mockDomains: number;
  readonly memoryLimit: number;
}

const VARIANTS: readonly Variant[] = [
  { name: 'no_domain', mockDomains: 0, memoryLimit: 0 },
  { name: 'mock_domain', mockDomains: 1, memoryLimit: 0 },
  { name: 'two_mock_domain', mockDomains: 2, memoryLimit: 0 },
  { name: 'mock_domain_limit', mockDomains: 1, memoryLimit: 16 },
];

interface Self {
  readonly w: World;
  readonly c: IommufdClient;
  readonly ioasId: number;
  stdevId: number;
  hwptId: number;
  deviceId: number;
  baseIova: bigint;
  readonly buffer: bigint;
  readonly variant: Variant;
}

let current: Self | undefined;

/** The profile the scenarios being defined run under. */
let profile: 'latest' | 'v6.12' = 'latest';

function setup(variant: Variant): Self {
  const w = world({ profile });
  const c = w.c;
  const ioasId = c.ioasAlloc();
  expect(ioasId).not.toBe(0);
  if (!variant.memoryLimit) c.setDefaultMemoryLimit();
  else c.setTempMemoryLimit(variant.memoryLimit);
  const self: Self = { w, c, ioasId, stdevId: 0, hwptId: 0, deviceId: 0, baseIova: 0n, buffer: w.buffer, variant };
  for (let i = 0; i < variant.mockDomains; i++) {
    const ids = c.mockDomain(ioasId);
    self.stdevId = ids.stdevId;
    self.hwptId = ids.hwptId;
    self.deviceId = ids.idevId;
    self.baseIova = MOCK_APERTURE_START;
  }
  current = self;
  return self;
}

afterEach(() => {
  const self = current;
  current = undefined;
  if (!self) return;
  // the whole-state audit: areas, domains, pins and accounting agree
  if (!self.w.proc.exited) expect(ctxOf(self.w).audit({ exactPins: true })).toBe(0);
  self.c.setDefaultMemoryLimit();
  teardownIommufd(self.w);
  finish(self.w);
});

function mapFixed(self: Self, userVa: bigint, length: bigint | number, iova: bigint, ioas = self.ioasId): bigint {
  return self.c.ioasMap({ ioas, userVa, length, iova });
}

function mapAuto(self: Self, userVa: bigint, length: bigint | number, ioas = self.ioasId): bigint {
  return self.c.ioasMap({ ioas, userVa, length });
}

function unmap(self: Self, iova: bigint, length: bigint | number, ioas = self.ioasId): bigint {
  return self.c.ioasUnmap({ ioas, iova, length });
}

/** The whole-state audit (areas vs domains vs pins vs accounting) finds nothing. */
function audit(self: Self): void {
  expect(ctxOf(self.w).audit({ exactPins: true })).toBe(0);
}

/** Pages charged to the test user's locked_vm. */
function lockedVm(self: Self): number {
  return self.w.proc.task.user.lockedVm;
}

/** The copy flags of the current kernel test (v6.5 used FIXED_IOVA alone, refused since 6.11). */
const COPY_FLAGS = U.IOMMU_IOAS_MAP_FIXED_IOVA | U.IOMMU_IOAS_MAP_WRITEABLE;

/** A user buffer of `len` bytes in `proc` (malloc). */
function userAlloc(proc: Process, len: number): bigint {
  const va = proc.mmap(0n, BigInt(len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(va > 0n).toBe(true);
  return va;
}

function readUser(proc: Process, va: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  expect(proc.readMemory(va, out)).toBe(0);
  return out;
}

/**
 * check_access_rw(): byte-granular reads and writes through the access around
 * the first IOVA page boundary, then one read of the whole buffer.
 */
function checkAccessRw(self: Self, c: IommufdClient, accessFd: number, iova: bigint, defFlags: number, seed = 1): void {
  const proc = c.proc;
  const prng = new Prng(seed);
  const mirror = new Uint8Array(BUFFER_SIZE);
  for (let i = 0; i < BUFFER_SIZE; i += 2) {
    const v = prng.nextU32() & 0xffff;
    mirror[i] = v & 0xff;
    mirror[i + 1] = v >> 8;
  }
  expect(proc.writeMemory(self.buffer, mirror)).toBe(0);
  const tmp = userAlloc(proc, 64);
  const rnd = new Uint8Array(64);
  for (let o = iova + PS - 50n; o < iova + PS + 50n; o++) {
    const off = Number(o - iova);
    for (let len = 1; len < 64; len++) {
      c.accessRw(accessFd, { iova: o, length: len, uptr: tmp, flags: defFlags });
      expect(readUser(proc, tmp, len)).toEqual(mirror.subarray(off, off + len));
      for (let i = 0; i < 64; i++) rnd[i] = prng.nextU32() & 0xff;
      expect(proc.writeMemory(tmp, rnd)).toBe(0);
      c.accessRw(accessFd, { iova: o, length: len, uptr: tmp, flags: defFlags | U.MOCK_ACCESS_RW_WRITE });
      mirror.set(rnd.subarray(0, len), off);
      expect(readUser(proc, self.buffer + BigInt(off), len)).toEqual(rnd.subarray(0, len));
    }
  }
  // Multi-page
  const tmp2 = userAlloc(proc, BUFFER_SIZE);
  c.accessRw(accessFd, { iova, length: BUFFER_SIZE, uptr: tmp2, flags: defFlags });
  expect(readUser(proc, tmp2, BUFFER_SIZE)).toEqual(readUser(proc, self.buffer, BUFFER_SIZE));
  expect(readUser(proc, self.buffer, BUFFER_SIZE)).toEqual(mirror);
  expect(proc.munmap(tmp, 64n)).toBe(0);
  expect(proc.munmap(tmp2, BigInt(BUFFER_SIZE))).toBe(0);
}

/** Scenarios too slow to run twice: `latest` only (v6.12 answers them identically, same switches). */
const LATEST_ONLY = ['access_rw', 'access_rw_unaligned', 'fork_gone', 'fork_present'];

/** Scenarios of 7.x commands and test ops (the selftest dma-buf): `latest` only. */
const POST_612 = ['dmabuf_simple', 'dmabuf_revoke'];

/** _test_cmd_get_dmabuf(): the dma-buf fd (O_CLOEXEC), or -errno. */
function getDmabuf(self: Self, len: number): number {
  return self.c.testCmd(U.IOMMU_TEST_OP_DMABUF_GET, 0, { 'dmabuf_get.length': len, 'dmabuf_get.open_flags': 0o2000000 }).rc;
}

/** _test_ioctl_ioas_map_file() with READABLE | WRITEABLE (| FIXED_IOVA): rc and the IOVA written back. */
function mapFileRc(self: Self, fd: number, start: number, length: number, iova = 0n, fixed = false): { rc: number; iova: bigint } {
  const flags = U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE | (fixed ? U.IOMMU_IOAS_MAP_FIXED_IOVA : 0);
  const r = self.c.raw(U.IOMMU_IOAS_MAP_FILE, U.iommu_ioas_map_file, { flags, ioas_id: self.ioasId, fd, start: BigInt(start), length: BigInt(length), iova });
  return { rc: r.rc, iova: r.out.iova as bigint };
}

/**
 * Before the fixture's teardown: the dma-buf areas pass pages-audit.ts, then
 * go (teardown_iommufd's close would drop them; the generic audit of the
 * afterEach does not know dma-buf pages).
 */
function dropDmabufAreas(self: Self): void {
  const ctx = ctxOf(self.w);
  for (const { ioas } of ctx.ioasList()) {
    for (const area of ioas.iopt.areas()) expect(auditDmabufArea(ctx.env, ioas.iopt, area) + auditFilePages(ctx.env, area.pages!)).toBe(0);
  }
  self.c.ioasUnmapAll(self.ioasId);
}

for (const p of ['latest', 'v6.12'] as const)
for (const variant of VARIANTS) {
  const name = (scenario: string) => `iommufd_ioas.${variant.name}.${scenario}`;
  const it = (title: string, fn: () => void) => {
    if (p !== 'latest' && [...LATEST_ONLY, ...POST_612].some((s) => title.endsWith(`.${s}`))) return;
    vitestIt(title, () => {
      profile = p;
      fn();
    });
  };
  const hasDomain = variant.mockDomains > 0;

  describe(`profile ${p} iommufd_ioas.${variant.name}`, () => {
    it(name('ioas_auto_destroy'), () => {
      const self = setup(variant);
      // IDs in allocation order: the IOAS, then per device its selftest object,
      // its DEVICE, and (for the first) the auto HWPT they all share.
      const live = ctxOf(self.w).objects.live().map((e) => [e.id, e.obj.type]);
      if (variant.mockDomains === 0) expect(live).toEqual([[1, 'IOAS']]);
      if (variant.mockDomains === 1) {
        expect([self.stdevId, self.deviceId, self.hwptId]).toEqual([2, 3, 4]);
        expect(live).toEqual([
          [1, 'IOAS'],
          [2, 'SELFTEST'],
          [3, 'DEVICE'],
          [4, 'HWPT_PAGING'],
        ]);
      }
      if (variant.mockDomains === 2) {
        expect([self.stdevId, self.deviceId, self.hwptId]).toEqual([5, 6, 4]);
        expect(live.length).toBe(6);
      }
    });

    it(name('ioas_destroy'), () => {
      const self = setup(variant);
      if (self.stdevId) {
        // an HWPT built on the IOAS is attached to a device
        expectErrno(EBUSY, () => self.c.destroy(self.ioasId));
        expect(ctxOf(self.w).ioasList().length).toBe(1);
      } else {
        self.c.destroy(self.ioasId);
        expectErrno(ENOENT, () => self.c.destroy(self.ioasId));
      }
    });

    it(name('hwpt_attach'), () => {
      const self = setup(variant);
      if (self.stdevId) {
        const ids = self.c.mockDomain(self.hwptId);
        expect(ids.hwptId).toBe(self.hwptId);
      } else {
        expectErrno(ENOENT, () => self.c.mockDomain(self.hwptId));
      }
    });

    it(name('ioas_area_destroy'), () => {
      const self = setup(variant);
      expect(mapFixed(self, self.buffer, PS, self.baseIova)).toBe(self.baseIova);
      if (self.stdevId) {
        self.c.mdCheckMap(self.hwptId, self.baseIova, PS, self.buffer);
        self.c.mdCheckRefs(self.buffer, PS, 1);
        expect(lockedVm(self)).toBe(1);
        expectErrno(EBUSY, () => self.c.destroy(self.ioasId));
      } else {
        // nothing is pinned without a domain or an access
        self.c.mdCheckRefs(self.buffer, PS, 0);
        expect(lockedVm(self)).toBe(0);
        self.c.destroy(self.ioasId);
      }
    });

    it(name('ioas_area_auto_destroy'), () => {
      const self = setup(variant);
      for (let i = 0n; i < 10n; i++) mapFixed(self, self.buffer, PS, self.baseIova + i * PS);
      // ten maps of one page: ten pages objects, each with its own pin and charge
      self.c.mdCheckRefs(self.buffer, PS, hasDomain ? 10 : 0);
      expect(lockedVm(self)).toBe(hasDomain ? 10 : 0);
      audit(self);
    });

    it(name('area'), () => {
      const self = setup(variant);
      const base = self.baseIova;
      // unmap fails if nothing is mapped (absolute IOVAs)
      for (let i = 0n; i < 10n; i++) expectErrno(ENOENT, () => unmap(self, i * PS, PS));
      // unmap works
      for (let i = 0n; i < 10n; i++) mapFixed(self, self.buffer, PS, base + i * PS);
      for (let i = 0n; i < 10n; i++) expect(unmap(self, base + i * PS, PS)).toBe(PS);
      // split fails
      mapFixed(self, self.buffer, 2n * PS, base + 16n * PS);
      expectErrno(ENOENT, () => unmap(self, base + 16n * PS, PS));
      expectErrno(ENOENT, () => unmap(self, base + 17n * PS, PS));
      if (self.stdevId) self.c.mdCheckMap(self.hwptId, base + 16n * PS, 2n * PS, self.buffer);
      // over map fails
      expectErrno(EEXIST, () => mapFixed(self, self.buffer, 2n * PS, base + 16n * PS));
      expectErrno(EEXIST, () => mapFixed(self, self.buffer, PS, base + 16n * PS));
      expectErrno(EEXIST, () => mapFixed(self, self.buffer, PS, base + 17n * PS));
      expectErrno(EEXIST, () => mapFixed(self, self.buffer, 2n * PS, base + 15n * PS));
      expectErrno(EEXIST, () => mapFixed(self, self.buffer, 3n * PS, base + 15n * PS));
      // unmap all works, and on an empty IOAS too
      expect(unmap(self, 0n, U64_MAX)).toBe(2n * PS);
      expect(unmap(self, 0n, U64_MAX)).toBe(0n);
      expect(lockedVm(self)).toBe(0);
    });

    it(name('unmap_fully_contained_areas'), () => {
      const self = setup(variant);
      const b = self.baseIova + 4n * PS;
      for (let i = 0n; i < 4n; i++) mapFixed(self, self.buffer, 8n * PS, b + i * 16n * PS);
      // not fully contained areas
      expectErrno(ENOENT, () => unmap(self, b - 4n * PS, 8n * PS));
      expectErrno(ENOENT, () => unmap(self, b + 3n * 16n * PS + 8n * PS - 4n * PS, 8n * PS));
      expect(ctxOf(self.w).ioasList()[0].ioas.iopt.areas().length).toBe(4);
      // fully contained areas, with holes between them
      expect(unmap(self, b - 4n * PS, 3n * 16n * PS + 8n * PS + 4n * PS)).toBe(32n * PS);
      expect(ctxOf(self.w).ioasList()[0].ioas.iopt.areas().length).toBe(0);
    });

    it(name('area_auto_iova'), () => {
      const self = setup(variant);
      const iovas: bigint[] = [];
      // simple 4k pages
      for (let i = 0; i < 10; i++) iovas[i] = mapAuto(self, self.buffer, PS);
      for (let i = 0; i < 10; i++) unmap(self, iovas[i], PS);
      // the kernel aligns IOVAs to the lowest set bit of the length
      for (let i = 0; i < 10; i++) {
        const length = PS * BigInt(i + 1);
        // without a domain nothing is pinned, so an unmapped user address is fine
        iovas[i] = mapAuto(self, self.stdevId ? self.buffer : 1n << 31n, length);
        expect(iovas[i] % lowBit(length)).toBe(0n);
      }
      for (let i = 0; i < 10; i++) unmap(self, iovas[i], PS * BigInt(i + 1));
      // avoids a reserved region
      const resStart = 4n * PS;
      const resLen = 100n * PS;
      self.c.addReserved(self.ioasId, resStart, resLen);
      for (let i = 0; i < 10; i++) {
        const length = PS * BigInt(i + 1);
        iovas[i] = mapAuto(self, self.buffer, length);
        expect(iovas[i] % lowBit(length)).toBe(0n);
        expect(iovas[i] > resStart && iovas[i] < resStart + resLen).toBe(false);
      }
      for (let i = 0; i < 10; i++) unmap(self, iovas[i], PS * BigInt(i + 1));
      // an allowed range may not intersect a reserved one
      expectErrno(EADDRINUSE, () => self.c.allowIovas(self.ioasId, [{ start: PS, last: 600n * PS }]));
      // allocate from an allowed range
      const range = self.stdevId
        ? { start: MOCK_APERTURE_START + PS, last: MOCK_APERTURE_START + 600n * PS - 1n }
        : { start: 200n * PS, last: 600n * PS - 1n };
      self.c.allowIovas(self.ioasId, [range]);
      for (let i = 0; i < 10; i++) {
        const length = PS * BigInt(i + 1);
        iovas[i] = mapAuto(self, self.buffer, length);
        expect(iovas[i] % lowBit(length)).toBe(0n);
        expect(iovas[i] >= range.start && iovas[i] <= range.last).toBe(true);
        expect(iovas[i] + length > range.start && iovas[i] + length <= range.last + 1n).toBe(true);
      }
      for (let i = 0; i < 10; i++) unmap(self, iovas[i], PS * BigInt(i + 1));
    });

    it(name('reserved_overflow'), () => {
      const self = setup(variant);
      // a reservation from 6 up to 0xffff_ffff_ffff_8006
      self.c.addReserved(self.ioasId, 6n, 0xffff_ffff_ffff_8001n);
      // only IOVAs 0-5 and a tail where aligning up wraps are free: no space, and no overflow
      expectErrno(ENOSPC, () => mapAuto(self, self.buffer, 0x5000n));
      expect(ctxOf(self.w).ioasList()[0].ioas.iopt.areas().length).toBe(0);
    });

    it(name('area_allowed'), () => {
      const self = setup(variant);
      const range = { start: self.baseIova, last: self.baseIova + 600n * PS };
      // a reservation may not intersect an allowed range
      self.c.allowIovas(self.ioasId, [range]);
      expectErrno(EADDRINUSE, () => self.c.addReserved(self.ioasId, range.start + PS, PS));
      self.c.allowIovas(self.ioasId, []);
      // an allowed range may not intersect a reservation
      self.c.addReserved(self.ioasId, range.start + PS, PS);
      expectErrno(EADDRINUSE, () => self.c.allowIovas(self.ioasId, [range]));
      expect(ctxOf(self.w).ioasList()[0].ioas.iopt.allowedItree.isEmpty()).toBe(true);
    });

    it(name('copy_area'), () => {
      const self = setup(variant);
      const base = self.baseIova;
      mapFixed(self, self.buffer, PS, base);
      // copy inside a single IOAS
      let r = self.c.ioasCopyRaw({ dstIoas: self.ioasId, srcIoas: self.ioasId, srcIova: base, dstIova: base + PS, length: PS, flags: COPY_FLAGS });
      expect(r.rc).toBe(0);
      expect(r.out.dst_iova).toBe(base + PS);
      audit(self);
      if (self.stdevId) {
        self.c.mdCheckMap(self.hwptId, base + PS, PS, self.buffer);
        // the copy shares the pages: no second pin, no second charge
        self.c.mdCheckRefs(self.buffer, PS, 1);
        expect(lockedVm(self)).toBe(1);
      }
      // copy between IOASes; the new one has no domain, so IOVA 0 is fine
      const dst = self.c.ioasAlloc();
      r = self.c.ioasCopyRaw({ dstIoas: dst, srcIoas: self.ioasId, srcIova: base, dstIova: 0n, length: PS, flags: COPY_FLAGS });
      expect(r.rc).toBe(0);
      expect(r.out.dst_iova).toBe(0n);
      expect(lockedVm(self)).toBe(hasDomain ? 1 : 0);
    });

    it(name('iova_ranges'), () => {
      const self = setup(variant);
      const proc = self.w.proc;
      const ranges = self.buffer;
      const capacity = BUFFER_SIZE / 16;
      const call = (num: number) =>
        self.c.raw(U.IOMMU_IOAS_IOVA_RANGES, U.iommu_ioas_iova_ranges, { ioas_id: self.ioasId, num_iovas: num, allowed_iovas: ranges });
      const entry = (i: number) => {
        const e = U.iommu_iova_range.decode(readUser(proc, ranges + BigInt(i * 16), 16));
        return [e.start, e.last];
      };
      const zero = () => expect(proc.writeMemory(ranges, new Uint8Array(BUFFER_SIZE))).toBe(0);
      // the range can be read
      let r = call(capacity);
      expect(r.rc).toBe(0);
      expect(r.out.num_iovas).toBe(1);
      if (!self.stdevId) {
        expect(entry(0)).toEqual([0n, U64_MAX]);
        expect(r.out.out_iova_alignment).toBe(1n);
      } else {
        expect(entry(0)).toEqual([MOCK_APERTURE_START, MOCK_APERTURE_LAST]);
        expect(r.out.out_iova_alignment).toBe(BigInt(MOCK_PAGE_SIZE));
      }
      // buffer too small: the count comes back, nothing is written
      zero();
      r = call(0);
      expectRc(EMSGSIZE, r.rc);
      expect(r.out.num_iovas).toBe(1);
      expect(entry(0)).toEqual([0n, 0n]);
      // two ranges
      self.c.addReserved(self.ioasId, PS, PS);
      r = call(capacity);
      expect(r.rc).toBe(0);
      if (!self.stdevId) {
        expect(r.out.num_iovas).toBe(2);
        expect(entry(0)).toEqual([0n, PS - 1n]);
        expect(entry(1)).toEqual([2n * PS, U64_MAX]);
      } else {
        expect(r.out.num_iovas).toBe(1);
        expect(entry(0)).toEqual([MOCK_APERTURE_START, MOCK_APERTURE_LAST]);
      }
      // buffer too small: the entries that fit are written
      zero();
      r = call(1);
      if (!self.stdevId) {
        expectRc(EMSGSIZE, r.rc);
        expect(r.out.num_iovas).toBe(2);
        expect(entry(0)).toEqual([0n, PS - 1n]);
      } else {
        expect(r.rc).toBe(0);
        expect(r.out.num_iovas).toBe(1);
        expect(entry(0)).toEqual([MOCK_APERTURE_START, MOCK_APERTURE_LAST]);
      }
      expect(entry(1)).toEqual([0n, 0n]);
    });

    it(name('access_domain_destory'), () => {
      const self = setup(variant);
      const proc = self.w.proc;
      const bufSize = 2 * HUGEPAGE_SIZE;
      const buf = hugetlbBuffer(proc, bufSize);
      mapFixed(self, buf, bufSize, self.baseIova);
      expect(lockedVm(self)).toBe(hasDomain ? bufSize / PAGE_SIZE : 0);
      const access = self.c.createAccess(self.ioasId, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
      const item = self.c.accessPages(access, { iova: self.baseIova + PS, length: PS, uptr: buf + PS });
      expect(item).toBe(0);
      expect(lockedVm(self)).toBe(hasDomain ? bufSize / PAGE_SIZE : 1);
      audit(self);
      // a complicated unpin across a huge page boundary
      if (self.stdevId) {
        self.c.destroy(self.stdevId);
        // with one device the auto domain went with it; the access still pins its one page
        expect(lockedVm(self)).toBe(variant.mockDomains === 2 ? bufSize / PAGE_SIZE : 1);
      }
      self.c.destroyAccessPages(access, item);
      self.c.destroyAccess(access);
      expect(lockedVm(self)).toBe(variant.mockDomains === 2 ? bufSize / PAGE_SIZE : 0);
      expect(proc.munmap(buf, BigInt(bufSize))).toBe(0);
    });

    it(name('access_pin'), () => {
      const self = setup(variant);
      const c = self.c;
      const access = c.createAccess(self.ioasId, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
      for (let npages = 1; npages < BUFFER_SIZE / PAGE_SIZE; npages++) {
        const pin = { iova: MOCK_APERTURE_START, length: npages * PAGE_SIZE, uptr: self.buffer };
        // single map/unmap
        mapFixed(self, self.buffer, BUFFER_SIZE, MOCK_APERTURE_START);
        let id = c.accessPages(access, pin);
        c.mdCheckRefs(self.buffer, npages * PAGE_SIZE, 1);
        c.destroyAccessPages(access, id);
        if (!hasDomain) c.mdCheckRefs(self.buffer, BUFFER_SIZE, 0);
        // double user: one pin per page however many users
        const a = c.accessPages(access, pin);
        const b = c.accessPages(access, pin);
        expect(b).toBe(a + 1);
        c.mdCheckRefs(self.buffer, npages * PAGE_SIZE, 1);
        expect(lockedVm(self)).toBe(hasDomain ? BUFFER_SIZE / PAGE_SIZE : npages);
        c.destroyAccessPages(access, b);
        c.destroyAccessPages(access, a);
        // add/remove a domain with a user
        id = c.accessPages(access, pin);
        const dev = c.mockDomain(self.ioasId);
        if (hasDomain) expect(dev.hwptId).toBe(self.hwptId);
        c.mdCheckMap(dev.hwptId, MOCK_APERTURE_START, BUFFER_SIZE, self.buffer);
        c.mdCheckRefs(self.buffer, BUFFER_SIZE, 1);
        audit(self);
        c.destroy(dev.stdevId);
        c.destroyAccessPages(access, id);
        expect(unmap(self, MOCK_APERTURE_START, BUFFER_SIZE)).toBe(BigInt(BUFFER_SIZE));
        c.mdCheckRefs(self.buffer, BUFFER_SIZE, 0);
        expect(lockedVm(self)).toBe(0);
      }
      c.destroyAccess(access);
    });

    it(name('access_pin_unmap'), () => {
      const self = setup(variant);
      const c = self.c;
      const access = c.createAccess(self.ioasId, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
      mapFixed(self, self.buffer, BUFFER_SIZE, MOCK_APERTURE_START);
      const item = c.accessPages(access, { iova: MOCK_APERTURE_START, length: BUFFER_SIZE, uptr: self.buffer });
      c.mdCheckRefs(self.buffer, BUFFER_SIZE, 1);
      // the unmap makes the access drop its pins
      expect(unmap(self, MOCK_APERTURE_START, BUFFER_SIZE)).toBe(BigInt(BUFFER_SIZE));
      c.mdCheckRefs(self.buffer, BUFFER_SIZE, 0);
      // the kernel removed the item
      expectErrno(ENOENT, () => c.destroyAccessPages(access, item));
    });

    it(name('access_rw'), () => {
      const self = setup(variant);
      const access = self.c.createAccess(self.ioasId, 0);
      const iova = mapAuto(self, self.buffer, BUFFER_SIZE);
      checkAccessRw(self, self.c, access, iova, 0, 1);
      checkAccessRw(self, self.c, access, iova, U.MOCK_ACCESS_RW_SLOW_PATH, 2);
      expect(unmap(self, iova, BUFFER_SIZE)).toBe(BigInt(BUFFER_SIZE));
      self.c.destroyAccess(access);
    });

    it(name('access_rw_unaligned'), () => {
      const self = setup(variant);
      const access = self.c.createAccess(self.ioasId, 0);
      // IOVA pages sit half a CPU page off the user pages
      const iova = self.baseIova + BigInt(MOCK_PAGE_SIZE);
      mapFixed(self, self.buffer, BUFFER_SIZE, iova);
      checkAccessRw(self, self.c, access, iova, 0, 3);
      unmap(self, iova, BUFFER_SIZE);
      self.c.destroyAccess(access);
    });

    it(name('fork_gone'), () => {
      const self = setup(variant);
      const access = self.c.createAccess(self.ioasId, 0);
      // a mapping made by a different mm, which then goes away
      const child = self.w.proc.fork();
      new Client(child, self.c.fd).ioasMap({ ioas: self.ioasId, userVa: self.buffer, length: BUFFER_SIZE, iova: MOCK_APERTURE_START });
      child.exit();
      if (self.stdevId) {
        // everything was pinned within the child: the new domain copies from the old one
        self.c.mockDomain(self.ioasId);
        checkAccessRw(self, self.c, access, MOCK_APERTURE_START, 0, 4);
      } else {
        // pinning now needs the dead child's mm
        expectErrno(EFAULT, () => self.c.mockDomain(self.ioasId));
        expect(ctxOf(self.w).objects.live().map((e) => e.obj.type)).toEqual(['IOAS', 'ACCESS']);
      }
      self.c.destroyAccess(access);
    });

    it(name('fork_present'), () => {
      const self = setup(variant);
      const access = self.c.createAccess(self.ioasId, 0);
      const child = self.w.proc.fork();
      new Client(child, self.c.fd).ioasMap({ ioas: self.ioasId, userVa: self.buffer, length: BUFFER_SIZE, iova: MOCK_APERTURE_START });
      // read pages from the live child: the buffer is MAP_SHARED, so both see the same pages
      const dev = self.c.mockDomain(self.ioasId);
      self.c.mdCheckMap(dev.hwptId, MOCK_APERTURE_START, BUFFER_SIZE, self.buffer);
      checkAccessRw(self, self.c, access, MOCK_APERTURE_START, 0, 5);
      audit(self);
      child.exit();
      self.c.destroyAccess(access);
    });

    it(name('ioas_option_huge_pages'), () => {
      const self = setup(variant);
      const opt = (op: number, val64: bigint) =>
        self.c.raw(U.IOMMU_OPTION, U.iommu_option, { option_id: U.IOMMU_OPTION_HUGE_PAGES, op, val64, object_id: self.ioasId });
      let r = opt(U.IOMMU_OPTION_OP_GET, 3n);
      expect(r.rc).toBe(0);
      expect(r.out.val64).toBe(1n);
      expect(opt(U.IOMMU_OPTION_OP_SET, 0n).rc).toBe(0);
      r = opt(U.IOMMU_OPTION_OP_GET, 3n);
      expect(r.rc).toBe(0);
      expect(r.out.val64).toBe(0n);
      expectRc(EINVAL, opt(U.IOMMU_OPTION_OP_SET, 2n).rc);
      expect(opt(U.IOMMU_OPTION_OP_SET, 1n).rc).toBe(0);
      expect(self.c.getHugePages(self.ioasId)).toBe(true);
    });

    it(name('ioas_iova_alloc'), () => {
      const self = setup(variant);
      for (let length = 1; length !== PAGE_SIZE * 2; length++) {
        if (variant.mockDomains && length % MOCK_PAGE_SIZE) {
          expectRc(EINVAL, self.c.ioasMapRaw({ ioas: self.ioasId, userVa: self.buffer, length }).rc);
        } else {
          const iova = mapAuto(self, self.buffer, length);
          expect(unmap(self, iova, length)).toBe(BigInt(length));
        }
      }
    });

    it(name('ioas_align_change'), () => {
      const self = setup(variant);
      // the alignment cannot be raised while a domain and a map are present
      if (variant.mockDomains) return;
      const set = (val: boolean) => self.c.setHugePages(self.ioasId, val);
      const iopt = ctxOf(self.w).ioasList()[0].ioas.iopt;
      // raising to PAGE_SIZE works when everything is aligned
      mapFixed(self, self.buffer, PS, MOCK_APERTURE_START);
      set(false);
      expect(iopt.iovaAlignment).toBe(PAGE_SIZE);
      // misalignment is rejected at map time
      expectErrno(EINVAL, () => mapFixed(self, self.buffer + BigInt(MOCK_PAGE_SIZE), PS, MOCK_APERTURE_START + PS));
      set(false);
      // lower it again
      set(true);
      expect(iopt.iovaAlignment).toBe(1);
      // a misaligned area blocks the raise
      mapFixed(self, self.buffer + BigInt(MOCK_PAGE_SIZE), PS, MOCK_APERTURE_START + PS);
      expectErrno(EADDRINUSE, () => set(false));
      expect(self.c.getHugePages(self.ioasId)).toBe(true);
      expect(iopt.iovaAlignment).toBe(1);
      unmap(self, MOCK_APERTURE_START + PS, PS);
      unmap(self, MOCK_APERTURE_START, PS);
    });

    it(name('dmabuf_simple'), () => {
      const self = setup(variant);
      const bufSize = PAGE_SIZE * 4;
      const dfd = getDmabuf(self, bufSize);
      expect(dfd).toBeGreaterThanOrEqual(0);
      expectRc(EINVAL, mapFileRc(self, dfd, 0, 0).rc);
      expectRc(EINVAL, mapFileRc(self, dfd, bufSize, bufSize).rc);
      expectRc(EINVAL, mapFileRc(self, dfd, 0, bufSize + 1).rc);
      expect(mapFileRc(self, dfd, 0, bufSize).rc).toBe(0);
      expect(self.w.proc.close(dfd)).toBe(0);
      dropDmabufAreas(self);
    });

    it(name('dmabuf_revoke'), () => {
      const self = setup(variant);
      const bufSize = PAGE_SIZE * 4;
      const dfd = getDmabuf(self, bufSize);
      expect(dfd).toBeGreaterThanOrEqual(0);
      const m = mapFileRc(self, dfd, 0, bufSize);
      expect(m.rc).toBe(0);
      const revoke = (revoked: boolean) =>
        self.c.testCmd(U.IOMMU_TEST_OP_DMABUF_REVOKE, 0, { 'dmabuf_revoke.dmabuf_fd': dfd, 'dmabuf_revoke.revoked': revoked ? 1 : 0 }).rc;
      expect(revoke(true)).toBe(0);
      if (variant.mockDomains) self.c.hwptAlloc({ devId: self.deviceId, ptId: self.ioasId });
      expectRc(ENODEV, mapFileRc(self, dfd, 0, bufSize).rc);
      expect(revoke(false)).toBe(0);
      expect(mapFileRc(self, dfd, 0, bufSize).rc).toBe(0);
      // Restore the iova back
      unmap(self, m.iova, bufSize);
      expect(mapFileRc(self, dfd, 0, bufSize, m.iova, true).rc).toBe(0);
      expect(self.w.proc.close(dfd)).toBe(0);
      dropDmabufAreas(self);
    });

    it(name('copy_sweep'), () => {
      const self = setup(variant);
      const dst = self.c.ioasAlloc();
      const lastIova = variant.mockDomains ? MOCK_APERTURE_START + BigInt(BUFFER_SIZE) - 1n : MOCK_APERTURE_START + BigInt(BUFFER_SIZE) - 2n;
      mapFixed(self, self.buffer, lastIova - MOCK_APERTURE_START + 1n, MOCK_APERTURE_START);
      const length = BigInt(MOCK_PAGE_SIZE);
      let ok = 0;
      for (let iova = MOCK_APERTURE_START - PS; iova <= lastIova; iova += 511n) {
        const r = self.c.ioasCopyRaw({ dstIoas: dst, srcIoas: self.ioasId, srcIova: iova, dstIova: MOCK_APERTURE_START, length, flags: COPY_FLAGS });
        if (iova < MOCK_APERTURE_START || iova + length - 1n > lastIova) {
          expectRc(ENOENT, r.rc);
        } else {
          expect(r.rc).toBe(0);
          ok++;
          // the new area starts at that byte offset of the same pages
          const area = ctxOf(self.w).ioasList().find((e) => e.id === dst)!.ioas.iopt.areas()[0];
          expect(area.pageOffset).toBe(Number((iova - MOCK_APERTURE_START) % PS));
          expect(unmap(self, MOCK_APERTURE_START, length, dst)).toBe(length);
        }
      }
      expect(ok).toBeGreaterThan(100);
      self.c.destroy(dst);
    });
  });
}
