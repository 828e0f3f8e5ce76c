// SPDX-License-Identifier: GPL-2.0-only
/**
 * The kernel's strict string-to-integer conversions (lib/kstrtox.c), as the
 * proc and sysfs files the model answers parse what a program writes.
 *
 * - kstrtoull(): one leading '+', then digits in `base` (0: "0x"/"0X"
 *   followed by a hex digit is 16, a leading '0' is 8, else 10), then at most
 *   one '\n' before the end. No blanks are skipped. -EINVAL for no digits or
 *   anything after them, -ERANGE past 64 bits.
 * - The *_from_user() forms read at most the kernel's buffer less one byte
 *   (34 for an unsigned int) and stop at the first NUL among them.
 */
import { EINVAL, ERANGE } from './errno.js';

/** _parse_integer_fixup_radix() + _parse_integer() + the tail check of _kstrtoull(): the value, or -errno. */
export function kstrtoull(s: Uint8Array, base: number): bigint | number {
  let i = s[0] === 0x2b /* '+' */ ? 1 : 0;
  const lower = (c: number | undefined): number => (c === undefined ? 0 : c | 0x20);
  const isHex = (c: number | undefined): boolean => c !== undefined && ((c >= 0x30 && c <= 0x39) || (lower(c) >= 0x61 && lower(c) <= 0x66));
  if (base === 0) {
    if (s[i] === 0x30) base = lower(s[i + 1]) === 0x78 && isHex(s[i + 2]) ? 16 : 8;
    else base = 10;
  }
  if (base === 16 && s[i] === 0x30 && lower(s[i + 1]) === 0x78) i += 2;
  const b = BigInt(base);
  let v = 0n;
  let digits = 0;
  let overflow = false;
  for (; i < s.length; i++, digits++) {
    const c = s[i];
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : lower(c) >= 0x61 && lower(c) <= 0x66 ? lower(c) - 0x61 + 10 : 99;
    if (d >= base) break;
    v = v * b + BigInt(d);
    if (v > 0xffffffffffffffffn) overflow = true;
  }
  if (overflow) return -ERANGE;
  if (digits === 0) return -EINVAL;
  if (s[i] === 0x0a) i++;
  return i < s.length ? -EINVAL : v;
}

/**
 * kstrtouint_from_user(buf, count, base): the first min(count, 34) bytes, up
 * to a NUL among them, as kstrtouint() reads them; the value or -errno.
 */
export function kstrtouintFromUser(bytes: Uint8Array, base: number): number {
  let s = bytes.subarray(0, 34);
  const nul = s.indexOf(0);
  if (nul >= 0) s = s.subarray(0, nul);
  const v = kstrtoull(s, base);
  if (typeof v === 'number') return v;
  return v > 0xffffffffn ? -ERANGE : Number(v);
}
