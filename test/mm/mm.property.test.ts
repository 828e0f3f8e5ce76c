// SPDX-License-Identifier: GPL-2.0-only
// Random mm programs (mmap of every kind, touches, pins, munmap, mprotect,
// madvise, fork, exit) with a whole-memory audit after each step: every
// frame's refcount and pincount equal the references the page tables, page
// caches and held pins account for, and no allocated folio is unreferenced.
// At the end everything is released and not one frame may remain.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Machine, type Process } from '../../src/machine/index.js';
import {
  FOLL_LONGTERM,
  FOLL_WRITE,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  VM_HUGETLB,
} from '../../src/mm/constants.js';
import { getUserPages, pinUserPages, pinUserPagesRemote, putPages, unpinUserPages } from '../../src/mm/gup.js';
import type { MemFile } from '../../src/mm/memfile.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const SA = MAP_SHARED | MAP_ANONYMOUS;
const PG = 4096n;

interface Region {
  addr: bigint;
  pages: number;
}
interface Pin {
  pfns: Uint32Array;
  n: number;
  pin: boolean;
}

const KINDS = [
  { prot: RW, flags: PA },
  { prot: RW, flags: SA },
  { prot: RW, flags: PA, thp: true },
  { prot: RW, flags: PA | MAP_HUGETLB },
  { prot: RW, flags: SA | MAP_HUGETLB },
  { prot: PROT_READ, flags: PA },
  { prot: PROT_NONE, flags: PA },
  { prot: RW, flags: PA | MAP_POPULATE },
  { prot: RW, flags: PA | MAP_LOCKED },
] as const;

function audit(m: Machine, procs: Process[], pins: Pin[]): void {
  const phys = m.phys;
  const ref = new Map<number, number>();
  const pinc = new Map<number, number>();
  const add = (map: Map<number, number>, pfn: number) => map.set(pfn, (map.get(pfn) ?? 0) + 1);
  const hugeMaps = new Map<number, number>();
  const files = new Set<MemFile>();
  for (const p of procs) {
    p.mm.forEachMapping((_vpn, pfn, _flags, huge) => {
      if (pfn === phys.zeroPfn) return;
      if (huge) {
        for (let k = 0; k < 512; k++) add(ref, pfn + k);
        add(hugeMaps, phys.folioHead(pfn));
      } else add(ref, pfn);
    });
    for (const v of p.mm.vmas) if (v.file) files.add(v.file);
  }
  for (const f of files) for (const [, head] of f.cached()) add(ref, head);
  // the huge zero folio's own hold (one PMD-size mapping count while any mm holds it)
  const hugeZero = new Set(procs.map((p) => p.mm.hugeZeroFolio).filter((h) => h >= 0));
  for (const h of hugeZero) {
    for (let k = 0; k < 512; k++) add(ref, h + k);
    add(hugeMaps, h);
  }
  for (const r of pins)
    for (let k = 0; k < r.n; k++) {
      if (r.pfns[k] === phys.zeroPfn) continue;
      add(ref, r.pfns[k]);
      if (r.pin) add(pinc, r.pfns[k]);
    }
  let frames = 0;
  for (const [head, order] of phys.folios()) {
    const n = 2 ** order;
    frames += n;
    let total = 0;
    for (let pfn = head; pfn < head + n; pfn++) {
      const want = ref.get(pfn) ?? 0;
      const got = phys.refcount(pfn);
      if (got !== want) throw new Error(`pfn ${pfn}: refcount ${got}, expected ${want}`);
      const wp = pinc.get(pfn) ?? 0;
      if (phys.pincount(pfn) !== wp) throw new Error(`pfn ${pfn}: pincount ${phys.pincount(pfn)}, expected ${wp}`);
      total += got;
      ref.delete(pfn);
    }
    if (total === 0) throw new Error(`folio ${head} (order ${order}) allocated without references`);
    // folio_ref_count: a PMD-size mapping is one reference on the folio, not 512
    const folioTotal = total - 511 * (hugeMaps.get(head) ?? 0);
    if (phys.folioRefcount(head) !== folioTotal) throw new Error(`folio ${head}: total ${phys.folioRefcount(head)} != ${folioTotal}`);
  }
  if (ref.size) throw new Error(`referenced frames not allocated: ${[...ref.keys()].slice(0, 5)}`);
  if (frames !== phys.framesInUse()) throw new Error(`framesInUse ${phys.framesInUse()} != ${frames}`);
  // A page table for every 2 MiB slice mapped through PTEs or by a THP / huge zero PMD (hugetlb needs
  // none); an emptied one may stay (zap frees no table), but not past munmap of every VMA in its slice
  // (free_pgtables()); RAM counts exactly the tables of the live address spaces.
  let tables = 0;
  for (const p of procs) {
    const slices = new Set<number>();
    p.mm.forEachMapping((vpn, _pfn, _flags, huge) => {
      if (huge && p.mm.vmas.some((v) => v.start <= vpn && vpn < v.end && v.flags & VM_HUGETLB)) return;
      slices.add(Math.floor(vpn / 512));
    });
    const held = new Set<number>();
    for (const [key, node] of p.mm.pt) if (node.table) held.add(key);
    for (const k of slices) if (!held.has(k)) throw new Error(`slice ${k} is mapped without a page table`);
    for (const k of held) if (!p.mm.vmas.some((v) => v.start < (k + 1) * 512 && v.end > k * 512)) throw new Error(`slice ${k} keeps a page table with no VMA in it`);
    tables += held.size;
  }
  if (tables !== phys.tablePages()) throw new Error(`tablePages ${phys.tablePages()} != ${tables}`);
}

