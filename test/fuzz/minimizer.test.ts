// SPDX-License-Identifier: GPL-2.0-only
// The minimizer shrinks a planted failing program to its essential calls and
// simplest arguments, keeping the failure signature; `minimize` writes the
// reproducer and its C export.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { minimizeCommand } from '../../src/cli/minimize.js';
import { minimizeProgram, signatureOf } from '../../src/fuzz/minimizer.js';
import { type Program, formatProgram, parseProgram, validateProgram } from '../../src/fuzz/program.js';
import { fuzzRunOptions, runGuarded } from '../../src/fuzz/signal.js';

/** The uptr overflow (v6.2) buried in unrelated calls and odd arguments. */
const PLANTED: Program = {
  profile: 'v6.2',
  memlock: 'unlimited',
  seed: 77,
  calls: [
    { op: 'mmap', as: '$a', length: '2M', thp: true },
    { op: 'open', as: '$fd' },
    { op: 'ioas_alloc', as: '$x' },
    { op: 'ioas_alloc', as: '$ioas' },
    { op: 'write_memory', addr: '$a+0x1000', fill: 7, length: 4096 },
    { op: 'ioas_map', as: '$m', ioas: '$x', user_va: '$a', length: '2M' },
    { op: 'set_temp_memory_limit', limit: 4096 },
    { op: 'create_access', as: '$acc', ioas: '$x', flags: ['NEEDS_PIN_PAGES'] },
    { op: 'access_pages', access: '$acc', iova: '$m+0x3000', length: 8192, flags: ['WRITE'] },
    { op: 'mock_domain', as: '$dev', pt: '$ioas' },
    { op: 'fail_nth', nth: 50 },
    { op: 'ioas_iova_ranges', ioas: '$ioas' },
    { op: 'ioas_map', ioas: '$ioas', user_va: '0xfffffffffffff000', length: '0x3000', flags: ['READABLE', 'WRITEABLE'] },
    { op: 'madvise', addr: '$a', length: '2M', advice: 'DONTNEED' },
    { op: 'destroy', id: '$x' },
  ],
};

/** Run `fn` with standard error captured (the command's messages are checked, not printed). */
async function capturingStderr<T>(fn: () => Promise<T>): Promise<{ result: T; stderr: string }> {
  const chunks: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => {
    chunks.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  try {
    return { result: await fn(), stderr: chunks.join('') };
  } finally {
    process.stderr.write = orig;
  }
}

describe('minimizer', () => {
  it('shrinks a planted failing program to its essential calls, same signature', () => {
    const sig = signatureOf(PLANTED);
    expect(sig).toBe('WARN pfn_reader_user_pin.zero');
    const m = minimizeProgram(PLANTED);
    expect(m.signature).toBe(sig);
    expect(signatureOf(m.program)).toBe(sig);
    expect(validateProgram(m.program)).toEqual([]);
    expect(m.program.calls.map((c) => c.op)).toEqual(['open', 'ioas_alloc', 'mock_domain', 'ioas_map']);
    const map = m.program.calls[3];
    // optional flags dropped, the length down to a page or less
    expect(map.flags).toBeUndefined();
    expect(Number(map.length)).toBeLessThanOrEqual(4096);
    // settings that do not matter are gone
    expect(m.program.memlock).toBeUndefined();
    expect(m.program.seed).toBeUndefined();
    expect(m.callsBefore).toBe(15);
    expect(m.callsAfter).toBe(4);
  });

  it('leaves a passing program alone', () => {
    const ok: Program = { profile: 'latest', calls: PLANTED.calls.slice(0, 6) };
    const m = minimizeProgram(ok);
    expect(m.signature).toBeUndefined();
    expect(m.program).toEqual(ok);
  });

  it('minimizes against any check, keeping the calls the kept ones depend on', () => {
    // "still interesting" = an access pins pages successfully
    const check = (p: Program): boolean => runGuarded(p, fuzzRunOptions(true)).results.some((r) => r.op === 'access_pages' && r.errno === undefined);
    const m = minimizeProgram({ ...PLANTED, profile: 'latest' }, { check });
    expect(m.program.calls.map((c) => c.op)).toEqual(['mmap', 'open', 'ioas_alloc', 'ioas_map', 'create_access', 'access_pages']);
    const ap = m.program.calls[5];
    expect(ap.iova).toBe('$m');
    expect(ap.length).toBe(1);
    expect(ap.flags).toBeUndefined();
  });

  it('respects its run budget', () => {
    const m = minimizeProgram(PLANTED, { maxRuns: 5 });
    expect(m.runs).toBeLessThanOrEqual(5);
    expect(signatureOf(m.program)).toBe('WARN pfn_reader_user_pin.zero');
  });

  it('minimize FILE writes the reproducer as JSON and C', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iommufd-min-'));
    try {
      const file = join(dir, 'planted.json');
      writeFileSync(file, formatProgram(PLANTED, 'json'));
      const out = join(dir, 'out');
      const said = await capturingStderr(() => minimizeCommand(file, { out, seconds: 30 }));
      expect(said.result).toBe(0);
      expect(said.stderr).toMatch(/^WARN pfn_reader_user_pin\.zero: 15 -> 4 call\(s\) in \d+ runs; bug\(s\): skipUptrOverflowCheck, fixed by e4395701330f \("iommufd: Check for uptr overflow"\)\nwrote .*\/fix-e4395701330f-WARN-pfn_reader_user_pin\.zero /);
      // Named by the kernel fix the failure corresponds to, then by its signature.
      const d = join(out, 'fix-e4395701330f-WARN-pfn_reader_user_pin.zero');
      const repro = parseProgram(readFileSync(join(d, 'repro.json'), 'utf8'));
      expect(repro.ok).toBe(true);
      if (repro.ok) expect(repro.program.calls.length).toBe(4);
      expect(readFileSync(join(d, 'repro.c'), 'utf8')).toContain('IOMMU_IOAS_MAP');
      expect(readFileSync(join(d, 'finding.txt'), 'utf8')).toContain('skipUptrOverflowCheck, fixed by e4395701330f ("iommufd: Check for uptr overflow")');
      const log = readFileSync(join(d, 'log.txt'), 'utf8');
      expect(log).toMatch(/^0 open = 3 \(fd=3\)\n1 ioas_alloc = 0 \(ioas_id=1\)\n/);
      expect(log).toContain('WARN pfn_reader_user_pin.zero');
      // a program that passes is not minimized
      const passing = join(dir, 'ok.json');
      writeFileSync(passing, formatProgram({ profile: 'latest', calls: [{ op: 'open' }] }, 'json'));
      const passed = await capturingStderr(() => minimizeCommand(passing, { out }));
      expect(passed.result).toBe(1);
      expect(passed.stderr).toMatch(/ok\.json: the program passes every check on latest; nothing to minimize\n$/);
      expect(existsSync(join(d, 'repro.json'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
