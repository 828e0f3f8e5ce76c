// SPDX-License-Identifier: GPL-2.0-only
// Differential mode (`fuzz --kernel BZIMAGE`): the corpus goes to the oracle
// harness and every program the kernel answers differently becomes a finding
// in the work directory. The harness is replaced by a stand-in here (CI has
// no QEMU run per test); the real run is in the session's report.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { differential, durationArg, fuzzCommand, sampleIndexes } from '../../src/cli/fuzz.js';
import type { Program } from '../../src/fuzz/program.js';
import type { OracleOptions, OracleResult, OracleSummary } from '../../src/oracle/index.js';
import { KNOWN_KERNEL_FINDINGS } from './mutants.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'iommufd-sim-diff-'));
  dirs.push(d);
  return d;
}

/** What `fn` writes to standard output, kept from the terminal, with its value. */
async function captured<T>(fn: () => Promise<T>): Promise<{ value: T; writes: string[] }> {
  const writes: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    writes.push(String(s));
    return true;
  });
  try {
    return { value: await fn(), writes };
  } finally {
    spy.mockRestore();
  }
}

const PROGRAMS: Program[] = [
  { profile: 'latest', calls: [{ op: 'open', as: '$fd' }, { op: 'ioas_alloc', as: '$ioas' }] },
  { profile: 'latest', calls: [{ op: 'open', as: '$fd' }, { op: 'ioas_alloc', as: '$ioas' }, { op: 'destroy', id: '$ioas' }] },
];

function summary(o: OracleOptions, diverged: number): OracleSummary {
  return {
    kernel: o.kernel,
    release: '7.2.13',
    profile: o.profile ?? 'latest',
    programs: o.programs.length,
    calls: 0,
    compared: 0,
    agree: o.programs.length - diverged,
    explained: 0,
    diverged,
    skipped: 0,
    errors: 0,
    byClass: {},
    stale: [],
    seconds: { model: 0, build: 0, vm: 0, boots: 1 },
    vmProgramsPerSecond: 0,
    ok: diverged === 0,
  };
}

/** A kernel that answers the last program's last call with EINVAL where the model said ok. */
async function fakeKernel(o: OracleOptions, seen: OracleOptions[]): Promise<OracleResult> {
  seen.push(o);
  const last = o.programs.length - 1;
  return {
    reports: o.programs.map((p, i) =>
      i === last
        ? {
            name: p.name,
            status: 'diverged' as const,
            calls: p.program.calls.length,
            compared: p.program.calls.length,
            divergences: [{ program: p.name, call: p.program.calls.length - 1, op: p.program.calls.at(-1)!.op, class: 'errno' as const, model: 'ok', kernel: 'EINVAL' }],
            modelWarnings: [],
            kernelWarnings: [],
          }
        : { name: p.name, status: 'agree' as const, calls: p.program.calls.length, compared: p.program.calls.length, divergences: [], modelWarnings: [], kernelWarnings: [] },
    ),
    summary: summary(o, 1),
  };
}

/** A kernel on which the first program diverges only when it shares a boot with others (a batch artifact). */
async function batchOnlyKernel(o: OracleOptions, seen: OracleOptions[]): Promise<OracleResult> {
  seen.push(o);
  const inBatch = o.programs.length > 1;
  return {
    reports: o.programs.map((p, i) =>
      inBatch && i === 0
        ? {
            name: p.name,
            status: 'diverged' as const,
            calls: p.program.calls.length,
            compared: p.program.calls.length,
            divergences: [{ program: p.name, call: 1, op: p.program.calls[1].op, class: 'errno' as const, model: 'EFAULT', kernel: 'ok' }],
            modelWarnings: [],
            kernelWarnings: [],
          }
        : { name: p.name, status: 'agree' as const, calls: p.program.calls.length, compared: p.program.calls.length, divergences: [], modelWarnings: [], kernelWarnings: [] },
    ),
    summary: summary(o, inBatch ? 1 : 0),
  };
}

