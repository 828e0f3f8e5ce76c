// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommufd-sim exec`: run a program with the shim preloaded and the bridge
 * server answering for /dev/iommu. The result is the program's exit status;
 * a server failure is reported and gives EXIT_BRIDGE_CRASH whatever the
 * program returned.
 */
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, closeSync, constants as fsConstants, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ORACLE_HUGETLB_PAGES } from '../machine/machine.js';
import type { ThpMode } from '../mm/address-space.js';
import type { WarningRecord } from '../base/warn.js';
import { BRIDGE_LOST_STATUS } from './protocol.js';
import { type BridgeOptions, BridgeServer, type BridgeStats, debugfsTree } from './server.js';
import { buildShim } from './shim-build.js';

/** The machine's RAM under exec unless told: the memory of the QEMU guests the real kernels answer in. */
export const EXEC_MEMORY = '1G';

/** The 2 MiB hugetlb pool under exec unless told: the oracle VMs reserve 128 huge pages before a program runs. */
export const EXEC_HUGEPAGES = ORACLE_HUGETLB_PAGES;

/**
 * transparent_hugepage/enabled under exec unless told: the oracle VMs' kernels are built with
 * CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS (as Debian's), so they boot with "[always] madvise never".
 */
export const EXEC_THP: ThpMode = 'always';

/** Exit status when the bridge server failed (EX_SOFTWARE). */
export const EXIT_BRIDGE_CRASH = 70;

export interface ExecOptions {
  profile?: string;
  /**
   * The machine's RAM (default EXEC_MEMORY, the oracle VMs' 1 GiB): what the overcommit heuristic allows
   * one mapping, and what can be populated.
   */
  memory?: string;
  /** The CPU has 1 GiB pages, so the 1 GiB hugetlb size exists (default false, as the oracle VMs). */
  gbpages?: boolean;
  /** 2 MiB huge pages in the pool (nr_hugepages; default EXEC_HUGEPAGES, as the oracle VMs). */
  hugepages?: number;
  /** The THP mode the program starts with (default EXEC_THP, as the oracle VMs); a root write of the knob changes it. */
  thp?: ThpMode;
  /** Pass the program's KTAP through and end with a summary line. */
  ktap?: boolean;
  /** Exit with EXIT_BRIDGE_CRASH when the model WARNed. */
  panicOnWarn?: boolean;
  /** Effective capabilities of the program in the model instead of its real ones ('all' or names). */
  caps?: BridgeOptions['caps'];
  /** Test-only wrong answer (see BridgeOptions.sabotage). */
  sabotage?: BridgeOptions['sabotage'];
  /** Where the program's stdout and our own messages go (default: the process's). */
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Capture the program's stdout instead of inheriting it (tests). */
  captureStdout?: boolean;
  /** Send the program's stderr into its stdout, in order (through sh). */
  mergeStderr?: boolean;
  env?: NodeJS.ProcessEnv;
  /** How long (µs) the shim waits awake for each reply, whether whatever the load, and each reply's delay (see BridgeOptions.spinUs, replyAfterUs). */
  spin?: { us: number; always?: boolean; replyAfterUs?: number };
  /**
   * Kill the program and every process of its group (SIGKILL) after this many seconds, as the oracle
   * VM's `timeout -s KILL` does: exit status 137. The program then runs in a process group of its own.
   */
  timeoutSec?: number;
  /**
   * Run the program with address-space randomization off (setarch -R: the ADDR_NO_RANDOMIZE
   * personality, inherited by its children), as the oracle VMs run theirs: its stack ends at the
   * top of user space, so a buffer in main's frame sits in the last user page there too.
   */
  noRandomize?: boolean;
  /** Tests: called with the server before the program starts (e.g. to register a device node). */
  onServer?: (server: BridgeServer) => void;
}

export interface KtapCounts {
  pass: number;
  fail: number;
  skip: number;
  xfail: number;
}

export interface ExecResult {
  status: number;
  /** The program's own exit code or signal. */
  programStatus: number;
  signal: string | null;
  crash: Error | undefined;
  warnings: number;
  /** The model's first WARN, when it WARNed. */
  firstWarning?: WarningRecord;
  ktap: KtapCounts;
  stats: BridgeStats;
  stdout: string;
  /** Result lines by test name: 'ok' | 'fail' | 'skip'. */
  results: Map<string, 'ok' | 'fail' | 'skip'>;
}

