// SPDX-License-Identifier: GPL-2.0-only
/**
 * Fuzzing campaigns. A campaign runs in rounds: in each round every fuzzer
 * (one per worker) runs a fixed number of programs, generating new ones and
 * mutating / splicing corpus programs, with its own PRNG seeded from
 * (seed, worker index, round). A program that reaches new signal joins the
 * fuzzer's corpus at once (trimmed after the last call that brought new
 * signal); a program that fails a check is a finding when its signature is new:
 * it is minimized, classified (which of the four pages.c bugs it shows) and
 * reported. Between rounds the main thread merges the new corpus entries and
 * findings of all fuzzers in worker order and hands the merged state to the
 * next round, so for a given seed and worker count the programs run are the
 * same on every run (a time limit only decides where it stops).
 *
 * One worker runs in-process; more run on tinypool worker threads
 * (src/fuzz/worker.ts), one fuzzer per thread.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { Prng } from '../base/prng.js';
import type { ProfileName } from '../base/profile.js';
import { Corpus, type CorpusEntry, loadCorpusDir, saveCorpusDir } from './corpus.js';
import { type CallResult, formatResult } from './executor.js';
import { exportC } from './export-c.js';
import { generateProgram } from './generator.js';
import { minimizeProgram, signatureOf } from './minimizer.js';
import { mutateProgram } from './mutator.js';
import { opModule } from './ops/index.js';
import { type Call, type Program, formatProgram } from './program.js';
import {
  BUG_FIXES,
  BUG_SWITCHES,
  type BugSwitch,
  type Classification,
  type SignalRun,
  classTag,
  bugFixText,
  classifyOn,
  classifyProgram,
  classifiesSeedBugs,
  failureSignature,
  fuzzRunOptions,
  isProgramError,
  runGuarded,
  runWithSignal,
  singleBugProfile,
} from './signal.js';

export interface Finding {
  /**
   * Deduplication key: the failure (`WARN <assertion>`, `EXCEPTION <name>: <head>`,
   * `LEAK <kind>`) and, off `latest`, its classification tag (`[carryLeavesEndZero]`,
   * `[latest]`, `[profile]`).
   */
  signature: string;
  /** The failure signature alone. */
  failure: string;
  /** The minimized reproducer. */
  program: Program;
  /** The program as the fuzzer found it. */
  original: Program;
  /** Why the minimized program fails (the executor's reasons). */
  reasons: string[];
  /** The pages.c bugs it shows (fails with only that switch on `latest`, passes on `latest`). */
  bugs: BugSwitch[];
  /** It also fails on `latest` (a model bug, or a WARN every profile has). */
  latestFails: boolean;
  /** Campaign time (ms) when the failing program ran. */
  foundAtMs: number;
  /** Campaign time (ms) when minimized and classified. */
  reportedAtMs: number;
  worker: number;
  round: number;
  minimizeRuns: number;
}

export interface RoundTask {
  seed: number;
  worker: number;
  round: number;
  profile: ProfileName;
  checks: boolean;
  /**
   * The shared corpus at the start of the round (with the signal count each
   * brought, and its id): the campaign's corpus entries from index
   * `corpusBase` on. A fuzzer keeps the entries it was sent (per `campaign`),
   * so after the first round only what is new travels to the worker.
   */
  corpus: TaskEntry[];
  /** Index in the campaign's corpus of corpus[0] (0: the whole corpus). */
  corpusBase?: number;
  /** The shared maxSignal at the start of the round: the campaign's keys from index `signalBase` on (insertion order). */
  maxSignal: number[];
  signalBase?: number;
  /** The campaign these deltas belong to. */
  campaign?: string;
  knownSignatures: string[];
  /** Failure signatures of known findings: programs failing so are dropped unreported. */
  ignore?: string[];
  programs: number;
  /** Date.now() at which to stop early (the campaign's end). */
  deadline: number;
  /** Date.now() of the campaign start. */
  startedAt: number;
  minimize: boolean;
  /** Minimization budget per finding (runs). */
  minimizeRuns: number;
  maxCalls: number;
  /** Generate and insert the newer uAPI ops too (HWPTs, dirty tracking, fault queues, vIOMMUs). */
  newOps?: boolean;
}

