// SPDX-License-Identifier: GPL-2.0-only
/**
 * A cheap view of who holds each pages object, for the fuzzer's state
 * signal, which reads it after every call: for each pages object reachable
 * from an open /dev/iommu fd, whether an access and/or a domain holds pages
 * of it, how many areas share it, the shape of the PFN runs behind its first
 * pages (judged from the user page table), and whether a holder's range cuts
 * such a run. No per-snapshot allocation beyond one small record per pages
 * object; the run shape is cached per pages object while its npinned stays.
 */
import type { IntervalTree } from '../base/interval-tree.js';
import { ctxIopts, ioptAreas } from '../iommufd/audit.js';
import { TEMP_MEMORY_LIMIT } from '../iommufd/env.js';
import type { IommufdCtx } from '../iommufd/main.js';
import type { IoptPages } from '../iommufd/pages.js';
import { iommufdCtxOf } from '../machine/iommufd-node.js';
import type { Machine } from '../machine/machine.js';
import { sourcePfn } from './snapshot.js';

export interface PagesHolders {
  /** An access pins some of its pages (access_itree not empty). */
  access: boolean;
  /** A domain holds some of its pages (domains_itree not empty). */
  domain: boolean;
  /** Areas referencing it. */
  areas: number;
  /** '' no two neighbouring pages physically contiguous, 'h' some are, 'hb' and such a run ends inside the scanned pages. */
  shape: string;
  /** '' no holder range cuts a PFN run, 's' one cuts it at one end, 'S' one lies strictly inside a run. */
  cuts: string;
}

export interface HolderView {
  pages: PagesHolders[];
  /** The selftest lowered the temporary memory limit (IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT). */
  tempLimitLowered: boolean;
}

/** Pages scanned for the run shape. */
const SHAPE_SCAN = 1024;
const shapeCache = new WeakMap<IoptPages, { npinned: number; shape: string }>();

function runShape(pages: IoptPages): string {
  const cached = shapeCache.get(pages);
  if (cached !== undefined && cached.npinned === pages.npinned) return cached.shape;
  const n = Math.min(pages.npages, SHAPE_SCAN);
  let prev = -1;
  let run = 1;
  let contiguous = false;
  let broken = false;
  for (let i = 0; i < n && !broken; i++) {
    const pfn = sourcePfn(pages, i);
    if (pfn >= 0 && prev >= 0 && pfn === prev + 1) {
      run++;
      contiguous = true;
    } else {
      if (run >= 2) broken = true;
      run = 1;
    }
    prev = pfn;
  }
  const shape = contiguous ? (broken ? 'hb' : 'h') : '';
  shapeCache.set(pages, { npinned: pages.npinned, shape });
  return shape;
}

/** Index `b` of `pages` starts inside a PFN run: pages b-1 and b are physically contiguous. */
function splitsRun(pages: IoptPages, b: number): boolean {
  if (b <= 0 || b >= pages.npages) return false;
  const before = sourcePfn(pages, b - 1);
  return before >= 0 && sourcePfn(pages, b) === before + 1;
}

/** The cuts of the nodes of `tree` (CUT_NONE, CUT_ONE or CUT_BOTH at the first node inside a run). */
function treeCuts<T>(pages: IoptPages, tree: IntervalTree<number, T>): number {
  let cut = CUT_NONE;
  for (let node = tree.first(); node !== undefined; node = tree.next(node)) {
    const first = splitsRun(pages, node.start);
    const last = splitsRun(pages, node.last + 1);
    if (first && last) return CUT_BOTH;
    if (first || last) cut = CUT_ONE;
  }
  return cut;
}

const CUT_NONE = 0;
const CUT_ONE = 1;
const CUT_BOTH = 2;

function holderCuts(pages: IoptPages): number {
  const d = treeCuts(pages, pages.domainsItree);
  if (d === CUT_BOTH) return d;
  const a = treeCuts(pages, pages.accessItree);
  return a === CUT_NONE ? d : a;
}

/**
 * The pages objects reachable (in order of first sight) and the areas referencing each, in
 * heldPages[0..nHeld) and heldAreas: filled by collect(), kept between calls (their contents are
 * dropped by the readers). Looked up by a scan while few, else through `heldIndex`.
 */
