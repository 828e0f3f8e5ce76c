// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iopt_area (io_pagetable.h): one contiguous IOVA range of an IOAS
 * backed by a byte slice of one iopt_pages, and the index/IOVA arithmetic of
 * the sub-page case (mock domains have 2 KiB IO pages under 4 KiB CPU pages,
 * so an area may start half way into its first page).
 */
import { IntervalNode } from '../base/interval-tree.js';
import type { IommuDomain } from '../iommu/domain.js';
import { PAGE_SIZE } from '../mm/constants.js';
import type { KernelAllocation } from './env.js';
import type { IoPagetable } from './io-pagetable.js';
import type { IoptPages } from './pages.js';

export class IoptArea {
  /** [iova, last iova] in bytes, in iopt.areaItree. */
  readonly node: IntervalNode<bigint, IoptArea>;
  /** [first index, last index] of pages; in pages.domainsItree only while mapped into the domains. */
  readonly pagesNode: IntervalNode<number, IoptArea>;
  iopt: IoPagetable | undefined;
  /** undefined while the area is being created or destroyed. */
  pages: IoptPages | undefined;
  storageDomain: IommuDomain | undefined;
  /** start_byte % PAGE_SIZE */
  pageOffset = 0;
  iommuProt = 0;
  preventAccess = false;
  numAccesses = 0;
  /** Pins of internal accesses (a HW queue): IOAS_UNMAP of the area is -EBUSY while any is held. */
  numLocks = 0;
  /** node.start as a number; exact while it is below 2^53, which holds for every area inside a domain aperture. */
  iovaNum = 0;
  lastIovaNum = 0;
  /** The kzalloc behind the area (memcg charge). */
  alloc: KernelAllocation | undefined;

  constructor() {
    this.node = new IntervalNode<bigint, IoptArea>(0n, 0n, this);
    this.pagesNode = new IntervalNode<number, IoptArea>(0, 0, this);
  }

  get iova(): bigint {
    return this.node.start;
  }
  get lastIova(): bigint {
    return this.node.last;
  }
  get length(): bigint {
    return this.node.last - this.node.start + 1n;
  }
  /** iopt_area_index() */
  get index(): number {
    return this.pagesNode.start;
  }
  /** iopt_area_last_index() */
  get lastIndex(): number {
    return this.pagesNode.last;
  }

  /**
   * Set the IOVA range and the page slice (iopt_insert_area's field setup).
   * `startByte` is a bigint: an area over pages of more than 2^53 bytes
   * starts deeper than a double holds exactly (its page index still fits).
   */
  setRange(iova: bigint, startByte: bigint, length: bigint): void {
    this.node.start = iova;
    this.node.last = iova + length - 1n;
    this.iovaNum = Number(iova);
    this.lastIovaNum = Number(this.node.last);
    this.pageOffset = Number(startByte & 0xfffn);
    this.pagesNode.start = Number(startByte >> 12n);
    this.pagesNode.last = Number((startByte + length - 1n) >> 12n);
  }
}

/** iopt_area_start_byte(): byte offset into the pages of `iova` (which must lie in the area), exact past 2^53. */
export function areaStartByte(area: IoptArea, iova: bigint): bigint {
  return iova - area.iova + BigInt(area.pageOffset + area.index * PAGE_SIZE);
}

/** Past this many bytes into an area a double no longer holds the offset exactly (an area may span 2^64). */
const EXACT_BYTES = 1n << 52n;

/** areaStartByte() % PAGE_SIZE, exact for every offset. */
export function areaStartByteInPage(area: IoptArea, iova: bigint): number {
  return (area.pageOffset + Number((iova - area.iova) & 0xfffn)) % PAGE_SIZE;
}

/** iopt_area_iova_to_index(), exact also deep into an area of more than 2^52 bytes. */
export function areaIovaToIndex(area: IoptArea, iova: bigint): number {
  const d = iova - area.iova;
  if (d < EXACT_BYTES) return area.index + Math.floor((Number(d) + area.pageOffset) / PAGE_SIZE);
  return area.index + Number((d + BigInt(area.pageOffset)) >> 12n);
}

/** iopt_area_index_to_iova() as a number (domain calls only). */
export function areaIndexToIova(area: IoptArea, index: number): number {
  if (index === area.index) return area.iovaNum;
  return area.iovaNum - area.pageOffset + (index - area.index) * PAGE_SIZE;
}

/** iopt_area_index_to_iova_last() as a number. */
export function areaIndexToIovaLast(area: IoptArea, index: number): number {
  if (index === area.lastIndex) return area.lastIovaNum;
  return area.iovaNum - area.pageOffset + (index - area.index + 1) * PAGE_SIZE - 1;
}
