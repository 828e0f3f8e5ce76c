// SPDX-License-Identifier: GPL-2.0-only
/**
 * Shared plumbing of the typed clients: struct encoding through the uAPI
 * layouts, the call through Process.ioctlStruct, and the errno check that
 * turns a negative return into an ErrnoError.
 */
import { ErrnoError } from '../base/errno.js';
import type { StructLayout, StructValue } from '../iommufd/uapi.js';
import type { Process } from '../machine/process.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../mm/constants.js';

/** Fields to encode (missing ones are zero). */
export type Fields = Readonly<Partial<StructValue>>;

/** What a raw call gives back: the return value and the struct as it stands afterwards. */
export interface IoctlResult {
  readonly rc: number;
  /** The struct decoded after the call (the kernel's write-back, or the input if nothing was written). */
  readonly out: StructValue;
  /** The raw bytes after the call (struct plus any trailing bytes passed in). */
  readonly bytes: Uint8Array;
}

export interface RawOptions {
  /** The `size` (or `argsz`) word; default: the layout's size. */
  readonly size?: number;
  /** Bytes placed right after the struct (for the E2BIG rules). */
  readonly trailing?: Uint8Array;
  /** Decode only these fields into `out` (default: every field; IOMMU_TEST_CMD's union has 62). */
  readonly decode?: readonly string[];
  /** The result's `bytes` may be a buffer the next call with this option reuses (the caller reads `rc` and `out` only). */
  readonly reuseBytes?: boolean;
}

/** Zeroed buffers by length for `reuseBytes` calls. */
const reusable = new Map<number, Uint8Array>();

function bytesOf(len: number, reuse: boolean): Uint8Array {
  if (!reuse) return new Uint8Array(len);
  let b = reusable.get(len);
  if (b === undefined) {
    b = new Uint8Array(len);
    if (reusable.size >= 64) reusable.clear();
    reusable.set(len, b);
  } else b.fill(0);
  return b;
}

/** Throw ErrnoError for a negative return; otherwise return it. */
export function check(rc: number, what: string): number {
  if (rc < 0) throw new ErrnoError(-rc, what);
  return rc;
}

/**
 * Encode `fields` with `layout` (plus trailing bytes), call `cmd` on `fd`,
 * decode the result. The size word is `argsz` for VFIO structs, `size`
 * otherwise; an explicit value in `fields` wins over `opts.size`.
 */
export function rawIoctl(proc: Process, fd: number, cmd: number, layout: StructLayout, fields: Fields, opts: RawOptions = NO_OPTIONS): IoctlResult {
  const trailing = opts.trailing;
  const bytes = bytesOf(layout.size + (trailing?.length ?? 0), opts.reuseBytes === true);
  const sizeField = layout.has('argsz') ? 'argsz' : 'size';
  // The size word, unless `fields` names it (then its value, or zero for undefined, as the spread it replaces).
  if (!(sizeField in fields)) layout.writeField(bytes, sizeField, opts.size ?? layout.size);
  layout.encode(fields, bytes);
  if (trailing) bytes.set(trailing, layout.size);
  const rc = proc.ioctlStruct(fd, cmd, bytes);
  // Decoded from `bytes` itself (every field ends inside the struct, so the trailing bytes change nothing).
  let out: StructValue;
  if (opts.decode) {
    out = {};
    layout.decodeFields(bytes, opts.decode, out);
  } else out = layout.decode(bytes, layout.size);
  return { rc, out, bytes };
}

const NO_OPTIONS: RawOptions = {};

/**
 * A user buffer owned by a client, for arrays the kernel reads or writes
 * through a pointer (IOVA ranges). Mapped and populated once, grown on
 * demand; later reads and writes allocate nothing.
 */
export class UserScratch {
  private va = 0n;
  private len = 0;

  constructor(private readonly proc: Process) {}

  /** An address with at least `len` bytes of this process's memory. */
  get(len: number): bigint {
    if (this.len >= len && this.len > 0) return this.va;
    const want = Math.max(PAGE_SIZE, Math.ceil(len / PAGE_SIZE) * PAGE_SIZE);
    const va = this.proc.mmap(0n, BigInt(want), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (va < 0n) throw new ErrnoError(Number(-va), 'mmap (client scratch)');
    check(this.proc.writeMemory(va, new Uint8Array(want)), 'populate (client scratch)');
    if (this.len > 0) this.proc.munmap(this.va, BigInt(this.len));
    this.va = va;
    this.len = want;
    return va;
  }

  /**
   * The same buffer in a child `fork()` made of this scratch's process: the child's address space is
   * a copy, so the mapping is there at the same address with the same bytes.
   */
  forked(child: Process): UserScratch {
    const s = new (this.constructor as new (p: Process) => UserScratch)(child);
    s.va = this.va;
    s.len = this.len;
    return s;
  }

  write(data: Uint8Array): bigint {
    const va = this.get(data.length);
    check(this.proc.writeMemory(va, data), 'write (client scratch)');
    return va;
  }

  read(len: number): Uint8Array {
    const out = new Uint8Array(len);
    if (len > 0) check(this.proc.readMemory(this.get(len), out), 'read (client scratch)');
    return out;
  }
}
