// SPDX-License-Identifier: GPL-2.0-only
/**
 * The 7.2 selftest mock domain on the generic IO page table (AMDv1 format):
 * page-size choice, PTE words in the tables, unmap that cannot split a leaf,
 * holes, iova_to_phys, dirty bits, table pages (charges, fault point,
 * freeing), the HUGE page-table type, and the choice between the two mocks.
 */
import { describe, expect, it } from 'vitest';
import { EADDRINUSE, EINVAL, ENOENT, ENOMEM, ENXIO, ERANGE } from '../../src/base/errno.js';
import { FailNth, FaultRouter } from '../../src/base/fault.js';
import { profileByName } from '../../src/base/profile.js';
import { WarnSink } from '../../src/base/warn.js';
import { IOMMU_DIRTY_NO_CLEAR } from '../../src/iommu/driver.js';
import { IOMMU_READ, IOMMU_WRITE, type MemAccounting, MOCK_APERTURE_LAST, MOCK_APERTURE_START, MockDomain } from '../../src/iommu/index.js';
import { FP_PT_TABLE_ALLOC, TABLE_PA_BASE } from '../../src/iommu/generic-pt/iommu-pt.js';
import { MockAmdv1Domain, createMockDomain } from '../../src/iommu/mock-domain.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const RW = IOMMU_READ | IOMMU_WRITE;
const A = MOCK_APERTURE_START;
/** A physical address aligned to 1 GiB, as the model's frames give them. */
const P = 0x40000000;

class TestMemcg implements MemAccounting {
  usage = 0;
  constructor(public limit = Number.POSITIVE_INFINITY) {}
  charge(bytes: number): boolean {
    if (this.usage + bytes > this.limit) return false;
    this.usage += bytes;
    return true;
  }
  uncharge(bytes: number): void {
    this.usage -= bytes;
    if (this.usage < 0) throw new Error('memcg usage went negative');
  }
}

function setup(huge = false) {
  const ctx = { warn: new WarnSink({ panicOnWarn: false }), faults: new FaultRouter() };
  const d = new MockAmdv1Domain(ctx, { huge });
  return { ctx, d };
}

/** The leaves as [iova, size, oa] in hex-free numbers. */
function leaves(d: MockAmdv1Domain): Array<[number, number, number]> {
  return d.leaves().map((l) => [l.iova, l.size, l.oa]);
}

