// SPDX-License-Identifier: GPL-2.0-only
/**
 * Taking a MachineSnapshot: the one place above iommufd/ that reads the
 * model's internals. It only reads (no syscall, no WARN, no fault point, no
 * change to any cache the model keeps), so a snapshot can be taken after any
 * call without changing what the run does next.
 *
 * An Inspector keeps the identity of contexts and pages objects across the
 * snapshots it takes (a pages object keeps its `key` while it lives), so two
 * of its snapshots can be diffed. It also keeps what it walked per domain and
 * per pages object under the change counts of what the walk read (the
 * domain's storage, the xarray and interval trees, the areas' places), and
 * hands the same arrays back while those are unchanged (`fresh` walks again).
 * Per-page work (tiers, PFNs, frames) runs over typed arrays; a domain is
 * walked over the IOVA of its IOAS's areas in steps of its smallest page size.
 */
import { modLg2, pow2Bits } from '../base/pow2.js';
import { sameValues } from '../base/same-values.js';
import { SightKeys } from '../base/sight-keys.js';
import { IommuDomain } from '../iommu/domain.js';
import { ENTRY_OA, entryType, itemLg2, leafLg2, leafOa, levelOfPgsize, pow2 } from '../iommu/generic-pt/amdv1.js';
import { MOCK_HUGE_PAGE_SIZE, MockAmdv1Domain, MockDomain } from '../iommu/mock-domain.js';
import { type IoptArea, areaIndexToIova } from '../iommufd/area.js';
import { ioptAreas } from '../iommufd/audit.js';
import type { IoPagetable } from '../iommufd/io-pagetable.js';
import { AccessObject, IommufdDevice } from '../iommufd/device.js';
import { HwptNested, HwptPaging } from '../iommufd/hw-pagetable.js';
import { IommufdIoas } from '../iommufd/ioas.js';
import type { IommufdCtx } from '../iommufd/main.js';
import type { IommufdObject } from '../iommufd/object-table.js';
import { IOPT_ADDRESS_DMABUF, IOPT_ADDRESS_FILE, IOPT_ADDRESS_USER, IOPT_PAGES_ACCOUNT_MM, IOPT_PAGES_ACCOUNT_NONE, type IoptPages, dmabufRevoked } from '../iommufd/pages.js';
import { SelftestObject, StaccessFile } from '../iommufd/selftest.js';
import { IommufdFileHandle, IommufdOpenFile } from '../machine/iommufd-node.js';
import type { Machine } from '../machine/machine.js';
import type { Process } from '../machine/process.js';
import type { MemCgroup } from '../mm/accounting.js';
import type { MmStruct } from '../mm/address-space.js';
import { PAGE_SIZE } from '../mm/constants.js';
import type {
  PagesSource,
  AccessSnap,
  Accounting,
  AreaSnap,
  ContextSnap,
  DeviceSnap,
  DomainRun,
  DomainSnap,
  FdSnap,
  FrameRun,
  IoasSnap,
  MachineSnapshot,
  ObjectSnap,
  PagesSnap,
  PfnRun,
  ProcessSnap,
  ReservedSnap,
  TierRun,
} from './types.js';

/** A u64 as the snapshot writes it. */
export function u64(v: bigint | number): string {
  // A safe integer prints the same digits as its bigint (no bigint made for it).
  return `0x${typeof v === 'number' && Number.isSafeInteger(v) ? v.toString(16) : BigInt(v).toString(16)}`;
}

export function accountName(mode: number): string {
  if (mode === IOPT_PAGES_ACCOUNT_NONE) return 'none';
  if (mode === IOPT_PAGES_ACCOUNT_MM) return 'mm';
  return 'user';
}

function protText(p: number): string {
  return `${p & 1 ? 'r' : '-'}${p & 2 ? 'w' : '-'}`;
}

export interface SnapshotScope {
  /** The contexts to show, in this order (default: every context reachable from a live process's fds). */
  contexts?: readonly IommufdCtx[];
  /** The processes to show, in this order (default: the machine's live processes by pid). */
  processes?: readonly Process[];
  /** Leave out the per-page and per-run detail (tiers, PFNs, domain runs, frames): counts only. */
  summaryOnly?: boolean;
  /** false: leave out the frames table (`frames` empty), for a caller that does not read it. Default true. */
  frames?: boolean;
  /**
   * Filled with the PFN of every page of each pages object described page by
   * page (key → PFN per page, -1 where none): what `pfns` holds as runs, for a
   * caller that wants it per page.
   */
  pfnsOut?: Map<number, Float64Array>;
  /**
   * false: a page no tier holds (neither the xarray nor a domain) has PFN -1 in `pfns` (and
   * `pfnsOut`, and is left out of the frames table) instead of what its source maps there now:
   * for a caller that judges only what is pinned, the per-page read of the source saved.
   * Then each `pfnsOut` array ends after the last page a tier holds (a page past its end holds
   * none), so a pages object far larger than what it holds costs what it holds. Default true.
   */
  sourcePfns?: boolean;
  /**
   * true: walk every domain and pages object again, neither reading nor
   * writing the Inspector's memo of what earlier snapshots walked (a check
   * that the memo stands for what a walk reads).
   */
  fresh?: boolean;
}

/** The iommufd context an open file of a process belongs to, if any. */
export function contextOfFile(f: unknown): IommufdCtx | undefined {
  if (f instanceof IommufdOpenFile) return f.ctx;
  // an access, fault or vEVENTQ fd holds its context (it outlives the closed iommufd)
  if (f instanceof IommufdFileHandle) return f.inner.heldCtx;
  return undefined;
}

/** Every context reachable from the descriptors of `procs`, in order of first sight, live ones only. */
export function contextsOf(procs: Iterable<Process>): IommufdCtx[] {
  const out = new Set<IommufdCtx>();
  for (const p of procs) {
    if (p.exited) continue;
    for (const fd of p.openFds()) {
      const c = contextOfFile(p.fileOf(fd));
      if (c?.alive) out.add(c);
    }
  }
  return [...out];
}

/** Identities that survive from one snapshot to the next. */
export class Inspector {
  private readonly ctxs = new SightKeys<IommufdCtx>();
  private readonly pages = new SightKeys<IoptPages>();
  /** mms and memcgs share one numbering. */
  private readonly accts = new SightKeys<object>();

  constructor(readonly machine: Machine) {}

  ctxKey(c: IommufdCtx): number {
    return this.ctxs.of(c);
  }

  pagesKey(p: IoptPages): number {
    return this.pages.of(p);
  }

  /** Key of an mm or a memcg. */
  acctKey(x: object): number {
    return this.accts.of(x);
  }

  snapshot(scope: SnapshotScope = {}): MachineSnapshot {
    return new SnapshotBuilder(this, scope).build();
  }

