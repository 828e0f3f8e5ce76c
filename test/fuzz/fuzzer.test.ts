// SPDX-License-Identifier: GPL-2.0-only
// The fuzzer: generator determinism and validity, mutation, signal, checks and
// signatures, one-bug profiles, corpus round trip, campaign determinism, and a
// short campaign on `latest` that must find nothing.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/base/prng.js';
import { PROFILE_NAMES, profileByName } from '../../src/base/profile.js';
import { Holders, findingKey, roundSeed, runCampaign, runRound, withinMs } from '../../src/fuzz/campaign.js';
import { Corpus, loadCorpusDir, programId, saveCorpusDir } from '../../src/fuzz/corpus.js';
import { runProgram } from '../../src/fuzz/executor.js';
import { generateCallsAt, generateProgram, scanScope } from '../../src/fuzz/generator.js';
import { callReads, mutateProgram, removeCallAndDependents, spliceCalls } from '../../src/fuzz/mutator.js';
import { type Program, formatProgram, parseProgram, validateProgram } from '../../src/fuzz/program.js';
import { KNOWN_KERNEL_FINDINGS } from './mutants.js';
import {
  BUG_SWITCHES,
  classifiesSeedBugs,
  classifyOn,
  classifyProgram,
  failureSignature,
  fuzzRunOptions,
  runGuarded,
  runOnProfile,
  runWithSignal,
  signalName,
  singleBugProfile,
  stateTag,
} from '../../src/fuzz/signal.js';

/** Map a wrapping user range with a domain attached (the uptr overflow shape). */
const UPTR_WRAP: Program = {
  profile: 'v6.2',
  calls: [
    { op: 'open' },
    { op: 'ioas_alloc', as: '$ioas' },
    { op: 'mock_domain', pt: '$ioas' },
    { op: 'ioas_map', ioas: '$ioas', user_va: 'U64_MAX-4095', length: 8192 },
  ],
};

/** A THP-backed area in a domain with one page in its middle copied to a second area: destroying the IOAS unfills around the copy. */
const COPY_IN_RUN: Program = {
  profile: 'v6.2',
  memlock: 'unlimited',
  calls: [
    { op: 'mmap', as: '$buf', length: '2M', thp: true },
    { op: 'open' },
    { op: 'ioas_alloc', as: '$ioas' },
    { op: 'mock_domain', pt: '$ioas' },
    { op: 'ioas_map', as: '$a', ioas: '$ioas', user_va: '$buf', length: '2M' },
    { op: 'ioas_copy', dst_ioas: '$ioas', src_ioas: '$ioas', src_iova: '$a+0x4000', length: 4096 },
  ],
};

describe('generator', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = Array.from({ length: 20 }, (_, i) => generateProgram(new Prng(1000 + i), { profile: 'v6.2' }));
    const b = Array.from({ length: 20 }, (_, i) => generateProgram(new Prng(1000 + i), { profile: 'v6.2' }));
    expect(b).toEqual(a);
    const texts = new Set(a.map((p) => formatProgram(p, 'json')));
    expect(texts.size).toBe(20);
    // one PRNG, many programs: the same sequence again
    const r1 = new Prng(7);
    const r2 = new Prng(7);
    for (let i = 0; i < 30; i++) expect(generateProgram(r2)).toEqual(generateProgram(r1));
  });

  it('makes valid programs whose calls run (few call the executor out on a bad value)', () => {
    const rng = new Prng(42);
    let programErrors = 0;
    let calls = 0;
    const ops = new Set<string>();
    for (let i = 0; i < 250; i++) {
      const p = generateProgram(rng, { profile: 'latest' });
      expect(validateProgram(p)).toEqual([]);
      for (const c of p.calls) ops.add(c.op);
      const r = runGuarded(p, fuzzRunOptions(false));
      calls += r.results.length;
      if (r.exception?.name === 'ProgramError') programErrors++;
    }
    expect(programErrors).toBeLessThanOrEqual(3);
    expect(calls).toBeGreaterThan(250 * 4);
    for (const op of ['mmap', 'open', 'ioas_alloc', 'ioas_map', 'ioas_copy', 'ioas_unmap', 'mock_domain', 'create_access', 'access_pages', 'destroy', 'fail_nth', 'set_temp_memory_limit']) {
      expect(ops, op).toContain(op);
    }
  });

  it('generates only the ops a profile has', () => {
    const rng = new Prng(3);
    for (let i = 0; i < 150; i++) {
      const p = generateProgram(rng, { profile: 'v6.2' });
      for (const c of p.calls) expect(['mock_domain_replace', 'access_replace_ioas', 'mock_domain_flags']).not.toContain(c.op);
    }
  });

  it('makes the resources a call needs first, and refers to them by handle', () => {
    const rng = new Prng(5);
    const calls = generateCallsAt(rng, [], 0, 'access_pages');
    const ops = calls.map((c) => c.op);
    expect(ops[ops.length - 1]).toBe('access_pages');
    expect(ops).toContain('create_access');
    expect(ops).toContain('open');
    const scope = scanScope(calls);
    const access = scope.res.find((r) => r.kind === 'access');
    expect(access).toBeDefined();
    expect(calls[calls.length - 1].access).toBe(access!.name);
    expect(validateProgram({ calls })).toEqual([]);
  });
});

