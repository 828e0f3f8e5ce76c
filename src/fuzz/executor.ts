// SPDX-License-Identifier: GPL-2.0-only
/**
 * The program executor: runs a scenario program (program.ts) on a fresh
 * Machine through the syscall surface only (Process methods; every ioctl is
 * encoded with the uAPI struct layouts of iommufd/uapi.ts), resolves handles,
 * checks expectations, optionally audits the whole iommufd state after every
 * call, and after the last call exits every process and reports what leaked.
 *
 * It never throws for a program's sake: a JavaScript exception inside a call
 * (a model bug) or a KernelWarning (panicOnWarn) is caught, reported in
 * `exception`, and ends the run before teardown.
 */
import { errnoName } from '../base/errno.js';
import { joined } from '../base/joined.js';
import { UserScratch, rawIoctl } from '../client/common.js';
import { type FaultPoint, setFaultHook } from '../base/fault.js';
import type { Profile, ProfileName } from '../base/profile.js';
import { KernelWarning, type WarningRecord } from '../base/warn.js';
import { auditIopts } from '../iommufd/audit.js';
import type { IommufdCtx } from '../iommufd/main.js';
import * as U from '../iommufd/uapi.js';
import { Machine } from '../machine/machine.js';
import { iommufdCtxOf, iommufdEnvOf } from '../machine/iommufd-node.js';
import type { Process } from '../machine/process.js';
import type { MemCgroup } from '../mm/accounting.js';
import type { ExecImage, MmStruct } from '../mm/address-space.js';
import {
  type Call,
  type Expectation,
  type Expr,
  type FieldSpec,
  type OpSpec,
  type Program,
  evalExpr,
  expectationFor,
  expectedWarning,
  fieldExpr,
  parseExpectation,
  parseExpr,
} from './program.js';
import { opModule } from './ops/index.js';
import type { ExecCtx, OpModule, OpOutcome, Outputs } from './ops/types.js';
import { type StateSnapshot, snapshotState } from './state.js';

export type { WarningRecord } from '../base/warn.js';

// ---------------------------------------------------------------------------
// The binding contract

export interface CallResult {
  index: number;
  op: string;
  /** The syscall's return: >= 0, or -errno (mmap: the address as bigint). */
  ret: number | bigint;
  errno?: string;
  outputs: Record<string, number | bigint | string>;
  /** The call met its expectation (true when it had none). */
  met: boolean;
  /** The expectation, as text ("ok", "EINVAL", "iova=0x1000000"). */
  expected?: string;
  /** For an ioctl call: who made it and the struct fields it sent (handles resolved), for the answer oracles. */
  args?: CallArgs;
  /** The descriptors the call's fd fields named, resolved (`$r0-1` of an fd 3 is 2). */
  fds?: number[];
}

/** The resolved arguments of an ioctl call. */
export interface CallArgs {
  pid: number;
  fd: number;
  fields: U.StructValue;
}

export interface RunResult {
  results: CallResult[];
  warnings: WarningRecord[];
  exception?: { name: string; message: string; stack?: string };
  leaks: string[];
  auditProblems: number;
  failed: boolean;
  machine: Machine;
  coverage: Set<string>;
  /** Why the run failed, one line each (empty when it passed). */
  reasons?: string[];
  /** An answer oracle disagreed after a call (the fuzzer's runGuarded with `answers`). */
  oracle?: { signature: string; message: string; index: number };
  /** The profile the program ran on. */
  profile?: ProfileName;
  /** The expected WARN fired (programs with expectWarning). */
  expectedWarningSeen?: boolean;
  /** The state before teardown (RunOptions.snapshot). */
  state?: StateSnapshot;
  /** The state at each `report` call (RunOptions.snapshot). */
  snapshots?: Array<{ index: number; title: string; state: StateSnapshot }>;
}

