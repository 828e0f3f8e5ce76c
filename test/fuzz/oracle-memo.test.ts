// SPDX-License-Identifier: GPL-2.0-only
/**
 * The answer oracle's memos (a pages object's pins, a domain's contents, an
 * IOAS's reserved ranges, passed again without a walk while nothing their
 * keys hold has changed) never pass over a finding. With the memos verified
 * (AnswerOracleOptions.verifyMemo) every judgement a memo stands for is made
 * anyway, and it is a finding (`ORACLE memo`) when that judgement fails or
 * reads other inputs, by value, than when it last passed.
 *
 * - On the model as it is, generated programs: no memo hit reads changed
 *   inputs (its key follows every change that matters), and each memo is used.
 * - A correct model gives the oracle nothing to find, so the verdicts are
 *   judged on wrong ones: mutants of the mutation campaign that break pins,
 *   domain contents or reserved ranges, each applied to a copy of src/, with
 *   only the oracle judging (no audit, no CONFIG_IOMMUFD_TEST assertions
 *   ahead of it).
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/base/prng.js';
import { generateProgram } from '../../src/fuzz/generator.js';
import type { MemoKind } from '../../src/fuzz/reference/answers.js';
import { fuzzRunOptions, runGuarded } from '../../src/fuzz/signal.js';
import { mutantNamed, runOnMutant } from './mutants.js';

const RUNNER = `
import { Prng } from './src/base/prng.ts';
import { generateProgram } from './src/fuzz/generator.ts';
import { fuzzRunOptions, runGuarded } from './src/fuzz/signal.ts';
const [n, seed, cap] = process.argv.slice(2).map(Number);
const rng = new Prng(seed);
const hits = { pins: 0, domain: 0, reserved: 0 };
const found = {};
// n programs, and on up to cap until the mutant was met (a rare one's place in a seed moves with the generator)
for (let i = 0; i < n || (i < cap && Object.keys(found).length === 0); i++) {
  const p = generateProgram(rng, { profile: 'latest', maxCalls: 14, newOps: true });
  // Only the oracle judges (no audit, no CONFIG_IOMMUFD_TEST assertions ahead of it), so what a mutant breaks reaches it.
  const r = runGuarded(p, { ...fuzzRunOptions(true), checks: false, audit: false, oracle: { verifyMemo: true, onMemoHit: (k) => hits[k]++ } });
  const sig = r.oracle?.signature ?? (r.failed ? 'other' : undefined);
  if (sig) found[sig] = (found[sig] ?? 0) + 1;
}
process.stdout.write(JSON.stringify({ hits, found }) + '\\n');
`;

interface MemoRun {
  hits: { pins: number; domain: number; reserved: number };
  found: Record<string, number>;
}

/** Mutants whose wrong answers the pins, domain and reserved judgements see (and so their memos). */
const JUDGED = ['batch-drops-page-offset', 'domain-read-rereads-chunk', 'detach-keeps-aperture', 'reserved-last-byte', 'user-pin-relative-index', 'unfill-keeps-storage', 'batch-counts-unadded'];

describe("the answer oracle's memos", () => {
  it('read the inputs of the judgements they stand for, on generated programs', () => {
    const rng = new Prng(7);
    const hits: Record<MemoKind, number> = { pins: 0, domain: 0, reserved: 0 };
    let judged = 0;
    for (let i = 0; i < 1500; i++) {
      const p = generateProgram(rng, { profile: 'latest', maxCalls: 30, newOps: true });
      const r = runGuarded(p, { ...fuzzRunOptions(true), oracle: { verifyMemo: true, onMemoHit: (k) => hits[k]++ } });
      expect(r.oracle, r.oracle?.message).toBeUndefined();
      judged += r.results.length;
    }
    expect(judged).toBeGreaterThan(10_000);
    for (const k of ['pins', 'domain', 'reserved'] as const) expect(hits[k], k).toBeGreaterThan(100);
  }, 120_000);

  const seen: Record<string, number> = {};
  for (const name of JUDGED) {
    it(`pass over no finding of ${name} (${mutantNamed(name).what})`, () => {
      const r = runOnMutant(mutantNamed(name), RUNNER, ['400', '7', '4000'], 300) as MemoRun;
      expect(r.found['ORACLE memo'], JSON.stringify(r)).toBeUndefined();
      // The mutant was met, and the memos stood for judgements while it was.
      expect(Object.values(r.found).reduce((a, b) => a + b, 0), JSON.stringify(r)).toBeGreaterThan(0);
      expect(r.hits.pins + r.hits.domain + r.hits.reserved, JSON.stringify(r)).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(r.found)) seen[k] = (seen[k] ?? 0) + v;
    }, 320_000);
  }

  it('were verified in runs where each of their judgements found something', () => {
    // Each memo stands for one of these judgements: each found a mutant in some run above.
    for (const sig of ['ORACLE pin_pfn', 'ORACLE domain_pfn', 'ORACLE reserved']) expect(seen[sig], JSON.stringify(seen)).toBeGreaterThan(0);
  });
});
