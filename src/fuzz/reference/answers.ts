// SPDX-License-Identifier: GPL-2.0-only
/**
 * Answer oracles: a reference of what the uAPI means, checked after every
 * call, so a wrong answer that leaves every invariant intact is a finding.
 *
 * The reference follows the program's own successful calls (IOAS_MAP adds
 * the IOVA range and the user address it maps, IOAS_MAP_FILE the file offset
 * of a memfd or the byte offset of a dma-buf, IOAS_COPY the source's
 * addresses for the copied range, IOAS_UNMAP removes what it reports,
 * IOAS_CHANGE_PROCESS moves every mapping's source process to the caller,
 * DMABUF_REVOKE revokes every mapping of the dma-buf, HW_QUEUE_ALLOC locks an
 * IOVA range of the vIOMMU's nesting parent) and reads the machine through
 * inspect/ (and the user page tables and memfd page caches, as
 * /proc/pid/pagemap would). After each call it checks:
 *
 * - `ORACLE unmap_length`: IOAS_UNMAP reports the bytes of the areas it removed;
 * - `ORACLE areas`: each IOAS maps exactly the reference's ranges, each to
 *   the user address, memfd offset or dma-buf offset and the process the
 *   reference says; a failed call changes nothing;
 * - `ORACLE unmap_locked`: IOAS_UNMAP never removes an area a HW queue has
 *   locked (iopt_unmap_iova_range(): EBUSY at the first one, the areas before
 *   it removed), and answers EBUSY only at one;
 * - `ORACLE pin_pfn`: a page pinned in a call holds what its user address
 *   (or its memfd's page cache at its offset) resolved to at the end of that
 *   call, and keeps it while pinned;
 * - `ORACLE domain_pfn` / `ORACLE domain_map`: every domain (auto or
 *   IOMMU_HWPT_ALLOC paging) maps every page of every area of its IOAS, to
 *   the PFN pinned for it (so IOAS_COPY maps exactly the source's PFNs), a
 *   dma-buf area to the exporter's memory at its offset while not revoked and
 *   to nothing once revoked, and nothing else;
 * - `ORACLE dmabuf`: a dma-buf mapping pins and charges nothing, and every
 *   mapping of one dma-buf sees the same exporter memory;
 * - `ORACLE npinned` / `ORACLE accounting`: npinned counts the pinned pages;
 *   the charge equals it; each user's locked_vm and each mm's pinned_vm are
 *   the sums of the charges of the pages they source (by mode), an mm's
 *   locked_vm at least its mm-mode charges (mlock adds to it);
 * - `ORACLE errno`: IOAS_MAP refused with ENOMEM though the charge fits
 *   RLIMIT_MEMLOCK exactly (incr_user_locked_vm() fails only above the
 *   limit), MOCK_DOMAIN likewise when it pins an IOAS's pages first, or
 *   IOAS_MAP / IOAS_MAP_FILE with EEXIST though the fixed range touches no
 *   area and no reserved range (iopt_alloc_area()/iopt_check_iova());
 *   IOAS_CHANGE_PROCESS succeeding while some IOAS of the context maps
 *   something other than a file (iommufd_ioas_change_process());
 *   IOAS_MAP_FILE of a shmem memfd refused with ENOMEM though the charge
 *   fits, as IOAS_MAP; IOAS_MAP_FILE of a dma-buf
 *   succeeding while its exporter has it revoked, or ENODEV while it never
 *   was (iopt_map_dmabuf()).
 */
import { KeptBytes } from '../../base/kept-bytes.js';
import { modPow2 } from '../../base/pow2.js';
import { joined } from '../../base/joined.js';
import { sameValues } from '../../base/same-values.js';
import { DETAIL_PAGES, Inspector, contextsOf } from '../../inspect/snapshot.js';
import { ioptAreas } from '../../iommufd/audit.js';
import { HwptPaging } from '../../iommufd/hw-pagetable.js';
import { IommufdIoas } from '../../iommufd/ioas.js';
import type { DomainSnap, IoasSnap, MachineSnapshot, PagesSnap, ReservedSnap } from '../../inspect/types.js';
import { IommufdFileHandle } from '../../machine/iommufd-node.js';
import type { Machine } from '../../machine/machine.js';
import type { MemFile } from '../../mm/memfile.js';
import type { CallResult } from '../executor.js';

const PAGE = 4096;
const U64_MAX = (1n << 64n) - 1n;
/** IOMMU_IOAS_MAP_FIXED_IOVA, _WRITEABLE, _READABLE */
const FIXED_IOVA = 1;
const MAP_WRITEABLE = 2;
const MAP_READABLE = 4;
/** IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_HUGE_PAGES, and the SET / GET ops. */
const OPTION_RLIMIT_MODE = 0;
const OPTION_HUGE_PAGES = 1;
const OPTION_SET = 0;
const OPTION_GET = 1;
/** MOCK_ACCESS_RW_WRITE / MOCK_FLAGS_ACCESS_WRITE, and MOCK_FLAGS_ACCESS_SYZ (the IOVA is an area number). */
const ACCESS_WRITE = 1;
const ACCESS_SYZ = 1 << 16;

/** conv_iommu_prot() as the snapshot writes it. */
function protOf(flags: number): string {
  return `${flags & MAP_READABLE ? 'r' : '-'}${flags & MAP_WRITEABLE ? 'w' : '-'}`;
}

/** Where a mapped range's bytes come from (iopt_address_type). */
type SourceKind = 'user' | 'file' | 'dmabuf';

/**
 * One range the reference says an IOAS maps: [iova, last] → byte `at` of its
 * source: a user address of process `pid` ('user'), a file offset of the
 * memfd `obj` ('file'), a byte offset of the dma-buf `obj` ('dmabuf'). `pid`
 * is the process the pages are charged to (IOAS_CHANGE_PROCESS moves it).
 */
interface RefArea {
  iova: bigint;
  last: bigint;
  kind: SourceKind;
  at: bigint;
  /** The MemFile ('file') or the dma-buf file ('dmabuf'): compared by identity. */
  obj?: object;
  pid: number;
  /** The IOMMU protection the MAP/COPY flags asked ('rw', 'r-', '-w', '--'). */
  prot: string;
  /** 'dmabuf': revoked since it was mapped (iopt_revoke_notify(): its pages stay revoked for good). */
  revoked?: boolean;
}

/** An IOVA range a HW queue's internal access holds locked (iopt_area_add_access() with lock_area). */
interface RefLock {
  /** `${ctx}:${ioas}` of the vIOMMU's nesting parent. */
  ioas: string;
  first: bigint;
  last: bigint;
}

/** The two copies an ACCESS_RW judgement compares (it judges up to 1 MiB), kept between calls. */
const rwCopies = [new KeptBytes(1 << 20), new KeptBytes(1 << 20)] as const;

export interface OracleFailure {
  /** `ORACLE <kind>` */
  signature: string;
  message: string;
}

/** What a memo of the oracle stood for: a pages object's pins, a domain's contents, an IOAS's reserved ranges. */
export type MemoKind = 'pins' | 'domain' | 'reserved';

export interface AnswerOracleOptions {
  /**
   * Judge again what a memo passes (an unchanged pages object, domain or IOAS
   * since its last clean judgement), and report it when the judgement finds
   * something (`ORACLE memo`: the memo's key misses what the check reads).
   */
  verifyMemo?: boolean;
  /** Called for every judgement a memo stood for. */
  onMemoHit?: (kind: MemoKind) => void;
}

/** The answer oracle of one run: feed it every call with the machine after it. */
export class AnswerOracle {
  private readonly insp: Inspector;
  /** `${ctx}:${ioas}` → the ranges mapped (sorted by IOVA). */
  private readonly ref = new Map<string, RefArea[]>();
  /** The reference no longer knows every IOAS's ranges (a call it cannot follow succeeded). */
  private areasKnown = true;
  /** Pages key → the PFN each page held when it was pinned (NaN: not pinned), up to the last page held. */
  private readonly pinned = new Map<number, Float64Array>();
  /**
   * Pages key → the ranges of its `pinned` record that are written, as sorted
   * [first, last] pairs (the held tiers of the last pass): the record outside
   * them says nothing and is not read.
   */
  private readonly pinnedHeld = new Map<number, { npages: number; ranges: number[] }>();
  /** Pages key → what checkPins() last passed for it (the tiers and PFN arrays by identity, the record, the counts). */
  private readonly pinsChecked = new Map<number, { tiers: readonly unknown[]; pfn: Float64Array; rec: Float64Array; npinned: number; charged: number }>();
  private tempLimitTouched = false;
  /** No raw ioctl ran: OPTION's settings are all followed. */
  private settingsKnown = true;
  /** A VFIO_SET_IOMMU succeeded: an IOAS's HUGE_PAGES default is no longer known. */
  private vfioSeen = false;
  /** Context → the RLIMIT_MODE its last successful SET chose (0 user, 1 mm); absent: the default of how it was opened. */
  private readonly rlimitMode = new Map<number, number>();
  /** `${ctx}:${ioas}` → HUGE_PAGES as last SET (absent: the default, 1). */
  private readonly hugePages = new Map<string, number>();
  /**
   * pid → pinned_vm pages its mm holds beyond (or, negative, below) what the pages it sources charge:
   * CHANGE_PROCESS moves a pages object of account mode NONE (a CAP_IPC_LOCK mapper) to the caller's
   * mm without moving its pinned_vm (need_charge_update() is false for it, change_mm() swaps the
   * mm anyway), so the old mm keeps it and the new one is uncharged at unpin. A kernel quirk.
   */
  private readonly pinnedShift = new Map<number, number>();
  /** `${ctx}:${hw queue}` → the IOVA range its access locks. */
  private readonly locks = new Map<string, RefLock>();
  /** Pages key → its memfd, as the reference saw it mapped. */
  private readonly pagesFile = new Map<number, MemFile>();
  /** A dma-buf → the exporter memory (byte address) its mappings saw. */
  private readonly bufPaddr = new WeakMap<object, number>();
  /** A dma-buf → the exporter's revoked flag as the last DMABUF_REVOKE set it. */
  private readonly exporterRevoked = new WeakMap<object, boolean>();
  /** The last snapshot needed per-page detail. */
  private detailed = false;
  private prev: MachineSnapshot | undefined;
  /**
   * Frames free (neither in folios nor in user page tables) before the call being judged. `prev` may be
   * older: a call that only allocates frames (a fault, MAP_POPULATE) leaves the fingerprint, and so the
   * last snapshot, as it was.
   */
  private freeBefore: number;
  /** The PFN of every page of each pages object of `prev` described page by page (its `pfns` runs, per page). */
  private pfns = new Map<number, Float64Array>();