export interface RunOptions {
  /** CONFIG_IOMMUFD_TEST assertions (default true). */
  checks?: boolean;
  /** Whole-state audit after every call (default false). */
  audit?: boolean;
  /** A WARN throws out of the syscall and ends the run (default false: recorded, the run goes on). */
  panicOnWarn?: boolean;
  /** Stop at the first call that misses its expectation. */
  stopOnFailure?: boolean;
  /** Run on this profile instead of the program's. */
  profile?: ProfileName;
  /** Record a StateSnapshot just before teardown. */
  snapshot?: boolean;
  /**
   * The address space the program's first process starts with (Machine
   * processLayout): 'bare' (default) or 'exec', the stack, [vvar] and [vdso]
   * of a freshly exec'd process, as the oracle's guest gives its programs.
   */
  processLayout?: 'bare' | 'exec';
  /** With 'exec': the program image instead of EXEC_IMAGE (the oracle's batch binary). */
  execImage?: ExecImage;
  /** Permission bits of device nodes, set before the first call (the oracle VMs' chmods: ORACLE_NODE_MODES). */
  nodeModes?: Readonly<Record<string, number>>;
  /** Called after each call (progress output, the fuzzer's signal). */
  onCall?: (r: CallResult, machine: Machine) => void;
}

// ---------------------------------------------------------------------------

/**
 * A parsed field value, and its u64 when it names no handle (a constant: evaluated once).
 */
interface ParsedField {
  readonly e: Expr | string;
  readonly k: bigint | undefined;
}

function parsedField(e: Expr | string): ParsedField {
  let k: bigint | undefined;
  if (typeof e !== 'string' && e.every((t) => t.handle === undefined)) {
    const v = evalExpr(e, noHandles);
    if (typeof v !== 'string') k = BigInt.asUintN(64, v);
  }
  return { e, k };
}

function noHandles(): bigint | undefined {
  return undefined;
}

/**
 * Parsed field values, per field spec and raw scalar value: parsing is a
 * function of the two alone, and a program names the same few values over
 * and over. Bounded: cleared when full.
 */
const exprCache = new Map<FieldSpec, Map<unknown, ParsedField>>();
/**
 * Lists (flags) by identity, with a copy of their elements: a program may be changed in
 * place between runs, so the entry stands only while the list still holds the same elements.
 */
const listExprCache = new WeakMap<object, { f: FieldSpec; items: unknown[]; p: ParsedField }>();

/** The descriptor fields (handle kind fd) of each op spec. */
const fdFieldNames = new WeakMap<OpSpec, string[]>();

function cachedFieldExpr(f: FieldSpec, raw: unknown): ParsedField {
  if (typeof raw === 'object' && raw !== null) {
    if (!Array.isArray(raw)) return parsedField(fieldExpr(f, raw));
    const c = listExprCache.get(raw);
    if (c !== undefined && c.f === f && c.items.length === raw.length) {
      let same = true;
      for (let k = 0; k < raw.length; k++) {
        if (!Object.is(c.items[k], raw[k])) {
          same = false;
          break;
        }
      }
      if (same) return c.p;
    }
    const p = parsedField(fieldExpr(f, raw));
    // (elements that are lists or objects themselves could change inside: not cached)
    if (raw.every((x) => typeof x !== 'object' || x === null)) listExprCache.set(raw, { f, items: [...raw], p });
    return p;
  }
  let m = exprCache.get(f);
  if (m === undefined) {
    m = new Map();
    exprCache.set(f, m);
  }
  let p = m.get(raw);
  if (p === undefined) {
    p = parsedField(fieldExpr(f, raw));
    if (m.size >= 4096) m.clear();
    m.set(raw, p);
  }
  return p;
}

/** A program error found while running (unknown handle, bad value). */
class ProgramError extends Error {}

const IOMMUFD_PATHS = new Set(['/dev/iommu', '/dev/vfio/vfio']);


