// SPDX-License-Identifier: GPL-2.0-only
// Seed-bug rediscovery: on v6.2, from an empty corpus, a bounded one-worker
// campaign with a fixed seed reports pages.c bugs as findings of their own.
// The generator knows nothing of the bugs; each campaign is bounded by a
// program budget (deterministic for its seed). A campaign's path depends on
// every detail of the model, so a bug may be found by the first of a few
// fixed seeds: a change that merely reroutes one seed does not fail the
// test, a fuzzer that got worse does.
//
// Two modes. The default (fast, for `npm test`): the first seed to report
// any of the four bugs within a small budget, with that finding checked as
// the thorough mode checks each. The thorough mode (IOMMUFD_SIM_THOROUGH=1;
// `npm run bench -- --suite fuzz` measures the same over 10 seeds): every one
// of the four bugs, each by the first of the seeds to find it.
import { describe, expect, it } from 'vitest';
import { type CampaignReport, type Finding, allBugsFound, findingOfBug, runCampaign } from '../../src/fuzz/campaign.js';
import { runProgram } from '../../src/fuzz/executor.js';
import { BUG_SWITCHES, type BugSwitch, runOnProfile, singleBugProfile } from '../../src/fuzz/signal.js';

const THOROUGH = process.env.IOMMUFD_SIM_THOROUGH === '1';
/** Seeds tried in order, and the program budget of each campaign. */
const SEEDS = THOROUGH ? [4, 1, 5] : [1, 4, 5];
const BUDGET = THOROUGH ? 8000 : 1500;

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
      stopWhen: (s) => (THOROUGH ? allBugsFound(s.findings) : BUG_SWITCHES.some((b) => findingOfBug(s.findings, b) !== undefined)),
    });
    campaigns.set(seed, c);
  }
  return c;
}

/** The finding of `bug` alone is a true reproducer: fails with only that bug's switch, passes on latest, and is small. */
function checkFinding(f: Finding, bug: BugSwitch): void {
  expect(f.signature.endsWith(`[${bug}]`)).toBe(true);
  expect(f.latestFails).toBe(false);
  const only = runOnProfile(f.program, singleBugProfile(bug), { checks: true, panicOnWarn: true });
  expect(only.failed).toBe(true);
  const latest = runProgram({ ...f.program, profile: 'latest' }, { checks: true, panicOnWarn: true });
  expect(latest.failed).toBe(false);
  expect(f.program.calls.length).toBeLessThanOrEqual(12);
}

describe('the fuzzer rediscovers the v6.2 pages.c bugs', () => {
  if (THOROUGH) {
    for (const bug of BUG_SWITCHES) {
      it(`${bug} (first of seeds ${SEEDS.join(', ')} to find it, at most ${BUDGET} programs each)`, { timeout: 600_000 }, async () => {
        const tried: string[] = [];
        let found: Finding | undefined;
        for (const seed of SEEDS) {
          const r = await campaign(seed);
          found = findingOfBug(r.findings, bug);
          if (found) break;
          tried.push(`seed ${seed}: ${r.programs} programs, findings ${r.findings.map((x) => x.signature).join('; ')}`);
        }
        expect(found, `no finding of ${bug} alone:\n${tried.join('\n')}`).toBeDefined();
        checkFinding(found!, bug);
      });
    }
  } else {
    it(`one of the four (first of seeds ${SEEDS.join(', ')} to find one, at most ${BUDGET} programs each; IOMMUFD_SIM_THOROUGH=1 for all four)`, { timeout: 300_000 }, async () => {
      const tried: string[] = [];
      for (const seed of SEEDS) {
        const r = await campaign(seed);
        const bug = BUG_SWITCHES.find((b) => findingOfBug(r.findings, b) !== undefined);
        if (bug) {
          checkFinding(findingOfBug(r.findings, bug)!, bug);
          return;
        }
        tried.push(`seed ${seed}: ${r.programs} programs, findings ${r.findings.map((x) => x.signature).join('; ')}`);
      }
      expect.fail(`no seed found any of the four bugs alone:\n${tried.join('\n')}`);
    });
  }
});