  /** Judge again what a memo passes, and report a memo that passed a finding (`ORACLE memo`): for the tests. */
  private readonly verifyMemo: boolean;
  private readonly onMemoHit: ((kind: MemoKind) => void) | undefined;

  constructor(
    private readonly machine: Machine,
    opts: AnswerOracleOptions = {},
  ) {
    this.verifyMemo = opts.verifyMemo === true;
    this.onMemoHit = opts.onMemoHit;
    this.insp = new Inspector(machine);
    this.freeBefore = machine.phys.freeFrames();
  }

  /**
   * Check the state after `r`; the first disagreement, if any. `changed`
   * false: the caller knows the iommufd state (areas, pins, domains, frames)
   * did not change, so the last snapshot stands for it.
   */
  afterCall(r: CallResult, changed = true): OracleFailure | undefined {
    const f = this.judge(r, changed);
    this.freeBefore = this.machine.phys.freeFrames();
    return f;
  }

  private judge(r: CallResult, changed: boolean): OracleFailure | undefined {
    const before = this.prev;
    if (!changed && before && (!r.args || this.ctxOf(before, r.args.pid, r.args.fd) !== undefined)) {
      return this.errnoCheck(r, before) ?? this.follow(r, before, before) ?? this.accessCheck(r, before);
    }
    let s: MachineSnapshot | undefined;
    // Per-page detail (tiers, PFNs, domain runs) only when something is pinned or mapped: it costs a walk per page.
    // After a detailed one, go straight to detail (pins rarely all go at once). Decided from the machine before
    // the snapshot, so it is taken once: detailed when the last one was, or when something is pinned or mapped
    // now and some pages object has a page to describe (a summary's tiers are empty only then).
    const need = detailNeeded(this.machine);
    const detail = this.detailed || (need.pinnedOrMapped && need.anyPage);
    try {
      // The frames table is not read here; the pages' PFNs are taken per page as the snapshot had them, and
      // only where a tier holds them (what the source maps elsewhere is read where a judgement needs it).
      const pfns = new Map<number, Float64Array>();
      s = this.insp.snapshot({ summaryOnly: !detail, frames: false, pfnsOut: pfns, sourcePfns: false });
      this.pfns = pfns;
      this.detailed = need.pinnedOrMapped;
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      this.detailed = detail;
      s = undefined;
    }
    // A pages object too large to judge page by page (the snapshot describes it by ranges, a
    // map of 2^47 pages that pins nothing is legal): no judgement while it exists.
    if (s === undefined || s.pages.some((p) => p.npages > DETAIL_PAGES)) {
      this.prev = undefined;
      this.pinned.clear();
      this.pinnedHeld.clear();
      this.pinsChecked.clear();
      // The calls made meanwhile are not followed: the reference no longer knows the areas.
      this.areasKnown = false;
      return undefined;
    }
    this.prev = s;
    const err = this.errnoCheck(r, before) ?? this.follow(r, s, before);
    return err ?? this.checkSettings(s) ?? this.checkAreas(s) ?? this.accessCheck(r, s) ?? this.checkPins(s) ?? this.checkDomains(s) ?? this.checkAccounting(s);
  }

  // -------------------------------------------------------------------------
  // Following the calls

  private ctxOf(s: MachineSnapshot | undefined, pid: number, fd: number): number | undefined {
    return s?.processes.find((p) => p.pid === pid)?.fds.find((f) => f.fd === fd)?.ctx;
  }

  /** Follow a call in the reference; a disagreement in what it answered (IOAS_UNMAP's length). */
  private follow(r: CallResult, s: MachineSnapshot, before: MachineSnapshot | undefined): OracleFailure | undefined {
    let out: OracleFailure | undefined;
    if (r.op === 'set_temp_memory_limit') this.tempLimitTouched = true;
    const ok = r.errno === undefined;
    // VFIO compat maps and unmaps (an unmap may remove some areas and then fail) and raw ioctls: not followed.
    if (r.op === 'vfio_unmap_dma' || r.op === 'ioctl' || (ok && (r.op === 'vfio_map_dma' || r.op === 'vfio_set_iommu'))) this.areasKnown = false;
    // VFIO_SET_IOMMU of type1 (not v2) turns large pages off behind HUGE_PAGES' back.
    if (ok && r.op === 'vfio_set_iommu') {
      this.hugePages.clear();
      this.vfioSeen = true;
    }
    // A raw ioctl may be anything (an OPTION SET among others): settings are no longer known.
    if (r.op === 'ioctl') {
      this.hugePages.clear();
      this.rlimitMode.clear();
      this.settingsKnown = false;
    }
    const a = r.args;
    if (!ok && a && r.op === 'ioas_unmap') {
      // iopt_unmap_iova_range() removes whole areas in IOVA order and fails at the first one not inside
      // (ENOENT), leaving the earlier ones removed; other failures the reference does not follow.
      const ctx = this.ctxOf(s, a.pid, a.fd) ?? this.ctxOf(before, a.pid, a.fd);
      if (r.outputs.fault_injected === 1) {
        // Failing the object lookup changes nothing; a fault further in may leave some areas removed.
        if (r.outputs.fault_point !== 'iommufd_get_object') this.areasKnown = false;
      } else if (r.errno === 'ENOENT' && ctx !== undefined) this.unmap(`${ctx}:${Number(a.fields.ioas_id)}`, BigInt(a.fields.iova), BigInt(a.fields.length), 'ENOENT');
      else if (r.errno === 'EBUSY' && ctx !== undefined) {
        // A HW queue's lock (area->num_locks) is the only EBUSY a single-threaded program can meet.
        const key = `${ctx}:${Number(a.fields.ioas_id)}`;
        const iova = BigInt(a.fields.iova);
        const length = BigInt(a.fields.length);
        if (this.unmapStop(key, iova, length) === 'EBUSY') this.unmap(key, iova, length, 'EBUSY');
        else if (this.areasKnown && this.ref.has(key)) out = fail('unmap_locked', `IOAS_UNMAP of ${hex(iova)}+${hex(length)} on IOAS ${Number(a.fields.ioas_id)} answered EBUSY, but no area it reaches is locked by a HW queue`);
        else this.areasKnown = false;
      } else if (r.errno !== 'EINVAL' && r.errno !== 'ENOENT' && r.errno !== 'EOVERFLOW' && r.errno !== 'EBADF' && r.errno !== 'ENOTTY') this.areasKnown = false;
    }
    if (ok && a) {
      const ctx = this.ctxOf(s, a.pid, a.fd) ?? this.ctxOf(before, a.pid, a.fd);
      if (ctx !== undefined) {
        const f = a.fields;
        if (r.op === 'ioas_alloc') this.ref.set(`${ctx}:${Number(r.outputs.ioas_id)}`, []);
        else if (r.op === 'ioas_map') {
          const iova = BigInt(r.outputs.iova ?? 0);
          this.add(`${ctx}:${Number(f.ioas_id)}`, { iova, last: iova + BigInt(f.length) - 1n, kind: 'user', at: BigInt(f.user_va), pid: a.pid, prot: protOf(Number(f.flags)) });
        } else if (r.op === 'ioas_map_file') {
          // iopt_map_file_pages(): a dma-buf if the fd is one, else the file's page cache.
          const src = this.fileSource(a.pid, Number(f.fd));
          const iova = BigInt(r.outputs.iova ?? 0);
          if (src) this.add(`${ctx}:${Number(f.ioas_id)}`, { iova, last: iova + BigInt(f.length) - 1n, ...src, at: BigInt(f.start), pid: a.pid, prot: protOf(Number(f.flags)), ...(src.kind === 'dmabuf' ? { revoked: false } : {}) });
          else this.areasKnown = false;
        } else if (r.op === 'ioas_change_process') {
          // iommufd_ioas_change_process(): pages of account mode NONE keep their pinned_vm on the old mm.
          const seen = new Set<number>();
          for (const p of before?.pages ?? []) {
            if (seen.has(p.key) || p.account !== 'none' || p.charged === 0 || p.sourcePid === a.pid) continue;
            if (!p.areas.some((x) => x.ctx === ctx)) continue;
            seen.add(p.key);
            this.pinnedShift.set(p.sourcePid, (this.pinnedShift.get(p.sourcePid) ?? 0) + p.charged);
            this.pinnedShift.set(a.pid, (this.pinnedShift.get(a.pid) ?? 0) - p.charged);
          }
          // change_mm() of every area's pages of every IOAS of the context: the caller is their source now.
          for (const [k, l] of this.ref) if (k.startsWith(`${ctx}:`)) for (const x of l) x.pid = a.pid;
        } else if (r.op === 'hw_queue_alloc') {
          // iommufd_hw_queue_alloc_phys(): the pages of [PAGE_ALIGN_DOWN(iova), + PAGE_ALIGN(offset + length)) of the nesting parent's IOAS.
          const ioas = this.viommuIoas(s, ctx, Number(f.viommu_id));
          const iova = BigInt(f.nesting_parent_iova);
          const first = iova & ~0xfffn;
          const len = (iova - first + BigInt(f.length) + 0xfffn) & ~0xfffn;
          if (ioas !== undefined) this.locks.set(`${ctx}:${Number(r.outputs.hw_queue_id)}`, { ioas: `${ctx}:${ioas}`, first, last: first + len - 1n });
          else this.areasKnown = false;
        } else if (r.op === 'ioas_copy') {
          this.copy(ctx, Number(f.src_ioas_id), BigInt(f.src_iova), BigInt(f.length), Number(f.dst_ioas_id), BigInt(r.outputs.dst_iova ?? 0), protOf(Number(f.flags)));
        } else if (r.op === 'option') out = this.option(ctx, f, r, s);
        else if (r.op === 'ioas_unmap') {
          const key = `${ctx}:${Number(f.ioas_id)}`;
          const straddling = this.straddling(key, BigInt(f.iova), BigInt(f.length));
          const locked = this.unmapStop(key, BigInt(f.iova), BigInt(f.length)) === 'EBUSY';
          const bytes = this.unmap(key, BigInt(f.iova), BigInt(f.length));
          const said = BigInt(r.outputs.length ?? 0);
          // iopt_unmap_iova_range(): an area sticking out of the range is never cut nor removed (ENOENT), a locked one never removed (EBUSY).
          if (this.areasKnown && locked) out = fail('unmap_locked', `IOAS_UNMAP of ${hex(BigInt(f.iova))}+${hex(BigInt(f.length))} on IOAS ${Number(f.ioas_id)} succeeded though a HW queue locks an area in it`);
          else if (this.areasKnown && straddling) out = fail('unmap_range', `IOAS_UNMAP of ${hex(BigInt(f.iova))}+${hex(BigInt(f.length))} on IOAS ${Number(f.ioas_id)} succeeded though area ${hex(straddling.iova)}-${hex(straddling.last)} sticks out of it`);
          else if (this.areasKnown && said !== bytes) out = fail('unmap_length', `IOAS_UNMAP of IOAS ${Number(f.ioas_id)} reported ${said} byte(s), the areas it removed hold ${bytes}`);
        } else if (r.op === 'dmabuf_revoke') {
          // iommufd_test_dmabuf_revoke(): the exporter's flag, then dma_buf_invalidate_mappings() revokes every pages object of it.
          const src = this.fileSource(a.pid, Number(f['dmabuf_revoke.dmabuf_fd']));
          if (src?.kind === 'dmabuf') {
            this.exporterRevoked.set(src.obj, Number(f['dmabuf_revoke.revoked']) !== 0);
            for (const l of this.ref.values()) for (const x of l) if (x.obj === src.obj) x.revoked = true;
          }
        }
      }
    }
    // IOASes destroyed (or whose context closed) leave the reference.
    const { live, liveCtx } = this.liveOf(s);
    for (const k of this.ref.keys()) if (!live.has(k)) this.ref.delete(k);
    for (const k of this.hugePages.keys()) if (!live.has(k)) this.hugePages.delete(k);
    if (r.op === 'ioas_alloc' && ok && a) {
      const ctx = this.ctxOf(s, a.pid, a.fd);
      if (ctx !== undefined) this.hugePages.delete(`${ctx}:${Number(r.outputs.ioas_id)}`);
    }
    // HW queues destroyed (or whose context closed) unlock their range.
    if (this.locks.size > 0) {
      const queues = new Set(s.objects.filter((o) => o.type === 'HW_QUEUE').map((o) => `${o.ctx}:${o.id}`));
      for (const k of this.locks.keys()) if (!queues.has(k)) this.locks.delete(k);
    }
    for (const k of this.rlimitMode.keys()) if (!liveCtx.has(k)) this.rlimitMode.delete(k);
    for (const k of live) if (!this.ref.has(k)) this.ref.set(k, []);
    return out;
  }

