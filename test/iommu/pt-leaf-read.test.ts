// SPDX-License-Identifier: GPL-2.0-only
// lookupLeaf() is lookup() plus leafSpanAt() in one walk, and readsOnTo()
// only skips steps lookup() reads as contiguous: checked step by step on
// random AMDv1 tables (mixed sizes, unaligned maps, unmaps, dirty items), and
// domainRuns() over them against the same domain read one peekPhys() per step.
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/base/prng.js';
import { FaultRouter } from '../../src/base/fault.js';
import { WarnSink } from '../../src/base/warn.js';
import { MockAmdv1Domain } from '../../src/iommu/mock-domain.js';
import type { IoptArea } from '../../src/iommufd/area.js';
import { domainRuns } from '../../src/inspect/snapshot.js';

const KiB = 1024;
const MiB = 1 << 20;
const BASE = 64 * MiB;
const WIN = 16 * MiB;

/** peekPhys() overridden: domainRuns() takes its per-step path (peekPhys, leafSpanAt). */
class PlainAmdv1 extends MockAmdv1Domain {
  override peekPhys(iova: number): number {
    return super.peekPhys(iova);
  }
}

function mk<T extends MockAmdv1Domain>(C: new (...a: ConstructorParameters<typeof MockAmdv1Domain>) => T, warn = new WarnSink({ panicOnWarn: false })): T {
  const d = new C({ warn, faults: new FaultRouter() });
  d.dirtyOps = { setDirtyTracking: () => 0, readAndClearDirty: (i, s, f, b) => d.readAndClearDirty(i, s, f, b) };
  return d;
}

function randomOps(rng: Prng, ds: MockAmdv1Domain[]): void {
  const sizes = [4 * KiB, 8 * KiB, 64 * KiB, 132 * KiB, MiB, 2 * MiB, 3 * MiB + 4 * KiB];
  for (let k = 0; k < 40; k++) {
    const r = rng.below(10);
    const size = sizes[rng.below(sizes.length)];
    const iova = BASE + rng.below(WIN / (4 * KiB)) * 4 * KiB;
    if (iova + size > BASE + WIN) continue;
    // physical addresses aligned like the IOVA now and then, so large leaves appear
    const dirtyAt = iova + rng.below(size / 2048) * 2048;
    const pa = rng.below(2) ? 512 * MiB + (iova - BASE) : 256 * MiB + rng.below(4096) * 4 * KiB;
    for (const d of ds) {
      if (r < 6) d.map(iova, pa, size, 3);
      else if (r < 8) d.unmap(iova, size);
      else d.setDirty(dirtyAt);
    }
  }
}

describe('AMDv1 leaf reads', () => {
  it('lookupLeaf() and readsOnTo() agree with lookup() and leafSpanAt() step by step', () => {
    const rng = new Prng(0x1eaf);
    let mapped = 0;
    let skipped = 0;
    for (let t = 0; t < 12; t++) {
      const d = mk(MockAmdv1Domain);
      randomOps(rng, [d]);
      const pt = d.pt;
      const span = new Float64Array(2);
      const want = new Float64Array(2);
      // per step, expect() only on a difference (it is slow)
      for (let va = BASE - 4 * KiB; va < BASE + WIN + 4 * KiB; va += 2048) {
        span.fill(-7);
        const got = pt.lookupLeaf(va, span);
        const phys = pt.lookup(va);
        if (got !== phys) expect([va, got]).toEqual([va, phys]);
        if (got < 0) continue;
        mapped++;
        if (!pt.leafSpanAt(va, want) || span[0] !== want[0] || span[1] !== want[1]) expect([va, ...span]).toEqual([va, ...want]);
        const limit = va + 2048 * (1 + rng.below(64));
        const end = pt.readsOnTo(va, got, 2048, limit);
        if (!(end > va && end <= Math.max(limit, va + 2048))) expect([va, end]).toEqual([va, limit]);
        for (let u = va + 2048; u < end; u += 2048, skipped++) if (pt.lookup(u) !== got + (u - va)) expect([u, pt.lookup(u)]).toEqual([u, got + (u - va)]);
      }
    }
    expect(mapped).toBeGreaterThan(10000);
    expect(skipped).toBeGreaterThan(10000);
  });

  it('domainRuns() reads the same runs as one peekPhys() per step', () => {
    const rng = new Prng(0x2eaf);
    const area = (first: number, last: number) => ({ iovaNum: first, lastIovaNum: last }) as IoptArea;
    let runs = 0;
    for (let t = 0; t < 60; t++) {
      const wf = new WarnSink({ panicOnWarn: false });
      const wp = new WarnSink({ panicOnWarn: false });
      const fast = mk(MockAmdv1Domain, wf);
      const plain = mk(PlainAmdv1, wp);
      expect(fast.lookupTable).toBe(fast.pt);
      expect(plain.lookupTable).toBeUndefined();
      randomOps(rng, [fast, plain]);
      const areas: IoptArea[] = [];
      // ascending, unaligned, some adjacent
      for (let x = BASE - MiB + rng.below(4096) * 512; x < BASE + WIN + MiB; ) {
        const len = 1 + rng.below(3 * MiB);
        areas.push(area(x, x + len - 1));
        x += len + (rng.below(3) === 0 ? 0 : rng.below(MiB));
      }
      const got = domainRuns(fast, areas);
      const want = domainRuns(plain, areas);
      expect(got).toEqual(want);
      expect(wf.warnings.map((w) => w.assertion)).toEqual(wp.warnings.map((w) => w.assertion));
      runs += want.length;
    }
    expect(runs).toBeGreaterThan(500);
  });
  it('firstMismatch() finds the step the per-step lookup() loop finds', () => {
    const rng = new Prng(0x3eaf);
    let found = 0;
    let none = 0;
    for (let t = 0; t < 30; t++) {
      const d = mk(MockAmdv1Domain);
      randomOps(rng, [d]);
      const pt = d.pt;
      for (let k = 0; k < 300; k++) {
        const step = [2048, 4096, 8192][rng.below(3)];
        const first = BASE - 8 * KiB + rng.below((WIN + 16 * KiB) / 2048) * 2048;
        const last = first + rng.below(4 * MiB) + (rng.below(2) ? 0 : rng.below(step));
        // mostly what the first step reads (long matches), else a near miss
        const p0 = pt.lookup(first);
        const phys = rng.below(4) ? p0 : p0 + 2048;
        let want = -1;
        for (let va = first; va <= last; va += step) {
          if (pt.lookup(va) !== phys + (va - first)) {
            want = va;
            break;
          }
        }
        const got = pt.firstMismatch(first, last, step, phys);
        if (got !== want) expect([first, last, step, phys, got]).toEqual([first, last, step, phys, want]);
        if (want < 0) none++;
        else if (want > first) found++;
      }
    }
    expect(none).toBeGreaterThan(100);
    expect(found).toBeGreaterThan(100);
  });
});
