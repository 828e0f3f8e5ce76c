// SPDX-License-Identifier: GPL-2.0-only
/**
 * The contract of an op module (src/fuzz/ops/): one op of the program format
 * (or a tight family), written once. A module holds the op's spec (fields,
 * handles, docs), whether a profile's kernel has it, how to execute it on
 * the model, how to generate and mutate it and how to emit it as C. The
 * executor, the generator, the mutator and the C export each hand the module
 * a small context (the interfaces below) and never switch on op names.
 *
 * Op modules import only this file, spec.ts, values.ts and lower layers at
 * run time, so the registry loads without cycles.
 */
import type { Prng } from '../../base/prng.js';
import type { Profile } from '../../base/profile.js';
import type * as U from '../../iommufd/uapi.js';
import type { Machine } from '../../machine/machine.js';
import type { Process } from '../../machine/process.js';
import type { Call } from '../program.js';

// ---------------------------------------------------------------------------
// Specs

/** What a field holds. */
export type FieldKind =
  /** An integer expression (u8..u64 or s32, see `width`). */
  | 'int'
  /** A list of flag names or numbers OR-ed together (or one integer expression). */
  | 'flags'
  /** One name of `values`, or an integer expression. */
  | 'enum'
  | 'bool'
  | 'string'
  /** Hex bytes: "0a0b0c" (spaces and 0x prefix allowed). */
  | 'hex'
  /** A list of [start, last] pairs of integer expressions. */
  | 'ranges';

/** Kinds of handle a field takes or a call produces (for the generator). */
export type HandleKind =
  | 'addr'
  | 'fd'
  | 'iommufd'
  | 'ioas'
  | 'hwpt'
  | 'stdev'
  | 'idev'
  | 'access'
  | 'access_pages'
  | 'fault'
  | 'viommu'
  | 'vdevice'
  | 'proc'
  | 'iova'
  | 'value';

export type Width = 'u8' | 'u16' | 'u32' | 's32' | 'u64';

export interface FieldSpec {
  readonly kind: FieldKind;
  /** C width of the value (int, flags, enum). */
  readonly width?: Width;
  readonly required?: boolean;
  /** Value used when the field is absent (in program syntax). */
  readonly default?: string | number | boolean | readonly string[];
  /** fd fields: absent means the last iommufd the calling process opened. */
  readonly defaultIommufd?: boolean;
  /** Flag bits or enum values by name. */
  readonly values?: Readonly<Record<string, number>>;
  /** The handle kind usually passed here (generator hint). */
  readonly handle?: HandleKind;
  readonly doc: string;
}

export interface OpSpec {
  readonly doc: string;
  /** `meta` ops make no system call (the generator may skip them). */
  readonly group: 'mm' | 'process' | 'iommufd' | 'test' | 'vfio' | 'raw' | 'meta';
  readonly fields: Readonly<Record<string, FieldSpec>>;
  /** The output `as` binds (absent: `as` binds the return value). */
  readonly primary?: string;
  /** Outputs reported in CallResult.outputs, with the kind of handle each is. */
  readonly outputs: Readonly<Record<string, HandleKind>>;
  /** The ioctl (uapi.ts name) for ioctl-backed ops. */
  readonly ioctl?: string;
  /** IOMMU_TEST_CMD op name for test ops. */
  readonly testOp?: string;
  /** First kernel release with the op (documentation; generation asks the profile, see OpModule.available). */
  readonly since?: string;
}

// ---------------------------------------------------------------------------
// Execution

export type Outputs = Record<string, number | bigint | string>;

export interface OpOutcome {
  ret: number | bigint;
  outputs: Outputs;
}

