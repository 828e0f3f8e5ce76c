// SPDX-License-Identifier: GPL-2.0-only
/**
 * Program generator, modelled on syzkaller's iommufd descriptions
 * (sys/linux/dev_iommu.txt): programs are sequences of typed calls from OPS;
 * resources (fds, IOAS / HWPT / device IDs, access fds and items, buffers,
 * mapped IOVA ranges) flow from the call that made them to later calls by
 * handle; when a call needs a resource that does not exist yet, the call
 * making it is generated first (syzkaller's resource constructors).
 *
 * Values are biased toward what tends to matter for address-range code, with
 * no knowledge of any particular bug: offsets into buffers and mapped areas
 * that land on area starts and ends (plus or minus a little), on 4 KiB page and
 * 2 KiB IO-page boundaries; 0 and 2^64-1; addresses near the top of the u64
 * space and lengths whose sum with them overflows; the mock domain's aperture
 * edges; small fd / ID numbers; the temp memory limit; fail_nth counts. As in
 * syzkaller, lengths are usually tied to the buffer or area they describe
 * (`len[user_va]`), and sometimes not.
 *
 * Everything is a function of the Prng: the same seed gives the same programs.
 */
import type { Prng } from '../base/prng.js';
import type { ProfileName } from '../base/profile.js';
import { type Call, type FieldSpec, OPS, type Program, exprHandles, parseExpr } from './program.js';

// ---------------------------------------------------------------------------
// Resources in scope at a point of a program

export type ResKind = 'buf' | 'memfd' | 'proc' | 'iommufd' | 'ioas' | 'stdev' | 'hwpt' | 'idev' | 'access' | 'access_pages' | 'area';

export interface Res {
  readonly kind: ResKind;
  /** The handle (`$r3`, `$r3.hwpt_id`). */
  readonly name: string;
  /** Index of the call that made it. */
  readonly call: number;
  /** Byte length (buffers, areas) when known. */
  readonly len?: bigint;
  /** The IOAS handle an area / access / device is on. */
  readonly ioas?: string;
  /** The access handle of an access_pages item. */
  readonly access?: string;
  readonly thp?: boolean;
  readonly vfio?: boolean;
}

export interface Scope {
  readonly res: Res[];
  /** Every handle name bound in the program (any position), for fresh names. */
  readonly used: Set<string>;
  /** A forked, still running child process handle, if any. */
  readonly procs: string[];
}

/** The value of a handle-free integer expression, else undefined. */
export function literal(raw: unknown): bigint | undefined {
  if (raw === undefined) return undefined;
  const e = parseExpr(raw);
  if (typeof e === 'string') return undefined;
  let v = 0n;
  for (const t of e) {
    if (t.handle !== undefined) return undefined;
    v = t.sign > 0 ? v + t.value! : v - t.value!;
  }
  return BigInt.asUintN(64, v);
}

/** The first handle an expression names (its base), else undefined. */
export function baseHandle(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  const e = parseExpr(raw);
  if (typeof e === 'string') return undefined;
  const hs = exprHandles(e);
  return hs.length > 0 ? hs[0] : undefined;
}

/** The resources made by calls[0 .. upto). */
export function scanScope(calls: readonly Call[], upto = calls.length): Scope {
  const res: Res[] = [];
  const used = new Set<string>();
  const procs: string[] = [];
  for (const c of calls) if (typeof c.as === 'string') used.add(c.as);
  for (let i = 0; i < upto && i < calls.length; i++) {
    const c = calls[i];
    const as = typeof c.as === 'string' ? c.as : undefined;
    if (c.op === 'exit' && typeof c.proc === 'string') {
      const k = procs.indexOf(c.proc);
      if (k >= 0) procs.splice(k, 1);
    }
    if (!as) continue;
    const add = (r: Omit<Res, 'call'>) => res.push({ ...r, call: i });
    switch (c.op) {
      case 'mmap':
        add({ kind: 'buf', name: as, len: literal(c.length), thp: c.thp === true });
        break;
      case 'memfd_create':
        add({ kind: 'memfd', name: as });
        break;
      case 'fork':
        add({ kind: 'proc', name: as });
        procs.push(as);
        break;
      case 'open':
        add({ kind: 'iommufd', name: as, vfio: c.path === '/dev/vfio/vfio' });
        break;
      case 'ioas_alloc':
        add({ kind: 'ioas', name: as });
        break;
      case 'vfio_ioas':
        add({ kind: 'ioas', name: as });
        break;
      case 'mock_domain':
      case 'mock_domain_flags': {
        const ioas = baseHandle(c.pt);
        add({ kind: 'stdev', name: as, ioas });
        add({ kind: 'hwpt', name: `${as}.hwpt_id`, ioas });
        add({ kind: 'idev', name: `${as}.idev_id`, ioas });
        break;
      }
      case 'mock_domain_replace':
        add({ kind: 'hwpt', name: as });
        break;
      case 'create_access':
        add({ kind: 'access', name: as, ioas: baseHandle(c.ioas) });
        break;
      case 'access_pages':
        add({ kind: 'access_pages', name: as, access: baseHandle(c.access), len: literal(c.length) });
        break;
      case 'ioas_map':
        add({ kind: 'area', name: as, ioas: baseHandle(c.ioas), len: literal(c.length) });
        break;
      case 'ioas_copy':
        add({ kind: 'area', name: as, ioas: baseHandle(c.dst_ioas), len: literal(c.length) });
        break;
      default:
        break;
    }
  }
  return { res, used, procs };
}

