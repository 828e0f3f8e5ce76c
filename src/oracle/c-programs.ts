// SPDX-License-Identifier: GPL-2.0-only
/**
 * A user's own C programs on a real kernel and under `exec`, output against
 * output: each program is built twice, statically for the oracle VM (all of
 * a run linked into one multi-call binary, booted once) and dynamically for
 * the host, where `exec` runs it against the model with the kernel's
 * profile. Both run as root (every capability) with stdout line-buffered;
 * their stdout and exit status must be the same, line for line, and a
 * program that outlives the timeout is killed on both (exit 137). stderr is
 * not compared (the VM drops it): where two streams interleave depends on
 * buffering, not on the kernel. A WARN (or an Oops) in the kernel's log
 * while a program ran, with none from the model, or a WARN of the model's
 * with none in the kernel's log, is a divergence too.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { ProfileName } from '../base/profile.js';
import { runExec } from '../bridge/exec.js';
import { checkCompiler, compileAll, compiler, defaultCacheDir, linkMulticall } from './build.js';
import { feedLine, kernelWarnings, newConsole } from './console.js';
import { BOOT_TRIES, profileForRelease } from './index.js';
import { bzImageRelease, extendInitramfs } from './initramfs.js';
import { GUEST_INIT, checkQemu, runVm } from './vm.js';

export interface CProgramOptions {
  /** The C source files. */
  files: readonly string[];
  kernel: string;
  initramfs?: string;
  /** The model's profile (default: the kernel release's). */
  profile?: ProfileName;
  /** Include folders for both builds (besides each file's own). */
  includes?: readonly string[];
  cacheDir?: string;
  jobs?: number;
  /** Seconds one program may run in the VM. */
  programTimeout?: number;
  consoleLog?: string;
  onPhase?: (what: string) => void;
}

export interface CProgramReport {
  name: string;
  status: 'agree' | 'diverged' | 'error';
  /** Lines of stdout on the kernel and under exec. */
  kernelLines: number;
  modelLines: number;
  /** Exit status on each side (128 + N for a signal N; absent: none came). */
  kernelExit?: number;
  modelExit?: number;
  /** The first line that differs (1-based), and each side's text of it ('(none)' past the end). */
  line?: number;
  kernel?: string;
  model?: string;
  /**
   * A WARN (or worse) on one side only, while the program ran: the kernel's
   * first splat line, the model's first WARN ('no WARN' for the side without).
   */
  warn?: { kernel: string; model: string };
  note?: string;
}

export interface CProgramsResult {
  release: string;
  profile: ProfileName;
  reports: CProgramReport[];
  summary: { programs: number; agree: number; diverged: number; errors: number; ok: boolean };
}

/**
 * The guest's /init for these programs: the oracle's, with the device nodes
 * left at devtmpfs's own modes (the programs run as root; the scenario
 * programs drop to uid 1000 and need them opened up) and stderr dropped.
 */
const C_PROGRAM_INIT = GUEST_INIT.replace(/^chmod 0666 \/dev\/iommu .*\n/m, '').replace('/bin/oracle-progs "$n" < /dev/null', '/bin/oracle-progs "$n" < /dev/null 2>/dev/null');

/**
 * A #line naming the file as the host's build names it, so that the VM's
 * build of the cache's copy has the same __FILE__ (an assertion message of
 * kselftest_harness.h prints it) and its errors name the user's file.
 */
function lineMarker(file: string): string {
  return `#line 1 "${file.replace(/[\\"]/g, (c) => `\\${c}`)}"\n`;
}