describe('mutator', () => {
  it('keeps programs valid, changes them, and is deterministic', () => {
    const rng = new Prng(11);
    const pool = Array.from({ length: 10 }, () => generateProgram(rng, { profile: 'v6.2' }));
    let changed = 0;
    const r1 = new Prng(99);
    const r2 = new Prng(99);
    for (let i = 0; i < 400; i++) {
      const base = pool[i % pool.length];
      const before = formatProgram(base, 'json');
      const m = mutateProgram(r1, base, { corpus: pool });
      expect(formatProgram(base, 'json')).toBe(before);
      expect(validateProgram(m)).toEqual([]);
      expect(m).toEqual(mutateProgram(r2, base, { corpus: pool }));
      if (formatProgram(m, 'json') !== before) changed++;
      if (i % 3 === 0) pool[i % pool.length] = m;
    }
    expect(changed).toBeGreaterThan(300);
  });

  it('removes a call together with the calls that use what it made', () => {
    const out = removeCallAndDependents(COPY_IN_RUN.calls, 2);
    expect(out.map((c) => c.op)).toEqual(['mmap', 'open']);
    expect(validateProgram({ calls: out })).toEqual([]);
  });

  it('splices with the spliced handles renamed apart', () => {
    const out = spliceCalls(COPY_IN_RUN.calls, COPY_IN_RUN.calls, 3);
    expect(out.length).toBe(12);
    expect(validateProgram({ calls: out })).toEqual([]);
    const names = out.filter((c) => typeof c.as === 'string').map((c) => c.as);
    expect(new Set(names).size).toBe(names.length);
    expect([...callReads(out[3 + 4])].every((h) => h !== '$buf')).toBe(true);
  });
});

