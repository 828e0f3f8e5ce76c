// SPDX-License-Identifier: GPL-2.0-only
/** The VFIO type1 container ioctls of iommufd's compat layer (vfio_compat.c). */
import * as U from '../../iommufd/uapi.js';
import { VFIO_EXTENSIONS, VFIO_MAP_FLAGS, VFIO_UNMAP_FLAGS, enumField, fdField, flags, req, u32, u64 } from './spec.js';
import type { ExecCtx, OpModule, OpOutcome, Outputs } from './types.js';
import { interestingLength, num, specialIova } from './values.js';

function hex(v: number | bigint): string {
  return `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
}

export const vfio_get_api_version: OpModule = {
  name: 'vfio_get_api_version',
  spec: { doc: 'VFIO_GET_API_VERSION', group: 'vfio', ioctl: 'VFIO_GET_API_VERSION', fields: { fd: fdField() }, outputs: {} },
  weight: 0.1,
  execute: (x) => ({ ret: x.proc.ioctl(x.s32('fd'), U.VFIO_GET_API_VERSION, 0n), outputs: {} }),
  emitC(e) {
    e.L(`rc = sys_rc(ioctl(${e.fd()}, VFIO_GET_API_VERSION, 0));`);
  },
};

export const vfio_check_extension: OpModule = {
  name: 'vfio_check_extension',
  spec: {
    doc: 'VFIO_CHECK_EXTENSION; the return value is the answer',
    group: 'vfio',
    ioctl: 'VFIO_CHECK_EXTENSION',
    fields: { fd: fdField(), extension: { ...enumField(VFIO_EXTENSIONS, 'VFIO_* extension'), required: true } },
    outputs: {},
  },
  weight: 0.2,
  execute: (x) => ({ ret: x.proc.ioctl(x.s32('fd'), U.VFIO_CHECK_EXTENSION, x.v('extension')), outputs: {} }),
  emitC(e) {
    e.L(`rc = sys_rc(ioctl(${e.fd()}, VFIO_CHECK_EXTENSION, (unsigned long)${e.v('extension')}));`);
  },
};

export const vfio_set_iommu: OpModule = {
  name: 'vfio_set_iommu',
  spec: {
    doc: 'VFIO_SET_IOMMU',
    group: 'vfio',
    ioctl: 'VFIO_SET_IOMMU',
    fields: { fd: fdField(), type: { ...enumField(VFIO_EXTENSIONS, 'IOMMU type'), required: true } },
    outputs: {},
  },
  weight: 0.4,
  execute: (x) => ({ ret: x.proc.ioctl(x.s32('fd'), U.VFIO_SET_IOMMU, x.v('type')), outputs: {} }),
  emitC(e) {
    e.L(`rc = sys_rc(ioctl(${e.fd()}, VFIO_SET_IOMMU, (unsigned long)${e.v('type')}));`);
  },
};

/** VFIO_IOMMU_GET_INFO into an argsz-byte buffer, walking the capability chain for the IOVA ranges. */
function vfioGetInfo(x: ExecCtx): OpOutcome {
  const fd = x.s32('fd');
  const argsz = x.n32('argsz');
  const len = Math.max(24, Math.min(argsz, 1 << 20));
  const buf = new Uint8Array(len);
  U.vfio_iommu_type1_info.encode({ argsz }, buf);
  const va = x.userBuffer(buf);
  const rc = x.proc.ioctl(fd, U.VFIO_IOMMU_GET_INFO, va);
  const back = x.readUser(va, len);
  if (back) buf.set(back);
  const info = U.vfio_iommu_type1_info.decode(buf);
  const outputs: Outputs = { argsz: info.argsz, flags: info.flags, iova_pgsizes: info.iova_pgsizes, cap_offset: info.cap_offset };
  const dv = new DataView(buf.buffer);
  let off = Number(info.cap_offset);
  const seen = new Set<number>();
  const parts: string[] = [];
  while (off >= 24 && off + 8 <= len && !seen.has(off)) {
    seen.add(off);
    const id = dv.getUint16(off, true);
    const next = dv.getUint32(off + 4, true);
    if (id === U.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE && off + 16 <= len) {
      const n = dv.getUint32(off + 8, true);
      for (let i = 0; i < n && off + 16 + 16 * (i + 1) <= len; i++) {
        parts.push(`${hex(dv.getBigUint64(off + 16 + 16 * i, true))}-${hex(dv.getBigUint64(off + 24 + 16 * i, true))}`);
      }
    }
    off = next;
  }
  outputs.ranges = parts.join(',');
  return { ret: rc, outputs };
}

export const vfio_iommu_get_info: OpModule = {
  name: 'vfio_iommu_get_info',
  spec: {
    doc: 'VFIO_IOMMU_GET_INFO into a buffer of `argsz` bytes; outputs the header fields and the IOVA ranges capability',
    group: 'vfio',
    ioctl: 'VFIO_IOMMU_GET_INFO',
    fields: { fd: fdField(), argsz: u32('buffer size', { default: 512 }) },
    outputs: { argsz: 'value', flags: 'value', iova_pgsizes: 'value', cap_offset: 'value', ranges: 'value' },
  },
  weight: 0.2,
  clientScratch: true,
  execute: vfioGetInfo,
  emitC(e) {
    const { L } = e;
    L(`uint32_t argsz = (uint32_t)${e.v('argsz')};`);
    L('size_t len = argsz < 24 ? 24 : (argsz > (1u << 20) ? (1u << 20) : argsz);');
    // the buffer in the client scratch, as the model's executor keeps it (zeroed, at the model's address)
    L('unsigned char *buf = client_scratch(len);');
    L('struct vfio_iommu_type1_info *info = (struct vfio_iommu_type1_info *)buf;');
    L('char text[4096] = "";');
    L('uint32_t off;');
    L('int hops = 0;');
    L('');
    L('info->argsz = argsz;');
    L(`rc = do_ioctl(${e.fd()}, VFIO_IOMMU_GET_INFO, buf);`);
    L('for (off = info->cap_offset; off >= 24 && off + 8 <= len && hops < 16; hops++) {');
    L('\tuint16_t id;');
    L('\tuint32_t next, n, k;');
    L('');
    L('\tmemcpy(&id, buf + off, 2);');
    L('\tmemcpy(&next, buf + off + 4, 4);');
    L('\tif (id == 1 && off + 16 <= len) {');
    L('\t\tmemcpy(&n, buf + off + 8, 4);');
    L('\t\tfor (k = 0; k < n && off + 16 + 16 * (k + 1) <= len; k++) {');
    L('\t\t\tuint64_t s, l;');
    L('\t\t\tsize_t o = strlen(text);');
    L('');
    L('\t\t\tmemcpy(&s, buf + off + 16 + 16 * k, 8);');
    L('\t\t\tmemcpy(&l, buf + off + 24 + 16 * k, 8);');
    L('\t\t\tif (o + 40 < sizeof(text))');
    L('\t\t\t\tsnprintf(text + o, sizeof(text) - o, "%s0x%" PRIx64 "-0x%" PRIx64, o ? "," : "", s, l);');
    L('\t\t}');
    L('\t}');
    L('\toff = next;');
    L('}');
    e.outs.argsz = 'info->argsz';
    e.outs.flags = 'info->flags';
    e.outs.iova_pgsizes = 'info->iova_pgsizes';
    e.outs.cap_offset = 'info->cap_offset';
    e.outs.ranges = 'text';
  },
};

export const vfio_map_dma: OpModule = {
  name: 'vfio_map_dma',
  spec: {
    doc: 'VFIO_IOMMU_MAP_DMA',
    group: 'vfio',
    ioctl: 'VFIO_IOMMU_MAP_DMA',
    fields: {
      fd: fdField(),
      vaddr: req(u64('user address', { handle: 'addr' })),
      iova: req(u64('IOVA', { handle: 'iova' })),
      size: req(u64('length')),
      flags: flags(VFIO_MAP_FLAGS, 'VFIO_DMA_MAP_FLAG_*', ['READ', 'WRITE']),
      argsz: u32('argsz (default 32)'),
    },
    outputs: {},
  },
  weight: 0.7,
  execute(x) {
    const fields = { argsz: x.has('argsz') ? x.n32('argsz') : U.vfio_iommu_type1_dma_map.size, flags: x.n32('flags'), vaddr: x.v('vaddr'), iova: x.v('iova'), size: x.v('size') };
    return x.raw(x.s32('fd'), U.VFIO_IOMMU_MAP_DMA, U.vfio_iommu_type1_dma_map, fields, []);
  },
  generate(g, c) {
    g.needIommufd();
    const a = g.addr();
    c.vaddr = a.expr;
    c.iova = num(specialIova(g.rng));
    c.size = g.lengthFor(a);
    if (g.rng.bool(0.2)) c.flags = g.flags(this.spec.fields.flags, 0);
    return c;
  },
  emitC(e) {
    const { v } = e;
    e.structCmd('vfio_iommu_type1_dma_map', 'VFIO_IOMMU_MAP_DMA', { flags: `(uint32_t)${v('flags')}`, vaddr: v('vaddr'), iova: v('iova'), size: v('size') }, 'argsz', e.has('argsz') ? `(uint32_t)${v('argsz')}` : 'sizeof(cmd)');
  },
};

export const vfio_unmap_dma: OpModule = {
  name: 'vfio_unmap_dma',
  spec: {
    doc: 'VFIO_IOMMU_UNMAP_DMA; outputs the bytes unmapped',
    group: 'vfio',
    ioctl: 'VFIO_IOMMU_UNMAP_DMA',
    fields: {
      fd: fdField(),
      iova: u64('IOVA', { default: 0, handle: 'iova' }),
      size: u64('length', { default: 0 }),
      flags: flags(VFIO_UNMAP_FLAGS, 'VFIO_DMA_UNMAP_FLAG_*', []),
      argsz: u32('argsz (default 24)'),
    },
    primary: 'size',
    outputs: { size: 'value' },
  },
  weight: 0.7,
  execute(x) {
    const fields = { argsz: x.has('argsz') ? x.n32('argsz') : U.vfio_iommu_type1_dma_unmap.size, flags: x.n32('flags'), iova: x.v('iova'), size: x.v('size') };
    return x.raw(x.s32('fd'), U.VFIO_IOMMU_UNMAP_DMA, U.vfio_iommu_type1_dma_unmap, fields, ['size']);
  },
  generate(g, c) {
    g.needIommufd();
    if (g.rng.bool(0.2)) {
      c.flags = ['ALL'];
      // iommufd_vfio_unmap_dma(): ALL with an IOVA or a size is EINVAL
      if (g.rng.bool(0.1)) c[g.rng.bool() ? 'iova' : 'size'] = num(interestingLength(g.rng, 1n << 32n));
      return c;
    }
    const v = g.iova();
    c.iova = v.expr;
    c.size = num(interestingLength(g.rng, v.room));
    // The flags iommufd's compat layer refuses (GET_DIRTY_BITMAP, VADDR, an unknown bit), alone or beside ALL.
    if (g.rng.bool(0.05)) c.flags = g.rng.pick([1, 4, 3, 6, 8]);
    return c;
  },
  emitC(e) {
    const { v } = e;
    e.structCmd('vfio_iommu_type1_dma_unmap', 'VFIO_IOMMU_UNMAP_DMA', { flags: `(uint32_t)${v('flags')}`, iova: v('iova'), size: v('size') }, 'argsz', e.has('argsz') ? `(uint32_t)${v('argsz')}` : 'sizeof(cmd)');
    e.outs.size = 'cmd.size';
  },
};

export const VFIO_OPS: readonly OpModule[] = [vfio_get_api_version, vfio_check_extension, vfio_set_iommu, vfio_iommu_get_info, vfio_map_dma, vfio_unmap_dma];
