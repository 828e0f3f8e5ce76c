// SPDX-License-Identifier: GPL-2.0-only
/**
 * The fuzzer's feedback and checks.
 *
 * Signal: which code paths a program reached, per call, in the manner of
 * kcov edge signal. Every WARN_ON site passed (WarnSink.on / testOn report
 * whether or not the condition holds, so each call site is a coverage probe,
 * like a PC) and every fault-injection point passed come through the explicit
 * hooks of base/warn.ts and base/fault.ts, set only while a program runs here.
 * The methods of the core classes (pfn batch and reader, io_pagetable, access,
 * domain, object table, mm) and the functions of pages.ts mark their entry
 * with a coverage site (base/coverage.ts), reported through its hook the same
 * way (`|m:`); nothing patches a prototype.
 * A call's signal is its op (with the kind of object it acts on), its errno,
 * and every probe it reached (like kcov PCs: reached or not, no counts), and
 * the outcome of each successful call in the current abstract state. Work
 * done when the processes exit is labelled `exit`. Keys are hashed to
 * numbers (signalName() gives their text).
 *
 * Checks: a program fails when it raises a KernelWarning (panicOnWarn), when
 * the whole-state audit after a call finds a problem, when a JavaScript
 * exception escapes the model, or when pins, locked_vm/pinned_vm or memory
 * cgroup charges are left after every process exited. Each failure has a
 * signature (the first WARN's assertion name, the exception's message head,
 * the leak kind) by which findings are deduplicated.
 *
 * Profiles with one bug: runOnProfile runs a program on an arbitrary Profile
 * object (e.g. `latest` with one pages.c bug switch flipped) through the
 * executor, which itself only takes profile names.
 */
import { sameValues } from '../base/same-values.js';
import { EOVERFLOW } from '../base/errno.js';
import { type FaultHook, type FaultPoint, setFaultHook } from '../base/fault.js';
import { type Profile, type ProfileName, profileByName } from '../base/profile.js';
import { type WarnHook, setWarnHook } from '../base/warn.js';
import { joined } from '../base/joined.js';
import { type CoverHook, coverSiteName, setCoverHook } from '../base/coverage.js';
import type { IommufdCtx } from '../iommufd/main.js';
import { IoptAuditMemo, auditIopts, ctxIopts, ioptAreas } from '../iommufd/audit.js';
import type { IoPagetable } from '../iommufd/io-pagetable.js';
import { iommufdCtxOf, iommufdEnvOf } from '../machine/iommufd-node.js';
import { Machine } from '../machine/machine.js';
import type { MemFile } from '../mm/memfile.js';
import { type CallResult, type RunOptions, type RunResult, runProgram } from './executor.js';
import { type Call, type HandleKind, OPS, type Program, exprHandles, parseExpr } from './program.js';
import { type AnswerOracleOptions, type OracleFailure, AnswerOracle } from './reference/answers.js';
import { stateTag } from './state.js';

// ---------------------------------------------------------------------------
// Probes

/**
 * Signal keys are numbers, not strings: a 32-bit FNV-1a hash of the probe's
 * name (computed once per name) combined with a 21-bit hash of the call
 * label, as syzkaller hashes PCs. Hashes are the same in every worker, so
 * keys can be shared between them; signalName() gives a key's text back.
 */
const names = new Map<number, string>();
const probeIds = new Map<string, number>();

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The id of a probe or outcome name (`|m:Class.method`, `:ok`, ...). */
function probeId(name: string): number {
  let id = probeIds.get(name);
  if (id === undefined) {
    id = fnv1a(name);
    probeIds.set(name, id);
    names.set(id, name);
  }
  return id;
}

/** Label ids are 21 bits, so label * 2^32 + probe stays an exact double. */
const LABEL_SPACE = 2 ** 21;
const labelIds = new Map<string, number>();
const labelNames = new Map<number, string>();

/** The id of a call label (21 bits). */
function labelId(label: string): number {
  let id = labelIds.get(label);
  if (id === undefined) {
    id = fnv1a(label) % LABEL_SPACE;
    labelIds.set(label, id);
    labelNames.set(id, label);
  }
  return id;
}

