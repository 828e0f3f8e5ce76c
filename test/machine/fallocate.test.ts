// SPDX-License-Identifier: GPL-2.0-only
// fallocate(2): vfs_fallocate()'s checks in their order, shmem_fallocate() and hugetlbfs_fallocate().
// The memfd cases are what 6.12.95 and 7.2.13 answer in test/bridge/progs/fallocate.c.
import { describe, expect, it } from 'vitest';
import { EBADF, EFBIG, EINVAL, ENODEV, ENOMEM, ENOSPC, ENXIO, EOPNOTSUPP } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/index.js';
import { Machine, O_RDONLY } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import {
  FALLOC_FL_COLLAPSE_RANGE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_WRITE_ZEROES,
  FALLOC_FL_ZERO_RANGE,
  MAP_SHARED,
  MFD_HUGETLB,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  SEEK_DATA,
  SEEK_HOLE,
} from '../../src/mm/constants.js';

const PUNCH = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
const MiB = 1 << 20;

function session(profile: 'latest' | 'v6.12' = 'latest', hugetlb?: number) {
  const machine = new Machine({ memory: '256M', panicOnWarn: true, profile, ...(hugetlb !== undefined ? { hugetlbPages: { '2M': hugetlb } } : {}) });
  registerIommufdNodes(machine);
  const proc = machine.spawn({ memlock: 'unlimited' });
  return { machine, proc };
}