function run(seed: number, layout: 'scattered' | 'linear', ops: [number, number, number, number][]): number {
  const m = new Machine({ memory: '96M', seed, physLayout: layout, panicOnWarn: true, hugetlbPages: { '2M': 12 } });
  const first = m.spawn({ memlock: 'unlimited' });
  const procs: Process[] = [first];
  const regions = new Map<Process, Region[]>([[first, []]]);
  const pins: Pin[] = [];
  const mms = [first.mm];
  let done = 0;
  for (const [op, a, b, c] of ops) {
    const p = procs[a % procs.length];
    const regs = regions.get(p)!;
    const r = regs.length ? regs[b % regs.length] : undefined;
    const page = r ? (c >>> 3) % r.pages : 0;
    const va = r ? r.addr + BigInt(page) * PG : 0x1000_0000n;
    const n = 1 + (b % 600);
    switch (op) {
      case 0: {
        const k = KINDS[c % KINDS.length];
        const huge = (k.flags & MAP_HUGETLB) !== 0;
        const pages = huge ? 512 * (1 + (a % 2)) : 1 + (b % 700);
        let addr = 0n;
        let flags: number = k.flags;
        if (r && !huge && (a & 7) === 0) {
          addr = va;
          flags |= MAP_FIXED;
        }
        const got = p.mmap(addr, BigInt(pages) * PG, k.prot, flags);
        if (got >= 0n) {
          regs.push({ addr: got, pages });
          if ('thp' in k) p.madvise(got, BigInt(pages) * PG, MADV_HUGEPAGE);
        }
        break;
      }
      case 1:
        p.writeMemory(va + BigInt(c & 4095), new Uint8Array(1 + (b % 9000)).fill(c & 0xff));
        break;
      case 2:
        p.readMemory(va + BigInt(c & 4095), new Uint8Array(1 + (b % 9000)));
        break;
      case 3: {
        const flags = [0, FOLL_LONGTERM | FOLL_WRITE, FOLL_LONGTERM, FOLL_WRITE][c & 3];
        const out = new Uint32Array(n);
        const rc = c & 4 ? pinUserPagesRemote(p.mm, va, n, flags, out, 0) : pinUserPages(p.mm, va, n, flags, out, 0);
        expect(rc).not.toBe(0);
        if (rc > 0) pins.push({ pfns: out, n: rc, pin: true });
        break;
      }
      case 4:
        if (pins.length) {
          const [x] = pins.splice(a % pins.length, 1);
          if (x.pin) unpinUserPages(m.phys, x.pfns, 0, x.n, (c & 1) === 1);
          else putPages(m.phys, x.pfns, 0, x.n);
        }
        break;
      case 5:
        p.munmap(va, BigInt(1 + (b % 300)) * PG);
        break;
      case 6:
        p.mprotect(va, BigInt(1 + (b % 300)) * PG, [RW, PROT_READ, PROT_NONE][c % 3]);
        break;
      case 7:
        p.madvise(va, BigInt(n) * PG, [MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_POPULATE_WRITE, MADV_POPULATE_READ][c % 7]);
        break;
      case 8:
        if (procs.length < 5) {
          const child = p.forkOrErrno();
          if (typeof child === 'number') {
            expect(child).toBe(-12);
            break;
          }
          procs.push(child);
          mms.push(child.mm);
          regions.set(
            child,
            regs.map((x) => ({ ...x })),
          );
        }
        break;
      case 9:
        if (procs.length > 1) {
          p.exit();
          procs.splice(procs.indexOf(p), 1);
          regions.delete(p);
        }
        break;
      default: {
        const out = new Uint32Array(n);
        const rc = getUserPages(p.mm, va, n, c & 1 ? FOLL_WRITE : 0, out, 0);
        if (rc > 0) {
          if (c & 2) putPages(m.phys, out, 0, rc);
          else pins.push({ pfns: out, n: rc, pin: false });
        }
      }
    }
    audit(m, procs, pins);
    done++;
  }
  for (const x of pins) {
    if (x.pin) unpinUserPages(m.phys, x.pfns, 0, x.n, false);
    else putPages(m.phys, x.pfns, 0, x.n);
  }
  for (const p of procs) p.exit();
  expect(m.phys.framesInUse()).toBe(0);
  expect(m.phys.tablePages()).toBe(0);
  expect([...m.phys.folios()]).toEqual([]);
  expect(m.phys.hugetlbStats(9)).toMatchObject({ inUse: 0, reserved: 0 });
  for (const mm of mms) {
    expect(mm.users).toBe(0);
    expect(mm.lockedVm).toBe(0);
    expect(mm.pinnedVm).toBe(0);
    expect(mm.pt.size).toBe(0);
  }
  expect(m.warnings).toEqual([]);
  return done;
}

describe('mm property: random programs leave nothing behind', () => {
  let total = 0;
  const op = fc.tuple(fc.nat(10), fc.nat(), fc.nat(), fc.nat());
  for (const layout of ['scattered', 'linear'] as const) {
    it(`${layout} layout`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(op, { minLength: 40, maxLength: 120 }), (seed, ops) => {
          total += run(seed, layout, ops);
        }),
        { seed: layout === 'scattered' ? 20240611 : 7, numRuns: 30 },
      );
    });
  }
  it('ran a few thousand operations', () => {
    expect(total).toBeGreaterThan(3000);
  });
});