/** The probe id of outcome `:errno` (`:ok` for undefined), by errno name. */
const outcomeIds = new Map<string | undefined, number>();
function outcomeId(errno: string | undefined): number {
  let id = outcomeIds.get(errno);
  if (id === undefined) {
    id = probeId(`:${errno ?? 'ok'}`);
    outcomeIds.set(errno, id);
  }
  return id;
}

/** The probe id of `:ok@<state>`, by state tag. */
const okInStateIds = new Map<string, number>();
function okInStateId(state: string): number {
  let id = okInStateIds.get(state);
  if (id === undefined) {
    id = probeId(`:ok@${state}`);
    if (okInStateIds.size >= 4096) okInStateIds.clear();
    okInStateIds.set(state, id);
  }
  return id;
}

/** The signal key of probe `probe` reached in a call labelled `label` (exact in a double: 53 bits). */
function signalKey(label: number, probe: number): number {
  return label * 2 ** 32 + probe;
}

/** The text of a signal key made in this process (`label|probe`, `label:outcome`). */
export function signalName(key: number): string {
  const label = Math.floor(key / 2 ** 32);
  const probe = key % 2 ** 32;
  return `${labelNames.get(label) ?? `#${label}`}${names.get(probe) ?? `|#${probe}`}`;
}

/**
 * Each distinct probe id also has a slot, a small dense number (names whose
 * hashes collide share the id, so they share the slot), so that the probes
 * reached are collected in a typed array instead of a Set.
 */
const slotOfId = new Map<number, number>();
const idOfSlot: number[] = [];

/** The slot of a probe or outcome name. */
function probeSlot(name: string): number {
  const id = probeId(name);
  let s = slotOfId.get(id);
  if (s === undefined) {
    s = idOfSlot.length;
    idOfSlot.push(id);
    slotOfId.set(id, s);
  }
  return s;
}

/**
 * The probes reached since the last drain, each once, in the order first
 * reached (as a Set would iterate them): `stamp[slot] === epoch` marks a slot
 * already listed; a drain starts a new epoch.
 */
class Collector {
  private stamp = new Uint32Array(1024);
  private epoch = 1;
  /** reached[0..n): the slots reached since the last drain (the array keeps its storage). */
  private readonly reached: number[] = [];
  private n = 0;

  hit(slot: number): void {
    if (slot >= this.stamp.length) {
      const grown = new Uint32Array(Math.max(2 * this.stamp.length, slot + 1));
      grown.set(this.stamp);
      this.stamp = grown;
    }
    if (this.stamp[slot] !== this.epoch) {
      this.stamp[slot] = this.epoch;
      this.reached[this.n++] = slot;
    }
  }

  /** The keys of the probes reached, in call `label`; forgets them. */
  drain(label: number): number[] {
    const r = this.reached;
    const n = this.n;
    const out = new Array<number>(n);
    for (let k = 0; k < n; k++) out[k] = signalKey(label, idOfSlot[r[k]]);
    this.n = 0;
    if (++this.epoch === 0xffffffff) {
      this.stamp.fill(0);
      this.epoch = 1;
    }
    return out;
  }
}

/** The collector of the running program (undefined: not collecting), in an object the hooks share. */
const probeState: { collector: Collector | undefined } = { collector: undefined };
/** A collector no run holds (one is reused from program to program). */
let spareCollector: Collector | undefined;

function hit(slot: number): void {
  probeState.collector?.hit(slot);
}

/** Per assertion name, the slots of its `|a:` (check reached) and `|w:` (warned) probes. */
const assertionSlots = new Map<string, [number, number]>();
function assertionSlot(assertion: string, warned: boolean): number {
  let ids = assertionSlots.get(assertion);
  if (ids === undefined) {
    ids = [probeSlot(`|a:${assertion}`), probeSlot(`|w:${assertion}`)];
    assertionSlots.set(assertion, ids);
  }
  return ids[warned ? 1 : 0];
}

/** Per fault point, the slots of its `|fp:` (passed) and `|F:` (failed) probes. */
const faultSlots = new Map<FaultPoint, [number, number]>();
function faultSlot(p: FaultPoint, failed: boolean): number {
  let ids = faultSlots.get(p);
  if (ids === undefined) {
    ids = [probeSlot(`|fp:${p.name}`), probeSlot(`|F:${p.name}`)];
    faultSlots.set(p, ids);
  }
  return ids[failed ? 1 : 0];
}

