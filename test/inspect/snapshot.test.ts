// SPDX-License-Identifier: GPL-2.0-only
// The snapshot against states whose content is known: area bounds, tiers of
// every page range, PFN runs (checked against the user page table), each
// domain's runs and IOPTE sizes, frame pin counts, accounting; and the diff
// of two snapshots.
import { describe, expect, it } from 'vitest';
import { runProgram } from '../../src/fuzz/executor.js';
import { parseProgram } from '../../src/fuzz/program.js';
import { diffSnapshots } from '../../src/inspect/diff.js';
import { Inspector } from '../../src/inspect/snapshot.js';
import type { MachineSnapshot } from '../../src/inspect/types.js';
import type { Machine } from '../../src/machine/machine.js';

interface Run {
  snaps: MachineSnapshot[];
  ret: Array<number | bigint>;
  /** PFNs the first process's page table maps, page by page, over [va, va + 4K * n) for each `pfnsOf` request, read at the last call. */
  user: number[][];
}

/** Run `yaml` taking a snapshot after every call; `pfnsOf` names (call index of an mmap, pages) to read from the page table. */
function run(yaml: string, pfnsOf: Array<[number, number]> = []): Run {
  const r = parseProgram(yaml, 'test.yaml');
  if (!r.ok) throw new Error(r.error);
  const snaps: MachineSnapshot[] = [];
  const rets: Array<number | bigint> = [];
  let user: number[][] = [];
  let insp: Inspector | undefined;
  const rr = runProgram(r.program, {
    onCall: (res, m: Machine) => {
      insp ??= new Inspector(m);
      rets[res.index] = res.ret;
      snaps.push(JSON.parse(JSON.stringify(insp.snapshot())) as MachineSnapshot);
      if (res.index === r.program.calls.length - 1) {
        const mm = m.processes.get(1)!.mm;
        user = pfnsOf.map(([i, n]) => Array.from({ length: n }, (_, k) => mm.lookupPfn(BigInt(rets[i]) + BigInt(k * 4096))));
      }
    },
  });
  if (rr.failed) throw new Error(rr.reasons?.join('\n'));
  return { snaps, ret: rets, user };
}

const BASE = `
memory: 256M
memlock: unlimited
phys_layout: linear
calls:
  - { op: mmap, as: $buf, length: 64K, expect: ok }
  - { op: write_memory, addr: $buf, fill: 0x11, length: 64K, expect: ok }
  - { op: open, path: /dev/iommu, as: $fd, expect: ok }
  - { op: ioas_alloc, as: $ioas, expect: { ioas_id: 1 } }
  - { op: ioas_map, ioas: $ioas, user_va: $buf, length: 64K, iova: 0x1000000, flags: [READABLE, WRITEABLE, FIXED_IOVA], expect: ok }
  - { op: mock_domain, as: $dev, pt: $ioas, expect: { stdev_id: 2, idev_id: 3, hwpt_id: 4 } }
  - { op: create_access, as: $acc, ioas: $ioas, flags: [NEEDS_PIN_PAGES], expect: ok }
  - { op: access_pages, as: $win, access: $acc, iova: 0x1004000, length: 8K, uptr: $buf+16K, flags: [WRITE], expect: { access_pages_id: 0 } }
  - { op: add_reserved, ioas: $ioas, start: 0x2000000, length: 0x1000, expect: ok }
  - { op: destroy_access_pages, access: $acc, access_pages_id: $win, expect: ok }
  - { op: ioas_unmap, ioas: $ioas, iova: 0x1000000, length: 64K, expect: { length: 64K } }
`;

