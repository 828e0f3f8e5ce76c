// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { EINVAL, ENOENT, ENOMEM } from '../../src/base/errno.js';
import { FailNth, FaultRouter } from '../../src/base/fault.js';
import { KernelWarning, WarnSink } from '../../src/base/warn.js';
import {
  createMockDomain,
  type DomainContext,
  FP_MOCK_MAP_PAGES,
  IOMMU_READ,
  IOMMU_WRITE,
  type MemAccounting,
  MOCK_APERTURE_LAST,
  MOCK_APERTURE_START,
  MOCK_HUGE_PAGE_SIZE,
  MOCK_IO_PAGE_SIZE,
  MockDomain,
  type MockDomainOptions,
  XA_NODE_SIZE,
} from '../../src/iommu/index.js';

const MiB = 1024 * 1024;
const RW = IOMMU_READ | IOMMU_WRITE;
const A = MOCK_APERTURE_START;

function mkCtx(panicOnWarn = false): DomainContext & { warn: WarnSink; faults: FaultRouter } {
  return { warn: new WarnSink({ panicOnWarn }), faults: new FaultRouter() };
}
function names(c: DomainContext): string[] {
  return c.warn.warnings.map((w) => w.assertion);
}
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
/** Records the driver calls the core makes. */
class SpyMock extends MockDomain {
  readonly calls: string[] = [];
  protected override mapPages(iova: number, paddr: number, pgsize: number, pgcount: number, prot: number, acct: MemAccounting | undefined): number {
    this.calls.push(`map ${iova.toString(16)} ${pgsize.toString(16)}x${pgcount}`);
    return super.mapPages(iova, paddr, pgsize, pgcount, prot, acct);
  }
  protected override unmapPages(iova: number, pgsize: number, pgcount: number): number {
    this.calls.push(`unmap ${iova.toString(16)} ${pgsize.toString(16)}x${pgcount}`);
    return super.unmapPages(iova, pgsize, pgcount);
  }
}
function setup(opts: MockDomainOptions = {}, panic = false) {
  const ctx = mkCtx(panic);
  return { ctx, d: new SpyMock(ctx, { accountNodes: true, ...opts }) };
}
function marks(d: MockDomain, iova: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const e = d.entryAt(iova + i * MOCK_IO_PAGE_SIZE);
    s += e === undefined ? '.' : e.start && e.last ? 'B' : e.start ? 'S' : e.last ? 'L' : '-';
  }
  return s;
}

describe('mock domain geometry', () => {
  it('has the selftest constants', () => {
    expect(MOCK_IO_PAGE_SIZE).toBe(2048);
    expect(MOCK_HUGE_PAGE_SIZE).toBe(MiB);
    expect(MOCK_APERTURE_START).toBe(0x1000000);
    expect(MOCK_APERTURE_LAST).toBe(0x7fffffff);
    expect(XA_NODE_SIZE).toBe(576);
    expect(FP_MOCK_MAP_PAGES).toMatchObject({ name: 'mock_domain_map_pages', cls: 'iommufd' });
    const d = createMockDomain(mkCtx());
    expect(d.pgsizeBitmap).toBe(2048);
    expect([d.apertureStart, d.apertureEnd]).toEqual([0x1000000, 0x7fffffff]);
    expect(d.minPageSize).toBe(2048);
    const h = createMockDomain(mkCtx(), { huge: true });
    expect(h.pgsizeBitmap).toBe(2048 + MiB);
    expect(h.huge).toBe(true);
  });
});