/** The WARN_ON hook: each site reached (`|a:`) and each warning raised (`|w:`). */
const warnProbe: WarnHook = (assertion, warned) => {
  if (probeState.collector !== undefined) hit(assertionSlot(String(assertion), warned));
};

/** The fault-point hook: each point passed (`|fp:`) or failed (`|F:`). */
const faultProbe: FaultHook = (point, failed) => {
  if (probeState.collector !== undefined) hit(faultSlot(point, failed));
};

/** Per coverage site (base/coverage.ts), the slot of its `|m:Class.method` probe (-1 until first reached). */
let coverSlots = new Int32Array(256).fill(-1);

/** The coverage hook: each method entry the model marks (`|m:`). */
const coverProbe: CoverHook = (site) => {
  const c = probeState.collector;
  if (c === undefined) return;
  if (site >= coverSlots.length) {
    const grown = new Int32Array(Math.max(2 * coverSlots.length, site + 1)).fill(-1);
    grown.set(coverSlots);
    coverSlots = grown;
  }
  let k = coverSlots[site];
  if (k < 0) {
    k = probeSlot(`|m:${coverSiteName(site)}`);
    coverSlots[site] = k;
  }
  c.hit(k);
};

// ---------------------------------------------------------------------------
// Handle kinds (for call labels)

/** Each op spec's outputs as a list (made once per spec). */
const outputLists = new WeakMap<object, Array<[string, HandleKind]>>();

function outputList(spec: (typeof OPS)[string]): Array<[string, HandleKind]> {
  let l = outputLists.get(spec);
  if (l === undefined) {
    l = Object.entries(spec.outputs);
    outputLists.set(spec, l);
  }
  return l;
}

/** The kind of every handle a program binds (`$x` → primary output kind, `$x.o` → o's kind). */
export function handleKinds(calls: readonly Call[]): Map<string, HandleKind | 'ret'> {
  const kinds = new Map<string, HandleKind | 'ret'>();
  kinds.set('$main', 'proc');
  for (const c of calls) {
    const spec = OPS[c.op];
    if (!spec || typeof c.as !== 'string') continue;
    kinds.set(c.as, spec.primary !== undefined ? (spec.outputs[spec.primary] ?? 'value') : 'ret');
    for (const [o, k] of outputList(spec)) kinds.set(dotted(c.as, o), k);
  }
  return kinds;
}

/** `${as}.${output}` strings, made once each (programs bind the same few names). */
const dottedNames = new Map<string, Map<string, string>>();
const dotted = (as: string, o: string): string => joined(dottedNames, as, '.', o);

/** A call's label in the signal: its op, and for destroy/close the kind of object named. */
export function callLabels(calls: readonly Call[]): string[] {
  // (the handle kinds only when some call names a handle to destroy or close)
  let kinds: Map<string, HandleKind | 'ret'> | undefined;
  return calls.map((c) => {
    const field = c.op === 'destroy' ? c.id : c.op === 'close' ? c.fd : undefined;
    if (field === undefined) return c.op;
    const e = parseExpr(field);
    const hs = typeof e === 'string' ? [] : exprHandles(e);
    if (hs.length === 0) return `${c.op}[num]`;
    kinds ??= handleKinds(calls);
    return `${c.op}[${kinds.get(hs[0]) ?? '?'}]`;
  });
}

// ---------------------------------------------------------------------------
// State signal (the state abstraction lives in state.ts, over inspect/)

export { stateTag };

// ---------------------------------------------------------------------------
// Running with signal

export interface SignalRun {
  run: RunResult;
  /** Every signal key of the run (signalName() gives their text). */
  signal: Set<number>;
  /** The signal of each call, by call index (exit work last, at index calls.length). */
  perCall: number[][];
  /** Calls executed. */
  calls: number;
}

/** Options of runGuarded beyond the executor's. */
export interface GuardOptions extends RunOptions {
  customProfile?: Profile;
  /** The answer oracles (reference/answers.ts) after every call. */
  answers?: boolean;
  /** How the answer oracles run (their memos verified, for the tests). */
  oracle?: AnswerOracleOptions;
}