/** Count one KTAP line into `c` and `results`. */
export function countKtapLine(line: string, c: KtapCounts, results?: Map<string, 'ok' | 'fail' | 'skip'>): void {
  const m = /^(not ok|ok) \d+ (.*?)(?:\s+#\s*(SKIP|XFAIL)\b.*)?$/.exec(line);
  if (m === null) return;
  const name = m[2].trim();
  let r: 'ok' | 'fail' | 'skip';
  if (m[3] === 'SKIP') {
    c.skip++;
    r = 'skip';
  } else if (m[3] === 'XFAIL') {
    c.xfail++;
    r = 'ok';
  } else if (m[1] === 'ok') {
    c.pass++;
    r = 'ok';
  } else {
    c.fail++;
    r = 'fail';
  }
  results?.set(name, r);
}

/** Exit status when the program cannot be run under the bridge (as a shell's "cannot execute"). */
export const EXIT_CANNOT_RUN = 127;

/** The file `cmd` names, searched in PATH as execvp does (undefined when not found). */
function resolveProgram(cmd: string, env: NodeJS.ProcessEnv): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined;
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const f = join(dir === '' ? '.' : dir, cmd);
    if (existsSync(f)) return f;
  }
  return undefined;
}

/**
 * A statically linked ELF executable: no PT_INTERP program header, so the
 * dynamic loader never runs and LD_PRELOAD cannot load the shim. False for
 * scripts, dynamic programs and files that cannot be read.
 */