  /**
   * Per domain, what the last detailed snapshot walked and the key it walked under; per pages
   * object, its tiers and PFNs when no page of it was read from its source. A snapshot after a
   * call that left an object's key as it was reads it from here instead of walking it again.
   */
  private readonly runsMemo = new WeakMap<IommuDomain, { key: unknown[]; walk: DomainWalk }>();
  private readonly tiersMemo = new WeakMap<IoptPages, { key: unknown[]; tiers: TierRun[]; pfn: Float64Array; runs: PfnRun[] }>();
  private readonly keyBuf: unknown[] = [];

  /** domainRuns(d, areas) with its walk, or the last one's when nothing it reads has changed (`fresh`: walked, not kept). */
  domainWalk(d: IommuDomain, areas: readonly IoptArea[], fresh = false): DomainWalk {
    if (fresh) {
      const walk: DomainWalk = { runs: [], areas: new Map() };
      domainRuns(d, areas, walk);
      return walk;
    }
    const key = this.keyBuf;
    domainWalkKey(d, areas, key);
    const m = this.runsMemo.get(d);
    if (m !== undefined && sameValues(m.key, key)) return m.walk;
    const walk: DomainWalk = { runs: [], areas: new Map() };
    domainRuns(d, areas, walk);
    this.runsMemo.set(d, { key: [...key], walk });
    return walk;
  }

  /** The allowed and reserved ranges of `iopt` as a snapshot writes them, kept while neither tree changes. */
  ioasRanges(iopt: IoPagetable, fresh = false): { allowed: Array<{ first: string; last: string }>; reserved: ReservedSnap[] } {
    const m = fresh ? undefined : this.rangesMemo.get(iopt);
    const ac = iopt.allowedItree.changes;
    const rc = iopt.reservedItree.changes;
    // (IOMMU_IOAS_ALLOW_IOVAS swaps in a new tree: compared by identity too.)
    if (m !== undefined && m.allowedTree === iopt.allowedItree && m.ac === ac && m.rc === rc) return m;
    const out = {
      allowedTree: iopt.allowedItree,
      ac,
      rc,
      allowed: [...iopt.allowedItree].map((n) => ({ first: u64(n.start), last: u64(n.last) })),
      reserved: [...iopt.reservedItree].map(
        (n): ReservedSnap => ({
          first: u64(n.start),
          last: u64(n.last),
          owner: n.owner.owner instanceof IommuDomain ? 'aperture' : n.owner.owner === null ? 'selftest' : 'other',
        }),
      ),
    };
    if (!fresh) this.rangesMemo.set(iopt, out);
    return out;
  }

  private readonly rangesMemo = new WeakMap<IoPagetable, { allowedTree: unknown; ac: number; rc: number; allowed: Array<{ first: string; last: string }>; reserved: ReservedSnap[] }>();

  /**
   * pagesTiers(p, walks, source) and its PFN runs, or the last one's when nothing it reads has
   * changed. `source` false: the pages no tier holds are -1, not read from the source.
   */
  pagesDetail(p: IoptPages, walks: ReadonlyMap<IommuDomain, DomainWalk>, fresh = false, source = true): { tiers: TierRun[]; pfn: Float64Array; runs: PfnRun[] } {
    if (fresh) return pagesTiersRuns(p, walks, source);
    const key = this.keyBuf;
    pagesTiersKey(p, key);
    const memo = source ? this.tiersMemo : this.heldTiersMemo;
    const m = memo.get(p);
    if (m !== undefined && sameValues(m.key, key)) return m;
    const { tiers, pfn, runs } = pagesTiersRuns(p, walks, source);
    const out = { key: [...key], tiers, pfn, runs };
    // With the source read, only a pages object every page of which some tier holds: the others
    // read the user's page table (or a file, a dma-buf) for what no tier holds, which no count
    // here follows.
    let held = true;
    if (source) for (const t of tiers) if (!t.xarray && !t.domain) held = false;
    if (held) memo.set(p, out);
    else memo.delete(p);
    return out;
  }

  /** pagesDetail() with `source` false: what the tiers hold alone, always kept. */
  private readonly heldTiersMemo = new WeakMap<IoptPages, { key: unknown[]; tiers: TierRun[]; pfn: Float64Array; runs: PfnRun[] }>();
}


/**
 * What domainRuns() reads of `d` over `areas`: the domain's change count (maps, unmaps, dirty
 * bits), whether a dirty read is refused (tracking off), and each area's place. NaN for a domain
 * that counts no changes: never equal, so walked every time.
 */
function domainWalkKey(d: IommuDomain, areas: readonly IoptArea[], out: unknown[]): void {
  let n = 0;
  out[n++] = d.storageChanges; out[n++] = d.dirtyOps ?? null; out[n++] = d instanceof MockDomain ? d.dirtyTrack : null; out[n++] = areas.length;
  for (const a of areas) { out[n++] = a; out[n++] = a.iovaNum; out[n++] = a.lastIovaNum; }
  out.length = n;
}

/**
 * What pagesTiers() reads of `p` besides its source: the xarray and both trees (their change
 * counts and node bounds), each access node's users, and for each area in the domains tree
 * where its pages sit in IOVA and the domain read there with its change count.
 */
function pagesTiersKey(p: IoptPages, out: unknown[]): void {
  let k = 0;
  out[k++] = p.npages; out[k++] = p.pinnedPfns.changes; out[k++] = p.accessItree.changes; out[k++] = p.domainsItree.changes;
  const at = p.accessItree;
  for (let n = at.first(); n !== undefined; n = at.next(n)) { out[k++] = n.start; out[k++] = n.last; out[k++] = n.owner.users; }
  const dt = p.domainsItree;
  for (let n = dt.first(); n !== undefined; n = dt.next(n)) {
    const a = n.owner;
    const dom = a.storageDomain ?? a.iopt?.domains[0];
    out[k++] = n.start; out[k++] = n.last; out[k++] = a; out[k++] = a.iovaNum; out[k++] = a.pageOffset; out[k++] = a.index; out[k++] = dom ?? null; out[k++] = dom === undefined ? 0 : dom.storageChanges;
  }
  out.length = k;
}

/** A snapshot of `machine` with identities numbered from 0 in order of sight. */
export function snapshotMachine(machine: Machine, scope: SnapshotScope = {}): MachineSnapshot {
  return new Inspector(machine).snapshot(scope);
}

