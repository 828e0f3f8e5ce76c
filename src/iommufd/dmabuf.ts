// SPDX-License-Identifier: GPL-2.0-only
/**
 * The slice of the dma-buf core (drivers/dma-buf/dma-buf.c) iommufd uses: a
 * dma-buf is a file whose exporter can hand iommufd its physical range
 * (vfio_pci_dma_buf_iommufd_map() and the selftest's
 * iommufd_test_dma_buf_iommufd_map()); importers attach dynamically with an
 * invalidate_mappings callback the exporter calls when it revokes access.
 *
 * Lifetime is the file's: the descriptor(s) hold one reference and every
 * dma_buf_get() one more; the exporter's release runs with the last put.
 */
import { EBADF, EFAULT, EINVAL, ENOMEM, ENOTTY } from '../base/errno.js';
import { SEEK_END, SEEK_SET } from '../mm/constants.js';
import { faultPoint } from '../base/fault.js';
import { type IommufdEnv, type KernelAllocation, kernelAlloc, kernelFree } from './env.js';
import { fget } from './fget.js';
import type { IommufdCtx, IommufdFile } from './main.js';
import type { UserMemory } from './ucmd.js';

/** kzalloc of struct dma_buf_attachment in dma_buf_dynamic_attach(). */
export const FP_DMABUF_ATTACH = faultPoint('kzalloc.dma_buf_attachment', 'slab');
const SIZEOF_DMA_BUF_ATTACHMENT = 96;

/** The file kind of a dma-buf fd. */
export const DMABUF_FILE_KIND = 'dmabuf';

/** The dma-buf file's own ioctls (include/uapi/linux/dma-buf.h, type 'b'). */
export const DMA_BUF_IOCTL_SYNC = 0x40086200;
export const DMA_BUF_SET_NAME_A = 0x40046201;
export const DMA_BUF_SET_NAME_B = 0x40086201;
const DMA_BUF_SYNC_RW = 3;
const DMA_BUF_SYNC_VALID_FLAGS_MASK = DMA_BUF_SYNC_RW | 4;
/** DMA_BUF_NAME_LEN: a name's bytes with its NUL. */
const DMA_BUF_NAME_LEN = 32;

/**
 * strndup_user(uptr, n): the string at uptr with its NUL within n bytes;
 * -EFAULT when its first byte cannot be read (or one before the NUL), -EINVAL
 * when no NUL comes within n bytes (strnlen_user()).
 */
function strndupUser(mem: UserMemory, uptr: bigint, n: number): string | number {
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  for (let i = 0; i < n; i++) {
    if (mem.read(BigInt.asUintN(64, uptr + BigInt(i)), one) < 0) return -EFAULT;
    if (one[0] === 0) return Buffer.from(bytes).toString('latin1');
    bytes.push(one[0]);
  }
  return -EINVAL;
}

/** struct phys_vec: a physical byte range. */
export interface PhysVec {
  paddr: number;
  len: number;
}

/** What an exporter implements (dma_buf_ops plus iommufd's private map). */
export interface DmaBufOps {
  /** dma_buf_export_info.exp_name: the exporter (KBUILD_MODNAME of its module by default). */
  readonly expName: string;
  /** The exporter's iommufd map: the physical range, or -errno (-ENODEV once revoked). */
  iommufdMap(buf: DmaBuf): PhysVec | number;
  /** dma_buf_ops.release: the last reference went away. */
  release(buf: DmaBuf): void;
}

/** dma_buf_attach_ops: what the exporter may call back on an importer. */
export interface DmaBufImporter {
  invalidateMappings(): void;
}

/** struct dma_buf_attachment */
export class DmaBufAttachment {
  constructor(
    readonly dmabuf: DmaBuf,
    readonly importer: DmaBufImporter,
    readonly alloc: KernelAllocation,
  ) {}
}

/** struct dma_buf and its file. */
export class DmaBuf implements IommufdFile {
  readonly kind = DMABUF_FILE_KIND;
  /** File references: the open description(s) count as one, dma_buf_get() adds one each. */
  refs = 1;
  readonly attachments = new Set<DmaBufAttachment>();
  released = false;

  constructor(
    /** In bytes, PAGE_SIZE aligned. */
    readonly size: number,
    readonly ops: DmaBufOps,
    /** dma_buf_getfile(): the export flags' O_ACCMODE bits are the file's mode. */
    readonly fmode = 2,
    /** dma_buf_getfile(): the file's f_flags are the export flags' O_ACCMODE and O_NONBLOCK bits. */
    readonly fileFlags = 2,
    /** dma_buf_fd(): its descriptor is close-on-exec when the flags say O_CLOEXEC. */
    readonly installCloexec = true,
  ) {}

