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
import { EBADF, EINVAL, ENOENT, errnoName } from '../base/errno.js';
import { UserScratch } from '../client/common.js';
import type { FaultPoint } from '../base/fault.js';
import { type ProfileName, profileByName } from '../base/profile.js';
import { KernelWarning, type WarningRecord } from '../base/warn.js';
import { auditIopts } from '../iommufd/audit.js';
import type { IommufdCtx } from '../iommufd/main.js';
import * as U from '../iommufd/uapi.js';
import { Machine } from '../machine/machine.js';
import { iommufdCtxOf, iommufdEnvOf } from '../machine/iommufd-node.js';
import type { Process } from '../machine/process.js';
import type { MemCgroup } from '../mm/accounting.js';
import type { MmStruct } from '../mm/address-space.js';
import { MADV_HUGEPAGE, } from '../mm/constants.js';
import {
  type Call,
  type Expectation,
  type Expr,
  OPS,
  type OpSpec,
  type Program,
  evalExpr,
  expectationFor,
  expectedWarning,
  fieldExpr,
  parseExpectation,
  parseExpr,
  parseHex,
  toHex,
} from './program.js';
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
  /** Called after each call (progress output, the fuzzer's signal). */
  onCall?: (r: CallResult, machine: Machine) => void;
}

// ---------------------------------------------------------------------------

/** A program error found while running (unknown handle, bad value). */
class ProgramError extends Error {}

const O_RDWR = 2;
const IOMMUFD_PATHS = new Set(['/dev/iommu', '/dev/vfio/vfio']);
/** read_memory reports `data` up to this many bytes. */
const DATA_OUTPUT_MAX = 4096;
/** Largest buffer write_memory / read_memory will build. */
const MEMORY_OP_MAX = 256 * 1024 * 1024;