class SnapshotBuilder {
  private readonly m: Machine;
  private readonly procs: Process[];
  private readonly ctxs: IommufdCtx[];
  private readonly detail: boolean;
  private readonly wantFrames: boolean;
  private readonly pfnsOut: Map<number, Float64Array> | undefined;
  private readonly fresh: boolean;
  private readonly sourcePfns: boolean;
  /** Pages objects in order of first sight. */
  private readonly pagesList: IoptPages[] = [];
  private readonly pagesAreas = new Map<IoptPages, Array<{ ctx: number; ioas: number; iova: string }>>();
  /** Domain → the ID of the paging HWPT holding it (in its context). */
  private readonly hwptOfDomain = new Map<IommuDomain, number>();
  /** What domainRuns() walked for each domain of this snapshot (pagesTiers reads the domains' PFNs from it). */
  private readonly walks = new Map<IommuDomain, DomainWalk>();
  /** PFN of every page of each pages object (-1 none), filled by pagesSnap for the frame table. */
  private readonly pfnArrays: Float64Array[] = [];

  constructor(
    private readonly insp: Inspector,
    scope: SnapshotScope,
  ) {
    this.m = insp.machine;
    this.procs = scope.processes ? scope.processes.filter((p) => !p.exited) : [...this.m.processes.values()].sort((a, b) => a.pid - b.pid);
    this.ctxs = scope.contexts ? [...scope.contexts] : contextsOf(this.procs);
    this.detail = scope.summaryOnly !== true;
    this.wantFrames = scope.frames !== false;
    this.pfnsOut = scope.pfnsOut;
    this.fresh = scope.fresh === true;
    this.sourcePfns = scope.sourcePfns !== false;
  }

  build(): MachineSnapshot {
    const contexts: ContextSnap[] = [];
    const objects: ObjectSnap[] = [];
    const ioas: IoasSnap[] = [];
    const domains: DomainSnap[] = [];
    const devices: DeviceSnap[] = [];
    const accesses: AccessSnap[] = [];
    const accessFds = this.accessFds();
    for (const c of this.ctxs) this.insp.ctxKey(c);
    for (const c of this.ctxs) {
      const ci = this.insp.ctxKey(c);
      const cs: ContextSnap = { index: ci, openerPid: c.task.pid, accountMode: accountName(c.accountMode) };
      if (c.vfioIoas) cs.vfioIoas = c.vfioIoas.id;
      contexts.push(cs);
      const live = c.objects.live();
      for (const { obj } of live) if (obj instanceof HwptPaging && obj.domain) this.hwptOfDomain.set(obj.domain, obj.id);
      const ioasAccesses = new Map<IommufdIoas, number[]>();
      for (const { id, obj, users } of live) {
        const links = objectLinks(c, obj);
        if (obj instanceof HwptPaging) {
          if (obj.domain) domains.push(this.domainSnap(ci, id, obj));
        } else if (obj instanceof HwptNested) {
          links.ioas = obj.ioas.id;
        } else if (obj instanceof IommufdDevice) {
          const h = obj.hwpt;
          if (h) links.hwpt = h.id;
          devices.push({ ctx: ci, id, hwpt: h ? h.id : -1, mockFlags: obj.mockDev.flags, selftest: -1 });
        } else if (obj instanceof AccessObject) {
          if (obj.ioas) {
            const l = ioasAccesses.get(obj.ioas) ?? [];
            l.push(id);
            ioasAccesses.set(obj.ioas, l);
          }
          const f = accessFds.get(obj);
          accesses.push({
            ctx: ci,
            id,
            ioas: obj.ioas ? obj.ioas.id : -1,
            fd: f?.where ?? '-',
            needsPinPages: obj.core.ops.needsPinPages,
            items: f ? f.file.items.map((it) => ({ id: it.id, iova: u64(it.iova), length: u64(it.length) })) : [],
          });
        }
        objects.push({ ctx: ci, id, type: obj.type, users, links });
      }
      // The selftest object owning each mock device (listed before or after its device).
      for (const { id, obj } of live) {
        if (obj instanceof SelftestObject && obj.idev) {
          const d = devices.find((x) => x.ctx === ci && x.id === obj.idev!.id);
          if (d) d.selftest = id;
        }
      }
      for (const { id, obj } of live) if (obj instanceof IommufdIoas) ioas.push(this.ioasSnap(ci, id, obj, ioasAccesses.get(obj) ?? []));
    }
    const pages = this.pagesList.map((p, i) => this.pagesSnap(p, i));
    return {
      version: 1,
      profile: this.m.profile.name,
      totalFrames: this.m.phys.totalFrames,
      framesInUse: this.m.phys.framesInUse(),
      tablePages: this.m.phys.tablePages(),
      warnings: this.m.warnings.length,
      processes: this.processSnaps(),
      contexts,
      objects,
      ioas,
      pages,
      domains,
      devices,
      accesses,
      frames: this.detail && this.wantFrames ? this.frames() : [],
      accounting: this.accounting(),
    };
  }

  /** Access object → the selftest access fd that owns it ("pid:fd"). */
  private accessFds(): Map<AccessObject, { where: string; file: StaccessFile }> {
    const out = new Map<AccessObject, { where: string; file: StaccessFile }>();
    for (const p of this.procs) {
      for (const fd of p.openFds()) {
        const f = p.fileOf(fd);
        if (f instanceof IommufdFileHandle && f.inner instanceof StaccessFile && f.inner.access && !out.has(f.inner.access)) {
          out.set(f.inner.access, { where: `${p.pid}:${fd}`, file: f.inner });
        }
      }
    }
    return out;
  }

  private ioasSnap(ci: number, id: number, obj: IommufdIoas, accessIds: number[]): IoasSnap {
    const iopt = obj.iopt;
    const areas: AreaSnap[] = [];
    for (const a of this.fresh ? iopt.areas() : ioptAreas(iopt)) {
      let pk = -1;
      const iova = u64(a.iova);
      if (a.pages) {
        let l = this.pagesAreas.get(a.pages);
        if (l === undefined) {
          l = [];
          this.pagesAreas.set(a.pages, l);
          this.pagesList.push(a.pages);
        }
        l.push({ ctx: ci, ioas: id, iova });
        pk = this.insp.pagesKey(a.pages);
      }
      areas.push({
        iova,
        last: u64(a.lastIova),
        length: u64(a.length),
        pages: pk,
        firstIndex: a.index,
        lastIndex: a.lastIndex,
        pageOffset: a.pageOffset,
        prot: protText(a.iommuProt),
        numAccesses: a.numAccesses,
        preventAccess: a.preventAccess,
        storageDomain: a.storageDomain ? (this.hwptOfDomain.get(a.storageDomain) ?? -1) : -1,
      });
    }
    const { allowed, reserved } = this.insp.ioasRanges(iopt, this.fresh);
    return {
      ctx: ci,
      id,
      iovaAlignment: iopt.iovaAlignment,
      disableLargePages: iopt.disableLargePages,
      areas,
      allowed,
      reserved,
      domains: iopt.domains.map((d) => this.hwptOfDomain.get(d) ?? -1),
      accesses: accessIds,
    };
  }