describe('fallocate (vfs_fallocate, shmem_fallocate)', () => {
  it('offset and length first, then the mode, then FMODE_WRITE, then the file: the errno of each, on both profiles', () => {
    for (const profile of ['latest', 'v6.12'] as const) {
      const { proc } = session(profile);
      const m = proc.memfdCreate('m', 0);
      const dev = IommufdClient.open(proc).fd;
      const ro = proc.open('/dev/iommu', O_RDONLY);
      expect(proc.fallocate(m, 0, 0, 0)).toBe(-EINVAL);
      expect(proc.fallocate(m, 0, -1, PAGE_SIZE)).toBe(-EINVAL);
      expect(proc.fallocate(m, 0, 0, -1)).toBe(-EINVAL);
      expect(proc.fallocate(99, 0, 0, PAGE_SIZE)).toBe(-EBADF);
      expect(proc.fallocate(m, FALLOC_FL_PUNCH_HOLE, 0, PAGE_SIZE)).toBe(-EOPNOTSUPP);
      expect(proc.fallocate(m, PUNCH | FALLOC_FL_ZERO_RANGE, 0, PAGE_SIZE)).toBe(-EOPNOTSUPP);
      expect(proc.fallocate(m, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE)).toBe(-EOPNOTSUPP);
      expect(proc.fallocate(m, 0x100, 0, PAGE_SIZE)).toBe(-EOPNOTSUPP);
      // the mode before FMODE_WRITE, FMODE_WRITE before the file type
      expect(proc.fallocate(ro, 0x100, 0, PAGE_SIZE)).toBe(-EOPNOTSUPP);
      expect(proc.fallocate(ro, 0, 0, PAGE_SIZE)).toBe(-EBADF);
      expect(proc.fallocate(dev, 0, 0, PAGE_SIZE)).toBe(-ENODEV);
      // WRITE_ZEROES is a mode of 7.x's VFS (then refused by shmem); 6.12 refuses the unknown bit first
      expect(proc.fallocate(ro, FALLOC_FL_WRITE_ZEROES, 0, PAGE_SIZE)).toBe(profile === 'latest' ? -EBADF : -EOPNOTSUPP);
      expect(proc.fallocate(m, FALLOC_FL_WRITE_ZEROES, 0, PAGE_SIZE)).toBe(-EOPNOTSUPP);
      expect(proc.fallocate(m, FALLOC_FL_WRITE_ZEROES | FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE)).toBe(-EOPNOTSUPP);
      // shmem: neither ZERO_RANGE nor COLLAPSE_RANGE
      expect(proc.fallocate(m, FALLOC_FL_ZERO_RANGE, 0, PAGE_SIZE)).toBe(-EOPNOTSUPP);
      expect(proc.fallocate(m, FALLOC_FL_COLLAPSE_RANGE, 0, PAGE_SIZE)).toBe(-EOPNOTSUPP);
      // offset + length past MAX_LFS_FILESIZE (and its signed wrap)
      expect(proc.fallocate(m, 0, (1n << 63n) - 4096n, 8192n)).toBe(-EFBIG);
      expect(proc.fallocate(m, 0, 1n << 62n, (1n << 63n) - 1n)).toBe(-EFBIG);
      proc.exit();
    }
  });

  it('allocation adds zeroed pages to the cache and grows the size unless KEEP_SIZE; a punch gives them back', () => {
    const { machine, proc } = session();
    const m = proc.memfdCreate('m', 0);
    const file = proc.fileOf(m)!.memfile!;
    const before = machine.phys.framesInUse();
    expect(proc.fallocate(m, 0, MiB, MiB)).toBe(0);
    expect(file.size).toBe(2n * BigInt(MiB));
    expect(machine.phys.framesInUse() - before).toBe(256);
    expect(file.lookup(255)).toBe(-1);
    expect(file.lookup(256)).toBeGreaterThanOrEqual(0);
    expect(proc.fallocate(m, FALLOC_FL_KEEP_SIZE, 2 * MiB, MiB)).toBe(0);
    expect(file.size).toBe(2n * BigInt(MiB));
    expect(file.allocatedBytes()).toBe(2n * BigInt(MiB));
    // a second allocation of cached pages adds nothing
    expect(proc.fallocate(m, 0, MiB, MiB)).toBe(0);
    expect(machine.phys.framesInUse() - before).toBe(512);
    expect(proc.fallocate(m, PUNCH, MiB, 2 * MiB)).toBe(0);
    expect(machine.phys.framesInUse()).toBe(before);
    expect(file.size).toBe(2n * BigInt(MiB));
    proc.exit();
    expect(machine.phys.framesInUse()).toBe(0);
  });

  it('a range up to LLONG_MAX: shmem\'s end is an unsigned sum (no wrap), the last page allocated; allocated pages are holes to SEEK_DATA until written', () => {
    // what 7.2.13 answered (a probe in the oracle VM)
    const { machine, proc } = session();
    const m = proc.memfdCreate('m', 0);
    const file = proc.fileOf(m)!.memfile!;
    const before = machine.phys.framesInUse();
    expect(proc.fallocate(m, 0, 0x7ffffffffffff000n, 4095n)).toBe(0);
    expect(file.size).toBe((1n << 63n) - 1n);
    expect(proc.fallocate(m, 0, 0x7fffffffffffe000n, 100n)).toBe(0);
    expect(file.size).toBe((1n << 63n) - 1n);
    expect(machine.phys.framesInUse() - before).toBe(2);
    // a punch of everything up to LLONG_MAX leaves the last page, which it covers only in part
    expect(proc.fallocate(m, PUNCH, 0, (1n << 63n) - 1n)).toBe(0);
    expect(machine.phys.framesInUse() - before).toBe(1);
    expect(proc.fallocate(m, 0, 4096, 3 * 4096)).toBe(0);
    expect(proc.lseek(m, 0n, SEEK_DATA)).toBe(BigInt(-ENXIO));
    expect(proc.lseek(m, 4096n, SEEK_HOLE)).toBe(4096n);
    // written, page 2 is data; mincore_page() counts only it (an allocated page is not uptodate)
    const va = proc.mmap(0n, 4n * 4096n, PROT_READ | PROT_WRITE, MAP_SHARED, m);
    expect(proc.writeMemory(va + 2n * 4096n, new Uint8Array([7]))).toBe(0);
    expect(proc.munmap(va, 4n * 4096n)).toBe(0);
    const again = proc.mmap(0n, 4n * 4096n, PROT_READ | PROT_WRITE, MAP_SHARED, m);
    const vec = proc.mmap(0n, 4096n, PROT_READ | PROT_WRITE, 0x22);
    expect(proc.mincore(again, 4n * 4096n, vec)).toBe(0);
    const inCore = new Uint8Array(4);
    expect(proc.readMemory(vec, inCore)).toBe(0);
    expect([...inCore].map((x) => x & 1)).toEqual([0, 0, 1, 0]);
    expect(proc.lseek(m, 0n, SEEK_DATA)).toBe(8192n);
    expect(proc.lseek(m, 8192n, SEEK_HOLE)).toBe(12288n);
    proc.exit();
  });

  it('a range more than free memory holds: ENOMEM, nothing added, and the undo takes the not-uptodate pages of the range back (written ones stay)', () => {
    const { machine, proc } = session();
    const m = proc.memfdCreate('m', 0);
    const file = proc.fileOf(m)!.memfile!;
    expect(proc.fallocate(m, 0, 0, 3 * 4096)).toBe(0);
    const va = proc.mmap(0n, 3n * 4096n, PROT_READ | PROT_WRITE, MAP_SHARED, m);
    expect(proc.writeMemory(va + 4096n, new Uint8Array([1]))).toBe(0);
    const before = machine.phys.framesInUse();
    expect(proc.fallocate(m, 0, 0, (1n << 63n) - 1n)).toBe(-ENOMEM);
    expect([file.lookup(0), file.lookup(2)]).toEqual([-1, -1]);
    expect(file.lookup(1)).toBeGreaterThanOrEqual(0);
    expect(machine.phys.framesInUse()).toBe(before - 2);
    expect(file.size).toBe(3n * 4096n);
    proc.exit();
  });

  it('a punch over a pinned page takes it out of the file with its bytes; a partial punch zeroes the bytes in place', () => {
    const { machine, proc } = session();
    const m = proc.memfdCreate('m', 0);
    const file = proc.fileOf(m)!.memfile!;
    expect(proc.ftruncate(m, MiB)).toBe(0);
    const va = proc.mmap(0n, BigInt(MiB), PROT_READ | PROT_WRITE, MAP_SHARED, m);
    expect(proc.writeMemory(va, new Uint8Array(MiB).fill(0x33))).toBe(0);
    const c = IommufdClient.open(proc);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    c.ioasMap({ ioas, userVa: va, length: MiB, iova: 1 << 30 });
    const pinned = file.lookup(4);
    expect(machine.phys.pincount(pinned)).toBe(1);
    expect(proc.fallocate(m, PUNCH, 2 * PAGE_SIZE, 16 * PAGE_SIZE)).toBe(0);
    // out of the page cache and out of the program's page table, alive by the pin, its bytes kept
    expect(file.lookup(4)).toBe(-1);
    expect(proc.mm.lookupPfn(va + 4n * 4096n)).toBe(-1);
    expect(machine.phys.pincount(pinned)).toBe(1);
    const b = new Uint8Array(8);
    machine.phys.read(pinned, 0, b, 0, 8);
    expect([...b]).toEqual(new Array(8).fill(0x33));
    // the program touches a new zeroed page there
    const got = new Uint8Array(1);
    expect(proc.readMemory(va + 4n * 4096n, got)).toBe(0);
    expect(got[0]).toBe(0);
    expect(file.lookup(4)).not.toBe(pinned);
    // 200 bytes inside page 25: zeroed in the page the pin holds, which stays in the file
    const p25 = file.lookup(25);
    expect(proc.fallocate(m, PUNCH, 25 * PAGE_SIZE + 100, 200)).toBe(0);
    expect(file.lookup(25)).toBe(p25);
    const page = new Uint8Array(PAGE_SIZE);
    machine.phys.read(p25, 0, page, 0, PAGE_SIZE);
    expect([page[99], page[100], page[299], page[300]]).toEqual([0x33, 0, 0, 0x33]);
    c.ioasUnmap({ ioas, iova: 1 << 30, length: MiB });
    expect(machine.phys.pincount(pinned)).toBe(0);
    c.close();
    proc.exit();
    expect(machine.phys.framesInUse()).toBe(0);
    expect(machine.warnings).toEqual([]);
  });
});

