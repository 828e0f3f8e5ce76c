// SPDX-License-Identifier: GPL-2.0-only
// `iommufd-sim oracle` with C programs, without a VM: the multi-call binary passes each program its
// arguments (argv[0] its number), a program's own folder and -I folders are on the include path (and
// in the cache key), the report's lines, and the command's usage errors. scripts/oracle/ci.sh runs C
// programs on the real kernels.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runExec } from '../../src/bridge/exec.js';
import { compileAll, compiler, linkMulticall } from '../../src/oracle/build.js';
import { type CProgramsResult, formatCPrograms } from '../../src/oracle/c-programs.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'iommufd-sim.js');
const tmp = mkdtempSync(join(tmpdir(), 'iommufd-sim-cprog-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('oracle: C programs', () => {
  it('links programs with main(void) and main(argc, argv) into one static binary that runs program N with the arguments after N', async () => {
    const cache = join(tmp, 'cache');
    const inc = join(tmp, 'inc');
    mkdirSync(inc, { recursive: true });
    writeFileSync(join(inc, 'greeting.h'), '#define GREETING "hello"\n');
    const plain = '#include <stdio.h>\n#include "greeting.h"\nint main(void) { printf("%s\\n", GREETING); return 7; }\n';
    const args = '#include <stdio.h>\nint main(int argc, char **argv) { for (int i = 0; i < argc; i++) printf("%d %s\\n", i, argv[i]); return argc; }\n';
    const compiled = await compileAll([plain, args], cache, 2, undefined, [`-I${inc}`]);
    expect(compiled.every((c) => !('error' in c))).toBe(true);
    // without the folder the header is not found: the flags are part of what is compiled (and of the cache key)
    const without = await compileAll([plain], cache);
    expect('error' in without[0] && without[0].error).toMatch(/greeting\.h/);
    const bin = await linkMulticall(compiled as Array<{ entry: string; object: string }>, cache);
    const p0 = spawnSync(bin, ['0'], { encoding: 'utf8' });
    expect([p0.stdout, p0.status]).toEqual(['hello\n', 7]);
    const p1 = spawnSync(bin, ['1', 'a', 'bc'], { encoding: 'utf8' });
    expect([p1.stdout, p1.status]).toEqual(['0 1\n1 a\n2 bc\n', 3]);
    const bad = spawnSync(bin, ['2'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/usage: .* N \(0\.\.1\)/);
  });

  it('links programs that each define the same globals (kselftest_harness.h\'s _fixture_global, a helper of the same name) as if each were its own binary', async () => {
    const cache = join(tmp, 'cache-dup');
    const prog = (v: number): string => `#include <stdio.h>\nint counter = ${v};\nint _fixture_global;\nvoid helper(void) { counter++; }\nint main(void) { helper(); printf("%d\\n", counter); return 0; }\n`;
    const compiled = await compileAll([prog(1), prog(10)], cache, 2);
    const bin = await linkMulticall(compiled as Array<{ entry: string; object: string }>, cache);
    expect([0, 1].map((n) => spawnSync(bin, [String(n)], { encoding: 'utf8' }).stdout)).toEqual(['2\n', '11\n']);
  });

  it('runs the program under exec as the guest runs it when asked (noRandomize): its stack ends at the top of user space, where a buffer in main sits in the last user page', async () => {
    const src = join(tmp, 'stacktop.c');
    writeFileSync(src, '#include <stdio.h>\n#include <stdint.h>\nint main(void) { char b[64]; printf("%d\\n", (int)(((uintptr_t)b >> 12) == 0x7fffffffeULL)); return 0; }\n');
    const bin = join(tmp, 'stacktop');
    spawnSync(compiler(), ['-O1', '-o', bin, src]);
    const run = async (noRandomize: boolean): Promise<string> =>
      (await runExec([bin], { captureStdout: true, err: () => {}, env: { HOME: '/', TERM: 'linux', PATH: '/usr/bin:/bin' }, noRandomize })).stdout;
    expect(await run(true)).toBe('1\n');
    // without setarch on the PATH it says so and runs nothing (127)
    let said = '';
    const r = await runExec([bin], { captureStdout: true, err: (t) => { said += t; }, env: { PATH: '/nonexistent' }, noRandomize: true });
    expect([r.status, r.stdout]).toEqual([127, '']);
    expect(said).toMatch(/needs setarch \(util-linux\)/);
    // (a host that randomizes, as this machine does, puts it elsewhere)
    if (readFileSync('/proc/sys/kernel/randomize_va_space', 'utf8').trim() !== '0') expect(await run(false)).toBe('0\n');
  });

  it('builds again when a header in an include folder changed: the cache is keyed on what the compiler reads, not on the .c text alone', async () => {
    const cache = join(tmp, 'cache-hdr');
    const inc = join(tmp, 'inc-hdr');
    mkdirSync(inc, { recursive: true });
    const prog = '#include <stdio.h>\n#include "word.h"\nint main(void) { printf("%s\\n", WORD); return 0; }\n';
    const build = async (): Promise<string> => {
      const [c] = await compileAll([prog], cache, 1, undefined, [`-I${inc}`]);
      if ('error' in c) throw new Error(c.error);
      const bin = await linkMulticall([c], cache);
      return spawnSync(bin, ['0'], { encoding: 'utf8' }).stdout;
    };
    writeFileSync(join(inc, 'word.h'), '#define WORD "first"\n');
    expect(await build()).toBe('first\n');
    writeFileSync(join(inc, 'word.h'), '#define WORD "second"\n');
    expect(await build()).toBe('second\n');
    // a header that no longer preprocesses is the compiler's error, not the object built before it
    writeFileSync(join(inc, 'word.h'), '#error broken\n');
    const [broken] = await compileAll([prog], cache, 1, undefined, [`-I${inc}`]);
    expect('error' in broken && broken.error).toMatch(/broken/);
  });

  it("stops a program under exec that outlives --timeout as the VM's timeout -s KILL does: status 137, its children killed with it", async () => {
    const src = join(tmp, 'hang.c');
    const bin = join(tmp, 'hang');
    writeFileSync(src, '#include <stdio.h>\n#include <unistd.h>\nint main(void) { pid_t c = fork(); if (c == 0) for (;;) pause(); printf("child %d\\n", c); fflush(stdout); for (;;) pause(); }\n');
    expect(spawnSync(compiler(), ['-O1', '-o', bin, src]).status).toBe(0);
    const r = await runExec([bin], { captureStdout: true, err: () => {}, caps: 'all', timeoutSec: 1 });
    expect(r.status).toBe(137);
    const child = Number(/^child (\d+)$/.exec(r.stdout.trim())?.[1]);
    expect(child).toBeGreaterThan(0);
    // the forked child went with the group: gone, or a zombie waiting for init to reap it
    const state = (): string => {
      try {
        return readFileSync(`/proc/${child}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
      } catch {
        return 'gone';
      }
    };
    for (let i = 0; i < 50 && !['gone', 'Z'].includes(state()); i++) await new Promise((res) => setTimeout(res, 20));
    expect(['gone', 'Z']).toContain(state());
  });

  it('reports each program (agree, DIVERGED with the first differing line of each side or the WARN only one side gave, ERROR) and the summary', () => {
    const res: CProgramsResult = {
      release: '7.2.13',
      profile: 'latest',
      reports: [
        { name: 'a.c', status: 'agree', kernelLines: 12, modelLines: 12, kernelExit: 0, modelExit: 0 },
        { name: 'b.c', status: 'diverged', kernelLines: 3, modelLines: 2, kernelExit: 0, modelExit: 0, line: 3, kernel: 'IOAS_MAP -> -1 12', model: '(none)' },
        { name: 'c.c', status: 'diverged', kernelLines: 1, modelLines: 1, kernelExit: 139, modelExit: 0 },
        { name: 'd.c', status: 'error', kernelLines: 0, modelLines: 0, note: 'does not compile: d.c:1:1: error' },
        { name: 'e.c', status: 'diverged', kernelLines: 5, modelLines: 5, kernelExit: 0, modelExit: 0, warn: { kernel: 'WARNING: CPU: 0 PID: 44 at lib/refcount.c:28 refcount_warn_saturate+0x99/0xda', model: 'no WARN' } },
      ],
      summary: { programs: 5, agree: 1, diverged: 3, errors: 1, ok: false },
    };
    expect(formatCPrograms(res).split('\n')).toEqual([
      'agree a.c: 12 lines, exit 0',
      'DIVERGED b.c: exit 0 on the kernel, 0 under exec; 3 lines against 2',
      '  line 3:',
      '    kernel: IOAS_MAP -> -1 12',
      '    model:  (none)',
      'DIVERGED c.c: exit 139 on the kernel, 0 under exec; 1 lines against 1',
      'ERROR d.c: does not compile: d.c:1:1: error',
      'DIVERGED e.c: exit 0 on the kernel, 0 under exec; 5 lines against 5',
      '  WARN on one side only:',
      '    kernel: WARNING: CPU: 0 PID: 44 at lib/refcount.c:28 refcount_warn_saturate+0x99/0xda',
      '    model:  no WARN',
      'Linux 7.2.13 vs model latest: 5 C programs: 1 agree, 3 diverged, 1 errors',
      'oracle: FAILED',
      '',
    ]);
  });

  it('is a usage error (exit 2, no stack trace) to mix C and scenario programs, to name a C file that is none, or to give -I with scenario programs', () => {
    const cli = (args: string[]) => spawnSync(process.execPath, [BIN, 'oracle', '--kernel', join(ROOT, 'package.json'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const mixed = cli(['test/bridge/progs/uname.c', 'examples']);
    expect([mixed.status, mixed.stderr.trim()]).toEqual([2, 'iommufd-sim: give either C programs (.c) or scenario programs, not both']);
    const absent = cli(['no-such-program.c']);
    expect([absent.status, absent.stderr.trim()]).toEqual([2, 'iommufd-sim: no-such-program.c: no such file']);
    const include = cli(['-I', 'test', 'examples']);
    expect([include.status, include.stderr.trim()]).toEqual([2, 'iommufd-sim: --include is for C programs']);
    for (const r of [mixed, absent, include]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
