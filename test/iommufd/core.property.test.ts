// SPDX-License-Identifier: GPL-2.0-only
/**
 * Model-based property test of the IO page table core. fast-check generates
 * programs mixing map, unmap, copy, domain add/remove, access pin/unpin/rw and
 * VFIO-v1 splits over small buffers; after every step the whole-state audit
 * must hold and every domain's IOVA→PFN must equal a page-at-a-time reference
 * (the PFN in the user's page table of the VA each IOVA was mapped from).
 * After teardown nothing may stay pinned or charged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Variant, newStats, opArb, runProgram } from './program.js';

const variants: Variant[] = [
  { name: '4 KiB pages', thp: false, runs: 700, seed: 11 },
  { name: 'THP folios', thp: true, runs: 500, seed: 12 },
  { name: '4 KiB pages, one-entry batch', thp: false, batchLimit: 12, runs: 500, seed: 13 },
  { name: 'THP folios, one-entry batch', thp: true, batchLimit: 12, runs: 300, seed: 14 },
];

describe('core model-based properties', () => {
  for (const v of variants) {
    it(`${v.name}: audit and reference hold after every step, nothing left after teardown`, () => {
      const stats = newStats();
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 8, maxLength: 40 }), (ops) => runProgram(v, ops, stats)),
        { seed: v.seed, numRuns: v.runs },
      );
      // every kind of operation really happened, many times
      if (process.env.CORE_STATS) console.log(v.name, stats);
      for (const [k, n] of Object.entries(stats)) expect(n, k).toBeGreaterThan(v.runs / 20);
    });
  }
});

describe('the property test has teeth', () => {
  it('the same generator finds a broken invariant on the v6.2 profile (THP, one-entry batch)', () => {
    const v: Variant = { name: 'v6.2', thp: true, batchLimit: 12, profile: 'v6.2', runs: 700, seed: 21 };
    const stats = newStats();
    const r = fc.check(
      fc.property(fc.array(opArb, { minLength: 8, maxLength: 40 }), (ops) => runProgram(v, ops, stats)),
      { seed: v.seed, numRuns: v.runs },
    );
    expect(r.failed).toBe(true);
    expect(String(r.errorInstance)).toMatch(/WARNING: /);
  });
});
