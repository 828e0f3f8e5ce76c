// SPDX-License-Identifier: GPL-2.0-only
/**
 * The size-prefixed ioctl transport of /dev/iommu (main.c iommufd_fops_ioctl
 * up to op->execute, copy_struct_from_user, iommufd_ucmd_respond).
 *
 * Order of checks for one call, as the kernel does them:
 *   1. nr = cmd & 0xff outside [BASE, BASE + table length): not ours, handed
 *      to the fallback (the VFIO compat handler; ENOTTY without one).
 *   2. read the leading u32 `size` at arg: EFAULT. This precedes any check of
 *      the command, so a hole in the table with a bad pointer is EFAULT.
 *   3. the slot is empty or its full ioctl number differs from cmd (direction
 *      or size bits set): ENOIOCTLCMD, which the VFS turns into ENOTTY.
 *   4. size < minSize: EINVAL.
 *   5. copy_struct_from_user into a kernel-sized buffer: when the user struct
 *      is longer, its tail past our size is checked first (a fault there is
 *      EFAULT, a non-zero byte E2BIG), then min(size, ours) bytes are copied
 *      (EFAULT); a shorter user struct leaves the rest zero.
 *   6. the handler runs; its return value is the result.
 *
 * Write-back is the handler's call, as in the kernel: `respond()` copies
 * min(user size, our size) bytes of the (updated) kernel copy back to the
 * start of the user buffer and returns -EFAULT on a fault. A handler decides
 * what a failed write-back means (most return it, leaving side effects in
 * place; IOAS_ALLOC aborts its object) and when to write at all
 * (IOVA_RANGES writes and then returns EMSGSIZE; OPTION writes only val64).
 */
import { E2BIG, EBUSY, EFAULT, EINVAL, ENOTTY } from '../base/errno.js';
import { accessOk } from '../mm/constants.js';
import type { FieldInfo, IoctlOp, StructLayout, StructValue } from './uapi.js';
import { IOMMUFD_CMD_BASE } from './uapi.js';

/** The calling process's memory as the kernel's uaccess helpers see it. */
export interface UserMemory {
  /** copy_from_user of dst.length bytes: 0, or -EFAULT if any byte is not readable. */
  read(va: bigint, dst: Uint8Array): number;
  /** copy_to_user of src.length bytes: 0, or -EFAULT if any byte is not writable. */
  write(va: bigint, src: Uint8Array): number;
}

export { TASK_SIZE_MAX } from '../mm/constants.js';

const U64_MASK = (1n << 64n) - 1n;
const PAGE = 4096n;
const SCRATCH = new Uint8Array(4096);
const SIZE_WORD = new Uint8Array(4);


/**
 * check_zeroed_user: 1 if [va, va+len) is all zero, 0 if a non-zero byte is
 * found, -EFAULT if the range is not accessible up to the first non-zero byte.
 * Reads go in address order one page at a time, so a fault is reported only
 * when it comes before any non-zero byte (the kernel reads aligned words, which
 * never straddle a page: same outcome).
 */
export function checkZeroedUser(mem: UserMemory, va: bigint, len: bigint): number {
  if (len === 0n) return 1;
  if (!accessOk(va, len)) return -EFAULT;
  let at = va;
  const end = va + len;
  while (at < end) {
    const pageEnd = (at / PAGE + 1n) * PAGE;
    const n = Number((pageEnd < end ? pageEnd : end) - at);
    const chunk = SCRATCH.subarray(0, n);
    if (mem.read(at, chunk) !== 0) return -EFAULT;
    for (let i = 0; i < n; i++) if (chunk[i] !== 0) return 0;
    at += BigInt(n);
  }
  return 1;
}

/**
 * copy_struct_from_user(dst, dst.length, src, usize): 0, -E2BIG or -EFAULT.
 * `dst` must be zeroed by the caller (it is left zero past usize).
 */
