// SPDX-License-Identifier: GPL-2.0-only
/**
 * fail_nth over the core: for each step of a program, fail the 1st, 2nd, ...
 * fault point that step reaches until it reaches no more. After every failure
 * the audit and the reference model must still hold (a failed call changes
 * nothing, or keeps exactly the kernel's partial progress), and teardown must
 * leave nothing pinned or charged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../../src/iommu/domain.js';
import { coreFixture } from './fixture.js';
import { type ArmAt, type Variant, newStats, opArb, runProgram } from './program.js';

const PS = 4096;

describe('fail_nth over property-test programs', () => {
  for (const v of [
    { name: '4 KiB pages', thp: false, runs: 0, seed: 31 },
    { name: 'THP, one-entry batch', thp: true, batchLimit: 12, runs: 0, seed: 32 },
  ] as Variant[]) {
    it(`${v.name}: every fault point of every step leaves a consistent state`, () => {
      const programs = fc.sample(fc.array(opArb, { minLength: 6, maxLength: 12 }), { seed: v.seed, numRuns: 12 });
      let injected = 0;
      for (const ops of programs) {
        for (let step = 0; step < ops.length; step++) {
          for (let nth = 1; nth < 500; nth++) {
            const arm: ArmAt = { step, nth };
            runProgram(v, ops, newStats(), arm);
            if (!arm.reached) break;
            injected++;
          }
        }
      }
      expect(injected).toBeGreaterThan(120);
    });
  }
});

describe('fail_nth over the worked carry program (latest)', () => {
  it('every fault point of every step: consistent state, nothing left after teardown', () => {
    const RW = IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE;
    let injected = 0;
    for (let step = 0; step < 5; step++) {
      for (let nth = 1; nth < 200; nth++) {
        const f = coreFixture({ layout: 'linear' });
        const va = f.buffer(8 * PS);
        const iopt = f.newIopt();
        const dom = f.mockDomain();
        const acc = f.access();
        const fn = f.proc.task.failNth;
        const steps = [
          () => iopt.addDomain(dom),
          () => iopt.mapUserPages(false, { value: 0x1000000n }, va, BigInt(8 * PS), RW, 0),
          () => acc.attach(iopt),
          () => acc.pinPages(0x1000000n + BigInt(2 * PS), BigInt(PS), new Uint32Array(1), 0),
          () => {
            if (iopt.domains.includes(dom)) iopt.removeDomain(dom);
            return 0;
          },
        ];
        let reached = false;
        for (const [k, run] of steps.entries()) {
          if (k === step) fn.arm(nth);
          run();
          if (k === step) {
            reached = fn.read() === 0;
            fn.arm(0);
          }
          expect(f.audit()).toBe(0);
        }
        // teardown
        const u = { value: 0n };
        expect(iopt.unmapAll(u)).toBe(0);
        if (iopt.domains.includes(dom)) iopt.removeDomain(dom);
        if (acc.iopt) acc.destroy();
        expect(dom.mappedBytes()).toBe(0);
        expect(f.proc.task.user.lockedVm).toBe(0);
        expect(f.proc.mm.pinnedVm).toBe(0);
        for (let i = 0; i < 8; i++) expect(f.pincount(f.pfnOf(va + BigInt(i * PS)))).toBe(0);
        if (!reached) break;
        injected++;
      }
    }
    expect(injected).toBeGreaterThan(10);
  });
});