export interface RoundResult {
  worker: number;
  round: number;
  newEntries: Array<{ program: Program; signal: number[]; dead?: string[] }>;
  findings: Finding[];
  programs: number;
  calls: number;
  programErrors: number;
  /** Programs that failed a check (new finding or not). */
  failing: number;
  /** Programs of the round by how they were made. */
  /** faulted: re-runs of new corpus programs with fail_nth armed before a call. */
  made: { generated: number; mutated: number; spliced: number; faulted: number };
  stopped: boolean;
  /**
   * The fuzzer (its process and worker thread: built, the fuzzers are threads of one process) and how
   * much of the campaign's corpus and maxSignal it now holds.
   */
  holder: { pid: number; thread: number; corpus: number; signal: number };
  /** The fuzzer lacked the start of the deltas it was sent; nothing ran, send everything. */
  resync?: boolean;
}

export interface TaskEntry {
  program: Program;
  newSignal: number;
  id: string;
  dead?: string[];
}

/**
 * The campaign corpus and maxSignal this fuzzer process was sent (one campaign at a time), and
 * `corpus`, a Corpus of the first `inCorpus` entries and `inSignal` keys of them: each round extends
 * it with what it lacks and takes back what the round itself added (rollback()), instead of building
 * it again, which cost O(corpus) a round (55 ms at 27,000 programs and 44,000 keys).
 */
let shared: { campaign: string; entries: TaskEntry[]; signal: number[]; corpus: Corpus; inCorpus: number; inSignal: number } | undefined;

/** Apply a task's deltas to the shared copy: the whole corpus and maxSignal, or undefined when the copy lacks the deltas' start. */
function syncShared(task: RoundTask): { entries: TaskEntry[]; signal: number[] } | undefined {
  // A task outside a campaign carries everything.
  if (task.campaign === undefined) return { entries: task.corpus, signal: task.maxSignal };
  const campaign = task.campaign;
  const cb = task.corpusBase ?? 0;
  const sb = task.signalBase ?? 0;
  if (shared === undefined || shared.campaign !== campaign) shared = { campaign, entries: [], signal: [], corpus: new Corpus(), inCorpus: 0, inSignal: 0 };
  const have = shared;
  if (have.entries.length < cb || have.signal.length < sb) return undefined;
  for (let k = have.entries.length - cb; k < task.corpus.length; k++) have.entries.push(task.corpus[k]);
  for (let k = have.signal.length - sb; k < task.maxSignal.length; k++) have.signal.push(task.maxSignal[k]);
  return have;
}

/** The Corpus of a round: the campaign's kept one brought up to `have` (when the task is a campaign's), else a new one. */
function roundCorpus(task: RoundTask, have: { entries: TaskEntry[]; signal: number[] }): Corpus {
  const kept = task.campaign !== undefined && shared !== undefined && shared.campaign === task.campaign && shared.entries === have.entries ? shared : undefined;
  const corpus = kept?.corpus ?? new Corpus();
  // the signal first, then the entries, as a corpus built from scratch takes them
  const sig = have.signal;
  const from = kept?.inSignal ?? 0;
  corpus.mergeSignal(from === 0 ? sig : sig.slice(from));
  for (let k = kept?.inCorpus ?? 0; k < have.entries.length; k++) {
    const e = have.entries[k];
    corpus.insert(e.program, e.newSignal, e.newSignal, e.id, e.dead);
  }
  if (kept) {
    kept.inSignal = sig.length;
    kept.inCorpus = have.entries.length;
  }
  return corpus;
}

export interface RoundHooks {
  /** Checked before each program; true ends the round. */
  shouldStop?: () => boolean;
  /** Called after each program (in-process progress). */
  onProgram?: (programs: number, calls: number) => void;
  /** Called with each program run and its signal (diagnostics). */
  onRun?: (p: Program, sr: SignalRun) => void;
  /** Called when a finding is reported. */
  onFinding?: (f: Finding) => void;
}

/** Adds a file to a finding's folder (`dir`), e.g. a page; written by layers above fuzz/. */
export type FindingPage = (dir: string, f: Finding) => void;

