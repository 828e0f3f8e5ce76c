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
 *   (when `exactPins` is asked for);
 * - each domain's driver storage is self-consistent (storageProblems: the
 *   mock's entry flags, leaf and node counts, which its fast paths trust).
 */
import { sameValues } from '../base/same-values.js';
import { MockDomain } from '../iommu/mock-domain.js';
import { PAGE_SIZE } from '../mm/constants.js';
import { areaIndexToIova } from './area.js';
import type { IommufdEnv } from './env.js';
import type { IommufdCtx } from './main.js';
import { IommufdDevice } from './device.js';
import { FaultObject } from './fault.js';
import { HwptNested, HwptPaging, ioasHwptList } from './hw-pagetable.js';
import type { IommufdObject, ObjectTable } from './object-table.js';
import type { IoPagetable } from './io-pagetable.js';
import { smallestPage } from './io-pagetable.js';
import type { IoptPages } from './pages.js';
import type { IoptArea } from './area.js';
import type { IommuDomain } from '../iommu/domain.js';
import { VeventqObject } from './veventq.js';
import { HwQueueObject, VdeviceObject, ViommuObject, mmapRegions } from './viommu.js';
import { auditDmabufArea, auditFilePages, isDmabufPages } from './pages-audit.js';

export interface AuditOptions {
  /** Also require frame pin counts to equal iommufd's pins exactly (no other pinner on the machine). */
  exactPins?: boolean;
  /**
   * What the last clean audit with this memo saw (audits after every call): the parts whose every
   * input is unchanged since are not judged again, their verdict being the same.
   */
  memo?: IoptAuditMemo;
}

/**
 * The union of the index ranges of some interval trees, as sorted disjoint
 * [start, last] pairs. The audit walks these instead of 0..npages: a pages
 * object may span 2^39 indexes of which only what is pinned matters.
 */
function unionOf(...trees: Iterable<{ start: number; last: number }>[]): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const t of trees) for (const n of t) spans.push([n.start, n.last]);
  spans.sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of spans) {
    const top = out[out.length - 1];
    if (top !== undefined && a <= top[1] + 1) top[1] = Math.max(top[1], b);
    else out.push([a, b]);
  }
  return out;
}

/**
 * iopt.areas(), kept per IO page table while its area tree is the same tree with the same change
 * count: the same nodes are linked (a linked node's start does not change), so the same areas in
 * the same order. The list is shared: callers must not change it.
 */
export function ioptAreas(iopt: IoPagetable): readonly IoptArea[] {
  const tree = iopt.areaItree;
  const changes = tree.changes;
  const m = areasMemo.get(iopt);
  if (m !== undefined && m.tree === tree && m.changes === changes) return m.list;
  const list = iopt.areas();
  areasMemo.set(iopt, { tree, changes, list });
  return list;
}

const areasMemo = new WeakMap<IoPagetable, { tree: object; changes: number; list: readonly IoptArea[] }>();

/**
 * ctx.iopts(), kept per context while its object table's change count stands (every object
 * published or gone bumps it; an IOAS's iopt never changes), and the context is open. The list is
 * shared: callers must not change it.
 */
export function ctxIopts(ctx: IommufdCtx): readonly IoPagetable[] {
  if (!ctx.alive) return ctx.iopts();
  const changes = ctx.objects.changes;
  const m = ioptsMemo.get(ctx);
  if (m !== undefined && m.changes === changes) return m.list;
  const list = ctx.iopts();
  ioptsMemo.set(ctx, { changes, list });
  return list;
}

const ioptsMemo = new WeakMap<IommufdCtx, { changes: number; list: readonly IoPagetable[] }>();

/** Counts the problems an audit finds, each WARNed as `audit.<name>`. */
class AuditSink {
  problems = 0;
  constructor(private readonly env: IommufdEnv) {}

  fail(name: string, msg: string): void {
    this.problems++;
    this.env.warn.warn(`audit.${name}`, msg);
  }
}

// ---------------------------------------------------------------------------
// The memo of audits after every call

/**
 * Everything one part of the audit reads of an object, as a list of values
 * (objects by identity, change counts of the structures they hold): the key
 * of the last clean audit, and this audit's.
 */
class Stamp {
  key: unknown[] = [];
  next: unknown[] = [];
  /** The audit that wrote `next`. */
  epoch = -1;
  /** `next` equals `key`, which a clean audit judged. */
  same = false;
  committed = false;
  /** Pages objects: the PFNs of their pinned indexes, in index order (the frame pin comparison's input). */
  pfns: Float64Array | undefined;
  nextPfns: Float64Array | undefined;
}


/**
 * What a pages object's checks read (the xarray, both interval trees, the
 * counters) and what its pinned PFNs are read from: the storage domain of
 * each area in its domains_itree, wherever that area's IOAS is (IOAS_COPY
 * shares a pages object). Node bounds are read, not only the tree counts.
 */