describe('differential mode', () => {
  it('runs a program that diverged in its batch again alone, and reports it only if it diverges there too', async () => {
    const out = tmp();
    const seen: OracleOptions[] = [];
    const d = await differential(PROGRAMS, { kernel: '/nonexistent/bzImage', outDir: out, batch: 100, run: (o) => batchOnlyKernel(o, seen) });
    expect(seen.map((o) => [o.batch, o.programs.map((p) => p.name)])).toEqual([
      [100, ['corpus-0000', 'corpus-0001']],
      [1, ['corpus-0000']],
    ]);
    expect(d.diverged).toEqual([]);
    expect(d.batchOnly).toEqual(['corpus-0000']);
    expect(readdirSync(out)).toEqual([]);
    // a rerun that never answers (the VM failed) leaves the batch's divergence a finding
    const failing: OracleOptions[] = [];
    const out2 = tmp();
    const d2 = await differential(PROGRAMS, {
      kernel: '/nonexistent/bzImage',
      outDir: out2,
      batch: 100,
      run: async (o) => {
        const r = await batchOnlyKernel(o, failing);
        return o.batch === 1 ? { ...r, reports: r.reports.map((x) => ({ ...x, status: 'error' as const })) } : r;
      },
    });
    expect(failing).toHaveLength(2);
    expect(d2.batchOnly).toEqual([]);
    expect(d2.diverged.map((x) => [x.report.name, x.report.divergences[0].model, x.report.divergences[0].kernel])).toEqual([['corpus-0000', 'EFAULT', 'ok']]);
    // with batches of one there is nothing to run again
    const once: OracleOptions[] = [];
    const d1 = await differential(PROGRAMS, { kernel: '/nonexistent/bzImage', outDir: out, batch: 1, run: (o) => fakeKernel(o, once) });
    expect(once).toHaveLength(1);
    expect(d1.diverged).toHaveLength(1);
  });

  it('follows a program that did not finish in the VM like a divergence: a finding when it fails alone too, a batch artifact when it then agrees', async () => {
    // the last program stops the VM in its batch; alone it stops it again, or (second kernel) runs fine
    const stops = (alone: boolean) => async (o: OracleOptions): Promise<OracleResult> => {
      const r = await fakeKernel(o, []);
      const fail = o.batch !== 1 || !alone;
      return {
        ...r,
        reports: r.reports.map((x, i) =>
          i === o.programs.length - 1 && fail
            ? { ...x, status: 'error' as const, compared: 0, note: 'the VM stopped while the program ran', divergences: [{ program: x.name, class: 'missing' as const, model: 'a run', kernel: 'the VM stopped while the program ran' }] }
            : { ...x, status: 'agree' as const, divergences: [] },
        ),
      };
    };
    const out = tmp();
    const d = await differential(PROGRAMS, { kernel: '/nonexistent/bzImage', outDir: out, batch: 100, run: stops(false) });
    expect(d.batchOnly).toEqual([]);
    expect(d.diverged.map((x) => [x.report.name, x.report.status])).toEqual([['corpus-0001', 'error']]);
    const text = readFileSync(join(d.diverged[0].dir, 'finding.txt'), 'utf8');
    expect(text).toContain('signature: KERNEL missing program');
    expect(text).toContain('note: the VM stopped while the program ran');
    const d2 = await differential(PROGRAMS, { kernel: '/nonexistent/bzImage', outDir: tmp(), batch: 100, run: stops(true) });
    expect(d2.diverged).toEqual([]);
    expect(d2.batchOnly).toEqual(['corpus-0001']);
  });

  it('sends every program in C to the harness and writes each divergent one as a finding', async () => {
    const out = tmp();
    const seen: OracleOptions[] = [];
    const d = await differential(PROGRAMS, { kernel: '/nonexistent/bzImage', outDir: out, profile: 'v6.12', batch: 7, run: (o) => fakeKernel(o, seen) });
    // the batch, then the diverged program alone (where it diverges again)
    expect(seen).toHaveLength(2);
    expect(seen[0].batch).toBe(7);
    expect(seen[1].batch).toBe(1);
    expect(seen[1].programs.map((p) => p.name)).toEqual(['corpus-0001']);
    expect(d.batchOnly).toEqual([]);
    expect(seen[0].profile).toBe('v6.12');
    expect(seen[0].programs.map((p) => p.program.profile)).toEqual(['v6.12', 'v6.12']);
    expect(d.unexportable).toBe(0);
    expect(d.diverged).toHaveLength(1);
    const dir = d.diverged[0].dir;
    expect(dir.startsWith(out)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['finding.txt', 'repro.c', 'repro.json']);
    const text = readFileSync(join(dir, 'finding.txt'), 'utf8');
    expect(text).toContain('signature: KERNEL errno destroy');
    expect(text).toContain('2 destroy errno: ok | EINVAL');
    expect(JSON.parse(readFileSync(join(dir, 'repro.json'), 'utf8')).calls).toHaveLength(3);
    expect(readFileSync(join(dir, 'repro.c'), 'utf8')).toContain('int main');
  });

  it('fuzz --kernel runs the campaign, then the corpus on the kernel, and exits 1 on a divergence', async () => {
    const out = tmp();
    const seen: OracleOptions[] = [];
    // the command checks the image exists before the campaign; the stand-in kernel never reads it
    const kernel = join(tmp(), 'bzImage');
    writeFileSync(kernel, '');
    const first = await captured(() => fuzzCommand({ ignore: [...KNOWN_KERNEL_FINDINGS], duration: '2s', workers: 1, quiet: true, out, kernel, runOracle: (o) => fakeKernel(o, seen) }));
    expect(seen).toHaveLength(2);
    expect(seen[0].programs.length).toBeGreaterThan(0);
    expect(seen[1].programs).toHaveLength(1);
    expect(first.value).toBe(1);
    const line = first.writes.find((w) => w.startsWith('kernel 7.2.13'));
    expect(line).toMatch(/1 diverged/);
    const found = readdirSync(out).filter((n) => n.startsWith('KERNEL-'));
    expect(found).toHaveLength(1);
    expect(existsSync(join(out, found[0], 'repro.c'))).toBe(true);
    // a divergence only in its batch: named as such on the summary line, no finding, exit 0
    const out2 = tmp();
    const second = await captured(() => fuzzCommand({ ignore: [...KNOWN_KERNEL_FINDINGS], duration: '2s', workers: 1, quiet: true, out: out2, kernel, runOracle: (o) => batchOnlyKernel(o, []) }));
    expect(second.value).toBe(0);
    expect(second.writes.find((w) => w.startsWith('kernel 7.2.13'))).toMatch(/1 diverged, 0 skipped, 0 errors; 1 of the diverged or unfinished agreed when run alone: corpus-0000\n$/);
    expect(readdirSync(out2).filter((n) => n.startsWith('KERNEL-'))).toEqual([]);
    // --json: one document, the kernel's report inside the campaign's
    const third = await captured(() => fuzzCommand({ ignore: [...KNOWN_KERNEL_FINDINGS], duration: '2s', workers: 1, quiet: true, json: true, out: tmp(), kernel, runOracle: (o) => fakeKernel(o, []) }));
    expect(third.value).toBe(1);
    const doc = JSON.parse(third.writes.join(''));
    expect(doc.programs).toBeGreaterThan(0);
    expect(doc.kernel).toMatchObject({ release: '7.2.13', profile: 'latest', diverged: 1, errors: 0 });
    expect(doc.kernel.agree + doc.kernel.explained + doc.kernel.diverged + doc.kernel.skipped).toBe(doc.kernel.programs);
    expect(doc.kernel.findings).toHaveLength(1);
    expect(doc.kernel.findings[0].signature).toMatch(/^KERNEL /);
    // a kernel run that fails still leaves the campaign's document on standard output
    const writes: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((x: string | Uint8Array) => {
      writes.push(String(x));
      return true;
    });
    try {
      await expect(fuzzCommand({ ignore: [...KNOWN_KERNEL_FINDINGS], duration: '2s', workers: 1, quiet: true, json: true, out: tmp(), kernel, runOracle: () => Promise.reject(new Error('qemu went away')) })).rejects.toThrow('qemu went away');
    } finally {
      spy.mockRestore();
    }
    const alone = JSON.parse(writes.join(''));
    expect(alone.programs).toBeGreaterThan(0);
    expect(alone.kernel).toBeUndefined();
  }, 120_000);

  it('--kernel-sample sends a seeded sample of the corpus, each program under its corpus index, and says so', async () => {
    // the sample: n distinct indexes in rising order, the same for the same seed, all of them when n covers the corpus
    const a = sampleIndexes(1000, 50, 7);
    expect(a).toHaveLength(50);
    expect(new Set(a).size).toBe(50);
    expect(a.every((x, k) => x >= 0 && x < 1000 && (k === 0 || a[k - 1] < x))).toBe(true);
    expect(sampleIndexes(1000, 50, 7)).toEqual(a);
    expect(sampleIndexes(1000, 50, 8)).not.toEqual(a);
    expect(sampleIndexes(3, 5, 7)).toEqual([0, 1, 2]);
    // every index is drawn about equally often (a shuffle biased to the front or back would not be)
    const hits = new Array(10).fill(0);
    for (let seed = 0; seed < 2000; seed++) for (const i of sampleIndexes(10, 3, seed)) hits[i]++;
    for (const h of hits) expect(Math.abs(h - 600)).toBeLessThan(90);

    const five: Program[] = [...PROGRAMS, ...PROGRAMS, PROGRAMS[0]];
    const seen: OracleOptions[] = [];
    const d = await differential(five, { kernel: '/nonexistent/bzImage', outDir: tmp(), batch: 100, sample: 2, seed: 7, run: (o) => batchOnlyKernel(o, seen) });
    const want = sampleIndexes(5, 2, 7).map((i) => `corpus-${String(i).padStart(4, '0')}`);
    expect(seen[0].programs.map((p) => p.name)).toEqual(want);
    expect(d.sampledFrom).toBe(5);
    // a sample as large as the corpus is the whole corpus: nothing to say
    const all = await differential(five, { kernel: '/nonexistent/bzImage', outDir: tmp(), batch: 100, sample: 5, run: (o) => batchOnlyKernel(o, []) });
    expect(all.sampledFrom).toBeUndefined();
    expect(all.summary.programs).toBe(5);

    // the command: the summary line names the sample; a sample of 0 is a usage error
    const kernel = join(tmp(), 'bzImage');
    writeFileSync(kernel, '');
    const runs: OracleOptions[] = [];
    const agreeing = async (o: OracleOptions): Promise<OracleResult> => {
      runs.push(o);
      return {
        reports: o.programs.map((p) => ({ name: p.name, status: 'agree' as const, calls: p.program.calls.length, compared: p.program.calls.length, divergences: [], modelWarnings: [], kernelWarnings: [] })),
        summary: summary(o, 0),
      };
    };
    // (the kernel's own findings the model reproduces are not this test's: KNOWN_KERNEL_FINDINGS)
    const { value, writes } = await captured(() => fuzzCommand({ duration: '2s', workers: 1, quiet: true, out: tmp(), kernel, kernelSample: 3, runOracle: agreeing, ignore: [...KNOWN_KERNEL_FINDINGS] }));
    expect(value).toBe(0);
    expect(runs[0].programs).toHaveLength(3);
    expect(writes.find((w) => w.startsWith('kernel 7.2.13'))).toMatch(/^kernel 7\.2\.13 \(profile latest\): 3 corpus programs \(a sample of the \d+\) in 1 boot/);
    // (refused before any fuzzing: no oracle run)
    runs.length = 0;
    await expect(fuzzCommand({ ignore: [...KNOWN_KERNEL_FINDINGS], duration: '1s', workers: 1, quiet: true, out: tmp(), kernel, kernelSample: 0, runOracle: agreeing })).rejects.toThrow(/--kernel-sample/);
    expect(runs).toEqual([]);
  }, 60_000);

  it('--duration takes seconds, minutes and hours', () => {
    expect(durationArg('90')).toBe(90);
    expect(durationArg('90s')).toBe(90);
    expect(durationArg('30m')).toBe(1800);
    expect(durationArg('1.5h')).toBe(5400);
    for (const bad of ['0', '-1m', '10x', '', 'm']) expect(() => durationArg(bad)).toThrow(/--duration/);
  });
});
