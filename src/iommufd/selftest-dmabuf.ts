// SPDX-License-Identifier: GPL-2.0-only
/**
 * The selftest dma-buf (selftest.c: iommufd_test_dmabuf_get() and
 * iommufd_test_dmabuf_revoke(), 6.19): a dma-buf over up to 2 MiB of
 * physically contiguous kernel memory whose only importer path is iommufd's
 * (no sg_table, no mmap). DMABUF_GET returns the new dma-buf fd as the
 * ioctl's value. DMABUF_REVOKE sets the exporter's revoked flag and tells
 * every importer to invalidate: an iommufd pages object then unmaps its
 * domains and stays revoked for good, even when the flag is cleared again
 * (only new maps see the cleared flag).
 */
import { EINVAL, ENODEV, ENOMEM, EOPNOTSUPP } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import { PAGE_SIZE } from '../mm/constants.js';
import { PMD_ORDER } from '../mm/constants.js';
import { DmaBuf, type DmaBufOps, type PhysVec, dmaBufGet } from './dmabuf.js';
import { type KernelAllocation, kernelAlloc, kernelFree } from './env.js';
import type { IommufdCtx } from './main.js';
import type { Ucmd } from './ucmd.js';

/** <fcntl.h>: the open flags dma_buf_getfile() keeps for the file. */
const O_ACCMODE = 3;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

/** kzalloc of struct iommufd_test_dma_buf. */
export const FP_TEST_DMABUF_PRIV = faultPoint('kzalloc.iommufd_test_dma_buf', 'slab');
/** kzalloc(len) of its memory. */
export const FP_TEST_DMABUF_MEMORY = faultPoint('kzalloc.iommufd_test_dma_buf.memory', 'slab');
/** dma_buf_export(): the struct dma_buf and its pseudo file. */
export const FP_DMABUF_EXPORT = faultPoint('dma_buf_export', 'slab');
const SIZEOF_IOMMUFD_TEST_DMA_BUF = 24;
const SIZEOF_DMA_BUF = 512;
/** The largest test dma-buf: PAGE_SIZE * 512. */
const MAX_LENGTH = PAGE_SIZE * 512;

/** struct iommufd_test_dma_buf */
class TestDmaBufPriv {
  revoked = false;
  constructor(
    /** Head PFN of the folio holding the memory. */
    readonly head: number,
    readonly length: number,
    readonly allocs: KernelAllocation[],
  ) {}
}

const privOf = new WeakMap<DmaBuf, TestDmaBufPriv>();

/** iommufd_test_dmabuf_ops with iommufd_test_dma_buf_iommufd_map(). */
function testOps(ctx: IommufdCtx): DmaBufOps {
  return {
    expName: 'iommufd',
    iommufdMap(buf: DmaBuf): PhysVec | number {
      const priv = privOf.get(buf);
      if (!priv) return -EOPNOTSUPP;
      if (priv.revoked) return -ENODEV;
      return { paddr: priv.head * PAGE_SIZE, len: priv.length };
    },
    release(buf: DmaBuf): void {
      const priv = privOf.get(buf);
      if (!priv) return;
      ctx.env.phys.putFrame(priv.head);
      for (const a of priv.allocs) kernelFree(a);
    },
  };
}

/** The dma-buf behind `fd` if it is a selftest one. */
export function testDmabufOf(buf: DmaBuf): { revoked: boolean; pfn: number; length: number } | undefined {
  const priv = privOf.get(buf);
  return priv ? { revoked: priv.revoked, pfn: priv.head, length: priv.length } : undefined;
}

/** IOMMU_TEST_OP_DMABUF_GET: a new dma-buf of `length` bytes (rounded up to pages); the fd or -errno. */
export function testDmabufGet(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>): number {
  const env = ctx.env;
  const length = Math.ceil(ucmd.num('dmabuf_get.length') / PAGE_SIZE) * PAGE_SIZE;
  if (length === 0 || length > MAX_LENGTH) return -EINVAL;
  const privAlloc = kernelAlloc(env, FP_TEST_DMABUF_PRIV, SIZEOF_IOMMUFD_TEST_DMA_BUF, false);
  if (!privAlloc) return -ENOMEM;
  // kzalloc(len): contiguous, from one page up to an order-9 block
  const memAlloc = kernelAlloc(env, FP_TEST_DMABUF_MEMORY, length, false);
  const head = memAlloc ? env.phys.allocFolio(length > PAGE_SIZE ? PMD_ORDER : 0, { kernel: true }) : -1;
  if (head < 0) {
    kernelFree(privAlloc);
    return -ENOMEM;
  }
  env.phys.getFrame(head);
  const exportAlloc = kernelAlloc(env, FP_DMABUF_EXPORT, SIZEOF_DMA_BUF, false);
  if (!exportAlloc) {
    env.phys.putFrame(head);
    kernelFree(privAlloc);
    return -ENOMEM;
  }
  // exp_info.flags = open_flags: the file's mode is its O_ACCMODE bits (dma_buf_getfile())
  const openFlags = ucmd.num('dmabuf_get.open_flags');
  const buf = new DmaBuf(length, testOps(ctx), openFlags & O_ACCMODE, openFlags & (O_ACCMODE | O_NONBLOCK), (openFlags & O_CLOEXEC) !== 0);
  privOf.set(buf, new TestDmaBufPriv(head, length, [privAlloc, memAlloc!, exportAlloc]));
  // dma_buf_fd(). When no fd can be had the kernel returns the error and
  // leaks the dma-buf (nothing puts it); the model frees it instead, so a
  // full descriptor table leaves no memory behind (a documented deviation:
  // only memory use could tell them apart).
  const fd = ctx.files.install(buf);
  if (fd < 0) buf.put();
  return fd;
}

/** IOMMU_TEST_OP_DMABUF_REVOKE: set or clear the revoked flag, then invalidate every importer. */
export function testDmabufRevoke(ctx: IommufdCtx, ucmd: Ucmd<IommufdCtx>): number {
  const buf = dmaBufGet(ctx, ucmd.num('dmabuf_revoke.dmabuf_fd'));
  if (typeof buf === 'number') return buf;
  const priv = privOf.get(buf);
  if (!priv) {
    buf.put();
    return -EOPNOTSUPP;
  }
  priv.revoked = ucmd.num('dmabuf_revoke.revoked') !== 0;
  buf.invalidateMappings();
  buf.put();
  return 0;
}
