// SPDX-License-Identifier: GPL-2.0-only
/**
 * Reproducer minimization: delta debugging over a failing program until it
 * has the fewest calls and the simplest arguments that still fail with the
 * same signature.
 *
 * 1. Calls: remove chunks (halves, quarters, ... single calls), each taking
 *    along the later calls that read what it made; keep a removal when the
 *    program still fails the same way. Repeat to a fixpoint.
 * 2. Arguments: drop optional fields (their defaults apply), turn
 *    `$h+offset` into `$h` and handles into 0 (so their makers can go), move
 *    numbers toward 0 and round values, drop flags one at a time. Steps 1
 *    and 2 repeat while arguments simplify; then `as` bindings nobody reads
 *    are dropped.
 * 3. Settings: drop memlock / caps / thp / seed when they do not matter.
 *
 * The check function decides "still fails the same way"; the default one
 * runs the program with the fuzzer's checks on its own profile and compares
 * failure signatures.
 */
import type { Profile } from '../base/profile.js';
import { literal, num } from './generator.js';
import { callReads, cloneProgram, removeCallAndDependents } from './mutator.js';
import { type Call, OPS, type Program, validateProgram } from './program.js';
import { failureSignature, fuzzRunOptions, runGuarded } from './signal.js';

export interface MinimizeOptions {
  /** The signature to keep (default: the program's own, from one run). */
  signature?: string;
  /** Most program runs to spend (default 1500). */
  maxRuns?: number;
  /** Wall-clock budget in ms (default 20 s). */
  maxMs?: number;
  /** CONFIG_IOMMUFD_TEST assertions and audit (default true). */
  checks?: boolean;
  /** Run on this Profile object instead of the program's profile. */
  customProfile?: Profile;
  /** Custom check: true when `p` still shows the failure. */
  check?: (p: Program) => boolean;
}

export interface MinimizeResult {
  program: Program;
  signature: string | undefined;
  runs: number;
  callsBefore: number;
  callsAfter: number;
}

/** The failure signature of `p` with the fuzzer's checks. */
export function signatureOf(p: Program, checks = true, customProfile?: Profile): string | undefined {
  const opts = fuzzRunOptions(checks);
  return failureSignature(runGuarded(p, { ...opts, customProfile }));
}

const SETTINGS = ['memlock', 'caps', 'thp', 'seed', 'memory'] as const;

/** Round values a number may simplify to, in order of preference. */
function simplerNumbers(v: bigint): bigint[] {
  const out: bigint[] = [];
  const add = (x: bigint) => {
    if (x >= 0n && x < v && !out.includes(x)) out.push(x);
  };
  add(0n);
  add(1n);
  for (const unit of [1n << 30n, 2n << 20n, 1n << 16n, 4096n, 2048n]) {
    add(unit);
    add((v / unit) * unit);
  }
  add(v / 2n);
  add(v - 1n);
  return out;
}

