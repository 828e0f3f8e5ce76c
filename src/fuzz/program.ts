// SPDX-License-Identifier: GPL-2.0-only
/**
 * Scenario programs (architecture.md, "Scenario programs"): a list of system
 * calls with symbolic names for their results, written as JSON or YAML.
 *
 *   { "profile": "latest", "memory": "1G", "memlock": "unlimited",
 *     "calls": [
 *       { "op": "mmap", "as": "$buf", "length": "2M" },
 *       { "op": "open", "path": "/dev/iommu", "as": "$fd" },
 *       { "op": "ioas_alloc", "as": "$ioas" },
 *       { "op": "ioas_map", "ioas": "$ioas", "user_va": "$buf", "length": "2M",
 *         "iova": "0x1000000", "expect": "ok" } ] }
 *
 * Values. Every integer field takes a number, or a string made of terms
 * joined by `+` / `-`: a size (`4096`, `0x1000`, `4K`, `2M`, `1G`), a named
 * constant (CONSTANTS: `U64_MAX`, `PAGE_SIZE`, ...), or a handle (`$buf`,
 * `$dev.hwpt_id`). Flag fields take a list of names (or numbers), enum fields a
 * name or a number.
 *
 * Handles. `"as": "$x"` binds the call's main result (the mmap address, the
 * new fd, the IOAS ID, ...); every other output `o` of the call is bound as
 * `$x.o`. `$main` is the first process. A failed call binds its results as
 * they came back (0 for an address, -1 for an fd).
 *
 * Meta keys of a call: `op`, `as`, `expect`, `expectOn` (per-profile
 * expectations overriding `expect`), `proc` (the process making the call,
 * default `$main`), `comment`.
 *
 * Expectations: `ok` (the call succeeded), `any`, an errno name (`EINVAL`),
 * or an object of output values (`{ "iova": "0x1000000" }`, which implies
 * success unless it names `errno`; `ret` compares the return value).
 *
 * fd fields of iommufd, VFIO and test ops default to the last /dev/iommu or
 * /dev/vfio/vfio the calling process opened.
 */
import { LineCounter, type Node as YamlNode, isMap, isPair, isScalar, isSeq, parseDocument, Document as YamlDocument } from 'yaml';
import { errnoNumber } from '../base/errno.js';
import { PROFILE_NAMES, type ProfileName } from '../base/profile.js';
import { parseSize } from '../base/u64.js';
import { MAX_MACHINE_BYTES } from '../mm/physical-memory.js';
import { CAPABILITIES } from '../mm/task.js';
import { AS_RE, type Expr, HANDLE_RE, describe, exprHandles, ioctlNames, parseEnum, parseExpr, parseFlags } from './ops/expr.js';
import { OPS } from './ops/index.js';
import { parseHex } from './ops/spec.js';
import type { FieldSpec, OpSpec } from './ops/types.js';

export type { ProfileName } from '../base/profile.js';

// ---------------------------------------------------------------------------
// The binding contract

export interface Call {
  op: string;
  as?: string;
  expect?: string | Record<string, unknown>;
  [field: string]: unknown;
}

export interface Program {
  profile?: ProfileName;
  memory?: string;
  memlock?: string;
  caps?: string[];
  calls: Call[];
  /** Optional extras (see TOP_LEVEL_KEYS). */
  [key: string]: unknown;
}

export type ParseResult = { ok: true; program: Program } | { ok: false; error: string };

// ---------------------------------------------------------------------------
// Op specifications: one module per op under ops/ (its spec, execution,
// generation, mutation and C emission); the registry lists them.

