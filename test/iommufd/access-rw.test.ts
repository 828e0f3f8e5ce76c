// SPDX-License-Identifier: GPL-2.0-only
/**
 * IOMMU_TEST_OP_ACCESS_RW around failures (iommufd_test_access_rw()): the
 * bounce buffer is filled by copy_from_user() for a write and by
 * iommufd_access_rw() for a read, and copied back only when the read
 * succeeded. The model keeps one bounce buffer from call to call, so a
 * failed call must leave what an earlier one put there unseen.
 */
import { describe, expect, it } from 'vitest';
import { EFAULT, ENOENT } from '../../src/base/errno.js';
import * as U from '../../src/iommufd/uapi.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { auditEachWorld, world } from '../client/harness.js';

const PS = 4096;
const audited = auditEachWorld();

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

describe('ACCESS_RW after another', () => {
  it('a read past the area is ENOENT and leaves the user buffer as it was; a write from a buffer that faults is EFAULT and writes nothing', () => {
    const w = world();
    audited.current = w;
    const ioas = w.c.ioasAlloc();
    const pattern = bytes(2 * PS, 3);
    expect(w.proc.writeMemory(w.buffer, pattern)).toBe(0);
    const iova = w.c.ioasMap({ ioas, userVa: w.buffer, length: 2 * PS });
    const access = w.c.createAccess(ioas);
    const rw = (at: bigint, length: number, uptr: bigint, flags = 0): number =>
      w.c.testCmd(U.IOMMU_TEST_OP_ACCESS_RW, access, { 'access_rw.iova': at, 'access_rw.length': BigInt(length), 'access_rw.uptr': uptr, 'access_rw.flags': flags }).rc;
    const out = w.proc.mmap(0n, BigInt(2 * PS), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const read = (n: number): Uint8Array => {
      const b = new Uint8Array(n);
      expect(w.proc.readMemory(out, b)).toBe(0);
      return b;
    };
    // the whole area through the access
    expect(rw(iova, 2 * PS, out)).toBe(0);
    expect(read(2 * PS)).toEqual(pattern);
    // 16 bytes from 8 before the area's end: iommufd_access_rw() walks off the area (ENOENT), nothing is copied back
    expect(w.proc.writeMemory(out, new Uint8Array(16).fill(0x5a))).toBe(0);
    expect(rw(iova + BigInt(2 * PS - 8), 16, out)).toBe(-ENOENT);
    expect(read(16)).toEqual(new Uint8Array(16).fill(0x5a));
    // a short read afterwards holds the IOVA's bytes, not what the earlier calls left in the bounce buffer
    expect(rw(iova + 4n, 4, out)).toBe(0);
    expect(read(4)).toEqual(pattern.subarray(4, 8));
    // a write whose user buffer runs into an unmapped page: copy_from_user() fails first, the IOAS memory is untouched
    const edge = w.proc.mmap(0n, BigInt(2 * PS), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(w.proc.munmap(edge + BigInt(PS), BigInt(PS))).toBe(0);
    expect(w.proc.writeMemory(edge + BigInt(PS - 8), new Uint8Array(8).fill(0xee))).toBe(0);
    expect(rw(iova, 16, edge + BigInt(PS - 8), U.MOCK_ACCESS_RW_WRITE)).toBe(-EFAULT);
    const now = new Uint8Array(16);
    expect(w.proc.readMemory(w.buffer, now)).toBe(0);
    expect(now).toEqual(pattern.subarray(0, 16));
  });
});
