// SPDX-License-Identifier: GPL-2.0-only
// Seed-bug rediscovery: on v6.2, from an empty corpus, a bounded one-worker
// campaign with a fixed seed reports each of the four pages.c bugs as a
// finding of its own. The generator knows nothing of the bugs; the campaign
// is bounded by a program budget (deterministic for the seed) and stops as
// soon as the bug is reported.
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../../src/fuzz/campaign.js';
import { runOnProfile, singleBugProfile, type BugSwitch } from '../../src/fuzz/signal.js';
import { runProgram } from '../../src/fuzz/executor.js';

/** The seed and program budget of each bug's campaign. */
const CASES: Array<{ bug: BugSwitch; seed: number; programs: number }> = [
  { bug: 'skipUptrOverflowCheck', seed: 1, programs: 4000 },
  { bug: 'carryLeavesEndZero', seed: 2, programs: 4000 },
  { bug: 'carryWritesCountFirst', seed: 2, programs: 4000 },
  { bug: 'unpinLastIndexFromReadStart', seed: 3, programs: 4000 },
];

describe('the fuzzer rediscovers the v6.2 pages.c bugs', () => {
  for (const { bug, seed, programs } of CASES) {
    it(`${bug} (seed ${seed}, at most ${programs} programs)`, { timeout: 240_000 }, async () => {
      const r = await runCampaign({
        seconds: 600,
        seed,
        workers: 1,
        profile: 'v6.2',
        maxPrograms: programs,
        stopWhen: (s) => s.findings.some((f) => f.bugs.length === 1 && f.bugs[0] === bug),
      });
      const f = r.findings.find((x) => x.bugs.length === 1 && x.bugs[0] === bug);
      expect(f, `no finding of ${bug} alone in ${r.programs} programs; findings: ${r.findings.map((x) => x.signature).join('; ')}`).toBeDefined();
      expect(f!.signature.endsWith(`[${bug}]`)).toBe(true);
      expect(f!.latestFails).toBe(false);
      // The reproducer fails with only this bug's switch and passes on latest.
      const only = runOnProfile(f!.program, singleBugProfile(bug), { checks: true, panicOnWarn: true });
      expect(only.failed).toBe(true);
      const latest = runProgram({ ...f!.program, profile: 'latest' }, { checks: true, panicOnWarn: true });
      expect(latest.failed).toBe(false);
      expect(f!.program.calls.length).toBeLessThanOrEqual(12);
    });
  }
});