/** The client's scratch buffer, used with fault injection off; failures are program errors. */
class Scratch extends UserScratch {
  override get(len: number): bigint {
    try {
      return super.get(len);
    } catch (e) {
      throw new ProgramError(`cannot map an executor buffer: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

class Executor {
  readonly machine: Machine;
  readonly main: Process;
  readonly procs = new Map<number, Process>();
  readonly handles = new Map<string, bigint>();
  /** Handle name → the op that bound it (for outputs). */
  readonly defaultFd = new Map<Process, number>();
  readonly contexts = new Set<IommufdCtx>();
  readonly memcgs = new Set<MemCgroup>();
  readonly mms = new Set<MmStruct>();
  private readonly scratches = new Map<Process, Scratch>();
  readonly pendingFail = new Map<Process, number>();
  readonly coverage = new Set<string>();

  constructor(
    readonly program: Program,
    readonly profile: ProfileName,
    readonly opts: RunOptions,
    /** The fault points the run passes (filled by runProgram's fault hook). */
    readonly pointsSeen: Set<FaultPoint>,
  ) {
    const hp = program.hugetlb_pages as { '2M'?: number; '1G'?: number } | undefined;
    this.machine = new Machine({
      memory: program.memory ?? '1G',
      profile,
      panicOnWarn: opts.panicOnWarn ?? false,
      checks: opts.checks ?? true,
      seed: typeof program.seed === 'number' ? program.seed : 1,
      ...(typeof program.thp === 'string' ? { thp: program.thp as 'always' | 'madvise' | 'never' } : {}),
      ...(hp ? { hugetlbPages: hp } : {}),
      ...(program.gbpages === true ? { gbpages: true } : {}),
      ...(program.phys_layout === 'linear' || program.phys_layout === 'scattered' ? { physLayout: program.phys_layout } : {}),
      ...(opts.processLayout !== undefined ? { processLayout: opts.processLayout } : {}),
      ...(opts.execImage !== undefined ? { execImage: opts.execImage } : {}),
    });
    for (const [path, perm] of Object.entries(opts.nodeModes ?? {})) this.machine.chmodNode(path, perm);
    this.main = this.machine.spawn({ memlock: program.memlock ?? '8M', caps: program.caps ?? [] });
    this.adopt(this.main);
    this.handles.set('$main', BigInt(this.main.pid));
  }

  adopt(p: Process): void {
    this.procs.set(p.pid, p);
    this.memcgs.add(p.task.memcg);
    this.mms.add(p.task.mm);
  }

  // --- values -------------------------------------------------------------------

  lookup = (h: string): bigint | undefined => this.handles.get(h);

  evalOrThrow(e: Expr | string, what: string): bigint {
    if (typeof e === 'string') throw new ProgramError(`${what}: ${e}`);
    const v = evalExpr(e, this.lookup);
    if (typeof v === 'string') throw new ProgramError(`${what}: ${v}`);
    return BigInt.asUintN(64, v);
  }

  /** The value of field `name` of `call` (its default when absent), as u64. */
  value(call: Call, spec: OpSpec, name: string, proc: Process): bigint {
    const f = spec.fields[name];
    if (!f) throw new ProgramError(`${call.op} has no field ${name}`);
    let raw = call[name];
    if (raw === undefined) {
      if (f.defaultIommufd) {
        const fd = this.defaultFd.get(proc);
        return BigInt.asUintN(64, BigInt(fd ?? -1));
      }
      raw = f.default;
      if (raw === undefined) {
        if (f.required) throw new ProgramError(`${call.op} needs ${name}`);
        return 0n;
      }
    }
    const p = cachedFieldExpr(f, raw);
    if (p.k !== undefined) return p.k;
    const e = p.e;
    const v = typeof e === 'string' ? e : evalExpr(e, this.lookup);
    // The field's name goes into the message only when there is one to write.
    if (typeof v === 'string') throw new ProgramError(`${call.op}.${name}: ${v}`);
    return BigInt.asUintN(64, v);
  }


  has(call: Call, name: string): boolean {
    return call[name] !== undefined;
  }

  scratch(proc: Process): Scratch {
    let s = this.scratches.get(proc);
    if (!s) {
      s = new Scratch(proc);
      this.scratches.set(proc, s);
    }
    return s;
  }

  /** A forked child's client scratch is its parent's, inherited with the address space (as the exported C's). */
  inheritScratch(parent: Process, child: Process): void {
    const s = this.scratches.get(parent);
    if (s) this.scratches.set(child, s.forked(child) as Scratch);
  }

  /** Run model-internal work on `proc` with its fail-nth disarmed (restored after). */
  quiet<T>(proc: Process, fn: () => T): T {
    const f = proc.task.failNth;
    const n = f.read();
    if (n > 0) f.arm(0);
    try {
      return fn();
    } finally {
      if (n > 0) f.arm(n);
    }
  }

  // --- one call ---------------------------------------------------------------------

  procOf(call: Call): Process {
    if (call.proc === undefined) return this.main;
    const v = this.handles.get(String(call.proc));
    if (v === undefined) throw new ProgramError(`unknown process handle ${String(call.proc)}`);
    const p = this.procs.get(Number(v));
    if (!p) throw new ProgramError(`no process ${String(call.proc)} (pid ${v})`);
    return p;
  }

  run(call: Call, index: number): CallResult {
    const mod = opModule(call.op);
    if (!mod) throw new ProgramError(`unknown op ${JSON.stringify(call.op)}`);
    const spec = mod.spec;
    const proc = this.procOf(call);
    this.callIndex = index;
    this.lastArgs = undefined;
    const arm = this.pendingFail.get(proc);
    if (arm !== undefined && call.op !== 'fail_nth') {
      this.pendingFail.delete(proc);
      proc.setFailNth(arm);
    }
    let outcome: OpOutcome;
    // The descriptors a call named, resolved before its own `as` rebinds a handle (runModel's consoleReadAt).
    const fdArgs = this.descriptorArgs(call, spec, proc);
    try {
      outcome = this.exec(call, mod, proc);
    } finally {
      if (arm !== undefined && call.op !== 'fail_nth' && !proc.exited) {
        const left = proc.getFailNth();
        const point = proc.task.failNth.lastFailed?.name;
        proc.setFailNth(0);
        this.lastFault = left === 0 ? (point ?? '?') : '';
      } else this.lastFault = undefined;
    }
    if (this.lastFault !== undefined) {
      outcome.outputs.fault_injected = this.lastFault ? 1 : 0;
      if (this.lastFault) {
        outcome.outputs.fault_point = this.lastFault;
        this.coverage.add(`fail:${this.lastFault}`);
      }
    }
    const { ret, outputs } = outcome;
    const neg = typeof ret === 'bigint' ? ret < 0n : ret < 0;
    const errno = neg ? errnoName(Number(typeof ret === 'bigint' ? -ret : -ret)) : undefined;
    if (typeof call.as === 'string') bindOutputs(this.handles, call.as, spec, ret, outputs);
    this.coverage.add(joined(outcomeLabels, call.op, ':', errno ?? 'ok'));
    const raw = expectationFor(call, this.profile);
    const exp = parseExpectation(raw);
    if (typeof exp === 'string') throw new ProgramError(`expect: ${exp}`);
    const { met, expected } = this.check(exp, ret, errno, outputs);
    const r: CallResult = { index, op: call.op, ret, outputs, met };
    if (errno !== undefined) r.errno = errno;
    if (expected !== undefined) r.expected = expected;
    if (this.lastArgs !== undefined) r.args = this.lastArgs;
    if (fdArgs !== undefined) r.fds = fdArgs;
    return r;
  }

  /** The values of the descriptor fields (handle kind fd) the call sets, as the s32s it passes; undefined for none. */
  private descriptorArgs(call: Call, spec: OpSpec, proc: Process): number[] | undefined {
    let names = fdFieldNames.get(spec);
    if (names === undefined) {
      names = Object.keys(spec.fields).filter((n) => spec.fields[n].handle === 'fd');
      fdFieldNames.set(spec, names);
    }
    let out: number[] | undefined;
    for (const name of names) {
      if (call[name] === undefined) continue;
      try {
        (out ??= []).push(Number(BigInt.asIntN(32, this.value(call, spec, name, proc))));
      } catch {
        // a field that does not evaluate fails the call itself
      }
    }
    return out;
  }

  /** The last ioctl's arguments in the current call. */
  private lastArgs: CallArgs | undefined;

  private lastFault: string | undefined;
  readonly snapshots: Array<{ index: number; title: string; state: StateSnapshot }> = [];
  callIndex = 0;

  snapshot(): StateSnapshot {
    return snapshotState(this.machine, this.liveContexts(), [...this.procs.values()]);
  }

  check(exp: Expectation, ret: number | bigint, errno: string | undefined, outputs: Outputs): { met: boolean; expected?: string } {
    switch (exp.kind) {
      case 'any':
        return { met: true };
      case 'ok':
        return { met: errno === undefined, expected: 'ok' };
      case 'errno':
        return { met: errno === exp.errno, expected: exp.errno };
      case 'values': {
        let met = exp.errno !== undefined ? errno === exp.errno : errno === undefined;
        const parts: string[] = [];
        if (exp.errno !== undefined) parts.push(exp.errno);
        for (const [k, want] of Object.entries(exp.values)) {
          const got = k === 'ret' ? ret : outputs[k];
          // Numbers as the report shows values (a YAML 0x1000000 arrives as a number); strings (16K, $dev.hwpt_id) as written.
          parts.push(`${k}=${typeof want === 'number' || typeof want === 'bigint' ? valueText(want) : String(want)}`);
          if (got === undefined) {
            met = false;
            continue;
          }
          if (k === 'data' || k === 'ranges' || typeof got === 'string') {
            if (normText(String(want)) !== normText(String(got))) met = false;
            continue;
          }
          const w = evalExpr(parseExpr(want) as Expr, this.lookup);
          if (typeof w === 'string' || BigInt.asUintN(64, w) !== BigInt.asUintN(64, toBig(got))) met = false;
        }
        return { met, expected: parts.join(' ') };
      }
    }
  }

  // --- ops ----------------------------------------------------------------------

  /** Run one call through its op module. */
  exec(call: Call, mod: OpModule, proc: Process): OpOutcome {
    return mod.execute(new CallCtx(this, call, mod.spec, proc));
  }

  /** The elements of a list-of-ranges field, evaluated. */
  ranges(call: Call, name: string): Array<[bigint, bigint]> {
    const raw = call[name] ?? [];
    if (!Array.isArray(raw)) throw new ProgramError(`${call.op}.${name}: expected a list`);
    return raw.map((r, i) => {
      if (!Array.isArray(r) || r.length !== 2) throw new ProgramError(`${call.op}.${name}[${i}]: expected [start, last]`);
      return [this.evalOrThrow(parseExpr(r[0]), `${call.op}.${name}[${i}]`), this.evalOrThrow(parseExpr(r[1]), `${call.op}.${name}[${i}]`)];
    });
  }

  /** A struct ioctl through the client's encoding (client/common.ts rawIoctl); `outs` lists "output:field" (or "field"). */
  raw(proc: Process, fd: number, cmd: number, layout: U.StructLayout, fields: U.StructValue, outs: string[]): OpOutcome {
    this.lastArgs = { pid: proc.pid, fd, fields };
    // Only the fields named as outputs are decoded.
    const names: string[] = new Array(outs.length);
    const keys: string[] = new Array(outs.length);
    for (let k = 0; k < outs.length; k++) {
      const o = outs[k];
      const c = o.indexOf(':');
      keys[k] = c < 0 ? o : o.slice(0, c);
      names[k] = c < 0 ? o : o.slice(c + 1);
    }
    const r = rawIoctl(proc, fd, cmd, layout, fields, { decode: names, reuseBytes: true });
    const outputs: Outputs = {};
    for (let k = 0; k < outs.length; k++) outputs[keys[k]] = r.out[names[k]];
    return { ret: r.rc, outputs };
  }

  // --- checks ------------------------------------------------------------------------

  liveContexts(): IommufdCtx[] {
    return [...this.contexts].filter((c) => c.alive);
  }

  /** The whole-state audit over every IOAS of every open context; the problems found. */
  audit(): number {
    const m = this.machine;
    const prevPanic = m.warn.panicOnWarn;
    const prevName = m.warn.syscall;
    m.warn.panicOnWarn = false;
    m.warn.syscall = 'audit';
    try {
      const iopts = this.liveContexts().flatMap((c) => c.iopts());
      return auditIopts(iommufdEnvOf(m), iopts, { exactPins: true });
    } finally {
      m.warn.panicOnWarn = prevPanic;
      m.warn.syscall = prevName;
    }
  }

  /** exit() every process (children first), then list what is still held. */
  teardown(): string[] {
    const m = this.machine;
    const prevPanic = m.warn.panicOnWarn;
    m.warn.panicOnWarn = false;
    try {
      const procs = [...this.procs.values()].sort((a, b) => b.pid - a.pid);
      for (const p of procs) p.exit();
    } finally {
      m.warn.panicOnWarn = prevPanic;
    }
    return this.leaks();
  }

  leaks(): string[] {
    const m = this.machine;
    const out: string[] = [];
    // A context still open comes first: what it holds (pins, charges, frames) is listed after it, and the
    // run's failure signature names the cause (LEAK an iommufd context is still open)
    for (const c of this.contexts) if (c.alive) out.push('an iommufd context is still open');
    let pinnedFolios = 0;
    let firstPinned = -1;
    for (const [head] of m.phys.folios()) {
      if (m.phys.folioPincount(head) > 0) {
        if (firstPinned < 0) firstPinned = head;
        pinnedFolios++;
      }
    }
    if (pinnedFolios > 0) out.push(`${pinnedFolios} folio(s) still pinned (first pfn ${firstPinned})`);
    for (const u of m.users.values()) if (u.lockedVm !== 0) out.push(`user ${u.uid} locked_vm ${u.lockedVm} pages`);
    // An mm whose last user left before iommufd uncharged it keeps that charge: update_mm_locked_vm()
    // refuses (mmget_not_zero() fails) and iopt_pages_update_pinned() leaves pinned_vm as it is, until
    // the struct goes with its last mmdrop. Anything else still counted is a leak.
    // Nor is one CHANGE_PROCESS skewed by moving unaccounted (CAP_IPC_LOCK) pages without their pinned_vm.
    for (const mm of this.mms) if (mm.pinnedVm !== 0 && !mm.unchargeRefused && !mm.pinnedVmMoved) out.push(`an mm has pinned_vm ${mm.pinnedVm} pages`);
    let i = 0;
    for (const cg of this.memcgs) {
      if (cg.usage !== 0) out.push(`memcg ${cg.name}#${i} still charged ${cg.usage} bytes`);
      i++;
    }
    const inUse = m.phys.framesInUse();
    if (inUse !== 0) out.push(`${inUse} frame(s) still in use`);
    const tables = m.phys.tablePages();
    if (tables !== 0) out.push(`${tables} page-table page(s) still counted`);
    return out;
  }
}

/** IOMMU_TEST_OP_* by name, as looked up. */
const TEST_OPS = new Map<string, number>();

/** The ExecCtx an op module runs a call with. */
class CallCtx implements ExecCtx {
  readonly machine: Machine;
  readonly profile: Profile;
  readonly index: number;

