// SPDX-License-Identifier: GPL-2.0-only
/**
 * The oracle beside the model: programs per second inside the VM (boot
 * excluded; one boot for all) and the model's programs per second on the same
 * programs (examples/ and test/regressions/, plus generated ones). Needs the
 * kernels in ../shared/oracle and ../shared/oracle-7.2 (or ORACLE_KERNELS="path/bzImage ..."); without
 * them the suite reports one row saying so. `--quick`: only the 6.12 kernel and
 * fewer generated programs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Prng } from '../../src/base/prng.js';
import { runModel } from '../../src/fuzz/export-c.js';
import { generateProgram } from '../../src/fuzz/generator.js';
import { loadPrograms, type OracleProgram, profileForRelease, runOracle } from '../../src/oracle/index.js';
import { bzImageRelease } from '../../src/oracle/initramfs.js';
import { readFileSync } from 'node:fs';
import type { BenchResult, SuiteOptions } from '../run.js';

const ROOT = join(import.meta.dirname, '..', '..');

function kernels(quick: boolean): string[] {
  const env = process.env.ORACLE_KERNELS?.split(/\s+/).filter(Boolean);
  const found = env ?? ['oracle', 'oracle-7.2'].map((d) => join(ROOT, '..', 'shared', d, 'bzImage')).filter((k) => existsSync(k));
  return quick ? found.slice(0, 1) : found;
}

export async function run(opts: SuiteOptions): Promise<BenchResult[]> {
  const ks = kernels(opts.quick);
  if (ks.length === 0) return [{ name: 'no oracle kernel (../shared/oracle/bzImage, ../shared/oracle-7.2/bzImage or ORACLE_KERNELS)', programs: 0 }];
  const base = loadPrograms([join(ROOT, 'examples'), join(ROOT, 'test', 'regressions')], ROOT).programs;
  const out: BenchResult[] = [];
  for (const k of ks) {
    const release = bzImageRelease(readFileSync(k)) ?? '?';
    const profile = profileForRelease(release) ?? 'latest';
    const generated: OracleProgram[] = [];
    for (let s = 1; s <= (opts.quick ? 30 : 150); s++) generated.push({ name: `gen-${s}`, program: generateProgram(new Prng(s), { profile }) });
    const programs = [...base, ...generated];
    const t0 = performance.now();
    for (const p of programs) runModel(p.program, profile);
    const modelSecs = (performance.now() - t0) / 1000;
    const res = await runOracle({ programs, kernel: k });
    const s = res.summary;
    out.push({
      name: `Linux ${release} vs ${profile}`,
      programs: programs.length,
      calls: s.calls,
      'vm prog/s': s.vmProgramsPerSecond,
      'model prog/s': programs.length / modelSecs,
      'vm s': s.seconds.vm,
      'build s': s.seconds.build,
      unexplained: s.diverged,
    });
  }
  return out;
}
