// SPDX-License-Identifier: GPL-2.0-only
/**
 * A typed client of the VFIO type1 container interface as iommufd provides
 * it (/dev/vfio/vfio, or the same ioctls on /dev/iommu). Methods throw
 * ErrnoError on failure; `*Raw` forms return the result instead.
 */
import { O_RDWR } from '../machine/device.js';
import type { Process } from '../machine/process.js';
import * as U from '../iommufd/uapi.js';
import { type Fields, type IoctlResult, type RawOptions, check, rawIoctl } from './common.js';

export interface VfioCap {
  readonly id: number;
  readonly version: number;
  readonly next: number;
  /** Byte offset of the capability in the info buffer. */
  readonly offset: number;
}

export interface VfioIovaRangeCap extends VfioCap {
  readonly nrIovas: number;
  readonly ranges: ReadonlyArray<{ readonly start: bigint; readonly end: bigint }>;
}

export interface VfioDmaAvailCap extends VfioCap {
  readonly avail: number;
}

export interface VfioIommuInfo {
  /** The size the kernel needs for every capability. */
  readonly argsz: number;
  readonly flags: number;
  readonly iovaPgsizes: bigint;
  readonly capOffset: number;
  /** The capability chain, when cap_offset was set. */
  readonly caps: ReadonlyArray<VfioCap | VfioIovaRangeCap | VfioDmaAvailCap>;
  /** The whole buffer after the call (argsz bytes as given, at least 24). */
  readonly bytes: Uint8Array;
}

function big(x: bigint | number): bigint {
  return typeof x === 'bigint' ? BigInt.asUintN(64, x) : BigInt.asUintN(64, BigInt(x));
}

/** Walk a capability chain in a GET_INFO buffer. Stops at offsets outside the buffer or going backwards. */
export function parseVfioCaps(bytes: Uint8Array, capOffset: number): Array<VfioCap | VfioIovaRangeCap | VfioDmaAvailCap> {
  const caps: Array<VfioCap | VfioIovaRangeCap | VfioDmaAvailCap> = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = capOffset;
  while (off !== 0 && off + 8 <= bytes.length) {
    const id = dv.getUint16(off, true);
    const version = dv.getUint16(off + 2, true);
    const next = dv.getUint32(off + 4, true);
    if (id === U.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE && off + 16 <= bytes.length) {
      const nrIovas = dv.getUint32(off + 8, true);
      const ranges: Array<{ start: bigint; end: bigint }> = [];
      for (let i = 0; i < nrIovas && off + 16 + 16 * (i + 1) <= bytes.length; i++) {
        ranges.push({ start: dv.getBigUint64(off + 16 + 16 * i, true), end: dv.getBigUint64(off + 24 + 16 * i, true) });
      }
      caps.push({ id, version, next, offset: off, nrIovas, ranges });
    } else if (id === U.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL && off + 12 <= bytes.length) {
      caps.push({ id, version, next, offset: off, avail: dv.getUint32(off + 8, true) });
    } else {
      caps.push({ id, version, next, offset: off });
    }
    if (next !== 0 && next <= off) break;
    off = next;
  }
  return caps;
}

export class VfioContainerClient {
  readonly proc: Process;
  readonly fd: number;

  constructor(proc: Process, fd: number) {
    this.proc = proc;
    this.fd = fd;
  }

  /** open(path, O_RDWR); /dev/vfio/vfio by default (mm accounting). Throws ErrnoError. */
  static open(proc: Process, path = '/dev/vfio/vfio'): VfioContainerClient {
    return new VfioContainerClient(proc, check(proc.open(path, O_RDWR), `open ${path}`));
  }

  close(): void {
    check(this.proc.close(this.fd), 'close');
  }

  /** VFIO_GET_API_VERSION */
  getApiVersion(): number {
    return check(this.proc.ioctl(this.fd, U.VFIO_GET_API_VERSION, 0n), 'VFIO_GET_API_VERSION');
  }

