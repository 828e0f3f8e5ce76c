// SPDX-License-Identifier: GPL-2.0-only
// memfd seals (memfd_add_seals(), memfd_get_seals()) and what they refuse; the same answers as
// 6.12.95 and 7.2.13 give test/bridge/progs/seals.c.
import { describe, expect, it } from 'vitest';
import { EACCES, EBADF, EBUSY, EINVAL, EPERM } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/index.js';
import { Machine } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import {
  F_ADD_SEALS,
  F_GET_SEALS,
  F_SEAL_EXEC,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  MFD_HUGETLB,
  MFD_NOEXEC_SEAL,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/mm/constants.js';

const PG = PAGE_SIZE;
const PUNCH = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

function session() {
  const machine = new Machine({ memory: '256M', panicOnWarn: true, hugetlbPages: { '2M': 4 } });
  registerIommufdNodes(machine);
  const proc = machine.spawn({ memlock: 'unlimited' });
  return { machine, proc };
}

describe('memfd seals', () => {
  it('a memfd starts with F_SEAL_SEAL unless made with MFD_ALLOW_SEALING; MFD_NOEXEC_SEAL seals F_SEAL_EXEC; other files have none (EINVAL)', () => {
    const { proc } = session();
    const plain = proc.memfdCreate('p', 0);
    expect(proc.memfdFcntl(plain, F_GET_SEALS, 0)).toBe(F_SEAL_SEAL);
    expect(proc.memfdFcntl(plain, F_ADD_SEALS, F_SEAL_GROW)).toBe(-EPERM);
    expect(proc.memfdFcntl(proc.memfdCreate('n', MFD_NOEXEC_SEAL), F_GET_SEALS, 0)).toBe(F_SEAL_EXEC);
    const huge = proc.memfdCreate('h', MFD_HUGETLB | MFD_ALLOW_SEALING);
    expect(proc.memfdFcntl(huge, F_GET_SEALS, 0)).toBe(0);
    const m = proc.memfdCreate('m', MFD_ALLOW_SEALING);
    expect(proc.memfdFcntl(m, F_GET_SEALS, 0)).toBe(0);
    expect(proc.memfdFcntl(m, F_ADD_SEALS, 0x40)).toBe(-EINVAL);
    const dev = IommufdClient.open(proc).fd;
    expect(proc.memfdFcntl(dev, F_GET_SEALS, 0)).toBe(-EINVAL);
    expect(proc.memfdFcntl(dev, F_ADD_SEALS, F_SEAL_GROW)).toBe(-EINVAL);
    expect(proc.memfdFcntl(99, F_GET_SEALS, 0)).toBe(-EBADF);
    // F_SEAL_EXEC on an executable inode brings every write and size seal
    expect(proc.memfdFcntl(m, F_ADD_SEALS, F_SEAL_EXEC)).toBe(0);
    expect(proc.memfdFcntl(m, F_GET_SEALS, 0)).toBe(F_SEAL_EXEC | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE);
    // F_SEAL_SEAL ends the adding
    const s = proc.memfdCreate('s', MFD_ALLOW_SEALING);
    expect(proc.memfdFcntl(s, F_ADD_SEALS, F_SEAL_SEAL)).toBe(0);
    expect(proc.memfdFcntl(s, F_ADD_SEALS, F_SEAL_GROW)).toBe(-EPERM);
    proc.exit();
  });

  it('size seals: ftruncate, fallocate past the end (KEEP_SIZE or not) and a write whose step passes the end are EPERM; a step is up to the 2 MiB chunk', () => {
    const { proc } = session();
    const m = proc.memfdCreate('m', MFD_ALLOW_SEALING);
    expect(proc.ftruncate(m, 16 * PG)).toBe(0);
    expect(proc.memfdFcntl(m, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK)).toBe(0);
    expect(proc.ftruncate(m, 32 * PG)).toBe(-EPERM);
    expect(proc.ftruncate(m, 8 * PG)).toBe(-EPERM);
    expect(proc.ftruncate(m, 16 * PG)).toBe(0);
    expect(proc.fallocate(m, 0, 15 * PG, 2 * PG)).toBe(-EPERM);
    expect(proc.fallocate(m, FALLOC_FL_KEEP_SIZE, 15 * PG, 2 * PG)).toBe(-EPERM);
    expect(proc.fallocate(m, 0, 0, 16 * PG)).toBe(0);
    expect(proc.fallocate(m, PUNCH, 0, PG)).toBe(0);
    const buf = proc.mmap(0n, BigInt(4 << 20), PROT_READ | PROT_WRITE, 0x22);
    expect(proc.writeMemory(buf, new Uint8Array(2 * PG).fill(0xab))).toBe(0);
    expect(proc.pwrite(m, buf, 100, 100n)).toBe(100);
    // [15 pages - 100, 17 pages - 100) is one step (inside one 2 MiB chunk) that passes the end: nothing written
    expect(proc.pwrite(m, buf, 2 * PG, BigInt(15 * PG - 100))).toBe(-EPERM);
    const back = proc.mmap(0n, BigInt(PG), PROT_READ | PROT_WRITE, 0x22);
    expect(proc.pread(m, back, 100, BigInt(15 * PG - 100))).toBe(100);
    const got = new Uint8Array(100);
    expect(proc.readMemory(back, got)).toBe(0);
    expect(got.every((x) => x === 0)).toBe(true);
    expect(proc.pwrite(m, buf, 10, BigInt(16 * PG))).toBe(-EPERM);
    expect(proc.fstat(m)).toMatchObject({ size: BigInt(16 * PG) });
    const g = proc.memfdCreate('g', MFD_ALLOW_SEALING);
    expect(proc.ftruncate(g, 3 << 20)).toBe(0);
    expect(proc.memfdFcntl(g, F_ADD_SEALS, F_SEAL_GROW)).toBe(0);
    expect(proc.pwrite(g, buf, 2 << 20, 1n << 20n)).toBe(2 << 20);
    // the first step is the page before 2 MiB; the next, at 2 MiB, asks for the rest and passes the end
    expect(proc.pwrite(g, buf, (1 << 20) + 2 * PG, BigInt((2 << 20) - PG))).toBe(PG);
    proc.exit();
  });

  it('a first F_SEAL_WRITE is EBUSY while a shared writable mapping exists or an IOAS pins a page; then writes, holes and new shared writable mappings are refused', () => {
    const { machine, proc } = session();
    const m = proc.memfdCreate('m', MFD_ALLOW_SEALING);
    expect(proc.ftruncate(m, 16 * PG)).toBe(0);
    const rw = proc.mmap(0n, BigInt(16 * PG), PROT_READ | PROT_WRITE, MAP_SHARED, m);
    expect(proc.writeMemory(rw, new Uint8Array(16 * PG).fill(0x5a))).toBe(0);
    expect(proc.memfdFcntl(m, F_ADD_SEALS, F_SEAL_WRITE)).toBe(-EBUSY);
    expect(proc.munmap(rw, BigInt(16 * PG))).toBe(0);
    const c = IommufdClient.open(proc);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    const ro = proc.mmap(0n, BigInt(16 * PG), PROT_READ, MAP_SHARED, m);
    c.ioasMap({ ioas, userVa: ro, length: 16 * PG, iova: 1 << 30, flags: 1 | 4 });
    expect(proc.munmap(ro, BigInt(16 * PG))).toBe(0);
    const pinned = proc.fileOf(m)!.memfile!.lookup(3);
    expect(machine.phys.pincount(pinned)).toBe(1);
    expect(proc.memfdFcntl(m, F_ADD_SEALS, F_SEAL_WRITE)).toBe(-EBUSY);
    expect(proc.memfdFcntl(m, F_GET_SEALS, 0)).toBe(0);
    c.ioasUnmapAll(ioas);
    expect(proc.memfdFcntl(m, F_ADD_SEALS, F_SEAL_WRITE)).toBe(0);
    const buf = proc.mmap(0n, BigInt(PG), PROT_READ | PROT_WRITE, 0x22);
    expect(proc.pwrite(m, buf, 10, 0n)).toBe(-EPERM);
    expect(proc.fallocate(m, PUNCH, 0, PG)).toBe(-EPERM);
    expect(proc.ftruncate(m, 32 * PG)).toBe(0);
    expect(proc.mmap(0n, BigInt(PG), PROT_READ | PROT_WRITE, MAP_SHARED, m)).toBe(BigInt(-EPERM));
    const shared = proc.mmap(0n, BigInt(PG), PROT_READ, MAP_SHARED, m);
    expect(shared).toBeGreaterThan(0n);
    expect(proc.mprotect(shared, BigInt(PG), PROT_READ | PROT_WRITE)).toBe(-EACCES);
    expect(proc.mmap(0n, BigInt(PG), PROT_READ | PROT_WRITE, MAP_PRIVATE, m)).toBeGreaterThan(0n);
    // an IOAS may still map (and pin) the sealed file's pages: iommufd checks no seal
    c.ioasMap({ ioas, userVa: shared, length: PG, iova: 1 << 30, flags: 1 | 4 });
    // the page cache's invariants hold, and see a write seal beside a shared writable mapping
    const file = proc.fileOf(m)!.memfile!;
    expect(file.problems()).toEqual([]);
    const other = proc.memfdCreate('o', MFD_ALLOW_SEALING);
    expect(proc.ftruncate(other, PG)).toBe(0);
    expect(proc.mmap(0n, BigInt(PG), PROT_READ | PROT_WRITE, MAP_SHARED, other)).toBeGreaterThan(0n);
    const of = proc.fileOf(other)!.memfile!;
    of.seals |= F_SEAL_WRITE;
    expect(of.problems()).toEqual(['memfd:o: write-sealed, yet a shared writable mapping exists']);
    of.seals &= ~F_SEAL_WRITE;
    c.close();
    proc.exit();
    expect(machine.phys.framesInUse()).toBe(0);
  });

  it("a memfd's mode is its owner's to change (or CAP_FOWNER's), and F_SEAL_EXEC keeps its x bits on shmem, not on hugetlbfs", () => {
    const { machine, proc } = session();
    const nx = proc.memfdCreate('nx', MFD_NOEXEC_SEAL);
    expect(proc.fstat(nx)).toMatchObject({ mode: 0o100666 });
    expect(proc.fsetattr(nx, 0o755)).toBe(-EPERM);
    expect(proc.fsetattr(nx, 0o644)).toBe(0);
    expect(proc.fstat(nx)).toMatchObject({ mode: 0o100644 });
    const x = proc.memfdCreate('x', MFD_ALLOW_SEALING);
    expect(proc.memfdFcntl(x, F_ADD_SEALS, F_SEAL_EXEC)).toBe(0);
    expect(proc.fsetattr(x, 0o644)).toBe(-EPERM);
    expect(proc.fsetattr(x, 0o4755)).toBe(0);
    // a reopen sees the inode's mode
    const again = proc.open(`/proc/self/fd/${x}`, 0);
    expect(proc.fstat(again)).toMatchObject({ mode: 0o104755 });
    const h = proc.memfdCreate('h', MFD_HUGETLB | MFD_NOEXEC_SEAL);
    expect(proc.fsetattr(h, 0o755)).toBe(0);
    // a memfd is its maker's: another user without CAP_FOWNER may not change its mode
    const root = machine.spawn({ uid: 0, caps: ['CAP_FOWNER', 'CAP_SETUID'] });
    const rm = root.memfdCreate('r', 0);
    expect(root.fsetattr(rm, 0o600)).toBe(0);
    const child = root.fork();
    expect(child.setuid(1000)).toBe(0);
    expect(child.fsetattr(rm, 0o644)).toBe(-EPERM);
    const own = child.memfdCreate('own', 0);
    expect(child.fsetattr(own, 0o700)).toBe(0);
    child.exit();
    root.exit();
    proc.exit();
  });

  it('F_SEAL_FUTURE_WRITE keeps the shared writable mappings there are and refuses new ones and write(2)', () => {
    const { proc } = session();
    const m = proc.memfdCreate('m', MFD_ALLOW_SEALING);
    expect(proc.ftruncate(m, 2 * PG)).toBe(0);
    const w = proc.mmap(0n, BigInt(2 * PG), PROT_READ | PROT_WRITE, MAP_SHARED, m);
    expect(proc.memfdFcntl(m, F_ADD_SEALS, F_SEAL_FUTURE_WRITE)).toBe(0);
    expect(proc.writeMemory(w, new Uint8Array([9]))).toBe(0);
    const buf = proc.mmap(0n, BigInt(PG), PROT_READ | PROT_WRITE, 0x22);
    // the byte the old mapping wrote is the file's
    expect(proc.pread(m, buf, 1, 0n)).toBe(1);
    const got = new Uint8Array(1);
    expect(proc.readMemory(buf, got)).toBe(0);
    expect(got[0]).toBe(9);
    expect(proc.pwrite(m, buf, 1, 0n)).toBe(-EPERM);
    expect(proc.mmap(0n, BigInt(PG), PROT_READ | PROT_WRITE, MAP_SHARED, m)).toBe(BigInt(-EPERM));
    proc.exit();
  });
});
