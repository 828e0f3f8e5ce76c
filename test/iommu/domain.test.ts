// SPDX-License-Identifier: GPL-2.0-only
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EINVAL } from '../../src/base/errno.js';
import { FaultRouter } from '../../src/base/fault.js';
import { WarnSink } from '../../src/base/warn.js';
import {
  type DomainContext,
  IOMMU_CACHE,
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_READ,
  IOMMU_WRITE,
  IommuDomain,
  iommuPgsize,
  type MemAccounting,
  pgsizesOf,
} from '../../src/iommu/index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** iommu_pgsize() written the way C computes it, on 64-bit bigints. */
function refPgsize(bitmap: bigint, iova: bigint, paddr: bigint, size: bigint): { pgsize: bigint; count: bigint } {
  const fls = (x: bigint) => BigInt(x.toString(2).length - 1);
  const ffs = (x: bigint) => {
    let i = 0n;
    while (((x >> i) & 1n) === 0n) i++;
    return i;
  };
  const genmask = (h: bigint) => (1n << (h + 1n)) - 1n;
  const addrMerge = paddr | iova;
  let pgsizes = bitmap & genmask(fls(size));
  if (addrMerge !== 0n) pgsizes &= genmask(ffs(addrMerge));
  if (pgsizes === 0n) throw new Error('BUG_ON');
  const idx = fls(pgsizes);
  const pgsize = 1n << idx;
  const bigger = bitmap & ~genmask(idx) & ((1n << 64n) - 1n);
  if (bigger !== 0n) {
    const next = 1n << ffs(bigger);
    if (((iova ^ paddr) & (next - 1n)) === 0n) {
      const offset = next - (addrMerge & (next - 1n));
      if (offset + next <= size) size = offset;
    }
  }
  return { pgsize, count: size >> idx };
}

/** A bare driver over a Map, to exercise the core alone. */
class MapDomain extends IommuDomain {
  readonly pages = new Map<number, number>();
  readonly calls: string[] = [];
  failAtCall = -1;
  failAfterPages = 0;
  private n = 0;
  constructor(ctx: DomainContext, bitmap: number, start = 0, end = 2 ** 48 - 1) {
    super(ctx, { pgsizeBitmap: bitmap, apertureStart: start, apertureEnd: end });
  }
  protected mapPages(iova: number, paddr: number, pgsize: number, pgcount: number, _prot: number, _acct: MemAccounting | undefined): number {
    this.calls.push(`map ${iova.toString(16)} ${pgsize.toString(16)}x${pgcount}`);
    const fail = this.n++ === this.failAtCall;
    for (let i = 0; i < pgcount; i++) {
      if (fail && i === this.failAfterPages) return -12;
      this.pages.set(iova + i * pgsize, paddr + i * pgsize);
      this.drvMapped += pgsize;
    }
    return 0;
  }
  protected unmapPages(iova: number, pgsize: number, pgcount: number): number {
    this.calls.push(`unmap ${iova.toString(16)} ${pgsize.toString(16)}x${pgcount}`);
    for (let i = 0; i < pgcount; i++) this.pages.delete(iova + i * pgsize);
    return pgsize * pgcount;
  }
  protected iovaToPhysDrv(iova: number): number {
    return this.pages.get(iova) ?? 0;
  }
  peekPhys(iova: number): number {
    return this.pages.get(iova) ?? -1;
  }
  protected freeDrv(): void {}
  readPfns(): number {
    return -1;
  }
  mappedBytes(): number {
    return 0;
  }
  heapBytes(): number {
    return 0;
  }
}

function ctx(): DomainContext & { warn: WarnSink } {
  return { warn: new WarnSink(), faults: new FaultRouter() };
}

