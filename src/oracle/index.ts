// SPDX-License-Identifier: GPL-2.0-only
/**
 * The oracle: run scenario programs on a real kernel (under QEMU) beside the
 * model and compare every call (architecture.md, "Checked against real
 * kernels"). One boot runs a whole batch: the programs are exported to C
 * (export-c, with the model's answers of the kernel's profile), compiled into
 * one static multi-call binary, packed into the kernel's initramfs, and run
 * one after another by our /init; the console brings back every call's result,
 * each program's exit status and the kernel log lines (WARNs) it caused.
 */
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import type { ProfileName } from '../base/profile.js';
import { type ModelRun, exportC, runModel } from '../fuzz/export-c.js';
import { type Program, parseProgram } from '../fuzz/program.js';
import { checkCompiler, compileAll, defaultCacheDir, linkMulticall } from './build.js';
import { execImageOfFile } from './elf-image.js';
import { feedLine, kernelWarnings, newConsole } from './console.js';
import { type DivergenceClass, type ProgramReport, compareProgram } from './compare.js';
import { bzImageRelease, extendInitramfs } from './initramfs.js';
import { type KnownDivergence, loadKnown, staleKnown } from './known.js';
import { GUEST_INIT, checkQemu, runVm } from './vm.js';

/** Boots of one batch before the oracle gives up on a VM that never reaches our /init. */
export const BOOT_TRIES = 3;

export interface OracleProgram {
  name: string;
  program: Program;
}

/** Programs from files, folders (every *.yaml, *.yml, *.json below them) or fuzz corpora. */
export function loadPrograms(inputs: readonly string[], cwd = process.cwd()): { programs: OracleProgram[]; errors: string[] } {
  const programs: OracleProgram[] = [];
  const errors: string[] = [];
  const files: string[] = [];
  const walk = (p: string): void => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) {
      errors.push(`${p}: no such file or folder`);
      return;
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(join(p, e));
      return;
    }
    files.push(p);
  };
  for (const i of inputs) {
    const abs = resolve(cwd, i);
    const st = statSync(abs, { throwIfNoEntry: false });
    if (st?.isDirectory()) {
      for (const e of readdirSync(abs).sort()) {
        const f = join(abs, e);
        if (statSync(f).isDirectory()) walk(f);
        else if (['.yaml', '.yml', '.json'].includes(extname(f))) files.push(f);
      }
    } else walk(abs);
  }
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const r = parseProgram(text, f);
    const name = relative(cwd, f) || basename(f);
    if (!r.ok) errors.push(`${name}: ${r.error.split('\n')[0]}`);
    else programs.push({ name, program: r.program });
  }
  return { programs, errors };
}

/** The profile that answers as a kernel release does: 6.12 → v6.12, 7.2 → latest (uapi: profile.ts). */
export function profileForRelease(release: string): ProfileName | undefined {
  if (/^7\.2(\.|$|-)/.test(release)) return 'latest';
  if (/^6\.12(\.|$|-)/.test(release)) return 'v6.12';
  if (/^6\.5(\.|$|-)/.test(release)) return 'v6.5';
  if (/^6\.2(\.|$|-)/.test(release)) return 'v6.2';
  return undefined;
}

export interface OracleOptions {
  programs: readonly OracleProgram[];
  kernel: string;
  /** The base initramfs (busybox + /init); default: init.cpio.gz beside the kernel. */
  initramfs?: string;
  /** Default: the profile of the kernel's release. */
  profile?: ProfileName;
  /** Known divergences (default: src/oracle/known-divergences.yaml). */
  known?: readonly KnownDivergence[];
  cacheDir?: string;
  /** Parallel compilers (default 2). */
  jobs?: number;
  /** Programs per boot (default 400). */
  batch?: number;
  /** Seconds one program may run in the VM (default 20). */
  programTimeout?: number;
  memoryMiB?: number;
  /** Append the raw serial console of every boot to this file. */
  consoleLog?: string;
  onPhase?: (phase: string) => void;
  /** Progress inside the VM: programs done of total. */
  onProgress?: (done: number, total: number) => void;
}

export interface OracleSummary {
  kernel: string;
  release: string;
  profile: ProfileName;
  programs: number;
  calls: number;
  compared: number;
  agree: number;
  explained: number;
  diverged: number;
  skipped: number;
  errors: number;
  /** Divergent calls by class: [all, unexplained]. */
  byClass: Partial<Record<DivergenceClass, { all: number; unexplained: number }>>;
  stale: KnownDivergence[];
  /** Seconds: model runs and export, compile and link, VM. */
  seconds: { model: number; build: number; vm: number; boots: number };
  /** Programs per second inside the VM (boot excluded: first to last program). */
  vmProgramsPerSecond: number;
  ok: boolean;
}

