// SPDX-License-Identifier: GPL-2.0-only
// `iommufd-sim selftest` through a child process: the scenarios it ran and
// those it does not run yet with the feature each waits for, as KTAP and as
// a table; the not-run list comes from docs/conformance.md, which now lists
// none (every catalogue instance runs on latest).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { notRunScenarios } from '../../src/cli/selftest.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'iommufd-sim.js');

describe('iommufd-sim selftest', () => {
  it('the conformance report leaves no scenario not run', () => {
    expect(notRunScenarios(ROOT)).toEqual([]);
  });

  it('reads the scenarios not run from a report that has some, with what each waits for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'selftest-notrun-'));
    try {
      mkdirSync(join(dir, 'docs'));
      const head = '| id | scenario | variant | scope | status | profiles passed | selftest binary, exec/kernel (6.12 · 7.2) | waits for / notes |\n|---|---|---|---|---|---|---|---|';
      writeFileSync(
        join(dir, 'docs', 'conformance.md'),
        [
          '# Conformance',
          '',
          '### `change_process`',
          '',
          head,
          '| change_process.01 | basic | account_none | post-6.5 | passed | latest | – · ok/ok |  |',
          '| change_process.01 | basic | account_mm | post-6.5 | not run |  | – · ok/ok | IOMMU_IOAS_CHANGE_PROCESS |',
          '',
          '### `iommufd_viommu`',
          '',
          head,
          '| iommufd_viommu.07 | hw_queue | no_viommu | post-6.5 | passed | latest | – · skip/skip | kernel skips (7.2): the test asserts the skip condition |',
          '| iommufd_viommu.07 | hw_queue | mock_viommu | post-6.5 | not run |  | – · ok/ok |  |',
          '',
        ].join('\n'),
      );
      expect(notRunScenarios(dir)).toEqual([
        { id: 'change_process.01', name: 'change_process.account_mm.basic', waitsFor: 'IOMMU_IOAS_CHANGE_PROCESS' },
        { id: 'iommufd_viommu.07', name: 'iommufd_viommu.mock_viommu.hw_queue', waitsFor: 'unknown' },
      ]);
      expect(notRunScenarios(join(dir, 'nowhere'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--ktap: every scenario picked runs and passes, none is a SKIP', { timeout: 180_000 }, () => {
    const r = spawnSync(process.execPath, [BIN, 'selftest', '--ktap', '-t', 'default\\.simple_close$|change_process'], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('KTAP version 1');
    const results = lines.filter((l) => /^(not )?ok \d+ /.test(l));
    expect(lines[1]).toBe(`1..${results.length}`);
    for (const [i, l] of results.entries()) expect(l).toMatch(new RegExp(`^ok ${i + 1} `));
    expect(results.some((l) => /^ok \d+ (.* › )?iommufd\.default\.simple_close$/.test(l))).toBe(true);
    // change_process runs now (IOMMU_IOAS_CHANGE_PROCESS exists): each variant is a plain ok.
    for (const v of ['account_none', 'account_user', 'account_mm']) {
      expect(results.filter((l) => new RegExp(`^ok \\d+ (.* › )?change_process\\.${v}\\.basic$`).test(l)).length).toBeGreaterThanOrEqual(1);
    }
    expect(results.filter((l) => l.includes(' # SKIP'))).toEqual([]);
    expect(lines[lines.length - 1]).toBe(`# Totals: pass:${results.length} fail:0 xfail:0 xpass:0 skip:0 error:0`);
  });

  it('the table says no catalogue scenario is left not run', { timeout: 180_000 }, () => {
    const r = spawnSync(process.execPath, [BIN, 'selftest', '-t', 'change_process\\.account_mm\\.basic$'], { cwd: ROOT, encoding: 'utf8', timeout: 170_000, env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('not run yet');
    const last = r.stdout.trimEnd().split('\n').at(-1);
    expect(last).toMatch(/^[1-9]\d* passed, 0 failed, no catalogue scenario left not run$/);
  });
});
