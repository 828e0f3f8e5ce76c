// SPDX-License-Identifier: GPL-2.0-only
/**
 * Program mutation, after syzkaller's prog/mutation.go: insert a generated
 * call, remove a call (with the calls that use what it made), regenerate or
 * tweak an argument, duplicate or swap calls, change the program's settings,
 * and splice in the calls of another corpus program (its handles renamed).
 * Every result is a valid program (validateProgram): calls left naming a
 * handle no earlier call binds are dropped.
 */
import type { Prng } from '../base/prng.js';
import { freshName, generateCallsAt, literal, num, programSettings, regenerateField } from './generator.js';
import { type Call, OPS, type Program, parseExpr, validateProgram } from './program.js';

const HANDLE_TOKEN = /\$[A-Za-z_][A-Za-z0-9_]*/g;

/** Deep copy of a program (plain JSON data). */
export function cloneProgram(p: Program): Program {
  return structuredClone(p);
}

/** The handles (bases, without `.output`) a call reads. */
export function callReads(c: Call): Set<string> {
  const out = new Set<string>();
  for (const k in c) {
    if (k === 'as' || k === 'op' || k === 'expect' || k === 'expectOn' || k === 'comment') continue;
    readsIn(c[k], out);
  }
  return out;
}

function readsIn(x: unknown, out: Set<string>): void {
  // (a string without '$' names no handle: most are numbers and hex data, scanned no further)
  if (typeof x === 'string') {
    if (x.includes('$')) for (const m of x.matchAll(HANDLE_TOKEN)) out.add(m[0]);
  } else if (Array.isArray(x)) for (const y of x) readsIn(y, out);
}

/** Rename handles in a value (strings, lists). */
function renameIn(x: unknown, map: Map<string, string>): unknown {
  if (typeof x === 'string') return x.replace(HANDLE_TOKEN, (h) => map.get(h) ?? h);
  if (Array.isArray(x)) return x.map((y) => renameIn(y, map));
  return x;
}

function renameCall(c: Call, map: Map<string, string>): Call {
  const out: Call = { op: c.op };
  for (const [k, v] of Object.entries(c)) {
    if (k === 'op') continue;
    out[k] = k === 'as' && typeof v === 'string' ? (map.get(v) ?? v) : renameIn(v, map);
  }
  return out;
}

/** Remove call `i` and, transitively, every later call reading a handle it (or they) bound. */
export function removeCallAndDependents(calls: Call[], i: number, readsOf: (c: Call) => Set<string> = callReads): Call[] {
  const dead = new Set<string>();
  const out: Call[] = [];
  for (let k = 0; k < calls.length; k++) {
    const c = calls[k];
    const reads = readsOf(c);
    const drop = k === i || [...reads].some((h) => dead.has(h));
    if (drop) {
      if (typeof c.as === 'string') dead.add(c.as);
      continue;
    }
    out.push(c);
  }
  return out;
}

/** Drop calls that read handles not bound before them. */
export function dropUnbound(p: Program, readsOf: (c: Call) => Set<string> = callReads): Program {
  const bound = new Set<string>(['$main']);
  const calls: Call[] = [];
  let dropped = false;
  for (const c of p.calls) {
    let ok = true;
    for (const h of readsOf(c)) if (!bound.has(h)) ok = false;
    if (ok) {
      calls.push(c);
      if (typeof c.as === 'string') bound.add(c.as);
    } else dropped = true;
  }
  return dropped ? { ...p, calls } : p;
}

/** Drop calls that read handles not bound before them, until the program validates (or is empty). */
export function repairProgram(p: Program, readsOf: (c: Call) => Set<string> = callReads): Program {
  for (let round = 0; round < 8; round++) {
    p = dropUnbound(p, readsOf);
    const issues = validateProgram(p);
    if (issues.length === 0) return p;
    // Drop the first call with an issue and retry.
    const bad = issues.find((is) => is.path[0] === 'calls' && typeof is.path[1] === 'number');
    if (!bad) return p;
    p = { ...p, calls: removeCallAndDependents(p.calls, bad.path[1] as number, readsOf) };
  }
  return p;
}

/** Insert calls of `b` at position `at` of `a`, with b's handles renamed apart from a's. */
export function spliceCalls(a: Call[], b: readonly Call[], at: number): Call[] {
  const used = new Set<string>();
  for (const c of a) if (typeof c.as === 'string') used.add(c.as);
  for (const c of b) if (typeof c.as === 'string') used.add(c.as);
  const map = new Map<string, string>();
  for (const c of b) if (typeof c.as === 'string') map.set(c.as, freshName(used));
  const renamed = b.map((c) => renameCall(c, map));
  return [...a.slice(0, at), ...renamed, ...a.slice(at)];
}

/** Small arithmetic tweaks of an integer argument. */
function tweakNumber(rng: Prng, v: bigint): bigint {
  const d = rng.pick([1n, 2048n, 4096n, 8192n, 2n << 20n]);
  switch (rng.below(6)) {
    case 0:
      return v + d;
    case 1:
      return v - d;
    case 2:
      return v * 2n;
    case 3:
      return v / 2n;
    case 4:
      return v & ~(d - 1n);
    default:
      return v ^ (1n << BigInt(rng.below(64)));
  }
}

