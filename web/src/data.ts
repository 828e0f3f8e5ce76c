// SPDX-License-Identifier: GPL-2.0-only
/**
 * The page's data: what `iommufd-sim explore` embeds (src/cli/explore.ts),
 * unpacked into inspect/ snapshots. Flat table layouts:
 * frames [pfn, n, ref, pin]*, tiers [first, last, x|d<<1, accessUsers]*,
 * pfns [index, pfn, n]*, runs [iova, length, paddr, pgsize, dirty]*.
 */
import type { ExplorerData, ExplorerStep } from '../../src/inspect/page-data.js';
import type { SnapshotDiff } from '../../src/inspect/diff.js';
import type { DomainRun, FrameRun, MachineSnapshot, PfnRun, TierRun } from '../../src/inspect/types.js';

export type { DomainRun, ExplorerData, ExplorerStep, FrameRun, MachineSnapshot, PfnRun, SnapshotDiff, TierRun };

function chunks<T>(a: number[], w: number, f: (a: number[], i: number) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i + w <= a.length; i += w) out.push(f(a, i));
  return out;
}

export function framesOf(a: number[]): FrameRun[] {
  return chunks(a, 4, (x, i) => ({ pfn: x[i], n: x[i + 1], ref: x[i + 2], pin: x[i + 3] }));
}

export function tiersOf(a: number[]): TierRun[] {
  return chunks(a, 4, (x, i) => ({ first: x[i], last: x[i + 1], xarray: (x[i + 2] & 1) !== 0, domain: (x[i + 2] & 2) !== 0, accessUsers: x[i + 3] }));
}

export function pfnsOf(a: number[]): PfnRun[] {
  return chunks(a, 3, (x, i) => ({ index: x[i], pfn: x[i + 1], n: x[i + 2] }));
}

/** Domain runs stay flat (a 1 GiB scattered mapping has 260k of them): run k is at 5k. */
export interface FlatRuns {
  flat: number[];
  count: number;
}

export function runsAt(f: FlatRuns, k: number): DomainRun {
  const a = f.flat;
  const i = 5 * k;
  return { iova: a[i], length: a[i + 1], paddr: a[i + 2], pgsize: a[i + 3], dirty: a[i + 4] === 1 };
}

export type UnpackedSnapshot = Omit<MachineSnapshot, 'domains'> & {
  domains: Array<Omit<MachineSnapshot['domains'][number], 'runs'> & { runs: FlatRuns }>;
};

export function unpack(d: ExplorerData, i: number): UnpackedSnapshot {
  const s = d.snapshots[i];
  const t = d.tables;
  return {
    ...s,
    frames: framesOf(t[s.frames]),
    pages: s.pages.map((p) => ({ ...p, tiers: tiersOf(t[p.tiers]), pfns: pfnsOf(t[p.pfns]) })),
    domains: s.domains.map((x) => ({ ...x, runs: { flat: t[x.runs], count: t[x.runs].length / 5 } })),
  };
}

export function tierName(t: { xarray: boolean; domain: boolean }): string {
  return t.xarray && t.domain ? 'both' : t.xarray ? 'xarray' : t.domain ? 'domain' : 'user';
}

/** A u64 "0x…" as a number (exact below 2^53; drawing only). */
export function num(h: string): number {
  return Number(BigInt(h));
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export function bytes(n: number): string {
  for (const [s, u] of [
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ] as const) {
    if (n >= s && n % s === 0) return `${n / s} ${u}`;
  }
  return n >= 4096 ? hex(n) : `${n} B`;
}
