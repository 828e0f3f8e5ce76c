// SPDX-License-Identifier: GPL-2.0-only
// `iommufd-sim selftest` through a child process: the scenarios it ran and
// those it does not run yet with the feature each waits for, as KTAP and as
// JSON; the not-run list comes from docs/conformance.md.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { notRunScenarios } from '../../src/cli/selftest.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'iommufd-sim.js');

describe('iommufd-sim selftest', () => {
  it('reads the scenarios not run, with what each waits for', () => {
    const n = notRunScenarios(ROOT);
    expect(n.length).toBeGreaterThan(0);
    expect(n).toContainEqual({ id: 'change_process.01', name: 'change_process.account_mm.basic', waitsFor: 'IOMMU_IOAS_CHANGE_PROCESS' });
    for (const x of n) expect(x.waitsFor).not.toBe('');
  });

  it('--ktap: passed scenarios as ok, the ones not run as SKIP with the feature they wait for', { timeout: 180_000 }, () => {
    const r = spawnSync(process.execPath, [BIN, 'selftest', '--ktap', '-t', 'default\\.simple_close$|change_process'], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('KTAP version 1');
    const results = lines.filter((l) => /^(not )?ok \d+ /.test(l));
    expect(lines[1]).toBe(`1..${results.length}`);
    for (const [i, l] of results.entries()) expect(l).toMatch(new RegExp(`^ok ${i + 1} `));
    // simple_close runs (once per profile block it is in); change_process runs or waits for its uAPI.
    expect(results.some((l) => /^ok \d+ (.* › )?iommufd\.default\.simple_close$/.test(l))).toBe(true);
    for (const v of ['account_none', 'account_user', 'account_mm']) {
      expect(results.filter((l) => new RegExp(`^ok \\d+ (.* › )?change_process\\.${v}\\.basic( # SKIP waits for IOMMU_IOAS_CHANGE_PROCESS)?$`).test(l)).length).toBeGreaterThanOrEqual(1);
    }
    const skips = results.filter((l) => l.includes(' # SKIP')).length;
    expect(lines[lines.length - 1]).toBe(`# Totals: pass:${results.length - skips} fail:0 xfail:0 xpass:0 skip:${skips} error:0`);
  });
});
