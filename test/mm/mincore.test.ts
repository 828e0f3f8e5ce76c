// SPDX-License-Identifier: GPL-2.0-only
/**
 * mincore(2) on the model (src/mm/mincore.ts, Process.mincore), in the cases
 * test/oracle/handwritten/mincore-residency.yaml checks against Linux 6.12.95
 * and 7.2.13 call for call.
 */
import { describe, expect, it } from 'vitest';
import { EFAULT, EINVAL, ENOMEM } from '../../src/base/errno.js';
import { Machine, type Process } from '../../src/machine/index.js';
import { MADV_DONTNEED, MADV_NOHUGEPAGE, MAP_ANONYMOUS, MAP_FIXED, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const PG = 4096n;
const M2 = 2n << 20n;
const BASE = 0x40000000n;
const VEC = 0x50000000n;

/** The vector mincore() wrote for [va, va + len), or its errno as a negative number. */
function residency(p: Process, va: bigint, len: bigint): number[] | number {
  const pages = Number((len + PG - 1n) / PG);
  const rc = p.mincore(va, len, VEC);
  if (rc !== 0) return rc;
  const b = new Uint8Array(pages);
  expect(p.readMemory(VEC, b)).toBe(0);
  return [...b];
}

function setup(): { m: Machine; p: Process } {
  const m = new Machine({ memory: '64M', seed: 1, panicOnWarn: true, thp: 'always', hugetlbPages: { '2M': 4 } });
  const p = m.spawn({ memlock: 'unlimited' });
  expect(p.mmap(VEC, 4n * M2, RW, PA | MAP_FIXED)).toBe(VEC);
  return { m, p };
}

describe('mincore', () => {
  it('a THP is resident whole, the huge zero page too; MADV_DONTNEED empties it; 4 KiB pages and the zero page one by one', () => {
    const { p } = setup();
    expect(p.mmap(BASE, 2n * M2, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(residency(p, BASE, 2n * M2)).toEqual(new Array(1024).fill(0));
    p.writeMemory(BASE + PG, new Uint8Array([1]));
    p.readMemory(BASE + M2, new Uint8Array(1));
    expect(residency(p, BASE, 2n * M2)).toEqual(new Array(1024).fill(1));
    expect(p.madvise(BASE, M2, MADV_DONTNEED)).toBe(0);
    expect((residency(p, BASE, 2n * M2) as number[]).slice(510, 514)).toEqual([0, 0, 1, 1]);
    const s = BASE + 4n * M2;
    expect(p.mmap(s, 4n * PG, RW, PA | MAP_FIXED)).toBe(s);
    expect(p.madvise(s, 4n * PG, MADV_NOHUGEPAGE)).toBe(0);
    p.readMemory(s, new Uint8Array(1));
    p.writeMemory(s + 2n * PG, new Uint8Array([1]));
    expect(residency(p, s, 4n * PG)).toEqual([1, 0, 1, 0]);
  });

  it('a file mapping: the page cache answers for pages this mapping never touched; hugetlb as mapped here', () => {
    const { p } = setup();
    const fd = p.memfdCreate('m');
    expect(p.ftruncate(fd, 8n * PG)).toBe(0);
    const a = p.mmap(0n, 8n * PG, RW, MAP_SHARED, fd, 0n);
    const b = p.mmap(0n, 8n * PG, RW, MAP_PRIVATE, fd, 0n);
    p.writeMemory(a + 3n * PG, new Uint8Array([1]));
    expect(residency(p, b, 8n * PG)).toEqual([0, 0, 0, 1, 0, 0, 0, 0]);
    const h = p.mmap(0n, 2n * M2, RW, PA | MAP_HUGETLB);
    p.writeMemory(h + M2, new Uint8Array([1]));
    const r = residency(p, h, 2n * M2) as number[];
    expect([r[0], r[511], r[512], r[1023]]).toEqual([0, 0, 1, 1]);
  });

  it('EINVAL for an unaligned start, ENOMEM past a VMA or TASK_SIZE, EFAULT for a vector it cannot write; no pages: no lookup', () => {
    const { p } = setup();
    expect(p.mmap(BASE, 2n * PG, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(p.mincore(BASE + 1n, PG, VEC)).toBe(-EINVAL);
    expect(p.mincore(BASE, 3n * PG, VEC)).toBe(-ENOMEM);
    expect(p.mincore(0x7ffffffff000n, 2n * PG, VEC)).toBe(-ENOMEM);
    expect(p.mincore(0x10000n, 0n, VEC)).toBe(0);
    expect(p.mincore(BASE, PG, 0n)).toBe(-EFAULT);
    const ro = p.mmap(0n, PG, PROT_READ, PA);
    expect(p.mincore(BASE, PG, ro)).toBe(-EFAULT);
    // a vector past TASK_SIZE: access_ok() refuses it before any walk
    expect(p.mincore(BASE, PG, 0x800000000000n)).toBe(-EFAULT);
  });
});