export interface OracleResult {
  reports: ProgramReport[];
  summary: OracleSummary;
}

/** Run the programs on the kernel and on the model, and compare. Throws on set-up errors (no compiler, no QEMU, bad kernel). */
export async function runOracle(o: OracleOptions): Promise<OracleResult> {
  const problem = checkCompiler() ?? checkQemu();
  if (problem) throw new Error(problem);
  const image = readFileSync(o.kernel);
  const release = bzImageRelease(image);
  if (!release) throw new Error(`${o.kernel} is not a bzImage`);
  const profile = o.profile ?? profileForRelease(release);
  if (!profile) throw new Error(`no profile answers as Linux ${release}: pass --profile`);
  const baseInitrd = o.initramfs ?? join(resolve(o.kernel, '..'), 'init.cpio.gz');
  if (!statSync(baseInitrd, { throwIfNoEntry: false })?.isFile()) throw new Error(`no base initramfs ${baseInitrd} (busybox and an /init): pass --initramfs, or build the kernels with scripts/oracle/build-kernels.sh`);
  const known = o.known ?? loadKnown();
  const cacheDir = o.cacheDir ?? defaultCacheDir();

  const t0 = performance.now();
  o.onPhase?.(`model: ${o.programs.length} programs on profile ${profile}`);
  const runs: ModelRun[] = [];
  const sources: string[] = [];
  for (const p of o.programs) {
    // the guest runs each program as a freshly exec'd static binary with ASLR off (vm.ts guestInit):
    // the model's first process starts with that layout, so every address it answers is the guest's
    const run = runModel(p.program, profile, { processLayout: 'exec' });
    runs.push(run);
    sources.push(exportC(p.program, { profile, run, source: p.name }));
  }
  const t1 = performance.now();
  o.onPhase?.(`compile: ${sources.length} C programs`);
  const compiled = await compileAll(sources, cacheDir, o.jobs ?? 2);
  const t2 = performance.now();

  const reports: ProgramReport[] = new Array(o.programs.length);
  const runnable: number[] = [];
  compiled.forEach((c, i) => {
    if ('error' in c) {
      reports[i] = {
        name: o.programs[i].name,
        status: 'error',
        calls: o.programs[i].program.calls.length,
        compared: 0,
        divergences: [],
        modelWarnings: [],
        kernelWarnings: [],
        note: `the C export does not compile: ${c.error}`,
      };
    } else runnable.push(i);
  });
  const batch = Math.max(1, o.batch ?? 400);
  const timeout = o.programTimeout ?? 20;
  let vmSeconds = 0;
  let buildSeconds = (t2 - t1) / 1000;
  let modelSeconds = 0;
  let boots = 0;
  let firstBegin = 0;
  let lastEnd = 0;
  let ranInVm = 0;
  let done = 0;
  // A program after which the kernel BUGged or oopsed leaves that boot untrusted (leaked pages, locks held,
  // a pool used up), and so does one whose run leaves pins or charges behind (leavesCharges()): the
  // programs after it in the batch run again in a boot of their own.
  const queue = runnable.slice();
  while (queue.length > 0) {
    const idx = queue.splice(0, batch);
    const tl = performance.now();
    const bin = await linkMulticall(
      idx.map((i) => compiled[i] as { entry: string; object: string }),
      cacheDir,
    );
    const initrd = extendInitramfs(baseInitrd, [
      { name: 'init', data: Buffer.from(GUEST_INIT) },
      { name: 'bin/oracle-progs', data: readFileSync(bin) },
      { name: 'oracle-list', data: Buffer.from(`${idx.map((_, k) => k).join('\n')}\n`), perm: 0o644 },
      { name: 'oracle-timeout', data: Buffer.from(`${timeout}\n`), perm: 0o644 },
    ]);
    buildSeconds += (performance.now() - tl) / 1000;
    // A boot that dies before our /init (under a loaded host TCG can fail the kernel's
    // IO-APIC timer check: "IO-APIC + timer doesn't work!") says nothing about the
    // programs: boot again, up to BOOT_TRIES times.
    let st = newConsole();
    for (let attempt = 1; ; attempt++) {
      o.onPhase?.(`vm: booting Linux ${release} for ${idx.length} programs${attempt > 1 ? ` (again: the last boot died before /init)` : ''}`);
      st = newConsole();
      const cons = st;
      const cur: { n?: number } = {};
      let begin = 0;
      const res = await runVm({
        kernel: o.kernel,
        initrd,
        memoryMiB: o.memoryMiB ?? 1024,
        timeoutSec: 60 + idx.length * Math.min(timeout, 5) + 30,
        onLine: (line) => {
          if (o.consoleLog) appendFileSync(o.consoleLog, `${line}\n`);
          const ended = feedLine(cons, line, cur);
          if (!begin && cons.release) begin = performance.now();
          if (ended !== undefined) {
            lastEnd = performance.now();
            o.onProgress?.(++done, runnable.length);
          }
        },
      });
      boots++;
      vmSeconds += res.seconds;
      if (begin) firstBegin += (lastEnd - begin) / 1000;
      ranInVm += st.programs.size;
      if (st.release) break;
      if (attempt >= BOOT_TRIES) {
        const tail = [...st.other.slice(-15), res.stderr.trim()].filter(Boolean).join('\n');
        throw new Error(`the VM did not start our /init in ${attempt} boots (qemu exit ${res.status}${res.timedOut ? ', timed out' : ''}):\n${tail}`);
      }
    }
    const broke = idx.findIndex((i, k) => {
      const kp = st.programs.get(k);
      return kp !== undefined && (kernelWarnings(kp.kmsg).bugs.length > 0 || leavesCharges(runs[i]));
    });
    const again = broke >= 0 ? idx.slice(broke + 1) : [];
    queue.unshift(...again);
    done -= again.filter((_, k) => st.programs.has(broke + 1 + k)).length;
    // The model's side on this batch's binary: its image (execImageOfFile()) is larger than the one-program
    // image the first run laid out, which matters to a call naming an address in between (that run gave the
    // exported C its hints; this one is what the kernel's answers are compared with).
    const tm = performance.now();
    const image = execImageOfFile(bin);
    idx.slice(0, idx.length - again.length).forEach((i, k) => {
      const run = image === undefined ? runs[i] : runModel(o.programs[i].program, profile, { processLayout: 'exec', execImage: image });
      reports[i] = compareProgram(o.programs[i].name, o.programs[i].program, run, st.programs.get(k), release, known);
    });
    modelSeconds += (performance.now() - tm) / 1000;
  }

  const summary = summarize(reports, known, o.programs, release, profile, o.kernel);
  summary.seconds = { model: (t1 - t0) / 1000 + modelSeconds, build: buildSeconds, vm: vmSeconds, boots };
  summary.vmProgramsPerSecond = firstBegin > 0 ? ranInVm / firstBegin : 0;
  return { reports, summary };
}

