// SPDX-License-Identifier: GPL-2.0-only
/**
 * The `iommufd-sim` command.
 *
 *   iommufd-sim run FILE          run a scenario program, print each call and the state
 *   iommufd-sim export-c FILE     turn a program into a C program for a real kernel
 *   iommufd-sim selftest          run the kernel selftest scenarios (test/conformance)
 *   iommufd-sim bench             run the benchmarks (bench/run.ts)
 *   iommufd-sim fuzz / minimize   the fuzzer (src/cli/fuzz.ts, src/cli/minimize.ts)
 *   iommufd-sim ops | schema      the program format: every op, the JSON Schema
 *
 * Exit status: 0 ok, 1 an expectation or invariant failed (or something
 * leaked), 2 usage error (bad arguments, unreadable or invalid program).
 * Colour only on a TTY without NO_COLOR; a closed pipe ends the command
 * quietly; `-` as a program file reads standard input.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { PROFILE_NAMES, type ProfileName } from '../base/profile.js';
import { runProgram } from '../fuzz/executor.js';
import { exportC } from '../fuzz/export-c.js';
import { OPS, type Program, parseProgram } from '../fuzz/program.js';
import { programJsonSchema } from '../fuzz/schema.js';
import { UsageError } from './errors.js';
import { stateTables } from './report.js';
import { callLines, fitTables, jsonValue, runJson, wrapLine } from './run-view.js';
import { applyColorPolicy, colorEnabled, endQuietlyOnClosedPipe, outputWidth, paint } from './term.js';
import { type SelftestOptions, cmdSelftest } from './selftest.js';
import { createRequire } from 'node:module';

export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

export { UsageError };

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The package version (package.json sits two levels up from src/cli and dist/cli alike). */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}

function err(s: string): void {
  process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
}

/** Read and parse a program file (`-`: standard input); UsageError with the parser's message. */
export function loadProgram(file: string): Program {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const r = parseProgram(text, file === '-' ? '<stdin>' : file);
  if (!r.ok) throw new UsageError(r.error);
  return r.program;
}

interface RunCmdOptions {
  profile?: ProfileName;
  audit: boolean;
  panicOnWarn?: boolean;
  stopOnFailure?: boolean;
  state: boolean;
  quiet?: boolean;
  json?: boolean;
  html?: string;
}

/** `run --html FILE`: the explorer page of the program (explore.js is loaded only when asked for). */
async function writeRunPage(out: string, p: Program, profile: ProfileName | undefined): Promise<void> {
  const { writeExplorerPage } = await import('./explore.js');
  try {
    writeExplorerPage(out, p, profile ? { profile } : {});
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    throw new UsageError(`cannot write ${out}: ${code}`);
  }
  err(`wrote ${out}`);
}

function cmdRun(file: string, o: RunCmdOptions, p: Program = loadProgram(file)): number {
  const wantState = o.state || o.json === true;
  const rr = runProgram(p, { profile: o.profile, audit: o.audit, panicOnWarn: o.panicOnWarn ?? false, stopOnFailure: o.stopOnFailure ?? false, snapshot: wantState });
  if (o.json) {
    out(JSON.stringify(runJson(file, p.calls, rr, rr.state), jsonValue, 2));
    return rr.failed ? EXIT_FAIL : EXIT_OK;
  }
  const color = colorEnabled(process.stdout);
  const width = outputWidth();
  const memlock = p.memlock ?? '8M';
  if (!o.quiet) {
    out(`${typeof p.name === 'string' ? p.name : file === '-' ? '<stdin>' : file}: profile ${rr.profile}, memory ${p.memory ?? '1G'}, RLIMIT_MEMLOCK ${memlock}${p.caps?.length ? `, caps ${p.caps.join(',')}` : ''}`);
    if (typeof p.description === 'string') out(p.description);
    out('');
    for (const l of callLines(p.calls, rr, width, color)) out(l);
    if (o.state) {
      for (const s of rr.snapshots ?? []) {
        out(`\nState at call ${s.index}: ${s.title}`);
        out(fitTables(stateTables(s.state), width));
      }
      if (rr.state) {
        out('\nState after the last call (before the processes exit)');
        out(fitTables(stateTables(rr.state), width));
      }
    }
    out('');
  }
  const met = rr.results.filter((r) => r.met).length;
  const missed = rr.results.length - met;
  out(`calls: ${rr.results.length} of ${p.calls.length} run, ${met} met their expectation${missed ? paint(31, `, ${missed} did not`, color) : ''}`);
  if (rr.warnings.length === 0) out('warnings: none');
  else {
    out(`warnings: ${rr.warnings.length}${rr.expectedWarningSeen ? ' (the expected one fired)' : ''}`);
    for (const w of rr.warnings.slice(0, 20)) out(`  WARN ${w.assertion}: ${w.message}${w.syscall ? ` (in ${w.syscall})` : ''}`);
  }
  if (o.audit) out(`audit: ${rr.auditProblems === 0 ? 'every invariant held after every call' : `${rr.auditProblems} problem(s)`}`);
  out(`leaks after exit: ${rr.leaks.length === 0 ? 'none (no frame pinned, locked_vm, pinned_vm and memcg back to 0, all memory freed)' : ''}`);
  for (const l of rr.leaks) out(`  ${l}`);
  if (rr.exception) out(`exception: ${rr.exception.name}: ${rr.exception.message}`);
  if (rr.failed) {
    out(`result: ${paint(31, 'FAIL', color)}`);
    for (const r of rr.reasons ?? []) out(`  ${r}`);
    return EXIT_FAIL;
  }
  out(`result: ${paint(32, 'PASS', color)}`);
  return EXIT_OK;
}

