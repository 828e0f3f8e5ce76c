// SPDX-License-Identifier: GPL-2.0-only
/**
 * The contents hooks the bridge uses: MmStruct.backing (user copies move
 * their bytes elsewhere after the model's own page walk; a VMA miss may add
 * mappings) and PhysicalMemory.backing (a frame's contents held elsewhere).
 */
import { describe, expect, it } from 'vitest';
import { EFAULT } from '../../src/base/errno.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MmStruct, PAGE_SIZE, PROT_READ, PROT_WRITE, PhysicalMemory, type UserBacking, pinUserPages } from '../../src/mm/index.js';

const MiB = 1024 * 1024;
const BASE = 0x10000000;

/** A "real process": bytes by address. */
function fakeReal(): { mem: Map<number, number>; backing: UserBacking; copies: number[] } {
  const mem = new Map<number, number>();
  const copies: number[] = [];
  return {
    mem,
    copies,
    backing: {
      copy(va, buf, off, len, write) {
        copies.push(len);
        for (let i = 0; i < len; i++) {
          if (write) mem.set(va + i, buf[off + i]);
          else buf[off + i] = mem.get(va + i) ?? 0;
        }
        return true;
      },
    },
  };
}

function mapAnon(mm: MmStruct, addr: number, len: number, prot = PROT_READ | PROT_WRITE): void {
  expect(mm.mmap(BigInt(addr), BigInt(len), prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)).toBe(BigInt(addr));
}

describe('MmStruct.backing', () => {
  it('user copies fault in the model, then move the bytes through the backing in one call', () => {
    const phys = new PhysicalMemory(64 * MiB);
    const mm = new MmStruct(phys);
    const real = fakeReal();
    mm.backing = real.backing;
    mapAnon(mm, BASE, 4 * PAGE_SIZE);
    const data = Uint8Array.from({ length: 3 * PAGE_SIZE }, (_, i) => i & 0xff);
    expect(mm.writeUser(BigInt(BASE + 100), data)).toBe(0);
    expect(real.copies).toEqual([3 * PAGE_SIZE]);
    // identity is the model's: the write faults allocated frames, the bytes are not in them
    const pfn = mm.lookupPfn(BigInt(BASE + PAGE_SIZE));
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(phys.pageData(pfn)).toBeUndefined();
    expect(real.mem.get(BASE + 100 + 5000)).toBe(5000 & 0xff);
    const back = new Uint8Array(3 * PAGE_SIZE);
    expect(mm.readUser(BigInt(BASE + 100), back)).toBe(0);
    expect(back).toEqual(data);
  });

  it('copies the bytes before a hole and returns -EFAULT', () => {
    const phys = new PhysicalMemory(64 * MiB);
    const mm = new MmStruct(phys);
    const real = fakeReal();
    mm.backing = real.backing;
    mapAnon(mm, BASE, PAGE_SIZE);
    const data = new Uint8Array(PAGE_SIZE + 16).fill(7);
    expect(mm.writeUser(BigInt(BASE + 16), data)).toBe(-EFAULT);
    expect(real.copies).toEqual([PAGE_SIZE - 16]);
    expect(real.mem.get(BASE + PAGE_SIZE - 1)).toBe(7);
    expect(real.mem.has(BASE + PAGE_SIZE)).toBe(false);
  });

  it('a write to a read-only mapping is -EFAULT without touching the backing', () => {
    const phys = new PhysicalMemory(64 * MiB);
    const mm = new MmStruct(phys);
    const real = fakeReal();
    mm.backing = real.backing;
    mapAnon(mm, BASE, PAGE_SIZE, PROT_READ);
    expect(mm.writeUser(BigInt(BASE), new Uint8Array(8))).toBe(-EFAULT);
    expect(real.copies).toEqual([]);
  });

  it('a VMA miss lets the backing add the mapping, for user copies and GUP', () => {
    const phys = new PhysicalMemory(64 * MiB);
    const mm = new MmStruct(phys);
    const real = fakeReal();
    const misses: number[] = [];
    mm.backing = {
      ...real.backing,
      vmaMiss(m, vpn) {
        misses.push(vpn);
        if (vpn * PAGE_SIZE < BASE || vpn * PAGE_SIZE >= BASE + 8 * PAGE_SIZE) return false;
        mapAnon(m, BASE, 8 * PAGE_SIZE);
        return true;
      },
    };
    expect(mm.readUser(BigInt(BASE + PAGE_SIZE), new Uint8Array(4))).toBe(0);
    expect(misses).toEqual([BASE / PAGE_SIZE + 1]);
    const out = new Uint32Array(8);
    expect(pinUserPages(mm, BigInt(BASE), 8, 0, out, 0)).toBe(8);
    expect(misses.length).toBe(1);
    // an address nobody maps stays a fault
    expect(mm.readUser(BigInt(BASE + 64 * PAGE_SIZE), new Uint8Array(4))).toBe(-EFAULT);
    expect(misses.length).toBe(2);
  });
});

describe('PhysicalMemory.backing', () => {
  it('frame reads and writes go to the backing when it holds the frame, else to the model', () => {
    const phys = new PhysicalMemory(64 * MiB);
    const held = new Map<number, Uint8Array>();
    phys.backing = {
      copy(pfn, off, buf, bufOff, len, write) {
        const page = held.get(pfn);
        if (page === undefined) return false;
        if (write) page.set(buf.subarray(bufOff, bufOff + len), off);
        else buf.set(page.subarray(off, off + len), bufOff);
        return true;
      },
    };
    const a = phys.allocFolio(0);
    const b = phys.allocFolio(0);
    phys.getFrame(a);
    phys.getFrame(b);
    held.set(a, new Uint8Array(PAGE_SIZE).fill(0x33));
    const buf = new Uint8Array(4);
    phys.read(a, 8, buf, 0, 4);
    expect([...buf]).toEqual([0x33, 0x33, 0x33, 0x33]);
    phys.write(a, 0, Uint8Array.of(1, 2), 0, 2);
    expect(held.get(a)![1]).toBe(2);
    expect(phys.pageData(a)).toBeUndefined();
    expect(phys.isDirty(a)).toBe(true);
    // not held: the model's own contents
    phys.write(b, 0, Uint8Array.of(9), 0, 1);
    expect(phys.pageData(b)![0]).toBe(9);
    // a copy reads the source where it lives
    const c = phys.allocFolio(0);
    phys.getFrame(c);
    phys.copyFrame(c, a);
    expect(phys.pageData(c)![0]).toBe(1);
    expect(phys.pageData(c)![100]).toBe(0x33);
    // store() is the model's copy whatever the backing holds
    phys.store(a, 0, Uint8Array.of(5), 0, 1);
    expect(phys.pageData(a)![0]).toBe(5);
    expect(held.get(a)![0]).toBe(1);
  });
});
