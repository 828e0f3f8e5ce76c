// SPDX-License-Identifier: GPL-2.0-only
/**
 * Element-by-element equality of two lists of values (objects by identity,
 * numbers and bigints by value): the comparison of the change-count keys the
 * audit memo, the fuzzer's audit fingerprint and the Inspector's walk memo
 * keep. `!==` makes a NaN (a domain that counts no changes) never match, so
 * whatever carries one is judged again every time.
 */
export function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