export function minimizeProgram(input: Program, opts: MinimizeOptions = {}): MinimizeResult {
  const checks = opts.checks ?? true;
  const maxRuns = opts.maxRuns ?? 1500;
  const deadline = Date.now() + (opts.maxMs ?? 20_000);
  let runs = 0;
  const target = opts.signature ?? (opts.check ? undefined : signatureOf(input, checks, opts.customProfile));
  const callsBefore = input.calls.length;
  if (!opts.check && target === undefined) return { program: input, signature: undefined, runs: 1, callsBefore, callsAfter: callsBefore };
  const seen = new Map<string, boolean>();
  const fails = (p: Program): boolean => {
    if (runs >= maxRuns || Date.now() > deadline) return false;
    if (validateProgram(p).length > 0) return false;
    const key = JSON.stringify(p);
    const cached = seen.get(key);
    if (cached !== undefined) return cached;
    runs++;
    const ok = opts.check ? opts.check(p) : signatureOf(p, checks, opts.customProfile) === target;
    seen.set(key, ok);
    return ok;
  };
  const budgetLeft = (): boolean => runs < maxRuns && Date.now() <= deadline;

  let best = cloneProgram(input);

  // 1. calls: ddmin-style chunk removal, to a fixpoint
  const removeChunk = (calls: Call[], from: number, n: number): Call[] => {
    let out = calls;
    for (let k = Math.min(from + n, out.length) - 1; k >= from; k--) out = removeCallAndDependents(out, k);
    return out;
  };
  const shrinkCalls = (): boolean => {
    let any = false;
    let progress = true;
    while (progress && budgetLeft()) {
      progress = false;
      for (let chunk = Math.max(1, best.calls.length >> 1); chunk >= 1; chunk >>= 1) {
        for (let from = best.calls.length - chunk; from >= 0; from -= chunk) {
          if (from >= best.calls.length) continue;
          const cand = { ...best, calls: removeChunk(best.calls, from, chunk) };
          if (cand.calls.length < best.calls.length && fails(cand)) {
            best = cand;
            progress = any = true;
          }
        }
        if (!budgetLeft()) break;
      }
    }
    return any;
  };

  // 2. arguments
  const tryCall = (i: number, edit: (c: Call) => boolean): boolean => {
    const cand = cloneProgram(best);
    if (!edit(cand.calls[i])) return false;
    if (!fails(cand)) return false;
    best = cand;
    return true;
  };
  const trySet = (i: number, name: string, value: unknown): boolean =>
    tryCall(i, (c) => {
      c[name] = value;
      return true;
    });
  const simplifyArgs = (): boolean => {
    let any = false;
    for (let i = 0; i < best.calls.length && budgetLeft(); i++) {
      const spec = OPS[best.calls[i].op];
      if (!spec) continue;
      for (const name of Object.keys(spec.fields)) {
        if (best.calls[i][name] === undefined) continue;
        const f = spec.fields[name];
        // drop an optional field
        if (!f.required && tryCall(i, (c) => delete c[name])) {
          any = true;
          continue;
        }
        const raw = best.calls[i][name];
        if (typeof raw === 'string' && raw.includes('$') && f.kind === 'int') {
          // `$h+off` → `$h`; a handle → 0 (so the call that made it may go)
          if (/^\$[A-Za-z0-9_.]+[+-]/.test(raw) && trySet(i, name, raw.replace(/[+-].*$/, ''))) any = true;
          if (trySet(i, name, 0)) any = true;
          continue;
        }
        // numbers toward round values
        const v = literal(raw);
        if (v !== undefined && v > 0n && f.kind === 'int') {
          for (const s of simplerNumbers(v)) {
            if (trySet(i, name, num(s))) {
              any = true;
              break;
            }
            if (!budgetLeft()) break;
          }
        }
        // flags one at a time
        const fl = best.calls[i][name];
        if (Array.isArray(fl) && f.kind === 'flags') {
          for (let k = fl.length - 1; k >= 0; k--) {
            const ok = tryCall(i, (c) => {
              const arr = c[name] as unknown[];
              if (!Array.isArray(arr) || k >= arr.length) return false;
              arr.splice(k, 1);
              return true;
            });
            if (ok) any = true;
          }
        }
      }
    }
    return any;
  };

  for (let pass = 0; pass < 4 && budgetLeft(); pass++) {
    const a = shrinkCalls();
    const b = simplifyArgs();
    if (!a && !b && pass > 0) break;
    if (!b) break;
  }
  // unread `as` bindings
  const reads = new Set<string>();
  for (const c of best.calls) for (const h of callReads(c)) reads.add(h);
  for (let i = 0; i < best.calls.length && budgetLeft(); i++) {
    const as = best.calls[i].as;
    if (typeof as === 'string' && !reads.has(as)) tryCall(i, (c) => delete c.as);
  }

  // 3. settings
  for (const k of SETTINGS) {
    if (best[k] === undefined || !budgetLeft()) continue;
    const cand = cloneProgram(best);
    delete cand[k];
    if (fails(cand)) best = cand;
  }

  return { program: best, signature: target, runs, callsBefore, callsAfter: best.calls.length };
}