/** The first line where two outputs differ (0-based), or -1. */
function firstDifference(a: readonly string[], b: readonly string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Run the C programs on the kernel and under exec, and compare their output. Throws on set-up errors. */
export async function runCPrograms(o: CProgramOptions): Promise<CProgramsResult> {
  const problem = checkCompiler() ?? checkQemu();
  if (problem) throw new Error(problem);
  const release = bzImageRelease(readFileSync(o.kernel));
  if (!release) throw new Error(`${o.kernel} is not a bzImage`);
  const profile = o.profile ?? profileForRelease(release);
  if (!profile) throw new Error(`no profile answers as Linux ${release}: pass --profile`);
  const baseInitrd = o.initramfs ?? join(resolve(o.kernel, '..'), 'init.cpio.gz');
  if (!statSync(baseInitrd, { throwIfNoEntry: false })?.isFile()) throw new Error(`no base initramfs ${baseInitrd} (busybox and an /init): pass --initramfs`);
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const files = o.files.map((f) => resolve(f));
  const includes = (o.includes ?? []).map((d) => `-I${resolve(d)}`);
  const flagsOf = (f: string): string[] => [`-I${dirname(f)}`, ...includes];
  const reports: CProgramReport[] = o.files.map((f) => ({ name: f, status: 'error', kernelLines: 0, modelLines: 0 }));

  // The VM: one static multi-call binary (each file compiled with its own folder to include from).
  o.onPhase?.(`compile: ${files.length} C programs for the VM`);
  const compiled: Array<Awaited<ReturnType<typeof compileAll>>[number]> = [];
  const jobs = Math.max(1, o.jobs ?? 2);
  for (let i = 0; i < files.length; i += jobs)
    compiled.push(...(await Promise.all(files.slice(i, i + jobs).map(async (f) => (await compileAll([`${lineMarker(f)}${readFileSync(f, 'utf8')}`], cacheDir, 1, undefined, flagsOf(f)))[0]))));
  const runnable = compiled.flatMap((c, i) => ('error' in c ? [] : [i]));
  compiled.forEach((c, i) => {
    // (the compiler saw the cache's copy of the file, with main renamed)
    if ('error' in c) reports[i].note = `does not compile: ${c.error.replace(/\S*\/obj\/[0-9a-f]{24}\.c/g, o.files[i]).replace(/oracle_prog_[0-9a-f]{24}/g, 'main')}`;
  });
  const timeout = o.programTimeout ?? 20;
  let st = newConsole();
  if (runnable.length > 0) {
    const bin = await linkMulticall(
      runnable.map((i) => compiled[i] as { entry: string; object: string }),
      cacheDir,
    );
    const initrd = extendInitramfs(baseInitrd, [
      { name: 'init', data: Buffer.from(C_PROGRAM_INIT) },
      { name: 'bin/oracle-progs', data: readFileSync(bin) },
      { name: 'oracle-list', data: Buffer.from(`${runnable.map((_, k) => k).join('\n')}\n`), perm: 0o644 },
      { name: 'oracle-timeout', data: Buffer.from(`${timeout}\n`), perm: 0o644 },
    ]);
    for (let attempt = 1; ; attempt++) {
      o.onPhase?.(`vm: booting Linux ${release} for ${runnable.length} programs`);
      st = newConsole();
      const cons = st;
      const cur: { n?: number } = {};
      const res = await runVm({
        kernel: o.kernel,
        initrd,
        memoryMiB: 1024,
        timeoutSec: 90 + runnable.length * timeout,
        onLine: (line) => {
          if (o.consoleLog) appendFileSync(o.consoleLog, `${line}\n`);
          feedLine(cons, line, cur);
        },
      });
      if (st.release) break;
      if (attempt >= BOOT_TRIES) throw new Error(`the VM did not start our /init in ${attempt} boots (qemu exit ${res.status}${res.timedOut ? ', timed out' : ''})`);
    }
  }

  // exec: each program built for the host and run against the model.
  o.onPhase?.(`exec: ${runnable.length} programs against the model (${profile})`);
  const dir = mkdtempSync(join(tmpdir(), 'iommufd-sim-c-'));
  try {
    for (const [k, i] of runnable.entries()) {
      const f = files[i];
      const r = reports[i];
      const bin = join(dir, basename(f).replace(/\.c$/, ''));
      try {
        execFileSync(compiler(), ['-O1', '-w', '-D_GNU_SOURCE', ...flagsOf(f), '-o', bin, f, '-lpthread'], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (e) {
        r.note = `does not compile for the host: ${String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n').slice(0, 5).join('\n')}`;
        continue;
      }
      // As the guest runs it: no address-space randomization, the environment busybox's init gives (a short
      // one keeps main's frame in the last user page, as there), stdout line-buffered.
      const ex = await runExec([bin], { profile, captureStdout: true, err: () => {}, caps: 'all', env: { HOME: '/', TERM: 'linux', PATH: '/usr/bin:/bin', IOMMUFD_SIM_LINEBUF: '1' }, timeoutSec: timeout, noRandomize: true });
      const model = ex.stdout.split('\n');
      if (model[model.length - 1] === '') model.pop();
      const kp = st.programs.get(k);
      const kernel = kp?.text ?? [];
      r.kernelLines = kernel.length;
      r.modelLines = model.length;
      r.kernelExit = kp?.exit;
      r.modelExit = ex.status;
      const at = firstDifference(kernel, model);
      if (kp === undefined) {
        r.note = 'the VM did not run it';
        continue;
      }
      // the kernel's log while it ran (dmesg drained after each program) against the model's WARNs
      const { warns, bugs } = kernelWarnings(kp.kmsg);
      const splat = [...warns, ...bugs][0];
      if ((splat !== undefined) !== ex.warnings > 0)
        r.warn = { kernel: splat ?? 'no WARN', model: ex.firstWarning ? `WARN ${ex.firstWarning.assertion}: ${ex.firstWarning.message}` : 'no WARN' };
      if (at < 0 && kp.exit === ex.status && r.warn === undefined) {
        r.status = 'agree';
        continue;
      }
      r.status = 'diverged';
      if (at >= 0) {
        r.line = at + 1;
        r.kernel = kernel[at] ?? '(none)';
        r.model = model[at] ?? '(none)';
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const count = (s: CProgramReport['status']): number => reports.filter((r) => r.status === s).length;
  const summary = { programs: reports.length, agree: count('agree'), diverged: count('diverged'), errors: count('error'), ok: false };
  summary.ok = summary.diverged === 0 && summary.errors === 0;
  return { release, profile, reports, summary };
}

/** The reports as lines of text, with the summary. */
export function formatCPrograms(res: CProgramsResult): string {
  const out: string[] = [];
  for (const r of res.reports) {
    if (r.status === 'agree') out.push(`agree ${r.name}: ${r.kernelLines} lines, exit ${r.kernelExit}`);
    else if (r.status === 'error') out.push(`ERROR ${r.name}: ${r.note ?? ''}`);
    else {
      out.push(`DIVERGED ${r.name}: exit ${r.kernelExit ?? 'none'} on the kernel, ${r.modelExit} under exec; ${r.kernelLines} lines against ${r.modelLines}`);
      if (r.line !== undefined) out.push(`  line ${r.line}:`, `    kernel: ${r.kernel}`, `    model:  ${r.model}`);
      if (r.warn !== undefined) out.push('  WARN on one side only:', `    kernel: ${r.warn.kernel}`, `    model:  ${r.warn.model}`);
    }
  }
  const s = res.summary;
  out.push(`Linux ${res.release} vs model ${res.profile}: ${s.programs} C programs: ${s.agree} agree, ${s.diverged} diverged, ${s.errors} errors`);
  out.push(s.ok ? 'oracle: OK' : 'oracle: FAILED');
  return `${out.join('\n')}\n`;
}