export function copyStructFromUser(mem: UserMemory, dst: Uint8Array, src: bigint, usize: number): number {
  const ksize = dst.length;
  const size = Math.min(ksize, usize);
  if (usize > ksize) {
    const r = checkZeroedUser(mem, src + BigInt(size), BigInt(usize - ksize));
    if (r <= 0) return r === 0 ? -E2BIG : r;
  }
  if (size > 0 && mem.read(src, dst.subarray(0, size)) !== 0) return -EFAULT;
  return 0;
}

/**
 * A struct's fields read all at once and compared all at once, by code made
 * for its layout (new Function, once per layout): the decoded object is one
 * literal with every field in declaration order (what StructLayout.decode
 * gives for a whole buffer), without a keyed store or a switch per field.
 */
interface Codec {
  /** Every field of a whole buffer (buf.length >= layout.size). */
  decode(dv: DataView): StructValue;
  /** The same, into an object decode() made. */
  decodeInto(dv: DataView, out: StructValue): void;
  /** A copy of what decode() made, in the same shape (no field read again: a u64 keeps its bigint). */
  copy(d: StructValue): StructValue;
  /** Write each field of `d` that differs from `o` (and is defined) into buf, in declaration order, naming it in `changed`. */
  store(d: StructValue, o: StructValue, layout: StructLayout, buf: Uint8Array, changed: string[]): void;
  /** Per field, the fields sharing a byte with it (itself among them): what a store to it may change. */
  overlaps: ReadonlyMap<string, readonly FieldInfo[]>;
}

const codecs = new WeakMap<StructLayout, Codec>();

function readExpr(f: FieldInfo): string {
  switch (f.type) {
    case 'u8':
      return `dv.getUint8(${f.offset})`;
    case 'u16':
      return `dv.getUint16(${f.offset}, true)`;
    case 'u32':
      return `dv.getUint32(${f.offset}, true)`;
    case 's32':
      return `dv.getInt32(${f.offset}, true)`;
    case 'u64':
      return `dv.getBigUint64(${f.offset}, true)`;
  }
}

function codecOf(layout: StructLayout): Codec {
  let c = codecs.get(layout);
  if (c === undefined) {
    const keys = layout.fields.map((f) => JSON.stringify(f.name));
    const reads = layout.fields.map(readExpr);
    const decode = new Function('dv', `return {${keys.map((k, i) => `${k}: ${reads[i]}`).join(', ')}};`) as Codec['decode'];
    const decodeInto = new Function('dv', 'out', keys.map((k, i) => `out[${k}] = ${reads[i]};`).join('\n')) as Codec['decodeInto'];
    const copy = new Function('d', `return {${keys.map((k) => `${k}: d[${k}]`).join(', ')}};`) as Codec['copy'];
    const store = new Function(
      'd',
      'o',
      'layout',
      'buf',
      'changed',
      `let v;\n${keys.map((k) => `v = d[${k}];\nif (v !== undefined && v !== o[${k}]) {\n  layout.writeField(buf, ${k}, v);\n  changed.push(${k});\n}`).join('\n')}`,
    ) as Codec['store'];
    const overlaps = new Map<string, FieldInfo[]>();
    for (const f of layout.fields) overlaps.set(f.name, layout.fields.filter((g) => g.offset < f.end && f.offset < g.end));
    c = { decode, decodeInto, copy, store, overlaps };
    codecs.set(layout, c);
  }
  return c;
}

/** One command in flight: struct iommufd_ucmd plus the decoded view of the kernel copy. */
export class Ucmd<C = unknown> {
  readonly ctx: C;
  readonly mem: UserMemory;
  readonly op: IoctlOp;
  /** ucmd->ubuffer */
  readonly arg: bigint;
  /** ucmd->user_size: the `size` the caller wrote. */
  readonly userSize: number;
  /** ucmd->cmd: the kernel copy, op.size bytes (zero past userSize). */
  readonly buf: Uint8Array;
  private decoded: StructValue | undefined;
  private original: StructValue | undefined;
  private completion: ((ret: number) => void) | undefined;

