// SPDX-License-Identifier: GPL-2.0-only
/**
 * fail_nth sweeps of MAP_FILE (shmem and hugetlbfs memfds), CHANGE_PROCESS
 * and the selftest dma-buf: for each step of a scenario, fail its 1st, 2nd,
 * ... fault point until the step reaches no more. After every injection the
 * rest of the scenario runs, the state passes the audits (the generic one,
 * and pages-audit.ts for file and dma-buf pages), and teardown leaves
 * nothing pinned, charged or allocated, with no WARN.
 */
import { describe, expect, it } from 'vitest';
import { IommufdClient } from '../../src/client/iommufd.js';
import { auditDmabufArea, auditFilePages, isDmabufPages } from '../../src/iommufd/pages-audit.js';
import * as U from '../../src/iommufd/uapi.js';
import type { Process } from '../../src/machine/index.js';
import { ctxOf, finish, world, type World } from '../client/harness.js';
import { changeProcess, dmabufGet, dmabufRevoke, mapFile, memfdMmap } from './map-file-sim.js';

const PS = 4096;
const HP = 2 * 1024 * 1024;
const RW = U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE;
const APERTURE = BigInt(U.MOCK_APERTURE_START);

interface Run {
  w: World;
  /** Named values the steps pass along. */
  v: Record<string, number | bigint>;
  /** Processes forked by the scenario (exited at teardown). */
  kids: Process[];
}

type Step = (r: Run) => void;

function newRun(): Run {
  const w = world({ hugetlb2M: 4, memory: '64M' });
  w.c.close();
  return { w: { ...w, c: IommufdClient.open(w.proc) }, v: {}, kids: [] };
}

/** Everything the audits say about a state: generic (unless dma-buf pages have domains) and pages-audit. */
function audit(r: Run): void {
  const ctx = ctxOf(r.w);
  let dmabufMapped = false;
  let n = 0;
  for (const { ioas } of ctx.ioasList()) {
    for (const area of ioas.iopt.areas()) {
      if (!area.pages) continue;
      n += auditDmabufArea(ctx.env, ioas.iopt, area) + auditFilePages(ctx.env, area.pages);
      if (isDmabufPages(area.pages) && ioas.iopt.domains.length) dmabufMapped = true;
    }
  }
  expect(n).toBe(0);
  // audit.ts does not know dma-buf pages yet: it expects their mapped pages pinned
  if (!dmabufMapped) {
    expect(ctx.audit({ exactPins: true })).toBe(0);
    expect(r.w.machine.audit()).toBe(0);
  }
}

function teardown(r: Run): void {
  for (const k of r.kids) k.exit();
  const c = r.w.c;
  for (const { id } of ctxOf(r.w).ioasList()) c.raw(U.IOMMU_IOAS_UNMAP, U.iommu_ioas_unmap, { ioas_id: id, iova: 0n, length: (1n << 64n) - 1n });
  c.close();
  finish(r.w);
}

/** Sweep every fault point of every step after the first (the set-up); returns how many were injected. */
const counts = new Map<number, number>();
function sweep(steps: Step[]): number {
  let injected = 0;
  counts.clear();
  for (let step = 1; step < steps.length; step++) {
    for (let nth = 1; nth < 300; nth++) {
      const r = newRun();
      let reached = false;
      for (const [k, run] of steps.entries()) {
        const proc = r.kids.length ? r.kids[r.kids.length - 1] : r.w.proc;
        if (k === step) proc.setFailNth(nth);
        run(r);
        if (k === step) {
          reached = proc.getFailNth() === 0;
          proc.setFailNth(0);
        }
        audit(r);
      }
      teardown(r);
      if (!reached) break;
      injected++;
      counts.set(step, (counts.get(step) ?? 0) + 1);
    }
  }
  if (process.env.SWEEP_COUNTS) console.log([...counts]);
  return injected;
}