describe('signal and checks', () => {
  it('reports per-call signal: ops, errnos, probes reached, state', () => {
    const sr = runWithSignal({ ...COPY_IN_RUN, profile: 'latest' }, fuzzRunOptions(true));
    expect(failureSignature(sr.run)).toBeUndefined();
    expect(sr.perCall.length).toBe(COPY_IN_RUN.calls.length + 1);
    const named = sr.perCall.map((keys) => keys.map(signalName));
    expect(named[4]).toContain('ioas_map:ok');
    expect(named[4].some((k) => k.startsWith('ioas_map|m:IommuDomain.map'))).toBe(true);
    expect(named[4].some((k) => k.startsWith('ioas_map|m:pages.areaFillDomains'))).toBe(true);
    expect(named[5].some((k) => k.startsWith('ioas_copy:ok@'))).toBe(true);
    // the IOAS goes at exit with the copy still holding part of the run: the carry path
    expect(named[6].some((k) => k.includes('PfnBatch.skipCarry'))).toBe(true);
    expect(named[6].every((k) => k.startsWith('exit'))).toBe(true);
    expect([...sr.signal].length).toBeGreaterThan(50);
    expect(stateTag(sr.run.machine)).toBe('');
  });

  it('audits pages objects of any size: a 2^39-page area pinning a frame another pages object also pins', () => {
    // Found by a latest campaign: the audit used to skip pages objects of more than
    // 2^22 pages, so a frame pinned through one of them looked over-pinned.
    const p: Program = {
      profile: 'latest',
      calls: [
        { op: 'open' },
        { op: 'ioas_alloc', as: '$i1' },
        { op: 'mmap', as: '$small', length: 65535 },
        { op: 'ioas_map', as: '$a1', ioas: '$i1', user_va: '$small', length: 4096 },
        { op: 'create_access', as: '$x1', ioas: '$i1', flags: ['NEEDS_PIN_PAGES'] },
        { op: 'access_pages', access: '$x1', iova: '$a1', length: 1 },
        { op: 'ioas_alloc', as: '$i2' },
        { op: 'mmap', as: '$big', length: 4124672 },
        { op: 'ioas_map', as: '$a2', ioas: '$i2', user_va: '$big', length: 2251799813685248 },
        { op: 'create_access', as: '$x2', ioas: '$i2', flags: ['NEEDS_PIN_PAGES'] },
        { op: 'access_pages', access: '$x2', iova: '$a2+0x2ff000', length: 1044479 },
      ],
    };
    const r = runGuarded(p, fuzzRunOptions(true));
    expect(r.results.map((c) => c.errno ?? 'ok')).toEqual(Array(11).fill('ok'));
    expect(r.reasons).toEqual([]);
    expect(failureSignature(r)).toBeUndefined();
  });

  it('with checks off, behaves as the test build it still is: test reservations go with the IOAS', () => {
    // Found by a checks-off campaign: the NULL-owner reservations of ADD_RESERVED were only
    // dropped at iopt_destroy_table() with checks on, so they leaked (WARN + memcg charge).
    const p: Program = { profile: 'latest', calls: [{ op: 'open' }, { op: 'ioas_alloc', as: '$i' }, { op: 'add_reserved', ioas: '$i', start: 0, length: 0 }] };
    for (const checks of [true, false]) {
      const r = runGuarded(p, fuzzRunOptions(checks));
      expect(r.reasons).toEqual([]);
      expect(failureSignature(r)).toBeUndefined();
    }
  });

  it('abstracts state: tiers holding each pages object, sharing, and its PFN-run shape', () => {
    const tags: string[] = [];
    const p: Program = {
      profile: 'latest',
      memlock: 'unlimited',
      calls: [
        { op: 'mmap', as: '$buf', length: '4M', thp: true },
        { op: 'open' },
        { op: 'ioas_alloc', as: '$ioas' },
        { op: 'mock_domain', pt: '$ioas' },
        // inside the first folio: one run
        { op: 'ioas_map', as: '$a', ioas: '$ioas', user_va: '$buf', length: '1M' },
        { op: 'ioas_copy', dst_ioas: '$ioas', src_ioas: '$ioas', src_iova: '$a+0x1000', length: 4096 },
        // across the two folios: a run that ends inside the range
        { op: 'ioas_map', ioas: '$ioas', user_va: '$buf+0x1fe000', length: '16K' },
      ],
    };
    const r = runGuarded(p, { ...fuzzRunOptions(true), onCall: (_c, m) => tags.push(stateTag(m)) });
    expect(r.failed).toBe(false);
    // the copy holds index 1 of a run that goes on past it: S (cut at both ends)
    expect(tags).toEqual(['', '', '', '', 'dh', 'd2hS', 'd2hS,dhb']);
  });

  it('gives failures a signature; passing runs have none', () => {
    expect(failureSignature(runGuarded(UPTR_WRAP, fuzzRunOptions(true)))).toBe('WARN pfn_reader_user_pin.zero');
    expect(failureSignature(runGuarded(UPTR_WRAP, { ...fuzzRunOptions(true), profile: 'latest' }))).toBeUndefined();
    // a program error (a handle no call made) is not a finding
    const bad = runGuarded({ calls: [{ op: 'open' }, { op: 'ioas_alloc', as: '$i' }, { op: 'write_memory', addr: 0, fill: 1, length: '1G' }] }, fuzzRunOptions(true));
    expect(bad.exception?.name).toBe('ProgramError');
    expect(failureSignature(bad)).toBeUndefined();
  });

  it('runs a program on a Profile object exactly as on the named profile', () => {
    for (const name of PROFILE_NAMES) {
      for (const p of [UPTR_WRAP, COPY_IN_RUN]) {
        const a = runProgram(p, { ...fuzzRunOptions(true), profile: name });
        const b = runOnProfile(p, profileByName(name)!, { ...fuzzRunOptions(true) });
        expect(b.results.map((r) => [r.index, r.op, r.errno])).toEqual(a.results.map((r) => [r.index, r.op, r.errno]));
        expect(b.warnings.map((w) => w.assertion)).toEqual(a.warnings.map((w) => w.assertion));
      }
    }
  });

  it('classifies by the one-bug profiles', () => {
    expect(classifyProgram(UPTR_WRAP)).toEqual({ latestFails: false, bugs: ['skipUptrOverflowCheck'] });
    const carry = classifyProgram(COPY_IN_RUN);
    expect(carry.latestFails).toBe(false);
    expect(carry.bugs).toContain('carryWritesCountFirst');
    expect(carry.bugs).not.toContain('skipUptrOverflowCheck');
    expect(classifyProgram({ ...COPY_IN_RUN, profile: 'latest', calls: COPY_IN_RUN.calls.slice(0, 5) })).toEqual({ latestFails: false, bugs: [] });
    for (const b of BUG_SWITCHES) expect(singleBugProfile(b)[b]).toBe(true);
  });

  it('classifies by the seed bugs only on a profile that has them: a v6.12 finding is its own', () => {
    expect(PROFILE_NAMES.filter((n) => classifiesSeedBugs(n))).toEqual(['v6.2']);
    // The 6.12 kernel finding (the mock's iova_to_phys WARN): the seed bugs put back on latest break
    // the same program too, which must not name it.
    const text = readFileSync(join(import.meta.dirname, 'kernel-findings', 'v6.12-unfill-iova-to-phys-hole.yaml'), 'utf8');
    const r = parseProgram(text);
    if (!r.ok) throw new Error(r.error);
    expect(classifyProgram(r.program).bugs.length).toBeGreaterThan(0);
    const cls = classifyOn('v6.12', r.program);
    expect(cls).toEqual({ latestFails: false, bugs: [] });
    expect(findingKey('WARN mock_domain_iova_to_phys.missing', 'v6.12', undefined)).toBe('WARN mock_domain_iova_to_phys.missing');
    expect(findingKey('WARN x', 'v6.2', { latestFails: false, bugs: ['carryLeavesEndZero'] })).toBe('WARN x [carryLeavesEndZero]');
  });

  it("reproduces 7.2's context leak through IOAS_MAP_FILE of the context's own fd: the run's finding names the open context", () => {
    const text = readFileSync(join(import.meta.dirname, 'kernel-findings', 'v7.2-map-file-own-context-cycle.yaml'), 'utf8');
    const r = parseProgram(text);
    if (!r.ok) throw new Error(r.error);
    const run = runProgram(r.program, { profile: 'latest' });
    expect(run.results.every((x) => x.errno === undefined)).toBe(true);
    expect(run.leaks[0]).toBe('an iommufd context is still open');
    expect(run.leaks).toContain('user 1000 locked_vm 1536 pages');
    expect(failureSignature(run)).toBe('LEAK an iommufd context is still open');
    // unmapping the file area before the end breaks the cycle
    const unmapped = runProgram({ ...r.program, calls: [...r.program.calls, { op: 'ioas_unmap', ioas: '$j', iova: '$m', length: 8192 }] }, { profile: 'latest' });
    expect(unmapped.leaks).toEqual([]);
  });
});