const heldPages: Array<IoptPages | undefined> = [];
const heldAreas: number[] = [];
let nHeld = 0;
const heldIndex = new Map<IoptPages, number>();
const SCAN_MAX = 32;
const seenCtxs: IommufdCtx[] = [];

function countArea(pages: IoptPages): void {
  let i = -1;
  if (nHeld <= SCAN_MAX) {
    for (let k = 0; k < nHeld; k++) {
      if (heldPages[k] === pages) {
        i = k;
        break;
      }
    }
  } else {
    if (heldIndex.size === 0) for (let k = 0; k < nHeld; k++) heldIndex.set(heldPages[k] as IoptPages, k);
    i = heldIndex.get(pages) ?? -1;
  }
  if (i >= 0) {
    heldAreas[i]++;
    return;
  }
  heldPages[nHeld] = pages;
  heldAreas[nHeld] = 1;
  if (heldIndex.size > 0) heldIndex.set(pages, nHeld);
  nHeld++;
}

/** Drop what collect() gathered (no pages object is kept alive by it). */
function release(): void {
  for (let k = 0; k < nHeld; k++) heldPages[k] = undefined;
  nHeld = 0;
  if (heldIndex.size > 0) heldIndex.clear();
}

/** Gather every pages object of every context reachable from an open fd; whether the temporary memory limit was lowered. */
function collect(m: Machine): boolean {
  release();
  let low = false;
  let nCtx = 0;
  for (const proc of m.processes.values()) {
    for (const fd of proc.openFds()) {
      const ctx = iommufdCtxOf(proc, fd);
      if (!ctx) continue;
      let seen = false;
      for (let k = 0; k < nCtx; k++) {
        if (seenCtxs[k] === ctx) {
          seen = true;
          break;
        }
      }
      if (seen) continue;
      seenCtxs[nCtx++] = ctx;
      if (ctx.env.tempMemoryLimit < TEMP_MEMORY_LIMIT) low = true;
      for (const iopt of ctxIopts(ctx)) {
        for (const area of ioptAreas(iopt)) {
          const pages = area.pages;
          if (pages) countArea(pages);
        }
      }
    }
  }
  seenCtxs.length = 0;
  return low;
}

const SHAPE_CODE: Readonly<Record<string, number>> = { '': 0, h: 1, hb: 2 };
const CUTS = ['', 's', 'S'] as const;

/** What holderCodes() writes: codes[0..n) and tempLimitLowered (the arrays are reused call after call). */
export interface HolderCodes {
  codes: number[];
  n: number;
  low: boolean;
}

/**
 * holderView() as numbers, into `out.codes[0..out.n)` (same order): per pages object held, bit 0
 * access, bit 1 domain, bit 2 more than one area, bits 3-4 the shape ('' h hb), bits 5-6 the cuts
 * ('' s S); `out.low` is tempLimitLowered.
 */
export function holderCodes(m: Machine, out: HolderCodes): void {
  out.low = collect(m);
  let n = 0;
  for (let k = 0; k < nHeld; k++) {
    const pages = heldPages[k] as IoptPages;
    const access = !pages.accessItree.isEmpty();
    const domain = !pages.domainsItree.isEmpty();
    if (!access && !domain) continue;
    out.codes[n++] = (access ? 1 : 0) | (domain ? 2 : 0) | (heldAreas[k] > 1 ? 4 : 0) | (SHAPE_CODE[runShape(pages)] << 3) | (holderCuts(pages) << 5);
  }
  out.n = n;
  release();
}

/** The holders of every pages object held by an access or a domain (objects nobody holds are left out). */
export function holderView(m: Machine): HolderView {
  const out: PagesHolders[] = [];
  const low = collect(m);
  for (let k = 0; k < nHeld; k++) {
    const pages = heldPages[k] as IoptPages;
    const access = !pages.accessItree.isEmpty();
    const domain = !pages.domainsItree.isEmpty();
    if (!access && !domain) continue;
    out.push({ access, domain, areas: heldAreas[k], shape: runShape(pages), cuts: CUTS[holderCuts(pages)] });
  }
  release();
  return { pages: out, tempLimitLowered: low };
}