function pagesKey(p: IoptPages, out: unknown[]): void {
  let k = 0;
  out[k++] = p.type; out[k++] = p.npages; out[k++] = p.npinned; out[k++] = p.lastNpinned; out[k++] = p.pinnedPfns.changes; out[k++] = p.accessItree.changes; out[k++] = p.domainsItree.changes;
  const dt = p.domainsItree;
  for (let n = dt.first(); n !== undefined; n = dt.next(n)) {
    const a = n.owner;
    const d = a.storageDomain;
    out[k++] = n; out[k++] = n.start; out[k++] = n.last; out[k++] = a.iovaNum; out[k++] = a.pageOffset; out[k++] = d ?? null; out[k++] = d === undefined ? 0 : d.storageChanges;
  }
  const at = p.accessItree;
  for (let n = at.first(); n !== undefined; n = at.next(n)) { out[k++] = n.start; out[k++] = n.last; }
  out.length = k;
}

/** What the area walk of an IOAS reads besides its pages objects: its areas, their places and links, its domains. */
function ioasKey(iopt: IoPagetable, areas: readonly IoptArea[], out: unknown[]): void {
  let n = 0;
  out[n++] = iopt.iovaAlignment; out[n++] = iopt.reservedItree.changes; out[n++] = iopt.domains.length;
  for (const d of iopt.domains) { out[n++] = d; out[n++] = d === undefined ? Number.NaN : d.storageChanges; }
  for (const a of areas) {
    out[n++] = a; out[n++] = a.iova; out[n++] = a.lastIova; out[n++] = a.pageOffset; out[n++] = a.iovaNum; out[n++] = a.lastIovaNum; out[n++] = a.index; out[n++] = a.lastIndex; out[n++] = a.pages ?? null; out[n++] = a.storageDomain ?? null; out[n++] = a.pagesNode.inTree;
  }
  out.length = n;
}

/**
 * The memo of an audit run after every call (the fuzzer's): per IOAS, pages
 * object and domain, the key of what the last clean audit judged there.
 * An unchanged key means the same inputs, so the same (clean) verdict: the
 * counts are bumped inside the structures themselves (XArray, IntervalTree,
 * the domains' storage, PhysicalMemory pins), so no caller can change them
 * unseen. dma-buf areas and file references are judged every time. After an
 * audit that found a problem, the memo is emptied (the next one is full).
 */
export class IoptAuditMemo {
  private env: IommufdEnv | undefined;
  private epoch = 0;
  private readonly ioas = new Map<IoPagetable, Stamp>();
  private readonly pages = new Map<IoptPages, Stamp>();
  private readonly domains = new Map<IommuDomain, Stamp>();
  /** The pin count and the pages objects of the last clean frame comparison (-1: none). */
  private pinChanges = -1;
  private exactPages: IoptPages[] = [];
  private nextExact: IoptPages[] = [];
  private nextPinChanges = -1;

  /** Start an audit of `env`. */
  begin(env: IommufdEnv): void {
    if (this.env !== env) {
      this.reset();
      this.env = env;
    }
    this.epoch++;
    this.nextPinChanges = -1;
  }

  private stamp<T>(map: Map<T, Stamp>, o: T): Stamp {
    let st = map.get(o);
    if (st === undefined) {
      st = new Stamp();
      map.set(o, st);
    }
    return st;
  }

  /** This audit's stamp of a pages object (keyed once per audit). */
  pagesStamp(p: IoptPages): Stamp {
    const st = this.stamp(this.pages, p);
    if (st.epoch !== this.epoch) {
      st.epoch = this.epoch;
      pagesKey(p, st.next);
      st.same = st.committed && sameValues(st.next, st.key);
      st.nextPfns = undefined;
    }
    return st;
  }

  /** The area walk of `iopt` would judge what the last clean audit judged: its key and every pages object's. */
  ioasSame(iopt: IoPagetable, areas: readonly IoptArea[]): boolean {
    const st = this.stamp(this.ioas, iopt);
    st.epoch = this.epoch;
    ioasKey(iopt, areas, st.next);
    let same = st.committed && sameValues(st.next, st.key);
    for (const a of areas) {
      const p = a.pages;
      if (p !== undefined && !isDmabufPages(p) && !this.pagesStamp(p).same) same = false;
    }
    st.same = same;
    return same;
  }

  /** The domain's storage is what the last clean audit judged. */
  domainSame(d: IommuDomain): boolean {
    const st = this.stamp(this.domains, d);
    st.epoch = this.epoch;
    const next = st.next;
    next[0] = d.storageChanges;
    next[1] = d.dirtyOps;
    next.length = 2;
    st.same = st.committed && sameValues(next, st.key);
    return st.same;
  }

  /**
   * The frame pin comparison would compare what the last clean one did: the
   * same pin counts, the same pages objects in the same order, each with its
   * PFN list kept.
   */
  framesSame(phys: { readonly pinChanges: number }, all: readonly IoptPages[]): boolean {
    this.nextPinChanges = phys.pinChanges;
    this.nextExact = all as IoptPages[];
    if (this.pinChanges !== phys.pinChanges || !sameValues(all, this.exactPages)) return false;
    for (const p of all) {
      if (isDmabufPages(p)) continue;
      const st = this.pagesStamp(p);
      if (!st.same || st.pfns === undefined) return false;
    }
    return true;
  }