describe('corpus', () => {
  it('round-trips through a directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iommufd-corpus-'));
    try {
      const rng = new Prng(21);
      const programs = Array.from({ length: 12 }, () => generateProgram(rng, { profile: 'v6.5' }));
      expect(saveCorpusDir(dir, programs)).toBe(12);
      expect(saveCorpusDir(dir, programs)).toBe(0);
      expect(readdirSync(dir).length).toBe(12);
      const { programs: back, errors } = loadCorpusDir(dir);
      expect(errors).toEqual([]);
      expect(back.map(programId).sort()).toEqual(programs.map(programId).sort());
      const byId = new Map(programs.map((p) => [programId(p), p]));
      for (const p of back) expect(formatProgram(p, 'json')).toBe(formatProgram(byId.get(programId(p))!, 'json'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a program only for new signal', () => {
    const c = new Corpus();
    const p = generateProgram(new Prng(1));
    expect(c.add(p, [1, 2])).toBeDefined();
    expect(c.add(generateProgram(new Prng(2)), [2])).toBeUndefined();
    expect(c.add(generateProgram(new Prng(3)), [2, 3])?.newSignal).toBe(1);
    expect(c.size).toBe(2);
    expect(c.maxSignal.size).toBe(3);
  });

  it('chooses an entry by the signal it brought: weight 1 + sqrt(new signal), each draw the entry whose share it falls in', () => {
    const c = new Corpus();
    const news = [0, 3, 15, 8, 0, 24];
    for (const [i, n] of news.entries()) c.insert({ calls: [{ op: 'mmap', length: 4096 * (i + 1) }] }, n);
    const w = news.map((n) => 1 + Math.sqrt(n));
    const total = w.reduce((a, b) => a + b, 0);
    // A draw x (rng.next() * total) picks the first entry whose running total exceeds x.
    const draws = [0, 0.999, 1, 3.7, 3.75, 8.7, 12.5, 13.5, 19.3, total - 1e-9];
    const expected = draws.map((x) => {
      let acc = 0;
      return w.findIndex((v) => (acc += v) > x);
    });
    for (const [k, x] of draws.entries()) {
      const rng = { next: () => x / total } as unknown as Prng;
      expect(c.chooseEntry(rng)).toBe(c.entries[expected[k]]);
    }
    expect(expected).toEqual([0, 0, 1, 1, 2, 3, 4, 5, 5, 5]);
    // over many draws, each entry's share is its weight's
    const rng = new Prng(3);
    const hits = new Array<number>(news.length).fill(0);
    for (let i = 0; i < 60_000; i++) hits[c.entries.indexOf(c.chooseEntry(rng)!)]++;
    for (const [i, h] of hits.entries()) expect(Math.abs(h / 60_000 - w[i] / total)).toBeLessThan(0.01);
    expect(c.programs().map((p) => p.calls[0].length)).toEqual([4096, 8192, 12288, 16384, 20480, 24576]);
  });

  it('takes back what was added since a checkpoint: entries, their ids, signal, the weighted choice', () => {
    const c = new Corpus();
    c.mergeSignal([1, 2, 3]);
    for (const [i, n] of [2, 9, 0].entries()) c.insert({ calls: [{ op: 'mmap', length: 4096 * (i + 1) }] }, n);
    const draws = (): number[] => {
      const rng = new Prng(5);
      return Array.from({ length: 50 }, () => c.entries.indexOf(c.chooseEntry(rng)!));
    };
    const before = draws();
    c.checkpoint();
    const p = { calls: [{ op: 'mmap', length: 65536 }] };
    expect(c.add(p, [3, 4, 5])?.newSignal).toBe(2);
    c.mergeSignal([6, 1]);
    expect(c.size).toBe(4);
    expect(c.signalFrom(1)).toEqual([2, 3, 4, 5, 6]);
    c.rollback();
    expect(c.size).toBe(3);
    expect([...c.maxSignal].sort()).toEqual([1, 2, 3]);
    expect(c.signalFrom(0)).toEqual([1, 2, 3]);
    expect(c.programs()).toHaveLength(3);
    expect(c.has(programId(p))).toBe(false);
    expect(draws()).toEqual(before);
    // the same program may come back (its id was taken back too)
    expect(c.add(p, [4])?.newSignal).toBe(1);
  });
});

