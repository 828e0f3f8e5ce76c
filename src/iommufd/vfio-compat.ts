// SPDX-License-Identifier: GPL-2.0-only
/**
 * VFIO type1 container emulation on an iommufd file (vfio_compat.c). Every
 * ioctl whose nr falls outside the iommufd table lands here; only the exact
 * VFIO numbers below are understood, anything else is ENOTTY.
 *
 * These commands follow VFIO's argsz convention instead of the size-prefixed
 * one: a fixed prefix is copied in, argsz is checked against it, and extra
 * bytes are ignored. They operate on the context's compat IOAS (ENODEV when
 * there is none).
 */
import { EFAULT, EINVAL, ENOTTY } from '../base/errno.js';
import { SpanIter } from '../base/interval-tree.js';
import { U64_MAX, ULONG_MAX } from '../base/u64.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../iommu/domain.js';
import { PAGE_SIZE } from '../mm/constants.js';
import { getCompatIoas, type IommufdIoas } from './ioas.js';
import type { IommufdCtx } from './main.js';
import { IOPT_PAGES_ACCOUNT_MM } from './pages.js';
import {
  VFIO_API_VERSION,
  VFIO_CHECK_EXTENSION,
  VFIO_DMA_CC_IOMMU,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_GET_API_VERSION,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_INFO_CAPS,
  VFIO_IOMMU_INFO_PGSIZES,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
  VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_NOIOMMU_IOMMU,
  VFIO_SET_IOMMU,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VFIO_UNMAP_ALL,
  vfio_iommu_type1_dma_map,
  vfio_iommu_type1_dma_unmap,
  vfio_iommu_type1_info,
  vfio_iommu_type1_info_cap_iova_range,
  vfio_iommu_type1_info_dma_avail,
  vfio_iova_range,
} from './uapi.js';
import type { UserMemory } from './ucmd.js';

/** offsetofend(struct vfio_iommu_type1_info, iova_pgsizes) */
const INFO_MINSZ = vfio_iommu_type1_info.offsetOfEnd('iova_pgsizes');
const INFO_SIZE = vfio_iommu_type1_info.size;
const MAP_MINSZ = vfio_iommu_type1_dma_map.offsetOfEnd('size');
const UNMAP_MINSZ = vfio_iommu_type1_dma_unmap.offsetOfEnd('size');
const IOVA_CAP_HEAD = BigInt(vfio_iommu_type1_info_cap_iova_range.size);
const IOVA_RANGE_SIZE = BigInt(vfio_iova_range.size);
const DMA_AVAIL_SIZE = BigInt(vfio_iommu_type1_info_dma_avail.size);
/** CONFIG_VFIO_NOIOMMU is not built into the model. */
const CONFIG_VFIO_NOIOMMU = false;

function ptr(base: bigint, off: bigint): bigint {
  return BigInt.asUintN(64, base + off);
}

/** iommufd_vfio_ioctl(): the VFIO container ioctls; `arg` is the raw unsigned long. */
export function vfioIoctl(ctx: IommufdCtx, mem: UserMemory, cmd: number, arg: bigint): number {
  switch (cmd >>> 0) {
    case VFIO_GET_API_VERSION:
      return VFIO_API_VERSION;
    case VFIO_SET_IOMMU:
      return vfioSetIommu(ctx, arg);
    case VFIO_CHECK_EXTENSION:
      return vfioCheckExtension(ctx, arg);
    case VFIO_IOMMU_GET_INFO:
      return vfioGetInfo(ctx, mem, arg);
    case VFIO_IOMMU_MAP_DMA:
      return vfioMapDma(ctx, mem, arg);
    case VFIO_IOMMU_UNMAP_DMA:
      return vfioUnmapDma(ctx, mem, arg);
    default:
      // VFIO_IOMMU_DIRTY_PAGES included: -ENOIOCTLCMD, seen as ENOTTY.
      return -ENOTTY;
  }
}

/** iommufd_vfio_cc_iommu(): 1 when every HWPT of the compat IOAS enforces cache coherency. */
function vfioCcIommu(ctx: IommufdCtx): number {
  const ioas = getCompatIoas(ctx);
  if (typeof ioas === 'number') return ioas;
  // Every HWPT on the IOAS has its domain in the IOAS, and the only domain
  // driver of the model (the selftest mock) never enforces coherency.
  return ioas.iopt.domains.length === 0 ? 1 : 0;
}