describe('mock map / unmap', () => {
  it('one map_pages per map: START on its first entry, LAST on its final one', () => {
    const { ctx, d } = setup();
    expect(d.map(A + 0x800, 0x5800, 0x2000, RW)).toBe(0);
    expect(d.calls).toEqual(['map 1000800 800x4']);
    expect(marks(d, A, 6)).toBe('.S--L.');
    expect(d.map(A + 0x3000, 0x9000, 0x800, RW)).toBe(0);
    expect(marks(d, A + 0x3000, 1)).toBe('B');
    expect(d.iovaToPhys(A + 0x800)).toBe(0x5800);
    expect(d.iovaToPhys(A + 0x2000)).toBe(0x7000);
    expect(d.entryAt(A + 0x2400)).toEqual({ paddr: 0x7000, start: false, last: true, huge: false });
    expect(d.countEntries()).toBe(5);
    expect(d.mappedBytes()).toBe(5 * 2048);
    expect(ctx.warn.warnings).toEqual([]);
  });

  it('a map into a leaf that already exists marks, counts and charges as a map that makes the leaf', () => {
    const { ctx, d } = setup();
    expect(d.map(A, 0x10000, 0x800, RW)).toBe(0);
    const nodes = d.countNodes();
    // same 64-entry leaf, nothing mapped there yet
    expect(d.map(A + 0x4000, 0x20000, 0x2000, RW)).toBe(0);
    expect(marks(d, A + 0x4000, 5)).toBe('S--L.');
    expect(d.iovaToPhys(A + 0x5800)).toBe(0x21800);
    expect(d.countEntries()).toBe(5);
    expect(d.countNodes()).toBe(nodes);
    expect(d.mapCalls).toBe(2);
    // a map reaching into the next leaf and one over a live entry take the full path, same marks
    expect(d.map(A + 0x1f000, 0x30000, 0x2000, RW)).toBe(0);
    expect(marks(d, A + 0x1f000, 4)).toBe('S--L');
    expect(d.countNodes()).toBe(nodes + 1);
    expect(d.map(A, 0x40000, 0x800, RW)).toBe(0);
    expect(names(ctx)).toEqual(['mock_domain_map_pages.overwrite']);
    expect(d.iovaToPhys(A)).toBe(0x40000);
  });

  it('unmapping exactly an earlier map is clean and frees the storage', () => {
    const { ctx, d } = setup();
    d.map(A + 0x800, 0x5800, 0x2000, RW);
    d.map(A + 0x2800, 0x1000, 0x1000, RW);
    expect(d.unmap(A + 0x800, 0x2000)).toBe(0x2000);
    expect(d.unmap(A + 0x2800, 0x1000)).toBe(0x1000);
    expect(d.countEntries()).toBe(0);
    expect(d.countNodes()).toBe(0);
    expect(ctx.warn.warnings).toEqual([]);
  });

  it('a union of adjacent whole maps may be unmapped at once', () => {
    const { ctx, d } = setup();
    d.map(A, 0x10000, 0x1000, RW);
    d.map(A + 0x1000, 0x40000, 0x3000, RW);
    expect(d.unmap(A, 0x4000)).toBe(0x4000);
    expect(ctx.warn.warnings).toEqual([]);
  });

  it('an unmap ending inside a map WARNs on LAST, one starting inside WARNs on START', () => {
    const { ctx, d } = setup();
    d.map(A, 0x10000, 0x4000, RW);
    expect(d.unmap(A, 0x2000)).toBe(0x2000);
    expect(names(ctx)).toEqual(['mock_domain_unmap.last']);
    expect(d.unmap(A + 0x2000, 0x2000)).toBe(0x2000);
    expect(names(ctx)).toEqual(['mock_domain_unmap.last', 'mock_domain_unmap.start']);
    expect(d.countEntries()).toBe(0);
  });

  it('START and LAST share one bit, as in the kernel: a cut on two map edges passes', () => {
    const { ctx, d } = setup();
    d.map(A, 0x10000, 0x1000, RW);
    d.map(A + 0x1000, 0x20000, 0x1000, RW);
    // first unmapped entry was a LAST, the final one a START: no WARN in the kernel either
    expect(d.unmap(A + 0x800, 0x1000)).toBe(0x1000);
    expect(ctx.warn.warnings).toEqual([]);
    expect(marks(d, A, 4)).toBe('S..L');
  });

  it('with panic_on_warn the split unmap throws a KernelWarning', () => {
    const { d } = setup({}, true);
    d.map(A, 0x10000, 0x4000, RW);
    let err: unknown;
    try {
      d.unmap(A + 0x800, 0x800);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelWarning);
    expect((err as KernelWarning).assertion).toBe('mock_domain_unmap.start');
  });

  it('missing entries: skipped silently (v6.7+), WARNed with warnUnmapMissing (v6.2–v6.6)', () => {
    const lenient = setup();
    expect(lenient.d.unmap(A, 0x1000)).toBe(0x1000);
    expect(lenient.ctx.warn.warnings).toEqual([]);
    const strict = setup({ warnUnmapMissing: true });
    expect(strict.d.warnUnmapMissing).toBe(true);
    expect(strict.d.unmap(A, 0x1000)).toBe(0x1000);
    expect(names(strict.ctx)).toEqual([
      'mock_domain_unmap.missing',
      'mock_domain_unmap.start',
      'mock_domain_unmap.missing',
      'mock_domain_unmap.last',
    ]);
  });

  it('whole leaves inside an unmap, full, sparse or empty, are erased by their counts; neighbours stay', () => {
    const { ctx, d } = setup();
    // 2 KiB entries: a leaf is 64 of them (128 KiB). Maps: one before the
    // range, the range's first map, a full leaf, a sparse leaf, an empty
    // leaf, the range's last map, one after.
    const leaf = 64 * MOCK_IO_PAGE_SIZE;
    d.map(A, 0x100000, 0x1000, RW);
    d.map(A + 0x1000, 0x200000, 0x1000, RW);
    d.map(A + leaf, 0x300000, leaf, RW);
    d.map(A + 2 * leaf + 0x3000, 0x500000, 0x1000, RW);
    d.map(A + 2 * leaf + 0x10000, 0x600000, 0x2000, RW);
    d.map(A + 4 * leaf, 0x700000, 0x1000, RW);
    d.map(A + 4 * leaf + 0x1000, 0x800000, 0x1000, RW);
    const before = d.countEntries();
    expect(d.unmap(A + 0x1000, 4 * leaf)).toBe(4 * leaf);
    expect(ctx.warn.warnings).toEqual([]);
    expect(d.countEntries()).toBe(before - 2 - 64 - 2 - 4 - 2);
    expect(d.entryAt(A)).toEqual({ paddr: 0x100000, start: true, last: false, huge: false });
    expect(d.entryAt(A + 4 * leaf + 0x1000)).toEqual({ paddr: 0x800000, start: true, last: false, huge: false });
    for (let iova = A + 0x1000; iova < A + 4 * leaf + 0x1000; iova += MOCK_IO_PAGE_SIZE) expect(d.entryAt(iova)).toBeUndefined();
    // what is left: the first and the last leaf, under one L1 and one L2 node
    expect(d.countNodes()).toBe(4);
    expect(d.unmap(A, 0x1000)).toBe(0x1000);
    expect(d.unmap(A + 4 * leaf + 0x1000, 0x1000)).toBe(0x1000);
    expect([d.countEntries(), d.countNodes()]).toEqual([0, 0]);
  });

  it('an unmap over a large sparse range erases only what is there', () => {
    const { ctx, d } = setup();
    d.map(A + 300 * MiB, 0x10000, 0x1000, RW);
    d.map(A + 700 * MiB, 0x20000, 0x1000, RW);
    expect(d.unmap(A + 300 * MiB, 0x60000000)).toBe(0x60000000);
    expect(d.countEntries()).toBe(0);
    expect(d.countNodes()).toBe(0);
    expect(ctx.warn.warnings).toEqual([]);
  });

  it('rejects unaligned maps with -EINVAL before reaching the driver', () => {
    const { ctx, d } = setup();
    expect(d.map(A + 0x400, 0, 0x800, RW)).toBe(-EINVAL);
    expect(d.map(A, 0x400, 0x800, RW)).toBe(-EINVAL);
    expect(d.map(A, 0, 0xc00, RW)).toBe(-EINVAL);
    expect(d.map(A, 0, 0, RW)).toBe(0);
    expect(d.unmap(A + 0x400, 0x800)).toBe(0);
    expect(d.calls).toEqual([]);
    expect(d.countEntries()).toBe(0);
    expect(ctx.warn.warnings).toEqual([]);
  });

  it('overwriting a live entry stores it and WARNs (xa_store + WARN_ON(old))', () => {
    const { ctx, d } = setup();
    d.map(A, 0x10000, 0x1000, RW);
    expect(d.map(A + 0x800, 0x90000, 0x1000, RW)).toBe(0);
    expect(names(ctx)).toEqual(['mock_domain_map_pages.overwrite']);
    expect(d.iovaToPhys(A + 0x800)).toBe(0x90000);
    expect(d.countEntries()).toBe(3);
  });

  it('a live entry part way through a map into an existing leaf: stores before it are taken back, one WARN, full-path result', () => {
    const { ctx, d } = setup();
    expect(d.map(A + 0x1000, 0x10000, 0x800, RW)).toBe(0);
    // A and A+0x800 are free, A+0x1000 is live: the fast path stores two entries, meets the third, undoes
    expect(d.map(A, 0x90000, 0x1800, RW)).toBe(0);
    expect(names(ctx)).toEqual(['mock_domain_map_pages.overwrite']);
    expect(marks(d, A, 4)).toBe('S-L.');
    expect([d.iovaToPhys(A), d.iovaToPhys(A + 0x800), d.iovaToPhys(A + 0x1000)]).toEqual([0x90000, 0x90800, 0x91000]);
    expect(d.countEntries()).toBe(3);
    expect(d.mappedBytes()).toBe(0x1800);
  });

  it('an overwrite inside a map across leaves: one WARN, the entry replaced, marks on the ends; with panic_on_warn the marks so far stay', () => {
    const { ctx, d } = setup();
    expect(d.map(A + 0x20000, 0x10000, 0x800, RW)).toBe(0);
    expect(d.map(A + 0x1f000, 0x90000, 0x2000, RW)).toBe(0);
    expect(ctx.warn.warnings.map((w) => `${w.assertion} ${w.message}`)).toEqual([`mock_domain_map_pages.overwrite iova 0x${(A + 0x20000).toString(16)} was already mapped`]);
    expect(marks(d, A + 0x1f000, 4)).toBe('S--L');
    expect(d.iovaToPhys(A + 0x20000)).toBe(0x91000);
    expect(d.countEntries()).toBe(4);

    const p = setup({}, true);
    expect(p.d.map(A + 0x20000, 0x10000, 0x800, RW)).toBe(0);
    expect(() => p.d.map(A + 0x1f000, 0x90000, 0x2000, RW)).toThrow(KernelWarning);
    expect(marks(p.d, A + 0x1f000, 4)).toBe('S--.');
    expect(p.d.iovaToPhys(A + 0x20000)).toBe(0x91000);
    expect(p.d.countEntries()).toBe(3);
  });

  it('counts iommu_map / iommu_unmap calls', () => {
    const { d } = setup();
    d.map(A, 0, 0x1000, RW);
    d.map(A + 0x1000, 0, 0x1000, RW);
    d.unmap(A, 0x2000);
    expect([d.mapCalls, d.unmapCalls]).toEqual([2, 1]);
  });
});

