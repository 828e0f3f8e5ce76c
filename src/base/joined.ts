// SPDX-License-Identifier: GPL-2.0-only
/**
 * `${a}${sep}${b}`, each string made once: hot paths that key maps or
 * coverage by a pair of names (an op and its errno, a handle and its output,
 * a context and an IOAS ID) take the same few pairs over and over. `cache`
 * belongs to one call site (one separator); each level is bounded, cleared
 * when full.
 */
export function joined<A extends string | number, B extends string | number>(cache: Map<A, Map<B, string>>, a: A, sep: string, b: B): string {
  let m = cache.get(a);
  if (m === undefined) {
    if (cache.size >= 4096) cache.clear();
    m = new Map();
    cache.set(a, m);
  }
  let s = m.get(b);
  if (s === undefined) {
    s = `${a}${sep}${b}`;
    if (m.size >= 4096) m.clear();
    m.set(b, s);
  }
  return s;
}
