// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { EINVAL } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/index.js';
import { Machine } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, TASK_SIZE } from '../../src/mm/constants.js';
import { pagemapEntry, pagemapRead } from '../../src/mm/pagemap.js';

const PRESENT = 1n << 63n;
const FILE = 1n << 61n;
const EXCL = 1n << 56n;
const PFN = (1n << 55n) - 1n;

function session() {
  const m = new Machine({ memory: '64M', panicOnWarn: true });
  registerIommufdNodes(m);
  const p = m.spawn({ memlock: 'unlimited', caps: ['CAP_SYS_ADMIN'] });
  return { m, p };
}
const vpn = (va: bigint) => Number(va / 4096n);
const flagsOf = (e: bigint) => e & ~PFN;

describe('/proc/PID/pagemap (pagemap_read())', () => {
  it('no entry, the zero page, an exclusive anonymous page; the PFN only with CAP_SYS_ADMIN', () => {
    const { m, p } = session();
    const a = p.mmap(0n, 4n * 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(pagemapEntry(p.mm, vpn(a), true)).toBe(0n);
    p.readMemory(a, new Uint8Array(1));
    expect(pagemapEntry(p.mm, vpn(a), true)).toBe(PRESENT | BigInt(m.phys.zeroPfn));
    p.writeMemory(a + 4096n, new Uint8Array([1]));
    const e = pagemapEntry(p.mm, vpn(a) + 1, true);
    expect(flagsOf(e)).toBe(PRESENT | EXCL);
    expect(Number(e & PFN)).toBe(p.mm.lookupPfn(a + 4096n));
    expect(pagemapEntry(p.mm, vpn(a) + 1, false)).toBe(PRESENT | EXCL);
    // no mapping at all
    expect(pagemapEntry(p.mm, 1, true)).toBe(0n);
  });

  it('fork shares a page copy-on-write (not exclusive) unless it is DMA pinned (the child gets a copy)', () => {
    const { p } = session();
    const a = p.mmap(0n, 2n * 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    p.writeMemory(a, new Uint8Array([1]));
    p.writeMemory(a + 4096n, new Uint8Array([1]));
    const c = IommufdClient.open(p);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    c.ioasMap({ ioas, userVa: a + 4096n, length: 4096, iova: 1 << 24 });
    const child = p.fork();
    expect(flagsOf(pagemapEntry(p.mm, vpn(a), true))).toBe(PRESENT);
    expect(flagsOf(pagemapEntry(child.mm, vpn(a), true))).toBe(PRESENT);
    expect(flagsOf(pagemapEntry(p.mm, vpn(a) + 1, true))).toBe(PRESENT | EXCL);
    expect(pagemapEntry(child.mm, vpn(a) + 1, true) & PFN).not.toBe(pagemapEntry(p.mm, vpn(a) + 1, true) & PFN);
    child.exit();
    expect(flagsOf(pagemapEntry(p.mm, vpn(a), true))).toBe(PRESENT | EXCL);
  });

  it('a memfd page: file; exclusive while one mapping maps it; a pin is not a mapping', () => {
    const { p } = session();
    const fd = p.memfdCreate('m');
    p.ftruncate(fd, 4n * 4096n);
    const s1 = p.mmap(0n, 4n * 4096n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
    const s2 = p.mmap(0n, 4n * 4096n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
    p.writeMemory(s1, new Uint8Array([1]));
    expect(flagsOf(pagemapEntry(p.mm, vpn(s1), true))).toBe(PRESENT | FILE | EXCL);
    const c = IommufdClient.open(p);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    c.ioasMap({ ioas, userVa: s1, length: 4096, iova: 1 << 24 });
    expect(flagsOf(pagemapEntry(p.mm, vpn(s1), true))).toBe(PRESENT | FILE | EXCL);
    p.readMemory(s2, new Uint8Array(1));
    expect(flagsOf(pagemapEntry(p.mm, vpn(s1), true))).toBe(PRESENT | FILE);
  });

  it('whole entries only (EINVAL otherwise); short at the end of the address space', () => {
    const { p } = session();
    expect(pagemapRead(p.mm, 4n, 8, true)).toBe(-EINVAL);
    expect(pagemapRead(p.mm, 0n, 12, true)).toBe(-EINVAL);
    expect(pagemapRead(p.mm, 0n, 0, true)).toEqual(new BigUint64Array(0));
    const last = (TASK_SIZE / 4096n - 1n) * 8n;
    expect((pagemapRead(p.mm, last, 16, true) as BigUint64Array).length).toBe(1);
    expect((pagemapRead(p.mm, last + 8n, 16, true) as BigUint64Array).length).toBe(0);
  });
});