  constructor(
    private readonly x: Executor,
    readonly call: Call,
    readonly spec: OpSpec,
    readonly proc: Process,
  ) {
    this.machine = x.machine;
    this.profile = x.machine.profile;
    this.index = x.callIndex;
  }

  v(name: string): bigint {
    return this.x.value(this.call, this.spec, name, this.proc);
  }

  n32(name: string): number {
    return Number(BigInt.asUintN(32, this.v(name)));
  }

  s32(name: string): number {
    return Number(BigInt.asIntN(32, this.v(name)));
  }

  has(name: string): boolean {
    return this.call[name] !== undefined;
  }

  ranges(name: string): Array<[bigint, bigint]> {
    return this.x.ranges(this.call, name);
  }

  fail(message: string): never {
    throw new ProgramError(message);
  }

  struct(cmd: number, layout: U.StructLayout, fields: U.StructValue, outs: string[]): OpOutcome {
    const size = this.has('size') ? this.n32('size') : layout.size;
    return this.x.raw(this.proc, this.s32('fd'), cmd, layout, { size, ...fields }, outs);
  }

  raw(fd: number, cmd: number, layout: U.StructLayout, fields: U.StructValue, outs: string[]): OpOutcome {
    return this.x.raw(this.proc, fd, cmd, layout, fields, outs);
  }