describe('campaign', () => {
  it('runs the same programs for the same seed', () => {
    const seen = (seed: number): string[] => {
      const out: string[] = [];
      const t = Date.now();
      runRound(
        { seed, worker: 0, round: 0, profile: 'latest', checks: true, corpus: [], maxSignal: [], knownSignatures: [], programs: 150, deadline: t + 60_000, startedAt: t, minimize: false, minimizeRuns: 0, maxCalls: 14 },
        { onRun: (p) => out.push(programId(p)) },
      );
      return out;
    };
    const a = seen(5);
    expect(a.length).toBe(150);
    expect(seen(5)).toEqual(a);
    expect(seen(6)).not.toEqual(a);
    expect(roundSeed(5, 0, 0)).not.toBe(roundSeed(5, 1, 0));
  });

  it('sends each fuzzer the deltas past what every fuzzer holds, fuzzers told apart by process and thread (worker threads share a pid)', () => {
    const h = new Holders();
    const res = (pid: number, thread: number, corpus: number, signal: number) => ({ holder: { pid, thread, corpus, signal } });
    expect(h.bases(2)).toEqual({ corpusBase: 0, signalBase: 0 });
    h.note(res(700, 1, 40, 300));
    expect(h.bases(2)).toEqual({ corpusBase: 0, signalBase: 0 });
    // a second thread of the same process is a second fuzzer
    h.note(res(700, 2, 35, 310));
    expect(h.bases(2)).toEqual({ corpusBase: 35, signalBase: 300 });
    h.note(res(700, 1, 50, 400));
    expect(h.bases(2)).toEqual({ corpusBase: 35, signalBase: 310 });
    // child processes (the tsx runtime): one thread each
    const p = new Holders();
    p.note(res(801, 0, 10, 20));
    p.note(res(802, 0, 12, 18));
    expect(p.bases(2)).toEqual({ corpusBase: 10, signalBase: 18 });
    // a fuzzer that lacked the deltas' start: everything again, to every fuzzer
    p.note({ ...res(801, 0, 0, 0), resync: true });
    expect(p.bases(2)).toEqual({ corpusBase: 0, signalBase: 0 });
    // the round's own result names its thread
    const t = Date.now();
    const r = runRound({ seed: 1, worker: 0, round: 0, profile: 'latest', checks: true, corpus: [], maxSignal: [], knownSignatures: [], programs: 1, deadline: t + 60_000, startedAt: t, minimize: false, minimizeRuns: 0, maxCalls: 4 });
    expect(r.holder).toMatchObject({ pid: process.pid, thread: threadId });
  });

  it("keeps a campaign's corpus between rounds: the next round, sent only the new entries, runs what it runs on a corpus built from scratch", () => {
    const t = Date.now();
    const rng = new Prng(21);
    const entries0 = Array.from({ length: 12 }, (_, i) => {
      const program = generateProgram(rng, { profile: 'latest', maxCalls: 10 });
      return { program, newSignal: 1 + (i % 4), id: programId(program) };
    });
    const sig0 = Array.from({ length: 40 }, (_, i) => 1000 + i);
    const base = { seed: 13, worker: 0, profile: 'latest' as const, checks: true, knownSignatures: [], programs: 60, deadline: t + 60_000, startedAt: t, minimize: false, minimizeRuns: 0, maxCalls: 14 };
    const campaign = `keep-${t}`;
    const r0 = runRound({ ...base, round: 0, campaign, corpusBase: 0, corpus: entries0, signalBase: 0, maxSignal: sig0 });
    expect(r0.newEntries.length).toBeGreaterThan(0);
    // what the manager would send next: the round's new entries and signal, in order
    const fresh = r0.newEntries.map((e) => ({ program: e.program, newSignal: e.signal.length, id: programId(e.program) }));
    const seenSig = new Set(sig0);
    const sig1: number[] = [];
    for (const e of r0.newEntries) for (const k of e.signal) if (!seenSig.has(k)) { seenSig.add(k); sig1.push(k); }
    const ran = (task: Parameters<typeof runRound>[0]): string[] => {
      const out: string[] = [];
      runRound(task, { onRun: (p) => out.push(programId(p)) });
      return out;
    };
    const kept = ran({ ...base, round: 1, campaign, corpusBase: entries0.length, corpus: fresh, signalBase: sig0.length, maxSignal: sig1 });
    const whole = { ...base, round: 1, corpusBase: 0, corpus: [...entries0, ...fresh], signalBase: 0, maxSignal: [...sig0, ...sig1] };
    expect(kept).toHaveLength(60);
    expect(ran({ ...whole, campaign: `${campaign}-anew` })).toEqual(kept);
    expect(ran(whole)).toEqual(kept);
  });

  it('is deterministic across whole campaigns (programs budget) and saves its corpus', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iommufd-campaign-'));
    try {
      const a = await runCampaign({ seconds: 120, seed: 3, profile: 'latest', maxPrograms: 400, roundPrograms: 100 });
      const b = await runCampaign({ seconds: 120, seed: 3, profile: 'latest', maxPrograms: 400, roundPrograms: 100, corpusDir: dir });
      expect(a.programs).toBe(400);
      expect(b.corpusPrograms.map(programId)).toEqual(a.corpusPrograms.map(programId));
      expect(readdirSync(dir).length).toBe(b.corpus);
      // a campaign starting from the saved corpus triages it first
      const c = await runCampaign({ seconds: 120, seed: 4, profile: 'latest', maxPrograms: 50, corpusDir: dir });
      expect(c.corpus).toBeGreaterThanOrEqual(b.corpus);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives up a round of several workers that does not come back, and says so', async () => {
    // One round that runs to the 5 s deadline, given up 3 s before it: a stand-in for a program that never ends.
    const t0 = Date.now();
    const r = await runCampaign({ seconds: 5, seed: 9, workers: 2, profile: 'latest', roundPrograms: 1e9, roundTimeoutMs: -3000 });
    expect(r.hung).toEqual({ round: 0, afterMs: expect.any(Number) });
    expect(r.hung!.afterMs).toBeLessThan(4500);
    expect(r.rounds).toBe(0);
    expect(r.programs).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(await withinMs(Promise.resolve(7), 1000)).toBe(7);
    expect(await withinMs(new Promise(() => {}), 5)).toBeUndefined();
  });

  it('runs fuzzers on two workers, deterministically for a seed, sending each only the corpus it lacks', async () => {
    const run = () => runCampaign({ seconds: 120, seed: 9, workers: 2, profile: 'latest', maxPrograms: 300, roundPrograms: 50 });
    const r = await run();
    expect(r.workers).toBe(2);
    expect(r.programs).toBe(300);
    expect(r.rounds).toBe(3);
    expect(r.corpus).toBeGreaterThan(10);
    const again = await run();
    expect([again.programs, again.calls, again.corpus, again.signal]).toEqual([r.programs, r.calls, r.corpus, r.signal]);
    expect(again.corpusPrograms).toEqual(r.corpusPrograms);
  });

  it('finds nothing but the kernel\'s own findings in a short campaign on latest', async () => {
    // A program budget, not a time: the same programs whatever the machine's load. (7.2's IOAS_MAP_FILE
    // reference cycle, which the model reproduces, is the kernel's: KNOWN_KERNEL_FINDINGS.)
    const r = await runCampaign({ seconds: 120, seed: 1, profile: 'latest', maxPrograms: 1000, ignore: [...KNOWN_KERNEL_FINDINGS] });
    expect(r.programs).toBe(1000);
    expect(r.findings.map((f) => `${f.signature}: ${f.reasons.slice(0, 2).join(' / ')}`)).toEqual([]);
  }, 60_000);
});