  /**
   * dma_buf_show_fdinfo(): size, the file's references but seq_show()'s own
   * (the descriptors, and one per dma_buf_get() held, as an IOAS_MAP_FILE
   * area's), the exporter's name.
   */
  showFdinfo(descriptors: number): string {
    const name = this.name === undefined ? '' : `name:\t${this.name}\n`;
    return `size:\t${this.size}\ncount:\t${descriptors + this.refs - 1}\nexp_name:\t${this.ops.expName}\n${name}`;
  }

  /** dma_buf_getfile(): the inode's i_size is the buffer's. */
  get inodeSize(): number {
    return this.size;
  }

  /** dmabuf->name (DMA_BUF_SET_NAME), once set. */
  name: string | undefined;

  /** dmabuffs_dname(): "/dmabuf:" and the name, if one was set and is not empty. */
  get dname(): string {
    return `/dmabuf:${this.name ?? ''}`;
  }

  /**
   * dma_buf_ioctl(): SYNC checks its struct (EFAULT), the flags (EINVAL for
   * unknown bits or no direction) and calls the exporter's begin/end CPU
   * access, which the selftest's has none of (0); SET_NAME takes a name of
   * fewer than DMA_BUF_NAME_LEN bytes (dma_buf_set_name()); the sync-file
   * ioctls need CONFIG_SYNC_FILE, which the oracle kernels lack: -ENOTTY.
   */
  ioctl(mem: UserMemory, cmd: number, arg: bigint): number {
    switch (cmd >>> 0) {
      case DMA_BUF_IOCTL_SYNC: {
        const b = new Uint8Array(8);
        if (mem.read(arg, b) < 0) return -EFAULT;
        const flags = new DataView(b.buffer).getBigUint64(0, true);
        if (flags & ~BigInt(DMA_BUF_SYNC_VALID_FLAGS_MASK)) return -EINVAL;
        if ((flags & BigInt(DMA_BUF_SYNC_RW)) === 0n) return -EINVAL;
        return 0;
      }
      case DMA_BUF_SET_NAME_A:
      case DMA_BUF_SET_NAME_B: {
        const name = strndupUser(mem, arg, DMA_BUF_NAME_LEN);
        if (typeof name === 'number') return name;
        this.name = name;
        return 0;
      }
      default:
        return -ENOTTY;
    }
  }

  /**
   * dma_buf_llseek(): only the end can be found (SEEK_END) and the start
   * named (SEEK_SET), both with offset 0; anything else is -EINVAL.
   */
  llseek(_pos: bigint, offset: bigint, whence: number): bigint {
    if ((whence !== SEEK_SET && whence !== SEEK_END) || offset !== 0n) return BigInt(-EINVAL);
    return whence === SEEK_END ? BigInt(this.size) : 0n;
  }

  /**
   * dma_buf_mmap_internal(): an exporter without an mmap op (as the selftest's)
   * refuses every mapping once do_mmap()'s generic checks passed.
   */
  mmap(_pgoff: bigint, _pages: number): number {
    return -EINVAL;
  }

  get(): void {
    this.refs++;
  }

  /** dma_buf_put() / fput() */
  put(): void {
    if (--this.refs > 0) return;
    this.released = true;
    this.ops.release(this);
  }

  /** The last descriptor was closed. */
  release(): void {
    this.put();
  }

  /** dma_buf_invalidate_mappings(): every dynamic importer is told, revoked or not. */
  invalidateMappings(): void {
    for (const a of [...this.attachments]) a.importer.invalidateMappings();
  }
}

/** dma_buf_get(fd): the dma-buf behind `fd` with a reference, -EBADF or -EINVAL (not a dma-buf). */
export function dmaBufGet(ctx: IommufdCtx, fd: number): DmaBuf | number {
  const f = fget(ctx, fd);
  if (!f) return -EBADF;
  if (!(f.iommufdFile instanceof DmaBuf)) return -EINVAL;
  f.iommufdFile.get();
  return f.iommufdFile;
}

/** dma_buf_dynamic_attach() */
export function dmaBufDynamicAttach(env: IommufdEnv, buf: DmaBuf, importer: DmaBufImporter): DmaBufAttachment | number {
  const alloc = kernelAlloc(env, FP_DMABUF_ATTACH, SIZEOF_DMA_BUF_ATTACHMENT, false);
  if (!alloc) return -ENOMEM;
  const a = new DmaBufAttachment(buf, importer, alloc);
  buf.attachments.add(a);
  return a;
}

/** dma_buf_detach() */
export function dmaBufDetach(a: DmaBufAttachment): void {
  a.dmabuf.attachments.delete(a);
  kernelFree(a.alloc);
}