describe('mock fault injection and rollback', () => {
  it('an armed fail_nth fails map_pages with -ENOENT before touching anything', () => {
    const { ctx, d } = setup();
    d.map(A, 0x10000, 0x1000, RW);
    const f = new FailNth();
    f.arm(1);
    ctx.faults.current = f;
    expect(d.map(A + 0x1000, 0x20000, 0x4000, RW)).toBe(-ENOENT);
    expect(f.lastFailed).toBe(FP_MOCK_MAP_PAGES);
    expect(f.read()).toBe(0);
    expect(d.countEntries()).toBe(2);
    expect(d.entryAt(A + 0x1000)).toBeUndefined();
    expect(d.map(A + 0x1000, 0x20000, 0x4000, RW)).toBe(0);
    expect(ctx.warn.warnings).toEqual([]);
  });

  it('the huge variant passes the point once per map_pages call, then one per xarray node its stores make, and rolls back earlier calls', () => {
    const { ctx, d } = setup({ huge: true });
    const iova = A + MiB - 0x1000;
    const size = 0x1000 + 2 * MiB + 0x1000;
    const counted = new FailNth();
    ctx.faults.current = counted;
    d.map(iova, 0x300000 - 0x1000, size, RW);
    expect(d.calls).toEqual(['map 10ff000 800x2', 'map 1100000 100000x2', 'map 1300000 800x2']);
    // 3 map_pages points; nodes: the first call's leaf, the node over it and the root (an empty tree), the
    // 2 MiB's 16 leaves, the last call's leaf
    expect(counted.passed).toBe(3 + 3 + 16 + 1);
    expect(d.unmap(iova, size)).toBe(size);
    d.calls.length = 0;
    const f = new FailNth();
    // the third map_pages call's point comes after the first call's 3 nodes and the second's 16
    f.arm(1 + 3 + 1 + 16 + 1);
    ctx.faults.current = f;
    expect(d.map(iova, 0x300000 - 0x1000, size, RW)).toBe(-ENOENT);
    expect(f.lastFailed).toBe(FP_MOCK_MAP_PAGES);
    expect(f.passed).toBe(22);
    expect(d.calls).toEqual([
      'map 10ff000 800x2',
      'map 1100000 100000x2',
      'map 1300000 800x2',
      'unmap 10ff000 800x2',
      'unmap 1100000 100000x2',
    ]);
    expect(d.countEntries()).toBe(0);
    expect(ctx.warn.warnings).toEqual([]);
    expect([d.mapCalls, d.unmapCalls]).toEqual([2, 1]);
  });
});