describe('the page cache audit (MemFile.problems)', () => {
  it('holds after allocations, punches and a truncate, and sees a fallocated index left without its folio or a folio without the reverse map', () => {
    const { machine, proc } = session();
    const m = proc.memfdCreate('m', 0);
    expect(proc.fallocate(m, 0, 0, 64 * 4096)).toBe(0);
    expect(proc.fallocate(m, PUNCH, 8 * 4096, 8 * 4096)).toBe(0);
    expect(proc.ftruncate(m, 32 * 4096)).toBe(0);
    expect(machine.audit()).toBe(0);
    const file = proc.fileOf(m)!.memfile! as unknown as { falloced: Set<number>; indexOf: Map<number, number> };
    file.falloced.add(50);
    machine.warn.panicOnWarn = false;
    expect(machine.audit()).toBe(1);
    expect(machine.warnings.map((w) => w.assertion)).toEqual(['audit.page_cache']);
    file.falloced.delete(50);
    const [head] = [...file.indexOf.keys()];
    file.indexOf.delete(head);
    expect(machine.audit()).toBe(2);
    file.indexOf.set(head, 0);
    proc.exit();
  });
});

describe('fallocate of a hugetlb memfd (hugetlbfs_fallocate)', () => {
  it('allocation takes whole huge pages and stops at the pool (ENOSPC, keeping what it added); a punch drops whole pages and their reservations, zeroing the partial ones', () => {
    const { machine, proc } = session('latest', 3);
    const h = proc.memfdCreate('h', MFD_HUGETLB);
    const file = proc.fileOf(h)!.memfile!;
    // one byte of the range allocates the whole 2 MiB page
    expect(proc.fallocate(h, 0, 0, 1)).toBe(0);
    expect(file.size).toBe(1n);
    expect(machine.phys.hugetlbStats(9).inUse).toBe(1);
    expect(proc.fallocate(h, 0, 2 * MiB, 6 * MiB)).toBe(-ENOSPC);
    expect(machine.phys.hugetlbStats(9).inUse).toBe(3);
    expect(file.size).toBe(1n);
    expect(proc.ftruncate(h, 10 * MiB)).toBe(0);
    expect(proc.fallocate(h, PUNCH, 2 * MiB, 4 * MiB)).toBe(0);
    expect(machine.phys.hugetlbStats(9).inUse).toBe(1);
    // a shared mapping of all five pages needs four reservations; the pool has two pages free
    expect(proc.mmap(0n, 10n * BigInt(MiB), PROT_READ | PROT_WRITE, MAP_SHARED, h)).toBe(BigInt(-ENOMEM));
    // pages 1-2 reserved by a mapping of 4-8 MiB only; a punch of 2-6 MiB gives back the reservation of page 1
    const va2 = proc.mmap(0n, 4n * BigInt(MiB), PROT_READ | PROT_WRITE, MAP_SHARED, h, 2n * BigInt(MiB));
    expect(va2 > 0n).toBe(true);
    expect(machine.phys.hugetlbStats(9).reserved).toBe(2);
    expect(proc.munmap(va2, 4n * BigInt(MiB))).toBe(0);
    expect(proc.fallocate(h, PUNCH, 2 * MiB, 2 * MiB)).toBe(0);
    expect(machine.phys.hugetlbStats(9).reserved).toBe(1);
    // a partial punch of page 0 zeroes its bytes there and keeps the page
    const head = file.lookup(0);
    machine.phys.write(head, 100, new Uint8Array(4).fill(0x5a), 0, 4);
    expect(proc.fallocate(h, PUNCH, 101, 2)).toBe(0);
    const b = new Uint8Array(4);
    machine.phys.read(head, 100, b, 0, 4);
    expect([...b]).toEqual([0x5a, 0, 0, 0x5a]);
    expect(file.lookup(0)).toBe(head);
    proc.exit();
    expect(machine.phys.hugetlbStats(9)).toMatchObject({ inUse: 0, reserved: 0 });
  });

  it("a range ending near LLONG_MAX wraps the kernel's end: the loop takes the whole pool and answers ENOSPC (on the real kernel the pages then sit past what eviction frees: BUG in clear_inode())", () => {
    const { machine, proc } = session('latest', 3);
    const h = proc.memfdCreate('h', MFD_HUGETLB);
    expect(proc.fallocate(h, 0, 0x7ffffffffffff000n, 2523n)).toBe(-ENOSPC);
    expect(machine.phys.hugetlbStats(9).inUse).toBe(3);
    expect(proc.fileOf(h)!.memfile!.size).toBe(0n);
    proc.exit();
    expect(machine.phys.hugetlbStats(9).inUse).toBe(0);
  });
});