  private domainSnap(ci: number, id: number, h: HwptPaging): DomainSnap {
    const d: IommuDomain = h.domain!;
    const pgsizes = pow2Bits(d.pgsizeBitmap);
    let runs: DomainRun[] = [];
    if (this.detail) {
      const walk = this.insp.domainWalk(d, this.fresh ? h.ioas.iopt.areas() : ioptAreas(h.ioas.iopt), this.fresh);
      runs = walk.runs;
      // (A domain met twice, by a broken model: either walk reads it as it is.)
      if (!this.walks.has(d)) this.walks.set(d, walk);
    }
    let walked = 0;
    for (const r of runs) walked += r.length;
    return {
      ctx: ci,
      hwpt: id,
      ioas: h.ioas.id,
      driver: d instanceof MockDomain ? (d instanceof MockAmdv1Domain ? 'mock-amdv1' : 'mock') + (d.huge ? '-huge' : '') : d.constructor.name,
      pgsizes,
      apertureStart: d.apertureStart,
      apertureEnd: d.apertureEnd,
      devices: [...h.devices].map((x) => x.id).sort((a, b) => a - b),
      autoDomain: h.autoDomain,
      nestParent: h.nestParent,
      dirtyOps: d.dirtyOps !== undefined,
      mapCalls: d.mapCalls,
      unmapCalls: d.unmapCalls,
      mappedBytes: d.mappedBytes(),
      strayBytes: this.detail ? d.mappedBytes() - walked : 0,
      runs,
    };
  }

  private pagesSnap(p: IoptPages, i: number): PagesSnap {
    const doms = new Set<IommuDomain>();
    const dt = p.domainsItree;
    for (let n = dt.first(); n !== undefined; n = dt.next(n)) for (const d of n.owner.iopt?.domains ?? []) doms.add(d);
    const accessRanges: PagesSnap['accessRanges'] = [];
    const at = p.accessItree;
    for (let n = at.first(); n !== undefined; n = at.next(n)) accessRanges.push({ first: n.start, last: n.last, users: n.owner.users });
    let tiers: TierRun[] = [];
    let pfns: PfnRun[] = [];
    if (this.detail && p.npages > DETAIL_PAGES) {
      const sparse = pagesTiersSparse(p);
      tiers = sparse.tiers;
      if (this.wantFrames) this.pfnArrays[i] = sparse.held;
      pfns = sparse.pfns;
    } else if (this.detail) {
      const { tiers: t, pfn, runs } = this.insp.pagesDetail(p, this.walks, this.fresh, this.sourcePfns);
      tiers = t;
      if (this.wantFrames) this.pfnArrays[i] = pfn;
      pfns = runs;
      if (this.pfnsOut && pfns.length > 0) this.pfnsOut.set(this.insp.pagesKey(p), perPage(pfn));
    }
    return {
      key: this.insp.pagesKey(p),
      source: pagesSource(p),
      uptr: u64(p.uptr),
      ...pagesOrigin(p),
      npages: p.npages,
      writable: p.writable,
      account: accountName(p.accountMode),
      npinned: p.npinned,
      charged: p.lastNpinned,
      sourcePid: p.sourceTask.pid,
      sourceUid: p.sourceTask.uid,
      areas: this.pagesAreas.get(p) ?? [],
      xarrayEntries: p.pinnedPfns.count(),
      domains: doms.size,
      accessRanges,
      tiers,
      pfns,
    };
  }

  /** The frames behind every pages object, with their counts, as runs. */
  private frames(): FrameRun[] {
    let total = 0;
    for (const a of this.pfnArrays) if (a) total += a.length;
    const all = new Float64Array(total);
    let k = 0;
    for (const a of this.pfnArrays) {
      if (!a) continue;
      for (let i = 0; i < a.length; i++) if (a[i] >= 0) all[k++] = a[i];
    }
    const pf = all.subarray(0, k).sort();
    const phys = this.m.phys;
    const out: FrameRun[] = [];
    let cur: FrameRun | undefined;
    for (let i = 0; i < pf.length; i++) {
      const pfn = pf[i];
      if (i > 0 && pf[i - 1] === pfn) continue;
      const ref = phys.refcount(pfn);
      const pin = phys.pincount(pfn);
      if (cur && cur.pfn + cur.n === pfn && cur.ref === ref && cur.pin === pin) cur.n++;
      else {
        cur = { pfn, n: 1, ref, pin };
        out.push(cur);
      }
    }
    return out;
  }

  private processSnaps(): ProcessSnap[] {
    const acct = this.acctIndexes();
    return this.procs.map((p) => {
      const fds: FdSnap[] = [];
      for (const fd of p.openFds()) {
        const f = p.fileOf(fd);
        const c = contextOfFile(f);
        // an open descriptor fget() does not return is an O_PATH one
        const s: FdSnap = { fd, kind: f === undefined ? 'path' : fileKind(f) };
        if (c) s.ctx = this.insp.ctxKey(c);
        if (f instanceof IommufdFileHandle && f.inner instanceof StaccessFile && f.inner.access) s.access = f.inner.access.id;
        fds.push(s);
      }
      return {
        pid: p.pid,
        ppid: p.ppid,
        uid: p.task.uid,
        caps: [...p.task.caps].sort(),
        rlimitMemlock: u64(p.task.rlimitMemlock),
        mm: acct.mms.indexOf(p.task.mm),
        memcg: acct.memcgs.indexOf(p.task.memcg),
        fds,
      };
    });
  }

  /** accountingIndexes(), made once per snapshot. */
  private acctIndexes(): { mms: MmStruct[]; memcgs: MemCgroup[] } {
    this.acctMemo ??= this.accountingIndexes();
    return this.acctMemo;
  }

  private acctMemo: { mms: MmStruct[]; memcgs: MemCgroup[] } | undefined;

  private accountingIndexes(): { mms: MmStruct[]; memcgs: MemCgroup[] } {
    const mms: MmStruct[] = [];
    const memcgs: MemCgroup[] = [];
    for (const p of this.procs) {
      if (!mms.includes(p.task.mm)) mms.push(p.task.mm);
      if (!memcgs.includes(p.task.memcg)) memcgs.push(p.task.memcg);
    }
    return { mms, memcgs };
  }

  /** The pids of the processes shown using `mm` (methods, not closures made per snapshot). */
  private pidsOfMm(mm: MmStruct): number[] {
    const out: number[] = [];
    for (const p of this.procs) if (p.task.mm === mm) out.push(p.pid);
    return out;
  }

  private pidsOfMemcg(g: MemCgroup): number[] {
    const out: number[] = [];
    for (const p of this.procs) if (p.task.memcg === g) out.push(p.pid);
    return out;
  }