describe('iommu core constants', () => {
  it('prot bits match include/linux/iommu.h', () => {
    expect([IOMMU_READ, IOMMU_WRITE, IOMMU_CACHE, IOMMU_NOEXEC, IOMMU_MMIO]).toEqual([1, 2, 4, 8, 16]);
  });
  it('pgsizesOf decomposes bitmaps beyond 32 bits', () => {
    expect(pgsizesOf(2048)).toEqual([2048]);
    expect(pgsizesOf(2048 + MiB)).toEqual([2048, MiB]);
    expect(pgsizesOf(4 * KiB + 2 * MiB + GiB + 512 * GiB)).toEqual([4 * KiB, 2 * MiB, GiB, 512 * GiB]);
    expect(pgsizesOf(0)).toEqual([]);
  });
});

describe('iommu_pgsize', () => {
  it('one page size: everything in one call', () => {
    expect(iommuPgsize(2048, 0x1000800, 0x5800, 0x3000)).toEqual({ pgsize: 2048, count: 6 });
  });
  it('stops small pages at the next large-page boundary when a large page fits after it', () => {
    // iova and paddr congruent mod 1 MiB, 2 KiB below a 1 MiB boundary
    expect(iommuPgsize(2048 + MiB, 0x10ff800, 0x2ff800, 0x800 + 2 * MiB)).toEqual({ pgsize: 2048, count: 1 });
    expect(iommuPgsize(2048 + MiB, 0x1100000, 0x300000, 2 * MiB)).toEqual({ pgsize: MiB, count: 2 });
    // not congruent: no large pages ever, everything small
    expect(iommuPgsize(2048 + MiB, 0x10ff800, 0x2fe800, 0x800 + 2 * MiB)).toEqual({ pgsize: 2048, count: 1 + 1024 });
    // boundary reachable but no whole large page after it
    expect(iommuPgsize(2048 + MiB, 0x10ff800, 0x2ff800, 0x800 + MiB - 2048)).toEqual({ pgsize: 2048, count: 512 });
  });
  it('agrees with the bit-level C algorithm (bigint reference)', () => {
    const bitmaps = [2048, 2048 + MiB, 4 * KiB + 2 * MiB + GiB, 4 * KiB + 64 * KiB + 2 * MiB + 512 * MiB + 512 * GiB];
    fc.assert(
      fc.property(
        fc.constantFrom(...bitmaps),
        fc.nat({ max: 2 ** 20 }),
        fc.nat({ max: 2 ** 20 }),
        fc.integer({ min: 1, max: 2 ** 22 }),
        fc.integer({ min: 0, max: 3 }),
        (bitmap, a, b, s, shiftSel) => {
          const min = pgsizesOf(bitmap)[0];
          const scale = [1, 2 ** 8, 2 ** 13, 2 ** 18][shiftSel];
          const iova = a * min * scale;
          const paddr = (shiftSel === 3 ? a : b) * min * scale;
          const size = s * min;
          if (iova + size > 2 ** 53 || paddr > 2 ** 53) return;
          const got = iommuPgsize(bitmap, iova, paddr, size);
          const ref = refPgsize(BigInt(bitmap), BigInt(iova), BigInt(paddr), BigInt(size));
          expect(got).toEqual({ pgsize: Number(ref.pgsize), count: Number(ref.count) });
        },
      ),
      { seed: 0x10c0, numRuns: 3000 },
    );
  });
});

