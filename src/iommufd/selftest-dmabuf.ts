// SPDX-License-Identifier: GPL-2.0-only
/**
 * The selftest dma-buf (selftest.c: iommufd_test_dmabuf_get() and
 * iommufd_test_dmabuf_revoke(), 6.19): not built yet; the ops answer like the
 * selftest's default case.
 */
import { EOPNOTSUPP } from '../base/errno.js';
import type { IommufdCtx } from './main.js';
import type { Ucmd } from './ucmd.js';

/** IOMMU_TEST_OP_DMABUF_GET. */
export function testDmabufGet(_ctx: IommufdCtx, _ucmd: Ucmd<IommufdCtx>): number {
  return -EOPNOTSUPP;
}

/** IOMMU_TEST_OP_DMABUF_REVOKE. */
export function testDmabufRevoke(_ctx: IommufdCtx, _ucmd: Ucmd<IommufdCtx>): number {
  return -EOPNOTSUPP;
}
