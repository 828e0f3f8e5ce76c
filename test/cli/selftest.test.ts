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
    const r = spawnSync(process.execPath, [BIN, 'selftest', '--ktap', '-t', 'default\\.simple_close|change_process'], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      [
        'KTAP version 1',
        '1..4',
        'ok 1 iommufd.default.simple_close',
        'ok 2 change_process.account_none.basic # SKIP waits for IOMMU_IOAS_CHANGE_PROCESS',
        'ok 3 change_process.account_user.basic # SKIP waits for IOMMU_IOAS_CHANGE_PROCESS',
        'ok 4 change_process.account_mm.basic # SKIP waits for IOMMU_IOAS_CHANGE_PROCESS',
        '# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:3 error:0',
        '',
      ].join('\n'),
    );
  });
});
