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

function holderCuts(pages: IoptPages): string {
  let cut = '';
  for (const tree of [pages.domainsItree, pages.accessItree] as const) {
    for (const node of tree) {
      const first = splitsRun(pages, node.start);
      const last = splitsRun(pages, node.last + 1);
      if (first && last) return 'S';
      if (first || last) cut = 's';
    }
  }
  return cut;
}

/** The holders of every pages object held by an access or a domain (objects nobody holds are left out). */
export function holderView(m: Machine): HolderView {
  const areasOf = new Map<IoptPages, number>();
  const seen = new Set<IommufdCtx>();
  let low = false;
  for (const proc of m.processes.values()) {
    for (const fd of proc.openFds()) {
      const ctx = iommufdCtxOf(proc, fd);
      if (!ctx || seen.has(ctx)) continue;
      seen.add(ctx);
      if (ctx.env.tempMemoryLimit < TEMP_MEMORY_LIMIT) low = true;
      for (const { ioas } of ctx.ioasList()) {
        for (const area of ioas.iopt.areas()) {
          const pages = area.pages;
          if (pages) areasOf.set(pages, (areasOf.get(pages) ?? 0) + 1);
        }
      }
    }
  }
  const out: PagesHolders[] = [];
  for (const [pages, n] of areasOf) {
    const access = !pages.accessItree.isEmpty();
    const domain = !pages.domainsItree.isEmpty();
    if (!access && !domain) continue;
    out.push({ access, domain, areas: n, shape: runShape(pages), cuts: holderCuts(pages) });
  }
  return { pages: out, tempLimitLowered: low };
}