export function isStaticElf(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const h = Buffer.alloc(64);
    if (readSync(fd, h, 0, 64, 0) < 64 || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return false;
    const type = h.readUInt16LE(16);
    if (type !== 2 && type !== 3) return false; // ET_EXEC, ET_DYN
    const phoff = Number(h.readBigUInt64LE(32));
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    if (phentsize < 4 || phnum === 0 || phnum > 4096) return false;
    const ph = Buffer.alloc(phentsize * phnum);
    if (readSync(fd, ph, 0, ph.length, phoff) < ph.length) return false;
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3 /* PT_INTERP */) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

export async function runExec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const out = opts.out ?? ((t: string) => process.stdout.write(t));
  const err = opts.err ?? ((t: string) => process.stderr.write(t));
  if (argv.length === 0) throw new RangeError('exec: no program given');
  const file = resolveProgram(argv[0], opts.env ?? process.env);
  if (file !== undefined && isStaticElf(file)) {
    err(`iommufd-sim exec: ${argv[0]} is statically linked: the bridge loads its shim with LD_PRELOAD, which needs a dynamically linked program (rebuild it without -static)\n`);
    const none: KtapCounts = { pass: 0, fail: 0, skip: 0, xfail: 0 };
    return { status: EXIT_CANNOT_RUN, programStatus: EXIT_CANNOT_RUN, signal: null, crash: undefined, warnings: 0, ktap: none, stats: { requests: 0, ioctls: 0, processes: 0 }, stdout: '', results: new Map() };
  }
  const shim = buildShim();
  const dir = mkdtempSync(join(runtimeDir(), 'iommufd-sim-exec-'));
  const debugfs = join(dir, 'debugfs');
  for (const [d, files] of Object.entries(debugfsTree())) {
    mkdirSync(join(debugfs, d), { recursive: true });
    for (const [f, v] of Object.entries(files)) writeFileSync(join(debugfs, d, f), `${v}\n`);
  }
  const spinEnv = (opts.env ?? process.env).IOMMUFD_SIM_SPIN_US;
  const spinUs = spinEnv !== undefined && /^\d+$/.test(spinEnv) ? Number(spinEnv) : undefined;
  const server = new BridgeServer({
    profile: opts.profile ?? 'latest',
    memory: opts.memory ?? EXEC_MEMORY,
    ...(opts.gbpages === true ? { gbpages: true } : {}),
    hugetlbPages: { '2M': opts.hugepages ?? EXEC_HUGEPAGES },
    thp: opts.thp ?? EXEC_THP,
    debugfsDir: debugfs,
    sabotage: opts.sabotage,
    caps: opts.caps,
    spinUs: opts.spin?.us ?? spinUs,
    spinAlways: opts.spin?.always,
    ...(opts.spin?.replyAfterUs !== undefined ? { replyAfterUs: opts.spin.replyAfterUs } : {}),
  });
  opts.onServer?.(server);
  if ((opts.env ?? process.env).IOMMUFD_SIM_TRACE) server.trace = (line) => err(`iommufd-sim: ${line}\n`);
  const sock = join(dir, 'sock');
  await server.listen(sock);
  // a program may drop to another uid (VMMs do): its children must still reach the server
  chmodSync(dir, 0o711);
  chmodSync(sock, 0o666);
  const env = { ...(opts.env ?? process.env) };
  env.LD_PRELOAD = env.LD_PRELOAD ? `${shim} ${env.LD_PRELOAD}` : shim;
  env.IOMMUFD_SIM_SOCK = sock;
  env.IOMMUFD_SIM_DEBUGFS = debugfs;
  const ktap: KtapCounts = { pass: 0, fail: 0, skip: 0, xfail: 0 };
  const results = new Map<string, 'ok' | 'fail' | 'skip'>();
  let stdout = '';
  const pipeOut = opts.ktap === true || opts.captureStdout === true || opts.out !== undefined;
  try {
    let cmd = opts.mergeStderr ? ['/bin/sh', '-c', 'exec "$0" "$@" 2>&1', ...argv] : argv;
    let spawnEnv: NodeJS.ProcessEnv = env;
    if (opts.noRandomize) {
      if (resolveProgram('setarch', env) === undefined) {
        err('iommufd-sim exec: running without address randomization needs setarch (util-linux) on the PATH\n');
        return finish(EXIT_CANNOT_RUN, EXIT_CANNOT_RUN, null);
      }
      // setarch itself runs without the shim; env(1) puts it back for the program
      const { LD_PRELOAD: preload, ...rest } = env;
      cmd = ['setarch', '-R', 'env', `LD_PRELOAD=${preload}`, ...cmd];
      spawnEnv = rest;
    }
    const limited = opts.timeoutSec !== undefined;
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['inherit', pipeOut ? 'pipe' : 'inherit', 'inherit'], env: spawnEnv, detached: limited });
    const timer = limited
      ? setTimeout(() => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          } catch {
            // (the group is gone already)
          }
        }, (opts.timeoutSec ?? 0) * 1000)
      : undefined;
    const lines =
      pipeOut && child.stdout !== null
        ? new Promise<void>((resolve) => {
            const rl = createInterface({ input: child.stdout! });
            rl.on('line', (line) => {
              countKtapLine(line, ktap, results);
              if (opts.captureStdout) stdout += `${line}\n`;
              else out(`${line}\n`);
            });
            rl.on('close', () => resolve());
          })
        : Promise.resolve();
    const done = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.once('error', (e) => resolve({ code: null, signal: null, error: e }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    await lines;
    clearTimeout(timer);
    if (done.error !== undefined) {
      err(`iommufd-sim exec: cannot run ${argv[0]}: ${done.error.message}\n`);
      return finish(EXIT_CANNOT_RUN, EXIT_CANNOT_RUN, null);
    }
    const programStatus = done.signal !== null ? 128 + (osConstants.signals[done.signal] ?? 0) : (done.code ?? 1);
    let status = programStatus;
    if (server.crash !== undefined) {
      err(`iommufd-sim exec: the bridge server failed; the program's result (${programStatus}) does not count:\n${server.crash.stack ?? server.crash.message}\n`);
      status = EXIT_BRIDGE_CRASH;
    } else if (programStatus === BRIDGE_LOST_STATUS) {
      err('iommufd-sim exec: the program lost its connection to the bridge server\n');
      status = EXIT_BRIDGE_CRASH;
    }
    if (server.stats.processes === 0) err(`iommufd-sim exec: ${argv[0]} never reached the bridge (a static binary? LD_PRELOAD needs a dynamically linked program)\n`);
    const warnings = server.machine.warnings.length;
    if (warnings > 0) {
      err(`iommufd-sim exec: the model WARNed ${warnings} time(s):\n`);
      for (const w of server.machine.warnings.slice(0, 10)) err(`  ${JSON.stringify(w)}\n`);
      if (opts.panicOnWarn && status === 0) status = EXIT_BRIDGE_CRASH;
    }
    if (opts.ktap) {
      const line = `# iommufd-sim exec (profile ${server.machine.profile.name}): pass:${ktap.pass} fail:${ktap.fail} xfail:${ktap.xfail} skip:${ktap.skip} exit:${status}\n`;
      if (opts.captureStdout) stdout += line;
      else out(line);
    }
    return finish(status, programStatus, done.signal);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }

  function finish(status: number, programStatus: number, signal: string | null): ExecResult {
    return { status, programStatus, signal, crash: server.crash, warnings: server.machine.warnings.length, firstWarning: server.machine.warnings[0], ktap, stats: server.stats, stdout, results };
  }
}

/**
 * Where the bridge's files go: /dev/shm when it is a writable tmpfs
 * directory, else the temporary directory. The channel pages and the
 * doorbell are written on every request; on a disk file system each write
 * would also update the journal.
 */
function runtimeDir(): string {
  try {
    if (statSync('/dev/shm').isDirectory()) {
      accessSync('/dev/shm', fsConstants.W_OK);
      return '/dev/shm';
    }
  } catch {
    // none here
  }
  return tmpdir();
}
