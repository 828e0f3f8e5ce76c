// SPDX-License-Identifier: GPL-2.0-only
/** The iommu layer: the iommu_domain contract with the iommu core's map logic, and the domain drivers. */
export {
  type DomainContext,
  type DomainGeometry,
  IOMMU_CACHE,
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_READ,
  IOMMU_WRITE,
  IommuDomain,
  iommuPgsize,
  type MemAccounting,
  pgsizesOf,
} from './domain.js';
export {
  createMockDomain,
  FP_MOCK_MAP_PAGES,
  MOCK_APERTURE_LAST,
  MOCK_APERTURE_START,
  MOCK_HUGE_PAGE_SIZE,
  MOCK_IO_PAGE_SIZE,
  MockAmdv1Domain,
  MockDomain,
  type MockDomainOptions,
  type MockEntry,
  type MockPageTable,
  XA_NODE_SIZE,
} from './mock-domain.js';
export {
  type AnyDomain,
  copyStructFromUserArray,
  copyStructFromUserData,
  type HwInfo,
  type IommuCap,
  type IommuDev,
  type IommuDirtyBitmap,
  type IommuDirtyOps,
  type IommuOps,
  type IommuUserData,
  type IommuUserDataArray,
  NestedDomain,
} from './driver.js';
export { MockNestedDomain, mockIommuOps } from './mock-driver.js';