  /** End the audit: a clean one becomes the memo's reference, one with problems empties it. */
  end(problems: number): void {
    if (problems !== 0) {
      this.reset();
      return;
    }
    for (const map of [this.ioas, this.pages, this.domains] as Map<unknown, Stamp>[]) {
      for (const [o, st] of map) {
        if (st.epoch !== this.epoch) {
          map.delete(o);
          continue;
        }
        if (!st.same) {
          const k = st.key;
          st.key = st.next;
          st.next = k;
          st.committed = true;
          st.pfns = undefined;
        }
        if (st.nextPfns !== undefined) st.pfns = st.nextPfns;
        st.same = false;
      }
    }
    this.pinChanges = this.nextPinChanges;
    this.exactPages = this.nextExact;
    this.nextExact = [];
  }

  reset(): void {
    this.ioas.clear();
    this.pages.clear();
    this.domains.clear();
    this.pinChanges = -1;
    this.exactPages = [];
    this.nextExact = [];
    this.env = undefined;
  }
}

/** The PFN of every pinned index of `pages` (over `pinnedSpans`), sorted. */
function pinnedPfnList(pages: IoptPages, pinnedSpans: ReadonlyArray<[number, number]>): Float64Array {
  let n = 0;
  for (const [a, b] of pinnedSpans) n += b - a + 1;
  const out = new Float64Array(n);
  const pinned = new PinnedPfns(pages);
  let k = 0;
  for (const [a, b] of pinnedSpans) {
    for (let i = a; i <= b; i++) {
      const pfn = pinned.at(i);
      if (pfn >= 0) out[k++] = pfn;
    }
  }
  return sortPfns(k === n ? out : out.slice(0, k));
}

/** Sort ascending in place: most lists are short or already in order, where the native sort's call costs more. */
function sortPfns(a: Float64Array): Float64Array {
  let i = 1;
  while (i < a.length && a[i - 1] <= a[i]) i++;
  if (i >= a.length) return a;
  if (a.length > 32) return a.sort();
  for (; i < a.length; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
  return a;
}

/** Two scratch buffers for the merged PFN lists (reused: a fresh typed array per audit costs more than the merge). */
let mergeA = new Float64Array(1024);
let mergeB = new Float64Array(1024);

/**
 * The sorted union (with repeats) of sorted PFN lists, in mergeA[0..n); n.
 * Merged one list at a time while few, else concatenated and sorted.
 */
function mergeSorted(lists: readonly Float64Array[]): number {
  let total = 0;
  for (const l of lists) total += l.length;
  if (mergeA.length < total) {
    mergeA = new Float64Array(2 * total);
    mergeB = new Float64Array(2 * total);
  }
  if (lists.length > 8) {
    let n = 0;
    for (const l of lists) {
      mergeA.set(l, n);
      n += l.length;
    }
    mergeA.subarray(0, n).sort();
    return n;
  }
  let n = 0;
  for (const l of lists) {
    const a = mergeA;
    const out = mergeB;
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < n && j < l.length) out[k++] = a[i] <= l[j] ? a[i++] : l[j++];
    while (i < n) out[k++] = a[i++];
    while (j < l.length) out[k++] = l[j++];
    mergeA = out;
    mergeB = a;
    n = k;
  }
  return n;
}

/** Most indexes one run of consecutive PFNs holds (the scratch below). */
const RUN_MAX = 4096;
const runPfns = new Float64Array(RUN_MAX);

/**
 * An area is mapped identically in every domain, with the pinned PFN of each
 * index: every smallest page of index i at pfn(i) * PAGE_SIZE (plus the page
 * offset on the first), first failure reported. Indexes at consecutive PFNs
 * are one linear translation: such a run is judged in one sweep per domain
 * when its smallest pages are those of its indexes (the page size divides
 * PAGE_SIZE and the area's offset); a run not clean that way is judged again
 * index by index, which reports exactly what a walk of single indexes would.
 */
function walkArea(sink: AuditSink, area: IoptArea, pages: IoptPages, domains: readonly IommuDomain[]): void {
  const pinned = new PinnedPfns(pages);
  // areaIndexToIova() / areaIndexToIovaLast() with the area's fields read once
  const idx0 = area.index;
  const idxN = area.lastIndex;
  const base = area.iovaNum - area.pageOffset;
  let i = idx0;
  let pfn = idx0 <= idxN ? pinned.at(idx0) : -1;
  while (i <= idxN) {
    if (pfn < 0) {
      sink.fail('domain_pfn', `area at 0x${area.iova.toString(16)} index ${i}: held by the domains but not readable from xarray or storage domain`);
      return;
    }
    // the run: indexes i .. i + n - 1 at PFNs pfn .. pfn + n - 1; `next` the PFN of the index after it
    runPfns[0] = pfn;
    let n = 1;
    let next = -1;
    while (i + n <= idxN) {
      const q = pinned.at(i + n);
      if (q !== pfn + n || n === RUN_MAX) {
        next = q;
        break;
      }
      runPfns[n++] = q;
    }
    const re = i + n - 1;
    const first = i === idx0 ? area.iovaNum : base + (i - idx0) * PAGE_SIZE;
    const last = re === idxN ? area.lastIovaNum : base + (re - idx0 + 1) * PAGE_SIZE - 1;
    // the phys of `first`: the pinned page plus the area's page offset on its first page
    const firstPhys = pfn * PAGE_SIZE + (i === idx0 ? area.pageOffset : 0);
    let clean = true;
    for (let k = 0; k < domains.length && clean; k++) {
      const d = domains[k];
      const step = smallestPage(d);
      clean = PAGE_SIZE % step === 0 && (i !== idx0 || area.pageOffset % step === 0) && d.firstMismatch(first, last, step, firstPhys) < 0;
    }
    if (!clean && judgeIndexes(sink, area, domains, i, re, idx0, idxN, base)) return;
    i = re + 1;
    pfn = next;
  }
}