describe('snapshot of known states', () => {
  // The test reads the user page table itself (linear layout: the 16 faults got consecutive frames).
  const r = run(BASE, [[0, 16]]);
  const buf = Number(r.ret[0]);
  const pfn0 = r.user[0][0];

  it('the user pages are one physically contiguous run', () => {
    expect(pfn0).toBeGreaterThanOrEqual(0);
    expect(r.user[0]).toEqual(Array.from({ length: 16 }, (_, i) => pfn0 + i));
  });

  it('after the map with no domain: one area, every page only in the user page tables, nothing pinned', () => {
    const s = r.snaps[4];
    expect(s.ioas).toHaveLength(1);
    expect(s.ioas[0].areas).toEqual([
      { iova: '0x1000000', last: '0x100ffff', length: '0x10000', pages: 0, firstIndex: 0, lastIndex: 15, pageOffset: 0, prot: 'rw', numAccesses: 0, preventAccess: false, storageDomain: -1 },
    ]);
    expect(s.ioas[0].reserved).toEqual([]);
    expect(s.pages).toHaveLength(1);
    const p = s.pages[0];
    expect(p.uptr).toBe(`0x${buf.toString(16)}`);
    expect(p.tiers).toEqual([{ first: 0, last: 15, xarray: false, domain: false, accessUsers: 0 }]);
    expect(p.pfns).toEqual([{ index: 0, pfn: pfn0, n: 16 }]);
    expect(p.npinned).toBe(0);
    // The page tables hold one reference per frame, nobody pins them.
    expect(s.frames).toEqual([{ pfn: pfn0, n: 16, ref: 1, pin: 0 }]);
    expect(s.domains).toEqual([]);
    expect(s.accounting.users).toEqual([{ uid: 1000, lockedVm: 0, processes: 1 }]);
  });

  it("after mock_domain: the domain maps the area as one run of one 64 KiB IOPTE (7.2's AMDv1 mock), every frame pinned once", () => {
    const s = r.snaps[5];
    expect(s.domains).toHaveLength(1);
    const d = s.domains[0];
    // 2 KiB .. 64 GiB
    const pgsizes = Array.from({ length: 26 }, (_, i) => 2048 * 2 ** i);
    expect(d).toMatchObject({ ctx: 0, hwpt: 4, ioas: 1, driver: 'mock-amdv1', pgsizes, devices: [3], autoDomain: true, mappedBytes: 65536, strayBytes: 0 });
    expect(d.runs).toEqual([{ iova: 0x1000000, length: 65536, paddr: pfn0 * 4096, pgsize: 65536, dirty: false }]);
    expect(s.ioas[0].domains).toEqual([4]);
    expect(s.ioas[0].areas[0].storageDomain).toBe(4);
    // The mock aperture reserves everything outside [1<<24, 1<<31).
    expect(s.ioas[0].reserved).toEqual([
      { first: '0x0', last: '0xffffff', owner: 'aperture' },
      { first: '0x80000000', last: '0xffffffffffffffff', owner: 'aperture' },
    ]);
    expect(s.pages[0].tiers).toEqual([{ first: 0, last: 15, xarray: false, domain: true, accessUsers: 0 }]);
    expect(s.pages[0].npinned).toBe(16);
    expect(s.pages[0].charged).toBe(16);
    expect(s.frames).toEqual([{ pfn: pfn0, n: 16, ref: 2, pin: 1 }]);
    expect(s.accounting.users[0].lockedVm).toBe(16);
    expect(s.accounting.mms[0]).toEqual({ key: 0, pids: [1], lockedVm: 0, pinnedVm: 16 });
    const types = s.objects.map((o) => `${o.id}:${o.type}`);
    expect(types).toEqual(['1:IOAS', '2:SELFTEST', '3:DEVICE', '4:HWPT_PAGING']);
    expect(s.objects.find((o) => o.id === 3)?.links).toEqual({ hwpt: 4 });
    expect(s.objects.find((o) => o.id === 4)?.links).toEqual({ ioas: 1 });
    expect(s.devices).toEqual([{ ctx: 0, id: 3, hwpt: 4, mockFlags: 0, selftest: 2 }]);
  });

  it('an access pin puts its pages in the xarray too, without a second pin (one pin per page per pages object)', () => {
    const s = r.snaps[7];
    expect(s.pages[0].tiers).toEqual([
      { first: 0, last: 3, xarray: false, domain: true, accessUsers: 0 },
      { first: 4, last: 5, xarray: true, domain: true, accessUsers: 1 },
      { first: 6, last: 15, xarray: false, domain: true, accessUsers: 0 },
    ]);
    expect(s.pages[0].xarrayEntries).toBe(2);
    expect(s.pages[0].accessRanges).toEqual([{ first: 4, last: 5, users: 1 }]);
    // pages_fill_xarray copies the PFNs the domain holds: the frames keep their one pin.
    expect(s.frames).toEqual([{ pfn: pfn0, n: 16, ref: 2, pin: 1 }]);
    // Still charged once: npinned counts pages, not pins.
    expect(s.pages[0].npinned).toBe(16);
    expect(s.accesses).toHaveLength(1);
    expect(s.accesses[0]).toMatchObject({ ctx: 0, ioas: 1, needsPinPages: true, items: [{ id: 0, iova: '0x1004000', length: '0x2000' }] });
    const accFd = s.processes[0].fds.find((f) => f.kind === 'access');
    expect(accFd).toMatchObject({ ctx: 0, access: s.accesses[0].id });
    expect(s.accesses[0].fd).toBe(`1:${accFd!.fd}`);
    expect(s.ioas[0].accesses).toEqual([s.accesses[0].id]);
  });

  it('a selftest reserved range shows with its owner', () => {
    expect(r.snaps[8].ioas[0].reserved).toContainEqual({ first: '0x2000000', last: '0x2000fff', owner: 'selftest' });
  });

  it('is plain JSON data (no bigint, no undefined, the same after a round trip)', () => {
    for (const s of r.snaps) expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    const live = run(BASE.replace(/ {2}- \{ op: ioas_unmap.*\n/, '')).snaps;
    expect(live.length).toBe(10);
  });

  it('diff: mock_domain adds the domain, moves every page into the domain tier and pins every frame', () => {
    const d = diffSnapshots(r.snaps[4], r.snaps[5]);
    expect(d.empty).toBe(false);
    expect(d.objects.added.map((o) => `${o.id}:${o.type}`)).toEqual(['2:SELFTEST', '3:DEVICE', '4:HWPT_PAGING']);
    expect(d.objects.removed).toEqual([]);
    expect(d.domains.added).toEqual([{ ctx: 0, hwpt: 4 }]);
    expect(d.pages.changed).toEqual([{ key: 0, tiers: [{ first: 0, last: 15 }], pfns: [], npinned: [0, 16] }]);
    expect(d.frames).toEqual([{ first: pfn0, last: pfn0 + 15, before: [1, 0], after: [2, 1] }]);
    expect(d.counters).toContainEqual({ what: 'user 1000 locked_vm', before: 0, after: 16 });
    expect(d.counters).toContainEqual({ what: 'mm #0 pinned_vm', before: 0, after: 16 });
  });

  it('diff: the access pin changes exactly the tiers of pages 4-5, no frame count', () => {
    const d = diffSnapshots(r.snaps[6], r.snaps[7]);
    expect(d.pages.changed).toEqual([{ key: 0, tiers: [{ first: 4, last: 5 }], pfns: [], npinned: [16, 16] }]);
    expect(d.frames).toEqual([]);
    expect(d.domains.changed).toEqual([]);
  });

  it('diff: the unmap removes the area, empties the domain and unpins everything', () => {
    const d = diffSnapshots(r.snaps[9], r.snaps[10]);
    expect(d.areas.removed).toEqual([{ ctx: 0, ioas: 1, iova: '0x1000000', last: '0x100ffff' }]);
    expect(d.pages.removed).toEqual([0]);
    expect(d.domains.changed).toEqual([{ ctx: 0, hwpt: 4, iova: [{ first: 0x1000000, last: 0x100ffff }], mappedBytes: [65536, 0] }]);
    expect(r.snaps[10].domains[0].runs).toEqual([]);
    expect(r.snaps[10].frames).toEqual([]);
    expect(d.frames).toEqual([{ first: pfn0, last: pfn0 + 15, before: [2, 1], after: null }]);
  });

  it('diff of a snapshot with itself is empty', () => {
    expect(diffSnapshots(r.snaps[7], r.snaps[7]).empty).toBe(true);
  });
});

describe('IOPTE sizes and scattered runs', () => {
  it("v6.12's huge mock domain maps a THP-backed 2 MiB as two 1 MiB-IOPTE halves of one run", () => {
    const r = run(`
profile: v6.12
memory: 256M
memlock: unlimited
calls:
  - { op: mmap, as: $buf, length: 2M, thp: true, expect: ok }
  - { op: write_memory, addr: $buf, fill: 0x11, length: 2M, expect: ok }
  - { op: open, path: /dev/iommu, as: $fd, expect: ok }
  - { op: ioas_alloc, as: $ioas, expect: ok }
  - { op: mock_domain_flags, as: $dev, pt: $ioas, dev_flags: [HUGE_IOVA], expect: ok }
  - { op: ioas_map, ioas: $ioas, user_va: $buf, length: 2M, iova: 0x1000000, flags: [READABLE, WRITEABLE, FIXED_IOVA], expect: ok }
  - { op: mmap, as: $small, length: 16K, expect: ok }
  - { op: write_memory, addr: $small, fill: 0x22, length: 16K, expect: ok }
  - { op: ioas_map, ioas: $ioas, user_va: $small, length: 16K, iova: 0x2000000, flags: [READABLE, FIXED_IOVA], expect: ok }
`, [[0, 1], [6, 4]]);
    const s = r.snaps[8];
    const big = r.user[0][0];
    expect(s.domains[0].driver).toBe('mock-huge');
    expect(s.domains[0].pgsizes).toEqual([2048, 1048576]);
    const runs = s.domains[0].runs;
    expect(runs[0]).toEqual({ iova: 0x1000000, length: 2 * 1048576, paddr: big * 4096, pgsize: 1048576, dirty: false });
    // The scattered 4 KiB pages: each its own run of 2 KiB IOPTEs, translating to what the page table maps.
    const rest = runs.slice(1);
    expect(rest.reduce((n, x) => n + x.length, 0)).toBe(16384);
    for (const x of rest) {
      expect(x.pgsize).toBe(2048);
      const off = x.iova - 0x2000000;
      expect(x.paddr).toBe(r.user[1][Math.floor(off / 4096)] * 4096 + (off % 4096));
    }
    expect(s.ioas[0].areas.map((a) => a.prot)).toEqual(['rw', 'r-']);
    expect(s.pages.map((p) => p.writable)).toEqual([true, false]);
  });
});

describe('identity across snapshots', () => {
  it('a fork shares the memcg: its counters keep their key, so the diff shows no change there', () => {
    const r = run(`
memory: 256M
memlock: unlimited
calls:
  - { op: mmap, as: $buf, length: 64K, expect: ok }
  - { op: write_memory, addr: $buf, fill: 0x11, length: 64K, expect: ok }
  - { op: open, path: /dev/iommu, as: $fd, expect: ok }
  - { op: fork, as: $child, expect: ok }
`);
    const [a, b] = [r.snaps[2], r.snaps[3]];
    expect(a.accounting.memcgs.map((g) => [g.key, g.pids])).toEqual([[1, [1]]]);
    expect(b.accounting.memcgs.map((g) => [g.key, g.pids])).toEqual([[1, [1, 2]]]);
    // The child has an mm of its own (a new key); the parent's keeps its key.
    expect(b.accounting.mms.map((m) => [m.key, m.pids])).toEqual([
      [0, [1]],
      [2, [2]],
    ]);
    const d = diffSnapshots(a, b);
    expect(d.counters.filter((c) => c.what.startsWith('memcg'))).toEqual([]);
    expect(b.processes.map((p) => [p.pid, p.ppid, p.fds.map((f) => `${f.fd}:${f.kind}:${f.ctx}`)])).toEqual([
      [1, 0, ['3:iommufd:0']],
      [2, 1, ['3:iommufd:0']],
    ]);
  });
});
