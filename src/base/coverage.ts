// SPDX-License-Identifier: GPL-2.0-only
/**
 * Coverage sites: the model's stand-in for kcov's PCs. The core classes
 * (pfn batch and reader, io_pagetable, access, domain, object table, mm) and
 * pages.ts mark the entry of each method or function with cover(site), the
 * per-page lookups aside; the fuzzer sets the hook while a
 * program runs (setCoverHook) and turns each site reached into signal, as it
 * does with the WARN_ON sites and fault points of warn.ts and fault.ts.
 * No hook: one test of a variable per site.
 *
 * Sites are numbered once per module load (coverSites); the name of each is
 * `Class.method` (`pages.function`), the same in every process.
 */

/** Told of every coverage site reached. */
export type CoverHook = (site: number) => void;

let coverHook: CoverHook | undefined;

const siteNames: string[] = [];

/** Set (or clear, with undefined) the hook every site reports to; returns the previous one. */
export function setCoverHook(h: CoverHook | undefined): CoverHook | undefined {
  const prev = coverHook;
  coverHook = h;
  return prev;
}

/** The sites of one class, by method name (numbered in registration order). */
export function coverSites<K extends string>(className: string, methods: readonly K[]): Readonly<Record<K, number>> {
  const out = {} as Record<K, number>;
  for (const m of methods) {
    out[m] = siteNames.length;
    siteNames.push(`${className}.${m}`);
  }
  return out;
}

/** A site's name (`Class.method`). */
export function coverSiteName(site: number): string {
  return siteNames[site] ?? `?${site}`;
}

/** Mark a site reached. */
export function cover(site: number): void {
  if (coverHook !== undefined) coverHook(site);
}