describe('generic-pt AMDv1 mock domain', () => {
  it('geometry: DEFAULT has 2 KiB..64 GiB in the mock aperture; HUGE has 1 MiB | 4 KiB over the whole 2^38 table', () => {
    const { d } = setup();
    expect(d.pgsizeBitmap).toBe(0x1ffffff800);
    expect([d.apertureStart, d.apertureEnd]).toEqual([MOCK_APERTURE_START, MOCK_APERTURE_LAST]);
    expect(d.minPageSize).toBe(2048);
    const h = setup(true).d;
    expect(h.pgsizeBitmap).toBe(MiB + 4 * KiB);
    expect([h.apertureStart, h.apertureEnd]).toEqual([0, 2 ** 38 - 1]);
    // one top table page from the start
    expect(d.countNodes()).toBe(1);
    expect(d.tablePages()).toEqual([{ level: 2, iova: 0, pa: TABLE_PA_BASE, present: 0 }]);
  });

  it('map picks the largest leaf that fits each step: 2 MiB + 8 KiB aligned is one 2-item level-1 leaf and one 4-item level-0 leaf', () => {
    const { d, ctx } = setup();
    expect(d.map(A, P, 2 * MiB + 8 * KiB, RW)).toBe(0);
    expect(leaves(d)).toEqual([
      [A, 2 * MiB, P],
      [A + 2 * MiB, 8 * KiB, P + 2 * MiB],
    ]);
    const [big, small] = d.leaves();
    expect([big.level, big.items, big.pte]).toEqual([1, 2, '0x60000000801ffe01']);
    expect([small.level, small.items, small.pte]).toEqual([0, 4, '0x6000000080401e01']);
    // three table pages: the top, one level-1, one level-0 (for the 8 KiB leaf)
    expect(d.tablePages().map((t) => [t.level, t.present])).toEqual([
      [2, 1],
      [1, 3],
      [0, 4],
    ]);
    // every item of a contiguous leaf holds the same PTE
    expect(d.pt.pteAt(A + MiB, 1)).toEqual(d.pt.pteAt(A, 1));
    expect(d.mappedBytes()).toBe(2 * MiB + 8 * KiB);
    expect(d.storageProblems()).toEqual([]);
    expect(ctx.warn.warnings).toEqual([]);
  });

  it('IOVA and OA alignment limit the leaf: an OA off by 2 KiB gives 2 KiB leaves, by 4 KiB 4 KiB leaves', () => {
    const { d } = setup();
    expect(d.map(A, P + 2 * KiB, 8 * KiB, RW)).toBe(0);
    expect(d.leaves().map((l) => l.size)).toEqual([2048, 2048, 2048, 2048]);
    expect(d.map(A + MiB, P + 4 * KiB, 16 * KiB, RW)).toBe(0);
    expect(d.leaves().slice(4).map((l) => l.size)).toEqual([4096, 4096, 4096, 4096]);
    // a 2 KiB-aligned start climbs: 2K, 4K, 8K, then the rest
    expect(d.map(A + 2 * MiB + 2 * KiB, P + 2 * KiB, 14 * KiB + 16 * KiB, RW)).toBe(0);
    expect(d.leaves().slice(8).map((l) => [l.iova - A - 2 * MiB, l.size])).toEqual([
      [2 * KiB, 2 * KiB],
      [4 * KiB, 4 * KiB],
      [8 * KiB, 8 * KiB],
      [16 * KiB, 16 * KiB],
    ]);
    expect(d.storageProblems()).toEqual([]);
  });

  it('iova_to_phys: any offset inside a leaf; a hole or an IOVA past the table is 0 without a WARN', () => {
    const { d, ctx } = setup();
    expect(d.map(A, P, 2 * MiB, RW)).toBe(0);
    expect(d.iovaToPhys(A + 0x12345)).toBe(P + 0x12345);
    expect(d.iovaToPhys(A + 2 * MiB - 1)).toBe(P + 2 * MiB - 1);
    expect(d.iovaToPhys(A + 2 * MiB)).toBe(0);
    expect(d.iovaToPhys(2 ** 38)).toBe(0);
    expect(d.peekPhys(A + 2 * MiB)).toBe(-1);
    expect(d.peekPhys(A + 0x800)).toBe(P + 0x800);
    const out = new Uint32Array(3);
    expect(d.readPfns(A + 0x100, A, 3, out, 0)).toBe(3);
    expect([...out]).toEqual([P / 4096, P / 4096 + 1, P / 4096 + 2]);
    expect(ctx.warn.warnings).toEqual([]);
  });

  it('unmap cannot split a leaf: from its start it removes the whole leaf (more than asked); from inside it removes nothing', () => {
    const { d } = setup();
    expect(d.map(A, P, 2 * MiB, RW)).toBe(0);
    expect(d.unmap(A + 4 * KiB, 4 * KiB)).toBe(0);
    expect(d.mappedBytes()).toBe(2 * MiB);
    expect(d.unmap(A, 4 * KiB)).toBe(2 * MiB);
    expect(d.mappedBytes()).toBe(0);
    expect(d.iovaToPhys(A + MiB)).toBe(0);
    expect(d.storageProblems()).toEqual([]);
  });

  it('unmap stops at a hole and returns the bytes before it', () => {
    const { d } = setup();
    expect(d.map(A, P, 8 * KiB, RW)).toBe(0);
    expect(d.map(A + 16 * KiB, P + 16 * KiB, 8 * KiB, RW)).toBe(0);
    expect(d.unmap(A, 24 * KiB)).toBe(8 * KiB);
    expect(leaves(d)).toEqual([[A + 16 * KiB, 8 * KiB, P + 16 * KiB]]);
    expect(d.unmap(A, 8 * KiB)).toBe(0);
    expect(d.storageProblems()).toEqual([]);
  });

  it('table pages: charged 4 KiB each to the map memcg, freed when an unmap covers them whole, kept empty otherwise', () => {
    const { d } = setup();
    const cg = new TestMemcg();
    expect(d.map(A, P, 8 * KiB, RW, cg)).toBe(0);
    // a level-1 and a level-0 table below the (uncharged) top
    expect([d.countNodes(), cg.usage]).toEqual([3, 8192]);
    expect(d.unmap(A, 4 * KiB)).toBe(8 * KiB);
    // the unmap did not cover the level-0 table's 1 MiB: it stays, empty
    expect([d.countNodes(), cg.usage]).toEqual([3, 8192]);
    expect(d.map(A, P, 2 * KiB, RW, cg)).toBe(0);
    // an unmap over the whole table stops at its first hole: the table stays
    expect(d.unmap(A, MiB)).toBe(2 * KiB);
    expect([d.countNodes(), cg.usage]).toEqual([3, 8192]);
    // 512 leaves of 2 KiB (the OA is off by 2 KiB) fill it; a 1 MiB unmap covers it: freed and uncharged
    expect(d.map(A, P + 2 * KiB, MiB, RW, cg)).toBe(0);
    expect(d.leaves().length).toBe(512);
    expect(d.unmap(A, MiB)).toBe(MiB);
    expect([d.countNodes(), cg.usage]).toEqual([2, 4096]);
    // a later 1 MiB leaf replaces an empty level-0 table (clear_contig)
    expect(d.map(A, P, 2 * KiB, RW, cg)).toBe(0);
    expect(d.unmap(A + 0, 2 * KiB)).toBe(2 * KiB);
    expect(d.map(A, P, MiB, RW, cg)).toBe(0);
    expect([d.countNodes(), cg.usage]).toEqual([2, 4096]);
    expect(d.leaves().map((l) => [l.level, l.size])).toEqual([[1, MiB]]);
    d.unmap(A, MiB);
    d.free();
    expect(cg.usage).toBe(0);
    expect(d.countNodes()).toBe(0);
  });

  it('a failed table page (fail_nth, memcg limit) is -ENOMEM and the core takes back what the map did', () => {
    const { d, ctx } = setup();
    const task = new FailNth();
    ctx.faults.current = task;
    // a table is one page: only fail_page_alloc's min-order 0 fails it (the default 1 leaves single pages alone)
    ctx.faults.pageMinOrder = 0;
    expect(d.map(A + 1020 * KiB, P + 1020 * KiB, 8 * KiB, RW)).toBe(0);
    const before = d.leaves();
    // crossing into the next 1 MiB needs a new level-0 table: fail it
    task.arm(1);
    expect(d.map(A + MiB - 8 * KiB, P + 4 * MiB - 8 * KiB, 4 * KiB, RW)).toBe(0);
    expect(task.lastFailed).toBeUndefined();
    task.arm(1);
    expect(d.map(A + 2 * MiB - 4 * KiB, P + 8 * MiB - 4 * KiB, 8 * KiB, RW)).toBe(-ENOMEM);
    expect(task.lastFailed).toBe(FP_PT_TABLE_ALLOC);
    expect(d.leaves().length).toBe(before.length + 1);
    expect(d.iovaToPhys(A + 2 * MiB - 4 * KiB)).toBe(0);
    const cg = new TestMemcg(0);
    expect(d.map(A + 8 * MiB, P, 4 * KiB, RW, cg)).toBe(-ENOMEM);
    expect(cg.usage).toBe(0);
    expect(d.storageProblems()).toEqual([]);
    expect(ctx.warn.warnings).toEqual([]);
    // with the default min-order the same map passes no point
    ctx.faults.pageMinOrder = 1;
    task.arm(1);
    expect(d.map(A + 3 * MiB - 4 * KiB, P + 12 * MiB - 4 * KiB, 8 * KiB, RW)).toBe(0);
    expect(task.read()).toBe(1);
  });

  it('map over a present leaf is -EADDRINUSE without a WARN and leaves the old leaf', () => {
    const { d, ctx } = setup();
    expect(d.map(A, P, 4 * KiB, RW)).toBe(0);
    expect(d.map(A, P + MiB, 4 * KiB, RW)).toBe(-EADDRINUSE);
    // the 2 KiB leaf wanted at A + 2 KiB lands on the second item of the 4 KiB leaf
    expect(d.map(A + 2 * KiB, P + 2 * KiB, 2 * KiB, RW)).toBe(-EADDRINUSE);
    // a 4 KiB leaf beside it goes in; the next one collides: the core takes the first back
    expect(d.map(A + 4 * KiB, P + 4 * KiB, 4 * KiB, RW)).toBe(0);
    expect(d.unmap(A + 4 * KiB, 4 * KiB)).toBe(4 * KiB);
    expect(d.map(A - 4 * KiB + 8 * KiB, P + 4 * KiB, 8 * KiB, RW)).toBe(0);
    expect(d.unmap(A + 4 * KiB, 8 * KiB)).toBe(8 * KiB);
    expect(d.map(A + 8 * KiB, P, 4 * KiB, RW)).toBe(0);
    expect(d.map(A + 4 * KiB, P + 4 * KiB, 8 * KiB, RW)).toBe(-EADDRINUSE);
    expect(d.unmap(A + 8 * KiB, 4 * KiB)).toBe(4 * KiB);
    expect(leaves(d)).toEqual([[A, 4 * KiB, P]]);
    expect(ctx.warn.warnings).toEqual([]);
    expect(d.storageProblems()).toEqual([]);
  });

  it('dirty: set_dirty marks one item; a leaf is recorded from its item to its last item (one short, as 7.2) and cleaned whole', () => {
    const { d } = setup();
    d.dirtyOps = { setDirtyTracking: (e) => d.setDirtyTracking(e), readAndClearDirty: (i, s, f, b) => d.readAndClearDirty(i, s, f, b) };
    expect(d.map(A, P, 8 * KiB, RW)).toBe(0);
    expect(d.map(A + 8 * KiB, P + 10 * KiB, 2 * KiB, RW)).toBe(0);
    expect(d.setDirty(A + 6 * KiB)).toBe(0);
    expect(d.setDirty(A + 8 * KiB)).toBe(0);
    expect(d.setDirty(A + 64 * KiB)).toBe(-ENOENT);
    expect(d.countDirty()).toBe(2);
    expect(d.leaves().map((l) => l.dirty)).toEqual([true, true]);
    const got: number[][] = [];
    const record = (iova: number, len: number) => got.push([iova - A, len]);
    expect(d.readAndClearDirty(A, 16 * KiB, IOMMU_DIRTY_NO_CLEAR, { record })).toBe(0);
    // the 8 KiB leaf (4 items) reports 3 items from its first; the 2 KiB leaf its item
    expect(got).toEqual([
      [0, 6 * KiB],
      [8 * KiB, 2 * KiB],
    ]);
    expect(d.countDirty()).toBe(2);
    got.length = 0;
    expect(d.readAndClearDirty(A, 16 * KiB, 0, { record })).toBe(0);
    expect(got.length).toBe(2);
    expect(d.countDirty()).toBe(0);
    got.length = 0;
    expect(d.readAndClearDirty(A, 16 * KiB, 0, { record })).toBe(0);
    expect(got).toEqual([]);
    // make_range(): empty and out-of-table ranges
    expect(d.readAndClearDirty(A, 0, 0, { record })).toBe(-EINVAL);
    expect(d.readAndClearDirty(2 ** 38 - 2048, 4096, 0, { record })).toBe(-ERANGE);
    // the test op through the xarray-mock interface: 2 KiB index, counted always
    expect(d.markDirty(A / 2048 + 100)).toBe(true);
    expect(d.markDirty(A / 2048 + 1)).toBe(true);
    expect(d.countDirty()).toBe(1);
  });

  it('dirty from inside a leaf: the walk item to the last item; from the last item 0 bytes, the 7.2.13 hang (model-only WARN)', () => {
    const { ctx, d } = setup();
    expect(d.map(A, P, 2 * MiB, RW)).toBe(0); // two 1 MiB items at level 1
    expect(d.map(A + 4 * MiB, P + 8 * KiB, 8 * KiB, RW)).toBe(0); // four 2 KiB items at level 0
    expect(d.leaves().map((l) => [l.level, l.size, l.items])).toEqual([
      [1, 2 * MiB, 2],
      [0, 8 * KiB, 4],
    ]);
    expect(d.setDirty(A + 4 * KiB)).toBe(0);
    expect(d.setDirty(A + 4 * MiB + 6 * KiB)).toBe(0);
    const got: number[][] = [];
    const record = (iova: number, len: number) => got.push([iova - A, len]);
    const read = (from: number, len: number, flags = IOMMU_DIRTY_NO_CLEAR) => {
      got.length = 0;
      expect(d.readAndClearDirty(A + from, len, flags, { record })).toBe(0);
      return got.slice();
    };
    // from the first item: one item short; any item's D bit makes the leaf dirty
    expect(read(0, 2 * MiB)).toEqual([[0, MiB]]);
    expect(read(4 * MiB, 8 * KiB)).toEqual([[4 * MiB, 6 * KiB]]);
    // from the second and third of four items: to the last item
    expect(read(4 * MiB + 2 * KiB, 6 * KiB)).toEqual([[4 * MiB + 2 * KiB, 4 * KiB]]);
    expect(read(4 * MiB + 4 * KiB, 4 * KiB)).toEqual([[4 * MiB + 4 * KiB, 2 * KiB]]);
    expect(ctx.warn.warnings).toEqual([]);
    // from the last item: 0 bytes, which iova_bitmap_set() on 7.2.13 never returns from
    expect(read(MiB, MiB)).toEqual([[MiB, 0]]);
    expect(read(4 * MiB + 6 * KiB, 2 * KiB)).toEqual([[4 * MiB + 6 * KiB, 0]]);
    expect(ctx.warn.warnings.map((w) => [w.assertion, w.message])).toEqual([
      ['record_dirty.zero_length', '0 bytes of the dirty leaf at item 0x1100000: 7.2.13 loops forever in iova_bitmap_set()'],
      ['record_dirty.zero_length', '0 bytes of the dirty leaf at item 0x1401800: 7.2.13 loops forever in iova_bitmap_set()'],
    ]);
    // no bitmap (iopt_clear_dirty_data()): nothing is recorded, no hang, and the clear is whole
    expect(d.readAndClearDirty(A + MiB, MiB, 0, { record: undefined })).toBe(0);
    expect(ctx.warn.warnings.length).toBe(2);
    expect(d.leaves().map((l) => l.dirty)).toEqual([false, true]);
    // with panic_on_warn the read stops there
    ctx.warn.panicOnWarn = true;
    expect(() => d.readAndClearDirty(A + 4 * MiB + 6 * KiB, 2 * KiB, 0, { record })).toThrowError(/record_dirty\.zero_length/);
  });

  it("peekDirty (the snapshot's read): what NO_CLEAR records, from the last item too, with no WARN and no change count moved", () => {
    const { ctx, d } = setup();
    d.dirtyOps = { setDirtyTracking: (e) => d.setDirtyTracking(e), readAndClearDirty: (i, s, f, b) => d.readAndClearDirty(i, s, f, b) };
    expect(d.map(A + 4 * MiB, P + 8 * KiB, 8 * KiB, RW)).toBe(0);
    expect(d.setDirty(A + 4 * MiB + 6 * KiB)).toBe(0);
    ctx.warn.panicOnWarn = true;
    const changes = d.storageChanges;
    const got: number[][] = [];
    const record = (iova: number, len: number) => got.push([iova - A, len]);
    expect(d.peekDirty(A + 4 * MiB, 8 * KiB, record)).toBe(0);
    expect(d.peekDirty(A + 4 * MiB + 6 * KiB, 2 * KiB, record)).toBe(0);
    expect(got).toEqual([
      [4 * MiB, 6 * KiB],
      [4 * MiB + 6 * KiB, 0],
    ]);
    expect(ctx.warn.warnings).toEqual([]);
    expect(d.storageChanges).toBe(changes);
    expect(d.leaves().map((l) => l.dirty)).toEqual([true]);
    // the driver's own read from there still WARNs
    expect(() => d.readAndClearDirty(A + 4 * MiB + 6 * KiB, 2 * KiB, IOMMU_DIRTY_NO_CLEAR, { record })).toThrowError(/record_dirty\.zero_length/);
  });

  it('the xarray mock: a NO_CLEAR read leaves storageChanges as it was, a clearing read moves it', () => {
    const ctx = { warn: new WarnSink({ panicOnWarn: false }), faults: new FaultRouter() };
    const m = new MockDomain(ctx);
    m.dirtyOps = { setDirtyTracking: (e) => m.setDirtyTracking(e), readAndClearDirty: (i, s, f, b) => m.readAndClearDirty(i, s, f, b) };
    expect(m.setDirtyTracking(true)).toBe(0);
    expect(m.map(A, P, 8 * KiB, RW)).toBe(0);
    expect(m.markDirty(A / (2 * KiB))).toBe(true);
    const c0 = m.storageChanges;
    const got: number[][] = [];
    expect(m.peekDirty(A, 8 * KiB, (iova, len) => got.push([iova - A, len]))).toBe(0);
    expect(got).toEqual([[0, 2 * KiB]]);
    expect(m.storageChanges).toBe(c0);
    expect(m.readAndClearDirty(A, 8 * KiB, 0, { record: undefined })).toBe(0);
    expect(m.storageChanges).not.toBe(c0);
    expect(m.countDirty()).toBe(0);
  });

  it('HUGE: a 1 MiB-aligned range maps 1 MiB leaves at level 1; 4 KiB leaves elsewhere', () => {
    const { d } = setup(true);
    expect(d.map(0x100000, P, 2 * MiB + 4 * KiB, RW)).toBe(0);
    expect(d.leaves().map((l) => [l.level, l.size, l.items])).toEqual([
      [1, MiB, 1],
      [1, MiB, 1],
      [0, 4 * KiB, 2],
    ]);
    expect(d.entryAt(0x100000)?.huge).toBe(true);
    expect(d.entryAt(0x300000)?.huge).toBe(false);
    // 2 KiB is not a page size of the HUGE type: map_range finds no page size (7.2's core checks no alignment itself)
    expect(d.map(0x400000, P, 2 * KiB, RW)).toBe(-ENXIO);
    expect(setup().d.map(A + 1024, P, 2 * KiB, RW)).toBe(-ENXIO);
  });

  it('createMockDomain: the option, else the profile the context carries, else the xarray mock', () => {
    const base = { warn: new WarnSink({ panicOnWarn: false }), faults: new FaultRouter() };
    expect(createMockDomain(base)).not.toBeInstanceOf(MockAmdv1Domain);
    expect(createMockDomain(base, { pageTable: 'amdv1' })).toBeInstanceOf(MockAmdv1Domain);
    const latest = createMockDomain({ ...base, profile: { ...profileByName('latest')!, mockPageTable: 'amdv1' } } as typeof base);
    expect(latest).toBeInstanceOf(MockAmdv1Domain);
    // still a MockDomain for the selftest ops and the audit
    expect(latest).toBeInstanceOf(MockDomain);
    expect(createMockDomain({ ...base, profile: profileByName('v6.12') } as typeof base)).not.toBeInstanceOf(MockAmdv1Domain);
    expect(profileByName('v6.12')!.mockPageTable).toBe('xarray');
  });
});