/** The checks the fuzzer runs with (`checks` false: no CONFIG_IOMMUFD_TEST assertions, no audit, no answer oracles). */
export function fuzzRunOptions(checks: boolean): GuardOptions {
  return checks ? { checks: true, audit: true, panicOnWarn: true, answers: true } : { checks: false, audit: false, panicOnWarn: true };
}

/** Run `p` collecting per-call signal. */
export function runWithSignal(p: Program, opts: GuardOptions = {}): SignalRun {
  const labels = callLabels(p.calls).map(labelId);
  const perCall: number[][] = [];
  const signal = new Set<number>();
  const prev = probeState.collector;
  const mine = spareCollector ?? new Collector();
  spareCollector = undefined;
  const drain = (label: number): number[] => mine.drain(label);
  let state = stateTag(undefined);
  const onCall = (r: CallResult, m: Machine): void => {
    const label = labels[r.index] ?? labelId(r.op);
    const keys = drain(label);
    keys.push(signalKey(label, outcomeId(r.errno)));
    if (r.errno === undefined) keys.push(signalKey(label, okInStateId(state)));
    state = stateTag(m);
    for (const k of keys) signal.add(k);
    perCall[r.index] = keys;
    opts.onCall?.(r, m);
  };
  probeState.collector = mine;
  const prevWarn = setWarnHook(warnProbe);
  const prevFault = setFaultHook(faultProbe);
  const prevCover = setCoverHook(coverProbe);
  let run: RunResult;
  try {
    run = runGuarded(p, { ...opts, onCall });
    // Whatever was reached after the last onCall: a call that raised, then exit/teardown.
    const last = run.results[run.results.length - 1];
    if (last && perCall[last.index] === undefined) {
      const label = labels[last.index] ?? labelId(last.op);
      const keys = drain(label);
      keys.push(signalKey(label, probeId(':raised')));
      perCall[last.index] = keys;
      for (const k of keys) signal.add(k);
    }
    // Teardown at exit is work done in the state the last call left.
    const exitLabel = labelId('exit');
    const exitKeys = drain(exitLabel);
    exitKeys.push(signalKey(exitLabel, okInStateId(state)));
    perCall[p.calls.length] = exitKeys;
    for (const k of exitKeys) signal.add(k);
  } finally {
    probeState.collector = prev;
    mine.drain(0);
    spareCollector = mine;
    setWarnHook(prevWarn);
    setFaultHook(prevFault);
    setCoverHook(prevCover);
  }
  for (let i = 0; i < perCall.length; i++) perCall[i] ??= [];
  return { run, signal, perCall, calls: run.results.length };
}

/** The audit found problems after a call (thrown out of onCall to end the run there). */
class AuditStop extends Error {
  constructor(
    readonly index: number,
    readonly problems: number,
  ) {
    super(`audit after call ${index}: ${problems} problem(s)`);
  }
}

/** An answer oracle disagreed after a call. */
class OracleStop extends Error {
  constructor(
    readonly index: number,
    readonly failure: OracleFailure,
  ) {
    super(`${failure.signature} after call ${index}: ${failure.message}`);
  }
}

/**
 * Every iommufd context still alive that `seen` has collected from the processes' descriptor tables, into `out`;
 * and the page caches the live processes reach (Machine.reachablePageCaches()), into `files`.
 */
function collectContexts(m: Machine, seen: Set<IommufdCtx>, out: IommufdCtx[], files: Set<MemFile>): void {
  for (const proc of m.processes.values()) {
    for (const fd of proc.openFds()) {
      const ctx = iommufdCtxOf(proc, fd);
      if (ctx) seen.add(ctx);
    }
  }
  m.reachablePageCaches(files);
  let n = 0;
  for (const c of seen) if (c.alive) out[n++] = c;
  out.length = n;
}

/**
 * A fingerprint of everything the audit looks at: each context's object
 * table (its change count); every IOAS's reserved ranges (change count);
 * every area (place, pages object, pin counters, the change counts of the
 * pages' xarray and interval trees); every domain (identity, map/unmap call
 * counts and its storage change count, which also moves when only dirty bits
 * do: the DIRTY test op, a GET_DIRTY_BITMAP that clears); the folios freed;
 * the accounting counters of users and mms, each process's RLIMIT_MEMLOCK. A list of values (objects by
 * identity, u64s as bigints) written over `out`. Equal fingerprints (element
 * by element): the audit would see the same state again.
 */