/** walkArea() one index at a time over i0..i1 (PFNs in runPfns from i0); true when it reported a failure (the walk ends). */
function judgeIndexes(sink: AuditSink, area: IoptArea, domains: readonly IommuDomain[], i0: number, i1: number, idx0: number, idxN: number, base: number): boolean {
  for (let i = i0; i <= i1; i++) {
    const pfn = runPfns[i - i0];
    const first = i === idx0 ? area.iovaNum : base + (i - idx0) * PAGE_SIZE;
    const last = i === idxN ? area.lastIovaNum : base + (i - idx0 + 1) * PAGE_SIZE - 1;
    const firstPhys = pfn * PAGE_SIZE + (i === idx0 ? area.pageOffset : 0);
    let failed = false;
    for (let k = 0; k < domains.length; k++) {
      const d = domains[k];
      // every smallest page of the index: peekPhys(iova) === firstPhys + (iova - first)
      const iova = d.firstMismatch(first, last, smallestPage(d), firstPhys);
      if (iova >= 0) {
        const want = firstPhys + (iova - first);
        const got = d.peekPhys(iova);
        // the other domains are still judged at this index (reported as one past the area's last)
        sink.fail('domain_pfn', `iova 0x${iova.toString(16)} index ${failed ? idxN + 1 : i}: phys 0x${got.toString(16)}, expected 0x${want.toString(16)}`);
        failed = true;
      }
    }
    if (failed) return true;
  }
  return false;
}

