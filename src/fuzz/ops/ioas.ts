// SPDX-License-Identifier: GPL-2.0-only
/** The v6.5 iommufd commands: DESTROY, the IOAS_* family, OPTION and VFIO_IOAS. */
import * as U from '../../iommufd/uapi.js';
import type { Call } from '../program.js';
import { IOAS_MAP_FLAGS, OPTION_IDS, OPTION_OPS, VFIO_IOAS_OPS, enumField, fdField, flags, req, sizeWord, u32, u64 } from './spec.js';
import type { GenCtx, OpModule, ResKind } from './types.js';
import { K2, K4, M2, U64_MAX, baseHandle, interestingLength, literal, num, pickW, rel, shift } from './values.js';

function hex(v: number | bigint): string {
  return `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
}

/** Default flags of IOAS_MAP / IOAS_COPY: READABLE | WRITEABLE, plus FIXED_IOVA when the IOVA is given. */
function mapFlags(fixed: boolean): number {
  return U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE | (fixed ? U.IOMMU_IOAS_MAP_FIXED_IOVA : 0);
}

/**
 * MAP / COPY / MAP_FILE flags when not the default: read-only and write-only mappings as
 * often as other subsets, FIXED_IOVA with a given IOVA.
 */
export function mapFlagsFor(g: GenCtx, fixed: boolean): string[] {
  const rng = g.rng;
  const withFixed = (l: string[]): string[] => ((fixed ? rng.bool(0.8) : rng.bool(0.1)) ? [...l, 'FIXED_IOVA'] : l);
  return pickW<() => string[]>(rng, [
    [3, () => withFixed(['READABLE', 'WRITEABLE'].filter(() => rng.bool(0.6)))],
    [3, () => withFixed(['READABLE'])],
    [1, () => withFixed(['WRITEABLE'])],
    [1, () => withFixed(['READABLE', 'WRITEABLE'])],
  ])();
}

/**
 * A fixed IOVA for a range of `length` bytes: at an IOVA picked in `ioas`,
 * just past the end of one of its areas, or ending where the picked IOVA is
 * (just before it, on it, or a little past it), so that ranges meet their
 * neighbours edge to edge.
 */
function placeRange(g: GenCtx, ioas: string | undefined, length: unknown): string | number {
  const rng = g.rng;
  const at = g.iova(ioas);
  const len = literal(length);
  const mode = pickW<'at' | 'after' | 'before'>(rng, [
    [4, 'at'],
    [3, 'after'],
    [2, 'before'],
  ]);
  if (mode === 'after' && at.area?.len !== undefined && at.area.len < 1n << 62n) return rel(at.area.name, at.area.len + pickW<bigint>(rng, [[4, 0n], [1, K4], [1, M2]]));
  if (mode === 'before' && len !== undefined && len !== 0n && len <= 1n << 40n) return shift(at.expr, -len + pickW<bigint>(rng, [[3, 0n], [2, 1n], [1, K2], [1, K4]]));
  return at.expr;
}

/** Object kinds IOMMU_DESTROY is generated for (the later kinds only once the program has one). */
function destroyKinds(g: GenCtx): ResKind[][] {
  const kinds: ResKind[][] = [['ioas'], ['stdev'], ['hwpt'], ['idev'], ['stdev'], ['ioas']];
  for (const k of ['fault', 'viommu', 'vdevice'] as const) if (g.has(k)) kinds.push([k]);
  return kinds;
}

export const destroy: OpModule = {
  name: 'destroy',
  spec: {
    doc: 'IOMMU_DESTROY',
    group: 'iommufd',
    ioctl: 'IOMMU_DESTROY',
    fields: { fd: fdField(), id: req(u32('object ID', { handle: 'ioas' })), size: sizeWord },
    outputs: {},
  },
  weight: 4,
  consumes: ['stdev', 'hwpt', 'idev'],
  execute: (x) => x.struct(U.IOMMU_DESTROY, U.iommu_destroy, { id: x.n32('id') }, []),
  generate(g, c) {
    g.needIommufd();
    c.id = g.id(g.rng.pick<ResKind[]>(destroyKinds(g)));
    return c;
  },
  emitC(e) {
    e.structCmd('iommu_destroy', 'IOMMU_DESTROY', { id: `(uint32_t)${e.v('id')}` });
  },
};

export const ioas_alloc: OpModule = {
  name: 'ioas_alloc',
  spec: {
    doc: 'IOMMU_IOAS_ALLOC; `as` binds the IOAS ID',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_ALLOC',
    fields: { fd: fdField(), flags: u32('must be 0', { default: 0 }), size: sizeWord },
    primary: 'ioas_id',
    outputs: { ioas_id: 'ioas' },
  },
  weight: 2,
  produces: ['ioas'],
  execute: (x) => x.struct(U.IOMMU_IOAS_ALLOC, U.iommu_ioas_alloc, { flags: x.n32('flags') }, ['ioas_id:out_ioas_id']),
  generate(g, c) {
    g.needIommufd();
    c.as = g.fresh();
    return c;
  },
  scope(_c, as, add) {
    add({ kind: 'ioas', name: as });
  },
  emitC(e) {
    e.structCmd('iommu_ioas_alloc', 'IOMMU_IOAS_ALLOC', { flags: `(uint32_t)${e.v('flags')}` });
    e.outs.ioas_id = 'cmd.out_ioas_id';
  },
};

export const ioas_allow_iovas: OpModule = {
  name: 'ioas_allow_iovas',
  spec: {
    doc: 'IOMMU_IOAS_ALLOW_IOVAS with the given [start, last] ranges (an empty list clears)',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_ALLOW_IOVAS',
    fields: {
      fd: fdField(),
      ioas: req(u32('IOAS ID', { handle: 'ioas' })),
      ranges: { kind: 'ranges', default: [], doc: 'list of [start, last] (inclusive)' },
      size: sizeWord,
    },
    outputs: {},
  },
  weight: 0.5,
  clientScratch: true,
  execute(x) {
    const ranges = x.ranges('ranges');
    const bytes = new Uint8Array(Math.max(16, ranges.length * 16));
    ranges.forEach(([s, l], i) => {
      U.iommu_iova_range.encode({ start: s, last: l }, bytes.subarray(i * 16, i * 16 + 16));
    });
    const va = x.userBuffer(bytes);
    return x.struct(U.IOMMU_IOAS_ALLOW_IOVAS, U.iommu_ioas_allow_iovas, { ioas_id: x.n32('ioas'), num_iovas: ranges.length, allowed_iovas: va }, []);
  },
  generate(g, c) {
    g.needIommufd();
    c.ioas = g.id(['ioas']);
    c.ranges = g.ranges();
    return c;
  },
  emitC(e) {
    const { L } = e;
    const ranges = Array.isArray(e.c.ranges) ? (e.c.ranges as unknown[][]) : [];
    L(`struct iommu_iova_range *ranges = client_scratch(${Math.max(16, ranges.length * 16)});`);
    e.structCmd('iommu_ioas_allow_iovas', 'IOMMU_IOAS_ALLOW_IOVAS', {});
    e.popLine(); // re-emit the ioctl after filling the ranges
    ranges.forEach((r, k) => {
      L(`ranges[${k}].start = ${e.expr(r[0])};`);
      L(`ranges[${k}].last = ${e.expr(r[1])};`);
    });
    L(`cmd.ioas_id = (uint32_t)${e.v('ioas')};`);
    L(`cmd.num_iovas = ${ranges.length};`);
    L('cmd.allowed_iovas = (uint64_t)(uintptr_t)ranges;');
    L(`rc = struct_ioctl(${e.fd()}, IOMMU_IOAS_ALLOW_IOVAS, &cmd, sizeof(cmd));`);
  },
};

export const ioas_iova_ranges: OpModule = {
  name: 'ioas_iova_ranges',
  spec: {
    doc: 'IOMMU_IOAS_IOVA_RANGES; outputs the count, the alignment and the ranges ("start-last,...")',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_IOVA_RANGES',
    fields: { fd: fdField(), ioas: req(u32('IOAS ID', { handle: 'ioas' })), num_iovas: u32('room for this many ranges', { default: 16 }), size: sizeWord },
    outputs: { num_iovas: 'value', out_iova_alignment: 'value', ranges: 'value' },
  },
  weight: 0.3,
  clientScratch: true,
  execute(x) {
    const cap = x.n32('num_iovas');
    const room = Math.min(cap, 4096);
    const va = x.userBuffer(new Uint8Array(Math.max(16, room * 16)));
    const r = x.struct(U.IOMMU_IOAS_IOVA_RANGES, U.iommu_ioas_iova_ranges, { ioas_id: x.n32('ioas'), num_iovas: cap, allowed_iovas: va }, ['num_iovas', 'out_iova_alignment']);
    const total = Number(r.outputs.num_iovas ?? 0);
    const shown = Math.min(total, room);
    const buf = (shown > 0 ? x.readUser(va, shown * 16) : undefined) ?? new Uint8Array(shown * 16);
    const parts: string[] = [];
    for (let i = 0; i < shown; i++) {
      const d = U.iommu_iova_range.decode(buf.subarray(i * 16, i * 16 + 16));
      parts.push(`${hex(d.start)}-${hex(d.last)}`);
    }
    r.outputs.ranges = parts.join(',');
    return r;
  },
  generate(g, c) {
    g.needIommufd();
    c.ioas = g.id(['ioas']);
    if (g.rng.bool(0.3)) c.num_iovas = g.rng.pick([0, 1, 2]);
    return c;
  },
  emitC(e) {
    const { L } = e;
    L(`uint32_t room = (uint32_t)${e.v('num_iovas')};`);
    L('struct iommu_iova_range *ranges = client_scratch((room > 4096 ? 4096 : (room ? room : 1)) * sizeof(*ranges));');
    L('char text[4096] = "";');
    L('uint32_t k;');
    e.structCmd('iommu_ioas_iova_ranges', 'IOMMU_IOAS_IOVA_RANGES', {});
    e.popLine();
    L(`cmd.ioas_id = (uint32_t)${e.v('ioas')};`);
    L('cmd.num_iovas = room;');
    L('cmd.allowed_iovas = (uint64_t)(uintptr_t)ranges;');
    L(`rc = struct_ioctl(${e.fd()}, IOMMU_IOAS_IOVA_RANGES, &cmd, sizeof(cmd));`);
    L('for (k = 0; k < cmd.num_iovas && k < room && k < 4096; k++) {');
    L('\tsize_t o = strlen(text);');
    L('');
    L('\tif (o + 40 >= sizeof(text))');
    L('\t\tbreak;');
    L('\tsnprintf(text + o, sizeof(text) - o, "%s0x%" PRIx64 "-0x%" PRIx64, k ? "," : "", (uint64_t)ranges[k].start, (uint64_t)ranges[k].last);');
    L('}');
    e.outs.num_iovas = 'cmd.num_iovas';
    e.outs.out_iova_alignment = 'cmd.out_iova_alignment';
    e.outs.ranges = 'text';
  },
};

export const ioas_map: OpModule = {
  name: 'ioas_map',
  spec: {
    doc: 'IOMMU_IOAS_MAP; `as` binds the IOVA. Default flags: READABLE|WRITEABLE, plus FIXED_IOVA when `iova` is given',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_MAP',
    fields: {
      fd: fdField(),
      ioas: req(u32('IOAS ID', { handle: 'ioas' })),
      user_va: req(u64('user address', { handle: 'addr' })),
      length: req(u64('length')),
      iova: u64('IOVA (with FIXED_IOVA) or hint', { handle: 'iova' }),
      flags: flags(IOAS_MAP_FLAGS, 'IOMMU_IOAS_MAP_* flags'),
      size: sizeWord,
    },
    primary: 'iova',
    outputs: { iova: 'iova' },
  },
  weight: 10,
  produces: ['area'],
  execute(x) {
    const fl = x.has('flags') ? x.n32('flags') : mapFlags(x.has('iova'));
    return x.struct(U.IOMMU_IOAS_MAP, U.iommu_ioas_map, { flags: fl, ioas_id: x.n32('ioas'), user_va: x.v('user_va'), length: x.v('length'), iova: x.v('iova') }, ['iova']);
  },
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    const ioas = g.id(['ioas']);
    const a = g.addr();
    c.as = g.fresh();
    c.ioas = ioas;
    c.user_va = a.expr;
    c.length = g.lengthFor(a);
    if (rng.bool(0.4)) c.iova = placeRange(g, typeof ioas === 'string' ? ioas : undefined, c.length);
    if (rng.bool(0.25)) c.flags = mapFlagsFor(g, c.iova !== undefined);
    return c;
  },
  scope(c, as, add) {
    add({ kind: 'area', name: as, ioas: baseHandle(c.ioas), len: literal(c.length) });
  },
  emitC(e) {
    const fl = e.has('flags') ? `(uint32_t)${e.v('flags')}` : `${mapFlags(e.has('iova'))}`;
    e.structCmd('iommu_ioas_map', 'IOMMU_IOAS_MAP', { flags: fl, ioas_id: `(uint32_t)${e.v('ioas')}`, user_va: e.v('user_va'), length: e.v('length'), iova: e.v('iova') });
    e.outs.iova = 'cmd.iova';
  },
};

export const ioas_copy: OpModule = {
  name: 'ioas_copy',
  spec: {
    doc: 'IOMMU_IOAS_COPY; `as` binds the destination IOVA. Default flags as for ioas_map (FIXED_IOVA with dst_iova)',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_COPY',
    fields: {
      fd: fdField(),
      dst_ioas: req(u32('destination IOAS', { handle: 'ioas' })),
      src_ioas: req(u32('source IOAS', { handle: 'ioas' })),
      src_iova: req(u64('source IOVA', { handle: 'iova' })),
      length: req(u64('length')),
      dst_iova: u64('destination IOVA', { handle: 'iova' }),
      flags: flags(IOAS_MAP_FLAGS, 'IOMMU_IOAS_MAP_* flags'),
      size: sizeWord,
    },
    primary: 'dst_iova',
    outputs: { dst_iova: 'iova' },
  },
  weight: 4,
  execute(x) {
    const fl = x.has('flags') ? x.n32('flags') : mapFlags(x.has('dst_iova'));
    return x.struct(
      U.IOMMU_IOAS_COPY,
      U.iommu_ioas_copy,
      { flags: fl, dst_ioas_id: x.n32('dst_ioas'), src_ioas_id: x.n32('src_ioas'), length: x.v('length'), dst_iova: x.v('dst_iova'), src_iova: x.v('src_iova') },
      ['dst_iova'],
    );
  },
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    const src = g.iova();
    const srcIoas = src.area?.ioas;
    c.as = g.fresh();
    c.dst_ioas = g.id(['ioas']);
    c.src_ioas = srcIoas !== undefined && rng.bool(0.9) ? srcIoas : g.id(['ioas']);
    c.src_iova = src.expr;
    c.length = num(interestingLength(rng, src.room));
    if (rng.bool(0.35)) c.dst_iova = placeRange(g, typeof c.dst_ioas === 'string' ? c.dst_ioas : undefined, c.length);
    if (rng.bool(0.25)) c.flags = mapFlagsFor(g, c.dst_iova !== undefined);
    return c;
  },
  scope(c, as, add) {
    add({ kind: 'area', name: as, ioas: baseHandle(c.dst_ioas), len: literal(c.length) });
  },
  emitC(e) {
    const { v } = e;
    const fl = e.has('flags') ? `(uint32_t)${v('flags')}` : `${mapFlags(e.has('dst_iova'))}`;
    e.structCmd('iommu_ioas_copy', 'IOMMU_IOAS_COPY', {
      flags: fl,
      dst_ioas_id: `(uint32_t)${v('dst_ioas')}`,
      src_ioas_id: `(uint32_t)${v('src_ioas')}`,
      length: v('length'),
      dst_iova: v('dst_iova'),
      src_iova: v('src_iova'),
    });
    e.outs.dst_iova = 'cmd.dst_iova';
  },
};

export const ioas_unmap: OpModule = {
  name: 'ioas_unmap',
  spec: {
    doc: 'IOMMU_IOAS_UNMAP (iova 0 + length U64_MAX unmaps everything); outputs the bytes unmapped',
    group: 'iommufd',
    ioctl: 'IOMMU_IOAS_UNMAP',
    fields: { fd: fdField(), ioas: req(u32('IOAS ID', { handle: 'ioas' })), iova: req(u64('IOVA', { handle: 'iova' })), length: req(u64('length')), size: sizeWord },
    primary: 'length',
    outputs: { length: 'value' },
  },
  weight: 5,
  execute: (x) => x.struct(U.IOMMU_IOAS_UNMAP, U.iommu_ioas_unmap, { ioas_id: x.n32('ioas'), iova: x.v('iova'), length: x.v('length') }, ['length']),
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    if (rng.bool(0.15)) {
      c.ioas = g.id(['ioas']);
      c.iova = 0;
      c.length = 'U64_MAX';
      return c;
    }
    const ioas = g.id(['ioas']);
    const v = g.iova(typeof ioas === 'string' ? ioas : undefined);
    c.as = g.fresh();
    c.ioas = v.area?.ioas !== undefined && rng.bool(0.8) ? v.area.ioas : ioas;
    if (v.area && v.area.len !== undefined && rng.bool(0.5)) {
      // the iova/length pair of a map is the natural input of unmap
      c.iova = v.area.name;
      c.length = num(v.area.len);
      return c;
    }
    c.iova = v.expr;
    c.length = num(interestingLength(rng, v.room));
    return c;
  },
  emitC(e) {
    e.structCmd('iommu_ioas_unmap', 'IOMMU_IOAS_UNMAP', { ioas_id: `(uint32_t)${e.v('ioas')}`, iova: e.v('iova'), length: e.v('length') });
    e.outs.length = 'cmd.length';
  },
};

export const option: OpModule = {
  name: 'option',
  spec: {
    doc: 'IOMMU_OPTION; outputs val64',
    group: 'iommufd',
    ioctl: 'IOMMU_OPTION',
    fields: {
      fd: fdField(),
      option_id: { ...enumField(OPTION_IDS, 'IOMMU_OPTION_*'), required: true },
      operation: enumField(OPTION_OPS, 'IOMMU_OPTION_OP_*', 'GET', 'u16'),
      object_id: u32('object (IOAS for HUGE_PAGES)', { default: 0, handle: 'ioas' }),
      val64: u64('value to set', { default: 0 }),
      size: sizeWord,
    },
    primary: 'val64',
    outputs: { val64: 'value' },
  },
  weight: 1,
  execute: (x) =>
    x.struct(U.IOMMU_OPTION, U.iommu_option, { option_id: x.n32('option_id'), op: x.n32('operation') & 0xffff, object_id: x.n32('object_id'), val64: x.v('val64') }, ['val64']),
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    const huge = rng.bool(0.6);
    c.option_id = huge ? 'HUGE_PAGES' : 'RLIMIT_MODE';
    c.operation = rng.bool(0.7) ? 'SET' : 'GET';
    if (huge) c.object_id = g.id(['ioas']);
    else if (rng.bool(0.1)) c.object_id = g.id(['ioas']);
    c.val64 = num(rng.pick([0n, 1n, 1n, 0n, 2n, U64_MAX]));
    return c;
  },
  emitC(e) {
    const { v } = e;
    e.structCmd('iommu_option', 'IOMMU_OPTION', { option_id: `(uint32_t)${v('option_id')}`, op: `(uint16_t)${v('operation')}`, object_id: `(uint32_t)${v('object_id')}`, val64: v('val64') });
    e.outs.val64 = 'cmd.val64';
  },
};

export const vfio_ioas: OpModule = {
  name: 'vfio_ioas',
  spec: {
    doc: 'IOMMU_VFIO_IOAS: get, set or clear the IOAS the VFIO compat ioctls use',
    group: 'iommufd',
    ioctl: 'IOMMU_VFIO_IOAS',
    fields: {
      fd: fdField(),
      ioas: u32('IOAS ID (SET)', { default: 0, handle: 'ioas' }),
      operation: enumField(VFIO_IOAS_OPS, 'IOMMU_VFIO_IOAS_*', 'SET', 'u16'),
      size: sizeWord,
    },
    primary: 'ioas_id',
    outputs: { ioas_id: 'ioas' },
  },
  weight: 0.5,
  execute: (x) => x.struct(U.IOMMU_VFIO_IOAS, U.iommu_vfio_ioas, { ioas_id: x.n32('ioas'), op: x.n32('operation') & 0xffff }, ['ioas_id']),
  generate(g, c: Call) {
    g.needIommufd();
    c.operation = g.rng.pick(['GET', 'SET', 'SET', 'CLEAR']);
    if (c.operation === 'SET') c.ioas = g.id(['ioas']);
    else if (c.operation === 'GET') c.as = g.fresh();
    return c;
  },
  scope(_c, as, add) {
    add({ kind: 'ioas', name: as });
  },
  emitC(e) {
    e.structCmd('iommu_vfio_ioas', 'IOMMU_VFIO_IOAS', { ioas_id: `(uint32_t)${e.v('ioas')}`, op: `(uint16_t)${e.v('operation')}` });
    e.outs.ioas_id = 'cmd.ioas_id';
  },
};

export const IOAS_OPS: readonly OpModule[] = [destroy, ioas_alloc, ioas_allow_iovas, ioas_iova_ranges, ioas_map, ioas_copy, ioas_unmap, option, vfio_ioas];
