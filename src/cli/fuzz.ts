// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommufd-sim fuzz`: a fuzzing campaign (src/fuzz/campaign.ts) with a
 * progress line (programs/s, calls/s, corpus size, findings), every finding
 * minimized and written (program, reproducer, C export, log) into a work
 * directory — ./iommufd-sim-findings/ unless --out says otherwise, like
 * syzkaller's workdir — the corpus loaded from and saved to --corpus. One
 * fuzzer per core by default, never more than the cores. Every op the
 * profile's kernel has is generated (HWPTs, dirty tracking, fault queues,
 * vIOMMUs, PASID, MAP_FILE, CHANGE_PROCESS, dma-buf on latest) unless
 * --no-new-ops asks for the first uAPI's only. Exit status 1 when
 * something was found, 0 otherwise, 2 for a usage error.
 *
 * Differential mode (`--kernel BZIMAGE`): after the campaign its corpus goes
 * to the real kernel through the oracle harness (src/oracle: the programs
 * exported to C, run in batches in one QEMU boot each, compared call by
 * call), and every program the kernel answers differently, beyond the known
 * divergences, is a finding of its own (`KERNEL <class> <op>`), written to the
 * same work directory.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Table from 'cli-table3';
import { type Command, Option } from 'commander';
import { PROFILE_NAMES, type ProfileName } from '../base/profile.js';
import { Prng } from '../base/prng.js';
import { type CampaignReport, type Finding, findingName, runCampaign, signatureSlug } from '../fuzz/campaign.js';
import { exportC } from '../fuzz/export-c.js';
import { type Program, formatProgram } from '../fuzz/program.js';
import { type OracleOptions, type OracleResult, type OracleSummary, runOracle } from '../oracle/index.js';
import type { ProgramReport } from '../oracle/compare.js';
import { bugFixText } from '../fuzz/signal.js';
import { UsageError } from './errors.js';
import { KERNEL_HELP } from './oracle.js';
import { writeExplorerPage } from './explore.js';
import { progress } from './progress.js';
import { cores, parseWhole, secondsArg, wholeArg } from './term.js';

/** Where findings go when --out is not given. */
export const DEFAULT_FINDINGS_DIR = 'iommufd-sim-findings';

export interface FuzzCommandOptions {
  seconds?: number | string;
  seed?: number | string;
  workers?: number | string;
  profile?: string;
  corpus?: string;
  out?: string;
  /** false: no CONFIG_IOMMUFD_TEST assertions and no audit (faster). */
  checks?: boolean;
  /** No progress line, no finding lines: only the summary. */
  quiet?: boolean;
  /** Print the report as JSON. */
  json?: boolean;
  /** Failure signatures of known findings not to report again (e.g. `WARN mock_domain_unmap.last`). */
  ignore?: string[];
  /** How long, as a duration ("90s", "30m", "1h"); overrides seconds. */
  duration?: number | string;
  /** Differential mode: send the corpus to this kernel (bzImage) after the campaign. */
  kernel?: string;
  /** The base initramfs of --kernel (default: init.cpio.gz beside it). */
  initramfs?: string;
  /** Programs per VM boot in differential mode. */
  kernelBatch?: number | string;
  /** At most this many corpus programs go to the kernel (a sample fixed by the seed); default: all. */
  kernelSample?: number | string;
  /** false (--no-new-ops): leave out the uAPI newer than the first (HWPTs, dirty tracking, fault queues, vIOMMUs, 7.x commands); default: every op the profile's kernel has. */
  newOps?: boolean;
  /** Replaces the oracle harness (tests). */
  runOracle?: (o: OracleOptions) => Promise<OracleResult>;
}

/** "90", "90s", "30m", "1.5h": seconds. */
export function durationArg(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(value.trim());
  const n = m ? Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1) : Number.NaN;
  if (!(n > 0) || n > 365 * 24 * 3600) throw new UsageError(`--duration: expected a positive duration such as 90s, 30m or 1h, got "${value}"`);
  return n;
}

export interface DifferentialReport {
  summary: OracleSummary;
  /**
   * Programs the kernel answered differently (beyond the known divergences), or that did not finish on it
   * (the VM stopped, the C export did not compile), with their finding folders.
   */
  diverged: Array<{ report: ProgramReport; dir: string }>;
  /** Programs left out because the C export cannot express them. */
  unexportable: number;
  /** Programs that diverged (or did not finish) in their batch and agreed (or were explained) when run alone: not findings. */
  batchOnly: string[];
  /** The corpus's size when only a sample of it went to the kernel (`sample`). */
  sampledFrom?: number;
}

