// SPDX-License-Identifier: GPL-2.0-only
// Every example and regression program passes on every profile it names; the
// `iommufd-sim` command runs them through a child process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runProgram } from '../../src/fuzz/executor.js';
import { type ProfileName, expectedWarning, } from '../../src/fuzz/program.js';
import { loadProgramFile, programFiles } from '../fuzz/program-files.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'iommufd-sim.js');
const tmp = mkdtempSync(join(tmpdir(), 'iommufd-sim-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const load = loadProgramFile;
const files = programFiles();

describe('programs', () => {
  it('there are examples and regressions', () => {
    expect(files.filter((f) => f.includes('/examples/')).length).toBeGreaterThanOrEqual(4);
    expect(files.filter((f) => f.includes('/regressions/')).length).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(ROOT, 'examples', 'vm-boot.yaml'))).toBe(true);
  });

  for (const f of files) {
    const p = load(f);
    const profiles = (Array.isArray(p.profiles) ? p.profiles : [p.profile ?? 'latest']) as ProfileName[];
    for (const profile of profiles) {
      for (const panicOnWarn of [true, false]) {
        it(`${basename(f)} passes on ${profile}${panicOnWarn ? ' (panic_on_warn)' : ''}`, () => {
          const r = runProgram(p, { profile, audit: true, panicOnWarn });
          expect(r.reasons).toEqual([]);
          expect(r.failed).toBe(false);
          const w = expectedWarning(p, profile);
          if (w) expect(r.warnings.map((x) => x.assertion)).toContain(w);
          else {
            expect(r.warnings).toEqual([]);
            expect(r.leaks).toEqual([]);
            expect(r.auditProblems).toBe(0);
            expect(r.results.length).toBe(p.calls.length);
          }
        });
      }
    }
  }

  it('regressions that expect a WARN on an old profile fail when it does not fire', () => {
    const p = load(join(ROOT, 'test', 'regressions', 'v6.2-uptr-overflow.yaml'));
    // The v6.2 expectation of the map applied on latest: the call misses, and no WARN fires.
    const r = runProgram({ ...p, expectWarning: 'pfn_reader_user_pin.zero' }, { profile: 'latest' });
    expect(r.failed).toBe(true);
    expect(r.reasons?.some((x) => /expected WARN pfn_reader_user_pin\.zero did not fire/.test(x))).toBe(true);
  });
});

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the iommufd-sim command (child process)', () => {
  it('run examples/vm-boot.yaml: every call, the state tables, PASS, exit 0', () => {
    const r = cli(['run', 'examples/vm-boot.yaml']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^vm-boot: profile latest/);
    expect(r.stdout).toMatch(/ioas_map\(ioas=\$ioas, user_va=\$guest, length=64M/);
    expect(r.stdout).toMatch(/ioas_alloc\(\) → \$ioas = 1 {3}expected ioas_id=1, got ioas_id=1/);
    expect(r.stdout).toMatch(/expected iova=0x1000000, got iova=0x1000000/);
    // Expected and got in the same units, as the program wrote them.
    expect(r.stdout).toMatch(/expected pins=1 npinned=0x4000 user_locked_vm=64M pinned_vm=64M locked_vm=0, got pins=1\s+npinned=0x4000 user_locked_vm=64M pinned_vm=64M locked_vm=0\n/);
    for (const t of ['Areas', 'Pages objects', 'Domains', 'Accesses', 'Accounting', 'xarray entries', 'npinned', 'map calls', 'RLIMIT_MEMLOCK', 'pinned_vm', 'memcg']) expect(r.stdout).toContain(t);
    expect(r.stdout).toMatch(/leaks after exit: none/);
    expect(r.stdout).toMatch(/result: PASS\n$/);
  });

  it('exit 1 when an expectation fails, 2 for usage errors, no stack traces', () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'calls:\n  - { op: open }\n  - { op: ioas_alloc, expect: { ioas_id: 7 } }\n');
    const r1 = cli(['run', bad]);
    expect(r1.status).toBe(1);
    expect(r1.stdout).toMatch(/!1 {2}ioas_alloc\(\) {3}expected ioas_id=7, GOT ioas_id=1/);
    expect(r1.stdout).toMatch(/result: FAIL/);

    const invalid = join(tmp, 'invalid.yaml');
    writeFileSync(invalid, 'calls:\n  - { op: open }\n  - { op: ioas_map, ioas: 1, user_va: 0, length: 4Q }\n');
    const r2 = cli(['run', invalid]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/invalid\.yaml:3:\d+: calls\[1\] \(ioas_map\)\.length/);
    expect(r2.stderr).not.toMatch(/\n\s+at /);

    const r3 = cli(['run', join(tmp, 'missing.yaml')]);
    expect(r3.status).toBe(2);
    expect(r3.stderr).toMatch(/cannot read .*missing\.yaml: ENOENT/);
    expect(cli(['frobnicate']).status).toBe(2);
    expect(cli(['run']).status).toBe(2);
  });

  it('--help on the command and on every subcommand', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['run', 'export-c', 'selftest', 'bench', 'fuzz', 'minimize']) expect(r.stdout).toContain(c);
  });

  it('export-c -o writes a C file', () => {
    const out = join(tmp, 'repro.c');
    const r = cli(['export-c', 'test/regressions/v6.2-uptr-overflow.yaml', '-o', out]);
    expect(r.status).toBe(0);
    const c = readFileSync(out, 'utf8');
    expect(c).toMatch(/IOMMU_IOAS_MAP/);
    expect(c).toMatch(/pfn_reader_user_pin\.zero/);
  });

  it("export-c --profile embeds that profile's answers and test command layout; a bad profile is a usage error", () => {
    const v65 = cli(['export-c', 'examples/access-rw.yaml', '--profile', 'v6.5']);
    expect(v65.status).toBe(0);
    expect(v65.stdout).toMatch(/#define TEST_CMD_SIZE 56/);
    const latest = cli(['export-c', 'examples/access-rw.yaml', '-p', 'latest']);
    expect(latest.status).toBe(0);
    expect(latest.stdout).toMatch(/#define TEST_CMD_SIZE 72/);
    const bad = cli(['export-c', 'examples/access-rw.yaml', '--profile', 'v9']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Allowed choices are latest, v6\.12, v6\.5, v6\.2/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('main() in process', () => {
  it('answers --help for every subcommand with exit 0', async () => {
    const writes: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => {
      writes.push(String(s));
      return true;
    }) as typeof process.stdout.write;
    try {
      for (const c of ['run', 'export-c', 'selftest', 'bench', 'ops', 'schema']) expect(await main([c, '--help'])).toBe(0);
      expect(await main(['run', '--quiet', '--no-state', 'examples/access-rw.yaml'])).toBe(0);
      expect(await main(['ops'])).toBe(0);
    } finally {
      process.stdout.write = orig;
    }
    const text = writes.join('');
    expect(text).toMatch(/Usage: iommufd-sim run/);
    expect(text).toMatch(/ioas_map {2}\[iommufd\]/);
    expect(text).toMatch(/result: PASS/);
  });
});
