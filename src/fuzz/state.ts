// SPDX-License-Identifier: GPL-2.0-only
/**
 * A read-only snapshot of the iommufd state of a machine, for reports (the
 * `run` command's summary tables): the areas of every IOAS, each pages
 * object's storage tiers, the domains, the accesses, and the accounting of
 * every process. Model-internal inspection; it makes no syscalls.
 */
import { HwptPaging } from '../iommufd/hw-pagetable.js';
import type { IommufdCtx } from '../iommufd/main.js';
import { IOPT_PAGES_ACCOUNT_MM, IOPT_PAGES_ACCOUNT_NONE, type IoptPages } from '../iommufd/pages.js';
import { IommufdFileHandle } from '../machine/iommufd-node.js';
import type { Machine } from '../machine/machine.js';
import type { Process } from '../machine/process.js';

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
}

function accountName(mode: number): string {
  if (mode === IOPT_PAGES_ACCOUNT_NONE) return 'none';
  if (mode === IOPT_PAGES_ACCOUNT_MM) return 'mm';
  return 'user';
}

interface StaccessLike {
  readonly ctx: IommufdCtx;
  access?: unknown;
  readonly items: unknown[];
  readonly needsPinPages: boolean;
}

function isStaccess(x: unknown): x is StaccessLike {
  return typeof x === 'object' && x !== null && 'items' in x && 'ctx' in x && 'needsPinPages' in x;
}

/** Snapshot the state reachable from `contexts` and `procs`. */
export function snapshotState(machine: Machine, contexts: readonly IommufdCtx[], procs: readonly Process[]): StateSnapshot {
  const areas: AreaRow[] = [];
  const pagesIdx = new Map<IoptPages, number>();
  const pagesAreas = new Map<IoptPages, number>();
  const domains: DomainRow[] = [];
  const accesses: AccessRow[] = [];
  // Access fds: object → "pid:fd"
  const accessFds = new Map<unknown, { where: string; file: StaccessLike }>();
  for (const p of procs) {
    if (p.exited) continue;
    for (const fd of p.openFds()) {
      const f = p.fileOf(fd);
      if (f instanceof IommufdFileHandle && isStaccess(f.inner) && f.inner.access) accessFds.set(f.inner.access, { where: `${p.pid}:${fd}`, file: f.inner });
    }
  }
  contexts.forEach((ctx, ci) => {
    const ioasIds = new Map<unknown, number>();
    for (const { id, ioas } of ctx.ioasList()) {
      ioasIds.set(ioas, id);
      for (const a of ioas.iopt.areas()) {
        let pi = -1;
        if (a.pages) {
          if (!pagesIdx.has(a.pages)) pagesIdx.set(a.pages, pagesIdx.size);
          pi = pagesIdx.get(a.pages)!;
          pagesAreas.set(a.pages, (pagesAreas.get(a.pages) ?? 0) + 1);
        }
        const prot = `${a.iommuProt & 1 ? 'r' : '-'}${a.iommuProt & 2 ? 'w' : '-'}`;
        areas.push({ ctx: ci, ioas: id, first: a.iova, last: a.lastIova, length: a.length, pages: pi, prot });
      }
    }
    for (const { id, obj } of ctx.objects.live()) {
      if (obj instanceof HwptPaging && obj.domain) {
        const d = obj.domain;
        domains.push({
          ctx: ci,
          hwpt: id,
          ioas: ioasIds.get(obj.ioas) ?? -1,
          devices: obj.devices.size,
          mapCalls: d.mapCalls,
          unmapCalls: d.unmapCalls,
          mappedBytes: d.mappedBytes(),
        });
      } else if (obj.type === 'ACCESS') {
        const ao = obj as unknown as { ioas?: unknown };
        const f = accessFds.get(obj);
        accesses.push({
          ctx: ci,
          id,
          ioas: ao.ioas ? ioasIds.get(ao.ioas) : undefined,
          fd: f?.where ?? '-',
          items: f?.file.items.length ?? 0,
          needsPinPages: f?.file.needsPinPages ?? false,
        });
      }
    }
  });
  const pages: PagesRow[] = [];
  for (const [pg, index] of pagesIdx) {
    const doms = new Set<unknown>();
    for (const n of pg.domainsItree) for (const d of n.owner.iopt?.domains ?? []) doms.add(d);
    let accessRanges = 0;
    let accessUsers = 0;
    for (const n of pg.accessItree) {
      accessRanges++;
      accessUsers += n.owner.users;
    }
    pages.push({
      index,
      uptr: pg.uptr,
      npages: pg.npages,
      xarray: pg.pinnedPfns.count(),
      domains: doms.size,
      npinned: pg.npinned,
      accessRanges,
      accessUsers,
      areas: pagesAreas.get(pg) ?? 0,
      account: accountName(pg.accountMode),
    });
  }
  const accounting: AccountRow[] = [];
  for (const p of procs) {
    if (p.exited) continue;
    const t = p.task;
    accounting.push({
      pid: p.pid,
      rlimitMemlock: t.rlimitMemlock,
      userLockedVm: t.user.lockedVm,
      lockedVm: t.mm.lockedVm,
      pinnedVm: t.mm.pinnedVm,
      memcgBytes: t.memcg.usage,
    });
  }
  return { areas, pages, domains, accesses, accounting, framesInUse: machine.phys.framesInUse() };
}
