// SPDX-License-Identifier: GPL-2.0-only
// The fault-injection job: new corpus programs are re-run with fail_nth
// armed before each call, walking nth up while the call still reaches it.
import { describe, expect, it } from 'vitest';
import { runRound, withFailNth } from '../../src/fuzz/campaign.js';
import type { Program } from '../../src/fuzz/program.js';
import { fuzzRunOptions, runGuarded, runWithSignal } from '../../src/fuzz/signal.js';

describe('fault-injection job', () => {
  it('withFailNth arms fail_nth just before the call, on its process', () => {
    const p: Program = { calls: [{ op: 'open' }, { op: 'fork', as: '$c' }, { op: 'ioas_alloc', as: '$i', proc: '$c' }] };
    const q = withFailNth(p, 2, 3);
    expect(q.calls).toEqual([{ op: 'open' }, { op: 'fork', as: '$c' }, { op: 'fail_nth', nth: 3, proc: '$c' }, { op: 'ioas_alloc', as: '$i', proc: '$c' }]);
    expect(p.calls).toHaveLength(3);
  });

  it('fail_nth of 0 arms nothing (writing 0 to fail-nth turns it off; the exported C arms only a non-zero nth)', () => {
    const p: Program = { calls: [{ op: 'open' }, { op: 'fail_nth', nth: 0 }, { op: 'ioas_alloc', as: '$i' }, { op: 'fail_nth', nth: 1 }, { op: 'ioas_alloc' }] };
    const r = runGuarded(p, fuzzRunOptions(true));
    expect(r.failed, r.reasons?.join('\n')).toBe(false);
    expect(r.results[2].errno).toBeUndefined();
    expect(r.results[2].outputs.fault_injected).toBeUndefined();
    // the same call armed at 1 fails its first fault point
    expect(r.results[4].errno).toBe('ENOMEM');
    expect(r.results[4].outputs.fault_injected).toBe(1);
  });

  it('every fault point of an IOAS_MAP with a domain fails cleanly, and the walk ends past the last one', () => {
    const p: Program = {
      calls: [
        { op: 'open' },
        { op: 'ioas_alloc', as: '$ioas' },
        { op: 'mock_domain', as: '$d', pt: '$ioas' },
        { op: 'mmap', as: '$buf', length: '64K' },
        { op: 'ioas_map', ioas: '$ioas', user_va: '$buf', length: '64K' },
      ],
    };
    let nth = 1;
    let failedAt = 0;
    for (; nth <= 64; nth++) {
      const r = runGuarded(withFailNth(p, 4, nth), fuzzRunOptions(true));
      expect(r.oracle, r.oracle?.message).toBeUndefined();
      expect(r.failed, r.reasons?.join('\n')).toBe(false);
      const map = r.results[5];
      if (map.outputs.fault_injected !== 1) break;
      // Some fault points have a fallback (a smaller temporary buffer): the call may still succeed.
      if (map.errno !== undefined) failedAt++;
    }
    expect(failedAt).toBeGreaterThan(3);
    expect(nth).toBeLessThan(64);
    // One past the last fault point: the map succeeds.
    expect(runWithSignal(withFailNth(p, 4, nth), fuzzRunOptions(true)).run.results[5].errno).toBeUndefined();
  });

  it('a round runs fault re-runs of the programs it adds to the corpus', () => {
    const t = Date.now();
    const r = runRound({ seed: 2, worker: 0, round: 0, profile: 'latest', checks: true, corpus: [], maxSignal: [], knownSignatures: [], programs: 300, deadline: t + 120_000, startedAt: t, minimize: false, minimizeRuns: 0, maxCalls: 14 });
    expect(r.newEntries.length).toBeGreaterThan(0);
    expect(r.made.faulted).toBeGreaterThan(20);
    expect(r.findings.map((f) => `${f.signature}: ${f.reasons.join('; ')}`)).toEqual([]);
  }, 120_000);
});
