// SPDX-License-Identifier: GPL-2.0-only
/**
 * Unsigned 64-bit arithmetic on bigint with the kernel's overflow meanings.
 *
 * `check_add_overflow(a, b, &r)` in the kernel stores the wrapped sum and
 * reports whether it wrapped; `checkedAdd` returns the sum or `undefined` on
 * wrap, `wrapAdd` gives the wrapped value. ALIGN() in C is modular: `alignUpWrap`
 * reproduces that, `alignUp` reports the overflow instead.
 */

export const U64_MAX = (1n << 64n) - 1n;
export const U32_MAX = 0xffff_ffff;
/** x86-64: unsigned long is 64-bit. */
export const ULONG_MAX = U64_MAX;
/** size_t is 64-bit on x86-64. */
export const SIZE_MAX = U64_MAX;
const MOD = 1n << 64n;

/** Reduce any bigint into [0, 2^64). */
export function u64(x: bigint): bigint {
  return BigInt.asUintN(64, x);
}

/** a + b, or undefined when it wraps past 2^64 - 1 (check_add_overflow). */
export function checkedAdd(a: bigint, b: bigint): bigint | undefined {
  const r = a + b;
  return r > U64_MAX ? undefined : r;
}

/** True when a + b wraps (check_add_overflow's return value). */
export function addOverflows(a: bigint, b: bigint): boolean {
  return a + b > U64_MAX;
}

/** a + b modulo 2^64 (plain C unsigned addition). */
export function wrapAdd(a: bigint, b: bigint): bigint {
  const r = a + b;
  return r >= MOD ? r - MOD : r;
}

/** a - b modulo 2^64 (plain C unsigned subtraction). */
export function wrapSub(a: bigint, b: bigint): bigint {
  const r = a - b;
  return r < 0n ? r + MOD : r;
}

/** a - b, or undefined when b > a (check_sub_overflow). */
export function checkedSub(a: bigint, b: bigint): bigint | undefined {
  return b > a ? undefined : a - b;
}

/** a * b, or undefined on 64-bit overflow (check_mul_overflow). */
export function checkedMul(a: bigint, b: bigint): bigint | undefined {
  const r = a * b;
  return r > U64_MAX ? undefined : r;
}

/** `last = start + length - 1` with overflow check; undefined when length is 0 or it wraps. */
export function lastOf(start: bigint, length: bigint): bigint | undefined {
  if (length === 0n) return undefined;
  return checkedAdd(start, length - 1n);
}

/** ALIGN_DOWN(x, a) for a power of two a. */
export function alignDown(x: bigint, a: bigint): bigint {
  return x & ~(a - 1n) & U64_MAX;
}

/** ALIGN(x, a) for a power of two a, or undefined when it passes 2^64 - 1. */
export function alignUp(x: bigint, a: bigint): bigint | undefined {
  const r = (x + a - 1n) & ~(a - 1n);
  return r > U64_MAX ? undefined : r;
}

/** ALIGN(x, a) as C computes it: modulo 2^64 (may wrap to a small value). */
export function alignUpWrap(x: bigint, a: bigint): bigint {
  return u64((x + a - 1n) & ~(a - 1n));
}

export function isAligned(x: bigint, a: bigint): boolean {
  return (x & (a - 1n)) === 0n;
}

export function isPow2(x: bigint): boolean {
  return x > 0n && (x & (x - 1n)) === 0n;
}

/** roundup_pow_of_two(x) for x >= 1; 2^64 is returned as 2^64 (callers bound x first). */
export function roundupPowOfTwo(x: bigint): bigint {
  if (x <= 1n) return 1n;
  let p = 1n;
  while (p < x) p <<= 1n;
  return p;
}

/** Index of the lowest set bit (0-based; the kernel's __ffs). x must be non-zero. */
export function lowestBit(x: bigint): number {
  // 32 bits at a time: bigint shifts allocate.
  let n = 0;
  for (;;) {
    const lo = Number(BigInt.asUintN(32, x));
    if (lo !== 0) return n + 31 - Math.clz32(lo & -lo);
    if (n >= 64 || x === 0n) return n + 32;
    x >>= 32n;
    n += 32;
  }
}

/** Index of the highest set bit (0-based; __fls). x must be non-zero. */
export function highestBit(x: bigint): number {
  return x.toString(2).length - 1;
}

/** Parse "4K", "2M", "1G", "0x1000", "4096" (and bigint/number) into a bigint. */
export function parseSize(v: string | number | bigint): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  // Every program of a run names its memory and limits the same few ways: parsed once each.
  const known = sizesSeen.get(v);
  if (known !== undefined) return known;
  const n = parseSizeText(v);
  if (sizesSeen.size >= 256) sizesSeen.clear();
  sizesSeen.set(v, n);
  return n;
}

const sizesSeen = new Map<string, bigint>();

function parseSizeText(v: string): bigint {
  const s = v.trim();
  const m = /^(0x[0-9a-fA-F_]+|\d[\d_]*)\s*([KMGTP]i?B?)?$/i.exec(s);
  if (!m) throw new RangeError(`not a size: ${JSON.stringify(v)}`);
  const base = BigInt(m[1].replaceAll('_', ''));
  const unit = (m[2] ?? '').toUpperCase()[0];
  const shift = unit ? { K: 10n, M: 20n, G: 30n, T: 40n, P: 50n }[unit as 'K'] : 0n;
  return base << (shift ?? 0n);
}

export function hex(x: bigint | number): string {
  return `0x${x.toString(16)}`;
}
