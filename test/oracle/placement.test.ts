// SPDX-License-Identifier: GPL-2.0-only
/**
 * The programs the oracle CI suite sends to the real kernels (scripts/oracle/ci.sh)
 * must not depend on where the guest's page allocator puts a 4 KiB page: the model
 * cannot know it, and a run that happened to agree would fail on the next boot that
 * placed a page elsewhere. Each program is run on both oracle profiles with the
 * model's two physical layouts, 'scattered' (the default: pages and 2 MiB blocks
 * taken at random, almost never adjacent) and 'linear' (the lowest free frame or
 * block: pages and THP folios faulted in a row are adjacent), and must give the
 * same answers and the same WARN sites under both.
 *
 * What neither layout produces is not covered: two folios with another faulted
 * between them are apart under both, yet a real allocator has put them side by
 * side. Programs needing a PFN break map one hugetlb page twice instead
 * (docs/oracle.md, "What the kernels showed").
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatResult, runProgram } from '../../src/fuzz/executor.js';
import { type Program, parseProgram } from '../../src/fuzz/program.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** The folders ci.sh passes to the oracle. */
const DIRS = ['examples', 'test/regressions', 'test/oracle/programs', 'test/oracle/handwritten', 'test/oracle/programs-612'];

function files(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ya?ml|json)$/.test(f)) out.push(p);
    }
  };
  for (const d of DIRS) walk(join(ROOT, d));
  return out;
}

function answers(p: Program, profile: 'latest' | 'v6.12', layout: 'linear' | 'scattered'): string {
  const r = runProgram({ ...p, phys_layout: layout }, { profile });
  const sites = [...new Set(r.warnings.map((w) => w.assertion))].sort();
  return `${r.results.map(formatResult).join('\n')}\nWARN ${sites.join(', ')}`;
}

describe('oracle CI programs do not depend on 4 KiB page placement', () => {
  const all = files();
  it('finds the suite', () => {
    expect(all.length).toBeGreaterThan(200);
  });
  it('every program answers the same under the linear and the scattered layout, on v6.12 and latest', () => {
    const sensitive: string[] = [];
    for (const f of all) {
      const r = parseProgram(readFileSync(f, 'utf8'), f);
      if (!r.ok) throw new Error(r.error);
      for (const profile of ['latest', 'v6.12'] as const) {
        if (answers(r.program, profile, 'linear') !== answers(r.program, profile, 'scattered')) sensitive.push(`${profile} ${f.slice(ROOT.length + 1)}`);
      }
    }
    expect(sensitive).toEqual([]);
  }, 120_000);
});