  /** The pages objects of the last snapshot asked, by key. */
  private lastPages: { s: MachineSnapshot; byKey: Map<number, PagesSnap> } | undefined;

  private pagesByKey(s: MachineSnapshot): ReadonlyMap<number, PagesSnap> {
    if (this.lastPages?.s !== s) this.lastPages = { s, byKey: new Map(s.pages.map((p) => [p.key, p])) };
    return this.lastPages.byKey;
  }

  /** The IOAS keys and context indexes of the last snapshot followed (calls that change nothing reuse it). */
  private lastLive: { s: MachineSnapshot; live: Set<string>; liveCtx: Set<number> } | undefined;

  private liveOf(s: MachineSnapshot): { live: Set<string>; liveCtx: Set<number> } {
    if (this.lastLive?.s !== s) this.lastLive = { s, live: new Set(s.ioas.map((i) => `${i.ctx}:${i.id}`)), liveCtx: new Set(s.contexts.map((c) => c.index)) };
    return this.lastLive;
  }

  /**
   * IOMMU_OPTION: what a SET chose is what GET reports (iommufd_option_rlimit_mode(),
   * iommufd_ioas_option()): RLIMIT_MODE per context (default 0, per-user), HUGE_PAGES per
   * IOAS (default 1).
   */
  private option(ctx: number, f: Record<string, unknown>, r: CallResult, s: MachineSnapshot): OracleFailure | undefined {
    const id = Number(f.option_id);
    const op = Number(f.op);
    if (id === OPTION_RLIMIT_MODE) {
      if (op === OPTION_SET) this.rlimitMode.set(ctx, Number(BigInt(f.val64 as bigint)));
      else if (op === OPTION_GET) {
        // Before any SET the mode is the one the context was opened with (/dev/vfio/vfio: per-mm): GET reports it.
        const mode = s.contexts.find((c) => c.index === ctx)?.accountMode;
        const want = this.settingsKnown && this.rlimitMode.has(ctx) ? this.rlimitMode.get(ctx) : mode === 'mm' ? 1 : 0;
        const got = Number(r.outputs.val64 ?? -1);
        if (got !== want) return fail('option', `RLIMIT_MODE GET of ctx ${ctx} gave ${got}, the context accounts ${mode}${this.rlimitMode.has(ctx) ? ` and its last SET chose ${this.rlimitMode.get(ctx)}` : ''}`);
      }
    } else if (id === OPTION_HUGE_PAGES) {
      const key = `${ctx}:${Number(f.object_id)}`;
      if (op === OPTION_SET) this.hugePages.set(key, Number(BigInt(f.val64 as bigint)));
      else if (op === OPTION_GET && this.settingsKnown && (this.hugePages.has(key) || !this.vfioSeen)) {
        const want = this.hugePages.get(key) ?? 1;
        const got = Number(r.outputs.val64 ?? -1);
        if (got !== want) return fail('option', `HUGE_PAGES GET of IOAS ${Number(f.object_id)} gave ${got}, the last SET chose ${want}`);
      }
    }
    return undefined;
  }

  private add(key: string, a: RefArea): void {
    const l = this.ref.get(key) ?? [];
    l.push(a);
    l.sort((x, y) => (x.iova < y.iova ? -1 : x.iova > y.iova ? 1 : 0));
    this.ref.set(key, l);
  }

  private copy(ctx: number, src: number, srcIova: bigint, length: bigint, dst: number, dstIova: bigint, prot: string): void {
    const last = srcIova + length - 1n;
    let covered = 0n;
    const out: RefArea[] = [];
    for (const a of this.ref.get(`${ctx}:${src}`) ?? []) {
      if (a.last < srcIova || a.iova > last) continue;
      const from = a.iova > srcIova ? a.iova : srcIova;
      const to = a.last < last ? a.last : last;
      covered += to - from + 1n;
      // The copy shares the source's pages: same source, same process, same revoked state.
      out.push({ ...a, iova: dstIova + (from - srcIova), last: dstIova + (to - srcIova), at: a.at + (from - a.iova), prot });
    }
    // The reference follows only what it saw mapped; anything else and it stops judging areas.
    if (covered !== length) this.areasKnown = false;
    for (const a of out) this.add(`${ctx}:${dst}`, a);
  }

  /** A range of `key` that meets [iova, iova + length) without lying inside it. */
  private straddling(key: string, iova: bigint, length: bigint): RefArea | undefined {
    const last = length === U64_MAX && iova === 0n ? U64_MAX : iova + length - 1n;
    return (this.ref.get(key) ?? []).find((a) => a.last >= iova && a.iova <= last && (a.iova < iova || a.last > last));
  }

  /** The reference range of `key` a HW queue's lock covers some of. */
  private lockedArea(key: string, a: RefArea): boolean {
    for (const l of this.locks.values()) if (l.ioas === key && l.first <= a.last && l.last >= a.iova) return true;
    return false;
  }

  /**
   * Where iopt_unmap_iova_range() stops on [iova, iova + length): walking the
   * areas it meets in IOVA order, EBUSY at the first locked one, ENOENT at
   * the first one sticking out (undefined: it removes them all).
   */
  private unmapStop(key: string, iova: bigint, length: bigint): 'EBUSY' | 'ENOENT' | undefined {
    const last = length === U64_MAX && iova === 0n ? U64_MAX : iova + length - 1n;
    for (const a of this.ref.get(key) ?? []) {
      if (a.last < iova || a.iova > last) continue;
      if (this.lockedArea(key, a)) return 'EBUSY';
      if (a.iova < iova || a.last > last) return 'ENOENT';
    }
    return undefined;
  }