/** 32-bit mix of the seed, worker index and round (splitmix-style). */
export function roundSeed(seed: number, worker: number, round: number): number {
  let h = (seed ^ Math.imul(worker + 1, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Handles bound by calls that failed (or did not run). */
function deadHandles(p: Program, results: readonly CallResult[]): string[] {
  const out: string[] = [];
  p.calls.forEach((c, i) => {
    const r = results[i];
    if (typeof c.as === 'string' && (r === undefined || r.errno !== undefined)) out.push(c.as);
  });
  return out;
}

/** Keep the calls up to the last one that brought a new signal key. */
function trimToNewSignal(p: Program, perCall: number[][], fresh: Set<number>): Program {
  let last = -1;
  for (let i = 0; i < perCall.length; i++) if (perCall[i].some((k) => fresh.has(k))) last = i;
  if (last < 0 || last >= p.calls.length) return p;
  return { ...p, calls: p.calls.slice(0, last + 1) };
}

/**
 * The deduplication key of a failing program: its failure signature and,
 * on a profile other than `latest`, its classification (so that one WARN
 * reached through different bugs, or also on `latest`, gives distinct findings).
 */
export function findingKey(signature: string, profile: ProfileName, cls: Classification | undefined): string {
  return !classifiesSeedBugs(profile) || cls === undefined ? signature : `${signature} ${classTag(cls)}`;
}

/** Minimize and classify a failing program with failure `signature`. */
export function processFinding(
  p: Program,
  signature: string,
  cls: Classification | undefined,
  task: Pick<RoundTask, 'checks' | 'minimize' | 'minimizeRuns' | 'worker' | 'round' | 'startedAt' | 'profile'>,
  foundAtMs: number,
): Finding {
  let program = p;
  let minimizeRuns = 0;
  const tag = cls ? classTag(cls) : undefined;
  if (task.minimize) {
    const check = (q: Program): boolean => {
      if (signatureOf(q, task.checks) !== signature) return false;
      return tag === undefined || classTag(classifyProgram(q, task.checks)) === tag;
    };
    const m = minimizeProgram(p, { check, checks: task.checks, maxRuns: task.minimizeRuns, maxMs: 15_000 });
    program = m.program;
    minimizeRuns = m.runs;
  }
  const final = classifyOn(task.profile, program, task.checks);
  const rerun = runGuarded(program, fuzzRunOptions(task.checks));
  return {
    signature: findingKey(signature, task.profile, cls),
    failure: signature,
    program,
    original: p,
    reasons: rerun.reasons ?? [],
    bugs: final.bugs,
    latestFails: final.latestFails,
    foundAtMs,
    reportedAtMs: Date.now() - task.startedAt,
    worker: task.worker,
    round: task.round,
    minimizeRuns,
  };
}

/**
 * A finding that shows several of the bugs (each alone makes it fail) is
 * split into one finding per bug: its reproducer minimized again on the
 * profile with only that bug, keeping "fails with only X, passes on latest".
 * Each gets the key `<failure with only X> [X]`.
 */
export function splitFinding(f: Finding, task: Pick<RoundTask, 'checks' | 'minimizeRuns' | 'worker' | 'round' | 'startedAt'>): Finding[] {
  if (f.bugs.length < 2) return [];
  const out: Finding[] = [];
  const opts = fuzzRunOptions(task.checks);
  for (const bug of f.bugs) {
    const only = singleBugProfile(bug);
    const failsOnly = (q: Program): string | undefined => failureSignature(runGuarded(q, { ...opts, customProfile: only }));
    const check = (q: Program): boolean => failsOnly(q) !== undefined && failureSignature(runGuarded(q, { ...opts, profile: 'latest' })) === undefined;
    const m = minimizeProgram(f.program, { check, checks: task.checks, maxRuns: task.minimizeRuns, maxMs: 10_000 });
    const sig = failsOnly(m.program);
    if (sig === undefined) continue;
    const rerun = runGuarded(m.program, { ...opts, customProfile: only });
    out.push({
      ...f,
      signature: `${sig} [${bug}]`,
      failure: sig,
      program: m.program,
      original: f.program,
      reasons: rerun.reasons ?? [],
      bugs: [bug],
      latestFails: false,
      reportedAtMs: Date.now() - task.startedAt,
      minimizeRuns: m.runs,
    });
  }
  return out;
}

/** IOMMUFD_SIM_FUZZ_TRACE=DIR: each fuzzer writes the program it is about to run to DIR/worker-N.json. */
const TRACE_DIR = process.env.IOMMUFD_SIM_FUZZ_TRACE;

/** Mutations given to each new corpus program, the most waiting, and the share of programs they take. */
const SMASH_MUTATIONS = 20;
const SMASH_QUEUE = 64;
const SMASH_SHARE = 0.5;
/**
 * The fault-injection job (syzkaller's): each new corpus program is re-run
 * with fail_nth = 1, 2, ... before each of its calls (in faultOrder()), until
 * the call passes fewer fault points than nth, so every failure path of every
 * call is reached; the checks (the answer oracles among them: a failed call
 * leaves the state it found) judge each run. Bounded per program.
 */
const FAULT_SHARE = 0.3;
const FAULT_RUNS_PER_PROGRAM = 48;
const FAULT_MAX_NTH = 32;
const FAULT_QUEUE = 16;

interface FaultJob {
  program: Program;
  /** The calls to fail, in the order the job takes them (faultOrder()). */
  order: number[];
  /** The position in `order` of the call failing now, and which of its fault points. */
  at: number;
  call: number;
  nth: number;
  left: number;
}

/**
 * The order a fault job fails the calls of a new corpus program in: first
 * the calls that brought the new signal (syzkaller fails the call whose
 * coverage was new), the last one first, then the other iommufd calls from
 * the end, then the memory and process calls. A program's late calls act on
 * the most state, and the job's budget would be spent on the opens,
 * allocations and mmaps that lead up to them if it went in program order.
 */
export function faultOrder(perCall: readonly number[][], fresh: ReadonlySet<number>, calls: readonly Call[]): number[] {
  const first: number[] = [];
  const rest: number[] = [];
  const last: number[] = [];
  for (let i = calls.length - 1; i >= 0; i--) {
    // The iommufd calls before the memory, process and bookkeeping ones (mmap, fork, write_memory...).
    const g = opModule(calls[i].op)?.spec.group;
    const mine = g === 'iommufd' || g === 'test' || g === 'vfio';
    (!mine ? last : perCall[i]?.some((k) => fresh.has(k)) ? first : rest).push(i);
  }
  return [...first, ...rest, ...last];
}

/** `p` with fail_nth(nth) armed just before call `i`, on the same process. */
export function withFailNth(p: Program, i: number, nth: number): Program {
  const target = p.calls[i];
  const arm: Program['calls'][number] = { op: 'fail_nth', nth };
  if (target?.proc !== undefined) arm.proc = target.proc;
  return { ...p, calls: [...p.calls.slice(0, i), arm, ...p.calls.slice(i)] };
}
/** Share of programs generated from scratch (the rest mutate corpus programs). */
const GENERATE_SHARE = 0.2;

/** One fuzzer's round. */
export function runRound(task: RoundTask, hooks: RoundHooks = {}): RoundResult {
  const rng = new Prng(roundSeed(task.seed, task.worker, task.round));
  const have = syncShared(task);
  const holder = { pid: process.pid, thread: threadId, corpus: have?.entries.length ?? 0, signal: have?.signal.length ?? 0 };
  const known = new Set(task.knownSignatures);
  const ignored = new Set(task.ignore ?? []);
  const runOpts = fuzzRunOptions(task.checks);
  const res: RoundResult = {
    worker: task.worker,
    round: task.round,
    newEntries: [],
    findings: [],
    programs: 0,
    calls: 0,
    programErrors: 0,
    failing: 0,
    made: { generated: 0, mutated: 0, spliced: 0, faulted: 0 },
    stopped: false,
    holder,
  };
  if (!have) {
    res.resync = true;
    return res;
  }
  const corpus = roundCorpus(task, have);
  // What this round adds to the kept corpus is taken back at its end: the next round's deltas bring it
  // in the campaign's order, as a corpus built from scratch would have it.
  corpus.checkpoint();
  try {
    return runRoundOn(task, hooks, rng, corpus, res, known, ignored, runOpts);
  } finally {
    corpus.rollback();
  }
}

/** The programs of a round, on its corpus. */
function runRoundOn(task: RoundTask, hooks: RoundHooks, rng: Prng, corpus: Corpus, res: RoundResult, known: Set<string>, ignored: Set<string>, runOpts: ReturnType<typeof fuzzRunOptions>): RoundResult {
  // Programs that just joined the corpus get a burst of mutations (syzkaller's smash).
  const smash: Array<{ entry: CorpusEntry; left: number }> = [];
  const faults: FaultJob[] = [];
  /** Judge a run; true when it failed a check or was a program error (reported when new). */
  const judge = (p: Program, sr: SignalRun): boolean => {
    if (isProgramError(sr.run)) {
      res.programErrors++;
      return true;
    }
    const sig = failureSignature(sr.run);
    if (sig === undefined) return false;
    res.failing++;
    if (ignored.has(sig)) return true;
    const foundAt = Date.now() - task.startedAt;
    const cls = classifiesSeedBugs(task.profile) ? classifyProgram(p, task.checks) : undefined;
    const key = findingKey(sig, task.profile, cls);
    if (known.has(key)) return true;
    known.add(key);
    const f = processFinding(p, sig, cls, task, foundAt);
    res.findings.push(f);
    hooks.onFinding?.(f);
    for (const g of splitFinding(f, task)) {
      if (known.has(g.signature)) continue;
      known.add(g.signature);
      res.findings.push(g);
      hooks.onFinding?.(g);
    }
    return true;
  };
  for (let i = 0; i < task.programs; i++) {
    if (Date.now() >= task.deadline || hooks.shouldStop?.()) {
      res.stopped = true;
      break;
    }
    if (task.checks && faults.length > 0 && rng.bool(FAULT_SHARE)) {
      const job = faults[0];
      const fp = withFailNth(job.program, job.call, job.nth);
      const sr = runWithSignal(fp, runOpts);
      res.programs++;
      res.calls += sr.calls;
      res.made.faulted++;
      hooks.onProgram?.(res.programs, res.calls);
      hooks.onRun?.(fp, sr);
      judge(fp, sr);
      // The next fault point of this call while the last one was reached, else the next call.
      const injected = sr.run.results[job.call + 1]?.outputs.fault_injected === 1;
      if (injected && job.nth < FAULT_MAX_NTH) job.nth++;
      else {
        job.at++;
        job.call = job.order[job.at] ?? job.program.calls.length;
        job.nth = 1;
      }
      if (--job.left <= 0 || job.at >= job.order.length) faults.shift();
      continue;
    }
    let p: Program;
    let base: CorpusEntry | undefined;
    if (smash.length > 0 && rng.bool(SMASH_SHARE)) {
      const k = smash.length - 1 - Math.min(smash.length - 1, Math.floor(rng.next() ** 2 * smash.length));
      base = smash[k].entry;
      if (--smash[k].left <= 0) smash.splice(k, 1);
    } else base = corpus.chooseEntry(rng);
    if (base === undefined || rng.bool(GENERATE_SHARE)) {
      p = generateProgram(rng, { profile: task.profile, maxCalls: task.maxCalls, ...(task.newOps ? { newOps: true } : {}) });
      res.made.generated++;
    } else {
      const dead = base.dead ? new Set(base.dead) : undefined;
      p = mutateProgram(rng, base.program, { corpus: corpus.entries.length > 1 ? corpus.programs() : [], maxCalls: task.maxCalls, dead, ...(task.newOps ? { newOps: true } : {}) });
      p.profile = task.profile;
      res.made.mutated++;
    }
    // Diagnostics: the program each fuzzer is running, to find one that never ends.
    if (TRACE_DIR) writeFileSync(join(TRACE_DIR, `worker-${task.worker}.json`), formatProgram(p, 'json'));
    const sr = runWithSignal(p, runOpts);
    res.programs++;
    res.calls += sr.calls;
    hooks.onProgram?.(res.programs, res.calls);
    hooks.onRun?.(p, sr);
    if (judge(p, sr)) continue;
    const fresh = corpus.newKeys(sr.signal);
    if (fresh.length === 0) continue;
    const trimmed = trimToNewSignal(p, sr.perCall, new Set(fresh));
    const dead = deadHandles(trimmed, sr.run.results);
    const entry = corpus.add(trimmed, sr.signal, false, dead);
    if (entry) {
      res.newEntries.push({ program: trimmed, signal: [...sr.signal], ...(dead.length ? { dead } : {}) });
      smash.push({ entry, left: SMASH_MUTATIONS });
      if (smash.length > SMASH_QUEUE) smash.shift();
      const order = faultOrder(sr.perCall, new Set(fresh), trimmed.calls);
      faults.push({ program: trimmed, order, at: 0, call: order[0] ?? 0, nth: 1, left: FAULT_RUNS_PER_PROGRAM });
      if (faults.length > FAULT_QUEUE) faults.shift();
    }
  }
  return res;
}

// ---------------------------------------------------------------------------
// The campaign

export interface CampaignOptions {
  seconds: number;
  seed?: number;
  workers?: number;
  profile?: ProfileName;
  /** Load the corpus from this directory and save it back at the end. */
  corpusDir?: string;
  /** Write every finding here (minimized JSON, C export, details). */
  outDir?: string;
  /** CONFIG_IOMMUFD_TEST assertions and the audit after every call (default true). */
  checks?: boolean;
  /** Programs per fuzzer per round (default 100). */
  roundPrograms?: number;
  /** Minimize findings (default true). */
  minimize?: boolean;
  minimizeRuns?: number;
  maxCalls?: number;
  /**
   * Generate every op the profile's kernel has (default true); false: only the
   * ops of the first uAPI (IOAS, access, mock domain, VFIO compat), as campaigns
   * did before the answer oracles' reference followed the newer ones.
   */
  newOps?: boolean;
  /** Stop after this many programs (a deterministic budget; the time limit still applies). */
  maxPrograms?: number;
  /** Failure signatures of known findings (syzkaller's ignores): not reported, not added to the corpus. */
  ignore?: string[];
  /** With several workers: how long past the deadline a round may run before the campaign gives it up as stuck (default 2 min; negative: before it). */
  roundTimeoutMs?: number;
  /** Stop early when this returns true (checked between programs with one worker, between rounds with more). */
  stopWhen?: (s: CampaignStats) => boolean;
  /** Progress callback (about every 250 ms with one worker, each round with more). */
  onProgress?: (s: CampaignStats) => void;
  onFinding?: (f: Finding) => void;
  /** Called with each finding's folder after writeFinding filled it (the CLI writes the explorer page there). */
  findingPage?: FindingPage;
}

export interface CampaignStats {
  elapsedMs: number;
  programs: number;
  calls: number;
  programErrors: number;
  failing: number;
  corpus: number;
  signal: number;
  findings: Finding[];
  rounds: number;
  /** Set when a round of several workers never came back (a program that does not end): the campaign stopped there. */
  hung?: { round: number; afterMs: number };
}

export interface CampaignReport extends CampaignStats {
  seed: number;
  workers: number;
  profile: ProfileName;
  corpusPrograms: Program[];
  /** First campaign time (ms) each bug was reported at as a finding of its own (minimized, classified as that bug alone). */
  bugsFound: Partial<Record<BugSwitch, number>>;
}

/** The directory name of a finding: the kernel fix it corresponds to first (when it shows exactly one bug), then its signature. */
export function findingName(f: Pick<Finding, 'signature' | 'bugs'>): string {
  const slug = signatureSlug(f.signature);
  return f.bugs.length === 1 ? `fix-${BUG_FIXES[f.bugs[0]].commit}-${slug}`.slice(0, 96) : slug;
}

/** A file-system-safe name of a signature. */
export function signatureSlug(sig: string): string {
  return sig
    .replace(/[^A-Za-z0-9_.]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
}

/** Write a finding to `dir/<slug>/`: repro.json, repro.c, original.json, finding.txt, log.txt, and whatever `page` adds. */
export function writeFinding(dir: string, f: Finding, page?: FindingPage): string {
  const d = join(dir, findingName(f));
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'repro.json'), formatProgram(f.program, 'json'));
  let c: string;
  try {
    c = exportC(f.program);
  } catch (e) {
    c = `/* C export failed: ${(e as Error).message} */\n`;
  }
  writeFileSync(join(d, 'repro.c'), c);
  writeFileSync(join(d, 'original.json'), formatProgram(f.original, 'json'));
  const info = [
    `signature: ${f.signature}`,
    `bugs: ${f.bugs.length ? f.bugs.map((b) => `${b}, ${bugFixText(b)}`).join('; ') : 'none of the four pages.c bugs'}`,
    `fails on latest: ${f.latestFails}`,
    `found at: ${(f.foundAtMs / 1000).toFixed(2)} s (reported ${(f.reportedAtMs / 1000).toFixed(2)} s), worker ${f.worker}, round ${f.round}`,
    `calls: ${f.original.calls.length} -> ${f.program.calls.length} (${f.minimizeRuns} minimization runs)`,
    'reasons:',
    ...f.reasons.map((r) => `  ${r}`),
    '',
  ];
  writeFileSync(join(d, 'finding.txt'), info.join('\n'));
  // The log: the reproducer replayed call by call on the profile it failed on, with the fuzzer's checks.
  const log: string[] = [];
  try {
    const r = runGuarded(f.program, fuzzRunOptions(true));
    for (const x of r.results) log.push(`${x.index} ${x.op} = ${formatResult(x)}${x.expected !== undefined ? ` [expected ${x.expected}${x.met ? '' : ': NOT MET'}]` : ''}`);
    for (const w of r.warnings) log.push(`WARN ${w.assertion}: ${w.message}${w.syscall ? ` (in ${w.syscall})` : ''}`);
    for (const reason of r.reasons ?? []) log.push(`reason: ${reason}`);
  } catch (e) {
    log.push(`replay failed: ${(e as Error).message}`);
  }
  if (page) {
    try {
      page(d, f);
    } catch (e) {
      log.push(`page failed: ${(e as Error).message}`);
    }
  }
  writeFileSync(join(d, 'log.txt'), `${log.join('\n')}\n`);
  return d;
}

/** The first finding that shows `bug` alone (fails with only its switch on, passes on latest). */
export function findingOfBug(findings: readonly Finding[], bug: BugSwitch): Finding | undefined {
  return findings.find((f) => f.bugs.length === 1 && f.bugs[0] === bug);
}

/** Every one of the four bugs has a finding of its own. */
export function allBugsFound(findings: readonly Finding[]): boolean {
  return BUG_SWITCHES.every((b) => findingOfBug(findings, b) !== undefined);
}

function bugsFoundOf(findings: readonly Finding[]): Partial<Record<BugSwitch, number>> {
  const out: Partial<Record<BugSwitch, number>> = {};
  for (const f of findings) {
    if (f.bugs.length !== 1) continue;
    const b = f.bugs[0];
    if (out[b] === undefined || f.reportedAtMs < out[b]!) out[b] = f.reportedAtMs;
  }
  return out;
}

/**
 * The tinypool worker module next to this one: worker.js on threads when
 * built; worker.ts under tsx or vitest, in child processes started with
 * `--import tsx` (Node 20 does not apply module hooks to worker threads).
 */
function workerFile(): { file: string; execArgv: string[]; runtime: 'worker_threads' | 'child_process' } {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  const file = join(dirname(here), ts ? 'worker.ts' : 'worker.js');
  // tsx by its resolved URL: `--import tsx` would resolve from the working directory, which need not be this checkout.
  return ts ? { file, execArgv: ['--import', import.meta.resolve('tsx')], runtime: 'child_process' } : { file, execArgv: [], runtime: 'worker_threads' };
}

let campaignCount = 0;

/** How long past the deadline a round may take before its fuzzers count as stuck. */
const ROUND_GRACE_MS = 120_000;

/** `p`'s value, or undefined when it takes longer than `ms`. */
export async function withinMs<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What each fuzzer of a campaign holds of its corpus and maxSignal, by the results it sent back: the
 * deltas a task carries start at the least of them, once every fuzzer has answered.
 */
export class Holders {
  // By "pid/thread": built, the fuzzers are worker threads of one process, and keyed by the pid alone two
  // counted as one, so the bases never became complete and every task carried the whole corpus.
  private readonly held = new Map<string, { corpus: number; signal: number }>();

  note(r: Pick<RoundResult, 'holder' | 'resync'>): void {
    if (r.resync) this.held.clear();
    else this.held.set(`${r.holder.pid}/${r.holder.thread}`, { corpus: r.holder.corpus, signal: r.holder.signal });
  }

  bases(workers: number): { corpusBase: number; signalBase: number } {
    const all = [...this.held.values()];
    if (all.length < workers) return { corpusBase: 0, signalBase: 0 };
    return { corpusBase: Math.min(...all.map((h) => h.corpus)), signalBase: Math.min(...all.map((h) => h.signal)) };
  }
}

/** Run a campaign. */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const seed = (opts.seed ?? 1) >>> 0;
  const workers = Math.max(1, Math.floor(opts.workers ?? 1));
  const profile = opts.profile ?? 'latest';
  const checks = opts.checks ?? true;
  const startedAt = Date.now();
  const deadline = startedAt + Math.max(0, opts.seconds) * 1000;
  const corpus = new Corpus();
  const findings: Finding[] = [];
  const known = new Set<string>();
  const stats: CampaignStats = { elapsedMs: 0, programs: 0, calls: 0, programErrors: 0, failing: 0, corpus: 0, signal: 0, findings, rounds: 0 };
  const snapshot = (): CampaignStats => {
    stats.elapsedMs = Date.now() - startedAt;
    stats.corpus = corpus.size;
    stats.signal = corpus.maxSignal.size;
    return stats;
  };
  const report = (f: Finding): void => {
    findings.push(f);
    if (opts.outDir) writeFinding(opts.outDir, f, opts.findingPage);
    opts.onFinding?.(f);
  };

  // Triage a loaded corpus: its programs' signal seeds maxSignal.
  if (opts.corpusDir && existsSync(opts.corpusDir)) {
    for (const p of loadCorpusDir(opts.corpusDir).programs) {
      const q = { ...p, profile };
      const sr = runWithSignal(q, fuzzRunOptions(checks));
      if (failureSignature(sr.run) !== undefined || isProgramError(sr.run)) continue;
      corpus.add(q, sr.signal, true);
    }
  }

  // What each fuzzer process holds of the corpus and maxSignal (both only grow): send only the rest.
  const campaignId = `${process.pid}.${++campaignCount}.${startedAt}`;
  const holders = new Holders();
  const taskFor = (worker: number, round: number): RoundTask => {
    const { corpusBase, signalBase } = holders.bases(workers);
    return {
      seed,
      worker,
      round,
      profile,
      checks,
      campaign: campaignId,
      corpusBase,
      corpus: corpus.entries.slice(corpusBase).map((e) => ({ program: e.program, newSignal: e.newSignal, id: e.id, ...(e.dead ? { dead: e.dead } : {}) })),
      signalBase,
      maxSignal: corpus.signalFrom(signalBase),
      knownSignatures: [...known],
      ...(opts.ignore ? { ignore: opts.ignore } : {}),
      programs: opts.roundPrograms ?? 100,
      deadline,
      startedAt,
      minimize: opts.minimize ?? true,
      minimizeRuns: opts.minimizeRuns ?? 800,
      maxCalls: opts.maxCalls ?? 14,
      ...(opts.newOps !== false ? { newOps: true } : {}),
    };
  };

  const merge = (results: RoundResult[]): void => {
    for (const r of results) {
      holders.note(r);
    }
    for (const r of results.sort((a, b) => a.worker - b.worker)) {
      stats.programs += r.programs;
      stats.calls += r.calls;
      stats.programErrors += r.programErrors;
      stats.failing += r.failing;
      for (const e of r.newEntries) corpus.add(e.program, e.signal, false, e.dead);
      for (const f of r.findings) {
        if (known.has(f.signature)) continue;
        known.add(f.signature);
        report(f);
      }
    }
    stats.rounds++;
  };

  const maxPrograms = opts.maxPrograms ?? Number.POSITIVE_INFINITY;
  const done = (): boolean => Date.now() >= deadline || stats.programs >= maxPrograms || (opts.stopWhen?.(snapshot()) ?? false);

  if (workers === 1) {
    let lastProgress = 0;
    const base = { programs: 0, calls: 0 };
    const progressed = { programs: 0 };
    for (let round = 0; !done(); round++) {
      const task = taskFor(0, round);
      base.programs = stats.programs;
      base.calls = stats.calls;
      progressed.programs = 0;
      const r = runRound(task, {
        shouldStop: () => base.programs + progressed.programs >= maxPrograms || (opts.stopWhen?.(snapshot()) ?? false),
        onProgram: (n, c) => {
          progressed.programs = n;
          const now = Date.now();
          if (opts.onProgress && now - lastProgress >= 250) {
            lastProgress = now;
            const s = snapshot();
            opts.onProgress({ ...s, programs: base.programs + n, calls: base.calls + c });
          }
        },
        onFinding: (f) => {
          if (!known.has(f.signature)) {
            known.add(f.signature);
            report(f);
          }
        },
      });
      // Findings were reported as they came; merge the rest.
      merge([{ ...r, findings: [] }]);
      opts.onProgress?.(snapshot());
    }
  } else {
    const { default: Tinypool } = await import('tinypool');
    const wf = workerFile();
    const pool = new Tinypool({ filename: wf.file, runtime: wf.runtime, execArgv: wf.execArgv, env: { ...process.env } as Record<string, string>, minThreads: workers, maxThreads: workers, isolateWorkers: false, idleTimeout: 60_000 });
    try {
      for (let round = 0; !done(); round++) {
        const left = Math.ceil((maxPrograms - stats.programs) / workers);
        const tasks = Array.from({ length: workers }, (_, w) => pool.run({ ...taskFor(w, round), programs: Math.min(opts.roundPrograms ?? 100, left) }) as Promise<RoundResult>);
        // A round stops itself at the deadline between programs; one that has
        // not come back long after is running a program that does not end.
        const limit = Math.max(0, Math.max(0, deadline - Date.now()) + (opts.roundTimeoutMs ?? ROUND_GRACE_MS));
        const results = await withinMs(Promise.all(tasks), limit);
        if (results === undefined) {
          stats.hung = { round, afterMs: Date.now() - startedAt };
          break;
        }
        merge(results);
        opts.onProgress?.(snapshot());
      }
    } finally {
      // Terminates the worker processes, a stuck one included.
      await pool.destroy();
    }
  }

  if (opts.corpusDir) saveCorpusDir(opts.corpusDir, corpus.programs());
  const s = snapshot();
  return { ...s, seed, workers, profile, corpusPrograms: [...corpus.programs()], bugsFound: bugsFoundOf(findings) };
}
