// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { EFAULT, EINVAL, ENOMEM, EOVERFLOW } from '../../src/base/errno.js';
import { Machine, type MachineOptions } from '../../src/machine/index.js';
import {
  FOLL_LONGTERM,
  FOLL_NOFAULT,
  FOLL_PIN,
  FOLL_WRITE,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
} from '../../src/mm/constants.js';
import {
  getUserPages,
  getUserPagesRemote,
  pinUserPages,
  pinUserPagesRemote,
  putPages,
  unpinUserPageRange,
  unpinUserPages,
} from '../../src/mm/gup.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const PG = 4096n;
const M2 = 2n << 20n;
const LW = FOLL_LONGTERM | FOLL_WRITE;

function setup(o: MachineOptions = {}) {
  const m = new Machine({ memory: '64M', seed: 4, panicOnWarn: true, ...o });
  const p = m.spawn();
  return { m, p, mm: p.mm, phys: m.phys };
}

describe('pin_user_pages errors', () => {
  it('EFAULT for a hole, PROT_NONE, write to read-only, PFNMAP', () => {
    const { p, mm, phys } = setup();
    const out = new Uint32Array(8);
    expect(pinUserPages(mm, 0x100000n, 1, LW, out, 0)).toBe(-EFAULT);
    const none = p.mmap(0n, PG, PROT_NONE, PA);
    expect(pinUserPages(mm, none, 1, FOLL_LONGTERM, out, 0)).toBe(-EFAULT);
    const ro = p.mmap(0n, PG, PROT_READ, PA);
    expect(pinUserPages(mm, ro, 1, LW, out, 0)).toBe(-EFAULT);
    expect(pinUserPages(mm, ro, 1, FOLL_LONGTERM, out, 0)).toBe(1);
    const wo = p.mmap(0n, PG, PROT_WRITE, PA);
    expect(pinUserPages(mm, wo, 1, FOLL_LONGTERM, out, 1)).toBe(-EFAULT);
    expect(pinUserPages(mm, wo, 1, LW, out, 1)).toBe(1);
    const f = phys.allocFolio(0);
    const io = mm.mmapPfnmap(0n, PG, RW, f);
    expect(pinUserPages(mm, io, 1, FOLL_LONGTERM, out, 2)).toBe(-EFAULT);
    expect(getUserPages(mm, io, 1, 0, out, 2)).toBe(-EFAULT);
    unpinUserPages(phys, out, 0, 2, false);
  });

  it('partial progress stops at the first bad page', () => {
    const { p, mm, phys } = setup();
    const a = p.mmap(0n, 8n * PG, RW, PA);
    p.munmap(a + 5n * PG, PG);
    p.mprotect(a + 3n * PG, PG, PROT_READ);
    const out = new Uint32Array(8);
    expect(pinUserPages(mm, a, 8, LW, out, 0)).toBe(3);
    unpinUserPages(phys, out, 0, 3, true);
    expect(pinUserPages(mm, a, 8, FOLL_LONGTERM, out, 0)).toBe(5);
    unpinUserPages(phys, out, 0, 5, false);
    expect(pinUserPages(mm, a + 5n * PG, 2, FOLL_LONGTERM, out, 0)).toBe(-EFAULT);
    p.exit();
    expect(phys.framesInUse()).toBe(0);
  });

  it('ENOMEM when a fault cannot allocate; partial when memory runs out midway', () => {
    const { p, mm, phys } = setup({ memory: '1M' });
    const SLICE = 2n << 20n;
    const a = p.mmap(64n * SLICE, 1n << 20n, RW, PA | MAP_FIXED);
    const out = new Uint32Array(256);
    // the first fault takes a page for its page table (do_anonymous_page()'s pte_alloc()), so 255 of the 256 fit
    expect(pinUserPages(mm, a, 256, LW, out, 0)).toBe(255);
    expect(phys.tablePages()).toBe(1);
    expect(phys.framesInUse()).toBe(255);
    expect(phys.freeFrames()).toBe(0);
    const b = p.mmap(a + (1n << 20n) + 16n * PG, 2n * PG, RW, PA | MAP_FIXED);
    const o2 = new Uint32Array(2);
    expect(pinUserPages(mm, b, 2, LW, o2, 0)).toBe(-ENOMEM);
    unpinUserPages(phys, out, 254, 1, false);
    p.munmap(a + 254n * PG, PG);
    // b shares a's table: the freed page is enough for one of its two
    expect(pinUserPages(mm, b, 2, LW, o2, 0)).toBe(1);
    // read pins of untouched anon memory still need a page (unshare of the zero page)
    expect(pinUserPages(mm, b + PG, 1, FOLL_LONGTERM, o2, 1)).toBe(-ENOMEM);
    // ... but a short-term read pin takes the zero page
    expect(pinUserPages(mm, b + PG, 1, 0, o2, 1)).toBe(1);
    expect(o2[1]).toBe(phys.zeroPfn);
    unpinUserPages(phys, o2, 0, 2, false);
    // a page in another 2 MiB slice needs a table of its own first: even the zero page does not map
    unpinUserPages(phys, out, 253, 1, false);
    p.munmap(a + 253n * PG, PG);
    expect(phys.freeFrames()).toBe(1);
    const c = p.mmap(a + SLICE, PG, PROT_READ, PA | MAP_FIXED);
    expect(pinUserPages(mm, c, 1, 0, o2, 0)).toBe(1);
    expect(phys.tablePages()).toBe(2);
    expect(phys.freeFrames()).toBe(0);
    const d = p.mmap(a + 2n * SLICE, PG, PROT_READ, PA | MAP_FIXED);
    expect(pinUserPages(mm, d, 1, 0, o2, 1)).toBe(-ENOMEM);
    unpinUserPages(phys, o2, 0, 1, false);
    p.munmap(c, PG);
    expect(phys.tablePages()).toBe(1);
    unpinUserPages(phys, out, 0, 253, false);
    p.exit();
    expect(phys.tablePages()).toBe(0);
    expect(phys.framesInUse()).toBe(0);
  });

  it('range wrapping past 2^64: 0 pages on v6.5, -EOVERFLOW on latest; past TASK_SIZE -EFAULT', () => {
    const { mm } = setup({ profile: 'v6.5' });
    const out = new Uint32Array(4);
    const top = (1n << 64n) - PG;
    expect(pinUserPages(mm, top, 2, LW, out, 0)).toBe(0);
    expect(pinUserPages(mm, TASK_SIZE - PG, 2, LW, out, 0)).toBe(-EFAULT);
    expect(pinUserPagesRemote(mm, top, 2, LW, out, 0)).toBe(-EFAULT);
    const { mm: mm2 } = setup();
    expect(pinUserPages(mm2, top, 2, LW, out, 0)).toBe(-EOVERFLOW);
    const { mm: mm3 } = setup({ profile: 'v6.5', gupOverflowErrno: EOVERFLOW });
    expect(pinUserPages(mm3, top, 2, LW, out, 0)).toBe(-EOVERFLOW);
  });

  it('an unaligned start is aligned down (the kernel masks it with PAGE_MASK)', () => {
    const { p, mm, phys } = setup();
    const a = p.mmap(0n, 2n * PG, RW, PA | MAP_POPULATE);
    const out = new Uint32Array(2);
    expect(pinUserPages(mm, a + 100n, 2, LW, out, 0)).toBe(2);
    expect(out[0]).toBe(mm.lookupPfn(a));
    expect(out[1]).toBe(mm.lookupPfn(a + PG));
    unpinUserPages(phys, out, 0, 2, false);
  });

  it('flags reserved to the core are a WARN and -EINVAL', () => {
    const { mm, m } = setup({ panicOnWarn: false });
    const out = new Uint32Array(1);
    expect(pinUserPages(mm, 0x100000n, 1, FOLL_PIN, out, 0)).toBe(-EINVAL);
    expect(m.warnings.map((w) => w.assertion)).toEqual(['is_valid_gup_args']);
  });

  it('FOLL_NOFAULT does not fault', () => {
    const { p, mm } = setup();
    const a = p.mmap(0n, 2n * PG, RW, PA);
    const out = new Uint32Array(2);
    expect(pinUserPages(mm, a, 2, FOLL_WRITE | FOLL_NOFAULT, out, 0)).toBe(-EFAULT);
    expect(mm.residentPages()).toBe(0);
  });
});