function auditFingerprint(m: Machine, ctxs: readonly IommufdCtx[], iopts: readonly IoPagetable[], out: unknown[]): void {
  let n = 0;
  // Folios freed, not frames in use: a call that only allocates (a first touch, MAP_POPULATE) takes nothing
  // iommufd holds away, and the answer oracle keeps its own count of frames in use for the ENOMEM judgements.
  out[n++] = m.phys.foliosFreed;
  // The objects the answer oracle follows (a HW queue made over pages already pinned changes nothing else here).
  for (const c of ctxs) { out[n++] = 'c'; out[n++] = c; out[n++] = c.objects.changes; }
  // The accounting the machine audit compares: every user's locked_vm, every process's mm counters.
  for (const u of m.users.values()) { out[n++] = u.lockedVm; }
  // (and RLIMIT_MEMLOCK, which the answer oracle's ENOMEM judgements read: a setrlimit changes nothing else)
  for (const proc of m.processes.values()) { out[n++] = 'p'; out[n++] = proc.pid; out[n++] = proc.exited; out[n++] = proc.mm.lockedVm; out[n++] = proc.mm.pinnedVm; out[n++] = proc.task.rlimitMemlock; }
  for (const iopt of iopts) {
    // Reserved ranges: the audit checks no area meets one (IOMMU_TEST_OP_ADD_RESERVED changes nothing else here).
    out[n++] = '|'; out[n++] = iopt; out[n++] = iopt.iovaAlignment; out[n++] = iopt.reservedItree.changes;
    for (const d of iopt.domains) { out[n++] = 'd'; out[n++] = d; out[n++] = d.mapCalls; out[n++] = d.unmapCalls; out[n++] = d.storageChanges; }
    for (const a of ioptAreas(iopt)) {
      const p = a.pages;
      out[n++] = 'a'; out[n++] = a.iova; out[n++] = a.length; out[n++] = a.pageOffset; out[n++] = p ?? null;
      // The tiers by their change counts: an access pinning pages a domain already holds moves the xarray and
      // access_itree, not npinned.
      if (p) { out[n++] = p.npinned; out[n++] = p.lastNpinned; out[n++] = p.pinnedPfns.changes; out[n++] = p.accessItree.changes; out[n++] = p.domainsItree.changes; out[n++] = a.storageDomain ?? null; }
    }
  }
  out.length = n;
}


/** The fingerprint of the state last audited, and whether the last call changed it. */
interface AuditMemo {
  fp: unknown[];
  /** The buffer the next fingerprint is written into. */
  next: unknown[];
  changed?: boolean;
  /** What the last clean audit judged per IOAS, pages object and domain (re-judged only where something changed). */
  iopts: IoptAuditMemo;
  /** Scratch lists of the live contexts and their IO page tables (refilled by every call). */
  ctxList: IommufdCtx[];
  ioptList: IoPagetable[];
  /** The page caches the processes reach (refilled by every call), and each one's change count at its last clean audit. */
  files: Set<MemFile>;
  filesAudited: WeakMap<MemFile, number>;
}

/**
 * The whole-state audit over the live contexts; the problems found. `last` holds the fingerprint of the state last
 * audited (the accounting counters included, for the answer oracle): when nothing the audit looks at changed, it is
 * not run again.
 */
