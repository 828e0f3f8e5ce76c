// SPDX-License-Identifier: GPL-2.0-only
/**
 * smaps' counts of private anonymous memory from the model's page tables
 * (src/mm/task-mmu.ts), in the cases test/bridge/progs/smaps-anon.c checks
 * on Linux 6.12.95 and 7.2.13 through exec, here on the model alone.
 */
import { describe, expect, it } from 'vitest';
import { Machine, type Process } from '../../src/machine/index.js';
import { getUserPages, pinUserPages, putPages, unpinUserPages } from '../../src/mm/gup.js';
import { FOLL_LONGTERM, FOLL_WRITE, MADV_DONTNEED, MADV_NOHUGEPAGE, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { anonThpBytes, isPrivateAnon, type SmapCounts, smapAnonCounts } from '../../src/mm/task-mmu.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const PG = 4096n;
const M2 = 2n << 20n;
const BASE = 0x40000000n;
const KB = 1024;

/** The counts of the VMA holding `va` in `p` (every live address space of its machine counted), in kB. */
function counts(p: Process, va: bigint): Record<keyof SmapCounts, number> {
  const vpn = Number(va / PG);
  const v = p.mm.findVma(vpn)!;
  expect(isPrivateAnon(v)).toBe(true);
  const mms = [...p.machine.processes.values()].filter((q) => !q.exited).map((q) => q.mm);
  const c = smapAnonCounts(p.mm, v, v.start, v.end, mms);
  const out = {} as Record<keyof SmapCounts, number>;
  // smaps prints kB rounded down (SEQ_PUT_DEC: >> 10)
  for (const k of Object.keys(c) as (keyof SmapCounts)[]) out[k] = k === 'thpEligible' ? c[k] : Math.floor(c[k] / KB);
  return out;
}

function kb(rss: number, pss: number, sharedDirty: number, locked = 0, anonHugePages = 0, thpEligible = 0): Record<keyof SmapCounts, number> {
  return { rss, pss, pssDirty: pss, sharedClean: 0, sharedDirty, privateClean: 0, privateDirty: rss - sharedDirty, referenced: rss, anonymous: rss, anonHugePages, locked, thpEligible };
}

function machine(): { m: Machine; p: Process } {
  const m = new Machine({ memory: '64M', seed: 1, panicOnWarn: true, thp: 'always' });
  return { m, p: m.spawn({ memlock: 'unlimited' }) };
}

describe('smaps counts of private anonymous memory', () => {
  it('THP always: a byte written makes a THP (AnonHugePages), a read maps the huge zero page (counted nowhere)', () => {
    const { p } = machine();
    expect(p.mmap(BASE, 2n * M2, RW, PA | MAP_FIXED)).toBe(BASE);
    p.writeMemory(BASE, new Uint8Array([1]));
    expect(counts(p, BASE)).toEqual(kb(2048, 2048, 0, 0, 2048, 1));
    const r = BASE + 4n * M2;
    expect(p.mmap(r, M2, RW, PA | MAP_FIXED)).toBe(r);
    p.readMemory(r, new Uint8Array(1));
    expect(p.mm.lookupPfn(r)).not.toBe(-1);
    expect(counts(p, r)).toEqual(kb(0, 0, 0, 0, 0, 1));
    // the huge zero folio is no anonymous THP
    expect(anonThpBytes([p.mm])).toBe(2 << 20);
  });

  it('MADV_NOHUGEPAGE: 4 KiB pages, read ones (the zero page) not counted; a VMA below 2 MiB is not eligible', () => {
    const { p } = machine();
    expect(p.mmap(BASE, M2, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(p.madvise(BASE, M2, MADV_NOHUGEPAGE)).toBe(0);
    p.readMemory(BASE, new Uint8Array(1));
    p.writeMemory(BASE + PG, new Uint8Array([1]));
    p.writeMemory(BASE + 2n * PG, new Uint8Array([1]));
    expect(counts(p, BASE)).toEqual(kb(8, 8, 0));
    const s = BASE + 4n * M2;
    expect(p.mmap(s, 5n * PG, RW, PA | MAP_FIXED)).toBe(s);
    p.writeMemory(s, new Uint8Array([1]));
    expect(counts(p, s)).toEqual(kb(4, 4, 0));
  });

  it('fork shares pages until a side writes: Shared_Dirty, Pss by mapcount (a THP by its PMD too); a third mapping rounds Pss down', () => {
    const { p } = machine();
    expect(p.mmap(BASE, 2n * M2, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(p.madvise(BASE, M2, MADV_NOHUGEPAGE)).toBe(0);
    p.writeMemory(BASE, new Uint8Array(5 * 4096).fill(1));
    p.writeMemory(BASE + M2, new Uint8Array([1]));
    const c = p.fork();
    // meminfo's AnonHugePages: the THP both map, once
    expect(anonThpBytes([p.mm, c.mm])).toBe(2 << 20);
    expect(counts(c, BASE)).toEqual(kb(20, 10, 20));
    expect(counts(c, BASE + M2)).toEqual(kb(2048, 1024, 2048, 0, 2048, 1));
    c.writeMemory(BASE + PG, new Uint8Array([3]));
    expect(counts(c, BASE)).toEqual(kb(20, 12, 16));
    expect(counts(p, BASE)).toEqual(kb(20, 12, 16));
    p.writeMemory(BASE, new Uint8Array([2]));
    expect(counts(p, BASE)).toEqual(kb(20, 14, 12));
    // another fork of p: pages 0 and 1 (p's own) mapped twice, pages 2-4 three times; Pss summed in
    // PSS_SHIFT fixed point: 2 * 2^23 + 3 * floor(2^24 / 3) = 2^25 - 1, 8191 bytes, 7 kB
    const g = p.fork();
    const v = g.mm.findVma(Number(BASE / PG))!;
    const mms = [p.mm, c.mm, g.mm];
    expect(smapAnonCounts(g.mm, v, v.start, v.end, mms).pss).toBe(8191);
    expect(counts(g, BASE)).toEqual(kb(20, 7, 20));
    g.exit();
    c.exit();
    expect(counts(p, BASE)).toEqual(kb(20, 20, 0));
  });

  it('GUP references and pins are not mappings: the pages stay private while another address space lives', () => {
    const { m, p } = machine();
    expect(p.mmap(BASE, M2, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(p.madvise(BASE, M2, MADV_NOHUGEPAGE)).toBe(0);
    const other = m.spawn();
    expect(other.mmap(BASE, M2, RW, PA | MAP_FIXED)).toBe(BASE);
    other.writeMemory(BASE, new Uint8Array([1]));
    const got = new Uint32Array(2);
    const pinned = new Uint32Array(2);
    expect(getUserPages(p.mm, BASE, 2, FOLL_WRITE, got, 0)).toBe(2);
    expect(pinUserPages(p.mm, BASE, 2, FOLL_WRITE | FOLL_LONGTERM, pinned, 0)).toBe(2);
    // the mapping, the GUP reference and the pin's: the other address space is walked for mappings of these, and has none
    expect(m.phys.refcount(got[0])).toBe(3);
    expect(counts(p, BASE)).toEqual(kb(8, 8, 0));
    unpinUserPages(m.phys, pinned, 0, 2, true);
    putPages(m.phys, got, 0, 2);
    other.exit();
  });

  it('mlock counts Locked (its Pss); MADV_DONTNEED of one page splits a THP; munmap of half keeps the other half', () => {
    const { p } = machine();
    expect(p.mmap(BASE, M2, RW, PA | MAP_FIXED)).toBe(BASE);
    p.writeMemory(BASE, new Uint8Array([1]));
    expect(p.mlock(BASE, M2)).toBe(0);
    expect(counts(p, BASE)).toEqual(kb(2048, 2048, 0, 2048, 2048, 1));
    const l = BASE + 4n * M2;
    expect(p.mmap(l, M2, RW, PA | MAP_FIXED)).toBe(l);
    p.writeMemory(l, new Uint8Array([1]));
    expect(anonThpBytes([p.mm])).toBe(4 << 20);
    expect(p.madvise(l + PG, PG, MADV_DONTNEED)).toBe(0);
    // split into PTEs: no longer an AnonHugePages THP (the mlocked one still is)
    expect(anonThpBytes([p.mm])).toBe(2 << 20);
    expect(counts(p, l)).toEqual(kb(2044, 2044, 0, 0, 0, 1));
    const n = BASE + 8n * M2;
    expect(p.mmap(n, M2, RW, PA | MAP_FIXED)).toBe(n);
    p.writeMemory(n, new Uint8Array([1]));
    expect(p.munmap(n + M2 / 2n, M2 / 2n)).toBe(0);
    expect(counts(p, n)).toEqual(kb(1024, 1024, 0));
  });
});