  /**
   * Remove the ranges inside [iova, iova + length); the bytes they held. For
   * an unmap that failed with `failed`, only those before the first area
   * where the kernel stops (a locked one, or one sticking out).
   */
  private unmap(key: string, iova: bigint, length: bigint, failed?: 'ENOENT' | 'EBUSY'): bigint {
    const l = this.ref.get(key) ?? [];
    const last = length === U64_MAX && iova === 0n ? U64_MAX : iova + length - 1n;
    let bytes = 0n;
    let stopped = false;
    const keep: RefArea[] = [];
    for (const a of l) {
      if (a.last < iova || a.iova > last) keep.push(a);
      else if (stopped || (failed && (a.iova < iova || a.last > last || this.lockedArea(key, a)))) {
        stopped = true;
        keep.push(a);
      } else bytes += a.last - a.iova + 1n;
    }
    this.ref.set(key, keep);
    return bytes;
  }

  /** What the open file `fd` of `pid` maps through IOAS_MAP_FILE: a dma-buf, a page cache, or neither. */
  private fileSource(pid: number, fd: number): { kind: 'file'; obj: MemFile } | { kind: 'dmabuf'; obj: object } | undefined {
    const f = this.machine.processes.get(pid)?.fileOf(fd);
    if (f instanceof IommufdFileHandle) return f.inner.kind === 'dmabuf' ? { kind: 'dmabuf', obj: f.inner } : undefined;
    return f?.memfile ? { kind: 'file', obj: f.memfile } : undefined;
  }

  /** The IOAS ID of the nesting parent HWPT of vIOMMU `viommu` (the snapshot's object links). */
  private viommuIoas(s: MachineSnapshot, ctx: number, viommu: number): number | undefined {
    const v = s.objects.find((o) => o.ctx === ctx && o.id === viommu && o.type === 'VIOMMU');
    const h = v ? s.objects.find((o) => o.ctx === ctx && o.id === v.links.hwpt) : undefined;
    return h?.links.ioas;
  }

  // -------------------------------------------------------------------------
  // Checks

  /**
   * What the reference knows without following the areas: a context's accounting mode is
   * the one its last RLIMIT_MODE SET chose; an IOAS's large pages are as HUGE_PAGES last set;
   * no area meets a reserved range (iopt_check_iova() refuses one, iopt_reserve_iova()
   * refuses to reserve over one); the aperture reservations are exactly those of the
   * IOAS's domains (iopt_table_add_domain() / iopt_table_remove_domain()).
   */
  private checkSettings(s: MachineSnapshot): OracleFailure | undefined {
    for (const c of s.contexts) {
      const m = this.rlimitMode.get(c.index);
      if (m !== undefined && c.accountMode !== (m === 1 ? 'mm' : 'user')) return fail('option', `ctx ${c.index} accounts ${c.accountMode}, its last RLIMIT_MODE SET chose ${m}`);
    }
    const doms = new Map<string, DomainSnap[]>();
    for (const d of s.domains) {
      const k = ioasKey(d.ctx, d.ioas);
      const l = doms.get(k) ?? [];
      l.push(d);
      doms.set(k, l);
    }
    const seen = new Set<string>();
    for (const io of s.ioas) {
      const key = ioasKey(io.ctx, io.id);
      const huge = this.hugePages.get(key);
      if (huge !== undefined && io.disableLargePages !== (huge === 0)) return fail('option', `IOAS ${io.id} has large pages ${io.disableLargePages ? 'off' : 'on'}, HUGE_PAGES was last set to ${huge}`);
      if (io.reserved.length === 0) continue;
      // The same reserved list (kept by the Inspector while the trees are unchanged), areas and apertures as
      // the last pass: the checks below would pass again.
      seen.add(key);
      const memoKey = this.settingsKeyBuf;
      let k = 0;
      memoKey[k++] = io.reserved;
      memoKey[k++] = io.areas.length;
      for (const a of io.areas) {
        memoKey[k++] = a.iova;
        memoKey[k++] = a.last;
      }
      for (const d of doms.get(key) ?? []) {
        memoKey[k++] = d.hwpt;
        memoKey[k++] = io.domains.includes(d.hwpt);
        memoKey[k++] = d.apertureStart;
        memoKey[k++] = d.apertureEnd;
      }
      memoKey.length = k;
      const last = this.settingsChecked.get(key);
      const hit = last !== undefined && sameValues(last, memoKey);
      if (hit) this.onMemoHit?.('reserved');
      if (hit && !this.verifyMemo) continue;
      this.settingsChecked.delete(key);
      const inputs = (): unknown => [io.reserved, io.areas.map((a) => [a.iova, a.last]), (doms.get(key) ?? []).map((d) => [io.domains.includes(d.hwpt), d.apertureStart, d.apertureEnd])];
      const stale = this.verifyMemo ? this.memoStale(`reserved ${key}`, hit, inputs) : undefined;
      const r = this.reservedOf(io, doms.get(key) ?? []);
      if (r) return hit ? memoMissed(r) : r;
      if (stale) return stale;
      this.settingsChecked.set(key, [...memoKey]);
    }
    for (const k of this.settingsChecked.keys()) if (!seen.has(k)) this.settingsChecked.delete(k);
    return undefined;
  }

  /** checkSettings() of the reserved ranges of one IOAS: none meets an area, the aperture ones are its domains'. */
  private reservedOf(io: IoasSnap, doms: readonly DomainSnap[]): OracleFailure | undefined {
    // The reserved ranges as bigints, read once for all the areas (and kept with the list, which the Inspector hands back while unchanged).
    const { rf, rl } = this.verifyMemo ? parseReserved(io.reserved) : reservedBounds(io.reserved);
    for (const a of io.areas) {
      const f = BigInt(a.iova);
      const l = BigInt(a.last);
      let k = 0;
      while (k < rf.length && !(rf[k] <= l && rl[k] >= f)) k++;
      const r = io.reserved[k];
      if (r) return fail('reserved', `IOAS ${io.id}: area ${a.iova}-${a.last} meets reserved range ${r.first}-${r.last} (${r.owner})`);
    }
    // The two lists compared as multisets of [first, last] (the text only for the finding).
    const want: Array<[bigint, bigint]> = [];
    for (const d of doms) {
      if (!io.domains.includes(d.hwpt)) continue;
      if (!Number.isSafeInteger(d.apertureEnd)) return undefined;
      if (d.apertureStart !== 0) want.push([0n, BigInt(d.apertureStart) - 1n]);
      if (BigInt(d.apertureEnd) !== U64_MAX) want.push([BigInt(d.apertureEnd) + 1n, U64_MAX]);
    }
    const got: Array<[bigint, bigint]> = [];
    for (let k = 0; k < rf.length; k++) if (io.reserved[k].owner === 'aperture') got.push([rf[k], rl[k]]);
    if (!sameRanges(want, got)) {
      const text = (l: Array<[bigint, bigint]>): string => l.map(([f, t]) => `${hex(f)}-${hex(t)}`).sort().join(', ');
      return fail('reserved', `IOAS ${io.id}: aperture reservations [${text(got)}], its domains' apertures leave [${text(want)}]`);
    }
    return undefined;
  }

  /** `${ctx}:${ioas}` → what checkSettings() last passed for its reserved ranges (see there). */
  private readonly settingsChecked = new Map<string, unknown[]>();
  private readonly settingsKeyBuf: unknown[] = [];

  private checkAreas(s: MachineSnapshot): OracleFailure | undefined {
    if (!this.areasKnown) return undefined;
    const pagesByKey = this.pagesByKey(s);
    for (const io of s.ioas) {
      const want = this.ref.get(ioasKey(io.ctx, io.id)) ?? [];
      const got = io.areas;
      if (got.length === 0 && want.length === 0) continue;
      const where = `IOAS ${io.id} (ctx ${io.ctx})`;
      if (want.length !== got.length) return fail('areas', `${where}: ${got.length} area(s), the reference has ${want.length}`);
      for (let i = 0; i < got.length; i++) {
        const g = got[i];
        const w = want[i];
        if (BigInt(g.iova) !== w.iova || BigInt(g.last) !== w.last) return fail('areas', `${where}: area ${g.iova}-${g.last}, the reference has ${hex(w.iova)}-${hex(w.last)}`);
        if (g.prot !== w.prot) return fail('areas', `${where}: area ${g.iova} has protection ${g.prot}, its MAP/COPY flags asked ${w.prot}`);
        // iopt_fill_domain() / iopt_unfill_domain(): an area's PFNs are read back from one of its IOAS's domains.
        if (io.domains.length > 0 && !io.domains.includes(g.storageDomain)) return fail('storage_domain', `${where}: area ${g.iova} reads its PFNs from HWPT ${g.storageDomain}, not one of the IOAS's domains (${io.domains.join(', ')})`);
        const p = pagesByKey.get(g.pages);
        if (!p) continue;
        const r = this.checkSource(where, g, p, w);
        if (r) return r;
        if (p.sourcePid !== w.pid) return fail('areas', `${where}: area ${g.iova} pins pages of pid ${p.sourcePid}, the reference pid ${w.pid}`);
      }
    }
    return undefined;
  }