  /** VFIO_CHECK_EXTENSION: 1 supported, 0 not. */
  checkExtension(ext: number): number {
    return check(this.proc.ioctl(this.fd, U.VFIO_CHECK_EXTENSION, BigInt(ext)), 'VFIO_CHECK_EXTENSION');
  }

  /** VFIO_SET_IOMMU(VFIO_TYPE1_IOMMU | VFIO_TYPE1v2_IOMMU) */
  setIommu(type: number): void {
    check(this.proc.ioctl(this.fd, U.VFIO_SET_IOMMU, BigInt(type)), 'VFIO_SET_IOMMU');
  }

  /** Any argsz-prefixed VFIO command, unchecked. */
  raw(cmd: number, layout: U.StructLayout, fields: Fields, opts?: RawOptions): IoctlResult {
    return rawIoctl(this.proc, this.fd, cmd, layout, fields, opts);
  }

  /** VFIO_IOMMU_GET_INFO with a buffer of `argsz` bytes (default: big enough for every capability). */
  getInfo(argsz?: number): VfioIommuInfo {
    const probe = argsz ?? this.getInfoRaw(U.vfio_iommu_type1_info.size).argsz;
    const r = this.getInfoRaw(probe);
    return r;
  }

  private getInfoRaw(argsz: number): VfioIommuInfo {
    const bytes = new Uint8Array(Math.max(argsz, U.vfio_iommu_type1_info.size));
    U.vfio_iommu_type1_info.encode({ argsz }, bytes);
    check(this.proc.ioctlStruct(this.fd, U.VFIO_IOMMU_GET_INFO, bytes), 'VFIO_IOMMU_GET_INFO');
    const info = U.vfio_iommu_type1_info.decode(bytes);
    const capOffset = argsz >= 20 ? (info.cap_offset as number) : 0;
    return {
      argsz: info.argsz as number,
      flags: info.flags as number,
      iovaPgsizes: info.iova_pgsizes as bigint,
      capOffset,
      caps: capOffset ? parseVfioCaps(bytes.subarray(0, argsz), capOffset) : [],
      bytes,
    };
  }

  /** VFIO_IOMMU_MAP_DMA (READ | WRITE by default). */
  mapDma(a: { vaddr: bigint | number; iova: bigint | number; size: bigint | number; flags?: number }): void {
    const r = this.mapDmaRaw(a);
    check(r.rc, 'VFIO_IOMMU_MAP_DMA');
  }

  mapDmaRaw(a: { vaddr: bigint | number; iova: bigint | number; size: bigint | number; flags?: number }): IoctlResult {
    return this.raw(U.VFIO_IOMMU_MAP_DMA, U.vfio_iommu_type1_dma_map, {
      flags: a.flags ?? U.VFIO_DMA_MAP_FLAG_READ | U.VFIO_DMA_MAP_FLAG_WRITE,
      vaddr: big(a.vaddr),
      iova: big(a.iova),
      size: big(a.size),
    });
  }

  /** VFIO_IOMMU_UNMAP_DMA: the bytes unmapped. */
  unmapDma(a: { iova: bigint | number; size: bigint | number; flags?: number }): bigint {
    const r = this.unmapDmaRaw(a);
    check(r.rc, 'VFIO_IOMMU_UNMAP_DMA');
    return r.out.size as bigint;
  }

  unmapDmaRaw(a: { iova: bigint | number; size: bigint | number; flags?: number }): IoctlResult {
    return this.raw(U.VFIO_IOMMU_UNMAP_DMA, U.vfio_iommu_type1_dma_unmap, { flags: a.flags ?? 0, iova: big(a.iova), size: big(a.size) });
  }

  /** VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_ALL: the bytes unmapped. */
  unmapAll(): bigint {
    return this.unmapDma({ iova: 0n, size: 0n, flags: U.VFIO_DMA_UNMAP_FLAG_ALL });
  }
}