function ofKind(s: Scope, ...kinds: ResKind[]): Res[] {
  return s.res.filter((r) => kinds.includes(r.kind));
}

/** A handle name not used anywhere in the program. */
export function freshName(used: Set<string>): string {
  let n = used.size;
  while (used.has(`$r${n}`)) n++;
  const name = `$r${n}`;
  used.add(name);
  return name;
}

// ---------------------------------------------------------------------------
// Interesting values

const K4 = 4096n;
const K2 = 2048n;
const M2 = 2n << 20n;
const U64_MAX = (1n << 64n) - 1n;
const APERTURE_START = 1n << 24n;
const APERTURE_LAST = (1n << 31n) - 1n;

/** A value as program text: a JSON number when exact, else hex. */
export function num(v: bigint): number | string {
  v = BigInt.asUintN(64, v);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `0x${v.toString(16)}`;
}

/** `$h`, `$h+0x…` or `$h-0x…`. */
export function rel(handle: string, off: bigint): string {
  if (off === 0n) return handle;
  return off > 0n ? `${handle}+0x${off.toString(16)}` : `${handle}-0x${(-off).toString(16)}`;
}

function pickW<T>(rng: Prng, items: ReadonlyArray<readonly [number, T]>): T {
  let total = 0;
  for (const [w] of items) total += w;
  let x = rng.next() * total;
  for (const [w, v] of items) {
    x -= w;
    if (x < 0) return v;
  }
  return items[items.length - 1][1];
}

/** A 2 MiB (huge page, folio) boundary inside `r` bytes, moved by up to two pages either way. */
function nearHugeBoundary(rng: Prng, r: bigint): bigint {
  const n = Number(r / M2);
  const b = n >= 1 ? M2 * BigInt(rng.int(1, Math.min(n, 4))) : M2;
  const v = b + K4 * BigInt(rng.int(-2, 2));
  return v > 0n ? v : K4;
}

/** An offset into something `room` bytes long: its start, end, page / IO-page / huge-page steps, a little either side. */
export function interestingOffset(rng: Prng, room: bigint | undefined): bigint {
  const r = room !== undefined && room > 0n ? room : 16n * K4;
  const pages = r / K4;
  return pickW<() => bigint>(rng, [
    [6, () => (r > M2 ? nearHugeBoundary(rng, r) : 0n)],
    [30, () => 0n],
    [20, () => K4 * BigInt(rng.int(1, Math.max(1, Math.min(16, Number(pages) - 1))))],
    [8, () => K2 * BigInt(rng.int(1, 7) * 2 - 1)],
    [8, () => (pages > 0n ? K4 * BigInt(rng.below(Math.min(Number(pages), 1 << 20))) : 0n)],
    [6, () => (r > K4 ? r - K4 : 0n)],
    [4, () => (r > K2 ? r - K2 : 0n)],
    [4, () => (r / 2n) & ~(K4 - 1n)],
    [3, () => r],
    [2, () => BigInt(rng.pick([1, 7, 8, 0x7ff, 0x801, 0xfff]))],
    [2, () => r + K4],
  ])();
}

/** A length for something with `room` bytes left (undefined: unknown). */
export function interestingLength(rng: Prng, room: bigint | undefined): bigint {
  const fixed = (): bigint => pickW<bigint>(rng, [
    [6, K4],
    [5, 2n * K4],
    [3, 4n * K4],
    [2, 3n * K4],
    [2, 16n * K4],
    [2, K2],
    [2, 3n * K2],
    [4, M2],
    [2, 2n * M2],
    [1, 64n * K4],
  ]);
  if (room === undefined || room <= 0n) {
    return rng.bool(0.9) ? fixed() : specialLength(rng);
  }
  return pickW<() => bigint>(rng, [
    [22, () => room],
    [6, () => (room > K4 ? room - K4 : room)],
    [4, () => (room > K2 ? room - K2 : room)],
    [30, () => {
      const p = Number(room / K4);
      return p > 0 ? K4 * BigInt(rng.int(1, Math.min(p, 16))) : K2;
    }],
    [6, () => (room / 2n) & ~(K4 - 1n) || K4],
    [5, () => (room > M2 ? nearHugeBoundary(rng, room) : room)],
    [4, () => room + K4],
    [10, fixed],
    [4, () => specialLength(rng)],
  ])();
}

function specialLength(rng: Prng): bigint {
  return rng.pick([0n, 1n, U64_MAX, U64_MAX - K4 + 1n, 1n << 63n, 1n << 32n, 0xffffffffn, K4 - 1n, K4 + 1n]);
}

/** A user address that is not inside any buffer: 0, the top of the u64 space, kernel addresses, random. */
function specialAddr(rng: Prng): bigint {
  return pickW<() => bigint>(rng, [
    [3, () => 0n],
    [2, () => K4],
    [3, () => U64_MAX],
    [4, () => U64_MAX - K4 * BigInt(rng.int(1, 4)) + 1n],
    [2, () => U64_MAX - M2 + 1n],
    [2, () => U64_MAX - K2 + 1n],
    [2, () => 1n << 63n],
    [2, () => (1n << 47n) - K4],
    [2, () => 0xffff800000000000n],
    [1, () => rng.u64() & ~(K4 - 1n)],
  ])();
}