  /** The users by uid (sorted as a stable sort of the map's order would leave them). */
  private userSnaps(): Accounting['users'] {
    const out: Accounting['users'] = [];
    for (const u of this.m.users.values()) out.push({ uid: u.uid, lockedVm: u.lockedVm, processes: u.processes });
    return out.sort(byUid);
  }

  private accounting(): Accounting {
    const { mms, memcgs } = this.acctIndexes();
    return {
      users: this.userSnaps(),
      mms: mms.map((mm) => ({ key: this.insp.acctKey(mm), pids: this.pidsOfMm(mm), lockedVm: mm.lockedVm, pinnedVm: mm.pinnedVm })),
      memcgs: memcgs.map((g) => ({
        key: this.insp.acctKey(g),
        name: g.name,
        pids: this.pidsOfMemcg(g),
        usage: g.usage,
        limit: Number.isFinite(g.limit) ? g.limit : null,
        peak: g.peak,
        failcnt: g.failcnt,
      })),
    };
  }
}

function byUid(a: { uid: number }, b: { uid: number }): number {
  return a.uid - b.uid;
}

/**
 * The objects `obj` points at, found by looking at its own fields: every
 * field holding a live object of the same context is a link named after the
 * field (`ioas`, `parent`, `idev`, `fault`, ...), so object types added later
 * show their links without a change here.
 */
function objectLinks(ctx: IommufdCtx, obj: object): Record<string, number> {
  const links: Record<string, number> = {};
  const fields = obj as Record<string, unknown>;
  // Only iommufd objects are keys of the table, so a field the table knows is one (no pairs allocated per field).
  for (const k of Object.keys(fields)) {
    const v = fields[k];
    if (k === 'ctx' || typeof v !== 'object' || v === null) continue;
    const id = ctx.objects.idOf(v as IommufdObject);
    if (id > 0 && ctx.objects.isLive(v as IommufdObject)) links[k] = id;
  }
  return links;
}

function fileKind(f: unknown): string {
  if (f instanceof IommufdOpenFile) return 'iommufd';
  if (f instanceof IommufdFileHandle) return f.inner instanceof StaccessFile ? 'access' : f.inner.kind;
  return typeof f === 'object' && f !== null ? f.constructor.name : '?';
}

const PAGE_N = BigInt(PAGE_SIZE);
const TIER_X = 1;
const TIER_D = 2;

/** The pages object's iopt_address_type as a name. */
function pagesSource(p: IoptPages): PagesSource {
  return p.type === IOPT_ADDRESS_FILE ? 'file' : p.type === IOPT_ADDRESS_DMABUF ? 'dmabuf' : 'user';
}

/** What file or dma-buf range a non-user pages object covers. */
function pagesOrigin(p: IoptPages): Pick<PagesSnap, 'file' | 'dmabuf'> {
  if (p.type === IOPT_ADDRESS_FILE) {
    const f = p.file;
    return { file: { name: f?.name ?? '', kind: f?.kind ?? 'other', start: u64(p.fileStart), size: u64(f?.size ?? 0n) } };
  }
  const db = p.dmabuf;
  if (p.type === IOPT_ADDRESS_DMABUF && db !== undefined) {
    return { dmabuf: { start: db.start, paddr: db.phys.paddr, length: db.phys.len, revoked: dmabufRevoked(p), tracked: db.tracker.length } };
  }
  return {};
}

/**
 * The PFN page `i` of `p` would come from now, for a page no tier holds: the
 * user's PTE, the memfd's page cache (nothing is allocated to look), or the
 * dma-buf exporter's range (-1 once revoked).
 */
export function sourcePfn(p: IoptPages, i: number): number {
  if (p.type === IOPT_ADDRESS_USER) return p.sourceMm.lookupPagePfn(firstVpn(p) + i);
  if (p.type === IOPT_ADDRESS_FILE) {
    const f = p.file;
    if (f === undefined) return -1;
    const page = Number(p.fileStart / BigInt(PAGE_SIZE)) + i;
    const fp = f.folioPages;
    const head = f.lookup(Math.floor(page / fp));
    return head < 0 ? -1 : head + (page % fp);
  }
  const db = p.dmabuf;
  if (db === undefined || db.phys.len === 0) return -1;
  const off = db.start + i * PAGE_SIZE;
  return off < db.phys.len ? Math.floor((db.phys.paddr + off) / PAGE_SIZE) : -1;
}

/** The user page number of page 0 of the last pages object asked (callers ask page after page of one). */
let vpnPages: IoptPages | undefined;
let vpnFirst = 0;

/** The user page number of page 0 of a user pages object (its uptr is below 2^64, so the page number below 2^52). */
function firstVpn(p: IoptPages): number {
  if (p !== vpnPages) {
    vpnFirst = Number(p.uptr / PAGE_N);
    vpnPages = p;
  }
  return vpnFirst;
}

/** Per-page work arrays of pagesTiers() for pages objects up to SCRATCH_PAGES pages, kept between calls (only `pfn` leaves it). */
const SCRATCH_PAGES = 1 << 14;
const scratchMask = new Uint8Array(SCRATCH_PAGES);
const scratchUsers = new Int32Array(SCRATCH_PAGES);
const scratchPhys = new Float64Array(SCRATCH_PAGES);

/**
 * The storage of every page of `p` and its PFN: the xarray's entry, else the
 * PFN in the domain holding the area over it, else what the user's page table
 * maps there now (-1: nothing). `source` false: -1 where no tier holds the
 * page, and the PFN array ends after the last page one holds (pagesTiersHeld()).
 */
