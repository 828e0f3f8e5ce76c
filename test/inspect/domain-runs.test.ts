// SPDX-License-Identifier: GPL-2.0-only
// domainRuns() takes the steps that must read alike together (inside one
// AMDv1 item of 1 MiB or more, one dirty state, one cached leaf): its runs
// must be exactly those of the plain walk, one peekPhys() per smallest-page
// step. And the lighter snapshot the answer oracle takes (no frames table,
// PFNs handed over per page) must say the same as the full one.
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/base/prng.js';
import { generateProgram } from '../../src/fuzz/generator.js';
import { parseProgram, formatProgram } from '../../src/fuzz/program.js';
import { runGuarded } from '../../src/fuzz/signal.js';
import type { IommuDomain } from '../../src/iommu/domain.js';
import { IOMMU_DIRTY_NO_CLEAR } from '../../src/iommu/driver.js';
import { FaultRouter } from '../../src/base/fault.js';
import { WarnSink } from '../../src/base/warn.js';
import { MOCK_HUGE_PAGE_SIZE, MockAmdv1Domain, MockDomain } from '../../src/iommu/mock-domain.js';
import type { IoptArea } from '../../src/iommufd/area.js';
import { HwptPaging } from '../../src/iommufd/hw-pagetable.js';
import { type DomainWalk, Inspector, contextsOf, domainRuns, pagesTiers, sourcePfn } from '../../src/inspect/snapshot.js';
import { IommufdIoas } from '../../src/iommufd/ioas.js';
import type { DomainRun, MachineSnapshot } from '../../src/inspect/types.js';
import type { Machine } from '../../src/machine/machine.js';

/** The plain walk: one peekPhys per step, the IOPTE size per step (as the snapshot did before). */
function plainRuns(d: IommuDomain, areas: readonly IoptArea[]): DomainRun[] {
  const step = d.minPageSize;
  const dirty: number[] = [];
  const ops = d.dirtyOps;
  if (ops) {
    const record = (iova: number, length: number): void => {
      dirty.push(iova, iova + length);
    };
    for (const a of areas) {
      const first = Math.max(a.iovaNum, d.apertureStart);
      const last = Math.min(a.lastIovaNum, d.apertureEnd);
      if (last < first) continue;
      if (ops.readAndClearDirty(first, last - first + 1, IOMMU_DIRTY_NO_CLEAR, { record }) !== 0) {
        dirty.length = 0;
        break;
      }
    }
  }
  let dj = 0;
  const out: DomainRun[] = [];
  let cur: DomainRun | undefined;
  const pt = d instanceof MockAmdv1Domain ? d.pt : undefined;
  let leafStart = 0;
  let leafEnd = -1;
  let leafSize = step;
  const span = new Float64Array(2);
  for (const a of areas) {
    const first = Math.max(Math.floor(a.iovaNum / step) * step, d.apertureStart);
    const last = Math.min(a.lastIovaNum, d.apertureEnd);
    for (let iova = first; iova <= last; iova += step) {
      const phys = d.peekPhys(iova);
      if (phys < 0) {
        cur = undefined;
        continue;
      }
      let pgsize: number;
      if (pt === undefined) pgsize = d instanceof MockDomain && d.huge ? (d.entryAt(iova)?.huge ? MOCK_HUGE_PAGE_SIZE : step) : step;
      else if (iova >= leafStart && iova < leafEnd) pgsize = leafSize;
      else if (pt.leafSpanAt(iova, span)) {
        leafStart = span[0];
        leafSize = span[1];
        leafEnd = leafStart + leafSize;
        pgsize = leafSize;
      } else pgsize = step;
      while (dj < dirty.length && dirty[dj + 1] <= iova) dj += 2;
      const dt = dj < dirty.length && dirty[dj] <= iova;
      if (cur && cur.iova + cur.length === iova && cur.paddr + cur.length === phys && cur.pgsize === pgsize && cur.dirty === dt) cur.length += step;
      else {
        cur = { iova, length: step, paddr: phys, pgsize, dirty: dt };
        out.push(cur);
      }
    }
  }
  return out;
}

function pagingHwpts(m: Machine): HwptPaging[] {
  const out: HwptPaging[] = [];
  for (const c of contextsOf(m.processes.values())) for (const { obj } of c.objects.live()) if (obj instanceof HwptPaging && obj.domain) out.push(obj);
  return out;
}

/** pfnArray() of the oracle: the runs back to one PFN per page. */
function fromRuns(p: MachineSnapshot['pages'][number]): Float64Array {
  const a = new Float64Array(p.npages).fill(-1);
  for (const r of p.pfns) if (r.pfn >= 0) for (let i = 0; i < r.n; i++) a[r.index + i] = r.pfn + i;
  return a;
}