  test(op: string, id: number, fields: U.StructValue, outs: string[], fix?: (rc: number, out: Outputs) => void): OpOutcome {
    let opNum = TEST_OPS.get(op);
    if (opNum === undefined) {
      opNum = (U as unknown as Record<string, number>)[`IOMMU_TEST_OP_${op}`];
      TEST_OPS.set(op, opNum);
    }
    // Encoded with the newest layout (a superset, as the C export's struct); the size word is the profile's struct size.
    const size = this.has('size') ? this.n32('size') : this.profile.testCmdDirtyUnion ? U.iommu_test_cmd.size : U.iommu_test_cmd_v6_5.size;
    const r = this.x.raw(this.proc, this.s32('fd'), U.IOMMU_TEST_CMD, U.iommu_test_cmd, { size, op: opNum, id, ...fields }, outs);
    fix?.(Number(r.ret), r.outputs);
    return r;
  }

  userBuffer(bytes: Uint8Array): bigint {
    return this.x.quiet(this.proc, () => {
      const a = this.x.scratch(this.proc).get(bytes.length);
      this.proc.writeMemory(a, bytes);
      return a;
    });
  }

  readUser(va: bigint, len: number): Uint8Array | undefined {
    const buf = new Uint8Array(len);
    return this.x.quiet(this.proc, () => this.proc.readMemory(va, buf)) === 0 ? buf : undefined;
  }