export function pagesTiers(p: IoptPages, walks?: ReadonlyMap<IommuDomain, DomainWalk>, source = true): { tiers: TierRun[]; pfn: Float64Array } {
  if (!source) return pagesTiersHeld(p, walks);
  const n = p.npages;
  const small = n <= SCRATCH_PAGES;
  const mask = small ? scratchMask.subarray(0, n).fill(0) : new Uint8Array(n);
  const users = small ? scratchUsers.subarray(0, n).fill(0) : new Int32Array(n);
  const pfn = new Float64Array(n).fill(-1);
  const at = p.accessItree;
  for (let node = at.first(); node !== undefined; node = at.next(node)) {
    const u = node.owner.users;
    for (let i = node.start; i <= node.last && i < n; i++) users[i] += u;
  }
  let phys: Float64Array | undefined;
  const dt = p.domainsItree;
  for (let node = dt.first(); node !== undefined; node = dt.next(node)) {
    const area = node.owner;
    const dom = area.storageDomain ?? area.iopt?.domains[0];
    const last = Math.min(node.last, n - 1);
    for (let i = node.start; i <= last; i++) mask[i] |= TIER_D;
    if (!dom || node.start > last) continue;
    // What the domain holds there, as peekPhys() reads it (from its runs in this snapshot where they cover it).
    phys ??= small ? scratchPhys : new Float64Array(n);
    physOfPages(dom, area, node.start, last, walks?.get(dom), phys);
    for (let i = node.start; i <= last; i++) if (phys[i] >= 0) pfn[i] = Math.floor(phys[i] / PAGE_SIZE);
  }
  p.pinnedPfns.forEachInRange(0, n - 1, (i, v) => {
    mask[i] |= TIER_X;
    pfn[i] = v;
    return true;
  });
  // The pages no tier holds: what the source maps there now (left -1 without `source`).
  if (source && p.type === IOPT_ADDRESS_USER) p.sourceMm.lookupPagePfns(firstVpn(p), n, pfn, mask);
  else if (source) for (let i = 0; i < n; i++) if (mask[i] === 0) pfn[i] = sourcePfn(p, i);
  const tiers: TierRun[] = [];
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i === n || mask[i] !== mask[start] || users[i] !== users[start]) {
      tiers.push({ first: start, last: i - 1, xarray: (mask[start] & TIER_X) !== 0, domain: (mask[start] & TIER_D) !== 0, accessUsers: users[start] });
      start = i;
    }
  }
  return { tiers, pfn };
}

/** pagesTiers() with its PFN runs (pfnRuns() of its `pfn`). */
export function pagesTiersRuns(p: IoptPages, walks: ReadonlyMap<IommuDomain, DomainWalk> | undefined, source: boolean): { tiers: TierRun[]; pfn: Float64Array; runs: PfnRun[] } {
  if (source) {
    const { tiers, pfn } = pagesTiers(p, walks, true);
    return { tiers, pfn, runs: pfnRuns(pfn) };
  }
  const { tiers, pfn } = pagesTiersHeld(p, walks);
  return { tiers, pfn, runs: heldPfnRuns(pfn, tiers) };
}

/** Scratch of pagesTiersHeld(): positions and kinds of the tree and xarray edges. */
let edgePos = new Float64Array(64);
let edgeOrder = new Uint32Array(64);

/**
 * pagesTiers() without the source (`source` false): the tiers found from the
 * edges of the access and domain trees' nodes and of the xarray's runs, and
 * PFNs read only where a tier holds the page, so a pages object far larger
 * than what it holds costs what it holds (and one fill of its PFN array).
 */
function pagesTiersHeld(p: IoptPages, walks: ReadonlyMap<IommuDomain, DomainWalk> | undefined): { tiers: TierRun[]; pfn: Float64Array } {
  const n = p.npages;
  // The PFN array ends after the last page held (the domain tree's last node or the xarray's last entry).
  let end = p.pinnedPfns.lastPresent(n - 1) + 1;
  for (let node = p.domainsItree.first(); node !== undefined; node = p.domainsItree.next(node)) end = Math.max(end, Math.min(node.last, n - 1) + 1);
  const pfn = new Float64Array(end).fill(-1);
  // Edges: (position, delta of the access users / domain nodes / xarray runs covering from there on).
  const kinds: number[] = [];
  const deltas: number[] = [];
  let m = 0;
  const edge = (pos: number, kind: number, delta: number): void => {
    if (m === edgePos.length) {
      const pos2 = new Float64Array(m * 2);
      pos2.set(edgePos);
      edgePos = pos2;
      edgeOrder = new Uint32Array(m * 2);
    }
    edgePos[m++] = pos;
    kinds.push(kind);
    deltas.push(delta);
  };
  const at = p.accessItree;
  for (let node = at.first(); node !== undefined; node = at.next(node)) {
    if (node.start >= n || node.start > node.last) continue;
    edge(node.start, 0, node.owner.users);
    edge(Math.min(node.last, n - 1) + 1, 0, -node.owner.users);
  }
  const dt = p.domainsItree;
  for (let node = dt.first(); node !== undefined; node = dt.next(node)) {
    const last = Math.min(node.last, n - 1);
    if (node.start > last) continue;
    edge(node.start, 1, 1);
    edge(last + 1, 1, -1);
    const area = node.owner;
    const dom = area.storageDomain ?? area.iopt?.domains[0];
    if (!dom) continue;
    // What the domain holds there, as peekPhys() reads it (from its runs in this snapshot where they cover it).
    physOfPages(dom, area, node.start, last, walks?.get(dom), pfn);
    for (let i = node.start; i <= last; i++) pfn[i] = pfn[i] >= 0 ? Math.floor(pfn[i] / PAGE_SIZE) : -1;
  }
  let runFirst = -1;
  let runNext = -1;
  p.pinnedPfns.forEachInRange(0, n - 1, (i, v) => {
    pfn[i] = v;
    if (i !== runNext) {
      if (runFirst >= 0) {
        edge(runFirst, 2, 1);
        edge(runNext, 2, -1);
      }
      runFirst = i;
    }
    runNext = i + 1;
    return true;
  });
  if (runFirst >= 0) {
    edge(runFirst, 2, 1);
    edge(runNext, 2, -1);
  }
  const order = edgeOrder.subarray(0, m);
  for (let k = 0; k < m; k++) order[k] = k;
  order.sort((a, b) => edgePos[a] - edgePos[b]);
  const tiers: TierRun[] = [];
  let users = 0;
  let doms = 0;
  let xa = 0;
  let start = 0;
  let k = 0;
  while (start < n) {
    while (k < m && edgePos[order[k]] <= start) {
      const e = order[k++];
      if (kinds[e] === 0) users += deltas[e];
      else if (kinds[e] === 1) doms += deltas[e];
      else xa += deltas[e];
    }
    const end = k < m ? Math.min(edgePos[order[k]], n) : n;
    const prev = tiers[tiers.length - 1];
    const xarray = xa > 0;
    const domain = doms > 0;
    if (prev !== undefined && prev.xarray === xarray && prev.domain === domain && prev.accessUsers === users) prev.last = end - 1;
    else tiers.push({ first: start, last: end - 1, xarray, domain, accessUsers: users });
    start = end;
  }
  // (its PFNs are -1 or PFNs: what perPage() would hand over)
  perPageMemo.set(pfn, pfn);
  return { tiers, pfn };
}

/** pfnRuns(pfn) of pagesTiersHeld()'s PFNs: a tier no one holds is -1 throughout, one run read without a look. */
function heldPfnRuns(pfn: Float64Array, tiers: readonly TierRun[]): PfnRun[] {
  const out: PfnRun[] = [];
  let cur: PfnRun | undefined;
  for (const t of tiers) {
    if (!t.xarray && !t.domain) {
      const len = t.last - t.first + 1;
      if (cur !== undefined && cur.pfn < 0) cur.n += len;
      else {
        cur = { index: t.first, pfn: -1, n: len };
        out.push(cur);
      }
      continue;
    }
    appendPfnRuns(pfn, t.first, t.last + 1, out);
    cur = out[out.length - 1];
  }
  return out;
}

