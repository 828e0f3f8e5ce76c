// SPDX-License-Identifier: GPL-2.0-only
/**
 * What changed between two snapshots (taken by one Inspector, so pages
 * objects and contexts keep their keys): objects and areas that came and
 * went, the page ranges of each pages object whose tier or PFN changed, the
 * IOVA ranges of each domain whose translation changed, frames whose ref or
 * pin count changed, and accounting counters. Ranges are found by one sweep
 * over the two sorted run lists, never page by page.
 */
import type { MachineSnapshot, PagesSnap } from './types.js';

/** An inclusive range of page indexes, IOVAs (numbers) or PFNs. */
export interface NumRange {
  first: number;
  last: number;
}

export interface ObjRef {
  ctx: number;
  id: number;
  type: string;
}

export interface AreaRef {
  ctx: number;
  ioas: number;
  iova: string;
  last: string;
}

export interface PagesChange {
  key: number;
  /** Page index ranges whose tier or access users changed. */
  tiers: NumRange[];
  /** Page index ranges whose PFN changed. */
  pfns: NumRange[];
  npinned: [number, number];
}

export interface DomainChange {
  ctx: number;
  hwpt: number;
  /** IOVA ranges whose translation, IOPTE size or dirty bit changed. */
  iova: NumRange[];
  mappedBytes: [number, number];
}

export interface FrameChange extends NumRange {
  /** [ref, pin] before and after (null: not reached from a pages object then). */
  before: [number, number] | null;
  after: [number, number] | null;
}

export interface CounterChange {
  /** "user 1000 locked_vm", "mm #0 pinned_vm", "memcg #1 usage", "pages #0 npinned", "framesInUse", "tablePages", "warnings" (mm, memcg and pages by key). */
  what: string;
  before: number | null;
  after: number | null;
}

export interface SnapshotDiff {
  empty: boolean;
  objects: { added: ObjRef[]; removed: ObjRef[] };
  areas: { added: AreaRef[]; removed: AreaRef[] };
  pages: { added: number[]; removed: number[]; changed: PagesChange[] };
  domains: { added: Array<{ ctx: number; hwpt: number }>; removed: Array<{ ctx: number; hwpt: number }>; changed: DomainChange[] };
  frames: FrameChange[];
  counters: CounterChange[];
}

/** A run [start, end) whose value at position p is `base + p` tagged `tag` (base unused when the tag says so). */
interface Seg {
  start: number;
  end: number;
  base: number;
  tag: string;
}

const ABSENT = '';

interface Piece {
  start: number;
  end: number;
  before: Seg | undefined;
  after: Seg | undefined;
}

/** The pieces of the line where `a` and `b` (sorted, disjoint) differ; adjacent pieces with the same tags merge. */
function changedPieces(a: Seg[], b: Seg[]): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  let j = 0;
  const pts: number[] = [];
  for (const s of a) pts.push(s.start, s.end);
  for (const s of b) pts.push(s.start, s.end);
  pts.sort((x, y) => x - y);
  for (let k = 0; k + 1 < pts.length; k++) {
    const lo = pts[k];
    const hi = pts[k + 1];
    if (lo === hi) continue;
    while (i < a.length && a[i].end <= lo) i++;
    while (j < b.length && b[j].end <= lo) j++;
    const sa = i < a.length && a[i].start <= lo ? a[i] : undefined;
    const sb = j < b.length && b[j].start <= lo ? b[j] : undefined;
    const ta = sa?.tag ?? ABSENT;
    const tb = sb?.tag ?? ABSENT;
    if (ta === tb && (ta === ABSENT || sa!.base === sb!.base)) continue;
    const prev = out[out.length - 1];
    if (prev && prev.end === lo && (prev.before?.tag ?? ABSENT) === ta && (prev.after?.tag ?? ABSENT) === tb) prev.end = hi;
    else out.push({ start: lo, end: hi, before: sa, after: sb });
  }
  return out;
}

function ranges(p: Piece[]): NumRange[] {
  return p.map((x) => ({ first: x.start, last: x.end - 1 }));
}

function tierSegs(p: PagesSnap): Seg[] {
  return p.tiers.map((t) => ({ start: t.first, end: t.last + 1, base: 0, tag: `${t.xarray ? 'x' : ''}${t.domain ? 'd' : ''}:${t.accessUsers}` }));
}

function pfnSegs(p: PagesSnap): Seg[] {
  return p.pfns.map((r) => (r.pfn < 0 ? { start: r.index, end: r.index + r.n, base: 0, tag: 'none' } : { start: r.index, end: r.index + r.n, base: r.pfn - r.index, tag: 'pfn' }));
}

function domainSegs(runs: MachineSnapshot['domains'][number]['runs']): Seg[] {
  return runs.map((r) => ({ start: r.iova, end: r.iova + r.length, base: r.paddr - r.iova, tag: `${r.pgsize}${r.dirty ? 'D' : ''}` }));
}

function frameSegs(s: MachineSnapshot): Seg[] {
  return s.frames.map((f) => ({ start: f.pfn, end: f.pfn + f.n, base: 0, tag: `${f.ref}/${f.pin}` }));
}

function counts(tag: string | undefined): [number, number] | null {
  if (tag === undefined) return null;
  const [r, p] = tag.split('/');
  return [Number(r), Number(p)];
}

