// SPDX-License-Identifier: GPL-2.0-only
/**
 * Values the generator favours, with no knowledge of any particular bug:
 * offsets into buffers and mapped areas that land on area starts and ends
 * (plus or minus a little), on 4 KiB page, 2 KiB IO-page and 2 MiB
 * boundaries; 0 and 2^64-1; addresses near the top of the u64 space and
 * lengths whose sum with them overflows; the mock domain's aperture edges.
 * Pure functions of the Prng.
 */
import type { Prng } from '../../base/prng.js';
import { exprHandles, parseExpr } from './expr.js';

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


export const K4 = 4096n;
export const K2 = 2048n;
export const M2 = 2n << 20n;
export const U64_MAX = (1n << 64n) - 1n;
export const APERTURE_START = 1n << 24n;
export const APERTURE_LAST = (1n << 31n) - 1n;

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

/** An expression plus `off` (a handle-free value is folded, a handle expression gets a term). */
export function shift(expr: unknown, off: bigint): string | number {
  const v = literal(expr);
  if (v !== undefined) return num(v + off);
  const base = typeof expr === 'string' || typeof expr === 'number' ? String(expr) : '0';
  if (off === 0n) return base;
  return off > 0n ? `${base}+0x${off.toString(16)}` : `${base}-0x${(-off).toString(16)}`;
}

export function pickW<T>(rng: Prng, items: ReadonlyArray<readonly [number, T]>): T {
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
export function nearHugeBoundary(rng: Prng, r: bigint): bigint {
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
    // (past the end only where that still fits in 64 bits: an area of 2^64 - 1 bytes has no byte after it)
    [2, () => (r + K4 < 1n << 64n ? r + K4 : r)],
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

export function specialLength(rng: Prng): bigint {
  return rng.pick([0n, 1n, U64_MAX, U64_MAX - K4 + 1n, 1n << 63n, 1n << 32n, 0xffffffffn, K4 - 1n, K4 + 1n]);
}

/** A user address that is not inside any buffer: 0, the top of the u64 space, kernel addresses, random. */
export function specialAddr(rng: Prng): bigint {
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
export function specialIova(rng: Prng): bigint {
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
export function overflowingLength(rng: Prng, addr: bigint): bigint {
  const toTop = (1n << 64n) - BigInt.asUintN(64, addr);
  return toTop + BigInt(rng.pick([0, 1, 4096, 8192, 2 * 1024 * 1024]));
}

export const TEMP_LIMITS = [12, 24, 36, 48, 60, 100, 4096, 65536, 0, 11, 13, 1 << 20];
export const STRUCT_SIZES = [0, 4, 8, 16, 23, 24, 31, 32, 40, 51, 52, 55, 56, 64, 72, 4096, 0xffffffff];