describe('pin counts', () => {
  it('each pinned frame: refcount +1, pincount +1; FOLL_GET only refcount', () => {
    const { p, mm, phys } = setup();
    const a = p.mmap(0n, 4n * PG, RW, PA | MAP_POPULATE);
    const out = new Uint32Array(4);
    expect(pinUserPages(mm, a, 4, LW, out, 0)).toBe(4);
    for (const pfn of out) {
      expect(phys.refcount(pfn)).toBe(2);
      expect(phys.pincount(pfn)).toBe(1);
    }
    const g = new Uint32Array(4);
    expect(getUserPages(mm, a, 4, 0, g, 0)).toBe(4);
    expect(g).toEqual(out);
    expect(phys.refcount(out[0])).toBe(3);
    expect(phys.pincount(out[0])).toBe(1);
    putPages(phys, g, 0, 4);
    unpinUserPages(phys, out, 0, 4, true);
    for (const pfn of out) {
      expect(phys.refcount(pfn)).toBe(1);
      expect(phys.pincount(pfn)).toBe(0);
      expect(phys.isDirty(pfn)).toBe(true);
    }
  });

  it('THP pages pin per 4 KiB frame and unpin as a contiguous range', () => {
    const { p, mm, phys } = setup();
    const a = p.mmap(0n, 2n * M2, RW, PA);
    p.madvise(a, 2n * M2, MADV_HUGEPAGE);
    const out = new Uint32Array(1024);
    expect(pinUserPages(mm, a + 10n * PG, 1000, LW, out, 0)).toBe(1000);
    const head = phys.folioHead(out[0]);
    expect(phys.folioOrder(head)).toBe(9);
    expect(out[0]).toBe(head + 10);
    expect(out[501]).toBe(out[0] + 501);
    expect(phys.folioPincount(head)).toBe(502);
    expect(phys.pincount(head + 10)).toBe(1);
    expect(phys.pincount(head + 9)).toBe(0);
    unpinUserPageRange(phys, out[0], 502, true);
    unpinUserPageRange(phys, out[502], 498, true);
    expect(phys.folioPincount(head)).toBe(0);
    expect(phys.folioRefcount(head)).toBe(1);
  });

  it('a batched unpin over a frame that holds no pin WARNs and still releases the others', () => {
    const { p, mm, phys, m } = setup({ panicOnWarn: false, thp: 'always' });
    const a = p.mmap(0n, M2, RW, PA | MAP_POPULATE);
    const out = new Uint32Array(8);
    expect(pinUserPages(mm, a, 8, LW, out, 0)).toBe(8);
    unpinUserPageRange(phys, out[0] + 3, 1, false);
    unpinUserPages(phys, out, 0, 8, false);
    expect(m.warnings.map((w) => w.assertion)).toEqual(['unpin_user_page.underflow']);
    expect(phys.folioPincount(out[0])).toBe(0);
    expect(phys.folioRefcount(out[0])).toBe(1);
    p.exit();
    expect(phys.framesInUse()).toBe(0);
  });

  it('hugetlb pages pin frame by frame', () => {
    const { p, mm, phys } = setup();
    const a = p.mmap(0n, M2, RW, PA | MAP_HUGETLB);
    const out = new Uint32Array(512);
    expect(pinUserPages(mm, a, 512, LW, out, 0)).toBe(512);
    expect(phys.isHugetlb(out[0])).toBe(true);
    expect(out[511]).toBe(out[0] + 511);
    p.exit();
    expect(phys.framesInUse()).toBe(512);
    unpinUserPages(phys, out, 0, 512, false);
    expect(phys.framesInUse()).toBe(0);
  });

  it('the zero page is never counted', () => {
    const { p, mm, phys } = setup();
    const a = p.mmap(0n, PG, RW, PA);
    const out = new Uint32Array(1);
    expect(getUserPages(mm, a, 1, 0, out, 0)).toBe(1);
    expect(out[0]).toBe(phys.zeroPfn);
    putPages(phys, out, 0, 1);
    expect(phys.framesInUse()).toBe(0);
  });
});