/** An IOVA not tied to an area: 0, page and IO-page steps, the mock aperture edges, the top of the space. */
function specialIova(rng: Prng): bigint {
  return pickW<() => bigint>(rng, [
    [4, () => 0n],
    [2, () => K4 * BigInt(rng.int(1, 16))],
    [2, () => K2 * BigInt(rng.int(1, 16))],
    [5, () => APERTURE_START + K4 * BigInt(rng.int(0, 8)) - (rng.bool(0.2) ? K4 : 0n)],
    [5, () => APERTURE_START + M2 * BigInt(rng.int(1, 64))],
    [3, () => APERTURE_LAST + 1n - K4 * BigInt(rng.int(0, 4))],
    [2, () => APERTURE_LAST + 1n - M2],
    [2, () => 1n << 32n],
    [2, () => U64_MAX],
    [2, () => U64_MAX - K4 + 1n],
    [3, () => APERTURE_START + (rng.u64() % (APERTURE_LAST - APERTURE_START)) & ~(K4 - 1n)],
    [1, () => rng.u64()],
  ])();
}

/** A length whose sum with `addr` wraps past 2^64 (or lands exactly on it). */
function overflowingLength(rng: Prng, addr: bigint): bigint {
  const toTop = (1n << 64n) - BigInt.asUintN(64, addr);
  return toTop + BigInt(rng.pick([0, 1, 4096, 8192, 2 * 1024 * 1024]));
}

const TEMP_LIMITS = [12, 24, 36, 48, 60, 100, 4096, 65536, 0, 11, 13, 1 << 20];
const STRUCT_SIZES = [0, 4, 8, 16, 23, 24, 31, 32, 40, 51, 52, 55, 56, 64, 72, 4096, 0xffffffff];

// ---------------------------------------------------------------------------
// Call construction

/** Generation weights of the ops (syzkaller-like priorities: core calls first). */
export const OP_WEIGHTS: Readonly<Record<string, number>> = {
  mmap: 5,
  munmap: 0.7,
  mprotect: 0.5,
  madvise: 1,
  write_memory: 0.5,
  read_memory: 0.3,
  memfd_create: 0.2,
  ftruncate: 0.2,
  fork: 0.3,
  exit: 0.2,
  fail_nth: 1.5,
  open: 1,
  close: 0.7,
  destroy: 4,
  ioas_alloc: 2,
  ioas_allow_iovas: 0.5,
  ioas_iova_ranges: 0.3,
  ioas_map: 10,
  ioas_copy: 4,
  ioas_unmap: 5,
  option: 1,
  vfio_ioas: 0.5,
  add_reserved: 0.5,
  mock_domain: 5,
  mock_domain_flags: 1,
  mock_domain_replace: 1,
  md_check_map: 0.5,
  md_check_refs: 0.5,
  create_access: 3,
  access_replace_ioas: 1,
  access_pages: 6,
  destroy_access_pages: 2,
  access_rw: 3,
  set_temp_memory_limit: 1,
  vfio_get_api_version: 0.1,
  vfio_check_extension: 0.2,
  vfio_set_iommu: 0.4,
  vfio_iommu_get_info: 0.2,
  vfio_map_dma: 0.7,
  vfio_unmap_dma: 0.7,
  ioctl: 0.1,
};

function versionOf(v: string): number {
  const [a, b] = v.replace(/^v/, '').split('.').map(Number);
  return (a || 0) * 100 + (b || 0);
}

/** The kernel release of a profile (latest: every op). */
const PROFILE_VERSION: Readonly<Record<ProfileName, number>> = { latest: Number.POSITIVE_INFINITY, 'v6.12': 612, 'v6.5': 605, 'v6.2': 602 };

const opTables = new Map<ProfileName | undefined, ReadonlyArray<readonly [number, string]>>();

/** The ops a profile's kernel has (OpSpec.since), with their weights: like syzkaller, generate only what the target supports. */
export function opTable(profile?: ProfileName): ReadonlyArray<readonly [number, string]> {
  let t = opTables.get(profile);
  if (!t) {
    const max = profile ? PROFILE_VERSION[profile] : Number.POSITIVE_INFINITY;
    t = Object.keys(OPS)
      .filter((op) => (OP_WEIGHTS[op] ?? 0) > 0 && (OPS[op].since === undefined || versionOf(OPS[op].since!) <= max))
      .map((op) => [OP_WEIGHTS[op], op] as const);
    opTables.set(profile, t);
  }
  return t;
}

/** The op of a producer of each resource kind. */
const PRODUCER: Readonly<Record<ResKind, string>> = {
  buf: 'mmap',
  memfd: 'memfd_create',
  proc: 'fork',
  iommufd: 'open',
  ioas: 'ioas_alloc',
  stdev: 'mock_domain',
  hwpt: 'mock_domain',
  idev: 'mock_domain',
  access: 'create_access',
  access_pages: 'access_pages',
  area: 'ioas_map',
};

/** What generation may know about the program it extends. */
export interface GenContext {
  /** The kernel profile (only ops it has are generated). */
  profile?: ProfileName;
  /** Handles whose call failed when the program last ran (resources to avoid, usually). */
  dead?: ReadonlySet<string>;
}

/** Generation state: the calls so far (the prefix a new call goes after) and its scope. */
class Builder {
  readonly out: Call[] = [];
  private scope: Scope;
  depth = 0;