function vfioCheckExtension(ctx: IommufdCtx, type: bigint): number {
  switch (type) {
    case BigInt(VFIO_TYPE1_IOMMU):
    case BigInt(VFIO_TYPE1v2_IOMMU):
    case BigInt(VFIO_UNMAP_ALL):
      return 1;
    case BigInt(VFIO_NOIOMMU_IOMMU):
      return CONFIG_VFIO_NOIOMMU ? 1 : 0;
    case BigInt(VFIO_DMA_CC_IOMMU):
      return vfioCcIommu(ctx);
    default:
      // The nesting type, UPDATE_VADDR and everything unknown.
      return 0;
  }
}

/** iommufd_vfio_set_iommu(): type1 v1 is emulated by forbidding large IO pages. */
function vfioSetIommu(ctx: IommufdCtx, type: bigint): number {
  // No no-iommu mode in the model: VFIO_NOIOMMU_IOMMU is just an unknown type.
  if (type !== BigInt(VFIO_TYPE1_IOMMU) && type !== BigInt(VFIO_TYPE1v2_IOMMU)) return -EINVAL;
  const ioas = getCompatIoas(ctx);
  if (typeof ioas === 'number') return ioas;
  if (type === BigInt(VFIO_TYPE1_IOMMU)) return ioas.iopt.disableLargePagesOp();
  return 0;
}

/** iommufd_get_pagesizes(): what a type1 user may map, in VFIO's terms. */
function getPagesizes(ioas: IommufdIoas): bigint {
  const iopt = ioas.iopt;
  let bitmap = ULONG_MAX;
  for (const d of iopt.domains) bitmap &= BigInt(d.pgsizeBitmap);
  const pageMask = ~BigInt(PAGE_SIZE - 1) & U64_MAX;
  // Sub-page sizes are reported as PAGE_SIZE (vfio_update_pgsize_bitmap).
  if (bitmap & ~pageMask & U64_MAX) {
    bitmap &= pageMask;
    bitmap |= BigInt(PAGE_SIZE);
  }
  const align = BigInt(iopt.iovaAlignment);
  return bitmap > align ? bitmap : align;
}

/** iommufd_fill_cap_iova(): the IOVA_RANGE capability at `cur` if it fits in `avail`; its size, or -EFAULT. */
function fillCapIova(ioas: IommufdIoas, mem: UserMemory, cur: bigint, avail: bigint): bigint | number {
  let n = 0n;
  const span = new SpanIter<bigint>();
  for (span.first(ioas.iopt.reservedItree, 0n, ULONG_MAX); !span.done(); span.next()) {
    if (!span.isHole) continue;
    if (avail >= IOVA_CAP_HEAD + IOVA_RANGE_SIZE * (n + 1n)) {
      const range = vfio_iova_range.encode({ start: span.startHole, end: span.lastHole });
      if (mem.write(ptr(cur, IOVA_CAP_HEAD + IOVA_RANGE_SIZE * n), range) !== 0) return -EFAULT;
    }
    n++;
  }
  if (avail >= IOVA_CAP_HEAD + IOVA_RANGE_SIZE * n) {
    const head = vfio_iommu_type1_info_cap_iova_range.encode({
      'header.id': VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
      'header.version': 1,
      'header.next': 0,
      nr_iovas: Number(n),
      reserved: 0,
    });
    if (mem.write(cur, head) !== 0) return -EFAULT;
  }
  return IOVA_CAP_HEAD + IOVA_RANGE_SIZE * n;
}

/** iommufd_fill_cap_dma_avail(): DMA_AVAIL with U32_MAX mappings available. */
function fillCapDmaAvail(_ioas: IommufdIoas, mem: UserMemory, cur: bigint, avail: bigint): bigint | number {
  if (avail >= DMA_AVAIL_SIZE) {
    const cap = vfio_iommu_type1_info_dma_avail.encode({
      'header.id': VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
      'header.version': 1,
      'header.next': 0,
      avail: 0xffff_ffff,
    });
    if (mem.write(cur, cap) !== 0) return -EFAULT;
  }
  return DMA_AVAIL_SIZE;
}

type FillCap = (ioas: IommufdIoas, mem: UserMemory, cur: bigint, avail: bigint) => bigint | number;
const FILL_CAPS: readonly FillCap[] = [fillCapDmaAvail, fillCapIova];