/** What an op's `execute` is given: the call, its process and the executor's services. */
export interface ExecCtx {
  readonly call: Call;
  readonly spec: OpSpec;
  readonly proc: Process;
  readonly machine: Machine;
  /** The profile the machine runs. */
  readonly profile: Profile;
  /** Index of the call in the program. */
  readonly index: number;
  /** Field `name` (its default when absent) as u64. */
  v(name: string): bigint;
  /** Field `name` as u32 / s32. */
  n32(name: string): number;
  s32(name: string): number;
  /** The call gives field `name`. */
  has(name: string): boolean;
  /** A list-of-ranges field, evaluated. */
  ranges(name: string): Array<[bigint, bigint]>;
  /** A program error (bad value, unknown handle): ends the run. */
  fail(message: string): never;
  /** A size-prefixed iommufd ioctl through the client's encoding; `outs` lists "output:field" (or "field"). */
  struct(cmd: number, layout: U.StructLayout, fields: U.StructValue, outs: string[]): OpOutcome;
  /** Any struct ioctl on `fd` through the client's encoding (fields carry the size word). */
  raw(fd: number, cmd: number, layout: U.StructLayout, fields: U.StructValue, outs: string[]): OpOutcome;
  /** IOMMU_TEST_CMD op `op` (IOMMU_TEST_OP_ suffix) with the profile's struct size. */
  test(op: string, id: number, fields: U.StructValue, outs: string[], fix?: (rc: number, out: Outputs) => void): OpOutcome;
  /** Copy `bytes` to the calling process's array buffer (the client's scratch; fail-nth off); its address. */
  userBuffer(bytes: Uint8Array): bigint;
  /** Read `len` bytes of the calling process's memory at `va` (fail-nth off); undefined on a fault. */
  readUser(va: bigint, len: number): Uint8Array | undefined;
  /** Model-internal work with the calling process's fail-nth disarmed. */
  quiet<T>(fn: () => T): T;
  // --- process and file bookkeeping (the core ops) ---
  /** A fork made `child`: it inherits the parent's default iommufd and joins the run. */
  adoptChild(child: Process): void;
  /** `fd` was opened on `path` by the calling process (an iommufd becomes its default). */
  opened(path: string, fd: number): void;
  /** Arm fail-nth `nth` for the calling process's next call. */
  armFailNth(nth: number): void;
  /** Record a state snapshot titled `title` (when the run records them). */
  snapshotHere(title: string): void;
}

// ---------------------------------------------------------------------------
// Generation

export type ResKind =
  | 'buf'
  | 'memfd'
  | 'proc'
  | 'iommufd'
  | 'ioas'
  | 'stdev'
  | 'hwpt'
  | 'idev'
  | 'access'
  | 'access_pages'
  | 'area'
  | 'fault'
  | 'viommu'
  | 'vdevice';

export interface Res {
  readonly kind: ResKind;
  /** The handle (`$r3`, `$r3.hwpt_id`). */
  readonly name: string;
  /** Index of the call that made it. */
  readonly call: number;
  /** Byte length (buffers, areas) when known. */
  readonly len?: bigint;
  /** The IOAS handle an area / access / device / HWPT is on. */
  readonly ioas?: string;
  /** The access handle of an access_pages item. */
  readonly access?: string;
  readonly thp?: boolean;
  readonly vfio?: boolean;
  /** HWPTs: how it was made (auto: by attaching a device to an IOAS). */
  readonly hwpt?: 'auto' | 'paging' | 'nested';
  /** Paging HWPTs allocated with NEST_PARENT / DIRTY_TRACKING. */
  readonly nestParent?: boolean;
  readonly dirty?: boolean;
  /** A fault object's fd handle. */
  readonly fd?: string;
}

export interface Scope {
  readonly res: Res[];
  /** Every handle name bound in the program (any position), for fresh names. */
  readonly used: Set<string>;
  /** A forked, still running child process handle, if any. */
  readonly procs: string[];
}

/** A user address or IOVA picked by the generator, with the room after it. */
export interface Place {
  expr: string | number;
  room: bigint | undefined;
}

/** What an op's `generate` is given (the generator's Builder). */
export interface GenCtx {
  readonly rng: Prng;
  readonly profile: Profile | undefined;
  /** The newer uAPI ops are generated too (GenContext.newOps). */
  readonly newOps: boolean;
  /** A handle name not used anywhere in the program. */
  fresh(): string;
  has(kind: ResKind): boolean;
  /** Resources of `kinds` in scope (all of them). */
  ofKind(...kinds: ResKind[]): Res[];
  /** Resources of `kinds`, mostly without those whose call failed last time. */
  live(kinds: ResKind[]): Res[];
  /** A resource of one of `kinds`, making one first (when allowed and none exists). */
  need(kinds: ResKind[], make?: boolean): Res | undefined;
  /** Generate a call of `op` (and its producers) before the one being built. */
  emit(op: string): void;
  /** An iommufd must be open for calls whose fd defaults to it. */
  needIommufd(): void;
  /** An ID field: an object of the wanted kinds, else a small number. */
  id(kinds: ResKind[]): string | number;
  /** A user address: inside a buffer (often its start), or special. */
  addr(): Place & { abs: bigint | undefined };
  /** A length for an address from addr(). */
  lengthFor(a: { room: bigint | undefined; abs: bigint | undefined }): number | string;
  /** An IOVA in an area of `ioas` (or any area), or special. */
  iova(ioas?: string): Place & { area?: Res };
  flags(spec: FieldSpec, pDefault?: number): string[] | number | string | undefined;
  enumValue(spec: FieldSpec): string | number;
  ranges(): Array<[number | string, number | string]>;
  /** Sometimes make the call from a forked child. */
  maybeProc(c: Call): void;
  /** Running child processes. */
  procs(): string[];
  /** A field by its generic role. */
  genericField(op: string, name: string, spec: FieldSpec): unknown;
  /** Nesting depth of producer generation. */
  readonly depth: number;
}