describe('domain runs and the oracle snapshot', () => {
  it('match the plain walk over large AMDv1 leaves with dirty items, holes and unaligned areas', () => {
    const d = new MockAmdv1Domain({ warn: new WarnSink({ panicOnWarn: false }), faults: new FaultRouter() });
    d.dirtyOps = { setDirtyTracking: () => 0, readAndClearDirty: (i, s, f, b) => d.readAndClearDirty(i, s, f, b) };
    const MB = 1 << 20;
    const base = 64 * MB;
    // 2 MiB leaves (two 1 MiB items each), a 1 MiB one, 4 KiB ones, a hole between.
    expect(d.map(base, 512 * MB, 8 * MB, 3)).toBe(0);
    expect(d.map(base + 8 * MB, 700 * MB, MB, 3)).toBe(0);
    expect(d.map(base + 10 * MB, 900 * MB + 4096, 64 * 1024, 3)).toBe(0);
    for (const x of [base + 4096, base + 3 * MB + 2048, base + 5 * MB, base + 8 * MB + 6144, base + 10 * MB + 8192]) expect(d.setDirty(x)).toBe(0);
    const area = (first: number, last: number) => ({ iovaNum: first, lastIovaNum: last }) as IoptArea;
    for (const areas of [
      [area(base, base + 12 * MB - 1)],
      [area(base + 2048, base + 3 * MB + 4095), area(base + 3 * MB + 4096, base + 9 * MB + 2047), area(base + 9 * MB + 2048, base + 11 * MB)],
      [area(base - MB, base + MB / 2 - 1), area(base + 7 * MB + 1, base + 10 * MB + 4096 * 5 - 1)],
    ]) {
      const want = plainRuns(d, areas);
      expect(want.some((r) => r.dirty && r.pgsize >= 2 * MB)).toBe(true);
      expect(domainRuns(d, areas)).toEqual(want);
    }
  });

  for (const profile of ['latest', 'v6.12', 'v6.2'] as const) {
    it(`match the plain walk and the full snapshot after every call (${profile})`, () => {
      const rng = new Prng(0xd0d0 + profile.length);
      let domains = 0;
      let steps = 0;
      let pages = 0;
      let tiered = 0;
      let unheld = 0;
      // Steps in leaves of 1 MiB or more (taken by the item), and dirty ones.
      let big = 0;
      let dirty = 0;
      for (let k = 0; k < 60; k++) {
        const parsed = parseProgram(formatProgram(generateProgram(rng, { profile, maxCalls: 24 }), 'json'));
        if (!parsed.ok) continue;
        let insp: Inspector | undefined;
        runGuarded(parsed.program, {
          profile,
          checks: true,
          onCall: (_r, m) => {
            for (const h of pagingHwpts(m)) {
              const d = h.domain!;
              const areas = [...h.ioas.iopt.areas()];
              const want = plainRuns(d, areas);
              const got = domainRuns(d, areas);
              if (JSON.stringify(got) !== JSON.stringify(want)) expect(got).toEqual(want);
              domains++;
              for (const r of want) {
                steps += r.length / d.minPageSize;
                if (r.pgsize >= 1 << 20) big += r.length / d.minPageSize;
                if (r.dirty) dirty += r.length / d.minPageSize;
              }
            }
            // The PFNs a pages object reads from its domains' runs are what peekPhys reads.
            const walks = new Map<IommuDomain, DomainWalk>();
            for (const h of pagingHwpts(m)) {
              if (walks.has(h.domain!)) continue;
              const walk: DomainWalk = { runs: [], areas: new Map() };
              domainRuns(h.domain!, [...h.ioas.iopt.areas()], walk);
              walks.set(h.domain!, walk);
            }
            for (const c of contextsOf(m.processes.values())) {
              for (const { obj } of c.objects.live()) {
                if (!(obj instanceof IommufdIoas)) continue;
                for (const a of obj.iopt.areas()) {
                  if (!a.pages || a.pages.npages > 1 << 16) continue;
                  const plain = pagesTiers(a.pages);
                  const viaRuns = pagesTiers(a.pages, walks);
                  if (JSON.stringify([...plain.pfn]) !== JSON.stringify([...viaRuns.pfn])) expect([...viaRuns.pfn]).toEqual([...plain.pfn]);
                  expect(viaRuns.tiers).toEqual(plain.tiers);
                  // A page no tier holds: what sourcePfn() reads for it.
                  for (const t of plain.tiers) {
                    if (t.xarray || t.domain) continue;
                    for (let i = t.first; i <= t.last; i++) if (!Object.is(plain.pfn[i], sourcePfn(a.pages, i))) expect([i, plain.pfn[i]]).toEqual([i, sourcePfn(a.pages, i)]);
                    unheld += t.last - t.first + 1;
                  }
                  tiered++;
                }
              }
            }
            insp ??= new Inspector(m);
            const full = insp.snapshot();
            const pfns = new Map<number, Float64Array>();
            const light = insp.snapshot({ frames: false, pfnsOut: pfns });
            if (JSON.stringify(light) !== JSON.stringify({ ...full, frames: [] })) expect(light).toEqual({ ...full, frames: [] });
            for (const p of full.pages) {
              if (p.pfns.length === 0) expect(pfns.has(p.key)).toBe(false);
              else {
                const a = pfns.get(p.key);
                const b = fromRuns(p);
                if (!a || a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) expect(a).toEqual(b);
                pages++;
              }
            }
          },
        });
      }
      expect(domains).toBeGreaterThan(20);
      expect(steps).toBeGreaterThan(1000);
      expect(pages).toBeGreaterThan(20);
      expect(tiered).toBeGreaterThan(20);
      expect(unheld).toBeGreaterThan(100);
      if (profile === 'latest') expect(big).toBeGreaterThan(1000);
      console.log(profile, { domains, steps, big, dirty, pages, tiered, unheld });
    });
  }
});