/**
 * The model's run of a program ends with an iommufd context still open, pages
 * still pinned or a user's locked_vm still charged (7.2.13's reference cycle
 * through IOAS_MAP_FILE of the iommufd's own descriptor, which the model
 * reproduces): the kernel keeps them too, and every program of the boot runs
 * as the same user, so the RLIMIT_MEMLOCK of the programs after it would meet
 * that charge (an IOAS_MAP at the limit answering ENOMEM).
 */
export function leavesCharges(run: ModelRun | undefined): boolean {
  return run?.leaks.some((l) => l === 'an iommufd context is still open' || l.includes('still pinned') || /^user \d+ locked_vm /.test(l)) === true;
}

function summarize(reports: readonly ProgramReport[], known: readonly KnownDivergence[], programs: readonly OracleProgram[], release: string, profile: ProfileName, kernel: string): OracleSummary {
  const s: OracleSummary = {
    kernel,
    release,
    profile,
    programs: reports.length,
    calls: 0,
    compared: 0,
    agree: 0,
    explained: 0,
    diverged: 0,
    skipped: 0,
    errors: 0,
    byClass: {},
    stale: [],
    seconds: { model: 0, build: 0, vm: 0, boots: 0 },
    vmProgramsPerSecond: 0,
    ok: true,
  };
  const used = new Set<KnownDivergence>();
  const ran = new Set<string>();
  for (const r of reports) {
    s.calls += r.calls;
    s.compared += r.compared;
    if (r.status === 'agree') s.agree++;
    else if (r.status === 'explained') s.explained++;
    else if (r.status === 'diverged') s.diverged++;
    else if (r.status === 'skip') s.skipped++;
    else s.errors++;
    if (r.status !== 'error' && r.status !== 'skip') ran.add(r.name);
    for (const d of r.divergences) {
      const c = (s.byClass[d.class] ??= { all: 0, unexplained: 0 });
      c.all++;
      if (d.known) used.add(d.known);
      else c.unexplained++;
    }
  }
  void programs;
  s.stale = staleKnown(known, ran, used, release);
  // A kernel without /dev/iommu skips every program: that is no pass.
  s.ok = s.diverged === 0 && s.errors === 0 && s.stale.length === 0 && !(s.programs > 0 && s.skipped === s.programs);
  return s;
}