/**
 * Above this many pages a pages object is described by ranges instead of page
 * by page: IOAS_MAP of a huge range with no domain attached is legal (the
 * kernel pins nothing until a domain or access needs it), and a snapshot must
 * stay bounded by what is held, not by what was mapped.
 */
export const DETAIL_PAGES = 1 << 22;

/**
 * pagesTiers() for a pages object above DETAIL_PAGES: the tiers from the
 * access and domain trees and the pinned xarray, and PFNs only where the
 * xarray or a domain holds one; a page that only the user's page table maps
 * is not looked up (-1). `held` lists the held PFNs (for the frames table).
 */
export function pagesTiersSparse(p: IoptPages): { tiers: TierRun[]; pfns: PfnRun[]; held: Float64Array } {
  const n = p.npages;
  const pfnAt = new Map<number, number>();
  const xa = new Set<number>();
  const bounds = new Set<number>([0, n]);
  const cut = (first: number, last: number): void => {
    bounds.add(Math.min(first, n));
    bounds.add(Math.min(last + 1, n));
  };
  for (const node of p.accessItree) cut(node.start, node.last);
  for (const node of p.domainsItree) {
    cut(node.start, node.last);
    const area = node.owner;
    const dom = area.storageDomain ?? area.iopt?.domains[0];
    if (!dom) continue;
    for (let i = node.start; i <= node.last && i < n; i++) {
      const phys = dom.peekPhys(areaIndexToIova(area, i));
      if (phys >= 0) pfnAt.set(i, Math.floor(phys / PAGE_SIZE));
    }
  }
  p.pinnedPfns.forEachInRange(0, n - 1, (i, v) => {
    xa.add(i);
    pfnAt.set(i, v);
    cut(i, i);
    return true;
  });
  const edges = [...bounds].sort((a, b) => a - b);
  const tiers: TierRun[] = [];
  for (let k = 0; k + 1 < edges.length; k++) {
    const first = edges[k];
    const last = edges[k + 1] - 1;
    let users = 0;
    let domain = false;
    for (const node of p.accessItree) if (node.start <= first && first <= node.last) users += node.owner.users;
    for (const node of p.domainsItree) if (node.start <= first && first <= node.last) domain = true;
    const xarray = xa.has(first);
    const prev = tiers[tiers.length - 1];
    if (prev && prev.last + 1 === first && prev.xarray === xarray && prev.domain === domain && prev.accessUsers === users) prev.last = last;
    else tiers.push({ first, last, xarray, domain, accessUsers: users });
  }
  const idx = [...pfnAt.keys()].sort((a, b) => a - b);
  const pfns: PfnRun[] = [];
  let next = 0;
  let cur: PfnRun | undefined;
  for (const i of idx) {
    const v = pfnAt.get(i)!;
    if (i > next) {
      pfns.push({ index: next, pfn: -1, n: i - next });
      cur = undefined;
    }
    if (cur && cur.index + cur.n === i && cur.pfn + cur.n === v) cur.n++;
    else {
      cur = { index: i, pfn: v, n: 1 };
      pfns.push(cur);
    }
    next = i + 1;
  }
  if (next < n) pfns.push({ index: next, pfn: -1, n: n - next });
  return { tiers, pfns, held: Float64Array.from(idx, (i) => pfnAt.get(i)!) };
}

/** `pfn` as pfnRuns() describes it: -1 where it holds no PFN (NaN or negative); the array itself when it already is. */
function perPage(pfn: Float64Array): Float64Array {
  // The memo hands the same PFN array back while its pages object is unchanged: so is this.
  const m = perPageMemo.get(pfn);
  if (m !== undefined) return m;
  const out = perPageOf(pfn);
  perPageMemo.set(pfn, out);
  return out;
}

const perPageMemo = new WeakMap<Float64Array, Float64Array>();

function perPageOf(pfn: Float64Array): Float64Array {
  for (let i = 0; i < pfn.length; i++) {
    const v = pfn[i];
    if (!(v >= 0) && v !== -1) return pfn.map((x) => (x >= 0 ? x : -1));
  }
  return pfn;
}

/** Maximal runs of consecutive indexes with consecutive PFNs (and runs of -1). */
export function pfnRuns(pfn: Float64Array): PfnRun[] {
  return appendPfnRuns(pfn, 0, pfn.length, []);
}

/** pfnRuns() of `pfn` from `first` to before `end`, appended to `out` (its last run continued where it can be). */
function appendPfnRuns(pfn: Float64Array, first: number, end: number, out: PfnRun[]): PfnRun[] {
  let cur: PfnRun | undefined = out[out.length - 1];
  for (let i = first; i < end; i++) {
    const v = pfn[i];
    if (cur && (v < 0 ? cur.pfn < 0 : cur.pfn >= 0 && cur.pfn + cur.n === v)) cur.n++;
    else {
      cur = { index: i, pfn: v < 0 ? -1 : v, n: 1 };
      out.push(cur);
    }
  }
  return out;
}

/** The IOPTE size of the entry at `iova` of `d`. */
function iopteSize(d: IommuDomain, iova: number, min: number): number {
  if (d instanceof MockAmdv1Domain) return d.pt.leafAt(iova)?.size ?? min;
  if (d instanceof MockDomain && d.huge) return d.entryAt(iova)?.huge ? MOCK_HUGE_PAGE_SIZE : min;
  return min;
}

/**
 * The dirty IOPTEs of `d` over the areas' IOVA, as sorted [start, end) pairs:
 * read as IOMMU_DIRTY_NO_CLEAR reads them (peekDirty(): nothing written, no
 * WARN). Empty when the domain has no dirty ops or the read is refused
 * (the xarray mock with tracking off).
 */
function dirtyRanges(d: IommuDomain, areas: readonly IoptArea[]): number[] {
  const out: number[] = [];
  if (!d.dirtyOps) return out;
  const record = (iova: number, length: number): void => {
    out.push(iova, iova + length);
  };
  for (const a of areas) {
    const first = Math.max(a.iovaNum, d.apertureStart);
    const last = Math.min(a.lastIovaNum, d.apertureEnd);
    if (last < first) continue;
    if (d.peekDirty(first, last - first + 1, record) !== 0) return [];
  }
  return out;
}

