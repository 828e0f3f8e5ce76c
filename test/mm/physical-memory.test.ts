// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { FailNth, FaultRouter } from '../../src/base/fault.js';
import { WarnSink } from '../../src/base/warn.js';
import { PhysicalMemory } from '../../src/mm/physical-memory.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function armed(n: number): { faults: FaultRouter; nth: FailNth } {
  const faults = new FaultRouter();
  const nth = new FailNth();
  faults.current = nth;
  nth.arm(n);
  return { faults, nth };
}

describe('PhysicalMemory geometry and laziness', () => {
  it('a 16 GiB machine costs nothing until touched', () => {
    const p = new PhysicalMemory();
    expect(p.totalFrames).toBe(4 * 2 ** 20);
    expect(p.metadataBytes()).toBe(0);
    expect(p.framesInUse()).toBe(0);
    const pfn = p.allocFolio(0);
    expect(pfn).toBeGreaterThanOrEqual(0);
    // one 1 GiB region materialized: 8 bytes per frame plus block tables
    expect(p.metadataBytes()).toBeLessThan(2.2 * MiB);
  });

  it('rejects sizes that are not page multiples or too large', () => {
    expect(() => new PhysicalMemory(1000)).toThrow(RangeError);
    expect(() => new PhysicalMemory(2 ** 44)).toThrow(RangeError);
    expect(() => new PhysicalMemory(0)).toThrow(RangeError);
  });

  it('zero page sits just past RAM and reads as zeros', () => {
    const p = new PhysicalMemory(4 * MiB);
    expect(p.zeroPfn).toBe(1024);
    const buf = new Uint8Array(16).fill(7);
    p.read(p.zeroPfn, 100, buf, 0, 16);
    expect([...buf]).toEqual(new Array(16).fill(0));
    expect(p.refcount(p.zeroPfn)).toBe(1);
    p.pinFrame(p.zeroPfn);
    expect(p.pincount(p.zeroPfn)).toBe(0);
  });
});

describe('placement', () => {
  it('scattered order-0 allocations are rarely contiguous and depend only on the seed', () => {
    const a = new PhysicalMemory(256 * MiB, { seed: 5 });
    const b = new PhysicalMemory(256 * MiB, { seed: 5 });
    const c = new PhysicalMemory(256 * MiB, { seed: 6 });
    const pa: number[] = [];
    const pb: number[] = [];
    const pc: number[] = [];
    for (let i = 0; i < 2048; i++) {
      pa.push(a.allocFolio(0));
      pb.push(b.allocFolio(0));
      pc.push(c.allocFolio(0));
    }
    expect(pa).toEqual(pb);
    expect(pa).not.toEqual(pc);
    let adjacent = 0;
    for (let i = 1; i < pa.length; i++) if (pa[i] === pa[i - 1] + 1) adjacent++;
    expect(adjacent).toBeLessThan(pa.length / 20);
    expect(new Set(pa).size).toBe(pa.length);
  });

  it('linear layout hands out ascending frames', () => {
    const p = new PhysicalMemory(8 * MiB, { layout: 'linear' });
    const got = Array.from({ length: 600 }, () => p.allocFolio(0));
    expect(got).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(p.allocFolio(9)).toBe(1024);
  });

  it('huge folios are naturally aligned and described per frame', () => {
    const p = new PhysicalMemory(4 * GiB, { seed: 2 });
    for (let i = 0; i < 100; i++) p.allocFolio(0);
    const h9 = p.allocFolio(9);
    const h18 = p.allocFolio(18);
    expect(h9 % 512).toBe(0);
    expect(h18 % 2 ** 18).toBe(0);
    expect(p.folioOrder(h9 + 77)).toBe(9);
    expect(p.folioHead(h9 + 77)).toBe(h9);
    expect(p.folioOrder(h18 + 12345)).toBe(18);
    expect(p.folioHead(h18 + 12345)).toBe(h18);
    expect(p.framesInUse()).toBe(100 + 512 + 2 ** 18);
    expect(p.folioHead(p.totalFrames - 1)).toBe(-1);
  });

  it('small allocations leave whole 1 GiB regions for hugetlb', () => {
    const p = new PhysicalMemory(2 * GiB, { seed: 9 });
    for (let i = 0; i < 20000; i++) expect(p.allocFolio(0)).toBeGreaterThanOrEqual(0);
    expect(p.allocFolio(18)).toBeGreaterThanOrEqual(0);
    expect(p.allocFolio(18)).toBe(-1);
  });
});

