// SPDX-License-Identifier: GPL-2.0-only
/**
 * The run report's view of a snapshot: one row per area, pages object,
 * domain, access and process, as the `run` command's summary tables show
 * them. A pure function of a MachineSnapshot.
 */
import type { MachineSnapshot } from './types.js';

export interface AreaRow {
  /** Index of the context (open of /dev/iommu) in the snapshot, from 0. */
  ctx: number;
  ioas: number;
  first: bigint;
  last: bigint;
  length: bigint;
  /** Index of the pages object in `pages`. */
  pages: number;
  prot: string;
}

export interface PagesRow {
  index: number;
  uptr: bigint;
  npages: number;
  /** Entries in the pinned_pfns xarray (pages held for accesses). */
  xarray: number;
  /** Distinct domains holding some of its pages (through areas in domains_itree). */
  domains: number;
  npinned: number;
  /** Access pin ranges and their users. */
  accessRanges: number;
  accessUsers: number;
  /** Areas referencing it. */
  areas: number;
  account: string;
}

export interface DomainRow {
  ctx: number;
  hwpt: number;
  ioas: number;
  devices: number;
  mapCalls: number;
  unmapCalls: number;
  mappedBytes: number;
}

export interface AccessRow {
  ctx: number;
  id: number;
  ioas: number | undefined;
  /** The access fd in its process (pid:fd), if found. */
  fd: string;
  items: number;
  needsPinPages: boolean;
}

export interface AccountRow {
  pid: number;
  rlimitMemlock: bigint;
  userLockedVm: number;
  lockedVm: number;
  pinnedVm: number;
  memcgBytes: number;
}

export interface StateSnapshot {
  areas: AreaRow[];
  pages: PagesRow[];
  domains: DomainRow[];
  accesses: AccessRow[];
  accounting: AccountRow[];
  framesInUse: number;
  tablePages: number;
}

/** The report rows of `s`. */
export function summarize(s: MachineSnapshot): StateSnapshot {
  const pagesPos = new Map<number, number>();
  for (const [i, p] of s.pages.entries()) pagesPos.set(p.key, i);
  const areas: AreaRow[] = [];
  for (const io of s.ioas) {
    for (const a of io.areas) {
      areas.push({ ctx: io.ctx, ioas: io.id, first: BigInt(a.iova), last: BigInt(a.last), length: BigInt(a.length), pages: pagesPos.get(a.pages) ?? -1, prot: a.prot });
    }
  }
  const pages: PagesRow[] = s.pages.map((p, index) => ({
    index,
    uptr: BigInt(p.uptr),
    npages: p.npages,
    xarray: p.xarrayEntries,
    domains: p.domains,
    npinned: p.npinned,
    accessRanges: p.accessRanges.length,
    accessUsers: p.accessRanges.reduce((n, r) => n + r.users, 0),
    areas: p.areas.length,
    account: p.account,
  }));
  const domains: DomainRow[] = s.domains.map((d) => ({
    ctx: d.ctx,
    hwpt: d.hwpt,
    ioas: d.ioas,
    devices: d.devices.length,
    mapCalls: d.mapCalls,
    unmapCalls: d.unmapCalls,
    mappedBytes: d.mappedBytes,
  }));
  const accesses: AccessRow[] = s.accesses.map((a) => ({
    ctx: a.ctx,
    id: a.id,
    ioas: a.ioas >= 0 ? a.ioas : undefined,
    fd: a.fd,
    items: a.items.length,
    needsPinPages: a.needsPinPages,
  }));
  const accounting: AccountRow[] = s.processes.map((p) => {
    const mm = s.accounting.mms[p.mm];
    return {
      pid: p.pid,
      rlimitMemlock: BigInt(p.rlimitMemlock),
      userLockedVm: s.accounting.users.find((u) => u.uid === p.uid)?.lockedVm ?? 0,
      lockedVm: mm?.lockedVm ?? 0,
      pinnedVm: mm?.pinnedVm ?? 0,
      memcgBytes: s.accounting.memcgs[p.memcg]?.usage ?? 0,
    };
  });
  return { areas, pages, domains, accesses, accounting, framesInUse: s.framesInUse, tablePages: s.tablePages };
}