/** Tweak `$h+0xN` style values by a page / IO page / byte, or a literal number. */
function tweakValue(rng: Prng, raw: unknown): unknown {
  const lit = literal(raw);
  if (lit !== undefined) return num(BigInt.asUintN(64, tweakNumber(rng, lit)));
  if (typeof raw === 'string') {
    // One handle plus any number of constant terms: tweak the constant part (their sum).
    const e = parseExpr(raw);
    if (typeof e === 'string') return raw;
    const handles = e.filter((t) => t.handle !== undefined);
    if (handles.length !== 1 || handles[0].sign < 0) return raw;
    let off = 0n;
    for (const t of e) if (t.handle === undefined) off += t.sign > 0 ? t.value! : -t.value!;
    const d = BigInt.asIntN(64, tweakNumber(rng, off));
    const h = handles[0].handle!;
    return d === 0n ? h : d > 0n ? `${h}+0x${d.toString(16)}` : `${h}-0x${(-d).toString(16)}`;
  }
  return raw;
}

const MAX_CALLS = 30;

export interface MutateOptions {
  /** Corpus programs to splice from. */
  corpus?: readonly Program[];
  maxCalls?: number;
  /** Handles of `p` whose call failed when it last ran. */
  dead?: ReadonlySet<string>;
  /** Insert the newer uAPI ops too (GenContext.newOps). */
  newOps?: boolean;
}

/**
 * One random mutation of `p` (a new program; `p` is not changed). The result
 * shares the calls it did not change with `p` (copy on write: a call whose
 * argument changes is copied first), so neither may be changed in place
 * afterwards; the campaign never does (the minimizer works on its own copy).
 */
export function mutateProgram(rng: Prng, p: Program, opts: MutateOptions = {}): Program {
  const max = opts.maxCalls ?? MAX_CALLS;
  let q: Program = { ...p, calls: p.calls };
  // callReads() of each call met, kept for this mutation: no call changes once read (a changed one is a copy).
  const known = new Map<Call, Set<string>>();
  const readsOf = (c: Call): Set<string> => {
    let r = known.get(c);
    if (r === undefined) {
      r = callReads(c);
      known.set(c, r);
    }
    return r;
  };
  const gen = { profile: q.profile, dead: opts.dead, newOps: opts.newOps };
  let changed = false;
  for (let step = 0; step < 8 && (!changed || rng.bool(0.5)); step++) {
    const calls = q.calls;
    const r = rng.below(100);
    if (r < 30 || calls.length === 0) {
      // insert a new call
      if (calls.length >= max) continue;
      // biased toward the end (syzkaller's biasedRand): new calls mostly act on what the program made
      const at = calls.length - Math.floor(rng.next() ** 3 * (calls.length + 1));
      const add = generateCallsAt(rng, calls, at, undefined, gen);
      q.calls = [...calls.slice(0, at), ...add, ...calls.slice(at)];
    } else if (r < 45) {
      // remove a call and what depends on it
      q.calls = removeCallAndDependents(calls, rng.below(calls.length), readsOf);
    } else if (r < 75) {
      // change an argument
      const i = rng.below(calls.length);
      const spec = OPS[calls[i].op];
      const names = spec ? Object.keys(spec.fields) : [];
      if (names.length === 0) continue;
      // The call is copied before its field changes (it may be `p`'s, or an earlier step's result).
      const c: Call = { ...calls[i] };
      const next = [...calls];
      next[i] = c;
      q.calls = next;
      const present = names.filter((n) => c[n] !== undefined);
      const name = present.length > 0 && rng.bool(0.8) ? rng.pick(present) : rng.pick(names);
      if (c[name] !== undefined && rng.bool(0.4)) {
        c[name] = tweakValue(rng, c[name]);
      } else {
        const add = regenerateField(rng, next, i, name, gen);
        if (add.length > 0) q.calls = [...next.slice(0, i), ...add, ...next.slice(i)];
      }
    } else if (r < 82) {
      // duplicate a call (a fresh name for what it makes)
      const i = rng.below(calls.length);
      const c = structuredClone(calls[i]);
      if (typeof c.as === 'string') {
        const used = new Set<string>();
        for (const x of calls) if (typeof x.as === 'string') used.add(x.as);
        c.as = freshName(used);
      }
      const at = rng.int(i + 1, calls.length);
      q.calls = [...calls.slice(0, at), c, ...calls.slice(at)];
    } else if (r < 87) {
      // swap two neighbours
      if (calls.length < 2) continue;
      const i = rng.below(calls.length - 1);
      const next = [...calls];
      [next[i], next[i + 1]] = [next[i + 1], next[i]];
      q.calls = next;
    } else if (r < 92) {
      // settings
      const s = programSettings(rng, q.profile);
      const key = rng.pick(['memlock', 'caps', 'thp', 'seed'] as const);
      const rec = q as Record<string, unknown>;
      if (s[key] === undefined) delete rec[key];
      else rec[key] = s[key];
    } else {
      // splice another corpus program in
      const pool = opts.corpus ?? [];
      if (pool.length === 0) continue;
      const other = rng.pick(pool);
      const at = rng.int(0, calls.length);
      q.calls = spliceCalls(calls, other.calls, at);
    }
    changed = true;
    q = dropUnbound(q, readsOf);
    if (q.calls.length > max + 6) q.calls = q.calls.slice(0, max + 6);
  }
  return repairProgram(q, readsOf);
}
