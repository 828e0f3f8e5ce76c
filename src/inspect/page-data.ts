// SPDX-License-Identifier: GPL-2.0-only
/**
 * The data of an explorer page (src/cli/explore.ts writes it, web/ reads it):
 * the calls of a run, a snapshot after each, the diff of each from the one
 * before, with the big per-run arrays packed into a shared table of flat
 * number arrays, each stored once however many snapshots share it. Layouts:
 * frames [pfn, n, ref, pin]*, tiers [first, last, xarray | domain << 1,
 * accessUsers]*, pfns [index, pfn, n]*, domain runs [iova, length, paddr,
 * pgsize, dirty]*.
 */
import type { SnapshotDiff } from './diff.js';
import type { MachineSnapshot } from './types.js';

export interface ExplorerStep {
  index: number;
  op: string;
  text: string;
  result: string;
  errno?: string;
  /** The call met its expectation. */
  met: boolean;
  expected?: string;
  comment?: string;
  /** WARNs raised during the call: "assertion: message". */
  warnings: string[];
  /** Index into `snapshots` of the state after the call (the last one taken when the call raised). */
  snapshot: number;
}

/** A snapshot with its big arrays replaced by indexes into ExplorerData.tables. */
export type PackedSnapshot = Omit<MachineSnapshot, 'frames' | 'pages' | 'domains'> & {
  frames: number;
  pages: Array<Omit<MachineSnapshot['pages'][number], 'tiers' | 'pfns'> & { tiers: number; pfns: number }>;
  domains: Array<Omit<MachineSnapshot['domains'][number], 'runs'> & { runs: number }>;
};

export interface ExplorerData {
  version: 1;
  title: string;
  description?: string;
  profile: string;
  failed: boolean;
  reasons: string[];
  steps: ExplorerStep[];
  snapshots: PackedSnapshot[];
  /** diffs[i]: from snapshots[i - 1] to snapshots[i] (diffs[0] from nothing). */
  diffs: SnapshotDiff[];
  tables: number[][];
}