/**
 * `n` of `total` indexes drawn without replacement (a partial Fisher-Yates
 * shuffle seeded by `seed`), in rising order; all of them when n >= total.
 */
export function sampleIndexes(total: number, n: number, seed: number): number[] {
  const idx = Array.from({ length: total }, (_, i) => i);
  if (n >= total) return idx;
  const rng = new Prng(seed);
  for (let i = 0; i < n; i++) {
    const j = i + rng.below(total - i);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx.slice(0, n).sort((a, b) => a - b);
}

/** The finding of a program the kernel answers differently: its first unexplained divergence names it. */
function kernelFindingSignature(r: ProgramReport): string {
  const d = r.divergences.find((x) => !x.known) ?? r.divergences[0];
  return d ? `KERNEL ${d.class} ${d.op ?? 'program'}${d.field ? ` ${d.field}` : ''}` : `KERNEL ${r.status}`;
}

/** Write a kernel divergence into `dir/kernel-<signature>-<n>/`: repro.json, repro.c, finding.txt. */
function writeKernelFinding(dir: string, r: ProgramReport, p: Program, c: string, summary: OracleSummary, n: number): string {
  const d = join(dir, `${signatureSlug(kernelFindingSignature(r))}-${n}`.slice(0, 96));
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'repro.json'), formatProgram(p, 'json'));
  writeFileSync(join(d, 'repro.c'), c);
  const lines = [
    `signature: ${kernelFindingSignature(r)}`,
    `kernel: Linux ${summary.release} (${summary.kernel}), model profile ${summary.profile}`,
    `program: ${r.name}, ${r.calls} call(s), ${r.compared} compared`,
    'divergences (call, op, class, field: model | kernel):',
    ...r.divergences.map((x) => `  ${x.call ?? '-'} ${x.op ?? '-'} ${x.class}${x.field ? ` ${x.field}` : ''}: ${x.model} | ${x.kernel}${x.known ? ` (known: ${x.known.why})` : ''}`),
    ...(r.kernelWarnings.length ? ['kernel warnings:', ...r.kernelWarnings.map((w) => `  ${w}`)] : []),
    ...(r.note ? [`note: ${r.note}`] : []),
    '',
  ];
  writeFileSync(join(d, 'finding.txt'), lines.join('\n'));
  return d;
}

/**
 * Differential mode: run `programs` on the kernel `kernel` (and the model, on
 * the kernel's profile unless `profile` says otherwise) in batches, and write
 * every program answered differently as a finding into `outDir`.
 */
export async function differential(
  programs: readonly Program[],
  o: {
    kernel: string;
    outDir: string;
    profile?: ProfileName;
    initramfs?: string;
    batch?: number;
    /** Send at most this many programs, drawn with `seed` (a long campaign's corpus takes hours to compile and run whole). */
    sample?: number;
    seed?: number;
    run?: (o: OracleOptions) => Promise<OracleResult>;
    onPhase?: (s: string) => void;
  },
): Promise<DifferentialReport> {
  const named: Array<{ name: string; program: Program; c: string }> = [];
  let unexportable = 0;
  const sampled = o.sample !== undefined && o.sample < programs.length;
  // (a program keeps its index in the corpus as its name, sampled or not)
  for (const i of sampled ? sampleIndexes(programs.length, o.sample!, o.seed ?? 1) : programs.keys()) {
    const p = programs[i];
    const q: Program = o.profile ? { ...p, profile: o.profile } : p;
    try {
      named.push({ name: `corpus-${String(i).padStart(4, '0')}`, program: q, c: exportC(q, o.profile ? { profile: o.profile } : {}) });
    } catch {
      unexportable++;
    }
  }
  const run = o.run ?? runOracle;
  const res = await run({
    programs: named.map(({ name, program }) => ({ name, program })),
    kernel: o.kernel,
    ...(o.profile ? { profile: o.profile } : {}),
    ...(o.initramfs ? { initramfs: o.initramfs } : {}),
    batch: o.batch ?? 100,
    ...(o.onPhase ? { onPhase: o.onPhase } : {}),
  });
  // A program that did not finish in the VM (a kernel that died under it, a program that hung) is worth as
  // much as a divergence: it is followed the same way.
  const first = res.reports.flatMap((r, i) => (r.status === 'diverged' || r.status === 'error' ? [i] : []));
  // A program of a batch runs linked with the others (one binary, a larger image than its own, which the
  // model's exec layout describes): what it does to fixed addresses may land in the others' data. Each one
  // that diverged runs again alone, one per boot, and is a finding only if it diverges (or fails) there too.
  let alone: OracleResult | undefined;
  if (first.length > 0 && (o.batch ?? 100) > 1) {
    o.onPhase?.(`running the ${first.length} diverged or unfinished program(s) again, each alone`);
    alone = await run({
      programs: first.map((i) => ({ name: named[i].name, program: named[i].program })),
      kernel: o.kernel,
      ...(o.profile ? { profile: o.profile } : {}),
      ...(o.initramfs ? { initramfs: o.initramfs } : {}),
      batch: 1,
      ...(o.onPhase ? { onPhase: o.onPhase } : {}),
    });
  }
  const diverged: DifferentialReport['diverged'] = [];
  const batchOnly: string[] = [];
  first.forEach((i, k) => {
    const a = alone?.reports[k];
    // (a rerun that did not answer, an error or a skip, leaves the batch's divergence standing)
    if (a !== undefined && (a.status === 'agree' || a.status === 'explained')) {
      batchOnly.push(named[i].name);
      return;
    }
    // the divergence to show: the one alone, else the batch's, else what the rerun said (its error)
    const b = res.reports[i];
    const r = a?.status === 'diverged' ? a : b.status === 'diverged' ? b : (a ?? b);
    diverged.push({ report: r, dir: writeKernelFinding(o.outDir, r, named[i].program, named[i].c, res.summary, diverged.length) });
  });
  return { summary: res.summary, diverged, unexportable, batchOnly, ...(sampled ? { sampledFrom: programs.length } : {}) };
}