const fileSteps = (hugetlb: boolean): Step[] => [
  (r) => {
    r.v.ioas = r.w.c.ioasAlloc();
    r.v.ioas2 = r.w.c.ioasAlloc();
    const size = hugetlb ? HP : 8 * PS;
    const { fd, va } = memfdMmap(r.w.proc, size, hugetlb);
    r.v.fd = fd;
    r.v.va = va;
    r.v.size = size;
  },
  (r) => {
    const d = r.w.c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN, r.v.ioas as number);
    r.v.idev = d.rc === 0 ? (d.out['mock_domain.out_idev_id'] as number) : 0;
  },
  (r) => {
    const m = mapFile(r.w.c, { ioas: r.v.ioas as number, fd: r.v.fd as number, start: 0, length: r.v.size as number, iova: APERTURE, flags: RW | U.IOMMU_IOAS_MAP_FIXED_IOVA });
    r.v.mapped = m.rc === 0 ? 1 : 0;
  },
  (r) => {
    if (r.v.idev) r.w.c.raw(U.IOMMU_HWPT_ALLOC, U.iommu_hwpt_alloc, { dev_id: r.v.idev as number, pt_id: r.v.ioas as number });
  },
  (r) => {
    r.w.c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN, r.v.ioas2 as number);
    r.w.c.raw(U.IOMMU_IOAS_COPY, U.iommu_ioas_copy, {
      flags: RW,
      dst_ioas_id: r.v.ioas2 as number,
      src_ioas_id: r.v.ioas as number,
      length: BigInt(r.v.size),
      src_iova: APERTURE,
    });
  },
  (r) => {
    const a = r.w.c.testCmd(U.IOMMU_TEST_OP_CREATE_ACCESS, r.v.ioas as number, { 'create_access.flags': U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES });
    if (a.rc) return;
    const fd = a.out['create_access.out_access_fd'] as number;
    r.w.c.testCmd(U.IOMMU_TEST_OP_ACCESS_PAGES, fd, { 'access_pages.iova': APERTURE + BigInt(PS), 'access_pages.length': BigInt(2 * PS), 'access_pages.uptr': 0n });
    r.w.c.testCmd(U.IOMMU_TEST_OP_ACCESS_RW, fd, { 'access_rw.iova': APERTURE + BigInt(PS) - 8n, 'access_rw.length': 16n, 'access_rw.uptr': r.w.buffer, 'access_rw.flags': U.MOCK_ACCESS_RW_SLOW_PATH });
    r.w.proc.close(fd);
  },
  (r) => {
    r.w.proc.ftruncate(r.v.fd as number, 0);
    r.w.proc.close(r.v.fd as number);
    r.w.c.raw(U.IOMMU_IOAS_UNMAP, U.iommu_ioas_unmap, { ioas_id: r.v.ioas as number, iova: 0n, length: (1n << 64n) - 1n });
  },
];

describe('fail_nth sweeps', () => {
  it('MAP_FILE of a shmem memfd: domains, a second domain, COPY, an access, truncate and unmap', () => {
    expect(sweep(fileSteps(false))).toBeGreaterThan(15);
  });

  it('MAP_FILE of a hugetlbfs memfd (folio allocation may fail)', () => {
    expect(sweep(fileSteps(true))).toBeGreaterThan(15);
  });

  it('CHANGE_PROCESS from a child, in MM accounting', () => {
    const n = sweep([
      (r) => {
        r.w.c.setRlimitMode(1);
        r.v.ioas = r.w.c.ioasAlloc();
        r.v.ioas2 = r.w.c.ioasAlloc();
        r.w.c.mockDomain(r.v.ioas as number);
        const { fd } = memfdMmap(r.w.proc, 8 * PS);
        expect(mapFile(r.w.c, { ioas: r.v.ioas as number, fd, start: 0, length: 8 * PS }).rc).toBe(0);
        expect(mapFile(r.w.c, { ioas: r.v.ioas2 as number, fd, start: PS, length: 2 * PS }).rc).toBe(0);
        r.w.proc.close(fd);
        r.kids.push(r.w.proc.fork());
      },
      (r) => {
        const child = r.kids[0];
        const rc = changeProcess(new IommufdClient(child, r.w.c.fd));
        const owner = rc === 0 ? child : r.w.proc;
        expect(owner.mm.lockedVm).toBe(8);
        expect(owner.mm.pinnedVm).toBe(8);
      },
    ]);
    expect(n).toBeGreaterThan(0);
  });

  it('the selftest dma-buf: get, map with domains, a new domain, revoke, map again', () => {
    const n = sweep([
      (r) => {
        r.v.ioas = r.w.c.ioasAlloc();
        const d = r.w.c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN, r.v.ioas as number);
        r.v.idev = d.rc === 0 ? (d.out['mock_domain.out_idev_id'] as number) : 0;
      },
      (r) => {
        r.v.dfd = dmabufGet(r.w.c, 8 * PS);
      },
      (r) => {
        if ((r.v.dfd as number) > 0) mapFile(r.w.c, { ioas: r.v.ioas as number, fd: r.v.dfd as number, start: PS, length: 4 * PS });
      },
      (r) => {
        if (r.v.idev) r.w.c.raw(U.IOMMU_HWPT_ALLOC, U.iommu_hwpt_alloc, { dev_id: r.v.idev as number, pt_id: r.v.ioas as number });
      },
      (r) => {
        if ((r.v.dfd as number) < 0) return;
        dmabufRevoke(r.w.c, r.v.dfd as number, true);
        dmabufRevoke(r.w.c, r.v.dfd as number, false);
        mapFile(r.w.c, { ioas: r.v.ioas as number, fd: r.v.dfd as number, start: 0, length: 8 * PS });
        r.w.proc.close(r.v.dfd as number);
      },
    ]);
    expect(n).toBeGreaterThan(5);
  });
});