  /**
   * Area `g` (pages `p`) maps what reference range `w` says: the same kind of
   * source, the same user address / file offset / dma-buf offset, the same
   * memfd (by name and kind) and, for a dma-buf, the same exporter memory as
   * its other mappings and the revoked state the reference followed. Learns
   * a file pages object's memfd for the PFN checks.
   */
  private checkSource(where: string, g: IoasSnap['areas'][number], p: PagesSnap, w: RefArea): OracleFailure | undefined {
    if (p.source !== w.kind) return fail('areas', `${where}: area ${g.iova} maps ${p.source} pages, the reference a ${w.kind} range`);
    const inPages = BigInt(g.firstIndex) * BigInt(PAGE) + BigInt(g.pageOffset);
    const what = w.kind === 'user' ? 'user address' : w.kind === 'file' ? 'file offset' : 'dma-buf offset';
    const base = w.kind === 'user' ? BigInt(p.uptr) : w.kind === 'file' ? BigInt(p.file?.start ?? 0) : BigInt(p.dmabuf?.start ?? 0);
    if (base + inPages !== w.at) return fail('areas', `${where}: area ${g.iova} maps ${what} ${hex(base + inPages)}, the reference ${hex(w.at)}`);
    if (w.kind === 'file') {
      const mf = w.obj as MemFile;
      if (p.file?.name !== mf.name || p.file.kind !== mf.kind) return fail('areas', `${where}: area ${g.iova} maps file ${p.file?.name} (${p.file?.kind}), the reference ${mf.name} (${mf.kind})`);
      this.pagesFile.set(p.key, mf);
    } else if (w.kind === 'dmabuf' && w.obj && p.dmabuf) {
      const revoked = w.revoked === true;
      if (p.dmabuf.revoked !== revoked) return fail('dmabuf', `${where}: area ${g.iova}'s dma-buf pages are ${p.dmabuf.revoked ? '' : 'not '}revoked, the reference says ${revoked ? '' : 'not '}revoked`);
      if (!revoked) {
        const seen = this.bufPaddr.get(w.obj);
        if (seen === undefined) this.bufPaddr.set(w.obj, p.dmabuf.paddr);
        else if (seen !== p.dmabuf.paddr) return fail('dmabuf', `${where}: area ${g.iova} maps dma-buf memory at ${hex(BigInt(p.dmabuf.paddr))}, another mapping of the same dma-buf ${hex(BigInt(seen))}`);
      }
    }
    return undefined;
  }

  /**
   * An access's successful ACCESS_RW / ACCESS_PAGES: every area of the range allows
   * the direction (check_area_prot(): EPERM otherwise), and after ACCESS_RW the
   * user buffer and the memory behind the IOVAs hold the same bytes (read: the
   * IOAS's memory was copied out; write: the buffer was copied in), judged where
   * each page's pinned PFN is the user's page now and the two do not share a frame.
   */
  private accessCheck(r: CallResult, s: MachineSnapshot): OracleFailure | undefined {
    if ((r.op !== 'access_rw' && r.op !== 'access_pages') || r.errno !== undefined || !r.args || !this.areasKnown) return undefined;
    const { pid, fields: f } = r.args;
    const pre = r.op === 'access_rw' ? 'access_rw' : 'access_pages';
    const flags = Number(f[`${pre}.flags`] ?? 0);
    if (flags & ACCESS_SYZ) return undefined;
    const iova = BigInt(f[`${pre}.iova`] as bigint);
    const length = BigInt(f[`${pre}.length`] as bigint);
    if (length === 0n) return undefined;
    const last = iova + length - 1n;
    const acc = s.accesses.find((x) => x.fd === `${pid}:${Number(f.id)}`);
    if (!acc || acc.ioas < 0) return undefined;
    const areas = (this.ref.get(`${acc.ctx}:${acc.ioas}`) ?? []).filter((a) => a.last >= iova && a.iova <= last);
    const need = flags & ACCESS_WRITE ? 'w' : 'r';
    for (const a of areas) {
      if (!a.prot.includes(need)) return fail('errno', `${r.op} ${need === 'w' ? 'writing' : 'reading'} ${hex(iova)}-${hex(last)} succeeded over area ${hex(a.iova)}-${hex(a.last)} mapped ${a.prot}`);
    }
    if (r.op !== 'access_rw' || length > 1n << 20n) return undefined;
    return this.rwData(s, acc.ctx, acc.ioas, iova, Number(length), pid, BigInt(f['access_rw.uptr'] as bigint), (flags & ACCESS_WRITE) !== 0);
  }

  private rwData(s: MachineSnapshot, ctx: number, ioasId: number, iova: bigint, length: number, pid: number, uptr: bigint, write: boolean): OracleFailure | undefined {
    const io = s.ioas.find((i) => i.ctx === ctx && i.id === ioasId);
    if (!io) return undefined;
    const pagesByKey = this.pagesByKey(s);
    const caller = this.machine.processes.get(pid);
    if (!caller || caller.exited) return undefined;
    const phys = this.machine.phys;
    // Every byte of both is read below before the comparison (or the judgement is given up).
    const src = rwCopies[0].get(length);
    const dst = rwCopies[1].get(length);
    const srcFrames = new Set<number>();
    // The areas' bounds as bigints once (the range may cross several); pages below by page number.
    const bounds = io.areas.map((a) => ({ g: a, iova: BigInt(a.iova), last: BigInt(a.last) }));
    let off = 0;
    while (off < length) {
      const x = iova + BigInt(off);
      const b = bounds.find((a) => a.iova <= x && a.last >= x);
      const g = b?.g;
      const p = g ? pagesByKey.get(g.pages) : undefined;
      if (!b || !g || !p) return undefined;
      const byte = BigInt(g.firstIndex) * BigInt(PAGE) + BigInt(g.pageOffset) + (x - b.iova);
      const idx = Number(byte / BigInt(PAGE));
      const inPage = Number(byte % BigInt(PAGE));
      const mf = p.source === 'file' ? this.pagesFile.get(p.key) : undefined;
      // A dma-buf has no struct pages to copy through; a memfd's bytes are its page cache's.
      if (p.source === 'dmabuf' || (p.source === 'file' && !mf)) return undefined;
      const user = mf ? filePfn(mf, BigInt(p.file?.start ?? 0) + BigInt(idx) * BigInt(PAGE)) : this.userPagePfn(p.sourcePid, Number(BigInt(p.uptr) / BigInt(PAGE)) + idx);
      if (!(user >= 0)) return undefined;
      const held = p.pfns.find((q) => q.index <= idx && idx < q.index + q.n);
      if (held && held.pfn >= 0 && held.pfn + (idx - held.index) !== user) return undefined;
      // Two IOVAs of the range on one page (an IOAS_COPY beside its source): a write's later part
      // overwrote the earlier one, the buffer and the memory need not agree byte for byte.
      if (write && srcFrames.has(user)) return undefined;
      const n = Math.min(PAGE - inPage, length - off, Number(b.last - x + 1n));
      phys.read(user, inPage, src, off, n);
      srcFrames.add(user);
      off += n;
    }
    // A buffer at or past 2^52 is past TASK_SIZE: no page of it is mapped (as lookupPfn() would say).
    if (uptr >= 1n << 52n) return undefined;
    const ua = Number(uptr);
    for (off = 0; off < length; ) {
      const va = ua + off;
      const vpn = Math.floor(va / PAGE);
      const inPage = va - vpn * PAGE;
      const pfn = caller.mm.lookupPagePfn(vpn);
      if (!(pfn >= 0) || srcFrames.has(pfn)) return undefined;
      const n = Math.min(PAGE - inPage, length - off);
      phys.read(pfn, inPage, dst, off, n);
      off += n;
    }
    // Four bytes at a time up to the first word that differs (both buffers start a buffer of their own), then by byte.
    const words = src.byteOffset % 4 === 0 && dst.byteOffset % 4 === 0 ? length >>> 2 : 0;
    const s32 = new Int32Array(src.buffer, src.byteOffset, words);
    const d32 = new Int32Array(dst.buffer, dst.byteOffset, words);
    let w = 0;
    while (w < words && s32[w] === d32[w]) w++;
    for (let i = 4 * w; i < length; i++) {
      if (src[i] !== dst[i]) return fail('access_rw', `ACCESS_RW of IOAS ${ioasId} ${hex(iova)}+${length}: byte ${i} is ${dst[i]} in the user buffer at ${hex(uptr)}, ${src[i]} in the memory the IOVA maps`);
    }
    return undefined;
  }

  /** The user page table of `pid` at the page numbered `vpn` (-1: nothing; NaN: the process is gone). */
  private userPagePfn(pid: number, vpn: number): number {
    const proc = this.machine.processes.get(pid);
    if (!proc || proc.exited) return Number.NaN;
    return proc.mm.lookupPagePfn(vpn);
  }

  private checkPins(s: MachineSnapshot): OracleFailure | undefined {
    const live = new Set<number>();
    for (const p of s.pages) {
      live.add(p.key);
      if (p.source === 'dmabuf') {
        // Exporter memory (MMIO): iopt_alloc_dmabuf_pages() accounts nothing, nothing is pinned, no access can hold it.
        if (p.npinned !== 0 || p.charged !== 0 || p.xarrayEntries !== 0) return fail('dmabuf', `pages #${p.key} of a dma-buf: npinned ${p.npinned}, ${p.charged} charged, ${p.xarrayEntries} xarray entries; a dma-buf pins nothing`);
        continue;
      }
      if (p.tiers.length === 0) {
        // A summary (nothing pinned anywhere): no page detail, nothing held.
        this.pinned.delete(p.key);
        if (p.npinned !== 0) return fail('npinned', `pages #${p.key}: npinned ${p.npinned}, no page held`);
        if (p.charged !== 0) return fail('accounting', `pages #${p.key}: ${p.charged} page(s) charged, none pinned`);
        continue;
      }
      const pfn = this.pfnOf(p);
      // The same tiers and PFNs (the Inspector's memo hands the same arrays back while nothing they read
      // changed) checked against the same record: the pass below would find and write what the last one did.
      const last = this.pinsChecked.get(p.key);
      const hit = last !== undefined && last.tiers === p.tiers && last.pfn === pfn && last.rec === this.pinned.get(p.key) && last.npinned === p.npinned && last.charged === p.charged;
      if (hit) this.onMemoHit?.('pins');
      if (hit && !this.verifyMemo) continue;
      this.pinsChecked.delete(p.key);
      const inputs = (): unknown => [p.tiers, Array.from(pfn), Array.from(this.pinned.get(p.key) ?? []), p.npinned, p.charged];
      const stale = this.verifyMemo ? this.memoStale(`pins #${p.key}`, hit, inputs) : undefined;
      const r = this.pinsOf(p, pfn);
      if (r) return hit ? memoMissed(r) : r;
      if (stale) return stale;
      // (what the next judgement's inputs are compared with: the record as this pass left it)
      if (this.verifyMemo) this.memoStale(`pins #${p.key}`, false, inputs);
    }
    for (const k of this.pinned.keys()) if (!live.has(k)) this.pinned.delete(k);
    for (const k of this.pinnedHeld.keys()) if (!live.has(k)) this.pinnedHeld.delete(k);
    for (const k of this.pinsChecked.keys()) if (!live.has(k)) this.pinsChecked.delete(k);
    for (const k of this.pagesFile.keys()) if (!live.has(k)) this.pagesFile.delete(k);
    return undefined;
  }