describe('exhaustion and fault injection', () => {
  it('a 1 MiB machine runs out after 256 frames', () => {
    const p = new PhysicalMemory(MiB, { seed: 1 });
    for (let i = 0; i < 256; i++) expect(p.allocFolio(0)).toBeGreaterThanOrEqual(0);
    expect(p.allocFolio(0)).toBe(-1);
    expect(p.freeFrames()).toBe(0);
    expect(new PhysicalMemory(MiB).allocFolio(9)).toBe(-1);
  });

  it('order-0 allocations are not fault points by default (fail_page_alloc min-order 1)', () => {
    const { faults, nth } = armed(1);
    const p = new PhysicalMemory(64 * MiB, { faults });
    expect(p.allocFolio(0)).toBeGreaterThanOrEqual(0);
    expect(nth.read()).toBe(1);
    expect(p.allocFolio(9)).toBe(-1);
    expect(nth.read()).toBe(0);
    expect(nth.lastFailed?.cls).toBe('page');
    expect(p.allocFolio(9)).toBeGreaterThanOrEqual(0);
  });

  it('faultMinOrder 0 makes every allocation a fault point', () => {
    const { faults } = armed(2);
    const p = new PhysicalMemory(64 * MiB, { faults, faultMinOrder: 0 });
    expect(p.allocFolio(0)).toBeGreaterThanOrEqual(0);
    expect(p.allocFolio(0)).toBe(-1);
    expect(p.framesInUse()).toBe(1);
  });
});

describe('references', () => {
  it('frees a folio with its last reference', () => {
    const p = new PhysicalMemory(16 * MiB);
    const f = p.allocFolio(0);
    p.getFrame(f);
    p.pinFrame(f);
    expect(p.refcount(f)).toBe(2);
    expect(p.pincount(f)).toBe(1);
    p.putFrame(f);
    expect(p.isAllocated(f)).toBe(true);
    // foliosFreed moves with a free only (the fuzzer's fingerprint: allocating alone takes nothing held)
    expect(p.foliosFreed).toBe(0);
    p.unpinFrame(f, true);
    expect(p.isAllocated(f)).toBe(false);
    expect(p.framesInUse()).toBe(0);
    expect(p.foliosFreed).toBe(1);
    p.allocFolio(9);
    expect(p.foliosFreed).toBe(1);
  });

  it('huge folio totals: per-frame pins, PMD maps counted per frame, freed at zero', () => {
    const p = new PhysicalMemory(16 * MiB);
    const h = p.allocFolio(9);
    p.mapHuge(h);
    p.grabRange(h + 10, 5, true);
    expect(p.refcount(h + 10)).toBe(2);
    expect(p.refcount(h + 300)).toBe(1);
    expect(p.pincount(h + 12)).toBe(1);
    expect(p.folioPincount(h)).toBe(5);
    expect(p.folioRefcount(h)).toBe(6);
    p.unmapHuge(h);
    expect(p.isAllocated(h)).toBe(true);
    for (let k = 0; k < 5; k++) p.unpinFrame(h + 10 + k, k === 0);
    expect(p.isAllocated(h)).toBe(false);
    expect(p.framesInUse()).toBe(0);
  });

  it('underflow is a WARN', () => {
    const warn = new WarnSink();
    const p = new PhysicalMemory(16 * MiB, { warn });
    const f = p.allocFolio(0);
    p.getFrame(f);
    p.unpinFrame(f, false);
    expect(warn.warnings.map((w) => w.assertion)).toEqual(['unpin_user_page.underflow']);
    expect(p.refcount(f)).toBe(1);
  });
});

