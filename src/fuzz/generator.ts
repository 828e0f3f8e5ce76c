// SPDX-License-Identifier: GPL-2.0-only
/**
 * Program generator, modelled on syzkaller's iommufd descriptions
 * (sys/linux/dev_iommu.txt): programs are sequences of typed calls from the
 * op registry (ops/); resources (fds, IOAS / HWPT / device IDs, access fds
 * and items, fault queues, buffers, mapped IOVA ranges) flow from the call
 * that made them to later calls by handle; when a call needs a resource that
 * does not exist yet, the call making it is generated first (syzkaller's
 * resource constructors). Each op module says how its calls are shaped, what
 * they bind, and whether a profile's kernel has the op: the generator asks
 * the profile for its capabilities, never compares versions.
 *
 * Values are biased toward what tends to matter for address-range code, with
 * no knowledge of any particular bug (ops/values.ts). As in syzkaller,
 * lengths are usually tied to the buffer or area they describe
 * (`len[user_va]`), and sometimes not.
 *
 * Everything is a function of the Prng: the same seed gives the same programs.
 */
import type { Prng } from '../base/prng.js';
import { type Profile, type ProfileName, profileByName } from '../base/profile.js';
import { OP_MODULES, opAvailable, opModule } from './ops/index.js';
import type { FieldSpec, GenCtx, Place, Res, ResKind, Scope } from './ops/types.js';
import {
  APERTURE_START,
  K2,
  K4,
  M2,
  STRUCT_SIZES,
  TEMP_LIMITS,
  U64_MAX,
  baseHandle,
  interestingLength,
  interestingOffset,
  literal,
  num,
  overflowingLength,
  pickW,
  rel,
  shift,
  specialAddr,
  specialIova,
} from './ops/values.js';
import type { Call, Program } from './program.js';

export type { Res, ResKind, Scope } from './ops/types.js';
export { baseHandle, interestingLength, interestingOffset, literal, num, rel } from './ops/values.js';

/** A profile by name, or a profile object (handed to a run). */
export type ProfileLike = ProfileName | Profile;

function resolveProfile(p: ProfileLike | undefined): Profile | undefined {
  if (p === undefined) return undefined;
  return typeof p === 'string' ? profileByName(p) : p;
}

function profileName(p: ProfileLike | undefined): ProfileName | undefined {
  return p === undefined ? undefined : typeof p === 'string' ? p : p.name;
}

// ---------------------------------------------------------------------------
// Resources in scope at a point of a program

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
    const m = opModule(c.op);
    if (!m?.scope) continue;
    m.scope(c, as, (r) => {
      res.push({ ...r, call: i });
      if (r.kind === 'proc') procs.push(r.name);
    });
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
// Call construction

/** Generation weights of the ops (syzkaller-like priorities: core calls first), from the op modules. */
export const OP_WEIGHTS: Readonly<Record<string, number>> = Object.fromEntries(OP_MODULES.filter((m) => (m.weight ?? 0) > 0).map((m) => [m.name, m.weight!]));

const opTables = new Map<string, ReadonlyArray<readonly [number, string]>>();
const objectTables = new WeakMap<Profile, Map<boolean, ReadonlyArray<readonly [number, string]>>>();

/**
 * The ops a profile's kernel has (OpModule.available), with their weights:
 * like syzkaller, generate only what the target supports. The newer uAPI
 * (OpModule.newUapi) only with `newOps`.
 */
export function opTable(profile?: ProfileLike, newOps = false): ReadonlyArray<readonly [number, string]> {
  const build = (p: Profile | undefined) =>
    OP_MODULES.filter((m) => (m.weight ?? 0) > 0 && (newOps || !m.newUapi) && opAvailable(m.name, p)).map((m) => [m.weight!, m.name] as const);
  if (profile !== undefined && typeof profile !== 'string') {
    let byFlag = objectTables.get(profile);
    if (!byFlag) {
      byFlag = new Map();
      objectTables.set(profile, byFlag);
    }
    let t = byFlag.get(newOps);
    if (!t) {
      t = build(profile);
      byFlag.set(newOps, t);
    }
    return t;
  }
  const key = `${profile ?? ''}:${newOps}`;
  let t = opTables.get(key);
  if (!t) {
    t = build(resolveProfile(profile));
    opTables.set(key, t);
  }
  return t;
}

