// SPDX-License-Identifier: GPL-2.0-only
/**
 * The iovec arrays of readv(2)/writev(2) and their positional forms, as
 * lib/iov_iter.c imports them (import_iovec()), and the segment loop a file
 * without read_iter/write_iter gets (do_loop_readv_writev() in
 * fs/read_write.c): every model file is such a file.
 */
import { EFAULT, EINVAL, EOPNOTSUPP } from '../base/errno.js';
import { accessOk } from '../mm/constants.js';
import type { MmStruct } from '../mm/address-space.js';

/** UIO_MAXIOV: the most segments one call takes. */
export const UIO_MAXIOV = 1024;
/** MAX_RW_COUNT: the most one read or write moves (INT_MAX & PAGE_MASK). */
export const MAX_RW_COUNT = 0x7fff_f000;
/** RWF_HIPRI: the one preadv2/pwritev2 flag a file without read_iter/write_iter accepts. */
export const RWF_HIPRI = 0x1;
/** sizeof(struct iovec) on x86-64. */
const IOVEC_SIZE = 16;

export interface IoSegment {
  base: bigint;
  len: number;
}

/**
 * import_iovec(): the segments of the `nr` iovecs at `vec` (`nr` already cut
 * to the unsigned int the kernel takes), or -errno. Zero segments are none;
 * more than UIO_MAXIOV -EINVAL; an unreadable array -EFAULT; a length that is
 * negative as ssize_t -EINVAL (copy_iovec_from_user()). One segment is
 * checked after its length is cut to MAX_RW_COUNT (import_ubuf()); of several,
 * each is checked whole against the user address limit and the total is then
 * cut to MAX_RW_COUNT.
 */
export function importIovec(mm: MmStruct, vec: bigint, nr: number): IoSegment[] | number {
  if (nr === 0) return [];
  if (nr > UIO_MAXIOV) return -EINVAL;
  if (!accessOk(vec, BigInt(nr * IOVEC_SIZE))) return -EFAULT;
  const raw = new Uint8Array(IOVEC_SIZE);
  const view = new DataView(raw.buffer);
  const segs: IoSegment[] = [];
  for (let i = 0; i < nr; i++) {
    if (mm.readUser(vec + BigInt(i * IOVEC_SIZE), raw) !== 0) return -EFAULT;
    const len = view.getBigInt64(8, true);
    if (len < 0n) return -EINVAL;
    segs.push({ base: view.getBigUint64(0, true), len: len > BigInt(MAX_RW_COUNT) ? MAX_RW_COUNT + 1 : Number(len) });
    // the whole length is what the address check sees (several segments)
    if (nr > 1 && !accessOk(segs[i].base, len)) return -EFAULT;
  }
  let total = 0;
  for (const s of segs) {
    if (s.len > MAX_RW_COUNT - total) s.len = MAX_RW_COUNT - total;
    total += s.len;
  }
  if (nr === 1 && !accessOk(segs[0].base, BigInt(segs[0].len))) return -EFAULT;
  return segs;
}

/** The bytes the segments move in all. */
export function iovTotal(segs: readonly IoSegment[]): number {
  let t = 0;
  for (const s of segs) t += s.len;
  return t;
}

/**
 * do_loop_readv_writev(): `flags` beyond RWF_HIPRI are -EOPNOTSUPP; then the
 * file's read or write once per segment, stopping at the first error (which
 * is the answer only when nothing moved yet) or short count. The first
 * segment is passed even when empty; empty ones after a segment are skipped
 * (iov_iter_advance()).
 */
export function loopReadvWritev(segs: readonly IoSegment[], flags: number, rw: (base: bigint, len: number) => number): number {
  if ((flags & ~RWF_HIPRI) !== 0) return -EOPNOTSUPP;
  let ret = 0;
  let i = 0;
  while (i < segs.length) {
    const s = segs[i];
    const nr = rw(s.base, s.len);
    if (nr < 0) return ret === 0 ? nr : ret;
    ret += nr;
    if (nr !== s.len) break;
    i++;
    while (i < segs.length && segs[i].len === 0) i++;
  }
  return ret;
}
