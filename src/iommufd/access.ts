// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommufd_access (device.c, access half): an in-kernel user of an IOAS
 * such as an mdev driver. It pins pages by IOVA (the xarray tier of
 * iopt_pages) or copies data through the IOAS without a device, and must give
 * pins back when the IOAS asks through its unmap callback.
 */
import { EINVAL, ENOENT, EOVERFLOW, EPERM } from '../base/errno.js';
import { checkedAdd } from '../base/u64.js';
import { IOMMU_READ, IOMMU_WRITE } from '../iommu/domain.js';
import { PAGE_SIZE } from '../mm/constants.js';
import { type IoptArea, areaIovaToIndex, areaStartByte, areaStartByteInPage } from './area.js';
import type { IommufdEnv } from './env.js';
import { AreaContigIter, type IoPagetable, type IoptAccessUser } from './io-pagetable.js';
import { IOMMUFD_ACCESS_RW_WRITE, areaAddAccess, areaRemoveAccess, pagesRwAccess } from './pages.js';
import { cover, coverSites } from '../base/coverage.js';

/** struct iommufd_access_ops */
export interface AccessOps {
  /** needs_pin_pages: the driver uses pin_pages (raises IOAS alignment to PAGE_SIZE). */
  readonly needsPinPages: boolean;
  /** ops->unmap(): unpin everything pinned inside [iova, iova+length). Undefined = no unmap op. */
  readonly unmap?: (access: IommufdAccess, iova: bigint, length: bigint) => void;
}

function checkAreaProt(area: IoptArea, flags: number): boolean {
  if (flags & IOMMUFD_ACCESS_RW_WRITE) return (area.iommuProt & IOMMU_WRITE) !== 0;
  return (area.iommuProt & IOMMU_READ) !== 0;
}

/** iopt_area_contig_is_aligned(): pin_pages can only hand out whole pages. */
function contigIsAligned(it: AreaContigIter): boolean {
  const area = it.area!;
  if (areaStartByteInPage(area, it.curIova) !== 0) return false;
  if (!it.done() && areaStartByteInPage(area, area.lastIova) !== PAGE_SIZE - 1) return false;
  return true;
}

/** Coverage sites of IommufdAccess's methods (base/coverage.ts). */
const COV_IommufdAccess = coverSites('IommufdAccess', ['notifyUnmap', 'attach', 'detach', 'replace', 'pinPages', 'unpinPages', 'rw', 'destroy']);

export class IommufdAccess implements IoptAccessUser {
  readonly iovaAlignment: number;
  /** The attached IOAS's page table (access->ioas). */
  iopt: IoPagetable | undefined;
  /** access->ioas_unpin: where unpins go, also while a replace is switching ioas. */
  ioptUnpin: IoPagetable | undefined;
  ioptAccessListId = -1;
  /** Set once destroy starts: notifications skip it (iommufd_lock_obj fails). */
  dying = false;
  /**
   * iommufd_access_is_internal(): an access the core made for itself (a HW
   * queue). Its pins lock their areas: IOAS_UNMAP is -EBUSY until unpinned.
   */
  lockArea = false;

  constructor(
    readonly env: IommufdEnv,
    readonly ops: AccessOps,
  ) {
    this.iovaAlignment = ops.needsPinPages ? PAGE_SIZE : 1;
  }

  isAlive(): boolean {
    return !this.dying;
  }

  notifyUnmap(iova: bigint, length: bigint): void {
    cover(COV_IommufdAccess.notifyUnmap);
    this.ops.unmap?.(this, iova, length);
  }

  /** iommufd_access_attach() */
  attach(iopt: IoPagetable): number {
    cover(COV_IommufdAccess.attach);
    if (this.iopt) {
      if (this.env.profile.accessReplace) this.env.warn.warn('iommufd_access_attach.attached');
      return -EINVAL;
    }
    const id = iopt.addAccess(this);
    if (id < 0) return id;
    this.ioptAccessListId = id;
    this.iopt = iopt;
    this.ioptUnpin = iopt;
    return 0;
  }

  /** iommufd_access_detach() / the detach half of destroy. */
  detach(): void {
    cover(COV_IommufdAccess.detach);
    const iopt = this.iopt;
    if (this.env.warn.on(!iopt, 'iommufd_access_detach.not_attached')) return;
    this.iopt = undefined;
    iopt!.removeAccess(this, this.ioptAccessListId);
    this.ioptUnpin = undefined;
  }

  /**
   * iommufd_access_replace(): attach to `next` before leaving the old IOAS,
   * whose pins the driver is asked to drop (unmap of everything).
   */
  replace(next: IoPagetable): number {
    cover(COV_IommufdAccess.replace);
    const cur = this.iopt;
    if (!cur) return -ENOENT;
    if (cur === next) return 0;
    const oldId = this.ioptAccessListId;
    const id = next.addAccess(this);
    if (id < 0) return id;
    // New pins are refused during the switch; unpins still reach the old IOAS.
    this.iopt = undefined;
    this.ops.unmap?.(this, 0n, (1n << 64n) - 1n);
    cur.removeAccess(this, oldId);
    this.ioptAccessListId = id;
    this.iopt = next;
    this.ioptUnpin = next;
    return 0;
  }