describe("mock->pfns nodes (6.12's xarray)", () => {
  it('a store that first reaches index 2^18 grows the tree a fourth level: its path and the new root', () => {
    const { ctx, d } = setup();
    const f = new FailNth();
    ctx.faults.current = f;
    const passes = (iova: number, size: number): number => {
      const before = f.passed;
      expect(d.map(iova, 0x100000, size, RW)).toBe(0);
      return f.passed - before;
    };
    // an empty tree: map_pages' point, then a leaf, the node over it and the root (indexes past 8192: 3 levels)
    expect(passes(A, 0x1000)).toBe(1 + 3);
    // 1 MiB at 512 MiB, index 2^18 on: map_pages, 8 leaves, the node over them, a level-3 node past block 0
    // and the root of a fourth level
    expect(passes(2 ** 29, MiB)).toBe(1 + 8 + 1 + 1 + 1);
    // the fourth level stays while an index past 2^18 is there: another block past it makes no new root
    expect(passes(2 ** 30, 0x1000)).toBe(1 + 1 + 1 + 1);
    // gone from past 2^18, the tree is three levels again (xas_shrink()), and growing costs the root anew
    expect(d.unmap(2 ** 29, MiB)).toBe(MiB);
    expect(d.unmap(2 ** 30, 0x1000)).toBe(0x1000);
    expect(passes(2 ** 29, 0x1000)).toBe(1 + 1 + 1 + 1 + 1);
  });
});

