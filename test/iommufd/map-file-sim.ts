// SPDX-License-Identifier: GPL-2.0-only
/**
 * Raw helpers for the commands that take a file by descriptor
 * (IOAS_MAP_FILE, IOAS_CHANGE_PROCESS, the selftest dma-buf ops) and the
 * selftest's memfd_mmap().
 */
import type { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import type { Process } from '../../src/machine/index.js';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';

const RW = U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE;

export interface MapFileArgs {
  ioas: number;
  fd: number;
  start: bigint | number;
  length: bigint | number;
  iova?: bigint | number;
  flags?: number;
}

/** IOMMU_IOAS_MAP_FILE, unchecked: rc and the IOVA written back. */
export function mapFile(c: IommufdClient, a: MapFileArgs): { rc: number; iova: bigint } {
  const r = c.raw(U.IOMMU_IOAS_MAP_FILE, U.iommu_ioas_map_file, {
    flags: a.flags ?? RW,
    ioas_id: a.ioas,
    fd: a.fd,
    start: BigInt(a.start),
    length: BigInt(a.length),
    iova: BigInt(a.iova ?? 0),
  });
  return { rc: r.rc, iova: r.out.iova as bigint };
}

/** IOMMU_IOAS_CHANGE_PROCESS, unchecked. */
export function changeProcess(c: IommufdClient, reserved = 0): number {
  return c.raw(U.IOMMU_IOAS_CHANGE_PROCESS, U.iommu_ioas_change_process, { __reserved: reserved }).rc;
}

/** memfd_mmap() of iommufd_utils.h: a memfd of `length` bytes mapped MAP_SHARED; the fd and the address. */
export function memfdMmap(proc: Process, length: number, hugetlb = false): { fd: number; va: bigint } {
  const fd = proc.memfdCreate('buffer', hugetlb ? 0x0004 : 0);
  if (fd < 0) throw new Error(`memfd_create: ${fd}`);
  const rc = proc.ftruncate(fd, length);
  if (rc) throw new Error(`ftruncate: ${rc}`);
  const va = proc.mmap(0n, BigInt(length), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
  if (va < 0n) throw new Error(`mmap: ${va}`);
  return { fd, va };
}

/** IOMMU_TEST_OP_DMABUF_GET: the dma-buf fd or -errno. */
export function dmabufGet(c: IommufdClient, length: number, openFlags = 0o2000000): number {
  return c.testCmd(U.IOMMU_TEST_OP_DMABUF_GET, 0, { 'dmabuf_get.length': length, 'dmabuf_get.open_flags': openFlags }).rc;
}

/** IOMMU_TEST_OP_DMABUF_REVOKE, unchecked. */
export function dmabufRevoke(c: IommufdClient, fd: number, revoked: boolean): number {
  return c.testCmd(U.IOMMU_TEST_OP_DMABUF_REVOKE, 0, { 'dmabuf_revoke.dmabuf_fd': fd, 'dmabuf_revoke.revoked': revoked ? 1 : 0 }).rc;
}