/** iommufd_vfio_iommu_get_info() */
function vfioGetInfo(ctx: IommufdCtx, mem: UserMemory, arg: bigint): number {
  const head = new Uint8Array(INFO_SIZE);
  if (mem.read(arg, head.subarray(0, INFO_MINSZ)) !== 0) return -EFAULT;
  const argsz = vfio_iommu_type1_info.readField(head, 'argsz') as number;
  if (argsz < INFO_MINSZ) return -EINVAL;
  const outLen = Math.min(argsz, INFO_SIZE);
  const ioas = getCompatIoas(ctx);
  if (typeof ioas === 'number') return ioas;

  const uargsz = BigInt(argsz);
  let flags = VFIO_IOMMU_INFO_PGSIZES;
  let total = BigInt(INFO_SIZE);
  let lastCap: bigint | undefined;
  for (const fill of FILL_CAPS) {
    // Beyond argsz nothing is written: the filler only measures.
    const size = uargsz > total ? fill(ioas, mem, ptr(arg, total), uargsz - total) : fill(ioas, mem, 0n, 0n);
    if (typeof size === 'number') return size;
    const capSize = ctx.env.profile.vfioInfoCapsAligned ? (size + 7n) & ~7n : size;
    if (lastCap !== undefined && uargsz >= total) {
      const next = new Uint8Array(4);
      new DataView(next.buffer).setUint32(0, Number(total), true);
      if (mem.write(ptr(arg, lastCap + 4n), next) !== 0) return -EFAULT;
    }
    lastCap = total;
    total += capSize;
  }
  flags |= VFIO_IOMMU_INFO_CAPS;
  const out = vfio_iommu_type1_info.encode(
    {
      argsz: Number(total),
      flags,
      iova_pgsizes: getPagesizes(ioas),
      cap_offset: uargsz >= total ? INFO_SIZE : 0,
      // Uninitialised stack in v6.5, zeroed since v6.6: the model writes 0 for both.
      pad: 0,
    },
    head,
  );
  if (mem.write(arg, out.subarray(0, outLen)) !== 0) return -EFAULT;
  return 0;
}

/** iommufd_vfio_map_dma(): a fixed-IOVA map; nothing is written back. */
function vfioMapDma(ctx: IommufdCtx, mem: UserMemory, arg: bigint): number {
  const raw = new Uint8Array(MAP_MINSZ);
  if (mem.read(arg, raw) !== 0) return -EFAULT;
  const map = vfio_iommu_type1_dma_map.decode(raw);
  const flags = map.flags as number;
  if ((map.argsz as number) < MAP_MINSZ || flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)) return -EINVAL;
  let prot = IOMMU_CACHE;
  if (flags & VFIO_DMA_MAP_FLAG_READ) prot |= IOMMU_READ;
  if (flags & VFIO_DMA_MAP_FLAG_WRITE) prot |= IOMMU_WRITE;
  const ioas = getCompatIoas(ctx);
  if (typeof ioas === 'number') return ioas;
  const iova = { value: map.iova as bigint };
  return ioas.iopt.mapUserPages(ctx.accountMode === IOPT_PAGES_ACCOUNT_MM, iova, map.vaddr as bigint, map.size as bigint, prot, 0);
}

/** iommufd_vfio_unmap_dma(): `size` is written back with the bytes unmapped, even when the unmap failed. */
function vfioUnmapDma(ctx: IommufdCtx, mem: UserMemory, arg: bigint): number {
  const raw = new Uint8Array(UNMAP_MINSZ);
  if (mem.read(arg, raw) !== 0) return -EFAULT;
  const unmap = vfio_iommu_type1_dma_unmap.decode(raw);
  // GET_DIRTY_BITMAP and VADDR are not supported.
  if ((unmap.argsz as number) < UNMAP_MINSZ || (unmap.flags as number) & ~VFIO_DMA_UNMAP_FLAG_ALL) return -EINVAL;
  const ioas = getCompatIoas(ctx);
  if (typeof ioas === 'number') return ioas;
  const iova = unmap.iova as bigint;
  const size = unmap.size as bigint;
  const unmapped = { value: 0n };
  let rc: number;
  if ((unmap.flags as number) & VFIO_DMA_UNMAP_FLAG_ALL) {
    if (iova !== 0n || size !== 0n) return -EINVAL;
    rc = ioas.iopt.unmapAll(unmapped);
  } else {
    if (ioas.iopt.disableLargePages) {
      // Type1 v1: cut at the range's ends first; iova 0 needs no left cut.
      const cuts = [BigInt.asUintN(64, iova + size - 1n)];
      if (iova !== 0n) cuts.push(iova - 1n);
      rc = ioas.iopt.cutIova(cuts);
      if (rc) return rc;
    }
    rc = ioas.iopt.unmapIova(iova, size, unmapped);
  }
  vfio_iommu_type1_dma_unmap.writeField(raw, 'size', unmapped.value);
  if (mem.write(arg, raw) !== 0) rc = -EFAULT;
  return rc;
}
