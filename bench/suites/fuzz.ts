// SPDX-License-Identifier: GPL-2.0-only
/**
 * Benchmarks of the fuzzer (issue: the iommufd-sim command):
 *
 * - Seed-bug rediscovery: for each of the four pages.c bugs, the median time
 *   from an empty corpus on `v6.2` (one worker, checks on) until the bug is
 *   reported as a finding of its own (found, minimized, classified as that
 *   bug alone), over 10 seeds. Target: under 10 s each. A seed that does not
 *   find a bug within the cap counts as the cap (so the median is an upper
 *   bound), and the row says how many seeds found it.
 * - Throughput on `latest`: programs and calls per second with checks (the
 *   CONFIG_IOMMUFD_TEST assertions and the whole-state audit after every call)
 *   on and off, on one worker and on two, over 20 s after the first round.
 *
 * `--quick` runs 3 seeds with a 20 s cap and 3 s throughput runs.
 */
import { BUG_SWITCHES, type BugSwitch } from '../../src/fuzz/signal.js';
import { allBugsFound, runCampaign } from '../../src/fuzz/campaign.js';
import type { SuiteOptions } from '../run.js';

export interface FuzzBenchResult {
  name: string;
  [k: string]: number | string | undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function rediscovery(seeds: number[], capSeconds: number): Promise<FuzzBenchResult[]> {
  const times = new Map<BugSwitch, number[]>(BUG_SWITCHES.map((b) => [b, []]));
  const found = new Map<BugSwitch, number>(BUG_SWITCHES.map((b) => [b, 0]));
  for (const seed of seeds) {
    const r = await runCampaign({
      seconds: capSeconds,
      seed,
      workers: 1,
      profile: 'v6.2',
      stopWhen: (s) => allBugsFound(s.findings),
    });
    for (const b of BUG_SWITCHES) {
      const ms = r.bugsFound[b];
      if (ms !== undefined) found.set(b, found.get(b)! + 1);
      times.get(b)!.push(ms !== undefined ? ms / 1000 : capSeconds);
    }
  }
  return BUG_SWITCHES.map((b) => {
    const t = times.get(b)!;
    return {
      name: `time to find ${b} (v6.2, 1 worker, empty corpus)`,
      medianSeconds: median(t),
      maxSeconds: Math.max(...t),
      foundBy: `${found.get(b)}/${seeds.length} seeds`,
      target: '< 10 s median',
    };
  });
}

/**
 * Steady-state rate: counted from the first progress report (after the first
 * round, so the start of the worker processes is left out) to the end.
 */
async function throughput(checks: boolean, workers: number, seconds: number): Promise<FuzzBenchResult> {
  let first: { ms: number; programs: number; calls: number } | undefined;
  const r = await runCampaign({
    seconds,
    seed: 11,
    workers,
    profile: 'latest',
    checks,
    minimize: false,
    onProgress: (s) => {
      first ??= { ms: s.elapsedMs, programs: s.programs, calls: s.calls };
    },
  });
  const from = first ?? { ms: 0, programs: 0, calls: 0 };
  const s = (r.elapsedMs - from.ms) / 1000;
  return {
    name: `throughput on latest, checks ${checks ? 'on' : 'off'}, ${workers} worker${workers === 1 ? '' : 's'}`,
    programsPerSecond: Math.round((r.programs - from.programs) / s),
    callsPerSecond: Math.round((r.calls - from.calls) / s),
    findings: r.findings.length,
  };
}

export async function run(opts: SuiteOptions): Promise<FuzzBenchResult[]> {
  const out: FuzzBenchResult[] = [];
  const want = (name: string): boolean => !opts.filter || `fuzz: ${name}`.includes(opts.filter);
  if (want('time to find')) {
    const seeds = opts.quick ? [1, 2, 3] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    out.push(...(await rediscovery(seeds, opts.quick ? 20 : 60)));
  }
  if (want('throughput')) {
    const secs = opts.quick ? 4 : 20;
    for (const workers of [1, 2]) for (const checks of [true, false]) out.push(await throughput(checks, workers, secs));
  }
  return out;
}