function auditMachine(m: Machine, seen: Set<IommufdCtx>, last: AuditMemo, run = true): number {
  const iopts = last.ioptList;
  const ctxs = last.ctxList;
  collectContexts(m, seen, ctxs, last.files);
  let n = 0;
  for (const c of ctxs) for (const iopt of ctxIopts(c)) iopts[n++] = iopt;
  iopts.length = n;
  auditFingerprint(m, ctxs, iopts, last.next);
  last.changed = last.fp.length === 0 || !sameValues(last.next, last.fp);
  const fp = last.next;
  last.next = last.fp;
  last.fp = fp;
  if (!run) return 0;
  // The page caches whose change count moved since their last clean audit: apart from the fingerprint,
  // which the answer oracle also reads (a memfd's cache is no iommufd state it judges).
  let moved = false;
  for (const f of last.files) if (last.filesAudited.get(f) !== f.changes) moved = true;
  if (!last.changed && !moved) return 0;
  const prevPanic = m.warn.panicOnWarn;
  const prevName = m.warn.syscall;
  const prevCollector = probeState.collector;
  m.warn.panicOnWarn = false;
  m.warn.syscall = 'audit';
  probeState.collector = undefined;
  try {
    let n = 0;
    for (const f of moved ? last.files : []) {
      if (last.filesAudited.get(f) === f.changes) continue;
      const problems = f.problems();
      for (const p of problems) m.warn.warn('audit.page_cache', p);
      if (problems.length === 0) last.filesAudited.set(f, f.changes);
      n += problems.length;
    }
    // Machine.audit() would add the object tables and the per-mm counters, but it takes an mm's locked_vm
    // beyond iommufd's charge (mlock, MAP_LOCKED) for a problem; the answer oracle checks the accounting
    // (per user exactly, per mm pinned_vm exactly and locked_vm as a lower bound) through inspect/.
    if (last.changed) n += auditIopts(iommufdEnvOf(m), iopts, { exactPins: true, memo: last.iopts });
    return n;
  } finally {
    m.warn.panicOnWarn = prevPanic;
    m.warn.syscall = prevName;
    probeState.collector = prevCollector;
  }
}

/**
 * runProgram (or runOnProfile) with the fuzzer's audit: after every call the
 * whole-state audit runs (as the executor's `audit` option does, skipping it
 * when nothing it looks at changed), and the first problem ends the run. An exception that escapes the executor
 * itself becomes a failed run.
 */
export function runGuarded(p: Program, opts: GuardOptions = {}): RunResult {
  let machine: Machine | undefined;
  const results: CallResult[] = [];
  const audit = opts.audit === true;
  const seen = new Set<IommufdCtx>();
  const last: AuditMemo = { fp: [], next: [], iopts: new IoptAuditMemo(), ctxList: [], ioptList: [], files: new Set(), filesAudited: new WeakMap() };
  let answers: AnswerOracle | undefined;
  const onCall = (r: CallResult, m: Machine): void => {
    machine = m;
    results.push(r);
    opts.onCall?.(r, m);
    if (audit || opts.answers) {
      const n = auditMachine(m, seen, last, audit);
      if (n > 0) throw new AuditStop(r.index, n);
    }
    if (opts.answers) {
      answers ??= new AnswerOracle(m, opts.oracle);
      const prevCollector = probeState.collector;
      probeState.collector = undefined;
      let f: OracleFailure | undefined;
      try {
        // Nothing the audit fingerprints changed: the oracle follows the call on the state it last saw.
        f = answers.afterCall(r, last.changed !== false);
      } finally {
        probeState.collector = prevCollector;
      }
      if (f) throw new OracleStop(r.index, f);
    }
  };
  const { answers: _answers, customProfile: _custom, oracle: _oracle, ...rest } = opts;
  const inner = { ...rest, audit: false, onCall };
  try {
    return opts.customProfile ? runOnProfile(p, opts.customProfile, inner) : runProgram(p, inner);
  } catch (e) {
    const m = machine ?? new Machine({ memory: '16M' });
    if (e instanceof OracleStop) {
      return {
        results,
        warnings: [...m.warnings],
        leaks: [],
        auditProblems: 0,
        failed: true,
        machine: m,
        coverage: new Set(),
        oracle: { ...e.failure, index: e.index },
        reasons: [e.message],
      };
    }
    if (e instanceof AuditStop) {
      return {
        results,
        warnings: [...m.warnings],
        leaks: [],
        auditProblems: e.problems,
        failed: true,
        machine: m,
        coverage: new Set(),
        reasons: [e.message, ...m.warnings.slice(0, 5).map((w) => `WARN ${w.assertion}: ${w.message}`)],
      };
    }
    const err = e instanceof Error ? e : new Error(String(e));
    const message = `outside the calls (after call ${results.length - 1}): ${err.message}`;
    return {
      results,
      warnings: [...m.warnings],
      exception: { name: err.name, message, ...(err.stack ? { stack: err.stack } : {}) },
      leaks: [],
      auditProblems: 0,
      failed: true,
      machine: m,
      coverage: new Set(),
      reasons: [`${err.name}: ${message}`],
    };
  }
}