export type { FieldKind, FieldSpec, HandleKind, OpSpec, Width } from './ops/types.js';
export { OPS } from './ops/index.js';
export {
  ACCESS_PAGES_FLAGS,
  ACCESS_RW_FLAGS,
  CREATE_ACCESS_FLAGS,
  IOAS_MAP_FLAGS,
  MADV_ADVICE,
  MAP_FLAGS,
  MFD_FLAGS,
  MOCK_DEV_FLAGS,
  OPEN_FLAGS,
  OPTION_IDS,
  OPTION_OPS,
  PROT_FLAGS,
  VFIO_EXTENSIONS,
  VFIO_IOAS_OPS,
  VFIO_MAP_FLAGS,
  VFIO_UNMAP_FLAGS,
  parseHex,
  toHex,
} from './ops/spec.js';
export {
  CONSTANTS,
  type Expr,
  type Term,
  evalExpr,
  exprHandles,
  fieldExpr,
  ioctlNumberByName,
  isHandleName,
  parseEnum,
  parseExpr,
  parseFlags,
  parseSizeLiteral,
  VFIO_IOCTLS,
} from './ops/expr.js';

/** Keys every call may carry besides its op's fields. */
export const META_KEYS = ['op', 'as', 'expect', 'expectOn', 'proc', 'comment'] as const;

/** Top-level keys of a program. */
export const TOP_LEVEL_KEYS = [
  'name',
  'description',
  'profile',
  /** Profiles the regression tests replay the program on (default: [profile]). */
  'profiles',
  'memory',
  'memlock',
  'caps',
  'seed',
  'thp',
  'hugetlb_pages',
  /** The CPU has 1 GiB pages (pdpe1gb), so the 1 GiB hugetlb size exists (default false, as in the oracle VMs). */
  'gbpages',
  /** Physical placement of frames: 'scattered' (default) or 'linear' (consecutive faults get consecutive PFNs). */
  'phys_layout',
  /** A WARN the program must trip: an assertion name, or one per profile ({ "v6.2": "name" }). */
  'expectWarning',
  'calls',
] as const;

export const THP_MODES = ['always', 'madvise', 'never'] as const;
export const PHYS_LAYOUTS = ['scattered', 'linear'] as const;


// ---------------------------------------------------------------------------
// Expectations

export type Expectation =
  | { kind: 'any' }
  | { kind: 'ok' }
  | { kind: 'errno'; errno: string }
  | { kind: 'values'; values: Record<string, unknown>; errno?: string };

export function parseExpectation(raw: unknown): Expectation | string {
  if (raw === undefined || raw === null || raw === 'any') return { kind: 'any' };
  if (raw === 'ok' || raw === 0) return { kind: 'ok' };
  if (typeof raw === 'string') {
    const name = raw === 'EDEADLOCK' ? 'EDEADLK' : raw;
    if (errnoNumber(name) === undefined) return `expected "ok", "any", an errno name or an object of outputs, got ${JSON.stringify(raw)}`;
    return { kind: 'errno', errno: name };
  }
  if (typeof raw === 'object' && !Array.isArray(raw)) {
    const values = { ...(raw as Record<string, unknown>) };
    let errno: string | undefined;
    if ('errno' in values) {
      const e = values.errno;
      delete values.errno;
      if (typeof e !== 'string' || errnoNumber(e) === undefined) return `errno must be an errno name, got ${describe(e)}`;
      errno = e === 'EDEADLOCK' ? 'EDEADLK' : e;
    }
    return { kind: 'values', values, ...(errno ? { errno } : {}) };
  }
  return `expected "ok", "any", an errno name or an object of outputs, got ${describe(raw)}`;
}

/** The expectation of a call under a profile (expectOn wins over expect). */
export function expectationFor(call: Call, profile: ProfileName): unknown {
  const on = call.expectOn;
  if (on && typeof on === 'object' && !Array.isArray(on) && Object.hasOwn(on, profile)) return (on as Record<string, unknown>)[profile];
  return call.expect;
}

