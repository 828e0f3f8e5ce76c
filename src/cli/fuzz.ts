// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommufd-sim fuzz`: a fuzzing campaign (src/fuzz/campaign.ts) with a
 * progress line (programs/s, calls/s, corpus size, findings), every finding
 * minimized and written (JSON + C export) to --out, the corpus loaded from and
 * saved to --corpus. Exit status 1 when something was found, 0 otherwise.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import Table from 'cli-table3';
import { type Command, Option } from 'commander';
import { PROFILE_NAMES, type ProfileName } from '../base/profile.js';
import { type CampaignReport, type Finding, runCampaign, signatureSlug } from '../fuzz/campaign.js';

export interface FuzzCommandOptions {
  seconds?: number | string;
  seed?: number | string;
  workers?: number | string;
  profile?: string;
  corpus?: string;
  out?: string;
  /** false: no CONFIG_IOMMUFD_TEST assertions and no audit (faster). */
  checks?: boolean;
  /** No progress line. */
  quiet?: boolean;
  /** Failure signatures of known findings not to report again (e.g. `WARN mock_domain_unmap.last`). */
  ignore?: string[];
}

/** The part of cli-progress used here (the package ships no types). */
interface ProgressBar {
  start(total: number, value: number, payload?: object): void;
  update(value: number, payload?: object): void;
  stop(): void;
}
interface CliProgress {
  SingleBar: new (opts: object, preset?: object) => ProgressBar;
  Presets: Record<string, object>;
}
const cliProgress = createRequire(import.meta.url)('cli-progress') as CliProgress;

function toInt(v: number | string | undefined, def: number, what: string): number {
  if (v === undefined) return def;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${what}: expected a non-negative number, got ${String(v)}`);
  return Math.floor(n);
}

function findingLine(f: Finding): string {
  const bugs = f.bugs.length ? f.bugs.join(', ') : f.latestFails ? 'also on latest' : 'profile only';
  return `[${(f.foundAtMs / 1000).toFixed(1)}s] finding: ${f.signature} — ${bugs} — ${f.program.calls.length} call(s)`;
}

/** Run a campaign from the command line; returns the exit status. */
export async function fuzzCommand(opts: FuzzCommandOptions = {}): Promise<number> {
  const seconds = toInt(opts.seconds, 60, 'seconds');
  const seed = toInt(opts.seed, 1, 'seed');
  const workers = Math.max(1, toInt(opts.workers, 1, 'workers'));
  const profile = (opts.profile ?? 'latest') as ProfileName;
  if (!(PROFILE_NAMES as readonly string[]).includes(profile)) throw new Error(`--profile: unknown profile ${profile} (known: ${PROFILE_NAMES.join(', ')})`);
  const outDir = opts.out ? resolve(opts.out) : undefined;
  const corpusDir = opts.corpus ? resolve(opts.corpus) : undefined;
  const tty = process.stderr.isTTY === true && !opts.quiet;
  const bar = new cliProgress.SingleBar(
    {
      format: 'fuzz {profile} |{bar}| {value}/{total}s | {pps} prog/s {cps} calls/s | corpus {corpus} | signal {signal} | findings {findings}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 20,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = { profile, pps: '0', cps: '0', corpus: 0, signal: 0, findings: 0 };
  if (tty) bar.start(seconds, 0, payload);
  const say = (line: string): void => {
    if (tty) process.stderr.write('\r\x1b[K');
    process.stderr.write(`${line}\n`);
  };
  if (!opts.quiet) say(`fuzzing ${profile} for ${seconds}s, seed ${seed}, ${workers} worker(s)${outDir ? `, findings to ${outDir}` : ''}${corpusDir ? `, corpus ${corpusDir}` : ''}`);
  let report: CampaignReport;
  try {
    report = await runCampaign({
      seconds,
      seed,
      workers,
      profile,
      checks: opts.checks ?? true,
      ...(opts.ignore ? { ignore: opts.ignore } : {}),
      ...(outDir ? { outDir } : {}),
      ...(corpusDir ? { corpusDir } : {}),
      onProgress: (s) => {
        if (!tty) return;
        const secs = Math.max(s.elapsedMs / 1000, 1e-3);
        bar.update(Math.min(seconds, Math.floor(secs)), {
          ...payload,
          pps: (s.programs / secs).toFixed(0),
          cps: (s.calls / secs).toFixed(0),
          corpus: s.corpus,
          signal: s.signal,
          findings: s.findings.length,
        });
      },
      onFinding: (f) => {
        if (!opts.quiet) say(findingLine(f));
      },
    });
  } finally {
    if (tty) bar.stop();
  }
  const secs = Math.max(report.elapsedMs / 1000, 1e-3);
  if (!opts.quiet) {
    process.stdout.write(
      `${report.programs} programs (${(report.programs / secs).toFixed(0)}/s), ${report.calls} calls (${(report.calls / secs).toFixed(0)}/s) in ${secs.toFixed(1)}s; corpus ${report.corpus}, signal ${report.signal}, ${report.findings.length} finding(s)\n`,
    );
    if (report.findings.length > 0) {
      const plain = process.stdout.isTTY !== true;
      const t = new Table({ head: ['signature', 'bugs', 'calls', 'found (s)', 'reproducer'], ...(plain ? { style: { head: [], border: [] } } : {}) });
      for (const f of report.findings) {
        t.push([f.signature, f.bugs.join('\n') || (f.latestFails ? '(also on latest)' : '(profile)'), String(f.program.calls.length), (f.foundAtMs / 1000).toFixed(1), outDir ? `${signatureSlug(f.signature)}/` : '-']);
      }
      process.stdout.write(`${t.toString()}\n`);
    }
  }
  if (report.hung) {
    process.stderr.write(
      `iommufd-sim fuzz: round ${report.hung.round} never came back (a program that does not end?); stopped after ${(report.hung.afterMs / 1000).toFixed(0)} s. Rerun with IOMMUFD_SIM_FUZZ_TRACE=DIR to see each fuzzer's program.\n`,
    );
  }
  return report.findings.length > 0 || report.hung ? 1 : 0;
}

/** Add the `fuzz` command to the iommufd-sim program. */
export function register(program: Command): void {
  program
    .command('fuzz')
    .description(
      'Fuzz the model: generate and mutate scenario programs, keep the ones that reach new code, check invariants, the audit and leaks after every call, and minimize every failure into a reproducer (JSON + C). Exit 1 if anything was found.',
    )
    .option('-s, --seconds <n>', 'how long to fuzz', '60')
    .option('--seed <n>', 'campaign seed (with --workers, fixes the programs run)', '1')
    .option('-w, --workers <n>', 'fuzzers in parallel (worker threads, one per core)', '1')
    .addOption(new Option('-p, --profile <name>', 'kernel behaviour profile').choices(PROFILE_NAMES as unknown as string[]).default('latest'))
    .option('--corpus <dir>', 'load the corpus from this directory and save it back')
    .option('-o, --out <dir>', 'write every finding here (repro.json, repro.c, finding.txt)')
    .option('--no-checks', 'no CONFIG_IOMMUFD_TEST assertions and no audit (faster, finds less)')
    .option('-q, --quiet', 'no progress line')
    .option('--ignore <signature...>', 'failure signatures of known findings not to report again, e.g. "WARN mock_domain_unmap.last"')
    .action(async (o: FuzzCommandOptions) => {
      process.exitCode = await fuzzCommand(o);
    });
}
