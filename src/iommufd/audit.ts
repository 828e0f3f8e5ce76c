// SPDX-License-Identifier: GPL-2.0-only
/**
 * The whole-state audit (architecture.md, "Verification built in"): the
 * global invariants of kernel-core.md §2.6 checked over a set of IO page
 * tables, reported through the WARN channel as `audit.*` assertions.
 *
 * - every area with pages is mapped identically in every domain of its IOAS,
 *   with the PFN its pages object pinned for that index;
 * - per pages object, the pinned set is the union of access and domain ranges,
 *   npinned is its size, the xarray holds exactly the access ranges, and
 *   last_npinned == npinned;
 * - no area overlaps another or a reserved range, and all are aligned;
 * - each frame's pin count equals the number of pages objects pinning it
 *   (when `exactPins` is asked for).
 */
import { PAGE_SIZE } from '../mm/constants.js';
import { areaIndexToIova, areaIndexToIovaLast } from './area.js';
import type { IommufdEnv } from './env.js';
import type { IoPagetable } from './io-pagetable.js';
import { smallestPage } from './io-pagetable.js';
import type { IoptPages } from './pages.js';

export interface AuditOptions {
  /** Also require frame pin counts to equal iommufd's pins exactly (no other pinner on the machine). */
  exactPins?: boolean;
}

function coverage(pages: IoptPages): { pinned: Uint8Array; access: Uint8Array } {
  const pinned = new Uint8Array(pages.npages);
  const access = new Uint8Array(pages.npages);
  for (const n of pages.accessItree) {
    for (let i = n.start; i <= n.last; i++) {
      pinned[i] = 1;
      access[i] = 1;
    }
  }
  for (const n of pages.domainsItree) for (let i = n.start; i <= n.last; i++) pinned[i] = 1;
  return { pinned, access };
}

/** Audit a set of IO page tables (all IOAS of a context); returns the number of problems found. */
export function auditIopts(env: IommufdEnv, iopts: readonly IoPagetable[], opts: AuditOptions = {}): number {
  let problems = 0;
  const fail = (name: string, msg: string): void => {
    problems++;
    env.warn.warn(`audit.${name}`, msg);
  };
  const allPages = new Set<IoptPages>();
  for (const iopt of iopts) {
    let prevLast = -1n;
    const align = BigInt(iopt.iovaAlignment);
    for (const area of iopt.areas()) {
      if (area.iova <= prevLast) fail('area_overlap', `area at 0x${area.iova.toString(16)} overlaps the previous one`);
      prevLast = area.lastIova;
      if (iopt.reservedItree.iterFirst(area.iova, area.lastIova)) fail('area_reserved', `area at 0x${area.iova.toString(16)} intersects a reserved range`);
      if (area.iova % align !== 0n || area.length % align !== 0n || area.pageOffset % iopt.iovaAlignment !== 0) {
        fail('area_alignment', `area at 0x${area.iova.toString(16)} not aligned to ${iopt.iovaAlignment}`);
      }
      const pages = area.pages;
      if (!pages) continue;
      allPages.add(pages);
      const hasDomains = iopt.domains.length > 0;
      if (hasDomains !== (area.storageDomain !== undefined) || hasDomains !== area.pagesNode.inTree) {
        fail('storage_domain', `area at 0x${area.iova.toString(16)}: ${iopt.domains.length} domains, storage ${area.storageDomain ? 'set' : 'unset'}, in domains_itree ${area.pagesNode.inTree}`);
        continue;
      }
      if (!hasDomains) continue;
      // Mapped identically in every domain, with the pinned PFN of each index.
      for (let i = area.index; i <= area.lastIndex; i++) {
        const pfn = pinnedPfnOf(pages, i);
        if (pfn < 0) {
          fail('domain_pfn', `area at 0x${area.iova.toString(16)} index ${i}: held by the domains but not readable from xarray or storage domain`);
          break;
        }
        const first = areaIndexToIova(area, i);
        const last = areaIndexToIovaLast(area, i);
        for (const d of iopt.domains) {
          const step = smallestPage(d);
          for (let iova = first; iova <= last; iova += step) {
            const off = i === area.index ? area.pageOffset + (iova - first) : iova - first;
            const want = pfn * PAGE_SIZE + off;
            const got = d.peekPhys(iova);
            if (got !== want) {
              fail('domain_pfn', `iova 0x${iova.toString(16)} index ${i}: phys 0x${got.toString(16)}, expected 0x${want.toString(16)}`);
              i = area.lastIndex + 1;
              break;
            }
          }
        }
      }
    }
    for (let k = 0; k < iopt.domains.length; k++) {
      if (iopt.domains[k] === undefined) fail('domains_dense', `slot ${k} empty`);
    }
  }
  const frameRefs = new Map<number, number>();
  for (const pages of allPages) {
    const { pinned, access } = coverage(pages);
    let n = 0;
    for (let i = 0; i < pages.npages; i++) {
      if (pinned[i]) n++;
      const present = pages.pinnedPfns.load(i) >= 0;
      if (present !== (access[i] === 1)) {
        fail('xarray', `index ${i}: xarray ${present ? 'has' : 'lacks'} an entry, access coverage ${access[i]}`);
        break;
      }
    }
    if (n !== pages.npinned) fail('npinned', `npinned ${pages.npinned}, pinned set has ${n}`);
    if (pages.lastNpinned !== pages.npinned) fail('last_npinned', `last_npinned ${pages.lastNpinned} != npinned ${pages.npinned}`);
    if (opts.exactPins) {
      for (let i = 0; i < pages.npages; i++) {
        if (!pinned[i]) continue;
        const pfn = pinnedPfnOf(pages, i);
        if (pfn >= 0) frameRefs.set(pfn, (frameRefs.get(pfn) ?? 0) + 1);
      }
    }
  }
  if (opts.exactPins) {
    for (const [pfn, want] of frameRefs) {
      const got = env.phys.pincount(pfn);
      if (got !== want) fail('pincount', `pfn ${pfn}: pincount ${got}, iommufd holds ${want}`);
    }
  }
  return problems;
}

/** The PFN an index is pinned at: xarray first, else the storage domain of an area holding it; -1 if not pinned. */
export function pinnedPfnOf(pages: IoptPages, index: number): number {
  const v = pages.pinnedPfns.load(index);
  if (v >= 0) return v;
  const node = pages.domainsItree.iterFirst(index, index);
  if (!node) return -1;
  const area = node.owner;
  const d = area.storageDomain;
  if (!d) return -1;
  const iova = areaIndexToIova(area, index);
  const phys = d.peekPhys(iova);
  return phys < 0 ? -1 : Math.floor(phys / PAGE_SIZE);
}
