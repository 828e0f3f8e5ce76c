// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Inspector's memo (a domain's walk, a pages object's tiers and PFNs kept
 * while nothing they read has changed) stands for a fresh walk: after every
 * call of generated programs on each profile, the snapshot read through the
 * memo equals one that walks everything again, and the memo is used.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/base/prng.js';
import { type RunResult, runProgram } from '../../src/fuzz/executor.js';
import { generateProgram } from '../../src/fuzz/generator.js';
import { formatProgram, parseProgram } from '../../src/fuzz/program.js';
import { Inspector } from '../../src/inspect/snapshot.js';
import type { MachineSnapshot } from '../../src/inspect/types.js';
import type { Machine } from '../../src/machine/machine.js';

interface Tally {
  calls: number;
  /** Snapshots of pages objects whose unheld pages the held-only snapshot left -1 (the full one mapped them). */
  heldOnly: number;
  detailed: number;
  reusedTiers: number;
  reusedRuns: number;
}

/** Run `text` comparing the memo's snapshot with a fresh one after every call. */
function compare(text: string, t: Tally, file?: string): RunResult {
  const r = parseProgram(text, file);
  if (!r.ok) throw new Error(r.error);
  let insp: Inspector | undefined;
  let prev: MachineSnapshot | undefined;
  return runProgram(r.program, {
    onCall: (res, m: Machine) => {
      insp ??= new Inspector(m);
      const memo = insp.snapshot({ frames: true });
      const fresh = insp.snapshot({ frames: true, fresh: true });
      expect(memo, `after call ${res.index} (${res.op})`).toEqual(fresh);
      // As the answer oracle takes them: what no tier holds left -1, always kept.
      const held = insp.snapshot({ frames: false, sourcePfns: false });
      expect(held, `after call ${res.index} (${res.op}), held PFNs only`).toEqual(insp.snapshot({ frames: false, sourcePfns: false, fresh: true }));
      // The same tiers; each PFN the held snapshot gives is the full one's.
      expect(held.pages.map((p) => p.tiers)).toEqual(memo.pages.map((p) => p.tiers));
      for (let i = 0; i < held.pages.length; i++) {
        for (const r of held.pages[i].pfns) {
          if (r.pfn < 0) continue;
          const full = memo.pages[i].pfns.find((q) => q.index <= r.index && r.index < q.index + q.n);
          expect(full && full.pfn + (r.index - full.index), `pages #${held.pages[i].key} index ${r.index}`).toBe(r.pfn);
        }
      }
      t.heldOnly += held.pages.filter((p, i) => p.pfns.some((r) => r.pfn < 0) && !memo.pages[i].pfns.some((r) => r.pfn < 0)).length;
      t.calls++;
      if (memo.pages.some((p) => p.tiers.length > 0)) t.detailed++;
      for (const p of memo.pages) {
        const before = prev?.pages.find((q) => q.key === p.key);
        if (before && p.tiers.length > 0 && before.tiers === p.tiers) t.reusedTiers++;
      }
      for (const d of memo.domains) {
        const before = prev?.domains.find((q) => q.ctx === d.ctx && q.hwpt === d.hwpt);
        if (before && d.runs.length > 0 && before.runs === d.runs) t.reusedRuns++;
      }
      prev = memo;
    },
  });
}