describe('iommu_map / iommu_unmap core', () => {
  it('rejects unaligned requests with -EINVAL and size 0 is a no-op', () => {
    const c = ctx();
    const d = new MapDomain(c, 4 * KiB + 2 * MiB);
    expect(d.map(0x1800, 0x1000, 0x1000, IOMMU_READ)).toBe(-EINVAL);
    expect(d.map(0x1000, 0x1800, 0x1000, IOMMU_READ)).toBe(-EINVAL);
    expect(d.map(0x1000, 0x1000, 0x800, IOMMU_READ)).toBe(-EINVAL);
    expect(d.map(0x1000, 0x1000, 0, IOMMU_READ)).toBe(0);
    expect(d.calls).toEqual([]);
    expect(d.mapCalls).toBe(4);
    expect(d.unmap(0x1800, 0x1000)).toBe(0);
    expect(d.unmap(0x1000, 0)).toBe(0);
    expect(d.unmapCalls).toBe(2);
    expect(c.warn.warnings).toEqual([]);
  });
  it('one-page-size domains judge alignment of addresses above 2^32 on every bit (the common path uses the low 32)', () => {
    const d = new MapDomain(ctx(), 4 * KiB);
    expect(d.map(2 ** 33 + 0x800, 0x1000, 0x1000, IOMMU_READ)).toBe(-EINVAL);
    expect(d.map(0x1000, 2 ** 40 + 0x800, 0x1000, IOMMU_READ)).toBe(-EINVAL);
    expect(d.map(0x1000, 2 ** 40 + 2 ** 31 + 0x1000, 0x2000, IOMMU_READ)).toBe(0);
    expect(d.map(2 ** 33, 2 ** 45, 0x1000, IOMMU_READ)).toBe(0);
    expect(d.calls).toEqual(['map 1000 1000x2', 'map 200000000 1000x1']);
    expect(d.iovaToPhys(0x2000)).toBe(2 ** 40 + 2 ** 31 + 0x2000);
    expect(d.iovaToPhys(2 ** 33)).toBe(2 ** 45);
  });
  it('splits into driver calls by iommu_pgsize, unmaps the same way', () => {
    const d = new MapDomain(ctx(), 4 * KiB + 2 * MiB);
    expect(d.map(0x1ff000, 0x3ff000, 0x1000 + 4 * MiB + 0x2000, IOMMU_READ)).toBe(0);
    expect(d.calls).toEqual(['map 1ff000 1000x1', 'map 200000 200000x2', 'map 600000 1000x2']);
    expect(d.unmap(0x1ff000, 0x1000 + 4 * MiB + 0x2000)).toBe(0x1000 + 4 * MiB + 0x2000);
    expect(d.calls.slice(3)).toEqual(['unmap 1ff000 1000x1', 'unmap 200000 200000x2', 'unmap 600000 1000x2']);
    expect(d.pages.size).toBe(0);
  });
  it('undoes the partial progress of a failed request, without counting the undo', () => {
    const d = new MapDomain(ctx(), 4 * KiB + 2 * MiB);
    d.failAtCall = 1;
    d.failAfterPages = 1;
    expect(d.map(0x1ff000, 0x3ff000, 0x1000 + 4 * MiB, IOMMU_READ)).toBe(-12);
    // the failing call reported one 2 MiB page mapped: the undo covers it too
    expect(d.calls.slice(2)).toEqual(['unmap 1ff000 1000x1', 'unmap 200000 200000x1']);
    expect(d.pages.size).toBe(0);
    expect(d.mapCalls).toBe(1);
    expect(d.unmapCalls).toBe(0);
  });
  it('WARNs on a map outside the aperture (iommufd reserves it) and on use after free', () => {
    const c = ctx();
    const d = new MapDomain(c, 4096, 0x10000, 0x1ffff);
    expect(d.map(0xf000, 0, 0x2000, 0)).toBe(-EINVAL);
    expect(d.map(0x1f000, 0, 0x2000, 0)).toBe(-EINVAL);
    expect(d.map(0x1f000, 0, 0x1000, 0)).toBe(0);
    d.unmap(0x1f000, 0x1000);
    d.free();
    expect(d.map(0x10000, 0, 0x1000, 0)).toBe(-EINVAL);
    d.free();
    expect(c.warn.warnings.map((w) => w.assertion)).toEqual([
      'iommu_map.aperture',
      'iommu_map.aperture',
      'iommu_map.freed_domain',
      'iommu_domain_free.double_free',
    ]);
  });
  it('rejects bad geometry', () => {
    expect(() => new MapDomain(ctx(), 0)).toThrow(RangeError);
    expect(() => new MapDomain(ctx(), 4096, 10, 5)).toThrow(RangeError);
  });
});