  /** checkPins() of one pages object with page detail: its pins against what was pinned and what the source maps. */
  private pinsOf(p: PagesSnap, pfn: Float64Array): OracleFailure | undefined {
    let rec = this.pinned.get(p.key);
    const heldBefore = this.pinnedHeld.get(p.key);
    let was = heldBefore?.ranges ?? [];
    if (!rec || heldBefore?.npages !== p.npages) {
      rec = new Float64Array(0);
      was = [];
    }
    // The record reaches the last page held (it grows with it): only the pages of `was` are read from
    // it, so a pages object far larger than what it holds costs what it holds.
    let end = 0;
    for (const t of p.tiers) if (t.xarray || t.domain) end = t.last + 1;
    if (rec.length < end) {
      const grown = new Float64Array(Math.min(p.npages, Math.max(end, 2 * rec.length)));
      grown.set(rec);
      rec = grown;
    }
    this.pinned.set(p.key, rec);
    // A page held now and not when the record was last written has no record (NaN): it was not held
    // in between, or the pass that saw it held would have listed it.
    const now: number[] = [];
    let w = 0;
    for (const t of p.tiers) {
      if (!t.xarray && !t.domain) continue;
      now.push(t.first, t.last);
      let at = t.first;
      while (w < was.length && was[w + 1] < at) w += 2;
      for (let v = w; at <= t.last; v += 2) {
        const lo = v < was.length ? was[v] : Number.POSITIVE_INFINITY;
        if (lo > at) rec.fill(Number.NaN, at, Math.min(lo, t.last + 1));
        if (v >= was.length) break;
        at = was[v + 1] + 1;
      }
    }
    // Until this pass ends, the record is read over both (a pass stopped by a failure leaves both written).
    this.pinnedHeld.set(p.key, { npages: p.npages, ranges: mergeRanges(was, now) });
    let npinned = 0;
    const uptr = BigInt(p.uptr);
    const vpn0 = Number(uptr / BigInt(PAGE));
    // A file's pages: what its page cache holds at the offset (memfd_pin_folios()), when the reference knows the memfd.
    const mf = p.source === 'file' ? this.pagesFile.get(p.key) : undefined;
    const fileStart = BigInt(p.file?.start ?? 0);
    for (const t of p.tiers) {
      if (!t.xarray && !t.domain) continue;
      for (let i = t.first; i <= t.last; i++) {
        npinned++;
        if (Number.isNaN(rec[i])) {
          if (mf) {
            const off = fileStart + BigInt(i) * BigInt(PAGE);
            const u = filePfn(mf, off);
            if (u >= 0 && u !== pfn[i]) return fail('pin_pfn', `pages #${p.key} page ${i} (offset ${hex(off)} of ${mf.name}) pinned PFN ${pfn[i]}, the file's page there is PFN ${u}`);
          } else if (p.source === 'user') {
            const u = this.userPagePfn(p.sourcePid, vpn0 + i);
            if (u >= 0 && u !== pfn[i]) return fail('pin_pfn', `pages #${p.key} page ${i} (user address ${hex(uptr + BigInt(i) * BigInt(PAGE))} of pid ${p.sourcePid}) pinned PFN ${pfn[i]}, the user page is PFN ${u}`);
          }
          rec[i] = pfn[i];
        } else if (rec[i] !== pfn[i]) return fail('pin_pfn', `pages #${p.key} page ${i} was pinned as PFN ${rec[i]} and now holds PFN ${pfn[i]}`);
      }
    }
    if (p.npinned !== npinned) return fail('npinned', `pages #${p.key}: npinned ${p.npinned}, ${npinned} page(s) held by an access or a domain`);
    if (p.charged !== p.npinned) return fail('accounting', `pages #${p.key}: ${p.charged} page(s) charged, ${p.npinned} pinned`);
    this.pinsChecked.set(p.key, { tiers: p.tiers, pfn, rec, npinned: p.npinned, charged: p.charged });
    this.pinnedHeld.set(p.key, { npages: p.npages, ranges: now });
    return undefined;
  }

  /** pfnArray(p), as the snapshot handed it over when it did. */
  private pfnOf(p: PagesSnap): Float64Array {
    return this.pfns.get(p.key) ?? pfnArray(p);
  }

  private checkDomains(s: MachineSnapshot): OracleFailure | undefined {
    const pfns = new Map<number, Float64Array>();
    const revoked = new Set<number>();
    for (const p of s.pages) {
      if (p.source === 'dmabuf') {
        // iopt_revoke_notify() unmapped it from every domain and a new domain maps nothing of it; else the exporter's
        // memory at the pages' offset, as the first mapping of the dma-buf saw it.
        const db = p.dmabuf;
        if (!db || db.revoked) revoked.add(p.key);
        else {
          const a = new Float64Array(p.npages);
          const first = (db.paddr + db.start) / PAGE;
          for (let i = 0; i < a.length; i++) a[i] = first + i;
          pfns.set(p.key, a);
        }
      } else if (p.pfns.length > 0) pfns.set(p.key, this.pfnOf(p));
    }
    const live = new Set<string>();
    for (const d of s.domains) {
      const io = ioasOf(s, d.ctx, d.ioas);
      if (!io?.domains.includes(d.hwpt)) continue;
      // The same runs (the Inspector's memo hands them back while the domain is unchanged) against the same
      // areas and the same PFN arrays as the last pass: checkDomain() would pass again.
      const k = `${d.ctx}:${d.hwpt}`;
      live.add(k);
      const key = this.domainKeyBuf;
      domainCheckKey(d, io, pfns, revoked, key);
      const last = this.domainsChecked.get(k);
      const hit = last !== undefined && sameValues(last, key);
      if (hit) this.onMemoHit?.('domain');
      if (hit && !this.verifyMemo) continue;
      this.domainsChecked.delete(k);
      const inputs = (): unknown => [d.runs, d.strayBytes, d.mappedBytes, d.apertureStart, d.apertureEnd, d.pgsizes, io.areas.map((a) => [a.iova, a.last, a.pageOffset, a.firstIndex, revoked.has(a.pages), Array.from(pfns.get(a.pages) ?? [])])];
      const stale = this.verifyMemo ? this.memoStale(`domain ${k}`, hit, inputs) : undefined;
      const r = checkDomain(d, io, pfns, revoked);
      if (r) return hit ? memoMissed(r) : r;
      if (stale) return stale;
      this.domainsChecked.set(k, [...key]);
    }
    for (const k of this.domainsChecked.keys()) if (!live.has(k)) this.domainsChecked.delete(k);
    return undefined;
  }

  /** verifyMemo: each memo's inputs (as text) when its judgement last passed. */
  private readonly memoInputs = new Map<string, string>();

  /**
   * verifyMemo: a memo hit whose judgement reads other inputs (by value) than
   * when it last passed is a finding (its key misses a change, whatever the
   * verdict); records the inputs for the next one.
   */
  private memoStale(what: string, hit: boolean, inputs: () => unknown): OracleFailure | undefined {
    const now = JSON.stringify(inputs());
    const before = this.memoInputs.get(what);
    this.memoInputs.set(what, now);
    if (hit && before !== undefined && before !== now) return fail('memo', `the ${what} memo stood for a judgement whose inputs changed`);
    return undefined;
  }

  /** `${ctx}:${hwpt}` → domainCheckKey() of the last checkDomain() that passed for it. */
  private readonly domainsChecked = new Map<string, unknown[]>();
  private readonly domainKeyBuf: unknown[] = [];

  private checkAccounting(s: MachineSnapshot): OracleFailure | undefined {
    // Sums per user (by a scan of the few users) and per mm (by its index in accounting.mms, which the processes' `mm` is).
    const users = s.accounting.users;
    const userLocked = this.sumBuf(users.length);
    const nmm = s.accounting.mms.length;
    const mmPinned = this.sumBuf(nmm, 1);
    const mmLocked = this.sumBuf(nmm, 2);
    for (const p of s.pages) {
      if (p.account === 'user') {
        for (let k = 0; k < users.length; k++) if (users[k].uid === p.sourceUid) userLocked[k] += p.charged;
      }
      const mm = mmOfPid(s, p.sourcePid);
      if (mm === undefined || !(mm >= 0 && mm < nmm)) continue;
      mmPinned[mm] += p.charged;
      if (p.account === 'mm') mmLocked[mm] += p.charged;
    }
    for (let k = 0; k < users.length; k++) {
      const u = users[k];
      const want = userLocked[k];
      if (u.lockedVm !== want) return fail('accounting', `user ${u.uid} locked_vm ${u.lockedVm}, the pages it sources charge ${want}`);
    }
    // Pages whose mapping process has exited keep charging its mm (gone from the snapshot, and no live
    // process shares an mm: the model has no CLONE_VM): the live mms are still judged exactly.
    for (let i = 0; i < nmm; i++) {
      const m = s.accounting.mms[i];
      let pinned = mmPinned[i];
      for (const pid of m.pids) pinned += this.pinnedShift.get(pid) ?? 0;
      if (m.pinnedVm !== pinned) return fail('accounting', `mm of pid ${m.pids.join(',')} pinned_vm ${m.pinnedVm}, the pages it sources charge ${pinned}`);
      // mlock() charges locked_vm too: the pages' mm-mode charge is a lower bound.
      const locked = mmLocked[i];
      if (m.lockedVm < locked) return fail('accounting', `mm of pid ${m.pids.join(',')} locked_vm ${m.lockedVm}, the pages it sources charge ${locked} in mm mode`);
    }
    return undefined;
  }