/** The op that makes each resource kind (the first module naming it in `produces`). */
const PRODUCER: Readonly<Partial<Record<ResKind, string>>> = (() => {
  const out: Partial<Record<ResKind, string>> = {};
  for (const m of OP_MODULES) for (const k of m.produces ?? []) out[k] ??= m.name;
  return out;
})();

/** What generation may know about the program it extends. */
export interface GenContext {
  /** The kernel profile (only ops it has are generated). */
  profile?: ProfileLike;
  /** Handles whose call failed when the program last ran (resources to avoid, usually). */
  dead?: ReadonlySet<string>;
  /** Generate the newer uAPI ops too (HWPTs, dirty tracking, fault queues, vIOMMUs: OpModule.newUapi). */
  newOps?: boolean;
}

/** Generation state: the calls so far (the prefix a new call goes after) and its scope. */
class Builder implements GenCtx {
  readonly out: Call[] = [];
  private scope: Scope;
  depth = 0;
  /** The IOAS a producer emitted for a caller's range should map into (iova(ioas) making an area). */
  private ioasHint: string | undefined;
  private attaching = false;
  readonly profile: Profile | undefined;
  readonly newOps: boolean;

  constructor(
    readonly rng: Prng,
    /** The program's calls before the insertion point. */
    readonly before: readonly Call[],
    used: Set<string>,
    readonly gen: GenContext = {},
  ) {
    this.scope = scanScope(before);
    for (const u of used) this.scope.used.add(u);
    this.profile = resolveProfile(gen.profile);
    this.newOps = gen.newOps === true;
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

  ofKind(...kinds: ResKind[]): Res[] {
    return ofKind(this.scope, ...kinds);
  }

  procs(): string[] {
    return this.scope.procs;
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
    const producer = PRODUCER[kinds[0]];
    if (producer !== undefined && opAvailable(producer, this.profile)) this.emit(producer);
    const made = ofKind(this.scope, ...kinds).pop();
    // A new buffer is often written before it is handed to a device: memory whose copies differ.
    if (made?.kind === 'buf' && this.rng.bool(0.3) && opAvailable('write_memory', this.profile)) this.emit('write_memory');
    // A new IOAS often gets a device attached before anything is mapped (as a VFIO user does), so
    // later maps land in its aperture and pin at once.
    if (made?.kind === 'ioas' && !this.attaching && this.rng.bool(0.3) && opAvailable('mock_domain', this.profile)) {
      const was = this.ioasHint;
      this.attaching = true;
      this.ioasHint = made.name;
      try {
        this.emit('mock_domain');
      } finally {
        this.ioasHint = was;
        this.attaching = false;
      }
    }
    return made ?? (rs.length > 0 ? rs[rs.length - 1] : undefined);
  }

  /** An iommufd must be open for calls whose fd defaults to it. */
  needIommufd(): void {
    if (!this.has('iommufd') && this.rng.bool(0.97)) {
      this.need(['iommufd']);
      // A new context is configured before anything is made in it (IOMMU_OPTION_RLIMIT_MODE takes only an empty one).
      if (this.has('iommufd') && this.rng.bool(0.1) && opAvailable('option', this.profile)) {
        this.out.push({ op: 'option', option_id: 'RLIMIT_MODE', operation: 'SET', val64: this.rng.bool(0.8) ? 1 : 0 });
        this.refresh();
      }
    }
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
    if (this.ioasHint !== undefined && kinds.length === 1 && kinds[0] === 'ioas' && rng.bool(0.9)) return this.ioasHint;
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
      // A range next to a reserved range of the IOAS: at its first byte or just past its last.
      if (rng.bool(0.2)) {
        const r = this.reservedEdge(ioas);
        if (r) return r;
      }
      let areas = this.live(['area']);
      let own = ioas !== undefined ? areas.filter((r) => r.ioas === ioas) : [];
      // An IOAS with nothing mapped yet: map something into it first (its ranges are what the call is about).
      if (ioas !== undefined && own.length === 0 && rng.bool(0.6) && this.depth < 3) {
        const was = this.ioasHint;
        this.ioasHint = ioas;
        try {
          this.emit('ioas_map');
        } finally {
          this.ioasHint = was;
        }
        areas = this.live(['area']);
        own = areas.filter((r) => r.ioas === ioas);
      }
      if (ioas !== undefined && own.length > 0 && rng.bool(0.9)) areas = own;
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

  /**
   * An edge of a range ADD_RESERVED reserved earlier in the program (in
   * `ioas` when given): its first byte, or the byte after its last.
   */
  private reservedEdge(ioas: string | undefined): Place | undefined {
    const rng = this.rng;
    const edges: Array<string | number> = [];
    for (const c of [...this.before, ...this.out]) {
      if (c.op !== 'add_reserved' || c.start === undefined) continue;
      if (ioas !== undefined && baseHandle(c.ioas) !== ioas && typeof c.ioas === 'string') continue;
      const len = literal(c.length);
      edges.push(c.start as string | number);
      if (len !== undefined && len > 0n && len < 1n << 62n) edges.push(shift(c.start, len));
    }
    if (edges.length === 0) return undefined;
    return { expr: rng.pick(edges), room: undefined };
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
      case 'fault':
        return this.id(['fault']);
      case 'viommu':
        return this.id(['viommu']);
      case 'vdevice':
        return this.id(['vdevice']);
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
    const mod = opModule(op);
    if (!mod) return undefined;
    const spec = mod.spec;
    let c: Call | undefined = { op };
    if (mod.generate) c = mod.generate(this, c);
    else {
      if (spec.group === 'iommufd' || spec.group === 'test' || spec.group === 'vfio' || spec.group === 'raw') this.needIommufd();
      for (const [name, f] of Object.entries(spec.fields)) {
        if (!f.required && rng.bool(0.5)) continue;
        const v = this.genericField(op, name, f);
        if (v !== undefined) c[name] = v;
      }
      if (spec.primary !== undefined || Object.keys(spec.outputs).length > 0) c.as = this.fresh();
    }
    if (!c) return undefined;
    // A forked child holding the same iommufd makes the call (processes as users use them: the pages
    // stay charged to the process that mapped them, whoever calls).
    if (c.proc === undefined && (spec.group === 'iommufd' || spec.group === 'test') && this.scope.procs.length > 0 && rng.bool(0.3)) c.proc = rng.pick(this.scope.procs);
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
  /** The kernel profile (a name, or a profile object): only ops it has are generated. */
  profile?: ProfileLike;
  /** Most calls in a generated program (default 20). */
  maxCalls?: number;
  /** Generate the newer uAPI ops too (GenContext.newOps). */
  newOps?: boolean;
}

/** Random top-level settings of a program. */
export function programSettings(rng: Prng, profile?: ProfileLike): Omit<Program, 'calls'> {
  const p: Omit<Program, 'calls'> = {};
  const name = profileName(profile);
  if (name) p.profile = name;
  // the RAM of the QEMU guests the differential mode runs the kernels in: the overcommit heuristic and
  // the populate of a large buffer then answer as there (at 256M a 260 MiB map was ENOMEM here only)
  p.memory = '1G';
  // RLIMIT_MEMLOCK: unlimited, or sizes the buffers the generator makes come in, so that a map
  // of a whole buffer (or two) reaches the limit exactly as often as it stays under or goes over.
  p.memlock = pickW<string>(rng, [
    [12, 'unlimited'],
    [2, '8M'],
    [1, '4M'],
    [1, '2M'],
    [1, '1M'],
    [1, '64K'],
    [1, '32K'],
    [1, '16K'],
    [1, '8K'],
  ]);
  // Capabilities: most processes hold none; some may lock memory without limit (CAP_IPC_LOCK) or
  // change the accounting mode (CAP_SYS_RESOURCE).
  const caps = pickW<string[]>(rng, [
    [16, []],
    [2, ['CAP_IPC_LOCK']],
    [2, ['CAP_SYS_RESOURCE']],
    [1, ['CAP_IPC_LOCK', 'CAP_SYS_RESOURCE']],
  ]);
  if (caps.length > 0) p.caps = caps;
  if (rng.bool(0.1)) p.thp = rng.pick(['always', 'never']);
  if (rng.bool(0.3)) p.seed = rng.int(1, 1000);
  return p;
}

/** Pick an op by weight (among those of `profile`'s kernel). */
export function pickOp(rng: Prng, profile?: ProfileLike, newOps = false): string {
  return pickW(rng, opTable(profile, newOps));
}

/** Resource kinds each field handle hint takes. */
const HINT_KINDS: Readonly<Record<string, ResKind[]>> = {
  ioas: ['ioas'],
  hwpt: ['hwpt'],
  stdev: ['stdev'],
  idev: ['idev'],
  access: ['access'],
  access_pages: ['access_pages'],
  fault: ['fault'],
  viommu: ['viommu'],
  vdevice: ['vdevice'],
  addr: ['buf'],
  iova: ['area'],
  fd: ['iommufd', 'access', 'memfd', 'fault'],
  iommufd: [],
  proc: ['proc'],
};

/** Resource kinds each op takes: its fields' handle hints plus what its module names (fields that take several kinds). */
export const CONSUMES: Readonly<Record<string, readonly ResKind[]>> = Object.fromEntries(
  OP_MODULES.map((m) => {
    const kinds = new Set<ResKind>(m.consumes ?? []);
    for (const f of Object.values(m.spec.fields)) if (f.handle && !f.defaultIommufd) for (const k of HINT_KINDS[f.handle] ?? []) kinds.add(k);
    return [m.name, [...kinds]];
  }),
);

/**
 * An op to add to a program with `scope` in force: like syzkaller's choice
 * table, usually one that uses a resource the program already has (so new
 * calls act on what earlier calls made), else any op.
 */
export function pickOpFor(rng: Prng, scope: Scope, profile?: ProfileLike, newOps = false): string {
  if (scope.res.length > 0 && rng.bool(0.6)) {
    const have = new Set(scope.res.map((r) => r.kind));
    const table = opTable(profile, newOps).filter(([, op]) => (CONSUMES[op] ?? []).some((k) => have.has(k)));
    if (table.length > 0) return pickW(rng, table);
  }
  return pickOp(rng, profile, newOps);
}

/**
 * Calls to insert at `pos` of `calls`: one call of `op` (random when absent)
 * preceded by whatever producers it needed.
 */
export function generateCallsAt(rng: Prng, calls: readonly Call[], pos: number, op?: string, gen: GenContext = {}): Call[] {
  const used = new Set<string>();
  for (const c of calls) if (typeof c.as === 'string') used.add(c.as);
  const b = new Builder(rng, calls.slice(0, pos), used, gen);
  b.emit(op ?? pickOpFor(rng, b.scopeNow(), gen.profile, gen.newOps === true));
  return b.out;
}

/** Share of fresh programs that start as a data path (dataPathCalls()). */
const DATA_PATH_SHARE = 0.35;

/** `n` random bytes as hex (memory whose copies can be told apart, byte by byte). */
function randomHex(rng: Prng, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += rng.below(256).toString(16).padStart(2, '0');
  return out;
}

/**
 * The start of a program that uses the IOAS as a device user does: a buffer
 * filled with bytes that differ from place to place (around its page
 * boundaries), one to three areas mapped from it (often edge to edge, at odd
 * page offsets, sometimes read-only), maybe with one or two domains and a
 * reserved range beside them, an access, and a few reads, writes and pins
 * through it at varied offsets and lengths (across page and area
 * boundaries, into a second buffer at odd offsets, from a forked child now
 * and then), sometimes ending with an unmap or a detach while pins are held.
 * Nothing here knows a bug: it is the ordinary data path, with its
 * boundaries taken often. The answer oracles compare the bytes both ways.
 */
function dataPathCalls(rng: Prng, profile: Profile | undefined, newOps: boolean, used: Set<string>): Call[] {
  const has = (op: string): boolean => opAvailable(op, profile) && (newOps || !opModule(op)?.newUapi);
  if (!has('create_access') || !has('access_rw') || !has('ioas_map')) return [];
  const name = (): string => freshName(used);
  const calls: Call[] = [];
  const buf = name();
  // Small buffers, and the 2 and 4 MiB ones THP backs (physically contiguous per folio: a run in a domain
  // each, the 4 MiB one two runs with a discontinuity between them).
  const bufLen = pickW<bigint>(rng, [
    [2, 4n * K4],
    [2, 16n * K4],
    [2, 64n * K4],
    [3, M2],
    [4, 2n * M2],
  ]);
  calls.push({ op: 'mmap', as: buf, length: num(bufLen), ...(rng.bool(bufLen >= M2 ? 0.8 : 0.3) ? { thp: true } : {}) });
  // Distinct bytes across page boundaries of the buffer (and at its start).
  const pages = Number(bufLen / K4);
  for (let i = rng.int(1, 4); i > 0; i--) {
    const n = pickW<number>(rng, [
      [2, rng.int(16, 64)],
      [3, rng.int(64, 512)],
      [1, rng.int(1024, 4096)],
    ]);
    const page = rng.bool(0.3) ? 0 : rng.int(1, Math.min(pages - 1, 8));
    let at = BigInt(page) * K4 - (page === 0 ? 0n : BigInt(rng.int(1, n)));
    if (at < 0n) at = 0n;
    if (at + BigInt(n) > bufLen) at = bufLen - BigInt(n);
    calls.push({ op: 'write_memory', addr: rel(buf, at), data: randomHex(rng, n) });
  }
  const fd = name();
  calls.push({ op: 'open', as: fd });
  const ioas = name();
  calls.push({ op: 'ioas_alloc', as: ioas });
  let stdev: string | undefined;
  if (has('mock_domain') && rng.bool(0.65)) {
    stdev = name();
    calls.push({ op: 'mock_domain', as: stdev, pt: ioas });
    // A second domain on the IOAS (a paging HWPT beside the device's auto domain).
    if (has('hwpt_alloc') && rng.bool(0.3)) calls.push({ op: 'hwpt_alloc', as: name(), dev_id: `${stdev}.idev_id`, pt_id: ioas });
  }
  // Small temporary buffers (as the selftests set them): pins and domain fills go in many batches.
  if (has('set_temp_memory_limit') && rng.bool(0.15)) calls.push({ op: 'set_temp_memory_limit', limit: rng.pick([12, 24, 36, 48, 60, 100]) });
  // The areas: consecutive pieces of the buffer, page aligned (an access needs its IOAS page aligned,
  // iopt_check_iova_alignment()), now and then not.
  const areas: Array<{ name: string; len: bigint }> = [];
  const odd = rng.bool(0.1);
  let off = odd ? BigInt(rng.pick([K2, 1n, 0x10n, 0xff0n])) : pickW<bigint>(rng, [
    [5, 0n],
    [2, K4],
    [1, K4 * BigInt(rng.int(2, 8))],
  ]);
  for (let i = rng.int(1, 3); i > 0 && off < bufLen; i--) {
    const room = bufLen - off;
    let len = pickW<bigint>(rng, [
      [3, K4 * BigInt(rng.int(1, 4))],
      [2, K4 * BigInt(rng.int(5, 16))],
      [bufLen >= M2 ? 8 : 1, room & ~(K4 - 1n)],
      [odd ? 2 : 0, K2 * BigInt(rng.int(1, 7) * 2 - 1)],
    ]);
    if (len === 0n) len = K4;
    if (len > room) len = room;
    const a = name();
    const c: Call = { op: 'ioas_map', as: a, ioas, user_va: rel(buf, off), length: num(len) };
    const prev = areas[areas.length - 1];
    // Edge to edge with the previous area, or where the kernel puts it.
    if (prev && rng.bool(0.7)) c.iova = rel(prev.name, prev.len);
    else if (rng.bool(0.2)) c.iova = num(APERTURE_START + K4 * BigInt(rng.int(0, 16)));
    if (rng.bool(0.2)) c.flags = [rng.bool(0.7) ? 'READABLE' : 'WRITEABLE', ...(c.iova !== undefined ? ['FIXED_IOVA'] : [])];
    calls.push(c);
    areas.push({ name: a, len });
    off += len + (rng.bool(0.8) ? 0n : K4);
  }
  if (areas.length === 0) return [];
  // A reserved range right after the last area, and a map placed against it.
  if (has('add_reserved') && rng.bool(0.15)) {
    const last = areas[areas.length - 1];
    const rlen = K4 * BigInt(rng.int(1, 4));
    calls.push({ op: 'add_reserved', ioas, start: rel(last.name, last.len + K4), length: num(rlen) });
    const mlen = K4 * BigInt(rng.int(1, 2));
    calls.push({ op: 'ioas_map', as: name(), ioas, user_va: rel(buf, 0n), length: num(mlen), iova: rel(last.name, last.len + K4 - mlen + BigInt(rng.pick([0, 1, K2, K4]))) });
  }
  // A copy of (part of) an area: the same pages at another IOVA, perhaps with other protection.
  if (has('ioas_copy') && rng.bool(0.25)) {
    const a = rng.pick(areas);
    const skip = a.len > K4 && rng.bool(0.5) ? K4 : 0n;
    const c: Call = { op: 'ioas_copy', as: name(), dst_ioas: ioas, src_ioas: ioas, src_iova: rel(a.name, skip), length: num(a.len - skip) };
    if (rng.bool(0.5)) c.flags = [rng.bool(0.7) ? 'READABLE' : 'WRITEABLE'];
    calls.push(c);
    areas.push({ name: c.as as string, len: a.len - skip });
  }
  const out = name();
  calls.push({ op: 'mmap', as: out, length: num(pickW<bigint>(rng, [[2, 4n * K4], [1, 16n * K4]])) });
  // The access, sometimes used from a forked child (it holds the same iommufd and the access fd).
  const acc = name();
  calls.push({ op: 'create_access', as: acc, ioas, flags: rng.bool(0.85) ? ['NEEDS_PIN_PAGES'] : [] });
  let child: string | undefined;
  if (has('fork') && rng.bool(0.25)) {
    child = name();
    calls.push({ op: 'fork', as: child });
  }
  const items: string[] = [];
  for (let i = rng.int(2, 5); i > 0; i--) {
    const k = rng.below(areas.length);
    const a = areas[k];
    const at = pickW<bigint>(rng, [
      [3, 0n],
      [2, BigInt(rng.pick([1, 7, 0x10, 0x7ff, 0x800, 0xff0, 0xfff]))],
      [2, K4 * BigInt(rng.int(0, Math.max(0, Number(a.len / K4) - 1))) + BigInt(rng.pick([0, 1, 0x800, 0xffe]))],
      [3, a.len > K2 ? a.len - BigInt(rng.pick([1, 7, 0x10, K2, K4])) : 0n],
    ]);
    const left = a.len > at ? a.len - at : 1n;
    // Often to the end of the area or past it (into the next one, when they touch).
    const length = pickW<bigint>(rng, [
      [3, BigInt(rng.pick([1, 7, 64, 0x7ff, 4095, 4096, 4097]))],
      [2, K4 * BigInt(rng.int(1, 4)) + BigInt(rng.pick([0, 1, 0x11, 0x800]))],
      [2, left],
      [k + 1 < areas.length ? 4 : 1, left + BigInt(rng.pick([1, 0x10, K2, K4]))],
    ]);
    const proc = child !== undefined && rng.bool(0.4) ? { proc: child } : {};
    if (rng.bool(0.6)) {
      const flags = ['WRITE', 'SLOW_PATH'].filter(() => rng.bool(0.4));
      const uptr = rel(out, BigInt(rng.pick([0, 0, 1, 0x7ff, 0x800, 0xff0, 0x1000, 0x1003])));
      calls.push({ op: 'access_rw', access: acc, iova: rel(a.name, at), length: num(length), uptr, ...(flags.length ? { flags } : {}), ...proc });
      // What a read brought in, written back.
      if (rng.bool(0.2) && length <= 16n * K4) calls.push({ op: 'access_rw', access: acc, iova: rel(a.name, at), length: num(length), uptr, flags: ['WRITE'], ...proc });
    } else {
      // Pins are mostly of whole pages inside the area.
      const it = name();
      let first = at & ~(K4 - 1n);
      let plen = length > K4 ? (length + K4 - 1n) & ~(K4 - 1n) : K4;
      if (first + plen > a.len && a.len > first && rng.bool(0.7)) plen = a.len - first;
      // Or a few pages strictly inside it (holes on both sides).
      const pages = Number(a.len / K4);
      if (pages >= 3 && rng.bool(0.5)) {
        const k = rng.int(1, pages - 2);
        first = K4 * BigInt(k);
        plen = K4 * BigInt(rng.int(1, Math.min(16, pages - 1 - k)));
      }
      calls.push({ op: 'access_pages', as: it, access: acc, iova: rel(a.name, first), length: num(plen), ...(rng.bool(0.4) ? { flags: ['WRITE'] } : {}), ...proc });
      items.push(it);
    }
  }
  // The end: an unmap, a detach (the device's domain goes while the access holds pins), or an unpin.
  const end = pickW<number>(rng, [
    [1, 0],
    [stdev === undefined ? 0 : items.length > 0 ? 6 : 2, 1],
    [1, 2],
    [1, 3],
    [2, 4],
  ]);
  if (end === 0) calls.push({ op: 'ioas_unmap', ioas, iova: areas[0].name, length: num(areas.reduce((t, a) => t + a.len, 0n)) });
  else if (end === 1 && stdev !== undefined) calls.push({ op: 'destroy', id: stdev });
  else if (end === 2) {
    const a = rng.pick(areas);
    calls.push({ op: 'ioas_unmap', ioas, iova: a.name, length: num(a.len) });
  } else if (end === 3 && items.length > 0) calls.push({ op: 'destroy_access_pages', access: acc, access_pages_id: rng.pick(items) });
  return calls;
}

/** A fresh random program. */
export function generateProgram(rng: Prng, opts: GenerateOptions = {}): Program {
  const max = opts.maxCalls ?? 20;
  const target = rng.int(Math.min(4, max), max);
  const calls: Call[] = [];
  if (rng.bool(DATA_PATH_SHARE)) calls.push(...dataPathCalls(rng, resolveProfile(opts.profile), opts.newOps === true, new Set()));
  let guard = 0;
  while (calls.length < target && guard++ < target * 4) {
    const add = generateCallsAt(rng, calls, calls.length, undefined, { profile: opts.profile, newOps: opts.newOps });
    if (calls.length + add.length > max + 6) break;
    calls.push(...add);
  }
  return { ...programSettings(rng, opts.profile), calls };
}

/** Regenerate field `name` of call `index` in place (the mutator's argument tweak); new producer calls are returned to insert before it. */
export function regenerateField(rng: Prng, calls: Call[], index: number, name: string, gen: GenContext = {}): Call[] {
  const c = calls[index];
  const mod = opModule(c.op);
  const spec = mod?.spec.fields[name];
  if (!mod || !spec) return [];
  const used = new Set<string>();
  for (const x of calls) if (typeof x.as === 'string') used.add(x.as);
  const b = new Builder(rng, calls.slice(0, index), used, gen);
  let v: unknown;
  const ioasOf = (f: string): string | undefined => baseHandle(c[f]);
  const own = mod.regenerate?.(b, c, name);
  if (own) v = own.value;
  else switch (name) {
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
