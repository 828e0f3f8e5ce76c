// SPDX-License-Identifier: GPL-2.0-only
// Seed-bug rediscovery: on v6.2, from an empty corpus, a one-worker campaign
// reports pages.c bugs as findings of their own. The generator knows nothing
// of the bugs.
//
// Two modes. The default (fast, for `npm test`): the first of a few fixed
// seeds to report any of the four bugs within a small program budget
// (deterministic for its seed), with that finding checked: it fails with only
// that bug's switch, passes on latest, and is small. A campaign's path depends
// on every detail of the model, so a change that merely reroutes one seed
// does not fail the test; a fuzzer that got worse does.
//
// The thorough mode (IOMMUFD_SIM_THOROUGH=1) measures the target of issue 17:
// ten seeds, each a campaign of at most 60 s on one core stopping once all four
// are found; every seed must find all four within the 60 s and each bug's
// median time to report (minimized and classified) over the ten must be under
// 10 s. It prints the table (seconds and programs to each bug); each bug's
// finding of the first seed is checked as in the fast mode. Times are wall
// clock: run it on an idle core (the table says how many programs it took).
import { describe, expect, it } from 'vitest';
import { type CampaignReport, type Finding, allBugsFound, findingOfBug, runCampaign } from '../../src/fuzz/campaign.js';
import { runProgram } from '../../src/fuzz/executor.js';
import { BUG_SWITCHES, type BugSwitch, runOnProfile, singleBugProfile } from '../../src/fuzz/signal.js';

const THOROUGH = process.env.IOMMUFD_SIM_THOROUGH === '1';
/** Seeds tried in order, and the program budget of each campaign (fast mode). */
const SEEDS = [1, 4, 5];
const BUDGET = 1500;
/** Thorough mode: ten seeds, each at most this long. */
const THOROUGH_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const THOROUGH_SECONDS = Number(process.env.IOMMUFD_SIM_REDISCOVERY_SECONDS ?? 60);

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
      stopWhen: (s) => BUG_SWITCHES.some((b) => findingOfBug(s.findings, b) !== undefined),
    });
    campaigns.set(seed, c);
  }
  return c;
}

/** Median of numbers (Infinity counts as a miss). */
function median(xs: readonly number[]): number {
  const t = [...xs].sort((a, b) => a - b);
  return t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
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
    it(`all four on each of ${THOROUGH_SEEDS.length} seeds within ${THOROUGH_SECONDS} s, each in under 10 s median`, { timeout: (THOROUGH_SECONDS + 60) * 1000 * THOROUGH_SEEDS.length }, async () => {
      const ms: Record<BugSwitch, number[]> = { carryLeavesEndZero: [], carryWritesCountFirst: [], unpinLastIndexFromReadStart: [], skipUptrOverflowCheck: [] };
      const rows: string[] = [];
      const firsts = new Map<BugSwitch, Finding>();
      for (const seed of THOROUGH_SEEDS) {
        const r = await runCampaign({ seconds: THOROUGH_SECONDS, seed, workers: 1, profile: 'v6.2', maxPrograms: 1e9, stopWhen: (s) => allBugsFound(s.findings) });
        const cells: string[] = [];
        for (const bug of BUG_SWITCHES) {
          const f = findingOfBug(r.findings, bug);
          ms[bug].push(f ? f.reportedAtMs : Number.POSITIVE_INFINITY);
          if (f && !firsts.has(bug)) firsts.set(bug, f);
          cells.push(f ? `${(f.reportedAtMs / 1000).toFixed(1)} s`.padStart(14) : 'missed'.padStart(14));
        }
        rows.push(`seed ${String(seed).padStart(2)} ${cells.join(' ')}   (${r.programs} programs, ${(r.elapsedMs / 1000).toFixed(1)} s)`);
      }
      const med = BUG_SWITCHES.map((b) => median(ms[b]));
      const table = [`        ${BUG_SWITCHES.map((b) => b.slice(0, 14).padStart(14)).join(' ')}`, ...rows, `median  ${med.map((m) => `${(m / 1000).toFixed(1)} s`.padStart(14)).join(' ')}`].join('\n');
      console.log(`v6.2 rediscovery, one worker, ${THOROUGH_SECONDS} s per seed (time to report each bug alone):\n${table}`);
      for (const bug of BUG_SWITCHES) {
        expect(ms[bug].every((t) => t <= THOROUGH_SECONDS * 1000), `${bug} missed by a seed:\n${table}`).toBe(true);
        expect(median(ms[bug]), `${bug} median:\n${table}`).toBeLessThan(10_000);
        checkFinding(firsts.get(bug)!, bug);
      }
    });
  } else {
    it(`one of the four (first of seeds ${SEEDS.join(', ')} to find one, at most ${BUDGET} programs each; IOMMUFD_SIM_THOROUGH=1 for all four on ten seeds)`, { timeout: 300_000 }, async () => {
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