type Outputs = Record<string, number | bigint | string>;
interface OpOutcome {
  ret: number | bigint;
  outputs: Outputs;
}

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
  private readonly pendingFail = new Map<Process, number>();
  readonly coverage = new Set<string>();
  readonly pointsSeen = new Set<FaultPoint>();

  constructor(
    readonly program: Program,
    readonly profile: ProfileName,
    readonly opts: RunOptions,
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
      ...(program.phys_layout === 'linear' || program.phys_layout === 'scattered' ? { physLayout: program.phys_layout } : {}),
    });
    // Record the fault points the run passes (a cheap path signal).
    const faults = this.machine.faults;
    const orig = faults.shouldFail.bind(faults);
    const seen = this.pointsSeen;
    faults.shouldFail = (p: FaultPoint): boolean => {
      seen.add(p);
      return orig(p);
    };
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
    return this.evalOrThrow(fieldExpr(f, raw), `${call.op}.${name}`);
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
    const spec = OPS[call.op];
    if (!spec) throw new ProgramError(`unknown op ${JSON.stringify(call.op)}`);
    const proc = this.procOf(call);
    this.callIndex = index;
    this.lastArgs = undefined;
    const arm = this.pendingFail.get(proc);
    if (arm !== undefined && call.op !== 'fail_nth') {
      this.pendingFail.delete(proc);
      proc.setFailNth(arm);
    }
    let outcome: OpOutcome;
    try {
      outcome = this.exec(call, spec, proc);
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
    // Bind handles: `as` gets the primary output (or the return), `as.o` every output.
    if (typeof call.as === 'string') {
      const primary = spec.primary !== undefined ? outputs[spec.primary] : ret;
      this.handles.set(call.as, toBig(primary ?? 0));
      for (const [k, v] of Object.entries(outputs)) if (typeof v !== 'string') this.handles.set(`${call.as}.${k}`, toBig(v));
    }
    this.coverage.add(`${call.op}:${errno ?? 'ok'}`);
    const raw = expectationFor(call, this.profile);
    const exp = parseExpectation(raw);
    if (typeof exp === 'string') throw new ProgramError(`expect: ${exp}`);
    const { met, expected } = this.check(exp, ret, errno, outputs);
    const r: CallResult = { index, op: call.op, ret, outputs, met };
    if (errno !== undefined) r.errno = errno;
    if (expected !== undefined) r.expected = expected;
    if (this.lastArgs !== undefined) r.args = this.lastArgs;
    return r;
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

  exec(call: Call, spec: OpSpec, proc: Process): OpOutcome {
    const v = (name: string): bigint => this.value(call, spec, name, proc);
    const n32 = (name: string): number => Number(BigInt.asUintN(32, v(name)));
    const s32 = (name: string): number => Number(BigInt.asIntN(32, v(name)));
    const none: Outputs = {};
    switch (call.op) {
      case 'mmap': {
        const len = v('length');
        const r = proc.mmap(v('addr'), len, n32('prot'), n32('flags'), s32('fd'), v('offset'));
        if (r >= 0n && call.thp === true) {
          const rc = proc.madvise(r, len, MADV_HUGEPAGE);
          if (rc < 0) return { ret: rc, outputs: { addr: r } };
        }
        return { ret: r, outputs: { addr: r >= 0n ? r : 0n } };
      }
      case 'munmap':
        return { ret: proc.munmap(v('addr'), v('length')), outputs: none };
      case 'mprotect':
        return { ret: proc.mprotect(v('addr'), v('length'), n32('prot')), outputs: none };
      case 'madvise':
        return { ret: proc.madvise(v('addr'), v('length'), s32('advice')), outputs: none };
      case 'write_memory': {
        let data: Uint8Array;
        if (call.data !== undefined) {
          const h = parseHex(call.data);
          if (typeof h === 'string') throw new ProgramError(`write_memory.data: ${h}`);
          data = h;
        } else {
          const len = v('length');
          if (len > BigInt(MEMORY_OP_MAX)) throw new ProgramError(`write_memory: length ${len} is over ${MEMORY_OP_MAX}`);
          data = new Uint8Array(Number(len)).fill(Number(v('fill') & 0xffn));
        }
        return { ret: proc.writeMemory(v('addr'), data), outputs: none };
      }
      case 'read_memory': {
        const len = v('length');
        if (len > BigInt(MEMORY_OP_MAX)) throw new ProgramError(`read_memory: length ${len} is over ${MEMORY_OP_MAX}`);
        const buf = new Uint8Array(Number(len));
        const rc = proc.readMemory(v('addr'), buf);
        const outputs: Outputs = {};
        if (rc === 0) {
          if (buf.length <= DATA_OUTPUT_MAX) outputs.data = toHex(buf);
          outputs.fill = buf.length > 0 && buf.every((b) => b === buf[0]) ? buf[0] : -1;
        }
        return { ret: rc, outputs };
      }
      case 'memfd_create': {
        const fd = proc.memfdCreate(typeof call.name === 'string' ? call.name : 'sim', n32('flags'));
        return { ret: fd, outputs: { fd } };
      }
      case 'ftruncate':
        return { ret: proc.ftruncate(s32('fd'), v('length')), outputs: none };
      case 'fork': {
        const r = proc.forkOrErrno();
        if (typeof r === 'number') return { ret: r, outputs: { pid: 0 } };
        this.adopt(r);
        const fd = this.defaultFd.get(proc);
        if (fd !== undefined) this.defaultFd.set(r, fd);
        return { ret: r.pid, outputs: { pid: r.pid } };
      }
      case 'exit':
        proc.exit();
        return { ret: 0, outputs: none };
      case 'fail_nth':
        this.pendingFail.set(proc, n32('nth'));
        return { ret: 0, outputs: none };
      case 'open': {
        const path = typeof call.path === 'string' ? call.path : '/dev/iommu';
        const fd = proc.open(path, call.flags === undefined ? O_RDWR : n32('flags'));
        if (fd >= 0 && IOMMUFD_PATHS.has(path)) {
          this.defaultFd.set(proc, fd);
          const ctx = iommufdCtxOf(proc, fd);
          if (ctx) this.contexts.add(ctx);
        }
        return { ret: fd, outputs: { fd } };
      }
      case 'close':
        return { ret: proc.close(s32('fd')), outputs: none };
      case 'destroy':
        return this.struct(call, spec, proc, U.IOMMU_DESTROY, U.iommu_destroy, { id: n32('id') }, []);
      case 'ioas_alloc':
        return this.struct(call, spec, proc, U.IOMMU_IOAS_ALLOC, U.iommu_ioas_alloc, { flags: n32('flags') }, ['ioas_id:out_ioas_id']);
      case 'ioas_allow_iovas': {
        const ranges = this.ranges(call, 'ranges');
        const bytes = new Uint8Array(Math.max(16, ranges.length * 16));
        ranges.forEach(([s, l], i) => {
          U.iommu_iova_range.encode({ start: s, last: l }, bytes.subarray(i * 16, i * 16 + 16));
        });
        const va = this.quiet(proc, () => {
          const a = this.scratch(proc).get(bytes.length);
          proc.writeMemory(a, bytes);
          return a;
        });
        return this.struct(call, spec, proc, U.IOMMU_IOAS_ALLOW_IOVAS, U.iommu_ioas_allow_iovas, { ioas_id: n32('ioas'), num_iovas: ranges.length, allowed_iovas: va }, []);
      }
      case 'ioas_iova_ranges': {
        const cap = n32('num_iovas');
        const room = Math.min(cap, 4096);
        const va = this.quiet(proc, () => {
          const a = this.scratch(proc).get(Math.max(16, room * 16));
          proc.writeMemory(a, new Uint8Array(Math.max(16, room * 16)));
          return a;
        });
        const r = this.struct(call, spec, proc, U.IOMMU_IOAS_IOVA_RANGES, U.iommu_ioas_iova_ranges, { ioas_id: n32('ioas'), num_iovas: cap, allowed_iovas: va }, ['num_iovas', 'out_iova_alignment']);
        const total = Number(r.outputs.num_iovas ?? 0);
        const shown = Math.min(total, room);
        const buf = new Uint8Array(shown * 16);
        if (shown > 0) this.quiet(proc, () => proc.readMemory(va, buf));
        const parts: string[] = [];
        for (let i = 0; i < shown; i++) {
          const d = U.iommu_iova_range.decode(buf.subarray(i * 16, i * 16 + 16));
          parts.push(`${hex(d.start)}-${hex(d.last)}`);
        }
        r.outputs.ranges = parts.join(',');
        return r;
      }
      case 'ioas_map': {
        const fixed = this.has(call, 'iova') ? U.IOMMU_IOAS_MAP_FIXED_IOVA : 0;
        const flags = this.has(call, 'flags') ? n32('flags') : U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE | fixed;
        return this.struct(call, spec, proc, U.IOMMU_IOAS_MAP, U.iommu_ioas_map, { flags, ioas_id: n32('ioas'), user_va: v('user_va'), length: v('length'), iova: v('iova') }, ['iova']);
      }
      case 'ioas_copy': {
        const fixed = this.has(call, 'dst_iova') ? U.IOMMU_IOAS_MAP_FIXED_IOVA : 0;
        const flags = this.has(call, 'flags') ? n32('flags') : U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE | fixed;
        return this.struct(
          call,
          spec,
          proc,
          U.IOMMU_IOAS_COPY,
          U.iommu_ioas_copy,
          { flags, dst_ioas_id: n32('dst_ioas'), src_ioas_id: n32('src_ioas'), length: v('length'), dst_iova: v('dst_iova'), src_iova: v('src_iova') },
          ['dst_iova'],
        );
      }
      case 'ioas_unmap':
        return this.struct(call, spec, proc, U.IOMMU_IOAS_UNMAP, U.iommu_ioas_unmap, { ioas_id: n32('ioas'), iova: v('iova'), length: v('length') }, ['length']);
      case 'option':
        return this.struct(
          call,
          spec,
          proc,
          U.IOMMU_OPTION,
          U.iommu_option,
          { option_id: n32('option_id'), op: n32('operation') & 0xffff, object_id: n32('object_id'), val64: v('val64') },
          ['val64'],
        );
      case 'vfio_ioas':
        return this.struct(call, spec, proc, U.IOMMU_VFIO_IOAS, U.iommu_vfio_ioas, { ioas_id: n32('ioas'), op: n32('operation') & 0xffff }, ['ioas_id']);
      // --- IOMMU_TEST_CMD
      case 'add_reserved':
        return this.test(call, spec, proc, 'ADD_RESERVED', n32('ioas'), { 'add_reserved.start': v('start'), 'add_reserved.length': v('length') }, []);
      case 'mock_domain':
        return this.test(call, spec, proc, 'MOCK_DOMAIN', n32('pt'), {}, ['stdev_id:mock_domain.out_stdev_id', 'hwpt_id:mock_domain.out_hwpt_id', 'idev_id:mock_domain.out_idev_id']);
      case 'mock_domain_flags':
        return this.test(call, spec, proc, 'MOCK_DOMAIN_FLAGS', n32('pt'), { 'mock_domain_flags.dev_flags': n32('dev_flags') }, [
          'stdev_id:mock_domain_flags.out_stdev_id',
          'hwpt_id:mock_domain_flags.out_hwpt_id',
          'idev_id:mock_domain_flags.out_idev_id',
        ]);
      case 'mock_domain_replace':
        return this.test(call, spec, proc, 'MOCK_DOMAIN_REPLACE', n32('stdev'), { 'mock_domain_replace.pt_id': n32('pt') }, ['pt_id:mock_domain_replace.pt_id']);
      case 'md_check_map':
        return this.test(call, spec, proc, 'MD_CHECK_MAP', n32('hwpt'), { 'check_map.iova': v('iova'), 'check_map.length': v('length'), 'check_map.uptr': v('uptr') }, []);
      case 'md_check_refs':
        return this.test(call, spec, proc, 'MD_CHECK_REFS', 0, { 'check_refs.length': v('length'), 'check_refs.uptr': v('uptr'), 'check_refs.refs': n32('refs') }, []);
      case 'create_access':
        return this.test(call, spec, proc, 'CREATE_ACCESS', n32('ioas'), { 'create_access.flags': n32('flags') }, ['access_fd:create_access.out_access_fd'], (rc, out) => {
          if (rc < 0) out.access_fd = -1;
        });
      case 'access_replace_ioas':
        return this.test(call, spec, proc, 'ACCESS_REPLACE_IOAS', n32('access'), { 'access_replace_ioas.ioas_id': n32('ioas') }, []);
      case 'access_pages':
        return this.test(
          call,
          spec,
          proc,
          'ACCESS_PAGES',
          n32('access'),
          { 'access_pages.flags': n32('flags'), 'access_pages.iova': v('iova'), 'access_pages.length': v('length'), 'access_pages.uptr': v('uptr') },
          ['access_pages_id:access_pages.out_access_pages_id'],
        );
      case 'destroy_access_pages':
        return this.test(call, spec, proc, 'DESTROY_ACCESS_PAGES', n32('access'), { 'destroy_access_pages.access_pages_id': n32('access_pages_id') }, []);
      case 'access_rw':
        return this.test(
          call,
          spec,
          proc,
          'ACCESS_RW',
          n32('access'),
          { 'access_rw.iova': v('iova'), 'access_rw.length': v('length'), 'access_rw.uptr': v('uptr'), 'access_rw.flags': n32('flags') },
          [],
        );
      case 'set_temp_memory_limit':
        return this.test(call, spec, proc, 'SET_TEMP_MEMORY_LIMIT', 0, { 'memory_limit.limit': n32('limit') }, []);
      // --- VFIO
      case 'vfio_get_api_version':
        return { ret: proc.ioctl(s32('fd'), U.VFIO_GET_API_VERSION, 0n), outputs: none };
      case 'vfio_check_extension':
        return { ret: proc.ioctl(s32('fd'), U.VFIO_CHECK_EXTENSION, v('extension')), outputs: none };
      case 'vfio_set_iommu':
        return { ret: proc.ioctl(s32('fd'), U.VFIO_SET_IOMMU, v('type')), outputs: none };
      case 'vfio_iommu_get_info':
        return this.vfioGetInfo(proc, s32('fd'), n32('argsz'));
      case 'vfio_map_dma': {
        const fields = { argsz: this.has(call, 'argsz') ? n32('argsz') : U.vfio_iommu_type1_dma_map.size, flags: n32('flags'), vaddr: v('vaddr'), iova: v('iova'), size: v('size') };
        return this.raw(proc, s32('fd'), U.VFIO_IOMMU_MAP_DMA, U.vfio_iommu_type1_dma_map, fields, []);
      }
      case 'vfio_unmap_dma': {
        const fields = { argsz: this.has(call, 'argsz') ? n32('argsz') : U.vfio_iommu_type1_dma_unmap.size, flags: n32('flags'), iova: v('iova'), size: v('size') };
        return this.raw(proc, s32('fd'), U.VFIO_IOMMU_UNMAP_DMA, U.vfio_iommu_type1_dma_unmap, fields, ['size']);
      }
      case 'check_state':
        return this.checkState(call, spec, proc);
      case 'report':
        if (this.opts.snapshot) {
          this.snapshots.push({ index: this.callIndex, title: typeof call.title === 'string' ? call.title : `after call ${this.callIndex - 1}`, state: this.snapshot() });
        }
        return { ret: 0, outputs: none };
      case 'ioctl': {
        const cmd = n32('cmd');
        if (call.data !== undefined) {
          const h = parseHex(call.data);
          if (typeof h === 'string') throw new ProgramError(`ioctl.data: ${h}`);
          const bytes = h.slice();
          const rc = proc.ioctlStruct(s32('fd'), cmd, bytes);
          return { ret: rc, outputs: { data: toHex(bytes) } };
        }
        return { ret: proc.ioctl(s32('fd'), cmd, v('arg')), outputs: none };
      }
      default:
        throw new ProgramError(`op ${call.op} is not implemented`);
    }
  }

  /**
   * check_state: read (never change) the pins of a user range, the calling
   * process's accounting and a pages object's npinned. Pins are counted per
   * 4 KiB page, on compound folios too (unlike MD_CHECK_REFS); a page with
   * nothing mapped counts as 0 pins and in `unmapped`.
   */
  checkState(call: Call, spec: OpSpec, proc: Process): OpOutcome {
    const outputs: Outputs = {};
    const task = proc.task;
    if (this.has(call, 'uptr')) {
      const start = this.value(call, spec, 'uptr', proc) & ~0xfffn;
      const end = this.value(call, spec, 'uptr', proc) + (this.has(call, 'length') ? this.value(call, spec, 'length', proc) : 4096n);
      const n = Number((end - start + 0xfffn) >> 12n);
      if (end <= start || n > MEMORY_OP_MAX / 4096) return { ret: -EINVAL, outputs };
      const phys = this.machine.phys;
      let min = Number.POSITIVE_INFINITY;
      let max = 0;
      let unmapped = 0;
      for (let i = 0; i < n; i++) {
        const pfn = task.mm.lookupPfn(start + BigInt(i) * 4096n);
        const pins = pfn < 0 ? 0 : phys.pincount(pfn);
        if (pfn < 0) unmapped++;
        if (pins < min) min = pins;
        if (pins > max) max = pins;
      }
      outputs.pins = min === max ? min : -1;
      outputs.pins_min = min;
      outputs.pins_max = max;
      outputs.unmapped = unmapped;
    }
    outputs.locked_vm = task.mm.lockedVm * 4096;
    outputs.user_locked_vm = task.user.lockedVm * 4096;
    outputs.pinned_vm = task.mm.pinnedVm * 4096;
    outputs.memcg = task.memcg.usage;
    if (this.has(call, 'ioas') || this.has(call, 'iova')) {
      const ctx = iommufdCtxOf(proc, Number(BigInt.asIntN(32, this.value(call, spec, 'fd', proc))));
      if (!ctx) return { ret: -EBADF, outputs };
      const ioas = Number(BigInt.asUintN(32, this.value(call, spec, 'ioas', proc)));
      const iova = this.value(call, spec, 'iova', proc);
      const snap = snapshotState(this.machine, [ctx], [proc]);
      const area = snap.areas.find((a) => a.ioas === ioas && a.first <= iova && iova <= a.last);
      const pages = area && area.pages >= 0 ? snap.pages[area.pages] : undefined;
      if (!pages) return { ret: -ENOENT, outputs };
      outputs.npinned = pages.npinned;
    }
    return { ret: 0, outputs };
  }

  ranges(call: Call, name: string): Array<[bigint, bigint]> {
    const raw = call[name] ?? [];
    if (!Array.isArray(raw)) throw new ProgramError(`${call.op}.${name}: expected a list`);
    return raw.map((r, i) => {
      if (!Array.isArray(r) || r.length !== 2) throw new ProgramError(`${call.op}.${name}[${i}]: expected [start, last]`);
      return [this.evalOrThrow(parseExpr(r[0]), `${call.op}.${name}[${i}]`), this.evalOrThrow(parseExpr(r[1]), `${call.op}.${name}[${i}]`)];
    });
  }

  /** A size-prefixed iommufd ioctl; `outs` lists "output:field" (or "field") to report. */
  struct(call: Call, spec: OpSpec, proc: Process, cmd: number, layout: U.StructLayout, fields: U.StructValue, outs: string[]): OpOutcome {
    const size = call.size !== undefined ? Number(BigInt.asUintN(32, this.value(call, spec, 'size', proc))) : layout.size;
    const fd = Number(BigInt.asIntN(32, this.value(call, spec, 'fd', proc)));
    return this.raw(proc, fd, cmd, layout, { size, ...fields }, outs);
  }

  raw(proc: Process, fd: number, cmd: number, layout: U.StructLayout, fields: U.StructValue, outs: string[]): OpOutcome {
    this.lastArgs = { pid: proc.pid, fd, fields };
    const bytes = layout.encode(fields);
    const rc = proc.ioctlStruct(fd, cmd, bytes);
    const out = layout.decode(bytes);
    const outputs: Outputs = {};
    for (const o of outs) {
      const [name, field] = o.includes(':') ? o.split(':') : [o, o];
      outputs[name] = out[field];
    }
    return { ret: rc, outputs };
  }

  test(call: Call, spec: OpSpec, proc: Process, op: string, id: number, fields: U.StructValue, outs: string[], fix?: (rc: number, out: Outputs) => void): OpOutcome {
    const opNum = (U as unknown as Record<string, number>)[`IOMMU_TEST_OP_${op}`];
    // Encode with the newest layout (a superset); the size word is the profile's struct size.
    const defSize = profileByName(this.profile)?.testCmdDirtyUnion ? U.iommu_test_cmd.size : U.iommu_test_cmd_v6_5.size;
    const size = call.size !== undefined ? Number(BigInt.asUintN(32, this.value(call, spec, 'size', proc))) : defSize;
    const fd = Number(BigInt.asIntN(32, this.value(call, spec, 'fd', proc)));
    const r = this.raw(proc, fd, U.IOMMU_TEST_CMD, U.iommu_test_cmd, { size, op: opNum, id, ...fields }, outs);
    fix?.(Number(r.ret), r.outputs);
    return r;
  }

  vfioGetInfo(proc: Process, fd: number, argsz: number): OpOutcome {
    const len = Math.max(24, Math.min(argsz, 1 << 20));
    const buf = new Uint8Array(len);
    U.vfio_iommu_type1_info.encode({ argsz }, buf);
    const va = this.quiet(proc, () => {
      const a = this.scratch(proc).get(len);
      proc.writeMemory(a, buf);
      return a;
    });
    const rc = proc.ioctl(fd, U.VFIO_IOMMU_GET_INFO, va);
    this.quiet(proc, () => proc.readMemory(va, buf));
    const info = U.vfio_iommu_type1_info.decode(buf);
    const outputs: Outputs = { argsz: info.argsz, flags: info.flags, iova_pgsizes: info.iova_pgsizes, cap_offset: info.cap_offset };
    // Walk the capability chain inside the buffer for the IOVA ranges.
    const dv = new DataView(buf.buffer);
    let off = Number(info.cap_offset);
    const seen = new Set<number>();
    const parts: string[] = [];
    while (off >= 24 && off + 8 <= len && !seen.has(off)) {
      seen.add(off);
      const id = dv.getUint16(off, true);
      const next = dv.getUint32(off + 4, true);
      if (id === U.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE && off + 16 <= len) {
        const n = dv.getUint32(off + 8, true);
        for (let i = 0; i < n && off + 16 + 16 * (i + 1) <= len; i++) {
          parts.push(`${hex(dv.getBigUint64(off + 16 + 16 * i, true))}-${hex(dv.getBigUint64(off + 24 + 16 * i, true))}`);
        }
      }
      off = next;
    }
    outputs.ranges = parts.join(',');
    return { ret: rc, outputs };
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
    for (const mm of this.mms) if (mm.pinnedVm !== 0) out.push(`an mm has pinned_vm ${mm.pinnedVm} pages`);
    let i = 0;
    for (const cg of this.memcgs) {
      if (cg.usage !== 0) out.push(`memcg ${cg.name}#${i} still charged ${cg.usage} bytes`);
      i++;
    }
    const inUse = m.phys.framesInUse();
    if (inUse !== 0) out.push(`${inUse} frame(s) still in use`);
    for (const c of this.contexts) if (c.alive) out.push('an iommufd context is still open');
    return out;
  }
}

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
  const profile = (opts.profile ?? p.profile ?? 'latest') as ProfileName;
  const x = new Executor(p, profile, opts);
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
  for (const pt of x.pointsSeen) x.coverage.add(`fp:${pt.name}`);
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

