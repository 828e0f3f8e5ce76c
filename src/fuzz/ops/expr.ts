// SPDX-License-Identifier: GPL-2.0-only
/**
 * Value expressions of the program format: sizes, named constants and
 * handles joined by + and -, flag lists, enum names, and their evaluation
 * (mod 2^64, like C u64). Pure functions, shared by program validation, the
 * executor, the generator and the C export.
 */
import * as U from '../../iommufd/uapi.js';
import type { FieldSpec } from './types.js';

/** Named constants usable in value expressions. */
export const CONSTANTS: Readonly<Record<string, bigint>> = {
  U64_MAX: (1n << 64n) - 1n,
  U32_MAX: 0xffffffffn,
  PAGE_SIZE: 4096n,
  HPAGE_SIZE: 2n << 20n,
  MOCK_PAGE_SIZE: 2048n,
  MOCK_APERTURE_START: 1n << 24n,
  MOCK_APERTURE_LAST: (1n << 31n) - 1n,
};

export interface Term {
  readonly sign: 1 | -1;
  /** A handle name with its `$` (`$buf`, `$dev.hwpt_id`). */
  readonly handle?: string;
  readonly value?: bigint;
}

export type Expr = readonly Term[];

export const HANDLE_RE = /^\$[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
export const AS_RE = /^\$[A-Za-z_][A-Za-z0-9_]*$/;

export function isHandleName(s: string): boolean {
  return AS_RE.test(s);
}

/** Parse "4K", "$buf+4K", "U64_MAX-1", 42, 42n into terms; a string error when malformed. */
export function parseExpr(raw: unknown): Expr | string {
  if (typeof raw === 'bigint') return [{ sign: 1, value: raw }];
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw)) return `${raw} is not an integer`;
    return [{ sign: raw < 0 ? -1 : 1, value: BigInt(Math.abs(raw)) }];
  }
  if (typeof raw === 'boolean') return [{ sign: 1, value: raw ? 1n : 0n }];
  if (typeof raw !== 'string') return `expected a number or a string, got ${describe(raw)}`;
  const s = raw.replace(/\s+/g, '');
  if (s === '') return 'empty value';
  const terms: Term[] = [];
  let i = 0;
  let sign: 1 | -1 = 1;
  if (s[0] === '-') {
    sign = -1;
    i = 1;
  } else if (s[0] === '+') i = 1;
  while (i <= s.length) {
    let j = i;
    while (j < s.length && s[j] !== '+' && s[j] !== '-') j++;
    const tok = s.slice(i, j);
    if (tok === '') return `malformed value ${JSON.stringify(raw)}`;
    if (tok.startsWith('$')) {
      if (!HANDLE_RE.test(tok)) return `bad handle ${JSON.stringify(tok)}`;
      terms.push({ sign, handle: tok });
    } else if (Object.hasOwn(CONSTANTS, tok)) {
      terms.push({ sign, value: CONSTANTS[tok] });
    } else {
      const v = parseSizeLiteral(tok);
      if (v === undefined) return `not a number, size or handle: ${JSON.stringify(tok)}`;
      terms.push({ sign, value: v });
    }
    if (j >= s.length) break;
    sign = s[j] === '-' ? -1 : 1;
    i = j + 1;
    if (i >= s.length) return `malformed value ${JSON.stringify(raw)}`;
  }
  return terms;
}

/** 4096, 0x1000, 0b101, 4K, 4KiB, 2M, 1G, 1T. */
export function parseSizeLiteral(tok: string): bigint | undefined {
  const m = /^(0x[0-9a-fA-F_]+|0b[01_]+|\d[\d_]*)([KMGTP](?:i?B)?)?$/i.exec(tok);
  if (!m) return undefined;
  const base = BigInt(m[1].replaceAll('_', ''));
  const unit = (m[2] ?? '').toUpperCase()[0];
  const shift = unit ? ({ K: 10n, M: 20n, G: 30n, T: 40n, P: 50n } as Record<string, bigint>)[unit] : 0n;
  return base << shift;
}

/** The handles an expression reads. */
export function exprHandles(e: Expr): string[] {
  return e.filter((t) => t.handle !== undefined).map((t) => t.handle!);
}

