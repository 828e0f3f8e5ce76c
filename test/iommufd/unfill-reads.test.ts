// SPDX-License-Identifier: GPL-2.0-only
/**
 * batch_from_domain() reads one IOVA at a time and stops at the first PFN the
 * batch refuses: the model reads ahead in chunks only as far as the batch is
 * sure to take. What shows it: an iova_to_phys of an unmapped IOVA WARNs on
 * 6.12's xarray mock, and 6.12.95 printed that WARN once for
 * test/regressions/v6.12-unfill-continue-reads-one-unmapped-page.yaml (the
 * continue read after the carry), where chunked reads would print 16.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../../src/fuzz/executor.js';
import { type Call, type Program, parseProgram } from '../../src/fuzz/program.js';

const FILE = join(import.meta.dirname, '..', 'regressions', 'v6.12-unfill-continue-reads-one-unmapped-page.yaml');

describe('unfill reads from the domain as the kernel does', () => {
  const r = parseProgram(readFileSync(FILE, 'utf8'), FILE);
  if (!r.ok) throw new Error(r.error);
  const program = r.program;

  it('v6.12: one iova_to_phys past the unmapped run, one WARN (as 6.12.95 printed), pins and accounting back to 0', () => {
    const run = runProgram(program, { audit: true, profile: 'v6.12' });
    expect(run.failed, run.reasons?.join('\n')).toBe(false);
    expect(run.warnings.map((w) => [w.assertion, w.message])).toEqual([['mock_domain_iova_to_phys.missing', 'iova 0x11d9000 not mapped']]);
    expect(run.auditProblems).toBe(0);
    expect(run.leaks).toEqual([]);
  });

  it('latest: the generic page table reads the hole as 0 without a WARN', () => {
    const run = runProgram(program, { audit: true, profile: 'latest' });
    expect(run.failed, run.reasons?.join('\n')).toBe(false);
    expect(run.warnings).toEqual([]);
  });
});

/**
 * The same continue read after a carry over a pinned range
 * (test/regressions/v6.12-unfill-continue-reads-past-a-long-run.yaml). The
 * fuzzer found it with small pages, which a fresh VM hands out at ascending
 * PFNs (phys_layout: linear here). The first hole's read runs on to the area's
 * last page and unmaps it all. The second hole is covered by the carry, yet
 * still reads past its end: iopt_area_unpin_domain() tests only the hole's last
 * index against the area's. 6.12.95 WARNs exactly when the run reaches past the
 * second hole, and so does the model.
 */
describe('unfill: a carry over a long PFN run (iopt_area_unpin_domain)', () => {
  const file = join(import.meta.dirname, '..', 'regressions', 'v6.12-unfill-continue-reads-past-a-long-run.yaml');
  const r = parseProgram(readFileSync(file, 'utf8'), file);
  if (!r.ok) throw new Error(r.error);
  const thp = r.program;
  if (thp.calls[0]?.op !== 'mmap' || thp.calls[0].thp !== true) throw new Error('the program starts with a MADV_HUGEPAGE mmap');
  /** The fuzzer's program: small pages, placed as the fresh VM placed them. */
  const small: Program = { ...thp, phys_layout: 'linear', calls: [{ ...thp.calls[0], thp: false }, ...thp.calls.slice(1)] };
  const touch = (offset: string): Call => ({ op: 'write_memory', addr: `$r0+${offset}`, data: '01', expect: 'ok' });
  /** The small-page program with `extra` written before the map (so that page gets an earlier PFN), no WARN expected. */
  const variant = (change: Partial<Program>, extra?: Call): Program => {
    const calls = [...small.calls];
    if (extra) calls.splice(2, 0, extra);
    const { expectWarning: _, ...rest } = small;
    return { ...rest, calls, ...change };
  };
  const warns = (p: Program) => {
    const run = runProgram(p, { audit: true, profile: 'v6.12' });
    expect(run.failed, run.reasons?.join('\n')).toBe(false);
    expect(run.auditProblems).toBe(0);
    expect(run.leaks).toEqual([]);
    return run.warnings.map((w) => [w.assertion, w.message]);
  };
  const once = [['mock_domain_iova_to_phys.missing', 'iova 0x13fe000 not mapped']];

  it('v6.12: the run reaches the last page: one read of the unmapped last page, one WARN (as 6.12.95), with a THP folio or small pages', () => {
    expect(warns(thp)).toEqual(once);
    expect(warns(small)).toEqual(once);
  });

  it('a page faulted early inside the first hole (index 0x100) leaves the run to the end: still the WARN (as 6.12.95)', () => {
    expect(warns(variant({ expectWarning: { 'v6.12': 'mock_domain_iova_to_phys.missing' } }, touch('0x101000')))).toEqual(once);
  });

  it('a run cut inside the second hole (index 0x300 or 0x3fd) is still mapped where the read lands: no WARN (as 6.12.95)', () => {
    expect(warns(variant({}, touch('0x301000')))).toEqual([]);
    expect(warns(variant({}, touch('0x3fe000')))).toEqual([]);
  });

  it('without the pin in the middle there is one hole, and its continue read is still mapped: no WARN (as 6.12.95)', () => {
    const p = variant({});
    p.calls = p.calls.filter((c) => !(c.op === 'access_pages' && c.iova === '$r4+0x202000'));
    expect(p.calls.length).toBe(small.calls.length - 1);
    expect(warns(p)).toEqual([]);
  });

  it('small pages under the scattered layout are seldom neighbours, so the first hole unmaps only its own pages: no WARN', () => {
    expect(warns(variant({ phys_layout: 'scattered' }))).toEqual([]);
  });

  it('latest: the same read, and the generic page table answers 0 with no WARN (as 7.2.13)', () => {
    for (const p of [thp, small]) {
      const run = runProgram(p, { audit: true, profile: 'latest' });
      expect(run.failed, run.reasons?.join('\n')).toBe(false);
      expect(run.warnings).toEqual([]);
    }
  });
});
