// SPDX-License-Identifier: GPL-2.0-only
/**
 * Building the programs for the VM: each exported C program is compiled once
 * (cached by the hash of its text) into an object whose main is renamed, and
 * all objects of a run are linked with a small dispatcher into one static
 * multi-call binary: `oracle-progs N` runs program N. One libc for hundreds of
 * programs keeps the initramfs small.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The cache folder: $IOMMUFD_SIM_CACHE, else $XDG_CACHE_HOME/iommufd-sim/oracle, else ~/.cache/... */
export function defaultCacheDir(): string {
  if (process.env.IOMMUFD_SIM_CACHE) return resolve(process.env.IOMMUFD_SIM_CACHE);
  const base = process.env.XDG_CACHE_HOME ? resolve(process.env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'iommufd-sim', 'oracle');
}

export function sha(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}

/** The C compiler: $CC or cc. */
export function compiler(): string {
  return process.env.CC ?? 'cc';
}

/** Fails with a clear message when no C compiler runs. */
export function checkCompiler(): string | undefined {
  const r = spawnSync(compiler(), ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `no C compiler (${compiler()}): install gcc (apt-get install -y gcc) or set CC`;
  return undefined;
}

const CFLAGS = ['-O0', '-w', '-static', '-D_GNU_SOURCE'];

function run(cmd: string, args: string[], input?: string): Promise<{ status: number | null; out: string }> {
  return new Promise((res) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('error', (e) => res({ status: -1, out: String(e) }));
    p.on('close', (status) => res({ status, out }));
    p.stdin.on('error', () => {});
    p.stdin.end(input ?? '');
  });
}

/**
 * What a compile of `source` with `flags` reads: the preprocessor's output
 * (every header expanded), so that a changed header in an include folder is
 * a new cache key; undefined when it does not preprocess (the compile says
 * why, and nothing cached may stand in for it).
 */
async function preprocessed(source: string, flags: readonly string[]): Promise<string | undefined> {
  const r = await run(compiler(), [...CFLAGS, ...flags, '-E', '-x', 'c', '-'], source);
  return r.status === 0 ? r.out : undefined;
}

export interface CompiledProgram {
  /** The renamed main of the program's object. */
  entry: string;
  object: string;
}

/** Compile each C text to a cached object (at most `jobs` compilers at a time). */
export async function compileAll(
  sources: readonly string[],
  cacheDir: string,
  jobs = 2,
  onDone?: (n: number) => void,
  /** More compiler flags for every program (include folders): part of the cache key. */
  flags: readonly string[] = [],
): Promise<Array<CompiledProgram | { error: string }>> {
  const dir = join(cacheDir, 'obj');
  mkdirSync(dir, { recursive: true });
  const out: Array<CompiledProgram | { error: string }> = new Array(sources.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= sources.length) return;
      // With include folders, the headers read from them are part of what is compiled (and of the key).
      const text = flags.length > 0 ? await preprocessed(sources[i], flags) : sources[i];
      const h = sha(`${[...CFLAGS, ...flags].join(' ')}\n${text ?? sources[i]}`);
      const entry = `oracle_prog_${h}`;
      const object = join(dir, `${h}.o`);
      if (text === undefined || !existsSync(object)) {
        const src = join(dir, `${h}.c`);
        writeFileSync(src, sources[i]);
        const tmp = `${object}.${process.pid}.tmp`;
        const r = await run(compiler(), [...CFLAGS, ...flags, `-Dmain=${entry}`, '-c', '-o', tmp, src]);
        if (r.status !== 0) {
          out[i] = { error: r.out.trim().split('\n').slice(0, 5).join('\n') };
          onDone?.(++done);
          continue;
        }
        renameSync(tmp, object);
      }
      out[i] = { entry, object };
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  return out;
}

/** The dispatcher's call: program N's main gets the arguments after N (its argv[0] is N). */
const DISPATCH = 'return ((int (*)(int, char **, char **))progs[n])(argc - 1, argv + 1, envp);';

/** Link the objects with a dispatcher: `binary N [args]` runs program N (cached by the object list). */
export async function linkMulticall(progs: readonly CompiledProgram[], cacheDir: string): Promise<string> {
  const dir = join(cacheDir, 'bin');
  mkdirSync(dir, { recursive: true });
  const h = sha(`${DISPATCH}\n${progs.map((p) => p.entry).join('\n')}`);
  const bin = join(dir, `oracle-progs-${h}`);
  if (existsSync(bin)) return bin;
  const lines = ['#include <stdio.h>', '#include <stdlib.h>', ''];
  const seen = new Set<string>();
  for (const p of progs) if (!seen.has(p.entry)) {
    seen.add(p.entry);
    // (declared without a prototype: a program's main takes (void), (argc, argv) or (argc, argv, envp))
    lines.push(`int ${p.entry}();`);
  }
  lines.push('', 'static int (*const progs[])() = {', ...progs.map((p) => `\t${p.entry},`), '};', '');
  lines.push('int main(int argc, char **argv, char **envp)', '{', '\tlong n = argc > 1 ? strtol(argv[1], NULL, 10) : -1;', '');
  lines.push(`\tif (n < 0 || n >= ${progs.length}) {`, `\t\tfprintf(stderr, "usage: %s N (0..${progs.length - 1}) [args]\\n", argv[0]);`, '\t\treturn 2;', '\t}');
  lines.push(`\t${DISPATCH}`, '}', '');
  const src = join(dir, `oracle-progs-${h}.c`);
  writeFileSync(src, lines.join('\n'));
  let objs = [...new Set(progs.map((p) => p.object))];
  const tmp = `${bin}.${process.pid}.tmp`;
  let r = await run(compiler(), [...CFLAGS, '-o', tmp, src, ...objs]);
  if (r.status !== 0 && /multiple definition of/.test(r.out)) {
    // Programs that each define the same global (kselftest_harness.h's _fixture_global, a helper of the
    // same name): each object's symbols but its entry made local, as if each were its own binary.
    const local: string[] = [];
    for (const p of new Map(progs.map((x) => [x.object, x.entry]))) {
      const o = `${p[0].replace(/\.o$/, '')}.local.o`;
      if (!existsSync(o)) {
        const t = `${o}.${process.pid}.tmp`;
        const c = await run(objcopy(), [`--keep-global-symbol=${p[1]}`, p[0], t]);
        if (c.status !== 0) throw new Error(`objcopy of ${p[0]} failed:\n${c.out.slice(0, 2000)}`);
        renameSync(t, o);
      }
      local.push(o);
    }
    objs = local;
    r = await run(compiler(), [...CFLAGS, '-o', tmp, src, ...objs]);
  }
  if (r.status !== 0) throw new Error(`linking the programs failed:\n${r.out.slice(0, 2000)}`);
  renameSync(tmp, bin);
  return bin;
}

/** The objcopy beside the compiler's binutils (OBJCOPY overrides). */
function objcopy(): string {
  return process.env.OBJCOPY ?? 'objcopy';
}