function toWhole(v: number | string | undefined, def: number, what: string, min: number): number {
  if (v === undefined) return def;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`--${what}: expected a whole number >= ${min}, got ${v}`);
    return v;
  }
  try {
    return parseWhole(v, min);
  } catch (e) {
    throw new UsageError(`--${what}: ${(e as Error).message}`);
  }
}

/** "bugs" of a finding as kernel history: the fix of each pages.c bug it shows. */
export function findingBugsText(f: Pick<Finding, 'bugs' | 'latestFails'>): string {
  return f.bugs.length ? f.bugs.map((b) => `${b}, ${bugFixText(b)}`).join('; ') : f.latestFails ? 'also on latest' : 'profile only';
}

function findingLine(f: Finding): string {
  const bugs = findingBugsText(f);
  return `[${(f.foundAtMs / 1000).toFixed(1)}s] finding: ${f.signature} — ${bugs} — ${f.program.calls.length} call(s)`;
}

/** Run a campaign from the command line; returns the exit status. */
export async function fuzzCommand(opts: FuzzCommandOptions = {}): Promise<number> {
  const seconds =
    opts.duration !== undefined
      ? typeof opts.duration === 'string'
        ? durationArg(opts.duration)
        : opts.duration
      : typeof opts.seconds === 'string'
        ? secondsOr(opts.seconds)
        : (opts.seconds ?? 60);
  if (!(seconds > 0)) throw new UsageError(`--seconds: expected a positive number of seconds, got ${String(opts.seconds)}`);
  const seed = toWhole(opts.seed, 1, 'seed', 0);
  const ncores = cores();
  const asked = toWhole(opts.workers, ncores, 'workers', 1);
  const workers = Math.min(asked, ncores);
  const profile = (opts.profile ?? 'latest') as ProfileName;
  if (!(PROFILE_NAMES as readonly string[]).includes(profile)) throw new UsageError(`--profile: unknown profile ${profile} (known: ${PROFILE_NAMES.join(', ')})`);
  // differential mode: refuse a missing kernel or initramfs before the campaign, not after it
  if (opts.kernel !== undefined && !existsSync(opts.kernel)) throw new UsageError(`--kernel ${opts.kernel}: no such kernel image. ${KERNEL_HELP}`);
  // (checked before the campaign, not after it)
  const kernelBatch = toWhole(opts.kernelBatch, 100, 'kernel-batch', 1);
  const kernelSample = opts.kernelSample === undefined ? undefined : toWhole(opts.kernelSample, 0, 'kernel-sample', 1);
  if (opts.initramfs !== undefined && !existsSync(opts.initramfs)) throw new UsageError(`--initramfs ${opts.initramfs}: no such file`);
  // the differential mode's own options say nothing without --kernel: a forgotten --kernel is a usage error, not a campaign
  if (opts.kernel === undefined) {
    const stray = [opts.kernelSample !== undefined && '--kernel-sample', opts.initramfs !== undefined && '--initramfs'].filter(Boolean);
    if (stray.length > 0) throw new UsageError(`${stray.join(', ')}: only with --kernel (the differential mode)`);
  }
  const outDir = resolve(opts.out ?? DEFAULT_FINDINGS_DIR);
  const corpusDir = opts.corpus ? resolve(opts.corpus) : undefined;
  const chatty = !opts.quiet && !opts.json;
  if (asked > workers && !opts.json) process.stderr.write(`iommufd-sim fuzz: --workers ${asked} capped at ${workers}, the cores of this machine\n`);
  const bar = progress(
    'fuzz {profile} |{bar}| {value}/{total}s | {pps} prog/s {cps} calls/s | corpus {corpus} | signal {signal} | findings {findings}',
    Math.ceil(seconds),
    { profile, pps: '0', cps: '0', corpus: 0, signal: 0, findings: 0 },
    process.stderr.isTTY === true && chatty,
  );
  if (chatty) bar.say(`fuzzing ${profile} for ${seconds}s, seed ${seed}, ${workers} worker(s), findings to ${outDir}${corpusDir ? `, corpus ${corpusDir}` : ''}`);
  let report: CampaignReport;
  try {
    report = await runCampaign({
      seconds,
      seed,
      workers,
      profile,
      checks: opts.checks ?? true,
      newOps: opts.newOps !== false,
      outDir,
      findingPage: (d, f) => writeExplorerPage(join(d, 'explorer.html'), f.program),
      ...(opts.ignore ? { ignore: opts.ignore } : {}),
      ...(corpusDir ? { corpusDir } : {}),
      onProgress: (s) => {
        if (!bar.live) return;
        const secs = Math.max(s.elapsedMs / 1000, 1e-3);
        bar.update(Math.min(Math.ceil(seconds), Math.floor(secs)), {
          profile,
          pps: (s.programs / secs).toFixed(0),
          cps: (s.calls / secs).toFixed(0),
          corpus: s.corpus,
          signal: s.signal,
          findings: s.findings.length,
        });
      },
      onFinding: (f) => {
        if (chatty) bar.say(findingLine(f));
      },
    });
  } finally {
    bar.stop();
  }
  const secs = Math.max(report.elapsedMs / 1000, 1e-3);
  // With --json the campaign's report is printed at the end, one document (the kernel's report inside it).
  let json: Record<string, unknown> | undefined;
  if (opts.json) {
    json = {
      profile: report.profile,
      seed: report.seed,
      workers: report.workers,
      seconds: secs,
      programs: report.programs,
      calls: report.calls,
      corpus: report.corpus,
      signal: report.signal,
      findingsDir: outDir,
      findings: report.findings.map((f) => ({
        signature: f.signature,
        failure: f.failure,
        bugs: f.bugs,
        fixes: f.bugs.map((b) => bugFixText(b)),
        latestFails: f.latestFails,
        calls: f.program.calls.length,
        foundAtS: f.foundAtMs / 1000,
        dir: resolve(outDir, findingName(f)),
        reasons: f.reasons,
      })),
      ...(report.hung ? { hung: report.hung } : {}),
    };
  } else {
    process.stdout.write(
      `${report.programs} programs (${(report.programs / secs).toFixed(0)}/s), ${report.calls} calls (${(report.calls / secs).toFixed(0)}/s) in ${secs.toFixed(1)}s; corpus ${report.corpus}, signal ${report.signal}, ${report.findings.length} finding(s)\n`,
    );
    if (report.findings.length > 0) {
      if (!opts.quiet) {
        const t = new Table({ head: ['finding', 'kernel fix', 'calls', 'found (s)'], colWidths: [44, 33, 7, 11], wordWrap: true });
        for (const f of report.findings) t.push([f.signature, findingBugsText(f), String(f.program.calls.length), (f.foundAtMs / 1000).toFixed(1)]);
        process.stdout.write(`${t.toString()}\n`);
      }
      process.stdout.write(`findings written to ${outDir}/ (each: repro.json, repro.c, original.json, finding.txt, log.txt, explorer.html):\n`);
      for (const f of report.findings) process.stdout.write(`  ${findingName(f)}/\n`);
    }
  }
  let diverged = 0;
  try {
    if (opts.kernel) {
      const d = await differential(report.corpusPrograms, {
        kernel: resolve(opts.kernel),
        outDir,
        ...(opts.profile ? { profile } : {}),
        ...(opts.initramfs ? { initramfs: resolve(opts.initramfs) } : {}),
        batch: kernelBatch,
        ...(kernelSample !== undefined ? { sample: kernelSample, seed } : {}),
        ...(opts.runOracle ? { run: opts.runOracle } : {}),
        onPhase: (ph) => {
          if (chatty) process.stderr.write(`kernel: ${ph}\n`);
        },
      });
      diverged = d.diverged.length;
      const s = d.summary;
      if (json) json.kernel = { image: s.kernel, release: s.release, profile: s.profile, programs: s.programs, ...(d.sampledFrom !== undefined ? { sampledFrom: d.sampledFrom } : {}), unexportable: d.unexportable, agree: s.agree, explained: s.explained, diverged: s.diverged, skipped: s.skipped, errors: s.errors, findings: d.diverged.map((x) => ({ name: x.report.name, signature: kernelFindingSignature(x.report), dir: x.dir })), batchOnly: d.batchOnly };
      else {
        process.stdout.write(
          `kernel ${s.release} (profile ${s.profile}): ${s.programs} corpus programs${d.sampledFrom !== undefined ? ` (a sample of the ${d.sampledFrom})` : ''} in ${s.seconds.boots} boot(s)${d.unexportable ? ` (${d.unexportable} not expressible in C left out)` : ''}: ${s.agree} agree, ${s.explained} explained by known divergences, ${s.diverged} diverged, ${s.skipped} skipped, ${s.errors} errors${d.batchOnly.length ? `; ${d.batchOnly.length} of the diverged or unfinished agreed when run alone: ${d.batchOnly.join(', ')}` : ''}\n`,
        );
        for (const x of d.diverged) process.stdout.write(`  ${kernelFindingSignature(x.report)}: ${x.dir}/\n`);
      }
    }
  } finally {
    // (printed also when the kernel run fails: the campaign's findings are written and reported)
    if (json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  }
  if (report.hung) {
    process.stderr.write(
      `iommufd-sim fuzz: round ${report.hung.round} never came back (a program that does not end?); stopped after ${(report.hung.afterMs / 1000).toFixed(0)} s. Rerun with IOMMUFD_SIM_FUZZ_TRACE=DIR to see each fuzzer's program.\n`,
    );
  }
  return report.findings.length > 0 || diverged > 0 || report.hung ? 1 : 0;
}

function secondsOr(v: string): number {
  try {
    return secondsArg(v);
  } catch (e) {
    throw new UsageError(`--seconds: ${(e as Error).message}`);
  }
}

/** Add the `fuzz` command to the iommufd-sim program. */
export function register(program: Command): void {
  program
    .command('fuzz')
    .description(
      'Fuzz the model: generate and mutate scenario programs, keep the ones that reach new code, check invariants, the audit and leaks after every call, and minimize every failure into a reproducer (JSON + C). Exit 1 if anything was found.',
    )
    .option('-s, --seconds <n>', 'how long to fuzz', secondsArg, 60)
    .option('-d, --duration <time>', 'how long to fuzz, as 90s, 30m or 1h (overrides --seconds)')
    .option('--seed <n>', 'campaign seed (with --workers, fixes the programs run)', wholeArg(0), 1)
    .option('-w, --workers <n>', `fuzzers in parallel (worker threads; default and at most: the cores, ${cores()} here)`, wholeArg(1))
    .addOption(new Option('-p, --profile <name>', 'kernel behaviour profile').choices(PROFILE_NAMES as unknown as string[]).default('latest'))
    .option('--corpus <dir>', 'load the corpus from this directory and save it back')
    .option('-o, --out <dir>', `work directory for findings (repro.json, repro.c, original.json, finding.txt, log.txt each); default ./${DEFAULT_FINDINGS_DIR}/`)
    .option('--no-checks', 'no CONFIG_IOMMUFD_TEST assertions and no audit (faster, finds less)')
    .option('-q, --quiet', 'print only the summary')
    .option('--json', 'print the report as JSON')
    .option('--ignore <signature...>', 'failure signatures of known findings not to report again, e.g. "WARN mock_domain_unmap.last"')
    .option('--new-ops', 'generate every op the profile has (the default; kept for old scripts)')
    .option('--no-new-ops', "only the first uAPI's ops (IOAS, access, mock domain, VFIO compat): no HWPT alloc, dirty tracking, fault queues, vIOMMUs, PASID, MAP_FILE, CHANGE_PROCESS, dma-buf")
    .option('--kernel <bzImage>', 'differential mode: after fuzzing, run the corpus on this kernel under QEMU (oracle harness) and report every program it answers differently')
    .option('--initramfs <file>', 'the base initramfs of --kernel (default: init.cpio.gz beside it)')
    .option('--kernel-batch <n>', 'corpus programs per VM boot in differential mode', wholeArg(1), 100)
    .option('--kernel-sample <n>', 'differential mode: at most this many corpus programs go to the kernel, a random sample fixed by --seed (a 20-minute campaign keeps ~15,000; default: all)', wholeArg(1))
    .action(async (o: FuzzCommandOptions) => {
      process.exitCode = await fuzzCommand(o);
    });
}
