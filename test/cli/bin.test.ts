// SPDX-License-Identifier: GPL-2.0-only
// bin/iommufd-sim.js starts from the compiled dist/ only when it is current:
// every src/**/*.ts has a dist/**/*.js at least as new. A stale or partial
// dist/ never runs older code than src/ in a checkout; an installed package
// (no src/) always runs dist/.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'iommufd-sim-bin-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A package with a copy of the real bin/, tsx reachable, and a src/ and dist/ that say which ran. */
function fakePackage(name: string): string {
  const d = join(tmp, name);
  mkdirSync(join(d, 'src', 'cli'), { recursive: true });
  mkdirSync(join(d, 'dist', 'cli'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(d, 'bin'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(d, 'node_modules'));
  writeFileSync(join(d, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(d, 'src', 'cli', 'main.ts'), "export async function main(argv: string[]): Promise<number> {\n  process.stdout.write(['src', ...argv].join(' ') + '\\n');\n  return 0;\n}\n");
  writeFileSync(join(d, 'src', 'other.ts'), 'export const x: number = 1;\n');
  writeFileSync(join(d, 'dist', 'cli', 'main.js'), "export async function main(argv) {\n  process.stdout.write(['dist', ...argv].join(' ') + '\\n');\n  return 0;\n}\n");
  writeFileSync(join(d, 'dist', 'other.js'), 'export const x = 1;\n');
  // Sources an hour old, compiled half an hour ago (explicit times: file systems keep finer ones than Date).
  const old = new Date(Date.now() - 3600_000);
  const built = new Date(Date.now() - 1800_000);
  for (const f of ['src/cli/main.ts', 'src/other.ts']) utimesSync(join(d, f), old, old);
  for (const f of ['dist/cli/main.js', 'dist/other.js']) utimesSync(join(d, f), built, built);
  return d;
}

function start(pkg: string, env: Record<string, string> = {}): { stdout: string; stderr: string; status: number | null } {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('IOMMUFD_SIM_DIST' in env)) delete e.IOMMUFD_SIM_DIST;
  const r = spawnSync(process.execPath, [join(pkg, 'bin', 'iommufd-sim.js'), 'a', 'b'], { encoding: 'utf8', env: e, timeout: 60_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('bin/iommufd-sim.js', () => {
  it('runs dist/ when every source has a compiled file at least as new', () => {
    const p = fakePackage('current');
    expect(start(p)).toEqual({ stdout: 'dist a b\n', stderr: '', status: 0 });
    expect(start(p, { IOMMUFD_SIM_DIST: '0' }).stdout).toBe('src a b\n');
  });

  it('runs src/ when a source is newer than its compiled file, or has none', () => {
    const edited = fakePackage('edited');
    utimesSync(join(edited, 'src', 'other.ts'), new Date(), new Date());
    expect(start(edited)).toEqual({ stdout: 'src a b\n', stderr: '', status: 0 });
    expect(start(edited, { IOMMUFD_SIM_DIST: '1' }).stdout).toBe('dist a b\n');
    const added = fakePackage('added');
    const old = new Date(Date.now() - 3600_000);
    writeFileSync(join(added, 'src', 'new.ts'), 'export const y = 2;\n');
    utimesSync(join(added, 'src', 'new.ts'), old, old);
    expect(start(added).stdout).toBe('src a b\n');
  });

  it('runs dist/ in an installed package (no src/)', () => {
    const p = fakePackage('installed');
    rmSync(join(p, 'src'), { recursive: true });
    expect(start(p)).toEqual({ stdout: 'dist a b\n', stderr: '', status: 0 });
  });
});