function cmdExportC(file: string, o: { output?: string; profile?: ProfileName }): number {
  const p = loadProgram(file);
  const c = exportC(p, o.profile ? { source: file, profile: o.profile } : { source: file });
  if (o.output) {
    try {
      writeFileSync(o.output, c);
    } catch (e) {
      throw new UsageError(`cannot write ${o.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    err(`wrote ${o.output} (${c.split('\n').length} lines); build with: gcc -O2 -Wall -o repro ${o.output}`);
  } else process.stdout.write(c);
  return EXIT_OK;
}

/** Why `bench` cannot run here (an installed package has no bench/ and no tsx), or undefined. */
export function benchUnavailable(root: string): string | undefined {
  if (!existsSync(join(root, 'bench', 'run.ts'))) {
    return 'the benchmarks (bench/) are part of the source repository, not of the npm package; run `iommufd-sim bench` in a clone after `npm install`';
  }
  try {
    createRequire(join(root, 'package.json')).resolve('tsx');
  } catch {
    return 'the benchmarks run through tsx, which is not installed; run `npm install` in the repository first';
  }
  return undefined;
}

function cmdBench(args: string[]): Promise<number> {
  const why = benchUnavailable(ROOT);
  if (why) throw new UsageError(`bench: ${why}`);
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), ...args], { cwd: ROOT, stdio: 'inherit' });
    child.on('close', (code) => done(code ?? EXIT_FAIL));
  });
}

function cmdOps(): number {
  const width = outputWidth();
  const say = (text: string, indent: number) => {
    for (const l of wrapLine(text, width, indent)) out(l);
  };
  for (const [name, spec] of Object.entries(OPS)) {
    say(`${name}  [${spec.group}${spec.since ? `, ${spec.since}+` : ''}]  ${spec.doc}`, 4);
    for (const [f, fs] of Object.entries(spec.fields)) {
      const def = fs.defaultIommufd ? ' (default: the last iommufd opened)' : fs.default !== undefined ? ` (default ${JSON.stringify(fs.default)})` : fs.required ? ' (required)' : '';
      const vals = fs.values && Object.keys(fs.values).length ? ` {${Object.keys(fs.values).join('|')}}` : '';
      say(`    ${f}: ${fs.kind}${fs.width ? `/${fs.width}` : ''}${vals}${def} — ${fs.doc}`, 8);
    }
    const outs = Object.keys(spec.outputs);
    if (outs.length) say(`    outputs: ${outs.join(', ')}${spec.primary ? ` (as → ${spec.primary})` : ''}`, 8);
  }
  return EXIT_OK;
}

/** The shapes src/cli/fuzz.ts and src/cli/minimize.ts may export (see registerExternal). */
interface ExternalCommandModule {
  register?: (program: Command) => unknown;
  command?: Command;
  default?: unknown;
  main?: (args: string[]) => number | Promise<number>;
}

/**
 * Add the `name` command from the module at `spec` (written separately):
 * `register(program)` adds it; or an exported Command (`command`/default) is
 * added as is; or `main(args)` runs with the raw arguments. When the module is
 * missing, a placeholder says so.
 */
async function registerExternal(program: Command, name: string, spec: string, summary: string): Promise<void> {
  let mod: ExternalCommandModule | undefined;
  try {
    mod = (await import(spec)) as ExternalCommandModule;
  } catch (e) {
    // The module itself missing is expected until it is written; anything else is reported.
    const code = (e as NodeJS.ErrnoException).code;
    const self = new RegExp(`module '[^']*cli/${name}\\.(js|ts)'`);
    if (code !== 'ERR_MODULE_NOT_FOUND' || !self.test(String((e as Error).message))) {
      err(`warning: cannot load the ${name} command: ${(e as Error).message}`);
    }
    mod = undefined;
  }
  if (mod && typeof mod.register === 'function') {
    mod.register(program);
    if (program.commands.some((c) => c.name() === name)) return;
  }
  const cmd = mod?.command ?? (mod?.default instanceof Command ? mod.default : undefined);
  if (cmd instanceof Command) {
    program.addCommand(cmd);
    return;
  }
  const main = mod?.main;
  program
    .command(name)
    .description(summary)
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[args...]')
    .action(async (args: string[]) => {
      if (typeof main !== 'function') {
        err(`${name}: not available yet`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      process.exitCode = await main(args);
    });
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('iommufd-sim')
    .description('An executable model of Linux iommufd on a simulated machine: run scenario programs, fuzz, export C reproducers.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const profile = new Option('-p, --profile <name>', 'kernel behaviour profile (overrides the program)').choices(PROFILE_NAMES as unknown as string[]);
  program
    .command('run')
    .description('Run a scenario program (JSON or YAML) on a fresh simulated machine: print every call with its result and whether it met its expectation, then the iommufd state. Exit 1 if an expectation failed, an invariant broke or something leaked.')
    .argument('<file>', 'program file (.json, .yaml), or - to read it from standard input')
    .addOption(profile)
    .option('--no-audit', 'skip the whole-state audit after every call')
    .option('--no-state', 'skip the state tables')
    .option('--panic-on-warn', 'stop at the first WARN (as the tests and the fuzzer do)')
    .option('--stop-on-failure', 'stop at the first call that misses its expectation')
    .option('-q, --quiet', 'print only the summary')
    .option('--json', 'print the results as JSON: every call with its expectation and what it got, then the final state')
    .option('--html <file>', 'also write the explorer page of the program (a self-contained HTML file stepping through its state)')
    .addHelpText(
      'after',
      '\nProgram format: see docs/scenario.schema.json, `iommufd-sim ops`, and examples/*.yaml.\nExample: iommufd-sim run examples/vm-boot.yaml',
    )
    .action(async (file: string, o: RunCmdOptions) => {
      const p = loadProgram(file);
      if (o.html !== undefined) await writeRunPage(o.html, p, o.profile);
      process.exitCode = cmdRun(file, o, p);
    });
  program
    .command('export-c')
    .description('Write a self-contained C program that replays a scenario program on a real kernel built with CONFIG_IOMMUFD_TEST (no kernel headers needed) and reports the first call whose result differs.')
    .argument('<file>', 'program file')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .addOption(new Option('-p, --profile <name>', "embed the model's answers on this profile, test command layout included (overrides the program)").choices(PROFILE_NAMES as unknown as string[]))
    .action((file: string, o: { output?: string; profile?: ProfileName }) => {
      process.exitCode = cmdExportC(file, o);
    });
  program
    .command('selftest')
    .description(
      'Run the kernel selftest scenarios (test/conformance, in a source checkout) and report each: passed, failed, or not run yet with the feature it waits for. Exit 1 if any failed.',
    )
    .option('-t, --filter <regexp>', 'only scenarios whose name matches (a regular expression, as vitest -t)')
    .option('--ktap', 'print KTAP (as the kernel selftests do) instead of a table')
    .option('--json', 'print the results as JSON')
    .option('-q, --quiet', 'print only the summary line')
    .action(async (o: SelftestOptions) => {
      process.exitCode = await cmdSelftest(ROOT, o);
    });
  program
    .command('bench')
    .description('Run the benchmarks (bench/run.ts); options after -- go to the runner (--quick, --suite NAME, --filter TEXT, --out FILE).')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[args...]', 'arguments for bench/run.ts')
    .action(async (args: string[]) => {
      process.exitCode = await cmdBench(args ?? []);
    });
  program
    .command('ops')
    .description('List every op of the program format with its fields, defaults and outputs.')
    .action(() => {
      process.exitCode = cmdOps();
    });
  program
    .command('schema')
    .description('Print the JSON Schema of the program format (docs/scenario.schema.json).')
    .action(() => {
      out(JSON.stringify(programJsonSchema(), null, 2));
      process.exitCode = EXIT_OK;
    });
  return program;
}

/** Run the command line; returns the exit status. Never throws for user errors. */
export async function main(argv: string[]): Promise<number> {
  endQuietlyOnClosedPipe();
  applyColorPolicy();
  const program = await buildFullProgram();
  // Commands added late must also report usage errors instead of exiting.
  for (const c of program.commands) c.exitOverride();
  process.exitCode = undefined;
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (e instanceof UsageError) {
      err(`iommufd-sim: ${e.message}`);
      return EXIT_USAGE;
    }
    err(`iommufd-sim: internal error: ${(e as Error)?.stack ?? String(e)}`);
    return EXIT_FAIL;
  }
  const code = process.exitCode;
  return typeof code === 'number' ? code : EXIT_OK;
}

/** The command with every subcommand, those written in modules of their own included. */
export async function buildFullProgram(): Promise<Command> {
  const program = buildProgram();
  await registerExternal(program, 'fuzz', './fuzz.js', 'Fuzz the model: generate and mutate programs, keep the ones that reach new code, report failures.');
  await registerExternal(program, 'minimize', './minimize.js', 'Shrink a failing program to a minimal one that still fails the same way.');
  await registerExternal(program, 'oracle', './oracle.js', 'run programs on a real kernel under QEMU and compare call by call with the model');
  await registerExternal(program, 'exec', './exec.js', 'run an unmodified C program with /dev/iommu answered by the model');
  await registerExternal(program, 'explore', './explore.js', "write a self-contained HTML page that steps through a program's iommufd state");
  return program;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      err(`iommufd-sim: internal error: ${(e as Error)?.stack ?? String(e)}`);
      process.exitCode = EXIT_FAIL;
    },
  );
}