/** The xarray mock's dirty bits (6.12): the test op's bitmap is per MOCK_IO_PAGE_SIZE there. */
const V612_DIRTY = `
profile: v6.12
memlock: unlimited
calls:
  - { op: open, as: $fd, expect: ok }
  - { op: ioas_alloc, as: $ioas, expect: ok }
  - { op: mock_domain, as: $m, pt: $ioas, expect: ok }
  - { op: hwpt_alloc, as: $hw, flags: [DIRTY_TRACKING], dev_id: $m.idev_id, pt_id: $ioas, expect: ok }
  - { op: mock_domain, as: $d, pt: $hw, expect: ok }
  - { op: mmap, as: $buf, length: 64K, expect: ok }
  - { op: write_memory, addr: $buf, fill: 0x11, length: 64K, expect: ok }
  - { op: ioas_map, ioas: $ioas, user_va: $buf, length: 64K, iova: 0x1000000, flags: [FIXED_IOVA, WRITEABLE, READABLE], expect: ok }
  - { op: hwpt_set_dirty_tracking, hwpt_id: $hw, flags: [ENABLE], expect: ok }
  - { op: dirty, hwpt: $hw, iova: 0x1000000, length: 0x4000, page_size: 0x800, bitmap: "33", expect: { nr_dirty: 4 } }
  - { op: hwpt_get_dirty_bitmap, hwpt_id: $hw, iova: 0x1000000, length: 64K, page_size: 0x1000, flags: [NO_CLEAR], expect: { dirty: 2, data: "0500000000000000" } }
  - { op: hwpt_get_dirty_bitmap, hwpt_id: $hw, iova: 0x1000000, length: 64K, page_size: 0x1000, expect: { dirty: 2, data: "0500000000000000" } }
  - { op: hwpt_get_dirty_bitmap, hwpt_id: $hw, iova: 0x1000000, length: 64K, page_size: 0x1000, expect: { dirty: 0, data: "0000000000000000" } }
  - { op: dirty, hwpt: $hw, iova: 0x1008000, length: 0x1000, page_size: 0x800, bitmap: "01", expect: { nr_dirty: 1 } }
  - { op: hwpt_set_dirty_tracking, hwpt_id: $hw, flags: [], expect: ok }
  - { op: hwpt_set_dirty_tracking, hwpt_id: $hw, flags: [ENABLE], expect: ok }
  - { op: hwpt_get_dirty_bitmap, hwpt_id: $hw, iova: 0x1000000, length: 64K, page_size: 0x1000, expect: { dirty: 0, data: "0000000000000000" }, comment: "enabling clears the bits first (iopt_clear_dirty_data())" }
`;

describe('snapshot memo', () => {
  // Dirty bits move a domain's change count and nothing else a snapshot keys on.
  const cases: Array<[string, () => string]> = [
    ['amdv1-dirty-leaves.yaml (latest)', () => readFileSync(join(import.meta.dirname, '..', 'regressions', 'amdv1-dirty-leaves.yaml'), 'utf8')],
    ['dirty bits of the xarray mock (v6.12)', () => V612_DIRTY],
  ];
  for (const [name, text] of cases) {
    it(`${name}: the dirty runs of every snapshot are a fresh walk's`, () => {
      const t: Tally = { calls: 0, heldOnly: 0, detailed: 0, reusedTiers: 0, reusedRuns: 0 };
      const run = compare(text(), t, name);
      expect(run.failed, run.reasons?.join('\n')).toBe(false);
      expect(t.detailed).toBeGreaterThan(5);
    });
  }

  for (const profile of ['latest', 'v6.12'] as const) {
    it(`${profile}: every snapshot through the memo equals a fresh walk, and the memo is used`, () => {
      const rng = new Prng(0x5eed);
      const t: Tally = { calls: 0, heldOnly: 0, detailed: 0, reusedTiers: 0, reusedRuns: 0 };
      for (let n = 0; n < 60; n++) compare(formatProgram(generateProgram(rng, { profile, maxCalls: 14 }), 'json'), t);
      const { calls, detailed, reusedTiers, reusedRuns } = t;
      expect(calls).toBeGreaterThan(400);
      expect(detailed).toBeGreaterThan(100);
      // Not vacuous: the memo answered for unchanged pages objects and domains.
      expect(reusedTiers).toBeGreaterThan(20);
      expect(reusedRuns).toBeGreaterThan(20);
      // and the held-only snapshots left some mapped but unheld pages out
      expect(t.heldOnly).toBeGreaterThan(20);
    });
  }
});