  constructor(
    readonly rng: Prng,
    /** The program's calls before the insertion point. */
    readonly before: readonly Call[],
    used: Set<string>,
    readonly gen: GenContext = {},
  ) {
    this.scope = scanScope(before);
    for (const u of used) this.scope.used.add(u);
  }

  private refresh(): void {
    const used = this.scope.used;
    this.scope = scanScope([...this.before, ...this.out]);
    for (const u of used) this.scope.used.add(u);
  }

  scopeNow(): Scope {
    return this.scope;
  }

  has(kind: ResKind): boolean {
    return this.scope.res.some((r) => r.kind === kind);
  }

  /** Resources of `kinds`, mostly without those whose call failed last time. */
  live(kinds: ResKind[]): Res[] {
    const rs = ofKind(this.scope, ...kinds);
    const dead = this.gen.dead;
    if (!dead || dead.size === 0 || rs.length === 0 || this.rng.bool(0.1)) return rs;
    return rs.filter((r) => !dead.has(r.name.replace(/\..*$/, '')));
  }

  /** A resource of one of `kinds`, making one first (when allowed and none exists). */
  need(kinds: ResKind[], make = true): Res | undefined {
    const rs = this.live(kinds);
    // Prefer recent resources, like syzkaller's preference for the newest.
    if (rs.length > 0 && (!make || this.rng.bool(1 - 0.1 / rs.length))) return rs[rs.length - 1 - Math.min(rs.length - 1, Math.floor(this.rng.next() ** 2 * rs.length))];
    if (!make || this.depth > 4) return rs.length > 0 ? rs[rs.length - 1] : undefined;
    this.emit(PRODUCER[kinds[0]]);
    return ofKind(this.scope, ...kinds).pop() ?? (rs.length > 0 ? rs[rs.length - 1] : undefined);
  }

  /** An iommufd must be open for calls whose fd defaults to it. */
  needIommufd(): void {
    if (!this.has('iommufd') && this.rng.bool(0.97)) this.need(['iommufd']);
  }

  fresh(): string {
    return freshName(this.scope.used);
  }

  /** Generate one call of `op` (and any producers it needs) onto `out`. */
  emit(op: string): void {
    this.depth++;
    try {
      const c = this.build(op);
      if (c) {
        this.out.push(c);
        this.refresh();
      }
    } finally {
      this.depth--;
    }
  }

  // --- values -----------------------------------------------------------------

  /** An ID field: an object of the wanted kinds, else a small number. */
  id(kinds: ResKind[]): string | number {
    const rng = this.rng;
    if (rng.bool(0.92)) {
      const r = this.need(kinds);
      if (r) return r.name;
    }
    if (rng.bool(0.5)) {
      const any = ofKind(this.scope, 'ioas', 'hwpt', 'stdev', 'idev', 'access_pages');
      if (any.length > 0) return rng.pick(any).name;
    }
    return rng.pick([0, 1, 2, 3, 4, 5, 7, 0xffffffff]);
  }

  /** A user address: inside a buffer (often its start), or special. */
  addr(): { expr: string | number; room: bigint | undefined; abs: bigint | undefined } {
    const rng = this.rng;
    if (rng.bool(0.9)) {
      const b = this.need(['buf']);
      if (b) {
        const off = interestingOffset(rng, b.len);
        const room = b.len !== undefined ? (b.len > off ? b.len - off : 0n) : undefined;
        return { expr: rel(b.name, off), room, abs: undefined };
      }
    }
    const a = specialAddr(rng);
    return { expr: num(a), room: undefined, abs: a };
  }

  /** A length for an address from addr(). */
  lengthFor(a: { room: bigint | undefined; abs: bigint | undefined }): number | string {
    const rng = this.rng;
    if (a.abs !== undefined && rng.bool(0.5)) return num(overflowingLength(rng, a.abs));
    return num(interestingLength(rng, a.room));
  }

  /** An IOVA in an area of `ioas` (or any area), or special. */
  iova(ioas?: string): { expr: string | number; room: bigint | undefined; area?: Res } {
    const rng = this.rng;
    if (rng.bool(0.9)) {
      let areas = this.live(['area']);
      if (ioas !== undefined && rng.bool(0.9)) {
        const own = areas.filter((r) => r.ioas === ioas);
        if (own.length > 0) areas = own;
      }
      if (areas.length === 0 && rng.bool(0.7) && this.depth < 3) {
        this.emit('ioas_map');
        areas = ofKind(this.scope, 'area').slice(-1);
      }
      if (areas.length > 0) {
        const a = areas[areas.length - 1 - Math.min(areas.length - 1, Math.floor(rng.next() ** 2 * areas.length))];
        const off = interestingOffset(rng, a.len);
        const room = a.len !== undefined ? (a.len > off ? a.len - off : 0n) : undefined;
        return { expr: rel(a.name, off), room, area: a };
      }
    }
    return { expr: num(specialIova(rng)), room: undefined };
  }

  flags(spec: FieldSpec, pDefault = 0.6): string[] | number | string | undefined {
    const rng = this.rng;
    if (spec.default !== undefined && rng.bool(pDefault)) return undefined;
    const names = Object.keys(spec.values ?? {});
    if (rng.bool(0.05)) return num(BigInt(rng.nextU32()));
    return names.filter(() => rng.bool(0.5));
  }