/** Evaluate with `lookup` for handles (mod 2^64 arithmetic, like C u64). */
export function evalExpr(e: Expr, lookup: (h: string) => bigint | undefined): bigint | string {
  let v = 0n;
  for (const t of e) {
    let x: bigint;
    if (t.handle !== undefined) {
      const h = lookup(t.handle);
      if (h === undefined) return `unknown handle ${t.handle}`;
      x = h;
    } else x = t.value!;
    v = t.sign > 0 ? v + x : v - x;
  }
  return v;
}

/** Resolve a flags value (list of names/numbers, one name, or an expression) to its expressions. */
export function parseFlags(raw: unknown, values: Readonly<Record<string, number>>): Expr | string {
  const items = Array.isArray(raw) ? raw : [raw];
  const terms: Term[] = [];
  let bits = 0n;
  for (const it of items) {
    if (typeof it === 'string' && Object.hasOwn(values, it)) {
      bits |= BigInt(values[it]);
      continue;
    }
    if (typeof it === 'string' && /^[A-Z][A-Z0-9_]*$/.test(it) && !Object.hasOwn(CONSTANTS, it)) {
      return `unknown flag ${it} (known: ${Object.keys(values).join(', ') || 'none'})`;
    }
    const e = parseExpr(it);
    if (typeof e === 'string') return e;
    if (e.length === 1 && e[0].value !== undefined && e[0].sign > 0) bits |= e[0].value;
    else terms.push(...e);
  }
  // Flags OR together; handle terms (rare) are added.
  return [{ sign: 1, value: bits }, ...terms];
}

/** An enum value: a name of `values`, or an expression. */
export function parseEnum(raw: unknown, values: Readonly<Record<string, number>>, extraNames?: (name: string) => number | undefined): Expr | string {
  if (typeof raw === 'string' && Object.hasOwn(values, raw)) return [{ sign: 1, value: BigInt(values[raw]) }];
  if (typeof raw === 'string' && extraNames) {
    const v = extraNames(raw);
    if (v !== undefined) return [{ sign: 1, value: BigInt(v >>> 0) }];
  }
  if (typeof raw === 'string' && /^[A-Z][A-Za-z0-9_]*$/.test(raw) && !Object.hasOwn(CONSTANTS, raw)) {
    const known = Object.keys(values);
    return `unknown name ${raw}${known.length ? ` (known: ${known.join(', ')})` : ''}`;
  }
  return parseExpr(raw);
}

/** A value as an error message names it. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(String(v))}`;
}

/** The ioctl number of a uapi name (IOMMU_IOAS_MAP, VFIO_IOMMU_MAP_DMA, ...), for the raw `ioctl` op. */
export function ioctlNumberByName(name: string): number | undefined {
  const op = U.IOMMUFD_IOCTL_OPS.find((o) => o.name === name);
  if (op) return op.cmd;
  return Object.hasOwn(VFIO_IOCTLS, name) ? VFIO_IOCTLS[name] : undefined;
}
export const ioctlNames = ioctlNumberByName;

/** The VFIO container ioctls by name. */
export const VFIO_IOCTLS: Readonly<Record<string, number>> = {
  VFIO_GET_API_VERSION: U.VFIO_GET_API_VERSION,
  VFIO_CHECK_EXTENSION: U.VFIO_CHECK_EXTENSION,
  VFIO_SET_IOMMU: U.VFIO_SET_IOMMU,
  VFIO_IOMMU_GET_INFO: U.VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_MAP_DMA: U.VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA: U.VFIO_IOMMU_UNMAP_DMA,
  VFIO_IOMMU_ENABLE: U.VFIO_IOMMU_ENABLE,
  VFIO_IOMMU_DISABLE: U.VFIO_IOMMU_DISABLE,
  VFIO_IOMMU_DIRTY_PAGES: U.VFIO_IOMMU_DIRTY_PAGES,
};


/** The expression a call field's raw value stands for, read by the field's kind. */
export function fieldExpr(f: FieldSpec, raw: unknown): Expr | string {
  switch (f.kind) {
    case 'flags':
      return parseFlags(raw, f.values ?? {});
    case 'enum':
      return parseEnum(raw, f.values ?? {}, ioctlNumberByName);
    case 'bool':
      return [{ sign: 1, value: raw === true ? 1n : 0n }];
    default:
      return parseExpr(raw);
  }
}
