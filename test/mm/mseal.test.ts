// SPDX-License-Identifier: GPL-2.0-only
/**
 * mseal(2) (mm/mseal.c do_mseal(), v6.10): VM_SEALED as a VMA flag (split,
 * merged, shown as `sl`), and what a sealed VMA refuses, with the VMA list
 * each refusal leaves (vms_gather_munmap_vmas() keeps the split it made).
 * Kernel-checked by test/oracle/handwritten/mseal.yaml,
 * mseal-special-mappings.yaml and test/bridge/progs/mseal.c on 6.12.95 and
 * 7.2.13.
 */
import { describe, expect, it } from 'vitest';
import { EINVAL, ENODEV, ENOMEM, ENOSYS, EPERM } from '../../src/base/errno.js';
import { vmFlagsText } from '../../src/bridge/smaps.js';
import { Machine } from '../../src/machine/machine.js';
import { MmStruct } from '../../src/mm/address-space.js';
import { MADV_DONTNEED, MADV_FREE, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MREMAP_MAYMOVE, PROT_READ, PROT_WRITE, VM_SEALED } from '../../src/mm/constants.js';
import { PhysicalMemory } from '../../src/mm/physical-memory.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const PG = 4096n;
const BASE = 0x40000000n;

function setup(maxMapCount?: number) {
  const phys = new PhysicalMemory(64n << 20n, { seed: 5 });
  return new MmStruct(phys, { thp: 'never', maxMapCount });
}

/** The VMAs over [BASE, BASE + pages) as "first-last(pages) flags" with s for sealed. */
function layout(mm: MmStruct, pages: number): string[] {
  const lo = Number(BASE / PG);
  return mm.vmas.filter((v) => v.start >= lo && v.end <= lo + pages).map((v) => `${v.start - lo}-${v.end - lo}${v.flags & VM_SEALED ? ' s' : ''}${v.flags & PROT_WRITE ? '' : ' ro'}`);
}