describe('mock read-back', () => {
  it('iova_to_phys and readPfns with a 2 KiB page offset', () => {
    const { ctx, d } = setup();
    // uptr = P + 2048, 8192 bytes at iova 0x1000800: indexes 0..2 as in kernel-core.md §9
    expect(d.map(A + 0x800, 0x5800, 0x2000, RW)).toBe(0);
    const out = new Uint32Array(5).fill(99);
    expect(d.readPfns(A + 0x800, A, 3, out, 1)).toBe(3);
    expect([...out]).toEqual([99, 5, 6, 7, 99]);
    expect(d.iovaToPhys(A + 0x800)).toBe(0x5800);
    expect(ctx.warn.warnings).toEqual([]);
  });

  it('readPfns agrees with iovaToPhys page by page', () => {
    const { d } = setup();
    d.map(A, 0x100000, 0x3000, RW);
    d.map(A + 0x3000, 0x777000, 0x3000, RW);
    const out = new Uint32Array(6);
    expect(d.readPfns(A, A, 6, out, 0)).toBe(6);
    for (let k = 0; k < 6; k++) expect(out[k]).toBe(Math.floor(d.iovaToPhys(A + k * 4096) / 4096));
  });

  it('a hole WARNs: iovaToPhys returns 0, readPfns reads PFN 0 for it', () => {
    const { ctx, d } = setup();
    d.map(A, 0x100000, 0x1000, RW);
    expect(d.iovaToPhys(A + 0x1000)).toBe(0);
    const out = new Uint32Array(2);
    expect(d.readPfns(A, A, 2, out, 0)).toBe(2);
    expect([...out]).toEqual([0x100, 0]);
    expect(names(ctx)).toEqual(['mock_domain_iova_to_phys.missing', 'mock_domain_iova_to_phys.missing']);
    expect(d.iovaToPhys(A + 0x400)).toBe(0x100000);
    expect(names(ctx)[2]).toBe('mock_domain_iova_to_phys.unaligned');
  });
});

it('the later mock (warnIovaToPhysMissing: false) reads a hole as 0 without a WARN', () => {
  const { ctx, d } = setup({ warnIovaToPhysMissing: false });
  d.map(A, 0x100000, 0x1000, RW);
  const out = new Uint32Array(2);
  expect(d.readPfns(A, A, 2, out, 0)).toBe(2);
  expect([...out]).toEqual([0x100, 0]);
  expect(d.iovaToPhys(A + 0x1000)).toBe(0);
  expect(names(ctx)).toEqual([]);
});

describe('mock huge variant', () => {
  it('uses 1 MiB pages where iova and paddr allow, tags them HUGE, and skips the START/LAST checks', () => {
    const { ctx, d } = setup({ huge: true });
    expect(d.map(A + MiB, 0x40000000, 2 * MiB, RW)).toBe(0);
    expect(d.calls).toEqual(['map 1100000 100000x2']);
    expect(d.entryAt(A + MiB)).toEqual({ paddr: 0x40000000, start: true, last: false, huge: true });
    expect(d.entryAt(A + 2 * MiB)).toEqual({ paddr: 0x40100000, start: false, last: false, huge: true });
    expect(d.entryAt(A + 3 * MiB - 2048)?.last).toBe(true);
    // misaligned paddr: small pages only
    expect(d.map(A + 4 * MiB, 0x40000800, MiB, RW)).toBe(0);
    expect(d.calls[1]).toBe('map 1400000 800x512');
    expect(d.entryAt(A + 4 * MiB)?.huge).toBe(false);
    // a cut through the middle of a map does not WARN in the huge variant
    expect(d.unmap(A + MiB + 0x800, 0x1000)).toBe(0x1000);
    expect(ctx.warn.warnings).toEqual([]);
  });
});