  enumValue(spec: FieldSpec): string | number {
    const names = Object.keys(spec.values ?? {});
    if (names.length === 0 || this.rng.bool(0.05)) return this.rng.int(0, 16);
    return this.rng.pick(names);
  }

  /** The struct size word: usually left to the default. */
  size(call: Call): void {
    if (this.rng.bool(0.03)) call.size = this.rng.pick(STRUCT_SIZES);
  }

  /** A field by its generic role (used for ops without a hand-written shape and by the mutator). */
  genericField(_op: string, name: string, spec: FieldSpec): unknown {
    const rng = this.rng;
    if (spec.defaultIommufd) {
      if (rng.bool(0.9)) return undefined;
      const fds = ofKind(this.scope, 'iommufd', 'access', 'memfd');
      return fds.length > 0 && rng.bool(0.8) ? rng.pick(fds).name : rng.pick([-1, 0, 3, 4, 5, 100]);
    }
    if (name === 'size' && spec.doc.startsWith('the struct size')) return rng.bool(0.7) ? undefined : rng.pick(STRUCT_SIZES);
    switch (spec.kind) {
      case 'flags':
        return this.flags(spec, 0.5);
      case 'enum':
        return this.enumValue(spec);
      case 'bool':
        return rng.bool(0.5);
      case 'string':
        return name === 'path' ? (rng.bool(0.8) ? '/dev/iommu' : '/dev/vfio/vfio') : 'sim';
      case 'hex':
        return Array.from({ length: rng.int(1, 16) }, () => rng.below(256).toString(16).padStart(2, '0')).join('');
      case 'ranges':
        return this.ranges();
      default:
        break;
    }
    switch (spec.handle) {
      case 'ioas':
        return this.id(['ioas']);
      case 'hwpt':
        return this.id(['hwpt']);
      case 'stdev':
        return this.id(['stdev']);
      case 'access':
        return this.id(['access']);
      case 'access_pages':
        return this.id(['access_pages']);
      case 'addr':
        return this.addr().expr;
      case 'iova':
        return this.iova().expr;
      case 'fd': {
        const fds = ofKind(this.scope, 'iommufd', 'access', 'memfd');
        return fds.length > 0 && rng.bool(0.85) ? rng.pick(fds).name : rng.pick([-1, 0, 3, 100]);
      }
      default:
        break;
    }
    if (/length|size/.test(name)) return num(interestingLength(rng, undefined));
    if (name === 'limit') return rng.pick(TEMP_LIMITS);
    if (name === 'nth') return rng.int(1, 40);
    if (name === 'refs') return rng.int(0, 3);
    if (name === 'num_iovas') return rng.pick([0, 1, 2, 16]);
    if (name === 'argsz') return rng.pick([0, 16, 24, 32, 40, 64, 512, 4096]);
    if (name === 'fill') return rng.below(256);
    if (name === 'offset') return num(K4 * BigInt(rng.int(0, 4)));
    if (name === 'val64') return num(rng.pick([0n, 1n, 2n, U64_MAX, rng.u64()]));
    if (spec.width === 'u64') return num(rng.bool(0.5) ? specialIova(rng) : rng.u64());
    return rng.pick([0, 1, 2, 4, 0xffff, 0xffffffff]);
  }

  ranges(): Array<[number | string, number | string]> {
    const rng = this.rng;
    const n = rng.pick([0, 1, 1, 2, 3]);
    const out: Array<[number | string, number | string]> = [];
    for (let i = 0; i < n; i++) {
      const s = rng.bool(0.5) ? specialIova(rng) & ~(K4 - 1n) : APERTURE_START * BigInt(rng.int(0, 8));
      const len = interestingLength(rng, undefined);
      const last = len === 0n ? s : BigInt.asUintN(64, s + len - 1n);
      out.push([num(s), num(rng.bool(0.1) ? U64_MAX : last)]);
    }
    return out;
  }

  maybeProc(c: Call): void {
    if (this.scope.procs.length > 0 && this.rng.bool(0.15)) c.proc = this.rng.pick(this.scope.procs);
  }

  // --- calls --------------------------------------------------------------------