  /** Three zeroed scratch arrays of sums (checkAccounting), kept between calls. */
  private readonly sums: number[][] = [[], [], []];

  private sumBuf(n: number, which = 0): number[] {
    const a = this.sums[which];
    a.length = n;
    a.fill(0);
    return a;
  }

  /** Nothing but RLIMIT_MEMLOCK could make a pin fail with ENOMEM: no memcg limit, no lowered temp limit, memory to spare. */
  private plentiful(before: MachineSnapshot, npages: number): boolean {
    if (this.tempLimitTouched || before.accounting.memcgs.some((m) => m.limit !== null)) return false;
    return npages <= 1 << 20 && 4 * npages + 1024 <= this.freeBefore;
  }

  /**
   * MOCK_DOMAIN on an IOAS none of whose pages is pinned yet pins every page
   * its areas cover, charged to the user of the one process they come from
   * (iopt_table_add_domain() → iopt_fill_domain() → incr_user_locked_vm()).
   */
  private attachErrno(r: CallResult, before: MachineSnapshot): OracleFailure | undefined {
    const a = r.args;
    if (!a || r.errno !== 'ENOMEM') return undefined;
    const ctx = this.ctxOf(before, a.pid, a.fd);
    const io = before.ioas.find((i) => i.ctx === ctx && i.id === Number(a.fields.id));
    if (!io || io.domains.length > 0 || io.accesses.length > 0 || io.areas.length === 0) return undefined;
    const pages = this.pagesByKey(before);
    const spans = new Map<number, Array<[number, number]>>();
    let pid: number | undefined;
    for (const ar of io.areas) {
      const p = pages.get(ar.pages);
      if (p?.npinned !== 0 || p.source !== 'user' || p.account !== 'user' || (pid !== undefined && p.sourcePid !== pid)) return undefined;
      pid = p.sourcePid;
      const l = spans.get(p.key) ?? [];
      l.push([ar.firstIndex, ar.lastIndex]);
      spans.set(p.key, l);
    }
    const proc = before.processes.find((p) => p.pid === pid);
    if (!proc || pid === undefined) return undefined;
    let npages = 0;
    for (const [key, l] of spans) {
      l.sort((x, y) => x[0] - y[0]);
      let end = -1;
      for (const [f, t] of l) {
        if (t > end) npages += t - Math.max(f, end + 1) + 1;
        end = Math.max(end, t);
        const p = pages.get(key);
        if (p && !this.userMapped(pid, BigInt(p.uptr) + BigInt(f) * BigInt(PAGE), BigInt(t - f + 1) * BigInt(PAGE))) return undefined;
      }
    }
    if (!this.plentiful(before, npages)) return undefined;
    const locked = before.accounting.users.find((u) => u.uid === proc.uid)?.lockedVm ?? 0;
    const limit = BigInt(proc.rlimitMemlock) >> 12n;
    if (BigInt(locked + npages) > limit) return undefined;
    return fail('errno', `MOCK_DOMAIN on IOAS ${io.id} pinning ${npages} page(s) got ENOMEM with locked_vm ${locked} and RLIMIT_MEMLOCK ${limit} pages: the charge fits`);
  }

  private errnoCheck(r: CallResult, before: MachineSnapshot | undefined): OracleFailure | undefined {
    if (!before || r.outputs.fault_injected !== undefined) return undefined;
    if (r.op === 'mock_domain') return this.attachErrno(r, before);
    if (r.op === 'ioas_change_process') return this.changeProcessErrno(r, before);
    if (r.op === 'ioas_map_file') return this.mapFileErrno(r, before);
    if (r.op !== 'ioas_map' || !r.args) return undefined;
    const { pid, fd, fields: f } = r.args;
    const proc = before.processes.find((p) => p.pid === pid);
    const ctx = this.ctxOf(before, pid, fd);
    const io = before.ioas.find((i) => i.ctx === ctx && i.id === Number(f.ioas_id));
    if (!proc || ctx === undefined || !io) return undefined;
    const length = BigInt(f.length);
    const uva = BigInt(f.user_va);
    if (length === 0n || uva + length > U64_MAX) return undefined;
    if (r.errno === 'ENOMEM' && this.userMapped(pid, uva, length)) {
      const f = this.chargeFits(before, proc, ctx, io, Number(((uva & 0xfffn) + length + 0xfffn) >> 12n));
      if (f) return fail('errno', `IOAS_MAP of ${f}`);
    }
    return this.eexistErrno(r, before);
  }

  /**
   * A map's pin of `npages` that nothing but RLIMIT_MEMLOCK could refuse, and
   * the charge fits: incr_user_locked_vm() (per-user mode) and
   * __account_locked_vm() (per-mm mode) fail only when locked_vm + npages >
   * RLIMIT_MEMLOCK pages. The finding's text, else undefined.
   */
  private chargeFits(before: MachineSnapshot, proc: MachineSnapshot['processes'][number], ctx: number, io: IoasSnap, npages: number): string | undefined {
    const mode = before.contexts.find((c) => c.index === ctx)?.accountMode;
    if ((mode !== 'user' && mode !== 'mm') || proc.caps.includes('CAP_IPC_LOCK') || io.domains.length === 0) return undefined;
    if (!this.plentiful(before, npages)) return undefined;
    const locked = mode === 'user' ? (before.accounting.users.find((u) => u.uid === proc.uid)?.lockedVm ?? 0) : before.accounting.mms[proc.mm]?.lockedVm;
    if (locked === undefined) return undefined;
    const limit = BigInt(proc.rlimitMemlock) >> 12n;
    if (BigInt(locked + npages) > limit) return undefined;
    return `${npages} page(s) got ENOMEM with ${mode === 'mm' ? "the mm's" : "the user's"} locked_vm ${locked} and RLIMIT_MEMLOCK ${limit} pages: the charge fits`;
  }

  /**
   * IOMMU_IOAS_CHANGE_PROCESS (iommufd_ioas_change_process()): EINVAL when
   * some area of some IOAS of the context is not a file's, so succeeding then
   * is a finding.
   */
  private changeProcessErrno(r: CallResult, before: MachineSnapshot): OracleFailure | undefined {
    const a = r.args;
    if (!a || !this.areasKnown || Number(a.fields.__reserved ?? 0) !== 0) return undefined;
    const ctx = this.ctxOf(before, a.pid, a.fd);
    if (ctx === undefined || !before.contexts.some((c) => c.index === ctx)) return undefined;
    let other: RefArea | undefined;
    for (const [k, l] of this.ref) if (k.startsWith(`${ctx}:`)) other ??= l.find((x) => x.kind !== 'file');
    // (EINVAL with every mapping a file's is not judged: a bad size word gets EINVAL first, and the call's size is not in its args.)
    if (r.errno === undefined && other) return fail('errno', `IOAS_CHANGE_PROCESS succeeded though ${hex(other.iova)}-${hex(other.last)} maps ${other.kind === 'user' ? 'user memory' : 'a dma-buf'}, not a file`);
    return undefined;
  }

  /**
   * IOMMU_IOAS_MAP_FILE: of a dma-buf, ENODEV exactly when its exporter has it
   * revoked (iopt_map_dmabuf()); of a shmem memfd inside its size, ENOMEM as
   * IOAS_MAP's; EEXIST as IOAS_MAP's.
   */
  private mapFileErrno(r: CallResult, before: MachineSnapshot): OracleFailure | undefined {
    const a = r.args;
    if (!a) return undefined;
    const src = this.fileSource(a.pid, Number(a.fields.fd));
    if (src?.kind === 'dmabuf') {
      const revoked = this.exporterRevoked.get(src.obj) === true;
      if (r.errno === undefined && revoked) return fail('errno', 'IOAS_MAP_FILE of a dma-buf its exporter revoked succeeded');
      if (r.errno === 'ENODEV' && !revoked) return fail('errno', 'IOAS_MAP_FILE of a dma-buf answered ENODEV, but its exporter never revoked it');
    }
    if (src?.kind === 'file' && r.errno === 'ENOMEM' && src.obj.kind === 'shmem' && src.obj.live) {
      const start = BigInt(a.fields.start);
      const length = BigInt(a.fields.length);
      const proc = before.processes.find((p) => p.pid === a.pid);
      const ctx = this.ctxOf(before, a.pid, a.fd);
      const io = before.ioas.find((i) => i.ctx === ctx && i.id === Number(a.fields.ioas_id));
      if (proc && ctx !== undefined && io && length > 0n && start + length <= BigInt(src.obj.size)) {
        const f = this.chargeFits(before, proc, ctx, io, Number(((start & 0xfffn) + length + 0xfffn) >> 12n));
        if (f) return fail('errno', `IOAS_MAP_FILE of ${f}`);
      }
    }
    return this.eexistErrno(r, before);
  }

  /** A fixed IOAS_MAP / IOAS_MAP_FILE refused with EEXIST must meet an area or a reserved range. */
  private eexistErrno(r: CallResult, before: MachineSnapshot): OracleFailure | undefined {
    if (!r.args) return undefined;
    const { pid, fd, fields: f } = r.args;
    const ctx = this.ctxOf(before, pid, fd);
    const io = before.ioas.find((i) => i.ctx === ctx && i.id === Number(f.ioas_id));
    if (ctx === undefined || !io) return undefined;
    const length = BigInt(f.length);
    if (length === 0n) return undefined;
    if (r.errno === 'EEXIST' && this.areasKnown && (Number(f.flags) & FIXED_IOVA) !== 0) {
      // iopt_alloc_area(): EEXIST when the fixed range meets an area; reserved ranges are left out here.
      const iova = BigInt(f.iova);
      const last = iova + length - 1n;
      if (last > U64_MAX) return undefined;
      const meets = (first: bigint, l: bigint): boolean => first <= last && l >= iova;
      if (io.reserved.some((x) => meets(BigInt(x.first), BigInt(x.last)))) return undefined;
      if ((this.ref.get(`${ctx}:${io.id}`) ?? []).some((a) => meets(a.iova, a.last))) return undefined;
      return fail('errno', `fixed IOAS_MAP at ${hex(iova)}-${hex(last)} got EEXIST, but it meets no area of IOAS ${io.id}`);
    }
    return undefined;
  }

