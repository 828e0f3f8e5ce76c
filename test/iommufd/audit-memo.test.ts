// SPDX-License-Identifier: GPL-2.0-only
// The audit memo (audit.ts IoptAuditMemo) re-judges only what changed since the last clean audit:
// a change made behind its back, straight through a data structure the audit reads, must still be
// caught by the next audit with the memo (the structures bump their change counts themselves).
import { describe, expect, it } from 'vitest';
import { IntervalNode } from '../../src/base/interval-tree.js';
import { IOMMU_READ, IOMMU_WRITE, IommuDomain } from '../../src/iommu/domain.js';
import { type MockAmdv1Domain, MockDomain, createMockDomain } from '../../src/iommu/mock-domain.js';
import { IoptAuditMemo, auditIopts } from '../../src/iommufd/audit.js';
import type { IoPagetable } from '../../src/iommufd/io-pagetable.js';
import type { IoptPages, IoptPagesAccess } from '../../src/iommufd/pages.js';
import { coreFixture } from './fixture.js';

const PS = 4096;
const RW = IOMMU_READ | IOMMU_WRITE;
const IOVA = 0x1000000n;

/** One IOAS with one mock domain of `kind` and 8 pages mapped at IOVA; a clean memoised audit already taken. */
function setup(kind: 'xarray' | 'amdv1', dirty = false) {
  const f = coreFixture({ layout: 'linear' });
  const iopt = f.newIopt();
  const dom = createMockDomain({ warn: f.machine.warn, faults: f.machine.faults }, { pageTable: kind });
  if (dirty) dom.dirtyOps = { setDirtyTracking: (e) => dom.setDirtyTracking(e), readAndClearDirty: (i, s, fl, b) => dom.readAndClearDirty(i, s, fl, b) };
  expect(iopt.addDomain(dom)).toBe(0);
  const va = f.buffer(8 * PS);
  expect(iopt.mapUserPages(false, { value: IOVA }, va, BigInt(8 * PS), RW, 0)).toBe(0);
  const memo = new IoptAuditMemo();
  const iopts: IoPagetable[] = [iopt];
  const audit = () => {
    f.machine.warn.panicOnWarn = false;
    return auditIopts(f.env, iopts, { exactPins: true, memo });
  };
  expect(audit()).toBe(0);
  // unchanged: still clean, judged from the memo
  expect(audit()).toBe(0);
  const pages = iopt.areas()[0].pages as IoptPages;
  const warned = () => f.machine.warnings.map((w) => w.assertion);
  return { f, iopt, dom, pages, audit, warned, iopts, memo };
}