/**
 * What `d` maps over the IOVA of `areas`, as runs of physically contiguous
 * entries with one IOPTE size and dirty state, in IOVA order: the steps of
 * the smallest page size over each area (in the aperture), each read as
 * peekPhys() reads it. Steps that must read the same as the one before
 * (inside one AMDv1 table item of 1 MiB or more, one dirty state, one leaf
 * of the size cache) are taken together.
 */
export function domainRuns(d: IommuDomain, areas: readonly IoptArea[], walked?: DomainWalk): DomainRun[] {
  const step = d.minPageSize;
  const dirty = dirtyRanges(d, areas);
  let dj = 0;
  const out: DomainRun[] = [];
  let cur: DomainRun | undefined;
  // The AMDv1 leaf last looked up: every IOVA inside it has the same leaf, so its size is not looked up again.
  const pt = d instanceof MockAmdv1Domain ? d.pt : undefined;
  let leafStart = 0;
  let leafEnd = -1;
  let leafSize = step;
  const span = new Float64Array(2);
  // peekPhys() is the table's lookup(): its leaf is read in the same walk
  const lt = d instanceof MockAmdv1Domain ? d.lookupTable : undefined;
  for (const a of areas) {
    const first = Math.max(Math.floor(a.iovaNum / step) * step, d.apertureStart);
    const last = Math.min(a.lastIovaNum, d.apertureEnd);
    // The runs this area's steps fall in: those it starts, and the one before when its first step extends that.
    const r0 = out.length;
    let extended = false;
    for (let iova = first; iova <= last; ) {
      // Inside the cached leaf only lookup() is needed; else lookup() and leafSpanAt() in one walk.
      const inLeaf = iova >= leafStart && iova < leafEnd;
      const phys = lt === undefined ? d.peekPhys(iova) : inLeaf ? lt.lookup(iova) : lt.lookupLeaf(iova, span);
      if (phys < 0) {
        cur = undefined;
        iova += step;
        continue;
      }
      // The IOVA below which every step reads as this one (as far as known; at least one step).
      let end = iova + step;
      let pgsize: number;
      if (pt === undefined) pgsize = iopteSize(d, iova, step);
      else if (inLeaf) {
        // The cached leaf: the steps below its end read their size from it.
        pgsize = leafSize;
        end = Math.min(leafEnd, lt === undefined ? itemEnd(pt, iova, phys, leafSize, step) : Math.max(itemEnd(pt, iova, phys, leafSize, step), lt.readsOnTo(iova, phys, step, leafEnd)));
      } else if (lt !== undefined || pt.leafSpanAt(iova, span)) {
        leafStart = span[0];
        leafSize = span[1];
        leafEnd = leafStart + leafSize;
        pgsize = leafSize;
        if (iova >= leafStart && iova < leafEnd) end = Math.min(leafEnd, lt === undefined ? itemEnd(pt, iova, phys, leafSize, step) : Math.max(itemEnd(pt, iova, phys, leafSize, step), lt.readsOnTo(iova, phys, step, leafEnd)));
      } else pgsize = step;
      while (dj < dirty.length && dirty[dj + 1] <= iova) dj += 2;
      const dt = dj < dirty.length && dirty[dj] <= iova;
      // The next step whose dirty state the pointer could read otherwise.
      if (dj < dirty.length) end = Math.min(end, dt ? dirty[dj + 1] : Math.min(dirty[dj], dirty[dj + 1]));
      // Steps iova, iova + step, ... below `end` and up to `last`.
      const n = Math.max(1, Math.min(Math.ceil((end - iova) / step), Math.floor((last - iova) / step) + 1));
      if (cur && cur.iova + cur.length === iova && cur.paddr + cur.length === phys && cur.pgsize === pgsize && cur.dirty === dt) {
        cur.length += n * step;
        if (iova === first) extended = true;
      } else {
        cur = { iova, length: n * step, paddr: phys, pgsize, dirty: dt };
        out.push(cur);
      }
      iova += n * step;
    }
    walked?.areas.set(a, { first, last, r0: extended ? r0 - 1 : r0, r1: out.length });
  }
  if (walked) walked.runs = out;
  return out;
}

/** What domainRuns() walked: the runs, and per area its steps (first, last) and the runs [r0, r1) they fall in. */
export interface DomainWalk {
  runs: DomainRun[];
  areas: Map<IoptArea, { first: number; last: number; r0: number; r1: number }>;
}

/**
 * peekPhys() of `d` at the IOVAs of pages first..last of `area`, ascending,
 * into out[first..last]: read from the runs of `walk` where the IOVA is one
 * of the steps it took over the area (the run holding it; none: a negative
 * read, -1), else from the domain.
 */
function physOfPages(d: IommuDomain, area: IoptArea, first: number, last: number, walk: DomainWalk | undefined, out: Float64Array): void {
  const w = walk?.areas.get(area);
  const runs = walk?.runs;
  // a power of two (the smallest of the domain's page sizes)
  const stepLg2 = Math.log2(d.minPageSize);
  let j = w ? w.r0 : 0;
  for (let i = first; i <= last; i++) {
    const x = areaIndexToIova(area, i);
    let phys: number;
    if (w !== undefined && runs !== undefined && x >= w.first && x <= w.last && modLg2(x - w.first, stepLg2) === 0) {
      while (j < w.r1 && runs[j].iova + runs[j].length <= x) j++;
      phys = j < w.r1 && runs[j].iova <= x ? runs[j].paddr + (x - runs[j].iova) : -1;
    } else phys = d.peekPhys(x);
    out[i] = phys;
  }
}

const LEVEL1_ITEM = pow2(itemLg2(1));

/**
 * The end of the AMDv1 table item holding `iova` when it is of a level above
 * 0 and reads `phys` there: the walk to it (pteAt) meets tables down to that
 * level and an output entry there, so lookup() of any IOVA in the item
 * reads the same words and gives `phys` plus the distance (the leaf is at
 * least one item and aligned). Else the next step: nothing is assumed.
 */
function itemEnd(pt: MockAmdv1Domain['pt'], iova: number, phys: number, leafSize: number, step: number): number {
  // A leaf below one level-1 item is made of level-0 items: one step each (the common 4 KiB pair).
  if (leafSize < LEVEL1_ITEM) return iova + step;
  const level = levelOfPgsize(Math.log2(leafSize));
  if (!(level >= 1 && level < pt.topLevel)) return iova + step;
  const item = pow2(itemLg2(level));
  if (item <= step) return iova + step;
  const w = pt.pteAt(iova, level);
  if (w === undefined || entryType(w[0], level) !== ENTRY_OA) return iova + step;
  const start = Math.floor(iova / item) * item;
  const sz = pow2(leafLg2(w[0], w[1], level));
  if (sz < item || leafOa(w[0], w[1], level) + modLg2(iova, leafLg2(w[0], w[1], level)) !== phys) return iova + step;
  return start + item;
}
