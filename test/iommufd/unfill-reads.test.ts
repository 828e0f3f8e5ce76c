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
import { parseProgram } from '../../src/fuzz/program.js';

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