function keyed<T>(list: T[], key: (x: T) => string): Map<string, T> {
  return new Map(list.map((x) => [key(x), x]));
}

function addedRemoved<T>(a: Map<string, T>, b: Map<string, T>): { added: T[]; removed: T[] } {
  return { added: [...b].filter(([k]) => !a.has(k)).map(([, v]) => v), removed: [...a].filter(([k]) => !b.has(k)).map(([, v]) => v) };
}

function counters(s: MachineSnapshot): Map<string, number> {
  const m = new Map<string, number>();
  m.set('framesInUse', s.framesInUse);
  m.set('tablePages', s.tablePages);
  m.set('warnings', s.warnings);
  for (const u of s.accounting.users) m.set(`user ${u.uid} locked_vm`, u.lockedVm);
  for (const mm of s.accounting.mms) {
    m.set(`mm #${mm.key} locked_vm`, mm.lockedVm);
    m.set(`mm #${mm.key} pinned_vm`, mm.pinnedVm);
  }
  for (const g of s.accounting.memcgs) m.set(`memcg #${g.key} usage`, g.usage);
  for (const p of s.pages) {
    m.set(`pages #${p.key} npinned`, p.npinned);
    m.set(`pages #${p.key} charged`, p.charged);
  }
  return m;
}

/** What changed from `a` to `b`. */
export function diffSnapshots(a: MachineSnapshot, b: MachineSnapshot): SnapshotDiff {
  const objKey = (o: { ctx: number; id: number; type: string }): string => `${o.ctx}:${o.id}:${o.type}`;
  const objects = addedRemoved(keyed(a.objects, objKey), keyed(b.objects, objKey));
  const areaList = (s: MachineSnapshot): AreaRef[] => s.ioas.flatMap((io) => io.areas.map((ar) => ({ ctx: io.ctx, ioas: io.id, iova: ar.iova, last: ar.last })));
  const areaKey = (x: AreaRef): string => `${x.ctx}:${x.ioas}:${x.iova}:${x.last}`;
  const areas = addedRemoved(keyed(areaList(a), areaKey), keyed(areaList(b), areaKey));

  const pa = new Map(a.pages.map((p) => [p.key, p]));
  const pb = new Map(b.pages.map((p) => [p.key, p]));
  const pagesChanged: PagesChange[] = [];
  for (const [k, p] of pb) {
    const q = pa.get(k);
    if (!q) continue;
    const tiers = ranges(changedPieces(tierSegs(q), tierSegs(p)));
    const pfns = ranges(changedPieces(pfnSegs(q), pfnSegs(p)));
    if (tiers.length || pfns.length || q.npinned !== p.npinned) pagesChanged.push({ key: k, tiers, pfns, npinned: [q.npinned, p.npinned] });
  }

  const domKey = (d: { ctx: number; hwpt: number }): string => `${d.ctx}:${d.hwpt}`;
  const da = keyed(a.domains, domKey);
  const db = keyed(b.domains, domKey);
  const domChanged: DomainChange[] = [];
  for (const [k, d] of db) {
    const e = da.get(k);
    if (!e) continue;
    const iova = ranges(changedPieces(domainSegs(e.runs), domainSegs(d.runs)));
    if (iova.length || e.mappedBytes !== d.mappedBytes) domChanged.push({ ctx: d.ctx, hwpt: d.hwpt, iova, mappedBytes: [e.mappedBytes, d.mappedBytes] });
  }
  const domAR = addedRemoved(da, db);

  const frames: FrameChange[] = changedPieces(frameSegs(a), frameSegs(b)).map((p) => ({
    first: p.start,
    last: p.end - 1,
    before: counts(p.before?.tag),
    after: counts(p.after?.tag),
  }));

  const ca = counters(a);
  const cb = counters(b);
  const counterChanges: CounterChange[] = [];
  for (const k of new Set([...ca.keys(), ...cb.keys()])) {
    const x = ca.get(k) ?? null;
    const y = cb.get(k) ?? null;
    // A counter that appears or goes at zero did not change.
    if ((x ?? 0) !== (y ?? 0)) counterChanges.push({ what: k, before: x, after: y });
  }

  const d: SnapshotDiff = {
    empty: false,
    objects: { added: objects.added.map(({ ctx, id, type }) => ({ ctx, id, type })), removed: objects.removed.map(({ ctx, id, type }) => ({ ctx, id, type })) },
    areas,
    pages: { added: [...pb.keys()].filter((k) => !pa.has(k)), removed: [...pa.keys()].filter((k) => !pb.has(k)), changed: pagesChanged },
    domains: { added: domAR.added.map(({ ctx, hwpt }) => ({ ctx, hwpt })), removed: domAR.removed.map(({ ctx, hwpt }) => ({ ctx, hwpt })), changed: domChanged },
    frames,
    counters: counterChanges,
  };
  d.empty =
    d.objects.added.length + d.objects.removed.length + d.areas.added.length + d.areas.removed.length + d.pages.added.length + d.pages.removed.length + d.pages.changed.length +
      d.domains.added.length + d.domains.removed.length + d.domains.changed.length + d.frames.length + d.counters.length ===
    0;
  return d;
}