/** The expected WARN of a program under a profile (undefined: none). */
export function expectedWarning(p: Program, profile: ProfileName): string | undefined {
  const w = p.expectWarning;
  if (typeof w === 'string') return w;
  if (w && typeof w === 'object' && !Array.isArray(w)) {
    const v = (w as Record<string, unknown>)[profile];
    return typeof v === 'string' ? v : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Validation

/** A path into the program: ['calls', 3, 'length']. */
export type Path = ReadonlyArray<string | number>;

export interface ProgramIssue {
  readonly path: Path;
  readonly message: string;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The largest value a term may have: every number must fit in u64 (sums may still wrap, as C's do). */
const U64_MAX = (1n << 64n) - 1n;

/** An error when a term of `e` does not fit in 64 bits. */
function termsFit(e: Expr | string): string | undefined {
  if (typeof e === 'string') return e;
  for (const t of e) if (t.value !== undefined && t.value > U64_MAX) return `${t.sign < 0 ? '-' : ''}0x${t.value.toString(16)} does not fit in 64 bits`;
  return undefined;
}

/** Numeric fields take numbers or value strings, never true/false (YAML's `yes`, a typo for a flag list). */
function notBool(raw: unknown): string | undefined {
  return typeof raw === 'boolean' ? `expected a number, got ${raw}` : undefined;
}

/** Check one field value against its spec; an error message or undefined. */
export function checkFieldValue(spec: FieldSpec, raw: unknown): string | undefined {
  switch (spec.kind) {
    case 'int':
      return notBool(raw) ?? termsFit(parseExpr(raw));
    case 'flags':
      return (Array.isArray(raw) ? raw.map(notBool).find((x) => x) : notBool(raw)) ?? termsFit(parseFlags(raw, spec.values ?? {}));
    case 'enum':
      return notBool(raw) ?? termsFit(parseEnum(raw, spec.values ?? {}, ioctlNames));
    case 'bool':
      return typeof raw === 'boolean' ? undefined : `expected true or false, got ${describe(raw)}`;
    case 'string':
      return typeof raw === 'string' ? undefined : `expected a string, got ${describe(raw)}`;
    case 'hex': {
      const h = parseHex(raw);
      return typeof h === 'string' ? h : undefined;
    }
    case 'ranges': {
      if (!Array.isArray(raw)) return 'expected a list of [start, last] pairs';
      for (const r of raw) {
        if (!Array.isArray(r) || r.length !== 2) return 'each range must be [start, last]';
        for (const x of r) {
          const bad = notBool(x) ?? termsFit(parseExpr(x));
          if (bad) return bad;
        }
      }
      return undefined;
    }
  }
}

/** What validateProgram() learns of one field value: its error, else the handles it names. */
interface CheckedField {
  readonly err: string | undefined;
  readonly handles: readonly string[];
}

/**
 * Per field spec, the CheckedField of each number or string value met (both are pure functions of the two):
 * the fuzzer validates every mutated program whole, and most of its values, kilobytes of hex data among
 * them, are the corpus program's own. Bounded: emptied when it holds CHECKED_MAX values.
 */
const checkedMemo = new Map<FieldSpec, Map<unknown, CheckedField>>();
let checkedCount = 0;
const CHECKED_MAX = 1 << 16;

function checkedField(f: FieldSpec, raw: unknown): CheckedField {
  const primitive = typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'bigint';
  if (!primitive) return checkFieldOnce(f, raw);
  let m = checkedMemo.get(f);
  const hit = m?.get(raw);
  if (hit !== undefined) return hit;
  const out = checkFieldOnce(f, raw);
  if (checkedCount >= CHECKED_MAX) {
    checkedMemo.clear();
    checkedCount = 0;
    m = undefined;
  }
  if (m === undefined) {
    m = new Map();
    checkedMemo.set(f, m);
  }
  m.set(raw, out);
  checkedCount++;
  return out;
}

function checkFieldOnce(f: FieldSpec, raw: unknown): CheckedField {
  const err = checkFieldValue(f, raw);
  return { err, handles: err ? [] : fieldHandles(f, raw) };
}

/** Handles read by a field value. */
function fieldHandles(spec: FieldSpec, raw: unknown): string[] {
  const out: string[] = [];
  const add = (e: Expr | string) => {
    if (typeof e !== 'string') out.push(...exprHandles(e));
  };
  if (spec.kind === 'int') add(parseExpr(raw));
  else if (spec.kind === 'flags') add(parseFlags(raw, spec.values ?? {}));
  else if (spec.kind === 'enum') add(parseEnum(raw, spec.values ?? {}, ioctlNames));
  else if (spec.kind === 'ranges' && Array.isArray(raw)) for (const r of raw) if (Array.isArray(r)) for (const x of r) add(parseExpr(x));
  return out;
}

/** Every problem of a program (empty when it is valid). */
export function validateProgram(p: unknown): ProgramIssue[] {
  const issues: ProgramIssue[] = [];
  const bad = (path: Path, message: string) => issues.push({ path, message });
  if (!isObj(p)) {
    bad([], 'a program is an object with a "calls" list');
    return issues;
  }
  for (const k of Object.keys(p)) if (!(TOP_LEVEL_KEYS as readonly string[]).includes(k)) bad([k], `unknown top-level key "${k}" (known: ${TOP_LEVEL_KEYS.join(', ')})`);
  if (p.profile !== undefined && !(PROFILE_NAMES as readonly unknown[]).includes(p.profile)) bad(['profile'], `unknown profile ${JSON.stringify(p.profile)} (known: ${PROFILE_NAMES.join(', ')})`);
  if (p.profiles !== undefined) {
    if (!Array.isArray(p.profiles) || p.profiles.length === 0) bad(['profiles'], 'expected a non-empty list of profile names');
    else
      p.profiles.forEach((x, i) => {
        if (!(PROFILE_NAMES as readonly unknown[]).includes(x)) bad(['profiles', i], `unknown profile ${JSON.stringify(x)}`);
      });
  }
  for (const k of ['name', 'description'] as const) if (p[k] !== undefined && typeof p[k] !== 'string') bad([k], 'expected a string');
  if (p.memory !== undefined) {
    // what the machine is made with (parseSize), in the range PhysicalMemory takes
    let bytes: bigint | undefined;
    try {
      if (typeof p.memory === 'string' || typeof p.memory === 'number') bytes = parseSize(p.memory);
    } catch {}
    if (bytes === undefined) bad(['memory'], 'expected a size like "1G"');
    else if (bytes < 4096n || bytes % 4096n !== 0n || bytes > BigInt(MAX_MACHINE_BYTES)) bad(['memory'], 'expected a multiple of 4K from 4K to 1T');
  }
  if (p.memlock !== undefined) {
    const ok = (typeof p.memlock === 'string' && /^(unlimited|infinity)$/i.test(p.memlock)) || (() => {
      const v = parseExpr(p.memlock);
      return typeof v !== 'string' && v.every((t) => !t.handle);
    })();
    if (!ok) bad(['memlock'], 'expected a size like "8M" or "unlimited"');
  }
  if (p.caps !== undefined) {
    if (!Array.isArray(p.caps)) bad(['caps'], 'expected a list of capability names');
    else
      p.caps.forEach((c, i) => {
        if (!CAPABILITIES.includes(c as string)) bad(['caps', i], `unknown capability ${JSON.stringify(c)}`);
      });
  }
  if (p.seed !== undefined && !(typeof p.seed === 'number' && Number.isSafeInteger(p.seed))) bad(['seed'], 'expected an integer');
  if (p.thp !== undefined && !(THP_MODES as readonly unknown[]).includes(p.thp)) bad(['thp'], `expected one of ${THP_MODES.join(', ')}`);
  if (p.phys_layout !== undefined && !(PHYS_LAYOUTS as readonly unknown[]).includes(p.phys_layout)) bad(['phys_layout'], `expected one of ${PHYS_LAYOUTS.join(', ')}`);
  if (p.gbpages !== undefined && typeof p.gbpages !== 'boolean') bad(['gbpages'], 'expected true or false');
  if (p.hugetlb_pages !== undefined) {
    if (!isObj(p.hugetlb_pages)) bad(['hugetlb_pages'], 'expected { "2M": n, "1G": n }');
    else
      for (const [k, v] of Object.entries(p.hugetlb_pages)) {
        if (k !== '2M' && k !== '1G') bad(['hugetlb_pages', k], 'expected the key 2M or 1G');
        else if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) bad(['hugetlb_pages', k], 'expected a page count');
        else if (k === '1G' && p.gbpages !== true) bad(['hugetlb_pages', k], 'a 1 GiB pool needs gbpages: true (no 1 GiB hugetlb size without it)');
      }
  }
  if (p.expectWarning !== undefined) {
    const w = p.expectWarning;
    if (isObj(w)) {
      for (const [k, v] of Object.entries(w)) {
        if (!(PROFILE_NAMES as readonly string[]).includes(k)) bad(['expectWarning', k], `unknown profile ${JSON.stringify(k)}`);
        else if (v !== null && typeof v !== 'string') bad(['expectWarning', k], 'expected a WARN assertion name or null');
      }
    } else if (typeof w !== 'string') bad(['expectWarning'], 'expected a WARN assertion name, or an object of them per profile');
  }
  if (!Array.isArray(p.calls)) {
    bad(['calls'], 'a program needs a "calls" list');
    return issues;
  }
  // Handles bound so far: name → the op that bound it.
  const bound = new Map<string, string>([['$main', 'fork']]);
  const known = (h: string): boolean => {
    const dot = h.indexOf('.');
    if (dot < 0) return bound.has(h);
    const base = h.slice(0, dot);
    const op = bound.get(base);
    if (op === undefined) return false;
    return Object.hasOwn(OPS[op].outputs, h.slice(dot + 1));
  };
  p.calls.forEach((c, i) => {
    const at = (...rest: Array<string | number>): Path => ['calls', i, ...rest];
    if (!isObj(c)) {
      bad(at(), 'each call is an object with an "op"');
      return;
    }
    if (typeof c.op !== 'string' || !Object.hasOwn(OPS, c.op)) {
      bad(at('op'), c.op === undefined ? 'missing "op"' : `unknown op ${JSON.stringify(c.op)}`);
      return;
    }
    const spec = OPS[c.op];
    for (const [k, v] of Object.entries(c)) {
      if ((META_KEYS as readonly string[]).includes(k)) continue;
      const f = spec.fields[k];
      if (!f) {
        bad(at(k), `${c.op} has no field "${k}" (fields: ${Object.keys(spec.fields).join(', ') || 'none'})`);
        continue;
      }
      const { err, handles } = checkedField(f, v);
      if (err) {
        bad(at(k), err);
        continue;
      }
      for (const h of handles) if (!known(h)) bad(at(k), `unknown handle ${h} (bind it first with "as")`);
    }
    for (const [k, f] of Object.entries(spec.fields)) if (f.required && c[k] === undefined) bad(at(k), `${c.op} needs "${k}"`);
    if (c.op === 'write_memory' && c.data === undefined && (c.fill === undefined || c.length === undefined)) bad(at('data'), 'write_memory needs "data", or "fill" and "length"');
    if (c.op === 'write_memory' && c.data !== undefined && c.fill !== undefined) bad(at('fill'), 'give either "data" or "fill"');
    if (c.proc !== undefined) {
      if (typeof c.proc !== 'string' || !HANDLE_RE.test(c.proc)) bad(at('proc'), 'expected a process handle like "$child"');
      else if (!known(c.proc)) bad(at('proc'), `unknown handle ${c.proc}`);
    }
    if (c.comment !== undefined && typeof c.comment !== 'string') bad(at('comment'), 'expected a string');
    const ex = parseExpectation(c.expect);
    if (typeof ex === 'string') bad(at('expect'), ex);
    else if (ex.kind === 'values') checkExpectValues(ex.values, spec, at('expect'), bad, known);
    if (c.expectOn !== undefined) {
      if (!isObj(c.expectOn)) bad(at('expectOn'), 'expected an object of expectations per profile');
      else
        for (const [k, v] of Object.entries(c.expectOn)) {
          if (!(PROFILE_NAMES as readonly string[]).includes(k)) bad(at('expectOn', k), `unknown profile ${JSON.stringify(k)}`);
          const e = parseExpectation(v);
          if (typeof e === 'string') bad(at('expectOn', k), e);
          else if (e.kind === 'values') checkExpectValues(e.values, spec, at('expectOn', k), bad, known);
        }
    }
    if (c.as !== undefined) {
      if (typeof c.as !== 'string' || !AS_RE.test(c.as)) bad(at('as'), 'expected a handle name like "$buf"');
      else if (c.as === '$main') bad(at('as'), '$main is the first process');
      else bound.set(c.as, c.op);
    }
  });
  return issues;
}

function checkExpectValues(values: Record<string, unknown>, spec: OpSpec, path: Path, bad: (p: Path, m: string) => void, known: (h: string) => boolean): void {
  for (const [k, v] of Object.entries(values)) {
    if (k !== 'ret' && k !== 'fault_injected' && !Object.hasOwn(spec.outputs, k)) {
      bad([...path, k], `no output "${k}" (outputs: ${['ret', ...Object.keys(spec.outputs)].join(', ')})`);
      continue;
    }
    if (k === 'data' || k === 'ranges') {
      if (typeof v !== 'string') bad([...path, k], 'expected a string');
      continue;
    }
    const e = parseExpr(v);
    const wrong = k === 'fault_injected' ? undefined : notBool(v) ?? termsFit(e);
    if (typeof e === 'string') bad([...path, k], e);
    else if (wrong) bad([...path, k], wrong);
    else for (const h of exprHandles(e)) if (!known(h)) bad([...path, k], `unknown handle ${h}`);
  }
}

// ---------------------------------------------------------------------------
// Parsing with line numbers

function toPlain(v: unknown, seen: Set<unknown> = new Set()): unknown {
  // Big integers become hex text, whole: one that does not fit in 64 bits is then reported, never wrapped.
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
  if (typeof v !== 'object' || v === null) return v;
  // Aliases can make cycles (&a [*a]): cut them.
  if (seen.has(v)) return null;
  seen.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => toPlain(x, seen));
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = toPlain(x, seen);
    return o;
  } finally {
    seen.delete(v);
  }
}

/** The node at `path` in a parsed document (or the deepest ancestor that exists). */
function nodeAt(doc: YamlDocument, path: Path): { node: YamlNode | undefined; keyNode: YamlNode | undefined } {
  let node = doc.contents as YamlNode | null | undefined;
  let keyNode: YamlNode | undefined;
  for (const seg of path) {
    if (node && isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) break;
      keyNode = pair.key as YamlNode;
      node = pair.value as YamlNode | null;
      if (!node) {
        node = keyNode;
        break;
      }
    } else if (node && isSeq(node) && typeof seg === 'number') {
      const it = node.items[seg] as YamlNode | undefined;
      if (!it) break;
      node = it;
      keyNode = undefined;
    } else break;
  }
  return { node: node ?? undefined, keyNode };
}

