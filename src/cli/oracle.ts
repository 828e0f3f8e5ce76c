// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommufd-sim oracle`: run scenario programs (files, folders, fuzz corpora) on
 * a real kernel under QEMU beside the model and compare every call
 * (src/oracle/). Prints a table per program with a divergence and a summary
 * (programs, calls, divergences by class); `--json` for scripts. Exit status 0
 * when every difference is a known one, 1 on an unexplained divergence (or a
 * stale known one), 2 for a usage error, 3 when the oracle could not run (no
 * kernel, no QEMU, no compiler).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Table from 'cli-table3';
import { type Command, Option } from 'commander';
import { PROFILE_NAMES, type ProfileName } from '../base/profile.js';
import { formatCPrograms, runCPrograms } from '../oracle/c-programs.js';
import type { ProgramReport } from '../oracle/compare.js';
import { type OracleResult, loadPrograms, runOracle } from '../oracle/index.js';
import { KNOWN_FILE, type KnownDivergence, loadKnown } from '../oracle/known.js';
import { UsageError } from './errors.js';
import { progress } from './progress.js';
import { colorEnabled, wholeArg } from './term.js';

export interface OracleCommandOptions {
  kernel?: string;
  initramfs?: string;
  profile?: ProfileName;
  known?: string;
  json?: boolean;
  all?: boolean;
  batch?: number;
  jobs?: number;
  timeout?: number;
  cache?: string;
  console?: string;
  report?: string;
  include?: string[];
}

export const EXIT_CANNOT_RUN = 3;

export const KERNEL_HELP =
  'Use --kernel with a bzImage built with CONFIG_IOMMUFD_TEST (its init.cpio.gz beside it, or --initramfs): in the project workspace ../shared/oracle/bzImage (Linux 6.12) and ../shared/oracle-7.2/bzImage (Linux 7.2); elsewhere build them with scripts/oracle/build-kernels.sh.';

function programRows(r: ProgramReport, all: boolean): string[][] {
  const rows: string[][] = [];
  for (const d of r.divergences) {
    if (!all && d.known) continue;
    rows.push([d.call === undefined ? '-' : String(d.call), d.op ?? '-', d.class, d.model, d.kernel, d.known ? `known: ${d.known.source}` : 'UNEXPLAINED']);
  }
  return rows;
}

export function formatOracle(res: OracleResult, all = false): string {
  const out: string[] = [];
  const s = res.summary;
  for (const r of res.reports) {
    if (r.status === 'error' || (r.status === 'skip' && all)) {
      out.push(`${r.name}: ${r.status.toUpperCase()}: ${r.note ?? ''}`);
      continue;
    }
    const rows = programRows(r, all);
    if (rows.length === 0 && !(all && r.status !== 'agree')) continue;
    out.push(`${r.name}: ${r.status} (${r.compared}/${r.calls} calls compared${r.kernelWarnings.length ? `, kernel: ${r.kernelWarnings[0]}` : ''})`);
    const color = colorEnabled(process.stdout);
    // 93 columns of cells and 7 of borders: the table fits 100 columns.
    const t = new Table({
      head: ['call', 'op', 'class', 'model', 'kernel', 'explained by'],
      wordWrap: true,
      colWidths: [6, 21, 9, 17, 17, 23],
      ...(color ? {} : { style: { head: [], border: [] } }),
    });
    for (const row of rows) t.push(row);
    out.push(t.toString());
  }
  for (const k of s.stale) out.push(`stale known divergence (no longer seen): program ${k.program}${k.call !== undefined ? ` call ${k.call}` : ''} ${k.model ?? ''} → ${k.kernel ?? ''} (${k.source})`);
  const classes = Object.entries(s.byClass)
    .map(([c, n]) => `${c} ${n.all}${n.unexplained ? ` (${n.unexplained} unexplained)` : ''}`)
    .join(', ');
  out.push(
    `Linux ${s.release} vs model ${s.profile}: ${s.programs} programs, ${s.calls} calls (${s.compared} compared): ${s.agree} agree, ${s.explained} explained, ${s.diverged} diverged, ${s.skipped} skipped, ${s.errors} errors; divergent calls by class: ${classes || 'none'}`,
  );
  out.push(
    `time: model ${s.seconds.model.toFixed(1)} s, build ${s.seconds.build.toFixed(1)} s, VM ${s.seconds.vm.toFixed(1)} s (${s.seconds.boots} boot(s), ${s.vmProgramsPerSecond.toFixed(1)} programs/s in the VM)`,
  );
  out.push(s.ok ? 'oracle: OK' : 'oracle: FAILED');
  return `${out.join('\n')}\n`;
}

/** The options both kinds of run take: the VM's, the build's and the model's profile. */
function vmOptions(o: OracleCommandOptions) {
  return {
    ...(o.initramfs ? { initramfs: resolve(o.initramfs) } : {}),
    ...(o.profile ? { profile: o.profile } : {}),
    ...(o.cache ? { cacheDir: resolve(o.cache) } : {}),
    ...(o.console ? { consoleLog: resolve(o.console) } : {}),
    ...(o.jobs ? { jobs: o.jobs } : {}),
    ...(o.timeout ? { programTimeout: o.timeout } : {}),
  };
}