describe('mock memcg accounting (GFP_KERNEL_ACCOUNT)', () => {
  it('charges xa_nodes when a map needs them and uncharges when they empty', () => {
    const { d } = setup();
    const cg = new TestMemcg();
    d.map(A, 0x1000, 0x800, RW, cg);
    expect(cg.usage).toBe(3 * XA_NODE_SIZE);
    expect(d.countNodes()).toBe(3);
    d.map(A + 0x800, 0x2000, 0x800, RW, cg);
    expect(cg.usage).toBe(3 * XA_NODE_SIZE);
    // next 64-entry leaf
    d.map(A + 64 * 2048, 0x3000, 0x800, RW, cg);
    expect(cg.usage).toBe(4 * XA_NODE_SIZE);
    d.unmap(A, 0x800);
    expect(cg.usage).toBe(4 * XA_NODE_SIZE);
    d.unmap(A + 0x800, 0x800);
    expect(cg.usage).toBe(3 * XA_NODE_SIZE);
    d.unmap(A + 64 * 2048, 0x800);
    expect(cg.usage).toBe(0);
    expect(d.heapBytes()).toBeGreaterThan(0);
  });

  it('charges nothing without a memcg or with accountNodes: false', () => {
    const { d } = setup();
    d.map(A, 0x1000, 0x800, RW);
    const cg = new TestMemcg();
    const { d: d2 } = setup({ accountNodes: false });
    d2.map(A, 0x1000, 0x800, RW, cg);
    expect(cg.usage).toBe(0);
    expect(d2.countNodes()).toBe(3);
  });

  it('uncharges each node to the memcg that paid for it', () => {
    const { d } = setup();
    const a = new TestMemcg();
    const b = new TestMemcg();
    d.map(A, 0x1000, 0x800, RW, a);
    d.map(A + 64 * 2048, 0x3000, 0x800, RW, b);
    expect([a.usage, b.usage]).toEqual([3 * XA_NODE_SIZE, XA_NODE_SIZE]);
    d.unmap(A, 0x800);
    expect([a.usage, b.usage]).toEqual([2 * XA_NODE_SIZE, XA_NODE_SIZE]);
    d.unmap(A + 64 * 2048, 0x800);
    expect([a.usage, b.usage]).toEqual([0, 0]);
  });

  it('a failed charge makes map return -ENOMEM and leaves domain and memcg as they were', () => {
    const { ctx, d } = setup();
    const cg = new TestMemcg(4 * XA_NODE_SIZE);
    expect(d.map(A + MiB, 0x1000, 0x800, RW, cg)).toBe(0);
    const before = cg.usage;
    // 130 entries from A span three 64-entry leaves; the memcg has room for one more node
    expect(d.map(A, 0x100000, 130 * 2048, RW, cg)).toBe(-ENOMEM);
    expect(cg.usage).toBe(before);
    expect(d.countEntries()).toBe(1);
    expect(d.entryAt(A)).toBeUndefined();
    expect(ctx.warn.warnings).toEqual([]);
  });

  it('v6.2–v6.6 quirk: the core re-unmaps what map_pages already erased, WARNing on the holes', () => {
    // mock_domain_map_pages counts the entries it stored in *mapped and then erases
    // them on the xa_store error; iommu_map unmaps that many bytes again.
    const { ctx, d } = setup({ warnUnmapMissing: true });
    const cg = new TestMemcg(3 * XA_NODE_SIZE);
    expect(d.map(A, 0x100000, 65 * 2048, RW, cg)).toBe(-ENOMEM);
    expect(d.countEntries()).toBe(0);
    expect(cg.usage).toBe(0);
    const n = names(ctx);
    expect(n[0]).toBe('mock_domain_unmap.missing');
    expect(n[1]).toBe('mock_domain_unmap.start');
    expect(n.at(-1)).toBe('mock_domain_unmap.last');
    expect(n.filter((x) => x === 'mock_domain_unmap.missing').length).toBe(64);
  });
});

describe('mock domain free', () => {
  it('WARNs when entries remain', () => {
    const { ctx, d } = setup();
    d.map(A, 0x1000, 0x800, RW);
    d.free();
    expect(names(ctx)).toEqual(['mock_domain_free.not_empty']);
    expect(d.isFreed).toBe(true);
  });
  it('is silent when empty', () => {
    const { ctx, d } = setup();
    d.map(A, 0x1000, 0x800, RW);
    d.unmap(A, 0x800);
    d.free();
    expect(ctx.warn.warnings).toEqual([]);
  });
});