  /**
   * iommufd_access_pin_pages(): pin [iova, iova+length) and write one PFN per
   * page to out. All or nothing.
   */
  pinPages(iova: bigint, length: bigint, out: Uint32Array, flags: number): number {
    cover(COV_IommufdAccess.pinPages);
    const env = this.env;
    // internal accesses (iommufd_access_is_internal) need no unmap callback: their pins lock the area
    if (env.warn.testOn(this.iovaAlignment !== PAGE_SIZE || (!this.lockArea && !this.ops.unmap), 'iommufd_access_pin_pages.ops')) return -EINVAL;
    if (length === 0n) return -EINVAL;
    let last = checkedAdd(iova, length - 1n);
    if (last === undefined) return -EOVERFLOW;
    const iopt = this.iopt;
    if (!iopt) return -ENOENT;
    const it = new AreaContigIter(iopt);
    let rc = 0;
    let outOff = 0;
    remove: {
      for (let area = it.init(iova, last); area; area = it.next()) {
        const areaLast = last < area.lastIova ? last : area.lastIova;
        const lastIndex = areaIovaToIndex(area, areaLast);
        const index = areaIovaToIndex(area, it.curIova);
        if (area.preventAccess || !contigIsAligned(it)) {
          rc = -EINVAL;
          break remove;
        }
        if (!checkAreaProt(area, flags)) {
          rc = -EPERM;
          break remove;
        }
        rc = areaAddAccess(env, area, index, lastIndex, out, outOff, flags, this.lockArea);
        if (rc) break remove;
        outOff += lastIndex - index + 1;
      }
      if (!it.done()) {
        rc = -ENOENT;
        break remove;
      }
      return 0;
    }
    if (iova < it.curIova) {
      last = it.curIova - 1n;
      const undo = new AreaContigIter(iopt);
      for (let area = undo.init(iova, last); area; area = undo.next()) {
        const areaLast = last < area.lastIova ? last : area.lastIova;
        areaRemoveAccess(env, area, areaIovaToIndex(area, undo.curIova), areaIovaToIndex(area, areaLast), this.lockArea);
      }
    }
    return rc;
  }

  /** iommufd_access_unpin_pages(): must mirror an earlier pin exactly. */
  unpinPages(iova: bigint, length: bigint): void {
    cover(COV_IommufdAccess.unpinPages);
    const env = this.env;
    if (env.warn.on(length === 0n, 'iommufd_access_unpin_pages.length')) return;
    const last = checkedAdd(iova, length - 1n);
    if (env.warn.on(last === undefined, 'iommufd_access_unpin_pages.overflow')) return;
    const iopt = this.ioptUnpin;
    if (env.warn.on(!iopt, 'iommufd_access_unpin_pages.not_attached')) return;
    const it = new AreaContigIter(iopt!);
    for (let area = it.init(iova, last!); area; area = it.next()) {
      const areaLast = last! < area.lastIova ? last! : area.lastIova;
      areaRemoveAccess(env, area, areaIovaToIndex(area, it.curIova), areaIovaToIndex(area, areaLast), this.lockArea);
    }
    env.warn.on(!it.done(), 'iommufd_access_unpin_pages.coverage');
  }

  /** iommufd_access_rw(): copy between data and the memory behind [iova, iova+data.length). */
  rw(iova: bigint, data: Uint8Array, flags: number): number {
    cover(COV_IommufdAccess.rw);
    const length = BigInt(data.length);
    if (length === 0n) return -EINVAL;
    const last = checkedAdd(iova, length - 1n);
    if (last === undefined) return -EOVERFLOW;
    const iopt = this.iopt;
    if (!iopt) return -ENOENT;
    const it = new AreaContigIter(iopt);
    let rc = -EINVAL;
    let off = 0;
    for (let area = it.init(iova, last); area; area = it.next()) {
      const areaLast = last < area.lastIova ? last : area.lastIova;
      const bytes = Number(areaLast - it.curIova + 1n);
      // An error inside the walk is returned as it is (iommufd_access_rw's goto err_out).
      if (area.preventAccess) return -EINVAL;
      if (!checkAreaProt(area, flags)) return -EPERM;
      rc = pagesRwAccess(this.env, area.pages!, areaStartByte(area, it.curIova), data.subarray(off, off + bytes), flags);
      if (rc) return rc;
      off += bytes;
    }
    // A walk that ends before the range does is -ENOENT, also when no area
    // starts it (then rc still holds its initial -EINVAL).
    if (!it.done()) rc = -ENOENT;
    return rc;
  }

  /** iommufd_access_destroy(): detach if attached. */
  destroy(): void {
    cover(COV_IommufdAccess.destroy);
    this.dying = true;
    if (this.iopt) this.detach();
  }
}