describe('COW and FOLL_LONGTERM', () => {
  it('a longterm read pin of a COW-shared page unshares it in the pinning mm', () => {
    const { p, mm, phys } = setup();
    const a = p.mmap(0n, PG, RW, PA);
    p.writeMemory(a, new Uint8Array([5]));
    const shared = mm.lookupPfn(a);
    const c = p.fork();
    const out = new Uint32Array(1);
    expect(pinUserPages(mm, a, 1, FOLL_LONGTERM, out, 0)).toBe(1);
    expect(out[0]).not.toBe(shared);
    expect(c.mm.lookupPfn(a)).toBe(shared);
    // the PTE stays read-only but exclusive: a later write keeps the pinned page
    p.writeMemory(a, new Uint8Array([6]));
    expect(mm.lookupPfn(a)).toBe(out[0]);
    const b = new Uint8Array(1);
    phys.read(out[0], 0, b, 0, 1);
    expect(b[0]).toBe(6);
    c.readMemory(a, b);
    expect(b[0]).toBe(5);
    unpinUserPages(phys, out, 0, 1, false);
  });

  it('a short-term read pin does not unshare; FOLL_WRITE breaks COW', () => {
    const { p, mm, phys } = setup();
    const a = p.mmap(0n, PG, RW, PA);
    p.writeMemory(a, new Uint8Array([5]));
    const shared = mm.lookupPfn(a);
    const c = p.fork();
    const out = new Uint32Array(1);
    expect(getUserPages(mm, a, 1, 0, out, 0)).toBe(1);
    expect(out[0]).toBe(shared);
    putPages(phys, out, 0, 1);
    expect(pinUserPages(c.mm, a, 1, FOLL_WRITE, out, 0)).toBe(1);
    expect(out[0]).not.toBe(shared);
    expect(mm.lookupPfn(a)).toBe(shared);
    unpinUserPages(phys, out, 0, 1, true);
  });

  it('shared mappings pin the shared page', () => {
    const { p, mm, phys } = setup();
    const a = p.mmap(0n, PG, RW, MAP_SHARED | MAP_ANONYMOUS);
    const c = p.fork();
    const out = new Uint32Array(2);
    expect(pinUserPages(mm, a, 1, LW, out, 0)).toBe(1);
    expect(pinUserPagesRemote(c.mm, a, 1, LW, out, 1)).toBe(1);
    expect(out[1]).toBe(out[0]);
    expect(phys.pincount(out[0])).toBe(2);
    unpinUserPages(phys, out, 0, 2, false);
    expect(getUserPagesRemote(c.mm, a, 1, 0, out, 0)).toBe(1);
    putPages(phys, out, 0, 1);
  });
});