  /** Every page of [uva, uva + length) is mapped in the user's page table (else the pin faults first). */
  private userMapped(pid: number, uva: bigint, length: bigint): boolean {
    const proc = this.machine.processes.get(pid);
    if (!proc || length > 1n << 32n) return false;
    // by page number (below 2^52): [first, last] pages of the range, no bigint per page
    const first = Number(uva / BigInt(PAGE));
    const last = Number((uva + length - 1n) / BigInt(PAGE));
    for (let vpn = first; vpn <= last; vpn++) if (proc.mm.lookupPagePfn(vpn) < 0) return false;
    return true;
  }
}

/**
 * What the snapshot's summary would say, read straight from the machine (the same contexts, IOASes,
 * pages objects and paging domains the snapshot walks): some pages object holds pins or xarray entries,
 * or some domain maps bytes; and some pages object has a page.
 */
function detailNeeded(machine: Machine): { pinnedOrMapped: boolean; anyPage: boolean } {
  let pinnedOrMapped = false;
  let anyPage = false;
  for (const c of contextsOf(machine.processes.values())) {
    for (const { obj } of c.objects.live()) {
      if (obj instanceof HwptPaging) {
        if (obj.domain && obj.domain.mappedBytes() > 0) pinnedOrMapped = true;
      } else if (obj instanceof IommufdIoas) {
        for (const a of ioptAreas(obj.iopt)) {
          const p = a.pages;
          if (!p) continue;
          if (p.npages > 0) anyPage = true;
          if (p.npinned > 0 || p.pinnedPfns.count() > 0) pinnedOrMapped = true;
        }
      }
      if (pinnedOrMapped && anyPage) return { pinnedOrMapped, anyPage };
    }
  }
  return { pinnedOrMapped, anyPage };
}

/** The PFN of byte `off` of memfd `mf`'s page cache (-1: not cached, NaN: the file is gone). */
function filePfn(mf: MemFile, off: bigint): number {
  if (!mf.live) return Number.NaN;
  const page = Number(off / BigInt(PAGE));
  const head = mf.lookup(Math.floor(page / mf.folioPages));
  return head < 0 ? -1 : head + (page % mf.folioPages);
}

/** The union of two lists of sorted, disjoint [first, last] pairs, as one such list. */
function mergeRanges(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const fromA = j >= b.length || (i < a.length && a[i] <= b[j]);
    const lo = fromA ? a[i] : b[j];
    const hi = fromA ? a[i + 1] : b[j + 1];
    if (fromA) i += 2;
    else j += 2;
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) out[n - 1] = Math.max(out[n - 1], hi);
    else out.push(lo, hi);
  }
  return out;
}

/** The PFN of every page of `p` (its xarray's, else its domain's, else the user's; -1 none). */
function pfnArray(p: PagesSnap): Float64Array {
  const a = new Float64Array(p.npages).fill(-1);
  for (const r of p.pfns) if (r.pfn >= 0) for (let i = 0; i < r.n; i++) a[r.index + i] = r.pfn + i;
  return a;
}

/**
 * Domain `d` maps every page of every area of `io` to the PFN pinned for it
 * (the pages in `revoked`: nothing), and nothing outside them.
 */
function checkDomain(d: DomainSnap, io: IoasSnap, pfns: Map<number, Float64Array>, revoked: ReadonlySet<number>): OracleFailure | undefined {
  const where = `HWPT ${d.hwpt} of IOAS ${io.id}`;
  if (d.strayBytes !== 0) return fail('domain_map', `${where} maps ${d.strayBytes} byte(s) outside every area`);
  let ri = 0;
  const runs = d.runs;
  let expectBytes = 0;
  for (const a of io.areas) {
    const pf = pfns.get(a.pages);
    const iova = Number(BigInt(a.iova));
    const last = Number(BigInt(a.last));
    if (!Number.isSafeInteger(last)) return undefined;
    const first = Math.max(iova, d.apertureStart);
    const end = Math.min(last, d.apertureEnd);
    if (end < first) continue;
    // The page of IOVA x: firstIndex + (x - (iova - pageOffset)) / PAGE.
    const base = iova - a.pageOffset;
    const step = Math.min(PAGE, d.pgsizes[0] ?? PAGE);
    const from = Math.floor(first / step) * step;
    if (revoked.has(a.pages)) {
      const hit = runs.find((run) => run.iova <= end && run.iova + run.length > from);
      if (hit) return fail('domain_map', `${where}: IOVA 0x${Math.max(hit.iova, from).toString(16)} of area ${a.iova} is mapped, its dma-buf was revoked`);
      continue;
    }
    expectBytes += Math.floor(end / step) * step + step - from;
    while (ri < runs.length && runs[ri].iova + runs[ri].length <= from) ri++;
    for (let x = from; x <= end; ) {
      while (ri < runs.length && runs[ri].iova + runs[ri].length <= x) ri++;
      const run = runs[ri];
      if (!run || run.iova > x) return fail('domain_map', `${where}: IOVA 0x${x.toString(16)} of area ${a.iova} is not mapped`);
      const page = Math.floor((x - base) / PAGE);
      const idx = a.firstIndex + page;
      const pinned = pf?.[idx] ?? -1;
      const want = pinned * PAGE + modPow2(x - base, PAGE);
      const got = run.paddr + (x - run.iova);
      if (pinned < 0 || got !== want) return fail('domain_pfn', `${where}: IOVA 0x${x.toString(16)} maps PFN ${Math.floor(got / PAGE)}, area ${a.iova} page ${idx} is PFN ${pinned}`);
      // The next steps in the same run and the same page map and want the same distance further: they pass too.
      const limit = x - base >= 0 ? Math.min(run.iova + run.length, base + (page + 1) * PAGE, end + 1) : x + step;
      x += Math.max(1, Math.ceil((limit - x) / step)) * step;
    }
  }
  if (d.mappedBytes !== expectBytes) return fail('domain_map', `${where} maps ${d.mappedBytes} byte(s), its areas ${expectBytes}`);
  return undefined;
}

/**
 * Everything checkDomain(d, io, pfns, revoked) reads, as a list of values (the
 * runs and PFN arrays by identity): equal lists, the same verdict.
 */
function domainCheckKey(d: DomainSnap, io: IoasSnap, pfns: Map<number, Float64Array>, revoked: ReadonlySet<number>, out: unknown[]): void {
  let n = 0;
  out[n++] = d.runs; out[n++] = d.strayBytes; out[n++] = d.mappedBytes; out[n++] = d.apertureStart; out[n++] = d.apertureEnd; out[n++] = d.pgsizes[0]; out[n++] = io.areas.length;
  for (const a of io.areas) { out[n++] = a.iova; out[n++] = a.last; out[n++] = a.pageOffset; out[n++] = a.firstIndex; out[n++] = a.pages; out[n++] = pfns.get(a.pages); out[n++] = revoked.has(a.pages); }
  out.length = n;
}

/** A reserved list's bounds as bigints, by the list's identity (a snapshot's lists are not changed after it is taken). */
const reservedMemo = new WeakMap<readonly ReservedSnap[], { rf: bigint[]; rl: bigint[] }>();
function reservedBounds(l: readonly ReservedSnap[]): { rf: bigint[]; rl: bigint[] } {
  let b = reservedMemo.get(l);
  if (b === undefined) {
    b = parseReserved(l);
    reservedMemo.set(l, b);
  }
  return b;
}

function parseReserved(l: readonly ReservedSnap[]): { rf: bigint[]; rl: bigint[] } {
  return { rf: l.map((x) => BigInt(x.first)), rl: l.map((x) => BigInt(x.last)) };
}

/** The `mm` index of the process `pid` of `s` (the first listed, as a Map built from the list would keep the last: pids are unique). */
function mmOfPid(s: MachineSnapshot, pid: number): number | undefined {
  for (const p of s.processes) if (p.pid === pid) return p.mm;
  return undefined;
}

/** The IOAS `id` of context `ctx` in `s`. */
function ioasOf(s: MachineSnapshot, ctx: number, id: number): IoasSnap | undefined {
  for (const io of s.ioas) if (io.ctx === ctx && io.id === id) return io;
  return undefined;
}

/** `${ctx}:${id}` strings, made once each. */
const ioasKeys = new Map<number, Map<number, string>>();
const ioasKey = (ctx: number, id: number): string => joined(ioasKeys, ctx, ':', id);

/** `a` and `b` hold the same ranges, each as often. */
function sameRanges(a: Array<[bigint, bigint]>, b: Array<[bigint, bigint]>): boolean {
  if (a.length !== b.length) return false;
  const used = new Uint8Array(b.length);
  for (const [f, t] of a) {
    let i = 0;
    while (i < b.length && (used[i] === 1 || b[i][0] !== f || b[i][1] !== t)) i++;
    if (i === b.length) return false;
    used[i] = 1;
  }
  return true;
}

/** A finding a memo would have passed over: the memo keys miss something the check reads. */
function memoMissed(f: OracleFailure): OracleFailure {
  return fail('memo', `a memo passed what the check finds (${f.signature}: ${f.message})`);
}

function fail(kind: string, message: string): OracleFailure {
  return { signature: `ORACLE ${kind}`, message };
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
