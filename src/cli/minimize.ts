// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommufd-sim minimize FILE`: shrink a failing program to the fewest calls
 * and simplest arguments that still fail the same way (same failure
 * signature under the fuzzer's checks), say which of the four pages.c bugs it
 * shows, and print it (or write repro.json, repro.c and finding.txt to --out).
 * Exit status 0 when minimized, 1 when the program does not fail, 2 for a
 * usage error.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { PROFILE_NAMES, type ProfileName } from '../base/profile.js';
import { type Finding, findingName, writeFinding } from '../fuzz/campaign.js';
import { minimizeProgram } from '../fuzz/minimizer.js';
import { type Program, formatProgram, parseProgram } from '../fuzz/program.js';
import { bugFixText, classTag, classifiesSeedBugs, classifyOn, classifyProgram, failureSignature, fuzzRunOptions, runGuarded } from '../fuzz/signal.js';
import { writeExplorerPage } from './explore.js';
import { progress } from './progress.js';
import { secondsArg } from './term.js';

export interface MinimizeCommandOptions {
  out?: string;
  profile?: string;
  /** Time budget in seconds (default 60). */
  seconds?: number | string;
  checks?: boolean;
  /** No progress bar. */
  quiet?: boolean;
}

/** Minimize the program in `file`; returns the exit status. */
export async function minimizeCommand(file: string, opts: MinimizeCommandOptions = {}): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 2;
  }
  const parsed = parseProgram(text, file);
  if (!parsed.ok) {
    process.stderr.write(`${parsed.error}\n`);
    return 2;
  }
  let program: Program = parsed.program;
  if (opts.profile !== undefined) {
    if (!(PROFILE_NAMES as readonly string[]).includes(opts.profile)) {
      process.stderr.write(`unknown profile ${opts.profile} (known: ${PROFILE_NAMES.join(', ')})\n`);
      return 2;
    }
    program = { ...program, profile: opts.profile as ProfileName };
  }
  const checks = opts.checks ?? true;
  let seconds: number;
  try {
    seconds = opts.seconds === undefined ? 60 : typeof opts.seconds === 'number' ? opts.seconds : secondsArg(opts.seconds);
  } catch (e) {
    process.stderr.write(`--seconds: ${(e as Error).message}\n`);
    return 2;
  }
  if (!(seconds > 0)) {
    process.stderr.write(`--seconds: expected a positive number of seconds, got ${seconds}\n`);
    return 2;
  }
  const started = Date.now();
  const first = runGuarded(program, fuzzRunOptions(checks));
  const signature = failureSignature(first);
  if (signature === undefined) {
    process.stderr.write(`${file}: the program passes every check on ${program.profile ?? 'latest'}; nothing to minimize\n`);
    return 1;
  }
  // Expectations are the author's, not the failure's: minimize without them.
  const bare: Program = { ...program, calls: program.calls.map(({ expect: _e, expectOn: _o, comment: _c, ...c }) => ({ ...c, op: c.op })) };
  delete bare.expectWarning;
  const start = failureSignature(runGuarded(bare, fuzzRunOptions(checks))) === signature ? bare : program;
  // Off `latest`, keep what the failure shows too (which of the four bugs, or latest as well).
  const profile = (program.profile ?? 'latest') as ProfileName;
  const tag = classifiesSeedBugs(profile) ? classTag(classifyProgram(start, checks)) : undefined;
  const maxRuns = 20_000;
  const bar = progress('minimize |{bar}| {value} runs | {calls} call(s) | {secs}s of {budget}s', maxRuns, { calls: start.calls.length, secs: 0, budget: seconds }, process.stderr.isTTY === true && !opts.quiet);
  let runs = 0;
  const check = (q: Program): boolean => {
    const ok = failureSignature(runGuarded(q, fuzzRunOptions(checks))) === signature && (tag === undefined || classTag(classifyProgram(q, checks)) === tag);
    runs++;
    bar.update(runs, { calls: q.calls.length, secs: ((Date.now() - started) / 1000).toFixed(0), budget: seconds });
    return ok;
  };
  let m: ReturnType<typeof minimizeProgram>;
  try {
    m = minimizeProgram(start, { check, checks, maxRuns, maxMs: seconds * 1000 });
  } finally {
    bar.stop();
  }
  const cls = classifyOn(profile, m.program, checks);
  const rerun = runGuarded(m.program, fuzzRunOptions(checks));
  const finding: Finding = {
    signature,
    failure: signature,
    program: m.program,
    original: program,
    reasons: rerun.reasons ?? [],
    bugs: cls.bugs,
    latestFails: cls.latestFails,
    foundAtMs: 0,
    reportedAtMs: Date.now() - started,
    worker: 0,
    round: 0,
    minimizeRuns: m.runs,
  };
  process.stderr.write(
    `${signature}: ${m.callsBefore} -> ${m.callsAfter} call(s) in ${m.runs} runs; ${cls.bugs.length ? `bug(s): ${cls.bugs.map((b) => `${b}, ${bugFixText(b)}`).join('; ')}` : cls.latestFails ? 'fails on latest too' : 'none of the four pages.c bugs alone'}\n`,
  );
  if (opts.out) {
    const dir = writeFinding(resolve(opts.out), finding, (d, f) => writeExplorerPage(join(d, 'explorer.html'), f.program));
    process.stderr.write(`wrote ${dir} (${findingName(finding)})\n`);
  } else process.stdout.write(formatProgram(m.program, 'json'));
  return 0;
}

/** Add the `minimize` command to the iommufd-sim program. */
export function register(program: Command): void {
  program
    .command('minimize')
    .description('Shrink a failing program to the fewest calls and simplest arguments that still fail the same way; print it, or write repro.json + repro.c to --out. Exit 1 if the program does not fail.')
    .argument('<file>', 'program file (.json, .yaml)')
    .option('-o, --out <dir>', 'write repro.json, repro.c, original.json, finding.txt and log.txt under this directory')
    .addOption(new Option('-p, --profile <name>', 'kernel behaviour profile (overrides the program)').choices(PROFILE_NAMES as unknown as string[]))
    .option('-s, --seconds <n>', 'time budget', secondsArg, 60)
    .option('--no-checks', 'no CONFIG_IOMMUFD_TEST assertions and no audit')
    .option('-q, --quiet', 'no progress bar')
    .action(async (file: string, o: MinimizeCommandOptions) => {
      process.exitCode = await minimizeCommand(file, o);
    });
}