// ---------------------------------------------------------------------------
// Checks and signatures

function messageHead(msg: string): string {
  const first = msg.split('\n')[0];
  return first
    .replace(/0x[0-9a-f]+/gi, 'N')
    .replace(/\d+/g, 'N')
    .slice(0, 100);
}

/** True when the run failed for the program's own sake (a program error is the generator's fault, not a finding). */
export function isProgramError(r: RunResult): boolean {
  return r.exception?.name === 'ProgramError';
}

/**
 * The failure signature of a run, or undefined when it passed the checks:
 * `WARN <assertion>` (first WARN, including the audit's `audit.*`),
 * `EXCEPTION <name>: <message head>`, `LEAK <kind>`.
 */
export function failureSignature(r: RunResult): string | undefined {
  if (isProgramError(r)) return undefined;
  const ex = r.exception;
  if (ex && ex.name !== 'KernelWarning') return `EXCEPTION ${ex.name}: ${messageHead(ex.message)}`;
  if (r.warnings.length > 0) return `WARN ${r.warnings[0].assertion}`;
  if (r.oracle) return r.oracle.signature;
  if (ex) return `WARN ${messageHead(ex.message)}`;
  if (r.leaks.length > 0) return `LEAK ${messageHead(r.leaks[0]).replace(/^N /, '')}`;
  return undefined;
}

// ---------------------------------------------------------------------------
// Profiles with one switch flipped

/** The four pages.c bugs of v6.2 (kernel-core.md §5.10), by their profile switch. */
export const BUG_SWITCHES = ['carryLeavesEndZero', 'carryWritesCountFirst', 'unpinLastIndexFromReadStart', 'skipUptrOverflowCheck'] as const;
export type BugSwitch = (typeof BUG_SWITCHES)[number];

/** The upstream fix of each bug (the commit ids the profile switches cite), so findings read as kernel history. */
export const BUG_FIXES: Readonly<Record<BugSwitch, { readonly commit: string; readonly subject: string }>> = {
  carryLeavesEndZero: { commit: 'b7c822fa6b77', subject: 'iommufd: Set end correctly when doing batch carry' },
  carryWritesCountFirst: { commit: '13a0d1ae7ee6', subject: 'iommufd: Do not corrupt the pfn list when doing batch carry' },
  unpinLastIndexFromReadStart: { commit: '727c28c1cef2', subject: 'iommufd: Fix unpinning of pages when an access is present' },
  skipUptrOverflowCheck: { commit: 'e4395701330f', subject: 'iommufd: Check for uptr overflow' },
};

/** "fixed by b7c822fa6b77 (iommufd: Set end correctly when doing batch carry)". */
export function bugFixText(bug: BugSwitch): string {
  const f = BUG_FIXES[bug];
  return `fixed by ${f.commit} ("${f.subject}")`;
}

/**
 * The kernel around a bug: `latest`, except that the uptr-overflow bug only
 * shows with the GUP of its era (v6.2-v6.6 pin_user_pages returned 0 pages
 * for a range wrapping past 2^64, which iommufd WARNed about; later GUP fails
 * it with -EOVERFLOW, making the missing check harmless).
 */
export function bugEnvironment(bug: BugSwitch): Profile {
  const latest = profileByName('latest')!;
  if (bug === 'skipUptrOverflowCheck') return Object.freeze({ ...latest, gupWrapFailsWithOverflow: false });
  return latest;
}

/** `latest` (in the bug's environment) with exactly one bug switch turned on. */
export function singleBugProfile(bug: BugSwitch): Profile {
  return Object.freeze({ ...bugEnvironment(bug), [bug]: true });
}

/** A call that does nothing to iommufd (it lets the profile be swapped before /dev/iommu is first opened). */
const PROFILE_SWAP_CALL: Call = { op: 'madvise', addr: 0, length: 0, advice: 'NORMAL' };

/** Give a machine made with another profile `profile`, with what the Machine derives from it at construction. */
function swapProfile(m: Machine, profile: Profile): void {
  (m as { profile: Profile }).profile = profile;
  // Machine: gupOverflowErrno follows the profile's GUP (machine.ts); the processes made so far copied it.
  const errno = profile.gupWrapFailsWithOverflow ? EOVERFLOW : 0;
  (m.mmOptions as { gupOverflowErrno?: number }).gupOverflowErrno = errno;
  for (const proc of m.processes.values()) (proc.mm.opts as { gupOverflowErrno: number }).gupOverflowErrno = errno;
}