  build(op: string): Call | undefined {
    const rng = this.rng;
    const spec = OPS[op];
    if (!spec) return undefined;
    const c: Call = { op };
    switch (op) {
      case 'mmap': {
        c.as = this.fresh();
        c.length = num(pickW<bigint>(rng, [
          [2, K4],
          [2, 4n * K4],
          [2, 16n * K4],
          [6, M2],
          [7, 2n * M2],
          [3, 4n * M2],
          [1, 3n * K4],
        ]));
        if (rng.bool(0.6)) c.thp = true;
        if (rng.bool(0.15)) c.prot = this.flags(OPS.mmap.fields.prot, 0) ?? ['READ'];
        if (rng.bool(0.15)) {
          c.flags = pickW<string[]>(rng, [
            [3, ['SHARED', 'ANONYMOUS']],
            [3, ['PRIVATE', 'ANONYMOUS', 'POPULATE']],
            [2, ['PRIVATE', 'ANONYMOUS', 'HUGETLB']],
            [1, ['SHARED', 'ANONYMOUS', 'HUGETLB']],
            [1, ['PRIVATE', 'ANONYMOUS', 'LOCKED']],
          ]);
        }
        if (rng.bool(0.05)) {
          const f = ofKind(this.scope, 'memfd');
          if (f.length > 0) {
            c.fd = rng.pick(f).name;
            c.flags = [rng.bool(0.5) ? 'SHARED' : 'PRIVATE'];
          }
        }
        break;
      }
      case 'munmap':
      case 'mprotect':
      case 'madvise': {
        const a = this.addr();
        c.addr = a.expr;
        c.length = num(interestingLength(rng, a.room));
        if (op === 'mprotect') c.prot = this.flags(OPS.mprotect.fields.prot, 0) ?? [];
        if (op === 'madvise') c.advice = rng.pick(['DONTNEED', 'HUGEPAGE', 'NOHUGEPAGE', 'POPULATE_WRITE', 'POPULATE_READ', 'FREE', 'DONTFORK', 'WIPEONFORK', 'COLLAPSE', 'REMOVE']);
        this.maybeProc(c);
        break;
      }
      case 'write_memory':
      case 'read_memory': {
        const a = this.addr();
        c.addr = a.expr;
        c.length = num(rng.pick([1n, 64n, K4, 2n * K4, K2]));
        if (op === 'write_memory') c.fill = rng.below(256);
        this.maybeProc(c);
        break;
      }
      case 'memfd_create':
        c.as = this.fresh();
        if (rng.bool(0.2)) c.flags = ['HUGETLB'];
        break;
      case 'ftruncate': {
        const f = this.need(['memfd']);
        c.fd = f ? f.name : -1;
        c.length = num(rng.pick([K4, 4n * K4, M2, 2n * M2]));
        break;
      }
      case 'fork':
        c.as = this.fresh();
        break;
      case 'exit': {
        if (this.scope.procs.length === 0) return undefined;
        c.proc = rng.pick(this.scope.procs);
        break;
      }
      case 'fail_nth':
        c.nth = pickW<() => number>(rng, [
          [6, () => rng.int(1, 4)],
          [3, () => rng.int(5, 12)],
          [1, () => rng.int(13, 60)],
        ])();
        break;
      case 'open':
        c.as = this.fresh();
        if (rng.bool(0.15)) c.path = '/dev/vfio/vfio';
        break;
      case 'close': {
        const fds = ofKind(this.scope, 'iommufd', 'access', 'memfd');
        c.fd = fds.length > 0 && rng.bool(0.9) ? rng.pick(fds).name : rng.pick([-1, 0, 3, 4, 5]);
        this.maybeProc(c);
        break;
      }
      case 'destroy':
        this.needIommufd();
        c.id = this.id(rng.pick<ResKind[]>([['ioas'], ['stdev'], ['hwpt'], ['idev'], ['stdev'], ['ioas']]));
        break;
      case 'ioas_alloc':
        this.needIommufd();
        c.as = this.fresh();
        break;
      case 'ioas_allow_iovas':
        this.needIommufd();
        c.ioas = this.id(['ioas']);
        c.ranges = this.ranges();
        break;
      case 'ioas_iova_ranges':
        this.needIommufd();
        c.ioas = this.id(['ioas']);
        if (rng.bool(0.3)) c.num_iovas = rng.pick([0, 1, 2]);
        break;
      case 'ioas_map': {
        this.needIommufd();
        const ioas = this.id(['ioas']);
        const a = this.addr();
        c.as = this.fresh();
        c.ioas = ioas;
        c.user_va = a.expr;
        c.length = this.lengthFor(a);
        if (rng.bool(0.4)) c.iova = this.iova(typeof ioas === 'string' ? ioas : undefined).expr;
        if (rng.bool(0.25)) {
          const fl = ['READABLE', 'WRITEABLE', 'FIXED_IOVA'].filter(() => rng.bool(0.6));
          c.flags = fl;
        }
        break;
      }
      case 'ioas_copy': {
        this.needIommufd();
        const src = this.iova();
        const srcIoas = src.area?.ioas;
        c.as = this.fresh();
        c.dst_ioas = this.id(['ioas']);
        c.src_ioas = srcIoas !== undefined && rng.bool(0.9) ? srcIoas : this.id(['ioas']);
        c.src_iova = src.expr;
        c.length = num(interestingLength(rng, src.room));
        if (rng.bool(0.35)) c.dst_iova = this.iova(typeof c.dst_ioas === 'string' ? c.dst_ioas : undefined).expr;
        if (rng.bool(0.15)) c.flags = ['READABLE', 'WRITEABLE', 'FIXED_IOVA'].filter(() => rng.bool(0.6));
        break;
      }
      case 'ioas_unmap': {
        this.needIommufd();
        if (rng.bool(0.15)) {
          c.ioas = this.id(['ioas']);
          c.iova = 0;
          c.length = 'U64_MAX';
          break;
        }
        const ioas = this.id(['ioas']);
        const v = this.iova(typeof ioas === 'string' ? ioas : undefined);
        c.as = this.fresh();
        c.ioas = v.area?.ioas !== undefined && rng.bool(0.8) ? v.area.ioas : ioas;
        if (v.area && v.area.len !== undefined && rng.bool(0.5)) {
          // the iova/length pair of a map is the natural input of unmap
          c.iova = v.area.name;
          c.length = num(v.area.len);
          break;
        }
        c.iova = v.expr;
        c.length = num(interestingLength(rng, v.room));
        break;
      }
      case 'option': {
        this.needIommufd();
        const huge = rng.bool(0.6);
        c.option_id = huge ? 'HUGE_PAGES' : 'RLIMIT_MODE';
        c.operation = rng.bool(0.7) ? 'SET' : 'GET';
        if (huge) c.object_id = this.id(['ioas']);
        else if (rng.bool(0.1)) c.object_id = this.id(['ioas']);
        c.val64 = num(rng.pick([0n, 1n, 1n, 0n, 2n, U64_MAX]));
        break;
      }
      case 'vfio_ioas':
        this.needIommufd();
        c.operation = rng.pick(['GET', 'SET', 'SET', 'CLEAR']);
        if (c.operation === 'SET') c.ioas = this.id(['ioas']);
        else if (c.operation === 'GET') c.as = this.fresh();
        break;
      case 'add_reserved': {
        this.needIommufd();
        c.ioas = this.id(['ioas']);
        const v = this.iova(typeof c.ioas === 'string' ? c.ioas : undefined);
        c.start = v.expr;
        c.length = num(interestingLength(rng, v.room));
        break;
      }
      case 'mock_domain':
      case 'mock_domain_flags':
        this.needIommufd();
        c.as = this.fresh();
        c.pt = rng.bool(0.85) ? this.id(['ioas']) : this.id(['hwpt']);
        if (op === 'mock_domain_flags') c.dev_flags = ['NO_DIRTY', 'HUGE_IOVA'].filter(() => rng.bool(0.5));
        break;
      case 'mock_domain_replace':
        this.needIommufd();
        c.as = this.fresh();
        c.stdev = this.id(['stdev']);
        c.pt = rng.bool(0.6) ? this.id(['ioas']) : this.id(['hwpt']);
        break;
      case 'md_check_map': {
        this.needIommufd();
        const h = this.need(['hwpt']);
        c.hwpt = h ? h.name : this.id(['hwpt']);
        const v = this.iova(h?.ioas);
        c.iova = v.expr;
        c.length = num(interestingLength(rng, v.room));
        c.uptr = this.addr().expr;
        break;
      }
      case 'md_check_refs': {
        this.needIommufd();
        const a = this.addr();
        c.uptr = a.expr;
        c.length = num(interestingLength(rng, a.room));
        c.refs = rng.int(0, 2);
        break;
      }
      case 'create_access':
        this.needIommufd();
        c.as = this.fresh();
        c.ioas = this.id(['ioas']);
        c.flags = rng.bool(0.85) ? ['NEEDS_PIN_PAGES'] : [];
        break;
      case 'access_replace_ioas':
        this.needIommufd();
        c.access = this.id(['access']);
        c.ioas = this.id(['ioas']);
        break;
      case 'access_pages':
      case 'access_rw': {
        this.needIommufd();
        const acc = this.need(['access']);
        c.access = acc ? acc.name : this.id(['access']);
        const v = this.iova(acc?.ioas);
        c.iova = v.expr;
        c.length = num(op === 'access_rw' && rng.bool(0.5) ? BigInt(rng.pick([1, 2, 7, 64, 4095, 4096, 4097, 8192])) : interestingLength(rng, v.room));
        if (op === 'access_pages') {
          c.as = this.fresh();
          if (rng.bool(0.5)) c.flags = ['WRITE'];
        } else {
          c.uptr = this.addr().expr;
          c.flags = ['WRITE', 'SLOW_PATH'].filter(() => rng.bool(0.5));
        }
        break;
      }
      case 'destroy_access_pages': {
        this.needIommufd();
        const it = this.need(['access_pages']);
        c.access = it?.access ?? this.id(['access']);
        c.access_pages_id = it ? it.name : rng.int(0, 4);
        break;
      }
      case 'set_temp_memory_limit':
        this.needIommufd();
        c.limit = rng.pick(TEMP_LIMITS);
        break;
      case 'vfio_map_dma': {
        this.needIommufd();
        const a = this.addr();
        c.vaddr = a.expr;
        c.iova = num(specialIova(rng));
        c.size = this.lengthFor(a);
        if (rng.bool(0.2)) c.flags = this.flags(OPS.vfio_map_dma.fields.flags, 0);
        break;
      }
      case 'vfio_unmap_dma': {
        this.needIommufd();
        if (rng.bool(0.2)) {
          c.flags = ['ALL'];
          break;
        }
        const v = this.iova();
        c.iova = v.expr;
        c.size = num(interestingLength(rng, v.room));
        break;
      }
      default: {
        if (spec.group === 'iommufd' || spec.group === 'test' || spec.group === 'vfio' || spec.group === 'raw') this.needIommufd();
        for (const [name, f] of Object.entries(spec.fields)) {
          if (!f.required && rng.bool(0.5)) continue;
          const v = this.genericField(op, name, f);
          if (v !== undefined) c[name] = v;
        }
        if (spec.primary !== undefined || Object.keys(spec.outputs).length > 0) c.as = this.fresh();
        break;
      }
    }
    const sizeWord = spec.fields.size;
    if (sizeWord?.doc.startsWith('the struct size') && c.size === undefined) this.size(c);
    if (spec.fields.fd?.defaultIommufd && c.fd === undefined && rng.bool(0.03)) c.fd = this.genericField(op, 'fd', spec.fields.fd);
    if (c.fd === undefined) delete c.fd;
    return c;
  }
}

