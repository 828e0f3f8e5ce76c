// SPDX-License-Identifier: GPL-2.0-only
// getdents64(2) and lseek(2) of the directory of the VFIO nodes, as shmem's offset directories answer
// (simple_offset_dir_operations): the records, their offsets and lengths, the position each call leaves,
// and the inode numbers stat shows. The numbers are what Linux 6.12.95 and 7.2.13 answer
// test/bridge/progs/dirs.c.
import { describe, expect, it } from 'vitest';
import { EBADF, EFAULT, EINVAL, ENOTDIR } from '../../src/base/errno.js';
import { DT_CHR, DT_DIR, O_DIRECTORY, O_PATH, O_RDONLY, O_RDWR, SEEK_CUR, SEEK_END, SEEK_SET } from '../../src/machine/device.js';
import { Machine } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';

const EOD = 0x7fffffffn;

function session(profile: string) {
  const machine = new Machine({ memory: '64M', panicOnWarn: true, profile });
  registerIommufdNodes(machine);
  const p = machine.spawn({ memlock: 'unlimited' });
  const buf = p.mmap(0n, 8192n, 3, 0x22) as bigint;
  return { machine, p, buf };
}

interface Rec {
  ino: bigint;
  off: bigint;
  reclen: number;
  type: number;
  name: string;
}

/** The linux_dirent64 records of `n` bytes at `buf`. */
function records(p: ReturnType<typeof session>['p'], buf: bigint, n: number): Rec[] {
  const b = new Uint8Array(n);
  expect(p.readMemory(buf, b)).toBe(0);
  const v = new DataView(b.buffer);
  const out: Rec[] = [];
  for (let o = 0; o < n; ) {
    const reclen = v.getUint16(o + 16, true);
    let end = o + 19;
    while (b[end] !== 0) end++;
    out.push({ ino: v.getBigUint64(o, true), off: v.getBigInt64(o + 8, true), reclen, type: b[o + 18], name: new TextDecoder().decode(b.subarray(o + 19, end)) });
    o += reclen;
  }
  return out;
}

describe('getdents64 of /dev/vfio', () => {
  it('lists ".", ".." and vfio with their types and inodes, each 24 bytes, d_off 1, 3 and DIR_OFFSET_EOD, then nothing', () => {
    for (const profile of ['latest', 'v6.12']) {
      const { machine, p, buf } = session(profile);
      const fd = p.open('/dev/vfio', O_RDONLY | O_DIRECTORY);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(p.getdents64(fd, buf, 16)).toBe(-EINVAL);
      expect(p.getdents64(fd, buf, 4096)).toBe(72);
      const dir = p.stat('/dev/vfio');
      const node = p.stat('/dev/vfio/vfio');
      if (typeof dir === 'number' || typeof node === 'number') throw new Error('stat failed');
      expect(records(p, buf, 72)).toEqual([
        { ino: BigInt(dir.ino ?? -1), off: 1n, reclen: 24, type: DT_DIR, name: '.' },
        { ino: BigInt(machine.nodeIno('/dev') ?? -1), off: 3n, reclen: 24, type: DT_DIR, name: '..' },
        { ino: BigInt(node.ino ?? -1), off: EOD, reclen: 24, type: DT_CHR, name: 'vfio' },
      ]);
      // the descriptor's own stat shows the same inode as the path's
      const fst = p.fstat(fd);
      expect(typeof fst === 'number' ? fst : fst.ino).toBe(dir.ino);
      expect(p.lseek(fd, 0n, SEEK_CUR)).toBe(EOD);
      expect(p.getdents64(fd, buf, 4096)).toBe(0);
      // the nodes' inode numbers are distinct
      const iommu = p.stat('/dev/iommu');
      expect(new Set([dir.ino, node.ino, typeof iommu === 'number' ? iommu : iommu.ino, machine.nodeIno('/dev')]).size).toBe(4);
    }
  });

  it('moves the position to the first entry not written: one record a call, a buffer too small, a fault past the first record', () => {
    const { p, buf } = session('latest');
    const fd = p.open('/dev/vfio', O_RDONLY);
    expect(p.getdents64(fd, buf, 30)).toBe(24);
    expect(p.lseek(fd, 0n, SEEK_CUR)).toBe(1n);
    expect(p.getdents64(fd, buf, 30)).toBe(24);
    expect(p.lseek(fd, 0n, SEEK_CUR)).toBe(3n);
    expect(p.getdents64(fd, buf, 20)).toBe(-EINVAL);
    expect(p.lseek(fd, 0n, SEEK_CUR)).toBe(3n);
    // the second record would cross into a read-only page: the first is the answer
    expect(p.mprotect(buf + 4096n, 4096n, 1)).toBe(0);
    expect(p.lseek(fd, 0n, SEEK_SET)).toBe(0n);
    expect(p.getdents64(fd, buf + 4096n - 40n, 200)).toBe(24);
    expect(p.lseek(fd, 0n, SEEK_CUR)).toBe(1n);
    // a fault at the first record is EFAULT, and the position stays
    expect(p.getdents64(fd, 8n, 4096)).toBe(-EFAULT);
    expect(p.lseek(fd, 0n, SEEK_CUR)).toBe(1n);
  });

  it('lists from any position as offset_dir_lookup() finds it: the child at or below it, the head when there is none, nothing at DIR_OFFSET_EOD only', () => {
    const { p, buf } = session('v6.12');
    const fd = p.open('/dev/vfio', O_RDONLY);
    const from = (pos: bigint): string[] => {
      expect(p.lseek(fd, pos, SEEK_SET)).toBe(pos);
      const n = p.getdents64(fd, buf, 4096);
      expect(n).toBeGreaterThanOrEqual(0);
      return records(p, buf, n).map((r) => `${r.name}@${r.off}`);
    };
    expect(from(1n)).toEqual(['..@3', `vfio@${EOD}`]);
    for (const pos of [2n, 3n, 4n, 100n, EOD - 1n, EOD + 1n, 1n << 32n]) expect(from(pos)).toEqual([`vfio@${EOD}`]);
    expect(from(EOD)).toEqual([]);
  });

  it('offset_dir_llseek(): SEEK_SET and SEEK_CUR to a position at or past 0, nothing else', () => {
    const { p } = session('latest');
    const fd = p.open('/dev/vfio', O_RDONLY);
    expect(p.lseek(fd, 0n, SEEK_END)).toBe(BigInt(-EINVAL));
    expect(p.lseek(fd, -1n, SEEK_CUR)).toBe(BigInt(-EINVAL));
    expect(p.lseek(fd, -1n, SEEK_SET)).toBe(BigInt(-EINVAL));
    expect(p.lseek(fd, 5n, SEEK_SET)).toBe(5n);
    expect(p.lseek(fd, 2n, SEEK_CUR)).toBe(7n);
    // a sum past LLONG_MAX wraps negative
    expect(p.lseek(fd, 0x7fffffffffffffffn, SEEK_CUR)).toBe(BigInt(-EINVAL));
    expect(p.lseek(fd, 0n, SEEK_CUR)).toBe(7n);
  });

  it('is ENOTDIR for a device node, EBADF for an O_PATH or closed descriptor', () => {
    const { p, buf } = session('latest');
    const iommu = p.open('/dev/iommu', O_RDWR);
    expect(p.getdents64(iommu, buf, 4096)).toBe(-ENOTDIR);
    const path = p.open('/dev/vfio', O_PATH);
    expect(p.getdents64(path, buf, 4096)).toBe(-EBADF);
    expect(p.close(path)).toBe(0);
    expect(p.getdents64(path, buf, 4096)).toBe(-EBADF);
  });
});