  quiet<T>(fn: () => T): T {
    return this.x.quiet(this.proc, fn);
  }

  adoptChild(child: Process): void {
    this.x.adopt(child);
    this.x.inheritScratch(this.proc, child);
    const fd = this.x.defaultFd.get(this.proc);
    if (fd !== undefined) this.x.defaultFd.set(child, fd);
  }

  opened(path: string, fd: number): void {
    if (!IOMMUFD_PATHS.has(path)) return;
    this.x.defaultFd.set(this.proc, fd);
    const ctx = iommufdCtxOf(this.proc, fd);
    if (ctx) this.x.contexts.add(ctx);
  }

  armFailNth(nth: number): void {
    // 0 arms nothing (proc_fail_nth_write() of 0 leaves fail_nth off; the exported C arms only a non-zero nth)
    if (nth === 0) this.x.pendingFail.delete(this.proc);
    else this.x.pendingFail.set(this.proc, nth);
  }

  snapshotHere(title: string): void {
    if (this.x.opts.snapshot) this.x.snapshots.push({ index: this.index, title, state: this.x.snapshot() });
  }
}

/**
 * Bind what a call's `as` names for the calls after it: `as` the op's primary output (or its
 * return), `as.o` every output that is a number.
 */
export function bindOutputs(handles: Map<string, bigint>, as: string, spec: Pick<OpSpec, 'primary'>, ret: number | bigint, outputs: Outputs): void {
  const primary = spec.primary !== undefined ? outputs[spec.primary] : ret;
  handles.set(as, toBig(primary ?? 0));
  for (const k in outputs) {
    const v = outputs[k];
    if (typeof v !== 'string') handles.set(joined(handleNames, as, '.', k), toBig(v));
  }
}

/** `as.output` handle names and `op:errno` coverage labels, each string made once (a run makes them call after call). */
const handleNames = new Map<string, Map<string, string>>();
const outcomeLabels = new Map<string, Map<string, string>>();

function toBig(v: number | bigint | string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return 0n;
}

function hex(v: number | bigint): string {
  return `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
}

function normText(s: string): string {
  return s.toLowerCase().replace(/0x/g, '').replace(/[\s_]/g, '');
}

function describeError(e: unknown): { name: string; message: string; stack?: string } {
  if (e instanceof Error) return { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { name: 'Error', message: String(e) };
}

/** Run a program on a fresh machine. Never throws for the program's sake. */
export function runProgram(p: Program, opts: RunOptions = {}): RunResult {
  // Record the fault points the run passes (a cheap path signal) through the
  // fault hook, passing each on to the hook already set (the fuzzer's signal).
  const points = new Set<FaultPoint>();
  const prevHook = setFaultHook(undefined);
  setFaultHook(
    prevHook === undefined
      ? (point) => {
          points.add(point);
        }
      : (point, failed) => {
          points.add(point);
          prevHook(point, failed);
        },
  );
  try {
    return runProgramHooked(p, opts, points);
  } finally {
    setFaultHook(prevHook);
  }
}

/** `fp:<name>` of each fault point, made once. */
const pointLabels = new Map<FaultPoint, string>();
function pointLabel(pt: FaultPoint): string {
  let l = pointLabels.get(pt);
  if (l === undefined) {
    l = `fp:${pt.name}`;
    pointLabels.set(pt, l);
  }
  return l;
}

function runProgramHooked(p: Program, opts: RunOptions, points: Set<FaultPoint>): RunResult {
  const profile = (opts.profile ?? p.profile ?? 'latest') as ProfileName;
  const x = new Executor(p, profile, opts, points);
  const m = x.machine;
  const results: CallResult[] = [];
  const reasons: string[] = [];
  let exception: RunResult['exception'];
  let auditProblems = 0;
  const auditReasons: string[] = [];
  const calls = Array.isArray(p.calls) ? p.calls : [];
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i];
    let r: CallResult;
    try {
      r = x.run(call, i);
    } catch (e) {
      if (e instanceof ProgramError) {
        exception = { name: 'ProgramError', message: `call ${i} (${String(call?.op)}): ${e.message}` };
        reasons.push(exception.message);
      } else {
        exception = describeError(e);
        if (e instanceof KernelWarning) x.coverage.add(`panic:${e.assertion}`);
        reasons.push(`call ${i} (${String(call?.op)}) raised ${exception.name}: ${exception.message}`);
      }
      results.push({ index: i, op: String(call?.op), ret: 0, outputs: {}, met: false, expected: 'no exception' });
      break;
    }
    results.push(r);
    if (!r.met) reasons.push(`call ${i} (${r.op}): expected ${r.expected}, got ${r.errno ?? `ok (${String(r.ret)})`}${outputsText(r)}`);
    opts.onCall?.(r, m);
    if (opts.audit) {
      const n = x.audit();
      if (n > 0) {
        auditProblems += n;
        auditReasons.push(`audit after call ${i} (${r.op}): ${n} problem(s)`);
        if (opts.panicOnWarn || opts.stopOnFailure) {
          break;
        }
      }
    }
    if (!r.met && opts.stopOnFailure) {
      break;
    }
  }
  let state: StateSnapshot | undefined;
  if (opts.snapshot) {
    try {
      state = x.snapshot();
    } catch (e) {
      reasons.push(`state snapshot failed: ${(e as Error).message}`);
    }
  }
  let leaks: string[] = [];
  // After a JavaScript exception the model's state is unknown: no teardown.
  const jsException = exception !== undefined && exception.name !== 'KernelWarning' && exception.name !== 'ProgramError';
  if (!jsException) {
    try {
      leaks = x.teardown();
    } catch (e) {
      const d = describeError(e);
      exception ??= { ...d, message: `during teardown: ${d.message}` };
      reasons.push(`teardown raised ${d.name}: ${d.message}`);
    }
  }
  for (const pt of x.pointsSeen) x.coverage.add(pointLabel(pt));
  const warnings = [...m.warnings];
  for (const w of warnings) x.coverage.add(`warn:${w.assertion}`);
  const want = expectedWarning(p, profile);
  const seen = want !== undefined && warnings.some((w) => w.assertion === want);
  if (want !== undefined && !seen) reasons.push(`expected WARN ${want} did not fire`);
  if (!seen) {
    const unexpected = warnings.filter((w) => !w.assertion.startsWith('audit.'));
    for (const w of unexpected.slice(0, 5)) reasons.push(`WARN ${w.assertion}: ${w.message}${w.syscall ? ` (in ${w.syscall})` : ''}`);
    if (exception?.name === 'KernelWarning') {
      // already listed through the warning itself
    }
    reasons.push(...auditReasons);
    for (const l of leaks) reasons.push(`leak: ${l}`);
  } else if (exception?.name === 'KernelWarning') {
    // The expected WARN with panicOnWarn: what follows a WARN is not judged.
    const idx = reasons.findIndex((r) => r.includes('raised KernelWarning'));
    if (idx >= 0) reasons.splice(idx, 1);
    const last = results[results.length - 1];
    if (last && last.expected === 'no exception') {
      last.met = true;
      delete last.expected;
    }
  }
  const failed = reasons.length > 0;
  const res: RunResult = {
    results,
    warnings,
    leaks,
    auditProblems,
    failed,
    machine: m,
    coverage: x.coverage,
    reasons,
    profile,
    expectedWarningSeen: seen,
  };
  if (exception && !(seen && exception.name === 'KernelWarning')) res.exception = exception;
  if (state) res.state = state;
  if (opts.snapshot) res.snapshots = x.snapshots;
  return res;
}

/** An output value as text: hex for addresses and big values, decimal for small ones. */
export function valueText(v: number | bigint | string): string {
  if (typeof v === 'string') return v.length > 48 ? `${v.slice(0, 48)}...` : v;
  if (v < 0) return String(v);
  return v < 4096 ? String(v) : hex(v);
}

function outputsText(r: CallResult): string {
  const e = Object.entries(r.outputs);
  if (e.length === 0) return '';
  return ` (${e.map(([k, v]) => `${k}=${valueText(v)}`).join(' ')})`;
}

/** One-line text of a call result (for the CLI and reports). */
export function formatResult(r: CallResult): string {
  const ret = r.errno ? `-${r.errno}` : typeof r.ret === 'bigint' ? hex(r.ret) : String(r.ret);
  return `${ret}${outputsText(r)}`;
}

