// SPDX-License-Identifier: GPL-2.0-only
// Seed-bug rediscovery: on v6.2, from an empty corpus, a bounded one-worker
// campaign with a fixed seed reports each of the four pages.c bugs as a
// finding of its own. The generator knows nothing of the bugs; each campaign
// is bounded by a program budget (deterministic for its seed) and stops once
// all four are reported. A campaign's path depends on every detail of the
// model, so each bug may be found by the first of a few fixed seeds: a change
// that merely reroutes one seed does not fail the test, a fuzzer that got
// worse does.
import { describe, expect, it } from 'vitest';
import { BUG_SWITCHES, runOnProfile, singleBugProfile } from '../../src/fuzz/signal.js';
import { type CampaignReport, type Finding, allBugsFound, findingOfBug, runCampaign } from '../../src/fuzz/campaign.js';
import { runProgram } from '../../src/fuzz/executor.js';

/** Seeds tried in order, and the program budget of each campaign. */
const SEEDS = [5, 1, 4];
const BUDGET = 8000;

const campaigns = new Map<number, Promise<CampaignReport>>();
function campaign(seed: number): Promise<CampaignReport> {
  let c = campaigns.get(seed);
  if (!c) {
    c = runCampaign({
      seconds: 600,
      seed,
      workers: 1,
      profile: 'v6.2',
      maxPrograms: BUDGET,
      stopWhen: (s) => allBugsFound(s.findings),
    });
    campaigns.set(seed, c);
  }
  return c;
}

describe('the fuzzer rediscovers the v6.2 pages.c bugs', () => {
  for (const bug of BUG_SWITCHES) {
    it(`${bug} (first of seeds ${SEEDS.join(', ')} to find it, at most ${BUDGET} programs each)`, { timeout: 300_000 }, async () => {
      const tried: string[] = [];
      let found: Finding | undefined;
      for (const seed of SEEDS) {
        const r = await campaign(seed);
        found = findingOfBug(r.findings, bug);
        if (found) break;
        tried.push(`seed ${seed}: ${r.programs} programs, findings ${r.findings.map((x) => x.signature).join('; ')}`);
      }
      expect(found, `no finding of ${bug} alone:\n${tried.join('\n')}`).toBeDefined();
      const f = found!;
      expect(f.signature.endsWith(`[${bug}]`)).toBe(true);
      expect(f.latestFails).toBe(false);
      // The reproducer fails with only this bug's switch and passes on latest.
      const only = runOnProfile(f.program, singleBugProfile(bug), { checks: true, panicOnWarn: true });
      expect(only.failed).toBe(true);
      const latest = runProgram({ ...f.program, profile: 'latest' }, { checks: true, panicOnWarn: true });
      expect(latest.failed).toBe(false);
      expect(f.program.calls.length).toBeLessThanOrEqual(12);
    });
  }
});
