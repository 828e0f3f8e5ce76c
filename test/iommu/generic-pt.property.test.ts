// SPDX-License-Identifier: GPL-2.0-only
/**
 * The AMDv1 mock against a page-at-a-time reference: random maps (random
 * 2 KiB-aligned IOVA, OA and length, so every leaf size and level mixes)
 * and unmaps of whole earlier maps. After each step every 2 KiB of the window
 * translates as the reference says, the storage audit is clean, every leaf is
 * aligned and inside one map, and the table pages charged equal those held.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EADDRINUSE } from '../../src/base/errno.js';
import { FaultRouter } from '../../src/base/fault.js';
import { WarnSink } from '../../src/base/warn.js';
import { IOMMU_READ, IOMMU_WRITE, type MemAccounting, MOCK_APERTURE_START } from '../../src/iommu/index.js';
import { MockAmdv1Domain } from '../../src/iommu/mock-domain.js';

const IO = 2048;
/** The IOVA window: 8 MiB from the aperture start, 4096 entries of 2 KiB. */
const N = 4096;
const A = MOCK_APERTURE_START;

class Memcg implements MemAccounting {
  usage = 0;
  charge(bytes: number): boolean {
    this.usage += bytes;
    return true;
  }
  uncharge(bytes: number): void {
    this.usage -= bytes;
  }
}

type Op = { kind: 'map'; at: number; n: number; oa: number } | { kind: 'unmap'; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  // lengths up to 2 MiB; OAs share low bits with the IOVA half the time (big leaves)
  fc.record({ kind: fc.constant('map' as const), at: fc.integer({ min: 0, max: N - 1 }), n: fc.integer({ min: 1, max: 1024 }), oa: fc.integer({ min: 0, max: 2 ** 20 - 1 }) }),
  fc.record({ kind: fc.constant('unmap' as const), pick: fc.nat() }),
);

describe('generic-pt AMDv1 mock vs a page-at-a-time reference', () => {
  it('random maps and whole-map unmaps keep translations, leaves and charges right', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), fc.boolean(), (ops, congruent) => {
        const d = new MockAmdv1Domain({ warn: new WarnSink({ panicOnWarn: true }), faults: new FaultRouter() });
        const cg = new Memcg();
        const ref = new Float64Array(N).fill(-1);
        const maps: Array<{ at: number; n: number }> = [];
        for (const o of ops) {
          if (o.kind === 'map') {
            const n = Math.min(o.n, N - o.at);
            // an OA 2 KiB-aligned; congruent with the IOVA modulo 2 MiB when asked
            const oa = congruent ? 2 ** 31 + o.oa * 2 * 1024 * 1024 + o.at * IO : 2 ** 31 + o.oa * IO;
            let busy = false;
            for (let i = o.at; i < o.at + n; i++) if (ref[i] >= 0) busy = true;
            const rc = d.map(A + o.at * IO, oa, n * IO, IOMMU_READ | IOMMU_WRITE, cg);
            if (busy) {
              expect(rc).toBe(-EADDRINUSE);
              continue;
            }
            expect(rc).toBe(0);
            for (let i = 0; i < n; i++) ref[o.at + i] = oa + i * IO;
            maps.push({ at: o.at, n });
          } else if (maps.length > 0) {
            const [m] = maps.splice(o.pick % maps.length, 1);
            expect(d.unmap(A + m.at * IO, m.n * IO)).toBe(m.n * IO);
            ref.fill(-1, m.at, m.at + m.n);
          }
        }
        const got = new Float64Array(N);
        for (let i = 0; i < N; i++) got[i] = d.peekPhys(A + i * IO);
        expect(got).toEqual(ref);
        expect(d.storageProblems()).toEqual([]);
        let mapped = 0;
        for (let i = 0; i < N; i++) if (ref[i] >= 0) mapped += IO;
        expect(d.mappedBytes()).toBe(mapped);
        for (const l of d.leaves()) {
          expect(l.iova % l.size).toBe(0);
          expect(l.oa % l.size).toBe(0);
          const first = (l.iova - A) / IO;
          expect(maps.some((m) => first >= m.at && first + l.size / IO <= m.at + m.n)).toBe(true);
        }
        // the top table is not charged; every other one is, once
        expect(cg.usage).toBe((d.countNodes() - 1) * 4096);
        for (const m of maps) expect(d.unmap(A + m.at * IO, m.n * IO)).toBe(m.n * IO);
        expect(d.mappedBytes()).toBe(0);
        d.free();
        expect(cg.usage).toBe(0);
      }),
      { seed: 0x616d64, numRuns: 40 },
    );
  });
});
