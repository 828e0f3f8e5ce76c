// SPDX-License-Identifier: GPL-2.0-only
/**
 * The IO page table of a domain as a report or test can show it: every leaf
 * (level, IOVA, size, output address and PFN, the table items it spans, its
 * permission and dirty bits, the raw PTE) and, for a real page-table format,
 * every table page. Read-only and JSON-ready.
 *
 * - The generic-pt AMDv1 mock (6.19 on): the walk of its tables; a leaf is
 *   one PTE, however many items a contiguous leaf spans.
 * - The xarray mock (up to 6.18): one leaf per 2 KiB entry, level 0, with
 *   its START / LAST / HUGE marks in `pte` ("S", "L", "H"); no table pages.
 * - Any other domain: none (undefined).
 *
 * `first` / `last` (inclusive) limit the leaves to those overlapping the
 * range; by default the domain's aperture.
 */
import { pow2Bits } from '../base/pow2.js';
import type { IommuDomain } from '../iommu/domain.js';
import { MOCK_IO_PAGE_SIZE, MockAmdv1Domain, MockDomain } from '../iommu/mock-domain.js';

const CPU_PAGE = 4096;

export interface PageTableLeaf {
  readonly level: number;
  readonly iova: number;
  readonly size: number;
  readonly oa: number;
  /** The CPU page frame of `oa`. */
  readonly pfn: number;
  /** Table items the leaf spans. */
  readonly items: number;
  readonly read: boolean;
  readonly write: boolean;
  readonly dirty: boolean;
  /** The PTE as 16 hex digits (AMDv1), or the xarray entry's marks. */
  readonly pte: string;
}

export interface PageTablePage {
  readonly level: number;
  readonly iova: number;
  readonly pa: number;
  readonly present: number;
}

export interface PageTableWalk {
  readonly format: 'amdv1' | 'xarray';
  /** Page sizes of the domain, ascending. */
  readonly pgsizes: number[];
  readonly tables: PageTablePage[];
  readonly leaves: PageTableLeaf[];
  /** Bytes the leaves map (in the range). */
  readonly mappedBytes: number;
}

/** The page table of `d` over [first, last], or undefined for a domain without a walkable table. */
export function pageTableWalk(d: IommuDomain, first = d.apertureStart, last = d.apertureEnd): PageTableWalk | undefined {
  const pgsizes = [...pow2Bits(d.pgsizeBitmap)];
  if (d instanceof MockAmdv1Domain) {
    const leaves = d
      .leaves()
      .filter((l) => l.iova <= last && l.iova + l.size - 1 >= first)
      .map((l) => ({ ...l, pfn: Math.floor(l.oa / CPU_PAGE) }));
    return { format: 'amdv1', pgsizes, tables: d.tablePages(), leaves, mappedBytes: sum(leaves) };
  }
  if (d instanceof MockDomain) {
    const leaves: PageTableLeaf[] = [];
    const from = Math.max(d.apertureStart, Math.floor(first / MOCK_IO_PAGE_SIZE) * MOCK_IO_PAGE_SIZE);
    const to = Math.min(d.apertureEnd, last);
    for (let iova = from; iova <= to; iova += MOCK_IO_PAGE_SIZE) {
      const e = d.entryAt(iova);
      if (e === undefined) continue;
      const marks = `${e.start ? 'S' : ''}${e.last ? 'L' : ''}${e.huge ? 'H' : ''}`;
      leaves.push({ level: 0, iova, size: MOCK_IO_PAGE_SIZE, oa: e.paddr, pfn: Math.floor(e.paddr / CPU_PAGE), items: 1, read: true, write: true, dirty: false, pte: marks });
    }
    return { format: 'xarray', pgsizes, tables: [], leaves, mappedBytes: sum(leaves) };
  }
  return undefined;
}

function sum(leaves: readonly PageTableLeaf[]): number {
  let n = 0;
  for (const l of leaves) n += l.size;
  return n;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function sizeName(n: number): string {
  for (const [u, s] of [
    [2 ** 30, 'G'],
    [2 ** 20, 'M'],
    [2 ** 10, 'K'],
  ] as const) {
    if (n >= u && n % u === 0) return `${n / u}${s}`;
  }
  return String(n);
}

/** One line per table page and leaf, indented by level (for the CLI and test failure messages). */
export function formatPageTable(w: PageTableWalk): string[] {
  const out = [`${w.format}: page sizes ${w.pgsizes.map(sizeName).join(' ')}; ${w.leaves.length} leaves, ${sizeName(w.mappedBytes)} mapped; ${w.tables.length} table pages`];
  const top = Math.max(0, ...w.tables.map((t) => t.level));
  for (const t of w.tables) out.push(`${'  '.repeat(top - t.level)}table L${t.level} iova ${hex(t.iova)} at ${hex(t.pa)}: ${t.present} present`);
  for (const l of w.leaves) {
    const perm = `${l.read ? 'r' : '-'}${l.write ? 'w' : '-'}${l.dirty ? 'd' : '-'}`;
    out.push(`${'  '.repeat(top - l.level + 1)}L${l.level} ${hex(l.iova)} +${sizeName(l.size)} -> ${hex(l.oa)} (pfn ${hex(l.pfn)}) x${l.items} ${perm} ${l.pte}`);
  }
  return out;
}