// ---------------------------------------------------------------------------
// C export

/** What an op's `emitC` is given: the call and C helpers; it sets `outs` and writes lines. */
export interface CEmitCtx {
  readonly c: Call;
  readonly spec: OpSpec;
  readonly index: number;
  /** One statement line of the call's case. */
  L(s?: string): void;
  /** Remove the last line written (to re-emit it later). */
  popLine(): void;
  /** The C expression of field `name` (its default when absent). */
  v(name: string): string;
  has(name: string): boolean;
  /** `(int)<fd expression>` */
  fd(): string;
  /** The C expression of an integer value of the program. */
  expr(raw: unknown): string;
  /** A C string literal. */
  str(s: string): string;
  /** A size-prefixed struct ioctl through the scratch page. */
  structCmd(type: string, ioctl: string, fields: Record<string, string>, sizeField?: string, defSize?: string): void;
  /** An IOMMU_TEST_CMD op through the scratch page. */
  testCmd(op: string, id: string, fields: Record<string, string>): void;
  /** C expressions of the call's outputs (bound to handles and printed). */
  readonly outs: Record<string, string>;
  /** Lines run after the expectations (frees). */
  readonly cleanup: string[];
  /** The handle an `open` without `as` binds internally. */
  hidden?: string;
  /** The process slot a fork call fills. */
  forkSlot(): number;
}

// ---------------------------------------------------------------------------
// The module

export interface OpModule {
  readonly name: string;
  readonly spec: OpSpec;
  /** Generation weight (absent or 0: never generated). */
  readonly weight?: number;
  /**
   * Newer than the first uAPI (HWPTs, dirty tracking, fault queues, vIOMMUs,
   * PASID, the 7.x commands): generated when the run asks for every op
   * (GenContext.newOps; the campaign's and `fuzz`'s default), left out by
   * `fuzz --no-new-ops`.
   */
  readonly newUapi?: boolean;
  /** The profile's kernel has the op (absent: every profile). Generation asks this, never a version. */
  available?(p: Profile): boolean;
  /** Run the call on the model. */
  execute(x: ExecCtx): OpOutcome;
  /** Fill in a generated call `c` (its `op` set); undefined to give up. Absent: every field by its generic role. */
  generate?(g: GenCtx, c: Call): Call | undefined;
  /** The resources a call of this op binds under `as`. */
  scope?(c: Call, as: string, add: (r: Omit<Res, 'call'>) => void): void;
  /** Resource kinds the op acts on besides those of its fields' handle hints. */
  readonly consumes?: readonly ResKind[];
  /** The resource kinds this op is the usual producer of. */
  readonly produces?: readonly ResKind[];
  /** A new value for field `name` of `c` (the mutator); undefined: the generic regeneration. */
  regenerate?(g: GenCtx, c: Call, name: string): { value: unknown } | undefined;
  /** Emit the call's C statements. Absent: a meta op has nothing to replay; any other op cannot be exported. */
  emitC?(e: CEmitCtx): void;
  /** uAPI structs the C code needs beyond the base set. */
  readonly cStructs?: readonly U.StructLayout[];
  /** Headers the C code needs beyond the base set. */
  readonly cIncludes?: readonly string[];
  /** ioctl numbers the C code needs beyond the base set. */
  readonly cIoctls?: ReadonlyArray<readonly [string, number]>;
  /** The return value is an fd, a pid or an address: not compared with a kernel. */
  readonly localRet?: boolean;
  /** The executor puts an array in the process's client scratch before the ioctl (the C export maps its own there). */
  readonly clientScratch?: boolean;
}
