// SPDX-License-Identifier: GPL-2.0-only
/**
 * The fuzzer's and the run report's view of the iommufd state, read through
 * inspect/: the summary rows of a snapshot (the `run` command's tables) and
 * the small state abstraction whose value after each call is signal.
 */
import { holderView } from '../inspect/holders.js';
import { snapshotMachine } from '../inspect/snapshot.js';
import { type StateSnapshot, summarize } from '../inspect/summary.js';
import type { IommufdCtx } from '../iommufd/main.js';
import type { Machine } from '../machine/machine.js';
import type { Process } from '../machine/process.js';

export type { AccessRow, AccountRow, AreaRow, DomainRow, PagesRow, StateSnapshot } from '../inspect/summary.js';

/** The summary rows of the state reachable from `contexts` and `procs`. */
export function snapshotState(machine: Machine, contexts: readonly IommufdCtx[], procs: readonly Process[]): StateSnapshot {
  return summarize(snapshotMachine(machine, { contexts, processes: procs, summaryOnly: true }));
}

/**
 * A small abstraction of the iommufd state: for each pages object holding
 * pins, which storage tiers hold it (x: the access xarray, d: a domain
 * through domains_itree), whether more than one area shares it (2), and the
 * shape of the PFN runs behind it (h: some pages physically contiguous, as in
 * a THP or hugetlb folio; b: such a run ends inside the range, so the pages
 * mix runs; s / S: a holder's range cuts a run at one end / at both ends);
 * and whether the temp memory limit was lowered (/L). iommufd maps and unpins
 * by contiguous PFN run, and its unpin walks holders' spans, so how the two
 * meet is state the core branches on. A call's outcome in each such state is
 * signal, the way syzkaller values a call reached with new state.
 */
export function stateTag(m: Machine | undefined): string {
  if (m === undefined) return '';
  const v = holderView(m);
  const masks = new Set<string>();
  for (const p of v.pages) masks.add(`${p.access ? 'x' : ''}${p.domain ? 'd' : ''}${p.areas > 1 ? '2' : ''}${p.shape}${p.cuts}`);
  return `${[...masks].sort().join(',')}${v.tempLimitLowered ? '/L' : ''}`;
}