describe('mapRuns: the batch_to_domain fast path', () => {
  /** batch_to_domain's loop on a domain: runs through mapRuns where it takes them, the rest through map(). */
  function mapBatch(d: MockDomain, pfns: number[], npfns: number[], iova: number, lastIova: number, fast: boolean): number {
    const p = Uint32Array.from(pfns);
    const n = Uint32Array.from(npfns);
    let next = iova;
    for (let cur = 0; cur < p.length; cur++) {
      if (fast) {
        cur = d.mapRuns(p, n, cur, p.length, iova, lastIova);
        iova = next = d.runsEndIova;
        if (cur === p.length) break;
      }
      next = Math.min(lastIova + 1, next + n[cur] * 0x1000);
      const rc = d.map(iova, p[cur] * 0x1000, next - iova, RW);
      if (rc !== 0) return rc;
      iova = next;
    }
    return 0;
  }
  /** Every 2 KiB entry of [from, to), the counters and the WARNs, for comparing two domains. */
  function snapshot(ctx: ReturnType<typeof mkCtx>, d: MockDomain, f: FailNth, from: number, to: number) {
    const entries = [];
    for (let iova = from; iova < to; iova += MOCK_IO_PAGE_SIZE) entries.push(d.entryAt(iova));
    return { entries, mapCalls: d.mapCalls, passed: f.passed, nodes: d.countNodes(), count: d.countEntries(), warns: names(ctx) };
  }

  // Scattered single pages, a 40-page run crossing leaves, a run onto a live
  // entry (an overwrite), more single pages into a fresh 1 MiB chunk, and a
  // last run cut short by lastIova.
  const pfns = [0x501, 0x777, 0x123, 0x9000, 0x40, 0x41, 0x300, 0x2222, 0x17];
  const npfns = [1, 1, 1, 40, 1, 1, 1, 1, 8];
  const total = npfns.reduce((a, b) => a + b, 0);
  const iova = A + MiB - 0x6000;
  const lastIova = iova + (total - 5) * 0x1000 - 1;

  function run(fast: boolean) {
    const ctx = mkCtx();
    const d = new MockDomain(ctx);
    const f = new FailNth();
    ctx.faults.current = f;
    // the live entry the seventh run lands on
    const live = iova + 46 * 0x1000;
    expect(d.map(live, 0xabc000, 0x1000, RW)).toBe(0);
    const rc = mapBatch(d, pfns, npfns, iova, lastIova, fast);
    return { rc, snap: snapshot(ctx, d, f, iova - 0x1000, iova + (total + 1) * 0x1000) };
  }

  it('leaves the domain, the map call count, the fault point passes and the WARNs as a map() per run does', () => {
    const fast = run(true);
    const slow = run(false);
    expect(fast.rc).toBe(0);
    expect(fast).toEqual(slow);
    expect(fast.snap.mapCalls).toBe(1 + pfns.length);
    // a point per map_pages call and per xarray node made: the live entry's leaf, the node over it and the
    // root, then the two leaves the runs go on into
    expect(fast.snap.nodes).toBe(5);
    expect(fast.snap.passed).toBe(1 + pfns.length + fast.snap.nodes);
    expect(fast.snap.warns).toEqual(['mock_domain_map_pages.overwrite', 'mock_domain_map_pages.overwrite']);
    // the cut run maps 3 of its 8 pages
    expect(fast.snap.count).toBe(2 * (total - 5));
    expect(fast.snap.entries[2]).toEqual({ paddr: 0x501000, start: true, last: false, huge: false });
    expect(fast.snap.entries[3]).toEqual({ paddr: 0x501800, start: false, last: true, huge: false });
  });

  it('takes the runs on the common path and stops at the first that is not', () => {
    const ctx = mkCtx();
    const d = new MockDomain(ctx);
    const p = Uint32Array.from(pfns);
    const n = Uint32Array.from(npfns);
    // the 40-page run crosses a leaf: runs 0..2 only
    expect(d.mapRuns(p, n, 0, p.length, iova, lastIova)).toBe(3);
    expect(d.runsEndIova).toBe(iova + 0x3000);
    expect(d.mapCalls).toBe(3);
    expect(d.countEntries()).toBe(6);
    expect(d.entryAt(iova + 0x2800)).toEqual({ paddr: 0x123800, start: false, last: true, huge: false });
  });

  it('maps nothing while a fault is armed, so that fail_nth sees every point one by one', () => {
    const ctx = mkCtx();
    const d = new MockDomain(ctx);
    const f = new FailNth();
    f.arm(5);
    ctx.faults.current = f;
    expect(d.mapRuns(Uint32Array.of(1, 2), Uint32Array.of(1, 1), 0, 2, A, A + 0x1fff)).toBe(0);
    expect([d.mapCalls, d.countEntries(), f.passed, f.read()]).toEqual([0, 0, 0, 5]);
  });

  it('maps nothing for the huge variant, with a memcg to charge, outside the aperture, unaligned or on a freed domain', () => {
    const runs = [Uint32Array.of(1, 2), Uint32Array.of(1, 1)] as const;
    const huge = new MockDomain(mkCtx(), { huge: true });
    expect(huge.mapRuns(...runs, 0, 2, A, A + 0x1fff)).toBe(0);
    const charged = new MockDomain(mkCtx(), { accountNodes: true });
    expect(charged.mapRuns(...runs, 0, 2, A, A + 0x1fff, new TestMemcg())).toBe(0);
    const d = new MockDomain(mkCtx());
    expect(d.mapRuns(...runs, 0, 2, A - 0x2000, A - 1)).toBe(0);
    expect(d.mapRuns(...runs, 0, 2, MOCK_APERTURE_LAST - 0xfff, MOCK_APERTURE_LAST + 0x1000)).toBe(0);
    expect(d.mapRuns(...runs, 0, 2, A + 0x400, A + 0x23ff)).toBe(0);
    expect(d.mapRuns(...runs, 0, 2, A, A + 0x13ff)).toBe(0);
    d.free();
    expect(d.mapRuns(...runs, 0, 2, A, A + 0x1fff)).toBe(0);
    expect([huge.mapCalls, charged.mapCalls, d.mapCalls, d.countEntries()]).toEqual([0, 0, 0, 0]);
    // without a memcg the accounting domain takes them
    expect(charged.mapRuns(...runs, 0, 2, A, A + 0x1fff)).toBe(2);
  });
});

