// SPDX-License-Identifier: GPL-2.0-only
/**
 * The huge zero page (mm/huge_memory.c do_huge_pmd_anonymous_page()): a read
 * fault in THP-enabled anonymous memory maps one shared, compound, all-zero
 * folio by PMD; a write splits it into small zero PTEs and takes a small page
 * (6.12 do_huge_pmd_wp_page()) or puts a THP in its place (7.x
 * do_huge_zero_wp_pmd()). MD_CHECK_REFS skips it as compound. Kernel-checked
 * by test/regressions/thp-read-fault-huge-zero-page.yaml.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/index.js';
import { MmStruct } from '../../src/mm/address-space.js';
import { FOLL_LONGTERM, MADV_COLLAPSE, MADV_DONTNEED, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { getUserPages, pinUserPages, putPages, unpinUserPages } from '../../src/mm/gup.js';
import { PhysicalMemory } from '../../src/mm/physical-memory.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const M2 = 2n << 20n;
const BASE = 0x40000000n;

function thpArea(mm: MmStruct, blocks: bigint) {
  expect(mm.mmap(BASE, blocks * M2, RW, PA | MAP_FIXED)).toBe(BASE);
  expect(mm.madvise(BASE, blocks * M2, MADV_HUGEPAGE)).toBe(0);
}

describe('the huge zero page', () => {
  it('a read fault maps one compound zero folio, shared by every block and every process, freed with the last', () => {
    const m = new Machine({ memory: '64M', seed: 3, panicOnWarn: true });
    const p = m.spawn();
    const q = m.spawn();
    thpArea(p.mm, 2n);
    thpArea(q.mm, 1n);
    const b = new Uint8Array(8);
    expect(p.readMemory(BASE + 0x1234n, b)).toBe(0);
    expect(p.readMemory(BASE + M2, b)).toBe(0);
    expect(q.readMemory(BASE, b)).toBe(0);
    expect([...b]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const hz = p.mm.lookupPfn(BASE);
    expect(m.phys.folioOrder(hz)).toBe(9);
    expect(p.mm.lookupPfn(BASE + 0x1000n)).toBe(hz + 1);
    expect(p.mm.lookupPfn(BASE + M2)).toBe(hz);
    expect(q.mm.lookupPfn(BASE)).toBe(hz);
    expect(m.phys.framesInUse()).toBe(512);
    const c = p.fork();
    expect(c.mm.lookupPfn(BASE)).toBe(hz);
    p.exit();
    q.exit();
    expect(m.phys.framesInUse()).toBe(512);
    c.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  it('6.12: a write splits it into small zero PTEs and takes one small page; the rest still reads as zero', () => {
    const phys = new PhysicalMemory(64n << 20n, { seed: 2 });
    const mm = new MmStruct(phys);
    thpArea(mm, 1n);
    expect(mm.readUser(BASE, new Uint8Array(1))).toBe(0);
    const hz = mm.lookupPfn(BASE);
    expect(mm.writeUser(BASE + 0x3000n, new Uint8Array([7]))).toBe(0);
    expect(phys.folioOrder(mm.lookupPfn(BASE + 0x3000n))).toBe(0);
    expect(mm.lookupPfn(BASE)).toBe(phys.zeroPfn);
    expect(mm.lookupPfn(BASE + 0x3000n)).not.toBe(hz + 3);
    // no longer mapped anywhere: the huge zero folio goes when the mm does
    mm.mmput();
    expect(phys.framesInUse()).toBe(0);
  });

  it('7.2: a write puts a THP in its place', () => {
    const phys = new PhysicalMemory(64n << 20n, { seed: 2 });
    const mm = new MmStruct(phys, { hugeZeroWpThp: true });
    thpArea(mm, 1n);
    expect(mm.readUser(BASE, new Uint8Array(1))).toBe(0);
    const hz = mm.lookupPfn(BASE);
    expect(mm.writeUser(BASE + 0x3000n, new Uint8Array([7]))).toBe(0);
    const head = mm.lookupPfn(BASE);
    expect(head).not.toBe(hz);
    expect(phys.folioOrder(head)).toBe(9);
    const b = new Uint8Array(1);
    expect(mm.readUser(BASE + 0x3000n, b)).toBe(0);
    expect(b[0]).toBe(7);
    mm.mmput();
    expect(phys.framesInUse()).toBe(0);
  });

  it('GUP: a read (FOLL_GET) takes and counts the huge zero folio; a long-term pin unshares into a small anon page', () => {
    const phys = new PhysicalMemory(64n << 20n, { seed: 2 });
    const mm = new MmStruct(phys);
    thpArea(mm, 1n);
    expect(mm.readUser(BASE, new Uint8Array(1))).toBe(0);
    const hz = mm.lookupPfn(BASE);
    const out = new Uint32Array(2);
    expect(getUserPages(mm, BASE, 2, 0, out, 0)).toBe(2);
    expect([...out]).toEqual([hz, hz + 1]);
    putPages(phys, out, 0, 2);
    expect(pinUserPages(mm, BASE, 1, FOLL_LONGTERM, out, 0)).toBe(1);
    expect(out[0]).not.toBe(hz);
    expect(phys.folioOrder(out[0])).toBe(0);
    expect(phys.folioPincount(out[0])).toBe(1);
    unpinUserPages(phys, out, 0, 1, false);
    mm.mmput();
    expect(phys.framesInUse()).toBe(0);
  });

  it('a long-term read pin of an untouched block: read fault first (the huge zero page), then unshare: 6.12 splits, 7.2 takes a THP', () => {
    for (const hugeZeroWpThp of [false, true]) {
      const phys = new PhysicalMemory(64n << 20n, { seed: 2 });
      const mm = new MmStruct(phys, { hugeZeroWpThp });
      thpArea(mm, 1n);
      const out = new Uint32Array(9);
      expect(pinUserPages(mm, BASE, 9, FOLL_LONGTERM, out, 0)).toBe(9);
      // the huge zero folio was mapped on the way, then left (6.12) or replaced (7.2)
      expect(mm.hugeZeroFolio).toBeGreaterThanOrEqual(0);
      if (hugeZeroWpThp) {
        const head = mm.lookupPfn(BASE);
        expect(head).not.toBe(mm.hugeZeroFolio);
        expect(phys.folioOrder(head)).toBe(9);
        expect([...out]).toEqual(Array.from({ length: 9 }, (_, k) => head + k));
        expect(mm.lookupPfn(BASE + 0xc000n)).toBe(head + 12);
      } else {
        for (let k = 0; k < 9; k++) {
          expect(phys.folioOrder(out[k])).toBe(0);
          expect(phys.folioPincount(out[k])).toBe(1);
          expect(mm.lookupPfn(BASE + BigInt(k) * 0x1000n)).toBe(out[k]);
        }
        // the rest of the block: small zero PTEs from the split
        expect(mm.lookupPfn(BASE + 0xc000n)).toBe(phys.zeroPfn);
        expect(mm.lookupPfn(BASE + M2 - 0x1000n)).toBe(phys.zeroPfn);
      }
      unpinUserPages(phys, out, 0, 9, false);
      mm.mmput();
      expect(phys.framesInUse()).toBe(0);
    }
  });

  it('a partial MADV_DONTNEED splits it; MADV_COLLAPSE counts the PMD-mapped zero folio as done', () => {
    const phys = new PhysicalMemory(64n << 20n, { seed: 2 });
    const mm = new MmStruct(phys);
    thpArea(mm, 2n);
    expect(mm.writeUser(BASE + M2, new Uint8Array([1]))).toBe(0);
    expect(mm.readUser(BASE, new Uint8Array(1))).toBe(0);
    expect(mm.madvise(BASE, M2, MADV_COLLAPSE)).toBe(0);
    expect(mm.madvise(BASE, 0x1000n, MADV_DONTNEED)).toBe(0);
    expect(mm.lookupPfn(BASE)).toBe(-1);
    expect(mm.lookupPfn(BASE + 0x1000n)).toBe(phys.zeroPfn);
    mm.mmput();
    expect(phys.framesInUse()).toBe(0);
  });
});
