// SPDX-License-Identifier: GPL-2.0-only
/**
 * The fast variants' lockless walk (mm/gup.c gup_fast_fallback(): gup_fast()
 * first, the slow walk for the rest): a present entry that allows the access
 * is taken without the VMA checks, so a write-only or exec-only VMA reads
 * where its page is present; PROT_NONE, the zero page, a pin that must
 * unshare and a long-term writable pin of a regular file page fall back to
 * the slow walk and its check_vma_flags(). Checked on 6.12.95 and 7.2.13 by
 * test/regressions/gup-fast-present-pte.yaml.
 */
import { describe, expect, it } from 'vitest';
import { EFAULT, EINVAL } from '../../src/base/errno.js';
import { Machine } from '../../src/machine/index.js';
import {
  FOLL_LONGTERM,
  FOLL_WRITE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/mm/constants.js';
import { getUserPages, getUserPagesRemote, pinUserPages, pinUserPagesRemote, putPages, unpinUserPages } from '../../src/mm/gup.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const PG = 4096n;

function setup(profile?: string) {
  const m = new Machine({ memory: '64M', seed: 4, panicOnWarn: true, ...(profile ? { profile } : {}) });
  const p = m.spawn();
  return { m, p, mm: p.mm, phys: m.phys };
}

describe('gup fast: present entries without the VMA checks', () => {
  it('a write-only VMA: its written page is read (get and pin), a missing page is EFAULT, a range of both is short', () => {
    const { m, p, mm, phys } = setup();
    const w = p.mmap(0n, 2n * PG, PROT_WRITE, PA);
    expect(p.writeMemory(w, new Uint8Array([5]))).toBe(0);
    const pfn = mm.lookupPfn(w);
    const out = new Uint32Array(2);
    expect(getUserPages(mm, w, 1, 0, out, 0)).toBe(1);
    expect(out[0]).toBe(pfn);
    expect(phys.folioRefcount(pfn)).toBe(2);
    putPages(phys, out, 0, 1);
    // an exclusive anon page under a writable entry needs no unshare: the pin is fast too
    expect(pinUserPages(mm, w, 1, FOLL_LONGTERM, out, 0)).toBe(1);
    expect(phys.folioPincount(pfn)).toBe(1);
    unpinUserPages(phys, out, 0, 1, false);
    expect(getUserPages(mm, w + PG, 1, 0, out, 0)).toBe(-EFAULT);
    expect(pinUserPages(mm, w + PG, 1, FOLL_LONGTERM, out, 0)).toBe(-EFAULT);
    expect(getUserPages(mm, w, 2, 0, out, 0)).toBe(1);
    putPages(phys, out, 0, 1);
    // the remote variants have no lockless walk: VM_READ is checked for every page
    expect(getUserPagesRemote(mm, w, 1, 0, out, 0)).toBe(-EFAULT);
    expect(pinUserPagesRemote(mm, w, 1, FOLL_LONGTERM, out, 0)).toBe(-EFAULT);
    // a write goes through either way
    expect(pinUserPages(mm, w, 2, FOLL_LONGTERM | FOLL_WRITE, out, 0)).toBe(2);
    unpinUserPages(phys, out, 0, 2, true);
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  it('an exec-only VMA reads its present pages; PROT_NONE (pte_protnone) falls back and is EFAULT', () => {
    const { m, p, mm, phys } = setup();
    const a = p.mmap(0n, 2n * PG, RW, PA);
    expect(p.writeMemory(a, new Uint8Array(2 * 4096).fill(1))).toBe(0);
    expect(p.mprotect(a, PG, PROT_EXEC)).toBe(0);
    expect(p.mprotect(a + PG, PG, PROT_NONE)).toBe(0);
    const out = new Uint32Array(2);
    expect(getUserPages(mm, a, 2, 0, out, 0)).toBe(1);
    putPages(phys, out, 0, 1);
    expect(pinUserPages(mm, a, 1, 0, out, 0)).toBe(1);
    unpinUserPages(phys, out, 0, 1, false);
    expect(getUserPages(mm, a + PG, 1, 0, out, 0)).toBe(-EFAULT);
    // writing needs a writable entry: none here, and the slow walk refuses the VMA
    expect(getUserPages(mm, a, 1, FOLL_WRITE, out, 0)).toBe(-EFAULT);
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  it('the zero page is a special entry: a read-faulted write-only page falls back (EFAULT)', () => {
    const { m, p, mm, phys } = setup();
    const w = p.mmap(0n, PG, PROT_WRITE, PA);
    expect(p.readMemory(w, new Uint8Array(1))).toBe(0);
    expect(mm.lookupPfn(w)).toBe(phys.zeroPfn);
    const out = new Uint32Array(1);
    expect(getUserPages(mm, w, 1, 0, out, 0)).toBe(-EFAULT);
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  it('a pinned read of a shared (after fork) anon page must unshare: fast refuses it, the slow walk checks VM_READ', () => {
    const { m, p, mm, phys } = setup();
    const w = p.mmap(0n, PG, RW, PA);
    expect(p.writeMemory(w, new Uint8Array([1]))).toBe(0);
    const c = p.fork();
    expect(p.mprotect(w, PG, PROT_WRITE)).toBe(0);
    const out = new Uint32Array(1);
    // FOLL_GET takes the shared page as it is
    expect(getUserPages(mm, w, 1, 0, out, 0)).toBe(1);
    putPages(phys, out, 0, 1);
    expect(pinUserPages(mm, w, 1, 0, out, 0)).toBe(-EFAULT);
    c.exit();
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  it('a long-term read pin of a page-cache page falls back (gup_must_unshare without the VMA); a shared memfd page pins fast', () => {
    const { m, p, mm, phys } = setup();
    const fd = p.memfdCreate('f');
    expect(p.ftruncate(fd, 4096)).toBe(0);
    const s = p.mmap(0n, PG, PROT_WRITE, MAP_SHARED, fd);
    expect(p.writeMemory(s, new Uint8Array([1]))).toBe(0);
    const out = new Uint32Array(1);
    // shared writable: the entry is writable, so no unshare question, even without VM_READ
    expect(pinUserPages(mm, s, 1, FOLL_LONGTERM, out, 0)).toBe(1);
    unpinUserPages(phys, out, 0, 1, false);
    expect(pinUserPages(mm, s, 1, FOLL_LONGTERM | FOLL_WRITE, out, 0)).toBe(1);
    unpinUserPages(phys, out, 0, 1, true);
    // private read-only view of the same page: not anon, long-term → slow walk, which copies it
    const r = p.mmap(0n, PG, PROT_READ, MAP_PRIVATE, fd);
    expect(p.readMemory(r, new Uint8Array(1))).toBe(0);
    const cache = mm.lookupPfn(r);
    expect(pinUserPages(mm, r, 1, FOLL_LONGTERM, out, 0)).toBe(1);
    expect(out[0]).not.toBe(cache);
    unpinUserPages(phys, out, 0, 1, false);
    // not long-term: the page-cache page itself, fast
    const r2 = p.mmap(0n, PG, PROT_READ, MAP_PRIVATE, fd);
    expect(p.readMemory(r2, new Uint8Array(1))).toBe(0);
    expect(pinUserPages(mm, r2, 1, 0, out, 0)).toBe(1);
    expect(out[0]).toBe(mm.lookupPfn(r2));
    unpinUserPages(phys, out, 0, 1, false);
    p.close(fd);
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });
});

describe('gup fast: the huge zero folio', () => {
  // test/oracle/handwritten/gup-huge-zero-pmd.yaml, on 6.12.95 and 7.2.13
  for (const [profile, special] of [['latest', true], ['v6.12', false]] as const) {
    it(`in a write-only THP VMA: ${special ? "7.x's special PMD falls back to the slow walk (EFAULT)" : "6.12's lockless walk takes it"} (${profile})`, () => {
      const { m, p, mm, phys } = setup(profile);
      m.setThpMode('always');
      const M2 = 2n << 20n;
      const raw = p.mmap(0n, 3n * M2, PROT_WRITE, PA);
      const w = (raw + M2 - 1n) & ~(M2 - 1n);
      const b = new Uint8Array(1);
      expect(p.readMemory(w, b)).toBe(0);
      const zero = mm.hugeZeroFolio;
      expect(zero).toBeGreaterThanOrEqual(0);
      expect(mm.lookupPfn(w)).toBe(zero);
      const out = new Uint32Array(1);
      if (special) expect(getUserPages(mm, w, 1, 0, out, 0)).toBe(-EFAULT);
      else {
        expect(getUserPages(mm, w, 1, 0, out, 0)).toBe(1);
        expect(out[0]).toBe(zero);
        putPages(phys, out, 0, 1);
      }
      // a readable VMA: the slow walk takes it too
      const r = p.mmap(0n, 3n * M2, RW, PA);
      const ra = (r + M2 - 1n) & ~(M2 - 1n);
      expect(p.readMemory(ra, b)).toBe(0);
      expect(getUserPages(mm, ra, 1, 0, out, 0)).toBe(1);
      expect(out[0]).toBe(zero);
      putPages(phys, out, 0, 1);
    });
  }
});

describe("gup fast: 7.x's [vvar] (VM_MIXEDMAP)", () => {
  // test/oracle/handwritten/vvar-mixedmap-gup.yaml, on 6.12.95 and 7.2.13 (0x7ffff7ff9000: a [vvar] data page on both)
  for (const [profile, mixed] of [['latest', true], ['v6.12', false]] as const) {
    it(`a data page a read faulted in is ${mixed ? 'taken' : 'EFAULT (VM_PFNMAP)'}; DONTNEED ${mixed ? 'zaps it' : 'is EINVAL'}; never a long-term pin (${profile})`, () => {
      const m = new Machine({ memory: '64M', seed: 4, panicOnWarn: true, profile, processLayout: 'exec' });
      const p = m.spawn();
      const mm = p.mm;
      const va = 0x7ffff7ff9000n;
      const out = new Uint32Array(1);
      expect(getUserPages(mm, va, 1, 0, out, 0)).toBe(-EFAULT);
      expect(p.readMemory(va, new Uint8Array(1))).toBe(0);
      if (mixed) {
        expect(getUserPages(mm, va, 1, 0, out, 0)).toBe(1);
        expect(out[0]).toBeGreaterThan(m.phys.zeroPfn);
        putPages(m.phys, out, 0, 1);
      } else expect(getUserPages(mm, va, 1, 0, out, 0)).toBe(-EFAULT);
      expect(pinUserPages(mm, va, 1, FOLL_LONGTERM, out, 0)).toBe(-EFAULT);
      const child = p.fork();
      expect(typeof child).not.toBe('number');
      expect(p.madvise(va, PG, 4 /* MADV_DONTNEED */)).toBe(mixed ? 0 : -EINVAL);
      expect(getUserPages(mm, va, 1, 0, out, 0)).toBe(-EFAULT);
    });
  }
});