describe('mseal(2)', () => {
  it('checks flags, alignment, wrap and holes before sealing anything', () => {
    const mm = setup();
    expect(mm.mmap(BASE, 8n * PG, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(mm.munmap(BASE + 6n * PG, PG)).toBe(0);
    expect(mm.mseal(BASE, PG, 1n)).toBe(-EINVAL);
    expect(mm.mseal(BASE + 1n, PG, 0n)).toBe(-EINVAL);
    expect(mm.mseal(BASE, -1n, 0n)).toBe(-EINVAL);
    expect(mm.mseal(BASE, 0n, 0n)).toBe(0);
    expect(mm.mseal(BASE + 4n * PG, 4n * PG, 0n)).toBe(-ENOMEM);
    expect(layout(mm, 8)).toEqual(['0-6', '7-8']);
  });

  it('seals VMA by VMA, splitting at the ends and merging sealed neighbours', () => {
    const mm = setup();
    expect(mm.mmap(BASE, 8n * PG, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(mm.mprotect(BASE + 4n * PG, 4n * PG, PROT_READ)).toBe(0);
    expect(mm.mseal(BASE + 2n * PG, 4n * PG, 0n)).toBe(0);
    expect(layout(mm, 8)).toEqual(['0-2', '2-4 s', '4-6 s ro', '6-8 ro']);
    expect(mm.mseal(BASE + 6n * PG, 2n * PG, 0n)).toBe(0);
    expect(layout(mm, 8)).toEqual(['0-2', '2-4 s', '4-8 s ro']);
    expect(vmFlagsText(mm.vmas.find((v) => v.start === Number(BASE / PG) + 2)!.flags).endsWith('sl ')).toBe(true);
  });

  it('a split refused at the map count ends the sealing with ENOMEM, the split before it made', () => {
    const mm = setup(2);
    expect(mm.mmap(BASE, 8n * PG, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(mm.vmas).toHaveLength(1);
    expect(mm.mseal(BASE + 2n * PG, 2n * PG, 0n)).toBe(-ENOMEM);
    expect(layout(mm, 8)).toEqual(['0-2', '2-8']);
  });

  it('munmap of a range holding a sealed VMA is EPERM, keeping the split of the VMA it starts in', () => {
    const mm = setup();
    expect(mm.mmap(BASE, 8n * PG, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(mm.mseal(BASE + 4n * PG, 2n * PG, 0n)).toBe(0);
    expect(mm.munmap(BASE + PG, 4n * PG)).toBe(-EPERM);
    expect(layout(mm, 8)).toEqual(['0-1', '1-4', '4-6 s', '6-8']);
    expect(mm.munmap(BASE + 5n * PG, PG)).toBe(-EPERM);
    expect(mm.munmap(BASE + 6n * PG, 2n * PG)).toBe(0);
    expect(layout(mm, 8)).toEqual(['0-1', '1-4', '4-6 s']);
  });

  it('a MAP_FIXED over a sealed VMA is EPERM and changes nothing; mremap and mprotect of it are EPERM', () => {
    const mm = setup();
    expect(mm.mmap(BASE, 4n * PG, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(mm.writeUser(BASE, new Uint8Array(4 * 4096).fill(9))).toBe(0);
    expect(mm.mseal(BASE + 2n * PG, 2n * PG, 0n)).toBe(0);
    expect(mm.mmap(BASE + 2n * PG, PG, PROT_READ, PA | MAP_FIXED)).toBe(BigInt(-EPERM));
    expect(mm.mremap(BASE + 2n * PG, 2n * PG, 4n * PG, MREMAP_MAYMOVE, 0n)).toBe(BigInt(-EPERM));
    expect(mm.mprotect(BASE, 4n * PG, PROT_READ)).toBe(-EPERM);
    // mprotect_fixup() changed the VMA before the sealed one
    expect(layout(mm, 4)).toEqual(['0-2 ro', '2-4 s']);
    const b = new Uint8Array(1);
    expect(mm.readUser(BASE + 3n * PG, b)).toBe(0);
    expect(b[0]).toBe(9);
  });

  it('discarding advice is refused on sealed read-only anonymous memory only', () => {
    const mm = setup();
    expect(mm.mmap(BASE, 4n * PG, RW, PA | MAP_FIXED)).toBe(BASE);
    expect(mm.writeUser(BASE, new Uint8Array(4 * 4096).fill(5))).toBe(0);
    expect(mm.mprotect(BASE, 2n * PG, PROT_READ)).toBe(0);
    expect(mm.mseal(BASE, 4n * PG, 0n)).toBe(0);
    expect(mm.madvise(BASE + 2n * PG, 2n * PG, MADV_DONTNEED)).toBe(0);
    expect(mm.madvise(BASE, 4n * PG, MADV_FREE)).toBe(-EPERM);
    expect(mm.madvise(BASE, 2n * PG, MADV_DONTNEED)).toBe(-EPERM);
    const b = new Uint8Array(1);
    expect(mm.readUser(BASE, b)).toBe(0);
    expect(b[0]).toBe(5);
  });

  it('is ENOSYS where the kernel has no mseal (v6.5), and a fork child inherits the seal', () => {
    const old = new Machine({ profile: 'v6.5', memory: '64M' }).spawn({});
    const va = old.mmap(0n, PG, RW, PA);
    expect(old.mseal(va, PG, 0n)).toBe(-ENOSYS);
    const m = new Machine({ profile: 'latest', memory: '64M' });
    const p = m.spawn({});
    const a = p.mmap(0n, 2n * PG, RW, PA);
    expect(p.mseal(a, 2n * PG, 0n)).toBe(0);
    const child = p.fork();
    expect(typeof child).not.toBe('number');
    if (typeof child === 'number') return;
    expect(child.munmap(a, PG)).toBe(-EPERM);
    expect(p.munmap(a, PG)).toBe(-EPERM);
    // a host file's own refusal (do_mmap()) comes before the gather's EPERM, and leaves the VMAs as they were
    const vmas = p.mm.vmas.length;
    expect(p.mmapRefusedFile(a, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, 0n, ENODEV)).toBe(BigInt(-ENODEV));
    expect(p.mm.vmas.length).toBe(vmas);
  });
});