function pathText(path: Path, program: unknown): string {
  let s = '';
  let cur: unknown = program;
  for (const seg of path) {
    if (typeof seg === 'number') {
      s += `[${seg}]`;
      const arr = Array.isArray(cur) ? cur : [];
      cur = arr[seg];
      if (isObj(cur) && typeof cur.op === 'string') s += ` (${cur.op})`;
    } else {
      s += s ? `.${seg}` : seg;
      cur = isObj(cur) ? cur[seg] : undefined;
    }
  }
  return s;
}

function parseProgramUnguarded(text: string, fileName: string): ParseResult {
  const lc = new LineCounter();
  let doc: YamlDocument;
  try {
    doc = parseDocument(text, { lineCounter: lc, intAsBigInt: true, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    return { ok: false, error: `${fileName}: ${(e as Error).message}` };
  }
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lc.linePos(e.pos[0]);
    const msg = e.message.split('\n')[0];
    return { ok: false, error: `${fileName}:${pos.line}:${pos.col}: syntax error: ${msg}` };
  }
  const value = toPlain(doc.toJS({ maxAliasCount: 100 }));
  const issues = validateProgram(value);
  if (issues.length > 0) {
    const lines = issues.slice(0, 10).map((is) => {
      const { node, keyNode } = nodeAt(doc, is.path);
      const r = (keyNode ?? node)?.range;
      const pos = r ? lc.linePos(r[0]) : { line: 1, col: 1 };
      const where = is.path.length ? `${pathText(is.path, value)}: ` : '';
      return `${fileName}:${pos.line}:${pos.col}: ${where}${is.message}`;
    });
    if (issues.length > 10) lines.push(`... and ${issues.length - 10} more`);
    return { ok: false, error: lines.join('\n') };
  }
  return { ok: true, program: value as Program };
}

/** Parse a program from JSON or YAML text; errors name the line and the field. Never throws. */
export function parseProgram(text: string, fileName = '<program>'): ParseResult {
  try {
    return parseProgramUnguarded(text, fileName);
  } catch (e) {
    return { ok: false, error: `${fileName}: cannot read the program: ${(e as Error)?.message ?? String(e)}` };
  }
}

// ---------------------------------------------------------------------------
// Formatting

function plainForOutput(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `0x${BigInt.asUintN(64, v).toString(16)}`;
  if (Array.isArray(v)) return v.map(plainForOutput);
  if (isObj(v)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = plainForOutput(x);
    return o;
  }
  return v;
}

/**
 * Expression text with every term reduced mod 2^64 (values evaluate mod 2^64,
 * so the meaning is the same): a generated `$area+offset` whose offset came
 * out as 2^64 or more is written as one the parser accepts (termsFit()).
 */
function termsMod64(raw: unknown): unknown {
  if (typeof raw === 'bigint') return BigInt.asUintN(64, raw);
  if (typeof raw !== 'string') return raw;
  const e = parseExpr(raw);
  if (typeof e === 'string' || !e.some((t) => t.value !== undefined && t.value > U64_MAX)) return raw;
  return e.map((t, i) => `${t.sign < 0 ? '-' : i > 0 ? '+' : ''}${t.handle ?? `0x${BigInt.asUintN(64, t.value!).toString(16)}`}`).join('');
}

/** A field value as written: its expressions' terms within 64 bits. */
function fieldForOutput(spec: FieldSpec, raw: unknown): unknown {
  switch (spec.kind) {
    case 'int':
    case 'enum':
      return termsMod64(raw);
    case 'flags':
      return Array.isArray(raw) ? raw.map(termsMod64) : termsMod64(raw);
    case 'ranges':
      return Array.isArray(raw) ? raw.map((r) => (Array.isArray(r) ? r.map(termsMod64) : r)) : raw;
    default:
      return raw;
  }
}

/** Order a call's keys: op, as, fields in spec order, then expectations and the rest. */
function orderCall(c: Call): Record<string, unknown> {
  const o: Record<string, unknown> = { op: c.op };
  if (c.as !== undefined) o.as = c.as;
  if (c.proc !== undefined) o.proc = c.proc;
  const spec = OPS[c.op];
  if (spec) for (const [k, f] of Object.entries(spec.fields)) if (c[k] !== undefined) o[k] = fieldForOutput(f, c[k]);
  for (const [k, v] of Object.entries(c)) if (!(k in o) && k !== 'expect' && k !== 'expectOn' && k !== 'comment' && v !== undefined) o[k] = v;
  if (c.expect !== undefined) o.expect = c.expect;
  if (c.expectOn !== undefined) o.expectOn = c.expectOn;
  if (c.comment !== undefined) o.comment = c.comment;
  return plainForOutput(o) as Record<string, unknown>;
}

/** Write a program as JSON (one call per line) or YAML (one flow mapping per call). */
export function formatProgram(p: Program, as: 'json' | 'yaml'): string {
  const top: Record<string, unknown> = {};
  for (const k of TOP_LEVEL_KEYS) if (k !== 'calls' && p[k] !== undefined) top[k] = plainForOutput(p[k]);
  for (const [k, v] of Object.entries(p)) if (!(k in top) && k !== 'calls' && v !== undefined) top[k] = plainForOutput(v);
  const calls = p.calls.map(orderCall);
  if (as === 'json') {
    const head = Object.entries(top).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
    const body = calls.map((c, i) => `    ${JSON.stringify(c)}${i < calls.length - 1 ? ',' : ''}`);
    return `{\n${head.join('\n')}${head.length ? '\n' : ''}  "calls": [\n${body.join('\n')}\n  ]\n}\n`;
  }
  const doc = new YamlDocument({ ...top, calls });
  const seq = doc.get('calls', true);
  if (isSeq(seq)) for (const it of seq.items) if (isMap(it)) it.flow = true;
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}