// ---------------------------------------------------------------------------
// Entry points

export interface GenerateOptions {
  profile?: ProfileName;
  /** Most calls in a generated program (default 20). */
  maxCalls?: number;
}

/** Random top-level settings of a program. */
export function programSettings(rng: Prng, profile?: ProfileName): Omit<Program, 'calls'> {
  const p: Omit<Program, 'calls'> = {};
  if (profile) p.profile = profile;
  p.memory = '256M';
  p.memlock = pickW<string>(rng, [
    [14, 'unlimited'],
    [3, '8M'],
    [2, '1M'],
    [1, '64K'],
  ]);
  if (rng.bool(0.1)) p.caps = ['CAP_IPC_LOCK'];
  if (rng.bool(0.1)) p.thp = rng.pick(['always', 'never']);
  if (rng.bool(0.3)) p.seed = rng.int(1, 1000);
  return p;
}

/** Pick an op by weight (among those of `profile`'s kernel). */
export function pickOp(rng: Prng, profile?: ProfileName): string {
  return pickW(rng, opTable(profile));
}

/** Resource kinds each op takes, from the OPS handle hints (plus the ID/fd fields that take several kinds). */
const HINT_KINDS: Readonly<Record<string, ResKind[]>> = {
  ioas: ['ioas'],
  hwpt: ['hwpt'],
  stdev: ['stdev'],
  idev: ['idev'],
  access: ['access'],
  access_pages: ['access_pages'],
  addr: ['buf'],
  iova: ['area'],
  fd: ['iommufd', 'access', 'memfd'],
  iommufd: [],
  proc: ['proc'],
};
const EXTRA_CONSUMES: Readonly<Record<string, ResKind[]>> = {
  destroy: ['stdev', 'hwpt', 'idev'],
  mock_domain: ['hwpt'],
  mock_domain_flags: ['hwpt'],
  mock_domain_replace: ['hwpt'],
  exit: ['proc'],
};
export const CONSUMES: Readonly<Record<string, readonly ResKind[]>> = Object.fromEntries(
  Object.entries(OPS).map(([op, spec]) => {
    const kinds = new Set<ResKind>(EXTRA_CONSUMES[op] ?? []);
    for (const f of Object.values(spec.fields)) if (f.handle && !f.defaultIommufd) for (const k of HINT_KINDS[f.handle] ?? []) kinds.add(k);
    return [op, [...kinds]];
  }),
);

