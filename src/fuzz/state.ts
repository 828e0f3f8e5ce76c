// SPDX-License-Identifier: GPL-2.0-only
/**
 * The fuzzer's and the run report's view of the iommufd state, read through
 * inspect/: the summary rows of a snapshot (the `run` command's tables) and
 * the small state abstraction whose value after each call is signal.
 */
import { type HolderCodes, holderCodes } from '../inspect/holders.js';
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
  holderCodes(m, held);
  const { codes, n, low } = held;
  // The masks' ranks in string order, sorted; the distinct ones packed 7 bits each above the /L bit while they fit a double.
  for (let i = 0; i < n; i++) {
    const r = MASK_RANK[codes[i]];
    let j = i - 1;
    while (j >= 0 && codes[j] > r) {
      codes[j + 1] = codes[j];
      j--;
    }
    codes[j + 1] = r;
  }
  let key = low ? 1 : 0;
  let scale = 2;
  let distinct = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && codes[i] === codes[i - 1]) continue;
    if (++distinct > 7) return tagOf(n, low);
    key += (codes[i] + 1) * scale;
    scale *= 128;
  }
  let tag = tags.get(key);
  if (tag === undefined) {
    tag = tagOf(n, low);
    if (tags.size >= 4096) tags.clear();
    tags.set(key, tag);
  }
  return tag;
}

/** holderCodes() of the last stateTag() (then their ranks, sorted). */
const held: HolderCodes = { codes: [], n: 0, low: false };

/** A holder code's mask text: x (access), d (domain), 2 (areas > 1), the shape, the cuts. */
function maskOf(code: number): string {
  const shape = ['', 'h', 'hb'][(code >> 3) & 3] ?? '?';
  const cuts = ['', 's', 'S'][(code >> 5) & 3] ?? '?';
  return `${code & 1 ? 'x' : ''}${code & 2 ? 'd' : ''}${code & 4 ? '2' : ''}${shape}${cuts}`;
}

/** Every code's mask, and its rank in the masks' string order. */
const MASKS = Array.from({ length: 128 }, (_, c) => maskOf(c));
const SORTED_MASKS = [...new Set(MASKS)].sort();
const MASK_RANK = Uint8Array.from(MASKS, (s) => SORTED_MASKS.indexOf(s));

/** The tag of the sorted ranks held.codes[0..n): the distinct masks joined, /L when the limit is lowered. */
function tagOf(n: number, low: boolean): string {
  const codes = held.codes;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || codes[i] !== codes[i - 1]) parts.push(SORTED_MASKS[codes[i]]);
  return `${parts.join(',')}${low ? '/L' : ''}`;
}

/** Tags by packed key (see stateTag). */
const tags = new Map<number, string>();
