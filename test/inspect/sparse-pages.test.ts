// SPDX-License-Identifier: GPL-2.0-only
// Pages objects above DETAIL_PAGES are described by ranges, so a snapshot's
// memory is bounded by what is held, not by what was mapped: the range form
// must give the same tiers as the page-by-page one, the same PFNs wherever the
// xarray or a domain holds one, and a legal 2^47-page IOAS_MAP with no domain
// must not throw.
import { describe, expect, it } from 'vitest';
import { runProgram } from '../../src/fuzz/executor.js';
import { parseProgram } from '../../src/fuzz/program.js';
import { IommufdIoas } from '../../src/iommufd/ioas.js';
import type { IoptPages } from '../../src/iommufd/pages.js';
import { contextsOf, Inspector, pagesTiers, pagesTiersRuns, pagesTiersSparse, pfnRuns } from '../../src/inspect/snapshot.js';
import type { Machine } from '../../src/machine/machine.js';

function pagesAfterEachCall(yaml: string, check: (pages: IoptPages[], m: Machine, index: number) => void): void {
  const r = parseProgram(yaml, 'test.yaml');
  if (!r.ok) throw new Error(r.error);
  const rr = runProgram(r.program, {
    onCall: (res, m) => {
      const pages = new Set<IoptPages>();
      for (const ctx of contextsOf(m.processes.values())) {
        for (const { obj } of ctx.objects.live()) if (obj instanceof IommufdIoas) for (const a of obj.iopt.areas()) if (a.pages) pages.add(a.pages);
      }
      check([...pages], m, res.index);
    },
  });
  if (rr.failed) throw new Error(rr.reasons?.join('\n'));
}

const HELD = `
memory: 256M
memlock: unlimited
calls:
  - { op: mmap, as: $buf, length: 256K, expect: ok }
  - { op: write_memory, addr: $buf, fill: 0x11, length: 256K, expect: ok }
  - { op: open, path: /dev/iommu, as: $fd, expect: ok }
  - { op: ioas_alloc, as: $ioas, expect: ok }
  - { op: ioas_map, ioas: $ioas, user_va: $buf, length: 256K, iova: 0x1000000, flags: [READABLE, WRITEABLE, FIXED_IOVA], expect: ok }
  - { op: create_access, as: $acc, ioas: $ioas, flags: [NEEDS_PIN_PAGES], expect: ok }
  - { op: access_pages, as: $w1, access: $acc, iova: 0x1004000, length: 8K, uptr: $buf+16K, flags: [WRITE], expect: ok }
  - { op: access_pages, as: $w2, access: $acc, iova: 0x1005000, length: 12K, uptr: $buf+20K, flags: [WRITE], expect: ok }
  - { op: mock_domain, as: $dev, pt: $ioas, expect: ok }
  - { op: destroy_access_pages, access: $acc, access_pages_id: $w1, expect: ok }
  - { op: ioas_map, ioas: $ioas, user_va: $buf, length: 64K, iova: 0x2000000, flags: [READABLE, FIXED_IOVA], expect: ok }
`;

describe('pages objects described by ranges', () => {
  it('give the page-by-page tiers, and its PFNs wherever one is held', () => {
    let compared = 0;
    pagesAfterEachCall(HELD, (pages) => {
      for (const p of pages) {
        const dense = pagesTiers(p);
        const sparse = pagesTiersSparse(p);
        expect(sparse.tiers).toEqual(dense.tiers);
        const heldOnly = Float64Array.from(dense.pfn, (v, i) => (sparse.tiers.some((t) => t.first <= i && i <= t.last && (t.xarray || t.domain)) ? v : -1));
        expect(sparse.pfns).toEqual(pfnRuns(heldOnly));
        expect([...sparse.held].sort()).toEqual([...heldOnly].filter((v) => v >= 0).sort());
        compared++;
      }
    });
    expect(compared).toBeGreaterThanOrEqual(8);
  });

  it('without the source: the page-by-page tiers, PFNs where a tier holds one and -1 elsewhere', () => {
    let compared = 0;
    let heldPages = 0;
    pagesAfterEachCall(HELD, (pages) => {
      for (const p of pages) {
        const dense = pagesTiers(p);
        const held = pagesTiers(p, undefined, false);
        expect(held.tiers).toEqual(dense.tiers);
        const heldOnly = Float64Array.from(dense.pfn, (v, i) => (dense.tiers.some((t) => t.first <= i && i <= t.last && (t.xarray || t.domain)) ? v : -1));
        // (the array ends after the last page held: the pages past it hold none)
        let lastHeld = heldOnly.length - 1;
        while (lastHeld >= 0 && heldOnly[lastHeld] < 0) lastHeld--;
        expect(held.pfn.length).toBeGreaterThanOrEqual(lastHeld + 1);
        expect(Array.from({ length: p.npages }, (_, i) => held.pfn[i] ?? -1)).toEqual(Array.from(heldOnly));
        expect(pagesTiersRuns(p, undefined, false).runs).toEqual(pfnRuns(heldOnly));
        heldPages += heldOnly.filter((v) => v >= 0).length;
        compared++;
      }
    });
    expect(compared).toBeGreaterThanOrEqual(8);
    expect(heldPages).toBeGreaterThan(0);
  });

  it('a 2^47-page IOAS_MAP with no domain snapshots as one range, nothing held', () => {
    const yaml = `
calls:
  - { op: open, as: $fd }
  - { op: ioas_alloc, as: $ioas }
  - { op: ioas_map, ioas: $ioas, user_va: 0, length: 0x800000000000000, iova: 0x1000000, flags: [READABLE, WRITEABLE, FIXED_IOVA], expect: ok }
`;
    let seen = false;
    pagesAfterEachCall(yaml, (pages, m, index) => {
      if (index !== 2) return;
      const s = new Inspector(m).snapshot();
      expect(s.pages).toHaveLength(1);
      expect(s.pages[0].npages).toBe(2 ** 47);
      expect(s.pages[0].tiers).toEqual([{ first: 0, last: 2 ** 47 - 1, xarray: false, domain: false, accessUsers: 0 }]);
      expect(s.pages[0].pfns).toEqual([{ index: 0, pfn: -1, n: 2 ** 47 }]);
      expect(pages).toHaveLength(1);
      seen = true;
    });
    expect(seen).toBe(true);
  });
});
