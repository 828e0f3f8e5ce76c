// SPDX-License-Identifier: GPL-2.0-only
// The fuzz campaign: deterministic for a seed, every op by default, finds a seed bug on v6.2, nothing on latest.
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../../src/fuzz/campaign.js';
import { OP_MODULES } from '../../src/fuzz/ops/index.js';
import type { Program } from '../../src/fuzz/program.js';

describe('fuzz campaign (one worker)', () => {
  it('is deterministic for a seed when bounded by program count', async () => {
    const run = () => runCampaign({ seconds: 120, seed: 5, workers: 1, profile: 'latest', stopWhen: (s) => s.programs >= 150 });
    const a = await run();
    const b = await run();
    expect(a.programs).toBeGreaterThanOrEqual(150);
    expect([b.programs, b.calls, b.corpus, b.signal]).toEqual([a.programs, a.calls, a.corpus, a.signal]);
  });

  it('finds the v6.2 uptr-overflow bug as a classified finding, from an empty corpus', async () => {
    const r = await runCampaign({ seconds: 90, seed: 1, workers: 1, profile: 'v6.2', stopWhen: (s) => s.findings.some((f) => f.bugs.includes('skipUptrOverflowCheck')) });
    const f = r.findings.find((x) => x.bugs.includes('skipUptrOverflowCheck'));
    expect(f, 'no finding classified as skipUptrOverflowCheck').toBeDefined();
    expect(f!.latestFails).toBe(false);
    expect(f!.program.calls.length).toBeLessThanOrEqual(f!.original.calls.length);
  });

  it('drops findings whose failure is on the ignore list (known findings)', async () => {
    // (Seed 1 meets the uptr-overflow WARN after about 2,200 programs since the data-path programs came.)
    const budget = { seconds: 120, seed: 1, workers: 1, profile: 'v6.2' as const, maxPrograms: 3000 };
    const plain = await runCampaign(budget);
    expect(plain.findings.map((f) => f.failure)).toContain('WARN pfn_reader_user_pin.zero');
    const r = await runCampaign({ ...budget, ignore: ['WARN pfn_reader_user_pin.zero'] });
    expect(r.programs).toBe(3000);
    expect(r.findings.map((f) => f.failure)).not.toContain('WARN pfn_reader_user_pin.zero');
  });

  it("generates every op the profile's kernel has by default, and only the first uAPI's with newOps false", async () => {
    const newer = new Set(OP_MODULES.filter((m) => m.newUapi).map((m) => m.name));
    const opsOf = (r: { corpusPrograms: readonly Program[] }) => new Set(r.corpusPrograms.flatMap((p) => p.calls.map((c) => c.op)));
    const all = opsOf(await runCampaign({ seconds: 120, seed: 4, workers: 1, profile: 'latest', maxPrograms: 1000 }));
    for (const op of ['hwpt_alloc', 'viommu_alloc', 'ioas_map_file']) expect(all.has(op), op).toBe(true);
    const plain = opsOf(await runCampaign({ seconds: 120, seed: 2, workers: 1, profile: 'latest', maxPrograms: 300, newOps: false }));
    expect([...plain].filter((op) => newer.has(op))).toEqual([]);
    expect(plain.has('ioas_map')).toBe(true);
  });

  it('finds nothing on latest in a bounded campaign', async () => {
    const r = await runCampaign({ seconds: 120, seed: 3, workers: 1, profile: 'latest', stopWhen: (s) => s.programs >= 600 });
    expect(r.programs).toBeGreaterThanOrEqual(600);
    expect(r.findings.map((f) => f.signature)).toEqual([]);
  });
});