/** Audit a set of IO page tables (all IOAS of a context); returns the number of problems found. */
export function auditIopts(env: IommufdEnv, iopts: readonly IoPagetable[], opts: AuditOptions = {}): number {
  // (a sink object, not a closure made per audit)
  const sink = new AuditSink(env);
  const memo = opts.memo;
  memo?.begin(env);
  const allPages = new Set<IoptPages>();
  for (const iopt of iopts) {
    let prevLast = -1n;
    const align = BigInt(iopt.iovaAlignment);
    const areas = ioptAreas(iopt);
    // Nothing this walk reads changed since a clean one: only the dma-buf areas are judged again.
    const same = memo?.ioasSame(iopt, areas) === true;
    for (const area of areas) {
      if (same) {
        const pages = area.pages;
        if (!pages) continue;
        allPages.add(pages);
        if (isDmabufPages(pages)) sink.problems += auditDmabufArea(env, iopt, area);
        continue;
      }
      if (area.iova <= prevLast) sink.fail('area_overlap', `area at 0x${area.iova.toString(16)} overlaps the previous one`);
      prevLast = area.lastIova;
      if (iopt.reservedItree.iterFirst(area.iova, area.lastIova)) sink.fail('area_reserved', `area at 0x${area.iova.toString(16)} intersects a reserved range`);
      if (area.iova % align !== 0n || area.length % align !== 0n || area.pageOffset % iopt.iovaAlignment !== 0) {
        sink.fail('area_alignment', `area at 0x${area.iova.toString(16)} not aligned to ${iopt.iovaAlignment}`);
      }
      const pages = area.pages;
      if (!pages) continue;
      allPages.add(pages);
      // dma-buf pages pin nothing: their domains map the exporter's range (pages-audit.ts)
      if (isDmabufPages(pages)) {
        sink.problems += auditDmabufArea(env, iopt, area);
        continue;
      }
      const hasDomains = iopt.domains.length > 0;
      if (hasDomains !== (area.storageDomain !== undefined) || hasDomains !== area.pagesNode.inTree) {
        sink.fail('storage_domain', `area at 0x${area.iova.toString(16)}: ${iopt.domains.length} domains, storage ${area.storageDomain ? 'set' : 'unset'}, in domains_itree ${area.pagesNode.inTree}`);
        continue;
      }
      if (!hasDomains) continue;
      walkArea(sink, area, pages, iopt.domains);
    }
    for (let k = 0; k < iopt.domains.length; k++) {
      const d = iopt.domains[k];
      if (d === undefined) {
        sink.fail('domains_dense', `slot ${k} empty`);
        continue;
      }
      // the driver's own storage, which its fast paths trust (unchanged since a clean audit: still clean)
      if (memo?.domainSame(d) === true) continue;
      for (const problem of d.storageProblems()) sink.fail('domain_storage', `domain ${k}: ${problem}`);
    }
  }
  // The PFN of every pinned index of every pages object, counted per PFN after a sort.
  const exact = opts.exactPins === true;
  // The same PFN lists against the same pin counts as the last clean comparison: the same verdict.
  const framesSame = exact && memo?.framesSame(env.phys, [...allPages]) === true;
  const frameLists: Float64Array[] = [];
  for (const pages of allPages) {
    sink.problems += auditFilePages(env, pages);
    if (isDmabufPages(pages)) continue;
    const st = memo?.pagesStamp(pages);
    let pinnedSpans: Array<[number, number]> | undefined;
    if (st === undefined || !st.same) {
      const accessSpans = unionOf(pages.accessItree);
      pinnedSpans = unionOf(pages.accessItree, pages.domainsItree);
      let n = 0;
      for (const [a, b] of pinnedSpans) n += b - a + 1;
      // The xarray holds exactly the indexes accesses pin.
      let accessCount = 0;
      xarray: for (const [a, b] of accessSpans) {
        accessCount += b - a + 1;
        for (let i = a; i <= b; i++) {
          if (pages.pinnedPfns.load(i) < 0) {
            sink.fail('xarray', `index ${i}: xarray lacks an entry, access coverage 1`);
            break xarray;
          }
        }
      }
      if (pages.pinnedPfns.count() !== accessCount) {
        let from = 0;
        for (const [a, b] of [...accessSpans, [pages.npages, pages.npages] as [number, number]]) {
          const stray = a > from ? pages.pinnedPfns.firstPresent(from, a - 1) : -1;
          if (stray >= 0) {
            sink.fail('xarray', `index ${stray}: xarray has an entry, access coverage 0`);
            break;
          }
          from = b + 1;
        }
      }
      if (n !== pages.npinned) sink.fail('npinned', `npinned ${pages.npinned}, pinned set has ${n}`);
      if (pages.lastNpinned !== pages.npinned) sink.fail('last_npinned', `last_npinned ${pages.lastNpinned} != npinned ${pages.npinned}`);
    }
    if (exact) {
      let pfns = st?.same === true ? st.pfns : undefined;
      pfns ??= pinnedPfnList(pages, pinnedSpans ?? unionOf(pages.accessItree, pages.domainsItree));
      if (st !== undefined) st.nextPfns = pfns;
      if (!framesSame) frameLists.push(pfns);
    }
  }
  if (exact && !framesSame) {
    // Each frame's pin count against how many pages objects pin it (by rising PFN).
    const nrefs = mergeSorted(frameLists);
    const refs = mergeA;
    for (let k = 0; k < nrefs; ) {
      const pfn = refs[k];
      let want = 0;
      while (k < nrefs && refs[k] === pfn) {
        want++;
        k++;
      }
      const got = env.phys.pincount(pfn);
      if (got !== want) sink.fail('pincount', `pfn ${pfn}: pincount ${got}, iommufd holds ${want}`);
    }
  }
  memo?.end(sink.problems);
  return sink.problems;
}

/** The PFN an index is pinned at: xarray first, else the storage domain of an area holding it; -1 if not pinned. */
export function pinnedPfnOf(pages: IoptPages, index: number): number {
  const v = pages.pinnedPfns.load(index);
  if (v >= 0) return v;
  return domainPfnOf(pages.domainsItree.iterFirst(index, index), index);
}

/**
 * pinnedPfnOf() over rising indexes of one pages object the audit does not change: the
 * domains_itree node found for an index is the lowest-start one holding it, so it is still
 * the first for a later index it holds (one starting later comes after it), and is kept.
 */
class PinnedPfns {
  private node: ReturnType<IoptPages['domainsItree']['iterFirst']>;
  private from = Number.POSITIVE_INFINITY;
  /** The last run read from a storage domain: indexes runFirst..runLast of `node` at PFNs runPfn on. */
  private runFirst = 0;
  private runLast = -1;
  private runPfn = 0;
  /** The page after the last run, looked up to see where it ended (-1 none) and its PFN. */
  private aheadIndex = -1;
  private aheadPfn = -1;

  constructor(private readonly pages: IoptPages) {}

  at(index: number): number {
    const v = this.pages.pinnedPfns.load(index);
    if (v >= 0) return v;
    let node = this.node;
    if (node === undefined || index < this.from || index > node.last) {
      node = this.pages.domainsItree.iterFirst(index, index);
      this.node = node;
      this.from = node === undefined ? Number.POSITIVE_INFINITY : index;
      this.runLast = -1;
      this.aheadIndex = -1;
    }
    if (index >= this.runFirst && index <= this.runLast) return this.runPfn + (index - this.runFirst);
    const pfn = index === this.aheadIndex ? this.aheadPfn : domainPfnOf(node, index);
    if (pfn >= 0 && node !== undefined) this.readRun(node, index, pfn);
    return pfn;
  }