describe('mock storage invariants (storageProblems, for the audit)', () => {
  type Inside = { paDir: Float64Array[]; flDir: Uint8Array[]; l1Cnt: Uint16Array; entries: number };
  const inside = (d: MockDomain) => d as unknown as Inside;

  it('hold through maps, overwrites, split unmaps, failed charges, the huge variant and mapRuns', () => {
    const { ctx, d } = setup();
    const memcg = new TestMemcg(3 * XA_NODE_SIZE);
    expect(d.map(A, 0x100000, 0x3000, RW, memcg)).toBe(0);
    expect(d.map(A + 0x1000, 0x900000, 0x1000, RW, memcg)).toBe(0);
    expect(d.map(A + 5 * MiB, 0x200000, 0x1000, RW, memcg)).toBe(-ENOMEM);
    expect(d.mapRuns(Uint32Array.of(7, 9, 11), Uint32Array.of(1, 2, 1), 0, 3, A + 0x10000, A + 0x13fff)).toBe(3);
    expect(d.unmap(A + 0x800, 0x1000)).toBe(0x1000);
    expect(d.storageProblems()).toEqual([]);
    expect(names(ctx)).toContain('mock_domain_map_pages.overwrite');
    const huge = new MockDomain(mkCtx(), { huge: true });
    expect(huge.map(A + MiB - 0x1000, 0x300000 - 0x1000, 2 * MiB + 0x2000, RW)).toBe(0);
    expect(huge.unmap(A + MiB, MiB)).toBe(MiB);
    expect(huge.storageProblems()).toEqual([]);
    expect(d.unmap(A, 16 * MiB)).toBe(16 * MiB);
    expect(d.storageProblems()).toEqual([]);
    expect([d.countEntries(), d.countNodes(), memcg.usage]).toEqual([0, 0, 0]);
  });

  it('name a wrong leaf count, flags on an empty slot, a wrong node count and a wrong total', () => {
    const { d } = setup();
    expect(d.map(A, 0x100000, 0x1000, RW)).toBe(0);
    const c = A / MOCK_IO_PAGE_SIZE / 512;
    const fl = inside(d).flDir[c];
    fl[512] = 3;
    fl[5] = 1;
    inside(d).l1Cnt[A / MOCK_IO_PAGE_SIZE / 4096] = 2;
    inside(d).entries = 7;
    const first = A / MOCK_IO_PAGE_SIZE;
    expect(d.storageProblems()).toEqual([
      `empty slot ${first + 5}: flags 1`,
      `leaf ${first / 64}: count 3, 2 live entries`,
      '2 live entries, 7 counted',
      `L1 node ${first / 4096}: count 2, 1 live leaves`,
    ]);
  });
});