export async function oracleCommand(inputs: string[], o: OracleCommandOptions): Promise<number> {
  if (!o.kernel) throw new UsageError(`no kernel given. ${KERNEL_HELP}`);
  const kernel = resolve(o.kernel);
  if (!existsSync(kernel)) throw new UsageError(`${o.kernel}: no such kernel image. ${KERNEL_HELP}`);
  if (inputs.length === 0) throw new UsageError('give program files, folders or a fuzz corpus');
  const cFiles = inputs.filter((f) => f.endsWith('.c'));
  if (cFiles.length > 0) {
    if (cFiles.length !== inputs.length) throw new UsageError('give either C programs (.c) or scenario programs, not both');
    return cProgramsCommand(cFiles, kernel, o);
  }
  if (o.include?.length) throw new UsageError('--include is for C programs');
  const { programs, errors } = loadPrograms(inputs);
  // A program the parser rejects is left out (said on stderr), not the whole run.
  for (const e of errors.slice(0, 10)) process.stderr.write(`iommufd-sim oracle: skipping ${e}\n`);
  if (errors.length > 10) process.stderr.write(`iommufd-sim oracle: ... and ${errors.length - 10} more programs skipped\n`);
  if (programs.length === 0) throw new UsageError(`no programs in ${inputs.join(' ')}`);
  let known: KnownDivergence[];
  try {
    known = loadKnown(o.known ? resolve(o.known) : KNOWN_FILE);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const bar = progress('oracle |{bar}| {value}/{total} programs in the VM', programs.length, {}, !o.json && process.stderr.isTTY === true);
  let res: OracleResult;
  try {
    res = await runOracle({
      programs,
      kernel,
      ...vmOptions(o),
      known,
      ...(o.batch ? { batch: o.batch } : {}),
      onPhase: (p) => {
        if (!o.json && !bar.live) process.stderr.write(`oracle: ${p}\n`);
      },
      onProgress: (done) => bar.update(done),
    });
  } catch (e) {
    bar.stop();
    process.stderr.write(`iommufd-sim oracle: ${(e as Error).message}\n`);
    return EXIT_CANNOT_RUN;
  }
  bar.stop();
  const json = `${JSON.stringify(res, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2)}\n`;
  if (o.report) writeFileSync(resolve(o.report), json);
  if (o.json) process.stdout.write(json);
  else process.stdout.write(formatOracle(res, o.all));
  return res.summary.ok ? 0 : 1;
}

/** C programs: each built for the VM and for exec, their stdout and exit status compared (src/oracle/c-programs.ts). */
async function cProgramsCommand(files: string[], kernel: string, o: OracleCommandOptions): Promise<number> {
  const absent = files.find((f) => !existsSync(f));
  if (absent !== undefined) throw new UsageError(`${absent}: no such file`);
  let res: Awaited<ReturnType<typeof runCPrograms>>;
  try {
    res = await runCPrograms({
      files,
      kernel,
      ...vmOptions(o),
      ...(o.include ? { includes: o.include } : {}),
      onPhase: (p) => {
        if (!o.json) process.stderr.write(`oracle: ${p}\n`);
      },
    });
  } catch (e) {
    process.stderr.write(`iommufd-sim oracle: ${(e as Error).message}\n`);
    return EXIT_CANNOT_RUN;
  }
  const json = `${JSON.stringify(res, null, 2)}\n`;
  if (o.report) writeFileSync(resolve(o.report), json);
  process.stdout.write(o.json ? json : formatCPrograms(res));
  return res.summary.ok ? 0 : 1;
}

/** Add the `oracle` command to the iommufd-sim program. */
export function register(program: Command): void {
  program
    .command('oracle')
    .description(
      'Run scenario programs on a real kernel under QEMU (one boot for all) beside the model, call by call: errno, outputs, WARNs. Exit 1 on a divergence the known-divergences file does not explain. C programs (.c files) are built for the VM and for exec instead, and their output and exit status compared line by line.',
    )
    .argument('<programs...>', 'program files, folders of them, a fuzz corpus folder, or C programs (.c)')
    .option('-k, --kernel <bzImage>', 'kernel built with CONFIG_IOMMUFD_TEST (e.g. ../shared/oracle/bzImage)')
    .option('--initramfs <file>', 'base initramfs with busybox (default: init.cpio.gz beside the kernel)')
    .addOption(new Option('-p, --profile <name>', 'model profile to compare with (default: the one of the kernel release: 6.12 → v6.12, 7.2 → latest)').choices(PROFILE_NAMES as unknown as string[]))
    .option('--known <file>', `known divergences (default ${KNOWN_FILE})`)
    .option('--batch <n>', 'programs per boot', wholeArg(1), 400)
    .option('-j, --jobs <n>', 'parallel C compilers', wholeArg(1), 2)
    .option('--timeout <s>', 'seconds one program may run in the VM', wholeArg(1), 20)
    .option('--cache <dir>', 'cache of compiled programs (default $XDG_CACHE_HOME/iommufd-sim/oracle)')
    .option('--console <file>', "append the VM's raw serial console to this file")
    .option('-a, --all', 'also list explained divergences and skipped programs')
    .option('--json', 'print the reports and the summary as JSON')
    .option('--report <file>', 'also write the JSON report to this file')
    .option('-I, --include <dir>', "C programs: a folder to include from (e.g. a kernel tree's usr/include), besides each file's own; repeatable", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action(async (inputs: string[], o: OracleCommandOptions) => {
      process.exitCode = await oracleCommand(inputs, o);
    });
}
