// SPDX-License-Identifier: GPL-2.0-only
// The 6.12 op modules (HWPTs, dirty tracking, nesting, fault queues): the
// programs of test/oracle/programs-612 (answers checked on Linux 6.12.95 and
// 7.2.13) on both profiles, their C export compiling, profile gating in
// validation-free execution and in generation.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Prng } from '../../src/base/prng.js';
import { profileByName } from '../../src/base/profile.js';
import { runProgram } from '../../src/fuzz/executor.js';
import { exportC } from '../../src/fuzz/export-c.js';
import { generateProgram, opTable, regenerateField } from '../../src/fuzz/generator.js';
import { opModule } from '../../src/fuzz/ops/index.js';
import { type Program, parseProgram } from '../../src/fuzz/program.js';

const DIR = join(import.meta.dirname, '..', 'oracle', 'programs-612');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const tmp = mkdtempSync(join(tmpdir(), 'iommufd-sim-ops612-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function load(f: string): Program {
  const r = parseProgram(readFileSync(join(DIR, f), 'utf8'), f);
  if (!r.ok) throw new Error(r.error);
  return r.program;
}

const NEW_OPS = [
  'hwpt_alloc',
  'get_hw_info',
  'hwpt_set_dirty_tracking',
  'hwpt_get_dirty_bitmap',
  'hwpt_invalidate',
  'fault_queue_alloc',
  'read_fault',
  'write_response',
  'poll',
  'dirty',
  'md_check_iotlb',
  'trigger_iopf',
];

/** The 7.x ops the model builds (answers checked on 7.2.13; ENOTTY / EOPNOTSUPP on 6.12.95). */
const V7_OPS = [
  'viommu_alloc',
  'vdevice_alloc',
  'ioas_map_file',
  'ioas_change_process',
  'veventq_alloc',
  'hw_queue_alloc',
  'trigger_vevent',
  'pasid_attach',
  'pasid_replace',
  'pasid_detach',
  'pasid_check_hwpt',
  'dmabuf_get',
  'dmabuf_revoke',
];

describe('6.12 ops: the oracle programs', () => {
  it('use every new op', () => {
    const used = new Set(files.flatMap((f) => load(f).calls.map((c) => c.op)));
    for (const op of [...NEW_OPS, ...V7_OPS]) expect(used.has(op), op).toBe(true);
  });
  for (const f of files) {
    for (const profile of ['v6.12', 'latest'] as const) {
      it(`${f} on ${profile}: every answer as written, audit clean, nothing leaked`, () => {
        const r = runProgram(load(f), { profile, audit: true, panicOnWarn: true });
        expect(r.reasons).toEqual([]);
        expect(r.failed).toBe(false);
        expect(r.auditProblems).toBe(0);
        expect(r.leaks).toEqual([]);
      });
    }
    it(`${f}: the C export compiles with -Wall -Werror`, () => {
      const file = join(tmp, `${f.replace(/\W/g, '_')}.c`);
      writeFileSync(file, exportC(load(f), { profile: 'v6.12', source: f }));
      const g = spawnSync('gcc', ['-fsyntax-only', '-Wall', '-Werror', file], { encoding: 'utf8' });
      expect(`${g.stdout}${g.stderr}`).toBe('');
      expect(g.status).toBe(0);
    });
  }
});

describe('6.12 ops: exact answers', () => {
  const base = (calls: Program['calls']): Program => ({
    memlock: 'unlimited',
    calls: [{ op: 'open', as: '$fd' }, { op: 'ioas_alloc', as: '$ioas' }, { op: 'mock_domain', as: '$dev', pt: '$ioas' }, ...calls],
  });
  it('hwpt_alloc binds the HWPT ID; a nested HWPT on a non-parent is EINVAL', () => {
    const p = base([
      { op: 'hwpt_alloc', as: '$h', dev_id: '$dev.idev_id', pt_id: '$ioas' },
      { op: 'hwpt_alloc', dev_id: '$dev.idev_id', pt_id: '$h', iotlb: 1 },
      { op: 'mock_domain_replace', stdev: '$dev', pt: '$h' },
    ]);
    for (const profile of ['v6.12', 'latest'] as const) {
      const r = runProgram(p, { profile, audit: true });
      expect(r.results[3].outputs.hwpt_id).toBe(5);
      expect(r.results[4].errno).toBe('EINVAL');
      expect(r.results[5].outputs.pt_id).toBe(5);
      expect(r.failed).toBe(false);
    }
  });
  it('the 6.12 commands are unknown (ENOTTY) and their test ops EOPNOTSUPP on v6.5', () => {
    const r = runProgram(
      base([
        { op: 'hwpt_alloc', dev_id: '$dev.idev_id', pt_id: '$ioas' },
        { op: 'fault_queue_alloc' },
        { op: 'get_hw_info', dev_id: '$dev.idev_id' },
        { op: 'md_check_iotlb', hwpt: '$dev.hwpt_id', iotlb_id: 0, iotlb: 0 },
        { op: 'trigger_iopf', dev_id: '$dev.idev_id' },
      ]),
      { profile: 'v6.5' },
    );
    expect(r.results.slice(3).map((x) => x.errno)).toEqual(['ENOTTY', 'ENOTTY', 'ENOTTY', 'EOPNOTSUPP', 'EOPNOTSUPP']);
  });
  it('DEV_CHECK_CACHE exists on latest only (the cache starts at IOMMU_TEST_DEV_CACHE_DEFAULT)', () => {
    const p = base([
      { op: 'dev_check_cache', dev_id: '$dev.idev_id', cache_id: 3, cache: 0xbaddad },
      { op: 'dev_check_cache', dev_id: '$dev.idev_id', cache_id: 0, cache: 0 },
    ]);
    expect(runProgram(p, { profile: 'v6.12' }).results.slice(3).map((x) => x.errno)).toEqual(['EOPNOTSUPP', 'EOPNOTSUPP']);
    expect(runProgram(p, { profile: 'latest' }).results.slice(3).map((x) => x.errno)).toEqual([undefined, 'EINVAL']);
  });
});

describe('6.12 ops: generation asks the profile', () => {
  it('v6.12 and latest tables have the new ops, v6.5 and v6.2 none of them', () => {
    const names = (p: Parameters<typeof opTable>[0]) => new Set(opTable(p, true).map(([, op]) => op));
    for (const op of NEW_OPS) {
      expect(names('v6.12').has(op), op).toBe(true);
      expect(names('latest').has(op), op).toBe(true);
      expect(names('v6.5').has(op), op).toBe(false);
      expect(names('v6.2').has(op), op).toBe(false);
    }
    for (const op of ['dev_check_cache', ...V7_OPS]) expect(names('v6.12').has(op), op).toBe(false);
    for (const op of ['dev_check_cache', 'viommu_alloc', 'vdevice_alloc', 'veventq_alloc', 'pasid_attach']) expect(names('latest').has(op), op).toBe(true);
    // the generator API without newOps (the campaign's and `fuzz`'s --no-new-ops) generates none of them
    const plain = new Set(opTable('latest').map(([, op]) => op));
    for (const op of [...NEW_OPS, ...V7_OPS]) expect(plain.has(op), op).toBe(false);
  });
  it('a profile object is asked too (a 6.12 kernel without fault queues)', () => {
    const noFault = Object.freeze({ ...profileByName('v6.12')!, lastIommufdCmd: 0x8d });
    const ops = new Set(opTable(noFault, true).map(([, op]) => op));
    expect(ops.has('hwpt_invalidate')).toBe(true);
    expect(ops.has('fault_queue_alloc')).toBe(false);
    expect(opModule('fault_queue_alloc')!.available!(noFault)).toBe(false);
  });
  it('generated v6.12 programs use the new ops and run without exceptions', () => {
    const seen = new Set<string>();
    for (let s = 1; s <= 40; s++) {
      const p = generateProgram(new Prng(s), { profile: 'v6.12', maxCalls: 25, newOps: true });
      const r = runProgram(p, { audit: true, panicOnWarn: true });
      expect(r.exception?.name ?? 'none', r.exception?.message).not.toBe('Error');
      expect(r.exception?.name === 'ProgramError').toBe(false);
      for (const x of r.results) if (!x.errno) seen.add(x.op);
    }
    for (const op of ['hwpt_alloc', 'fault_queue_alloc']) expect(seen.has(op), op).toBe(true);
  });
});

describe('6.12 ops: mutation', () => {
  it("an op module regenerates its own fields (hwpt_invalidate's entries stay [flags, iotlb_id] pairs)", () => {
    const calls: Program['calls'] = [{ op: 'open', as: '$fd' }, { op: 'hwpt_invalidate', hwpt_id: 1, entries: [[0, 0]] }];
    const rng = new Prng(7);
    for (let k = 0; k < 20; k++) {
      expect(regenerateField(rng, calls, 1, 'entries', { profile: 'v6.12' })).toEqual([]);
      const e = calls[1].entries as unknown[];
      expect(Array.isArray(e)).toBe(true);
      for (const pair of e as number[][]) {
        expect(pair).toHaveLength(2);
        expect([0, 1, 2]).toContain(pair[0]);
        expect(pair[1]).toBeLessThanOrEqual(4);
      }
    }
  });
});