  /**
   * How far the storage domain maps on linearly from `index` (at `pfn`) within
   * `node`: the next page looked up (kept for the next call when the run ends
   * there, as scattered frames do), then one firstMismatch() over the pages
   * after it (which the table walks by its leaves) instead of a lookup per page.
   */
  private readRun(node: NonNullable<PinnedPfns['node']>, index: number, pfn: number): void {
    const area = node.owner;
    const d = area.storageDomain!;
    this.runFirst = index;
    this.runPfn = pfn;
    this.runLast = index;
    this.aheadIndex = -1;
    const last = Math.min(node.last, area.lastIndex);
    if (index >= last) return;
    // the pages after the area's first start on page boundaries, in IOVA and in phys alike
    const base = area.iovaNum - area.pageOffset - area.index * PAGE_SIZE;
    const next = base + (index + 1) * PAGE_SIZE;
    const phys = d.peekPhys(next);
    if (phys !== (pfn + 1) * PAGE_SIZE) {
      this.aheadIndex = index + 1;
      this.aheadPfn = phys < 0 ? -1 : Math.floor(phys / PAGE_SIZE);
      return;
    }
    this.runLast = index + 1;
    if (index + 1 >= last) return;
    const from = next + PAGE_SIZE;
    const m = d.firstMismatch(from, base + last * PAGE_SIZE, PAGE_SIZE, (pfn + 2) * PAGE_SIZE);
    this.runLast = m < 0 ? last : index + 1 + Math.floor((m - from) / PAGE_SIZE);
  }
}

/** The PFN the storage domain of `node`'s area maps at `index`; -1 without one. */
function domainPfnOf(node: ReturnType<IoptPages['domainsItree']['iterFirst']>, index: number): number {
  if (!node) return -1;
  const area = node.owner;
  const d = area.storageDomain;
  if (!d) return -1;
  const iova = areaIndexToIova(area, index);
  const phys = d.peekPhys(iova);
  return phys < 0 ? -1 : Math.floor(phys / PAGE_SIZE);
}

// ---------------------------------------------------------------------------
// The object graph of one context: HWPTs, devices, fault queues

/** What the object audit reads of a context. */
export interface AuditObjectsCtx {
  readonly env: IommufdEnv;
  readonly objects: ObjectTable<IommufdObject>;
}

/**
 * The links between the objects of one context, which no refcount check
 * alone would catch:
 *
 * - each HWPT's users are the table's, one per attached device, one per
 *   nested HWPT on it (paging), and nothing else at rest;
 * - a device is on its HWPT's list exactly when its group points at that
 *   HWPT, and the iommu group's domain is the group's HWPT; each PASID
 *   attachment is listed on its live HWPT (which holds one user per device
 *   in it) and matches the iommu group's attach handle at that PASID;
 * - a paging HWPT is on its IOAS's hwpt_list and its domain among the IOAS's
 *   domains (and only then), with its owner the device driver's ops;
 * - a nested HWPT's parent is a live NEST_PARENT, non-auto paging HWPT whose
 *   domain is the nested domain's parent;
 * - dirty tracking is on only in domains with dirty ops (the dirty bits
 *   themselves are checked by the domain's storage audit);
 * - a fault queue's users are the table's, its file's and one per HWPT
 *   reporting to it; every fault it holds comes from a device still
 *   attached (at the same PASID) to the HWPT it was reported through; a
 *   device's IOPF count is its number of attachments to fault-capable HWPTs;
 * - a vIOMMU's users are the table's, one per vDEVICE, nested HWPT and
 *   vEVENTQ on it (at most one vEVENTQ per type), and it holds a user of its
 *   live NEST_PARENT HWPT; a vEVENTQ's users are the table's and its file's,
 *   its queued events match num_events (at most the depth) with the
 *   LOST_EVENTS header, if queued, last; a HW queue holds a user of its
 *   vIOMMU and of the queue it depends on, and its guest memory through a
 *   live internal access on the vIOMMU's IOAS; each
 *   virt_id slot holds a live vDEVICE of that vIOMMU, whose device points
 *   back at it.
 */