  constructor(ctx: C, mem: UserMemory, op: IoctlOp, arg: bigint, userSize: number, buf: Uint8Array) {
    this.ctx = ctx;
    this.mem = mem;
    this.op = op;
    this.arg = arg;
    this.userSize = userSize;
    this.buf = buf;
  }

  get layout(): StructLayout {
    return this.op.struct;
  }

  /**
   * The decoded struct. Handlers may assign output fields here; the changed
   * fields are stored into `buf` by the next respond()/set().
   */
  get cmd(): StructValue {
    if (!this.decoded) {
      const layout = this.layout;
      if (this.buf.length >= layout.size) {
        const c = codecOf(layout);
        const dv = this.view();
        this.decoded = c.decode(dv);
        this.original = c.copy(this.decoded);
      } else {
        this.decoded = layout.decode(this.buf);
        this.original = { ...this.decoded };
      }
    }
    return this.decoded;
  }

  private dv: DataView | undefined;

  private view(): DataView {
    this.dv ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.dv;
  }

  /**
   * One field as the handler sees it: the kernel copy's bytes until the
   * struct is first decoded (a handler reading a few fields of a struct of
   * sixty, iommu_test_cmd's, decodes only those), then the decoded struct
   * (which may hold values assigned and not yet stored).
   */
  private fieldValue(field: string): number | bigint {
    return this.decoded ? this.decoded[field] : this.layout.readField(this.buf, field);
  }

  /** A u8/u16/u32/s32 field. */
  num(field: string): number {
    const v = this.fieldValue(field);
    if (typeof v !== 'number') throw new TypeError(`${this.layout.name}.${field} is not a 32-bit field`);
    return v;
  }

  /** A u64 field. */
  big(field: string): bigint {
    const v = this.fieldValue(field);
    if (typeof v !== 'bigint') throw new TypeError(`${this.layout.name}.${field} is not a u64 field`);
    return v;
  }

  /** Store one field of the kernel copy. */
  set(field: string, value: number | bigint): void {
    this.sync();
    this.layout.writeField(this.buf, field, value);
    this.refresh(field);
  }

  /**
   * iommufd_ucmd_respond: copy min(userSize, len) bytes of the kernel copy to
   * the start of the user buffer. 0 or -EFAULT.
   */
  respond(len: number = this.layout.size): number {
    this.sync();
    const n = Math.min(this.userSize, len, this.buf.length);
    if (n <= 0) return 0;
    return this.mem.write(this.arg, this.buf.subarray(0, n)) === 0 ? 0 : -EFAULT;
  }

  /** copy_to_user of one field at its offset (IOMMU_OPTION writes only val64). */
  respondField(field: string): number {
    this.sync();
    const f = this.layout.field(field);
    return this.mem.write(this.arg + BigInt(f.offset), this.buf.subarray(f.offset, f.end)) === 0 ? 0 : -EFAULT;
  }

  /**
   * Run `fn(ret)` after the handler returns, with its return value (the
   * ucmd->new_obj finalize/abort step). One per call: a second gives -EBUSY.
   */
  onComplete(fn: (ret: number) => void): number {
    if (this.completion) return -EBUSY;
    this.completion = fn;
    return 0;
  }

  /** Called by the dispatcher once the handler has returned. */
  complete(ret: number): void {
    const fn = this.completion;
    this.completion = undefined;
    if (fn) fn(ret);
  }

  /** Store the decoded fields the handler changed (union members overlap, so only changed ones). */
  private sync(): void {
    const d = this.decoded;
    const o = this.original;
    if (!d || !o) return;
    const changed = this.changedScratch;
    changed.length = 0;
    codecOf(this.layout).store(d, o, this.layout, this.buf, changed);
    for (const name of changed) this.refresh(name);
  }

  private readonly changedScratch: string[] = [];

