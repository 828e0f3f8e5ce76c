// SPDX-License-Identifier: GPL-2.0-only
// Command-line conventions, through a real child process: --version, usage
// errors with exit 2 and no stack trace, a quiet end on a closed pipe,
// NO_COLOR and non-TTY output, `run -` from stdin, -q, --json, numbers that
// do not fit in u64 and wrong types named by line, --workers capped at the
// cores, and fuzz findings written to a work directory by default.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'iommufd-sim.js');
const tmp = mkdtempSync(join(tmpdir(), 'iommufd-sim-conv-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Out {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Out {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  if (!opts.env || !('NO_COLOR' in opts.env)) delete env.NO_COLOR;
  if (!opts.env || !('FORCE_COLOR' in opts.env)) delete env.FORCE_COLOR;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: 120_000, env, input: opts.input ?? '' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SUITES = readdirSync(join(ROOT, 'bench', 'suites'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const STACK = /\n\s+at .+\(.*:\d+:\d+\)|\n\s+at file:/;
const FAILING = 'calls:\n  - { op: open }\n  - { op: ioas_alloc, as: $ioas, expect: { ioas_id: 7 } }\n';

describe('command-line conventions', () => {
  it('--version prints the package version', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) {
      const r = cli([flag]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it('bad option values are usage errors: exit 2, one message, no stack trace', () => {
    for (const [args, what] of [
      [['fuzz', '--seconds', '-5'], /--seconds <n>' argument '-5' is invalid/],
      [['fuzz', '--seconds', 'abc'], /--seconds <n>' argument 'abc' is invalid/],
      [['fuzz', '--workers', 'abc'], /--workers <n>' argument 'abc' is invalid/],
      [['fuzz', '--workers', '0'], /--workers <n>' argument '0' is invalid/],
      [['fuzz', '--seed', 'foo'], /--seed <n>' argument 'foo' is invalid/],
      [['fuzz', '--kernel', '/nonexistent/bzImage', '-d', '1s'], /--kernel \/nonexistent\/bzImage: no such kernel image/],
      [['fuzz', '--kernel', 'examples/vm-boot.yaml', '--initramfs', '/nonexistent.cpio', '-d', '1s'], /--initramfs \/nonexistent.cpio: no such file/],
      [['fuzz', '--kernel-sample', '5', '-d', '1s'], /--kernel-sample: only with --kernel/],
      [['minimize', 'examples/vm-boot.yaml', '--seconds', '-1'], /--seconds <n>' argument '-1' is invalid/],
      [['run', 'examples/vm-boot.yaml', '--profile', 'v9'], /argument 'v9' is invalid/],
      [['run', 'examples/vm-boot.yaml', '--frobnicate'], /unknown option '--frobnicate'/],
      [['exec', '--memory', 'lots', '--', 'true'], /exec: --memory lots: a size from 1M to 1T, a multiple of 4K/],
      [['exec', '--memory', '2T', '--', 'true'], /exec: --memory 2T: a size from 1M to 1T/],
      [['bench', '--', '--frobnicate'], /bench: Unknown option '--frobnicate'/],
      [['bench', '--', '--suite', 'nope'], new RegExp(`bench: unknown suite nope \\(known: ${SUITES.join(', ')}\\)`)],
    ] as const) {
      const r = cli([...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(what);
      expect(r.stderr).not.toMatch(STACK);
      expect(r.stdout).toBe('');
    }
  });

  it('bench --help prints its usage and options on standard output and exits 0', () => {
    const r = cli(['bench', '--', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: iommufd-sim bench /);
    for (const o of ['--quick', '--suite NAME', '--filter TEXT', '--out FILE']) expect(r.stdout).toContain(o);
    expect(r.stderr).toBe('');
  });

  it('writing into a closed pipe ends quietly', () => {
    // schema prints ~90 KiB, more than a pipe holds, so the writer meets EPIPE.
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" schema | head -c 10; echo " status=\${PIPESTATUS[0]}"`], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout).toMatch(/^\{\n {2}"\$sche status=0\n$/);
    expect(r.stderr).toBe('');
  });

  it('no colour codes with NO_COLOR or when stdout is not a terminal; FORCE_COLOR turns them on', () => {
    const prog = join(tmp, 'failing.yaml');
    writeFileSync(prog, FAILING);
    const plain = cli(['run', prog]);
    expect(plain.status).toBe(1);
    expect(plain.stdout).toMatch(/result: FAIL/);
    expect(plain.stdout).not.toContain('\x1b[');
    const forced = cli(['run', prog], { env: { FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain('\x1b[31m');
    const no = cli(['run', prog], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(no.stdout).not.toContain('\x1b[');
    expect(no.stdout).toBe(plain.stdout);
  });

  it('output fits 100 columns when stdout is not a terminal: long calls wrap, wide tables become one line per row', () => {
    const r = cli(['run', 'examples/vm-boot.yaml']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.filter((l) => [...l].length > 100)).toEqual([]);
    expect(r.stdout).toMatch(/\n {2}pages #0: user VA 0x[0-9a-f]+, npages 16384, areas 2, xarray entries 4, domains holding it 1,\n {4}npinned 16384, access pins \(ranges\/users\) 1\/1, account user\n/);
    const ops = cli(['ops']);
    expect(ops.stdout.split('\n').filter((l) => [...l].length > 100)).toEqual([]);
    expect(ops.stdout).toMatch(/\nmd_check_refs {2}\[test\] {2}IOMMU_TEST_OP_MD_CHECK_REFS: [\s\S]*?skips pages of compound folios, so on THP\n {4}or hugetlb memory it passes whatever the count: use check_state/);
    expect(r.stdout).toMatch(/\n 11 {2}access_pages\(access=\$mdev, iova=0x1200000, length=16K, uptr=\$guest\+2M, flags=\[WRITE\]\) → \$window\n {6}= 0 {3}expected access_pages_id=0, got access_pages_id=0\n/);
  });

  it('run - reads the program from stdin; -q prints only the summary', () => {
    const r = cli(['run', '-'], { input: readFileSync(join(ROOT, 'examples', 'access-rw.yaml'), 'utf8') });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^access-rw: profile latest/);
    expect(r.stdout).toMatch(/ioas_alloc\(\) → \$ioas = 1 /);
    const q = cli(['run', '-q', '-'], { input: FAILING });
    expect(q.status).toBe(1);
    const lines = q.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('calls: 2 of 2 run, 1 met their expectation, 1 did not');
    expect(q.stdout).not.toMatch(/ioas_alloc\(|Accounting|Areas/);
    expect(q.stdout).toMatch(/result: FAIL\n {2}call 1 \(ioas_alloc\): expected ioas_id=7, got ok/);
    const bad = cli(['run', '-'], { input: 'calls:\n  - { op: mmap, length: 4Q }\n' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^iommufd-sim: <stdin>:2:\d+: calls\[0\] \(mmap\)\.length/);
  });

  it('run --json: every call with its expectation and what it got, and the final state', () => {
    const r = cli(['run', '--json', '-'], { input: FAILING });
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout) as {
      passed: boolean;
      calls: Array<{ op: string; as?: string; expect: unknown; expected: string | null; got: string; met: boolean; outputs: Record<string, unknown> }>;
      finalState: { accounting: unknown[] };
    };
    expect(j.passed).toBe(false);
    expect(j.calls[1]).toMatchObject({ op: 'ioas_alloc', as: '$ioas', expect: { ioas_id: 7 }, expected: 'ioas_id=7', got: 'ioas_id=1', met: false, outputs: { ioas_id: 1 } });
    expect(j.calls[0]).toMatchObject({ op: 'open', expect: null, expected: null, got: 'ok', met: true });
    expect(j.finalState.accounting.length).toBe(1);
  });

  it('numbers that do not fit in u64 and wrong types are errors naming the line', () => {
    const r = cli(['run', '-'], {
      input: 'calls:\n  - { op: mmap, as: $b, length: 2M }\n  - { op: mmap, length: 0x10000000000000000 }\n  - { op: mmap, length: true }\n  - { op: open }\n  - { op: ioas_alloc, as: $i }\n  - { op: ioas_map, ioas: $i, user_va: $b, length: 2M, iova: 18446744073709551616 }\n',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('<stdin>:3:17: calls[1] (mmap).length: 0x10000000000000000 does not fit in 64 bits');
    expect(r.stderr).toContain('<stdin>:4:17: calls[2] (mmap).length: expected a number, got true');
    expect(r.stderr).toMatch(/<stdin>:7:\d+: calls\[5\] \(ioas_map\)\.iova: 0x10000000000000000 does not fit in 64 bits/);
    // Sums still wrap as C's u64 does: U64_MAX+1 is 0, a valid (if odd) length.
    const wrap = cli(['run', '-q', '-'], { input: 'calls:\n  - { op: mmap, length: U64_MAX+1, expect: EINVAL }\n' });
    expect(wrap.stderr).toBe('');
    expect(wrap.status).toBe(0);
  });

  it('fuzz: --workers is capped at the cores, findings go to ./iommufd-sim-findings by default, --json', () => {
    const cwd = mkdtempSync(join(tmp, 'fuzz-'));
    const r = cli(['fuzz', '--json', '-s', '3', '--workers', '1000', '--profile', 'v6.2'], { cwd });
    expect([0, 1]).toContain(r.status);
    const cores = availableParallelism();
    const j = JSON.parse(r.stdout) as { workers: number; findingsDir: string; seconds: number; findings: Array<{ dir: string; fixes: string[] }> };
    expect(j.workers).toBe(cores);
    expect(j.findingsDir).toBe(join(cwd, 'iommufd-sim-findings'));
    // It ran its time (how many programs fit in it depends on the load: under tsx the workers start as child processes).
    expect(j.seconds).toBeGreaterThanOrEqual(3);
    for (const f of j.findings) expect(readFileSync(join(f.dir, 'repro.c'), 'utf8')).toMatch(/IOMMU/);
    if (cores < 1000) expect(r.stderr).toBe('');
  });
});