export function auditObjects(ctx: AuditObjectsCtx): number {
  let problems = 0;
  const fail = (name: string, msg: string): void => {
    problems++;
    ctx.env.warn.warn(`audit.${name}`, msg);
  };
  const objects = ctx.objects;
  const live = objects.live();
  const nestedOn = new Map<HwptPaging, number>();
  const faultRefs = new Map<FaultObject, number>();
  const viommuRefs = new Map<IommufdObject, number>();
  const ref = (m: Map<IommufdObject, number>, o: IommufdObject) => m.set(o, (m.get(o) ?? 0) + 1);
  for (const { obj } of live) {
    if (obj instanceof HwptNested && !obj.viommu) nestedOn.set(obj.parent, (nestedOn.get(obj.parent) ?? 0) + 1);
    if (obj instanceof HwptNested && obj.viommu) ref(viommuRefs, obj.viommu);
    if (obj instanceof VdeviceObject) ref(viommuRefs, obj.viommu);
    if (obj instanceof ViommuObject) ref(viommuRefs, obj.hwpt);
    if (obj instanceof VeventqObject) ref(viommuRefs, obj.viommu);
    if (obj instanceof HwQueueObject) {
      if (obj.viommu) ref(viommuRefs, obj.viommu);
      for (const p of obj.dependsOn) ref(viommuRefs, p);
    }
    if ((obj instanceof HwptPaging || obj instanceof HwptNested) && obj.fault) faultRefs.set(obj.fault, (faultRefs.get(obj.fault) ?? 0) + 1);
  }
  // VMAs mapping a driver's mmap region hold its owner (the table is keyed by the context).
  for (const r of mmapRegions(ctx as IommufdCtx)) {
    for (let k = 0; k < r.mapped; k++) ref(viommuRefs, r.owner);
    // The driver's pages behind the region stay allocated while the region exists.
    const phys = ctx.env.phys;
    for (let p = 0; p < r.length / 4096; p++) {
      if (!phys.isAllocated(r.pfn + p) || phys.refcount(phys.folioHead(r.pfn + p)) === 0) fail('mmap_pages', `mmap region at ${r.offset}: page ${p} (PFN ${r.pfn + p}) is not held`);
    }
  }
  for (const { id, obj, users } of live) {
    if (obj instanceof HwptPaging || obj instanceof HwptNested) {
      let pasidDevs = 0;
      for (const a of obj.pasids) pasidDevs += a.devices.length;
      const want = 1 + obj.devices.size + pasidDevs + (obj instanceof HwptPaging ? (nestedOn.get(obj) ?? 0) + (viommuRefs.get(obj) ?? 0) : 0);
      if (users !== want) fail('hwpt_users', `HWPT ${id}: users ${users}, expected ${want}`);
      if (!obj.domain || obj.domain.isFreed) fail('hwpt_domain', `HWPT ${id}: no live domain`);
      for (const d of obj.devices) {
        if (d.hwpt !== obj) fail('hwpt_device', `HWPT ${id}: device ${d.id} listed but attached to ${d.hwpt?.id ?? 'nothing'}`);
        if (d.igroup.group.domainOf !== obj) fail('hwpt_group', `HWPT ${id}: device ${d.id}'s iommu group has another domain`);
      }
      for (const a of obj.pasids) {
        if (a.pasid === 0 || a.hwpt !== obj || a.devices.length === 0) fail('pasid_attach', `HWPT ${id}: PASID ${a.pasid} attachment is not one of its own`);
        for (const d of a.devices) {
          if (d.igroup.pasidAttach.get(a.pasid) !== a) fail('pasid_attach', `HWPT ${id}: device ${d.id}'s group does not hold PASID ${a.pasid}`);
          if (d.igroup.group.pasidHwpt.get(a.pasid) !== obj) fail('pasid_handle', `HWPT ${id}: device ${d.id}'s iommu group has another handle at PASID ${a.pasid}`);
        }
      }
      if (obj.fault && !objects.isLive(obj.fault)) fail('hwpt_fault', `HWPT ${id}: its fault queue is not live`);
    }
    if (obj instanceof HwptPaging && obj.domain) {
      const list = ioasHwptList(obj.ioas);
      const listed = list.includes(obj);
      const inIopt = obj.ioas.iopt.domains.includes(obj.domain);
      if (listed !== obj.onIoasList || inIopt !== obj.onIoasList) fail('hwpt_ioas', `HWPT ${id}: on hwpt_list ${listed}, domain in IOAS ${inIopt}, flag ${obj.onIoasList}`);
      if (!objects.isLive(obj.ioas)) fail('hwpt_ioas', `HWPT ${id}: its IOAS is not live`);
      const d = obj.domain;
      if (d instanceof MockDomain && d.dirtyTrack && !d.dirtyOps) fail('dirty_tracking', `HWPT ${id}: tracking on without dirty ops`);
      if (d.owner === undefined) fail('hwpt_owner', `HWPT ${id}: domain without owner ops`);
    }
    if (obj instanceof HwptNested) {
      const p = obj.parent;
      if (!objects.isLive(p) || !p.nestParent || p.autoDomain) fail('nested_parent', `HWPT ${id}: parent ${p.id} is not a live manual NEST_PARENT HWPT`);
      if (obj.domain && obj.domain.parent !== p.domain) fail('nested_parent', `HWPT ${id}: nested domain's parent is not the parent HWPT's domain`);
    }
    if (obj instanceof ViommuObject) {
      const want = 1 + (viommuRefs.get(obj) ?? 0);
      if (users !== want) fail('viommu_users', `vIOMMU ${id}: users ${users}, expected ${want}`);
      if (!objects.isLive(obj.hwpt) || !obj.hwpt.nestParent) fail('viommu_hwpt', `vIOMMU ${id}: its HWPT is not a live NEST_PARENT HWPT`);
      if (!obj.driver) fail('viommu_driver', `vIOMMU ${id}: no driver ops`);
      for (const [virtId, v] of obj.vdevs) {
        if (!v || v.viommu !== obj || v.virtId !== virtId || !objects.isLive(v)) fail('viommu_vdevs', `vIOMMU ${id}: virt_id ${virtId} holds no live vDEVICE of it`);
      }
    }
    if (obj instanceof ViommuObject) {
      const types = new Set<number>();
      for (const q of obj.veventqs) {
        if (q.viommu !== obj || !objects.isLive(q)) fail('viommu_veventqs', `vIOMMU ${id}: lists a vEVENTQ that is not its own live one`);
        if (types.has(q.eventType)) fail('viommu_veventqs', `vIOMMU ${id}: two vEVENTQs of type ${q.eventType}`);
        types.add(q.eventType);
      }
    }
    if (obj instanceof VeventqObject) {
      const want = 1 + (obj.file ? 1 : 0);
      if (users !== want) fail('veventq_users', `vEVENTQ ${id}: users ${users}, expected ${want}`);
      if (!obj.viommu.veventqs.includes(obj) || !objects.isLive(obj.viommu)) fail('veventq_viommu', `vEVENTQ ${id}: not on its live vIOMMU's list`);
      const lostAt = obj.deliver.indexOf(obj.lostHeader);
      if (lostAt >= 0 && lostAt !== obj.deliver.length - 1) fail('veventq_lost', `vEVENTQ ${id}: the LOST_EVENTS header is not last`);
      const events = obj.deliver.length - (lostAt >= 0 ? 1 : 0);
      if (events !== obj.numEvents || events > obj.depth) fail('veventq_events', `vEVENTQ ${id}: ${events} events queued, num_events ${obj.numEvents}, depth ${obj.depth}`);
    }
    if (obj instanceof HwQueueObject) {
      const want = 1 + (viommuRefs.get(obj) ?? 0);
      if (users !== want) fail('hw_queue_users', `HW queue ${id}: users ${users}, expected ${want}`);
      const a = obj.access;
      if (!obj.viommu || !objects.isLive(obj.viommu) || !obj.driver) fail('hw_queue_viommu', `HW queue ${id}: no live vIOMMU or driver half`);
      else if (!a?.internal || !objects.isLive(a) || a.ioas !== obj.viommu.hwpt.ioas) fail('hw_queue_access', `HW queue ${id}: its internal access is not live on the vIOMMU's IOAS`);
      for (const p of obj.dependsOn) if (!objects.isLive(p) || p.viommu !== obj.viommu) fail('hw_queue_depend', `HW queue ${id}: depends on a queue that is not a live one of its vIOMMU`);
    }
    if (obj instanceof VdeviceObject) {
      if (users !== 1) fail('vdevice_users', `vDEVICE ${id}: users ${users}, expected 1`);
      if (obj.viommu.vdevs.get(obj.virtId) !== obj) fail('vdevice_slot', `vDEVICE ${id}: not at virt_id ${obj.virtId} of its vIOMMU`);
      if (obj.idev.vdev !== obj || obj.idev.destroying) fail('vdevice_idev', `vDEVICE ${id}: its device does not point back, or is being destroyed`);
    }
    if (obj instanceof FaultObject) {
      const want = 1 + (obj.file ? 1 : 0) + (faultRefs.get(obj) ?? 0);
      if (users !== want) fail('fault_users', `fault queue ${id}: users ${users}, expected ${want}`);
      const cookies = new Set<number>();
      for (const [cookie, g] of obj.response) {
        if (cookie < 1 || g.cookie !== cookie || cookies.has(cookie)) fail('fault_cookie', `fault queue ${id}: cookie ${cookie} filed as ${g.cookie}`);
        cookies.add(cookie);
      }
      for (const g of obj.outstanding()) {
        const h = g.hwpt as HwptPaging | HwptNested;
        if (h.fault !== obj || g.idev.hwptAt(g.attachPasid) !== h) fail('fault_group', `fault queue ${id}: a fault of device ${g.idev.id} outlived its attachment`);
      }
    }
    if (obj instanceof IommufdDevice) {
      // Each attachment (RID or PASID) to a fault-capable HWPT holds one IOPF enable.
      let iopf = 0;
      for (const a of obj.igroup.pasidAttach.values()) {
        if (!a.devices.includes(obj)) continue;
        if (a.hwpt.fault) iopf++;
        if (!objects.isLive(a.hwpt)) fail('pasid_attach', `device ${id}: PASID ${a.pasid} attached to a dead HWPT`);
        const set = a.pasid === 0 ? a.hwpt.devices.has(obj) : a.hwpt.pasids.has(a);
        if (!set) fail('pasid_attach', `device ${id}: PASID ${a.pasid} not listed on HWPT ${a.hwpt.id}`);
      }
      if (obj.iopfEnabled !== iopf) fail('iopf_enabled', `device ${id}: IOPF count ${obj.iopfEnabled}, ${iopf} fault-capable attachments`);
      for (const [pasid, h] of obj.igroup.group.pasidHwpt) {
        if (obj.igroup.pasidAttach.get(pasid)?.hwpt !== h) fail('pasid_handle', `device ${id}: the iommu group's PASID ${pasid} handle has no iommufd attachment`);
      }
    }
  }
  return problems;
}
