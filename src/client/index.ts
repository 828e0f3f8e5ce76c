// SPDX-License-Identifier: GPL-2.0-only
/** Typed clients over the syscall surface: /dev/iommu and the VFIO type1 container. */
export { check, type Fields, type IoctlResult, type RawOptions, rawIoctl, UserScratch } from './common.js';
export {
  type AccessPagesArgs,
  type AccessRwArgs,
  type DirtyBitmapArgs,
  errnoOf,
  type HwInfo,
  type HwptAllocArgs,
  type HwQueueAllocArgs,
  type IoasCopyArgs,
  type IoasMapArgs,
  type IoasMapFileArgs,
  IommufdClient,
  type IovaRange,
  type MockDomainIds,
  type OptionArgs,
} from './iommufd.js';
export { parseVfioCaps, type VfioCap, VfioContainerClient, type VfioDmaAvailCap, type VfioIommuInfo, type VfioIovaRangeCap } from './vfio.js';