/**
 * An op to add to a program with `scope` in force: like syzkaller's choice
 * table, usually one that uses a resource the program already has (so new
 * calls act on what earlier calls made), else any op.
 */
export function pickOpFor(rng: Prng, scope: Scope, profile?: ProfileName): string {
  if (scope.res.length > 0 && rng.bool(0.6)) {
    const have = new Set(scope.res.map((r) => r.kind));
    const table = opTable(profile).filter(([, op]) => (CONSUMES[op] ?? []).some((k) => have.has(k)));
    if (table.length > 0) return pickW(rng, table);
  }
  return pickOp(rng, profile);
}

/**
 * Calls to insert at `pos` of `calls`: one call of `op` (random when absent)
 * preceded by whatever producers it needed.
 */
export function generateCallsAt(rng: Prng, calls: readonly Call[], pos: number, op?: string, gen: GenContext = {}): Call[] {
  const used = new Set<string>();
  for (const c of calls) if (typeof c.as === 'string') used.add(c.as);
  const b = new Builder(rng, calls.slice(0, pos), used, gen);
  b.emit(op ?? pickOpFor(rng, b.scopeNow(), gen.profile));
  return b.out;
}

/** A fresh random program. */
export function generateProgram(rng: Prng, opts: GenerateOptions = {}): Program {
  const max = opts.maxCalls ?? 20;
  const target = rng.int(Math.min(4, max), max);
  const calls: Call[] = [];
  let guard = 0;
  while (calls.length < target && guard++ < target * 4) {
    const add = generateCallsAt(rng, calls, calls.length, undefined, { profile: opts.profile });
    if (calls.length + add.length > max + 6) break;
    calls.push(...add);
  }
  return { ...programSettings(rng, opts.profile), calls };
}

/** Regenerate field `name` of call `index` in place (the mutator's argument tweak); new producer calls are returned to insert before it. */
export function regenerateField(rng: Prng, calls: Call[], index: number, name: string, gen: GenContext = {}): Call[] {
  const c = calls[index];
  const spec = OPS[c.op]?.fields[name];
  if (!spec) return [];
  const used = new Set<string>();
  for (const x of calls) if (typeof x.as === 'string') used.add(x.as);
  const b = new Builder(rng, calls.slice(0, index), used, gen);
  let v: unknown;
  const ioasOf = (f: string): string | undefined => baseHandle(c[f]);
  switch (name) {
    case 'user_va':
    case 'uptr':
    case 'vaddr':
    case 'addr':
      v = b.addr().expr;
      break;
    case 'iova':
    case 'src_iova':
    case 'dst_iova':
    case 'start':
      v = b.iova(ioasOf('ioas') ?? ioasOf('src_ioas')).expr;
      break;
    case 'length':
      v = c.op === 'mmap' ? num(interestingLength(rng, undefined) || K4) : num(interestingLength(rng, rng.bool(0.5) ? undefined : (literal(c.length) ?? undefined)));
      break;
    default:
      v = b.genericField(c.op, name, spec);
  }
  if (v === undefined) delete c[name];
  else c[name] = v;
  return b.out;
}