  /**
   * Decode again what a store to `field` may have changed: the fields sharing a byte with it
   * (union members overlap), in both views; every other field still reads what it did.
   */
  private refresh(field: string): void {
    const d = this.decoded;
    const o = this.original;
    if (!d || !o) return;
    const layout = this.layout;
    for (const f of codecOf(layout).overlaps.get(field) ?? layout.fields) {
      const v = layout.readField(this.buf, f.name);
      d[f.name] = v;
      o[f.name] = v;
    }
  }
}

export type UcmdExecute<C> = (ucmd: Ucmd<C>) => number;

export interface UcmdEntry<C> {
  readonly op: IoctlOp;
  readonly execute: UcmdExecute<C>;
}

/**
 * iommufd_ioctl_ops: slots indexed by nr - IOMMUFD_CMD_BASE. Its length is the
 * highest filled slot + 1 (ARRAY_SIZE of the designated-initializer array), so
 * with the test command it has 33 slots and the unfilled ones are holes.
 */
export class UcmdTable<C> {
  readonly slots: ReadonlyArray<UcmdEntry<C> | undefined>;

  constructor(entries: Iterable<UcmdEntry<C>>) {
    const slots: Array<UcmdEntry<C> | undefined> = [];
    for (const e of entries) {
      const idx = e.op.nr - IOMMUFD_CMD_BASE;
      if (idx < 0 || idx > 0x7f) throw new Error(`${e.op.name}: nr 0x${e.op.nr.toString(16)} below the iommufd base`);
      if (slots[idx]) throw new Error(`${e.op.name}: slot ${idx} taken by ${slots[idx]?.op.name}`);
      while (slots.length < idx) slots.push(undefined);
      slots[idx] = e;
    }
    this.slots = slots;
  }

  /** Build from ops and a handler per op name; ops without a handler are left out (holes). */
  static fromHandlers<C>(ops: readonly IoctlOp[], handlers: Readonly<Record<string, UcmdExecute<C> | undefined>>): UcmdTable<C> {
    const entries: UcmdEntry<C>[] = [];
    for (const op of ops) {
      const execute = handlers[op.name];
      if (execute) entries.push({ op, execute });
    }
    return new UcmdTable(entries);
  }

  get length(): number {
    return this.slots.length;
  }
}

/** What happens to a cmd whose nr is outside the table (the VFIO compat entry point). */
export type UcmdFallback = (cmd: number, arg: bigint) => number;

/**
 * iommufd_fops_ioctl as seen from user space (ENOIOCTLCMD already turned into
 * ENOTTY). `cmd` is truncated to 32 bits and `arg` to 64, as the syscall does.
 */
export function ucmdIoctl<C>(
  table: UcmdTable<C>,
  ctx: C,
  mem: UserMemory,
  cmd: number,
  arg: bigint,
  fallback?: UcmdFallback,
): number {
  const ucmdNum = cmd >>> 0;
  const uarg = arg & U64_MASK;
  const nr = ucmdNum & 0xff;
  if (nr < IOMMUFD_CMD_BASE || nr - IOMMUFD_CMD_BASE >= table.length) {
    return fallback ? fallback(ucmdNum, uarg) : -ENOTTY;
  }
  if (mem.read(uarg, SIZE_WORD) !== 0) return -EFAULT;
  const userSize = (SIZE_WORD[0]! | (SIZE_WORD[1]! << 8) | (SIZE_WORD[2]! << 16) | (SIZE_WORD[3]! << 24)) >>> 0;
  const entry = table.slots[nr - IOMMUFD_CMD_BASE];
  if (!entry || entry.op.cmd !== ucmdNum) return -ENOTTY;
  if (userSize < entry.op.minSize) return -EINVAL;
  const buf = new Uint8Array(entry.op.size);
  const rc = copyStructFromUser(mem, buf, uarg, userSize);
  if (rc) return rc;
  const ucmd = new Ucmd(ctx, mem, entry.op, uarg, userSize, buf);
  const ret = entry.execute(ucmd);
  ucmd.complete(ret);
  return ret;
}