describe('audit memo: changes behind its back are still caught', () => {
  for (const kind of ['xarray', 'amdv1'] as const) {
    it(`${kind}: a domain unmap straight on the domain`, () => {
      const s = setup(kind);
      // the whole area (the AMDv1 table cannot split a leaf)
      expect(s.dom.unmap(Number(IOVA), 8 * PS)).toBe(8 * PS);
      expect(s.audit()).toBeGreaterThan(0);
      expect(s.warned()).toContain('audit.domain_pfn');
    });

    it(`${kind}: a domain map over a hole elsewhere (storage only)`, () => {
      const s = setup(kind);
      // a leaf nobody accounts for: the area walk does not see it, the storage audit must
      const before = s.dom.storageChanges;
      expect(s.dom.map(0x4000000, 0x100000, PS, RW)).toBe(0);
      expect(s.dom.storageChanges).not.toBe(before);
      // the storage is consistent (the driver's own counts follow), so clean, but judged again
      expect(s.audit()).toBe(0);
      s.dom.unmap(0x4000000, PS);
      expect(s.audit()).toBe(0);
    });

    it(`${kind}: the storage domain remapped at another PFN`, () => {
      const s = setup(kind);
      const at = Number(IOVA);
      expect(s.dom.unmap(at, 8 * PS)).toBe(8 * PS);
      expect(s.dom.map(at, 0x200000, 8 * PS, RW)).toBe(0);
      expect(s.audit()).toBeGreaterThan(0);
    });
  }

  it('xarray mock: a dirty bit in a domain without dirty tracking', () => {
    const s = setup('xarray');
    expect((s.dom as MockDomain).markDirty(Number(IOVA) / 2048)).toBe(true);
    expect(s.audit()).toBeGreaterThan(0);
    expect(s.warned()).toContain('audit.domain_storage');
  });

  it('amdv1 mock: a dirty bit in a domain without dirty tracking is judged again', () => {
    const s = setup('amdv1');
    const before = s.dom.storageChanges;
    expect((s.dom as MockAmdv1Domain).setDirty(Number(IOVA))).toBe(0);
    expect(s.dom.storageChanges).not.toBe(before);
  });

  it('an xarray store in the pages object', () => {
    const s = setup('xarray');
    expect(s.pages.pinnedPfns.store(5, s.pages.pinnedPfns.load(5) >= 0 ? 1 : 12345)).toBe(0);
    expect(s.audit()).toBeGreaterThan(0);
    expect(s.warned()).toContain('audit.xarray');
  });

  it('an xarray erase and clear move its count', () => {
    const s = setup('xarray');
    const x = s.pages.pinnedPfns;
    x.store(3, 7);
    const c = x.changes;
    x.erase(3);
    expect(x.changes).not.toBe(c);
    const c2 = x.changes;
    x.clear();
    expect(x.changes).not.toBe(c2);
  });

  it('an interval tree insert into the access tree', () => {
    const s = setup('xarray');
    const c = s.pages.accessItree.changes;
    s.pages.accessItree.insert(new IntervalNode<number, IoptPagesAccess>(1, 2, undefined as unknown as IoptPagesAccess));
    expect(s.pages.accessItree.changes).not.toBe(c);
    expect(s.audit()).toBeGreaterThan(0);
    expect(s.warned()).toContain('audit.xarray');
  });

  it('an interval tree remove from the domains tree', () => {
    const s = setup('xarray');
    const area = s.iopt.areas()[0];
    const c = s.pages.domainsItree.changes;
    s.pages.domainsItree.remove(area.pagesNode);
    expect(s.pages.domainsItree.changes).not.toBe(c);
    expect(s.audit()).toBeGreaterThan(0);
    expect(s.warned()).toContain('audit.storage_domain');
  });

  it('an area field changed in place', () => {
    const s = setup('xarray');
    const area = s.iopt.areas()[0];
    area.pageOffset = 2048;
    expect(s.audit()).toBeGreaterThan(0);
  });

  it('npinned changed', () => {
    const s = setup('amdv1');
    s.pages.npinned++;
    expect(s.audit()).toBeGreaterThan(0);
    expect(s.warned()).toContain('audit.npinned');
  });

  it('a frame pinned by someone else', () => {
    const s = setup('amdv1');
    const pfn = Math.floor(s.dom.peekPhys(Number(IOVA)) / PS);
    const before = s.f.machine.phys.pinChanges;
    s.f.machine.phys.pinFrame(pfn);
    expect(s.f.machine.phys.pinChanges).not.toBe(before);
    expect(s.audit()).toBeGreaterThan(0);
    expect(s.warned()).toContain('audit.pincount');
  });

  it('after a problem the next audit is full', () => {
    const s = setup('xarray');
    // after a problem the memo is emptied: the next audit is full and finds it again
    s.pages.lastNpinned++;
    expect(s.audit()).toBe(1);
    expect(s.audit()).toBe(1);
    s.pages.lastNpinned--;
    expect(s.audit()).toBe(0);
  });

  it('a domain that counts no changes is audited every time', () => {
    // its translations move with nothing counted: only a full look sees it
    class Uncounted extends MockDomain {
      shift = 0;
      override peekPhys(iova: number): number {
        const p = super.peekPhys(iova);
        return p < 0 ? p : p + this.shift;
      }
      override get storageChanges(): number {
        return Number.NaN;
      }
    }
    const s = setup('xarray');
    const d = new Uncounted({ warn: s.f.machine.warn, faults: s.f.machine.faults });
    expect(s.iopt.addDomain(d)).toBe(0);
    expect(s.audit()).toBe(0);
    expect(s.audit()).toBe(0);
    d.shift = PS;
    expect(s.audit()).toBeGreaterThan(0);
    expect(s.warned()).toContain('audit.domain_pfn');
  });
});

describe('firstMismatch agrees with peekPhys one smallest page at a time', () => {
  for (const huge of [false, true]) {
    it(`AMDv1 mock${huge ? ' (huge)' : ''}: random maps, unmaps, ranges`, () => {
      const f = coreFixture({ layout: 'linear' });
      const d = createMockDomain({ warn: f.machine.warn, faults: f.machine.faults }, { pageTable: 'amdv1', huge });
      f.machine.warn.panicOnWarn = false;
      let seed = 12345;
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      const base = 0x1000000;
      const step = d.minPageSize;
      const loop = (a: number, b: number, s: number, p: number) => IommuDomain.prototype.firstMismatch.call(d, a, b, s, p);
      for (let round = 0; round < 300; round++) {
        const at = base + rnd(1024) * PS;
        const n = 1 + rnd(600);
        if (rnd(3) === 0) d.unmap(at, n * PS);
        else d.map(at, 0x40000000 + rnd(4096) * PS, n * PS, RW);
        for (let q = 0; q < 10; q++) {
          const first = base + rnd(1200) * step;
          const last = first + rnd(3000) * step - 1 + (rnd(2) === 0 ? 0 : step);
          const p0 = d.peekPhys(first);
          // the range's own translation (a match as far as it stays linear), or a wrong one
          const phys = rnd(4) === 0 || p0 < 0 ? rnd(2 ** 20) * 2048 : p0;
          expect(d.firstMismatch(first, last, step, phys)).toBe(loop(first, last, step, phys));
        }
      }
    });
  }
});