/**
 * Run `p` on an arbitrary Profile. The executor builds its Machine from a
 * profile name; the iommufd core reads the machine's profile when /dev/iommu
 * is first opened, so a no-op first call gives the chance to swap it (with the
 * construction-time settings derived from it). The executor itself picks the
 * IOMMU_TEST_CMD struct size by profile name, so the base name is one with the
 * same layout. Results are re-indexed to `p`'s calls.
 */
export function runOnProfile(p: Program, profile: Profile, opts: RunOptions = {}): RunResult {
  const base: ProfileName = profile.testCmdDirtyUnion ? 'latest' : 'v6.5';
  let swapped = false;
  let machine: Machine | undefined;
  const onCall = (r: CallResult, m: Machine): void => {
    if (!swapped) {
      swapped = true;
      machine = m;
      swapProfile(m, profile);
      return;
    }
    opts.onCall?.({ ...r, index: r.index - 1 }, m);
  };
  const run = runProgram({ ...p, calls: [PROFILE_SWAP_CALL, ...p.calls] }, { ...opts, profile: base, onCall });
  if (machine && p.calls.some((c) => c.op === 'open') && iommufdEnvOf(machine).profile !== profile) {
    throw new Error('runOnProfile: the profile swap did not reach the iommufd core');
  }
  run.results = run.results.slice(1).map((r) => ({ ...r, index: r.index - 1 }));
  if (run.reasons) run.reasons = run.reasons.map((s) => s.replace(/^call (\d+)/, (_m, n: string) => `call ${Number(n) - 1}`));
  return run;
}

/**
 * Which bugs a failing program shows: it is bug X iff it fails with only X
 * switched on (on top of `latest`) and passes on `latest`.
 */
export interface Classification {
  latestFails: boolean;
  bugs: BugSwitch[];
}

/** A classification as text: `[latest]` (fails on latest too), `[bug,...]`, or `[profile]` (none of the four alone). */
export function classTag(c: Classification): string {
  if (c.latestFails) return '[latest]';
  return c.bugs.length > 0 ? `[${c.bugs.join(',')}]` : '[profile]';
}

/**
 * Whether findings on `profile` are classified by the four seed bugs: only on a profile that has
 * one of them switched on (v6.2). Elsewhere a failure is the profile's own (a kernel finding of
 * that release, or a model bug), reported by its signature: that the seed bugs, put back on top
 * of `latest`, break the same program says nothing about it.
 */
export function classifiesSeedBugs(profile: ProfileName): boolean {
  const prof = profileByName(profile);
  return prof !== undefined && BUG_SWITCHES.some((b) => prof[b]);
}

/** What a finding on `profile` is: classifyProgram() where classifiesSeedBugs(), else whether it fails on `latest` too. */
export function classifyOn(profile: ProfileName, p: Program, checks = true): Classification {
  if (classifiesSeedBugs(profile)) return classifyProgram(p, checks);
  if (profile === 'latest') return { latestFails: true, bugs: [] };
  return { latestFails: failureSignature(runGuarded(p, { ...fuzzRunOptions(checks), profile: 'latest' })) !== undefined, bugs: [] };
}

export function classifyProgram(p: Program, checks = true): Classification {
  const opts = fuzzRunOptions(checks);
  const latest = runGuarded(p, { ...opts, profile: 'latest' });
  const latestFails = failureSignature(latest) !== undefined;
  const bugs: BugSwitch[] = [];
  if (latestFails) return { latestFails, bugs };
  const envFails = new Map<Profile, boolean>();
  for (const b of BUG_SWITCHES) {
    const env = bugEnvironment(b);
    if (env !== profileByName('latest')) {
      let f = envFails.get(env);
      if (f === undefined) {
        f = failureSignature(runGuarded(p, { ...opts, customProfile: env })) !== undefined;
        envFails.set(env, f);
      }
      if (f) continue;
    }
    const r = runGuarded(p, { ...opts, customProfile: singleBugProfile(b) });
    if (failureSignature(r) !== undefined) bugs.push(b);
  }
  return { latestFails, bugs };
}