describe('contents', () => {
  it('never-written pages read as zeros, writes round-trip and mark dirty, freeing drops them', () => {
    const p = new PhysicalMemory(16 * MiB, { layout: 'linear' });
    const f = p.allocFolio(0);
    const out = new Uint8Array(8).fill(9);
    p.read(f, 4000, out, 0, 8);
    expect([...out]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(p.writtenPages()).toBe(0);
    p.write(f, 4090, new Uint8Array([1, 2, 3, 4, 5, 6]), 0, 6);
    expect(p.isDirty(f)).toBe(true);
    p.read(f, 4088, out, 0, 8);
    expect([...out]).toEqual([0, 0, 1, 2, 3, 4, 5, 6]);
    p.getFrame(f);
    p.putFrame(f);
    expect(p.writtenPages()).toBe(0);
    const g = p.allocFolio(0);
    expect(g).toBe(f);
    p.read(g, 4088, out, 0, 8);
    expect([...out]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('pages written whole with one byte share their contents until one of them is written in part', () => {
    const p = new PhysicalMemory(16 * MiB, { layout: 'linear' });
    const [a, b, c] = [p.allocFolio(0), p.allocFolio(0), p.allocFolio(0)];
    const full = (v: number): Uint8Array => new Uint8Array(4096).fill(v);
    p.write(a, 0, full(7), 0, 4096);
    p.write(b, 0, full(7), 0, 4096);
    expect(p.pageData(a)).toBe(p.pageData(b));
    p.copyFrame(c, a);
    expect(p.pageData(c)).toBe(p.pageData(a));
    // a partial write gives b its own copy: a and c keep reading 7s
    p.write(b, 100, new Uint8Array([1, 2]), 0, 2);
    expect(p.pageData(b)).not.toBe(p.pageData(a));
    const out = new Uint8Array(4);
    p.read(b, 99, out, 0, 4);
    expect([...out]).toEqual([7, 1, 2, 7]);
    p.read(a, 99, out, 0, 4);
    expect([...out]).toEqual([7, 7, 7, 7]);
    p.read(c, 4092, out, 0, 4);
    expect([...out]).toEqual([7, 7, 7, 7]);
    // a whole page of zeros holds nothing; one of mixed bytes its own copy
    p.write(a, 0, full(0), 0, 4096);
    expect(p.pageData(a)).toBeUndefined();
    const mixed = full(3);
    mixed[4095] = 4;
    p.write(a, 0, mixed, 0, 4096);
    expect(p.pageData(a)).toEqual(mixed);
    expect(p.pageData(a)).not.toBe(mixed);
    p.read(c, 0, out, 0, 4);
    expect([...out]).toEqual([7, 7, 7, 7]);
    expect(p.writtenPages()).toBe(3);
  });
});

describe('hugetlb pool', () => {
  it('reservations respect the pool limit and free blocks', () => {
    const p = new PhysicalMemory(16 * MiB, { hugetlbPages: { '2M': 3 } });
    expect(p.hugetlbReserve(9, 4)).toBe(false);
    expect(p.hugetlbReserve(9, 3)).toBe(true);
    expect(p.hugetlbStats(9)).toEqual({ limit: 3, inUse: 0, reserved: 3, surplus: 0 });
    expect(p.allocFolio(9, { hugetlb: true })).toBe(-1);
    const h = p.allocFolio(9, { hugetlb: true, reserved: true });
    expect(h).toBeGreaterThanOrEqual(0);
    expect(p.isHugetlb(h + 3)).toBe(true);
    expect(p.hugetlbStats(9)).toEqual({ limit: 3, inUse: 1, reserved: 2, surplus: 0 });
    p.hugetlbUnreserve(9, 2);
    p.mapHuge(h);
    p.unmapHuge(h);
    expect(p.hugetlbStats(9).inUse).toBe(0);
  });

  it('reserved blocks are kept from THP and order-0 allocations', () => {
    const p = new PhysicalMemory(8 * MiB, { seed: 3 });
    expect(p.hugetlbReserve(9, 4)).toBe(true);
    expect(p.allocFolio(9)).toBe(-1);
    expect(p.allocFolio(0)).toBe(-1);
    p.hugetlbUnreserve(9, 1);
    expect(p.allocFolio(0)).toBeGreaterThanOrEqual(0);
  });
});
